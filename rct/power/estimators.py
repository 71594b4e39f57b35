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
    "critical_values",
]


def crossover_fe_poisson(
    tasked: np.ndarray,
    untasked: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    *,
    vcov: str = "CR2",
    correction: bool = True,
    max_iter: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
    """Within-hot-spot log rate ratio of a crossover trial from per-hot-spot totals.

    Parameters
    ----------
    tasked, untasked
        ``(n_trials, N)`` totals of the outcome (crimes or harm) on each hot
        spot's tasked / untasked days.
    a, b
        ``(n_trials, N)`` (or ``(N,)``) number of tasked / untasked days.
    vcov
        ``"CR2"`` (default): bias-reduced cluster-robust SE with
        Satterthwaite df per trial — the test of
        :func:`rct.evaluate.crossover.crossover_poisson` with
        ``day_effects=False`` (R ``clubSandwich`` CR2); ``"CR1"``: the
        sandwich times ``G/(G-1)`` (``correction``) with ``df = G - 1``
        (R ``sandwich::vcovCL(type = "HC0", cadjust = TRUE)``).
    correction
        ``CR1`` only: multiply the cluster-robust variance by ``G / (G - 1)``.

    Returns
    -------
    estimate, std_error, df
        Log IRR and its cluster-robust (by hot spot) standard error; ``df``
        the Satterthwaite df of each trial (``CR2``, an array) or ``G - 1``
        (``CR1``).  Trials where every event falls in one arm get NaN.

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

    CR2 from totals: within hot spot ``i`` the regressor and the fitted
    means (``m1``, ``m0`` a day) are constant on tasked and on untasked days,
    so the adjustment acts on the two-dimensional span of the two day-set
    indicators (identity elsewhere, where the scores vanish).  In the
    orthonormal basis ``(1_a/sqrt a, 1_b/sqrt b)`` the hat block is
    ``s s'/n_i + w w'/I`` with ``s = (sqrt M1, sqrt M0)``, ``M1 = a m1``,
    ``M0 = b m0``, ``w = ((1 - pi) sqrt M1, -pi sqrt M0)``; clubSandwich's
    ``W(I - H)W`` (``W = diag(m1, m0)``) is then rank one, ``lambda u u'`` with
    ``u`` orthogonal to ``W^{-1} s``, so ``A = W^{1/2} u u' W^{1/2} / sqrt(lambda)``,
    ``v_i = A q_i`` with ``q_i = ((1 - pi) sqrt a, -pi sqrt b) / I``, the CR2
    variance ``sum_i (v_i . (T_i - M1, C_i - M0) scaled)^2`` and the
    Satterthwaite df ``(tr P)^2/|P|^2`` with
    ``P = diag(v'Wv - (1'Wv)^2/n_i) - f f'/I``, ``f_i = x~'Wv``
    (:func:`rct.evaluate._cr2.cr2_twoway` with one set of fixed effects).
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
    if vcov == "CR2":
        se, df = _cr2_totals(T, C, a, b, beta)
        return np.where(valid, beta, np.nan), np.where(valid, se, np.nan), np.where(valid, df, np.nan)
    if vcov != "CR1":
        raise ValueError(f"vcov must be one of 'CR2', 'CR1'; got {vcov!r}")
    factor = g / (g - 1.0) if correction else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(factor * (s * s).sum(axis=1)) / info
    beta = np.where(valid, beta, np.nan)
    se = np.where(valid, se, np.nan)
    return beta, se, float(g - 1)


def _cr2_totals(T, C, a, b, beta):
    """CR2 SE and Satterthwaite df of the hot-spot FE Poisson log IRR from per-hot-spot totals."""
    n = T + C
    e = np.exp(beta)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        m0 = np.where(n > 0, n / (a * e + b), 0.0)  # fitted untasked mean a day
        m1 = m0 * e
        M1, M0 = a * m1, b * m0
        pi = np.where(n > 0, M1 / np.where(n > 0, n, 1.0), 0.0)
        info = (n * pi * (1 - pi)).sum(axis=1, keepdims=True)
        ra, rb = np.sqrt(a), np.sqrt(b)
        # G = W (I - H) W in the 2-d span; rank one with null vector W^{-1} s
        s1, s0 = np.sqrt(M1), np.sqrt(M0)
        w1, w0 = (1 - pi) * s1, -pi * s0
        nn = np.where(n > 0, n, 1.0)
        h11 = s1 * s1 / nn + w1 * w1 / info
        h10 = s1 * s0 / nn + w1 * w0 / info
        h00 = s0 * s0 / nn + w0 * w0 / info
        g11, g10, g00 = m1 * m1 * (1 - h11), -m1 * m0 * h10, m0 * m0 * (1 - h00)
        # unit vector orthogonal to the null vector (s1/m1, s0/m0)
        u1, u0 = s0 / np.where(m0 > 0, m0, 1.0), -s1 / np.where(m1 > 0, m1, 1.0)
        un = np.sqrt(u1 * u1 + u0 * u0)
        u1, u0 = u1 / np.where(un > 0, un, 1.0), u0 / np.where(un > 0, un, 1.0)
        lam = u1 * u1 * g11 + 2 * u1 * u0 * g10 + u0 * u0 * g00
        k = np.where(lam > 1e-12, 1.0 / np.sqrt(np.where(lam > 1e-12, lam, 1.0)), 0.0)
        q1, q0 = (1 - pi) * ra / info, -pi * rb / info
        # v = W^{1/2} u u' W^{1/2} q k
        c = (u1 * np.sqrt(m1) * q1 + u0 * np.sqrt(m0) * q0) * k
        v1, v0 = np.sqrt(m1) * u1 * c, np.sqrt(m0) * u0 * c
        e1 = np.where(a > 0, (T - M1) / np.where(a > 0, ra, 1.0), 0.0)
        e0 = np.where(b > 0, (C - M0) / np.where(b > 0, rb, 1.0), 0.0)
        se = np.sqrt(((v1 * e1 + v0 * e0) ** 2).sum(axis=1))
        vwv = m1 * v1 * v1 + m0 * v0 * v0
        wv = ra * m1 * v1 + rb * m0 * v0
        d = vwv - wv * wv / nn
        f = (1 - pi) * ra * m1 * v1 - pi * rb * m0 * v0
        B = 1.0 / info[:, 0]
        ff = (f * f).sum(axis=1)
        tr = d.sum(axis=1) - B * ff
        p2 = (d * d).sum(axis=1) - 2 * B * (d * f * f).sum(axis=1) + B * B * ff * ff
        df = tr * tr / p2
    return se, df


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
    y: np.ndarray, z: np.ndarray, *, vcov: str = "quasi", ddof: int = 1
) -> tuple[np.ndarray, np.ndarray, float]:
    """Log ratio of arm means with its quasi-Poisson (default) or sandwich standard error.

    Parameters
    ----------
    vcov
        ``"quasi"`` (default): the quasi-Poisson SE with a t reference on
        ``N - 2`` df — :func:`rct.evaluate.counts.count_model`'s default
        (R ``glm(family = quasipoisson)``); ``"sandwich"``: separate arm
        variances ``s^2 / (n ybar^2)`` (``ddof=1``, the HC2 / Neyman analogue)
        or the HC0 sandwich (``ddof=0``, R ``vcovHC(type = "HC0")``).

    Notes
    -----
    The Poisson regression ``log E y = a + b z`` gives
    ``b = log(ybar_1 / ybar_0)``.  Quasi-Poisson:
    ``SE^2 = phi (1/(n_1 ybar_1) + 1/(n_0 ybar_0))`` with the Pearson
    ``phi = sum_arms sum_i (y_i - ybar)^2 / ybar / (N - 2)``.  Sandwich:
    ``sum_arms sum_i (y_i - ybar)^2 / (n ybar)^2`` (HC0).  Reference t with
    ``N - 2`` degrees of freedom.
    """
    y = np.asarray(y, dtype=float)
    m1, m0, v1, v0, n1, n0 = _arm_stats(y, z)
    N = y.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(m1 / m0)
        if vcov == "quasi":
            phi = (v1 * (n1 - 1) / m1 + v0 * (n0 - 1) / m0) / (N - 2)
            se = np.sqrt(phi * (1 / (n1 * m1) + 1 / (n0 * m0)))
        elif vcov == "sandwich":
            if ddof == 0:
                v1, v0 = v1 * (n1 - 1) / n1, v0 * (n0 - 1) / n0
            se = np.sqrt(v1 / (n1 * m1**2) + v0 / (n0 * m0**2))
        else:
            raise ValueError(f"vcov must be one of 'quasi', 'sandwich'; got {vcov!r}")
    bad = ~((m1 > 0) & (m0 > 0))
    return np.where(bad, np.nan, est), np.where(bad, np.nan, se), float(N - 2)


def diff_means(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference in arm means with the Welch / HC2 (Neyman) standard error and Welch df.

    Notes
    -----
    ``SE^2 = s_1^2 / n_1 + s_0^2 / n_0``; equals OLS of ``y`` on ``z`` with
    HC2 covariance (``estimatr::lm_robust`` default).  Reference t with the
    Welch–Satterthwaite df of each trial,
    ``SE^4 / ((s_1^2/n_1)^2/(n_1 - 1) + (s_0^2/n_0)^2/(n_0 - 1))`` — the test
    of :func:`rct.evaluate.parallel.difference_in_means` (``estimatr``).
    """
    y = np.asarray(y, dtype=float)
    m1, m0, v1, v0, n1, n0 = _arm_stats(y, z)
    a1, a0 = v1 / n1, v0 / n0
    se = np.sqrt(a1 + a0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(se > 0, (a1 + a0) ** 2 / (a1**2 / (n1 - 1) + a0**2 / (n0 - 1)), np.inf)
    return m1 - m0, se, df


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


def critical_values(alpha: float, df: float | np.ndarray, alternative: str) -> np.ndarray | float:
    """Critical values of t(``df``) (elementwise for an array of per-trial df; inf: normal)."""
    from scipy import stats

    from rct.power._core import critical_value

    if np.ndim(df) == 0:
        return critical_value(alpha, float(df), alternative)
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    d = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(d), stats.t.isf(a, np.where(np.isfinite(d), d, 1.0)),
                        stats.norm.isf(a))


def reject(
    est: np.ndarray, se: np.ndarray, df: float | np.ndarray, alpha: float, alternative: str,
    null: float = 0.0,
) -> np.ndarray:
    """Boolean rejections of the Wald t test of ``est == null`` (NaN never rejects).

    ``df`` is one number or one per trial (Satterthwaite / Welch df).
    """
    crit = critical_values(alpha, df, alternative)
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
