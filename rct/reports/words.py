"""Numbers and names for people: how the reports write estimates, p-values and methods.

Every p-value, percentage and number goes through :func:`rct.plan.headline.format_p`,
:func:`~rct.plan.headline.format_percent` and :func:`~rct.plan.headline.format_number`,
so a report prints exactly what ``rct evaluate`` prints.  Method strings of the
result objects (``"crossover OLS, hot-spot + day fixed effects, SE clustered by
hot spot"``) become readable names (:func:`method_name`); outcome columns
become the plan's labels (:func:`outcome_name`).  Nothing here computes a
statistic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from rct.plan.headline import format_number, format_p, format_percent

__all__ = ["p_cell", "number", "count", "integer", "ratio_change", "estimate_text",
           "interval_text", "scale_name", "method_name", "term_name", "outcome_name",
           "is_finite", "level"]


def is_finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def p_cell(p: Any, *, alpha: float = 0.05) -> str:
    """A p-value for a table cell: ``0.002``, ``< 0.001`` or ``–`` (as :func:`format_p`)."""
    if not is_finite(p):
        return "–"
    text = format_p(float(p), alpha=alpha)
    return text.removeprefix("p = ").removeprefix("p ")


def number(v: Any, digits: int = 3) -> str:
    """:func:`format_number` with ``–`` for a missing value."""
    return format_number(float(v), digits) if is_finite(v) else "–"


def count(v: Any) -> str:
    """A count with thousands separators: ``8,190``."""
    return f"{int(v):,}" if is_finite(v) else "–"


def integer(v: Any) -> str:
    """An identifier-like integer (a seed) as digits only: ``20210906``."""
    return str(int(v)) if is_finite(v) else "not set"


def level(alpha: float) -> str:
    """``95 %`` for α = 0.05."""
    return f"{1 - alpha:.0%}".replace("%", " %")


def ratio_change(ratio: Any) -> str:
    """A rate ratio as a change: ``18.2 % lower`` / ``4.0 % higher``."""
    if not is_finite(ratio):
        return "–"
    pc = 100.0 * (float(ratio) - 1.0)
    if pc == 0:
        return "no change"
    return f"{format_percent(abs(pc))} {'lower' if pc < 0 else 'higher'}"


def estimate_text(est: Any, scale: str) -> str:
    """The estimate on its scale (``0.818``, ``-0.0314``, ``-21.5 %``)."""
    if scale == "percent":
        return format_percent(float(est)) if is_finite(est) else "–"
    return number(est)


def interval_text(lo: Any, hi: Any, scale: str) -> str:
    """``0.729 to 0.917`` (``–`` when either end is missing)."""
    if not (is_finite(lo) and is_finite(hi)):
        return "–"
    if scale == "percent":
        return f"{format_percent(float(lo))} to {format_percent(float(hi))}"
    return f"{number(lo)} to {number(hi)}"


_SCALES = {
    "ratio": "rate ratio",
    "difference": "difference",
    "log_ratio": "log rate ratio",
    "percent": "percent change",
    "per unit dose": "per minute of presence",
    "dose difference": "extra minutes of presence",
    "quotient": "quotient",
    "count": "count",
    "log1p difference": "difference in log(1 + harm)",
}


def scale_name(scale: str, *, unit: str = "") -> str:
    """A reader's name for a term's scale (``difference`` gets its unit)."""
    name = _SCALES.get(scale, scale.replace("_", " "))
    if scale == "difference" and unit:
        return f"difference {unit}"
    return name


# (pattern, replacement) applied in order; the result is capitalised
_METHOD_RULES: tuple[tuple[str, Any], ...] = (
    (r"\s*\(Monte Carlo, (\d+) draws\)", lambda m: f" ({int(m.group(1)):,} draws)"),
    (r"\s*\(exact, (\d+) assignments\)", lambda m: f" (all {int(m.group(1)):,} assignments)"),
    (r"\s*\(exact\)$", " (exact, over every possible assignment)"),
    (r"^randomisation inference: ", "randomisation test: "),
    (r"two-way FE OLS coefficient", "two-way fixed-effects (OLS) difference"),
    (r"crossover Poisson, hot-spot \+ day fixed effects, IRR \(SE clustered by hot spot\)",
     "Poisson regression with hot-spot and day fixed effects (cluster-robust standard errors)"),
    (r"crossover OLS, hot-spot \+ day fixed effects, SE clustered by hot spot",
     "linear regression with hot-spot and day fixed effects (cluster-robust standard errors)"),
    (r"t-test per hot-spot-day \(Student\), tasked vs untasked",
     "Student's t-test of tasked against untasked hot-spot-days"),
    (r"chi-squared test of counts, tasked vs untasked hot-spot-days \(rate ratio\)",
     "chi-squared test of crime counts, tasked against untasked hot-spot-days (assumes "
     "Poisson variance)"),
    (r"complier effect of presence_minutes \(2SLS, assignment as instrument, HC1 SE\)",
     "complier effect per minute of patrol presence (two-stage least squares, assignment as "
     "instrument, robust standard errors)"),
    (r"complier effect of presence_minutes \(sharp null on Y - beta\*dose, ([^)]*)\)",
     r"complier effect per minute of patrol presence (inverting the sharp null on outcome "
     r"minus β × minutes; \1)"),
    (r"difference in means \(Neyman, standard\)", "difference in means (Neyman standard error)"),
    (r"difference in means \(Neyman, blocked\)",
     "difference in means within blocks (Neyman standard error)"),
    (r"Lin \(2013\) covariate adjustment \(OLS, HC2\)",
     "Lin (2013) covariate-adjusted difference (HC2 standard errors)"),
    (r"quasi-Poisson GLM \(Pearson scale\)", "quasi-Poisson regression (Pearson dispersion)"),
    (r"negative binomial GLM \(NB2, ML theta; conditional SE\)",
     "negative binomial regression (NB2)"),
    (r"ratio of means \(= Poisson rate ratio without covariates\)", "ratio of means"),
    (r"WDD at hot-spot level \(difference in mean post - pre change\)",
     "weighted displacement difference per hot spot (change from baseline, treatment minus "
     "control)"),
    (r"weighted displacement difference \(Wheeler & Ratcliffe 2018\)",
     "weighted displacement difference (Wheeler & Ratcliffe 2018; assumes Poisson variance)"),
    (r"relative incident rate ratio \(Wilson 2022; Pearson overdispersion\)",
     "relative incident rate ratio (Wilson 2022; Pearson overdispersion)"),
    (r"harm difference \(Neyman standard; stratified bootstrap; log1p; ratio\)",
     "difference in harm (Neyman, stratified bootstrap, log(1 + harm) and ratio of means)"),
    (r"log1p", "log(1 + x)"),
    (r"presence_minutes", "patrol presence minutes"),
    (r"\bFE\b", "fixed-effects"),
    (r"\bIRR\b", "rate ratio"),
)


def method_name(method: str) -> str:
    """A readable name for a result's ``method`` string (no code names, no underscores)."""
    text = str(method)
    for pattern, repl in _METHOD_RULES:
        text = re.sub(pattern, repl, text)
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


_TERMS = {"tasked": "", "treatment": "", "dose": "", "percent_change": "percent change",
          "first stage": "first stage: extra minutes of presence on tasked units",
          "treatment (log IRR)": "log rate ratio", "treatment (bootstrap)": "bootstrap",
          "treatment (log1p)": "log(1 + harm)", "log RIRR": "log RIRR"}


def term_name(term: str) -> str:
    """``""`` for the main effect of a method, else a reader's name for the term."""
    return _TERMS.get(term, str(term).replace("_", " "))


def outcome_name(name: str, labels: Mapping[str, str], *, ring_m: float | None = None) -> str:
    """The plan's label of an outcome column; catchment and log columns say what they are."""
    if name in labels:
        return str(labels[name])
    if name.startswith("catchment_"):
        base = outcome_name(name.removeprefix("catchment_"), labels)
        ring = f"{ring_m:g} m ring" if ring_m else "ring"
        return f"{base}, in the {ring} around each hot spot"
    if name.startswith("log1p_"):
        return f"log(1 + {outcome_name(name.removeprefix('log1p_'), labels).lower()})"
    if name.startswith("baseline_"):
        return f"baseline {outcome_name(name.removeprefix('baseline_'), labels).lower()}"
    return name.replace("_", " ")
