"""Immutable results of power calculations and power simulations."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["PowerResult", "SimulationResult"]


def _clean(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    return v


@dataclass(frozen=True)
class PowerResult:
    """An analytic power calculation with every quantity filled in.

    Attributes
    ----------
    design
        ``"crossover"``, ``"parallel"``, ``"t-test"``, ``"rate-ratio"`` ...
    solved_for
        The quantity that was solved for (``"power"``, ``"hotspots"``,
        ``"days"``, ``"effect"``, ``"alpha"``, ``"n"``), ``value`` holds it.
    value
        The solved quantity as a float scalar (like statsmodels
        ``solve_power``).
    power, alpha
        Power and level of the test.
    effect
        The effect on the design's scale: incidence-rate ratio for count and
        harm designs (``reduction = 1 - irr``), standardised difference ``d``
        for t tests.
    std_error
        Standard error of the estimator under the alternative (log IRR scale
        for count designs).
    df
        Degrees of freedom of the reference t distribution (inf = normal).
    mde
        Minimum detectable effect at the requested ``power`` (at 0.8 when
        power was the quantity solved for), on the same scale as ``effect``.
    parameters
        Every input of the calculation (hot spots, days, rate ...), read-only.
    """

    design: str
    solved_for: str
    value: float
    power: float
    alpha: float
    effect: float
    std_error: float
    df: float
    alternative: str
    mde: float
    parameters: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def irr(self) -> float:
        """The effect as an incidence-rate ratio (count and harm designs)."""
        return self.effect

    @property
    def reduction(self) -> float:
        """The effect as a proportional reduction, ``1 - irr``."""
        return 1.0 - self.effect

    @property
    def mde_reduction(self) -> float:
        """Minimum detectable reduction (``1 - mde``) for rate-ratio designs."""
        return 1.0 - self.mde

    def __float__(self) -> float:
        return float(self.value)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "design": self.design,
            "solved_for": self.solved_for,
            "value": self.value,
            "power": self.power,
            "alpha": self.alpha,
            "effect": self.effect,
            "std_error": self.std_error,
            "df": None if not math.isfinite(self.df) else self.df,
            "alternative": self.alternative,
            "mde": self.mde,
            "parameters": dict(self.parameters),
            "notes": self.notes,
        }
        return _clean(out)

    def tidy(self) -> pd.DataFrame:
        """One-row DataFrame: the parameters, then power, alpha, effect, mde."""
        import pandas as pd

        row = dict(self.parameters)
        row.update(
            design=self.design,
            solved_for=self.solved_for,
            value=self.value,
            power=self.power,
            alpha=self.alpha,
            effect=self.effect,
            std_error=self.std_error,
            df=self.df,
            alternative=self.alternative,
            mde=self.mde,
        )
        return pd.DataFrame([_clean(row)])

    def summary(self) -> str:
        p = dict(self.parameters)
        lines = [f"{self.design} power calculation (solved for {self.solved_for})"]
        for k, v in p.items():
            lines.append(f"  {k:<22} {v}")
        scale = "irr" if self.design not in ("t-test", "mdes") else "effect size"
        lines += [
            f"  {'alpha':<22} {self.alpha:.4g} ({self.alternative})",
            f"  {'power':<22} {self.power:.4f}",
            f"  {scale:<22} {self.effect:.4f}",
            f"  {'mde':<22} {self.mde:.4f}",
        ]
        if scale == "irr":
            lines.insert(-2, f"  {'reduction':<22} {100 * self.reduction:.2f} %")
            lines.append(f"  {'mde (reduction)':<22} {100 * self.mde_reduction:.2f} %")
        return "\n".join(lines)


@dataclass(frozen=True)
class SimulationResult:
    """Monte Carlo (or placebo) power of a planned test.

    Attributes
    ----------
    power, power_mcse
        Rejection rate under the alternative and its Monte Carlo standard
        error ``sqrt(p (1 - p) / n_sims)``.
    size, size_mcse
        Rejection rate of the same test when the effect is null (type I error).
    size_ok
        False when ``size`` lies outside the Monte Carlo band
        ``alpha +/- z * sqrt(alpha (1 - alpha) / n_sims)`` (z = 2.576): the test
        is then not calibrated and its power must not be read as such.
    bias, coverage, mean_se, sd_estimate
        On the log incidence-rate-ratio scale (or the difference scale for
        ``diff-means``): mean estimate minus truth, share of ``1 - alpha``
        intervals covering the truth, mean standard error and the Monte Carlo
        standard deviation of the estimates.
    """

    design: str
    estimator: str
    n_sims: int
    alpha: float
    effect: float
    truth: float
    power: float
    power_mcse: float
    size: float
    size_mcse: float
    size_ok: bool
    bias: float
    coverage: float
    mean_se: float
    sd_estimate: float
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def verdict(self) -> str:
        """One line: the power, or why it cannot be trusted."""
        if not self.size_ok:
            return (
                f"test size {self.size:.3f} is outside the Monte Carlo band around alpha "
                f"{self.alpha:g}: power {self.power:.3f} is not interpretable"
            )
        return f"power {self.power:.3f} (MC se {self.power_mcse:.3f}); size {self.size:.3f}"

    @property
    def powerful(self) -> bool | None:
        """True when power >= 0.8 and the size is right; None when the size is wrong."""
        if not self.size_ok:
            return None
        return bool(self.power >= 0.8)

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: getattr(self, k)
            for k in (
                "design",
                "estimator",
                "n_sims",
                "alpha",
                "effect",
                "truth",
                "power",
                "power_mcse",
                "size",
                "size_mcse",
                "size_ok",
                "bias",
                "coverage",
                "mean_se",
                "sd_estimate",
            )
        }
        d["parameters"] = dict(self.parameters)
        d["verdict"] = self.verdict
        return _clean(d)

    def tidy(self) -> pd.DataFrame:
        import pandas as pd

        row = dict(self.parameters)
        row.update({k: v for k, v in self.to_dict().items() if k != "parameters"})
        return pd.DataFrame([_clean(row)])
