"""The randomisation distribution: reference assignments, p-values, CI inversion.

Shared machinery of the randomisation tests (:mod:`rct.evaluate.ri`,
:mod:`rct.evaluate.crossover`, :mod:`rct.evaluate.prepost`): the design's
enumerated or drawn assignments (:func:`reference_assignments`), batched
evaluation of a vectorised statistic, the exact / Monte Carlo p-value, the
bracket-and-bisect inversion of a p-value function into a confidence interval,
and the JSON-ready null histogram (:func:`null_histogram`).  The definitions
are given in the Notes of :func:`rct.evaluate.ri.randomisation_test`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "HISTOGRAM_BINS",
    "SharedReference",
    "null_histogram",
    "prescore",
    "prescore_families",
    "reference_assignments",
]

#: float64 cells per batch (~4 MB: cache-sized, and below the allocator's mmap threshold, so
#: a chunk's temporaries are neither page-faulted in nor returned to the system each time;
#: 32 MB chunks cost 1.5-2.5x the CPU on the 300 x 365 evaluation's 1,000 draws)
_CHUNK_CELLS = 500_000
HISTOGRAM_BINS = 40


def _batched(stat: Callable, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Evaluate ``stat`` over the rows of ``Z`` in memory-bounded chunks."""
    n = Z.shape[1]
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    out = np.empty(Z.shape[0], dtype=np.float64)
    for start in range(0, Z.shape[0], rows):  # chunking only; each chunk is one batch
        block = Z[start : start + rows]
        out[start : start + rows] = np.asarray(stat(np.asarray(block, dtype=np.float64), y),
                                               dtype=np.float64)
    return out


class SharedReference(tuple):
    """``(Z, exact, weights)`` of :func:`reference_assignments`, with the statistics already
    computed on ``Z``.

    An evaluation draws the design's assignments once and runs several randomisation
    tests on them (each outcome, each scale, the complier effect); many of them need the
    same statistic of the same vector (``T(Z, z_obs)`` for every outcome's interval).
    :func:`prescore` computes a statistic for a list of vectors in one pass over ``Z``
    and keeps the results here; the tests look them up (by the statistic object and the
    vector's bytes) instead of passing over ``Z`` again.  Unpacks like the plain tuple.
    """

    def __new__(cls, Z: np.ndarray, exact: bool, weights: np.ndarray | None) -> SharedReference:
        self = super().__new__(cls, (Z, exact, weights))
        self.memo = {}
        return self


