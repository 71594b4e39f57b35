"""Harm-weighted effects for parallel designs.

Crime harm (e.g. Cambridge Crime Harm Index days) per hot spot is heavy-tailed: one
serious offence outweighs hundreds of minor ones.  :func:`harm_difference` therefore
reports the difference in mean harm with a design-stratified bootstrap interval,
the difference on the :math:`\\log(1+h)` scale, and the ratio of mean harm.
:func:`log_ratio_statistic` is the vectorised ratio statistic for randomisation
inference (the difference and log1p difference use
:func:`rct.evaluate.parallel.dim_statistic` on ``harm`` / ``log1p(harm)``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from rct.errors import DesignError
from rct.evaluate._prep import (
    batch_inputs,
    block_codes,
    numeric_column,
    one_hot,
    select_arms,
    t_inference,
)
from rct.evaluate.parallel import _dim_core
from rct.evaluate.results import Estimate, Term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["harm_difference", "bootstrap_effects", "log_ratio_statistic"]

_CHUNK = 1000


def _arm_means(y, zmat, b):
    """Block-size-weighted treated and control means for each row of zmat."""
    size = b.sum(axis=0)
    w = size / size.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        n1 = zmat @ b
        s1 = zmat @ (b * y[:, None])
        m1 = (s1 / n1) @ w
        m0 = (((y @ b) - s1) / (size - n1)) @ w
    return m1, m0


def log_ratio_statistic(
    y: np.ndarray, assignments: np.ndarray, blocks: np.ndarray | None = None
) -> np.ndarray:
    """:math:`\\log(\\bar y_1/\\bar y_0)` for many assignments at once.

    Means are block-size-weighted averages of block means (as
    :func:`~rct.evaluate.parallel.dim_statistic`).  Shape ``(n_draws,)``; ``-inf``/``inf``
    /NaN where an arm's mean is 0.  The log of the IRR of a Poisson model without
    covariates, so also the RI statistic for count outcomes.
    """
    y, zmat, codes = batch_inputs(y, assignments, blocks)
    m1, m0 = _arm_means(y, zmat, one_hot(codes))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(m1) - np.log(m0)


def bootstrap_effects(
    y: np.ndarray,
    z: np.ndarray,
    blocks: np.ndarray | None,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Bootstrap replicates of the treated and control (block-weighted) means.

    Resamples units with replacement within each block × arm cell (keeping every
    cell's size); when some cell has fewer than two units (pairs), whole blocks are
    resampled instead.  Returns ``(m1, m0, scheme)`` with ``m1``, ``m0`` of shape
    ``(n_boot,)``.
    """
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=np.int64)
    codes = np.zeros(y.size, dtype=np.int64) if blocks is None else np.asarray(blocks)
    j = int(codes.max()) + 1
    cell = codes * 2 + z
    cell_size = np.bincount(cell, minlength=2 * j)
    if (cell_size < 2).any():
        if j < 2:
            raise DesignError("bootstrap needs at least two units in each arm")
        size = np.bincount(codes, minlength=j).astype(float)
        mean1 = np.bincount(codes, weights=y * z, minlength=j) / np.bincount(
            codes, weights=z, minlength=j
        )
        mean0 = np.bincount(codes, weights=y * (1 - z), minlength=j) / np.bincount(
            codes, weights=1 - z, minlength=j
        )
        idx = rng.integers(0, j, size=(n_boot, j))
        ws = size[idx]
        tot = ws.sum(axis=1)
        return (ws * mean1[idx]).sum(axis=1) / tot, (ws * mean0[idx]).sum(axis=1) / tot, "blocks"
    order = np.argsort(cell, kind="stable")
    y_sorted = y[order]
    pos_cell = cell[order]
    start = np.concatenate([[0], np.cumsum(cell_size)[:-1]])
    oh = one_hot(pos_cell, 2 * j)
    size_b = np.bincount(codes, minlength=j).astype(float)
    w = size_b / size_b.sum()
    m1 = np.empty(n_boot)
    m0 = np.empty(n_boot)
    for lo in range(0, n_boot, _CHUNK):
        hi = min(lo + _CHUNK, n_boot)
        u = rng.random((hi - lo, y.size))
        idx = start[pos_cell] + np.floor(u * cell_size[pos_cell]).astype(np.int64)
        means = (y_sorted[idx] @ oh) / cell_size
        m0[lo:hi] = means[:, 0::2] @ w
        m1[lo:hi] = means[:, 1::2] @ w
    return m1, m0, "units within block x arm"


