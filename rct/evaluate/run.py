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
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import ConfigError, DesignError, RCTWarning
from rct.evaluate.results import Estimate, EvaluationResults

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


class DesignApproximationWarning(RCTWarning):
    """RI drawn from an approximating design (the real one could not be re-derived)."""


class ApproximateDesign:
    """Complete randomisation within blocks, fixed counts per block (fallback design).

    Used when the trial's design cannot be re-derived (no seed): crossover →
    blocks are days (k tasked per day, ignoring equal-coverage or
    consecutive-day constraints); parallel → the allocation's blocks.
    """

    def __init__(self, units: Any, assignment: np.ndarray, blocks: np.ndarray) -> None:
        import pandas as pd

        self.units = units
        self.assignment = np.asarray(assignment, dtype=np.int8)
        self.blocks = pd.factorize(pd.Series(np.asarray(blocks)))[0]
        counts = np.bincount(self.blocks)
        self._start = np.concatenate([[0], np.cumsum(counts)[:-1]])[self.blocks]
        self._m = np.bincount(self.blocks, self.assignment.astype(float)).astype(int)[self.blocks]

    def enumerate(self, limit: int = 100_000) -> None:
        return None

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        keys = rng.random((n, self.assignment.size))
        order = np.lexsort((keys, np.broadcast_to(self.blocks, keys.shape)), axis=1)
        rank = np.empty_like(order)
        rank[np.arange(n)[:, None], order] = np.arange(self.assignment.size)[None, :]
        return ((rank - self._start[None, :]) < self._m[None, :]).astype(np.int8)


def _ri_seed(seed: int | None, text: str) -> int:
    if seed is not None:
        return int(seed)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _ri(design, y, stat, *, outcome, n, draws, seed, effect, alpha, label, term="treatment"):
    from rct.evaluate.ri import randomisation_test, ri_estimate

    res = randomisation_test(design, y, stat, draws=draws, rng=np.random.default_rng(seed),
                             effect=effect, alpha=alpha)
    return ri_estimate(res, outcome=outcome, n=n, term=term,
                       method=f"randomisation inference: {label}")


def _distribution(family: list[Estimate], primary: str, label: str) -> dict[str, Any] | None:
    """The primary headline test's null histogram (from its details), for the report."""
    for e in family:
        if e.outcome == primary and "null_histogram" in e.details:
            h = dict(e.details["null_histogram"])
            how = ("all {:,} possible assignments".format(int(e.details["ri_draws"]))
                   if e.details.get("ri_method") == "exact"
                   else "{:,} draws from the design".format(int(e.details["ri_draws"])))
            return {"outcome": primary, "method": e.method, "term": e.effect.term,
                    "label": label, "how": how, "scale": e.effect.scale, **h}
    return None


