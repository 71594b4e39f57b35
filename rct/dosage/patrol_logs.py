"""Read and validate patrol logs from the tasking app (quarantine bad rows).

See :mod:`rct.dosage.patrols` for the dosage table built from them.

The logs are read in chunks of ``chunk_rows`` rows from any source
(:mod:`rct.io.sources`: CSV in any encoding, Parquet, a DataFrame); each
chunk is checked row by row and only the accepted patrols are kept, in
compact columns, so memory grows with the accepted patrols (about 100 bytes
each), not with the file.  The checks that need the whole input -- exact
duplicates and conflicting ``patrol_id`` s -- run once at the end on the
patrol ids; only the rows whose id occurs more than once are read a second
time, so duplicates are judged on their exact values (no hashing).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.pseudonym import Pseudonymiser
from rct.errors import DataError
from rct.io.columns import PATROL_ALIASES, describe_map, rename_columns
from rct.io.convert import NAT, utc_ns
from rct.io.quarantine import ReadResult
from rct.io.safety import check_identifiers, invisible_mask, invisible_reason
from rct.io.times import parse_day_start

__all__ = ["REQUIRED", "OPTIONAL", "MODES", "hotspot_ids", "read_patrol_logs"]

REQUIRED = ("patrol_id", "officer_id", "hotspot_id", "arrived_at", "left_at")
OPTIONAL = ("mode", "stopped", "notes")
#: the patrol modes the dosage table splits minutes by
MODES = ("foot", "vehicle")
MAX_VISIT_HOURS = 48.0

#: alias -> canonical name (from :data:`rct.io.columns.PATROL_ALIASES`, the one table)
_ALIASES = {a: canon for canon, names in PATROL_ALIASES.items() for a in names if a != canon}
_FOOT = {"foot", "on foot", "walk", "walking", "f"}
_VEHICLE = {"vehicle", "car", "van", "mobile", "driving", "drive", "v", "motor"}
_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f", ""}
_UNKNOWN_MODE = "unknown mode (not foot or vehicle)"
#: columns a quarantine file shows (pseudonymised; no free text)
_SHOWN = ("patrol_id", "officer", "hotspot_id", "arrived_at", "left_at", "mode", "stopped")

DateLike = str | dt.date | None


# ---------------------------------------------------------------------------
# reading


def read_patrol_logs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pd.DataFrame,
    *,
    pseudonymiser: Pseudonymiser,
    hotspots: Any = None,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    max_visit_hours: float = 4.0,
    include_notes: bool = False,
    ambiguous: str = "earliest",
    nonexistent: str = "quarantine",
    chunk_rows: int = 500_000,
    quarantine_raw: bool = False,
    columns: Any = None,
    dayfirst: bool | None = None,
    sheet: str | None = None,
) -> ReadResult:
    """Read and validate patrol logs; bad rows go to quarantine with a reason.

    Parameters
    ----------
    paths
        One or more CSV / Parquet / Excel files, :class:`rct.io.sources.Input` s
        (a file or a database query with its own settings), or a DataFrame.
    pseudonymiser
        Turns ``officer_id`` into the ``officer`` pseudonym; the raw ID is
        dropped from both the accepted and the quarantined rows.
    hotspots
        Hot-spot file, frame or ids (see :func:`hotspot_ids`); patrols at a
        hot spot not among them are quarantined.  ``None``: no check.
    day_starts
        Trial-day boundary, local time (``"06:00"``).
    trial_start, trial_end
        First and last trial day (inclusive).  Patrols wholly outside are
        quarantined; patrols partly inside are kept (their minutes outside
        are dropped by :func:`patrol_dosage`).  A start after the end is an
        error.
    max_visit_hours
        Patrols longer than this are quarantined (0 < hours <= 48).
    include_notes
        Keep the free-text ``notes`` column in the accepted rows and the
        quarantine (off by default: notes can hold personal data).
    ambiguous, nonexistent
        Handling of naive local times in the clock-change hours; see
        :func:`rct.io.times.parse_times`.  The default quarantines a patrol
        logged in the hour the clocks skip in March (it cannot have
        happened as written) rather than shifting it to 02:00.
    chunk_rows
        Rows read at a time (the memory bound); never changes the result.
    quarantine_raw
        Quarantine rows exactly as read: raw officer IDs (not pseudonyms),
        every column including notes, and the text of malformed lines.
    columns
        The force's headers mapped to canonical names (``{"Hot Spot":
        "hotspot_id"}``, or a :class:`rct.io.columns.ColumnMap`), for inputs
        that set none themselves.
    dayfirst
        Order of slash dates (``06/09/2021 06:07``): ``True`` day first,
        ``False`` month first, ``None`` (default) detected from each file's
        time columns -- a file whose order cannot be told (no day above 12)
        is refused naming an example value, never guessed.
    sheet
        Excel sheet for workbooks given as plain paths.

    Returns
    -------
    ReadResult
        ``.data``: ``patrol_id, officer, hotspot_id, arrived_at, left_at``
        (UTC), ``minutes, mode`` (``foot`` / ``vehicle`` / missing),
        ``stops``, ``source_file, source_row`` [``, notes``].
        ``.quarantine``: the rejected rows (``source_file, source_row,
        reason`` and the pseudonymised values) .  Reasons: ``wrong number of
        fields (expected E, saw S)``, ``missing <column>``, ``<column> holds
        an invisible or control character``, ``<column>: unparseable
        timestamp`` (or ``missing timestamp``, ``date without a time of
        day``, ``non-existent local time (March clock change)``, ``ambiguous
        local time (October clock change)``), ``left before arrived``,
        ``visit longer than <h> h``, ``unknown hot spot``, ``unknown mode
        (not foot or vehicle)``, ``unparseable stopped``, ``exact
        duplicate``, ``conflicting duplicate patrol_id``, ``outside the
        trial window``.
    """
    return _read(
        paths, pseudonymiser=pseudonymiser, hotspots=hotspots, day_starts=day_starts,
        trial_start=trial_start, trial_end=trial_end, max_visit_hours=max_visit_hours,
        include_notes=include_notes, ambiguous=ambiguous, nonexistent=nonexistent,
        chunk_rows=chunk_rows, quarantine_raw=quarantine_raw, columns=columns,
        dayfirst=dayfirst, sheet=sheet,
    )[0]


def _read(
    paths: Any,
    *,
    pseudonymiser: Pseudonymiser,
    hotspots: Any,
    day_starts: str,
    trial_start: DateLike,
    trial_end: DateLike,
    max_visit_hours: float,
    include_notes: bool,
    ambiguous: str,
    nonexistent: str,
    chunk_rows: int,
    quarantine_raw: bool,
    columns: Any,
    dayfirst: bool | None,
    sheet: str | None,
) -> tuple[ReadResult, dict[str, Any]]:
    """:func:`read_patrol_logs`, and the accepted patrols as arrays (``_data_frame``)."""
    opts = _Options.make(
        day_starts=day_starts,
        trial_start=trial_start,
        trial_end=trial_end,
        max_visit_hours=max_visit_hours,
        include_notes=include_notes,
        ambiguous=ambiguous,
        nonexistent=nonexistent,
        chunk_rows=chunk_rows,
        quarantine_raw=quarantine_raw,
        known=hotspot_ids(hotspots),
    )
    from rct.io.columns import ColumnMap

    if isinstance(columns, ColumnMap):
        dayfirst = columns.dayfirst if dayfirst is None else dayfirst
        columns = columns.for_kind("patrols")
    sources = _open_sources(paths, columns=columns, dayfirst=dayfirst, sheet=sheet)
    state = _State(pseudonymiser)
    for fi, (src, colmap) in enumerate(sources):
        chunks = iter(src.chunks(
            columns=list(colmap.values()), chunk_rows=opts.chunk_rows, keep_text=quarantine_raw
        ))
        first = next(chunks, None)
        if src.dayfirst is not None:
            order = bool(src.dayfirst)
        elif first is None or not _has_slash(first, colmap):
            order = None  # the first chunk says ISO 8601 (what _day_order would read again)
        else:
            order = _day_order(src, colmap, opts)
        for chunk in itertools.chain([] if first is None else [first], chunks):
            table = _canonical_table(chunk.table, colmap)
            _check_chunk(table, chunk.rows, fi, src.name, opts, state, order)
            state.add_bad_lines(chunk.bad, fi, src.name, opts)
    from rct.io.memory import release

    release()  # the chunks are gone: hand their memory back before the next peak
    result = _finish(state, sources, opts)
    release()
    return result


@dataclass(frozen=True)
class _Options:
    offset: dt.timedelta
    start_day: dt.date | None
    end_day: dt.date | None
    max_visit_hours: float
    include_notes: bool
    ambiguous: str
    nonexistent: str
    chunk_rows: int
    quarantine_raw: bool
    known: Any  # sorted hot-spot ids or None

    @classmethod
    def make(cls, **kw: Any) -> _Options:
        hours = kw["max_visit_hours"]
        if not isinstance(hours, int | float) or not math.isfinite(hours) or not (
            0 < hours <= MAX_VISIT_HOURS
        ):
            raise ValueError(
                f"max_visit_hours must be a number of hours in (0, {MAX_VISIT_HOURS:g}]; "
                f"got {hours!r}"
            )
        rows = kw["chunk_rows"]
        if not isinstance(rows, int | np.integer) or not 1 <= int(rows) <= 100_000_000:
            raise ValueError(f"chunk_rows must be a whole number in [1, 100000000]; got {rows!r}")
        start, end = _as_date(kw["trial_start"], "trial_start"), _as_date(kw["trial_end"], "trial_end")
        if start is not None and end is not None and start > end:
            raise DataError(f"the trial window starts {start} after it ends {end} (trial_start > trial_end)")
        known = kw["known"]
        return cls(
            offset=parse_day_start(kw["day_starts"]),
            start_day=start,
            end_day=end,
            max_visit_hours=float(hours),
            include_notes=bool(kw["include_notes"]),
            ambiguous=kw["ambiguous"],
            nonexistent=kw["nonexistent"],
            chunk_rows=int(rows),
            quarantine_raw=bool(kw["quarantine_raw"]),
            known=None if known is None else np.asarray(known, dtype=object),
        )


def check_options(
    *,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    max_visit_hours: float = 4.0,
    chunk_rows: int = 500_000,
) -> None:
    """Validate :func:`read_patrol_logs` options (before any file is touched)."""
    _Options.make(
        day_starts=day_starts, trial_start=trial_start, trial_end=trial_end,
        max_visit_hours=max_visit_hours, include_notes=False, ambiguous="earliest",
        nonexistent="quarantine", chunk_rows=chunk_rows, quarantine_raw=False, known=None,
    )


def _open_sources(
    paths: Any, *, columns: Any = None, dayfirst: bool | None = None, sheet: str | None = None
) -> list[tuple[Any, dict[str, str]]]:
    """Every input opened and its columns mapped before any row is read."""
    from rct.io.sources import open_source

    if isinstance(paths, pd.DataFrame):
        items: list[Any] = [paths]
    else:
        items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise DataError("no patrol log files given")
    out = []
    for item in items:
        src = open_source(item, what="patrol log", columns=columns or (), dayfirst=dayfirst,
                          sheet=sheet)
        out.append((src, _column_map(src.columns, src.name, src.mapping)))
    return out


def _has_slash(chunk: Any, colmap: dict[str, str]) -> bool:
    """True when the chunk's time columns hold a slash date (the first look of :func:`_day_order`,
    on a chunk the caller has read anyway)."""
    from rct.io.times import DayOrderScan

    for c in (colmap["arrived_at"], colmap["left_at"]):
        scan = DayOrderScan()
        scan.add(chunk.table[c] if hasattr(chunk.table, "column_names") else chunk.table[c],
                 chunk.rows + 1)
        if scan.n_slash:
            return True
    return False


def _day_order(src: Any, colmap: dict[str, str], opts: _Options) -> bool | None:
    """The order of slash dates in this source's time columns (None: ISO, nothing to do).

    Set by the source (``dayfirst``), else detected over the whole columns:
    looked for in the first chunk, and only when slash dates are there are
    the two time columns read through once more (see :class:`DayOrderScan`).
    """
    from rct.io.times import DayOrderScan

    if src.dayfirst is not None:
        return bool(src.dayfirst)
    cols = [colmap["arrived_at"], colmap["left_at"]]
    scans = {c: DayOrderScan() for c in cols}
    for k, chunk in enumerate(src.chunks(columns=cols, chunk_rows=opts.chunk_rows)):
        for c in cols:
            scans[c].add(chunk.table[c] if hasattr(chunk.table, "column_names")
                         else chunk.table[c], chunk.rows + 1)
        if k == 0 and not any(s.n_slash for s in scans.values()):
            return None  # ISO 8601 (or typed) times: no second look
    merged = DayOrderScan()
    column = None
    for c in cols:  # both columns together decide (arrivals may all be early in the month)
        s = scans[c]
        merged.n_slash += s.n_slash
        for attr in ("first_over_12", "second_over_12", "differ"):
            if getattr(merged, attr) is None and getattr(s, attr) is not None:
                setattr(merged, attr, getattr(s, attr))
                column = column or c
    return merged.decide(None, file=src.name, column=column)


def _column_map(
    columns: Iterable[str], name: str, mapping: dict[str, str] | None = None
) -> dict[str, str]:
    """canonical name -> the file's column (the force's mapping, then aliases; clashes and
    gaps refused)."""
    columns = list(columns)
    renamed = rename_columns(columns, mapping)
    out_map: dict[str, str] = {}
    clashes: list[str] = []
    for col, new in zip(columns, renamed, strict=True):
        key = str(new).strip().lower().replace(" ", "_").replace("-", "_")
        canon = _ALIASES.get(key, key)
        if canon in ("source_file", "source_row"):
            canon = f"{canon}_in_file"
        if canon in out_map:
            clashes.append(canon)
        out_map[canon] = str(col)
    if clashes:
        raise DataError(
            f"more than one column means {', '.join(dict.fromkeys(clashes))} (after mapping aliases)",
            file=name,
        )
    missing = [c for c in REQUIRED if c not in out_map]
    if missing:
        mapped = f"; the column mapping was {describe_map(mapping)}" if mapping else ""
        raise DataError(
            f"missing required column(s) {', '.join(missing)}; patrol logs need "
            f"{', '.join(REQUIRED)} (optional {', '.join(OPTIONAL)}); found "
            f"{', '.join(map(repr, columns[:12]))}{mapped}. Map other headers with --columns "
            "(see `rct schema patrols`)",
            file=name,
        )
    return out_map


def _canonical_table(table: Any, colmap: dict[str, str]) -> Any:
    """The chunk as an Arrow table with canonical column names (text columns stay text)."""
    import pyarrow as pa

    from rct.io.convert import as_arrow

    if isinstance(table, pd.DataFrame):
        arrays = [as_arrow(table[colmap[c]]) for c in colmap]
    else:
        arrays = [_combined(table.column(colmap[c])) for c in colmap]
    return pa.table(arrays, names=list(colmap))


def _combined(col: Any) -> Any:
    return col.combine_chunks() if hasattr(col, "combine_chunks") else col


class _Distinct:
    """A text column as its distinct values (stripped of surrounding whitespace) and the
    position of each row's value among them (``index``; -1 for null): checks of the
    values then run once per distinct value (a chunk of patrols names a few hundred hot
    spots and officers) and are spread to the rows by :meth:`rows`."""

    def __init__(self, values: Any) -> None:
        from rct.io.convert import as_text, stripped

        self.index, distinct = _encoded(as_text(values))
        self.values = stripped(distinct)

    def rows(self, per_value: np.ndarray, null: Any) -> np.ndarray:
        """A value per distinct value -> per row (``null`` for missing values)."""
        return np.append(np.asarray(per_value), null)[self.index]


def _each_distinct(values: Any, parse: Any, null: tuple) -> tuple[np.ndarray, ...]:
    """``parse`` (arrays per value) of a text column, run once per distinct value;
    other types are parsed as they are."""
    import pyarrow as pa

    from rct.io.convert import as_arrow

    arr = as_arrow(values)
    if not pa.types.is_string(arr.type):
        return parse(arr)
    index, distinct = _encoded(arr)
    return tuple(np.append(np.asarray(v), np.asarray(z, dtype=np.asarray(v).dtype))[index]
                 for v, z in zip(parse(distinct), null, strict=True))


def _encoded(values: Any) -> tuple[np.ndarray, Any]:
    """Arrow's dictionary encoding of a text column: each row's position among the
    distinct values (int64, -1 for null) and those values (an Arrow array)."""
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(_combined(values))
    return (np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64),
            enc.dictionary)


class _Codes:
    """A growing dictionary: text -> small integer code (officer pseudonyms, hot-spot ids)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.names: list[str] = []

    def codes_of(self, distinct: _Distinct, keep: np.ndarray, transform: Any = None) -> np.ndarray:
        """int32 code of the rows ``keep`` of a :class:`_Distinct` column (-1 for null): each
        distinct value used there named once (its name after ``transform``), new names last."""
        idx = distinct.index[keep]
        used = np.zeros(len(distinct.values) + 1, dtype=bool)
        used[idx] = True  # -1 (null) marks the last: never a name
        local = np.full(len(distinct.values) + 1, -1, dtype=np.int32)
        text = distinct.values.to_pylist()
        for j in np.flatnonzero(used[:-1]):
            v = text[j]
            key = transform(v) if transform is not None else v
            code = self.index.get(key)
            if code is None:
                code = self.index[key] = len(self.names)
                self.names.append(key)
            local[j] = code
        return local[idx]

    def values(self, codes: np.ndarray) -> np.ndarray:
        names = np.array(self.names + [None], dtype=object)
        return names[np.where(codes < 0, len(self.names), codes)]


