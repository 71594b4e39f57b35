"""Crime records: police.uk street CSVs as published, and force extracts (CSV/Parquet).

:func:`read_crimes` reads one or more files into the canonical crime table
(see ``notes/contracts.md``): ``crime_id``, ``month``, ``occurred_at``
(UTC; NaT when only the month is known), ``x``, ``y`` (EPSG:27700),
``category``, ``offence_code``, ``source_file`` and every other column of
the file (snake_case names).  Rows that cannot be used go to the
quarantine with a ``reason``; ``n_read == accepted + quarantined``.

Force extracts are matched by column aliases (``Crime ID``/``crime_ref``/
``id``, ``date``/``datetime``/``occurred``/``committed_at``, ``ho_code``,
``easting``/``northing``, ``lat``/``lon``, ``Crime type``/``category``,
...) and the force's own mapping (``columns=``, ``--columns``; see
:mod:`rct.io.columns`).  Naive times are Europe/London
(:func:`rct.io.times.parse_times`); slash dates (``25/10/2024 01:30``) are
read day-first when the column shows it (a day above 12) or ``dayfirst``
says so, and refused as ambiguous otherwise.  Excel workbooks and database
queries (:class:`rct.io.sources.Input`) are read like CSV files.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.io.quarantine import Quarantiner, ReadResult

__all__ = ["read_crimes", "read_raw_table", "CANONICAL_COLUMNS", "ALIASES"]

Kind = Literal["auto", "police_uk", "extract"]
KINDS = ("auto", "police_uk", "extract")

CANONICAL_COLUMNS = (
    "crime_id",
    "month",
    "occurred_at",
    "x",
    "y",
    "category",
    "offence_code",
    "source_file",
)

#: canonical name -> accepted column names (after snake-casing), in priority order
ALIASES: dict[str, tuple[str, ...]] = {
    "crime_id": (
        "crime_id",
        "crime_ref",
        "crime_reference",
        "crime_number",
        "crime_no",
        "crimeid",
        "crime_reference_number",
        "incident_id",
        "id",
    ),
    "occurred_at": (
        "occurred_at",
        "occurred",
        "committed_at",
        "datetime",
        "date_time",
        "occurred_datetime",
        "offence_datetime",
        "occurrence_datetime",
        "timestamp",
        "occurred_date",
        "committed_date",
        "offence_date",
        "occurrence_date",
        "date",
    ),
    "time": ("time", "occurred_time", "committed_time", "offence_time", "occurrence_time"),
    "offence_code": (
        "offence_code",
        "ho_code",
        "home_office_code",
        "hocode",
        "ho_offence_code",
        "home_office_offence_code",
    ),
    "category": ("category", "crime_type", "crime_category", "offence_category", "type"),
    "month": ("month",),
    "easting": ("easting", "eastings", "bng_x", "bng_easting", "grid_x", "os_x"),
    "northing": ("northing", "northings", "bng_y", "bng_northing", "grid_y", "os_y"),
    "lon": ("lon", "lng", "long", "longitude", "wgs84_lon"),
    "lat": ("lat", "latitude", "wgs84_lat"),
    "x": ("x", "x_coord", "x_coordinate", "location_x"),
    "y": ("y", "y_coord", "y_coordinate", "location_y"),
}

#: column of read_raw_table's frame holding the reason of a malformed line ("" otherwise)
MALFORMED = "_malformed"
#: columns a crime quarantine keeps (snake_case names); others only with quarantine_raw
_SHOWN = {a for names in ALIASES.values() for a in names} | {
    "crime_type", "reported_by", "falls_within", "longitude", "latitude", "lsoa_code",
    "lsoa_name", "last_outcome_category", "month",
}
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def read_crimes(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    kind: Kind = "auto",
    crs: Any | None = None,
    ambiguous: Literal["earliest", "latest", "quarantine"] = "earliest",
    nonexistent: Literal["shift_forward", "quarantine"] = "shift_forward",
    quarantine_raw: bool = False,
    columns: Any = None,
    dayfirst: bool | None = None,
    sheet: str | None = None,
) -> ReadResult:
    """Read crime files into the canonical crime table, quarantining unusable rows.

    Parameters
    ----------
    paths
        A file, a directory (its ``*.csv``, ``*.csv.gz``, ``*.parquet`` and
        ``*.xlsx`` files), a glob pattern, an :class:`rct.io.sources.Input`
        (a file or a database query with its own settings), or a list of
        these.  CSVs may be gzipped; Parquet and Excel files are read by
        suffix.
    kind
        ``"police_uk"`` (street CSVs exactly as published), ``"extract"``
        (a force extract) or ``"auto"`` (told per file from its columns).
    crs
        CRS of columns named plain ``x``/``y`` in an extract; without it,
        told from the values (lon/lat or British National Grid).  Columns
        named ``easting``/``northing`` or ``lat``/``lon`` say their CRS.
    ambiguous, nonexistent
        Handling of naive times in the repeated October hour and the
        skipped March hour; see :func:`rct.io.times.parse_times`.
    quarantine_raw
        Keep every column of a quarantined row (free text such as a
        police.uk ``Context`` or an extract's description, and the text of
        a malformed line).  Off: the quarantine keeps the columns the reader
        interprets (id, dates, location, type, offence code, force, LSOA).
    columns
        The force's headers mapped to canonical names (``{"Crime Ref":
        "crime_id"}`` or a :class:`rct.io.columns.ColumnMap`), for inputs
        that set none themselves.
    dayfirst
        Order of slash dates: ``True`` day first, ``False`` month first,
        ``None`` told from each file's values (refused when it cannot be).
    sheet
        Excel sheet for workbooks given as plain paths.

    Returns
    -------
    ReadResult
        ``.data``: the canonical columns then the file's other columns;
        ``.quarantine``: the raw values of unusable rows with
        ``source_file``, ``source_row`` (1-based data row) and ``reason``;
        ``.n_read`` (= accepted + quarantined); ``.notes``.

    Raises
    ------
    DataError
        A file that is missing, unreadable, empty, or not a crime file
        (no location or time columns); the message names the file and what
        is missing.

    Notes
    -----
    Reasons for quarantine, first found wins: ``wrong number of fields
    (expected E, saw S)``, ``crime_id holds an invisible or control character``,
    ``missing crime_id``, ``missing coordinates``, ``unparseable
    coordinates``, ``placeholder coordinates (0, 0)``, ``outside Great
    Britain``, ``missing month``/``unparseable month``, ``missing
    timestamp``/``unparseable timestamp``/clock-change reasons, and
    ``duplicate crime_id`` (the first usable occurrence across all files
    is kept).  police.uk rows with a blank ``Crime ID`` (anti-social
    behaviour) get a stable synthetic ID ``synthetic:<16 hex>`` from their
    content, so re-reading the same file gives the same IDs.
    """
    import pandas as pd

    from rct.io import extracts, police_uk
    from rct.io.columns import ColumnMap, rename_columns
    from rct.io.quarantine import ReadResult
    from rct.io.sources import as_input

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if isinstance(columns, ColumnMap):
        dayfirst = columns.dayfirst if dayfirst is None else dayfirst
        columns = columns.for_kind("crimes")
    files = [as_input(f, columns=columns or (), dayfirst=dayfirst, sheet=sheet)
             for f in _expand_paths(paths)]
    parsed = []
    for f in files:
        raw, notes = read_raw_table(f, keep_text=quarantine_raw)
        if f.columns:
            raw.columns = rename_columns(raw.columns, f.mapping)
            check_unique_columns_after_mapping(raw.columns, f)
        q = _new_quarantiner(raw, f)
        other = police_uk.other_police_uk_file(raw.columns)
        if other is not None:
            raise DataError(f"not a crime file: this is {other}", file=f)
        file_kind = kind
        if kind == "auto":
            file_kind = "police_uk" if police_uk.looks_like_police_uk(raw.columns) else "extract"
        if file_kind == "police_uk":
            canon = police_uk.parse_police_uk(raw, q, file=f)
        else:
            canon, extract_notes = extracts.parse_extract(
                raw, q, file=f, crs=crs, ambiguous=ambiguous, nonexistent=nonexistent,
                dayfirst=f.dayfirst,
            )
            notes = notes + extract_notes
        from rct.io.safety import invisible_mask, invisible_reason

        q.flag(pd.Series(invisible_mask(canon["crime_id"]), index=raw.index),
               invisible_reason("crime_id"))
        canon["source_file"] = pd.Series(f.name, index=canon.index, dtype="string")
        parsed.append((f, raw, q, canon, tuple(notes)))

    _flag_duplicates(parsed)
    data_parts: list[pd.DataFrame] = []
    quarantine_parts: list[pd.DataFrame] = []
    notes_all: list[str] = []
    n_read = 0
    for f, raw, q, canon, notes in parsed:
        good = q.good.to_numpy()
        # every row kept (the usual case): the frame as it is, not a copy of each column
        res = q.result(canon if good.all() else canon.loc[good], n_read=len(raw))
        data_parts.append(res.data)
        quarantine_parts.append(
            res.quarantine if quarantine_raw else _shown_columns(res.quarantine)
        )
        notes_all.extend(f"{f}: {n}" for n in notes)
        n_read += res.n_read
    data = _concat(data_parts).reset_index(drop=True)
    quarantine = _concat(quarantine_parts).reset_index(drop=True)
    source = str(files[0]) if len(files) == 1 else f"{len(files)} crime files"
    result = ReadResult(data=data, quarantine=quarantine, n_read=n_read, source=source)
    return replace(result, notes=tuple(notes_all))


# ------------------------------------------------------------------ raw tables


def _shown_columns(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine without free text: the columns the reader interprets."""
    keep = [
        c
        for c in quarantine.columns
        if c in ("source_file", "source_row", "reason") or snake(c) in _SHOWN
    ]
    return quarantine[keep]



