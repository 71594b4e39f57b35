"""The sections of the evaluation report (:mod:`rct.reports.evaluation`), one function each.

Each takes the section and a :class:`Context` (the trial, the results dict and
its tidy table, the monitoring tables) and lays out numbers the results
already hold.  Numbers are written by :mod:`rct.reports.words`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from rct.plan.headline import format_p
from rct.reports import common
from rct.reports import words as w
from rct.reports.sections import NotAvailable, ReportBuilder, Section, kv_html

__all__ = ["Context"]


@dataclass(frozen=True)
class Context:
    t: Any
    rd: dict[str, Any]
    tidy: Any
    meta: dict[str, Any]
    plan: dict[str, Any]
    headline: dict[str, Any]
    source: dict[str, Any]
    stale: tuple[str, ...]
    mon: Any

    @property
    def alpha(self) -> float:
        return float(self.headline.get("alpha") or self.t.analysis.alpha)

    @property
    def crossover(self) -> bool:
        return (self.meta.get("design") or self.t.design.type) == "crossover"

    @property
    def labels(self) -> dict[str, str]:
        outs = [self.plan.get("primary_outcome") or {}, *(self.plan.get("secondary_outcomes")
                                                           or [])]
        return {o["name"]: o["label"] for o in outs if o.get("name")}

    @property
    def unit(self) -> str:
        return "per hot-spot-day" if self.crossover else "per hot spot over the trial window"

    def name(self, outcome: str) -> str:
        return w.outcome_name(outcome, self.labels, ring_m=self.t.dosage.catchment_m)

    def estimates(self, *roles: str) -> list[dict[str, Any]]:
        return [e for e in self.rd.get("estimates", []) if e.get("role", "") in roles]


def _code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def _para(s: Section, template: str, *args: Any, cls: str = "") -> None:
    """A paragraph whose ``{}`` slots are set in monospace (file names, commands, digests)."""
    s.para(Markup(escape(template)).format(*(_code(str(a)) for a in args)), cls=cls)


def _estimate(e: dict[str, Any]) -> Any:
    """An :class:`~rct.evaluate.results.Estimate` back from its ``to_dict()``."""
    from rct.evaluate.results import Estimate, Term

    terms = tuple(Term(**{k: (math.nan if v is None and k != "term" and k != "scale" else v)
                          for k, v in t.items()}) for t in e["terms"])
    return Estimate(outcome=e["outcome"], method=e["method"], terms=terms, n=int(e["n"]),
                    alpha=float(e.get("alpha", 0.05)), details=e.get("details") or {},
                    role=e.get("role", ""))


def _headline_of(ctx: Context, e: dict[str, Any]) -> Any:
    """The estimate in the headline's words (the same formatting as ``rct evaluate``)."""
    from rct.plan.headline import headline_from

    return headline_from(_estimate(e), label=ctx.name(e["outcome"]),
                         design_type="crossover" if ctx.crossover else "parallel")


def _adjusted(ctx: Context, e: dict[str, Any]) -> float | None:
    for a in ctx.rd.get("adjusted_p", []):
        if (a["outcome"], a["method"], a["term"]) == (e["outcome"], e["method"],
                                                      e["terms"][0]["term"]):
            return a["p_adjusted"]
    return None


def _adjust_name(ctx: Context) -> str:
    return {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "not"}.get(
        str(ctx.rd.get("adjustment")), str(ctx.rd.get("adjustment")))


def estimates_table(ctx: Context, ests: list[dict[str, Any]], *, all_terms: bool = False,
                    adjusted: bool = False, method: bool = True) -> Any:
    """Estimates as a table of formatted text: outcome, method, scale, estimate, CI, p."""
    import pandas as pd

    rows = []
    for e in ests:
        alpha = float(e.get("alpha", ctx.alpha))
        for i, term in enumerate(e["terms"] if all_terms else e["terms"][:1]):
            scale = term.get("scale", "difference")
            est = term.get("estimate")
            row = {"Outcome": ctx.name(e["outcome"])}
            if method:
                row["Method"] = w.method_name(e["method"])
            if all_terms:
                row["Term"] = w.term_name(term["term"]) or "effect"
            row["Scale"] = w.scale_name(scale, unit=ctx.unit)
            row["Estimate"] = w.estimate_text(est, scale)
            row["Change"] = w.ratio_change(est) if scale == "ratio" else ""
            row[f"{w.level(alpha)} CI"] = w.interval_text(term.get("conf_low"),
                                                         term.get("conf_high"), scale)
            row["p"] = w.p_cell(term.get("p_value"), alpha=alpha)
            if adjusted:
                padj = _adjusted(ctx, e) if i == 0 else None
                row[f"{_adjust_name(ctx)}-adjusted p"] = w.p_cell(padj, alpha=alpha)
            rows.append(row)
    df = pd.DataFrame(rows)
    if len(df) and "Change" in df and not df["Change"].astype(bool).any():
        df = df.drop(columns="Change")
    return df