def _key(stat: Any, *vs: np.ndarray) -> tuple:
    import hashlib

    h = hashlib.blake2b(digest_size=20)
    for v in vs:
        a = np.ascontiguousarray(v, dtype=np.float64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return id(stat), h.digest()


def prescore(reference: Any, stat: Callable, ys: list[np.ndarray]) -> None:
    """Compute ``stat`` on the reference assignments for every vector of ``ys`` in one pass,
    for the tests that run on ``reference`` (a :class:`SharedReference`) to look up."""
    memo = getattr(reference, "memo", None)
    if memo is not None:
        _batched_many(stat, reference[0], list(ys), memo=memo)


def prescore_families(reference: Any, stat: Any, ys: list[np.ndarray], z_obs: np.ndarray) -> None:
    """As :func:`prescore`, for a statistic's ``shift_family`` (every ``tau`` from one pass)
    of each outcome in ``ys`` (the multiplicative-effect tests)."""
    memo = getattr(reference, "memo", None)
    if memo is None or not hasattr(stat, "shift_families"):
        return
    todo = [y for y in ys if _key(stat, y, z_obs) not in memo]
    for y, fam in zip(todo, stat.shift_families(reference[0], todo, z_obs) if todo else [],
                      strict=True):
        memo[_key(stat, y, z_obs)] = (stat, fam)


def _shift_family(stat: Any, Z: np.ndarray, y: np.ndarray, z_obs: np.ndarray,
                  memo: dict | None) -> Callable[[float], np.ndarray]:
    """``stat.shift_family(Z, y, z_obs)``, from ``memo`` when :func:`prescore_families` made it."""
    if memo is not None:
        hit = memo.get(_key(stat, y, z_obs))
        if hit is not None and hit[0] is stat:
            return hit[1]
    fam = stat.shift_family(Z, y, z_obs)
    if memo is not None:
        memo[_key(stat, y, z_obs)] = (stat, fam)
    return fam


def _batched_many(stat: Callable, Z: np.ndarray, ys: list[np.ndarray],
                  memo: dict | None = None) -> list[np.ndarray]:
    """``[_batched(stat, Z, y) for y in ys]``, in one pass over ``Z`` when ``stat`` has
    ``score_many`` (each chunk converted once; a compact ``int8`` chunk is passed as is).

    ``memo`` (a :class:`SharedReference`'s, for this ``Z``): results already computed are
    looked up, the others computed (in one pass) and stored.
    """
    if memo is not None:
        keys = [_key(stat, y) for y in ys]
        hits = [memo.get(k) for k in keys]
        miss = [i for i, h in enumerate(hits) if h is None or h[0] is not stat]
        if miss:
            for i, v in zip(miss, _batched_many(stat, Z, [ys[i] for i in miss]), strict=True):
                memo[keys[i]] = (stat, v)
        return [memo[k][1] for k in keys]
    many = getattr(stat, "score_many", None)
    if many is None:
        return [_batched(stat, Z, y) for y in ys]
    n = Z.shape[1]
    rows = max(1, _CHUNK_CELLS // max(n, 1))
    out = [np.empty(Z.shape[0], dtype=np.float64) for _ in ys]
    for start in range(0, Z.shape[0], rows):  # chunking only; each chunk is one batch
        for o, v in zip(out, many(Z[start : start + rows], ys), strict=True):
            o[start : start + rows] = v
    return out


def _exceed(T: np.ndarray, t: float, alternative: str) -> np.ndarray:
    tol = 1e-9 * max(1.0, abs(t)) if np.isfinite(t) else 0.0
    if alternative == "two-sided":
        return np.abs(T) >= abs(t) - tol
    if alternative == "greater":
        return t - tol <= T
    return t + tol >= T


def _p(T: np.ndarray, t: float, alternative: str, exact: bool,
       weights: np.ndarray | None = None) -> float:
    """Randomisation p-value; assignments where the statistic is undefined (NaN) are left out.

    ``weights``: the probabilities of enumerated assignments (exact only).
    """
    defined = ~np.isnan(T)
    n = int(defined.sum())
    if n == 0 or np.isnan(t):
        return math.nan
    hit = _exceed(T[defined], t, alternative)
    if exact:
        if weights is not None:
            w = weights[defined]
            return float(w[hit].sum() / w.sum())
        return int(np.count_nonzero(hit)) / n
    return (int(np.count_nonzero(hit)) + 1) / (n + 1)


def reference_assignments(design: Any, *, assignments: np.ndarray | None = None,
                          draws: int = 2000, rng: np.random.Generator | int | None = None,
                          exact_limit: int = 100_000, treated: int = 1,
                          n_units: int | None = None
                          ) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """``(Z, exact, weights)``: the assignments a randomisation test compares against
    (a :class:`SharedReference`, which unpacks as that tuple).

    All of them when the design can enumerate at most ``exact_limit``
    (``exact=True``; ``weights`` their probabilities when unequal, else
    ``None``), otherwise ``draws`` Monte Carlo draws from ``design.draw``.
    ``Z`` is 0/1 (``treated`` arm = 1), float64 when it fits in ~64 MB, else int8.
    """
    exact = False
    weights = None
    if assignments is None:
        enum = None
        enumerate_ = getattr(design, "enumerate", None)
        if enumerate_ is not None and exact_limit > 0:
            try:
                enum = enumerate_(limit=exact_limit, with_probabilities=True)
            except TypeError:  # a design whose assignments are equally likely
                enum = enumerate_(limit=exact_limit)
        if enum is not None:
            if isinstance(enum, tuple):
                enum, weights = enum
                weights = np.asarray(weights, dtype=np.float64)
                if np.allclose(weights, weights[0]):
                    weights = None
            assignments, exact = np.asarray(enum), True
        else:
            gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
            assignments = np.asarray(design.draw(int(draws), gen))
    Zall = np.asarray(assignments) == treated
    # float64 once when it fits in ~64 MB (no per-call conversion), else int8 (the 0/1 bytes
    # of the boolean matrix, not a copy) and chunked conversion
    Zall = Zall.astype(np.float64) if Zall.size <= 8_000_000 else Zall.view(np.int8)
    n = n_units if n_units is not None else np.asarray(design.assignment).size
    if Zall.ndim != 2 or Zall.shape[1] != n:
        raise ValueError(f"assignments must have shape (B, {n}), got {Zall.shape}")
    return SharedReference(Zall, exact, weights)


def null_histogram(T: np.ndarray, observed: float, p_value: float, *,
                   alternative: str = "two-sided", bins: int = HISTOGRAM_BINS,
                   weights: np.ndarray | None = None) -> dict[str, Any]:
    """A JSON-ready summary of a randomisation distribution, for reports.

    ``T`` are the statistic's values over the assignments (under the tested
    null), ``observed`` its observed value and ``p_value`` the test's p.
    Returns ``{"edges", "counts", "observed", "p_value", "alternative",
    "n_defined", "n_undefined", "n_below", "n_above", "n_exceed"}``: ``bins``
    equal-width bins spanning the finite values (``counts`` sum to the finite
    ones; ``n_below``/``n_above`` count ``-inf``/``+inf``), so a report can draw
    the distribution and check the published p without recomputing anything.
    """
    T = np.asarray(T, dtype=np.float64)
    defined = ~np.isnan(T)
    fin = T[np.isfinite(T)]
    if fin.size:
        lo, hi = float(fin.min()), float(fin.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        w = None if weights is None else np.asarray(weights, dtype=np.float64)[np.isfinite(T)]
        counts, edges = np.histogram(fin, bins=bins, range=(lo, hi), weights=w)
    else:
        counts, edges = np.zeros(0), np.zeros(0)
    k = int(np.count_nonzero(_exceed(T[defined], observed, alternative))) if np.isfinite(
        observed) else 0
    return {
        "edges": [float(e) for e in edges],
        "counts": [float(c) if weights is not None else int(c) for c in counts],
        "observed": float(observed),
        "p_value": float(p_value),
        "alternative": alternative,
        "n_defined": int(defined.sum()),
        "n_undefined": int((~defined).sum()),
        "n_below": int(np.count_nonzero(T == -np.inf)),
        "n_above": int(np.count_nonzero(T == np.inf)),
        "n_exceed": k,
    }


def _invert(pfun: Callable[[float], float], est: float, scale: float, alpha: float) -> tuple[float, float]:
    """Ends of ``{tau : p(tau) > alpha}`` by bracketing out from ``est`` then bisecting."""
    if not np.isfinite(est):
        return math.nan, math.nan
    if not np.isfinite(scale) or scale <= 0:
        scale = max(abs(est), 1.0)
    if pfun(est) <= alpha:  # degenerate: even the estimate is rejected
        return math.nan, math.nan
    tol = 1e-6 * scale
    ends = []
    for sign in (-1.0, 1.0):
        inside, step = est, scale
        outside = math.nan
        for _ in range(60):  # bracket expansion (doubling), not a loop over assignments
            cand = est + sign * step
            if pfun(cand) <= alpha:
                outside = cand
                break
            inside, step = cand, step * 2
        if math.isnan(outside):
            ends.append(sign * math.inf)
            continue
        for _ in range(100):
            mid = 0.5 * (inside + outside)
            if pfun(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < tol:
                break
        ends.append(0.5 * (inside + outside))
    return ends[0], ends[1]