def check_unique_columns_after_mapping(columns: Iterable[object], source: object) -> None:
    """Refuse a mapping that gives two columns one name."""
    from rct.io.delimited import check_unique_columns

    try:
        check_unique_columns(list(columns), file=source)
    except DataError as exc:
        raise DataError(f"{exc} (after the column mapping)") from None


def _expand_paths(paths: Any) -> list[Any]:
    """Files (Paths; Inputs keep their settings) from paths, directories and globs."""
    from rct.io.sources import Input

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Any] = []
    for p in paths:
        if isinstance(p, Input):
            if p.query is not None:
                out.append(p)
                continue
            out.extend(p.with_path(m) if m != p.path else p for m in _expand_paths([p.path]))
            continue
        s = os.fspath(p)
        if any(ch in s for ch in "*?[") and not Path(s).exists():
            matched = sorted(glob.glob(s))
            if not matched:
                raise DataError("no files match the pattern", file=s)
            out.extend(Path(m) for m in matched)
            continue
        path = Path(s)
        if path.is_dir():
            found = sorted(
                q
                for q in path.iterdir()
                if q.is_file() and re.search(r"\.(csv|csv\.gz|parquet|pq|xlsx)$", q.name, re.I)
                and not q.name.startswith("~$")  # Excel's lock file
            )
            if not found:
                raise DataError("directory holds no .csv, .csv.gz, .parquet or .xlsx files",
                                file=path)
            out.extend(found)
        elif not path.exists():
            raise DataError("crime file not found", file=path)
        else:
            out.append(path)
    if not out:
        raise DataError("no crime files given")
    return out