# ---------------------------------------------------------------------------
# facts and summary


def facts(b: ReportBuilder, ctx: Context) -> None:
    h = ctx.headline
    if h:
        vs = ("tasked vs untasked hot-spot-days" if ctx.crossover
              else "patrolled vs control hot spots")
        b.fact(f"{h.get('label')}, {vs} (pre-registered)", str(h.get("estimate_text")))
        interval = str(h.get("interval_text"))
        prefix = f"{w.level(ctx.alpha)} CI "
        b.fact(f"{w.level(ctx.alpha)} confidence interval", interval.removeprefix(prefix))
        b.fact("randomisation test, pre-registered", str(h.get("p_text")))
    n = ctx.meta.get("hotspots")
    if n is not None:
        b.fact("hot spots", w.count(n))
    if ctx.meta.get("days"):
        b.fact("trial days", w.count(ctx.meta["days"]))


def conclusion(ctx: Context) -> str:
    """A plain-language conclusion that follows from the headline's test at α."""
    h = ctx.headline
    alpha, p = ctx.alpha, h.get("p_value")
    label = str(h.get("label"))
    where = ("on tasked hot-spot-days than on untasked ones" if ctx.crossover
             else "in the patrolled hot spots than in the control hot spots")
    what = "tasking a hot spot for patrol" if ctx.crossover else "the extra patrols"
    ratio = h.get("scale") == "ratio"
    null = 1.0 if ratio else 0.0
    est = h.get("estimate")
    lower = w.is_finite(est) and float(est) < null
    lo, hi = h.get("conf_low"), h.get("conf_high")
    crosses = not (w.is_finite(lo) and w.is_finite(hi)) or float(lo) <= null <= float(hi)
    p_words = str(h.get("p_text"))
    if not w.is_finite(p):
        return ("The pre-registered test could not be computed, so the trial reaches no "
                "conclusion about its primary outcome.")
    if float(p) < alpha:
        direction = "reduced" if lower else "increased"
        text = (f"The pre-registered randomisation test rejects the hypothesis of no effect at "
                f"α = {alpha:g} ({p_words}): {label.lower()} was "
                f"{'lower' if lower else 'higher'} {where} by more than the random allocation "
                f"alone would explain. This is evidence that {what} {direction} "
                f"{label.lower()}; the interval gives the range of effects the data support.")
        if crosses:
            text += (" The interval, however, includes no change: the test is close to the "
                     "α boundary (see Limitations).")
        return text
    text = (f"The pre-registered randomisation test does not reject the hypothesis of no effect "
            f"at α = {alpha:g} ({p_words}). The trial does not show that {what} changed "
            f"{label.lower()}: the point estimate is {h.get('estimate_text')}, but the interval "
            "is wide enough to include ")
    if crosses:
        text += "no change, so a chance difference of this size cannot be ruled out."
    else:
        text += ("only effects in one direction, although the test itself is not significant "
                 "(see Limitations).")
    return text


def summary(s: Section, ctx: Context) -> None:
    h = ctx.headline
    if not h:
        raise NotAvailable("the results hold no headline (re-run `rct evaluate`)")
    s.para(str(h["sentence"]), cls="headline")
    s.para(conclusion(ctx), cls="conclusion")
    sec = [_headline_of(ctx, e) for e in ctx.estimates("secondary")]
    for e, hh in zip(ctx.estimates("secondary"), sec, strict=True):
        padj = _adjusted(ctx, e)
        adj = ("" if padj is None else
               f", {_adjust_name(ctx)}-adjusted {format_p(padj, alpha=ctx.alpha)}")
        s.para(f"Secondary outcome — {hh.label}: {hh.estimate_text} ({hh.interval_text}; "
               f"randomisation {hh.p_text}{adj}).")
    registration_para(s, ctx.meta, ctx.t)
    if ctx.source.get("path") is None and "computed for this report" in ctx.source["how"]:
        s.para("The results were " + ctx.source["how"] + ".", note=True)


