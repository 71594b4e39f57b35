"""Fixed-effects engines for the crossover estimators (private; see :mod:`rct.evaluate.crossover`).

* :func:`ppml_fe` — Poisson pseudo-maximum likelihood with two sets of fixed
  effects and cluster-robust covariance;
* :class:`TwoWayFE`, :class:`ConditionalPoissonLogRR` — vectorised statistics
  (a whole batch of assignments at once) for :mod:`rct.evaluate.ri`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["ppml_fe", "PPMLFit", "TwoWayFE", "ConditionalPoissonLogRR"]

_CHUNK_CELLS = 500_000  # float64 cells per batch (~4 MB), as rct.evaluate.ri_null


def _codes(values: Any) -> tuple[np.ndarray, int]:
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64), len(uniques)


def _wdemean(X: np.ndarray, w: np.ndarray, g1: np.ndarray, n1: int, g2: np.ndarray,
             n2: int, *, tol: float = 1e-12, maxit: int = 500) -> np.ndarray:
    """Residuals of X after weighted projection on two sets of dummies (alternating projections)."""
    Xt = X.copy()
    sw1 = np.bincount(g1, w, n1)
    sw2 = np.bincount(g2, w, n2)
    for _ in range(maxit):  # convergence iterations, vectorised over rows and columns
        old = Xt.copy()
        for g, n, sw in ((g1, n1, sw1), (g2, n2, sw2)):
            m = np.stack([np.bincount(g, w * Xt[:, j], n) for j in range(Xt.shape[1])], axis=1)
            Xt -= (m / np.where(sw > 0, sw, 1.0)[:, None])[g]
        if np.max(np.abs(Xt - old)) < tol * (1 + np.max(np.abs(Xt))):
            break
    return Xt


def _fe_given_xb(s1, s2, g1, n1, g2, n2, xb, g, *, maxit, tol):
    """Fixed effects ``(a, g)`` given ``xb``: alternate their closed forms until ``g`` settles."""
    for _ in range(maxit):
        g_old = g
        a = np.log(s1) - np.log(np.bincount(g1, np.exp(g[g2] + xb), n1))
        g = np.log(s2) - np.log(np.bincount(g2, np.exp(a[g1] + xb), n2))
        if np.max(np.abs(g - g_old)) < tol:
            break
    return a, g


def _weighted_within(X, a, g, xb, g1, n1, g2, n2):
    """``(mu, X~, H)``: fitted means, ``X`` demeaned with weights ``mu``, ``H = X~' diag(mu) X~``."""
    mu = np.exp(a[g1] + g[g2] + xb)
    Xt = _wdemean(X, mu, g1, n1, g2, n2)
    return mu, Xt, Xt.T @ (mu[:, None] * Xt)


@dataclass(frozen=True)
class PPMLFit:
    """A two-way fixed-effects Poisson fit (see :func:`ppml_fe`)."""

    params: np.ndarray
    cov: np.ndarray
    n: int
    n_dropped: int
    clusters: int
    iterations: int
    details: dict = field(default_factory=dict)
    df: np.ndarray | None = None  # reference t df per coefficient (inf: normal)
    vcov: str = "CR1"