def read_raw_table(
    path: str | os.PathLike[str], *, keep_text: bool = False
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Read a CSV (plain or compressed), Parquet or Excel file, or a query, uninterpreted.

    CSV cells are kept as strings (blank = ``""``), read through
    :mod:`rct.io.delimited`: one encoding detection (UTF-8 with or without
    a BOM, UTF-16, cp1252 -- with a note), the delimiter told from the
    header, a header naming a column twice refused.  A row with the wrong
    number of fields is never re-aligned: it is kept, blank, at its place,
    with the reason in a ``_malformed`` column (and, with ``keep_text``, the
    line in ``raw_line``), so the caller quarantines that row alone.

    Returns
    -------
    frame, notes

    Raises
    ------
    DataError
        The file cannot be read as a table at all (naming the file).
    """
    import pandas as pd

    from rct.io.delimited import check_unique_columns, read_csv_table
    from rct.io.sources import Input, source_kind

    if isinstance(path, Input) and (path.query is not None or source_kind(path) == "excel"):
        return _read_source_table(path)
    path = Path(path)
    if re.search(r"\.(parquet|pq)$", path.name, re.I):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(
                f"cannot read as Parquet ({type(exc).__name__}: {exc})", file=path
            ) from None
        frame.columns = [str(c) for c in frame.columns]
        check_unique_columns(list(frame.columns), file=path)
        return frame.reset_index(drop=True), ()

    table = read_csv_table(path, keep_text=keep_text, blank_is_null=False)
    names = [str(c) for c in table.table.column_names]
    if not names:
        raise DataError("no columns: not a CSV table", file=path)
    good = table.table.to_pandas()
    n = len(good) + len(table.bad)
    if not table.bad:
        frame = good
    else:  # malformed lines keep their place (blank cells), so rows stay numbered
        frame = pd.DataFrame({c: np.full(n, "", dtype=object) for c in names})
        pos = table.rows.astype(np.int64)
        for c in names:
            frame[c] = frame[c].astype(object)
            frame.iloc[pos, frame.columns.get_loc(c)] = good[c].to_numpy(dtype=object)
        bad_pos = np.array([b.row - 1 for b in table.bad], dtype=np.int64)
        marker = np.full(n, "", dtype=object)
        marker[bad_pos] = [b.reason for b in table.bad]
        frame[MALFORMED] = marker
        if keep_text:
            raw = np.full(n, "", dtype=object)
            raw[bad_pos] = [b.text or "" for b in table.bad]
            frame["raw_line"] = raw
    for c in names:  # text, blanks as "" (the contract of this reader)
        col = frame[c]
        if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            # pandas 3 reads Arrow text as its string dtype: kept (no Python object per
            # cell); blanks are "" already (read with blank_is_null=False)
            if col.hasnans:
                frame[c] = col.fillna("")
            continue
        if col.dtype != object:
            col = col.astype(object)
        frame[c] = col.where(col.notna(), "")
    notes = tuple(f"{n}" for n in table.notes)
    return frame, notes


def _read_source_table(item: Any) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """An Excel sheet or a query as text (blank = ``""``), malformed rows kept blank at
    their place (a value right of the header), like :func:`read_raw_table`'s CSVs."""
    import pandas as pd
    import pyarrow as pa

    from rct.io.sources import open_source

    src = open_source(item, what="crime")
    parts = list(src.chunks(chunk_rows=1 << 30))
    table = pa.concat_tables([c.table for c in parts]) if len(parts) > 1 else parts[0].table
    rows = np.concatenate([c.rows for c in parts]) if len(parts) > 1 else parts[0].rows
    bad = [b for c in parts for b in c.bad]
    frame = table.to_pandas()
    for c in frame.columns:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), "")
    if bad:  # keep sheet order: good and malformed rows by their row number
        blank = pd.DataFrame({c: [""] * len(bad) for c in frame.columns})
        frame = pd.concat([frame, blank], ignore_index=True)
        order = np.argsort(np.concatenate([rows, [b.row - 1 for b in bad]]), kind="stable")
        marker = np.array([""] * len(rows) + [b.reason for b in bad], dtype=object)
        frame = frame.iloc[order].reset_index(drop=True)
        frame[MALFORMED] = marker[order]
        rows = np.concatenate([rows, [b.row - 1 for b in bad]])[order]
    # the index is the 0-based row, so a quarantined row's source_row (index + 1) is the
    # sheet's row number (Excel) or the row's place in the query result
    frame.index = pd.Index(rows.astype(np.int64))
    return frame, tuple(src.notes)