def registration_para(s: Section, meta: dict[str, Any], t: Any) -> None:
    """The plan's SHA-256 and whether it is the registered plan."""
    reg = meta.get("registration") or {}
    sha = str(meta.get("plan_sha256") or reg.get("plan_sha256") or "")
    plan_file = common.rel(t, t.files.plan)
    status = reg.get("status")
    if status == "registered":
        _para(s, "Analysis plan SHA-256 {}: the registered plan ({}), unchanged.", sha, plan_file)
    elif status == "differs":
        keys = list(reg.get("differences") or [])
        _para(s, "Analysis plan SHA-256 {} differs from the registered plan {} (SHA-256 {}) in: "
              + (", ".join(["{}"] * len(keys)) or "its content")
              + ". The analysis is not the pre-registered one.", sha, plan_file,
              str(reg.get("registered_sha256")), *keys, cls="warn")
    else:
        _para(s, "Analysis plan SHA-256 {}. No registered plan ({}) was found when the trial was "
              "evaluated, so these results cannot be shown to follow a plan published before "
              "the trial; register it with {} before a trial starts.", sha, plan_file,
              f"rct plan {t.path.name}", cls="warn")


# ---------------------------------------------------------------------------
# flow


def flow(s: Section, ctx: Context) -> None:
    from rct.reports.render import environment

    t = ctx.t
    alloc = common.allocation(t)
    control, treatment = common.arms_of(t)
    counts = alloc["arm"].astype(str).value_counts()
    n_hs = int(alloc["hotspot_id"].nunique())
    s.para(common.design_sentence(t, alloc))
    unit = "hot-spot-days" if ctx.crossover else "hot spots"
    stages = [{"label": f"Randomised: {n_hs} hot spots"
               + (f" × {alloc['trial_date'].nunique()} days" if ctx.crossover else ""),
               "boxes": [{"arm": f"{a} {unit}", "value": w.count(counts.get(a, 0)), "note": ""}
                         for a in (treatment, control)]}]
    mon = ctx.mon
    if mon is not None and mon.compliance is not None:
        sm = mon.compliance.summary.set_index("metric")
        dosed, tasked = sm.loc["dosed_share", ["numerator", "denominator"]]
        cont, ctrl = sm.loc["contamination_share", ["numerator", "denominator"]]
        target = mon.parameters.get("target_minutes")
        stages.append({"label": "Received patrols (app logs)", "boxes": [
            {"arm": f"{treatment} hot-spot-days given the target dose", "value": w.count(dosed),
             "note": f"of {w.count(tasked)} tasked hot-spot-days (≥ {target:g} presence minutes)"},
            {"arm": f"{control} hot-spot-days with a tasked patrol", "value": w.count(cont),
             "note": f"of {w.count(ctrl)} (contamination)"}]})
    else:
        stages.append({"label": "Received patrols", "boxes": [
            {"arm": "not measured", "value": "–", "note": "no patrol dosage table"}]})
    prim = ctx.estimates("primary")
    if prim:
        n = int(prim[0]["n"])
        total = int(counts.get(treatment, 0) + counts.get(control, 0))
        excluded = total - n
        if ctx.crossover and ctx.meta.get("tasked_days") is not None:
            boxes = [{"arm": f"{treatment} hot-spot-days", "note": "",
                      "value": w.count(ctx.meta["tasked_days"])},
                     {"arm": f"{control} hot-spot-days", "note": "",
                      "value": w.count(n - int(ctx.meta["tasked_days"]))}]
        else:
            boxes = [{"arm": unit, "value": w.count(n), "note": "both arms"}]
        stages.append({"label": f"Analysed ({ctx.name(prim[0]['outcome']).lower()}); "
                       + (f"excluded {excluded:,}" if excluded else "none excluded"),
                       "boxes": boxes})
    s.html(Markup(environment().get_template("flow.html.j2").render(flow=stages)),
           note="CONSORT-style flow from randomisation to analysis.")
    try:
        common.balance_section(s, t)
    except NotAvailable as exc:
        s.para(f"Baseline comparison not available: {exc}", note=True)


# ---------------------------------------------------------------------------
# results


def _plan_rows(ctx: Context) -> list[tuple[str, str]]:
    """Estimand, primary outcome and primary test, in the plan's own words."""
    from rct.plan.plan import PrimaryTest

    p = ctx.plan
    out = p.get("primary_outcome") or {}
    window = out.get("window")
    rows = [("Estimand", str(p.get("estimand", ""))),
            ("Primary outcome", f"{out.get('label')}, {out.get('unit')}"
             + (f", trial window {window[0]} to {window[1]}" if window else ""))]
    if p.get("primary_test"):
        rows.append(("Primary test", PrimaryTest(**p["primary_test"]).description))
    return rows


