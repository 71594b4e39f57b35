"""Exact enumeration of the crossover sampler's distribution (small designs; tests and RI).

Mirrors :func:`rct.randomise.crossover.crossover_kernel` step by step with the
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

__all__ = ["enumerate_schedules"]

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
