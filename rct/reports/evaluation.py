"""The evaluation report: flow, balance, dosage, effects, randomisation inference, complier
effect, displacement, robustness and a reproducibility appendix.

>>> from rct.reports.evaluation import evaluation_report
>>> evaluation_report("trial.toml").write("evaluation.html")   # doctest: +SKIP

Effects come from ``results.json`` (``rct evaluate``; its
:meth:`EvaluationResults.to_dict`), or from
:func:`rct.plan.evaluate.evaluate_trial` when there is none.  The complier
effect, displacement / pre-post estimates and the randomisation distribution
(a histogram in ``meta["randomisation_distribution"]``) are read from the
results too: this module formats, it does not compute statistics.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rct.reports import common
from rct.reports.sections import NotAvailable, Report, ReportBuilder, Section, kv_html

__all__ = ["evaluation_report", "results_tidy", "null_distribution"]

_SHOW = ["outcome", "method", "term", "estimate", "conf_low", "conf_high", "p_value",
         "p_adjusted", "n"]


def evaluation_report(trial: Any, *, results: Any = None, as_of: Any = None) -> Report:
    """Build the evaluation report.

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    results
        :class:`rct.evaluate.results.EvaluationResults`, its ``to_dict()``,
        or a ``results.json`` path.  Default: ``[files] results`` if it
        exists, else the trial is evaluated now (and the report says so).
    """
    t = common.load(trial)
    b = ReportBuilder(kind="Evaluation report", title=t.trial.name,
                      subtitle=f"{t.trial.force} · {t.design.type} design · "
                               f"primary outcome: {t.analysis.primary}",
                      source=Path(t.path).name)
    rd: dict[str, Any] | None = None
    how = ""
    with b.section("results-source", "About these results") as s:
        rd, how = _results(t, results)
        s.para(how, note=True)
        meta = rd.get("meta", {})
        if meta.get("trial_file_sha256") not in (None, t.sha256):
            s.para("The results were computed from a different version of the trial file "
                   "(SHA-256 differs): re-run `rct evaluate`.", cls="warn")
    tidy = results_tidy(rd) if rd is not None else None
    mon = None
    try:
        from rct.dosage.monitor import monitor_trial

        mon = monitor_trial(t, write=False, as_of=as_of)[0]
    except Exception:  # noqa: BLE001 - the dosage sections then say what is missing
        mon = None
    flow = _flow(t, rd, tidy, mon, b)
    with b.section("balance", "Baseline balance", major=True) as s:
        common.balance_section(s, t)
    from rct.reports.monitor import dosage_sections

    dosage_sections(b, t, mon, weekly=False, dwell=False)  # dwell: monitoring report
    outcomes_ = list(t.analysis.outcomes)
    with b.section("primary", f"Primary outcome: {t.analysis.primary}", major=True) as s:
        _outcome(s, b, rd, tidy, t.analysis.primary, primary=True)
    for o in outcomes_[1:]:
        with b.section(f"secondary-{o}", f"Secondary outcome: {o}") as s:
            _outcome(s, b, rd, tidy, o, primary=False)
    with b.section("forest", "Forest plot") as s:
        _forest(s, tidy)
    with b.section("randomisation", "Randomisation distribution") as s:
        _randomisation(s, t, rd, tidy)
    with b.section("complier", "Complier effect of patrol presence") as s:
        _complier(s, t, rd)
    with b.section("displacement", "Displacement and diffusion") as s:
        _displacement(s, t, rd)
    with b.section("robustness", "Robustness checks") as s:
        _robustness(s, rd, tidy)
    with b.section("plan", "Analysis plan", major=True) as s:
        common.plan_section(s, t)
    with b.section("appendix", "Reproducibility appendix") as s:
        meta = (rd or {}).get("meta", {})
        common.reproducibility_section(s, t, seeds={
            "randomisation-inference seed": meta.get("ri_seed"),
            "randomisation-inference draws": meta.get("ri_draws"),
            "randomisation-inference design": meta.get("ri_design")})
    return b.render("evaluation.html.j2", flow=flow)


# ---------------------------------------------------------------------------
# results


def _results(t: Any, results: Any) -> tuple[dict[str, Any], str]:
    if results is not None:
        if hasattr(results, "to_dict"):
            return results.to_dict(), "Results passed in by the caller."
        if isinstance(results, dict):
            return results, "Results passed in by the caller."
        p = Path(results)
        return json.loads(p.read_text(encoding="utf-8")), f"Results read from {p.name}."
    p = Path(t.files.results)
    if p.exists():
        return (json.loads(p.read_text(encoding="utf-8")),
                f"Results read from {common.rel(t, p)} (written by `rct evaluate`).")
    from rct.plan.evaluate import evaluate_trial

    res = evaluate_trial(t.path)
    return res.to_dict(), ("results.json was not found, so the trial was evaluated for this "
                           "report (rct.plan.evaluate.evaluate_trial); run `rct evaluate` to "
                           "keep the results file.")


def results_tidy(rd: dict[str, Any]) -> Any:
    """The tidy table of a results dict (``EvaluationResults.to_dict()``), with ``family``."""
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
                         "p_adjusted": _f(adj.get(key)),
                         "role": e.get("role", ""),
                         "family": (e.get("role") in ("primary", "secondary")) if e.get("role")
                         else key in adj,
                         "headline": i == 0})
    df = pd.DataFrame(rows)
    if len(df):
        df["primary"] = (df["role"] == "primary") if (df["role"] != "").any() \
            else df["outcome"] == rd.get("primary")
    return df


def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _need(rd: Any) -> None:
    if rd is None:
        raise NotAvailable("no results (see 'About these results')")


def _outcome(s: Section, b: ReportBuilder, rd: Any, tidy: Any, outcome: str, *,
             primary: bool) -> None:
    _need(rd)
    sub = tidy[(tidy["outcome"] == outcome) & tidy["headline"]]
    if sub.empty:
        raise NotAvailable(f"the results have no estimate for {outcome!r}")
    fam = sub[sub["family"]]
    alpha = 0.05
    for e in rd["estimates"]:
        if e["outcome"] == outcome:
            alpha = e.get("alpha", alpha)
    if len(fam):
        r = fam.iloc[0]
        ci = f"{1 - alpha:.0%} CI {r['conf_low']:.3g} to {r['conf_high']:.3g}"
        padj = "" if math.isnan(r["p_adjusted"]) else \
            f", {rd.get('adjustment')}-adjusted p = {_p(r['p_adjusted'])}"
        s.para(f"Pre-registered test ({r['method']}): estimate {r['estimate']:.3g} ({ci}), "
               f"randomisation p = {_p(r['p_value'])}{padj}.")
        if primary:
            b.fact(f"{outcome}: effect ({r['scale']})", f"{r['estimate']:.3g}")
            b.fact(f"{outcome}: randomisation p", _p(r["p_value"]))
    ratio = sub[sub["scale"] == "ratio"]
    if len(ratio):
        best = ratio.iloc[0]
        if primary:
            b.fact(f"{outcome}: rate ratio ({100 * (best['estimate'] - 1):+.1f} %)",
                   f"{best['estimate']:.3f}")
        s.para(f"As a rate ratio ({best['method']}): {best['estimate']:.3f}, i.e. "
               f"{100 * (best['estimate'] - 1):+.1f} % on tasked units "
               f"({best['conf_low']:.3f} to {best['conf_high']:.3f}).", note=True)
    show = sub[["method", "term", "scale", "estimate", "conf_low", "conf_high", "p_value",
                "p_adjusted", "n"]].rename(columns={"conf_low": "CI low", "conf_high": "CI high",
                                                    "p_value": "p", "p_adjusted": "p adjusted"})
    s.table(show, heading="Every estimate of this outcome",
            note="Randomisation-inference rows draw from the trial's own design; the others "
                 "are model-based.")


def _p(v: float) -> str:
    if v is None or math.isnan(v):
        return "–"
    return "< 0.001" if v < 0.001 else f"{v:.3f}"


def _forest(s: Section, tidy: Any) -> None:
    from rct.reports.figures import forest_plot

    if tidy is None or tidy.empty:
        raise NotAvailable("no results")
    h = tidy[tidy["headline"] & np.isfinite(tidy["conf_low"]) & np.isfinite(tidy["conf_high"])]
    h = h.assign(label=h["outcome"] + ": " + h["method"].str.slice(0, 70))
    ratio = h[h["scale"] == "ratio"]
    diff = h[h["scale"] == "difference"]
    if ratio.empty and diff.empty:
        raise NotAvailable("no estimate has an interval")
    if len(ratio):
        fig = forest_plot(ratio, null=1.0, xlabel="Rate ratio (95 % CI)")
        fig.axes[0].set_xscale("log")
        s.figure(fig, alt="Forest plot of rate ratios", heading="Rate ratios (1 = no effect)")
    for outcome, sub in diff.groupby("outcome", sort=False):
        s.figure(forest_plot(sub, null=0.0, xlabel=f"Difference in {outcome} (95 % CI)"),
                 alt=f"Forest plot of differences in {outcome}",
                 heading=f"Differences: {outcome} (0 = no effect)")


def null_distribution(t: Any, rd: dict[str, Any]) -> dict[str, Any]:
    """The primary test's randomisation distribution, as ``results.json`` records it.

    ``rct evaluate`` stores the histogram of the headline test's statistic over
    the design's assignments in ``meta["randomisation_distribution"]`` (bin
    ``edges`` and ``counts``, ``observed``, ``p_value``, ``n_exceed``,
    ``n_defined``, ``label``, ``how``); older results files have it only in
    the estimate's ``details["null_histogram"]``.  Nothing is recomputed here.
    ``t`` (the trial) is accepted for a stable signature and not used.
    """
    del t
    meta = rd.get("meta", {}) or {}
    d = meta.get("randomisation_distribution")
    if d is None:
        primary = rd.get("primary")
        fam = {(a["outcome"], a["method"]) for a in rd.get("adjusted_p", [])}
        for e in rd.get("estimates", []):
            h = (e.get("details") or {}).get("null_histogram")
            if e["outcome"] == primary and h and (not fam or (e["outcome"], e["method"]) in fam):
                d = {**h, "outcome": primary, "method": e["method"],
                     "label": "test statistic", "how": f"{e['details'].get('ri_draws')} assignments"}
                break
    if not d or not d.get("counts"):
        raise NotAvailable("the results do not record the randomisation distribution "
                           "(re-run `rct evaluate`)")
    return dict(d)


def _histogram_figure(nd: dict[str, Any]) -> Any:
    from rct.reports.figures import _figure

    fig = _figure(7.0, 3.6)
    ax = fig.add_subplot()
    edges = np.asarray(nd["edges"], dtype=float)
    counts = np.asarray(nd["counts"], dtype=float)
    ax.stairs(counts, edges, fill=True, color="#bcd4e6", edgecolor="#6b8fb3")
    ax.axvline(float(nd["observed"]), color="#d1495b", linewidth=2, label="observed")
    ax.legend(title=f"p = {float(nd['p_value']):.3f}", fontsize=8)
    ax.set_xlabel(nd.get("label") or "test statistic")
    ax.set_ylabel("Re-randomisations" if float(counts.sum()).is_integer() else "Probability")
    return fig


def _randomisation(s: Section, t: Any, rd: Any, tidy: Any) -> None:
    _need(rd)
    nd = null_distribution(t, rd)
    s.figure(_histogram_figure(nd),
             alt=f"Randomisation distribution of the {nd['outcome']} statistic with the "
                 "observed value marked")
    s.para(f"The statistic for {nd['outcome']} under the sharp null of no effect, over "
           f"{nd['how']}; the red line is the observed value ({float(nd['observed']):.4g}). The "
           f"p-value ({_p(float(nd['p_value']))}) is the share of assignments at least as "
           "extreme.", note=True)


def _estimates(rd: Any, pred: Any) -> list[dict[str, Any]]:
    return [e for e in (rd or {}).get("estimates", []) if pred(e)]


def _tab(ests: list[dict[str, Any]]) -> Any:
    return results_tidy({"estimates": ests})[["outcome", "method", "term", "estimate",
                                               "conf_low", "conf_high", "p_value", "n"]]


def _complier(s: Section, t: Any, rd: Any) -> None:
    _need(rd)
    ests = _estimates(rd, lambda e: "complier effect" in e["method"])
    if not ests:
        raise NotAvailable("the results have no complier effect (it needs a patrol dosage or "
                           "Airwave presence table when `rct evaluate` runs)")
    s.table(_tab(ests), heading="Effect per minute of patrol presence (assignment as instrument)")
    iv = next((e for e in ests if "2SLS" in e["method"]), None)
    ri = next((e for e in ests if e["method"].startswith("randomisation")), None)
    unit = "hot-spot-day" if t.design.type == "crossover" else "hot spot (trial totals)"
    if iv is not None:
        det = iv.get("details", {})
        f = det.get("first_stage_f")
        s.para(f"Assignment instruments patrol presence minutes ({iv['method']}). "
               f"First-stage F = {_f(f):.1f}"
               + (" — weak instrument: rely on the randomisation interval, which stays valid."
                  if det.get("weak_instrument") else "."), note=True)
    if ri is not None:
        s.para("The randomisation test assumes a constant effect per minute: under "
               "H0: β = β0 the outcome minus β0 × presence is unchanged by assignment, so its "
               "distribution over the design's assignments is known; the interval collects the "
               "β0 not rejected (Imbens & Rosenbaum 2005).", note=True)
    head = (iv or ri)["terms"][0]
    est = _f(head.get("estimate"))
    if math.isfinite(est):
        s.para(f"Ten extra minutes of presence change {ests[0]['outcome']} by {10 * est:.3g} "
               f"per {unit} among compliers.")


def _displacement(s: Section, t: Any, rd: Any) -> None:
    _need(rd)
    ring = _estimates(rd, lambda e: e["outcome"].startswith("catchment_"))
    prepost = _estimates(rd, lambda e: any(k in e["method"] for k in (
        "displacement difference", "WDD", "displacement quotient", "incident rate ratio")))
    if not ring and not prepost:
        raise NotAvailable("the results have no catchment or pre/post estimates: ingest crimes "
                           "with --catchment (or [dosage] catchment_m) and re-run `rct evaluate`")
    if ring:
        s.table(_tab(ring), heading="Effect of the patrols on the catchment ring around each "
                                    "hot spot")
        width = t.dosage.catchment_m
        s.para("Crimes in the ring" + (f" ({width:g} m)" if width else "") + " around each hot "
               "spot, same model as the main analysis. A rise suggests displacement; a fall, "
               "diffusion of benefits.", note=True)
    if prepost:
        s.table(_tab(prepost), heading="Pre/post comparisons with the baseline window "
                                       "(WDD, RIRR, displacement quotient)")
        s.para("WDD and RIRR with model-based (Poisson) errors, and the same effects at "
               "hot-spot level with randomisation p-values drawn from the design. WDQ > 0: "
               "diffusion of benefits; < 0: displacement (meaningful only when the treated "
               "area improved).", note=True)


def _robustness(s: Section, rd: Any, tidy: Any) -> None:
    _need(rd)
    other = tidy[tidy["headline"] & ~tidy["family"]]
    s.para("Sensitivity analyses (reported unadjusted): other estimators of the same effects. "
           f"The multiplicity adjustment ({rd.get('adjustment')}) covers one pre-registered "
           "test per outcome.", note=True)
    meta = rd.get("meta", {})
    s.html(kv_html({k: v for k, v in meta.items() if k not in ("trial",)}),
           heading="How the analysis was run")
    if len(other):
        s.table(other[["outcome", "method", "estimate", "conf_low", "conf_high", "p_value",
                       "n"]], heading="Other estimators")
    extra = tidy[~tidy["headline"]]
    if len(extra):
        s.table(extra[["outcome", "method", "term", "estimate", "conf_low", "conf_high",
                       "p_value"]], heading="Further terms (carryover, first stages ...)")


# ---------------------------------------------------------------------------
# flow


def _flow(t: Any, rd: Any, tidy: Any, mon: Any, b: ReportBuilder) -> list[dict[str, Any]]:
    """CONSORT-style stages: assigned, received the dose, analysed (per arm)."""
    try:
        alloc = common.allocation(t)
    except NotAvailable:
        return []
    control, treatment = common.arms_of(t)
    arms = [treatment, control]
    counts = alloc["arm"].astype(str).value_counts()
    n_hs = int(alloc["hotspot_id"].nunique())
    crossover = "trial_date" in alloc.columns
    unit = "hot-spot-days" if crossover else "hot spots"
    b.fact("hot spots", n_hs)
    stages = [{"label": f"Randomised: {n_hs} hot spots"
               + (f" × {alloc['trial_date'].nunique()} days" if crossover else ""),
               "boxes": [{"arm": f"{a} {unit}", "value": f"{int(counts.get(a, 0)):,}",
                          "note": ""} for a in arms]}]
    if mon is not None and mon.compliance is not None:
        sm = mon.compliance.summary.set_index("metric")
        dosed, tasked = sm.loc["dosed_share", ["numerator", "denominator"]]
        cont, ctrl = sm.loc["contamination_share", ["numerator", "denominator"]]
        target = mon.parameters.get("target_minutes")
        stages.append({"label": "Received patrols (app logs)", "boxes": [
            {"arm": f"{treatment} hot-spot-days dosed", "value": f"{int(dosed):,}",
             "note": f"of {int(tasked):,} (≥ {target:g} min)"},
            {"arm": f"{control} hot-spot-days patrolled", "value": f"{int(cont):,}",
             "note": f"of {int(ctrl):,} (contamination)"}]})
    else:
        stages.append({"label": "Received patrols", "boxes": [
            {"arm": "not available", "value": "–", "note": "no patrol dosage table"}]})
    if rd is not None:
        meta = rd.get("meta", {})
        fam = tidy[tidy["primary"] & tidy["family"]] if len(tidy) else tidy
        n = int(fam["n"].iloc[0]) if len(fam) else meta.get("hotspot_days", meta.get("hotspots"))
        if crossover and meta.get("tasked_days") is not None and n is not None:
            boxes = [{"arm": f"{treatment} hot-spot-days", "value": f"{int(meta['tasked_days']):,}",
                      "note": ""},
                     {"arm": f"{control} hot-spot-days",
                      "value": f"{int(n) - int(meta['tasked_days']):,}", "note": ""}]
        else:
            boxes = [{"arm": unit, "value": f"{int(n):,}" if n is not None else "–", "note":
                      "both arms"}]
        total = int(counts.get(treatment, 0) + counts.get(control, 0))
        excluded = total - int(n) if n is not None else None
        stages.append({"label": f"Analysed ({rd.get('primary')})"
                       + (f"; excluded {excluded:,}" if excluded else "; none excluded"),
                       "boxes": boxes})
    return stages