class _State:
    """What the chunks leave behind: compact accepted columns and quarantine pieces."""

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self.pseudonymiser = pseudonymiser
        self._hmac: dict[str, str] = {}
        self.keep: dict[str, list[Any]] = {}
        self.quarantine: list[pd.DataFrame] = []
        self.n_read = 0
        self.officers = _Codes()
        self.hotspots = _Codes()

    def pseudonym(self, value: str) -> str:
        p = self._hmac.get(value)
        if p is None:
            p = self._hmac[value] = self.pseudonymiser(value)
        return p

    def add(self, **cols: Any) -> None:
        for k, v in cols.items():
            self.keep.setdefault(k, []).append(v)

    @property
    def n_kept(self) -> int:
        return sum(len(x) for x in self.keep.get("row", []))

    def column(self, name: str, dtype: Any, *, pop: bool = False) -> np.ndarray:
        parts = self.keep.pop(name, []) if pop else self.keep.get(name, [])
        if not parts:
            return np.zeros(0, dtype)
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
        parts.clear()  # the pieces are freed once joined (memory bound)
        if pop:
            return out.astype(dtype, copy=False)
        self.keep[name] = [out]
        return out.astype(dtype, copy=False)

    def text(self, name: str) -> Any:
        import pyarrow as pa

        parts = self.keep.get(name, [])
        return pa.chunked_array(parts, type=pa.string()) if parts else pa.chunked_array([], pa.string())

    def add_bad_lines(self, bad: tuple, fi: int, name: str, opts: _Options) -> None:
        if not bad:
            return
        self.n_read += len(bad)
        q = pd.DataFrame(
            {
                "_file": fi,
                "source_file": name,
                "source_row": [b.row for b in bad],
                "reason": [b.reason for b in bad],
            }
        )
        if opts.quarantine_raw:
            q["raw_line"] = [b.text for b in bad]
        self.quarantine.append(q)


