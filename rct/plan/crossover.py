"""The crossover analysis plan (:func:`evaluate_crossover`; see :mod:`rct.plan.evaluate`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rct.errors import ConfigError, DesignError
from rct.evaluate.results import Estimate, EvaluationResults
from rct.plan.common import (
    ApproximateDesign,
    DesignApproximationWarning,
    _distribution,
    _finish,
    _reference,
    _ri,
    _ri_seed,
    _safe,
)

__all__ = ["evaluate_crossover"]


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
    labels: dict[str, str] | None = None,
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
        The primary test: ``"auto"``/``"rate-ratio"``/``"panel-poisson"``
        (randomisation test of the conditional Poisson rate ratio with hot-spot
        strata) or ``"difference"``/``"panel"`` (of the two-way FE OLS
        coefficient).
    ri_draws, seed
        Monte Carlo draws for randomisation inference and their seed.
    multiplicity
        Adjustment of the secondary outcomes' tests (the primary is tested at α).
    carryover_days
        Lags (days) for the carryover model and its randomisation test (0 = none).
    dosage, dose
        Dosage table per ``hotspot_id`` × ``trial_date`` (patrol dosage or
        Airwave presence) and its dose column: adds the complier effect of the
        dose on the primary outcome (missing hot-spot-days count as dose 0).
    labels
        Outcome -> reader's label, for the headline.

    Returns
    -------
    EvaluationResults
        Every estimate carries its ``role`` (primary / secondary / robustness
        / exploratory); ``meta["headline"]`` is the primary test in words.
        When the allocation has ``site`` and/or ``window`` columns (a design
        with per-site quotas or a shift crossover), the primary outcome is also
        estimated per site, per shift and per site × shift, with tests of
        heterogeneity (:mod:`rct.plan.subgroups`; exploratory, summarised in
        ``meta["subgroups"]``); the pooled test is unchanged.
    """
    from rct.config import ESTIMATORS_BY_DESIGN
    from rct.evaluate.crossover import (
        ConditionalPoissonLogRR,
        TwoWayFE,
        crossover_fe,
        crossover_panel,
        crossover_poisson,
        thames_valley_chisq,
        thames_valley_ttest,
    )
    from rct.evaluate.ri import align_to_design
    from rct.evaluate.ri_null import prescore, prescore_families
    from rct.evaluate.ri_stats import align_columns

    valid = ESTIMATORS_BY_DESIGN["crossover"]
    if estimator not in valid:
        raise ValueError(f"crossover estimator must be one of {tuple(valid)}, got {estimator!r}")
    test = valid[estimator]
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
    rings = [f"catchment_{o}" for o in outcomes_to_test
             if f"catchment_{o}" in panel.columns and panel[f"catchment_{o}"].notna().all()]
    aligned = align_columns(design, panel, ["tasked", *outcomes_to_test, *rings])
    z_design = aligned["tasked"]
    if not np.array_equal(z_design.astype(np.int8), (np.asarray(design.assignment) == 1).astype(np.int8)):
        raise DesignError("the schedule in the allocation file differs from the design's assignment")
    primary = primary or outcomes_to_test[0]
    base_seed = _ri_seed(seed, "crossover")
    estimates: list[Estimate] = []
    family: list[Estimate] = []
    main: dict[str, Estimate] = {}
    n = len(panel)
    ref = _reference(design, draws=ri_draws, seed=base_seed)  # one set of draws for every test
    dpanel = dose_y = None
    if dosage is not None:
        dd = _dose_panel(dosage, dose)
        dpanel = panel.drop(columns=[dose], errors="ignore").merge(
            dd, on=["hotspot_id", "trial_date"], how="left")
        dpanel[dose] = dpanel[dose].fillna(0.0)
        try:
            dose_y = align_to_design(design, dpanel, dose)
        except Exception:  # noqa: BLE001 - reported by the complier test below
            dose_y = None
    # every statistic scored on the shared draws once for all the vectors the tests need
    ys = [aligned[o] for o in outcomes_to_test]
    prescore(ref, fe_stat, [*ys, z_design, *(aligned[r] for r in rings),
                            *([] if dose_y is None else [dose_y])])
    prescore_families(ref, cp_stat, ys, z_design)
    for j, outcome in enumerate(outcomes_to_test):
        planned = "primary" if outcome == primary else "secondary"
        y = aligned[outcome]
        ri_fe = _ri(design, y, fe_stat, outcome=outcome, n=n, draws=ri_draws, seed=base_seed + j,
                    effect="additive", alpha=alpha, label="two-way FE OLS coefficient",
                    term="tasked", reference=ref)
        ri_cp = _ri(design, y, cp_stat, outcome=outcome, n=n, draws=ri_draws,
                    seed=base_seed + 1000 + j, effect="multiplicative", alpha=alpha,
                    label="conditional Poisson rate ratio (hot-spot strata)", term="tasked",
                    reference=ref)
        chosen, other = (ri_cp, ri_fe) if test == "rate-ratio" else (ri_fe, ri_cp)
        main[outcome] = chosen.with_role(planned)
        estimates += [main[outcome], other.with_role("robustness")]
        if planned == "secondary":
            family.append(main[outcome])
        estimates.append(crossover_poisson(panel, outcome=outcome, alpha=alpha)
                         .with_role("robustness"))
        estimates.append(crossover_fe(panel, outcome=outcome, alpha=alpha).with_role("robustness"))
        if outcome.startswith("harm"):  # heavy-tailed: also the FE effect on log(1 + harm)
            logged = panel.assign(**{f"log1p_{outcome}": np.log1p(panel[outcome].clip(lower=0))})
            estimates.append(crossover_fe(logged, outcome=f"log1p_{outcome}", alpha=alpha)
                             .with_role("robustness"))
        estimates.append(thames_valley_ttest(panel, outcome=outcome, alpha=alpha)
                         .with_role("robustness"))
        if np.allclose(panel[outcome], np.round(panel[outcome])):
            estimates.append(thames_valley_chisq(panel, outcome=outcome, alpha=alpha)
                             .with_role("exploratory"))
        if carryover_days > 0:  # residual deterrence: direct, lagged and cumulative effects
            from rct.evaluate.carryover import distributed_lag, distributed_lag_ri

            nonneg = bool((panel[outcome] >= 0).all())
            estimates.append(_safe(distributed_lag, f"carryover model for {outcome!r}", panel,
                                   outcome=outcome, lags=carryover_days,
                                   model="poisson" if nonneg else "ols", alpha=alpha))
            estimates.append(_safe(distributed_lag_ri, f"carryover randomisation test for "
                                   f"{outcome!r}", design, y, lags=carryover_days,
                                   effect="multiplicative" if nonneg else "additive",
                                   outcome=outcome, draws=ri_draws, rng=base_seed + 2000 + j,
                                   alpha=alpha))
            estimates = [e if e is None or e.role else e.with_role("exploratory")
                         for e in estimates if e is not None]
        ring = f"catchment_{outcome}"
        if ring in rings:  # displacement / diffusion
            yr = aligned[ring]
            estimates.append(crossover_fe(panel, outcome=ring, alpha=alpha).with_role("exploratory"))
            estimates.append(_ri(design, yr, fe_stat, outcome=ring, n=n, draws=ri_draws,
                                 seed=base_seed + 3000 + j, effect="additive", alpha=alpha,
                                 label="two-way FE OLS coefficient (catchment ring)",
                                 term="tasked", reference=ref).with_role("exploratory"))
    groups = unit_groups(allocation, uframe.iloc[:, 0].astype(str).to_numpy())
    subgroup_summary: dict[str, Any] = {}
    if groups:  # by site and by shift: exploratory, from the same reference draws
        from rct.plan.subgroups import subgroup_estimates

        uid = uframe.iloc[:, 0].astype(str).to_numpy()
        udate = uframe.iloc[:, 1].astype(str).to_numpy()

        def make_stat(idx: np.ndarray) -> Any:
            return (ConditionalPoissonLogRR(uid[idx]) if test == "rate-ratio"
                    else TwoWayFE(uid[idx], udate[idx]))

        def model(idx: np.ndarray) -> Any:
            sub = panel[panel["hotspot_id"].astype(str).isin(set(uid[idx]))]
            return (crossover_poisson(sub, outcome=primary, alpha=alpha) if test == "rate-ratio"
                    else crossover_fe(sub, outcome=primary, alpha=alpha))

        sub_est, subgroup_summary = subgroup_estimates(
            design, aligned[primary], groups=groups,
            make_stat=make_stat, model=model, reference=ref, outcome=primary,
            effect="multiplicative" if test == "rate-ratio" else "additive",
            label=("conditional Poisson rate ratio (hot-spot strata)" if test == "rate-ratio"
                   else "two-way FE OLS coefficient"), alpha=alpha, pooled=main[primary],
            term="tasked")
        estimates += sub_est
    if dosage is not None:
        from rct.evaluate.complier import complier_effect, complier_ri

        iv = _safe(complier_effect, "complier effect (2SLS)", dpanel, outcome=primary, dose=dose,
                   treatment="tasked", alpha=alpha)
        ri_iv = _safe(complier_ri, "complier effect randomisation test", design,
                      aligned[primary],
                      align_to_design(design, dpanel, dose) if dose_y is None else dose_y,
                      statistic=fe_stat, outcome=primary,
                      dose_name=dose, draws=ri_draws, rng=base_seed + 4000, alpha=alpha,
                      reference=ref)
        estimates += [e.with_role("exploratory") for e in (iv, ri_iv) if e is not None]
    meta = {
        "design": "crossover",
        "hotspots": int(panel["hotspot_id"].nunique()),
        "days": int(panel["trial_date"].nunique()),
        "hotspot_days": n,
        "tasked_days": int(panel["tasked"].sum()),
        "ri_design": ("approximate: schedules permuted within days" if approx
                      else "the trial's own randomisation design, re-derived from its manifest"),
        "ri_draws": ri_draws,
        "ri_seed": base_seed,
        "family": "the pre-registered test of each secondary outcome",
        "estimator": estimator,
        "primary_test": test,
        "carryover_days": int(carryover_days),
    }
    if subgroup_summary:
        meta["subgroups"] = subgroup_summary
    label = ("conditional Poisson log rate ratio (hot-spot strata)" if test == "rate-ratio"
             else "two-way FE OLS coefficient (tasked − untasked, per hot-spot-day)")
    dist = _distribution([main[primary]], primary, label)
    if dist is not None:
        meta["randomisation_distribution"] = dist
    from rct.plan.headline import headline_from
    from rct.plan.plan import outcome_label

    meta["headline"] = headline_from(
        main[primary], label=outcome_label(primary, labels=labels),
        design_type="crossover").to_dict()
    return _finish(estimates, family, primary=primary, multiplicity=multiplicity, meta=meta)


