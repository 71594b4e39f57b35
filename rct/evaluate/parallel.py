"""Design-based estimators for parallel (hot spot fixed in one arm) trials.

* :func:`difference_in_means` — Neyman difference in means for complete, blocked and
  matched-pair designs (and blocks mixing pairs with larger blocks), the same
  estimates, standard errors, degrees of freedom and intervals as R
  ``estimatr::difference_in_means``.
* :func:`lm_lin` — Lin (2013) covariate adjustment with HC2 standard errors, as
  ``estimatr::lm_lin``.
* :func:`dim_statistic`, :func:`lin_statistic` — the same point estimates for many
  assignments at once (randomisation inference).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rct.errors import DesignError
from rct.evaluate._prep import (
    EstimatorWarning,
    batch_inputs,
    block_codes,
    numeric_column,
    one_hot,
    select_arms,
    t_inference,
)
from rct.evaluate.results import Estimate, Term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["difference_in_means", "lm_lin", "dim_statistic", "lin_statistic"]


def _dim_core(
    y: np.ndarray, z: np.ndarray, codes: np.ndarray | None
) -> tuple[float, float, float, str, dict]:
    """(estimate, std_error, df, design, details) following estimatr's rules."""
    if codes is None:
        y1, y0 = y[z == 1], y[z == 0]
        n1, n0 = y1.size, y0.size
        if n1 < 2 or n0 < 2:
            raise DesignError(
                "difference in means needs at least two treated and two control units"
            )
        v1, v0 = y1.var(ddof=1) / n1, y0.var(ddof=1) / n0
        se = math.sqrt(v1 + v0)
        df = se**4 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1)) if se > 0 else math.inf
        return (
            float(y1.mean() - y0.mean()),
            se,
            float(df),
            "standard",
            {
                "n_treated": int(n1),
                "n_control": int(n0),
            },
        )
    j = int(codes.max()) + 1
    size = np.bincount(codes, minlength=j).astype(float)
    n1 = np.bincount(codes, weights=z, minlength=j)
    n0 = size - n1
    if (n1 == 0).any() or (n0 == 0).any():
        raise DesignError(
            f"{int(((n1 == 0) | (n0 == 0)).sum())} block(s) lack a treated or a control unit; "
            "every block needs both arms"
        )
    s1 = np.bincount(codes, weights=y * z, minlength=j)
    s0 = np.bincount(codes, weights=y * (1 - z), minlength=j)
    d = s1 / n1 - s0 / n0
    n = size.sum()
    w = size / n
    est = float(d @ w)
    details = {"n_blocks": j, "n_treated": int(n1.sum()), "n_control": int(n0.sum())}
    pair_rule = bool((size == 2).all())
    if not pair_rule and (size == 2).any():
        pair_rule = True
        warnings.warn(
            "some blocks are pairs and others are larger: as estimatr does, the matched-pairs "
            "variance estimator is used for all blocks",
            EstimatorWarning,
            stacklevel=3,
        )
    if not pair_rule and ((n1 < 2) | (n0 < 2)).any():
        # estimatr stops here; we fall back to the between-block (pairs) estimator.
        pair_rule = True
        warnings.warn(
            "a block has a single treated or control unit, so within-block variances cannot "
            "be estimated; using the between-block (matched-pairs) variance estimator",
            EstimatorWarning,
            stacklevel=3,
        )
    if pair_rule:
        if j < 2:
            raise DesignError("the matched-pairs variance needs at least two blocks")
        se = math.sqrt(float(((d - est) ** 2).sum()) / (j * (j - 1)))
        return est, se, float(j - 1), "matched-pair", details
    q1 = np.bincount(codes, weights=y * y * z, minlength=j)
    q0 = np.bincount(codes, weights=y * y * (1 - z), minlength=j)
    var1 = (q1 - s1**2 / n1) / (n1 - 1)
    var0 = (q0 - s0**2 / n0) / (n0 - 1)
    se = math.sqrt(float((w**2 * (np.maximum(var1, 0) / n1 + np.maximum(var0, 0) / n0)).sum()))
    return est, se, float(n - 2 * j), "blocked", details


