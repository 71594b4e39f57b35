"""Complier effect of patrol dosage: random assignment as the instrument for dose.

:func:`complier_effect` — 2SLS (the numbers of linearmodels ``IV2SLS``) of the outcome on the dose
(e.g. ``presence_minutes``) instrumented by assignment, robust SEs, with first-stage
strength.  :func:`wald_statistic` — the same (just-identified, no covariates)
estimate for many assignments at once.  :func:`complier_ri` — randomisation test
of ``beta = beta0`` on the dose-adjusted outcome ``Y - beta0 * dose`` and its
inversion (Imbens & Rosenbaum 2005), for parallel and crossover designs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from rct.errors import DesignError
from rct.evaluate._prep import (
    EstimatorWarning,
    block_codes,
    check_choice,
    numeric_column,
    select_arms,
    t_inference,
)
from rct.evaluate.parallel import dim_statistic
from rct.evaluate.results import Estimate, Term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["complier_effect", "complier_ri", "wald_statistic", "WEAK_INSTRUMENT_F"]

#: first-stage F below which the instrument is flagged weak (Staiger & Stock 1997)
WEAK_INSTRUMENT_F = 10.0


def complier_effect(
    data: pd.DataFrame,
    *,
    outcome: str,
    dose: str = "presence_minutes",
    treatment: str = "arm",
    covariates: Sequence[str] = (),
    blocks: str | None = None,
    robust: Literal["HC1", "HC0"] = "HC1",
    arms: tuple[object, object] | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Effect of one unit of dose (e.g. a minute of presence) among compliers, by 2SLS.

    Parameters
    ----------
    data
        One row per unit, with outcome, dose and assignment.
    outcome
        Outcome column.
    dose
        Received-dose column (endogenous regressor), e.g. ``"presence_minutes"``.
    treatment, arms, alpha
        Assignment (the instrument), as :func:`~rct.evaluate.parallel.difference_in_means`.
    covariates
        Exogenous baseline covariates (in both stages).
    blocks
        Block column entered as fixed effects in both stages.
    robust
        ``"HC1"`` (default; ``cov_type="robust", debiased=True`` in linearmodels, equal
        to ``estimatr::iv_robust(se_type = "HC1")``) or ``"HC0"``.

    Returns
    -------
    Estimate
        Terms ``"dose"`` (complier effect per unit of dose; t reference with
        :math:`n-p` df as estimatr) and ``"first stage"`` (effect of assignment on
        dose).  ``details``: ``first_stage_f`` (robust Wald F of the excluded
        instrument, as ``iv_robust(diagnostics = TRUE)``), ``partial_r2``,
        ``weak_instrument`` (F < 10), ``df``.

    Notes
    -----
    Second stage :math:`y_i = \\alpha + \\beta d_i + X_i'\\gamma + e_i` with
    :math:`d_i` instrumented by :math:`Z_i`; with no covariates
    :math:`\\hat\\beta = \\widehat{ITT}_y / \\widehat{ITT}_d` (Wald).  Under
    monotonicity and exclusion :math:`\\beta` is the average causal response among
    units whose dose responds to assignment (Angrist & Imbens 1995).  A weak first
    stage (F < 10; Staiger & Stock 1997) raises an :class:`EstimatorWarning`.
    """
    import pandas as pd

    check_choice("robust", robust, ("HC1", "HC0"))
    data, z = select_arms(data, treatment, arms)
    y = numeric_column(data, outcome)
    d = numeric_column(data, dose)
    exog = {"const": np.ones(y.size)}
    for c in covariates:
        exog[c] = numeric_column(data, c)
    if blocks is not None:
        codes, labels = block_codes(data, blocks)
        for j, lab in enumerate(labels[1:], start=1):
            exog[f"{blocks}[{lab}]"] = (codes == j).astype(float)
    exog_df = pd.DataFrame(exog)
    n, p = y.size, exog_df.shape[1] + 1
    if n - p < 1:
        raise DesignError(f"IV regression has {p} parameters for {n} units")
    if np.ptp(d) == 0:
        raise DesignError(f"dose {dose!r} does not vary")
    # just identified (one instrument, one dose): 2SLS is the IV estimator
    # (Z'X)^{-1} Z'y, and its robust covariance (Z'X)^{-1} Z' diag(e^2) Z (X'Z)^{-1}
    # equals the 2SLS sandwich with X^ = P_Z X (linearmodels IV2SLS, cov_type="robust")
    ex = exog_df.to_numpy()
    Zi = np.column_stack([ex, z.astype(float)])
    Xm = np.column_stack([ex, d])
    ZX_inv = np.linalg.inv(Zi.T @ Xm)
    coef = ZX_inv @ (Zi.T @ y)
    resid = y - Xm @ coef
    V = ZX_inv @ (Zi.T @ (Zi * (resid**2)[:, None])) @ ZX_inv.T
    if robust == "HC1":
        V *= n / (n - p)
    b = float(coef[-1])
    se = float(math.sqrt(V[-1, -1]))
    df = float(n - p)
    stat, pval, lo, hi = t_inference(b, se, df, alpha)
    # first stage: dose on assignment + exogenous terms, same robust covariance
    fs_x = np.column_stack([exog_df.to_numpy(), z.astype(float)])
    xtx_inv = np.linalg.inv(fs_x.T @ fs_x)
    coef = xtx_inv @ fs_x.T @ d
    e = d - fs_x @ coef
    vc = xtx_inv @ (fs_x.T @ (fs_x * (e**2)[:, None])) @ xtx_inv
    if robust == "HC1":
        vc *= n / (n - fs_x.shape[1])
    fs_b, fs_se = float(coef[-1]), float(math.sqrt(vc[-1, -1]))
    fs_df = float(n - fs_x.shape[1])
    fs_stat, fs_p, fs_lo, fs_hi = t_inference(fs_b, fs_se, fs_df, alpha)
    # robust Wald F of the one excluded instrument and its partial R^2 -- the numbers of
    # linearmodels' first_stage.diagnostics (f.stat, partial.rsquared), without refitting
    f = fs_b**2 / vc[-1, -1]
    d_t = d - ex @ np.linalg.lstsq(ex, d, rcond=None)[0]
    z_t = z.astype(float) - ex @ np.linalg.lstsq(ex, z.astype(float), rcond=None)[0]
    partial_r2 = (d_t @ z_t) ** 2 / ((d_t @ d_t) * (z_t @ z_t))
    weak = not (f >= WEAK_INSTRUMENT_F)
    if weak:
        warnings.warn(
            f"weak first stage (F = {f:.2f} < {WEAK_INSTRUMENT_F:g}): the complier effect "
            "and its interval are unreliable",
            EstimatorWarning,
            stacklevel=2,
        )
    return Estimate(
        outcome=outcome,
        method=f"complier effect of {dose} (2SLS, assignment as instrument, {robust} SE)",
        terms=(
            Term("dose", b, se, stat, pval, lo, hi, scale="per unit dose"),
            Term("first stage", fs_b, fs_se, fs_stat, fs_p, fs_lo, fs_hi, scale="dose difference"),
        ),
        n=int(n),
        alpha=alpha,
        details={
            "dose": dose,
            "first_stage_f": float(f),
            "partial_r2": float(partial_r2),
            "weak_instrument": weak,
            "df": df,
            "covariates": list(exog_df.columns[1:]),
        },
    )