def primary(s: Section, ctx: Context) -> None:
    prim = ctx.estimates("primary")
    if not prim:
        raise NotAvailable("the results have no pre-registered primary test")
    s.html(kv_html(_plan_rows(ctx)), heading="As pre-registered")
    tab = estimates_table(ctx, prim, method=False)
    tab["n"] = [w.count(e["n"]) for e in prim]
    tab = tab.rename(columns={"p": "randomisation p",
                              "n": "hot-spot-days" if ctx.crossover else "hot spots"})
    s.table(tab, heading="Result")
    e = prim[0]
    det = e.get("details") or {}
    draws = det.get("ri_draws")
    if draws and det.get("n_exceed") == 0:
        s.para(f"Randomisation p-value from {w.count(draws)} draws of the trial's own "
               "randomisation design: none was as far from zero as the observed statistic, so "
               f"p = 1/{w.count(int(draws) + 1)}, the smallest value this many draws can give.",
               note=True)
    elif draws and w.is_finite(det.get("ri_mc_se")):
        s.para(f"Randomisation p-value from {w.count(draws)} draws of the trial's own "
               f"randomisation design (Monte Carlo standard error "
               f"{w.number(det['ri_mc_se'], 2)}).", note=True)
    elif det.get("ri_method") == "exact":
        s.para("Exact randomisation p-value over every assignment the design could have made.",
               note=True)
    try:
        _randomisation(s, ctx)
    except NotAvailable as exc:
        s.para(f"Randomisation distribution not shown: {exc}", note=True)


def _randomisation(s: Section, ctx: Context) -> None:
    from rct.reports.evaluation import null_distribution
    from rct.reports.figures import randomisation_histogram

    nd = null_distribution(ctx.t, ctx.rd)
    label = str(nd.get("label") or "test statistic")
    s.figure(randomisation_histogram(None, float(nd["observed"]), edges=nd["edges"],
                                     counts=nd["counts"],
                                     p_text=w.p_cell(nd.get("p_value"), alpha=ctx.alpha),
                                     xlabel=label[:1].upper() + label[1:]),
             alt=f"Randomisation distribution of the {label} with the observed value marked",
             heading="Randomisation distribution of the pre-registered statistic")
    s.para(f"The statistic over {nd['how']} under the hypothesis of no effect; the red line is "
           f"the observed value ({w.number(nd['observed'])}). The p-value is the share of "
           "assignments with a statistic at least as far from zero.", note=True)


def secondary(s: Section, ctx: Context) -> None:
    sec = ctx.estimates("secondary")
    if not sec:
        s.para("The analysis plan names no secondary outcomes.")
        return
    s.table(estimates_table(ctx, sec, adjusted=True, method=False),
            heading="The pre-registered test of each secondary outcome")
    if len(sec) == 1:
        adjust = (f"with one secondary outcome the {_adjust_name(ctx)}-adjusted p-value equals "
                  f"the unadjusted one")
    else:
        adjust = (f"the p-values are {_adjust_name(ctx)}-adjusted across the {len(sec)} "
                  f"secondary outcomes")
    s.para(f"Each secondary outcome is tested with the primary outcome's pre-registered test; "
           f"{adjust} (the primary outcome is tested alone at α = {ctx.alpha:g}).", note=True)


def dosage(s: Section, ctx: Context) -> None:
    from rct.reports.monitor import compliance_items, presence_items

    control, treatment = common.arms_of(ctx.t)
    c = None if ctx.mon is None else ctx.mon.compliance
    if c is not None:
        target = ctx.mon.parameters.get("target_minutes")
        s.para(f"{100 * c.value('dosed_share'):.1f} % of tasked hot-spot-days received the target "
               f"dose ({target:g} presence minutes); {100 * c.value('contamination_share'):.1f} % "
               "of control hot-spot-days had a tasked patrol. The effect estimated is that of "
               "tasking as delivered (intention to treat), not of the full dose.")
    for fn, args in ((presence_items, (ctx.mon, treatment, control)), (compliance_items,
                                                                       (ctx.mon,))):
        try:
            fn(s, *args)
        except NotAvailable as exc:
            s.not_available(str(exc))


