"""The design report (for pre-registration): hot spots, allocation, balance, power, plan, manifest.

>>> from rct.reports.design import design_report
>>> design_report("trial.toml").write("design.html")   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rct.reports import common
from rct.reports.sections import NotAvailable, Report, ReportBuilder, Section, kv_html

__all__ = ["design_report"]

REDUCTIONS = (0.10, 0.15, 0.20, 0.25, 0.30)


def design_report(
    trial: Any,
    *,
    rate: float | None = None,
    reductions: Sequence[float] = REDUCTIONS,
    power: float = 0.8,
) -> Report:
    """Build the design report of a trial.

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    rate
        Crimes per hot-spot-day without extra patrols, for power.  Default:
        calibrated from the baseline window of the outcomes table
        (:func:`rct.power.empirical.calibrate_history`); the report says
        which was used.
    reductions
        Effects (proportional reductions) for the power curves.
    power
        Target power for the minimum detectable effect.

    Returns
    -------
    Report
        ``.html`` (self-contained) and ``.unavailable`` (sections that could
        not be built, with the reason).
    """
    t = common.load(trial)
    b = ReportBuilder(kind="Design report", title=t.trial.name,
                      subtitle=f"{t.trial.force} · {t.design.type} design · for pre-registration",
                      source=Path(t.path).name)
    b.fact("design", t.design.type)
    if t.design.seed is not None:
        b.fact("randomisation seed", str(t.design.seed))
    with b.section("hotspots", "Hot spots") as s:
        _hotspots(s, b, t)
    with b.section("allocation", "Design and allocation", major=True) as s:
        _allocation(s, b, t)
    with b.section("balance", "Balance") as s:
        common.balance_section(s, t)
    with b.section("power", "Power and minimum detectable effect", major=True) as s:
        _power(s, b, t, rate=rate, reductions=reductions, target=power)
    with b.section("plan", "Analysis plan", major=True) as s:
        common.plan_section(s, t)
    with b.section("manifest", "Allocation manifest and verification") as s:
        _manifest(s, b, t)
    return b.render("design.html.j2")


# ---------------------------------------------------------------------------


def _hotspots(s: Section, b: ReportBuilder, t: Any) -> None:
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
    s.figure(hotspot_map(gdf, arm=arm, title="Hot spots (British National Grid)"),
             alt=f"Map of the {len(gdf)} hot spots in British National Grid coordinates")
    tab = pd.DataFrame({"hotspot_id": gdf["hotspot_id"].astype(str)})
    if "name" in gdf.columns:
        tab["name"] = gdf["name"].astype(str)
    tab["area (m²)"] = gdf.geometry.area.round(0).to_numpy()
    c = gdf.geometry.representative_point()
    tab["easting"] = c.x.round(0).to_numpy()
    tab["northing"] = c.y.round(0).to_numpy()
    for col in ("block", "beat"):
        if col in gdf.columns:
            tab[col] = gdf[col].astype(str)
    if arm is not None:
        tab["arm"] = tab["hotspot_id"].map(arm).fillna("not allocated")
    s.para("Hot-spot polygons in British National Grid (EPSG:27700) metres; no map tiles are "
           "used, so the file needs no network.", note=True)
    s.table(tab, heading="Hot spots")


def _allocation(s: Section, b: ReportBuilder, t: Any) -> None:
    import pandas as pd

    alloc = common.allocation(t)
    alloc = alloc.assign(hotspot_id=alloc["hotspot_id"].astype(str), arm=alloc["arm"].astype(str))
    d = t.design
    s.html(kv_html({k: v for k, v in t.to_dict()["design"].items() if v not in (None, [], ())}),
           heading="Design ([design] in the trial file)")
    if "trial_date" in alloc.columns:
        days = alloc["trial_date"].nunique()
        by_arm = alloc["arm"].value_counts().sort_index()
        b.fact("trial days", days)
        for arm, n in by_arm.items():
            b.fact(f"{arm} hot-spot-days", int(n))
        per_day = alloc[alloc["arm"] == "treatment"].groupby("trial_date").size()
        s.para(f"Crossover: {alloc['hotspot_id'].nunique()} hot spots over {days} trial days "
               f"(day starts {d.day_starts}); {per_day.min()}–{per_day.max()} hot spots tasked "
               f"per day. Every hot spot is in both arms; the unit of analysis is the "
               "hot-spot-day.")
        cov = alloc.groupby(["hotspot_id", "arm"]).size().unstack("arm", fill_value=0)
        cov.columns = [f"{c} days" for c in cov.columns]
        cov = cov.reset_index()
        s.table(cov, heading="Days in each arm, by hot spot (coverage)")
        first = alloc[alloc["trial_date"].isin(sorted(alloc["trial_date"].unique())[:7])]
        wide = first.pivot(index="hotspot_id", columns="trial_date", values="arm")
        wide = wide.apply(lambda col: col.map({"treatment": "T", "control": "·"}).fillna(col))
        wide.columns = [str(c) for c in wide.columns]
        s.table(wide.reset_index(), heading="The first week of the schedule",
                note="T = tasked that day. The whole schedule is the allocation file.")
    else:
        counts = alloc.groupby(["block", "arm"]).size().unstack("arm", fill_value=0) \
            if "block" in alloc.columns else alloc["arm"].value_counts().to_frame("hot spots").T
        for arm, n in alloc["arm"].value_counts().sort_index().items():
            b.fact(f"{arm} hot spots", int(n))
        s.para(f"Parallel ({d.scheme}): each hot spot stays in its arm for the whole trial.")
        s.table(counts.reset_index() if "block" in alloc.columns else counts,
                heading="Hot spots per arm" + (" and block" if "block" in alloc.columns else ""))
        s.table(alloc.sort_values(["arm", "hotspot_id"]).reset_index(drop=True),
                heading="Allocation")
    _ = pd  # (pandas used through the frames above)


def _power(s: Section, b: ReportBuilder, t: Any, *, rate: float | None,
           reductions: Sequence[float], target: float) -> None:
    import numpy as np
    import pandas as pd

    from rct.power import crossover_power, parallel_power, power_grid
    from rct.reports.figures import power_curves

    alloc = common.allocation(t)
    n = int(alloc["hotspot_id"].nunique())
    crossover = "trial_date" in alloc.columns
    if crossover:
        days = int(alloc["trial_date"].nunique())
        k = int((alloc["arm"].astype(str) == "treatment").sum() / days)
        share = k / n
    else:
        if t.windows.trial is None:
            raise NotAvailable("[windows] trial is needed for the trial length")
        days = (t.windows.trial[1] - t.windows.trial[0]).days + 1
        k = int((alloc["arm"].astype(str) == "treatment").sum())
        share = k / n
    disp = het = 0.0
    if rate is None:
        if t.windows.baseline is None:
            raise NotAvailable("no baseline window ([windows] baseline) to calibrate the crime "
                               "rate, and no --rate given")
        from rct.power.empirical import calibrate_history

        out = common.outcomes(t)
        if "trial_date" not in out.columns:
            raise NotAvailable("the outcomes table has months, not days: give --rate")
        lo, hi = t.windows.baseline
        when = pd.to_datetime(out["trial_date"]).dt.date
        hist = out[(when >= lo) & (when <= hi)]
        if hist.empty:
            raise NotAvailable("the outcomes table has no rows in the baseline window")
        cal = calibrate_history(hist, outcome="crimes", period="trial_date")
        rate, disp, het = cal.rate, cal.dispersion, cal.heterogeneity
        s.para(f"Calibrated on the baseline window {lo} to {hi} ({cal.n_hotspots} hot spots × "
               f"{cal.n_periods} days, rct.power.empirical.calibrate_history): "
               f"{rate:.3g} crimes per hot-spot-day, day-level dispersion φ = {disp:.3g}, "
               f"between-hot-spot heterogeneity τ² = {het:.3g}.", note=True)
    else:
        s.para(f"Assumed crime rate (given by the user): {rate:g} crimes per hot-spot-day; "
               "no overdispersion or heterogeneity assumed.", note=True)
    alpha = t.analysis.alpha
    if crossover:
        res = crossover_power(hotspots=n, days=days, rate=rate, per_day=k, power=target,
                              alpha=alpha, dispersion=disp, heterogeneity=het)
    else:
        res = parallel_power(hotspots=n, days=days, rate=rate, share=share, power=target,
                             alpha=alpha, dispersion=disp, heterogeneity=het)
    b.fact(f"detectable reduction ({target:.0%} power)", f"{100 * res.mde_reduction:.1f} %")
    s.para(f"With {n} hot spots, {days} days" + (f" and {k} tasked per day" if crossover else
                                                 f" and {k} treated hot spots")
           + f", a two-sided test at α = {alpha:g} has {target:.0%} power to detect a "
           f"{100 * res.mde_reduction:.1f} % reduction in crimes (IRR {res.mde:.3f}).")
    rows = []
    for r in reductions:
        kw = dict(hotspots=n, days=days, rate=rate, reduction=r, alpha=alpha,
                  dispersion=disp, heterogeneity=het)
        pr = crossover_power(per_day=k, **kw) if crossover else parallel_power(share=share, **kw)
        rows.append({"reduction": f"{100 * r:.0f} %", "IRR": 1 - r, "power": pr.power})
    s.table(pd.DataFrame(rows), heading="Power of the planned trial")
    grid_days = sorted({int(x) for x in np.unique(np.linspace(max(7, days // 6), days * 2, 12)
                                                  .round())} | {days})
    g = power_grid(design="crossover" if crossover else "parallel", hotspots=[n],
                   days=grid_days, reductions=list(reductions), rate=rate, share=share,
                   alpha=alpha, dispersion=disp, heterogeneity=het)
    s.figure(power_curves(g, x="days", y="analytic_power", group="reduction",
                          target=target, planned=days, xlabel="Trial days",
                          ylabel="Power", group_label="{:.0%} reduction"),
             alt="Power against trial length for several reductions",
             heading="Power curves (rct.power.power_grid)")
    if t.analysis.primary != "crimes":
        s.para(f"The primary outcome is {t.analysis.primary!r}; power shown is for crime "
               "counts. Harm is more variable than counts, so its power is lower.", note=True)


def _manifest(s: Section, b: ReportBuilder, t: Any) -> None:
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
    a = man.get("allocation", {})
    dsg = man.get("design", {})
    s.html(kv_html({
        "manifest SHA-256 (publish this)": man.get("manifest_sha256"),
        "allocation file": a.get("file"),
        "allocation SHA-256": a.get("sha256"),
        "allocation rows": a.get("rows"),
        "design": dsg.get("design"),
        "scheme": dsg.get("scheme"),
        "seed": dsg.get("seed"),
        "algorithm version": dsg.get("algorithm_version"),
        "created (UTC)": man.get("created_utc"),
    }), heading="Manifest")
    import pandas as pd

    inputs = pd.DataFrame([{"role": k, "file": v.get("path"), "bytes": v.get("bytes"),
                            "sha256": v.get("sha256")} for k, v in man.get("inputs", {}).items()])
    if len(inputs):
        s.table(inputs, heading="Inputs recorded in the manifest")
    sw = man.get("software", {})
    s.html(kv_html(sw), heading="Software that made the allocation")
    s.para("Re-derive it with: rct randomise verify "
           f"{common.rel(t, t.files.allocation)}", note=True)