def _percentile(x: np.ndarray, alpha: float) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def harm_difference(
    data: pd.DataFrame,
    *,
    rng: np.random.Generator | int,
    outcome: str = "harm",
    treatment: str = "arm",
    blocks: str | None = None,
    arms: tuple[object, object] | None = None,
    n_boot: int = 4999,
    alpha: float = 0.05,
) -> Estimate:
    """Effect on crime harm: difference, log scale and ratio, with bootstrap intervals.

    Parameters
    ----------
    data
        One row per hot spot with a harm total.
    rng
        ``numpy.random.Generator`` or seed for the bootstrap.
    outcome, treatment, blocks, arms, alpha
        As :func:`~rct.evaluate.parallel.difference_in_means`.
    n_boot
        Bootstrap replicates.

    Returns
    -------
    Estimate
        Terms

        * ``"treatment"`` — difference in mean harm (block-weighted as the Neyman
          estimator) with its Neyman SE, t p-value and t interval;
        * ``"treatment (bootstrap)"`` — the same difference with the bootstrap SE and
          the **percentile bootstrap** interval (p-value not computed);
        * ``"treatment (log1p)"`` — difference in mean :math:`\\log(1+h)`, Neyman SE,
          t interval (a difference in "typical" harm, robust to the tail);
        * ``"ratio of means"`` — :math:`\\bar h_1/\\bar h_0` (``scale="ratio"``),
          percentile bootstrap interval; SE and p from the delta method on
          :math:`\\log` ratio (bootstrap SD when a cell has < 2 units).

        Simulated coverage of 95 % intervals with 45 hot spots and lognormal(σ = 1.5)
        harm, 40 % zeros, no effect (1,000 reps): Neyman t 97.5 %, percentile bootstrap
        90 %, ratio percentile 90 %, log1p about 94 %.  The bootstrap undercovers on so
        few heavy-tailed units; use randomisation inference (test inversion) for the
        headline interval.
        ``details``: bootstrap SEs, ``n_boot``,
        ``bootstrap`` (resampling scheme), ``ratio_se_method``.

    Notes
    -----
    Bootstrap: units are resampled with replacement within each block × arm cell
    (stratified by the design), or whole blocks when cells are pairs; percentile
    intervals (Efron & Tibshirani 1993, ch. 13).  Delta method:
    :math:`\\mathrm{Var}(\\log \\bar h_1/\\bar h_0) \\approx
    \\mathrm{Var}(\\bar h_1)/\\bar h_1^2 + \\mathrm{Var}(\\bar h_0)/\\bar h_0^2` with
    :math:`\\mathrm{Var}(\\bar h_g) = \\sum_b w_b^2 s_{gb}^2/n_{gb}`.  For exact tests use
    randomisation inference with :func:`~rct.evaluate.parallel.dim_statistic` or
    :func:`log_ratio_statistic`.  Sherman, Neyroud & Neyroud (2016), The Cambridge
    Crime Harm Index, *Policing* 10:171–183.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    data, z = select_arms(data, treatment, arms)
    y = numeric_column(data, outcome, nonnegative=True)
    codes = block_codes(data, blocks)[0] if blocks is not None else None
    zf = z.astype(float)

    est, se, df, design, _ = _dim_core(y, zf, codes)
    ly = np.log1p(y)
    lest, lse, ldf, _, _ = _dim_core(ly, zf, codes)

    m1b, m0b, scheme = bootstrap_effects(y, z, codes, n_boot=n_boot, rng=gen)
    diff_b = m1b - m0b
    with np.errstate(divide="ignore", invalid="ignore"):
        logr_b = np.log(m1b) - np.log(m0b)
    b_lo, b_hi = _percentile(diff_b, alpha)
    stat, p, n_lo, n_hi = t_inference(est, se, df, alpha)
    lstat, lp, l_lo, l_hi = t_inference(lest, lse, ldf, alpha)

    c = codes if codes is not None else np.zeros(y.size, dtype=np.int64)
    bmat = one_hot(c)
    m1, m0 = (float(v[0]) for v in _arm_means(y, zf[None, :], bmat))
    if m1 <= 0 or m0 <= 0:
        raise DesignError("ratio of mean harm needs positive harm in both arms")
    ratio = m1 / m0
    j = bmat.shape[1]
    n1 = np.bincount(c, weights=zf, minlength=j)
    n0 = np.bincount(c, weights=1 - zf, minlength=j)
    if (n1 >= 2).all() and (n0 >= 2).all():
        w = bmat.sum(axis=0) / y.size
        v1 = np.array([y[(c == k) & (z == 1)].var(ddof=1) for k in range(j)])
        v0 = np.array([y[(c == k) & (z == 0)].var(ddof=1) for k in range(j)])
        var_log = (w**2 * v1 / n1).sum() / m1**2 + (w**2 * v0 / n0).sum() / m0**2
        r_se_log, r_method = math.sqrt(var_log), "delta"
    else:
        r_se_log, r_method = float(np.nanstd(logr_b[np.isfinite(logr_b)], ddof=1)), "bootstrap"
    rstat, rp, _, _ = t_inference(math.log(ratio), r_se_log, math.inf, alpha)
    r_lo, r_hi = (math.exp(v) for v in _percentile(logr_b, alpha))

    return Estimate(
        outcome=outcome,
        method=f"harm difference (Neyman {design}; stratified bootstrap; log1p; ratio)",
        terms=(
            Term("treatment", est, se, stat, p, n_lo, n_hi),
            Term(
                "treatment (bootstrap)",
                est,
                float(np.std(diff_b, ddof=1)),
                conf_low=b_lo,
                conf_high=b_hi,
            ),
            Term("treatment (log1p)", lest, lse, lstat, lp, l_lo, l_hi, scale="log1p difference"),
            Term("ratio of means", ratio, ratio * r_se_log, rstat, rp, r_lo, r_hi, scale="ratio"),
        ),
        n=int(y.size),
        alpha=alpha,
        details={
            "df": df,
            "design": design,
            "bootstrap_se_difference": float(np.std(diff_b, ddof=1)),
            "bootstrap_se_log_ratio": float(np.std(logr_b[np.isfinite(logr_b)], ddof=1)),
            "n_boot": int(n_boot),
            "bootstrap": scheme,
            "ratio_se_method": r_method,
            "mean_treated": m1,
            "mean_control": m0,
        },
    )