def cost(s: Section, ctx: Context) -> None:
    """Officer hours and their cost against crimes prevented ([costs]; results.json)."""
    cv = ctx.meta.get("cost_value")
    if not cv:
        raise NotAvailable("no [costs] in the trial file (the cost of an officer hour, with "
                           "its source, and optionally a table of unit costs of crime)")
    if cv.get("status") != "done":
        raise NotAvailable(str(cv.get("reason")))
    s.para(str(cv.get("summary")))
    rows = cv.get("rows") or cv.get("table")
    if isinstance(rows, list) and rows:
        import pandas as pd

        tab = pd.DataFrame(rows)
        names = {"officer_hours": "Officer hours delivered", "cost": "Cost of those hours",
                 "crimes_prevented": "Crimes prevented", "harm_prevented": "Harm prevented",
                 "cost_per_crime_prevented": "Cost per crime prevented",
                 "value_of_crime_prevented": "Value of crime prevented",
                 "rate_ratio": "Rate ratio (the pre-registered effect)",
                 "crimes_expected_without_tasking": "Crimes expected without tasking",
                 "harm_expected_without_tasking": "Harm expected without tasking",
                 "cost_of_crime_expected_without_tasking": "Cost of crime expected without "
                                                           "tasking",
                 "net_benefit": "Net benefit (value minus cost)",
                 "benefit_cost_ratio": "Benefit–cost ratio"}
        if "term" in tab.columns:
            tab["term"] = [names.get(str(v), str(v).replace("_", " ").capitalize())
                           for v in tab["term"]]
        for c in ("conf_low", "conf_high"):
            if c in tab.columns:
                tab[c] = tab[c].map(lambda v: "unbounded" if v is None else v)
        keep = [c for c in ("term", "estimate", "conf_low", "conf_high", "unit", "note")
                if c in tab.columns]
        if keep:
            s.table(tab[keep].rename(columns={"term": "quantity", "conf_low": "interval low",
                                              "conf_high": "interval high"}),
                    heading="Cost and value, with intervals from the primary effect's interval")
    s.para("Crimes prevented apply the pre-registered rate ratio, with its interval, to what "
           "the tasked hot-spot-days would have had untasked (each hot spot's untasked-day "
           "rate times its tasked days). Prices are the trial file's, with their sources; "
           "nothing is bundled.", note=True)


def robustness(s: Section, ctx: Context) -> None:
    rob = ctx.estimates("robustness")
    if not rob:
        raise NotAvailable("the results have no robustness analyses")
    s.para("Other estimators of the same planned outcomes: randomisation tests on the other "
           "scale and model-based estimators with their own assumptions. Their p-values are "
           "not adjusted and none of them is confirmatory.", note=True)
    ratio = [e for e in ctx.estimates("primary", "secondary", "robustness")
             if e["terms"][0].get("scale") == "ratio" and w.is_finite(e["terms"][0].get(
                 "conf_low")) and w.is_finite(e["terms"][0].get("conf_high"))]
    if ratio:
        import pandas as pd

        from rct.reports.figures import forest_plot

        df = pd.DataFrame([{"label": f"{ctx.name(e['outcome'])}: {w.method_name(e['method'])}"
                            + (" [pre-registered]" if e["role"] in ("primary", "secondary")
                               else ""),
                            "estimate": e["terms"][0]["estimate"],
                            "conf_low": e["terms"][0]["conf_low"],
                            "conf_high": e["terms"][0]["conf_high"]} for e in ratio])
        s.figure(forest_plot(df, null=1.0, log=True,
                             xlabel=f"Rate ratio, tasked vs untasked ({w.level(ctx.alpha)} CI)"
                             if ctx.crossover else
                             f"Rate ratio, patrolled vs control ({w.level(ctx.alpha)} CI)"),
                 alt="Forest plot of the rate ratios of every estimator on a log scale",
                 heading="Rate ratios (1 = no effect; log scale)")
    s.table(estimates_table(ctx, rob), heading="Robustness analyses")


def _is_displacement(e: dict[str, Any]) -> bool:
    m = e["method"]
    return e["outcome"].startswith("catchment_") or "displacement" in m or "WDD" in m


def displacement(s: Section, ctx: Context) -> None:
    rows = [e for e in ctx.estimates("exploratory") if _is_displacement(e)]
    if not rows:
        raise NotAvailable("the results have no catchment or pre/post estimates: ingest crimes "
                           "with --catchment (or [dosage] catchment_m) and re-run `rct evaluate`")
    s.para("Exploratory, not confirmatory: these analyses were not the pre-registered test.",
           cls="exploratory")
    width = ctx.t.dosage.catchment_m
    s.para("Crime in the ring" + (f" ({width:g} m)" if width else "") + " around each hot spot: "
           "a rise where patrols went suggests crime moved (displacement); a fall suggests the "
           "benefit spread (diffusion).", note=True)
    s.table(estimates_table(ctx, rows, all_terms=True), heading="Catchment ring and pre/post "
            "displacement measures")