def _new_quarantiner(raw: pd.DataFrame, file: Path) -> Quarantiner:
    from rct.io.quarantine import Quarantiner

    q = Quarantiner(raw, source=file)
    if MALFORMED in raw.columns:
        marks = raw[MALFORMED]
        for reason in sorted(set(marks[marks != ""])):
            q.flag(marks == reason, reason)
    return q


# ------------------------------------------------------------- column helpers


def snake(name: object) -> str:
    """Column name -> snake_case key used for alias matching (``"Crime ID"`` -> ``crime_id``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def find_column(lookup: dict[str, str], canonical: str) -> str | None:
    """The file's column for ``canonical`` (first alias present), or None."""
    return next((lookup[a] for a in ALIASES[canonical] if a in lookup), None)


def column_lookup(columns: Iterable[object]) -> dict[str, str]:
    """snake_case key -> original column name (first column wins on a clash)."""
    out: dict[str, str] = {}
    for c in columns:
        out.setdefault(snake(c), str(c))
    return out


def text(values: pd.Series) -> pd.Series:
    """Stripped strings (``string`` dtype) with blanks as <NA>."""
    import pandas as pd

    if (isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype)
            and values.dtype.storage == "pyarrow" and pd.StringDtype().storage == "pyarrow"):
        import pyarrow as pa
        import pyarrow.compute as pc

        # Arrow text: pandas' own kernel for .str.strip(), blanks to null, in one pass
        t = pc.utf8_trim_whitespace(pa.array(values.array))
        t = pc.if_else(pc.equal(t, ""), pa.scalar(None, t.type), t)
        return pd.Series(pd.array(t, dtype=pd.StringDtype()), index=values.index,
                         name=values.name)
    s = values.astype("string").str.strip()
    return s.mask(s == "")


