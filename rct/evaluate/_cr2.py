"""Small-sample cluster-robust inference for two-way fixed-effects models (private).

:func:`cr2_twoway` is the bias-reduced linearisation (CR2) covariance of Bell &
McCaffrey (2002) with the Satterthwaite degrees of freedom of Pustejovsky &
Tipton (2018), for the regressors of interest of a (weighted) least-squares
or Poisson GLM fit with unit and time fixed effects — the numbers R
``clubSandwich::vcovCR(fit, cluster, type = "CR2")`` and
``coef_test(fit, vcov, test = "Satterthwaite")`` give for ``lm``/``glm`` with
the fixed effects as factor dummies.  The fixed effects are never expanded
into an ``n x (N + T)`` matrix: their projection enters through the
``(N + T - 1)``-square matrix ``(D'WD)^{-1}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CR2Result", "cr2_twoway", "EIG_TOL"]

#: eigenvalues at or below this are treated as zero in the generalised inverse
#: square root (clubSandwich ``matrix_power(tol = -12)``)
EIG_TOL = 1e-12


@dataclass(frozen=True)
class CR2Result:
    """CR2 covariance of the regressors of interest and their Satterthwaite df."""

    cov: np.ndarray
    df: np.ndarray
    clusters: int


def _fe_inverse(w: np.ndarray, g1: np.ndarray, n1: int, g2: np.ndarray, n2: int) -> np.ndarray:
    """``K = (D'WD)^{-1}`` for ``D = [unit dummies, time dummies 2..n2]`` (the first day is the reference)."""
    su = np.bincount(g1, w, n1)
    st = np.bincount(g2, w, n2)
    C = np.bincount(g1 * n2 + g2, w, n1 * n2).reshape(n1, n2)[:, 1:]
    m = n1 + n2 - 1
    DWD = np.zeros((m, m))
    DWD[:n1, :n1] = np.diag(su)
    DWD[n1:, n1:] = np.diag(st[1:])
    DWD[:n1, n1:] = C
    DWD[n1:, :n1] = C.T
    return np.linalg.inv(DWD)


def _dcols(g1: np.ndarray, n1: int, g2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of each observation's unit dummy and time dummy in ``D`` (reference day -> ``m``)."""
    m = n1 + int(g2.max())  # n1 + n2 - 1
    tcol = np.where(g2 > 0, n1 + g2 - 1, m)
    return g1.astype(np.int64), tcol.astype(np.int64)


def _dtw(values: np.ndarray, ucol: np.ndarray, tcol: np.ndarray, m: int) -> np.ndarray:
    """``D' v`` for the columns of ``values`` (n, q) -> (m, q); the reference day is dropped."""
    q = values.shape[1]
    out = np.empty((m + 1, q))
    for j in range(q):  # a handful of columns
        out[:, j] = np.bincount(ucol, values[:, j], m + 1) + np.bincount(tcol, values[:, j], m + 1)
    return out[:m]


def _inv_sqrt_psd(G: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Generalised inverse square root of a stack of symmetric PSD matrices.

    ``null`` ``(g, size, r)`` holds orthonormal vectors known to span (part
    of) each matrix's null space: they are deflated exactly (``G + c P`` has
    the same eigenvectors, with eigenvalue ``c`` on ``P``'s range, so
    ``G^{+1/2} = (G + cP)^{-1/2} - c^{-1/2} P``), so rounding in a zero
    eigenvalue cannot be inverted; other eigenvalues at or below
    :data:`EIG_TOL` count as zero, as in clubSandwich.
    """
    P = np.einsum("gir,gjr->gij", null, null)
    c = np.maximum(np.einsum("gii->g", G) / G.shape[1], EIG_TOL)[:, None, None]
    lam, U = np.linalg.eigh(G + c * P)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(lam > EIG_TOL, 1.0 / np.sqrt(np.where(lam > EIG_TOL, lam, 1.0)), 0.0)
    return np.einsum("...ik,...k,...jk->...ij", U, f, U) - P / np.sqrt(c)


def cr2_twoway(
    X: np.ndarray,
    resid: np.ndarray,
    weights: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    cluster: np.ndarray | None = None,
) -> CR2Result:
    """CR2 covariance and Satterthwaite df for ``X``'s coefficients in a two-way FE fit.

    Parameters
    ----------
    X
        ``(n, p)`` regressors of interest (raw, not demeaned).
    resid
        Response residuals ``y - fitted`` at the fit.
    weights
        ``1`` for OLS; the fitted means ``mu`` for a log-link Poisson GLM.
    unit, time
        Integer codes ``0..N-1`` and ``0..T-1`` of the two sets of fixed
        effects (each level present; the panel connected).
    cluster
        Cluster codes (default ``unit``).

    Notes
    -----
    With ``W = diag(w)``, the full design ``[X, D]`` (``D`` the dummies) and
    ``X~ = X - D (D'WD)^{-1} D'WX`` (Frisch–Waugh–Lovell), the symmetric hat
    matrix block of cluster ``g`` is
    ``H_g = W_g^{1/2} [D_g (D'WD)^{-1} D_g' + X~_g B X~_g'] W_g^{1/2}`` with
    ``B = (X~'WX~)^{-1}``.  clubSandwich's CR2 adjustment for ``lm``
    (``w = 1``) and for a Poisson ``glm`` (working model ``Theta = W^{-1}``
    on the response scale, model matrix ``W X``) is
    ``A_g = W_g^{1/2} [W_g (I - H_g) W_g]^{+1/2} W_g^{1/2}`` (generalised
    inverse square root: the unit dummy nested in the cluster makes
    ``I - H_g`` singular), and
    ``V = B [sum_g X~_g' A_g e_g e_g' A_g X~_g] B``.  For coefficient ``j``,
    with ``v_g = A_g X~_g B_j`` placed in cluster ``g``'s rows of an
    ``n x G`` matrix ``Z``, ``P = Z'W(I - P_W)Z`` where ``P_W`` is the
    ``W``-projection on ``[X, D]``, and the Satterthwaite df is
    ``(tr P)^2 / ||P||_F^2``.  Bell & McCaffrey (2002), *Survey Methodology*
    28:169–181; Pustejovsky & Tipton (2018), *J. Business & Economic
    Statistics* 36:672–683.
    """
    X = np.asarray(X, dtype=float).reshape(len(resid), -1)
    e = np.asarray(resid, dtype=float)
    w = np.asarray(weights, dtype=float) * np.ones_like(e)
    g1 = np.asarray(unit, dtype=np.int64)
    g2 = np.asarray(time, dtype=np.int64)
    n1, n2 = int(g1.max()) + 1, int(g2.max()) + 1
    cl = g1 if cluster is None else np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    G = int(cl.max()) + 1
    n, p = X.shape
    m = n1 + n2 - 1
    K = _fe_inverse(w, g1, n1, g2, n2)
    Kp = np.zeros((m + 1, m + 1))
    Kp[:m, :m] = K
    ucol, tcol = _dcols(g1, n1, g2)
    KDWX = np.vstack([K @ _dtw(w[:, None] * X, ucol, tcol, m), np.zeros((1, p))])
    Xt = X - KDWX[ucol] - KDWX[tcol]
    B = np.linalg.inv(Xt.T @ (w[:, None] * Xt))
    s = np.sqrt(w)
    meat = np.zeros((p, p))
    V_rows = np.zeros((n, p))  # v_g for every coefficient, cluster g's rows
    order = np.argsort(cl, kind="stable")
    sizes = np.bincount(cl, minlength=G)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for size in np.unique(sizes):  # clusters batched by size (one batch in a balanced panel)
        gs = np.flatnonzero(sizes == size)
        idx = order[starts[gs][:, None] + np.arange(size)[None, :]]  # (g, size)
        u, t = ucol[idx], tcol[idx]
        F = (Kp[u[:, :, None], u[:, None, :]] + Kp[u[:, :, None], t[:, None, :]]
             + Kp[t[:, :, None], u[:, None, :]] + Kp[t[:, :, None], t[:, None, :]])
        Xg = Xt[idx]  # (g, size, p)
        F += np.einsum("gip,pq,gjq->gij", Xg, B, Xg)
        wg, sg = w[idx], s[idx]
        ws = wg * sg
        Gm = -ws[:, :, None] * ws[:, None, :] * F
        Gm[:, np.arange(size), np.arange(size)] += wg**2
        # exact null vectors: W_g^{-1/2} 1_u for each unit u nested in the cluster (its dummy
        # lies in the column space, so W_g (I - H_g) W_g annihilates it)
        ug_ = g1[idx]
        nested = np.bincount(ug_.ravel(), minlength=n1) == np.bincount(g1, minlength=n1)
        levels = [np.unique(r[nested[r]]) for r in ug_]
        r_max = max((lv.size for lv in levels), default=0)
        null = np.zeros((len(gs), size, r_max))
        for i, lv in enumerate(levels):  # clusters of this size; usually one unit each
            for k, u_ in enumerate(lv):
                v = np.where(ug_[i] == u_, 1.0 / sg[i], 0.0)
                null[i, :, k] = v / np.linalg.norm(v)
        A = sg[:, :, None] * _inv_sqrt_psd(Gm, null) * sg[:, None, :]
        Ae = np.einsum("gij,gj->gi", A, e[idx])
        ug = np.einsum("gip,gi->gp", Xg, Ae)
        meat += ug.T @ ug
        V_rows[idx] = np.einsum("gij,gjp,pq->giq", A, Xg, B)
    cov = B @ meat @ B
    # Satterthwaite: P = Z'WZ - (D'WZ)' K (D'WZ) - (X~'WZ)' B (X~'WZ), per coefficient
    df = np.empty(p)
    wv = w[:, None] * V_rows
    for j in range(p):  # a handful of coefficients
        zz = np.bincount(cl, wv[:, j] * V_rows[:, j], G)
        DWZ = np.zeros((m + 1, G))
        np.add.at(DWZ, (ucol, cl), wv[:, j])
        np.add.at(DWZ, (tcol, cl), wv[:, j])
        DWZ = DWZ[:m]
        XWZ = np.stack([np.bincount(cl, Xt[:, k] * wv[:, j], G) for k in range(p)])
        P = np.diag(zz) - DWZ.T @ K @ DWZ - XWZ.T @ B @ XWZ
        df[j] = np.trace(P) ** 2 / np.sum(P * P)
    return CR2Result(cov=cov, df=df, clusters=G)