def _is_subgroup(e: dict[str, Any]) -> bool:
    return "subgroup" in (e.get("details") or {})


def exploratory(s: Section, ctx: Context) -> None:
    rows = [e for e in ctx.estimates("exploratory") if not _is_displacement(e)]
    if not rows:
        raise NotAvailable("the results have no exploratory analyses")
    subgroups(s, ctx)
    rows = [e for e in rows if not _is_subgroup(e)]
    if not rows:
        return
    s.para("Exploratory, not confirmatory: the complier effect, carryover and tests that assume "
           "Poisson variance. Crime counts are overdispersed, so Poisson-variance p-values are "
           "too small; read these rows as descriptions, not as tests of the trial's hypothesis.",
           cls="exploratory")
    s.table(estimates_table(ctx, rows, all_terms=True), heading="Exploratory analyses")
    iv = next((e for e in rows if "2SLS" in e["method"]), None)
    if iv is not None:
        det = iv.get("details") or {}
        f = det.get("first_stage_f")
        est = iv["terms"][0].get("estimate")
        unit = "hot-spot-day" if ctx.crossover else "hot spot (trial totals)"
        text = ""
        if w.is_finite(est):
            text = (f"Among compliers, ten extra minutes of patrol presence change "
                    f"{ctx.name(iv['outcome']).lower()} by {w.number(10 * float(est))} per "
                    f"{unit}. ")
        if w.is_finite(f):
            text += (f"Assignment is the instrument for presence minutes (first-stage F = "
                     f"{float(f):.1f}" + ("; a weak instrument: rely on the randomisation "
                                          "interval" if det.get("weak_instrument") else "") + ").")
        s.para(text, note=True)


_DIM_WORDS = {"site": ("site", "sites"), "shift": ("shift", "shifts"),
              "site × shift": ("site and shift", "site-and-shift cells")}


def subgroups(s: Section, ctx: Context) -> None:
    """Estimates by site and by shift beside the pooled one: forest plots, tables, heterogeneity."""
    groups = ctx.meta.get("subgroups") or {}
    if not groups:
        return
    import pandas as pd

    from rct.reports.figures import forest_plot

    head = ctx.headline
    prim = ctx.estimates("primary")
    scale = prim[0]["terms"][0].get("scale", "difference") if prim else "difference"
    ratio = scale == "ratio"
    outcome = ctx.name(prim[0]["outcome"]) if prim else ""
    s.para("Exploratory, not confirmatory: the pre-registered test pools every "
           + ("hot spot and shift" if "shift" in groups else "hot spot") + ". Below, the same "
           "statistic restricted to each site and shift, each with its randomisation test drawn "
           "from the trial's own design (the same draws as the pooled test, restricted to the "
           "subgroup's units) and a model-based estimate; and a test of whether the effect "
           "differs between them.", cls="exploratory")
    units = "hot-spot shifts" if "shift" in groups else "hot spots"
    order = [k for k in ("site", "shift", "site × shift") if k in groups]
    order += [k for k in groups if k not in order]
    for by in order:
        g = groups[by]
        one, many = _DIM_WORDS.get(by, (by, by + "s"))
        levels = [r for r in g.get("levels", []) if w.is_finite(r.get("estimate"))]
        if not levels:
            continue
        plot = pd.DataFrame(
            [{"label": f"{one.capitalize()} {r['level']} ({w.count(r['units'])} {units})",
              "estimate": r["estimate"], "conf_low": r["conf_low"],
              "conf_high": r["conf_high"]} for r in levels]
            + ([{"label": "All (pre-registered, pooled)", "estimate": head.get("estimate"),
                 "conf_low": head.get("conf_low"), "conf_high": head.get("conf_high")}]
               if w.is_finite(head.get("conf_low")) and w.is_finite(head.get("conf_high"))
               else []))
        plot = plot[np.isfinite(plot[["estimate", "conf_low", "conf_high"]].astype(float)).all(
            axis=1) & ((plot[["conf_low", "conf_high"]].astype(float) > 0).all(axis=1)
                       if ratio else True)]
        if len(plot):
            what = ("Rate ratio, tasked vs untasked" if ctx.crossover else
                    "Rate ratio, patrolled vs control") if ratio else f"Difference {ctx.unit}"
            s.figure(forest_plot(plot, null=1.0 if ratio else 0.0, log=ratio,
                                 xlabel=f"{what} ({w.level(ctx.alpha)} CI)"),
                     alt=f"Forest plot of the primary effect in each {one} beside the pooled "
                         "estimate", heading=f"By {one}: {outcome}")
        table = pd.DataFrame([{
            one.capitalize(): r["level"], units.capitalize(): w.count(r["units"]),
            "Estimate": w.estimate_text(r["estimate"], scale),
            **({"Change": w.ratio_change(r["estimate"])} if ratio else {}),
            f"{w.level(ctx.alpha)} CI (randomisation)": w.interval_text(
                r["conf_low"], r["conf_high"], scale),
            "p (randomisation)": w.p_cell(r.get("p_value"), alpha=ctx.alpha),
            "Model-based estimate (CI)": (
                f"{w.estimate_text(r['model_estimate'], scale)} ("
                f"{w.interval_text(r.get('model_conf_low'), r.get('model_conf_high'), scale)})"
                if w.is_finite(r.get("model_estimate")) else "–")} for r in levels])
        s.table(table, heading=f"The primary effect by {one}")
        h = g.get("heterogeneity") or {}
        ri = h.get("randomisation") or {}
        if w.is_finite(h.get("Q")):
            text = (f"Does the effect differ between {many}? Randomisation test of a common "
                    f"effect: {format_p(ri['p_value'])} " if w.is_finite(ri.get("p_value"))
                    else f"Does the effect differ between {many}? ")
            text += (f"(the weighted spread of the estimates of the {many} against its distribution "
                     "over the design's assignments, maximised over the plausible common effects; "
                     "Ding, Feller & Miratrix 2016). "
                     if w.is_finite(ri.get("p_value")) else "")
            text += (f"Cochran's Q = {w.number(h['Q'])} on {h['Q_df']} df "
                     f"({format_p(h['Q_p'])}), I² = {float(h['I2']):.0f} %, τ² = "
                     f"{w.number(h['tau2'])} (REML, on the model-based "
                     f"{h.get('scale', 'estimates')}s). With {h['k']} {many} these tests have "
                     "little power: no evidence of a difference is not evidence of none.")
            s.para(text, note=True)


