"""Exact enumeration of crossover designs (small designs; tests and exact RI).

:func:`enumerate_feasible` lists every schedule meeting a design's constraints:
the support of the uniform distribution ``rct-randomise/2`` draws from.

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


def enumerate_feasible(design: Any, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Every schedule meeting the design's constraints ``(m, D, N)``, each with probability ``1/m``.

    The support of the uniform distribution ``rct-randomise/2`` draws from:
    ``k_s`` tasked per site each day; with equal coverage each hot spot's total
    (and, with weekday blocking, each weekday's count) within one of every
    other's in its site; no run longer than ``max_consecutive``; no gap shorter
    than ``washout`` between runs.  Depth-first over days with pruning; None
    when there are more than ``limit`` schedules or the design is too big
    (``N > 8`` or ``N * D > 48``).
    """
    n, d = len(design.ids), len(design.dates)
    if n > 8 or n * d > 48:
        return None
    p = design.parameters
    strata = [int(s) for s in design.strata]
    n_strata = max(strata) + 1 if d else 1
    cap, wash, eq = p["max_consecutive"], int(p["washout"]), bool(p["equal_coverage"])
    sites = design._site_columns()
    # per-site choices of a day's tasked set, as tuples of column positions
    day_sets = [[]]
    for cols, k in sites:
        day_sets = [a + list(c) for a in day_sets for c in combinations(cols.tolist(), k)]
    rows = [np.isin(np.arange(n), ds).astype(np.int8) for ds in day_sets]
    site_of = np.empty(n, dtype=np.int64)
    for j, (cols, _) in enumerate(sites):
        site_of[cols] = j
    days_in = [strata.count(s) for s in range(n_strata)]
    share = {j: (k, len(cols)) for j, (cols, k) in enumerate(sites)}

    def bounds(total_days: int) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([(share[site_of[i]][0] * total_days) // share[site_of[i]][1] for i in range(n)])
        hi = lo + np.array([(share[site_of[i]][0] * total_days) % share[site_of[i]][1] > 0
                            for i in range(n)])
        return lo, hi

    lo_tot, hi_tot = bounds(d)
    lo_s = np.stack([bounds(x)[0] for x in days_in])
    hi_s = np.stack([bounds(x)[1] for x in days_in])
    left_s = np.zeros((d + 1, n_strata), dtype=np.int64)  # days of each stratum from t on
    for t in range(d - 1, -1, -1):
        left_s[t] = left_s[t + 1]
        left_s[t, strata[t]] += 1
    out: list[bytes] = []
    nodes = [0]

    def rec(t: int, tot: np.ndarray, cnt: np.ndarray, run: np.ndarray, gap: np.ndarray,
            acc: list[np.ndarray]) -> None:
        nodes[0] += 1
        if nodes[0] > _MAX_PATHS:
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
                rem = left_s[t + 1]
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
    if not out:
        return np.empty((0, d, n), np.int8), np.empty(0)
    out.sort()
    sched = np.stack([np.frombuffer(kb, dtype=np.int8).reshape(d, n) for kb in out])
    return sched, np.full(len(out), 1.0 / len(out))
