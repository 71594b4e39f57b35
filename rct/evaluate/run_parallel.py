"""The parallel-design analysis plan (:func:`evaluate_parallel`; see :mod:`rct.evaluate.run`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rct.errors import RCTWarning
from rct.evaluate.results import Estimate, EvaluationResults
from rct.evaluate.run_common import (
    ApproximateDesign,
    DesignApproximationWarning,
    _distribution,
    _finish,
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