# ---------------------------------------------------------------------------
# limitations and reproducibility


def limitations(s: Section, ctx: Context) -> None:
    items = limitation_list(ctx)
    s.html(Markup('<ul class="limits">{}</ul>').format(
        Markup("").join(Markup("<li>{}</li>").format(i) for i in items)))


def limitation_list(ctx: Context) -> list[Any]:
    """Limitations generated from the facts of this trial and its results."""
    t, meta, h = ctx.t, ctx.meta, ctx.headline
    out: list[str] = []
    if ctx.stale:
        out.append("The results are stale: " + "; ".join(ctx.stale) + ".")
    status = (meta.get("registration") or {}).get("status")
    if status == "unregistered":
        out.append("No registered analysis plan was found, so the analysis cannot be shown to be "
                   "the one planned before the trial.")
    elif status == "differs":
        keys = (meta.get("registration") or {}).get("differences") or []
        out.append(Markup("The plan run differs from the registered plan, in: {}.").format(
            Markup(", ").join(_code(k) for k in keys) or "its content"))
    if str(meta.get("ri_design", "")).startswith("approximate"):
        out.append("Randomisation inference used an approximating design ("
                   + str(meta["ri_design"]).removeprefix("approximate: ") + "), because the "
                   "trial's own design could not be re-derived: p-values and intervals are "
                   "approximate.")
    null = 1.0 if h.get("scale") == "ratio" else 0.0
    lo, hi, p = h.get("conf_low"), h.get("conf_high"), h.get("p_value")
    if w.is_finite(lo) and w.is_finite(hi):
        crosses = float(lo) <= null <= float(hi)
        what = "a rate ratio of 1" if null == 1.0 else "a difference of 0"
        if crosses:
            interval = str(h.get("interval_text", "")).removeprefix(f"{w.level(ctx.alpha)} CI ")
            out.append(f"The {w.level(ctx.alpha)} interval of the primary estimate "
                       f"({interval}) includes {what}, no change: the data are compatible with "
                       "no effect as well as with the effects in the interval.")
        if w.is_finite(p) and (float(p) < ctx.alpha) == crosses:
            out.append("The randomisation p-value and the interval disagree about α: the "
                       "interval inverts the test under a constant effect, and the p-value has "
                       "Monte Carlo error; the result sits at the α boundary.")
    prim = ctx.estimates("primary")
    det = (prim[0].get("details") or {}) if prim else {}
    se = det.get("ri_mc_se")
    if w.is_finite(se) and w.is_finite(p) and abs(float(p) - ctx.alpha) < 2 * float(se):
        out.append(f"The p-value is within two Monte Carlo standard errors "
                   f"({w.number(se, 2)}) of α: more randomisation draws (the plan's number of "
                   "draws) would settle which side of α it falls.")
    n_hs = meta.get("hotspots")
    if n_hs is not None and int(n_hs) < 30:
        out.append(f"Only {int(n_hs)} hot spots: the estimate rests on few places, and "
                   "differences between them weigh heavily.")
    c = None if ctx.mon is None else ctx.mon.compliance
    if c is None:
        out.append("No patrol dosage table: the dose received, contamination and the complier "
                   "effect could not be assessed.")
    else:
        dosed, cont = c.value("dosed_share"), c.value("contamination_share")
        if dosed < 0.8:
            out.append(f"Only {100 * dosed:.1f} % of tasked hot-spot-days received the target "
                       "dose: the estimate is of tasking as delivered and understates the effect "
                       "of the full dose.")
        if cont > 0.1:
            out.append(f"{100 * cont:.1f} % of control hot-spot-days were patrolled "
                       "(contamination), which dilutes the contrast between arms.")
    if not any(_is_displacement(e) for e in ctx.estimates("exploratory")):
        out.append("Displacement was not assessed: no catchment counts were in the outcomes.")
    if ctx.crossover and not int(meta.get("carryover_days") or 0):
        out.append("A crossover assumes tasking on one day does not change crime on the next "
                   "untasked day; the plan did not model carryover, and any carryover would bias "
                   "the estimate towards no effect.")
    if t.windows.baseline is None:
        out.append("No baseline window: balance before the trial could not be checked.")
    return out or ["None that the data identify; the usual limits of a single trial apply."]


