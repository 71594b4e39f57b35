"""Re-randomisation (Morgan & Rubin 2012): the Mahalanobis balance criterion, vectorised.

The same :class:`MahalanobisScorer` decides acceptance when the allocation is
made and inside ``ParallelDesign.draw``, so randomisation inference uses
exactly the distribution the trial was randomised from.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from rct.errors import DataError, DesignError

__all__ = [
    "MahalanobisScorer",
    "resolve_threshold",
    "mahalanobis_loop",
]

#: Relative distance from the threshold within which acceptance is decided in
#: exact rational arithmetic, so BLAS rounding differences between machines can
#: never flip an accept/reject decision.
EXACT_BAND = 1e-9


def resolve_threshold(
    *, threshold: float | None, acceptance: float | None, df: int
) -> tuple[float, float]:
    """The acceptance threshold ``a`` and its nominal acceptance probability.

    Parameters
    ----------
    threshold
        ``a`` itself: accept allocations with ``M <= a``.
    acceptance
        Nominal acceptance probability ``p_a``; then ``a`` is the ``p_a``
        quantile of chi-squared with ``df`` degrees of freedom, rounded to 12
        significant digits (so a last-digit change in scipy cannot change it).
    df
        ``k * (arms - 1)`` for ``k`` covariates.

    Notes
    -----
    Under complete randomisation ``M`` is asymptotically chi-squared with
    ``df`` degrees of freedom (Morgan & Rubin 2012, Theorem 3.1), so
    ``P(M <= a) ~= F(a; df)``.  For small ``N`` this is an approximation; the
    realised acceptance rate is reported by the design.
    """
    from scipy.stats import chi2

    if (threshold is None) == (acceptance is None):
        raise DesignError("re-randomisation needs exactly one of threshold= or acceptance=")
    if acceptance is not None:
        p = float(acceptance)
        if not 0.0 < p <= 1.0:
            raise DesignError(f"acceptance must be in (0, 1], got {acceptance!r}")
        a = float(np.inf) if p == 1.0 else float(f"{chi2.ppf(p, df):.12g}")
        return a, p
    a = float(threshold)  # type: ignore[arg-type]
    if not a > 0.0:
        raise DesignError(f"threshold must be positive, got {threshold!r}")
    return a, float(chi2.cdf(a, df))


class MahalanobisScorer:
    """Mahalanobis balance statistic of candidate assignments, in batches.

    Parameters
    ----------
    x
        Covariates, shape ``(N, k)``, rows in the design's unit order.
    n_arms
        Number of arms (codes ``0 .. n_arms-1``).

    Notes
    -----
    .. math::

        M = \\sum_a n_a (\\bar x_a - \\bar x)^\\top S^{-1} (\\bar x_a - \\bar x),

    with :math:`S` the sample covariance of all ``N`` units (divisor ``N-1``).
    For two arms this equals Morgan & Rubin's
    :math:`(\\bar x_T-\\bar x_C)^\\top [S(1/n_T+1/n_C)]^{-1}(\\bar x_T-\\bar x_C)`;
    with ``A`` arms it is asymptotically :math:`\\chi^2_{k(A-1)}`.  Whitening
    :math:`w_i = L^{-1}(x_i-\\bar x)` (:math:`S = LL^\\top`) gives
    :math:`M = \\sum_a \\lVert \\sum_{i\\in a} w_i \\rVert^2 / n_a`, one matrix
    product per batch of candidates.

    Morgan, K. L. & Rubin, D. B. (2012). Rerandomization to improve covariate
    balance in experiments. *Annals of Statistics* 40(2), 1263-1282.
    """

    def __init__(self, x: np.ndarray, n_arms: int) -> None:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < 1:
            raise DesignError("re-randomisation needs at least one covariate")
        n, k = x.shape
        if n < k + 2:
            raise DesignError(f"re-randomisation with {k} covariates needs at least {k + 2} units")
        if not np.isfinite(x).all():
            raise DataError("covariates must be finite numbers (no blanks, NaN or infinity)")
        self.x = x
        self.n_arms = int(n_arms)
        self.df = k * (self.n_arms - 1)
        xc = x - x.mean(axis=0)
        s = xc.T @ xc / (n - 1)
        try:
            chol = np.linalg.cholesky(s)
            w = np.linalg.solve(chol, xc.T).T
        except np.linalg.LinAlgError as exc:
            raise DesignError(
                "covariates are constant or collinear (their covariance matrix is singular); "
                "drop one of them"
            ) from exc
        cond = np.linalg.cond(s)
        if not np.isfinite(cond) or cond > 1e12:
            raise DesignError(
                "covariates are (nearly) collinear: covariance condition number "
                f"{cond:.3g}; drop one of them"
            )
        self.w = np.ascontiguousarray(w)

    # -- fast path ---------------------------------------------------------
    def score(self, z: np.ndarray) -> np.ndarray:
        """``M`` for each row of ``z`` (shape ``(B, N)``, arm codes); float64 ``(B,)``.

        One ``(B, N) @ (N, k)`` matrix product per arm on the whitened
        covariates (:meth:`score_numpy`).  A compiled loop was measured no
        faster (``benchmarks/rerandomise.py``), so there is none.  BLAS may sum
        in a machine-dependent order; acceptance within ``EXACT_BAND`` of the
        threshold is decided in exact rational arithmetic (:meth:`accept`), so
        the allocation does not depend on the machine.
        """
        return self.score_numpy(np.atleast_2d(z))

    def score_numpy(self, z: np.ndarray) -> np.ndarray:
        """:meth:`score` by matrix products (BLAS): one ``(B, N) @ (N, k)`` per arm."""
        z = np.atleast_2d(z)
        out = np.zeros(z.shape[0], dtype=np.float64)
        total = np.zeros((z.shape[0], self.w.shape[1]), dtype=np.float64)
        n = z.shape[1]
        n_rest = np.full(z.shape[0], n, dtype=np.int64)
        for a in range(1, self.n_arms):
            ind = z == a
            n_a = ind.sum(axis=1)
            s_a = ind.astype(np.float64) @ self.w
            total += s_a
            n_rest -= n_a
            with np.errstate(divide="ignore", invalid="ignore"):
                out += np.where(n_a > 0, (s_a * s_a).sum(axis=1) / n_a, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out += np.where(n_rest > 0, (total * total).sum(axis=1) / n_rest, 0.0)
        return out

    def accept(self, z: np.ndarray, threshold: float) -> np.ndarray:
        """Boolean acceptance ``M <= threshold``; borderline cases decided exactly."""
        m = self.score(z)
        ok = m <= threshold
        if np.isfinite(threshold):
            near = np.abs(m - threshold) <= EXACT_BAND * max(1.0, abs(threshold))
            for i in np.flatnonzero(near):
                ok[i] = self.exact(np.atleast_2d(z)[i]) <= Fraction(threshold)
        return ok

    # -- exact path (rational arithmetic) -------------------------------------
    def exact(self, z: np.ndarray) -> Fraction:
        """``M`` for one assignment in exact rational arithmetic (slow; borderline cases)."""
        z = np.asarray(z).ravel()
        rows = [[Fraction(float(v)) for v in row] for row in self.x]
        n, k = len(rows), len(rows[0])
        mean = [sum(r[j] for r in rows) / n for j in range(k)]
        xc = [[r[j] - mean[j] for j in range(k)] for r in rows]
        s = [
            [sum(r[i] * r[j] for r in xc) / (n - 1) for j in range(k)] for i in range(k)
        ]
        total = Fraction(0)
        for a in range(self.n_arms):
            idx = [i for i in range(n) if int(z[i]) == a]
            if not idx:
                continue
            d = [sum(xc[i][j] for i in idx) / len(idx) for j in range(k)]
            y = _solve_exact(s, d)
            total += len(idx) * sum(d[j] * y[j] for j in range(k))
        return total


def _solve_exact(a: list[list[Fraction]], b: list[Fraction]) -> list[Fraction]:
    """Solve ``a y = b`` by Gaussian elimination over the rationals."""
    k = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(k):
        piv = next(r for r in range(c, k) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        for r in range(k):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [m[r][j] - f * m[c][j] for j in range(k + 1)]
    return [m[i][k] / m[i][i] for i in range(k)]


def mahalanobis_loop(x: np.ndarray, assignments: Sequence[Sequence[int]] | Any) -> list[float]:
    """Two-arm Morgan-Rubin ``M`` with a plain Python loop (benchmark peer and test oracle).

    Computes ``(xbar_T - xbar_C)' [S (1/n_T + 1/n_C)]^{-1} (xbar_T - xbar_C)``
    candidate by candidate, without the whitening trick.
    """
    x = np.asarray(x, dtype=np.float64)
    s_inv = np.linalg.inv(np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1]))
    out = []
    for z in assignments:
        t = [i for i, v in enumerate(z) if v == 1]
        c = [i for i, v in enumerate(z) if v == 0]
        d = x[t].mean(axis=0) - x[c].mean(axis=0)
        out.append(float(d @ s_inv @ d / (1.0 / len(t) + 1.0 / len(c))))
    return out
