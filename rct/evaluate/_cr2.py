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

The CR2 adjustment needs ``G_g^{+1/2}`` (``G_g = W_g (I - H_g) W_g``, full rank
but for the unit dummies: the day dummies fill the block) applied to a few vectors
per cluster, never the matrix itself.  Clusters of at least :data:`_LANCZOS_MIN`
observations (a hot spot's days) get it by Lanczos (:func:`_lanczos_inv_sqrt`):
``G_g`` is applied through one product with ``(D'WD)^{-1}`` for a whole chunk of
clusters per step, and a run stops when its solution changes by less than
:data:`_LANCZOS_TOL` relative (30-100 steps for 365 days, instead of one 365 x 365
eigendecomposition per hot spot: 4-5x less CPU on the 300 x 365 evaluation); a
cluster that does not converge in time, or whose block is nearly singular, falls
back to the dense eigensolver (:func:`_inv_sqrt_psd_apply`).  Smaller clusters use
the dense eigensolver.  Both give the numbers of the definition to about 1e-12
(``tests/evaluate/test_perf_equivalence.py``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

__all__ = ["CR2Result", "cr2_twoway", "EIG_TOL", "one_blas_thread"]


@cache
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return ThreadpoolController()


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Run BLAS / LAPACK single-threaded: stacks of small eigenproblems and products are
    faster that way (threads only contend; 5-8x on a busy 2-core machine)."""
    c = _controller()
    return contextlib.nullcontext() if c is None else c.limit(limits=1, user_api="blas")

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


def _inv_sqrt_psd_apply(G: np.ndarray, null: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``G^{+1/2} V``: the generalised inverse square root of a stack of symmetric PSD
    matrices ``G`` applied to ``V`` ``(g, size, q)``, without forming the ``size x size``
    result.

    ``null`` ``(g, size, r)`` holds orthonormal vectors known to span (part
    of) each matrix's null space: they are deflated exactly (``G + c P`` has
    the same eigenvectors, with eigenvalue ``c`` on ``P``'s range, so
    ``G^{+1/2} = (G + cP)^{-1/2} - c^{-1/2} P``), so rounding in a zero
    eigenvalue cannot be inverted; other eigenvalues at or below
    :data:`EIG_TOL` count as zero, as in clubSandwich.
    """
    c = np.maximum(np.einsum("gii->g", G) / G.shape[1], EIG_TOL)[:, None, None]
    Gp = G + c * (null @ np.swapaxes(null, -1, -2))
    lam, U = np.linalg.eigh(Gp)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(lam > EIG_TOL, 1.0 / np.sqrt(np.where(lam > EIG_TOL, lam, 1.0)), 0.0)
    out = U @ (f[..., None] * (np.swapaxes(U, -1, -2) @ V))
    return out - null @ (np.swapaxes(null, -1, -2) @ V) / np.sqrt(c)


#: clusters whose ``size x size`` matrices are held at once (bounded temporaries)
_CLUSTER_CELLS = 2_000_000
#: clusters with at least this many observations are handled by Lanczos (smaller: dense eigh)
_LANCZOS_MIN = 64
#: Lanczos steps before a cluster falls back to the dense eigensolver
_LANCZOS_MAXIT = 150
#: relative change of ``G^{+1/2} v`` between two checks that counts as converged
_LANCZOS_TOL = 1e-13
#: Lanczos steps per square root of the condition number (for :data:`_LANCZOS_TOL`)
_LANCZOS_STEPS = 15
#: the step of the first check (later ones: :func:`_next_check`)
_LANCZOS_FIRST_CHECK = 12
#: runs checked before convergence is predicted (then all of them)
_LANCZOS_PROBES = 12
#: Krylov basis cells held at once (clusters x rhs x steps x size; bounded memory)
_LANCZOS_CELLS = 8_000_000


def _nested_null(ug: np.ndarray, g1: np.ndarray, n1: int, sg: np.ndarray) -> np.ndarray:
    """Orthonormal null vectors ``W_g^{-1/2} 1_u`` of ``W_g (I - H_g) W_g`` per cluster row of ``ug``.

    A unit ``u`` all of whose rows are in cluster ``g`` has its dummy in the column space,
    so the cluster's block annihilates ``W_g^{-1/2} 1_u``; ``(g, size, r)``.
    """
    total = np.bincount(g1, minlength=n1)
    size = ug.shape[1]
    if np.all(ug == ug[:, :1]):  # one unit per cluster (clustered by unit): vectorised
        v = np.where((total[ug[:, 0]] == size)[:, None], 1.0 / sg, 0.0)
        nrm = np.linalg.norm(v, axis=1, keepdims=True)
        keep = nrm[:, 0] > 0
        if not keep.any():
            return np.zeros((len(ug), size, 0))
        return (v / np.where(nrm > 0, nrm, 1.0))[:, :, None]
    levels = []
    for r in ug:  # clusters of several units (e.g. pairs): a few units each
        vals, cnt = np.unique(r, return_counts=True)
        levels.append(vals[cnt == total[vals]])
    r_max = max((lv.size for lv in levels), default=0)
    null = np.zeros((len(ug), size, r_max))
    for i, lv in enumerate(levels):
        for k, u_ in enumerate(lv):
            v = np.where(ug[i] == u_, 1.0 / sg[i], 0.0)
            null[i, :, k] = v / np.linalg.norm(v)
    return null


class _ClusterBlocks:
    """``G_g = W_g (I - H_g) W_g`` for a chunk of equal-size clusters: as an operator
    (:meth:`matvec`, never formed: ``D_g K D_g'`` through one product with ``K`` for the
    whole chunk) and, on demand, as dense matrices (:meth:`dense`).

    ``H_g = W_g^{1/2} F_g W_g^{1/2}`` with ``F_g = D_g K D_g' + X~_g B X~_g'``
    (:func:`cr2_twoway`, Notes).
    """

    def __init__(self, idx, Kp, ucol, tcol, Xt, B, w, s, m):
        self.u, self.t = ucol[idx], tcol[idx]
        self.Kp, self.B = Kp, B
        # the operator needs K only on the chunk's units and days
        cols = np.unique(np.concatenate([self.u.ravel(), self.t.ravel()]))
        self.K_loc = Kp[np.ix_(cols, cols)]
        self.u_loc, self.t_loc = np.searchsorted(cols, self.u), np.searchsorted(cols, self.t)
        self.m1 = len(cols)
        self.X = Xt[idx]
        self.w = w[idx]
        self.ws = self.w * s[idx]
        self._flat: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def dense(self, sub: np.ndarray | None = None) -> np.ndarray:
        """The matrices ``(g, size, size)`` (of the clusters ``sub``, default all)."""
        pick = (lambda a: a) if sub is None else (lambda a: a[sub])
        u, t, Xg, wg, ws = (pick(a) for a in (self.u, self.t, self.X, self.w, self.ws))
        Kp = self.Kp
        F = (Kp[u[:, :, None], u[:, None, :]] + Kp[u[:, :, None], t[:, None, :]]
             + Kp[t[:, :, None], u[:, None, :]] + Kp[t[:, :, None], t[:, None, :]])
        F += (Xg @ self.B) @ np.swapaxes(Xg, 1, 2)
        Gm = -ws[:, :, None] * ws[:, None, :] * F
        del F
        size = u.shape[1]
        Gm[:, np.arange(size), np.arange(size)] += wg**2
        return Gm

    def diag(self) -> np.ndarray:
        """The matrices' diagonals ``(g, size)``."""
        Kp, u, t = self.Kp, self.u, self.t
        F = Kp[u, u] + Kp[u, t] + Kp[t, u] + Kp[t, t] + np.einsum(
            "gsp,pq,gsq->gs", self.X, self.B, self.X)
        return self.w**2 - self.ws**2 * F

    def _index(self, q: int) -> tuple[np.ndarray, np.ndarray]:
        """Flat positions of each observation's unit and day column in ``(columns, g, q)``."""
        if q not in self._flat:
            g = self.u.shape[0]
            base = np.arange(g)[:, None, None] * q + np.arange(q)[None, None, :]
            self._flat[q] = ((self.u_loc[:, :, None] * (g * q) + base).ravel(),
                             (self.t_loc[:, :, None] * (g * q) + base).ravel())
        return self._flat[q]

    def matvec(self, V: np.ndarray) -> np.ndarray:
        """``G_g V_g`` for ``V`` ``(g, size, q)``."""
        g, size, q = V.shape
        iu, it = self._index(q)
        x = self.ws[:, :, None] * V
        xf = x.ravel()
        cells = self.m1 * g * q
        DX = np.bincount(iu, xf, cells) + np.bincount(it, xf, cells)  # D_g' x_g, all clusters
        KDX = (self.K_loc @ DX.reshape(self.m1, g * q)).ravel()
        Fx = (KDX[iu] + KDX[it]).reshape(g, size, q)
        Fx += self.X @ (self.B @ np.einsum("gsp,gsq->gpq", self.X, x))
        return self.w[:, :, None] ** 2 * V - self.ws[:, :, None] * Fx


def _lanczos_worth(diag: np.ndarray, size: int) -> np.ndarray:
    """Clusters whose Lanczos runs can converge within :data:`_LANCZOS_MAXIT` steps.

    A symmetric matrix's condition number is at least the ratio of its extreme diagonal
    entries, and Lanczos needs about ``_LANCZOS_STEPS * sqrt(kappa)`` steps for
    :data:`_LANCZOS_TOL` (its error falls like ``((sqrt k - 1)/(sqrt k + 1))^steps``):
    clusters beyond that go to the dense eigensolver without a wasted attempt (e.g. 45
    hot spots with a few crimes a day, whose day effects, and so weights, are noisy).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = diag.max(axis=1) / diag.min(axis=1)
    return (diag.min(axis=1) > 0) & (_LANCZOS_STEPS * np.sqrt(ratio) <= min(size, _LANCZOS_MAXIT))


def _lanczos_inv_sqrt(op: _ClusterBlocks, null: np.ndarray, V: np.ndarray,
                      work: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``G_g^{+1/2} V_g`` for the chunk's clusters by Lanczos, and which clusters converged.

    Each column of each cluster runs its own Lanczos process on ``G_g`` restricted to the
    complement of ``null`` (the exact null space, as in :func:`_inv_sqrt_psd_apply`); the
    clusters' products with ``G_g`` are one batched :meth:`_ClusterBlocks.matvec` per step.
    After ``k`` steps ``x_k = |b| Q_k T_k^{-1/2} e_1`` (``T_k`` the Lanczos tridiagonal
    matrix, solved by LAPACK's tridiagonal eigensolver; Higham 2008, *Functions of
    Matrices*, §13.2).  A run counts as done when ``x`` changes by at most
    :data:`_LANCZOS_TOL` (relative) between two checks, or its Krylov space is exhausted
    (then ``x_k`` is exact); a cluster is returned with ``ok = False`` (for the dense
    eigensolver) when a run has not converged within :data:`_LANCZOS_MAXIT` steps or a
    Ritz value is at or near :data:`EIG_TOL` (where the dense path would zero an
    eigenvalue).  Until a few sampled runs predict convergence (:func:`_next_check`) only
    they are checked; then every open run is.  ``work`` holds the Krylov basis between
    calls (one allocation for all chunks).
    """
    from scipy.linalg.lapack import dstevd as stevd  # eigenpairs of a tridiagonal matrix

    g, n, q = V.shape
    r = null.shape[2]
    nv = null[:, :, 0] if r == 1 else None

    def proj(x):  # (g, n, q): remove the null-space component
        if r == 0:
            return x
        if nv is not None:  # one null vector per cluster (clustered by hot spot)
            return x - nv[:, :, None] * np.einsum("gn,gnq->gq", nv, x)[:, None, :]
        return x - null @ (np.swapaxes(null, 1, 2) @ x)

    def norm(x):  # (g, n, q) -> (g, q)
        return np.sqrt(np.einsum("gnq,gnq->gq", x, x))

    b = proj(V)
    beta0 = norm(b)
    kmax = max(1, min(n - r, _LANCZOS_MAXIT))
    work = {} if work is None else work
    if work.get("Q") is None or work["Q"].size < g * q * kmax * n:
        work["Q"] = np.empty(g * q * kmax * n)
    Q = work["Q"][:g * q * kmax * n].reshape(g, q, kmax, n)  # Lanczos vectors, per run
    alpha = np.zeros((kmax, g, q))
    beta = np.zeros((kmax, g, q))
    dead = beta0 == 0  # Krylov space exhausted (x exact from then on)
    done = dead.copy()  # b = 0: x = 0
    bad = np.zeros((g, q), dtype=bool)
    x = np.zeros((g, n, q))
    # per run: steps of its last three solutions and the changes between them
    k_last, k_prev, k_prev2 = (np.zeros((g, q), dtype=np.int64) for _ in range(3))
    change, change_before = np.full((g, q), np.nan), np.full((g, q), np.nan)
    gi0, qi0 = np.nonzero(~done)
    pick = np.unique(np.linspace(0, len(gi0) - 1, min(len(gi0), _LANCZOS_PROBES)).astype(int))
    probe = np.zeros((g, q), dtype=bool)
    probe[gi0[pick], qi0[pick]] = True
    full = len(gi0) <= _LANCZOS_PROBES
    next_check = _LANCZOS_FIRST_CHECK
    qv = np.where(dead[:, None, :], 0.0, b / np.where(dead, 1.0, beta0)[:, None, :])
    prev = np.zeros_like(qv)
    bprev = np.zeros((g, q))
    scale = np.zeros((g, q))
    for j in range(kmax):  # Lanczos steps, vectorised over clusters and columns
        Q[:, :, j, :] = np.swapaxes(qv, 1, 2)
        wv = op.matvec(qv) - bprev[:, None, :] * prev
        a = np.einsum("gnq,gnq->gq", qv, wv)
        wv = proj(wv - a[:, None, :] * qv)  # (projected last: nothing re-enters the null space)
        bn = norm(wv)
        scale = np.maximum(scale, np.maximum(np.abs(a), bn))
        alpha[j] = np.where(dead, scale, a)  # decoupled steps after exhaustion: any value > 0
        dead = dead | (bn <= 1e-13 * scale)
        beta[j] = np.where(dead, 0.0, bn)
        k = j + 1
        open_ = ~done & ~bad
        if k == kmax or k >= next_check or (dead & open_).any():
            if k == kmax:
                full = True
            gi, qi = np.nonzero(open_ & (probe | full | dead))
            y = np.zeros((g, q, k))
            well = np.ones(len(gi), dtype=bool)
            # the runs checked (a check, not a step: a few per run, each one LAPACK call)
            for i, (c, col) in enumerate(zip(gi, qi, strict=True)):
                lam, U, info = stevd(alpha[:k, c, col], beta[:k - 1, c, col], compute_v=1)
                well[i] = info == 0 and lam[0] > 1e3 * EIG_TOL and lam[0] > 1e-10 * lam[-1]
                if well[i]:
                    y[c, col] = U @ (U[0] / np.sqrt(lam)) * beta0[c, col]
            if 2 * len(gi) < g * q:  # a few runs: their vectors only
                xn = np.matmul(y[gi, qi, None, :], Q[gi, qi, :k, :])[:, 0, :]  # (runs, n)
            else:
                xn = np.matmul(y[:, :, None, :], Q[:, :, :k, :])[gi, qi, 0, :]
            had = k_last[gi, qi] > 0
            ch = np.where(had, np.linalg.norm(xn - x[gi, :, qi], axis=1), np.nan)
            conv = dead[gi, qi] | (had & (ch <= _LANCZOS_TOL * np.linalg.norm(xn, axis=1)))
            x[gi, :, qi] = xn
            k_prev2[gi, qi], k_prev[gi, qi], k_last[gi, qi] = k_prev[gi, qi], k_last[gi, qi], k
            change_before[gi, qi], change[gi, qi] = change[gi, qi], ch
            done[gi, qi] = conv & well
            bad[gi, qi] = ~well
            if (done | bad).all():
                break
            open_ = ~done & ~bad
            if not full and not (probe & open_).any():  # the sample is settled: check all
                full, next_check = True, k + 3
            else:
                next_check, eta = _next_check(k, change, change_before, k_prev, k_prev2, x,
                                              open_ & (k_prev2 > 0))
                if eta > 1.5 * kmax:  # too slow to converge in time: to the dense eigensolver
                    break
                if not full and next_check >= eta:  # the sample should have converged
                    full = True
                elif full and (open_ & (k_last == 0)).any():
                    next_check = min(next_check, k + 3)  # runs seen once: a second solution
        prev, bprev = qv, beta[j]
        qv = np.where(dead[:, None, :], 0.0, wv / np.where(dead, 1.0, bn)[:, None, :])
    return proj(x), done.all(axis=1)


def _next_check(k, change, change_before, k_prev, k_prev2, x, known) -> tuple[int, float]:
    """The step of the next check, and where the slowest of the ``known`` runs converges
    (NaN when no run's rate is known yet).

    ``change`` at a run's last solution is about the error at its solution before
    (step ``k_prev``), ``change_before`` the error at ``k_prev2``, so each run's rate per
    step is known; the next check is where the extrapolated error of the slowest run
    reaches :data:`_LANCZOS_TOL` (at least 3 and at most ``max(8, k/2)`` steps on).  A
    schedule only: convergence is still decided by the change between two solutions.
    """
    if not known.any():
        return k + 6, math.nan  # no rate known yet
    c1, c2 = change_before[known], change[known]
    k1, k2 = k_prev2[known], k_prev[known]
    target = _LANCZOS_TOL * np.sqrt(np.einsum("gnq,gnq->gq", x, x))[known]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.clip(np.nan_to_num((c2 / c1) ** (1.0 / (k2 - k1)), nan=0.999), 1e-6, 0.999)
        kstar = k2 + np.log(target / c2) / np.log(rate)
    kstar = np.where(c2 <= target, k2, np.nan_to_num(kstar, nan=np.inf, posinf=np.inf))
    eta = min(float(kstar.max()), 1e9)
    return int(min(max(math.ceil(eta), k + 3), k + max(8, k // 2))), eta


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
    with one_blas_thread():
        return _cr2_twoway(X, resid, weights, unit, time, cluster)


def _balanced_cells(g1: np.ndarray, n1: int, g2: np.ndarray, n2: int) -> np.ndarray | None:
    """``(n1, n2)`` row index of each unit-day when every cell occurs exactly once, else ``None``."""
    if len(g1) != n1 * n2:
        return None
    cells = g1 * n2 + g2
    idx = np.full(n1 * n2, -1, dtype=np.int64)
    idx[cells] = np.arange(len(cells))
    return idx.reshape(n1, n2) if np.all(idx >= 0) else None


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two code vectors group the rows identically."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == np.unique(a).size == np.unique(b).size


def _cr2_twoway(X, resid, weights, unit, time, cluster) -> CR2Result:
    X = np.asarray(X, dtype=float).reshape(len(resid), -1)
    e = np.asarray(resid, dtype=float)
    w = np.asarray(weights, dtype=float) * np.ones_like(e)
    g1 = np.asarray(unit, dtype=np.int64)
    g2 = np.asarray(time, dtype=np.int64)
    n1, n2 = int(g1.max()) + 1, int(g2.max()) + 1
    cl = g1 if cluster is None else np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    if np.all(w == 1.0) and n1 > 1 and n2 > X.shape[1] + 1 and (
            cluster is None or _same_partition(cl, g1)):
        cells = _balanced_cells(g1, n1, g2, n2)
        if cells is not None:
            return _cr2_balanced_ols(X, e, cells)
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
        gs_all = np.flatnonzero(sizes == size)
        iterative = size >= _LANCZOS_MIN
        cells = (_LANCZOS_CELLS // (int(size) * (p + 1) * min(int(size), _LANCZOS_MAXIT))
                 if iterative else _CLUSTER_CELLS // int(size) ** 2)
        step = max(1, cells)
        work: dict = {}  # the Lanczos basis, allocated once for the chunks of this size
        for c0 in range(0, len(gs_all), step):  # memory-bounded chunks of clusters
            gs = gs_all[c0:c0 + step]
            idx = order[starts[gs][:, None] + np.arange(size)[None, :]]  # (g, size)
            Xg = Xt[idx]  # (g, size, p)
            null = _nested_null(g1[idx], g1, n1, s[idx])
            # A_g [e_g, X~_g] with A_g = S_g Gm^{+1/2} S_g, never formed
            rhs = s[idx][:, :, None] * np.concatenate([e[idx][:, :, None], Xg], axis=2)
            blocks = _ClusterBlocks(idx, Kp, ucol, tcol, Xt, B, w, s, m)
            AV = np.empty_like(rhs)
            lanczos = _lanczos_worth(blocks.diag(), int(size)) if iterative else np.zeros(
                len(gs), dtype=bool)
            dense = np.flatnonzero(~lanczos)
            if lanczos.any():
                sub = np.flatnonzero(lanczos)
                op = blocks if lanczos.all() else _ClusterBlocks(idx[sub], Kp, ucol, tcol, Xt,
                                                                 B, w, s, m)
                AV[sub], ok = _lanczos_inv_sqrt(op, null[sub], rhs[sub], work)
                # slow or near-singular clusters: the dense eigensolver
                dense = np.sort(np.concatenate([dense, sub[~ok]]))
            dstep = max(1, _CLUSTER_CELLS // int(size) ** 2)
            for d0 in range(0, len(dense), dstep):  # memory-bounded chunks of dense blocks
                sub = dense[d0:d0 + dstep]
                AV[sub] = _inv_sqrt_psd_apply(blocks.dense(sub), null[sub], rhs[sub])
            AV *= s[idx][:, :, None]
            Ae, AX = AV[:, :, 0], AV[:, :, 1:]
            ug = np.einsum("gip,gi->gp", Xg, Ae)
            meat += ug.T @ ug
            V_rows[idx] = AX @ B
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


def _cr2_balanced_ols(X: np.ndarray, e: np.ndarray, cells: np.ndarray) -> CR2Result:
    """:func:`cr2_twoway` for OLS on a balanced panel clustered by unit, in closed form.

    With ``N`` units, ``T`` days and ``x~`` the two-way demeaned regressors,
    the fixed-effects block of unit ``g``'s hat matrix is
    ``I/N + (1 - 1/N) 11'/T``, so
    ``I - H_gg = c Q - X~_g B X~_g'`` (``c = 1 - 1/N``, ``Q = I - 11'/T``,
    ``X~_g`` inside ``Q``'s range).  With the thin SVD
    ``X~_g L = U diag(s) V'`` (``B = L L'``) its generalised inverse square
    root is ``A_g = c^{-1/2} (Q - UU') + U diag((c - s^2)^{-1/2}) U'`` (no
    ``T x T`` matrix is formed), and for coefficient ``j``
    (``v_g = A_g X~_g B_j``, summing to zero within the unit)
    ``P = diag(|v_g|^2) - (1/N) [v_g'v_h] - (X~_g'v_g)' B (X~_h'v_h)``, as in
    :func:`ols_twoway_batch` — the same numbers as the general path.
    """
    N, T = cells.shape
    p = X.shape[1]
    Xc = X[cells]  # (N, T, p)
    Xg = Xc - Xc.mean(axis=1, keepdims=True) - Xc.mean(axis=0, keepdims=True) + Xc.mean(
        axis=(0, 1), keepdims=True)
    eg = e[cells]
    eg = eg - eg.mean(axis=1, keepdims=True)  # Q e_g (A_g annihilates 1 anyway)
    B = np.linalg.inv(np.einsum("gtp,gtq->pq", Xg, Xg))
    L = np.linalg.cholesky(B)
    U, sv, _ = np.linalg.svd(Xg @ L, full_matrices=False)  # (N, T, p), (N, p)
    c = 1.0 - 1.0 / N
    lam = c - sv**2
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(lam > EIG_TOL, 1.0 / np.sqrt(np.where(lam > EIG_TOL, lam, 1.0)), 0.0)
    f = f - 1.0 / math.sqrt(c)

    def apply_a(V: np.ndarray) -> np.ndarray:  # A_g V_g for (N, T, q) inside Q's range
        return V / math.sqrt(c) + U @ (f[:, :, None] * (np.swapaxes(U, 1, 2) @ V))

    Ae = apply_a(eg[:, :, None])[:, :, 0]
    ug = np.einsum("gtp,gt->gp", Xg, Ae)
    cov = B @ (ug.T @ ug) @ B
    Vg = apply_a(Xg) @ B  # (N, T, p): v_g for every coefficient
    df = np.empty(p)
    for j in range(p):  # a handful of coefficients
        v = Vg[:, :, j]
        XV = np.einsum("gtp,gt->pg", Xg, v)
        Pm = -(v @ v.T) / N - XV.T @ B @ XV
        Pm[np.arange(N), np.arange(N)] += (v * v).sum(axis=1)
        df[j] = np.trace(Pm) ** 2 / np.sum(Pm * Pm)
    return CR2Result(cov=cov, df=df, clusters=N)


# ---------------------------------------------------------------------------
# batched balanced panels (simulation studies: many trials at once)
# ---------------------------------------------------------------------------


def _active_masks(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Units and days with events, after repeatedly dropping all-zero ones (as :func:`ppml_fe`)."""
    R, N, T = Y.shape
    uok = np.ones((R, N), dtype=bool)
    tok = np.ones((R, T), dtype=bool)
    for _ in range(10):  # drop all-zero groups until none is left (vectorised over trials)
        act = uok[:, :, None] & tok[:, None, :]
        nu = (np.where(act, Y, 0).sum(axis=2) > 0) & uok
        nt = (np.where(act, Y, 0).sum(axis=1) > 0) & tok
        if np.array_equal(nu, uok) and np.array_equal(nt, tok):
            break
        uok, tok = nu, nt
    return uok, tok


def poisson_twoway_batch(Y: np.ndarray, Z: np.ndarray, *, maxit: int = 50, tol: float = 1e-10
                         ) -> dict[str, np.ndarray]:
    """Two-way FE Poisson log rate ratio with CR2/Satterthwaite and CR1 SEs, for many balanced panels.

    ``Y``, ``Z`` ``(R, N, T)``: counts and the 0/1 regressor of ``R`` trials
    (``N`` hot spots = clusters, ``T`` days).  Returns arrays of length ``R``:
    ``estimate`` (log IRR), ``se_cr2``, ``df_cr2``, ``se_cr1`` (``G/(G-1)``
    sandwich, ``G`` = ``N``), ``se_model`` (plain Poisson), ``valid`` (False
    where separation leaves no finite estimate).  Each trial's numbers equal
    :func:`rct.evaluate.crossover.crossover_poisson` (``vcov="CR2"`` /
    ``"CR1"``) on that trial's panel.

    Notes
    -----
    Full Newton steps on ``(b, a, g)`` (the unit block eliminated by its
    Schur complement; the ``a + c, g - c`` direction fixed by a penalty on
    ``sum g`` that leaves the fitted means unchanged), hot spots and days
    without events masked out; then :func:`cr2_twoway`'s formulas with the
    inverse information ``M`` of the full model (any generalised inverse
    gives the same projection).
    """
    with one_blas_thread():
        return _poisson_twoway_batch(np.asarray(Y, dtype=float), np.asarray(Z, dtype=float),
                                     maxit, tol)


def _poisson_twoway_batch(Y, Z, maxit, tol):
    R, N, T = Y.shape
    uok, tok = _active_masks(Y)
    act = uok[:, :, None] & tok[:, None, :]
    c1 = np.where(act & (Z == 1), Y, 0).sum(axis=(1, 2))
    c0 = np.where(act & (Z == 0), Y, 0).sum(axis=(1, 2))
    valid = (c1 > 0) & (c0 > 0)
    actf = act.astype(float)
    ybar_u = np.where(act, Y, 0).sum(axis=2) / np.maximum(actf.sum(axis=2), 1)
    a = np.where(uok, np.log(np.where(uok, ybar_u, 1.0)), -50.0)
    g = np.zeros((R, T))
    b = np.zeros(R)
    Yc = np.where(act, Y, 0.0)
    for _ in range(maxit):  # Newton iterations, vectorised over trials
        eta = a[:, :, None] + g[:, None, :] + b[:, None, None] * Z
        mu = np.where(act, np.exp(np.minimum(eta, 50.0)), 0.0)
        r = Yc - mu
        sb = (Z * r).sum(axis=(1, 2))
        sa = r.sum(axis=2)
        sg = r.sum(axis=1)
        hbb = (Z * Z * mu).sum(axis=(1, 2))
        hba = (Z * mu).sum(axis=2)  # (R, N)
        hbg = (Z * mu).sum(axis=1)  # (R, T)
        haa = np.where(uok, mu.sum(axis=2), 1.0)
        hgg = np.where(tok, mu.sum(axis=1), 1.0)
        # Schur complement on theta = (b, g)
        ia = 1.0 / haa
        S = np.zeros((R, T + 1, T + 1))
        S[:, 0, 0] = hbb - (hba * hba * ia).sum(axis=1)
        cross = hbg - np.einsum("rn,rn,rnt->rt", hba, ia, mu)
        S[:, 0, 1:] = cross
        S[:, 1:, 0] = cross
        S[:, 1:, 1:] = -np.swapaxes(mu, 1, 2) @ (ia[:, :, None] * mu)
        S[:, np.arange(1, T + 1), np.arange(1, T + 1)] += hgg
        pen = tok.astype(float)
        S[:, 1:, 1:] += pen[:, :, None] * pen[:, None, :]  # gauge: sum of active g
        rhs = np.empty((R, T + 1))
        rhs[:, 0] = sb - (hba * ia * sa).sum(axis=1)
        rhs[:, 1:] = np.where(tok, sg, 0.0) - np.einsum("rnt,rn,rn->rt", mu, ia, sa) \
            - pen * np.where(tok, g, 0.0).sum(axis=1, keepdims=True)
        bad = ~valid  # separated trials: b held at 0 (reported as NaN)
        S[bad, 0, :] = 0.0
        S[bad, :, 0] = 0.0
        S[bad, 0, 0] = 1.0
        rhs[bad, 0] = 0.0
        # a whisker of ridge keeps a fixed effect sent to -inf (cells fitted exactly) finite
        S[:, np.arange(T + 1), np.arange(T + 1)] += 1e-12 * np.abs(S).max(axis=(1, 2))[:, None]
        step = np.linalg.solve(S, rhs[:, :, None])[:, :, 0]
        db, dg = step[:, 0], np.where(tok, step[:, 1:], 0.0)
        da = np.where(uok, ia * (sa - hba * db[:, None] - np.einsum("rnt,rt->rn", mu, dg)), 0.0)
        db = np.where(valid, np.clip(db, -2, 2), 0.0)
        b, g, a = b + db, g + np.clip(dg, -5, 5), a + np.clip(da, -5, 5)
        if np.max(np.abs(db), initial=0) < tol and np.max(np.abs(dg), initial=0) < tol:
            break
    eta = a[:, :, None] + g[:, None, :] + b[:, None, None] * Z
    mu = np.where(act, np.exp(np.minimum(eta, 50.0)), 0.0)
    e = Yc - mu
    se2, df2, se1, ident, sem = _cr2_twoway_batch(Z, mu, e, act, uok, tok, valid)
    valid = valid & ident & np.isfinite(b) & (np.abs(b) < 25)
    out = {"estimate": np.where(valid, b, np.nan), "valid": valid}
    out["se_cr2"] = np.where(valid, se2, np.nan)
    out["df_cr2"] = np.where(valid, df2, np.nan)
    out["se_cr1"] = np.where(valid, se1, np.nan)
    out["se_model"] = np.where(valid, sem, np.nan)
    return out


def _cr2_twoway_batch(Z, mu, e, act, uok, tok, valid):
    """CR2 SE, Satterthwaite df and CR1 SE of the regressor of balanced two-way FE fits."""
    R, N, T = Z.shape
    P = 1 + N + T
    # full information matrix on (b, a, g) with the gauge penalty, and its inverse M
    Hm = np.zeros((R, P, P))
    Hm[:, 0, 0] = (Z * Z * mu).sum(axis=(1, 2))
    Hm[:, 0, 1:N + 1] = Hm[:, 1:N + 1, 0] = (Z * mu).sum(axis=2)
    Hm[:, 0, N + 1:] = Hm[:, N + 1:, 0] = (Z * mu).sum(axis=1)
    iu, it = np.arange(1, N + 1), np.arange(N + 1, P)
    Hm[:, iu, iu] = np.where(uok, mu.sum(axis=2), 1.0)
    Hm[:, it, it] = np.where(tok, mu.sum(axis=1), 1.0)
    Hm[:, 1:N + 1, N + 1:] = mu
    Hm[:, N + 1:, 1:N + 1] = np.transpose(mu, (0, 2, 1))
    pen = tok.astype(float)
    Hm[:, N + 1:, N + 1:] += pen[:, :, None] * pen[:, None, :]
    Hm[~valid] = np.eye(P)  # separated trials: NaN anyway
    Hm[:, np.arange(P), np.arange(P)] += 1e-12 * np.abs(Hm).max(axis=(1, 2))[:, None]
    M = np.linalg.inv(Hm)
    Mbb, Mba, Mbg = M[:, 0, 0], M[:, 0, 1:N + 1], M[:, 0, N + 1:]
    # the regressor (numerically) inside the fixed effects' span: not identified
    ident = Mbb * Hm[:, 0, 0] < 1e8
    Maa, Mag, Mgg = M[:, 1:N + 1, 1:N + 1], M[:, 1:N + 1, N + 1:], M[:, N + 1:, N + 1:]
    # q_it = (M X')_b: the b-row of M times each observation's design row (x, e_i, e_t)
    q = Mbb[:, None, None] * Z + Mba[:, :, None] + Mbg[:, None, :]
    q = np.where(act, q, 0.0)
    G = N
    se1 = np.sqrt((q * e).sum(axis=2).__pow__(2).sum(axis=1) * G / (G - 1))
    # per cluster: X_i M X_i' (T x T)
    maa = np.einsum("rii->ri", Maa)  # (R, N)
    XMX = (Mbb[:, None, None, None] * Z[:, :, :, None] * Z[:, :, None, :]
           + Z[:, :, :, None] * (Mba[:, :, None, None] + Mbg[:, None, None, :])
           + Z[:, :, None, :] * (Mba[:, :, None, None] + Mbg[:, None, :, None])
           + maa[:, :, None, None]
           + Mag[:, :, None, :] + Mag[:, :, :, None]
           + Mgg[:, None, :, :])
    s = np.sqrt(mu)
    ws = mu * s
    Gm = -ws[:, :, :, None] * ws[:, :, None, :] * XMX
    Gm[:, :, np.arange(T), np.arange(T)] += mu**2
    Gm = np.where(act[:, :, :, None] & act[:, :, None, :], Gm, 0.0)
    nv = np.where(act, 1.0 / np.where(act, s, 1.0), 0.0)
    nn = np.linalg.norm(nv, axis=2, keepdims=True)
    nv = np.where(nn > 0, nv / np.where(nn > 0, nn, 1.0), 0.0)
    # v = A q with A = S G^{+1/2} S (S = diag sqrt(mu)), applied without forming A
    v = _inv_sqrt_psd_apply(Gm.reshape(R * N, T, T), nv.reshape(R * N, T, 1),
                            (s * q).reshape(R * N, T, 1)).reshape(R, N, T) * s
    se2 = np.sqrt(((v * e).sum(axis=2) ** 2).sum(axis=1))
    # Satterthwaite: P = Z'WZ - (X'WZ)' M (X'WZ), Z's column i = v_i in cluster i
    wv = mu * v
    XWZ = np.zeros((R, P, N))
    XWZ[:, 0, :] = (Z * wv).sum(axis=2)
    XWZ[:, iu, np.arange(N)] = wv.sum(axis=2)
    XWZ[:, N + 1:, :] = np.transpose(wv, (0, 2, 1))
    Pm = -np.swapaxes(XWZ, 1, 2) @ (M @ XWZ)
    Pm[:, np.arange(N), np.arange(N)] += (wv * v).sum(axis=2)
    tr = np.einsum("rii->r", Pm)
    df = tr**2 / np.einsum("rij,rij->r", Pm, Pm)
    return se2, df, se1, ident, np.sqrt(np.maximum(Mbb, 0.0))


def ols_twoway_batch(Y: np.ndarray, Z: np.ndarray) -> dict[str, np.ndarray]:
    """Two-way FE OLS coefficient with CR2/Satterthwaite and CR1S SEs, for many balanced panels.

    ``Y``, ``Z`` ``(R, N, T)``; returns ``estimate``, ``se_cr2``, ``df_cr2``,
    ``se_cr1s`` (arrays of length ``R``), each trial's
    :func:`rct.evaluate.crossover.crossover_fe` numbers.

    Notes
    -----
    In a balanced panel the fixed-effects block of cluster ``i``'s hat matrix
    is ``I/N + (1 - 1/N) 11'/T``, so with ``x~`` the two-way demeaned
    regressor and ``S = x~'x~``,
    ``I - H_ii = (1 - 1/N) Q - x~_i x~_i' / S`` (``Q = I - 11'/T``): its
    generalised inverse square root is closed form (eigenvalue
    ``c = 1 - 1/N`` on ``Q``'s range orthogonal to ``x~_i``,
    ``c - |x~_i|^2/S`` along ``x~_i``).  The CR2 variance is
    ``sum_i k_i^2 (x~_i'e_i)^2`` with ``k_i = (c - |x~_i|^2/S)^{-1/2}/S``, and
    the Satterthwaite matrix ``P = Z'(I - H)Z`` for ``z_i = k_i x~_i`` is
    ``diag|z_i|^2 - (1/N) [z_i'z_j] - (k_i |x~_i|^2)(k_j |x~_j|^2)/S``.
    """
    Y = np.asarray(Y, dtype=float)
    Z = np.asarray(Z, dtype=float)
    R, N, T = Y.shape

    def within(A):
        return A - A.mean(axis=2, keepdims=True) - A.mean(axis=1, keepdims=True) + A.mean(
            axis=(1, 2), keepdims=True)

    xt, yt = within(Z), within(Y)
    S = (xt * xt).sum(axis=(1, 2))
    b = (xt * yt).sum(axis=(1, 2)) / S
    e = yt - b[:, None, None] * xt
    c = 1.0 - 1.0 / N
    n2 = (xt * xt).sum(axis=2)  # (R, N)
    lam = c - n2 / S[:, None]
    k = np.where(lam > EIG_TOL, 1.0 / np.sqrt(np.where(lam > EIG_TOL, lam, 1.0)), 0.0) / S[:, None]
    xe = (xt * e).sum(axis=2)
    se2 = np.sqrt(((k * xe) ** 2).sum(axis=1))
    n, p = N * T, 1 + N + T - 1
    se1 = np.sqrt((xe**2).sum(axis=1) / S**2 * N / (N - 1) * (n - 1) / (n - p))
    z = k[:, :, None] * xt
    f = k * n2
    Pm = -(z @ np.swapaxes(z, 1, 2)) / N - f[:, :, None] * f[:, None, :] / S[:, None, None]
    Pm[:, np.arange(N), np.arange(N)] += (z * z).sum(axis=2)
    df = np.einsum("rii->r", Pm) ** 2 / np.einsum("rij,rij->r", Pm, Pm)
    return {"estimate": b, "se_cr2": se2, "df_cr2": df, "se_cr1s": se1}