def filled(values: pd.Series, where: pd.Series, new: pd.Series) -> pd.Series:
    """``values`` (text) with the rows ``where`` marks replaced by ``new`` (one value per
    marked row, in order): ``values.copy(); values[where] = new``, by Arrow's
    ``replace_with_mask`` for Arrow-backed text (no pandas indexing per row)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = np.asarray(where, dtype=bool)
    if (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
            and isinstance(new.dtype, pd.StringDtype) and new.dtype.storage == "pyarrow"):
        base, repl = pa.array(values.array), pa.array(new.array)
        chunks = base.chunks if isinstance(base, pa.ChunkedArray) else [base]
        if isinstance(repl, pa.ChunkedArray):
            repl = repl.combine_chunks() if repl.num_chunks else pa.array([], base.type)
        if len(repl) == int(mask.sum()):
            repl = repl.cast(base.type)
            parts, at, used = [], 0, 0
            for ch in chunks:  # chunk by chunk: no copy of the whole column at once
                m = mask[at: at + len(ch)]
                k = int(m.sum())
                parts.append(pc.replace_with_mask(ch, pa.array(m), repl.slice(used, k))
                             if k else ch)
                at, used = at + len(ch), used + k
            out = pa.chunked_array(parts, type=base.type)
            return pd.Series(pd.array(out, dtype=values.dtype), index=values.index,
                             name=values.name)
    out_s = values.copy()
    out_s[where] = new
    return out_s


def blank(values: pd.Series) -> pd.Series:
    """True where a value is missing or only whitespace."""
    if _is_numeric(values):
        return values.isna()
    return text(values).isna()


def numbers(values: pd.Series) -> np.ndarray:
    """Floats, NaN where the value is not a number (surrounding whitespace allowed)."""
    import pandas as pd

    if _is_numeric(values):
        return pd.Series(values).to_numpy(dtype="float64", na_value=np.nan)
    fast = _arrow_numbers(values)
    if fast is not None:
        return fast
    try:
        num = pd.to_numeric(values, errors="coerce")
    except (TypeError, ValueError):  # e.g. lists or bytes in a Parquet object column
        num = pd.to_numeric(text(values), errors="coerce")
    out = pd.Series(num).to_numpy(dtype="float64", na_value=np.nan)
    return out


def _arrow_numbers(values: pd.Series) -> np.ndarray | None:
    """:func:`numbers` of a text column by pyarrow's cast (``to_float64``), the values it
    leaves NaN given to :func:`pandas.to_numeric` again; None for a column that is not text.

    pyarrow and pandas read every decimal the same (correctly rounded; tested on 1.75 M
    random values and the odd spellings: blanks, inf, nan, exponents, signs); pandas
    gets the last word on what pyarrow does not read.
    """
    import pandas as pd
    import pyarrow as pa

    from rct.io.convert import to_float64

    values = pd.Series(values)
    arr = None
    if isinstance(values.dtype, pd.StringDtype):  # Arrow-backed text: its array, no copy
        try:
            arr = pa.array(values.array, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
    if arr is None:
        try:
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    out = to_float64(arr)
    again = np.flatnonzero(np.isnan(out))
    if len(again):
        if not out.flags.writeable:  # a zero-copy view of pyarrow's result
            out = out.copy()
        sub = pd.Series(np.asarray(values.to_numpy(dtype=object))[again], dtype=object)
        try:
            num = pd.to_numeric(sub, errors="coerce")
        except (TypeError, ValueError):
            num = pd.to_numeric(text(sub), errors="coerce")
        out[again] = pd.Series(num).to_numpy(dtype="float64", na_value=np.nan)
    return out


def locate(
    q: Quarantiner, xs: pd.Series, ys: pd.Series, crs: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates -> EPSG:27700, flagging missing, unparseable, (0, 0) and non-GB rows.

    Returns easting, northing and the parsed input values (NaN where unusable).
    """
    from rct.geo import fits_bng, fits_lonlat, is_bng, normalise_crs, to_bng

    xv, yv = numbers(xs), numbers(ys)
    unparsed = ~(np.isfinite(xv) & np.isfinite(yv))
    if unparsed.any():  # tell missing from unparseable only where needed
        idx = xs.index[unparsed]
        q.flag(blank(xs.loc[idx]) | blank(ys.loc[idx]), "missing coordinates")
    q.flag(_series(~(np.isfinite(xv) & np.isfinite(yv)), xs), "unparseable coordinates")
    q.flag(_series((xv == 0) & (yv == 0), xs), "placeholder coordinates (0, 0)")
    if is_bng(crs):
        ex, ny = xv, yv
        inside = fits_bng(ex, ny)
    else:
        ex, ny = to_bng(xv, yv, crs)
        inside = fits_bng(ex, ny)
        if normalise_crs(crs).is_geographic:
            inside &= fits_lonlat(xv, yv)
    q.flag(_series(~inside, xs), "outside Great Britain")
    return ex, ny, xv, yv


