"""Exact enumeration of crossover designs (small designs; tests and exact RI).

:func:`enumerate_feasible` lists every schedule meeting a design's constraints:
the support of the uniform distribution ``rct-randomise/2`` and ``/3`` draw from.

:func:`enumerate_schedules` is the exact distribution of the
``rct-randomise/1`` priority sampler (kept for designs made with it).  It
mirrors :func:`rct.randomise.crossover_v1.crossover_kernel` step by step with the
random keys treated as continuous: the cyclic order is one of ``N!`` equally
likely permutations, and each day's tasked set is everything with a strictly
higher ``(eligible, remaining target)`` priority than the cut-off plus a
uniformly random subset of the tied group at the cut-off.  Failed paths are
dropped and the rest renormalised (the sampler's rejection step).
"""

from __future__ import annotations

import math
from fractions import Fraction
from itertools import combinations, permutations
from typing import Any

import numpy as np

__all__ = ["enumerate_feasible", "enumerate_schedules"]

_MAX_PATHS = 2_000_000


class _TooMany(Exception):
    pass


def enumerate_schedules(design: Any, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """All schedules ``(m, D, N)`` with exact probabilities, or None when too many."""
    spec = design._spec()
    n, k = spec["n"], spec["k"]
    strata = [int(s) for s in spec["strata"]]
    d = len(strata)
    if n > 8 or n * d > 48:  # beyond this the search costs seconds and rarely fits ``limit``
        return None
    n_strata = max(strata) + 1 if d else 1
    cap, wash, eq = spec["max_consecutive"], spec["washout"], spec["equal_coverage"]

    targets: dict[tuple[tuple[int, ...], ...], Fraction] = {}
    if eq:
        days_in = [strata.count(s) for s in range(n_strata)]
        q = [(k * x) // n for x in days_in]
        e = [(k * x) % n for x in days_in]
        off = [sum(e[:s]) % n for s in range(n_strata)]
        w = Fraction(1, math.factorial(n))
        for perm in permutations(range(n)):
            pos = [0] * n
            for p_, unit in enumerate(perm):
                pos[unit] = p_
            tgt = tuple(
                tuple(q[s] + (1 if (pos[i] - off[s]) % n < e[s] else 0) for i in range(n))
                for s in range(n_strata)
            )
            targets[tgt] = targets.get(tgt, Fraction(0)) + w
    else:
        targets[()] = Fraction(1)

    results: dict[bytes, Fraction] = {}
    paths = [0]

    def rec(t: int, quota: list[list[int]], run: list[int], gap: list[int], rows: list[tuple[int, ...]], p: Fraction) -> None:
        paths[0] += 1
        if paths[0] > _MAX_PATHS:
            raise _TooMany
        if t == d:
            key = np.array(rows, dtype=np.int8).tobytes()
            results[key] = results.get(key, Fraction(0)) + p
            if len(results) > limit:
                raise _TooMany
            return
        s = strata[t]
        elig = [
            (cap is None or run[i] < cap) and (not wash or run[i] > 0 or gap[i] >= wash)
            for i in range(n)
        ]
        prio = [(elig[i], quota[s][i] if eq else 0) for i in range(n)]
        v = sorted(prio, reverse=True)[k - 1]
        above = [i for i in range(n) if prio[i] > v]
        tie = [i for i in range(n) if prio[i] == v]
        need = k - len(above)
        pc = p / math.comb(len(tie), need)
        for combo in combinations(tie, need):
            sel = set(above) | set(combo)
            if any(not elig[i] for i in sel):
                continue
            if eq and any(quota[s][i] <= 0 for i in sel):
                continue
            nq = [row[:] for row in quota]
            if eq:
                for i in sel:
                    nq[s][i] -= 1
            rec(
                t + 1,
                nq,
                [run[i] + 1 if i in sel else 0 for i in range(n)],
                [0 if i in sel else gap[i] + 1 for i in range(n)],
                rows + [tuple(1 if i in sel else 0 for i in range(n))],
                pc,
            )

    try:
        for tgt, p in targets.items():
            quota = [list(r) for r in tgt] if eq else []
            rec(0, quota, [0] * n, [1 << 20] * n, [], p)
    except _TooMany:
        return None
    if not results:
        return np.empty((0, d, n), np.int8), np.empty(0)
    total = sum(results.values())
    keys = sorted(results)
    sched = np.stack([np.frombuffer(kb, dtype=np.int8).reshape(d, n) for kb in keys])
    prob = np.array([float(results[kb] / total) for kb in keys])
    return sched, prob


def feasible_schedules(n: int, k: int, strata: Any, *, equal_coverage: bool,
                       max_consecutive: int | None, washout: int, limit: int,
                       max_nodes: int = _MAX_PATHS) -> np.ndarray | None:
    """Every ``(D, n)`` 0/1 schedule of one site meeting the constraints, in byte order.

    ``k`` tasked each day; with ``equal_coverage`` each hot spot's total and each
    stratum's count in ``{floor, ceil}`` of ``k D / n`` (i.e. within one of the
    others'); runs at most ``max_consecutive``; gaps between runs at least
    ``washout`` (days before the trial untasked).  Depth-first over days with
    pruning; None when there are more than ``limit`` schedules or the search
    visits more than ``max_nodes`` nodes.
    """
    strata = [int(x) for x in strata]
    d = len(strata)
    n_strata = max(strata) + 1 if d else 1
    cap, wash, eq = max_consecutive, int(washout), bool(equal_coverage)
    rows = [np.isin(np.arange(n), c).astype(np.int64) for c in combinations(range(n), k)]
    days_in = [strata.count(x) for x in range(n_strata)]
    lo_tot, hi_tot = (k * d) // n, (k * d) // n + ((k * d) % n > 0)
    lo_s = np.array([(k * x) // n for x in days_in])[:, None]
    hi_s = lo_s + np.array([(k * x) % n > 0 for x in days_in])[:, None]
    left = np.zeros((d + 1, n_strata), dtype=np.int64)  # days of each stratum from t on
    for t in range(d - 1, -1, -1):
        left[t] = left[t + 1]
        left[t, strata[t]] += 1
    out: list[bytes] = []
    nodes = [0]

    def rec(t: int, tot: np.ndarray, cnt: np.ndarray, run: np.ndarray, gap: np.ndarray,
            acc: list[np.ndarray]) -> None:
        nodes[0] += 1
        if nodes[0] > max_nodes:
            raise _TooMany
        if t == d:
            out.append(np.array(acc, dtype=np.int8).tobytes())
            if len(out) > limit:
                raise _TooMany
            return
        s = strata[t]
        for row in rows:
            on = row == 1
            if cap is not None and np.any(on & (run >= cap)):
                continue
            if wash >= 2 and np.any(on & (run == 0) & (gap < wash)):
                continue
            ntot, ncnt = tot + row, cnt.copy()
            ncnt[s] += row
            if eq:
                rem = left[t + 1]
                if np.any(ntot > hi_tot) or np.any(ntot + rem.sum() < lo_tot):
                    continue
                if n_strata > 1 and (np.any(ncnt > hi_s) or np.any(ncnt + rem[:, None] < lo_s)):
                    continue
            rec(t + 1, ntot, ncnt, np.where(on, run + 1, 0), np.where(on, 0, gap + 1), acc + [row])

    try:
        rec(0, np.zeros(n, np.int64), np.zeros((n_strata, n), np.int64), np.zeros(n, np.int64),
            np.full(n, 1 << 20, np.int64), [])
    except _TooMany:
        return None
    out.sort()
    if not out:
        return np.empty((0, d, n), np.int8)
    return np.stack([np.frombuffer(kb, dtype=np.int8).reshape(d, n) for kb in out])


def enumerate_feasible(design: Any, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every schedule meeting the design's constraints ``(m, D, N)``, each with probability ``1/m``.

    The support of the uniform distribution ``rct-randomise/2`` and ``/3`` draw from
    (:func:`feasible_schedules` per site; sites are independent, so the
    design's schedules are every combination of the sites').  None when there
    are more than ``limit`` schedules or the design is too big (``N > 8`` or
    ``N * D > 48``).
    """
    n, d = len(design.ids), len(design.dates)
    if n > 8 or n * d > 48:
        return None
    p = design.parameters
    parts = []
    for cols, k in design._site_columns():
        sched = feasible_schedules(len(cols), k, design.strata,
                                   equal_coverage=bool(p["equal_coverage"]),
                                   max_consecutive=p["max_consecutive"],
                                   washout=int(p["washout"]), limit=limit)
        if sched is None:
            return None
        parts.append((cols, sched))
    total = math.prod(len(sc) for _, sc in parts)
    if total > limit:
        return None
    if total == 0:
        return np.empty((0, d, n), np.int8), np.empty(0)
    grids = np.meshgrid(*[np.arange(len(sc)) for _, sc in parts], indexing="ij")
    out = np.zeros((total, d, n), dtype=np.int8)
    for (cols, sc), g in zip(parts, grids, strict=True):
        out[:, :, cols] = sc[g.ravel()]
    keys = [z.tobytes() for z in out]
    order = sorted(range(total), key=keys.__getitem__)
    return out[order], np.full(total, 1.0 / total)
