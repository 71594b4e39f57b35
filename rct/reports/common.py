"""Inputs and sections shared by the design, monitoring and evaluation reports.

Everything numeric comes from the library (:mod:`rct.randomise`,
:mod:`rct.dosage`, :mod:`rct.evaluate`, :mod:`rct.power`); this module only
finds the trial's files, calls those functions and lays out their
``.tidy()`` / ``.to_dict()`` output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rct.reports.sections import NotAvailable, Section, kv_html

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.config import Trial

__all__ = [
    "load",
    "arms_of",
    "read_table",
    "allocation",
    "hotspots",
    "outcomes",
    "manifest",
    "input_hashes",
    "manifest_file",
    "design_sentence",
    "plan_rows_section",
    "balance_section",
    "covariate_name",
    "rel",
]


def load(trial: Any) -> Trial:
    """A :class:`rct.config.Trial` from a path or a loaded trial."""
    from rct.config import Trial, load_trial

    return trial if isinstance(trial, Trial) else load_trial(trial)


def rel(t: Trial, path: Path | str | None) -> str:
    """A path relative to the trial file's folder when inside it (never absolute noise)."""
    if path is None:
        return "–"
    p = Path(path)
    try:
        return p.resolve().relative_to(t.root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


def arms_of(t: Trial) -> tuple[str, str]:
    """(control, treatment) labels as :func:`rct.dosage.monitor.monitor_trial` uses them."""
    arms = t.design.arms
    if "treatment" in arms and "control" in arms:
        return "control", "treatment"
    return arms[0], arms[1]


def read_table(path: Path | None, what: str, hint: str) -> pd.DataFrame:
    if path is None:
        raise NotAvailable(f"[files] {what} is not set in the trial file")
    if not Path(path).exists():
        raise NotAvailable(f"{what} table {Path(path).name} not found ({hint})")
    from rct.dosage.monitor import read_table as _read

    return _read(path)


def allocation(t: Trial) -> pd.DataFrame:
    return read_table(t.files.allocation, "allocation",
                      "run `rct randomise parallel|crossover` first")


def hotspots(t: Trial) -> Any:
    if t.files.hotspots is None or not Path(t.files.hotspots).exists():
        raise NotAvailable("hot-spot file ([files] hotspots) not found")
    from rct.io.hotspots import read_hotspots

    return read_hotspots(t.hotspots_input())


def outcomes(t: Trial) -> pd.DataFrame:
    return read_table(t.files.outcomes, "outcomes", "run `rct ingest crimes` first")


def manifest(t: Trial) -> dict[str, Any] | None:
    if t.files.allocation is None:
        return None
    from rct.randomise.manifest import manifest_path

    p = manifest_path(t.files.allocation)
    if not p.exists():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_hashes(t: Trial, *, outputs: bool = True) -> pd.DataFrame:
    """Role, file, size and SHA-256 of every file the trial names (missing ones say so)."""
    import pandas as pd

    from rct.randomise.manifest import manifest_path

    f = t.files
    entries: list[tuple[str, Path | None]] = [("trial file", t.path), ("hot spots", f.hotspots),
                                             ("allocation", f.allocation)]
    if f.allocation is not None:
        entries.append(("allocation manifest", manifest_path(f.allocation)))
    entries += [("patrol logs", p) for p in f.patrols]
    entries += [("Airwave pings", p) for p in f.airwave]
    entries += [("crimes", p) for p in f.crimes]
    if f.harm not in ("cchi", "cchi-subgroup", "ons"):
        entries.append(("harm table", Path(f.harm)))
    if outputs:
        entries += [("patrol dosage", f.patrol_dosage), ("Airwave presence", f.airwave_presence),
                    ("outcomes", f.outcomes), ("results", f.results)]
    rows = []
    for role, p in entries:
        if p is None:
            continue
        p = Path(p)
        if p.is_file():
            rows.append({"role": role, "file": rel(t, p), "bytes": p.stat().st_size,
                         "sha256": _sha256(p)})
        else:
            rows.append({"role": role, "file": rel(t, p), "bytes": None, "sha256": "(missing)"})
    return pd.DataFrame(rows, columns=["role", "file", "bytes", "sha256"])


def manifest_file(t: Trial) -> tuple[str, str] | None:
    """(name relative to the trial folder, SHA-256 of the manifest file's bytes) or None.

    The SHA-256 is what ``sha256sum schedule.csv.manifest.json`` prints: the
    one to compare with anything published about the allocation.
    """
    if t.files.allocation is None:
        return None
    from rct.randomise.manifest import manifest_path

    p = manifest_path(t.files.allocation)
    return (rel(t, p), _sha256(p)) if p.is_file() else None


_SCHEMES = {"complete": "complete randomisation", "block": "blocked randomisation",
            "pairs": "matched pairs", "rerandomise": "re-randomisation",
            "daily": "a fresh draw each day"}


def manifest_design(design: dict[str, Any]) -> str:
    """The manifest's design and scheme in words ("parallel, matched pairs"; "crossover")."""
    kind, scheme = str(design.get("design")), str(design.get("scheme"))
    if scheme in ("None", kind):  # a crossover's scheme is the design itself
        return kind
    return f"{kind}, {_SCHEMES.get(scheme, scheme)}"


def design_sentence(t: Trial, alloc: pd.DataFrame) -> str:
    """The design in one sentence, from the allocation itself (not from the trial file)."""
    import pandas as pd

    control, treatment = arms_of(t)
    arm = alloc["arm"].astype(str)
    n = int(alloc["hotspot_id"].nunique())
    if "trial_date" in alloc.columns:
        dates = pd.to_datetime(alloc["trial_date"])
        days = int(dates.nunique())
        per_day = alloc[arm == treatment].groupby(dates[arm == treatment].dt.date).size()
        lo, hi = int(per_day.min()), int(per_day.max())
        tasked = (f"{lo} hot spots tasked each day" if lo == hi
                  else f"between {lo} and {hi} hot spots tasked each day")
        return (f"Crossover: {n} hot spots over {days:,} trial days, {dates.min():%d %B %Y} to "
                f"{dates.max():%d %B %Y} (each trial day starts at {t.design.day_starts}); "
                f"{tasked}. Every hot spot serves in both arms, and the unit of analysis is the "
                "hot-spot-day.")
    n_t = int((arm == treatment).sum())
    window = (f" for the trial window {t.windows.trial[0]:%d %B %Y} to "
              f"{t.windows.trial[1]:%d %B %Y}" if t.windows.trial else "")
    return (f"Parallel ({_SCHEMES.get(t.design.scheme, t.design.scheme)}): {n_t} of {n} hot "
            f"spots assigned to {treatment} and {n - n_t} to {control}, each staying in its arm"
            f"{window}.")


# ---------------------------------------------------------------------------
# sections


def plan_rows_section(s: Section, t: Trial, *, heading: str | None = None) -> Any:
    """The analysis plan in plain words (:meth:`rct.plan.AnalysisPlan.describe`); returns it."""
    from rct.plan.plan import plan_from_trial

    plan = plan_from_trial(t)
    s.html(kv_html(plan.describe()), heading=heading)
    return plan


_COVARIATE_NAMES = {"crimes": "crimes in the selection data", "harm": "harm in the selection data",
                    "share_crimes": "share of the selection data's crimes",
                    "share_harm": "share of the selection data's harm", "area_m2": "area (m²)",
                    "share_area": "share of the area of cells with crime", "cells": "grid cells",
                    "baseline_crimes": "recorded crime in the baseline window",
                    "baseline_harm": "crime harm in the baseline window"}
_NOT_COVARIATES = {"hotspot_id", "block", "rank", "centroid_x", "centroid_y", "harm_unknown",
                   "easting", "northing", "x", "y"}


def covariate_name(c: str) -> str:
    return _COVARIATE_NAMES.get(c, c.replace("_", " "))


def balance_section(s: Section, t: Trial) -> None:
    """Baseline balance: covariates by arm (parallel) or baseline outcomes by arm (crossover)."""
    alloc = allocation(t)
    control, treatment = arms_of(t)
    if t.design.type == "parallel":
        _parallel_balance(s, t, alloc)
        return
    if t.windows.baseline is None or t.windows.trial is None:
        raise NotAvailable("[windows] baseline and trial are needed to compare baseline outcomes")
    out = outcomes(t)
    if "trial_date" not in out.columns:
        raise NotAvailable("the outcomes table has months, not trial days")
    from rct.dosage.baseline import baseline_uplift
    from rct.reports.words import number

    measures = [m for m in ("crimes", "harm", "catchment_crimes") if m in out.columns]
    u = baseline_uplift(out, alloc, baseline=t.windows.baseline, trial=t.windows.trial,
                        measures=measures, treatment=treatment, control=control,
                        source="outcomes")
    tab = u.tidy()
    import pandas as pd

    show = pd.DataFrame({
        "outcome": [covariate_name(f"baseline_{m}") if m in ("crimes", "harm")
                    else "recorded crime in the catchment ring, baseline window"
                    for m in tab["measure"]],
        f"per hot-spot-day, weighted by {treatment} days": [number(v) for v in
                                                            tab["baseline_treatment"]],
        f"per hot-spot-day, weighted by {control} days": [number(v) for v in
                                                          tab["baseline_control"]],
        "baseline days": [f"{int(v):,}" for v in tab["n_baseline_days"]]})
    s.para("In a crossover every hot spot serves in both arms, so the arms are balanced on "
           "everything fixed about a hot spot by construction. The table weights each hot "
           "spot's baseline crime per day by its days in each arm: the two columns should be "
           "close.", note=True)
    s.table(show, heading="Baseline window: crime per hot-spot-day, by arm")
    for n in u.notes:
        s.para(n, note=True)


def _parallel_balance(s: Section, t: Trial, alloc: pd.DataFrame) -> None:
    import pandas as pd

    from rct.plan.evaluate import design_from_trial
    from rct.randomise import balance
    from rct.reports.words import number, p_cell

    gdf = hotspots(t)
    units = pd.DataFrame(gdf.drop(columns="geometry"))
    units["hotspot_id"] = units["hotspot_id"].astype(str)
    if t.windows.baseline is not None and t.files.outcomes is not None \
            and Path(t.files.outcomes).exists():
        out = outcomes(t)
        lo, hi = t.windows.baseline
        if "trial_date" in out.columns:
            when = pd.to_datetime(out["trial_date"]).dt.date
            sel = (when >= lo) & (when <= hi)
        else:
            per = pd.PeriodIndex(out["period"].astype(str), freq="M")
            sel = (per >= pd.Period(lo, "M")) & (per <= pd.Period(hi, "M"))
        cols = [c for c in ("crimes", "harm") if c in out.columns]
        base = out[sel].groupby(out["hotspot_id"].astype(str))[cols].sum().add_prefix("baseline_")
        units = units.merge(base, left_on="hotspot_id", right_index=True, how="left")
        units[base.columns] = units[base.columns].fillna(0.0)
    covs = list(t.design.covariates) or [
        c for c in units.columns
        if c not in _NOT_COVARIATES and pd.api.types.is_numeric_dtype(units[c])
        and not pd.api.types.is_bool_dtype(units[c]) and units[c].notna().all()
        and units[c].nunique() > 1]
    if not covs:
        raise NotAvailable("no numeric hot-spot covariates and no baseline outcomes to compare")
    design = design_from_trial(t, alloc, units)
    if design is None:
        raise NotAvailable("[design] has no seed, so the randomisation distribution for the "
                           "omnibus test cannot be re-derived")
    res = balance(design, units, covs, seed=t.design.seed or 0, draws=2000)
    tab = res.table
    arms = list(design.arms)
    show = pd.DataFrame({"covariate": [covariate_name(c) for c in tab["covariate"]]})
    for a in arms:
        show[f"mean, {a}"] = [number(v) for v in tab[f"mean_{a}"]]
        show[f"SD, {a}"] = [number(v) for v in tab[f"sd_{a}"]]
    for a in arms[1:]:
        show[f"standardised difference, {a}"] = [number(v, 2) for v in tab[f"smd_{a}"]]
        show[f"variance ratio, {a}"] = [number(v, 2) for v in tab[f"variance_ratio_{a}"]]
    s.table(show, heading="Covariates by arm")
    o = res.omnibus
    how = ("all " if o["method"].startswith("exact") else "") + f"{o['reference_size']:,} " \
        + ("assignments of the design" if o["method"].startswith("exact")
           else "draws from the design")
    k = len(o["covariates"])
    s.para(f"Omnibus balance test (Mahalanobis distance over {k} covariate{'s' if k != 1 else ''}, "
           f"compared with {how}): M = {number(o['statistic'])}, randomisation p = "
           f"{p_cell(o['p_value'])}. A small p-value would mean the arms differ more than "
           "randomisation usually produces.", note=True)
    import re

    names = sorted(set(covs), key=len, reverse=True)
    word = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, names)) + r")(?!\w)")
    for c, why in (o.get("dropped") or {}).items():
        why = word.sub(lambda m: covariate_name(m.group(1)), why)
        s.para(f"Left out of the omnibus test: {covariate_name(c)}, {why}.", note=True)
    smd = [c for c in tab.columns if c.startswith("smd_")]
    if smd:
        from rct.reports.figures import balance_dots

        s.figure(balance_dots(tab.assign(covariate=[covariate_name(c) for c in tab["covariate"]])
                              .rename(columns={smd[0]: "smd"})),
                 alt="Standardised mean differences by covariate",
                 heading="Standardised mean differences (±0.1 guide lines)")
