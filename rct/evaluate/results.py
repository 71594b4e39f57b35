"""Immutable result objects shared by every estimator.

Every estimator returns an :class:`Estimate` (one or more terms); several are
collected into :class:`EvaluationResults`.  Reports consume only
:meth:`tidy` and :meth:`to_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["TIDY_COLUMNS", "Term", "Estimate", "EvaluationResults"]

TIDY_COLUMNS = (
    "outcome",
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "method",
    "n",
)


@dataclass(frozen=True)
class Term:
    """One estimated quantity with its uncertainty.

    ``scale`` says what ``estimate`` is: ``"difference"`` (arm means),
    ``"ratio"`` (e.g. an incidence-rate ratio, with interval on the ratio
    scale), ``"log_ratio"``, ``"percent"`` ...
    """

    term: str
    estimate: float
    std_error: float = math.nan
    statistic: float = math.nan
    p_value: float = math.nan
    conf_low: float = math.nan
    conf_high: float = math.nan
    scale: str = "difference"


@dataclass(frozen=True)
class Estimate:
    """The result of one estimator on one outcome.

    Parameters
    ----------
    outcome
        The outcome column (e.g. ``"crimes"``, ``"harm"``).
    method
        What was computed, e.g. ``"difference in means (Neyman, blocked)"``.
    terms
        The estimated terms; the first is the headline effect.
    n
        Number of units analysed (hot spots, or hot-spot-days).
    alpha
        Level of the intervals (``conf_low``/``conf_high`` are ``1 - alpha``).
    details
        Extra numbers (first-stage F, dispersion, Monte Carlo error ...);
        read-only.
    role
        Its place in an analysis plan (set by :mod:`rct.plan`): ``"primary"``
        (the one pre-registered test of the primary outcome), ``"secondary"``
        (the same test of a secondary outcome), ``"robustness"`` (another
        estimator of a planned outcome) or ``"exploratory"`` (displacement,
        compliance, carryover, tests that assume Poisson variance); ``""``
        outside a plan.
    """

    outcome: str
    method: str
    terms: tuple[Term, ...]
    n: int
    alpha: float = 0.05
    details: Mapping[str, Any] = field(default_factory=dict)
    role: str = ""

    def __post_init__(self) -> None:
        if not self.terms:
            raise ValueError("an Estimate needs at least one term")
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def effect(self) -> Term:
        """The headline term (the first)."""
        return self.terms[0]

    def term(self, name: str) -> Term:
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(f"no term {name!r}; terms are {[t.term for t in self.terms]}")

    def tidy(self) -> pd.DataFrame:
        """One row per term with the columns of :data:`TIDY_COLUMNS` (+ ``scale``)."""
        import pandas as pd

        rows = [
            {
                "outcome": self.outcome,
                "term": t.term,
                "estimate": t.estimate,
                "std_error": t.std_error,
                "statistic": t.statistic,
                "p_value": t.p_value,
                "conf_low": t.conf_low,
                "conf_high": t.conf_high,
                "method": self.method,
                "n": self.n,
                "scale": t.scale,
                "role": self.role,
            }
            for t in self.terms
        ]
        return pd.DataFrame(rows, columns=[*TIDY_COLUMNS, "scale", "role"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "method": self.method,
            "n": int(self.n),
            "alpha": float(self.alpha),
            "terms": [_clean(vars(t)) for t in self.terms],
            "details": _clean(dict(self.details)),
            "role": self.role,
        }

    def with_role(self, role: str) -> Estimate:
        """A copy with ``role`` set (see the class docstring)."""
        from dataclasses import replace

        return replace(self, role=role)

    def summary(self) -> str:
        t = self.effect
        ci = f"{1 - self.alpha:.0%} CI {t.conf_low:.4g} to {t.conf_high:.4g}"
        se = "" if not math.isfinite(t.std_error) else f"SE {t.std_error:.4g}; "
        return (
            f"{self.outcome}: {t.term} = {t.estimate:.4g} ({se}{ci}; "
            f"{_fmt_p(t.p_value)}) — {self.method}, n = {self.n}"
        )

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True)

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class EvaluationResults:
    """Several estimates (outcomes × methods) with optional multiplicity adjustment."""

    estimates: tuple[Estimate, ...]
    primary: str | None = None
    adjustment: str | None = None
    adjusted_p: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "estimates", tuple(self.estimates))
        object.__setattr__(self, "adjusted_p", MappingProxyType(dict(self.adjusted_p)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __iter__(self):
        return iter(self.estimates)

    def __len__(self) -> int:
        return len(self.estimates)

    def tidy(self) -> pd.DataFrame:
        """All terms of all estimates; ``p_adjusted`` where an adjustment was made."""
        import pandas as pd

        if not self.estimates:
            return pd.DataFrame(columns=[*TIDY_COLUMNS, "scale", "role", "p_adjusted",
                                         "primary"])
        df = pd.concat([e.tidy() for e in self.estimates], ignore_index=True)
        df["p_adjusted"] = [
            self.adjusted_p.get((o, m, t), math.nan)
            for o, m, t in zip(df["outcome"], df["method"], df["term"], strict=True)
        ]
        if (df["role"] != "").any():  # inside a plan: only the pre-registered test is primary
            first = ~df.duplicated(["outcome", "method"])
            df["primary"] = (df["role"] == "primary") & first
        else:
            df["primary"] = df["outcome"] == self.primary
        return df

    @property
    def headline(self) -> Any:
        """The :class:`rct.plan.headline.Headline` of a plan's evaluation (None outside one)."""
        h = self.meta.get("headline")
        if h is None:
            return None
        from rct.plan.headline import Headline

        return Headline.from_dict(dict(h))

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "adjustment": self.adjustment,
            "estimates": [e.to_dict() for e in self.estimates],
            "adjusted_p": [
                {"outcome": o, "method": m, "term": t, "p_adjusted": _num(p)}
                for (o, m, t), p in self.adjusted_p.items()
            ],
            "meta": _clean(dict(self.meta)),
        }

    def summary(self) -> str:
        """The headline first (inside a plan), then one line per estimate with its role."""
        lines = []
        h = self.meta.get("headline")
        if h is not None:
            lines.append(str(h.get("sentence")))
        for e in self.estimates:
            lines.append((f"[{e.role}] " if e.role else "") + e.summary())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.tidy().to_html(index=False, float_format=lambda v: f"{v:.4g}", escape=True)

    @classmethod
    def collect(cls, estimates: Iterable[Estimate], **kw: Any) -> EvaluationResults:
        return cls(tuple(estimates), **kw)


def _fmt_p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _num(v: Any) -> Any:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return None if math.isnan(f) else f


def _clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN to None, tuples to lists."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        try:
            obj = obj.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