def _is_numeric(values: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )


def _series(mask: np.ndarray, like: pd.Series) -> pd.Series:
    import pandas as pd

    return pd.Series(mask, index=like.index)


def month_strings(q: Quarantiner, values: pd.Series) -> pd.Series:
    """Validated ``YYYY-MM`` strings; flags missing and unparseable months.

    Works on the distinct values (a month file has one or two), then maps back.
    """
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    u = text(pd.Series(uniques, dtype=object))
    good_u = u.str.fullmatch(_MONTH).fillna(False).astype(bool).to_numpy()
    blank_u = u.isna().to_numpy()
    clean = u.where(good_u).to_numpy(dtype=object, na_value=None)
    codes = np.asarray(codes, dtype=np.int64)
    has = codes >= 0
    blank = np.ones(len(codes), dtype=bool)
    blank[has] = blank_u[codes[has]]
    good = np.zeros(len(codes), dtype=bool)
    good[has] = good_u[codes[has]]
    q.flag(pd.Series(blank, index=values.index), "missing month")
    q.flag(pd.Series(~good, index=values.index), "unparseable month")
    return _gathered_text(list(clean), codes, values.index)


def _gathered_text(uniques: list, codes: np.ndarray, index: Any) -> pd.Series:
    """A ``string`` Series: ``uniques[code]`` per row, <NA> where the code is -1 or the
    value None (gathered by Arrow: no Python string per row)."""
    import pandas as pd
    import pyarrow as pa

    dtype = pd.StringDtype()
    if dtype.storage != "pyarrow":  # pandas 2: Python storage
        table = np.array(list(uniques) + [None], dtype=object)
        return pd.Series(table[np.where(codes < 0, len(uniques), codes)], index=index,
                         dtype=dtype)
    codes = np.asarray(codes, dtype=np.int64)
    taken = pa.array(list(uniques), type=pa.large_string()).take(
        pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype=dtype), index=index)


def synthetic_ids(frame: pd.DataFrame) -> pd.Series:
    """Stable IDs ``synthetic:<16 hex>`` from each row's content (+ its repeat number)."""
    import pandas as pd

    h = pd.util.hash_pandas_object(frame.astype("string").fillna(""), index=False)
    rep = h.groupby(h.to_numpy()).cumcount()
    h2 = pd.util.hash_pandas_object(
        pd.DataFrame({"h": h.to_numpy(), "r": rep.to_numpy()}), index=False
    )
    return pd.Series(_prefixed_hex("synthetic:", h2.to_numpy()), index=frame.index)


def _prefixed_hex(prefix: str, h: np.ndarray) -> Any:
    """``prefix + "%016x" % v`` for each uint64 ``v``, as a ``string`` array.

    The digits are looked up per nibble and laid out as one Arrow buffer of
    fixed-width values (``np.char.mod`` formats one Python string per value).
    """
    import pandas as pd
    import pyarrow as pa

    h = np.ascontiguousarray(h, dtype=np.uint64)
    n, head = len(h), np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    width = len(head) + 16
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = head
    buf[:, len(head):] = digits[((h[:, None] >> shifts) & np.uint64(0xF)).astype(np.intp)]
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int64)
    arr = pa.Array.from_buffers(pa.large_string(), n,
                                [None, pa.py_buffer(offsets), pa.py_buffer(buf)])
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow":
        return pd.array(arr, dtype=dtype)
    return pd.array(arr.to_numpy(zero_copy_only=False), dtype=dtype)  # pandas 2: Python storage


