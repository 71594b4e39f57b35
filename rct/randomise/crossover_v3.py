"""Crossover schedules drawn uniformly from the design, fast (algorithm ``rct-randomise/3``).

The target is the one of ``rct-randomise/2`` (:mod:`rct.randomise.crossover_mcmc`):
the uniform distribution on the feasible set ``S`` of 0/1 schedules (days x
hot spots) with ``k`` tasked hot spots a day (``k_s`` per site), equal
coverage (optional; within each weekday too with weekday blocking) and the
run constraints.  What changes is how the chain moves and where its random
bits come from, so that a draw costs about a tenth of a ``/2`` draw.

How (each site separately; no run constraint)
---------------------------------------------
1. *Words.*  Chain ``i`` reads raw words ``[i W, (i + 1) W)`` of the design's
   ``PCG64`` stream, ``W = 4`` per site (:data:`WORDS_PER_SITE`): they are the
   128-bit state and increment (forced odd) of the chain's own ``PCG64``
   generator -- numpy's PCG-XSL-RR 128/64, reimplemented in the kernel
   (:mod:`rct.randomise._crossover_v3_kernels`; the tests check it word for
   word against ``numpy.random.PCG64``) -- from which the chain reads as many
   words as it needs.  So draw ``i`` does not depend on how many are drawn at
   once, and ``draw(n, PCG64(seed))`` moves the stream on by ``n W`` words.
2. *Start.*  One fixed schedule ``X0`` per site, the same for every chain:
   in stratum ``s`` (all days, or one weekday) hot spot ``j`` takes the cyclic
   run of ``q_s + [j < e_s]`` days starting at ``sum_{i<j} c_i mod D_s``
   (``q_s = floor(k D_s / N)``, ``e_s = k D_s mod N``), slot ``u`` of the
   stratum holding run day ``u * step mod D_s`` (``step`` near ``0.618 D_s``,
   coprime to it), then mixed by ``max(64, 8 L)`` rounds of the chain of step
   4 with the generator of the first four words of ``PCG64(0)``.  ``X0`` is a
   typical schedule, so the chain of each draw need only forget it (a
   deterministic start, like the ``/2`` run-constrained chain's).
3. *Extra days.*  Which hot spots get stratum ``s``'s ``e_s`` extra days is
   a 0/1 matrix ``E`` (strata x hot spots, row sums ``e_s``, column sums within
   one).  With one stratum with extras it is fixed (the final hot-spot
   permutation randomises it); with several, each chain mixes ``E`` from
   cyclic segments by :data:`_E_ROUNDS` rounds of the trades of step 4 on its
   rows (its rows have different sums, where a balanced mask can be very
   rare, so there the kept subset is drawn by sequential selection instead:
   each hot spot of ``P`` in turn, lowest first, kept with probability
   need / remaining by an exact bounded integer -- the same uniform subset),
   and in each stratum relabels ``X0``'s hot spots ``0..e_s-1`` as the
   hot spots of ``E``'s row and the others as the rest (both ascending): a
   relabelling of hot spots within a stratum maps that stratum's schedules
   with one set of extra hot spots one-to-one onto those with another, so the
   start is feasible for ``E``.  Every ``E`` has the same number of
   completions, so a uniform ``E`` and a uniform completion are uniform on ``S``.
4. *Chain.*  ``R = max(6, ceil(0.75 L) + 1)`` rounds (``L`` = levels of the
   butterfly on the largest stratum; ``R = 8`` for 365 days, 7 for 90-182, 6
   with weekday blocking) of *exact* curveball trades (Strona et al. 2014;
   Carstens 2015): in round ``r`` the days of each stratum are paired as in a
   butterfly network (slot ``a`` with ``a XOR 2**(r mod L)``) and each pair of
   days ``(t1, t2)`` redistributes the hot spots tasked on exactly one of them
   (the set ``P``, ``A = P`` on ``t1``).  Masks ``M`` of independent uniform
   bits (one word per 64 hot spots) are read until one is *balanced*,
   ``|M & A| = |M & (P - A)|``; the two rows are then swapped on ``M & P``.  The
   hot spots ``t1`` ends with on ``P`` are ``S' = A XOR (M & P)``, a one-to-one
   function of ``M & P``, and ``M & P`` is uniform over the subsets of ``P``,
   so given balance ``S'`` is uniform over the ``|A|``-subsets of ``P``: the
   exact trade, which preserves every row and column sum and is symmetric, so
   the uniform distribution on ``S`` is stationary.  Every trade succeeds
   (``/2`` tried 4 masks and gave up), after on average ``4**m / C(2m, m)``
   masks, about ``sqrt(pi m)`` (``m = |A|``; 6 at 45 hot spots, 22 a day).
   With more than 64 hot spots the whole row is traded (balance summed over
   its words).  Trades of disjoint pairs commute.
5. *Permutations.*  The days of each stratum, and the hot spots of the site,
   in a uniformly random order (Fisher-Yates with Lemire's multiply-shift
   bounded integers *with rejection*, so exactly uniform given the
   generator's words; no ``word mod m`` bias).  Both maps send ``S`` to
   itself, so they keep the uniform distribution; they make each hot spot's
   days exactly exchangeable within a stratum and ``P(unit-day tasked) =
   k/N`` exact.

Why ``R`` rounds: from ``X0`` the isomorphism invariants of a schedule --
the within-schedule variance, minimum and maximum of the hot-spot pair
overlaps (days co-tasked), the variance of the day pair overlaps, their
spread across draws -- match a chain five times longer within Monte-Carlo
error on 45 x 365 (22 a day), 45 x 182 (22), 20 x 90 (8) and 45 x 365 with
weekday blocking, while 2-3 rounds are detectably off; e.g. at 45 x 365,
1,000 draws each, the pair-overlap variance is 22.94 +- 0.03 (8 rounds),
22.97 +- 0.03 (40 rounds) and 23.01 +- 0.03 (``rct-randomise/2``).  The check
is ``tests/randomise/test_crossover_v3.py::test_mixing_on_published_designs``;
small designs are checked against exact enumeration by chi-squared.
Transition probabilities ``P(t | t)``, ``P(t | u)`` at every lag match their
uniform values whatever the chain did (the day permutation makes each hot
spot's days a uniformly random subset of its stratum of its size).

*No equal coverage* (and no run constraint): each day's ``k`` hot spots are a
uniformly random subset (partial Fisher-Yates; exactly uniform on ``S``).

*Run constraints* (``max_consecutive`` or ``washout >= 2``): ``rct-randomise/3``
runs the ``rct-randomise/2`` procedure unchanged (its local chain or exact
table, its word layout), so such designs get the same schedules under both
versions; the local chain was not sped up.

Exactness of randomisation inference
------------------------------------
As for ``/2``: the allocation is draw 0 of this procedure from
``PCG64(seed)`` and every reference schedule of a randomisation test
(``design.draw(n, rng)``) runs the same procedure on its own words, so the
allocation and the reference schedules are independent draws from one
distribution and the test is exact whatever the chain's mixing.

Determinism: raw ``PCG64`` words, the kernel's own PCG64 (128-bit integer
arithmetic), integer and bit operations only -- no floating point -- so a
schedule is the same on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rct.randomise.base import RawStream
from rct.randomise.crossover_mcmc import DayLayout, ScheduleSampler, _butterfly, pack_bits

__all__ = ["ScheduleSamplerV3", "WORDS_PER_SITE"]

WORDS_PER_SITE = 4  # raw PCG64 words per chain and site: its generator's state and increment
_ROUNDS_PER_LEVEL = 0.75  # rounds of trades = ceil(per_level * butterfly levels) + extra ...
_ROUNDS_EXTRA = 1
_ROUNDS_MIN = 6  # ... and at least this many
_E_ROUNDS = 16  # rounds of trades on the extra-day matrix E (at most 7 rows)
_PREMIX_ROUNDS = 8  # the start: the template after max(64, this * levels) rounds ...
_PREMIX_SEED = 0  # ... of a generator seeded by the first 4 raw words of PCG64(_PREMIX_SEED)
_SCRAMBLE = 0.6180339887498949  # template: stratum slot u holds template day (u * step) mod size


@dataclass(frozen=True, eq=False)
class _Site3:
    cols: np.ndarray
    n: int
    k: int
    kernel: str  # "curveball" | "independent"
    info: dict[str, Any] = field(default_factory=dict)


def _flat_levels(levels: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    pa = np.concatenate([a for a, _ in levels]).astype(np.int64)
    pb = np.concatenate([b for _, b in levels]).astype(np.int64)
    loff = np.concatenate([[0], np.cumsum([len(a) for a, _ in levels])]).astype(np.int64)
    return pa, pb, loff


def _step(size: int) -> int:
    """The fixed scramble's step for a stratum of ``size`` days: near ``0.618 size``, coprime to it."""
    if size <= 2:
        return 1
    s = max(1, int(size * _SCRAMBLE))
    while math.gcd(s, size) != 1:
        s += 1
    return s


