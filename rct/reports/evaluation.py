"""The evaluation report, ordered as a journal paper.

Summary (the one headline, a conclusion that follows from it, the plan's
SHA-256 and its registration), trial flow, the pre-registered result,
secondary outcomes, dosage and compliance, robustness, displacement,
exploratory analyses, limitations and reproducibility.

>>> from rct.reports.evaluation import evaluation_report
>>> evaluation_report("trial.toml").write("evaluation.html")   # doctest: +SKIP

Effects come from ``results.json`` (``rct evaluate``; its
:meth:`EvaluationResults.to_dict`), or from
:func:`rct.plan.evaluate.evaluate_trial` when there is none.  The report
refuses results whose inputs or plan differ from the files now on disk
(:class:`StaleResultsError`) unless ``allow_stale``; this module formats, it
does not compute statistics.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from rct.errors import DataError
from rct.reports import common
from rct.reports.sections import NotAvailable, Report, ReportBuilder

__all__ = ["evaluation_report", "results_tidy", "null_distribution", "StaleResultsError",
           "stale_inputs", "SECTION_ORDER"]

#: The report's sections, in order (ids of the ``<section>`` elements).
SECTION_ORDER = ("summary", "flow", "primary", "secondary", "dosage", "cost", "robustness",
                 "displacement", "exploratory", "limitations", "reproducibility")


class StaleResultsError(DataError):
    """The results were computed from inputs (or a plan) that differ from those on disk now."""


def evaluation_report(trial: Any, *, results: Any = None, as_of: Any = None,
                      allow_stale: bool = False) -> Report:
    """Build the evaluation report.

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    results
        :class:`rct.evaluate.results.EvaluationResults`, its ``to_dict()``,
        or a ``results.json`` path.  Default: ``[files] results`` if it
        exists, else the trial is evaluated now (and the report says so).
    as_of
        Last day of dosage to include in the dosage section.
    allow_stale
        Report results even when an input's SHA-256 or the plan's differs from
        what the results record (a red warning then heads the report).

    Raises
    ------
    StaleResultsError
        When the results' inputs or plan differ from the files now on disk,
        naming the first file that changed (unless ``allow_stale``).
    """
    from rct.reports import evaluation_sections as es

    t = common.load(trial)
    rd, source = _results(t, results)
    stale = stale_inputs(t, rd)
    if stale and not allow_stale:
        raise StaleResultsError(
            f"{source['name']} {'is' if source.get('path') else 'are'} stale: {stale[0]}"
            + (f" (and {len(stale) - 1} more)" if len(stale) > 1 else "")
            + f"; re-run `rct evaluate {Path(t.path).name}`, or pass --allow-stale to report "
              "the old results under a warning", file=source.get("path"))
    meta = rd.get("meta", {}) or {}
    headline = meta.get("headline") or {}
    plan = meta.get("plan") or {}
    label = (plan.get("primary_outcome") or {}).get("label") or t.analysis.primary
    b = ReportBuilder(kind="Evaluation report", title=t.trial.name,
                      subtitle=f"{t.trial.force} · {t.design.type} design · primary outcome: "
                               f"{label}", source=Path(t.path).name)
    if stale:
        b.banner.append("These results are stale: they were computed from inputs that differ "
                        "from the files now on disk, and are shown only because --allow-stale "
                        "was given: " + "; ".join(stale) + ".")
    tidy = results_tidy(rd)
    ctx = es.Context(t=t, rd=rd, tidy=tidy, meta=meta, plan=plan, headline=headline,
                     source=source, stale=tuple(stale), mon=_monitor(t, as_of))
    es.facts(b, ctx)
    builders = {"summary": ("Summary", es.summary), "flow": ("Trial flow", es.flow),
                "primary": ("The pre-registered result", es.primary),
                "secondary": ("Secondary outcomes", es.secondary),
                "dosage": ("Dosage and compliance", es.dosage),
                "cost": ("Cost and value", es.cost),
                "robustness": ("Robustness", es.robustness),
                "displacement": ("Displacement and diffusion", es.displacement),
                "exploratory": ("Exploratory analyses (not confirmatory)", es.exploratory),
                "limitations": ("Limitations", es.limitations),
                "reproducibility": ("Reproducibility", es.reproducibility)}
    for sid in SECTION_ORDER:
        title, fn = builders[sid]
        with b.section(sid, title, major=sid in ("summary", "primary", "limitations")) as s:
            fn(s, ctx)
    return b.render("evaluation.html.j2")


# ---------------------------------------------------------------------------
# results and their freshness


def _results(t: Any, results: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The results dict and where it came from (``name``, ``path``, ``how``)."""
    if results is not None:
        if hasattr(results, "to_dict"):
            return results.to_dict(), {"name": "the results given", "path": None,
                                       "how": "computed by `rct evaluate` in this run"}
        if isinstance(results, dict):
            return results, {"name": "the results given", "path": None,
                             "how": "computed by `rct evaluate`"}
        p = Path(results)
        return _read_json(p), {"name": p.name, "path": p, "how": f"read from {p.name}"}
    p = Path(t.files.results)
    if p.exists():
        return _read_json(p), {"name": common.rel(t, p), "path": p,
                               "how": f"read from {common.rel(t, p)}, written by `rct evaluate`"}
    from rct.plan.evaluate import evaluate_trial

    res = evaluate_trial(t.path)
    return res.to_dict(), {"name": "the results computed now", "path": None,
                           "how": f"computed for this report because {common.rel(t, p)} was "
                                  "not found (run `rct evaluate` to keep a results file)"}