def _check_chunk(
    table: Any, rows: np.ndarray, fi: int, name: str, opts: _Options, state: _State,
    dayfirst: bool | None = None,
) -> None:
    """Row-level checks of one chunk: bad rows to quarantine, the rest kept compactly."""
    from rct.io.convert import blank_mask, stripped

    n = table.num_rows
    state.n_read += n
    if n == 0:
        return
    reason = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool)

    def flag(mask: Any, why: Any) -> None:
        m = np.asarray(mask, dtype=bool) & free  # first reason wins
        if not m.any():
            return
        reason[m] = why[m] if isinstance(why, np.ndarray) else why
        free[m] = False

    pid = stripped(table.column("patrol_id"))
    # officers and hot spots repeat: each distinct value is checked once (_Distinct)
    oid = _Distinct(table.column("officer_id"))
    hid = _Distinct(table.column("hotspot_id"))
    blank_h = hid.rows(blank_mask(hid.values), True)
    flag(blank_mask(pid), "missing patrol_id")
    flag(oid.rows(blank_mask(oid.values), True), "missing officer_id")
    flag(blank_h, "missing hotspot_id")
    flag(invisible_mask(pid), invisible_reason("patrol_id"))
    flag(hid.rows(invisible_mask(hid.values), False), invisible_reason("hotspot_id"))
    times = {}
    from rct.io.times import slash_to_iso

    for col in ("arrived_at", "left_at"):
        ns, why = utc_ns(
            slash_to_iso(table.column(col), dayfirst),
            ambiguous=opts.ambiguous,
            nonexistent=opts.nonexistent,
            date_only="reject",
        )
        if why is not None:
            has = why != None  # noqa: E711
            prefixed = np.full(n, None, dtype=object)
            prefixed[has] = [f"{col}: {w}" for w in why[has]]
            flag(has, prefixed)
        times[col] = ns
    a, b = times["arrived_at"], times["left_at"]
    both = (a != NAT) & (b != NAT)
    flag(both & (b < a), "left before arrived")
    minutes = np.where(both, (b - a) / 60e9, np.nan)
    flag(both & (minutes > opts.max_visit_hours * 60.0), f"visit longer than {opts.max_visit_hours:g} h")
    if opts.known is not None:
        from rct.io.convert import isin_mask

        flag(~hid.rows(isin_mask(hid.values, opts.known), False) & ~blank_h, "unknown hot spot")
    mode = np.zeros(n, dtype=np.int8)  # 0 missing, 1 foot, 2 vehicle
    if "mode" in table.column_names:
        mode, bad_mode = _each_distinct(table.column("mode"), _parse_mode, (0, False))
        flag(bad_mode, _UNKNOWN_MODE)
    stops = np.zeros(n, dtype=np.int64)
    if "stopped" in table.column_names:
        stops, bad_stops = _each_distinct(table.column("stopped"), _parse_stops, (0, False))
        flag(bad_stops, "unparseable stopped")
    good = free
    outside = np.zeros(n, dtype=bool)
    first_day = last_day = None
    if opts.start_day is not None or opts.end_day is not None:
        out, first_day, last_day = _outside_window(a, b, opts)
        outside = out & good

    show = ~good | outside
    if show.any():
        idx = np.flatnonzero(show)
        q = _shown_rows(table, idx, state, opts)
        why = reason[idx].copy()
        why[why == None] = "outside the trial window"  # noqa: E711 - provisional (see _finish)
        q.insert(0, "reason", why)
        q.insert(0, "source_row", rows[idx] + 1)
        q.insert(0, "source_file", name)
        q.insert(0, "_file", fi)
        state.quarantine.append(q)

    keep = np.flatnonzero(good)
    if not len(keep):
        return
    import pyarrow as pa

    take = pa.array(keep)
    state.add(
        file=np.full(len(keep), fi, dtype=np.int32),
        row=rows[keep].astype(np.int64),
        patrol_id=pid if len(keep) == n else pid.take(take),
        officer=state.officers.codes_of(oid, keep, state.pseudonym),
        hotspot=state.hotspots.codes_of(hid, keep),
        arrived=a[keep],
        left=b[keep],
        minutes=minutes[keep],
        mode=mode[keep],
        stops=stops[keep],
        outside=outside[keep],
    )
    if first_day is not None and last_day is not None:  # for the dosage: not found again
        state.add(first_day=first_day[keep], last_day=last_day[keep])
    if opts.include_notes and "notes" in table.column_names:
        from rct.io.convert import as_text

        state.add(notes=as_text(table.column("notes")).take(take))