class ScheduleSamplerV3(DayLayout):
    """The ``rct-randomise/3`` procedure for one design (same parameters as
    :class:`rct.randomise.crossover_mcmc.ScheduleSampler`).

    Designs with run constraints (``max_consecutive``, ``washout >= 2``) run
    the ``rct-randomise/2`` procedure unchanged (:attr:`v2`).
    """

    def __init__(self, n_hotspots: int, strata: np.ndarray, sites: list[tuple[np.ndarray, int]], *,
                 equal_coverage: bool, max_consecutive: int | None, washout: int,
                 max_attempts: int) -> None:
        self._set_days(n_hotspots, strata, equal_coverage)
        cap = None if max_consecutive is None else int(max_consecutive)
        self.constrained = cap is not None or int(washout) >= 2
        self.v2: ScheduleSampler | None = None
        if self.constrained:
            self.v2 = ScheduleSampler(n_hotspots, strata, sites, equal_coverage=equal_coverage,
                                      max_consecutive=max_consecutive, washout=washout,
                                      max_attempts=max_attempts)
            self.n_words = self.v2.n_words
            return
        self.sites = [self._plan(np.asarray(c, dtype=np.int64), int(k)) for c, k in sites]
        self.n_words = WORDS_PER_SITE * len(self.sites)
        self.generator_words = 0.0  # words the chains' generators read per draw (last sample)

    def _plan(self, cols: np.ndarray, k: int) -> _Site3:
        from rct.randomise import _crossover_v3_kernels as K

        n = len(cols)
        if not self.equal_coverage:
            return _Site3(cols, n, k, "independent")
        w = max(1, -(-n // 64))
        q = (k * self.sizes) // n
        e = (k * self.sizes) % n
        levels = _butterfly(self.slot_stratum, self.offsets, self.sizes)
        rounds = max(_ROUNDS_MIN, math.ceil(_ROUNDS_PER_LEVEL * len(levels)) + _ROUNDS_EXTRA)
        pa, pb, loff = _flat_levels(levels)
        # the start: cyclic runs (extra days on hot spots 0..e_s-1), mixed by a fixed-seed chain
        first = np.arange(n)[None, :] < e[:, None]  # (S, n)
        X0 = self._template(first, q, n, w)
        seed = np.random.PCG64(_PREMIX_SEED).random_raw(WORDS_PER_SITE).astype(np.uint64)[None]
        K.premix(seed, X0, pa, pb, loff, max(64, _PREMIX_ROUNDS * len(levels)))
        e_rows = np.flatnonzero(e > 0).astype(np.int64)
        info: dict[str, Any] = {"w": w, "rounds": rounds, "levels": len(levels), "pa": pa,
                                "pb": pb, "loff": loff, "X0": X0}
        if len(e_rows) >= 2:  # several strata with extra days: E is mixed by its own chain
            off = np.concatenate([[0], np.cumsum(e)[:-1]]) % n
            E0 = ((np.arange(n)[None, :] - off[:, None]) % n) < e[:, None]  # cyclic segments
            e_levels = _butterfly(np.zeros(len(e_rows), np.int64), np.array([0]),
                                  np.array([len(e_rows)]))
            info["E0"] = np.ascontiguousarray(pack_bits(E0[e_rows].astype(np.uint8))[:, :w])
            info["e_rows"] = e_rows
            info["e_pa"], info["e_pb"], info["e_loff"] = _flat_levels(e_levels)
            info["e_rounds"] = _E_ROUNDS
        else:
            info["E0"] = np.zeros((1, w), dtype=np.uint64)
            info["e_rows"] = np.zeros(0, dtype=np.int64)
            info["e_pa"] = info["e_pb"] = np.zeros(0, dtype=np.int64)
            info["e_loff"] = np.zeros(2, dtype=np.int64)
            info["e_rounds"] = 0
        return _Site3(cols, n, k, "curveball", info)

    def _template(self, extra: np.ndarray, q: np.ndarray, n: int, w: int) -> np.ndarray:
        """Rows ``(D, w)`` in slot order: in stratum ``s`` hot spot ``j`` takes the cyclic run of
        ``q_s + extra[s, j]`` days from the prefix sum; slot ``u`` holds run day ``u * step mod size``."""
        bits = np.zeros((self.d, n), dtype=np.uint8)
        for s in range(self.n_strata):
            size, off = int(self.sizes[s]), int(self.offsets[s])
            if size == 0:
                continue
            c = q[s] + extra[s].astype(np.int64)
            start = (np.cumsum(c) - c) % size
            v = (np.arange(size) * _step(size)) % size
            bits[off : off + size] = ((v[:, None] - start[None, :]) % size) < c[None, :]
        return np.ascontiguousarray(pack_bits(bits)[:, :w])

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary of the procedure per site (recorded in the manifest's ``derived``)."""
        if self.v2 is not None:
            out = self.v2.describe()
            out["procedure"] = "rct-randomise/2 (run constraints)"
            return out
        sites = []
        for site in self.sites:
            d: dict[str, Any] = {"hotspots": site.n, "per_day": site.k, "kernel": site.kernel,
                                 "raw_words": WORDS_PER_SITE}
            if site.kernel == "curveball":
                d.update(rounds=site.info["rounds"], levels=site.info["levels"],
                         extra_day_chain=bool(len(site.info["e_rows"])))
            sites.append(d)
        return {"algorithm": "uniform over feasible schedules (exact curveball trades)",
                "sites": sites}

    # -- sampling ---------------------------------------------------------------------
    def sample(self, words: np.ndarray) -> np.ndarray:
        """Schedules ``(b, N, D)`` int8 from raw words ``(b, n_words)`` (chain ``i``: row ``i``)."""
        if self.v2 is not None:
            return self.v2.sample(words)
        from rct.randomise import _crossover_v3_kernels as K

        words = np.ascontiguousarray(words, dtype=np.uint64)
        b = words.shape[0]
        out = np.zeros((b, self.n, self.d), dtype=np.int8)
        used = 0
        for s, site in enumerate(self.sites):
            seeds = np.ascontiguousarray(words[:, WORDS_PER_SITE * s : WORDS_PER_SITE * (s + 1)])
            cols = np.ascontiguousarray(site.cols, dtype=np.int64)
            if site.kernel == "independent":
                used += K.independent_site(seeds, self.d, site.k, cols, out)
                continue
            i = site.info
            used += K.curveball_site(seeds, i["X0"], i["pa"], i["pb"], i["loff"], i["rounds"],
                             i["E0"], i["e_rows"], i["e_pa"], i["e_pb"], i["e_loff"],
                             i["e_rounds"], self.offsets, self.sizes, self.day_slot, site.n,
                             cols, out)
        self.generator_words = used / max(1, b)  # diagnostics (benchmarks): words per draw
        return out

    def draw(self, stream: RawStream, n: int, *, max_groups: int = 1) -> np.ndarray:
        """``n`` schedules ``(n, N, D)``; chain ``i`` reads raw words ``[i W, (i + 1) W)`` of the
        stream (``W`` = :attr:`n_words`), so draw ``i`` is the same for every ``n > i`` and draw 0
        from ``PCG64(seed)`` is the allocation."""
        if self.v2 is not None:
            return self.v2.draw(stream, n, max_groups=max_groups)
        n = int(n)
        return self.sample(stream.words(n * self.n_words).reshape(n, self.n_words))
