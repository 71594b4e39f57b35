"""The parallel-design analysis plan (:func:`evaluate_parallel`; see :mod:`rct.plan.evaluate`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rct.errors import DataError, RCTWarning
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

__all__ = ["evaluate_parallel"]


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
    labels: dict[str, str] | None = None,
    sites: str | None = None,
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
        The primary test: ``"auto"``/``"rate-ratio"`` (randomisation test of
        the log ratio of means), ``"difference"``/``"dim"`` (of the difference
        in means) or ``"lin"`` (of Lin's covariate-adjusted difference; needs a
        baseline).
    dose
        Column of received dose per hot spot (e.g. trial-window presence
        minutes): adds the complier effect on the primary outcome.
    labels
        Outcome -> reader's label, for the headline.
    sites
        Column of ``units`` naming each hot spot's site: adds per-site
        estimates of the primary outcome (the primary statistic restricted to
        the site, randomisation inference from the same draws) and tests of
        heterogeneity across sites (:mod:`rct.plan.subgroups`; exploratory).

    Notes
    -----
    Catchment columns ``catchment_<outcome>`` (and ``baseline_catchment_<outcome>``)
    are analysed for displacement when present.  With a baseline column the
    pre/post estimators run too: :func:`~rct.evaluate.prepost.wdd_units`,
    :func:`~rct.evaluate.prepost.rirr_units`, the displacement quotient, and
    their hot-spot-level randomisation tests
    (:func:`~rct.evaluate.prepost.wdd_ri`, :func:`~rct.evaluate.prepost.rirr_ri`).
    Every estimate carries its ``role``; only the pre-registered test of the
    primary outcome is ``"primary"``.  Tests that assume Poisson variance are
    exploratory.
    """
    from rct.config import ESTIMATORS_BY_DESIGN
    from rct.evaluate.counts import count_model
    from rct.evaluate.harm_effects import log_ratio_statistic
    from rct.evaluate.parallel import difference_in_means, dim_statistic, lin_statistic, lm_lin
    from rct.evaluate.ri import align_to_design, as_statistic

    valid = ESTIMATORS_BY_DESIGN["parallel"]
    if estimator not in valid:
        raise ValueError(f"parallel estimator must be one of {tuple(valid)}, got {estimator!r}")
    test = valid[estimator]
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
    main: dict[str, Estimate] = {}
    n = len(df)
    ref = _reference(design, draws=ri_draws, seed=base_seed)  # one set of draws for every test
    for j, outcome in enumerate(outcomes_to_test):
        planned = "primary" if outcome == primary else "secondary"
        y = align_to_design(design, df, outcome)
        b = baseline.get(outcome)
        nonneg = bool((df[outcome] >= 0).all())
        if test == "rate-ratio" and not nonneg:
            raise DataError(f"the rate-ratio test needs non-negative outcomes; {outcome!r} has "
                            "negative values (choose estimator = \"difference\")",
                            column=outcome)
        if test == "lin" and b is None:
            raise DataError(f"the Lin test needs a baseline of {outcome!r} ([windows] baseline)",
                            column=outcome)
        dim = difference_in_means(df, outcome=outcome, treatment=treatment, blocks=blocks,
                                  alpha=alpha)
        dim_stat = as_statistic(dim_statistic, name="difference in means", linear=True,
                                order="yz", blocks=bcodes)
        ri = {"difference": _ri(design, y, dim_stat, outcome=outcome, n=n, draws=ri_draws,
                                seed=base_seed + j, effect="additive", alpha=alpha,
                                label="difference in means", reference=ref)}
        robust: list[Estimate] = [dim]
        if b is not None:
            lin = (lm_lin(df, outcome=outcome, covariates=[b], treatment=treatment,
                          blocks=blocks, alpha=alpha) if test == "lin" else
                   _safe(lm_lin, f"Lin regression for {outcome!r}", df, outcome=outcome,
                         covariates=[b], treatment=treatment, blocks=blocks, alpha=alpha))
            if lin is not None:
                robust.append(lin)
            x = df[[b]].to_numpy(dtype=float)
            lin_stat = as_statistic(lambda Z, yy, x=x: lin_statistic(yy, x, Z), name="Lin",
                                    linear=True)
            ri["lin"] = _ri(design, y, lin_stat, outcome=outcome, n=n, draws=ri_draws,
                            seed=base_seed + 100 + j, effect="additive", alpha=alpha,
                            label="Lin covariate-adjusted difference", reference=ref)
        if outcome.startswith("harm"):  # heavy-tailed: bootstrap intervals and log scale
            from rct.evaluate.harm_effects import harm_difference

            hd = _safe(harm_difference, f"harm difference for {outcome!r}", df,
                       rng=base_seed + 300 + j, outcome=outcome, treatment=treatment,
                       blocks=blocks, alpha=alpha)
            if hd is not None:
                robust.append(hd)
        if nonneg:
            for fam in ("quasipoisson", "negbin"):
                try:
                    robust.append(count_model(df, outcome=outcome, treatment=treatment,
                                              family=fam, baseline=b, blocks=blocks, alpha=alpha))
                except Exception as exc:  # a count model that cannot be fitted is reported, not fatal
                    warnings.warn(f"{fam} model for {outcome!r} failed: {exc}", RCTWarning,
                                  stacklevel=2)
            lr_stat = as_statistic(log_ratio_statistic, name="log ratio of means", order="yz",
                                   blocks=bcodes)
            ri["rate-ratio"] = _ri(design, y, lr_stat, outcome=outcome, n=n, draws=ri_draws,
                                   seed=base_seed + 200 + j, effect="multiplicative",
                                   alpha=alpha,
                                   label="ratio of means (= Poisson rate ratio without "
                                         "covariates)", reference=ref)
        main[outcome] = ri.pop(test).with_role(planned)
        if planned == "secondary":
            family.append(main[outcome])
        estimates.append(main[outcome])
        estimates += [e.with_role("robustness") for e in (*ri.values(), *robust)]
        estimates += [e.with_role("exploratory") for e in _parallel_displacement(
            df, design, outcome, b, bcodes, treatment=treatment, blocks=blocks, draws=ri_draws,
            seed=base_seed + 500 + 10 * j, alpha=alpha)]
    subgroup_summary: dict = {}
    if sites is not None and sites in df.columns and df[sites].astype(str).nunique() > 1:
        from rct.plan.subgroups import subgroup_estimates

        xb = df[[baseline[primary]]].to_numpy(dtype=float) if primary in baseline else None

        def make_stat(idx: np.ndarray) -> Any:
            b = None if bcodes is None else bcodes[idx]
            if test == "rate-ratio":
                return as_statistic(log_ratio_statistic, name="log ratio of means", order="yz",
                                    blocks=b)
            if test == "lin" and xb is not None:
                x = xb[idx]
                return as_statistic(lambda Z, yy, x=x: lin_statistic(yy, x, Z), name="Lin",
                                    linear=True)
            return as_statistic(dim_statistic, name="difference in means", linear=True,
                                order="yz", blocks=b)

        def model(idx: np.ndarray) -> Any:
            sub = df.iloc[idx]
            blk = blocks if blocks and sub[blocks].astype(str).nunique() > 1 else None
            if test == "rate-ratio":
                return count_model(sub, outcome=primary, treatment=treatment,
                                   family="quasipoisson", blocks=blk, alpha=alpha)
            return difference_in_means(sub, outcome=primary, treatment=treatment, blocks=blk,
                                       alpha=alpha)

        sub_est, subgroup_summary = subgroup_estimates(
            design, align_to_design(design, df, primary),
            groups={"site": df[sites].astype(str).to_numpy(dtype=object)}, make_stat=make_stat,
            model=model, reference=ref, outcome=primary,
            effect="multiplicative" if test == "rate-ratio" else "additive",
            label={"rate-ratio": "ratio of means", "lin": "Lin covariate-adjusted difference"}
            .get(test, "difference in means"), alpha=alpha, pooled=main[primary])
        estimates += sub_est
    if dose is not None and dose in df.columns:
        from rct.evaluate.complier import complier_effect, complier_ri

        iv = _safe(complier_effect, "complier effect (2SLS)", df, outcome=primary, dose=dose,
                   treatment=treatment, blocks=blocks, alpha=alpha)
        ri_iv = _safe(complier_ri, "complier effect randomisation test", design,
                      align_to_design(design, df, primary), align_to_design(design, df, dose),
                      blocks=bcodes, outcome=primary, dose_name=dose, draws=ri_draws,
                      rng=base_seed + 400, alpha=alpha, reference=ref)
        estimates += [e.with_role("exploratory") for e in (iv, ri_iv) if e is not None]
    meta = {"design": "parallel", "hotspots": n,
            "ri_design": ("approximate: arms permuted" + (" within blocks" if blocks else "")
                          if approx else
                          "the trial's own randomisation design, re-derived from its manifest"),
            "ri_draws": ri_draws, "ri_seed": base_seed, "estimator": estimator,
            "primary_test": test,
            "family": "the pre-registered test of each secondary outcome"}
    if subgroup_summary:
        meta["subgroups"] = subgroup_summary
    label = {"lin": "Lin covariate-adjusted difference (treatment − control, per hot spot)",
             "rate-ratio": "log ratio of means (treatment / control hot spots)"}.get(
        test, "difference in means (treatment − control, per hot spot)")
    dist = _distribution([main[primary]], primary, label)
    if dist is not None:
        meta["randomisation_distribution"] = dist
    from rct.plan.headline import headline_from
    from rct.plan.plan import outcome_label

    meta["headline"] = headline_from(
        main[primary], label=outcome_label(primary, labels=labels),
        design_type="parallel").to_dict()
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
