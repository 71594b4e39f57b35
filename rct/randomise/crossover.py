"""Crossover hot-spot-day designs: exactly k of N hot spots tasked each trial day.

Since ``rct-randomise/2`` the schedule is drawn uniformly from every schedule
that meets the design's constraints -- ``k`` a day (or ``k_s`` per site),
equal coverage (each hot spot's tasked days within one of the others', and
within each weekday with ``block_weekday``), ``max_consecutive`` and
``washout``.  New designs use ``rct-randomise/3`` (exact curveball trades in a
compiled kernel, about ten times faster: :mod:`rct.randomise.crossover_v3`);
``rct-randomise/2`` (masked trades, :mod:`rct.randomise.crossover_mcmc`) is
kept so schedules made with it re-derive bit for bit.
Under that distribution a hot spot's tasked days are, without run
constraints, a uniformly random subset of the trial: being tasked yesterday
says nothing about today beyond the fixed total, so schedules do not
alternate (the ``rct-randomise/1`` priority sampler did: with 45 hot spots,
22 a day and 182 days it gave P(tasked | tasked yesterday) = 0.29 against
0.68 after an untasked day, which biases the same-day comparison whenever
patrols deter crime on the following days).  ``rct-randomise/1`` and ``/2``
designs are still built, drawn and verified by their own algorithm
(:mod:`rct.randomise.crossover_v1`, :mod:`rct.randomise.crossover_mcmc`) when
a manifest names it or ``algorithm=`` is passed.

Randomisation inference is exact: ``design.draw`` runs the very procedure
that made the allocation (same code, its own raw words), and the allocation
is ``design.draw(1, numpy.random.PCG64(seed))``.  ``P(hot spot i tasked on day
t) = k/N`` (``k_s/N_s`` in its site) exactly, because the procedure ends with
a uniformly random permutation of the hot spots within each site and every
day has exactly ``k`` of them.  :func:`rct.randomise.serial.serial_structure`
shows a schedule's serial structure (transition probabilities by lag, run
lengths).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rct.errors import DesignError
from rct.randomise.base import (
    CROSSOVER_ALGORITHM_VERSION,
    CROSSOVER_ALGORITHM_VERSIONS,
    RawStream,
    canonical_ids,
    check_seed,
    choice_error,
    stable_digest,
)
from rct.randomise.crossover_strata import (
    _check_strata,
    _quota,
    _shift_tasking_list,
    _windows_of,
)
from rct.randomise.crossover_v1 import crossover_kernel, top_k_mask

__all__ = ["CrossoverDesign", "crossover", "tasking_list", "top_k_mask", "crossover_kernel",
           "washout_flags"]

_V1 = "rct-randomise/1"


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
    algorithm_version: str = CROSSOVER_ALGORITHM_VERSION
    sites: tuple[str, ...] | None = field(default=None, repr=False)  # site of each hot spot
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    windows: tuple[str, ...] | None = field(default=None, repr=False)  # window of each unit

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
        if self.sites is not None:
            df.insert(1, "site", np.repeat(np.array(self.sites, dtype=object), d))
        if self.windows is not None:
            df.insert(2 if self.sites is not None else 1, "window",
                      np.repeat(np.array(self.windows, dtype=object), d))
        w = int(self.parameters["washout"])
        if w > 0:
            df["washout"] = washout_flags(self.schedule, w).T.ravel()
        return df

    def probabilities(self) -> Any:
        """``P(arm)`` per unit-day: ``k/N`` tasked (``k_s/N_s`` by site), exact by symmetry."""
        import pandas as pd

        p = np.repeat(self._site_share(), len(self.dates))
        df = pd.DataFrame({"control": 1 - p, "treatment": p}, index=self.units)
        df.attrs["method"] = "symmetry"
        df.attrs["mc_se"] = 0.0
        return df

    def _site_share(self) -> np.ndarray:
        """``k_s / N_s`` for each hot spot (float; ``s`` its site × window stratum)."""
        if self.sites is None and self.windows is None:
            return np.full(len(self.ids), self.per_day / len(self.ids))
        out = np.empty(len(self.ids))
        for cols, k in self._site_columns():
            out[cols] = k / len(cols)
        return out

    def _strata(self) -> list[Any] | None:
        """The stratum of each unit: its site, its window, or ``(site, window)``; None if none."""
        if self.windows is None:
            return None if self.sites is None else list(self.sites)
        if self.sites is None:
            return list(self.windows)
        return list(zip(self.sites, self.windows, strict=True))

    @property
    def shifts(self) -> Any:
        """The time windows (:class:`rct.io.windows.WindowSet`) of a shift design, else None."""
        from rct.io.windows import parse_windows

        spec = self.parameters.get("shifts")
        return None if spec is None else parse_windows(spec)

    def draw(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` whole schedules from the same procedure, shape ``(n, N*D)`` in :attr:`units` order.

        Draw ``i`` reads the ``i``-th block of raw words of ``rng``'s bit
        generator, whatever ``n`` is; ``draw(1, numpy.random.PCG64(seed))`` is
        the allocation (``rct-randomise/2`` and ``/3``).
        """
        return self._draw(int(n), rng).reshape(int(n), self.n_units)

    def draw_schedules(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Like :meth:`draw` but shaped ``(n, D, N)`` (day by hot spot)."""
        return np.ascontiguousarray(self._draw(int(n), rng).transpose(0, 2, 1))

    def _draw(self, n: int, rng: Any) -> np.ndarray:
        """``(n, N, D)`` int8 schedules (hot spot by day)."""
        stream = RawStream(np.random.default_rng() if rng is None else rng)
        if self.algorithm_version == _V1:
            from rct.randomise.crossover_v1 import v1_sample

            sched = v1_sample(stream, self._spec(), n,
                              max_attempts=max(1, n) * int(self.parameters["max_attempts"]))
            return np.ascontiguousarray(sched.transpose(0, 2, 1))
        return self._sampler().draw(stream, n)

    def enumerate(self, limit: int = 100_000, *, with_probabilities: bool = False) -> Any:
        """Every schedule the design can produce (with probabilities) when few enough, else None.

        ``rct-randomise/2`` and ``/3``: every feasible schedule, each with probability
        ``1/m`` (the uniform distribution the sampler draws from; the tests
        check the sampler against it by chi-squared).  ``rct-randomise/1``:
        exact enumeration of that sampler's branching.  Only small designs
        (``N <= 8`` and ``N * D <= 48``); None when there are more than
        ``limit`` schedules.
        """
        if self.algorithm_version == _V1:
            from rct.randomise.crossover_exact import enumerate_schedules

            res = enumerate_schedules(self, limit)
        else:
            from rct.randomise.crossover_exact import enumerate_feasible

            res = enumerate_feasible(self, limit)
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

    def strata_lines(self) -> list[str]:
        """One line per stratum (site, shift or both) with its hot spots and daily quota."""
        strata = self._strata()
        if strata is None:
            return []
        out = []
        ws = self.shifts
        for cols, k in self._site_columns():
            key = strata[int(cols[0])]
            site, win = key if self.sites is not None and self.windows is not None else (
                (key, None) if self.windows is None else (None, key))
            name = " ".join(x for x in (
                None if site is None else f"site {site}",
                None if win is None else f"shift {win} ({ws.get(win).text})") if x)
            out.append(f"  {name}: {k} of {len(cols)} tasked each day")
        return out

    def serial_structure(self, *, lags: int = 7, window: int = 4) -> Any:
        """Serial-structure diagnostics of the schedule (:func:`rct.randomise.serial.serial_structure`)."""
        from rct.randomise.serial import serial_structure

        return serial_structure(self, lags=lags, window=window)

    # -- internals ---------------------------------------------------------------
    def _site_columns(self) -> list[tuple[np.ndarray, int]]:
        """``[(hot-spot positions, k), ...]`` per stratum (site, window or site × window)
        in code-point order of the stratum labels."""
        strata = self._strata()
        if strata is None:
            return [(np.arange(len(self.ids)), int(self.per_day))]
        quota = self.parameters["per_day"]
        if self.windows is None:  # sites alone (as made before windows existed)
            labels = np.array(self.sites, dtype=object)
            return [(np.flatnonzero(labels == s),
                     int(quota[s] if isinstance(quota, dict) else quota))
                    for s in sorted(set(self.sites))]
        out = []
        for key in sorted(set(strata)):
            cols = np.flatnonzero([x == key for x in strata])
            site, window = key if self.sites is not None else (None, key)
            out.append((cols, _quota(quota, site, window)))
        return out

    def _sampler(self) -> Any:
        if "sampler" not in self._cache:
            if self.algorithm_version == "rct-randomise/2":
                from rct.randomise.crossover_mcmc import ScheduleSampler
            else:
                from rct.randomise.crossover_v3 import ScheduleSamplerV3 as ScheduleSampler

            p = self.parameters
            self._cache["sampler"] = ScheduleSampler(
                len(self.ids), self.strata, self._site_columns(),
                equal_coverage=bool(p["equal_coverage"]), max_consecutive=p["max_consecutive"],
                washout=int(p["washout"]), max_attempts=int(p["max_attempts"]))
        return self._cache["sampler"]

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


def crossover(
    hotspot_ids: Sequence[Any] | Any,
    *,
    start: dt.date | str,
    days: int,
    per_day: int | Mapping[str, int],
    day_starts: str = "06:00",
    seed: int,
    equal_coverage: bool = True,
    block_weekday: bool = False,
    max_consecutive: int | None = None,
    washout: int = 0,
    sites: Mapping[Any, Any] | str | None = None,
    max_attempts: int = 100_000,
    id_column: str = "hotspot_id",
    algorithm: str = CROSSOVER_ALGORITHM_VERSION,
    windows: Mapping[Any, Any] | str | None = None,
    shifts: Mapping[str, str] | str | None = None,
) -> CrossoverDesign:
    """Schedule a crossover hot-spot-day trial: ``per_day`` of N hot spots tasked each day.

    Parameters
    ----------
    hotspot_ids
        Hot-spot ids (any order), or a DataFrame with ``id_column``.
    start, days
        First trial date (``datetime.date`` or ISO ``YYYY-MM-DD``) and number of trial days.
    per_day
        ``k``: hot spots tasked each day (1 <= k < N); with ``sites``, tasked per
        site per day -- one number for every site or a mapping site -> ``k_s``.
    day_starts
        Trial-day boundary, local time (``"06:00"``: a day runs 06:00-05:59);
        recorded and used by :func:`tasking_list`.
    seed
        Non-negative integer.
    equal_coverage
        Each hot spot's number of patrol days differs from any other's (in its
        site) by at most one.
    block_weekday
        Equal coverage within each weekday too (patrol days spread over weekdays).
    max_consecutive
        Cap on consecutive patrol days for a hot spot.
    washout
        After a run of patrol days a hot spot is untasked for at least this many
        days; those days are flagged ``washout`` in the allocation so analyses can
        drop or model carry-over days.
    sites
        Optional mapping hot spot -> site (e.g. policing area), or the name of a
        column of the ``hotspot_ids`` DataFrame: each site gets its own daily
        quota and its own equal coverage.
    windows, shifts
        A shift design: each unit is a hot spot in one time window (``H001-night``,
        see :mod:`rct.io.windows`); ``windows`` maps unit -> window name (or names
        a column of the ``hotspot_ids`` DataFrame; ``"auto"`` takes the windows of
        a per-window hot-spot table when it is one) and ``shifts`` defines the
        windows (``{"day": "06:00-18:00", ...}``; taken from the table's
        ``window_start``/``window_end`` when not given).  The window acts as a
        stratum with its own daily quota ``k_w`` -- the sites machinery with
        strata site × window -- so ``per_day`` may be one number, a mapping
        window -> k, site -> k, or site -> {window -> k}.  The tasking list
        (:func:`tasking_list`) then has one row per trial day and shift.
    max_attempts
        Attempts of the priority sampler when looking for a feasible start under
        run constraints (``rct-randomise/2`` and ``/3``), or for the schedule
        itself (``/1``).
    algorithm
        ``"rct-randomise/3"`` (default: uniform over the feasible schedules,
        exact curveball trades), ``"rct-randomise/2"`` (the same target by
        masked trades, slower; kept so schedules made with it re-derive) or
        ``"rct-randomise/1"`` (the earlier priority sampler, kept likewise; no
        ``sites``).

    Returns
    -------
    CrossoverDesign

    Notes
    -----
    The uniform target, the chain and why randomisation inference is exact are
    in :mod:`rct.randomise.crossover_v3` (and :mod:`rct.randomise.crossover_mcmc`
    for ``rct-randomise/2``).  Under the uniform distribution a
    hot spot with ``c`` of ``D`` tasked days has ``P(tasked | tasked l days
    before) = (c-1)/(D-1)`` and ``P(tasked | untasked l days before) = c/(D-1)``
    (no constraint beyond ``k`` a day and equal coverage).  Designs such as
    Southend (8 of 20, 90 days), Bedfordshire (7 of 21) and Thames Valley (half
    of 45; half of 34 with days 06:00-05:59) are covered.  Curveball trades:
    Strona, Nappo, Boccacci, Fattorini & San-Miguel-Ayanz (2014), *Nature
    Communications* 5:4114; Carstens (2015), *Phys. Rev. E* 91:042812.
    """
    import pandas as pd

    from rct.io.times import parse_day_start

    seed = check_seed(seed)
    if algorithm not in CROSSOVER_ALGORITHM_VERSIONS:
        raise choice_error("algorithm", algorithm, CROSSOVER_ALGORITHM_VERSIONS)
    window_of, shift_spec = _windows_of(hotspot_ids, windows, shifts, id_column)
    site_of: dict[str, str] | None = None
    if isinstance(sites, str):
        if not isinstance(hotspot_ids, pd.DataFrame) or sites not in hotspot_ids.columns:
            raise DesignError(f"sites={sites!r} names a column, but the hot spots have no such column")
        site_of = dict(zip(hotspot_ids[id_column].astype(str), hotspot_ids[sites].astype(str),
                           strict=True))
    elif sites is not None:
        site_of = {str(k): str(v) for k, v in dict(sites).items()}
    if isinstance(hotspot_ids, pd.DataFrame):
        hotspot_ids = hotspot_ids[id_column].tolist()
    ids = canonical_ids(hotspot_ids, what=id_column)
    n = len(ids)
    start_d = _as_date(start)
    days = int(days)
    parse_day_start(day_starts)
    if n < 2:
        raise DesignError(f"a crossover needs at least 2 hot spots, got {n}")
    if not 1 <= days <= 1000:
        raise DesignError(f"days must be between 1 and 1000, got {days}")
    if max_consecutive is not None and int(max_consecutive) < 1:
        raise DesignError(f"max_consecutive must be >= 1 or None, got {max_consecutive}")
    if int(washout) < 0:
        raise DesignError(f"washout must be >= 0, got {washout}")
    if window_of is None:
        site_labels, quota, k_total = _check_sites(ids, site_of, per_day)
        window_labels = None
    else:
        site_labels, window_labels, quota, k_total = _check_strata(ids, site_of, window_of,
                                                                   per_day, shift_spec)
    if (site_labels is not None or window_labels is not None) and algorithm == _V1:
        raise DesignError("sites and shifts need algorithm 'rct-randomise/2' or later "
                          "(the default 'rct-randomise/3')")
    dates = tuple(start_d + dt.timedelta(days=i) for i in range(days))
    strata = (
        np.array([d.weekday() for d in dates], dtype=np.int64)
        if block_weekday
        else np.zeros(days, dtype=np.int64)
    )
    strata.setflags(write=False)
    params: dict[str, Any] = {
        "start": start_d.isoformat(),
        "days": days,
        "per_day": quota,
        "day_starts": str(day_starts),
        "equal_coverage": bool(equal_coverage),
        "block_weekday": bool(block_weekday),
        "max_consecutive": None if max_consecutive is None else int(max_consecutive),
        "washout": int(washout),
        "max_attempts": int(max_attempts),
        "id_column": id_column,
    }
    if site_labels is not None:
        params["sites"] = {i: s for i, s in zip(ids, site_labels, strict=True)}
    if window_labels is not None:
        params["windows"] = {i: w for i, w in zip(ids, window_labels, strict=True)}
        params["shifts"] = shift_spec.to_dict()
    derived = {
        "n_hotspots": n,
        "n_units": n * days,
        "tasked_unit_days": k_total * days,
        "units_digest": stable_digest({"ids": ids}),
        "probability_tasked": (f"{k_total}/{n}" if site_labels is None and window_labels is None
                               else "k_s/N_s by site" if window_labels is None
                               else "k_w/N_w by window" if site_labels is None
                               else "k_sw/N_sw by site and window"),
    }
    proto = CrossoverDesign(
        ids=tuple(ids),
        dates=dates,
        per_day=k_total,
        seed=seed,
        schedule=np.empty((days, n), np.int8),
        strata=strata,
        parameters=params,
        derived=derived,
        algorithm_version=algorithm,
        sites=None if site_labels is None else tuple(site_labels),
        windows=None if window_labels is None else tuple(window_labels),
    )
    if algorithm == _V1:
        from rct.randomise.crossover_v1 import v1_first

        chosen, tried = v1_first(RawStream(seed), proto._spec(), max_attempts=int(max_attempts),
                                 block_weekday=block_weekday)
        derived["n_attempts"] = tried
    else:
        sampler = proto._sampler()
        chosen = sampler.draw(RawStream(seed), 1)[0].T.copy()
        derived["sampler"] = sampler.describe()
    chosen.setflags(write=False)
    object.__setattr__(proto, "schedule", chosen)
    return proto


def _check_sites(ids: list[str], site_of: dict[str, str] | None, per_day: Any
                 ) -> tuple[list[str] | None, Any, int]:
    """Site label per hot spot (None without sites), the quota to record, and k tasked a day."""
    n = len(ids)
    if site_of is None:
        if isinstance(per_day, Mapping):
            raise DesignError("per_day is a mapping site -> k, but no sites were given")
        k = int(per_day)
        if not 1 <= k < n:
            raise DesignError(f"per_day must be between 1 and {n - 1} for {n} hot spots, got {k}")
        return None, k, k
    missing = [i for i in ids if i not in site_of]
    if missing:
        raise DesignError(f"hot spot {missing[0]!r} has no site ({len(missing)} without one)")
    labels = [site_of[i] for i in ids]
    sizes = {s: labels.count(s) for s in sorted(set(labels))}
    if isinstance(per_day, Mapping):
        quota = {str(s): int(v) for s, v in per_day.items()}
        unknown = sorted(set(quota) - set(sizes))
        if unknown:
            raise DesignError(f"per_day names site {unknown[0]!r}, which has no hot spots; "
                              f"sites: {', '.join(sizes)}")
        lacking = [s for s in sizes if s not in quota]
        if lacking:
            raise DesignError(f"per_day has no quota for site {lacking[0]!r}")
        quota = {s: quota[s] for s in sizes}
    else:
        quota = int(per_day)
    for s, size in sizes.items():
        k = quota[s] if isinstance(quota, dict) else quota
        if not 1 <= k < size:
            raise DesignError(f"per_day for site {s!r} must be between 1 and {size - 1} "
                              f"({size} hot spots), got {k}")
    total = sum(quota.values()) if isinstance(quota, dict) else quota * len(sizes)
    return labels, quota, int(total)


def tasking_list(design: CrossoverDesign, *, sep: str = ";") -> Any:
    """The daily tasking list: one row per trial day with the tasked hot spots.

    Columns ``trial_date, weekday, starts_local, ends_local, n_tasked, tasked``
    (``tasked`` joins hot-spot ids with ``sep``), the form a briefing or a
    tasking app import uses.  For a shift design, one row per trial day and
    shift: ``trial_date, window, weekday, starts_local, ends_local, n_tasked,
    tasked``, the shift's start and end on that trial day (both clock changes
    included: a night shift ``18:00-06:00`` runs 13 hours on the night the
    clocks go back).
    """
    import pandas as pd

    if design.windows is not None:
        return _shift_tasking_list(design, sep=sep)

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