def difference_in_means(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str = "arm",
    blocks: str | None = None,
    arms: tuple[object, object] | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Difference in means with design-based (Neyman) standard error.

    Parameters
    ----------
    data
        One row per unit (hot spot).
    outcome
        Outcome column (e.g. ``"crimes"`` or ``"harm"``).
    treatment
        Arm column: 0/1, or labels such as ``"control"``/``"treatment"``.
    blocks
        Block or pair column; ``None`` for complete randomisation.
    arms
        ``(control, treated)`` labels to compare (multi-arm trials); other rows are dropped.
    alpha
        Intervals are ``1 - alpha``.

    Returns
    -------
    Estimate
        One term ``"treatment"`` (treated minus control); ``details`` has ``df``,
        ``design`` (standard / blocked / matched-pair) and arm counts.

    Notes
    -----
    Complete randomisation: :math:`\\hat\\tau=\\bar y_1-\\bar y_0`,
    :math:`\\widehat{SE}^2=s_1^2/n_1+s_0^2/n_0`, Welch–Satterthwaite df.
    Blocked: :math:`\\hat\\tau=\\sum_b (N_b/N)\\hat\\tau_b`,
    :math:`\\widehat{SE}^2=\\sum_b (N_b/N)^2 (s_{1b}^2/n_{1b}+s_{0b}^2/n_{0b})`,
    df :math:`N-2J`.  Matched pairs (all blocks of two, or — estimatr's rule — any
    mix of pairs and larger blocks):
    :math:`\\widehat{SE}^2=\\frac{1}{J(J-1)}\\sum_b(\\hat\\tau_b-\\hat\\tau)^2`, df
    :math:`J-1` (Imai 2008).  Where a larger block has a single unit in one arm,
    estimatr stops; here the matched-pairs estimator is used with an
    :class:`EstimatorWarning`.  Intervals and p-values use :math:`t_{df}`.
    Gerber & Green (2012), *Field Experiments*, ch. 3–4; Blair et al., estimatr.
    """
    data, z = select_arms(data, treatment, arms)
    y = numeric_column(data, outcome)
    codes = block_codes(data, blocks)[0] if blocks is not None else None
    est, se, df, design, details = _dim_core(y, z.astype(float), codes)
    stat, p, lo, hi = t_inference(est, se, df, alpha)
    return Estimate(
        outcome=outcome,
        method=f"difference in means (Neyman, {design})",
        terms=(Term("treatment", est, se, stat, p, lo, hi),),
        n=int(y.size),
        alpha=alpha,
        details={"df": df, "design": design, **details},
    )


def dim_statistic(
    y: np.ndarray,
    assignments: np.ndarray,
    blocks: np.ndarray | None = None,
    *,
    studentized: bool = False,
) -> np.ndarray:
    """Difference in means for many assignments at once.

    Parameters
    ----------
    y
        Outcomes, shape ``(n_units,)``.
    assignments
        0/1 array ``(n_draws, n_units)`` (1 = treated), e.g. ``design.draw(n, rng)``.
    blocks
        Block/pair labels ``(n_units,)`` or ``None``; the estimate is weighted by
        block size exactly as :func:`difference_in_means`.
    studentized
        Divide by the design-based SE of :func:`difference_in_means` (Welch,
        blocked or matched-pairs rule) — a studentized statistic.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_draws,)``; NaN for draws leaving a block without one arm.
    """
    y, zmat, codes = batch_inputs(y, assignments, blocks)
    b = one_hot(codes)
    size = b.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        n1 = zmat @ b
        n0 = size - n1
        s1 = zmat @ (b * y[:, None])
        s0 = (y @ b) - s1
        d = s1 / n1 - s0 / n0
        w = size / size.sum()
        est = d @ w
        if not studentized:
            return est
        j = b.shape[1]
        pair_rule = blocks is not None and ((size == 2).any() or bool(((n1 < 2) | (n0 < 2)).any()))
        if pair_rule:
            var = ((d - est[:, None]) ** 2).sum(axis=1) / (j * (j - 1))
        else:
            q1 = zmat @ (b * (y * y)[:, None])
            q0 = (y * y) @ b - q1
            v1 = np.maximum(q1 - s1**2 / n1, 0) / (n1 - 1)
            v0 = np.maximum(q0 - s0**2 / n0, 0) / (n0 - 1)
            var = (w**2 * (v1 / n1 + v0 / n0)).sum(axis=1)
        return est / np.sqrt(var)


def _lin_design(
    data: pd.DataFrame, covariates: Sequence[str], blocks: str | None
) -> tuple[np.ndarray, list[str]]:
    cols = [numeric_column(data, c) for c in covariates]
    names = list(covariates)
    if blocks is not None:
        codes, labels = block_codes(data, blocks)
        dummies = one_hot(codes, labels.size)[:, 1:]
        cols.extend(dummies.T)
        names.extend(f"{blocks}[{lab}]" for lab in labels[1:])
    if not cols:
        raise ValueError("lm_lin needs at least one covariate (or blocks)")
    return np.column_stack(cols), names


def lm_lin(
    data: pd.DataFrame,
    *,
    outcome: str,
    covariates: Sequence[str],
    treatment: str = "arm",
    blocks: str | None = None,
    arms: tuple[object, object] | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Lin (2013) covariate-adjusted treatment effect with HC2 standard errors.

    Parameters
    ----------
    data
        One row per unit.
    outcome, treatment, arms, alpha
        As :func:`difference_in_means`.
    covariates
        Baseline covariate columns (e.g. ``["baseline_crimes"]``).
    blocks
        Optional block column, entered as block indicators among the covariates
        (like ``covariates = ~ x + block`` in ``estimatr::lm_lin``).

    Returns
    -------
    Estimate
        One term ``"treatment"``; ``details`` has ``df`` and the covariate names.

    Notes
    -----
    OLS of :math:`y` on :math:`1, Z, \\tilde X, Z\\tilde X` with covariates centred at
    their sample means, :math:`\\tilde X = X-\\bar X`; the coefficient of :math:`Z` is
    the ATE.  Variance HC2:
    :math:`(X'X)^{-1}X'\\mathrm{diag}(e_i^2/(1-h_{ii}))X(X'X)^{-1}`; t reference with
    :math:`n-p` df.  Lin, W. (2013), Agnostic notes on regression adjustments to
    experimental data, *Ann. Appl. Stat.* 7:295–318; matches ``estimatr::lm_lin``.
    """
    data, z = select_arms(data, treatment, arms)
    y = numeric_column(data, outcome)
    x, names = _lin_design(data, covariates, blocks)
    xc = x - x.mean(axis=0)
    zf = z.astype(float)[:, None]
    design = np.column_stack([np.ones(y.size), zf[:, 0], xc, zf * xc])
    n, p = design.shape
    rank = np.linalg.matrix_rank(design)
    if rank < p or n - p < 1:
        raise DesignError(
            f"Lin regression has {p} parameters for {n} units (rank {rank}); "
            "use fewer covariates or coarser blocks"
        )
    xtx_inv = np.linalg.inv(design.T @ design)
    beta = xtx_inv @ design.T @ y
    resid = y - design @ beta
    h = np.einsum("ij,jk,ik->i", design, xtx_inv, design)
    with np.errstate(divide="ignore", invalid="ignore"):
        omega = resid**2 / (1.0 - h)
    meat = design.T @ (design * omega[:, None])
    vcov = xtx_inv @ meat @ xtx_inv
    est, se, df = float(beta[1]), float(math.sqrt(vcov[1, 1])), float(n - p)
    stat, pval, lo, hi = t_inference(est, se, df, alpha)
    return Estimate(
        outcome=outcome,
        method="Lin (2013) covariate adjustment (OLS, HC2)",
        terms=(Term("treatment", est, se, stat, pval, lo, hi),),
        n=int(n),
        alpha=alpha,
        details={
            "df": df,
            "covariates": names,
            "n_treated": int(z.sum()),
            "n_control": int((1 - z).sum()),
        },
    )


