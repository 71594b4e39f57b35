"""The one headline of an evaluation, computed once, in words a Police and Crime Panel reads.

:func:`headline_from` turns the pre-registered test of the primary outcome (an
:class:`rct.evaluate.results.Estimate`) into a :class:`Headline`; ``rct
evaluate`` prints its :attr:`~Headline.sentence`, ``results.json`` stores it
(``meta["headline"]``) and the evaluation report shows it — the same numbers
to the printed digit, because the figures are formatted here, once.

Formatting rules (also used by the reports through :func:`format_p` and
:func:`format_percent`): percentages to one decimal; p-values to three
decimals (four when three would put them on the wrong side of α), and
``p < 0.001`` below that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Headline", "headline_from", "format_p", "format_percent", "format_number"]


def format_p(p: float | None, *, alpha: float = 0.05) -> str:
    """``"p = 0.002"`` / ``"p < 0.001"`` / ``"p not available"``."""
    if p is None or not math.isfinite(p):
        return "p not available"
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.3f}"
    if (float(text) < alpha) != (p < alpha) or float(text) == alpha:
        text = f"{p:.4f}"
    return f"p = {text}"


def format_percent(x: float) -> str:
    """``12.3 %`` (one decimal, a space before the sign as in the reports).

    A value that would round to ``0.0`` but is not zero gets two significant
    figures (``0.04 %``), so an interval end just past no change never reads
    as exactly no change.
    """
    if x != 0 and abs(x) < 0.05:
        return f"{x:.2g} %"
    return f"{x:.1f} %"


def format_number(x: float, digits: int = 3) -> str:
    """A number for people: ``digits`` significant figures, thousands separated."""
    if x is None or not math.isfinite(x):
        return "not available"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:,.{decimals}f}"


@dataclass(frozen=True)
class Headline:
    """The pre-registered result of the primary outcome, formatted once.

    Attributes
    ----------
    sentence
        The headline in words, e.g. "Recorded crime on tasked hot-spot-days was
        17.8 % lower than on untasked hot-spot-days (95 % CI 8.3 % to 26.3 %
        lower; randomisation p = 0.002, pre-registered test)."
    estimate, conf_low, conf_high
        On the test's scale (a rate ratio, or a difference).
    percent_change, percent_low, percent_high
        For ratios: ``100 (ratio - 1)`` and its interval (negative = lower).
    """

    outcome: str
    label: str
    scale: str
    estimate: float
    conf_low: float
    conf_high: float
    p_value: float
    alpha: float
    method: str
    n: int
    sentence: str
    estimate_text: str
    interval_text: str
    p_text: str
    percent_change: float | None = None
    percent_low: float | None = None
    percent_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        from rct.evaluate.results import _clean

        return _clean(dict(vars(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Headline:
        fields = cls.__dataclass_fields__
        return cls(**{k: (math.nan if v is None and k in ("estimate", "conf_low", "conf_high",
                                                            "p_value") else v)
                      for k, v in d.items() if k in fields})

    def __str__(self) -> str:
        return self.sentence


def _where(design_type: str) -> tuple[str, str]:
    if design_type == "crossover":
        return "on tasked hot-spot-days", "on untasked hot-spot-days"
    return "in the patrolled hot spots", "in the control hot spots over the trial window"


def headline_from(estimate: Any, *, label: str, design_type: str,
                  unit: str | None = None) -> Headline:
    """The headline of the primary pre-registered test.

    Parameters
    ----------
    estimate
        The primary test's :class:`~rct.evaluate.results.Estimate` (its first
        term is the effect; ``scale`` ``"ratio"`` or ``"difference"``).
    label
        The outcome's reader's name (:attr:`rct.plan.OutcomeSpec.label`).
    design_type
        ``"crossover"`` or ``"parallel"`` (chooses the comparison's words).
    """
    t = estimate.effect
    alpha = float(estimate.alpha)
    level = f"{1 - alpha:.0%}".replace("%", " %")
    here, there = _where(design_type)
    p_text = format_p(t.p_value, alpha=alpha)
    tail = f"randomisation {p_text}, pre-registered test"
    pc = lo_pc = hi_pc = None
    if t.scale == "ratio":
        pc = 100.0 * (t.estimate - 1.0)
        lo_pc, hi_pc = 100.0 * (t.conf_low - 1.0), 100.0 * (t.conf_high - 1.0)
        word = "lower" if pc < 0 else "higher"
        est_text = f"{format_percent(abs(pc))} {word}"
        if not (math.isfinite(lo_pc) and math.isfinite(hi_pc)):
            ci = f"{level} CI not available"
        elif hi_pc < 0:
            ci = f"{level} CI {format_percent(-hi_pc)} to {format_percent(-lo_pc)} lower"
        elif lo_pc > 0:
            ci = f"{level} CI {format_percent(lo_pc)} to {format_percent(hi_pc)} higher"
        else:
            ci = (f"{level} CI from {format_percent(-lo_pc)} lower to "
                  f"{format_percent(hi_pc)} higher")
        sentence = (f"{label} {here} was {est_text} than {there} ({ci}; {tail}).")
    else:
        per = unit or ("per hot-spot-day" if design_type == "crossover" else "per hot spot")
        word = "fewer" if t.estimate < 0 else "more"
        est_text = f"{format_number(abs(t.estimate))} {word}"
        ci = (f"{level} CI {format_number(t.conf_low)} to {format_number(t.conf_high)}"
              if math.isfinite(t.conf_low) and math.isfinite(t.conf_high)
              else f"{level} CI not available")
        sentence = (f"{label} {here}: {est_text} {per} than {there} "
                    f"(difference {format_number(t.estimate)}; {ci}; {tail}).")
    return Headline(outcome=estimate.outcome, label=label, scale=t.scale,
                    estimate=float(t.estimate), conf_low=float(t.conf_low),
                    conf_high=float(t.conf_high), p_value=float(t.p_value), alpha=alpha,
                    method=estimate.method, n=int(estimate.n), sentence=sentence,
                    estimate_text=est_text, interval_text=ci, p_text=p_text,
                    percent_change=pc, percent_low=lo_pc, percent_high=hi_pc)