def _finish(state: _State, sources: list, opts: _Options) -> tuple[ReadResult, dict[str, Any]]:
    """Duplicates across the whole input, the trial window, then the result."""
    n_keep = state.n_kept
    file_ = state.column("file", np.int32)
    row = state.column("row", np.int64)
    outside = state.column("outside", bool)
    late = np.full(n_keep, None, dtype=object)  # reasons found across the input

    pid = state.text("patrol_id")
    dup = _repeated(pid)
    if dup.any():
        positions = np.flatnonzero(dup)
        raw, shown = _reread(sources, file_[positions], row[positions], state, opts)
        # raw: every column of those rows, in (file, row) order = positions order
        content = raw.drop(columns=["_file", "_row"])
        exact = content.duplicated(keep="first").to_numpy()
        late[positions[exact]] = "exact duplicate"
        rest = positions[~exact]
        rest_pid = pd.Series(pid.take(rest).to_pylist(), dtype=object)
        conflict = rest_pid.duplicated(keep=False).to_numpy()
        late[rest[conflict]] = "conflicting duplicate patrol_id"
        flagged = positions[late[positions] != None]  # noqa: E711
        if len(flagged):
            _requarantine(state, shown, file_[flagged], row[flagged] + 1, late[flagged])
    accepted = (late == None) & ~outside  # noqa: E711

    data, arrays = _data_frame(state, accepted, sources, opts)
    quarantine = _quarantine_frame(state.quarantine)
    source = sources[0][0].name if len(sources) == 1 else f"{len(sources)} patrol log files"
    result = ReadResult(data=data, quarantine=quarantine, n_read=state.n_read, source=source)
    return result, arrays