def lin_statistic(y: np.ndarray, x: np.ndarray, assignments: np.ndarray) -> np.ndarray:
    """Lin (2013) estimate for many assignments at once.

    Parameters
    ----------
    y
        Outcomes ``(n_units,)``.
    x
        Covariates ``(n_units,)`` or ``(n_units, k)`` (add block indicators yourself
        if wanted, as :func:`lm_lin` does with ``blocks``).
    assignments
        0/1 array ``(n_draws, n_units)``.

    Returns
    -------
    numpy.ndarray
        ``(n_draws,)`` — identical to the ``lm_lin`` point estimate for each draw.

    Notes
    -----
    Lin's estimate equals the difference of the two arms' separate OLS fits of
    :math:`y` on centred covariates, evaluated at :math:`\\bar X` (their intercepts);
    the per-arm normal equations are accumulated for all draws with one matrix
    product and solved as a batch.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    zmat = np.atleast_2d(np.asarray(assignments)).astype(float)
    n = y.size
    if x.shape[0] != n or zmat.shape[1] != n:
        raise ValueError("y, x and assignments must have the same number of units")
    w = np.column_stack([np.ones(n), x - x.mean(axis=0)])
    k = w.shape[1]
    ww = np.einsum("ni,nj->nij", w, w).reshape(n, k * k)
    wy = w * y[:, None]
    out = []
    for arm in (zmat, 1.0 - zmat):
        m = (arm @ ww).reshape(-1, k, k)
        r = arm @ wy
        try:
            coef = np.linalg.solve(m, r[..., None])[..., 0]
        except np.linalg.LinAlgError:
            coef = np.einsum("dij,dj->di", np.linalg.pinv(m), r)
        out.append(coef[:, 0])
    return out[0] - out[1]
