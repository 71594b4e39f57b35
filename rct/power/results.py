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
        """The answer first, in words, then what it assumes (what ``rct power`` prints)."""
        p = dict(self.parameters)

        def num(v: Any, digits: int = 3) -> str:
            if v is None:
                return "—"
            f = float(v)
            return f"{f:,.0f}" if f == round(f) else f"{f:,.{digits}g}"

        ratio = self.design not in ("t-test", "mdes")
        side = {"two-sided": "two-sided", "smaller": "one-sided", "larger": "one-sided",
                "less": "one-sided", "greater": "one-sided"}.get(self.alternative,
                                                                  self.alternative)
        test = (f"{side} test at α = {self.alpha:g}"
                + (f", t with {self.df:.1f} df" if math.isfinite(self.df) else ""))
        solved = self.solved_for
        if solved in ("days", "hotspots"):
            whole = math.ceil(self.value - 1e-9)
            unit = "days" if solved == "days" else "hot spots"
            answer = f"{whole:,} {unit} (exactly {self.value:,.1f})"
            if p.get("hotspot_days") is not None:
                answer += f"; {float(p['hotspot_days']):,.0f} hot-spot-days"
        elif solved == "power":
            answer = f"power {100 * self.power:.1f} %"
        elif solved in ("mde", "effect", "reduction"):
            answer = (f"detects a {100 * self.mde_reduction:.2f} % reduction (rate ratio "
                      f"{self.mde:.3f})" if ratio else f"detects an effect of {self.mde:.4g}")
        else:
            answer = f"{solved} = {self.value:.4g}"
        lines = [f"{self.design} trial, solved for {solved}: {answer}"]
        effect = (f"a {100 * self.reduction:.1f} % reduction (rate ratio {self.effect:.3f})"
                  if ratio else f"an effect of {self.effect:.4g}")
        lines.append(f"  {effect} is detected with {100 * self.power:.1f} % power ({test})")
        design_bits = []
        if p.get("hotspots") is not None:
            design_bits.append(f"{num(p['hotspots'])} hot spots")
        if p.get("days") is not None and solved != "days":
            design_bits.append(f"{num(p['days'])} days")
        if p.get("per_day") is not None:
            design_bits.append(f"{num(p['per_day'])} tasked each day")
        if p.get("rate") is not None:
            design_bits.append(f"{num(p['rate'])} crimes per hot-spot-day")
        disp, het = p.get("dispersion"), p.get("heterogeneity")
        if disp is not None or het is not None:
            design_bits.append(f"day-level overdispersion {num(disp or 0)}, between-hot-spot "
                               f"heterogeneity {num(het or 0)}")
        if p.get("harm_cv"):
            design_bits.append(f"harm CV {num(p['harm_cv'])}")
        if design_bits:
            lines.append("  assuming " + ", ".join(design_bits))
        if self.notes:
            lines.append(f"  note: {self.notes}")
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

    def summary(self) -> str:
        """What ``rct power simulate`` prints: the verdict, then how the test behaved."""
        p = dict(self.parameters)
        scale = "difference" if self.estimator == "diff-means" else "log rate ratio"
        bits = [f"{k.replace('_', ' ')} {p[k]}" for k in ("hotspots", "days", "per_day", "rate")
                if p.get(k) is not None]
        return "\n".join([
            self.verdict,
            f"  {self.n_sims:,} simulated {self.design} trials ({', '.join(bits)}); estimator "
            f"{self.estimator}, true effect {self.effect:g}",
            f"  size of the same test under no effect {self.size:.3f} (MC se "
            f"{self.size_mcse:.3f}); {1 - self.alpha:.0%} interval coverage "
            f"{self.coverage:.3f}".replace("%", " %"),
            f"  on the {scale} scale: bias {self.bias:+.4f}, mean SE {self.mean_se:.4f} vs SD of "
            f"the estimates {self.sd_estimate:.4f}",
        ])

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
