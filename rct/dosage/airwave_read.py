"""Airwave pings: sources, read units, and the per-chunk ("map") step.

The map step is row-wise and stateless: a chunk of pings in, a
:class:`ChunkResult` out (row-level quarantine, the keys of every valid ping,
and the pings inside a hot spot).  Everything that needs several rows
(duplicates, a radio in two places at once, visits) is done once, by the
reduce step in :mod:`rct.dosage.airwave`, on the concatenated results, so
the outcome cannot depend on how the input was chunked or partitioned.

Rows are identified globally by ``file_index * 2**40 + row_in_file``.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rct.dosage.airwave_kernels import (  # noqa: F401 - re-exported
    check_rows,
    mix_keys,
    partition_good,
    partition_keys,
)
from rct.errors import DataError
from rct.io.columns import PING_ALIASES
from rct.pip import _compact  # point-in-polygon verdicts -> single hits + special rows

__all__ = [
    "ALIASES",
    "ChunkResult",
    "Unit",
    "plan_units",
    "iter_chunks",
    "map_chunk",
    "GB_LONLAT",
    "GB_BNG",
]

ROW_SHIFT = 40
#: canonical name -> accepted column names (the one table: :data:`rct.io.columns.PING_ALIASES`)
ALIASES: dict[str, tuple[str, ...]] = PING_ALIASES
# Great Britain: the EPSG:27700 area of use (lon/lat) and the grid's extent (metres)
GB_LONLAT = (-9.01, 49.75, 2.01, 61.01)
GB_BNG = (0.0, 0.0, 700_000.0, 1_300_000.0)
T_MIN = np.datetime64("2000-01-01T00:00:00", "ns").astype(np.int64)
T_MAX = np.datetime64("2100-01-01T00:00:00", "ns").astype(np.int64)
_PARQUET = {".parquet", ".pq", ".parq"}


@dataclass(frozen=True)
class Unit:
    """One piece of work: a file, or some row groups of a Parquet file."""

    file_index: int
    path: str
    kind: str  # "parquet" or "csv"
    row_groups: tuple[int, ...] | None = None
    row_offset: int = 0
    columns: tuple[tuple[str, str], ...] = ()  # the force's header -> canonical name
    dayfirst: bool | None = None  # slash dates: the file's order (None: ISO / none)

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.columns)


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """What the map step returns for one chunk.

    Attributes
    ----------
    n_read : int
    keys : (uint64 array, offsets)
        one key per valid ping (hash of radio and timestamp), grouped by their top
        8 bits, with the 257 bucket offsets (a list of such pairs once concatenated)
    row, radio, t, hotspot : arrays, one per (ping, hot spot) pair inside a hot spot
        global row id (int64), radio code (int64), UTC ns (int64), hot-spot index (int32)
    quarantine : DataFrame of rows failing a row-level check, with ``reason``
    """

    n_read: int
    keys: Any
    row: np.ndarray
    radio: np.ndarray
    t: np.ndarray
    hotspot: np.ndarray
    quarantine: Any


def expand_paths(paths: Any) -> list[Any]:
    """Files from paths, globs and directories (a directory: its Parquet/CSV files, sorted).

    An :class:`rct.io.sources.Input` expands to Inputs with its settings (column mapping,
    date order) for each file it matches.
    """
    from rct.io.sources import Input

    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    out: list[Any] = []
    for p in paths:
        if isinstance(p, Input):
            if p.query is not None:
                raise DataError("pings are read from files (CSV or Parquet), not a query")
            out.extend(p.with_path(f) for f in expand_paths([p.path]))
            continue
        s = str(p)
        hits = sorted(glob.glob(s)) if any(c in s for c in "*?[") else [s]
        if not hits:
            raise DataError("no file matches", file=s)
        for h in hits:
            hp = Path(h)
            if hp.is_dir():
                found = sorted(f for f in hp.rglob("*") if f.is_file() and _kind(f) is not None)
                if not found:
                    raise DataError("no Parquet or CSV files in directory", file=hp)
                out.extend(found)
            elif hp.exists():
                out.append(hp)
            else:
                raise DataError("file not found", file=hp)
    if not out:
        raise DataError("no ping files given")
    return out


def _kind(path: Path) -> str | None:
    from rct.io.sources import source_kind

    return source_kind(path)


#: ``Unit.dayfirst`` of a CSV file whose date order the reader settles from its first chunk
#: (see :func:`plan_units` ``defer_day_order``)
DAY_ORDER_FROM_FIRST_CHUNK = "from first chunk"


def plan_units(
    paths: Any, *, rows_per_unit: int | None = None, columns: Any = None,
    dayfirst: bool | None = None, defer_day_order: bool = False,
) -> list[Unit]:
    """Split the input into units: Parquet files by row groups, CSV files whole.

    ``columns`` (the force's header -> canonical name) and ``dayfirst`` apply
    to inputs that set none themselves.  The order of slash dates is settled
    here, once per file, before any unit is read (:func:`file_day_order`);
    with ``defer_day_order`` a CSV file's is settled by :func:`iter_chunks`
    from the first chunk it reads anyway (the same look, without reading those
    rows twice; a second look only when slash dates are there).
    """
    import pyarrow.parquet as pq

    from rct.io.sources import Input

    units: list[Unit] = []
    for i, item in enumerate(expand_paths(paths)):
        path = item.path if isinstance(item, Input) else item
        mapping = (item.mapping if isinstance(item, Input) else {}) or dict(columns or {})
        order = item.dayfirst if isinstance(item, Input) else None
        order = dayfirst if order is None else order
        kind = _kind(path)
        if kind is None:
            raise DataError("unknown ping file type; use .parquet or .csv", file=path)
        if defer_day_order and kind == "csv" and order is None:
            extra = {"columns": tuple(mapping.items()), "dayfirst": DAY_ORDER_FROM_FIRST_CHUNK}
        else:
            extra = {"columns": tuple(mapping.items()),
                     "dayfirst": file_day_order(str(path), kind, mapping, order)}
        if kind == "csv":
            units.append(Unit(i, str(path), "csv", **extra))
            continue
        try:
            md = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise DataError(
                f"not a readable Parquet file ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''})",
                file=path,
            ) from None
        offset, start, group, acc = 0, 0, [], 0
        for rg in range(md.num_row_groups):
            if not group:
                start = offset
            group.append(rg)
            n = md.row_group(rg).num_rows
            acc += n
            offset += n
            if rows_per_unit is not None and acc >= rows_per_unit:
                units.append(Unit(i, str(path), "parquet", tuple(group), start, **extra))
                group, acc = [], 0
        if group or md.num_row_groups == 0:
            units.append(Unit(i, str(path), "parquet", tuple(group), start, **extra))
    return units


DAY_ORDER_ROWS = 1_000_000  # rows of the first look at a file's dates


def file_day_order(
    path: str, kind: str, mapping: dict[str, str], dayfirst: bool | None, *,
    chunk_rows: int = DAY_ORDER_ROWS,
) -> bool | None:
    """The order of a ping file's slash dates: given, or told from its whole timestamp column.

    ``None`` when the first chunk holds none (ISO 8601 or typed times: no
    second look).  Raises DataError naming an example when the order cannot
    be told (see :class:`rct.io.times.DayOrderScan`).
    """
    from rct.io.sources import open_source
    from rct.io.times import DayOrderScan

    if dayfirst is not None:
        return bool(dayfirst)
    src = open_source(path, what="ping")
    col = resolve_columns(list(src.columns), file=path, mapping=mapping)["timestamp"]
    scan = DayOrderScan()
    for k, chunk in enumerate(src.chunks(columns=[col], chunk_rows=chunk_rows)):
        scan.add(chunk.table[col], chunk.rows + 1)
        if k == 0 and not scan.n_slash:
            return None
    return scan.decide(None, file=path, column=col)


def resolve_columns(
    names: list[str], *, file: object = None, mapping: dict[str, str] | None = None
) -> dict[str, str]:
    """Canonical name -> the file's column name, from the force's ``mapping`` (header ->
    canonical) and :data:`ALIASES` (case-insensitive).

    A header naming a column twice, or two columns meaning one thing (``x``
    and ``easting``), is refused.
    """
    from rct.io.columns import rename_columns
    from rct.io.delimited import check_unique_columns

    check_unique_columns(names, file=file)
    if mapping:
        renamed = rename_columns(names, mapping)
        check_unique_columns(renamed, file=file)
        lower = {n.strip().lower(): o for n, o in zip(renamed, names, strict=True)}
    else:
        lower = {n.strip().lower(): n for n in names}
    found = {}
    for canon, options in ALIASES.items():
        present = [lower[o] for o in options if o in lower]
        if len(present) > 1 and canon in ("radio_id", "timestamp", "x", "y", "lon", "lat"):
            raise DataError(
                f"more than one column means {canon}: {', '.join(map(repr, present))}", file=file
            )
        if present:
            found[canon] = present[0]
    for need in ("radio_id", "timestamp"):
        if need not in found:
            raise DataError(f"no {need} column (accepted: {', '.join(ALIASES[need])}; map "
                            "another header with --columns, see `rct schema pings`)", file=file)
    if not ({"x", "y"} <= found.keys() or {"lon", "lat"} <= found.keys()):
        raise DataError("no location columns: need x/y (easting/northing) or lon/lat", file=file)
    return found


def coords_of(columns: dict[str, str]) -> str:
    """``"bng"`` when eastings/northings are present, else ``"lonlat"``."""
    return "bng" if {"x", "y"} <= columns.keys() else "lonlat"


def wanted_columns(columns: dict[str, str]) -> list[str]:
    """The file's columns the map step reads (id, time, coordinates)."""
    keep = ("radio_id", "timestamp", "lon", "lat") if coords_of(columns) == "lonlat" else (
        "radio_id", "timestamp", "x", "y")
    return list(dict.fromkeys(columns[k] for k in keep))


def iter_chunks(
    unit: Unit, *, chunk_rows: int, keep_text: bool = False
) -> Iterator[tuple[Any, np.ndarray, dict[str, str], tuple]]:
    """Yield (pyarrow Table, 0-based file rows, column map, malformed lines) chunks.

    CSV files are read with :mod:`rct.io.delimited` (any encoding; a line
    with the wrong number of fields is set aside, never re-aligned), the
    id, time and coordinate columns as text, converted by the map step.
    """
    if unit.kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        # pre_buffer=False: with it, pyarrow keeps every row group read until the end
        pf = pq.ParquetFile(unit.path, pre_buffer=False)
        cols = resolve_columns(pf.schema_arrow.names, file=unit.path, mapping=unit.mapping)
        wanted = wanted_columns(cols)
        offset = unit.row_offset
        for batch in pf.iter_batches(
            batch_size=chunk_rows,
            row_groups=list(unit.row_groups or ()),
            columns=wanted,
            use_threads=True,
        ):
            n = batch.num_rows
            table = _iso_times(pa.Table.from_batches([batch]), cols, unit)
            yield table, np.arange(offset, offset + n), cols, ()
            offset += n
    else:
        import dataclasses
        import itertools

        from rct.io.delimited import iter_csv, sniff_csv

        layout = sniff_csv(unit.path)
        cols = resolve_columns(list(layout.columns), file=unit.path, mapping=unit.mapping)
        xy = ("lon", "lat") if coords_of(cols) == "lonlat" else ("x", "y")
        if unit.dayfirst == DAY_ORDER_FROM_FIRST_CHUNK and chunk_rows != DAY_ORDER_ROWS:
            # the first chunk is not the first look's rows: look as plan_units would have
            unit = dataclasses.replace(unit, dayfirst=file_day_order(
                unit.path, "csv", unit.mapping, None))
        defer = unit.dayfirst == DAY_ORDER_FROM_FIRST_CHUNK
        chunks = iter_csv(
            layout,
            columns=wanted_columns(cols),
            chunk_rows=chunk_rows,
            keep_text=keep_text,
            prefer=_prefer(cols, xy, dataclasses.replace(unit, dayfirst=None) if defer else unit,
                           keep_text),
        )
        if defer:
            first = next(chunks, None)
            order = None
            if first is not None:
                from rct.io.times import DayOrderScan

                scan = DayOrderScan()
                scan.add(first.table.column(cols["timestamp"]), first.rows + 1)
                if scan.n_slash:  # slash dates: the whole column decides (a second look)
                    order = file_day_order(unit.path, "csv", unit.mapping, None)
            unit = dataclasses.replace(unit, dayfirst=order)
            chunks = itertools.chain([] if first is None else [first], chunks)
        for c in chunks:
            yield _iso_times(c.table, cols, unit), c.rows, cols, c.bad


def _prefer(cols: dict[str, str], xy: tuple[str, str], unit: Unit, keep_text: bool
            ) -> dict[str, Any]:
    """Types pyarrow converts to while reading a ping CSV, column by column as long as every
    value converts (else that column is read as text and converted exactly by the map step).

    Coordinates as numbers.  Timestamps as UTC instants when they carry a zone (``Z``,
    ``+01:00``): pyarrow refuses a value without one, so local (naive) times, dates alone
    and slash dates are read as text, as before.  Not with ``keep_text``
    (``--quarantine-raw``): quarantined rows then keep the timestamp exactly as written.
    """
    import pyarrow as pa

    out: dict[str, Any] = {cols[k]: pa.float64() for k in xy}
    if unit.dayfirst is None and not keep_text:
        out[cols["timestamp"]] = pa.timestamp("ns", tz="UTC")
    return out


def _iso_times(table: Any, cols: dict[str, str], unit: Unit) -> Any:
    """The chunk with its slash-date timestamps rewritten as ISO 8601 (the unit's order)."""
    if unit.dayfirst is None:
        return table
    from rct.io.times import slash_to_iso

    name = cols["timestamp"]
    i = table.column_names.index(name)
    return table.set_column(i, name, slash_to_iso(table.column(name), unit.dayfirst))


class prefetch:  # noqa: N801 - used like a function
    """Iterate ``items`` while a background thread produces the next ``depth`` ahead.

    Reading and decoding the next chunk (pyarrow releases the GIL) overlaps the
    work on the current one.  The thread starts at once, so the first chunk is
    read while the caller does other set-up (e.g. builds the polygon index).
    Exceptions in the producer are re-raised here; :meth:`close` (or leaving a
    ``with`` block) stops the producer.
    """

    def __init__(self, items: Iterator[Any], *, depth: int = 2) -> None:
        import queue
        import threading

        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = object()
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="rct-prefetch", daemon=True
        )
        self._thread.start()

    def _produce(self, items: Iterator[Any]) -> None:
        import queue

        try:
            for item in items:
                while not self._stop.is_set():
                    try:
                        self._q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._q.put((True, self._done))
        except BaseException as exc:  # handed to the consumer
            self._q.put((False, exc))

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                ok, item = self._q.get()
                if not ok:
                    raise item
                if item is self._done:
                    return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()

    def __enter__(self) -> prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- map