def extras(raw: pd.DataFrame, used: Iterable[str]) -> dict[str, pd.Series]:
    """The file's other columns under snake_case names.

    A name that clashes with a canonical column or an earlier one keeps its
    original spelling, or gets ``_in_file`` (``_in_file_2``, ...) appended:
    no column is dropped.
    """
    used = set(used) | {"raw_fields", MALFORMED, "raw_line"}
    taken = set(CANONICAL_COLUMNS) | {"lon", "lat"}
    out: dict[str, pd.Series] = {}
    for c in raw.columns:
        if c in used:
            continue
        name = snake(c) or str(c)
        if name in taken or name in out:
            name = str(c)
        k = 1
        base = name
        while name in taken or name in out:
            name = f"{base}_in_file" + (f"_{k}" if k > 1 else "")
            k += 1
        out[name] = raw[c]
    return out


# ------------------------------------------------------------------ assembly


def _flag_duplicates(parsed: list) -> None:
    """Quarantine later usable rows whose crime_id was already seen (across all files)."""
    import pandas as pd

    wheres = [np.flatnonzero(q.good.to_numpy()) for _, _, q, _, _ in parsed]
    dup = _duplicated_rows([canon["crime_id"] for _, _, _, canon, _ in parsed], wheres)
    if not dup.any():
        return
    at = 0
    for (_, raw, q, _, _), where in zip(parsed, wheres, strict=True):
        rows = where[dup[at: at + len(where)]]
        at += len(where)
        if len(rows):
            mask = np.zeros(len(raw), dtype=bool)
            mask[rows] = True
            q.flag(pd.Series(mask, index=raw.index), "duplicate crime_id")


def _duplicated_rows(ids: list, wheres: list[np.ndarray]) -> np.ndarray:
    """:func:`_duplicated` of ``ids[i]`` at positions ``wheres[i]``, in file order.

    Text ids are hashed whole (:func:`_hash64`, no copy of the strings); only the
    rows whose hash repeats have their text taken, and those are settled exactly.
    """
    import pandas as pd
    import pyarrow as pa

    def by_text() -> np.ndarray:  # the usable ids taken out, then _duplicated
        return _duplicated([_id_text(v, w) for v, w in zip(ids, wheres, strict=True)])

    arrays = [_text_array(v) for v in ids]
    total = sum(len(w) for w in wheres)
    if total < 4096 or any(a is None for a in arrays):
        return by_text()
    longest = max([0] + [_longest(a) for a in arrays])
    if longest > 256:
        return by_text()
    hashes = [_hash_chunks(a, longest) for a in arrays]
    if any(h is None for h in hashes):
        return by_text()
    valid = [_valid(a)[w] for a, w in zip(arrays, wheres, strict=True)]
    h = np.concatenate([hh[w] for hh, w in zip(hashes, wheres, strict=True)])
    ok = np.concatenate(valid) if valid else np.zeros(0, dtype=bool)
    # equal ids have equal hashes: only ids whose hash repeats can be duplicates
    vpos = np.flatnonzero(ok)
    cand = vpos[pd.Series(h[vpos]).duplicated(keep=False).to_numpy()]
    out = np.zeros(total, dtype=bool)
    if not len(cand):
        return out
    bounds = np.cumsum([0] + [len(w) for w in wheres])
    texts = []
    for i, (a, w) in enumerate(zip(arrays, wheres, strict=True)):
        mine = cand[(cand >= bounds[i]) & (cand < bounds[i + 1])] - bounds[i]
        if len(mine):
            t = a.take(pa.array(w[mine])).cast(pa.large_string())
            texts.extend(t.chunks if isinstance(t, pa.ChunkedArray) else [t])
    out[cand] = _first_seen(pa.concat_arrays(texts))
    return out