def _read_json(p: Path) -> dict[str, Any]:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("results file not found (run `rct evaluate` first)", file=p) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"not a results file: {exc}", file=p) from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stale_inputs(t: Any, rd: dict[str, Any]) -> list[str]:
    """Why the results no longer describe the files on disk (empty list: they do).

    Compares every input recorded in ``meta["inputs"]`` (file and SHA-256, as
    ``rct evaluate`` read them) with the file now on disk, and
    ``meta["plan_sha256"]`` with the plan the trial file resolves to now (with
    the number of randomisation draws the results record, since ``rct evaluate
    --ri-draws`` may override it; the registration status reports that).
    Results that record no input hashes cannot be checked and count as stale.
    """
    meta = rd.get("meta", {}) or {}
    inputs = meta.get("inputs")
    out: list[str] = []
    if not inputs:
        out.append("the results record no SHA-256 of their inputs (written by an older "
                   "version), so they cannot be checked against the files on disk")
    for role, ent in (inputs or {}).items():
        name = str(ent.get("file"))
        p = Path(t.root) / name
        if not p.is_file():
            out.append(f"{name} ({role}) no longer exists")
        elif ent.get("sha256") and _sha256(p) != ent["sha256"]:
            out.append(f"{name} ({role}) changed since `rct evaluate` read it (SHA-256 "
                       f"{ent['sha256'][:12]}… then, {_sha256(p)[:12]}… now)")
    recorded = meta.get("plan_sha256")
    if recorded:
        import dataclasses

        from rct.plan.plan import plan_from_trial

        # `rct evaluate --ri-draws N` is an override recorded in the results (and reported
        # as a plan that differs from the registered one), not a change of the files
        draws = ((meta.get("plan") or {}).get("primary_test") or {}).get("draws")
        now = t if draws is None else dataclasses.replace(
            t, analysis=dataclasses.replace(t.analysis, ri_draws=int(draws)))
        plan = plan_from_trial(now)
        if plan.sha256 != recorded:
            keys = plan.differences(meta.get("plan") or {})
            shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
            out.append(f"the analysis plan changed since `rct evaluate` ran (SHA-256 "
                       f"{recorded[:12]}… then, {plan.sha256[:12]}… now; {shown or 'content'})")
    elif inputs:
        out.append("the results record no analysis-plan SHA-256")
    return out


def _monitor(t: Any, as_of: Any) -> Any:
    try:
        from rct.dosage.monitor import monitor_trial

        return monitor_trial(t, write=False, as_of=as_of)[0]
    except Exception:  # noqa: BLE001 - the dosage section then says what is missing
        return None


def results_tidy(rd: dict[str, Any]) -> Any:
    """The tidy table of a results dict (``EvaluationResults.to_dict()``).

    One row per term with ``role`` (primary / secondary / robustness /
    exploratory), ``family`` (in the multiplicity family), ``p_adjusted``,
    ``headline`` (the estimate's first term), ``primary`` (the primary outcome)
    and ``alpha``.
    """
    import pandas as pd

    adj = {(a["outcome"], a["method"], a["term"]): a["p_adjusted"]
           for a in rd.get("adjusted_p", [])}
    rows = []
    for e in rd.get("estimates", []):
        for i, term in enumerate(e["terms"]):
            key = (e["outcome"], e["method"], term["term"])
            rows.append({"outcome": e["outcome"], "term": term["term"],
                         "estimate": _f(term.get("estimate")),
                         "std_error": _f(term.get("std_error")),
                         "statistic": _f(term.get("statistic")),
                         "p_value": _f(term.get("p_value")),
                         "conf_low": _f(term.get("conf_low")),
                         "conf_high": _f(term.get("conf_high")),
                         "method": e["method"], "n": e["n"],
                         "scale": term.get("scale", "difference"),
                         "role": e.get("role", ""), "alpha": float(e.get("alpha", 0.05)),
                         "p_adjusted": _f(adj.get(key)),
                         "family": key in adj, "headline": i == 0})
    df = pd.DataFrame(rows, columns=["outcome", "term", "estimate", "std_error", "statistic",
                                     "p_value", "conf_low", "conf_high", "method", "n", "scale",
                                     "role", "alpha", "p_adjusted", "family", "headline"])
    df["primary"] = df["outcome"] == rd.get("primary")
    return df


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def null_distribution(t: Any, rd: dict[str, Any]) -> dict[str, Any]:
    """The primary test's randomisation distribution, as ``results.json`` records it.

    ``rct evaluate`` stores the histogram of the headline test's statistic over
    the design's assignments in ``meta["randomisation_distribution"]`` (bin
    ``edges`` and ``counts``, ``observed``, ``p_value``, ``n_exceed``,
    ``n_defined``, ``label``, ``how``); older results files have it only in
    the primary estimate's ``details["null_histogram"]``.  Nothing is
    recomputed here.  ``t`` (the trial) is accepted for a stable signature
    and not used.
    """
    del t
    meta = rd.get("meta", {}) or {}
    d = meta.get("randomisation_distribution")
    if d is None:
        primary = rd.get("primary")
        for e in rd.get("estimates", []):
            h = (e.get("details") or {}).get("null_histogram")
            if e["outcome"] == primary and h and e.get("role", "primary") == "primary":
                d = {**h, "outcome": primary, "method": e["method"],
                     "label": "test statistic",
                     "how": f"{int(e['details'].get('ri_draws')):,} assignments"}
                break
    if not d or not d.get("counts"):
        raise NotAvailable("the results do not record the randomisation distribution "
                           "(re-run `rct evaluate`)")
    return dict(d)
