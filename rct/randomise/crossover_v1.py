"""The crossover sampler of algorithm ``rct-randomise/1`` (kept so old manifests still verify).

Superseded by :mod:`rct.randomise.crossover_mcmc` (``rct-randomise/2``): this
day-by-day priority sampler meets the constraints, but its urgency rule makes a
hot spot tasked today less likely to be tasked tomorrow (45 hot spots, 22 a
day, 182 days: P(tasked | tasked yesterday) = 0.29 against 0.68 after an
untasked day), so schedules alternate and residual deterrence biases the
same-day comparison.  The code below is the algorithm exactly as it was; it
is used only for designs whose manifest names ``rct-randomise/1`` (and, with a
fixed internal seed, to find a feasible starting schedule for the v2 chain
under run constraints).

The v1 sampler, vectorised over draws:

1. **Targets** (``equal_coverage=True``).  Each hot spot gets ``floor(k D_s / N)``
   patrol days in each stratum ``s`` of ``D_s`` days (one stratum, or one per
   weekday with ``block_weekday=True``); the ``e_s = k D_s mod N`` extra days of
   stratum ``s`` go to consecutive segments of one uniformly random cyclic
   order of the hot spots.
2. **Days**.  On each day the ``k`` hot spots with the highest priority
   ``(eligible, urgency, random key)`` are tasked, where urgency is the hot
   spot's remaining target in the day's stratum minus the stratum's remaining
   days.  Eligible means: fewer than ``max_consecutive`` tasked days in a row so
   far, and -- after a run of tasked days ends -- at least ``washout`` untasked
   days before the next run.
3. **Rejection**.  A draw in which a tasked hot spot was ineligible or already
   at its target is discarded and the next one is taken (each attempt uses a
   fixed number of raw words, so "the first success" is machine independent).

Every step treats hot spots symmetrically, so ``P(hot spot i tasked on day t) = k / N``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rct.errors import DesignError
from rct.randomise.base import RawStream, key48

__all__ = ["crossover_kernel", "top_k_mask", "v1_width", "v1_sample", "v1_first"]

_Q_OFFSET = 1024  # remaining-target values are stored as quota + 1024 in 11 bits


def top_k_mask(keys: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` largest keys per row; ties go to the lower column index."""
    n, m = keys.shape
    if k >= m:
        return np.ones(keys.shape, dtype=bool)
    v = np.partition(keys, m - k, axis=1)[:, m - k : m - k + 1]  # k-th largest
    above = keys > v
    eq = keys == v
    need = k - above.sum(axis=1, keepdims=True)
    return above | (eq & (np.cumsum(eq, axis=1) <= need))