def _requarantine(
    state: _State, shown: pd.DataFrame, files: np.ndarray, rows1: np.ndarray, reasons: np.ndarray
) -> None:
    """Give rows found late (duplicates) their reason: rows already quarantined as outside
    the trial window get the new reason; the others join the quarantine from ``shown``."""
    key = files.astype(np.int64) * (1 << 40) + rows1.astype(np.int64)
    order = np.argsort(key)
    key, reasons = key[order], reasons[order]
    placed = np.zeros(len(key), dtype=bool)
    for q in state.quarantine:
        if not len(q) or "_file" not in q.columns:
            continue
        qk = q["_file"].to_numpy(np.int64) * (1 << 40) + q["source_row"].to_numpy(np.int64)
        pos = np.minimum(np.searchsorted(key, qk), len(key) - 1)
        hit = (key[pos] == qk) & (q["reason"] == "outside the trial window").to_numpy(dtype=bool)
        if hit.any():
            q.loc[hit, "reason"] = reasons[pos[hit]]
            placed[pos[hit]] = True
    sk = shown["_file"].to_numpy(np.int64) * (1 << 40) + shown["source_row"].to_numpy(np.int64)
    pos = np.minimum(np.searchsorted(key, sk), len(key) - 1)
    hit = (key[pos] == sk) & ~placed[pos]
    if hit.any():
        add = shown.loc[hit].copy()
        add.insert(3, "reason", reasons[pos[hit]])
        state.quarantine.append(add)


