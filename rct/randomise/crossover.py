"""Crossover hot-spot-day designs: exactly k of N hot spots tasked each trial day.

The schedule is drawn by a day-by-day priority sampler, vectorised over draws:

1. **Targets** (``equal_coverage=True``).  Each hot spot gets ``floor(k D_s / N)``
   patrol days in each stratum ``s`` of ``D_s`` days (one stratum, or one per
   weekday with ``block_weekday=True``); the ``e_s = k D_s mod N`` extra days of
   stratum ``s`` go to consecutive segments of one uniformly random cyclic
   order of the hot spots, so every hot spot's total differs from every
   other's by at most one, and within each weekday too.
2. **Days**.  On each day the ``k`` hot spots with the highest priority
   ``(eligible, urgency, random key)`` are tasked, where urgency is the hot
   spot's remaining target in the day's stratum minus the stratum's remaining
   days (i.e. minus its slack; with no constraints this is the remaining target).
   Eligible means: fewer than ``max_consecutive`` tasked days in a row so far,
   and -- after a run of tasked days ends -- at least ``washout`` untasked days
   before the next run.
3. **Rejection**.  A draw in which a tasked hot spot was ineligible or already
   at its target is discarded and the next one is taken (each attempt uses a
   fixed number of raw words, so "the first success" is machine independent).
   Without ``max_consecutive``/``washout`` no attempt ever fails; with them and
   no weekday blocking, failures are rare in the published designs; weekday
   blocking combined with a consecutive-day cap is often infeasible for this
   sampler and is refused with a DesignError after ``max_attempts``.

Probabilities: every step treats hot spots symmetrically (only their state and
i.i.d. random keys matter), so the schedule's distribution is invariant to
relabelling the hot spots and ``P(hot spot i tasked on day t) = k / N`` exactly
for every unit-day, with or without the constraints (ties between 52-bit keys,
probability ~2**-52, are the only asymmetry).  Tests confirm this by exact
enumeration of the sampler on small designs and by simulation.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rct.errors import DesignError
from rct.randomise.base import (
    ALGORITHM_VERSION,
    RawStream,
    canonical_ids,
    check_seed,
    key48,
    stable_digest,
)

__all__ = ["CrossoverDesign", "crossover", "tasking_list", "top_k_mask"]

_Q_OFFSET = 1024  # remaining-target values are stored as quota + 1024 in 11 bits


@dataclass(frozen=True, eq=False)
class CrossoverDesign:
    """A hot-spot-day schedule and the randomisation distribution it came from."""

    ids: tuple[str, ...]
    dates: tuple[dt.date, ...]
    per_day: int
    seed: int
    schedule: np.ndarray = field(repr=False)  # (D, N) int8, 1 = tasked
    strata: np.ndarray = field(repr=False)  # (D,) stratum of each day
    parameters: dict[str, Any] = field(repr=False)
    derived: dict[str, Any] = field(repr=False)
    arms: tuple[str, ...] = ("control", "treatment")
    algorithm_version: str = ALGORITHM_VERSION
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- contract ----------------------------------------------------------
    @property
    def n_units(self) -> int:
        return len(self.ids) * len(self.dates)

    @property
    def units(self) -> Any:
        """MultiIndex ``(hotspot_id, trial_date)``, hot-spot major, both in ascending order."""
        import pandas as pd

        return pd.MultiIndex.from_product(
            [list(self.ids), list(self.dates)], names=["hotspot_id", "trial_date"]
        )

    @property
    def assignment(self) -> np.ndarray:
        """Arm codes (int8; 1 = tasked) in :attr:`units` order."""
        out = np.ascontiguousarray(self.schedule.T).ravel()
        out.setflags(write=False)
        return out

    @property
    def allocation(self) -> Any:
        """DataFrame ``hotspot_id, trial_date, arm`` (+ ``washout`` flag when washout > 0)."""
        import pandas as pd

        n, d = len(self.ids), len(self.dates)
        df = pd.DataFrame(
            {
                "hotspot_id": np.repeat(np.array(self.ids, dtype=object), d),
                "trial_date": list(self.dates) * n,
                "arm": np.array(self.arms, dtype=object)[self.assignment],
            }
        )
        w = int(self.parameters["washout"])
        if w > 0:
            df["washout"] = washout_flags(self.schedule, w).T.ravel()
        return df

    def probabilities(self) -> Any:
        """``P(arm)`` per unit-day: ``k/N`` tasked, exact by symmetry (see module docstring)."""
        import pandas as pd

        p = self.per_day / len(self.ids)
        df = pd.DataFrame(
            {"control": np.full(self.n_units, 1 - p), "treatment": np.full(self.n_units, p)},
            index=self.units,
        )
        df.attrs["method"] = "symmetry"
        df.attrs["mc_se"] = 0.0
        return df

    def draw(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` whole schedules from the same sampler, shape ``(n, N*D)`` in :attr:`units` order."""
        n = int(n)
        stream = RawStream(np.random.default_rng() if rng is None else rng)
        sched = self._sample(stream, n, max_attempts=max(1, n) * int(self.parameters["max_attempts"]))
        return np.ascontiguousarray(sched.transpose(0, 2, 1)).reshape(n, self.n_units)

    def draw_schedules(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Like :meth:`draw` but shaped ``(n, D, N)`` (day by hot spot)."""
        stream = RawStream(np.random.default_rng() if rng is None else rng)
        return self._sample(stream, int(n), max_attempts=max(1, n) * int(self.parameters["max_attempts"]))

    def enumerate(self, limit: int = 100_000, *, with_probabilities: bool = False) -> Any:
        """Every schedule the sampler can produce (with exact probabilities) when few enough.

        Exact enumeration of the sampler's branching (random cyclic order, then
        uniform tie-breaks each day, failures discarded).  Only small designs:
        returns None when there are more than ``limit`` schedules or the search
        would be too large (``N > 8`` or ``N * D > 48`` unit-days).
        """
        from rct.randomise.crossover_exact import enumerate_schedules

        res = enumerate_schedules(self, limit)
        if res is None:
            return None
        sched, prob = res
        z = np.ascontiguousarray(sched.transpose(0, 2, 1)).reshape(len(sched), self.n_units)
        return (z, prob) if with_probabilities else z

    @property
    def n_assignments(self) -> int | float:
        """Number of possible schedules when enumerable, else ``float('inf')`` (not computed)."""
        if "n_assignments" not in self._cache:
            z = self.enumerate(100_000)
            self._cache["n_assignments"] = float("inf") if z is None else len(z)
        return self._cache["n_assignments"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": "crossover",
            "scheme": "crossover",
            "seed": self.seed,
            "algorithm_version": self.algorithm_version,
            "parameters": dict(self.parameters),
            "derived": dict(self.derived),
        }

    def coverage(self) -> Any:
        """Tasked days per hot spot: total and per weekday (Mon..Sun) columns."""
        import pandas as pd

        wd = np.array([d.weekday() for d in self.dates])
        out = pd.DataFrame({"hotspot_id": list(self.ids), "tasked_days": self.schedule.sum(axis=0)})
        for i, name in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]):
            out[name] = self.schedule[wd == i].sum(axis=0)
        return out

    # -- sampler -------------------------------------------------------------
    @property
    def _width(self) -> int:
        return len(self.ids) * (1 + len(self.dates))

    def _sample(self, stream: RawStream, n: int, *, max_attempts: int) -> np.ndarray:
        """``n`` successful schedules ``(n, D, N)``: attempts in order, failures skipped."""
        out, got, tried = [], 0, 0
        chunk = max(1, min(4096, 4_000_000 // self._width))
        while got < n:
            if tried >= max_attempts:
                raise DesignError(
                    f"the crossover constraints could not be met: {got} of {tried:,} attempts "
                    "succeeded; relax max_consecutive / washout or per_day"
                )
            b = min(chunk, max_attempts - tried)
            sched, ok = crossover_kernel(
                stream.words(b * self._width).reshape(b, self._width), self._spec()
            )
            out.append(sched[ok][: n - got])
            got += int(ok.sum())
            tried += b
        return np.concatenate(out)[:n] if out else np.empty((0, len(self.dates), len(self.ids)), np.int8)

    def _spec(self) -> dict[str, Any]:
        p = self.parameters
        return {
            "n": len(self.ids),
            "k": self.per_day,
            "strata": self.strata,
            "equal_coverage": bool(p["equal_coverage"]),
            "max_consecutive": p["max_consecutive"],
            "washout": int(p["washout"]),
        }


def washout_flags(schedule: np.ndarray, w: int) -> np.ndarray:
    """True for untasked unit-days within ``w`` days after a tasked day (carry-over)."""
    d = schedule.shape[0]
    flag = np.zeros(schedule.shape, dtype=bool)
    for lag in range(1, w + 1):
        flag[lag:] |= schedule[: d - lag].astype(bool)
    return flag & (schedule == 0)


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


def crossover(
    hotspot_ids: Sequence[Any] | Any,
    *,
    start: dt.date | str,
    days: int,
    per_day: int,
    day_starts: str = "06:00",
    seed: int,
    equal_coverage: bool = True,
    block_weekday: bool = False,
    max_consecutive: int | None = None,
    washout: int = 0,
    max_attempts: int = 100_000,
    id_column: str = "hotspot_id",
) -> CrossoverDesign:
    """Schedule a crossover hot-spot-day trial: ``per_day`` of N hot spots tasked each day.

    Parameters
    ----------
    hotspot_ids
        Hot-spot ids (any order), or a DataFrame with ``id_column``.
    start, days
        First trial date (``datetime.date`` or ISO ``YYYY-MM-DD``) and number of trial days.
    per_day
        ``k``: hot spots tasked each day (1 <= k < N).
    day_starts
        Trial-day boundary, local time (``"06:00"``: a day runs 06:00-05:59);
        recorded and used by :func:`tasking_list`.
    seed
        Non-negative integer.
    equal_coverage
        Each hot spot's number of patrol days differs from any other's by at most one.
    block_weekday
        Equal coverage within each weekday too (patrol days spread over weekdays).
    max_consecutive
        Cap on consecutive patrol days for a hot spot.
    washout
        After a run of patrol days a hot spot is untasked for at least this many
        days; those days are flagged ``washout`` in the allocation so analyses can
        drop carry-over days.
    max_attempts
        Give up (DesignError) after this many failed attempts.

    Returns
    -------
    CrossoverDesign

    Notes
    -----
    Sampler, rejection rule and the exact ``k/N`` unit-day probabilities are
    described in this module's docstring.  Designs such as Southend (8 of 20,
    90 days), Bedfordshire (7 of 21) and Thames Valley (half of 45; half of 34
    with days 06:00-05:59) are covered.
    """
    import pandas as pd

    from rct.io.times import parse_day_start

    seed = check_seed(seed)
    if isinstance(hotspot_ids, pd.DataFrame):
        hotspot_ids = hotspot_ids[id_column].tolist()
    ids = canonical_ids(hotspot_ids, what=id_column)
    n = len(ids)
    start_d = _as_date(start)
    days, per_day = int(days), int(per_day)
    parse_day_start(day_starts)
    if n < 2:
        raise DesignError(f"a crossover needs at least 2 hot spots, got {n}")
    if not 1 <= per_day < n:
        raise DesignError(f"per_day must be between 1 and {n - 1} for {n} hot spots, got {per_day}")
    if not 1 <= days <= 1000:
        raise DesignError(f"days must be between 1 and 1000, got {days}")
    if max_consecutive is not None and int(max_consecutive) < 1:
        raise DesignError(f"max_consecutive must be >= 1 or None, got {max_consecutive}")
    if int(washout) < 0:
        raise DesignError(f"washout must be >= 0, got {washout}")
    dates = tuple(start_d + dt.timedelta(days=i) for i in range(days))
    strata = (
        np.array([d.weekday() for d in dates], dtype=np.int64)
        if block_weekday
        else np.zeros(days, dtype=np.int64)
    )
    strata.setflags(write=False)
    params = {
        "start": start_d.isoformat(),
        "days": days,
        "per_day": per_day,
        "day_starts": str(day_starts),
        "equal_coverage": bool(equal_coverage),
        "block_weekday": bool(block_weekday),
        "max_consecutive": None if max_consecutive is None else int(max_consecutive),
        "washout": int(washout),
        "max_attempts": int(max_attempts),
        "id_column": id_column,
    }
    derived = {
        "n_hotspots": n,
        "n_units": n * days,
        "tasked_unit_days": per_day * days,
        "units_digest": stable_digest({"ids": ids}),
        "probability_tasked": f"{per_day}/{n}",
    }
    proto = CrossoverDesign(
        ids=tuple(ids),
        dates=dates,
        per_day=per_day,
        seed=seed,
        schedule=np.empty((days, n), np.int8),
        strata=strata,
        parameters=params,
        derived=derived,
    )
    stream = RawStream(seed)
    chunk = 64
    tried = 0
    while True:
        if tried >= max_attempts:
            hint = (
                " (weekday blocking together with a consecutive-day cap or washout is often "
                "infeasible for this sampler: drop one of them)"
                if block_weekday and (max_consecutive is not None or washout)
                else ""
            )
            raise DesignError(
                f"the crossover constraints could not be met in {max_attempts:,} attempts; "
                f"relax max_consecutive / washout or per_day{hint}"
            )
        b = min(chunk, max_attempts - tried)
        sched, ok = crossover_kernel(
            stream.words(b * proto._width).reshape(b, proto._width), proto._spec()
        )
        if ok.any():
            i = int(np.argmax(ok))
            chosen = sched[i].copy()
            tried += i + 1
            break
        tried += b
        chunk = min(chunk * 2, 4096)
    chosen.setflags(write=False)
    derived["n_attempts"] = tried
    object.__setattr__(proto, "schedule", chosen)
    return proto


def tasking_list(design: CrossoverDesign, *, sep: str = ";") -> Any:
    """The daily tasking list: one row per trial day with the tasked hot spots.

    Columns ``trial_date, weekday, starts_local, ends_local, n_tasked, tasked``
    (``tasked`` joins hot-spot ids with ``sep``), the form a briefing or a
    tasking app import uses.
    """
    import pandas as pd

    from rct.io.times import LONDON, trial_day_bounds

    start, end = trial_day_bounds(list(design.dates), design.parameters["day_starts"])
    ids = np.array(design.ids, dtype=object)
    fmt = "%Y-%m-%d %H:%M"
    return pd.DataFrame(
        {
            "trial_date": [d.isoformat() for d in design.dates],
            "weekday": [d.strftime("%a") for d in design.dates],
            "starts_local": start.dt.tz_convert(LONDON).dt.strftime(fmt).to_list(),
            "ends_local": end.dt.tz_convert(LONDON).dt.strftime(fmt).to_list(),
            "n_tasked": design.schedule.sum(axis=1).astype(int),
            "tasked": [sep.join(ids[row.astype(bool)]) for row in design.schedule],
        }
    )


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise DesignError(f"start must be a date YYYY-MM-DD, got {value!r}") from exc


def _n_choose(n: int, k: int) -> int:
    return math.comb(n, k)
