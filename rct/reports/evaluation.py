"""The evaluation report: flow, balance, dosage, effects, randomisation inference, complier
effect, displacement, robustness and a reproducibility appendix.

>>> from rct.reports.evaluation import evaluation_report
>>> evaluation_report("trial.toml").write("evaluation.html")   # doctest: +SKIP

Effects come from ``results.json`` (``rct evaluate``; its
:meth:`EvaluationResults.to_dict`), or from
:func:`rct.evaluate.run.evaluate_trial` when there is none.  The complier
effect, the displacement estimate and the randomisation distribution are
computed by :mod:`rct.evaluate` functions called here.
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
        _complier(s, t)
    with b.section("displacement", "Displacement and diffusion") as s:
        _displacement(s, t)
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
    from rct.evaluate.run import evaluate_trial

    res = evaluate_trial(t.path)
    return res.to_dict(), ("results.json was not found, so the trial was evaluated for this "
                           "report (rct.evaluate.run.evaluate_trial); run `rct evaluate` to "
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
                         "family": key in adj, "headline": i == 0})
    df = pd.DataFrame(rows)
    if len(df):
        df["primary"] = df["outcome"] == rd.get("primary")
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
    """The primary test's statistic over the randomisation draws (re-drawn with its seed).

    Re-derives the design (:func:`rct.evaluate.run.design_from_trial`) and
    evaluates the plan's statistic (:class:`rct.evaluate.crossover.TwoWayFE`,
    :class:`~rct.evaluate.crossover.ConditionalPoissonLogRR`,
    :func:`rct.evaluate.parallel.dim_statistic` or
    :func:`rct.evaluate.harm_effects.log_ratio_statistic`) on draws from the
    design, seeded as :mod:`rct.evaluate.run` seeds the primary outcome's test
    (``ri_seed`` plus the statistic's offset), so they are the draws behind its
    p-value; the tests check that they reproduce it.
    """

    from rct.evaluate.ri import align_to_design
    from rct.evaluate.run import design_from_trial

    meta = rd.get("meta", {})
    seed, draws = meta.get("ri_seed"), meta.get("ri_draws")
    if seed is None or draws is None:
        raise NotAvailable("the results do not record the randomisation seed and draws")
    alloc = common.allocation(t)
    out = common.outcomes(t)
    primary = rd.get("primary") or t.analysis.primary
    if t.design.type == "crossover":
        from rct.evaluate.crossover import ConditionalPoissonLogRR, TwoWayFE, crossover_panel

        out = _trial_outcomes(t)
        design = design_from_trial(t, alloc)
        if design is None:
            raise NotAvailable("[design] has no seed: the design cannot be re-derived")
        panel = crossover_panel(out, alloc)
        u = design.units.to_frame(index=False)
        if t.analysis.estimator == "panel-poisson":
            stat = ConditionalPoissonLogRR(u.iloc[:, 0].astype(str))
            seed = int(seed) + 1000  # rct.evaluate.run: conditional Poisson draws
            label = "conditional Poisson log rate ratio (hot-spot strata)"
        else:
            stat = TwoWayFE(u.iloc[:, 0].astype(str), u.iloc[:, 1].astype(str))
            label = "two-way FE OLS coefficient (tasked − untasked, per hot-spot-day)"
        y = align_to_design(design, panel, primary)
    else:
        from rct.evaluate.harm_effects import log_ratio_statistic
        from rct.evaluate.parallel import dim_statistic
        from rct.evaluate.ri import as_statistic
        from rct.evaluate.run import _parallel_units

        if t.analysis.estimator == "lin":
            raise NotAvailable("the figure is drawn for the difference in means and the ratio "
                               "of means; the plan's Lin statistic is not drawn yet")
        hs = gdf_frame(t)
        design = design_from_trial(t, alloc, hs)
        if design is None:
            raise NotAvailable("[design] has no seed: the design cannot be re-derived")
        units, _ = _parallel_units(out, alloc, (primary,), t.windows)
        units = units.set_index("hotspot_id").loc[[str(i) for i in design.units]].reset_index()
        blocks = units["block"].astype(str).to_numpy() \
            if t.design.scheme in ("block", "pairs") and "block" in units else None
        if t.analysis.estimator in ("negbin", "poisson", "quasipoisson"):
            stat = as_statistic(log_ratio_statistic, name="log ratio of means", order="yz",
                                blocks=blocks)
            seed = int(seed) + 200  # rct.evaluate.run: ratio-of-means draws
            label = "log ratio of means (treatment / control hot spots)"
        else:
            stat = as_statistic(dim_statistic, name="difference in means", linear=True,
                                order="yz", blocks=blocks)
            label = "difference in means (treatment − control, per hot spot)"
        y = align_to_design(design, units, primary)
    z_obs = (np.asarray(design.assignment) == 1).astype(float)[None, :]
    observed = float(stat(z_obs, y)[0])
    enum = design.enumerate(100_000)
    if enum is not None:
        Z = np.asarray(enum)
        how = f"all {len(Z):,} possible assignments"
    else:
        Z = design.draw(int(draws), np.random.default_rng(int(seed)))
        how = f"{int(draws):,} draws from the design (seed {int(seed)})"
    rows = max(1, 4_000_000 // Z.shape[1])
    T = np.concatenate([np.asarray(stat((Z[i:i + rows] == 1).astype(float), y), dtype=float)
                        for i in range(0, Z.shape[0], rows)])  # memory-bounded batches
    return {"draws": T, "observed": observed, "label": label, "how": how, "outcome": primary}


def gdf_frame(t: Any) -> Any:
    import pandas as pd

    try:
        g = common.hotspots(t)
    except NotAvailable:
        return None
    return pd.DataFrame(g.drop(columns="geometry"))


def _randomisation(s: Section, t: Any, rd: Any, tidy: Any) -> None:
    from rct.reports.figures import randomisation_histogram

    _need(rd)
    nd = null_distribution(t, rd)
    fam = tidy[(tidy["outcome"] == nd["outcome"]) & tidy["family"]]
    p = float(fam["p_value"].iloc[0]) if len(fam) else None
    s.figure(randomisation_histogram(nd["draws"], nd["observed"], p_value=p,
                                     xlabel=nd["label"]),
             alt=f"Randomisation distribution of the {nd['outcome']} statistic with the "
                 "observed value marked")
    s.para(f"The statistic for {nd['outcome']} under the sharp null of no effect, over "
           f"{nd['how']}; the red line is the observed value ({nd['observed']:.4g}). The "
           "p-value is the share of assignments at least as extreme.", note=True)


def _trial_outcomes(t: Any) -> Any:
    import pandas as pd

    out = common.outcomes(t)
    if t.windows.trial is not None and "trial_date" in out.columns:
        d = pd.to_datetime(out["trial_date"]).dt.date
        out = out[(d >= t.windows.trial[0]) & (d <= t.windows.trial[1])]
    return out


def _blocks(t: Any, units: Any) -> str | None:
    return "block" if t.design.scheme in ("block", "pairs") and "block" in units else None


def _complier(s: Section, t: Any) -> None:
    import pandas as pd

    from rct.evaluate.complier import complier_effect

    alloc = common.allocation(t)
    dose = common.read_table(t.files.patrol_dosage, "patrol dosage",
                             "run `rct ingest patrols` or `rct monitor`")
    outcome = t.analysis.primary
    dd = dose[["hotspot_id", "trial_date", "presence_minutes"]].copy()
    dd["hotspot_id"] = dd["hotspot_id"].astype(str)
    dd["trial_date"] = pd.to_datetime(dd["trial_date"]).dt.date
    if t.design.type == "crossover":
        from rct.evaluate.crossover import crossover_panel

        data = crossover_panel(_trial_outcomes(t), alloc)
        data = data.merge(dd, on=["hotspot_id", "trial_date"], how="left")
        data["presence_minutes"] = data["presence_minutes"].fillna(0.0)
        # no hot-spot dummies: tasking is randomised k per day with equal coverage, so the
        # instrument is (near) orthogonal to hot spot and day; dummies only cost time
        kw: dict[str, Any] = {"treatment": "tasked", "blocks": None}
        unit, how = "hot-spot-day", "pooled over hot-spot-days"
    else:
        from rct.evaluate.run import _parallel_units

        data, _ = _parallel_units(common.outcomes(t), alloc, (outcome,), t.windows)
        if t.windows.trial is not None:
            lo, hi = t.windows.trial
            dd = dd[(dd["trial_date"] >= lo) & (dd["trial_date"] <= hi)]
        total = dd.groupby("hotspot_id")["presence_minutes"].sum()
        data["presence_minutes"] = data["hotspot_id"].astype(str).map(total).fillna(0.0)
        kw = {"treatment": "arm", "blocks": _blocks(t, data)}
        unit, how = "hot spot (trial totals)", "per hot spot over the trial window"
    est = complier_effect(data, outcome=outcome, dose="presence_minutes",
                          alpha=t.analysis.alpha, **kw)
    d = est.to_dict()
    tab = est.tidy()[["term", "estimate", "std_error", "conf_low", "conf_high", "p_value", "n"]]
    s.table(tab, heading=f"{outcome} per minute of patrol presence (2SLS)")
    det = d["details"]
    s.para(f"Assignment instruments patrol presence minutes from the app logs, {how} "
           f"({d['method']}). First-stage F = {det['first_stage_f']:.1f}"
           + (" — weak instrument: do not rely on this estimate."
              if det.get("weak_instrument") else "."), note=True)
    per10 = 10 * est.tidy().set_index("term").loc["dose", "estimate"]
    s.para(f"Ten extra minutes of presence change {outcome} by {per10:.3g} per {unit} among "
           "compliers.")


def _displacement(s: Section, t: Any) -> None:
    out = common.outcomes(t)
    cols = [c for c in ("catchment_crimes", "catchment_harm") if c in out.columns]
    if not cols:
        raise NotAvailable("the outcomes table has no catchment columns: ingest crimes with "
                           "--catchment (or [dosage] catchment_m)")
    from rct.evaluate.results import EvaluationResults

    alloc = common.allocation(t)
    if t.design.type == "crossover":
        from rct.evaluate.crossover import crossover_fe, crossover_panel

        panel = crossover_panel(_trial_outcomes(t), alloc)
        ests = [crossover_fe(panel, outcome=c, alpha=t.analysis.alpha) for c in cols]
        what = "on tasked vs untasked days, same model as the main analysis"
    else:
        from rct.evaluate.parallel import difference_in_means
        from rct.evaluate.run import _parallel_units

        units, _ = _parallel_units(out, alloc, tuple(cols), t.windows)
        ests = [difference_in_means(units, outcome=c, treatment="arm",
                                    blocks=_blocks(t, units), alpha=t.analysis.alpha)
                for c in cols]
        what = "over the trial window, treatment vs control hot spots (difference in means)"
    tab = EvaluationResults(tuple(ests)).tidy()
    s.table(tab[["outcome", "term", "estimate", "conf_low", "conf_high", "p_value", "method",
                 "n"]], heading="Effect of the patrols on the catchment ring around each hot spot")
    width = t.dosage.catchment_m
    s.para("Crimes in the ring" + (f" ({width:g} m)" if width else "") + " around each hot "
           f"spot {what}. A rise suggests displacement; a fall, diffusion of benefits.",
           note=True)


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