def unit_groups(allocation: Any, units: Any) -> dict[str, Any]:
    """Subgroup dimensions of the design units from the allocation's ``site``/``window`` columns.

    ``{"site": labels, "shift": labels, "site × shift": labels}`` (each an
    array over ``units``, the design's hot-spot ids); a dimension appears when
    the allocation has its column with at least two values.
    """
    import pandas as pd

    out: dict[str, Any] = {}
    if allocation is None or "hotspot_id" not in getattr(allocation, "columns", ()):
        return out
    ids = pd.Series(np.asarray(units, dtype=object)).astype(str)
    cols = {}
    for col, dim in (("site", "site"), ("window", "shift")):
        if col in allocation.columns:
            m = allocation[["hotspot_id", col]].astype(str).drop_duplicates("hotspot_id")
            lab = ids.map(dict(zip(m["hotspot_id"], m[col], strict=True)))
            if lab.notna().all() and lab.nunique() >= 2:
                cols[dim] = lab.to_numpy(dtype=object)
    out.update(cols)
    if len(cols) == 2:
        out["site × shift"] = np.array([f"{a} / {b}" for a, b in zip(
            cols["site"], cols["shift"], strict=True)], dtype=object)
    return out


def _dose_panel(dosage: Any, dose: str) -> Any:
    """``hotspot_id, trial_date, <dose>`` with string ids and date keys (summed per key)."""
    import pandas as pd

    if dose not in dosage.columns:
        raise ConfigError([f"the dosage table has no {dose!r} column"])
    dd = dosage[["hotspot_id", "trial_date", dose]].copy()
    dd["hotspot_id"] = dd["hotspot_id"].astype(str)
    dd["trial_date"] = pd.to_datetime(dd["trial_date"]).dt.date
    return dd.groupby(["hotspot_id", "trial_date"], as_index=False)[dose].sum()
