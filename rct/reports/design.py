"""The design report (the pre-registration): the plan and its SHA-256, hot spots, allocation,
schedule diagnostics, balance, power under the plan's assumptions, and the manifest.

>>> from rct.reports.design import design_report
>>> design_report("trial.toml").write("design.html")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from rct.reports import common
from rct.reports import words as w
from rct.reports.sections import NotAvailable, Report, ReportBuilder, Section, kv_html

__all__ = ["design_report", "SECTION_ORDER"]

REDUCTIONS = (0.10, 0.15, 0.20, 0.25, 0.30)

#: The report's sections, in order.
SECTION_ORDER = ("registration", "hotspots", "allocation", "balance", "power", "plan",
                 "manifest")


def design_report(
    trial: Any,
    *,
    rate: float | None = None,
    dispersion: float | None = None,
    heterogeneity: float | None = None,
    reductions: Sequence[float] = REDUCTIONS,
    power: float | None = None,
) -> Report:
    """Build the design report of a trial.

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    rate, dispersion, heterogeneity
        Override the plan's ``[power]`` assumptions (crimes per hot-spot-day;
        day-level overdispersion φ; between-hot-spot heterogeneity τ²).  The
        report names every override as such: the registered plan is unchanged.
        Without ``rate`` and ``[power] rate`` the rate is calibrated on the
        baseline window of the outcomes table.
    reductions
        Effects (proportional reductions) for the power table and curves; the
        plan's ``[power] reduction`` is always included.
    power
        Override the plan's target power for the minimum detectable effect.

    Returns
    -------
    Report
        ``.html`` (self-contained) and ``.unavailable`` (sections that could
        not be built, with the reason).
    """
    from rct.plan.plan import plan_from_trial

    t = common.load(trial)
    plan = plan_from_trial(t)
    b = ReportBuilder(kind="Design report", title=t.trial.name,
                      subtitle=f"{t.trial.force} · {t.design.type} design · for pre-registration",
                      source=Path(t.path).name)
    b.fact("design", t.design.type)
    with b.section("registration", "Pre-registration: what to publish", major=True) as s:
        _registration(s, t, plan)
    with b.section("hotspots", "Hot spots") as s:
        _hotspots(s, b, t)
    with b.section("allocation", "Design and allocation", major=True) as s:
        _allocation(s, b, t)
    with b.section("balance", "Balance") as s:
        common.balance_section(s, t)
    with b.section("power", "Power and minimum detectable effect", major=True) as s:
        _power(s, b, t, plan, rate=rate, dispersion=dispersion, heterogeneity=heterogeneity,
               reductions=reductions, target=power)
    with b.section("plan", "Analysis plan", major=True) as s:
        s.para("The plan as every later command reads it: `rct evaluate` runs exactly this, and "
               "the evaluation report prints it again with the same SHA-256.", note=True)
        common.plan_rows_section(s, t)
    with b.section("manifest", "Allocation manifest and verification") as s:
        _manifest(s, b, t)
    if t.design.seed is not None:
        b.fact("randomisation seed", w.integer(t.design.seed))
    return b.render("design.html.j2")


# ---------------------------------------------------------------------------


def _code(text: str) -> Markup:
    return Markup("<code>{}</code>").format(text)


def _registration(s: Section, t: Any, plan: Any) -> None:
    from rct.plan.register import check_registration

    reg = check_registration(plan, t)
    plan_file = common.rel(t, t.files.plan)
    s.html(Markup('<p class="publish">Analysis plan SHA-256 (publish this): {}</p>').format(
        _code(plan.sha256)))
    s.para(Markup("The same string that {} prints and that {} gives once the plan is registered. "
                  "The plan records the SHA-256 of the hot-spot file, the allocation and its "
                  "manifest, so publishing it before the trial also fixes the allocation.")
           .format(_code(f"rct plan {t.path.name}"), _code(f"sha256sum {plan_file}")))
    if reg.status == "registered":
        s.para(Markup("Registered: {} holds this plan.").format(_code(plan_file)))
    elif reg.status == "differs":
        s.para(Markup("The registered plan {} (SHA-256 {}) differs from the plan the trial file "
                      "now describes, in: {}.").format(
            _code(plan_file), _code(str(reg.registered_sha256)), ", ".join(reg.differences)),
            cls="warn")
    else:
        s.para(Markup("Not registered yet: run {} to write {} before the trial starts.").format(
            _code(f"rct plan {t.path.name}"), _code(plan_file)), cls="warn")
    rows = dict(plan.describe())
    s.html(kv_html([("Primary outcome", rows["Primary outcome"]),
                    ("Primary test", rows["Primary test"])]),
           heading="The pre-registered test")


def _hotspots(s: Section, b: ReportBuilder, t: Any) -> None:
    import math

    import pandas as pd

    from rct.reports.figures import hotspot_map

    gdf = common.hotspots(t)
    b.fact("hot spots", len(gdf))
    arm = None
    try:
        alloc = common.allocation(t)
    except NotAvailable:
        alloc = None
    if alloc is not None and "trial_date" not in alloc.columns:
        arm = alloc.assign(hotspot_id=alloc["hotspot_id"].astype(str)).set_index("hotspot_id")["arm"]
    area = gdf.to_crs(27700).geometry.area if gdf.crs is not None else gdf.geometry.area
    text = f"{len(gdf)} hot spots covering {area.sum() / 1e6:,.2f} km²"
    if {"share_area", "share_crimes", "cells", "area_m2"} <= set(gdf.columns):
        cell_area = float(gdf["area_m2"].sum() / gdf["cells"].sum())
        cell = math.sqrt(2 * cell_area / math.sqrt(3))
        text += (f": {100 * gdf['share_area'].sum():.1f} % of the area of the {cell:,.0f} m grid "
                 "cells with at least one crime in the selection data (not of the force area), "
                 f"holding {100 * gdf['share_crimes'].sum():.1f} % of those crimes")
        if "share_harm" in gdf.columns and gdf["share_harm"].notna().all():
            text += f" and {100 * gdf['share_harm'].sum():.1f} % of their harm"
    s.para(text + ".")
    s.figure(hotspot_map(gdf, arm=arm, title="Hot spots (British National Grid)"),
             alt=f"Map of the {len(gdf)} hot spots, with zoomed panels of close groups")
    s.para("The overview is zoomed to the hot spots; groups too close to label there are "
           "lettered and drawn in their own panels. No map tiles are used, so the file needs "
           "no network.", note=True)
    tab = pd.DataFrame({"hot spot": gdf["hotspot_id"].astype(str)})
    if "name" in gdf.columns:
        tab["name"] = gdf["name"].astype(str)
    tab["area (m²)"] = [w.count(round(v)) for v in area]
    c = gdf.to_crs(27700).geometry.representative_point() if gdf.crs is not None \
        else gdf.geometry.representative_point()
    tab["easting"] = [str(round(v)) for v in c.x]
    tab["northing"] = [str(round(v)) for v in c.y]
    if "crimes" in gdf.columns:
        tab["crimes (selection data)"] = [w.count(v) for v in gdf["crimes"]]
    for col in ("place_id", "site", "window", "block", "beat"):
        if col in gdf.columns:
            tab[col.replace("_id", "")] = gdf[col].astype(str)
    if "window" in gdf.columns and {"window_start", "window_end"} <= set(gdf.columns):
        from rct.io.windows import hotspot_windows

        hw = hotspot_windows(pd.DataFrame(gdf.drop(columns="geometry")))
        if hw is not None:
            s.para("Hot spots were ranked separately in each time window ("
                   + ", ".join(f"{x.name} {x.text}" for x in hw.windows) + "): each unit is a "
                   "place in one window, so a place can be a hot spot in one shift and not in "
                   f"another ({len(set(hw.unit_place.values()))} places, {len(gdf)} units).")
    if arm is not None:
        tab["arm"] = tab["hot spot"].map(arm).fillna("not allocated")
    s.table(tab, heading="Hot spots")


def _allocation(s: Section, b: ReportBuilder, t: Any) -> None:
    import pandas as pd

    alloc = common.allocation(t)
    alloc = alloc.assign(hotspot_id=alloc["hotspot_id"].astype(str), arm=alloc["arm"].astype(str))
    control, treatment = common.arms_of(t)
    s.para(common.design_sentence(t, alloc))
    if "trial_date" in alloc.columns:
        days = alloc["trial_date"].nunique()
        b.fact("trial days", days)
        for arm, n in alloc["arm"].value_counts().sort_index().items():
            b.fact(f"{arm} hot-spot-days", int(n))
        cov = alloc.groupby(["hotspot_id", "arm"]).size().unstack("arm", fill_value=0)
        lo, hi = int(cov[treatment].min()), int(cov[treatment].max())
        s.para(f"Coverage: every hot spot is tasked on {lo} days" if lo == hi else
               f"Coverage: hot spots are tasked on between {lo} and {hi} of the {days} days.")
        _strata_table(s, t, alloc, treatment=treatment)
        _schedule_diagnostics(s, alloc, treatment=treatment)
        show = pd.DataFrame({"hot spot": cov.index})
        for a in cov.columns:
            show[f"{a} days"] = [w.count(v) for v in cov[a]]
        s.table(show, heading="Days in each arm, by hot spot")
        first = alloc[alloc["trial_date"].isin(sorted(alloc["trial_date"].unique())[:7])]
        wide = first.pivot(index="hotspot_id", columns="trial_date", values="arm")
        wide = wide.apply(lambda col: col.map({treatment: "T", control: "·"}).fillna(col))
        wide.columns = [pd.Timestamp(c).strftime("%a %d %b") for c in wide.columns]
        wide.index.name = "hot spot"
        s.table(wide.reset_index(), heading="The first week of the schedule",
                note="T = tasked that day. The whole schedule is the allocation file.")
    else:
        for arm, n in alloc["arm"].value_counts().sort_index().items():
            b.fact(f"{arm} hot spots", int(n))
        if "block" in alloc.columns and alloc["block"].notna().any():
            counts = alloc.groupby(["block", "arm"]).size().unstack("arm", fill_value=0)
            show = pd.DataFrame({"block": counts.index.astype(str)})
            for a in counts.columns:
                show[a] = [w.count(v) for v in counts[a]]
            s.table(show, heading="Hot spots per arm and block")
        show = alloc.sort_values(["arm", "hotspot_id"]).rename(columns={"hotspot_id": "hot spot"})
        show.columns = [str(c).replace("_", " ") for c in show.columns]
        s.table(show.reset_index(drop=True), heading="Allocation")


def _strata_table(s: Section, t: Any, alloc: Any, *, treatment: str) -> None:
    """Per site and shift: hot spots, tasked each day, and the shift's hours."""
    import pandas as pd

    cols = [c for c in ("site", "window") if c in alloc.columns]
    if not cols:
        return
    shifts = (t.design.shifts or {}) if getattr(t.design, "shifts", None) else {}
    tasked = alloc[alloc["arm"] == treatment].groupby([*cols, "trial_date"]).size()
    rows = []
    for key, g in alloc.groupby(cols, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        per = tasked.get(key) if len(cols) > 1 else tasked.get(key[0])
        per = per if per is not None else pd.Series([0])
        lo, hi = int(per.min()), int(per.max())
        row = dict(zip(["site" if c == "site" else "shift" for c in cols], map(str, key),
                       strict=True))
        if "window" in cols:
            row["hours (local)"] = shifts.get(str(key[cols.index("window")]), "")
        row["hot spots"] = w.count(g["hotspot_id"].nunique())
        row["tasked each day"] = str(lo) if lo == hi else f"{lo} to {hi}"
        row["share tasked"] = f"{lo / g['hotspot_id'].nunique():.3f}" if lo == hi else ""
        rows.append(row)
    what = " and ".join({"site": "site", "window": "shift"}[c] for c in cols)
    s.table(pd.DataFrame(rows), heading=f"Daily quotas by {what}",
            note=("Each site and shift is randomised separately, with its own number tasked "
                  "each day (strata of the design); randomisation inference draws from the "
                  "same strata.") if len(cols) > 1 else None)


def _serial_diagnostics(alloc: Any, *, treatment: str = "treatment",
                        max_lag: int = 7) -> tuple[Any, Any]:
    """Serial structure of a crossover schedule (:func:`rct.randomise.serial.serial_structure`)
    as two tables for the report.

    Returns
    -------
    transitions
        One row per lag ``1..max_lag``: ``p_after_tasked`` = P(tasked on day d |
        tasked on day d - lag), ``p_after_untasked`` = P(tasked on d | untasked
        on d - lag), pooled over hot spots and days, the pair counts and the
        values under independent days with the same margins.
    runs
        Per run length: how many runs of consecutive tasked days, and of
        untasked days, have that length.
    """
    import numpy as np
    import pandas as pd

    from rct.randomise.serial import serial_structure

    a = alloc.assign(arm=np.where(alloc["arm"].astype(str) == treatment, "treatment", "control"))
    res = serial_structure(a, lags=max_lag)
    transitions = pd.DataFrame({
        "lag": list(res.lags), "p_after_tasked": list(res.p_after_tasked),
        "p_after_untasked": list(res.p_after_untasked),
        "pairs_after_tasked": list(res.n_after_tasked),
        "pairs_after_untasked": list(res.n_after_untasked),
        "reference_after_tasked": list(res.reference_after_tasked),
        "reference_after_untasked": list(res.reference_after_untasked)})
    top = max(res.longest_tasked_run, res.longest_untasked_run)
    tr, ur = np.zeros(top + 1, dtype=int), np.zeros(top + 1, dtype=int)
    for length, count in res.tasked_runs:
        tr[length] = count
    for length, count in res.untasked_runs:
        ur[length] = count
    runs = pd.DataFrame({"length": np.arange(1, top + 1), "tasked_runs": tr[1:],
                         "untasked_runs": ur[1:]})
    return transitions, runs


def _schedule_diagnostics(s: Section, alloc: Any, *, treatment: str) -> None:
    import pandas as pd

    trans, runs = _serial_diagnostics(alloc, treatment=treatment)
    share = float((alloc["arm"].astype(str) == treatment).mean())
    show = pd.DataFrame({
        "days apart": [str(v) for v in trans["lag"]],
        "P(tasked | tasked that many days before)": [f"{v:.3f}" for v in trans["p_after_tasked"]],
        "P(tasked | untasked that many days before)": [f"{v:.3f}" for v in
                                                       trans["p_after_untasked"]],
        "both, if days were independent": [
            f"{a:.3f} / {u:.3f}" for a, u in zip(trans["reference_after_tasked"],
                                                 trans["reference_after_untasked"], strict=True)],
        "pairs": [w.count(a + u) for a, u in zip(trans["pairs_after_tasked"],
                                                 trans["pairs_after_untasked"], strict=True)]})
    s.table(show, heading="Schedule diagnostics: is tomorrow's tasking related to today's?")
    s.para(f"If every day were an independent draw, both probabilities would be close to the "
           f"share tasked each day ({share:.3f}); the last column gives their exact values for a "
           "schedule with these margins (each hot spot tasked on the same number of days). A gap "
           "shows serial structure (for example a limit on consecutive days): the randomisation "
           "test allows for it because it draws from the same design, but it matters for "
           "carryover between days.", note=True)
    tasked = runs[runs["tasked_runs"] > 0]
    untasked = runs[runs["untasked_runs"] > 0]

    def mean(col: str) -> float:
        return float((runs["length"] * runs[col]).sum() / max(int(runs[col].sum()), 1))

    s.para(f"Runs of consecutive tasked days: mean {mean('tasked_runs'):.2f}, longest "
           f"{int(tasked['length'].max()) if len(tasked) else 0}; runs of untasked days: mean "
           f"{mean('untasked_runs'):.2f}, longest "
           f"{int(untasked['length'].max()) if len(untasked) else 0}.")
    top = runs[(runs["tasked_runs"] > 0) | (runs["untasked_runs"] > 0)]
    s.table(pd.DataFrame({"run length (days)": [str(v) for v in top["length"]],
                          "tasked runs": [w.count(v) for v in top["tasked_runs"]],
                          "untasked runs": [w.count(v) for v in top["untasked_runs"]]}),
            heading="Run lengths of the schedule")


def _power(s: Section, b: ReportBuilder, t: Any, plan: Any, *, rate: float | None,
           dispersion: float | None, heterogeneity: float | None,
           reductions: Sequence[float], target: float | None) -> None:
    import numpy as np
    import pandas as pd

    from rct.power import crossover_power, parallel_power, power_grid
    from rct.reports.figures import power_curves

    alloc = common.allocation(t)
    n = int(alloc["hotspot_id"].nunique())
    control, treatment = common.arms_of(t)
    crossover = "trial_date" in alloc.columns
    if crossover:
        days = int(alloc["trial_date"].nunique())
        k = int(round((alloc["arm"].astype(str) == treatment).sum() / days))
    else:
        if t.windows.trial is None:
            raise NotAvailable("[windows] trial is needed for the trial length")
        days = (t.windows.trial[1] - t.windows.trial[0]).days + 1
        k = int((alloc["arm"].astype(str) == treatment).sum())
    share = k / n
    pa = plan.power
    cal = _calibration(t)
    overrides = []
    for name, given, planned in (("rate", rate, pa.rate), ("dispersion", dispersion,
                                                           pa.dispersion),
                                 ("heterogeneity", heterogeneity, pa.heterogeneity),
                                 ("power", target, pa.power)):
        if given is not None and given != planned:
            overrides.append(f"{name} {given:g} (plan: "
                             + ("calibrated" if planned is None else f"{planned:g}") + ")")
    rate_ = rate if rate is not None else pa.rate
    how = "as the plan states" if rate is None and pa.rate is not None else \
        "given on the command line" if rate is not None else ""
    if rate_ is None:
        if cal is None:
            raise NotAvailable("the plan has no [power] rate and there are no baseline outcomes "
                               "to calibrate it on: give --rate or set [power] rate")
        rate_ = cal.rate
        how = "calibrated on the baseline window"
    disp = pa.dispersion if dispersion is None else float(dispersion)
    het = pa.heterogeneity if heterogeneity is None else float(heterogeneity)
    goal = pa.power if target is None else float(target)
    alpha = plan.alpha
    shown = w.number(rate_) if how.startswith("calibrated") else f"{rate_:g}"
    s.para(f"Assumptions: {shown} crimes per hot-spot-day ({how}), day-level "
           f"overdispersion φ = {disp:g}, between-hot-spot heterogeneity τ² = {het:g}, a "
           f"{_pc(pa.reduction)} reduction to detect with {_pc(goal)} power, two-sided α = "
           f"{alpha:g}.")
    if overrides:
        s.para("Overrides given to `rct report design`, not part of the plan: "
               + "; ".join(overrides) + ".", cls="warn")
    if cal is not None:
        text = (f"The baseline window ({cal.n_hotspots} hot spots × {cal.n_periods} days) shows "
                f"{w.number(cal.rate)} crimes per hot-spot-day, φ = {w.number(cal.dispersion)}"
                f" and τ² = {w.number(cal.heterogeneity)}.")
        if cal.dispersion > disp * 1.1 + 1e-9 or cal.heterogeneity > het * 1.1 + 1e-9:
            text += (" The plan assumes less variation than the baseline shows, so the power "
                     "below is likely optimistic.")
        s.para(text, note=True)
    kw = dict(hotspots=n, days=days, rate=rate_, alpha=alpha, dispersion=disp,
              heterogeneity=het)

    def power_at(r: float) -> float:
        res = crossover_power(per_day=k, reduction=r, **kw) if crossover else \
            parallel_power(share=share, reduction=r, **kw)
        return res.power

    from rct.errors import DesignError

    try:
        res = crossover_power(per_day=k, power=goal, **kw) if crossover else \
            parallel_power(share=share, power=goal, **kw)
    except DesignError:  # no effect, however large, reaches the target with this design
        res = None
    b.fact(f"detectable reduction ({_pc(goal)} power)",
           f"{100 * res.mde_reduction:.1f} %" if res is not None else "none")
    b.fact(f"power for a {_pc(pa.reduction)} reduction", _pc(power_at(pa.reduction)))
    design = (f"{n} hot spots, {days} days and {k} tasked each day" if crossover
              else f"{n} hot spots ({k} patrolled) over {days} days")
    reach = (f"and {_pc(goal)} power for a {100 * res.mde_reduction:.1f} % reduction (rate "
             f"ratio {res.mde:.3f})" if res is not None else
             f"but no reduction, however large, reaches {_pc(goal)} power with this design "
             "and these assumptions (too few hot spots or days for the test's small-sample "
             "degrees of freedom)")
    s.para(f"With {design}, the trial has {_pc(power_at(pa.reduction))} power to detect the "
           f"plan's {_pc(pa.reduction)} reduction, {reach}.")
    rs = sorted({*reductions, pa.reduction})
    s.table(pd.DataFrame({"reduction": [f"{100 * r:.0f} %" for r in rs],
                          "rate ratio": [f"{1 - r:.2f}" for r in rs],
                          "power": [f"{power_at(r):.2f}" for r in rs]}),
            heading="Power of the planned trial")
    grid_days = sorted({int(x) for x in np.unique(np.linspace(max(7, days // 6), days * 2, 12)
                                                  .round())} | {days})
    g = power_grid(design="crossover" if crossover else "parallel", hotspots=[n],
                   days=grid_days, reductions=list(rs), rate=rate_, share=share,
                   alpha=alpha, dispersion=disp, heterogeneity=het)
    s.figure(power_curves(g, x="days", y="analytic_power", group="reduction",
                          target=goal, planned=days, xlabel="Trial days",
                          ylabel="Power", group_label="{:.0%} reduction"),
             alt="Power against trial length for several reductions",
             heading="Power against trial length")
    s.para("Power of the Wald test of the log rate ratio of crime counts under a "
           "negative-binomial model with these assumptions (a close guide to the power of the "
           "pre-registered randomisation test at this size).", note=True)
    if plan.primary.name != "crimes":
        s.para(f"The primary outcome is {plan.primary.label}; power shown is for crime counts. "
               "Harm varies more than counts, so its power is lower.", note=True)


def _pc(x: float) -> str:
    """A share as a whole percentage with the reports' space: ``80 %``."""
    return f"{100 * x:.0f} %"


def _calibration(t: Any) -> Any:
    """Rate, φ and τ² of crime counts in the baseline window (None without daily outcomes)."""
    import pandas as pd

    if t.windows.baseline is None or t.files.outcomes is None or \
            not Path(t.files.outcomes).exists():
        return None
    from rct.power.empirical import calibrate_history

    out = common.outcomes(t)
    if "trial_date" not in out.columns or "crimes" not in out.columns:
        return None
    lo, hi = t.windows.baseline
    when = pd.to_datetime(out["trial_date"]).dt.date
    hist = out[(when >= lo) & (when <= hi)]
    if hist.empty:
        return None
    try:
        return calibrate_history(hist, outcome="crimes", period="trial_date")
    except ValueError:
        return None


def _manifest(s: Section, b: ReportBuilder, t: Any) -> None:
    import pandas as pd

    from rct.randomise import verify_allocation

    man = common.manifest(t)
    if man is None:
        raise NotAvailable(
            "no manifest beside the allocation (expected "
            f"{Path(str(t.files.allocation)).name}.manifest.json): the allocation cannot be "
            "verified; make allocations with `rct randomise parallel|crossover`")
    rep = verify_allocation(t.files.allocation).to_dict()
    b.fact("allocation verified", "yes" if rep["ok"] else "NO")
    if rep["ok"]:
        s.para("Verified: " + "; ".join(rep["checked"]) + ".")
    else:
        s.para("NOT verified: " + "; ".join(rep["problems"]), cls="warn")
    for n in rep["notes"]:
        s.para(n, note=True)
    name, sha = common.manifest_file(t)
    a = man.get("allocation", {})
    dsg = man.get("design", {})
    s.html(kv_html([
        ("Manifest file", _code(name)),
        ("Manifest file SHA-256 (what sha256sum prints)", _code(sha)),
        ("Allocation file", _code(str(a.get("file")))),
        ("Allocation file SHA-256", _code(str(a.get("sha256")))),
        ("Allocation rows", w.count(a.get("rows"))),
        ("Design", common.manifest_design(dsg)),
        ("Seed", w.integer(dsg.get("seed"))),
        ("Algorithm version", str(dsg.get("algorithm_version"))),
        ("Created (UTC)", str(man.get("created_utc"))),
    ]), heading="Manifest")
    s.para(Markup("Publish the plan's SHA-256 (above), which includes the manifest's; {} gives "
                  "the manifest file's own SHA-256 to compare with.").format(
        _code(f"sha256sum {name}")), note=True)
    inputs = pd.DataFrame([{"input": k, "file": v.get("path"), "bytes": w.count(v.get("bytes")),
                            "SHA-256": v.get("sha256")} for k, v in man.get("inputs", {}).items()])
    if len(inputs):
        s.table(inputs, heading="Inputs recorded in the manifest", mono=("file", "SHA-256"))
    sw = man.get("software", {})
    s.html(kv_html(sw), heading="Software that made the allocation")
    s.para(Markup("Re-derive it with {}.").format(
        _code(f"rct randomise verify {common.rel(t, t.files.allocation)}")), note=True)
