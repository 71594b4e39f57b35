"""Inputs and sections shared by the design, monitoring and evaluation reports.

Everything numeric comes from the library (:mod:`rct.randomise`,
:mod:`rct.dosage`, :mod:`rct.evaluate`, :mod:`rct.power`); this module only
finds the trial's files, calls those functions and lays out their
``.tidy()`` / ``.to_dict()`` output.
"""

from __future__ import annotations

import datetime as dt
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
    "plan_section",
    "balance_section",
    "reproducibility_section",
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

    return read_hotspots(t.files.hotspots)


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


# ---------------------------------------------------------------------------
# sections


def plan_section(s: Section, t: Trial) -> None:
    """The pre-registered plan: design, windows, analysis and dosage settings."""
    d = t.to_dict()
    s.para("As written in the trial file; every later command reads the same file. "
           f"SHA-256 of the trial file: {t.sha256}.", note=True)
    design = {k: v for k, v in d["design"].items() if v not in (None, (), [])}
    s.html(kv_html(design), heading="Design")
    win = {"baseline": d["windows"]["baseline"], "trial": d["windows"]["trial"]}
    s.html(kv_html({k: (" to ".join(v) if v else None) for k, v in win.items()}),
           heading="Windows (inclusive)")
    a = dict(d["analysis"])
    a["outcomes (primary first)"] = list(t.analysis.outcomes)
    s.html(kv_html(a), heading="Analysis")
    dose = {k: (rel(t, v) if k == "pseudonym_key_file" and v else v)
            for k, v in d["dosage"].items()}
    dose.pop("pseudonym_key_file", None)  # where the key lives is not for publication
    s.html(kv_html(dose), heading="Dosage")
    files = {k: v for k, v in d["files"].items() if k != "out_dir"}
    shown = {}
    for k, v in files.items():
        if isinstance(v, list):
            shown[k] = [rel(t, x) for x in v] or None
        elif k == "harm" and v in ("cchi", "cchi-subgroup", "ons"):
            shown[k] = v
        else:
            shown[k] = rel(t, v) if v else None
    s.html(kv_html(shown), heading="Files")


def balance_section(s: Section, t: Trial, *, period: str = "baseline") -> None:
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
        raise NotAvailable("the outcomes table has periods, not trial days")
    from rct.dosage.baseline import baseline_uplift

    measures = [m for m in ("crimes", "harm", "catchment_crimes") if m in out.columns]
    u = baseline_uplift(out, alloc, baseline=t.windows.baseline, trial=t.windows.trial,
                        measures=measures, treatment=treatment, control=control,
                        source="outcomes")
    tab = u.tidy()
    show = tab[["measure", "baseline_treatment", "baseline_control", "n_baseline_days",
                "n_treatment", "n_control"]].rename(columns={
                    "baseline_treatment": f"baseline mean, {treatment} days",
                    "baseline_control": f"baseline mean, {control} days",
                    "n_baseline_days": "baseline days",
                    "n_treatment": f"{treatment} hot-spot-days",
                    "n_control": f"{control} hot-spot-days"})
    s.para("In a crossover every hot spot is in both arms, so arms are balanced on fixed "
           "hot-spot characteristics by construction. The table weights each hot spot's mean "
           "per baseline day by its days in each arm (rct.dosage.baseline_uplift): the two "
           "columns should be close.", note=True)
    s.table(show, heading="Outcomes per hot-spot-day in the baseline window, by arm")
    for n in u.notes:
        s.para(n, note=True)


def _parallel_balance(s: Section, t: Trial, alloc: pd.DataFrame) -> None:
    import pandas as pd

    from rct.plan.evaluate import design_from_trial
    from rct.randomise import balance

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
        if c not in ("hotspot_id", "block") and pd.api.types.is_numeric_dtype(units[c])
        and units[c].nunique() > 1]
    if not covs:
        raise NotAvailable("no numeric hot-spot covariates and no baseline outcomes to compare")
    design = design_from_trial(t, alloc, units)
    if design is None:
        raise NotAvailable("[design] has no seed, so the randomisation distribution for the "
                           "omnibus test cannot be re-derived")
    res = balance(design, units, covs, seed=t.design.seed or 0, draws=2000)
    tab = res.tidy()
    s.table(tab.drop(columns=[c for c in ("method",) if c in tab.columns]),
            heading="Covariates by arm (means, SD, standardised mean differences)")
    o = res.to_dict()["omnibus"]
    s.para(f"Omnibus balance (Mahalanobis, {o['method']}, {o['reference_size']:,} "
           f"assignments): M = {o['statistic']:.3g}, randomisation p = {o['p_value']:.3f}.",
           note=True)
    smd = [c for c in res.table.columns if c.startswith("smd_")]
    if smd:
        from rct.reports.figures import balance_dots

        s.figure(balance_dots(res.table.rename(columns={smd[0]: "smd"})),
                 alt="Standardised mean differences by covariate",
                 heading="Standardised mean differences")


def reproducibility_section(s: Section, t: Trial, *, seeds: dict[str, Any] | None = None) -> None:
    from rct.reports.render import versions

    v = versions()
    s.html(kv_html(v), heading="Software")
    sd = {"randomisation seed ([design] seed)": t.design.seed,
          "analysis seed ([analysis] seed)": t.analysis.seed}
    sd.update(seeds or {})
    s.html(kv_html(sd), heading="Seeds")
    s.table(input_hashes(t), heading="Input and output files (SHA-256)")
    s.para(f"Report generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.", note=True)
