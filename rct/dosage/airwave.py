"""Airwave radio presence per hot spot and trial day, from raw radio pings.

Pipeline (any number of CSV/Parquet files, any size):

1. **map**, per chunk (a CSV chunk or a Parquet row-group batch; with
   ``engine="dask"`` per partition on the cluster): row-level checks and a
   64-bit key per valid ping (numpy over the raw columns: radio dictionary
   indices, int64 nanoseconds, float coordinates -- no pandas), point in
   (buffered) hot-spot polygon for the valid pings with :mod:`rct.pip` (the
   one numba kernel), the keys sorted and bucketed on their top 8 bits;
2. **reduce**, once: duplicate keys -> re-read just those rows and classify
   them (duplicate ping / radio in two places at once); sessionise each
   radio's pings per hot spot into visits; split at trial-day boundaries;
   aggregate per hot spot and trial day (vectorised numpy in
   :mod:`rct.dosage.airwave_sessions`).

The reduce step sees the concatenation of the map results, in global row
order, so the table is identical whatever the chunk size, the number of
files or the engine (tested).  The next chunk is read in a background
thread while one is mapped, and the first one already while the polygon
index is built.

Memory: one chunk's working set (about 250 MB for the default 1 million
rows, mostly the reader's), plus 8 bytes per valid ping (the 64-bit keys
used to find duplicates; freed before sessionising) plus 28 bytes per
(ping, hot spot) pair inside a hot spot: about 10 bytes per ping with 6 %
of pings in hot spots.  The benchmark's two-point estimate (5 vs 10 million
pings) is noisy, 11-17 bytes per extra ping, about 1.8 GiB for 100 million
pings; the pings themselves are never all held.  (Not done:
spilling the keys to disk for billions of pings.)  Duplicates are found
without sorting all keys at once: each bucket is gathered from every chunk
and sorted alone.  Only when some key occurs twice are the files read a
second time, for those rows alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rct.dosage.airwave_kernels import duplicate_candidates as _duplicate_candidates
from rct.dosage.airwave_read import (
    ROW_SHIFT,
    ChunkResult,
    Unit,
    _column,
    _floats,
    bad_rows,
    coords_of,
    expand_paths,
    iter_chunks,
    map_chunk,
    mix_keys,
    plan_units,
    prefetch,
    radio_codes,
    resolve_columns,
    times_ns,
)

__all__ = [
    "AirwavePresence",
    "AirwaveOptions",
    "airwave_presence",
    "ingest_airwave",
    "AIRWAVE_COLUMNS",
]

AIRWAVE_COLUMNS = (
    "hotspot_id",
    "trial_date",
    "pings",
    "radios",
    "presence_minutes",
    "radio_minutes",
    "visits",
)
Engine = Literal["default", "dask"]
#: valid range (inclusive) and unit of each numeric option
OPTION_RANGES: dict[str, tuple[float, float, str]] = {
    "buffer_m": (0.0, 1000.0, "metres"),
    "gap_minutes": (0.0, 1440.0, "minutes"),
    "tail_seconds": (0.0, 3600.0, "seconds"),
    "tolerance_m": (0.0, 100_000.0, "metres"),
    "chunk_rows": (1, 100_000_000, "rows"),
}
_ENGINES = ("default", "dask")
_NS_MIN = 60_000_000_000


@dataclass(frozen=True)
class AirwaveOptions:
    """Parameters of the Airwave presence computation (see :func:`airwave_presence`)."""

    buffer_m: float = 25.0
    gap_minutes: float = 5.0
    day_starts: str = "06:00"
    tail_seconds: float = 0.0
    tolerance_m: float = 50.0
    chunk_rows: int = 1_000_000

    def __post_init__(self) -> None:
        for name, (lo, hi, unit) in OPTION_RANGES.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float | np.number) or not (
                np.isfinite(v) and lo <= v <= hi
            ):
                raise ValueError(f"{name} must be between {lo:g} and {hi:g} {unit}; got {v!r}")
        if int(self.chunk_rows) != self.chunk_rows:
            raise ValueError(f"chunk_rows must be a whole number; got {self.chunk_rows!r}")

    @property
    def gap_ns(self) -> int:
        return int(round(self.gap_minutes * _NS_MIN))

    @property
    def tail_ns(self) -> int:
        return int(round(self.tail_seconds * 1e9))


@dataclass(frozen=True, eq=False)
class AirwavePresence:
    """Result of :func:`airwave_presence`.

    Attributes
    ----------
    table : DataFrame
        One row per hot spot and trial day with at least one visit:
        ``hotspot_id, trial_date, pings, radios, presence_minutes,
        radio_minutes, visits`` (hot-spot-days absent from it had none).
    quarantine : DataFrame
        Rejected pings: ``source_file, source_row, reason`` and their values
        (radio IDs pseudonymised).
    n_read, n_accepted, n_quarantined, n_in_hotspots : int
        ``n_read == n_accepted + n_quarantined``; ``n_in_hotspots`` counts
        accepted pings inside at least one (buffered) hot spot.
    options : AirwaveOptions
    """

    table: Any
    quarantine: Any
    n_read: int
    n_accepted: int
    n_quarantined: int
    n_in_hotspots: int
    options: AirwaveOptions
    engine: str = "default"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.n_read != self.n_accepted + self.n_quarantined:  # a bug, never user error
            raise AssertionError("Airwave ping counts do not reconcile")

    def tidy(self) -> Any:
        """The per-hot-spot-day table."""
        return self.table

    def reasons(self) -> dict[str, int]:
        """Quarantined pings counted by reason."""
        if len(self.quarantine) == 0:
            return {}
        return {str(k): int(v) for k, v in self.quarantine["reason"].value_counts().items()}

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "n_read": self.n_read,
            "n_accepted": self.n_accepted,
            "n_quarantined": self.n_quarantined,
            "n_in_hotspots": self.n_in_hotspots,
            "quarantine_reasons": self.reasons(),
            "hotspot_days": len(self.table),
            "engine": self.engine,
            "options": {
                "buffer_m": o.buffer_m,
                "gap_minutes": o.gap_minutes,
                "day_starts": o.day_starts,
                "tail_seconds": o.tail_seconds,
                "tolerance_m": o.tolerance_m,
            },
        }

    def summary(self) -> str:
        line = (
            f"Airwave pings: read {self.n_read:,} = accepted {self.n_accepted:,} + "
            f"quarantined {self.n_quarantined:,}; {self.n_in_hotspots:,} in hot spots; "
            f"{len(self.table):,} hot-spot-days"
        )
        if self.n_quarantined:
            line += " (" + ", ".join(f"{k}: {v:,}" for k, v in self.reasons().items()) + ")"
        return line


# --------------------------------------------------------------------------- context
@dataclass(frozen=True, eq=False)
class _Context:
    """Everything a map task needs (pickled to Dask workers)."""

    indexes: dict[str, Any]
    key: bytes = field(repr=False)
    chunk_rows: int = 1_000_000
    raw_ids: bool = False

    def pseudonymiser(self) -> Any:
        from rct.dosage.pseudonym import Pseudonymiser

        return Pseudonymiser(self.key, prefix="radio-", length=12)


def _chunks(units: list[Unit], chunk_rows: int, keep_text: bool = False) -> Any:
    return (
        (u, *c) for u in units for c in iter_chunks(u, chunk_rows=chunk_rows, keep_text=keep_text)
    )


def _run_chunks(units: list[Unit], ctx: _Context, reader: prefetch | None = None) -> Any:
    """The map step over every chunk of ``units``, in order, one :class:`ChunkResult` each.

    The next chunk is read in a background thread (``reader``, started by the
    caller or here) while this one is processed.
    """
    ps = ctx.pseudonymiser()
    cache: dict = {}
    if reader is None:
        reader = prefetch(_chunks(units, ctx.chunk_rows, ctx.raw_ids))
    with reader:
        for unit, chunk, rows, cols, lines in reader:
            yield map_chunk(
                chunk,
                unit=unit,
                rows=rows,
                columns=cols,
                index=ctx.indexes[coords_of(cols)],
                pseudonymiser=ps,
                cache=cache,
                bad_lines=lines,
                raw_ids=ctx.raw_ids,
            )


def run_unit(unit: Unit, ctx: _Context) -> ChunkResult:
    """The map step over one unit (all its chunks), concatenated."""
    return _concat(list(_run_chunks([unit], ctx)))


def scan_unit(unit: Unit, ctx: _Context, dup_keys: np.ndarray) -> Any:
    """Pass 2: the valid rows of ``unit`` whose key is in ``dup_keys`` (sorted), with metres."""
    import pandas as pd

    ps = ctx.pseudonymiser()
    cache: dict = {}
    frames = []
    for chunk, rows, cols, _lines in iter_chunks(unit, chunk_rows=ctx.chunk_rows):
        radio, no_radio = radio_codes(_column(chunk, cols["radio_id"]), ps, cache)
        t, _ = times_ns(_column(chunk, cols["timestamp"]))
        k = mix_keys(radio, t)
        pos = np.searchsorted(dup_keys, k)
        hit = (
            (pos < len(dup_keys)) & (dup_keys[np.minimum(pos, len(dup_keys) - 1)] == k) & ~no_radio
        )
        hits = np.flatnonzero(hit)
        if not len(hits):
            continue
        lonlat = coords_of(cols) == "lonlat"
        import pyarrow as pa

        take = pa.array(hits)
        x = _floats(_column(chunk, cols["lon" if lonlat else "x"]).take(take))
        y = _floats(_column(chunk, cols["lat" if lonlat else "y"]).take(take))
        if lonlat:
            from pyproj import Transformer

            x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(x, y)
        frame = bad_rows(
            chunk,
            hits,
            np.full(len(hits), "", dtype=object),
            unit=unit,
            rows=rows,
            columns=cols,
            radio=radio,
            raw_ids=ctx.raw_ids,
        )
        frame["_row"] = (np.int64(unit.file_index) << np.int64(ROW_SHIFT)) + rows[hits]
        frame["_radio"], frame["_t"], frame["_x"], frame["_y"] = radio[hits], t[hits], x, y
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def _concat(parts: list[ChunkResult]) -> ChunkResult:
    """Concatenate map results, emptying ``parts`` (peak: the parts + one output column)."""
    import pandas as pd

    names = {"row": np.int64, "radio": np.int64, "t": np.int64, "hotspot": np.int32}
    cols = [{k: getattr(p, k) for k in names} for p in parts]
    q = [p.quarantine for p in parts if p.quarantine is not None and len(p.quarantine)]
    n_read = sum(p.n_read for p in parts)
    runs = [r for p in parts for r in (p.keys if isinstance(p.keys, list) else [p.keys])]
    parts.clear()
    out = {}
    for k, d in names.items():  # one column at a time, each part's piece freed once copied
        out[k] = np.empty(sum(len(c[k]) for c in cols), dtype=d)
        pos = 0
        for c in cols:
            a = c.pop(k)
            out[k][pos : pos + len(a)] = a
            pos += len(a)
            del a
    return ChunkResult(
        n_read=n_read, quarantine=pd.concat(q, ignore_index=True) if q else None, keys=runs, **out
    )


# --------------------------------------------------------------------------- public API
def airwave_presence(
    pings: Any,
    hotspots: Any,
    *,
    buffer_m: float = 25.0,
    gap_minutes: float = 5.0,
    day_starts: str = "06:00",
    tail_seconds: float = 0.0,
    tolerance_m: float = 50.0,
    key: bytes | None = None,
    key_file: str | os.PathLike[str] | None = None,
    chunk_rows: int = 1_000_000,
    engine: Engine = "default",
    scheduler: str | None = None,
    n_workers: int = 2,
    quarantine_raw: bool = False,
) -> AirwavePresence:
    """Per-hot-spot-day Airwave presence from radio pings.

    Parameters
    ----------
    pings
        CSV or Parquet file(s), globs or directories (partitioned Parquet).
        Columns ``radio_id``, ``timestamp`` (ISO 8601 text or a timestamp
        type; naive = Europe/London), and ``x``/``y`` (easting/northing,
        EPSG:27700) or ``lon``/``lat`` (WGS84); common aliases accepted.
        ``speed``/``accuracy_m`` are accepted and not used.
    hotspots
        GeoDataFrame with ``hotspot_id`` (from
        :func:`rct.io.hotspots.read_hotspots`) or a path to read.
    buffer_m
        Metres added around each hot spot; a ping on the (buffered) edge is in.
    gap_minutes
        A radio's pings in a hot spot more than this apart start a new visit.
    day_starts
        Trial-day boundary, local time (e.g. ``"06:00"``).
    tail_seconds
        Added to the end of every visit (e.g. the ping interval); default 0.
    tolerance_m
        Two pings of one radio at the same timestamp more than this apart
        mean "a radio in two places at once".
    key, key_file
        Pseudonym key for radio IDs (see
        :func:`rct.dosage.pseudonym.load_or_create_key`).
    chunk_rows
        Rows per chunk read (memory bound); never changes the result.
    engine
        ``"default"`` (in process, streaming) or ``"dask"`` (the same map
        step per partition on a Dask cluster).
    scheduler
        Dask scheduler address; default a local ``distributed.LocalCluster``
        with ``n_workers`` workers.
    quarantine_raw
        Quarantined pings keep their raw ``radio_id`` (not the pseudonym) and
        malformed lines their text; personal data, off by default.

    Returns
    -------
    AirwavePresence

    Notes
    -----
    *Checks.*  A ping is quarantined, first reason wins, for: missing
    ``radio_id``; missing or unparseable timestamp; a timestamp before 2000
    or after 2099 (GPS resets give 1970 or 1980); missing coordinates;
    coordinates outside Great Britain (lon -9.01..2.01, lat 49.75..61.01, or
    easting 0..700 km, northing 0..1300 km).  Among the remaining pings,
    those sharing radio and timestamp (to the nanosecond) form a group: if
    any ping of the group is more than ``tolerance_m`` metres from the
    group's first ping (lowest file, row), the whole group is quarantined as
    ``radio in two places at once``; otherwise all but the first are
    ``duplicate ping``.  Both checks look at all pings, inside hot spots or
    not.

    *Visits.*  For each radio and hot spot, pings sorted by time are cut
    into visits wherever consecutive pings are more than ``gap_minutes``
    apart.  A visit occupies ``[first ping, last ping + tail)``; a visit
    with one ping and no tail lasts 0 minutes but is still a visit.  A ping
    in two overlapping buffered hot spots is in both.

    *Trial days.*  Day boundaries are ``day_starts`` Europe/London wall
    time, so days with a clock change last 23 or 25 hours.  A visit is cut
    at boundaries: it counts as a visit on every trial day from that of its
    first ping to that of its last ping (or its end, with a tail), with its
    minutes clipped to each day.

    *Table.*  Per hot spot and trial day: ``pings`` (accepted pings in the
    hot spot that day), ``radios`` (distinct radios with a visit that day),
    ``visits`` (visit pieces that day), ``presence_minutes`` (length of the
    union of the visit pieces: minutes with at least one radio present) and
    ``radio_minutes`` (their sum: two radios together count twice).
    """
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {', '.join(_ENGINES)}; got {engine!r}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or not 1 <= n_workers <= 256:
        raise ValueError(f"n_workers must be a whole number between 1 and 256; got {n_workers!r}")
    opts = AirwaveOptions(
        buffer_m=buffer_m,
        gap_minutes=gap_minutes,
        day_starts=day_starts,
        tail_seconds=tail_seconds,
        tolerance_m=tolerance_m,
        chunk_rows=chunk_rows,
    )
    from rct.io.times import parse_day_start

    parse_day_start(day_starts)  # validate early
    gdf = _hotspots(hotspots)
    if key is None:
        from rct.dosage.pseudonym import load_or_create_key

        key, _ = load_or_create_key(key_file)
    units = plan_units(pings, rows_per_unit=opts.chunk_rows if engine == "dask" else None,
                       defer_day_order=engine == "default")
    raw = bool(quarantine_raw)
    if engine == "default":  # read the first chunk while the polygon index is built
        with prefetch(_chunks(units, opts.chunk_rows, raw)) as reader:
            ctx = _Context(
                indexes=_indexes(units, gdf, opts.buffer_m),
                key=key,
                chunk_rows=opts.chunk_rows,
                raw_ids=raw,
            )
            return _reduce(
                list(_run_chunks(units, ctx, reader)),
                units,
                ctx,
                gdf,
                opts,
                scan=lambda d: [scan_unit(u, ctx, d) for u in units],
                engine="default",
            )
    ctx = _Context(
        indexes=_indexes(units, gdf, opts.buffer_m), key=key, chunk_rows=opts.chunk_rows, raw_ids=raw
    )
    if engine == "dask":
        from rct.dosage.airwave_dask import DaskRunner

        with DaskRunner(scheduler=scheduler, n_workers=n_workers) as runner:
            return _reduce(
                runner.map(run_unit, units, ctx),
                units,
                ctx,
                gdf,
                opts,
                scan=lambda d: runner.map(scan_unit, units, ctx, d),
                engine="dask",
            )
    return _reduce(
        list(_run_chunks(units, ctx)),
        units,
        ctx,
        gdf,
        opts,
        scan=lambda d: [scan_unit(u, ctx, d) for u in units],
        engine="default",
    )


def ingest_airwave(
    pings: Any,
    hotspots: Any,
    *,
    out: str | os.PathLike[str],
    force: bool = False,
    max_quarantined: float = 0.5,
    **options: Any,
) -> AirwavePresence:
    """:func:`airwave_presence`, then commit the table (``out``, CSV/Parquet), its quarantine
    (``<stem>.quarantine.csv``, when pings were quarantined; a previous run's is removed
    otherwise) and its manifest ``<out>.manifest.json`` as one unit
    (:class:`rct.io.atomic.OutputUnit`).

    ``force`` replaces an existing output; a run that quarantines more than
    ``max_quarantined`` (0-1, default 0.5) of the pings stops with
    :class:`~rct.errors.QuarantineLimitError` and writes nothing.
    """
    from rct.io.atomic import OutputUnit
    from rct.io.quarantine import check_share, enforce_share, quarantine_path

    check_share(max_quarantined)
    unit = OutputUnit(
        out,
        companions={"quarantine": quarantine_path(out)},
        force=force,
        command="rct ingest airwave",
    )
    unit.check()
    if options.get("key") is None:
        from rct.dosage.pseudonym import load_or_create_key

        key, _ = load_or_create_key(options.pop("key_file", None), outputs=[out])
        options["key"] = key
    result = airwave_presence(pings, hotspots, **options)
    files = [str(p) for p in expand_paths(pings)]
    enforce_share(
        result.n_read,
        result.n_quarantined,
        result.reasons(),
        limit=max_quarantined,
        source=files[0] if len(files) == 1 else f"{len(files)} ping files",
        what="pings",
    )
    unit.add_table("output", result.table)
    if result.n_quarantined:
        unit.add_table("quarantine", result.quarantine)
    inputs = list(files)
    if isinstance(hotspots, str | os.PathLike):
        inputs.append(hotspots)
    unit.commit(
        counts={
            "read": result.n_read,
            "accepted": result.n_accepted,
            "quarantined": result.n_quarantined,
        },
        inputs=inputs,
        parameters={**result.to_dict()["options"], "engine": result.engine,
                    "max_quarantined": max_quarantined},
    )
    return result


# --------------------------------------------------------------------------- reduce
def _hotspots(hotspots: Any) -> Any:
    import geopandas as gpd

    if isinstance(hotspots, gpd.GeoDataFrame):
        if "hotspot_id" not in hotspots.columns:
            raise ValueError("hot spots need a hotspot_id column")
        return hotspots.reset_index(drop=True)
    from rct.io.hotspots import read_hotspots

    return read_hotspots(hotspots)


def _indexes(units: list[Unit], gdf: Any, buffer_m: float) -> dict[str, Any]:
    """Polygon indexes for the coordinate kinds present (lon/lat: polygons reprojected)."""
    import pyarrow.parquet as pq

    from rct.pip import PolygonIndex

    kinds = set()
    for u in {u.path: u for u in units}.values():
        if u.kind == "parquet":
            names = pq.ParquetFile(u.path).schema_arrow.names
        else:
            from rct.io.delimited import sniff_csv

            names = list(sniff_csv(u.path).columns)
        kinds.add(coords_of(resolve_columns(names, file=u.path, mapping=u.mapping)))
    crs = {"bng": "EPSG:27700", "lonlat": "EPSG:4326"}
    return {k: PolygonIndex.build(gdf, buffer_m=buffer_m, crs=crs[k]) for k in sorted(kinds)}


def _classify(found: list[Any], tolerance_m: float) -> Any:
    """Quarantine rows among pings sharing radio and timestamp (see Notes of airwave_presence)."""
    import pandas as pd

    frames = [f for f in found if f is not None and len(f)]
    if not frames:
        return None
    d = pd.concat(frames, ignore_index=True).sort_values(["_radio", "_t", "_row"], kind="stable")
    d = d.reset_index(drop=True)
    grp = d.groupby(["_radio", "_t"], sort=False)
    size = grp["_row"].transform("size").to_numpy()
    x0 = grp["_x"].transform("first").to_numpy()
    y0 = grp["_y"].transform("first").to_numpy()
    far = np.hypot(d["_x"].to_numpy() - x0, d["_y"].to_numpy() - y0) > tolerance_m
    conflict = pd.Series(far).groupby([d["_radio"], d["_t"]]).transform("any").to_numpy()
    first = grp.cumcount().to_numpy() == 0
    multi = size > 1
    d["reason"] = np.where(conflict, "radio in two places at once", "duplicate ping")
    d = d[multi & (conflict | ~first)]
    return d


def _reduce(
    mapped: Any,
    units: list[Unit],
    ctx: _Context,
    gdf: Any,
    opts: AirwaveOptions,
    *,
    scan: Any,
    engine: str,
) -> AirwavePresence:
    import pandas as pd

    if isinstance(mapped, list):
        mapped = _concat(mapped)  # empties the caller's list as it goes

    from rct.io.memory import release

    release()  # reading is over: hand cached chunks back (pyarrow pool, malloc heap)
    n_read = mapped.n_read
    quarantine = [mapped.quarantine] if mapped.quarantine is not None else []
    n_row_bad = 0 if mapped.quarantine is None else len(mapped.quarantine)
    row, radio, t, hot = mapped.row, mapped.radio, mapped.t, mapped.hotspot
    runs = mapped.keys
    del mapped
    from rct.dosage.airwave_sessions import presence_table

    ids = gdf["hotspot_id"].to_numpy()
    dups = _duplicate_candidates(runs)
    runs.clear()  # the largest arrays: freed before sessionising (memory bound)
    if len(dups):
        bad = _classify(scan(dups), opts.tolerance_m)
        if bad is not None and len(bad):
            drop = np.isin(row, bad["_row"].to_numpy())
            if drop.any():
                row, radio, t, hot = row[~drop], radio[~drop], t[~drop], hot[~drop]
            bad = bad.drop(columns=["_row", "_radio", "_t", "_x", "_y"])
            quarantine.append(
                bad[
                    [
                        "source_file",
                        "source_row",
                        "reason",
                        *[
                            c
                            for c in bad.columns
                            if c not in ("source_file", "source_row", "reason")
                        ],
                    ]
                ]
            )
    q = (
        pd.concat(quarantine, ignore_index=True)
        if quarantine
        else pd.DataFrame(columns=["source_file", "source_row", "reason"])
    )
    if len(q):
        q = q.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)
        text = [c for c in q.columns if pd.api.types.is_string_dtype(q[c].dtype)]
        for c in text:
            q[c] = q[c].astype(object).where(q[c].notna(), None)
    from rct.io.windows import hotspot_windows

    # a per-window hot-spot file: presence per unit (place x window), split at the windows
    table = presence_table(hot, radio, t, ids, opts, windows=hotspot_windows(gdf))
    # pairs are grouped by ping (sorted by row within each chunk; rows differ across chunks)
    n_in = int(len(row) and 1 + np.count_nonzero(row[1:] != row[:-1]))
    return AirwavePresence(
        table=table,
        quarantine=q,
        n_read=n_read,
        n_accepted=n_read - len(q),
        n_quarantined=len(q),
        n_in_hotspots=n_in,
        options=opts,
        engine=engine,
        notes=(f"{n_row_bad:,} pings failed row-level checks",),
    )
