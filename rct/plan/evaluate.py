"""Running the analysis plan on a trial's files (``rct evaluate trial.toml``).

:func:`evaluate_trial` resolves the trial's :class:`~rct.plan.AnalysisPlan`,
rebuilds the design object from the allocation's manifest (so randomisation
inference draws from the real randomisation; the trial file's ``[design]``
must agree with it), checks the outcomes were built as the plan says (crime
types, harm index), runs the crossover (:mod:`rct.plan.crossover`) or parallel
(:mod:`rct.plan.parallel`) plan, and returns
:class:`~rct.evaluate.results.EvaluationResults` whose ``meta`` carries the
plan, its SHA-256, the registration status, the SHA-256 of every input read,
and the headline.  :func:`write_results` writes ``results.json`` and the tidy
CSV atomically, together.

What runs
---------
For every planned outcome (primary first, then the secondary outcomes): the
pre-registered test (``role = "primary"`` / ``"secondary"``), a randomisation
test of the other scale and the model-based estimators (``"robustness"``),
and displacement, compliance, carryover and Poisson-variance comparisons
(``"exploratory"``).  The secondary outcomes' tests form the multiplicity
family; the primary is tested at α.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rct.errors import ConfigError, DesignError
from rct.evaluate.results import EvaluationResults
from rct.plan.common import ApproximateDesign, DesignApproximationWarning
from rct.plan.common import _distribution as _distribution
from rct.plan.common import _finish as _finish
from rct.plan.common import _ri as _ri
from rct.plan.common import _ri_seed as _ri_seed
from rct.plan.common import _safe as _safe
from rct.plan.crossover import _dose_panel, evaluate_crossover
from rct.plan.parallel import _parallel_displacement as _parallel_displacement
from rct.plan.parallel import evaluate_parallel

__all__ = [
    "evaluate_crossover",
    "evaluate_parallel",
    "evaluate_trial",
    "write_results",
    "evaluate_trial_files",
    "design_from_trial",
    "ApproximateDesign",
    "DesignApproximationWarning",
]


# ---------------------------------------------------------------------------
# trial.toml
# ---------------------------------------------------------------------------


def _read_table(path: Path) -> Any:
    # checked against its manifest; corrupt files and repeated keys named (rct.io.tables)
    from rct.io.tables import read_table

    return read_table(path)


def design_from_trial(trial: Any, allocation: Any, hotspots: Any = None) -> Any:
    """The design object the allocation was drawn from, for randomisation inference.

    With a manifest beside the allocation (``rct randomise`` writes one) the
    design is rebuilt from it (:func:`rct.randomise.load_design`) — every
    parameter, including quantile blocks and matched pairs, exactly as drawn
    — and each key given in the trial file's ``[design]`` must agree with the
    manifest (a :class:`ConfigError` names any that does not).  Without a
    manifest it is re-derived from ``[design]``; with no seed either, returns
    ``None`` with a :class:`DesignApproximationWarning`.  Either way the
    rebuilt allocation must equal the file (else :class:`DesignError`).
    """
    import pandas as pd

    spec = trial.design
    mpath = None
    if getattr(trial.files, "allocation", None) is not None:
        from rct.randomise.manifest import manifest_path

        mpath = manifest_path(trial.files.allocation)
    if mpath is not None and mpath.exists():
        design = _design_from_manifest(trial, mpath)
    elif spec.seed is None:
        warnings.warn("[design] has no seed and the allocation has no manifest: the design "
                      "cannot be re-derived; randomisation inference will use an approximating "
                      "permutation design", DesignApproximationWarning, stacklevel=2)
        return None
    else:
        if hotspots is None and (spec.sites or spec.shifts) and trial.files.hotspots is not None:
            from rct.randomise.manifest import read_units

            hotspots = read_units(trial.files.hotspots)  # the site / window columns
        design = _design_from_spec(spec, allocation, hotspots)
    keys = ["hotspot_id", "trial_date"] if spec.type == "crossover" else ["hotspot_id"]
    mine = design.allocation[[*keys, "arm"]].copy()
    theirs = allocation[[*keys, "arm"]].copy()
    for df in (mine, theirs):
        df["hotspot_id"] = df["hotspot_id"].astype(str)
        if "trial_date" in keys:
            df["trial_date"] = pd.to_datetime(df["trial_date"]).dt.date
        df["arm"] = df["arm"].astype(str)
    m = mine.merge(theirs, on=keys, how="outer", suffixes=("_design", "_file"), indicator=True)
    bad = (m["_merge"] != "both") | (m["arm_design"] != m["arm_file"])
    if bad.any():
        raise DesignError(
            f"the allocation file differs from the design re-derived from "
            f"{'its manifest' if mpath is not None and mpath.exists() else '[design]'} "
            f"(seed {getattr(design, 'seed', spec.seed)}) in {int(bad.sum())} rows; randomisation "
            "inference needs the real design — check `rct randomise verify`")
    return design


_MANIFEST_KEYS = {  # [design] key -> manifest parameter (None: compare with the design's seed)
    "seed": None, "per_day": "per_day", "days": "days", "start": "start",
    "day_starts": "day_starts", "equal_coverage": "equal_coverage",
    "block_weekday": "block_weekday", "max_consecutive": "max_consecutive",
    "washout": "washout", "arms": "arms", "ratio": "ratio", "block_column": "block_column",
    "blocks_from": "blocks_from", "n_blocks": "n_blocks", "rank_column": "rank_column",
    "covariates": "covariates", "threshold": "threshold", "acceptance": "acceptance",
}


def _design_from_manifest(trial: Any, mpath: Path) -> Any:
    import json

    from rct.randomise.manifest import load_design

    man = json.loads(mpath.read_text(encoding="utf-8"))
    d = man.get("design") or {}
    params = dict(d.get("parameters") or {})
    spec = trial.design
    problems = []
    kind = d.get("design")
    if kind != spec.type:
        problems.append(f"[design] type = {spec.type!r}, but the allocation's manifest is a "
                        f"{kind} design")
    if kind == "parallel" and spec.scheme != d.get("scheme"):
        problems.append(f"[design] scheme = {spec.scheme!r}, but the manifest says "
                        f"{d.get('scheme')!r}")
    raw = trial.to_dict()["design"]
    given = _given_design_keys(trial)
    problems += _strata_problems(spec, given, params, kind)
    for key, mkey in _MANIFEST_KEYS.items():
        if key not in given or (key == "covariates" and spec.scheme != "rerandomise"):
            continue  # covariates of other schemes are for balance, not the draw
        if key == "per_day" and (isinstance(raw.get(key), dict)
                                 or isinstance(params.get(mkey), dict)):
            continue  # quotas per site / shift: compared stratum by stratum above
        if mkey is not None and mkey not in params:
            continue  # not a parameter of this design (e.g. day_starts of a parallel one)
        mine = raw.get(key)
        theirs = d.get("seed") if mkey is None else params.get(mkey)
        if isinstance(theirs, list) or isinstance(mine, list):
            mine, theirs = list(mine or []), list(theirs or [])
        if mine != theirs:
            problems.append(f"[design] {key} = {mine!r}, but the allocation's manifest says "
                            f"{theirs!r}")
    if spec.type == "parallel" and "n_treated" in given:
        counts = params.get("counts")
        if counts is not None and int(counts[-1]) != spec.n_treated:
            problems.append(f"[design] n_treated = {spec.n_treated}, but the manifest allocates "
                            f"{counts[-1]} to the treatment arm")
    if problems:
        raise ConfigError(problems, file=trial.path)
    return load_design(trial.files.allocation)


def _strata_problems(spec: Any, given: set[str], params: dict[str, Any], kind: Any
                     ) -> list[str]:
    """``[design] sites``, ``shifts`` and per-stratum ``per_day`` against the manifest."""
    out = []
    if kind == "crossover":
        if "sites" in given and not params.get("sites"):
            out.append(f"[design] sites = {spec.sites!r}, but the allocation's manifest has no "
                       "sites (it was not randomised with per-site quotas)")
        if "shifts" in given and params.get("shifts") != spec.shifts:
            out.append(f"[design] shifts = {spec.shifts!r}, but the allocation's manifest says "
                       f"{params.get('shifts')!r}")
        if "per_day" in given and (isinstance(spec.per_day, dict)
                                   or isinstance(params.get("per_day"), dict)):
            from rct.randomise.crossover_strata import quota_table

            try:
                mine = quota_table(spec.per_day, params.get("sites"), params.get("windows"))
            except (KeyError, TypeError, ValueError):
                mine = None
            theirs = quota_table(params.get("per_day"), params.get("sites"),
                                 params.get("windows"))
            if mine != theirs:
                out.append(f"[design] per_day = {spec.per_day!r}, but the allocation's manifest "
                           f"says {params.get('per_day')!r}")
    elif kind == "parallel" and "sites" in given and spec.scheme == "block" \
            and params.get("block_column") != spec.block_column:
        out.append(f"[design] sites = {spec.sites!r} blocks by {spec.block_column!r}, but the "
                   f"allocation's manifest blocks by {params.get('block_column')!r}")
    return out


def _given_design_keys(trial: Any) -> set[str]:
    """The ``[design]`` keys the trial file actually sets (defaults are not claims)."""
    import tomllib

    try:
        raw = tomllib.loads(Path(trial.path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return set()
    return set((raw.get("design") or {}).keys())


def _design_from_spec(spec: Any, allocation: Any, hotspots: Any) -> Any:
    import pandas as pd

    ids = sorted(allocation["hotspot_id"].astype(str).unique())
    if spec.type == "crossover":
        from rct.randomise.crossover import crossover

        start = spec.start or pd.to_datetime(allocation["trial_date"]).min().date()
        days = spec.days or int(pd.to_datetime(allocation["trial_date"]).nunique())
        per_day = spec.per_day or int(
            (allocation["arm"].astype(str) == "treatment").sum() // days)
        strata: dict[str, Any] = {}
        if (spec.sites or spec.shifts) and hotspots is not None:  # site / shift strata
            units = hotspots.assign(hotspot_id=hotspots["hotspot_id"].astype(str))
            units = units[units["hotspot_id"].isin(ids)]
            strata = {"sites": spec.sites, "windows": "auto" if spec.shifts else None,
                      "shifts": spec.shifts}
            ids = units
        return crossover(ids, start=start, days=days, per_day=per_day, day_starts=spec.day_starts,
                         seed=spec.seed, equal_coverage=spec.equal_coverage,
                         block_weekday=spec.block_weekday, max_consecutive=spec.max_consecutive,
                         washout=spec.washout, **strata)
    from rct.randomise.parallel import parallel

    units = hotspots if hotspots is not None else pd.DataFrame({"hotspot_id": ids})
    kw: dict[str, Any] = {"scheme": spec.scheme, "arms": spec.arms, "seed": spec.seed}
    if spec.ratio is not None:
        kw["ratio"] = spec.ratio
    if spec.n_treated is not None:
        kw["counts"] = (len(units) - spec.n_treated, spec.n_treated)
    for name in ("block_column", "blocks_from", "n_blocks", "rank_column", "threshold",
                 "acceptance"):
        if getattr(spec, name) is not None:
            kw[name] = getattr(spec, name)
    if spec.covariates and spec.scheme == "rerandomise":
        kw["covariates"] = list(spec.covariates)
    return parallel(units, **kw)


def evaluate_trial(path: str | Path, *, ri_draws: int | None = None) -> EvaluationResults:
    """Evaluate the trial a ``trial.toml`` describes, as its analysis plan says.

    Parameters
    ----------
    path
        The trial file.
    ri_draws
        Override ``[analysis] ri_draws`` (the plan then differs from the
        registered one, and ``meta["registration"]`` says so).
    """
    import dataclasses

    import pandas as pd

    from rct.config import load_trial
    from rct.plan.plan import plan_from_trial
    from rct.plan.register import check_registration

    trial = load_trial(path)
    if ri_draws is not None:
        trial = dataclasses.replace(
            trial, analysis=dataclasses.replace(trial.analysis, ri_draws=int(ri_draws)))
    trial.require("allocation")
    plan = plan_from_trial(trial)
    f, a = trial.files, trial.analysis
    outcomes_path = Path(f.outcomes)
    if not outcomes_path.exists():
        raise ConfigError([f"[files] outcomes = {_rel(trial, outcomes_path)!r} does not exist "
                           "(run `rct ingest crimes` first)"], file=trial.path)
    outcomes = _read_table(outcomes_path)
    _check_outcomes_built_as_planned(trial, outcomes, outcomes_path)
    allocation = _read_table(Path(f.allocation))
    names = tuple(o.name for o in plan.outcomes)
    missing = [o for o in names if o not in outcomes.columns]
    if missing:
        raise ConfigError([f"[analysis] outcome {o!r} is not a column of {outcomes_path.name}"
                           for o in missing], file=trial.path)
    dosage, dosage_path = _dosage_table(trial)
    draws = int(a.ri_draws)
    labels = {o.name: o.label for o in plan.outcomes}
    common = {"primary": a.primary, "alpha": a.alpha, "ri_draws": draws, "seed": a.seed,
              "multiplicity": a.multiplicity, "labels": labels, "estimator": a.estimator}
    inputs = {"outcomes": outcomes_path, "allocation": Path(f.allocation)}
    if trial.design.type == "crossover":
        if "trial_date" not in outcomes.columns:
            raise ConfigError(["a crossover trial needs daily outcomes (trial_date); the outcomes "
                               "file has periods only"], file=trial.path)
        if trial.windows.trial is not None:
            lo, hi = trial.windows.trial
            d = pd.to_datetime(outcomes["trial_date"]).dt.date
            outcomes = outcomes[(d >= lo) & (d <= hi)]
        design = design_from_trial(trial, allocation)
        res = evaluate_crossover(outcomes, allocation, design=design, outcomes_to_test=names,
                                 carryover_days=a.carryover_days, dosage=dosage, **common)
    else:
        hs = None
        if f.hotspots is not None and Path(f.hotspots).exists():
            from rct.randomise.manifest import read_units

            hs = read_units(f.hotspots)  # randomisation needs no geometry
        design = design_from_trial(trial, allocation, hs)
        rings = tuple(f"catchment_{o}" for o in names if f"catchment_{o}" in outcomes.columns)
        units, baseline = _parallel_units(outcomes, allocation, names, trial.windows, extra=rings)
        blocks = "block" if "block" in units.columns and units["block"].notna().all() \
            and units["block"].astype(str).nunique() > 1 else None
        dose = None
        if dosage is not None and "trial_date" in dosage.columns:
            dd = _dose_panel(dosage, DOSE)
            if trial.windows.trial is not None:
                lo, hi = trial.windows.trial
                dd = dd[(dd["trial_date"] >= lo) & (dd["trial_date"] <= hi)]
            total = dd.groupby("hotspot_id")[DOSE].sum()
            units[DOSE] = units["hotspot_id"].astype(str).map(total).fillna(0.0)
            dose = DOSE
        site_col = None
        if trial.design.sites and hs is not None and trial.design.sites in hs.columns:
            site_of = dict(zip(hs["hotspot_id"].astype(str), hs[trial.design.sites].astype(str),
                               strict=False))
            units["site"] = units["hotspot_id"].astype(str).map(site_of)
            site_col = "site"  # per-site estimates, as the plan says (exploratory)
        res = evaluate_parallel(units, design=design, outcomes_to_test=names,
                                baseline=baseline, blocks=blocks, dose=dose, sites=site_col,
                                **common)
    if dosage_path is not None:
        inputs["dosage"] = dosage_path
    cost = None
    if trial.costs.officer_hour is not None:
        cost = _cost_and_value(trial, res, outcomes, allocation, inputs)
    reg = check_registration(plan, trial)
    meta = {**dict(res.meta), "trial": trial.trial.name, "trial_file_sha256": trial.sha256,
            "plan": plan.to_dict(), "plan_sha256": plan.sha256,
            "registration": reg.to_dict(),
            "inputs": {role: {"file": _rel(trial, p), "sha256": _sha256(p)}
                       for role, p in inputs.items()}}
    if cost is not None:
        meta["cost_value"] = cost
    return EvaluationResults(res.estimates, primary=res.primary, adjustment=res.adjustment,
                             adjusted_p=dict(res.adjusted_p), meta=meta)


def _cost_and_value(trial: Any, res: EvaluationResults, outcomes: Any, allocation: Any,
                    inputs: dict[str, Path]) -> dict[str, Any]:
    """``[costs]``: officer hours × cost per hour against crimes prevented by the headline.

    Returns ``CostValue.to_dict()`` with its ``summary``, or ``{"status": "not available",
    "reason": ...}`` when an input is missing (the evaluation still stands).
    """
    from rct.evaluate.costs import (
        CostPerHour,
        control_baseline,
        cost_value,
        officer_hours,
        read_unit_costs,
    )
    from rct.evaluate.crossover import crossover_panel

    c = trial.costs
    head = res.meta.get("headline") or {}
    if head.get("scale") != "ratio":
        return {"status": "not available", "reason": "the primary effect is not a rate ratio"}
    name = "patrol_dosage" if c.hours_from == "patrols" else "airwave_presence"
    path = Path(getattr(trial.files, name))
    if not path.exists():
        return {"status": "not available",
                "reason": f"no {name.replace('_', ' ')} table ({path.name}) for officer hours"}
    dosage = _read_table(path)
    inputs[name.replace("_", " ")] = path
    if trial.design.type == "crossover":
        panel = crossover_panel(outcomes, allocation)
    else:  # parallel: every trial day of a treatment hot spot is a tasked hot-spot-day
        import pandas as pd

        if "trial_date" not in outcomes.columns:
            return {"status": "not available", "reason": "cost and value need daily outcomes "
                    "(the outcomes table has months)"}
        o = outcomes.copy()
        o["hotspot_id"] = o["hotspot_id"].astype(str)
        when = pd.to_datetime(o["trial_date"]).dt.date
        if trial.windows.trial is not None:
            o = o[(when >= trial.windows.trial[0]) & (when <= trial.windows.trial[1])]
        arm = allocation.assign(hotspot_id=allocation["hotspot_id"].astype(str)).set_index(
            "hotspot_id")["arm"].astype(str)
        panel = o.assign(tasked=(o["hotspot_id"].map(arm) == "treatment").astype(int),
                         trial_date=pd.to_datetime(o["trial_date"]).dt.date)
    measure = "officer_minutes" if c.hours_from == "patrols" else "radio_minutes"
    if measure not in dosage.columns:
        measure = "presence_minutes"
    hours = officer_hours(dosage, panel, measure=measure, basis=c.basis,
                          source=("patrol logs" if c.hours_from == "patrols" else
                                  "Airwave radio presence"))
    unit = None
    crimes = None
    if c.unit_costs is not None:
        unit = read_unit_costs(c.unit_costs)
        inputs["unit costs of crime"] = Path(c.unit_costs)
        crimes = _crime_incidents(trial)
    base = control_baseline(panel, outcomes=tuple(o for o in ("crimes", "harm")
                                                  if o in panel.columns), crimes=crimes)
    cv = cost_value(effect=(float(head["estimate"]), float(head["conf_low"]),
                            float(head["conf_high"])),
                    hours=hours, cost_per_hour=CostPerHour(
                        value=float(c.officer_hour), source=str(c.officer_hour_source),
                        currency=c.currency, price_year=c.price_year),
                    baseline=base, unit_costs=unit, outcome=res.primary or "crimes",
                    alpha=float(head.get("alpha", 0.05)))
    return {**cv.to_dict(), "status": "done", "summary": cv.summary()}


def _crime_incidents(trial: Any) -> Any:
    """One row per crime × hot spot it falls in: ``hotspot_id, trial_date, offence_code,
    offence`` — the planned crime types in the trial window (for unit costs by offence)."""
    import pandas as pd

    from rct.harm import crime_type_mask
    from rct.ingest.outcomes import locate_pairs
    from rct.io.crimes import read_crimes
    from rct.io.hotspots import read_hotspots
    from rct.io.times import trial_date

    read = read_crimes(trial.inputs("crimes"))
    c = read.data.reset_index(drop=True)
    if trial.analysis.crime_types:
        c = c.loc[crime_type_mask(c, trial.analysis.crime_types)].reset_index(drop=True)
    c = c[pd.to_datetime(c["occurred_at"], utc=True).notna()].reset_index(drop=True)
    hs = read_hotspots(trial.hotspots_input())
    pi, gi = locate_pairs(c["x"].to_numpy(dtype=float), c["y"].to_numpy(dtype=float),
                          hs.geometry.values)
    days = trial_date(pd.to_datetime(c["occurred_at"], utc=True).iloc[pi],
                      trial.design.day_starts)
    out = pd.DataFrame({"hotspot_id": hs["hotspot_id"].astype(str).to_numpy()[gi],
                        "trial_date": list(days)})
    for col in ("offence_code", "offence"):
        if col in c.columns:
            out[col] = c[col].to_numpy()[pi]
    return out


def _rel(trial: Any, p: Path) -> str:
    try:
        return Path(p).resolve().relative_to(trial.root.resolve()).as_posix()
    except ValueError:
        return Path(p).name


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _type_keys(types: Any) -> set[str]:
    from rct.harm import normalise_category

    return {normalise_category(str(t)) for t in types}


def _check_outcomes_built_as_planned(trial: Any, outcomes: Any, path: Path) -> None:
    """The outcomes table must count the plan's crime types with the plan's harm index.

    What it counts is read from its manifest (``<table>.manifest.json``, written by
    ``rct ingest crimes``), else from the table's own metadata.
    """
    import json

    built = dict(getattr(outcomes, "attrs", {}).get("rct_outcomes") or {})
    man = Path(str(path) + ".manifest.json")
    if man.is_file():
        try:
            params = json.loads(man.read_text(encoding="utf-8")).get("parameters") or {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            params = {}
        if params:
            built = {"crime_types": params.get("crime_types"), "harm": params.get("harm")}
    problems = []
    want = sorted(trial.analysis.crime_types)
    if want:
        have = built.get("crime_types")
        if have is None:
            problems.append(
                f"[analysis] crime_types = {want!r}, but {path.name} does not record which crime "
                "types it counts (it counts every type it was given): re-run `rct ingest crimes "
                "... --crime-types " + ",".join(want) + "`")
        elif _type_keys(have) != _type_keys(want):
            problems.append(f"[analysis] crime_types = {want!r}, but {path.name} counts "
                            f"{sorted(have) or 'every crime type'}: re-run `rct ingest crimes "
                            "... --crime-types " + ",".join(want) + "`")
    elif built.get("crime_types"):
        problems.append(f"{path.name} counts only {sorted(built['crime_types'])}, but "
                        "[analysis] crime_types is not set: name them in the plan")
    harm = built.get("harm")
    plan_harm = trial.files.harm if trial.files.harm in ("cchi", "cchi-subgroup", "ons") \
        else Path(trial.files.harm).name
    if harm is not None and Path(str(harm)).name != plan_harm and harm != plan_harm:
        problems.append(f"[files] harm = {plan_harm!r}, but {path.name} was weighted with "
                        f"{harm!r}: re-run `rct ingest crimes ... --harm {plan_harm}`")
    if problems:
        raise ConfigError(problems, file=trial.path)


DOSE = "presence_minutes"


def _dosage_table(trial: Any) -> tuple[Any, Path | None]:
    """The dosage table for the complier effect: ``[files] patrol_dosage``, else ``airwave_presence``."""
    for name in ("patrol_dosage", "airwave_presence"):
        p = getattr(trial.files, name, None)
        if p is not None and Path(p).exists():
            df = _read_table(Path(p))
            if DOSE in df.columns and {"hotspot_id", "trial_date"} <= set(df.columns):
                return df, Path(p)
    return None, None


def _parallel_units(outcomes: Any, allocation: Any, names: tuple[str, ...], windows: Any,
                    *, extra: tuple[str, ...] = ()) -> tuple[Any, dict[str, str]]:
    """Hot-spot totals over the trial window (+ baseline-window totals when covered).

    ``extra`` columns (e.g. catchment counts) are totalled the same way.
    """
    names_ = tuple(dict.fromkeys((*names, *extra)))
    import pandas as pd

    o = outcomes.copy()
    o["hotspot_id"] = o["hotspot_id"].astype(str)
    if "trial_date" in o.columns:
        when = pd.to_datetime(o["trial_date"])
    else:
        when = pd.PeriodIndex(o["period"].astype(str), freq="M").to_timestamp()
        when = pd.Series(when, index=o.index)

    def total(window: Any) -> Any:
        if window is None:
            sel = pd.Series(True, index=o.index)
        else:
            lo, hi = (pd.Timestamp(window[0]), pd.Timestamp(window[1]))
            if "period" in o.columns:
                lo = lo.to_period("M").to_timestamp()
            sel = (when >= lo) & (when <= hi)
        return o[sel].groupby("hotspot_id")[list(names_)].sum()

    trial_tot = total(windows.trial)
    alloc = allocation.copy()
    alloc["hotspot_id"] = alloc["hotspot_id"].astype(str)
    units = alloc.merge(trial_tot, left_on="hotspot_id", right_index=True, how="left")
    units[list(names_)] = units[list(names_)].fillna(0.0)
    baseline: dict[str, str] = {}
    if windows.baseline is not None:
        base = total(windows.baseline)
        if len(base) and float(base.to_numpy().sum()) > 0:
            base = base.add_prefix("baseline_")
            units = units.merge(base, left_on="hotspot_id", right_index=True, how="left").fillna(
                {c: 0.0 for c in base.columns})
            baseline = {o: f"baseline_{o}" for o in names}  # extras keep baseline_<col> too
    return units, baseline


def write_results(results: EvaluationResults, json_path: str | Path,
                  csv_path: str | Path | None = None, *, force: bool = False
                  ) -> tuple[Path, Path]:
    """Write ``results.json`` and the tidy CSV (default: same name, ``.csv``) as one unit.

    The two files and ``results.json.manifest.json`` (their SHA-256 and the
    inputs the results were computed from) are committed together
    (:class:`rct.io.atomic.OutputUnit`): a crash leaves the old pair or the new
    one.  An existing pair is refused unless ``force`` (the one overwrite rule).
    """
    import json

    from rct.io.atomic import OutputUnit, _json_default

    json_path = Path(json_path)
    csv_path = Path(csv_path) if csv_path is not None else json_path.with_suffix(".csv")
    unit = OutputUnit(json_path, companions={"table": csv_path}, force=force,
                      command="rct evaluate")
    unit.check()
    d = results.to_dict()
    text = json.dumps(d, indent=2, sort_keys=True, default=_json_default) + "\n"
    unit.add_bytes("output", text.encode("utf-8"), rows=len(results.estimates))
    unit.add_table("table", results.tidy())
    # the inputs' SHA-256 are in results.json itself (meta.inputs), which the report checks
    unit.commit(counts={"estimates": len(results.estimates)},
                parameters={"plan_sha256": d.get("meta", {}).get("plan_sha256")})
    return json_path, csv_path


def evaluate_trial_files(path: str | Path, *, out: str | Path | None = None,
                         ri_draws: int | None = None, force: bool = False
                         ) -> tuple[Path, Path, str]:
    """``rct evaluate``: evaluate the trial and write its results; returns paths and a summary.

    The summary is :func:`summary_lines` joined: the headline, the plan's
    registration, then the secondary outcomes.
    """
    from rct.config import load_trial

    target = Path(out) if out is not None else Path(load_trial(path).files.results)
    if not force:  # refuse before the work, not after it
        from rct.io.atomic import check_overwrite, manifest_path

        check_overwrite([target, target.with_suffix(".csv"), manifest_path(target)], force=False)
    res = evaluate_trial(path, ri_draws=ri_draws)
    j, c = write_results(res, target, force=force)
    return j, c, "\n".join(summary_lines(res))


def summary_lines(res: EvaluationResults) -> list[str]:
    """What ``rct evaluate`` prints: the headline, the registration, the secondary outcomes."""
    from rct.plan.headline import format_p, headline_from

    meta = res.meta
    lines = [str(meta["headline"]["sentence"])] if "headline" in meta else []
    reg = meta.get("registration")
    if reg:
        lines.append(f"plan: {reg['message']}")
    labels = {o["name"]: o["label"] for o in
              [meta.get("plan", {}).get("primary_outcome", {}),
               *meta.get("plan", {}).get("secondary_outcomes", [])] if o}
    design = meta.get("design", "crossover")
    for e in res.estimates:
        if e.role != "secondary":
            continue
        h = headline_from(e, label=labels.get(e.outcome, e.outcome), design_type=design)
        padj = res.adjusted_p.get((e.outcome, e.method, e.effect.term))
        adj = "" if padj is None else f", {res.adjustment}-adjusted {format_p(padj)}"
        lines.append(f"secondary: {h.label}: {h.estimate_text} ({h.interval_text}; "
                     f"randomisation {h.p_text}{adj})")
    cost = meta.get("cost_value")
    if cost:
        lines.append("cost and value: " + (str(cost.get("summary")) if cost.get("status") == "done"
                                           else f"not available ({cost.get('reason')})"))
    n_other = sum(e.role in ("robustness", "exploratory") for e in res.estimates)
    if n_other:
        lines.append(f"{n_other} robustness and exploratory estimates are in the results "
                     "table (never confirmatory)")
    return lines