def _safe(fn, what: str, *args, **kw):
    """Run an optional analysis; a failure is a warning (the rest of the plan still runs)."""
    try:
        return fn(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - optional analyses never sink the evaluation
        warnings.warn(f"{what} failed: {exc}", RCTWarning, stacklevel=3)
        return None


def _finish(estimates, primary_ests, *, primary, multiplicity, meta) -> EvaluationResults:
    from rct.evaluate.multiplicity import adjust_estimates

    method = "none" if multiplicity in (None, "none") else multiplicity
    adj = adjust_estimates(primary_ests, primary=primary, method=method, meta=meta)
    return EvaluationResults(tuple(estimates), primary=primary, adjustment=method,
                             adjusted_p=dict(adj.adjusted_p), meta=dict(meta))


# ---------------------------------------------------------------------------
# crossover
# ---------------------------------------------------------------------------


def evaluate_crossover(
    outcomes: Any,
    allocation: Any,
    *,
    design: Any = None,
    outcomes_to_test: tuple[str, ...] = ("crimes",),
    primary: str | None = None,
    estimator: str = "auto",
    alpha: float = 0.05,
    ri_draws: int = 2000,
    seed: int | None = None,
    multiplicity: str = "holm",
    carryover_days: int = 0,
    treated_arm: str = "treatment",
    dosage: Any = None,
    dose: str = "presence_minutes",
) -> EvaluationResults:
    """Run the crossover analysis plan on an outcomes panel and a schedule.

    Parameters
    ----------
    outcomes
        Per ``hotspot_id`` × ``trial_date`` outcome table (complete panel).
    allocation
        Schedule ``hotspot_id, trial_date, arm``.
    design
        The design object (:func:`rct.randomise.crossover`); ``None`` →
        :class:`ApproximateDesign` with days as blocks and a warning.
    outcomes_to_test
        Outcome columns; the first is primary unless ``primary`` is given.
    estimator
        ``"auto"``/``"panel"`` (FE OLS is the family member) or ``"panel-poisson"``.
    ri_draws, seed
        Monte Carlo draws for randomisation inference and their seed.
    carryover_days
        Lags (days) for the carryover model and its randomisation test (0 = none).
    dosage, dose
        Dosage table per ``hotspot_id`` × ``trial_date`` (patrol dosage or
        Airwave presence) and its dose column: adds the complier effect of the
        dose on the primary outcome (missing hot-spot-days count as dose 0).
    """
    from rct.evaluate.crossover import (
        ConditionalPoissonLogRR,
        TwoWayFE,
        crossover_carryover,
        crossover_fe,
        crossover_panel,
        crossover_poisson,
        thames_valley_chisq,
        thames_valley_ttest,
    )
    from rct.evaluate.ri import align_to_design

    valid = ("auto", "panel", "panel-poisson")
    if estimator not in valid:
        raise ValueError(f"crossover estimator must be one of {valid}, got {estimator!r}")
    panel = crossover_panel(outcomes, allocation, treated_arm=treated_arm)
    approx = design is None
    if approx:
        import pandas as pd

        warnings.warn("no design object: randomisation inference permutes the schedule within "
                      "days (k per day), ignoring any other constraint of the real design",
                      DesignApproximationWarning, stacklevel=2)
        units = pd.MultiIndex.from_frame(panel[["hotspot_id", "trial_date"]])
        design = ApproximateDesign(units, panel["tasked"].to_numpy(), panel["trial_date"].to_numpy())
    # statistics in design-unit order
    units = design.units
    import pandas as pd

    uframe = units.to_frame(index=False) if isinstance(units, pd.MultiIndex) else pd.DataFrame(units)
    fe_stat = TwoWayFE(uframe.iloc[:, 0].astype(str), uframe.iloc[:, 1].astype(str))
    cp_stat = ConditionalPoissonLogRR(uframe.iloc[:, 0].astype(str))
    z_design = align_to_design(design, panel, "tasked")
    if not np.array_equal(z_design.astype(np.int8), (np.asarray(design.assignment) == 1).astype(np.int8)):
        raise DesignError("the schedule in the allocation file differs from the design's assignment")
    primary = primary or outcomes_to_test[0]
    base_seed = _ri_seed(seed, "crossover")
    estimates: list[Estimate] = []
    family: list[Estimate] = []
    n = len(panel)
    for j, outcome in enumerate(outcomes_to_test):
        y = align_to_design(design, panel, outcome)
        fe = crossover_fe(panel, outcome=outcome, alpha=alpha)
        ri_fe = _ri(design, y, fe_stat, outcome=outcome, n=n, draws=ri_draws, seed=base_seed + j,
                    effect="additive", alpha=alpha, label="two-way FE OLS coefficient",
                    term="tasked")
        pois = crossover_poisson(panel, outcome=outcome, alpha=alpha)
        ri_cp = _ri(design, y, cp_stat, outcome=outcome, n=n, draws=ri_draws,
                    seed=base_seed + 1000 + j, effect="multiplicative", alpha=alpha,
                    label="conditional Poisson rate ratio (hot-spot strata)", term="tasked")
        estimates += [fe, ri_fe, pois, ri_cp]
        if outcome.startswith("harm"):  # heavy-tailed: also the FE effect on log(1 + harm)
            logged = panel.assign(**{f"log1p_{outcome}": np.log1p(panel[outcome].clip(lower=0))})
            estimates.append(crossover_fe(logged, outcome=f"log1p_{outcome}", alpha=alpha))
        family.append(ri_cp if estimator == "panel-poisson" else ri_fe)
        estimates.append(thames_valley_ttest(panel, outcome=outcome, alpha=alpha))
        if np.allclose(panel[outcome], np.round(panel[outcome])):
            estimates.append(thames_valley_chisq(panel, outcome=outcome, alpha=alpha))
        if carryover_days > 0:
            from rct.evaluate.crossover import carryover_ri

            estimates.append(crossover_carryover(panel, outcome=outcome, lags=carryover_days,
                                                 alpha=alpha))
            estimates.append(carryover_ri(design, y, lags=carryover_days, outcome=outcome,
                                          draws=ri_draws, rng=base_seed + 2000 + j,
                                          alpha=alpha))
        ring = f"catchment_{outcome}"
        if ring in panel.columns and panel[ring].notna().all():  # displacement / diffusion
            yr = align_to_design(design, panel, ring)
            estimates.append(crossover_fe(panel, outcome=ring, alpha=alpha))
            estimates.append(_ri(design, yr, fe_stat, outcome=ring, n=n, draws=ri_draws,
                                 seed=base_seed + 3000 + j, effect="additive", alpha=alpha,
                                 label="two-way FE OLS coefficient (catchment ring)",
                                 term="tasked"))
    if dosage is not None:
        from rct.evaluate.complier import complier_effect, complier_ri

        dd = _dose_panel(dosage, dose)
        dpanel = panel.drop(columns=[dose], errors="ignore").merge(
            dd, on=["hotspot_id", "trial_date"], how="left")
        dpanel[dose] = dpanel[dose].fillna(0.0)
        iv = _safe(complier_effect, "complier effect (2SLS)", dpanel, outcome=primary, dose=dose,
                   treatment="tasked", alpha=alpha)
        ri_iv = _safe(complier_ri, "complier effect randomisation test", design,
                      align_to_design(design, dpanel, primary),
                      align_to_design(design, dpanel, dose), statistic=fe_stat, outcome=primary,
                      dose_name=dose, draws=ri_draws, rng=base_seed + 4000, alpha=alpha)
        estimates += [e for e in (iv, ri_iv) if e is not None]
    meta = {
        "design": "crossover",
        "hotspots": int(panel["hotspot_id"].nunique()),
        "days": int(panel["trial_date"].nunique()),
        "hotspot_days": n,
        "tasked_days": int(panel["tasked"].sum()),
        "ri_design": "approximate (within-day permutation)" if approx else "re-derived design object",
        "ri_draws": ri_draws,
        "ri_seed": base_seed,
        "family": "randomisation p-value of the plan's estimator, one per outcome",
        "estimator": estimator,
        "carryover_days": int(carryover_days),
    }
    label = ("conditional Poisson log rate ratio (hot-spot strata)" if estimator == "panel-poisson"
             else "two-way FE OLS coefficient (tasked − untasked, per hot-spot-day)")
    dist = _distribution(family, primary, label)
    if dist is not None:
        meta["randomisation_distribution"] = dist
    return _finish(estimates, family, primary=primary, multiplicity=multiplicity, meta=meta)


def _dose_panel(dosage: Any, dose: str) -> Any:
    """``hotspot_id, trial_date, <dose>`` with string ids and date keys (summed per key)."""
    import pandas as pd

    if dose not in dosage.columns:
        raise ConfigError([f"the dosage table has no {dose!r} column"])
    dd = dosage[["hotspot_id", "trial_date", dose]].copy()
    dd["hotspot_id"] = dd["hotspot_id"].astype(str)
    dd["trial_date"] = pd.to_datetime(dd["trial_date"]).dt.date
    return dd.groupby(["hotspot_id", "trial_date"], as_index=False)[dose].sum()


# ---------------------------------------------------------------------------
# parallel
# ---------------------------------------------------------------------------


def evaluate_parallel(
    units: Any,
    *,
    design: Any = None,
    outcomes_to_test: tuple[str, ...] = ("crimes",),
    primary: str | None = None,
    estimator: str = "auto",
    baseline: dict[str, str] | None = None,
    blocks: str | None = None,
    alpha: float = 0.05,
    ri_draws: int = 2000,
    seed: int | None = None,
    multiplicity: str = "holm",
    treatment: str = "arm",
    dose: str | None = None,
) -> EvaluationResults:
    """Run the parallel-design plan on one row per hot spot (trial-window totals).

    Parameters
    ----------
    units
        ``hotspot_id``, ``arm`` (+ ``block``), outcome totals, baseline totals.
    baseline
        Outcome -> baseline column (for Lin adjustment and count-model covariate).
    blocks
        Block/pair column when the design was blocked.
    estimator
        ``auto``/``dim``, ``lin``, ``negbin``, ``poisson``, ``quasipoisson``: the
        family member (its randomisation test).
    dose
        Column of received dose per hot spot (e.g. trial-window presence
        minutes): adds the complier effect on the primary outcome.

    Notes
    -----
    Catchment columns ``catchment_<outcome>`` (and ``baseline_catchment_<outcome>``)
    are analysed for displacement when present.  With a baseline column the
    pre/post estimators run too: :func:`~rct.evaluate.prepost.wdd_units`,
    :func:`~rct.evaluate.prepost.rirr_units`, the displacement quotient, and
    their hot-spot-level randomisation tests
    (:func:`~rct.evaluate.prepost.wdd_ri`, :func:`~rct.evaluate.prepost.rirr_ri`).
    """
    from rct.evaluate.counts import count_model
    from rct.evaluate.harm_effects import log_ratio_statistic
    from rct.evaluate.parallel import difference_in_means, dim_statistic, lin_statistic, lm_lin
    from rct.evaluate.ri import align_to_design, as_statistic

    valid = ("auto", "dim", "lin", "negbin", "poisson", "quasipoisson")
    if estimator not in valid:
        raise ValueError(f"parallel estimator must be one of {valid}, got {estimator!r}")
    baseline = dict(baseline or {})
    df = units.copy()
    df["hotspot_id"] = df["hotspot_id"].astype(str)
    approx = design is None
    if approx:
        import pandas as pd

        warnings.warn("no design object: randomisation inference permutes arms "
                      f"{'within blocks' if blocks else 'completely'}", DesignApproximationWarning,
                      stacklevel=2)
        z = (df[treatment].astype(str) == "treatment").to_numpy()
        design = ApproximateDesign(pd.Index(df["hotspot_id"], name="hotspot_id"), z,
                                   df[blocks].to_numpy() if blocks else np.zeros(len(df)))
    ids = design.units
    df = df.set_index("hotspot_id").loc[[str(i) for i in ids]].reset_index()
    bcodes = df[blocks].astype(str).to_numpy() if blocks else None
    primary = primary or outcomes_to_test[0]
    base_seed = _ri_seed(seed, "parallel")
    estimates: list[Estimate] = []
    family: list[Estimate] = []
    n = len(df)
    for j, outcome in enumerate(outcomes_to_test):
        y = align_to_design(design, df, outcome)
        dim = difference_in_means(df, outcome=outcome, treatment=treatment, blocks=blocks, alpha=alpha)
        dim_stat = as_statistic(dim_statistic, name="difference in means", linear=True,
                                order="yz", blocks=bcodes)
        ri_dim = _ri(design, y, dim_stat, outcome=outcome, n=n, draws=ri_draws, seed=base_seed + j,
                     effect="additive", alpha=alpha, label="difference in means")
        estimates += [dim, ri_dim]
        member = ri_dim
        b = baseline.get(outcome)
        if b is not None:
            lin = lm_lin(df, outcome=outcome, covariates=[b], treatment=treatment, blocks=blocks,
                         alpha=alpha)
            x = df[[b]].to_numpy(dtype=float)
            lin_stat = as_statistic(lambda Z, yy, x=x: lin_statistic(yy, x, Z), name="Lin",
                                    linear=True)
            ri_lin = _ri(design, y, lin_stat, outcome=outcome, n=n, draws=ri_draws,
                         seed=base_seed + 100 + j, effect="additive", alpha=alpha,
                         label="Lin covariate-adjusted difference")
            estimates += [lin, ri_lin]
            if estimator == "lin":
                member = ri_lin
        if outcome.startswith("harm"):  # heavy-tailed: bootstrap intervals and log scale
            from rct.evaluate.harm_effects import harm_difference

            estimates.append(harm_difference(df, rng=base_seed + 300 + j, outcome=outcome,
                                             treatment=treatment, blocks=blocks, alpha=alpha))
        if (df[outcome] >= 0).all():
            for fam in ("quasipoisson", "negbin"):
                try:
                    estimates.append(count_model(df, outcome=outcome, treatment=treatment,
                                                 family=fam, baseline=b, blocks=blocks, alpha=alpha))
                except Exception as exc:  # a count model that cannot be fitted is reported, not fatal
                    warnings.warn(f"{fam} model for {outcome!r} failed: {exc}", RCTWarning, stacklevel=2)
            lr_stat = as_statistic(log_ratio_statistic, name="log ratio of means", order="yz",
                                   blocks=bcodes)
            ri_lr = _ri(design, y, lr_stat, outcome=outcome, n=n, draws=ri_draws,
                        seed=base_seed + 200 + j, effect="multiplicative", alpha=alpha,
                        label="ratio of means (= Poisson rate ratio without covariates)")
            estimates.append(ri_lr)
            if estimator in ("negbin", "poisson", "quasipoisson"):
                member = ri_lr
        family.append(member)
        estimates += _parallel_displacement(df, design, outcome, b, bcodes, treatment=treatment,
                                            blocks=blocks, draws=ri_draws,
                                            seed=base_seed + 500 + 10 * j, alpha=alpha)
    if dose is not None and dose in df.columns:
        from rct.evaluate.complier import complier_effect, complier_ri

        iv = _safe(complier_effect, "complier effect (2SLS)", df, outcome=primary, dose=dose,
                   treatment=treatment, blocks=blocks, alpha=alpha)
        ri_iv = _safe(complier_ri, "complier effect randomisation test", design,
                      align_to_design(design, df, primary), align_to_design(design, df, dose),
                      blocks=bcodes, outcome=primary, dose_name=dose, draws=ri_draws,
                      rng=base_seed + 400, alpha=alpha)
        estimates += [e for e in (iv, ri_iv) if e is not None]
    meta = {"design": "parallel", "hotspots": n,
            "ri_design": "approximate (permutation)" if approx else "re-derived design object",
            "ri_draws": ri_draws, "ri_seed": base_seed, "estimator": estimator,
            "family": "randomisation p-value of the plan's estimator, one per outcome"}
    label = {"lin": "Lin covariate-adjusted difference (treatment − control, per hot spot)",
             "negbin": "log ratio of means (treatment / control hot spots)",
             "poisson": "log ratio of means (treatment / control hot spots)",
             "quasipoisson": "log ratio of means (treatment / control hot spots)"}.get(
        estimator, "difference in means (treatment − control, per hot spot)")
    dist = _distribution(family, primary, label)
    if dist is not None:
        meta["randomisation_distribution"] = dist
    return _finish(estimates, family, primary=primary, multiplicity=multiplicity, meta=meta)


def _parallel_displacement(df, design, outcome, baseline, bcodes, *, treatment, blocks, draws,
                           seed, alpha) -> list[Estimate]:
    """Catchment (displacement) and pre/post estimates of one outcome, each with its RI test."""
    from rct.evaluate.parallel import difference_in_means, dim_statistic
    from rct.evaluate.prepost import (
        displacement_quotient,
        prepost_counts,
        rirr_ri,
        rirr_units,
        wdd_ri,
        wdd_units,
    )
    from rct.evaluate.ri import align_to_design, as_statistic

    out: list[Estimate] = []
    n = len(df)
    ring = f"catchment_{outcome}"
    has_ring = ring in df.columns and df[ring].notna().all()
    if has_ring:
        out.append(difference_in_means(df, outcome=ring, treatment=treatment, blocks=blocks,
                                       alpha=alpha))
        stat = as_statistic(dim_statistic, name="difference in means", linear=True, order="yz",
                            blocks=bcodes)
        out.append(_ri(design, align_to_design(design, df, ring), stat, outcome=ring, n=n,
                       draws=draws, seed=seed, effect="additive", alpha=alpha,
                       label="difference in means (catchment ring)"))
    if baseline is None:
        return out
    ring_b = f"baseline_{ring}"
    has_ring_b = has_ring and ring_b in df.columns
    kw = {"catchment_pre": ring_b, "catchment_post": ring} if has_ring_b else {}
    nonneg = bool((df[outcome] >= 0).all() and (df[baseline] >= 0).all())
    # Poisson-variance WDD / RIRR only for counts (harm totals are not Poisson)
    counts = nonneg and bool(np.allclose(df[[outcome, baseline]], np.round(df[[outcome, baseline]])))
    pre = align_to_design(design, df, baseline)
    post = align_to_design(design, df, outcome)
    if counts:
        out.append(_safe(wdd_units, f"WDD for {outcome!r}", df, pre=baseline, post=outcome,
                         treatment=treatment, alpha=alpha, **kw))
        out.append(_safe(rirr_units, f"RIRR for {outcome!r}", df, pre=baseline, post=outcome,
                         treatment=treatment, alpha=alpha))
    if nonneg:
        out.append(_safe(rirr_ri, f"RIRR randomisation test for {outcome!r}", design, pre, post,
                         outcome=outcome, draws=draws, rng=seed + 1, alpha=alpha))
    out.append(_safe(wdd_ri, f"WDD randomisation test for {outcome!r}", design, pre, post,
                     blocks=bcodes, outcome=outcome, draws=draws, rng=seed + 2, alpha=alpha))
    if has_ring_b:
        out.append(_safe(wdd_ri, f"catchment WDD randomisation test for {outcome!r}", design,
                         align_to_design(design, df, ring_b), align_to_design(design, df, ring),
                         blocks=bcodes, outcome=ring, term="catchment WDD per hot spot",
                         draws=draws, rng=seed + 3, alpha=alpha))
        if nonneg:
            loc = prepost_counts(df, pre=baseline, post=outcome, treatment=treatment)
            rng_ = prepost_counts(df, pre=ring_b, post=ring, treatment=treatment)
            out.append(_safe(displacement_quotient, f"displacement quotient for {outcome!r}",
                             loc["treated"], rng_["treated"], loc["control"], outcome=outcome))
    return [e for e in out if e is not None]


# ---------------------------------------------------------------------------
# trial.toml
# ---------------------------------------------------------------------------


def _read_table(path: Path) -> Any:
    import pandas as pd

    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


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
