"""The vectorised assignment kernel shared by every parallel scheme, and exact enumeration helpers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from rct.randomise.base import key48, uniform

__all__ = ["base_kernel", "stable_argsort_rows", "count_support", "arrangements", "multinomial"]


def base_kernel(
    words: np.ndarray,
    block_of: np.ndarray,
    base_counts: np.ndarray,
    remainders: np.ndarray,
    denominators: np.ndarray,
) -> np.ndarray:
    """Blocked assignments from raw words, vectorised over rows.

    ``words`` has shape ``(n, N + B)``: the first ``N`` columns are each unit's
    random key, the last ``B`` each block's uniform for the remainder rule.
    Units are sorted by ``(block, key)`` with a stable sort; within a block
    the first ``count_0`` ranks get arm 0, the next ``count_1`` arm 1, etc.
    """
    n = words.shape[0]
    n_units = block_of.shape[0]
    n_blocks, n_arms = base_counts.shape
    u = uniform(words[:, n_units:])  # (n, B)
    cum_rem = np.cumsum(remainders, axis=1)  # (B, A)
    pts = np.maximum(0.0, np.ceil(cum_rem[None] / denominators[None, :, None] - u[:, :, None]))
    extra = np.diff(pts, axis=2, prepend=0.0).astype(np.int64)
    counts = base_counts[None] + extra  # (n, B, A)
    cum = np.cumsum(counts, axis=2)[:, :, : n_arms - 1]  # (n, B, A-1)
    keys = key48(words[:, :n_units])
    if n_blocks == 1:
        return _single_block(keys, cum[:, 0, :], counts[:, 0, :])
    keys |= block_of.astype(np.uint64) << np.uint64(48)
    order = stable_argsort_rows(keys)
    sorted_block = np.sort(block_of, kind="stable")
    start = np.searchsorted(sorted_block, np.arange(n_blocks))
    rank = np.arange(n_units) - start[sorted_block]
    arm_sorted = (rank[None, :, None] >= cum[:, sorted_block, :]).sum(axis=2).astype(np.int8)
    z = np.empty((n, n_units), dtype=np.int8)
    np.put_along_axis(z, order, arm_sorted, axis=1)
    return z


def _single_block(keys: np.ndarray, cum: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """One block: arms from partition boundaries, no full sort (same result as the stable sort).

    The unit with key rank ``r`` gets the arm whose cumulative-count interval
    holds ``r``; equivalently ``arm = #{a : key >= b_a}`` where ``b_a`` is the key
    at rank ``cum_a``.  This equals the stable sort's result unless two keys tie
    across a boundary; such rows are detected (counts come out wrong) and
    redone with the stable sort.
    """
    n, n_units = keys.shape
    if cum.shape[1] == 0 or n == 0:
        return np.zeros((n, n_units), dtype=np.int8)
    kth = np.unique(cum[cum < n_units])
    bound = np.full(cum.shape, np.iinfo(np.uint64).max, dtype=np.uint64)
    if len(kth):
        vals = np.partition(keys, kth, axis=1)[:, kth]  # (n, len(kth))
        where = np.searchsorted(kth, cum)  # position of each boundary in kth
        inside = cum < n_units
        rows = np.broadcast_to(np.arange(n)[:, None], cum.shape)
        bound[inside] = vals[rows[inside], where[inside]]
    z = (keys >= bound[:, 0:1]).astype(np.int8)
    for a in range(1, cum.shape[1]):
        z += keys >= bound[:, a : a + 1]
    got = np.stack([(z == a).sum(axis=1) for a in range(counts.shape[1])], axis=1)
    bad = np.flatnonzero((got != counts).any(axis=1))
    for r in bad:  # tied keys across a boundary (probability ~ N / 2**48)
        order = np.argsort(keys[r], kind="stable")
        ranks = np.empty(n_units, dtype=np.int64)
        ranks[order] = np.arange(n_units)
        z[r] = (ranks[:, None] >= cum[r][None, :]).sum(axis=1)
    return z


def stable_argsort_rows(keys: np.ndarray) -> np.ndarray:
    """Row-wise argsort equal to a stable sort's, at the speed of the default sort.

    Where a row's keys are distinct the order is unique, so any algorithm gives
    it; the (astronomically rare) rows with tied keys are redone stably.
    """
    order = np.argsort(keys, axis=1)
    if keys.shape[1] > 1:
        s = np.take_along_axis(keys, order, axis=1)
        tied = (s[:, 1:] == s[:, :-1]).any(axis=1)
        if tied.any():
            order[tied] = np.argsort(keys[tied], axis=1, kind="stable")
    return order


def count_support(
    base: np.ndarray, rem: np.ndarray, denom: int
) -> list[tuple[tuple[int, ...], Fraction]]:
    """Possible per-arm counts of one block and their exact probabilities (systematic sampling)."""
    base = [int(v) for v in base]
    cum = np.cumsum([int(v) for v in rem]).tolist()
    if not cum or cum[-1] == 0:
        return [(tuple(base), Fraction(1))]
    cuts = sorted({Fraction(c, denom) % 1 for c in cum} | {Fraction(0), Fraction(1)})
    out: dict[tuple[int, ...], Fraction] = {}
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        if hi <= lo:
            continue
        u = (lo + hi) / 2
        pts = [max(0, math.ceil(Fraction(c, denom) - u)) for c in cum]
        extra = [pts[0]] + [pts[i] - pts[i - 1] for i in range(1, len(pts))]
        key = tuple(b + e for b, e in zip(base, extra, strict=True))
        out[key] = out.get(key, Fraction(0)) + (hi - lo)
    return sorted(out.items())


def arrangements(n: int, counts: Sequence[int]) -> np.ndarray:
    """All distinct sequences of length ``n`` with ``counts[a]`` copies of arm ``a`` (int8 rows)."""
    from itertools import combinations

    rows = [(np.full(n, len(counts) - 1, dtype=np.int8), tuple(range(n)))]
    for a, c in enumerate(counts[:-1]):
        nxt = []
        for row, free in rows:
            for pick in combinations(free, int(c)):
                r = row.copy()
                r[list(pick)] = a
                nxt.append((r, tuple(i for i in free if i not in pick)))
        rows = nxt
    return np.stack([r for r, _ in rows]) if rows else np.empty((0, n), np.int8)


def multinomial(n: int, counts: Sequence[int]) -> int:
    out, left = 1, n
    for c in counts:
        out *= math.comb(left, int(c))
        left -= int(c)
    return out
