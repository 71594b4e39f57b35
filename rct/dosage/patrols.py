"""Patrol logs from the tasking app -> dosage per hot spot and trial day.

Input, one row per patrol (one officer's visit to one hot spot):
``patrol_id, officer_id, hotspot_id, arrived_at, left_at`` and optionally
``mode`` (foot / vehicle), ``stopped`` (yes/no or a count of stops) and
``notes``.  Output, one row per ``hotspot_id, trial_date``:

=================  ==========================================================
visits             patrols that began on this trial day (a patrol crossing
                   the day boundary is counted once, on the day it began)
presence_minutes   length of the union of the patrols' intervals on this day
                   (two officers there together count once)
officer_minutes    sum of the patrols' minutes on this day (with overlaps)
foot_minutes       officer minutes of foot patrols
vehicle_minutes    officer minutes of vehicle patrols
stops              stops recorded by the patrols that began this day
officers           distinct officers (pseudonyms) present this day
visits_lt5         visits (that began this day) shorter than 5 minutes
visits_10_15       visits lasting 10 to 15 minutes inclusive (Koper curve)
presence_periods   separate periods of presence (merged overlapping patrols)
=================  ==========================================================

Minutes are split at the trial-day boundary (e.g. 06:00 local time), so a
patrol from 05:30 to 06:30 gives 30 minutes to each day.  Visit length for
the Koper classes is the whole patrol's length.  Trial days containing a
clock change last 23 or 25 hours; all arithmetic is on UTC instants.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.intervals import interval_union
from rct.dosage.patrol_logs import (
    DateLike,
    _as_date,
    _trial_day64,
    check_options,
    hotspot_ids,
    read_patrol_logs,
)
from rct.dosage.pseudonym import KeySource, Pseudonymiser, load_or_create_key
from rct.io.atomic import OutputUnit
from rct.io.quarantine import (
    MAX_QUARANTINED,
    ReadResult,
    check_share,
    enforce_share,
    quarantine_path,
)
from rct.io.times import parse_day_start, split_by_trial_day

__all__ = [
    "DOSAGE_COLUMNS",
    "PatrolIngest",
    "hotspot_ids",
    "ingest_patrols",
    "patrol_dosage",
    "read_patrol_logs",
]

DOSAGE_COLUMNS = (
    "hotspot_id",
    "trial_date",
    "visits",
    "presence_minutes",
    "officer_minutes",
    "foot_minutes",
    "vehicle_minutes",
    "stops",
    "officers",
    "visits_lt5",
    "visits_10_15",
    "presence_periods",
)
KOPER_SHORT = 5.0  # minutes: visits shorter than this are "drive-bys"
KOPER_BAND = (10.0, 15.0)  # minutes, inclusive: Koper (1995) optimal dwell


# ---------------------------------------------------------------------------
# dosage


def patrol_dosage(
    patrols: pd.DataFrame,
    *,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    hotspots: Any = None,
    windows: Any = None,
) -> pd.DataFrame:
    """Aggregate accepted patrols to one row per ``hotspot_id, trial_date``.

    Parameters
    ----------
    patrols
        ``ReadResult.data`` of :func:`read_patrol_logs` (``hotspot_id,
        officer, arrived_at, left_at, minutes, mode, stops``).
    day_starts
        Trial-day boundary, local time.
    trial_start, trial_end
        Keep trial days in this inclusive range.  When both are given with
        ``hotspots``, every hot spot gets a row for every trial day (zeros
        where nobody patrolled).
    hotspots
        Hot spots for the complete grid (see :func:`hotspot_ids`).
    windows
        :class:`rct.io.windows.HotspotWindows` of a per-window hot-spot file
        (see :func:`rct.io.windows.hotspot_windows`): dosage per unit =
        place × window.  A patrol logged at a place (its ``place_id``, or any of
        its units' ids) is cut at window boundaries as well as trial days, and
        each piece counts for the unit of the window it falls in (none when the
        place is not a hot spot in that window); a visit counts for the unit of
        the window it began in.  Window instances belong to the trial day they
        start in (:mod:`rct.io.windows`).

    Returns
    -------
    DataFrame
        Columns :data:`DOSAGE_COLUMNS`, sorted by ``hotspot_id, trial_date``
        (``trial_date`` holds :class:`datetime.date` values).

    Notes
    -----
    Presence minutes are the length of the union of the patrol pieces of a
    hot-spot-day (see :func:`rct.dosage.intervals.interval_union`); officer
    minutes are their sum, so ``presence <= officer minutes`` with equality
    when no two patrols overlap.  Visit length classes follow Koper (1995),
    *Justice Quarterly* 12(4): 649-672 (10-15 minutes optimal).
    """
    offset = parse_day_start(day_starts)
    start_day, end_day = _as_date(trial_start), _as_date(trial_end)
    p = patrols.reset_index(drop=True)
    # integer codes throughout: no per-row Python objects, memory set by the patrols
    hcode, hnames = pd.factorize(pd.Series(p["hotspot_id"], dtype=object))
    ocode, onames = pd.factorize(pd.Series(p["officer"], dtype=object))
    mcode, mnames = pd.factorize(pd.Series(p["mode"], dtype=object))  # compared once per value
    mnames = pd.Series(np.asarray(mnames, dtype=object), dtype=object)
    foot = np.append(mnames.eq("foot").fillna(False).to_numpy(dtype=bool), False)[mcode]
    vehicle = np.append(mnames.eq("vehicle").fillna(False).to_numpy(dtype=bool), False)[mcode]
    minutes_all = p["minutes"].to_numpy(dtype=float)
    stops = np.asarray(p["stops"], dtype=np.int64) if len(p) else np.zeros(0, np.int64)
    if windows is not None:  # pieces per (unit, window instance); codes are unit codes
        hcode, hnames, rows, pcode, day, s_ns, e_ns, minutes, scode_of, first_day = \
            _window_pieces(p, hcode, hnames, windows, day_starts)
        keep = _in_window_days(day, start_day, end_day)
        rows, pcode, day = rows[keep], pcode[keep], day[keep]
        s_ns, e_ns, minutes = s_ns[keep], e_ns[keep], minutes[keep]
        in_start = _in_window_days(first_day, start_day, end_day) & (scode_of >= 0)
        pieces = _Pieces(rows, pcode, day, s_ns, e_ns, minutes, scode_of, first_day, in_start)
        arrays = _Patrols(hcode, hnames, ocode, len(onames), foot, vehicle, minutes_all, stops)
        return _aggregate(arrays, pieces, start_day, end_day, hotspots)
    arrays = _Patrols(hcode, hnames, ocode, len(onames), foot, vehicle, minutes_all, stops,
                      arrived=_ns(p["arrived_at"]) if len(p) else np.zeros(0, np.int64),
                      left=_ns(p["left_at"]) if len(p) else np.zeros(0, np.int64))
    return _dosage_of(arrays, offset, start_day, end_day, hotspots, p)


@dataclass(frozen=True)
class _Patrols:
    """Accepted patrols as arrays: what :func:`patrol_dosage` reads of them.

    ``hotspot`` / ``officer``: integer codes (into ``hotspot_names``; ``n_officers``
    officers), ``foot`` / ``vehicle`` masks, the whole visit's ``minutes``, ``stops``,
    ``arrived`` / ``left`` as UTC ns, and (when the reader found them) the trial day of
    the arrival and of the last instant (``first_day`` / ``last_day``: days since
    1970-01-01).
    """

    hotspot: np.ndarray
    hotspot_names: Any
    officer: np.ndarray
    n_officers: int
    foot: np.ndarray
    vehicle: np.ndarray
    minutes: np.ndarray
    stops: np.ndarray
    arrived: np.ndarray | None = None
    left: np.ndarray | None = None
    first_day: np.ndarray | None = None
    last_day: np.ndarray | None = None


@dataclass(frozen=True)
class _Pieces:
    """Patrol pieces (one per patrol and trial day, or window instance) in patrol order:
    the patrol ``rows``, unit code ``pcode``, day number, start / end ns, minutes; and per
    patrol the unit it began in (``scode_of``), its first day and whether it counts."""

    rows: np.ndarray
    pcode: np.ndarray
    day: np.ndarray
    start: np.ndarray
    end: np.ndarray
    minutes: np.ndarray
    scode_of: np.ndarray
    first_day: np.ndarray
    in_start: np.ndarray


_DAY_NS = 86_400 * 1_000_000_000


def _dosage_of(
    arrays: _Patrols, offset: dt.timedelta, start_day: dt.date | None, end_day: dt.date | None,
    hotspots: Any, frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`patrol_dosage` (no windows) of the patrols as arrays.

    The pieces are those of :func:`rct.io.times.split_by_trial_day`, found on the
    nanoseconds by the zone table (:func:`rct.io.times.trial_day_ns`); times the table
    does not cover, or a boundary in the 01:00-02:00 hour, go through
    ``split_by_trial_day`` itself (``frame``, the patrols as read, is then needed).
    """
    a, b = arrays.arrived, arrays.left
    d0, d1 = arrays.first_day, arrays.last_day
    fast = a is not None and b is not None and not (np.any(a == _NAT) or np.any(b == _NAT))
    if fast and (d0 is None or d1 is None):
        from rct.io.times import trial_day_ns

        first = trial_day_ns(a, offset)
        last = trial_day_ns(np.where(b <= a, b, b - 1), offset) if first is not None else None
        fast = first is not None and last is not None
        if fast:
            d0, d1 = first // _DAY_NS, last // _DAY_NS
    if fast:
        rows, day, s_ns, e_ns, minutes = _split_days(a, b, d0, d1, offset)
        first_day = np.asarray(d0, dtype=np.int64)
    else:
        if frame is None:
            raise ValueError("times outside the zone table need the patrols as a frame")
        pieces = split_by_trial_day(frame["arrived_at"], frame["left_at"], offset,
                                    kind="datetime64")
        rows = pieces["row"].to_numpy()
        day = _day_numbers(pieces["trial_date"])
        s_ns, e_ns = _ns(pieces["start"]), _ns(pieces["end"])
        minutes = pieces["minutes"].to_numpy()
        del pieces
        first_day = _day_numbers(_trial_day64(frame["arrived_at"], offset))
    keep = _in_window_days(day, start_day, end_day)
    if not keep.all():
        rows, day, s_ns, e_ns, minutes = rows[keep], day[keep], s_ns[keep], e_ns[keep], \
            minutes[keep]
    in_start = _in_window_days(first_day, start_day, end_day)
    hcode = arrays.hotspot
    pieces = _Pieces(rows, hcode[rows], day, s_ns, e_ns, minutes, hcode, first_day, in_start)
    return _aggregate(arrays, pieces, start_day, end_day, hotspots)


_NAT = np.iinfo(np.int64).min


def _split_days(
    a: np.ndarray, b: np.ndarray, d0: np.ndarray, d1: np.ndarray, offset: dt.timedelta
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rct.io.times.split_by_trial_day` on UTC ns with the trial days known.

    ``d0`` / ``d1``: the trial day (days since 1970-01-01) of each start and of each
    interval's last instant.  Returns per piece, in the same order (by interval, then
    day): the interval's row, the day number, start and end (clipped to the day, ns) and
    minutes -- the values ``split_by_trial_day`` gives (tested).
    """
    from rct.io.times import trial_day_bounds

    d0 = np.asarray(d0, dtype=np.int64)
    n_days = np.maximum(np.asarray(d1, dtype=np.int64) - d0 + 1, 1)
    if len(n_days) and int(n_days.max()) == 1:  # no patrol crosses a boundary
        rows = np.arange(len(d0))
        day = d0
        s, e = a, b
    else:
        rows = np.repeat(np.arange(len(d0)), n_days)
        day = d0[rows] + (np.arange(len(rows)) - np.repeat(np.cumsum(n_days) - n_days, n_days))
        s, e = a[rows], b[rows]
    if not len(day):
        z = np.zeros(0, np.int64)
        return rows, day, z, z.copy(), np.zeros(0)
    lo_day = int(day.min())
    which = day - lo_day
    every = np.arange(lo_day, int(day.max()) + 1, dtype=np.int64)  # a few hundred days
    day_lo, day_hi = trial_day_bounds(pd.Series((every * _DAY_NS).view("datetime64[ns]")),
                                      offset)
    lo = np.maximum(s, _ns(day_lo)[which])
    hi = np.maximum(np.minimum(e, _ns(day_hi)[which]), lo)
    return rows, day, lo, hi, (hi - lo) / 1e9 / 60.0


def _aggregate(
    arrays: _Patrols, pieces: _Pieces, start_day: dt.date | None, end_day: dt.date | None,
    hotspots: Any,
) -> pd.DataFrame:
    """The dosage table of the pieces (see :func:`patrol_dosage`)."""
    hnames, ocode = arrays.hotspot_names, arrays.officer
    foot, vehicle = arrays.foot, arrays.vehicle
    rows, pcode, day = pieces.rows, pieces.pcode, pieces.day
    s_ns, e_ns, minutes = pieces.start, pieces.end, pieces.minutes
    scode_of, first_day, in_start = pieces.scode_of, pieces.first_day, pieces.in_start

    # one int64 key per hot-spot-day: code * span + day offset (sorted like the table)
    lo = min(int(day.min()) if len(day) else 1 << 40,
             int(first_day[in_start].min()) if in_start.any() else 1 << 40,
             # the complete grid below starts on the window's first day, which may come
             # before the first patrol (a baseline with no app patrols): offsets stay >= 0
             int(np.datetime64(start_day, "D").astype(np.int64)) if start_day is not None
             else 1 << 40)
    lo = 0 if lo == 1 << 40 else lo
    span = 1 << 32

    # per-piece minutes and the union per hot-spot-day
    gcode, gkeys = _codes(pcode.astype(np.int64) * span + (day - lo))
    ng = len(gkeys)
    u = interval_union(gcode, s_ns, e_ns, n_groups=ng)
    n_off = max(arrays.n_officers, 1)
    pairs = _sorted_unique(gcode * n_off + ocode[rows].astype(np.int64))  # (day, officer)
    per_piece = {
        "presence_minutes": u.length / 60e9,
        "officer_minutes": u.total / 60e9,
        "presence_periods": u.blocks,
        "foot_minutes": np.bincount(gcode, weights=minutes * foot[rows], minlength=ng),
        "vehicle_minutes": np.bincount(gcode, weights=minutes * vehicle[rows], minlength=ng),
        "officers": np.bincount(pairs // n_off, minlength=ng),
    }

    # per-patrol counts on the day each patrol began
    srows = np.flatnonzero(in_start)
    scode, skeys = _codes(scode_of[srows].astype(np.int64) * span + (first_day[srows] - lo))
    pm = arrays.minutes[srows]
    stops = arrays.stops[srows]
    per_start = {
        "visits": np.bincount(scode, minlength=len(skeys)),
        "stops": _int_bincount(scode, stops, len(skeys)),
        "visits_lt5": np.bincount(scode, weights=pm < KOPER_SHORT, minlength=len(skeys)),
        "visits_10_15": np.bincount(
            scode, weights=(pm >= KOPER_BAND[0]) & (pm <= KOPER_BAND[1]), minlength=len(skeys)
        ),
    }

    names = list(hnames)
    keys = _union(gkeys, skeys)
    ids = hotspot_ids(hotspots)
    if ids is not None and start_day is not None and end_day is not None:
        # the complete grid: every listed hot spot on every trial day (and patrols elsewhere)
        index = {h: i for i, h in enumerate(names)}
        for h in ids:
            if h not in index:
                index[h] = len(names)
                names.append(h)
        listed = np.array([index[h] for h in ids], dtype=np.int64)
        d0 = _day_numbers(pd.Series([np.datetime64(start_day, "ns")]))[0]
        d1 = _day_numbers(pd.Series([np.datetime64(end_day, "ns")]))[0]
        all_days = np.arange(d0, d1 + 1, dtype=np.int64) - lo
        grid = (listed[:, None] * span + all_days[None, :]).reshape(-1)
        extra = keys[~np.isin(keys // span, listed)]
        keys = _union(grid, extra)
    table = pd.DataFrame(
        {
            "hotspot_id": np.array(names, dtype=object)[keys // span] if len(keys) else
            np.array([], dtype=object),
            "date64": (keys % span + lo).astype("datetime64[D]").astype("datetime64[ns]"),
        }
    )
    at_g, at_s = np.searchsorted(keys, gkeys), np.searchsorted(keys, skeys)  # once each
    for col, values in per_piece.items():
        table[col] = _spread(keys, at_g, values, float if "minutes" in col else np.int64)
    for col, values in per_start.items():
        table[col] = _spread(keys, at_s, values, np.int64)
    table = table.sort_values(["hotspot_id", "date64"], kind="stable").reset_index(drop=True)
    table.insert(1, "trial_date", table.pop("date64").dt.date)
    table["hotspot_id"] = table["hotspot_id"].astype(object)
    return table[list(DOSAGE_COLUMNS)]


def _hotspot_windows(hotspots: Any) -> Any:
    """The windows of a per-window hot-spot file or table (None otherwise)."""
    from rct.io.windows import hotspot_windows

    if isinstance(hotspots, pd.DataFrame):
        return hotspot_windows(hotspots)
    if isinstance(hotspots, str | os.PathLike):
        from rct.randomise.manifest import read_units

        try:
            table = read_units(hotspots)
        except Exception:  # noqa: BLE001 - a plain id list: no windows
            return None
        return hotspot_windows(table, file=hotspots)
    return None


def _window_pieces(p: pd.DataFrame, hcode: np.ndarray, hnames: Any, windows: Any,
                   day_starts: str) -> tuple:
    """Patrol pieces per unit (place × window instance) for :func:`patrol_dosage`.

    Returns unit codes and names, then per piece: patrol row, unit code, trial
    day number, start and end (ns), minutes; per patrol: the unit code of the
    window it began in (-1: none) and that trial day's number.
    """
    from rct.io.windows import WindowTimeline, window_timeline

    units = sorted(windows.unit_window)
    ucode = {u: i for i, u in enumerate(units)}
    pw_unit = windows.place_window_unit()
    place_of = dict(windows.unit_place)
    place_of.update({pl: pl for pl in set(windows.unit_place.values())})
    logged = np.array([place_of.get(str(h), str(h)) for h in hnames], dtype=object)
    ws = windows.windows
    # unit code of (logged place, window code); -1 where the place is no hot spot then
    table = np.array([[ucode.get(pw_unit.get((pl, w), ""), -1) for w in ws.names]
                      for pl in logged], dtype=np.int64).reshape(len(logged), len(ws))
    s = _ns(p["arrived_at"]) if len(p) else np.zeros(0, np.int64)
    e = _ns(p["left_at"]) if len(p) else np.zeros(0, np.int64)
    if len(p):
        import pandas as _pd

        lo, hi = int(min(s.min(), e.min())), int(max(s.max(), e.max()))
        days = _pd.to_datetime(np.array([lo, hi], dtype="datetime64[ns]"), utc=True).tz_convert(
            "Europe/London").date
        tl: WindowTimeline = window_timeline(ws, day_starts=day_starts,
                                             first=days[0] - dt.timedelta(days=2),
                                             last=days[1] + dt.timedelta(days=2))
        rows, inst, a, b = tl.split(s, e)
        code = table[hcode[rows], tl.window[inst]]
        ok = code >= 0
        rows, inst, a, b, code = rows[ok], inst[ok], a[ok], b[ok], code[ok]
        day = tl.trial_date[inst].astype(np.int64)
        at = tl.locate(s)
        scode = np.where(at >= 0, table[hcode, np.where(at >= 0, tl.window[at], 0)], -1)
        first = np.where(at >= 0, tl.trial_date[np.maximum(at, 0)].astype(np.int64), 0)
    else:
        rows = inst = a = b = code = day = np.zeros(0, np.int64)
        scode = first = np.zeros(0, np.int64)
    return (np.arange(len(units)), np.array(units, dtype=object), rows, code, day, a, b,
            (b - a) / 60e9, scode, first)


def _codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per value, sorted distinct values) of an int64 array.

    Keys ``code * 2**32 + offset`` (hot-spot-days) span a small grid: the
    distinct values are then the occupied cells of that grid (one bincount,
    no hashing or sorting); otherwise hash-based, then sorted.
    """
    keys = np.asarray(keys, dtype=np.int64)
    if len(keys) and int(keys.min()) >= 0:
        hi, low = keys >> 32, keys & 0xFFFFFFFF
        h0, l0 = int(hi.min()), int(low.min())
        nh, nl = int(hi.max()) - h0 + 1, int(low.max()) - l0 + 1
        if nh * nl <= max(4 * len(keys), 1 << 20):
            dense = (hi - h0) * nl + (low - l0)
            present = np.bincount(dense, minlength=nh * nl) > 0
            cells = np.flatnonzero(present)
            codes = (np.cumsum(present) - 1)[dense]
            uniques = ((cells // nl + h0) << 32) | (cells % nl + l0)
            return codes.astype(np.int64), uniques.astype(np.int64)
    codes, uniques = pd.factorize(keys, sort=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=np.int64)


def _day_numbers(d64: pd.Series) -> np.ndarray:
    """Naive midnights -> whole days since 1970-01-01 (int64)."""
    return pd.Series(d64).to_numpy().astype("datetime64[D]").astype(np.int64)


def _in_window_days(day: np.ndarray, start: dt.date | None, end: dt.date | None) -> np.ndarray:
    keep = np.ones(len(day), dtype=bool)
    if start is not None:
        keep &= day >= np.datetime64(start, "D").astype(np.int64)
    if end is not None:
        keep &= day <= np.datetime64(end, "D").astype(np.int64)
    return keep


def _int_bincount(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums per code (bincount's weights are floats)."""
    # float sums of whole numbers are exact below 2**53
    return np.rint(np.bincount(codes, weights=values.astype(np.float64), minlength=n)).astype(
        np.int64
    )


def _spread(keys: np.ndarray, pos: np.ndarray, values: np.ndarray, dtype: Any) -> np.ndarray:
    """``values`` placed at positions ``pos`` of ``keys`` (where their own keys are); zero
    elsewhere."""
    out = np.zeros(len(keys), dtype=dtype)
    if len(pos):
        out[pos] = np.asarray(values).astype(dtype)
    return out


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d`` of int64 keys by one sort (numpy's unique hashes first: 5x slower)."""
    return _sorted_unique(np.concatenate([np.asarray(a, dtype=np.int64),
                                          np.asarray(b, dtype=np.int64)]))


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct int64 keys, sorted (``np.unique`` by one sort, no hashing)."""
    c = np.sort(keys)
    return c[np.concatenate(([True], c[1:] != c[:-1]))] if len(c) > 1 else c


def _ns(x: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of a tz-aware UTC Series."""
    return (
        x.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
        .to_numpy()
        .view(np.int64)
    )


def _group_codes(df: pd.DataFrame, key: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    if len(df) == 0:
        return np.zeros(0, np.int64), pd.DataFrame({k: df[k].iloc[:0] for k in key})
    grouped = df.groupby(key, sort=True)
    codes = grouped.ngroup().to_numpy().astype(np.int64)
    uniq = grouped.size().reset_index()[key]
    return codes, uniq


def _in_window(d64: pd.Series, start: dt.date | None, end: dt.date | None) -> pd.Series:
    keep = pd.Series(True, index=d64.index)
    if start is not None:
        keep &= d64 >= np.datetime64(start, "ns")
    if end is not None:
        keep &= d64 <= np.datetime64(end, "ns")
    return keep


# ---------------------------------------------------------------------------
# one call: read, aggregate, write


@dataclass(frozen=True)
class PatrolIngest:
    """What :func:`ingest_patrols` did.

    Attributes
    ----------
    dosage : DataFrame
        One row per hot-spot-day (:data:`DOSAGE_COLUMNS`).
    read : ReadResult
        Accepted patrols (pseudonymised) and quarantined rows with reasons.
    output, quarantine_file, manifest_file : Path or None
        Files written (the quarantine file only when rows were quarantined).
    key_source : KeySource
        Where the pseudonym key came from (tell the user).
    parameters : dict
        Day boundary, window, maximum visit length.
    """

    dosage: pd.DataFrame
    read: ReadResult
    output: Path | None = None
    quarantine_file: Path | None = None
    key_source: KeySource | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    manifest_file: Path | None = None

    def tidy(self) -> pd.DataFrame:
        """The dosage table."""
        return self.dosage

    def summary(self) -> str:
        lines = [self.read.summary()]
        d = self.dosage
        lines.append(
            f"{len(d):,} hot-spot-days: {int(d['visits'].sum()):,} visits, "
            f"{d['presence_minutes'].sum():,.1f} presence minutes, "
            f"{d['officer_minutes'].sum():,.1f} officer minutes"
        )
        if self.output is not None:
            lines.append(f"wrote {self.output}")
        if self.quarantine_file is not None and self.read.n_quarantined:
            lines.append(f"quarantined rows in {self.quarantine_file}")
        if self.key_source is not None:
            lines.append(self.key_source.describe())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = self.dosage
        return {
            "n_read": self.read.n_read,
            "n_accepted": self.read.n_accepted,
            "n_quarantined": self.read.n_quarantined,
            "quarantine_reasons": {str(k): int(v) for k, v in self.read.reasons().items()}
            if self.read.n_quarantined
            else {},
            "hotspot_days": len(d),
            "visits": int(d["visits"].sum()),
            "presence_minutes": float(d["presence_minutes"].sum()),
            "officer_minutes": float(d["officer_minutes"].sum()),
            "output": None if self.output is None else str(self.output),
            "quarantine_file": None if self.quarantine_file is None else str(self.quarantine_file),
            "key": None if self.key_source is None else self.key_source.kind,
            "parameters": dict(self.parameters),
        }


def ingest_patrols(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pd.DataFrame,
    *,
    hotspots: Any,
    out: str | os.PathLike[str] | None = None,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    max_visit_hours: float = 4.0,
    key: bytes | None = None,
    key_file: str | os.PathLike[str] | None = None,
    include_notes: bool = False,
    ambiguous: str = "earliest",
    nonexistent: str = "quarantine",
    chunk_rows: int = 500_000,
    quarantine_raw: bool = False,
    max_quarantined: float = MAX_QUARANTINED,
    force: bool = False,
) -> PatrolIngest:
    """Patrol logs -> per-hot-spot-day dosage (+ quarantine file), in one call.

    Parameters
    ----------
    paths
        Patrol log file(s) (CSV / Parquet) or a DataFrame.
    hotspots
        Hot-spot file or ids; patrols elsewhere are quarantined.
    out
        Output table (``.parquet`` or ``.csv``).  It is committed as one unit
        with its quarantine file (``<stem>.quarantine.csv``, written when
        rows were quarantined; a previous run's is removed otherwise) and
        its manifest ``<out>.manifest.json`` (SHA-256 of every file and
        input, the counts); see :class:`rct.io.atomic.OutputUnit`.
        ``None``: write nothing.
    key, key_file
        Pseudonym key bytes, or a key file (see
        :func:`rct.dosage.pseudonym.load_or_create_key`; default
        ``$RCT_PSEUDONYM_KEY`` or a key generated under
        ``~/.config/hotspot-rct/``).  The key file must be outside the
        output's directory.
    max_quarantined
        Largest share of the rows read that may be quarantined (0-1,
        default 0.5); above it the run stops with
        :class:`~rct.errors.QuarantineLimitError` naming the top reasons and
        writes nothing (an export with dates in another format, say).
    force
        Replace an existing output (and its quarantine file and manifest).
    day_starts, trial_start, trial_end, max_visit_hours, include_notes, ambiguous, nonexistent,
    chunk_rows, quarantine_raw
        See :func:`read_patrol_logs` and :func:`patrol_dosage`.

    Returns
    -------
    PatrolIngest
    """
    check_share(max_quarantined)
    check_options(day_starts=day_starts, trial_start=trial_start, trial_end=trial_end,
                  max_visit_hours=max_visit_hours, chunk_rows=chunk_rows)
    unit = None
    if out is not None:
        unit = OutputUnit(
            out,
            companions={"quarantine": quarantine_path(out)},
            force=force,
            command="rct ingest patrols",
        )
        unit.check()  # before any work: the overwrite rule, a writable folder
    if key is not None:
        source = KeySource("argument")
    else:
        key, source = load_or_create_key(key_file, outputs=None if out is None else [out])
    pseudo = Pseudonymiser(key, prefix="officer-")
    ids = hotspot_ids(hotspots)
    windows = _hotspot_windows(hotspots)
    accepted = ids
    if windows is not None:  # a log may name the place or any of its units
        accepted = sorted(set(ids) | set(windows.unit_place.values()))
    from rct.dosage.patrol_logs import _read

    read, arrays = _read(
        paths,
        pseudonymiser=pseudo,
        hotspots=accepted,
        day_starts=day_starts,
        trial_start=trial_start,
        trial_end=trial_end,
        max_visit_hours=max_visit_hours,
        include_notes=include_notes,
        ambiguous=ambiguous,
        nonexistent=nonexistent,
        chunk_rows=chunk_rows,
        quarantine_raw=quarantine_raw,
        columns=None,
        dayfirst=None,
        sheet=None,
    )
    enforce_share(
        read.n_read,
        read.n_quarantined,
        read.reasons() if read.n_quarantined else {},
        limit=max_quarantined,
        source=read.source,
        what="patrol log rows",
    )
    if windows is None:  # the reader's codes and trial days: nothing found twice
        dosage = _dosage_of(_Patrols(**arrays), parse_day_start(day_starts),
                            _as_date(trial_start), _as_date(trial_end), ids, read.data)
    else:
        dosage = patrol_dosage(
            read.data,
            day_starts=day_starts,
            trial_start=trial_start,
            trial_end=trial_end,
            hotspots=ids,
            windows=windows,
        )
    read.warn()  # QuarantineWarning naming the counts, if anything was quarantined
    params = {
        "day_starts": day_starts,
        "trial_start": None if trial_start is None else str(_as_date(trial_start)),
        "trial_end": None if trial_end is None else str(_as_date(trial_end)),
        "max_visit_hours": max_visit_hours,
        "include_notes": include_notes,
        "quarantine_raw": quarantine_raw,
        "ambiguous": ambiguous,
        "nonexistent": nonexistent,
        "max_quarantined": max_quarantined,
    }
    if windows is not None:
        params["windows"] = windows.windows.to_dict()
    qfile = mfile = None
    if unit is not None:
        unit.add_table("output", dosage)
        if read.n_quarantined:
            unit.add_table("quarantine", read.quarantine)
            qfile = quarantine_path(out)
        inputs = [] if isinstance(paths, pd.DataFrame) else (
            [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        )
        if isinstance(hotspots, str | os.PathLike):
            inputs.append(hotspots)
        unit.commit(
            counts={
                "read": read.n_read,
                "accepted": read.n_accepted,
                "quarantined": read.n_quarantined,
            },
            inputs=inputs,
            parameters=params,
        )
        mfile = unit.manifest
    return PatrolIngest(
        dosage=dosage,
        read=read,
        output=None if out is None else Path(out),
        quarantine_file=qfile,
        key_source=source,
        parameters=params,
        manifest_file=mfile,
    )