def wald_statistic(
    y: np.ndarray,
    dose: np.ndarray,
    assignments: np.ndarray,
    blocks: np.ndarray | None = None,
) -> np.ndarray:
    """Wald (ITT ratio) estimate :math:`\\widehat{ITT}_y/\\widehat{ITT}_d` per assignment.

    Shape ``(n_draws,)``.  For randomisation inference on the dose effect
    :math:`\\beta` under a constant-effect model, test :math:`H_0: \\beta=\\beta_0` with
    ``dim_statistic(y - beta0 * dose, assignments, blocks)`` — ``y - beta0*dose`` is
    then fixed across assignments — and invert over :math:`\\beta_0`.  Note the dose
    itself depends on assignment, so permuting it as if fixed is only valid under
    the sharp null of no effect of assignment on dose as well; :func:`complier_ri`
    implements the valid test.
    """
    num = dim_statistic(y, assignments, blocks)
    den = dim_statistic(dose, assignments, blocks)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def complier_ri(
    design: object,
    y: np.ndarray,
    dose: np.ndarray,
    *,
    statistic: object = None,
    blocks: np.ndarray | None = None,
    outcome: str = "crimes",
    dose_name: str = "presence_minutes",
    null: float = 0.0,
    draws: int = 2000,
    rng: np.random.Generator | int | None = None,
    exact_limit: int = 100_000,
    alpha: float = 0.05,
    ci: bool = True,
    reference: tuple | None = None,
) -> Estimate:
    """Randomisation test and interval for the dose effect (assignment as instrument).

    Parameters
    ----------
    design
        The trial's design object (parallel or crossover; :mod:`rct.randomise`).
    y, dose
        Outcome and received dose in ``design.units`` order
        (:func:`rct.evaluate.ri.align_to_design`).
    statistic
        A statistic linear in the outcome: default the (block-weighted)
        difference in means :func:`~rct.evaluate.parallel.dim_statistic` with
        ``blocks``; for a crossover pass
        :class:`rct.evaluate.crossover.TwoWayFE` (hot-spot and day fixed effects).
    null
        Dose effect under the tested sharp null (per unit of dose).

    Returns
    -------
    Estimate
        Term ``"dose"``: the Wald estimate ``T(Z, y)/T(Z, dose)`` (the 2SLS
        estimate when the statistic is the difference in means or the FE
        coefficient), its randomisation p-value and the interval by test
        inversion; ``details`` as :func:`rct.evaluate.ri.ri_estimate` plus
        ``itt_outcome``, ``itt_dose``, ``null_histogram``.

    Notes
    -----
    Model: ``Y_i(d) = Y_i(0) + beta d`` (constant dose effect) and assignment
    affects the outcome only through the dose (exclusion).  The dose ``D`` is
    itself changed by assignment, so ``D`` cannot be permuted as if fixed;
    but under ``H(beta0)`` the *adjusted outcome* ``Y - beta0 D = Y(0)`` is
    the same under every assignment, so ``T(Z_b, Y - beta0 D)`` over the
    design's assignments is the exact null distribution of
    ``T(Z_obs, Y - beta0 D)``.  The set ``{beta0 : p(beta0) > alpha}`` is the
    Imbens & Rosenbaum (2005) interval — valid however weak the first stage
    (then wide, possibly unbounded).  See
    :func:`rct.evaluate.ri.adjusted_randomisation_test`.
    """
    from rct.evaluate.ri import adjusted_randomisation_test, as_statistic, ri_estimate

    stat = statistic
    if stat is None:
        stat = as_statistic(dim_statistic, name="difference in means", linear=True, order="yz",
                            blocks=blocks)
    res = adjusted_randomisation_test(
        design, y, dose, stat, draws=draws, rng=rng, exact_limit=exact_limit, null=null,
        alpha=alpha, ci=ci, reference=reference,
        name=f"{getattr(stat, 'name', 'statistic')} of {outcome} - beta * {dose_name}")
    est = ri_estimate(res, outcome=outcome, term="dose", n=int(np.asarray(y).size),
                      method=f"randomisation inference: complier effect of {dose_name} "
                             f"(sharp null on Y - beta*dose, {getattr(stat, 'name', 'statistic')})")
    t = est.effect
    return Estimate(outcome=est.outcome, method=est.method,
                    terms=(Term("dose", t.estimate, t.std_error, t.statistic, t.p_value,
                                t.conf_low, t.conf_high, scale="per unit dose"),),
                    n=est.n, alpha=alpha, details={**dict(est.details), "dose": dose_name})