def radio_index(values: Any, pseudonymiser: Any, cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """(index int32 per ping, -1 missing; code int64 per index): radio codes, un-gathered.

    ``code`` is the 48-bit pseudonym as an integer (-1 for a blank ID); the
    code of ping ``i`` is ``code[index[i]]`` (-1 where ``index[i] < 0``).  One
    HMAC per distinct radio (cached across chunks); the per-ping gather is
    left to the caller (the map kernel does it on the fly).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = (
        values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(np.asarray(values, dtype=object), from_pandas=True)
    )
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa.types.is_dictionary(arr.type):
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        arr = pc.dictionary_encode(arr)
    dictionary = arr.dictionary.to_pylist()
    idx = arr.indices
    if idx.null_count:
        idx = pc.fill_null(idx, -1)
    index = np.asarray(idx.to_numpy(zero_copy_only=False))
    if index.dtype != np.int32:
        index = index.astype(np.int32)
    codes = np.empty(max(len(dictionary), 1), dtype=np.int64)
    codes[0] = -1
    for j, v in enumerate(dictionary):
        s = None if v is None else str(v).strip()
        if not s:
            codes[j] = -1
            continue
        c = cache.get(s)
        if c is None:
            c = int(pseudonymiser(s)[-12:], 16)
            cache[s] = c
        codes[j] = c
    return index, codes


def gather_codes(index: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``codes[index]``, -1 where ``index < 0``."""
    out = codes[np.maximum(index, 0)]
    if len(index) and index.min() < 0:
        out[index < 0] = -1
    return out


def radio_codes(values: Any, pseudonymiser: Any, cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """(code int64, missing bool) per ping; code = the 48-bit pseudonym as an integer.

    One HMAC per distinct radio (cached across chunks).
    """
    out = gather_codes(*radio_index(values, pseudonymiser, cache))
    return out, out < 0


def pseudonym(code: np.ndarray | int) -> Any:
    """Radio code -> ``radio-<12 hex>`` (the :class:`~rct.dosage.pseudonym.Pseudonymiser` text)."""
    import pandas as pd

    return pd.Series(np.atleast_1d(code)).map(lambda c: f"radio-{int(c):012x}")


def times_ns(col: Any) -> tuple[np.ndarray, Any]:
    """UTC ns (int64; NaT -> INT64_MIN) and per-row reason (None or text).

    Text is parsed by :func:`rct.io.convert.utc_ns` (pyarrow's vectorised
    ISO 8601 parse; exact fallback to :func:`rct.io.times.parse_times`); a
    date without a time of day is quarantined with its own reason.
    """
    from rct.io.convert import utc_ns

    return utc_ns(col, date_only="reject")


def _column(chunk: Any, name: str) -> Any:
    return chunk.column(name) if hasattr(chunk, "schema") else chunk[name]


def _floats(col: Any) -> np.ndarray:
    from rct.io.convert import to_float64

    return to_float64(col)


def map_chunk(
    chunk: Any,
    *,
    unit: Unit,
    rows: np.ndarray,
    columns: dict[str, str],
    index: Any,
    pseudonymiser: Any,
    cache: dict,
    bad_lines: tuple = (),
    raw_ids: bool = False,
) -> ChunkResult:
    """Row-level checks, keys and hot-spot pairs for one chunk (see :class:`ChunkResult`)."""
    n = chunk.num_rows if hasattr(chunk, "num_rows") else len(chunk)
    ridx, rcode = radio_index(_column(chunk, columns["radio_id"]), pseudonymiser, cache)
    t, t_reason = times_ns(_column(chunk, columns["timestamp"]))
    lonlat = coords_of(columns) == "lonlat"
    xcol, ycol = ("lon", "lat") if lonlat else ("x", "y")
    x = _floats(_column(chunk, columns[xcol]))
    y = _floats(_column(chunk, columns[ycol]))
    box = GB_LONLAT if lonlat else GB_BNG
    has_t = np.ones(n, dtype=bool) if t_reason is None else (t_reason == None)  # noqa: E711
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    good, keys = check_rows(
        ridx, rcode, t, x, y, has_t, box[0], box[1], box[2], box[3], T_MIN, T_MAX
    )
    first = index._first_where(x, y, good)  # point in polygon for the good rows
    keys, offsets = partition_good(keys, good)
    single, single_poly, special = _compact(first)
    del first
    # every (good row, polygon) pair, sorted by row (bad rows are in no polygon)
    src, gi = index._pairs(x, y, single, single_poly, special)
    base = np.int64(unit.file_index) << np.int64(ROW_SHIFT)
    quarantine = None
    if offsets[-1] != n:  # some rows bad
        radio = gather_codes(ridx, rcode)
        no_radio = radio < 0
        finite = np.isfinite(x) & np.isfinite(y)
        in_gb = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        plausible = (t >= T_MIN) & (t < T_MAX)
        reason = np.full(n, None, dtype=object)
        order = [
            (no_radio, "missing radio_id"),
            (~has_t, t_reason),
            (~plausible, "implausible timestamp (before 2000 or after 2099)"),
            (~finite, "missing coordinates"),
            (~in_gb, "coordinates outside Great Britain"),
        ]
        for mask, why in order:
            new = mask & (reason == None)  # noqa: E711
            reason[new] = why[new] if isinstance(why, np.ndarray) else why
        bad = np.flatnonzero(~good)
        quarantine = bad_rows(
            chunk, bad, reason[bad], unit=unit, rows=rows, columns=columns, radio=radio,
            raw_ids=raw_ids,
        )
    if bad_lines:
        import pandas as pd

        lines = malformed_rows(bad_lines, unit=unit, keep_text=raw_ids)
        quarantine = lines if quarantine is None else pd.concat(
            [quarantine, lines], ignore_index=True, sort=False
        )
    return ChunkResult(
        n_read=n + len(bad_lines),
        keys=(keys, offsets),
        row=base + rows[src],
        radio=gather_codes(ridx[src], rcode),
        t=t[src],
        hotspot=gi.astype(np.int32, copy=False),
        quarantine=quarantine,
    )


def bad_rows(
    chunk: Any,
    positions: np.ndarray,
    reasons: Any,
    *,
    unit: Unit,
    rows: np.ndarray,
    columns: dict[str, str],
    radio: np.ndarray,
    raw_ids: bool = False,
) -> Any:
    """Quarantine rows: source_file, source_row (1-based), reason, then the row's values.

    ``radio_id`` is replaced by its pseudonym (radio IDs are personal data)
    unless ``raw_ids`` (``--quarantine-raw``).
    """
    import pandas as pd
    import pyarrow as pa

    if hasattr(chunk, "schema"):
        part = pa.Table.from_batches([chunk]) if isinstance(chunk, pa.RecordBatch) else chunk
        frame = part.take(pa.array(positions)).to_pandas()
    else:
        frame = chunk.iloc[positions].reset_index(drop=True)
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    rid = columns["radio_id"]
    if not raw_ids:
        codes = radio[positions]
        frame[rid] = np.where(codes >= 0, pseudonym(codes).to_numpy(dtype=object), None)
    frame.insert(0, "reason", np.asarray(reasons, dtype=object))
    frame.insert(0, "source_row", rows[positions] + 1)
    frame.insert(0, "source_file", unit.path)
    return frame


def malformed_rows(lines: tuple, *, unit: Unit, keep_text: bool = False) -> Any:
    """Quarantine rows for lines with the wrong number of fields (their text only if asked)."""
    import pandas as pd

    out = pd.DataFrame(
        {
            "source_file": unit.path,
            "source_row": np.array([b.row for b in lines], dtype=np.int64),
            "reason": [b.reason for b in lines],
        }
    )
    if keep_text:
        out["raw_line"] = [b.text for b in lines]
    return out
