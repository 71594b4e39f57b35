"""The monitoring report: weekly dosage, presence vs baseline, compliance, dwell times, hot spots behind.

>>> from rct.reports.monitor import monitor_report
>>> monitor_report("trial.toml").write("monitor.html")   # doctest: +SKIP

Numbers come from :func:`rct.dosage.monitor.monitor_trial` (its
:class:`~rct.dosage.monitor.MonitorReport`); visit lengths for the dwell
histogram from :func:`rct.dosage.patrol_logs.read_patrol_logs` with a
throw-away pseudonym key (only the minutes are kept: no officer identifier,
real or pseudonymised, and no note reaches the report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rct.reports import common
from rct.reports.sections import NotAvailable, Report, ReportBuilder, Section

__all__ = ["monitor_report", "dosage_sections", "visit_minutes", "presence_items",
           "compliance_items"]


def monitor_report(trial: Any, *, as_of: Any = None) -> Report:
    """Build the monitoring report of a running (or finished) trial.

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    as_of
        Last day to include (default: the last day with patrols).
    """
    t = common.load(trial)
    b = ReportBuilder(kind="Monitoring report", title=t.trial.name,
                      subtitle=f"{t.trial.force} · {t.design.type} design · dosage and compliance",
                      source=Path(t.path).name)
    mon = None
    with b.section("status", "Status") as s:
        mon = _monitor(t, as_of)
        _status(s, b, t, mon)
    dosage_sections(b, t, mon, weekly=True)
    with b.section("behind", "Hot spots falling behind") as s:
        _behind(s, t, mon)
    interim = None
    with b.section("sequential", "Interim effect, as planned") as s:
        interim = _sequential(s, b, t, as_of)
    with b.section("feedback", "Feedback for supervisors (not a test)") as s:
        _feedback(s, interim)
    return b.render("monitor.html.j2")


def _sequential(s: Section, b: ReportBuilder, t: Any, as_of: Any) -> Any:
    """The planned sequential analysis of the primary effect: plot, boundary, decision."""
    from rct.plan.monitor import interim_analysis

    res = interim_analysis(t, as_of=as_of)
    if res.status == "not planned":
        s.para(res.decision)
        return res
    if res.status != "done":
        raise NotAvailable(res.reason)
    from rct.reports.figures import sequential_plot

    seq = res.sequential
    b.fact("interim boundary crossed", "yes" if seq.crossed else "no")
    s.para(res.decision)
    how = {"obrien-fleming": "O'Brien–Fleming-type", "pocock": "Pocock-type"}.get(res.method)
    rule = (f"Looked at every {t.monitoring.every_days} days as pre-registered: look "
            f"{res.looks_done} of {res.planned_looks} planned, data to {res.as_of}. "
            + (f"Each look is judged against group-sequential boundaries with {how} Lan–DeMets "
               "alpha spending at the planned information fractions, which keep the chance of "
               f"ever crossing them under no effect at α = {seq.alpha:g} over all the looks."
               if how else
               "Each look is judged against an anytime-valid confidence sequence, which keeps "
               f"the chance of ever excluding the true effect at α = {seq.alpha:g} however "
               "many looks are taken.")
            + " An interval or estimate read without its boundary is not a valid test.")
    s.para(rule, note=True)
    tab = seq.tidy()
    s.figure(sequential_plot(tab), alt="Estimate, sequential interval and boundary by look",
             heading="The effect at each look")
    ratio = str(tab["scale"].iloc[0]) == "log_ratio" if len(tab) else False
    show = tab[["look", "label", "estimate", "conf_low", "conf_high", "crossed"]].copy()
    import numpy as np

    if ratio:
        for c in ("estimate", "conf_low", "conf_high"):
            show[c] = np.exp(show[c].to_numpy(dtype=float))
    show["crossed"] = show["crossed"].map({True: "crossed", False: ""})
    for c in ("conf_low", "conf_high"):  # a look that cannot reject yet has no bound
        show[c] = [("unbounded" if not np.isfinite(v) or (ratio and v == 0) else v)
                   for v in show[c].to_numpy(dtype=float)]
    show = show.rename(columns={"label": "look date", "estimate": "rate ratio" if ratio
                                else "estimate", "conf_low": "interval low",
                                "conf_high": "interval high", "crossed": "boundary"})
    s.table(show, heading="Looks so far",
            note="The interval at each look is the repeated (sequential) interval, wider than "
                 "a one-off interval because the trial is looked at repeatedly.")
    return res


def _feedback(s: Section, res: Any) -> None:
    if res is not None and res.status == "not planned":
        s.para("Per-hot-spot feedback on the effect comes with planned interim looks "
               "([monitoring] in the trial file); none are planned.")
        return
    if res is None or res.status != "done":
        raise NotAvailable("no interim analysis is planned or available, so there is no "
                           "per-hot-spot feedback")
    if res.feedback is None:
        raise NotAvailable(res.reason or "too few crimes in the recent weeks")
    from rct.reports.figures import feedback_plot

    fb = res.feedback
    s.para(fb.summary())
    s.figure(feedback_plot(fb.tidy()), alt="Recent-weeks rate ratio per hot spot, own and "
             "shrunk toward the trial-wide effect", heading="Recent weeks, by hot spot")


def _monitor(t: Any, as_of: Any) -> Any:
    from rct.dosage.monitor import monitor_trial

    report, _ = monitor_trial(t, as_of=as_of, write=False)
    return report


def _status(s: Section, b: ReportBuilder, t: Any, mon: Any) -> None:
    p = mon.parameters
    b.fact("data to", p["as_of"])
    c = mon.compliance
    if c is not None:
        b.fact("tasked hot-spot-days dosed", _pct(c.value("dosed_share")))
        b.fact("control hot-spot-days contaminated", _pct(c.value("contamination_share")))
        b.fact("visits of 10–15 min (Koper)", _pct(c.value("koper_share")))
        b.fact("hot spots behind (latest week)", len(c.behind))
    for u in mon.uplift:
        tab = u.tidy().set_index("measure")
        if u.source == "airwave" and "presence_minutes" in tab.index:
            b.fact("Airwave presence, tasked vs control",
                   _pct(tab.loc["presence_minutes", "ratio"], sign=True))
    s.para(f"Trial window {p['trial'][0]} to {p['trial'][1]}; data up to {p['as_of']}. "
           f"Target dose: {p['target_minutes']:g} {p['dose_measure'].replace('_', ' ')} per "
           "tasked hot-spot-day.")
    if c is not None:
        s.para(f"{_pct(c.value('dosed_share'))} of tasked hot-spot-days so far received the "
               f"target dose; {len(c.behind)} hot spot{'s are' if len(c.behind) != 1 else ' is'} "
               "behind (see Hot spots falling behind).")
    for note in mon.notes:
        s.para(note, note=True)


def dosage_sections(b: ReportBuilder, t: Any, mon: Any, *, weekly: bool, dwell: bool = True
                    ) -> None:
    """Weekly dosage, presence vs baseline, compliance and the dwell histogram (shared)."""
    control, treatment = common.arms_of(t)
    if weekly:
        with b.section("weekly", "Weekly dosage per arm", major=True) as s:
            _weekly(s, mon, treatment, control)
    with b.section("presence", "Presence: treatment vs control vs baseline") as s:
        presence_items(s, mon, treatment, control)
    with b.section("compliance", "Compliance and contamination") as s:
        compliance_items(s, mon)
    if dwell:
        with b.section("dwell", "Visit lengths (Koper curve)") as s:
            _dwell(s, t, mon)


def _need(mon: Any) -> Any:
    if mon is None:
        raise NotAvailable("the monitoring tables could not be computed (see Status)")
    if mon.compliance is None:
        raise NotAvailable("no patrol dosage table: run `rct ingest patrols` (or list "
                           "[files] patrols so `rct monitor` can ingest them)")
    return mon.compliance


def _weekly(s: Section, mon: Any, treatment: str, control: str) -> None:
    import pandas as pd

    from rct.reports.figures import weekly_lines

    c = _need(mon)
    w = c.weekly
    long = pd.concat([
        pd.DataFrame({"week": w["week"], "arm": treatment, "minutes": w["mean_presence_tasked"]}),
        pd.DataFrame({"week": w["week"], "arm": control, "minutes": w["mean_presence_control"]}),
    ], ignore_index=True)
    s.figure(weekly_lines(long, x="week", y="minutes", ylabel="Presence minutes per hot-spot-day"),
             alt="Weekly patrol presence minutes per hot-spot-day by arm")
    from rct.reports.words import count, number

    tab = pd.DataFrame({
        "week": [str(int(v)) for v in w["week"]],
        "from": [str(v) for v in w["week_start"]], "to": [str(v) for v in w["week_end"]],
        f"{treatment} hot-spot-days": [count(v) for v in w["tasked_days"]],
        "given the target dose": [_pct(v) for v in w["dosed_share"]],
        f"presence, {treatment} (min per day)": [number(v) for v in w["mean_presence_tasked"]],
        f"presence, {control} (min per day)": [number(v) for v in w["mean_presence_control"]],
        "visits per tasked day": [number(v) for v in w["visits_per_tasked_day"]],
        f"{control} days with a tasked patrol": [_pct(v) for v in w["contamination_share"]],
        "hot spots behind": [count(v) for v in w["hotspots_behind"]]})
    s.table(tab, heading="By trial week (app patrol logs)")


def presence_items(s: Section, mon: Any, treatment: str, control: str) -> None:
    """Presence per hot-spot-day, baseline vs trial, by arm and source (figure and table)."""
    from rct.reports.figures import presence_bars

    if mon is None:
        raise NotAvailable("the monitoring tables could not be computed (see Status)")
    if not mon.uplift:
        raise NotAvailable("no baseline comparison: " + "; ".join(mon.notes or
                                                                  ["no activity tables"]))
    tab = mon.uplift_table()
    s.para("Mean activity per hot-spot-day before (baseline window) and during the trial, by "
           "arm. Airwave radio presence measures all policing, tasked or not; the app logs "
           "measure tasked patrols only. The ratio is the uplift of the tasked arm over "
           "control during the trial; the difference-in-differences also nets out each arm's "
           "own baseline.", note=True)
    s.figure(presence_bars(tab, treatment=treatment, control=control),
             alt="Presence minutes per hot-spot-day: baseline and trial, by arm")
    import pandas as pd

    from rct.reports.words import number

    sources = {"airwave": "Airwave radios", "patrols": "app patrol logs"}
    show = pd.DataFrame({
        "source": [sources.get(v, str(v)) for v in tab["source"]],
        "measure": [str(v).replace("_", " ") for v in tab["measure"]],
        f"baseline, {treatment}": [number(v) for v in tab["baseline_treatment"]],
        f"trial, {treatment}": [number(v) for v in tab["trial_treatment"]],
        f"baseline, {control}": [number(v) for v in tab["baseline_control"]],
        f"trial, {control}": [number(v) for v in tab["trial_control"]],
        f"trial, {treatment} vs {control}": [_pct(v, sign=True) for v in tab["ratio"]],
        "difference in differences": [number(v) for v in tab["did"]],
        "additional over baseline": [number(v) for v in tab["additional"]]})
    s.table(show, heading="Per hot-spot-day, by source and measure")


def compliance_items(s: Section, mon: Any) -> None:
    """Compliance to date (shares as percentages) and the rule for a hot spot behind."""
    import pandas as pd

    from rct.reports.words import count, number

    c = _need(mon)
    tab = c.summary
    # a measure the trial file does not ask for (no visit cap: [dosage] cap_per_day) is not shown
    tab = tab[~((tab["metric"] == "over_cap_share") & tab["value"].isna())]
    share = tab["metric"].str.endswith("_share")
    show = pd.DataFrame({
        "measure": [d[:1].upper() + d[1:] for d in tab["description"]],
        "value": [("not recorded" if pd.isna(v) else _pct(v) if sh else number(v))
                  for v, sh in zip(tab["value"], share, strict=True)],
        "of": [count(d) for d in tab["denominator"]]})
    s.table(show, heading="Compliance to date")
    s.para(f"Rule for a hot spot behind: {c.rule}.", note=True)


def visit_minutes(t: Any) -> Any:
    """Lengths (minutes) of the accepted app patrols in the trial window; nothing else."""
    import secrets

    from rct.dosage.patrol_logs import read_patrol_logs
    from rct.dosage.pseudonym import Pseudonymiser

    if not t.files.patrols:
        raise NotAvailable("[files] patrols is not set: no patrol logs for visit lengths")
    missing = [p for p in t.files.patrols if not Path(p).exists()]
    if missing:
        raise NotAvailable(f"patrol log {Path(missing[0]).name} not found")
    window = t.windows.trial or (t.design.start, t.design.end)
    res = read_patrol_logs(
        t.inputs("patrols"), pseudonymiser=Pseudonymiser(secrets.token_bytes(32)),
        hotspots=t.files.hotspots, day_starts=t.design.day_starts, trial_start=window[0],
        trial_end=window[1], max_visit_hours=t.dosage.max_visit_hours)
    return res.data["minutes"].to_numpy(dtype=float)


def _dwell(s: Section, t: Any, mon: Any) -> None:
    from rct.reports.figures import dwell_histogram

    minutes = visit_minutes(t)
    if minutes.size == 0:
        raise NotAvailable("no patrols in the trial window yet")
    s.figure(dwell_histogram(minutes), alt="Histogram of patrol visit lengths in minutes")
    if mon is not None and mon.compliance is not None:
        c = mon.compliance
        s.para(f"{minutes.size:,} app patrols in the trial window. On tasked days "
               f"{_pct(c.value('koper_share'))} of visits lasted 10–15 minutes (the Koper "
               f"curve) and {_pct(c.value('short_share'))} under 5 minutes.")
    s.para("Koper (1995): visits of about 10 to 15 minutes gave the longest residual "
           "deterrence after the officers left.", note=True)


def _behind(s: Section, t: Any, mon: Any) -> None:
    import pandas as pd

    from rct.reports.words import count

    c = _need(mon)
    hs = c.hotspots
    latest = int(hs["week"].max())
    cur = hs[hs["week"] == latest].copy()
    names = None
    try:
        gdf = common.hotspots(t)
        if "name" in gdf.columns:
            names = gdf.assign(hotspot_id=gdf["hotspot_id"].astype(str)).set_index(
                "hotspot_id")["name"].astype(str)
    except NotAvailable:
        pass
    cur = cur.sort_values(["cumulative_dosed_share", "hotspot_id"])
    tasked = cur["cumulative_tasked_days"] > 0
    cur = cur[tasked]

    def table(rows: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"hot spot": rows["hotspot_id"].astype(str).to_numpy()})
        if names is not None:
            out["name"] = out["hot spot"].map(names).fillna("").to_numpy()
        out["tasked days to date"] = [count(v) for v in rows["cumulative_tasked_days"]]
        out["given the target dose"] = [count(v) for v in rows["cumulative_dosed_days"]]
        out["share"] = [_pct(v) for v in rows["cumulative_dosed_share"]]
        out["median hot spot's share"] = [_pct(v) for v in rows["reference_share"]]
        from rct.reports.words import p_cell

        out["binomial p"] = [p_cell(v) for v in rows["behind_p"]]
        out["behind"] = ["yes" if v else "" for v in rows["behind"]]
        return out

    s.para(c.rule[0].upper() + c.rule[1:] + ".", note=True)
    behind = cur[cur["behind"]]
    if behind.empty:
        s.para(f"No hot spot is behind at the end of week {latest}.")
    else:
        s.para(f"{len(behind)} hot spot{'s' if len(behind) != 1 else ''} behind at the end of "
               f"week {latest}: task {'them' if len(behind) != 1 else 'it'} first.", cls="warn")
        s.table(table(behind), heading=f"Behind at the end of week {latest}")
    s.table(table(cur), heading=f"All hot spots at the end of week {latest}, lowest share of "
            "dosed tasked days first")


def _pct(x: Any, *, sign: bool = False) -> str:
    import math

    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if math.isnan(v):
        return "–"
    return f"{100 * v:+.1f} %" if sign else f"{100 * v:.1f} %"
