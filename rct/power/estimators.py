"""Vectorised versions of the planned estimators, for many simulated trials at once.

Each takes arrays with one row per simulated trial and returns
``(estimate, std_error, df)``; the estimates and standard errors are the
same numbers :mod:`rct.evaluate` (and statsmodels, see ``tests/power``)
gives on a single trial.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "crossover_fe_poisson",
    "rate_ratio",
    "diff_means",
    "block_diff_means",
    "ancova",
    "reject",
]


def crossover_fe_poisson(
    tasked: np.ndarray,
    untasked: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    correction: bool = True,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Within-hot-spot log rate ratio of a crossover trial from per-hot-spot totals.

    Parameters
    ----------
    tasked, untasked
        ``(n_trials, N)`` totals of the outcome (crimes or harm) on each hot
        spot's tasked / untasked days.
    a, b
        ``(n_trials, N)`` (or ``(N,)``) number of tasked / untasked days.
    correction
        Multiply the cluster-robust variance by ``G / (G - 1)``.

    Returns
    -------
    estimate, std_error, df
        Log IRR and its cluster-robust (by hot spot) standard error; ``df =
        G - 1``.  Trials where every event falls in one arm get NaN.

    Notes
    -----
    Poisson regression with hot-spot fixed effects and offset log(days) has
    the same estimate as the conditional likelihood given each hot spot's
    total ``n_i = T_i + C_i``: ``T_i ~ Bin(n_i, pi_i)``,
    ``pi_i = a_i e^b / (a_i e^b + b_i)``; ``b`` solves
    ``U(b) = sum_i (T_i - n_i pi_i) = 0`` (Newton, from the closed form
    ``log((sum T / sum a) / (sum C / sum b))``, exact under equal coverage).
    The cluster-robust variance is ``sum_i (T_i - n_i pi_i)^2 / I^2``,
    ``I = sum_i n_i pi_i (1 - pi_i)`` (Wooldridge 1999, J. Econometrics 90:77-97;
    the fixed-effect scores vanish at the MLE, so it equals the hot-spot
    block of the GLM cluster sandwich).  Sufficient statistics are the
    per-hot-spot totals, so a simulated trial needs 2N draws, not N x D.
    """
    T = np.asarray(tasked, dtype=float)
    C = np.asarray(untasked, dtype=float)
    a = np.broadcast_to(np.asarray(a, dtype=float), T.shape)
    b = np.broadcast_to(np.asarray(b, dtype=float), T.shape)
    n = T + C
    st, sc = T.sum(axis=1), C.sum(axis=1)
    valid = (st > 0) & (sc > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(valid, np.log((st / a.sum(axis=1)) / (sc / b.sum(axis=1))), 0.0)
    for _ in range(max_iter):
        e = np.exp(beta)[:, None]
        den = a * e + b
        pi = np.divide(a * e, den, out=np.zeros_like(den), where=den > 0)
        score = (T - n * pi).sum(axis=1)
        info = (n * pi * (1.0 - pi)).sum(axis=1)
        step = np.divide(score, info, out=np.zeros_like(score), where=info > 0)
        step = np.clip(step, -2.0, 2.0)
        beta = beta + step
        if np.max(np.abs(step[valid]), initial=0.0) < 1e-12:
            break
    e = np.exp(beta)[:, None]
    den = a * e + b
    pi = np.divide(a * e, den, out=np.zeros_like(den), where=den > 0)
    s = T - n * pi
    info = (n * pi * (1.0 - pi)).sum(axis=1)
    g = T.shape[1]
    factor = g / (g - 1.0) if correction else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(factor * (s * s).sum(axis=1)) / info
    beta = np.where(valid, beta, np.nan)
    se = np.where(valid, se, np.nan)
    return beta, se, float(g - 1)


def _arm_stats(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    z = z.astype(bool)
    n1 = z.sum(axis=1).astype(float)
    n0 = z.shape[1] - n1
    s1 = np.where(z, y, 0.0).sum(axis=1)
    s0 = y.sum(axis=1) - s1
    m1, m0 = s1 / n1, s0 / n0
    d1 = np.where(z, y - m1[:, None], 0.0)
    d0 = np.where(z, 0.0, y - m0[:, None])
    v1 = (d1 * d1).sum(axis=1) / (n1 - 1)
    v0 = (d0 * d0).sum(axis=1) / (n0 - 1)
    return m1, m0, v1, v0, n1, n0


def rate_ratio(
    y: np.ndarray, z: np.ndarray, *, ddof: int = 1
) -> tuple[np.ndarray, np.ndarray, float]:
    """Log ratio of arm means with its robust (sandwich) standard error.

    Notes
    -----
    The Poisson regression ``log E y = a + b z`` gives
    ``b = log(ybar_1 / ybar_0)``; its sandwich variance is
    ``sum_arms sum_i (y_i - ybar)^2 / (n ybar)^2`` (HC0, ``ddof=0``).  The
    default ``ddof=1`` uses ``s^2 / (n ybar^2)`` per arm, the HC2 /
    Neyman analogue.  Reference t with ``N - 2`` degrees of freedom.
    """
    y = np.asarray(y, dtype=float)
    m1, m0, v1, v0, n1, n0 = _arm_stats(y, z)
    if ddof == 0:
        v1, v0 = v1 * (n1 - 1) / n1, v0 * (n0 - 1) / n0
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(m1 / m0)
        se = np.sqrt(v1 / (n1 * m1**2) + v0 / (n0 * m0**2))
    bad = ~((m1 > 0) & (m0 > 0))
    return np.where(bad, np.nan, est), np.where(bad, np.nan, se), float(y.shape[1] - 2)


def diff_means(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Difference in arm means with the Welch / HC2 (Neyman) standard error.

    Notes
    -----
    ``SE^2 = s_1^2 / n_1 + s_0^2 / n_0``; equals OLS of ``y`` on ``z`` with
    HC2 covariance (``estimatr::lm_robust`` default).  Reference t with
    ``N - 2`` degrees of freedom.
    """
    y = np.asarray(y, dtype=float)
    m1, m0, v1, v0, n1, n0 = _arm_stats(y, z)
    return m1 - m0, np.sqrt(v1 / n1 + v0 / n0), float(y.shape[1] - 2)


def block_diff_means(
    y: np.ndarray, z: np.ndarray, blocks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Difference in means with block fixed effects and a robust (HC1) standard error.

    Notes
    -----
    OLS of ``y`` on ``z`` and block dummies (Frisch-Waugh): with
    ``zt = z - zbar_block``, ``b = sum zt y / sum zt^2``, residuals
    ``e = y - ybar_block - b zt``, ``SE^2 = N/(N-J-1) sum zt^2 e^2 / (sum zt^2)^2``.
    With pairs this is exactly the paired t test; ``df = N - J - 1``.
    """
    y = np.asarray(y, dtype=float)
    zf = np.asarray(z, dtype=float)
    codes = np.unique(np.asarray(blocks), return_inverse=True)[1].ravel()
    nb = int(codes.max()) + 1
    onehot = np.zeros((codes.size, nb))
    onehot[np.arange(codes.size), codes] = 1.0
    size = onehot.sum(axis=0)
    zbar = (zf @ onehot) / size
    ybar = (y @ onehot) / size
    zt = zf - zbar @ onehot.T
    yt = y - ybar @ onehot.T
    sxx = (zt * zt).sum(axis=1)
    beta = (zt * yt).sum(axis=1) / sxx
    e = yt - beta[:, None] * zt
    n = y.shape[1]
    df = n - nb - 1
    se = np.sqrt(n / df * (zt * zt * e * e).sum(axis=1)) / sxx
    return beta, se, float(df)


def reject(
    est: np.ndarray, se: np.ndarray, df: float, alpha: float, alternative: str, null: float = 0.0
) -> np.ndarray:
    """Boolean rejections of the Wald t test of ``est == null`` (NaN never rejects)."""
    from rct.power._core import critical_value

    crit = critical_value(alpha, df, alternative)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (est - null) / se
    if alternative == "two-sided":
        out = np.abs(t) > crit
    elif alternative == "larger":
        out = t > crit
    else:
        out = t < -crit
    return np.where(np.isfinite(t), out, False)


def ancova(y: np.ndarray, z: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Baseline-adjusted difference in means: OLS ``y ~ 1 + z + x`` with HC2 standard errors.

    Notes
    -----
    Batched OLS: ``b = (X'X)^{-1} X'y`` per trial, ``X = [1, z, x]``;
    HC2 covariance ``(X'X)^{-1} [sum_i x_i x_i' e_i^2 / (1 - h_ii)] (X'X)^{-1}``
    (MacKinnon & White 1985), as statsmodels ``OLS(...).fit(cov_type="HC2")``.
    Reference t with ``N - 3`` degrees of freedom.
    """
    y = np.asarray(y, dtype=float)
    X = np.stack([np.ones_like(y), np.asarray(z, dtype=float), np.asarray(x, dtype=float)], axis=2)
    xtx_inv = np.linalg.inv(np.einsum("bni,bnj->bij", X, X))
    beta = np.einsum("bij,bnj,bn->bi", xtx_inv, X, y)
    e = y - np.einsum("bni,bi->bn", X, beta)
    h = np.einsum("bni,bij,bnj->bn", X, xtx_inv, X)
    w = e * e / (1.0 - h)
    meat = np.einsum("bni,bn,bnj->bij", X, w, X)
    v = np.einsum("bij,bjk,bkl->bil", xtx_inv, meat, xtx_inv)
    return beta[:, 1], np.sqrt(v[:, 1, 1]), float(y.shape[1] - 3)