def _text_array(ids: Any) -> Any:
    """The ids as one Arrow (large) string array, or None when they are not all text."""
    import pyarrow as pa

    try:
        arr = pa.array(ids, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr  # chunks kept: hashed one at a time, never copied whole


def _valid(arr: Any) -> np.ndarray:
    import pyarrow as pa

    from rct.io.convert import bool_array

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return np.concatenate([np.zeros(0, dtype=bool)] + [bool_array(c.is_valid()) for c in chunks])


def _hash_chunks(arr: Any, longest: int) -> np.ndarray | None:
    """:func:`_hash64` of an array or of each chunk of a chunked array, in order, every
    value hashed in the rounds of ``longest`` bytes (so equal texts hash alike)."""
    import pyarrow as pa

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    parts = [_hash64(c, longest) for c in chunks]
    if any(p is None for p in parts):
        return None
    return np.concatenate([np.zeros(0, dtype=np.uint64)] + parts)


def _longest(arr: Any) -> int:
    """Bytes in the longest value of an Arrow string array (chunked or not)."""
    import pyarrow as pa

    from rct.io.convert import string_buffers

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return max([0] + [int(np.diff(string_buffers(c)[0].astype(np.int64)).max())
                      for c in chunks if len(c)])


def _first_seen(a: Any) -> np.ndarray:
    """True at the first occurrence of each (non-null) text: Arrow's exact hash table."""
    import pyarrow.compute as pc

    codes = pc.dictionary_encode(a).indices
    c = np.asarray(codes.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    # a code's first row: codes are numbered in order of first appearance
    running = np.maximum.accumulate(np.concatenate([[-1], c]))[:-1]
    return (c >= 0) & (c <= running)


def _id_text(ids: pd.Series, where: np.ndarray) -> Any:
    """The ids at positions ``where`` as an Arrow string array (None: not all text)."""
    import pyarrow as pa

    try:
        arr = pa.array(ids, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return ids.to_numpy(dtype=object)[where]
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], arr.type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return ids.to_numpy(dtype=object)[where]
    return arr.take(pa.array(where))


def _duplicated(parts: list) -> np.ndarray:
    """``ids.duplicated(keep="first") & ids.notna()`` over the files' ids in order, by
    pyarrow's dictionary encoding (hashing the text in C, not a Python object per id)."""
    import pandas as pd
    import pyarrow as pa

    if any(isinstance(p, np.ndarray) for p in parts):  # ids that are not all text
        ids = pd.Series(np.concatenate([np.asarray(p.to_pylist() if not isinstance(
            p, np.ndarray) else p, dtype=object) for p in parts]), dtype=object)
        return ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    arr = pa.concat_arrays([p.cast(pa.string()) for p in parts]) if parts else pa.array(
        [], pa.string())

    h = _hash64(arr) if len(arr) >= 4096 else None
    if h is None:
        return _first_seen(arr)
    # equal ids have equal hashes: only ids whose hash repeats can be duplicates, and
    # those (in file order) are settled exactly on their text
    valid = np.flatnonzero(np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    cand = valid[pd.Series(h[valid]).duplicated(keep=False).to_numpy()]
    out = np.zeros(len(arr), dtype=bool)
    if len(cand):
        out[cand] = _first_seen(arr.take(pa.array(cand)))
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _hash64(arr: Any, longest: int | None = None) -> np.ndarray | None:
    """A 64-bit hash of each value of an Arrow string array, eight bytes at a time in
    numpy (the length mixed in; None for values longer than 256 bytes).

    The hash depends on the number of eight-byte rounds, set by the longest value;
    arrays hashed to be compared pass the same ``longest`` (at least their own)."""

    from rct.io.convert import string_buffers

    n = len(arr)
    off, data = string_buffers(arr)
    off = off.astype(np.int64)
    start, lens = off[:-1], np.diff(off)
    own = int(lens.max()) if n else 0
    if longest is None:
        longest = own
    if own > longest:
        raise ValueError(f"longest={longest} is shorter than a value ({own} bytes)")
    if longest > 256:
        return None
    if data is None:
        data = np.zeros(0, np.uint8)
    d = np.zeros(len(data) + 8, dtype=np.uint8)
    d[: len(data)] = data
    # every 8-byte window of the text, as little-endian uint64 (unaligned reads)
    words = np.ndarray(shape=(len(d) - 7,), dtype=np.uint64, buffer=d, strides=(1,))
    h = lens.astype(np.uint64) * _MIX
    last = len(words) - 1
    for k in range(0, longest, 8):
        w = words[np.minimum(start + k, last)]
        rem = lens - k
        short = rem < 8
        if short.any():  # keep only the value's own bytes (none once it has ended)
            nbytes = np.clip(rem, 0, 7).astype(np.uint64) * np.uint64(8)
            mask = np.where(short, (np.uint64(1) << nbytes) - np.uint64(1),
                            np.uint64(0xFFFFFFFFFFFFFFFF))
            w = w & mask
        h ^= w
        h *= _MIX
        h ^= h >> np.uint64(29)
    return h


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    parts = [p for p in parts if len(p.columns)]
    if len(parts) == 1:
        return parts[0]
    nonempty = [p for p in parts if len(p)]
    if not nonempty:
        return parts[0].iloc[0:0] if parts else pd.DataFrame()
    return pd.concat(nonempty, ignore_index=True, sort=False)