# what each input of results.json ``meta.inputs`` was read for, in the reader's words
_INPUT_ROLES = {"dosage": "dosage (complier effect)",
                "patrol dosage": "patrol dosage (officer hours)",
                "airwave presence": "Airwave presence (officer hours)"}


def reproducibility(s: Section, ctx: Context) -> None:
    from rct.reports.render import versions

    t, meta = ctx.t, ctx.meta
    registration_para(s, meta, t)
    s.para("Results " + ctx.source["how"] + ".")
    _para(s, "Trial file {} SHA-256 {}.", t.path.name,
          str(meta.get("trial_file_sha256") or t.sha256))
    if meta.get("trial_file_sha256") not in (None, t.sha256):
        s.para("The trial file has changed since the trial was evaluated (its SHA-256 differs); "
               "the analysis plan has not.", note=True)
    man = common.manifest_file(t)
    if man is not None:
        _para(s, "Allocation manifest {} SHA-256 {} (what {} prints; the allocation is "
              "tamper-evident against it).", man[0], man[1], f"sha256sum {man[0]}")
    import pandas as pd

    rows: dict[tuple[str, str], dict[str, str]] = {}
    for role, ent in (meta.get("inputs") or {}).items():
        name, sha = str(ent.get("file")), str(ent.get("sha256"))
        role = _INPUT_ROLES.get(role, role)
        if (name, sha) in rows:  # one file read for two purposes: one row, both roles
            rows[name, sha]["input"] += "; " + role
            continue
        p = t.root / name
        now = "missing" if not p.is_file() else (
            "same" if not any(name in x for x in ctx.stale) else "changed")
        rows[name, sha] = {"input": role, "file": name,
                           "SHA-256 (as read by rct evaluate)": sha, "on disk now": now}
    rows = list(rows.values())
    if rows:
        s.table(pd.DataFrame(rows), heading="Inputs of the evaluation",
                mono=("file", "SHA-256 (as read by rct evaluate)"))
    seeds = [("Randomisation seed ([design] seed)", w.integer(t.design.seed)),
             ("Analysis seed ([analysis] seed)", w.integer(t.analysis.seed)),
             ("Randomisation-inference seed", w.integer(meta.get("ri_seed"))),
             ("Randomisation-inference draws", w.count(meta.get("ri_draws"))),
             ("Randomisation-inference design", str(meta.get("ri_design") or "not recorded"))]
    s.html(kv_html(seeds), heading="Seeds and randomisation inference")
    if not ctx.stale or not any("plan" in x for x in ctx.stale):
        common.plan_rows_section(s, t, heading="The analysis plan")
    files = common.input_hashes(t)
    files = files.assign(bytes=[w.count(v) for v in files["bytes"]]).rename(
        columns={"role": "file role", "sha256": "SHA-256"})
    s.table(files, heading="Every file the trial file names (SHA-256 now)",
            mono=("file", "SHA-256"))
    s.html(kv_html(versions()), heading="Software")