def _repeated(pid: Any) -> np.ndarray:
    """True for every patrol id that occurs more than once (nulls never).

    Exact, by Arrow's dictionary encoding (a hash table that compares the text): each
    id's count of occurrences.  About 0.16 s per million ids whatever their order, where
    sorting them took 0.08 s for ids in order but 0.44 s shuffled and 0.65 s for UUIDs.
    """
    if len(pid) < 2:
        return np.zeros(len(pid), dtype=bool)
    idx, distinct = _encoded(pid)
    counts = np.bincount(idx[idx >= 0], minlength=len(distinct))
    counts = np.append(counts, 0)  # index -1 (null): counted never
    return counts[idx] > 1


def _reread(
    sources: list, files: np.ndarray, rows: np.ndarray, state: _State, opts: _Options
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every column of the given rows (second pass), and their quarantine view."""
    import pyarrow as pa

    raws, shows = [], []
    for fi, (src, colmap) in enumerate(sources):
        want = np.sort(rows[files == fi])
        if not len(want):
            continue
        for chunk in src.chunks(columns=list(colmap.values()), chunk_rows=opts.chunk_rows):
            hit = np.flatnonzero(np.isin(chunk.rows, want))
            if not len(hit):
                continue
            table = _canonical_table(chunk.table, colmap).take(pa.array(hit))
            raw = table.to_pandas()
            raw.insert(0, "_row", chunk.rows[hit])
            raw.insert(0, "_file", fi)
            raws.append(raw)
            shown = _shown_rows(table, np.arange(len(hit)), state, opts)
            shown.insert(0, "source_row", chunk.rows[hit] + 1)
            shown.insert(0, "source_file", src.name)
            shown.insert(0, "_file", fi)
            shows.append(shown)
    raw = pd.concat(raws, ignore_index=True, sort=False)
    return raw.sort_values(["_file", "_row"], kind="stable").reset_index(drop=True), pd.concat(
        shows, ignore_index=True, sort=False
    )


def _shown_rows(table: Any, idx: np.ndarray, state: _State, opts: _Options) -> pd.DataFrame:
    """The quarantine view of some rows: pseudonymised, no free text (unless asked)."""
    import pyarrow as pa

    part = table.take(pa.array(idx)).to_pandas()
    if opts.quarantine_raw:
        return part.astype(object)
    out = pd.DataFrame(index=part.index)
    for col in _SHOWN:
        if col == "officer":
            oid = part["officer_id"].astype("string").str.strip()
            out["officer"] = [None if pd.isna(v) or v == "" else state.pseudonym(v) for v in oid]
        elif col in part.columns:
            out[col] = part[col].astype(object)
    if opts.include_notes and "notes" in part.columns:
        out["notes"] = part["notes"].astype(object)
    return out


def _data_frame(
    state: _State, accepted: np.ndarray, sources: list, opts: _Options
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The accepted patrols as a frame, and as arrays: hot-spot and officer codes (into
    ``hotspot_names``, ``n_officers`` officers), mode codes, UTC ns, minutes, stops and the
    trial days of arrival and of the last instant (days since 1970-01-01, or None)."""
    import pyarrow as pa

    names = np.array([s.name for s, _ in sources], dtype=object)
    every = bool(accepted.all())
    idx = np.flatnonzero(accepted)

    def pick(name: str, dtype: Any) -> np.ndarray:
        values = state.column(name, dtype, pop=True)
        return values if every else values[idx]

    def utc(ns: np.ndarray) -> pd.Series:
        return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")

    mode_names = np.array([pd.NA, "foot", "vehicle"], dtype=object)
    pid = state.text("patrol_id")
    state.keep.pop("patrol_id", None)
    if not every:
        pid = pid.take(pa.array(idx, type=pa.int64()))
    arrived = np.ascontiguousarray(pick("arrived", np.int64))
    left = np.ascontiguousarray(pick("left", np.int64))
    officer, hotspot = pick("officer", np.int32), pick("hotspot", np.int32)
    mode, minutes, stops = pick("mode", np.int64), pick("minutes", np.float64), pick("stops", np.int64)
    days = state.keep.get("first_day")
    have_days = days is not None and sum(len(d) for d in days) == len(accepted) and all(
        len(d) == 0 or d.min() > _NO_DAY for d in days)
    first_day = pick("first_day", np.int64) if have_days else None
    last_day = pick("last_day", np.int64) if have_days else None
    state.keep.pop("first_day", None)
    state.keep.pop("last_day", None)
    data = pd.DataFrame(
        {
            "patrol_id": _text_series(pid),
            "officer": pd.Series(state.officers.values(officer), dtype=object),
            "hotspot_id": pd.Series(state.hotspots.values(hotspot), dtype=object),
            "arrived_at": utc(arrived),
            "left_at": utc(left),
            "minutes": minutes,
            "mode": pd.Series(mode_names[mode], dtype=object),
            "stops": stops,
            "source_file": pd.Series(names[pick("file", np.int64)], dtype=object),
            "source_row": pick("row", np.int64) + 1,
        },
        copy=False,  # fresh arrays: no stacking into 2-D blocks (0.2 s per million rows)
    )
    arrays = {
        "hotspot": hotspot, "hotspot_names": np.array(state.hotspots.names, dtype=object),
        "officer": officer, "n_officers": len(state.officers.names),
        "foot": mode == 1, "vehicle": mode == 2, "minutes": minutes, "stops": stops,
        "arrived": arrived, "left": left, "first_day": first_day, "last_day": last_day,
    }
    if opts.include_notes:
        notes = state.keep.pop("notes", None)
        if notes and len(idx):
            text = pa.chunked_array(notes)
            data["notes"] = pd.Series(
                (text if every else text.take(pa.array(idx, type=pa.int64()))).to_pandas(),
                dtype=object,
            )
        else:
            data["notes"] = pd.Series(pd.NA, index=data.index, dtype=object)
    return data, arrays


def _text_series(values: Any) -> pd.Series:
    """Arrow text as a pandas string column backed by Arrow (no per-row Python objects)."""
    import pyarrow as pa

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return pd.Series(pd.arrays.ArrowStringArray(arr) if len(arr) else pd.array([], dtype="string"))


def _quarantine_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({"source_file": pd.Series(dtype=object),
                             "source_row": pd.Series(dtype=np.int64),
                             "reason": pd.Series(dtype=object)})
    q = pd.concat(parts, ignore_index=True, sort=False)
    q = q.sort_values(["_file", "source_row"], kind="stable").drop(columns="_file")
    front = ["source_file", "source_row", "reason"]
    q = q[front + [c for c in q.columns if c not in front]]
    q["source_row"] = q["source_row"].astype(np.int64)
    return q.reset_index(drop=True)


def _parse_mode(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mode codes (0 missing, 1 foot, 2 vehicle) and the mask of unknown modes."""
    import pyarrow.compute as pc

    from rct.io.convert import blank_mask, index_in, stripped

    text = pc.utf8_lower(stripped(values))
    foot, vehicle = sorted(_FOOT), sorted(_VEHICLE)
    pos = index_in(text, foot + vehicle)
    code = np.where(pos < 0, 0, np.where(pos < len(foot), 1, 2)).astype(np.int8)
    return code, (pos < 0) & ~blank_mask(text)


def _parse_stops(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``stopped``: yes/no (1/0) or a whole count; returns (stops, unparseable mask)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.convert import as_arrow, index_in, stripped, to_float64

    arr = as_arrow(values)
    if pa.types.is_boolean(arr.type):
        v = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        return v.astype(np.int64), np.zeros(len(v), dtype=bool)
    text = pc.fill_null(pc.utf8_lower(stripped(arr)), "")
    true, false = sorted(_TRUE), sorted(_FALSE)
    pos = index_in(text, true + false)
    is_true = (pos >= 0) & (pos < len(true))
    is_word = pos >= 0
    num = np.full(len(pos), np.nan)
    if not is_word.all():
        num = to_float64(pc.if_else(pa.array(is_word), pa.scalar(None, pa.string()), text))
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(num) & (num >= 0) & (num == np.floor(num)) & (num < 2**53)
    stops = np.zeros(len(num), dtype=np.int64)
    stops[is_true] = 1
    stops[whole] = num[whole].astype(np.int64)
    return stops, ~is_word & ~whole


def _outside_window(
    a: np.ndarray, b: np.ndarray, opts: _Options
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Patrols wholly outside the trial window (by the trial days they touch), and those
    days -- of the arrival and of the last instant, as days since 1970-01-01 (``_NO_DAY``
    where a time is missing) -- when the zone table found them (else None)."""
    from rct.io.times import trial_day_ns

    ok = (a != NAT) & (b != NAT)
    last_ns = np.where(b <= a, b, b - 1)
    first = trial_day_ns(np.where(ok, a, NAT), opts.offset)  # NaT rows: masked by ok below
    last = trial_day_ns(np.where(ok, last_ns, NAT), opts.offset)
    days: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if first is not None and last is not None:  # the zone table: no Series per chunk
        first_day = pd.Series(first.view("datetime64[ns]"))
        last_day = pd.Series(last.view("datetime64[ns]"))
        day_ns = 86_400 * 1_000_000_000
        days = (np.where(ok, first // day_ns, _NO_DAY).astype(np.int32),
                np.where(ok, last // day_ns, _NO_DAY).astype(np.int32))
    else:
        first_day = _trial_day64(_utc_series(np.where(ok, a, 0)), opts.offset)
        last_day = _trial_day64(_utc_series(np.where(ok, last_ns, 0)), opts.offset)
    out = np.zeros(len(a), dtype=bool)
    if opts.start_day is not None:
        out |= (last_day < np.datetime64(opts.start_day, "ns")).to_numpy()
    if opts.end_day is not None:
        out |= (first_day > np.datetime64(opts.end_day, "ns")).to_numpy()
    return out & ok, days[0], days[1]


#: a trial day not found (a missing time), in the int32 day numbers kept per patrol
_NO_DAY = np.iinfo(np.int32).min


def _utc_series(ns: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(ns, unit="ns", utc=True))


# ---------------------------------------------------------------------------
# hot spots


def hotspot_ids(hotspots: Any) -> list[str] | None:
    """The hot-spot ids of a file, a (Geo)DataFrame or an iterable of ids.

    Files are read with :func:`rct.io.hotspots.read_hotspots`; a CSV with
    only a ``hotspot_id`` column (no geometry) is accepted too, since the
    dosage needs only the ids.  ``None`` gives ``None`` (no check).  Ids
    holding invisible or control characters are refused.
    """
    if hotspots is None:
        return None
    source: object = None
    if isinstance(hotspots, str | os.PathLike):
        p = Path(hotspots)
        source = p
        if not p.exists():
            raise DataError("hot-spots file not found", file=p)
        from rct.io.hotspots import read_hotspots

        try:
            hotspots = read_hotspots(p)
        except DataError:
            # a plain list of ids (CSV without geometry) is enough for dosage
            if p.suffix.lower() not in (".csv", ".txt"):
                raise
            hotspots = _plain_id_list(p)
        if "hotspot_id" not in hotspots.columns:
            raise DataError("no hotspot_id column", file=p)
    if isinstance(hotspots, pd.DataFrame):
        if "hotspot_id" not in hotspots.columns:
            raise DataError("hot-spot table has no hotspot_id column")
        values: Iterable[Any] = hotspots["hotspot_id"]
    elif isinstance(hotspots, pd.Series | pd.Index | np.ndarray | list | tuple | set | frozenset):
        values = hotspots
    else:
        raise TypeError(
            f"hotspots must be a path, a DataFrame or ids, not {type(hotspots).__name__}"
        )
    ids = pd.Series(list(values), dtype="string").str.strip().dropna()
    check_identifiers(ids.reset_index(drop=True), file=source, column="hotspot_id")
    return sorted(set(ids.tolist()))


def _plain_id_list(p: Path) -> pd.DataFrame:
    """A CSV of hot-spot ids (and other columns), read strictly: any malformed row is an error."""
    from rct.io.delimited import read_csv_table

    table = read_csv_table(p, strict=True)
    frame = table.table.to_pandas()
    if "hotspot_id" not in frame.columns:
        raise DataError("no hotspot_id column (and no geometry)", file=p)
    ids = frame["hotspot_id"]
    blank = ids.isna() | (ids.astype("string").str.strip() == "")
    if blank.any():
        i = int(np.flatnonzero(blank.to_numpy())[0])
        raise DataError("hot-spot ids must be present", file=p, row=i + 1, column="hotspot_id")
    if ids.duplicated().any():
        i = int(np.flatnonzero(ids.duplicated().to_numpy())[0])
        raise DataError("hot-spot ids must be unique", file=p, row=i + 1, column="hotspot_id",
                        value=ids.iloc[i])
    return frame


def _trial_day64(times_utc: pd.Series, offset: dt.timedelta) -> pd.Series:
    """:func:`rct.io.times.trial_date` as ``datetime64[ns]`` midnights (no Python dates)."""
    from rct.io.times import _trial_day_by_table

    fast = _trial_day_by_table(times_utc, offset)  # the zone table (not for 01:00-02:00 starts)
    if fast is not None:
        return fast
    wall = times_utc.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return (wall - pd.Timedelta(offset)).dt.normalize().astype("datetime64[ns]")


def _dates64(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.Series(dates)).astype("datetime64[ns]")


def _as_date(value: DateLike, name: str = "date") -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataError(f"{name} is not a date (YYYY-MM-DD): {value!r}") from None
