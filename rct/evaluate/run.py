"""Orchestration: a trial's files and analysis plan -> results (``rct evaluate trial.toml``).

:func:`evaluate_crossover` and :func:`evaluate_parallel` run the plan on
in-memory tables; :func:`evaluate_trial` reads ``trial.toml``
(:func:`rct.config.load_trial`), re-derives the design object from its
``[design]`` section (so randomisation inference draws from the real
randomisation) and checks it reproduces the allocation file;
:func:`write_results` writes ``results.json`` and a tidy CSV atomically.

Default estimators
------------------
crossover
    per outcome: two-way FE OLS (SE clustered by hot spot) and its
    randomisation test (additive CI); two-way FE Poisson IRR (clustered SE)
    and a conditional-Poisson randomisation test (multiplicative CI); the
    published-style t-test and chi-squared comparison; carryover when
    ``carryover_days > 0`` (FE OLS and its randomisation test with lags
    rebuilt from every drawn schedule); for ``harm*`` outcomes also FE OLS on
    ``log(1 + harm)``; catchment columns (``catchment_<outcome>``): FE OLS and
    its randomisation test (displacement); with a dosage table, the complier
    effect of presence minutes for the primary outcome (2SLS and its
    randomisation test, Imbens & Rosenbaum 2005).
parallel
    per outcome (hot-spot totals over the trial window): difference in means
    (Neyman, blocked/pairs as designed), Lin adjustment when a baseline is
    available, quasi-Poisson / negative binomial IRRs, randomisation tests
    of the difference in means (additive) and log ratio (multiplicative);
    for ``harm*`` outcomes the bootstrap / log-scale harm difference;
    catchment totals: difference in means and its randomisation test; with
    a baseline window: WDD and RIRR (with catchments: displacement WDD and
    the weighted displacement quotient) and their hot-spot-level
    randomisation tests; with a dose column, the complier effect.

Every randomisation test stores a histogram of its null distribution in the
estimate's ``details["null_histogram"]``; the primary outcome's headline test
is copied to ``meta["randomisation_distribution"]`` (with a label), which is
all the evaluation report needs to draw it.

The multiplicity family is one test per outcome: the randomisation p-value
of the plan's estimator (``[analysis] estimator``; ``auto`` = FE OLS for
crossover, difference in means for parallel).  Every other estimate is a
sensitivity analysis, reported unadjusted.

Layout: the crossover plan is in :mod:`rct.evaluate.run_crossover`, the
parallel plan in :mod:`rct.evaluate.run_parallel`, their shared helpers
(:class:`ApproximateDesign`, RI seeds, multiplicity) in
:mod:`rct.evaluate.run_common`; every name is re-exported here.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rct.errors import ConfigError, DesignError
from rct.evaluate.results import EvaluationResults
from rct.evaluate.run_common import ApproximateDesign, DesignApproximationWarning
from rct.evaluate.run_common import _distribution as _distribution
from rct.evaluate.run_common import _finish as _finish
from rct.evaluate.run_common import _ri as _ri
from rct.evaluate.run_common import _ri_seed as _ri_seed
from rct.evaluate.run_common import _safe as _safe
from rct.evaluate.run_crossover import _dose_panel, evaluate_crossover
from rct.evaluate.run_parallel import _parallel_displacement as _parallel_displacement
from rct.evaluate.run_parallel import evaluate_parallel

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
    """Re-derive the design object from ``[design]`` and check it reproduces ``allocation``.

    Returns ``None`` (with a :class:`DesignApproximationWarning`) when the
    section has no seed; raises :class:`DesignError` when the re-derived
    allocation differs from the file.
    """
    import pandas as pd

    spec = trial.design
    if spec.seed is None:
        warnings.warn("[design] has no seed: the design cannot be re-derived; randomisation "
                      "inference will use an approximating permutation design",
                      DesignApproximationWarning, stacklevel=2)
        return None
    ids = sorted(allocation["hotspot_id"].astype(str).unique())
    if spec.type == "crossover":
        from rct.randomise.crossover import crossover

        start = spec.start or pd.to_datetime(allocation["trial_date"]).min().date()
        days = spec.days or int(pd.to_datetime(allocation["trial_date"]).nunique())
        per_day = spec.per_day or int(
            (allocation["arm"].astype(str) == "treatment").sum() // days)
        design = crossover(ids, start=start, days=days, per_day=per_day, day_starts=spec.day_starts,
                           seed=spec.seed, equal_coverage=spec.equal_coverage,
                           block_weekday=spec.block_weekday, max_consecutive=spec.max_consecutive,
                           washout=spec.washout)
        keys = ["hotspot_id", "trial_date"]
    else:
        from rct.randomise.parallel import parallel

        units = hotspots if hotspots is not None else pd.DataFrame({"hotspot_id": ids})
        kw: dict[str, Any] = {"scheme": spec.scheme, "arms": spec.arms, "seed": spec.seed}
        if spec.ratio is not None:
            kw["ratio"] = spec.ratio
        if spec.n_treated is not None:
            kw["counts"] = (len(units) - spec.n_treated, spec.n_treated)
        for name in ("block_column", "rank_column", "threshold", "acceptance"):
            if getattr(spec, name) is not None:
                kw[name] = getattr(spec, name)
        if spec.covariates:
            kw["covariates"] = list(spec.covariates)
        design = parallel(units, **kw)
        keys = ["hotspot_id"]
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
            f"the allocation file differs from the design re-derived from [design] "
            f"(seed {spec.seed}) in {int(bad.sum())} rows; randomisation inference needs the real "
            "design — check the seed and parameters")
    return design


def evaluate_trial(path: str | Path, *, ri_draws: int | None = None) -> EvaluationResults:
    """Evaluate the trial a ``trial.toml`` describes (outcomes, allocation and plan)."""
    import pandas as pd

    from rct.config import load_trial

    trial = load_trial(path)
    trial.require("allocation")
    f, a = trial.files, trial.analysis
    outcomes_path = Path(f.outcomes)
    if not outcomes_path.exists():
        raise ConfigError([f"[files] outcomes = {str(outcomes_path)!r} does not exist "
                           "(run `rct ingest crimes` first)"], file=trial.path)
    outcomes = _read_table(outcomes_path)
    allocation = _read_table(Path(f.allocation))
    names = tuple(dict.fromkeys((a.primary, *a.secondary)))
    missing = [o for o in names if o not in outcomes.columns]
    if missing:
        raise ConfigError([f"[analysis] outcome {o!r} is not a column of {outcomes_path.name}"
                           for o in missing], file=trial.path)
    dosage = _dosage_table(trial)
    draws = int(ri_draws if ri_draws is not None else a.ri_draws)
    common = {"primary": a.primary, "alpha": a.alpha, "ri_draws": draws, "seed": a.seed,
              "multiplicity": a.multiplicity}
    if trial.design.type == "crossover":
        if "trial_date" not in outcomes.columns:
            raise ConfigError(["a crossover trial needs daily outcomes (trial_date); the outcomes "
                               "file has periods only"], file=trial.path)
        if trial.windows.trial is not None:
            lo, hi = trial.windows.trial
            d = pd.to_datetime(outcomes["trial_date"]).dt.date
            outcomes = outcomes[(d >= lo) & (d <= hi)]
        design = design_from_trial(trial, allocation)
        est = a.estimator if a.estimator in ("auto", "panel", "panel-poisson") else "auto"
        res = evaluate_crossover(outcomes, allocation, design=design, outcomes_to_test=names,
                                 estimator=est, carryover_days=a.carryover_days,
                                 dosage=dosage, **common)
    else:
        hs = None
        if f.hotspots is not None and Path(f.hotspots).exists():
            from rct.io.hotspots import read_hotspots

            hs = pd.DataFrame(read_hotspots(f.hotspots).drop(columns="geometry"))
        design = design_from_trial(trial, allocation, hs)
        rings = tuple(f"catchment_{o}" for o in names if f"catchment_{o}" in outcomes.columns)
        units, baseline = _parallel_units(outcomes, allocation, names, trial.windows, extra=rings)
        blocks = "block" if trial.design.scheme in ("block", "pairs") and "block" in units else None
        est = a.estimator if a.estimator in ("auto", "dim", "lin", "negbin", "poisson",
                                             "quasipoisson") else "auto"
        dose = None
        if dosage is not None and "trial_date" in dosage.columns:
            dd = _dose_panel(dosage, DOSE)
            if trial.windows.trial is not None:
                lo, hi = trial.windows.trial
                dd = dd[(dd["trial_date"] >= lo) & (dd["trial_date"] <= hi)]
            total = dd.groupby("hotspot_id")[DOSE].sum()
            units[DOSE] = units["hotspot_id"].astype(str).map(total).fillna(0.0)
            dose = DOSE
        res = evaluate_parallel(units, design=design, outcomes_to_test=names, estimator=est,
                                baseline=baseline, blocks=blocks, dose=dose, **common)
    meta = {**dict(res.meta), "trial": trial.trial.name, "trial_file_sha256": trial.sha256}
    return EvaluationResults(res.estimates, primary=res.primary, adjustment=res.adjustment,
                             adjusted_p=dict(res.adjusted_p), meta=meta)


DOSE = "presence_minutes"


def _dosage_table(trial: Any) -> Any:
    """The dosage table for the complier effect: ``[files] patrol_dosage``, else ``airwave_presence``."""
    for name in ("patrol_dosage", "airwave_presence"):
        p = getattr(trial.files, name, None)
        if p is not None and Path(p).exists():
            df = _read_table(Path(p))
            if DOSE in df.columns and {"hotspot_id", "trial_date"} <= set(df.columns):
                return df
    return None


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
                  csv_path: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``results.json`` and the tidy CSV (default: same name, ``.csv``) atomically."""
    from rct.io.atomic import write_json, write_table

    json_path = Path(json_path)
    csv_path = Path(csv_path) if csv_path is not None else json_path.with_suffix(".csv")
    tidy = results.tidy()
    write_table(tidy, csv_path)
    write_json(json_path, results.to_dict())
    return json_path, csv_path


def evaluate_trial_files(path: str | Path, *, out: str | Path | None = None,
                         ri_draws: int | None = None) -> tuple[Path, Path, str]:
    """``rct evaluate``: evaluate the trial and write its results; returns paths and a summary."""
    from rct.config import load_trial

    res = evaluate_trial(path, ri_draws=ri_draws)
    target = Path(out) if out is not None else Path(load_trial(path).files.results)
    j, c = write_results(res, target)
    return j, c, res.summary()