def ppml_fe(
    y: np.ndarray,
    X: np.ndarray,
    unit_codes: np.ndarray,
    time_codes: np.ndarray,
    *,
    cluster: np.ndarray | None = None,
    se: Literal["cluster", "model"] = "cluster",
    vcov: Literal["CR2", "CR1"] = "CR2",
    tol: float = 1e-10,
    maxit: int = 100,
) -> PPMLFit:
    """Poisson (pseudo-)maximum likelihood with two sets of fixed effects.

    Notes
    -----
    Maximises ``sum y log mu - mu`` with ``log mu_it = a_i + g_t + x_it' b``.
    Given ``b``, the fixed effects have closed forms
    (``a_i = log sum_t y_it - log sum_t exp(g_t + x_it' b)``, likewise
    ``g_t``); ``b`` takes Newton steps on the profile likelihood using
    ``x~``, ``x`` with the fixed effects partialled out by weighted
    (``mu``) alternating projections.  Units or days with no events carry no
    information and are dropped (as ``fixest::fepois`` does), but still count
    as clusters (``G`` is the number of hot spots, as R ``glm`` +
    ``sandwich::vcovCL`` count them).  Covariance with ``se="cluster"``:
    ``vcov="CR2"`` (default) the bias-reduced linearisation with
    Satterthwaite df (:func:`rct.evaluate._cr2.cr2_twoway`; R
    ``clubSandwich::vcovCR(type = "CR2")``), or ``vcov="CR1"``
    ``H^{-1} M H^{-1} G/(G-1)`` with ``H = sum mu x~ x~'`` and ``M`` the
    outer product of cluster sums of ``x~ (y - mu)`` (R ``vcovCL(type =
    "HC0", cadjust = TRUE)``), df ``G - 1``; with ``se="model"`` ``H^{-1}``
    (the plain Poisson variance, too small under overdispersion).
    Santos Silva & Tenreyro (2006); Correia, Guimarães & Zylkin (2020).
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    g1 = np.asarray(unit_codes)
    g2 = np.asarray(time_codes)
    cl = g1 if cluster is None else np.asarray(cluster)
    G = int(np.unique(cl).size)  # all clusters, including any dropped for having no events
    keep = np.ones(len(y), dtype=bool)
    for _ in range(10):  # drop all-zero groups until none is left
        s1 = np.bincount(g1[keep], y[keep], g1.max() + 1)
        s2 = np.bincount(g2[keep], y[keep], g2.max() + 1)
        new = keep & (s1[g1] > 0) & (s2[g2] > 0)
        if new.sum() == keep.sum():
            break
        keep = new
    n_dropped = int((~keep).sum())
    y, X, g1, g2, cl = y[keep], X[keep], g1[keep], g2[keep], cl[keep]
    _, g1 = np.unique(g1, return_inverse=True)
    _, g2 = np.unique(g2, return_inverse=True)
    n1, n2 = g1.max() + 1, g2.max() + 1
    s1, s2 = np.bincount(g1, y, n1), np.bincount(g2, y, n2)
    b = np.zeros(X.shape[1])
    a = np.log(s1 / np.bincount(g1, minlength=n1))
    g = np.zeros(n2)
    it = 0
    for it in range(1, maxit + 1):  # noqa: B007  (Newton iterations; `it` reported)
        xb = X @ b
        a, g = _fe_given_xb(s1, s2, g1, n1, g2, n2, xb, g, maxit=50, tol=1e-12)
        mu, Xt, H = _weighted_within(X, a, g, xb, g1, n1, g2, n2)
        step = np.linalg.solve(H, Xt.T @ (y - mu))
        b = b + step
        if np.max(np.abs(step)) < tol:
            break
    xb = X @ b
    a, g = _fe_given_xb(s1, s2, g1, n1, g2, n2, xb, g, maxit=200, tol=1e-13)
    mu, Xt, H = _weighted_within(X, a, g, xb, g1, n1, g2, n2)
    Hi = np.linalg.inv(H)
    _, clc = np.unique(cl, return_inverse=True)
    p = X.shape[1]
    if se == "cluster" and vcov == "CR2":
        from rct.evaluate._cr2 import cr2_twoway

        res = cr2_twoway(X, y - mu, mu, g1, g2, clc)
        cov, df = res.cov, res.df
    elif se == "cluster" and vcov == "CR1":
        S = np.stack([np.bincount(clc, Xt[:, j] * (y - mu), clc.max() + 1) for j in range(p)], axis=1)
        cov = Hi @ (S.T @ S) @ Hi * (G / (G - 1))
        df = np.full(p, float(G - 1))
    elif se == "model":
        cov, df = Hi, np.full(p, np.inf)
    elif se != "cluster":
        raise ValueError(f"se must be one of ('cluster', 'model'), got {se!r}")
    else:
        raise ValueError(f"vcov must be one of ('CR2', 'CR1'), got {vcov!r}")
    return PPMLFit(params=b, cov=cov, n=int(len(y)), n_dropped=n_dropped, clusters=G,
                   iterations=it, df=df, vcov=vcov if se == "cluster" else "model",
                   details={"deviance_mu_sum": float(mu.sum()), "mu": mu, "keep": keep})


class TwoWayFE:
    """OLS coefficient of Z with unit and time fixed effects, for a batch of assignments.

    ``T(Z, y) = <M Z, y> / <M Z, Z>`` with ``M`` the two-way within
    (annihilator) transform — by Frisch–Waugh–Lovell the coefficient
    :func:`crossover_fe` reports.  Linear in ``y``.  A balanced panel is
    demeaned in one pass (``z - zbar_i. - zbar_.t + zbar``); otherwise by
    alternating projections.
    """

    name = "two-way fixed-effects OLS coefficient"
    linear = True
    scale = "difference"

    def __init__(self, unit_codes: Any, time_codes: Any) -> None:
        self.u, self.nu = _codes(unit_codes)
        self.t, self.nt = _codes(time_codes)
        cells = self.u * self.nt + self.t
        self.balanced = len(cells) == self.nu * self.nt and np.unique(cells).size == len(cells)
        self.order = np.argsort(cells, kind="stable")
        self.sorted = bool(np.all(self.order == np.arange(len(cells))))

    def within(self, Z: np.ndarray) -> np.ndarray:
        if self.balanced:
            G = (Z if self.sorted else Z[:, self.order]).reshape(Z.shape[0], self.nu, self.nt)
            G = G - G.mean(axis=2, keepdims=True) - G.mean(axis=1, keepdims=True) + G.mean(
                axis=(1, 2), keepdims=True)
            if self.sorted:
                return G.reshape(Z.shape[0], -1)
            out = np.empty_like(Z)
            out[:, self.order] = G.reshape(Z.shape[0], -1)
            return out
        W = Z.copy()
        cu = np.bincount(self.u, minlength=self.nu)
        ct = np.bincount(self.t, minlength=self.nt)
        Su = _onehot(self.u, self.nu)
        St = _onehot(self.t, self.nt)
        for _ in range(1000):  # alternating projections (convergence loop)
            old = W
            W = W - (Su.T @ W.T).T[:, self.u] / cu[self.u]
            W = W - (St.T @ W.T).T[:, self.t] / ct[self.t]
            if np.max(np.abs(W - old)) < 1e-12:
                break
        return W

    def __call__(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.score_many(Z, [y])[0]

    def score_many(self, Z: np.ndarray, ys: list[np.ndarray]) -> list[np.ndarray]:
        """``[T(Z, y) for y in ys]`` with ``Z``'s conversion and ``<MZ, Z>`` computed once.

        ``Z`` may be a compact integer (``int8``) 0/1 matrix: its sums are then
        taken in exact integer arithmetic (the float sums of small integers are
        exact too, so the numbers are the same).
        """
        if not self.balanced:
            MZ = self.within(np.asarray(Z, dtype=np.float64))
            den = np.einsum("ij,ij->i", MZ, np.asarray(Z, dtype=np.float64))
            with np.errstate(divide="ignore", invalid="ignore"):
                return [np.where(den > 1e-9 * Z.shape[1], (MZ @ np.asarray(y, dtype=float)) / den,
                                 np.nan) for y in ys]
        # <MZ, y> = <Z, My> (M symmetric); <MZ, Z> from row / column sums of Z
        exact = Z.dtype.kind in "iub"
        acc = {"dtype": np.int64} if exact else {}
        G = (Z if self.sorted else Z[:, self.order]).reshape(Z.shape[0], self.nu, self.nt)
        rs, cs = G.sum(axis=2, **acc), G.sum(axis=1, **acc)
        tot = rs.sum(axis=1)
        zz = np.einsum("ij,ij->i", Z, Z, dtype=np.int64) if exact else np.einsum("ij,ij->i", Z, Z)
        rs, cs, tot, zz = (np.asarray(v, dtype=np.float64) for v in (rs, cs, tot, zz))
        den = (zz - (rs**2).sum(axis=1) / self.nt
               - (cs**2).sum(axis=1) / self.nu + tot**2 / (self.nu * self.nt))
        Zf = np.asarray(Z, dtype=np.float64)
        out = []
        for y in ys:  # a couple of outcomes
            num = Zf @ self.within(np.asarray(y, dtype=float)[None, :])[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                out.append(np.where(den > 1e-9 * Z.shape[1], num / den, np.nan))
        return out


def _onehot(codes: np.ndarray, n: int) -> Any:
    from scipy import sparse

    return sparse.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), codes)),
                             shape=(len(codes), n))


class ConditionalPoissonLogRR:
    """Log rate ratio from a Poisson model stratified by unit (conditional MLE), batched.

    For unit ``i`` with ``Y_i`` events over ``T_i`` unit-days, ``T1_i`` of
    them tasked with ``Y1_i`` events, the conditional (on ``Y_i``)
    likelihood gives ``Y1_i ~ Binomial(Y_i, T1_i e^b / (T1_i e^b + T0_i))``;
    ``b`` solves ``sum_i Y1_i - Y_i T1_i e^b / (T1_i e^b + T0_i) = 0``
    (Newton steps, vectorised over assignments; clipped to ±20 when all
    events fall in one arm).  Equals the Poisson MLE with unit fixed
    effects.  For multiplicative-effect randomisation inference.
    """

    name = "conditional Poisson log rate ratio (hot-spot strata)"
    linear = False
    scale = "log_ratio"

    def __init__(self, unit_codes: Any) -> None:
        self.u, self.nu = _codes(unit_codes)
        self.order = np.argsort(self.u, kind="stable")
        self.sorted = bool(np.all(self.order == np.arange(len(self.u))))
        counts = np.bincount(self.u, minlength=self.nu)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.T = counts.astype(float)

    def _unit_sums(self, A: np.ndarray) -> np.ndarray:
        A = A if self.sorted else A[:, self.order]
        return np.add.reduceat(A, self.starts, axis=1)

    def _chunked_sums(self, Z: np.ndarray, *vs: np.ndarray) -> list[np.ndarray]:
        """Per-unit sums of ``Z * v`` for each ``v`` and of ``Z``, in memory-bounded row chunks.

        ``Z`` may be a compact (``int8``) 0/1 matrix: each chunk is converted
        to float64 once, never the whole matrix.
        """
        B, n = Z.shape
        out = [np.empty((B, self.nu)) for _ in range(len(vs) + 1)]
        rows = max(1, _CHUNK_CELLS // max(n, 1))
        for s in range(0, B, rows):  # chunking only; each chunk is one batch
            Zc = np.asarray(Z[s:s + rows], dtype=np.float64)
            for k, v in enumerate(vs):
                out[k][s:s + rows] = self._unit_sums(Zc * v)
            out[-1][s:s + rows] = self._unit_sums(Zc)
        return out

    def __call__(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        Y = np.bincount(self.u, y, self.nu)
        Y1, T1 = self._chunked_sums(Z, np.asarray(y, dtype=np.float64))
        return self._solve(Y1, T1, Y)

    def shift_family(self, Z: np.ndarray, y: np.ndarray, z_obs: np.ndarray) -> Any:
        """``tau -> T(Z, y exp(-tau z_obs))`` for many ``tau`` at the cost of one evaluation.

        Under the hypothesis of a constant rate ratio ``exp(tau)`` the control
        outcomes are ``y exp(-tau z_obs)``; their per-unit sums over any
        assignment are ``A + exp(-tau) B`` with ``A`` (``B``) the sums over
        the observed-untasked (-tasked) cells.  So the reductions over the
        ``(B, n)`` assignment matrix happen once, and each ``tau`` costs only
        the Newton solve on ``(B, units)`` arrays — what the randomisation
        interval's bisection needs.
        """
        return self.shift_families(Z, [y], z_obs)[0]

    def shift_families(self, Z: np.ndarray, ys: list[np.ndarray], z_obs: np.ndarray) -> list[Any]:
        """:meth:`shift_family` of each outcome in ``ys``, from one pass over ``Z``."""
        z_obs = np.asarray(z_obs, dtype=np.float64)
        parts = []
        for y in ys:
            y = np.asarray(y, dtype=np.float64)
            parts += [y * (1.0 - z_obs), y * z_obs]
        sums = self._chunked_sums(Z, *parts)
        T1 = sums[-1]
        return [self._family(sums[2 * j], sums[2 * j + 1], T1,
                             np.bincount(self.u, parts[2 * j], self.nu),
                             np.bincount(self.u, parts[2 * j + 1], self.nu))
                for j in range(len(ys))]

    def _family(self, A, Bm, T1, Y_un, Y_tk):
        def at(tau: float) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                e = math.exp(-tau) if abs(tau) < 700 else (0.0 if tau > 0 else math.inf)
            return self._solve(A + e * Bm, T1, Y_un + e * Y_tk)

        return at

    def _solve(self, Y1: np.ndarray, T1: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """The conditional MLE ``b`` per row from unit sums (events tasked, days tasked, events)."""
        T0 = self.T - T1
        Y0 = Y - Y1
        # start from the Mantel-Haenszel estimate
        num = (Y1 * T0 / self.T).sum(axis=1)
        den = (Y0 * T1 / self.T).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.clip(np.log(num / den), -20, 20)
        b = np.where(np.isfinite(b), b, 0.0)
        for _ in range(50):  # Newton iterations, vectorised over the batch
            e = np.exp(b)[:, None]
            d = T1 * e + T0
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(d > 0, T1 * e / d, 0.0)
                f = (Y1 - Y * frac).sum(axis=1)
                fp = -(Y * np.where(d > 0, T1 * T0 * e / d**2, 0.0)).sum(axis=1)
            step = np.where(fp < 0, -f / np.where(fp < 0, fp, 1.0), 0.0)
            step = np.clip(step, -2, 2)
            b = np.clip(b + step, -20, 20)
            if np.max(np.abs(step)) < 1e-10:
                break
        return b
