"""Crossover schedules drawn uniformly from the design (algorithm ``rct-randomise/2``).

Superseded for new designs by ``rct-randomise/3`` (:mod:`rct.randomise.crossover_v3`:
the same target by exact trades, about eight times faster); kept unchanged so
that ``rct-randomise/2`` schedules re-derive bit for bit, and run by ``/3``
itself for designs with run constraints.

The target
----------
A schedule is a 0/1 matrix ``X`` (days x hot spots).  The design's feasible set
``S`` holds every matrix with

* ``k`` tasked hot spots each day (with ``sites``: ``k_s`` of each site's hot spots);
* equal coverage (optional): each hot spot's number of tasked days within one of
  every other's in its site, and with weekday blocking within each weekday too;
* at most ``max_consecutive`` tasked days in a row, and at least ``washout``
  untasked days between two runs of tasked days (days before the trial count
  as untasked).

The sampler draws from the uniform distribution on ``S``: every feasible
schedule is (up to the chain's mixing, checked below) equally likely.  Under
it, with no constraint beyond ``k`` a day and equal coverage, the days of a
hot spot with ``c`` tasked days are a uniformly random ``c``-subset of the
trial, so ``P(tasked | tasked l days ago) = (c - 1)/(D - 1)`` and
``P(tasked | untasked l days ago) = c/(D - 1)``: no induced alternation.

How (each site separately; sites are independent given the days)
-----------------------------------------------------------------
*No run constraint* (``max_consecutive=None``, ``washout <= 1``).

1. *Extra days.*  In stratum ``s`` (all days, or one weekday) each hot spot
   has ``q_s = floor(k D_s / N)`` or ``q_s + 1`` tasked days; which ``e_s`` hot
   spots get the extra day is a 0/1 matrix ``E`` (strata x hot spots, row sums
   ``e_s``, column sums within one).  With one stratum ``E`` is fixed (the
   final hot-spot permutation randomises it); with several it starts as
   consecutive segments of a cycle and is mixed by the chain of step 3 run on
   its rows.  Every ``E`` has the same number of completions (strata are
   independent given their column sums), so a uniform ``E`` followed by a
   uniform completion is uniform on ``S``.
2. *Start.*  Within each stratum a deterministic schedule with those column
   sums (hot spot ``j`` takes the cyclic run of days starting at
   ``sum_{i<j} c_i mod D_s``), its days then put in a uniformly random order
   within the stratum.
3. *Chain.*  ``sweeps`` rounds of curveball trades (Strona et al. 2014; Carstens
   2015): in round ``r`` the days of each stratum are paired as in a butterfly
   network (day slot ``a`` with ``a XOR 2**(r mod L)``), and each pair of days
   ``(t1, t2)`` redistributes the hot spots tasked on exactly one of them: a
   uniformly random mask ``R`` swaps the pair's rows on ``R``, and is accepted
   when it swaps as many of ``t1``'s hot spots as of ``t2``'s.  Given
   acceptance, the hot spots ``t1`` keeps are a uniformly random subset of the
   right size -- a curveball trade -- so each trade is symmetric and preserves
   every row and column sum; a pair tries ``r`` independent masks and takes the
   first accepted one (none: no change).  Trades of disjoint pairs commute.
4. *Permutations.*  The days of each stratum in a uniformly random order, and
   the hot spots of each site in a uniformly random order.  Both maps send
   ``S`` to itself, so they keep the uniform distribution; they make each
   hot spot's days exactly exchangeable within a stratum whatever the chain
   did, and ``P(unit-day tasked) = k/N`` exact for every hot-spot-day.

*Run constraints* (``max_consecutive`` or ``washout >= 2``): day order matters,
so there is no day permutation.  The chain starts from the first feasible
schedule of the ``rct-randomise/1`` sampler with a fixed internal seed and makes
local Metropolis moves, rejecting any move that leaves ``S``: in each step the
hot spots are split into ``G`` random groups (about 2 hot spots each, 3 with
weekday coverage), and in each group either a checkerboard swap between two
random days (a hot spot tasked on the first day and not the second trades
places with one tasked on the second and not the first, both chosen
uniformly; any strata, and a cross-stratum swap must keep every hot spot's
weekday and total coverage within one) or, on alternate steps when coverage
can move, a "flip" of one day (a uniformly chosen tasked and untasked hot
spot swap places, allowed when coverage stays within one).  The proposal
probabilities depend only on counts a move does not change, so proposals are
symmetric.  Moves in different groups touch different hot spots, so they are
checked and accepted independently.  The chain runs ``8 D N / G`` steps
(three times as many with weekday coverage), which matches chains many times
longer in transition probabilities, run lengths and pair overlaps on the
published designs.  The uniform
distribution on ``S`` is stationary for every step.  Finally the hot spots are
permuted uniformly within sites.  This chain is not proven irreducible for
every design: it is checked against exact enumeration on small designs
(where it is not used, see below) and by its mixing statistics on the
published designs; very tight constraints on few hot spots (e.g. weekday
blocking with ``max_consecutive=1`` and 3 hot spots) can leave schedules it
never reaches.  Randomisation inference stays exact regardless (see below).

*Small run-constrained designs* (a site with at most 8 hot spots and 48
hot-spot-days whose feasible schedules can be listed: at most
``_EXACT_LIMIT`` of them): one is drawn uniformly from the list
(``word mod m``; within ``m / 2**64`` of uniform).  Tight constraints on few
hot spots can make the local chain reducible (3 hot spots, one a day, no two
days running, weekday blocking: some schedules are unreachable), so these
designs do not use it.

*No equal coverage and no run constraint*: each day's ``k`` hot spots are an
independent uniformly random subset (exactly uniform on ``S``).

Exactness of randomisation inference
------------------------------------
The allocation is the first draw of this procedure from ``PCG64(seed)``, and
every reference schedule a randomisation test uses (``design.draw(n, rng)``)
runs exactly the same procedure on its own raw words: chains are run in fixed
groups of :data:`GROUP`, group ``g`` reading the ``g``-th block of words
(:class:`WordReader`), so draw ``i`` does not depend on how many are drawn at
once and ``draw(n, PCG64(seed))[0]`` is the allocation.  The allocation and the
reference schedules are therefore independent draws from one distribution,
and the randomisation test is exact whatever the chain's mixing; mixing only
decides how close that distribution is to uniform on ``S`` (tests:
chi-squared against exact enumeration on small designs; transition
probabilities and pair overlaps against their uniform values on the published
designs).

Determinism: only raw ``PCG64`` words, integer and bit operations, and stable
sorts of integer keys -- no floating point -- so a schedule is the same on any
machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rct.errors import DesignError
from rct.randomise.base import RawStream, key48
from rct.randomise.kernel import stable_argsort_rows

__all__ = ["ScheduleSampler", "popcount", "pack_bits", "unpack_bits"]

_U64 = np.uint64
_ATTEMPTS = 4  # masks tried per pair of days per round (kernel "swap")
_SWEEPS_MIN = 24  # at least this many rounds
_SWEEPS_PER_LEVEL = 2.0  # rounds = per_level * levels / P(a pair trades in a round)
_E_SWEEPS = 32  # rounds of the chain on the extra-day matrix E
_LOCAL_PER_CELL = 8  # local kernel: proposed moves per hot-spot-day
_LOCAL_MAX_LOG_GROUPS = 5  # at most 32 groups of hot spots moving at once
_LOCAL_GROUP_SIZE = 2  # about this many hot spots (or more) per group
_START_SEED = 0  # fixed internal seed of the v1 start under run constraints
_EXACT_LIMIT = 20_000  # run-constrained sites with at most this many schedules: drawn exactly
_EXACT_NODES = 100_000  # ... when listing them takes at most this many search nodes

try:  # numpy >= 2.0
    _bitwise_count = np.bitwise_count
except AttributeError:  # pragma: no cover - numpy 1.26
    _bitwise_count = None


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (uint8 result)."""
    if _bitwise_count is not None:
        return _bitwise_count(x)
    x = x - ((x >> _U64(1)) & _U64(0x5555555555555555))  # pragma: no cover
    x = (x & _U64(0x3333333333333333)) + ((x >> _U64(2)) & _U64(0x3333333333333333))
    x = (x + (x >> _U64(4))) & _U64(0x0F0F0F0F0F0F0F0F)
    return ((x * _U64(0x0101010101010101)) >> _U64(56)).astype(np.uint8)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """``(..., n)`` 0/1 -> ``(..., ceil(n/64))`` uint64, bit ``j % 64`` of word ``j // 64``."""
    n = bits.shape[-1]
    w = max(1, -(-n // 64))
    pad = np.zeros(bits.shape[:-1] + (64 * w,), dtype=np.uint8)
    pad[..., :n] = bits
    packed = np.packbits(pad, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(_U64)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(..., W)`` uint64 -> ``(..., n)`` uint8."""
    b = np.ascontiguousarray(words.astype("<u8")).view(np.uint8)
    return np.unpackbits(b, axis=-1, bitorder="little")[..., :n]


def _mask(cond: np.ndarray) -> np.ndarray:
    """All-ones uint64 where ``cond`` (bool), else 0."""
    return np.negative(cond.astype(_U64))


def _curveball_p(a: int, b: int) -> float:
    """P(a uniform mask swaps as many of ``a`` as of ``b`` positions) = C(a+b, a) / 2**(a+b)."""
    return math.comb(a + b, a) / 2.0 ** (a + b)


def _butterfly(slot_stratum: np.ndarray, offsets: np.ndarray, sizes: np.ndarray
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of slots per level: local index ``a`` with ``a ^ 2**l``, within each stratum."""
    levels = max(1, int(math.ceil(math.log2(max(2, int(sizes.max()))))))
    out = []
    for lev in range(levels):
        pa, pb = [], []
        for off, size in zip(offsets, sizes, strict=True):
            a = np.arange(size)
            b = a ^ (1 << lev)
            keep = (a < b) & (b < size)
            pa.append(off + a[keep])
            pb.append(off + b[keep])
        out.append((np.concatenate(pa).astype(np.int64), np.concatenate(pb).astype(np.int64)))
    return out


def _trade_rounds(X: np.ndarray, words: WordReader,
                  levels: list[tuple[np.ndarray, np.ndarray]], sweeps: int, attempts: int
                  ) -> None:
    """Curveball trades between paired rows of ``X`` ``(b, R, W)``, in place.

    Round ``s`` pairs the rows of level ``s mod L``; each pair tries
    ``attempts`` uniform masks (words ``[attempt][pair][word]`` of the round)
    and swaps the rows on the first mask that moves as many hot spots each
    way (on bits where the two rows differ).  With more than 64 hot spots,
    two rounds in three trade each 64-hot-spot word on its own (a curveball
    restricted to a fixed set of hot spots is still symmetric; the full
    rounds keep the per-word daily counts mixing).
    """
    b, _, w = X.shape
    Xv = X[:, :, 0] if w == 1 else X  # a view: writes go to X
    for s in range(sweeps):
        pa, pb = levels[s % len(levels)]
        m = len(pa)
        if m == 0:
            continue
        R = words.take(attempts * m * w).reshape((b, attempts, m) + ((w,) if w > 1 else ()))
        r1, r2 = Xv[:, pa], Xv[:, pb]
        P = r1 ^ r2
        A = r1 & P
        Bm = P ^ A
        split = w > 1 and s % 3 != 0  # rounds 1, 2 of every 3: each 64-hot-spot word trades alone
        if w == 1 or split:
            ok = popcount(R & A[:, None]) == popcount(R & Bm[:, None])
        else:
            diff = popcount(R & A[:, None]).astype(np.int16) - popcount(R & Bm[:, None])
            ok = diff.sum(axis=-1) == 0
        if w > 1 and not split:
            ok = ok[..., None]
        sel = np.where(ok[:, attempts - 1], R[:, attempts - 1], _U64(0))
        for i in range(attempts - 2, -1, -1):  # the first accepted mask wins (none: no change)
            sel = np.where(ok[:, i], R[:, i], sel)
        sel &= P
        Xv[:, pa] = r1 ^ sel
        Xv[:, pb] = r2 ^ sel


def _bits_by_hotspot(X: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``(b, n, D)`` int8: output hot spot ``i`` is bit ``sigma[:, i]`` of rows ``X`` ``(b, D, W)``."""
    b, d, w = X.shape
    if w == 1:
        shift = (sigma % 64).astype(_U64)[:, :, None]
        return ((X[:, :, 0][:, None, :] >> shift) & _U64(1)).astype(np.int8)
    bits = unpack_bits(X, 64 * w).view(np.int8)  # (b, D, 64 W): bit j of each day's words
    return np.take_along_axis(bits, sigma[:, None, :], axis=2).transpose(0, 2, 1)


def _permutation_keys(words: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Stable argsort of 48-bit keys (grouped by ``group`` in the top 16 bits): a random permutation."""
    keys = key48(words)
    if group is not None:
        keys = keys | (group.astype(_U64) << _U64(48))[None, :]
    return stable_argsort_rows(keys)


GROUP = 64  # chains are drawn in fixed groups of this many (part of the algorithm)


class WordReader:
    """Raw words for groups of :data:`GROUP` chains, read round by round.

    The stream is cut into consecutive blocks of ``GROUP * n_words`` words,
    one per group; a group's block is read in the order the procedure asks
    for words (``take(m)``: the next ``m`` words of each of its chains, chain
    by chain).  So chain ``j`` of group ``g`` always sees the same words,
    whatever number of groups is drawn at once: several groups are read
    from copies of a PCG64-family bit generator advanced to their blocks (a
    bit generator without ``advance`` is read one group at a time).
    Afterwards the stream has moved past every block read.
    """

    def __init__(self, source: RawStream | np.ndarray, n_groups: int = 1, n_words: int = 0) -> None:
        self.pos = 0
        if isinstance(source, np.ndarray):  # explicit words (tests): one row per chain
            self.b, self._all, self._gens = source.shape[0], source, None
            return
        self._all = None
        self.b = int(n_groups) * GROUP
        bg = source._bg
        if n_groups == 1:
            self._gens = [bg]
            return
        self._gens = []
        for g in range(int(n_groups)):
            c = type(bg)()
            c.state = bg.state
            c.advance(g * GROUP * int(n_words))
            self._gens.append(c)
        bg.advance(int(n_groups) * GROUP * int(n_words))

    def take(self, m: int) -> np.ndarray:
        """The next ``m`` words of every chain, ``(b, m)``."""
        m = int(m)
        self.pos += m
        if self._all is not None:
            return self._all[:, self.pos - m : self.pos]
        parts = [np.asarray(g.random_raw(GROUP * m), dtype=_U64).reshape(GROUP, m)
                 for g in self._gens]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


@dataclass(frozen=True, eq=False)
class _Site:
    """One site's sub-problem and the fixed layout of its raw words."""

    cols: np.ndarray  # positions of the site's hot spots in canonical order
    n: int
    k: int
    kernel: str  # "swap" | "local" | "exact" | "independent"
    n_words: int
    info: dict[str, Any] = field(default_factory=dict)


class DayLayout:
    """The design's days grouped by stratum ("slots"), shared by the ``/2`` and ``/3`` samplers.

    Sets ``n``, ``strata``, ``d`` (days), ``n_strata``, ``equal_coverage`` and the slots:
    ``slot_day`` (the day in each slot: strata in order, ascending days within each),
    ``day_slot`` (its inverse), ``slot_stratum``, ``sizes`` and ``offsets`` (days per
    stratum and each stratum's first slot), all int64.
    """

    def _set_days(self, n_hotspots: int, strata: np.ndarray, equal_coverage: bool) -> None:
        self.n = int(n_hotspots)
        self.strata = np.asarray(strata, dtype=np.int64)
        self.d = len(self.strata)
        self.n_strata = int(self.strata.max()) + 1 if self.d else 1
        self.equal_coverage = bool(equal_coverage)
        self.slot_day = np.lexsort((np.arange(self.d), self.strata)).astype(np.int64)
        self.day_slot = np.argsort(self.slot_day, kind="stable").astype(np.int64)
        self.slot_stratum = self.strata[self.slot_day]
        self.sizes = np.bincount(self.strata, minlength=self.n_strata).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)


class ScheduleSampler(DayLayout):
    """The ``rct-randomise/2`` procedure for one design; :meth:`sample` runs it on raw words.

    Parameters
    ----------
    n_hotspots, strata
        Number of hot spots (canonical order) and each day's stratum (0..S-1).
    sites
        ``[(columns, k), ...]``: each site's hot-spot positions and its daily quota.
    equal_coverage, max_consecutive, washout
        The design's constraints (see the module docstring).
    max_attempts
        Attempts of the v1 sampler when looking for a feasible start under run constraints.
    """

    def __init__(self, n_hotspots: int, strata: np.ndarray, sites: list[tuple[np.ndarray, int]], *,
                 equal_coverage: bool, max_consecutive: int | None, washout: int,
                 max_attempts: int) -> None:
        self._set_days(n_hotspots, strata, equal_coverage)
        self.cap = None if max_consecutive is None else int(max_consecutive)
        self.washout = int(washout)
        self.constrained = self.cap is not None or self.washout >= 2
        self.max_attempts = int(max_attempts)
        self.sites: list[_Site] = [self._plan(np.asarray(c, dtype=np.int64), int(k))
                                   for c, k in sites]
        self.n_words = sum(s.n_words for s in self.sites)

    # -- planning ---------------------------------------------------------------------
    def _plan(self, cols: np.ndarray, k: int) -> _Site:
        n, d = len(cols), self.d
        w = max(1, -(-n // 64))
        if self.constrained:
            if n <= 8 and n * d <= 48 and _EXACT_LIMIT > 0:
                from rct.randomise.crossover_exact import feasible_schedules

                table = feasible_schedules(n, k, self.strata, equal_coverage=self.equal_coverage,
                                           max_consecutive=self.cap, washout=self.washout,
                                           limit=_EXACT_LIMIT, max_nodes=_EXACT_NODES)
                if table is not None:
                    if len(table) == 0:
                        raise DesignError("no schedule meets the crossover constraints; relax "
                                          "max_consecutive / washout or per_day")
                    return _Site(cols, n, k, "exact", 1, {"table": table})
            return self._plan_local(cols, n, k, w)
        if not self.equal_coverage:
            return _Site(cols, n, k, "independent", d * n)
        q = (k * self.sizes) // n
        e = (k * self.sizes) % n
        levels = _butterfly(self.slot_stratum, self.offsets, self.sizes)
        m = max(1, round(k * (n - k) / n))
        p_trade = 1 - (1 - _curveball_p(m, m)) ** _ATTEMPTS
        if w > 1:  # two rounds in three trade word by word (see _trade_rounds)
            mw = max(1, round(m / w))
            p_trade = (p_trade + 2 * (1 - (1 - _curveball_p(mw, mw)) ** _ATTEMPTS)) / 3
        sweeps = max(_SWEEPS_MIN, math.ceil(_SWEEPS_PER_LEVEL * len(levels) / p_trade))
        words = d  # start relabelling
        info: dict[str, Any] = {"q": q, "e": e, "levels": levels, "sweeps": sweeps,
                                "attempts": _ATTEMPTS, "w": w}
        # extra-day pattern E: cyclic segments; mixed by its own chain when >= 2 strata have extras
        off = np.concatenate([[0], np.cumsum(e)[:-1]]) % n
        E0 = ((np.arange(n)[None, :] - off[:, None]) % n) < e[:, None]  # (S, n)
        info["E0"] = E0
        e_rows = np.flatnonzero(e > 0)  # strata with extra days (absent weekdays have none)
        info["mix_E"] = len(e_rows) >= 2
        if info["mix_E"]:
            e_levels = _butterfly(np.zeros(len(e_rows), np.int64), np.array([0]),
                                  np.array([len(e_rows)]))
            info["e_levels"], info["e_rows"] = e_levels, e_rows
            words += sum(_ATTEMPTS * len(pa) * w for pa, _ in
                         (e_levels[s % len(e_levels)] for s in range(_E_SWEEPS)))
        else:
            info["template"] = self._start_rows(E0[None], q, n)[0]  # (D, W) in slot order
        words += sum(_ATTEMPTS * len(pa) * w for pa, _ in (levels[s % len(levels)]
                                                            for s in range(sweeps)))
        words += d + n  # day and hot-spot permutations
        return _Site(cols, n, k, "swap", words, info)

    def _start_rows(self, E: np.ndarray, q: np.ndarray, n: int) -> np.ndarray:
        """Deterministic start per stratum from column sums ``q_s + E`` ``(b, S, n)`` -> ``(b, D, W)``."""
        b = E.shape[0]
        bits = np.zeros((b, self.d, n), dtype=np.uint8)
        for s in range(self.n_strata):
            size, off = int(self.sizes[s]), int(self.offsets[s])
            if size == 0:
                continue
            c = q[s] + E[:, s, :].astype(np.int64)  # (b, n)
            start = np.cumsum(c, axis=1) - c  # exclusive prefix sums
            u = np.arange(size)[None, :, None]
            bits[:, off : off + size, :] = ((u - start[:, None, :]) % size) < c[:, None, :]
        return pack_bits(bits)

    def _plan_local(self, cols: np.ndarray, n: int, k: int, w: int) -> _Site:
        from rct.randomise.crossover_v1 import v1_first

        spec = {"n": n, "k": k, "strata": self.strata, "equal_coverage": self.equal_coverage,
                "max_consecutive": self.cap, "washout": self.washout}
        start, _ = v1_first(RawStream(_START_SEED), spec, max_attempts=self.max_attempts,
                            block_weekday=self.n_strata > 1)
        # weekday coverage: cross-stratum moves need room, so larger groups and longer chains
        weekday = self.equal_coverage and self.n_strata > 1
        size = _LOCAL_GROUP_SIZE + (1 if weekday else 0)
        groups = 1 << max(0, min(_LOCAL_MAX_LOG_GROUPS, int(math.log2(max(1, n // size)))))
        flips = (not self.equal_coverage) or bool(((k * self.sizes) % n > 0).any())
        per_cell = _LOCAL_PER_CELL * (3 if weekday else 1)
        steps = max(64, math.ceil(per_cell * self.d * n / groups))
        per_step = 2 * groups + w * int(math.log2(groups))
        info = {"start": pack_bits(start), "groups": groups, "flips": flips, "steps": steps,
                "w": w, "per_step": per_step}
        if self.equal_coverage:
            info["high"], info["high_total"] = self._coverage_state(start, k, n)
        return _Site(cols, n, k, "local", steps * per_step + n, info)

    def _coverage_state(self, start: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        cnt = np.stack([start[self.strata == s].sum(axis=0) for s in range(self.n_strata)])
        q = (k * self.sizes) // n
        high = cnt > q[:, None]
        tot = start.sum(axis=0)
        high_total = tot > (k * self.d) // n
        return pack_bits(high), pack_bits(high_total[None])[0]

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary of the chain per site (recorded in the manifest's ``derived``)."""
        out = []
        for site in self.sites:
            d: dict[str, Any] = {"hotspots": site.n, "per_day": site.k, "kernel": site.kernel,
                                 "raw_words": site.n_words}
            if site.kernel == "swap":
                d.update(rounds=site.info["sweeps"], masks_per_trade=_ATTEMPTS,
                         levels=len(site.info["levels"]), extra_day_chain=site.info["mix_E"])
            elif site.kernel == "local":
                d.update(steps=site.info["steps"], groups=site.info["groups"],
                         flips=site.info["flips"], start_seed=_START_SEED)
            elif site.kernel == "exact":
                d.update(schedules=len(site.info["table"]))
            out.append(d)
        return {"algorithm": "uniform over feasible schedules (MCMC)", "sites": out}

    # -- sampling ---------------------------------------------------------------------
    def sample(self, words: WordReader | np.ndarray) -> np.ndarray:
        """Schedules ``(b, N, D)`` int8 (hot spot by day) from raw words (a reader or ``(b, n_words)``)."""
        if isinstance(words, np.ndarray):
            words = WordReader(words)
        b = words.b
        out = np.zeros((b, self.n, self.d), dtype=np.int8)
        for site in self.sites:
            start = words.pos
            if site.kernel == "exact":
                table = site.info["table"]
                z = table[(words.take(1)[:, 0] % _U64(len(table))).astype(np.int64)]
                z = z.transpose(0, 2, 1)
            elif site.kernel == "independent":
                z = self._independent(site, words).transpose(0, 2, 1)
            elif site.kernel == "swap":
                z = self._swap(site, words)  # (b, n, D)
            else:
                z = self._local(site, words)
            if words.pos - start != site.n_words:  # pragma: no cover - layout bug guard
                raise RuntimeError(f"site used {words.pos - start} words, planned {site.n_words}")
            if len(self.sites) == 1:
                out = np.ascontiguousarray(z, dtype=np.int8)
            else:
                out[:, site.cols, :] = z
        return out

    def draw(self, stream: RawStream, n: int, *, max_groups: int = 1) -> np.ndarray:
        """``n`` schedules ``(n, N, D)``: chains ``0..n-1`` of consecutive groups of :data:`GROUP`.

        Whole groups are always run (the stream moves past ``ceil(n / GROUP)``
        blocks), so draw ``i`` is the same for every ``n > i``; draw 0 from
        ``PCG64(seed)`` is the allocation.
        """
        out = np.empty((n, self.n, self.d), dtype=np.int8)
        n_groups = -(-n // GROUP)
        if any(site.kernel == "local" for site in self.sites):  # per-step overhead: wide batches
            max_groups = max(max_groups, min(16, (256 << 20) // (GROUP * 64 * self.d
                                                                 * max(1, -(-self.n // 64)))))
        per = max_groups if hasattr(stream._bg, "advance") else 1
        done = 0
        for g in range(0, n_groups, per):
            k = min(per, n_groups - g)
            z = self.sample(WordReader(stream, k, self.n_words))
            m = min(k * GROUP, n - done)
            out[done : done + m] = z[:m]
            done += m
        return out

    def _independent(self, site: _Site, words: np.ndarray) -> np.ndarray:
        from rct.randomise.crossover_v1 import top_k_mask

        b = words.b
        keys = key48(words.take(self.d * site.n).reshape(b * self.d, site.n))
        return top_k_mask(keys, site.k).reshape(b, self.d, site.n).astype(np.int8)

    def _swap(self, site: _Site, words: WordReader) -> np.ndarray:
        info = site.info
        b, w, n = words.b, info["w"], site.n
        relabel = _permutation_keys(words.take(self.d), self.slot_stratum)
        if info["mix_E"]:
            rows = info["e_rows"]
            E = np.broadcast_to(pack_bits(info["E0"][rows]), (b, len(rows), w)).copy()
            _trade_rounds(E, words, info["e_levels"], _E_SWEEPS, _ATTEMPTS)
            full = np.zeros((b, self.n_strata, n), dtype=np.uint8)
            full[:, rows] = unpack_bits(E, n)
            X0 = self._start_rows(full, info["q"], n)
            X = np.take_along_axis(X0, relabel[:, :, None], axis=1)
        else:
            X = info["template"][relabel]  # (b, D, W)
        _trade_rounds(X, words, info["levels"], info["sweeps"], _ATTEMPTS)
        order = _permutation_keys(words.take(self.d), self.slot_stratum)
        X = np.take_along_axis(X, order[:, self.day_slot][:, :, None], axis=1)  # day order
        sigma = _permutation_keys(words.take(n))
        return _bits_by_hotspot(X, sigma)

    def _local(self, site: _Site, words: WordReader) -> np.ndarray:
        from rct.randomise.crossover_local import local_chain

        return local_chain(self, site, words)