def crossover_kernel(words: np.ndarray, spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Run the sampler on ``b`` attempts at once; returns schedules ``(b, D, N)`` and success flags.

    ``words`` has shape ``(b, N * (1 + D))``: the first ``N`` words order the hot
    spots for the extra-day segments, then ``N`` words per day for tie-breaking.
    """
    b = words.shape[0]
    n, k = spec["n"], spec["k"]
    strata = spec["strata"]
    d = len(strata)
    n_strata = int(strata.max()) + 1 if d else 1
    ok = np.ones(b, dtype=bool)
    sched = np.zeros((b, d, n), dtype=np.int8)
    # 1. targets per stratum from one random cyclic order
    if spec["equal_coverage"]:
        order = np.argsort(key48(words[:, :n]), axis=1, kind="stable")
        pos = np.empty_like(order)
        np.put_along_axis(pos, order, np.broadcast_to(np.arange(n), order.shape), axis=1)
        days_in = np.bincount(strata, minlength=n_strata)
        q, e = (k * days_in) // n, (k * days_in) % n
        offset = np.concatenate([[0], np.cumsum(e)[:-1]]) % n
        target = q[None, :, None] + (((pos[:, None, :] - offset[None, :, None]) % n) < e[None, :, None])
        quota = target.astype(np.int64)  # (b, S, N) remaining
    # days of the same stratum from t to the end (inclusive)
    left = np.zeros(d, dtype=np.int64)
    seen = np.zeros(n_strata, dtype=np.int64)
    for t in range(d - 1, -1, -1):
        seen[strata[t]] += 1
        left[t] = seen[strata[t]]
    run = np.zeros((b, n), dtype=np.int64)
    gap = np.full((b, n), 1 << 20, dtype=np.int64)
    cap, wash = spec["max_consecutive"], spec["washout"]
    for t in range(d):
        s = int(strata[t])
        elig = np.ones((b, n), dtype=bool)
        if cap is not None:
            elig &= run < int(cap)
        if wash:
            elig &= (run > 0) | (gap >= wash)
        key = words[:, n * (1 + t) : n * (2 + t)] >> np.uint64(12)
        key |= elig.astype(np.uint64) << np.uint64(63)
        if spec["equal_coverage"]:
            # urgency = remaining target - remaining days of this stratum (= -slack)
            qv = np.clip(quota[:, s, :] - left[t] + _Q_OFFSET, 0, 2047).astype(np.uint64)
            key |= qv << np.uint64(52)
        sel = top_k_mask(key, k)
        bad = (sel & ~elig).any(axis=1)
        if spec["equal_coverage"]:
            bad |= (sel & (quota[:, s, :] <= 0)).any(axis=1)
            quota[:, s, :] -= sel
        ok &= ~bad
        sched[:, t, :] = sel
        run = np.where(sel, run + 1, 0)
        gap = np.where(sel, 0, gap + 1)
    return sched, ok


def v1_width(spec: dict[str, Any]) -> int:
    """Raw words one v1 attempt consumes: ``N * (1 + D)``."""
    return int(spec["n"]) * (1 + len(spec["strata"]))


def v1_sample(stream: RawStream, spec: dict[str, Any], n: int, *, max_attempts: int) -> np.ndarray:
    """``n`` successful v1 schedules ``(n, D, N)``: attempts in order, failures skipped."""
    width = v1_width(spec)
    out, got, tried = [], 0, 0
    chunk = max(1, min(4096, 4_000_000 // width))
    while got < n:
        if tried >= max_attempts:
            raise DesignError(
                f"the crossover constraints could not be met: {got} of {tried:,} attempts "
                "succeeded; relax max_consecutive / washout or per_day"
            )
        b = min(chunk, max_attempts - tried)
        sched, ok = crossover_kernel(stream.words(b * width).reshape(b, width), spec)
        out.append(sched[ok][: n - got])
        got += int(ok.sum())
        tried += b
    if not out:
        return np.empty((0, len(spec["strata"]), int(spec["n"])), np.int8)
    return np.concatenate(out)[:n]


def v1_first(stream: RawStream, spec: dict[str, Any], *, max_attempts: int,
             block_weekday: bool = False) -> tuple[np.ndarray, int]:
    """The first successful v1 attempt from ``stream`` and the number of attempts it took."""
    width = v1_width(spec)
    chunk, tried = 64, 0
    while True:
        if tried >= max_attempts:
            hint = (
                " (weekday blocking together with a consecutive-day cap or washout is often "
                "infeasible for this sampler: drop one of them)"
                if block_weekday and (spec["max_consecutive"] is not None or spec["washout"])
                else ""
            )
            raise DesignError(
                f"the crossover constraints could not be met in {max_attempts:,} attempts; "
                f"relax max_consecutive / washout or per_day{hint}"
            )
        b = min(chunk, max_attempts - tried)
        sched, ok = crossover_kernel(stream.words(b * width).reshape(b, width), spec)
        if ok.any():
            i = int(np.argmax(ok))
            return sched[i].copy(), tried + i + 1
        tried += b
        chunk = min(chunk * 2, 4096)
