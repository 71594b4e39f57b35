"""Where rows come from: one interface over CSV files, Parquet files and DataFrames.

The reading layer has two halves:

* **sources** (this module): a file or a frame becomes a :class:`Source`
  with its column names (checked: none named twice) and an iterator of
  :class:`Chunk` s -- at most ``chunk_rows`` rows each, as an Arrow table
  (CSV: every column as text, see :mod:`rct.io.delimited`; Parquet: the
  file's types) or a DataFrame slice, with each row's number in its file
  and the malformed lines met on the way;
* **validators**, one per kind of input, that take a chunk from any source
  and check and convert it: patrol logs (:func:`rct.dosage.patrol_logs.read_patrol_logs`),
  radio pings (:func:`rct.dosage.airwave_read.map_chunk`), crime records
  (:func:`rct.io.extracts.parse_extract`, :func:`rct.io.police_uk.parse_police_uk`)
  and hot spots (:func:`rct.io.hotspots.read_hotspots`).

A new kind of source only has to yield chunks; every validator then works
on it unchanged.  Two do: an Excel sheet (:mod:`rct.io.excel`, ``.xlsx``
wherever a CSV is read) and a database query (:mod:`rct.io.sql`, spooled
once to a temporary Parquet file).

An :class:`Input` names a source together with how to read it -- the sheet,
the force's column mapping (:mod:`rct.io.columns`), the order of slash dates,
the buffer for line hot spots.  It passes for a path (``os.fspath`` gives
the file), so it travels through every function that takes a path, and the
readers apply its settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import DataError
from rct.io.delimited import BadLine, check_unique_columns, iter_csv, sniff_csv
from rct.io.encoding import COMPRESSED_SUFFIXES

__all__ = ["Chunk", "Source", "Input", "open_source", "source_kind", "as_input",
           "PARQUET_SUFFIXES", "CSV_SUFFIXES", "EXCEL_SUFFIXES"]

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class Input(os.PathLike):
    """A file or a database query, and how to read it.

    Parameters
    ----------
    path
        The file (CSV, Parquet, Excel, or a hot-spot file).
    query
        Instead of a file: a :class:`rct.io.sql.Query` (URL and SQL).
    sheet
        Excel: the sheet's name or 1-based number (needed when the workbook
        has more than one).
    columns
        The force's headers mapped to canonical names for this input, as
        ``(header, canonical)`` pairs or a dict.
    dayfirst
        Order of slash dates: ``True`` dd/mm/yyyy, ``False`` mm/dd/yyyy,
        ``None`` detected per column (refused when it cannot be told).
    line_buffer_m
        Hot spots: metres each side of a line (street segment); ``None``:
        the reader's default.

    Notes
    -----
    ``os.fspath(input)`` is the file (for a query, a placeholder that names
    no file), so an Input can be passed wherever a path is; it records the
    query and its rows' SHA-256 for manifests (:meth:`manifest_entry`).
    """

    path: Path | None = None
    query: Any = None
    sheet: str | None = None
    columns: Any = ()
    dayfirst: bool | None = None
    line_buffer_m: float | None = None
    _run: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if (self.path is None) == (self.query is None):
            raise ValueError("an Input is a file (path=) or a database query (query=), not both")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        cols = self.columns
        pairs = tuple(cols.items()) if isinstance(cols, Mapping) else tuple(cols or ())
        object.__setattr__(self, "columns", tuple((str(k), str(v)) for k, v in pairs))

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else self.query.name

    def __fspath__(self) -> str:
        return str(self.path) if self.path is not None else f"<{self.query.name}>"

    def __str__(self) -> str:
        return self.name

    def exists(self) -> bool:
        return self.path.exists() if self.path is not None else True

    def stat(self) -> os.stat_result:
        if self.path is None:
            raise DataError(f"{self.name} is a query, not a file")
        return self.path.stat()

    def with_path(self, path: str | os.PathLike[str]) -> Input:
        """The same settings for another file (a glob's matches)."""
        return Input(path=Path(path), sheet=self.sheet, columns=self.columns,
                     dayfirst=self.dayfirst, line_buffer_m=self.line_buffer_m)

    def manifest_entry(self) -> dict[str, Any] | None:
        """For a query: the redacted URL, the SQL, the rows read and their SHA-256."""
        spool = self._run.get("spool")
        if self.query is None:
            return None
        if spool is None:
            return {"database": self.query.shown_url, "query": self.query.sql}
        return spool.manifest_entry()

    def spool(self) -> Any:
        """Run the query (once per Input) and return its :class:`~rct.io.sql.SpooledQuery`."""
        from rct.io.sql import spool_query

        if self.query is None:
            raise ValueError("not a query")
        if "spool" not in self._run:
            self._run["spool"] = spool_query(self.query)
        return self._run["spool"]


def as_input(item: Any, **defaults: Any) -> Any:
    """``item`` as an :class:`Input` carrying ``defaults`` where it sets nothing itself.

    Paths become Inputs; Inputs keep their own settings (a setting left at
    its empty value takes the default); DataFrames pass through.
    """
    import pandas as pd

    if isinstance(item, pd.DataFrame):
        return item
    from rct.io.sql import Query

    if isinstance(item, Query):
        item = Input(query=item)
    if not isinstance(item, Input):
        item = Input(path=Path(item))
    changes = {}
    for k, v in defaults.items():
        if v is None or v == () or v == {}:
            continue
        current = getattr(item, k)
        if current is None or current == ():
            changes[k] = v
    if not changes:
        return item
    from dataclasses import replace

    out = replace(item, **changes)
    out._run.update(item._run)  # a query already run is not run again
    return out


@dataclass(frozen=True, eq=False)
class Chunk:
    """Consecutive rows of one source.

    Attributes
    ----------
    table : pyarrow.Table or pandas.DataFrame
        The rows (only the columns asked for).
    rows : ndarray of int64
        0-based data row of each row in its file (the 1-based row a user
        sees is ``rows + 1``).
    bad : tuple of BadLine
        Malformed lines (wrong number of fields) met since the last chunk.
    notes : tuple of str
        What the reader learned on the way (e.g. an encoding fallback).
    """

    table: Any
    rows: np.ndarray
    bad: tuple[BadLine, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def num_rows(self) -> int:
        return self.table.num_rows if hasattr(self.table, "num_rows") else len(self.table)

    @property
    def n_read(self) -> int:
        return self.num_rows + len(self.bad)

    def to_pandas(self) -> Any:
        """The rows as a DataFrame (Arrow text columns become text columns)."""
        if hasattr(self.table, "num_rows"):
            return self.table.to_pandas()
        return self.table


def source_kind(path: str | os.PathLike[str]) -> str | None:
    """``"csv"``, ``"parquet"``, ``"excel"`` or None, from the file name (compressed CSVs
    included)."""
    if isinstance(path, Input) and path.query is not None:
        return "sql"
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if not suffixes:
        return None
    if suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    if suffixes[-1] in EXCEL_SUFFIXES:
        return "excel"
    if suffixes[-1] in CSV_SUFFIXES:
        return "csv"
    if suffixes[-1] in COMPRESSED_SUFFIXES and len(suffixes) > 1 and suffixes[-2] in CSV_SUFFIXES:
        return "csv"
    return None


@dataclass(eq=False)
class Source:
    """A CSV file, a Parquet file, an Excel sheet, a query or a DataFrame, read in chunks.

    ``input`` is the :class:`Input` it was opened from (its column mapping
    and date order are the validators' to apply); ``None`` for a frame.
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    notes: tuple[str, ...] = ()
    path: Path | None = None
    frame: Any = None
    input: Input | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    dayfirst: bool | None = None
    _layout: Any = field(default=None, repr=False)
    _parquet: Any = field(default=None, repr=False)
    _sheet: Any = field(default=None, repr=False)

    def chunks(
        self,
        *,
        columns: Sequence[str] | None = None,
        chunk_rows: int = 1_000_000,
        keep_text: bool = False,
    ) -> Iterator[Chunk]:
        """Chunks of at most ``chunk_rows`` rows (``columns``: a subset, by name)."""
        wanted = list(self.columns if columns is None else columns)
        if self.kind == "csv":
            for c in iter_csv(self._layout, columns=wanted, chunk_rows=chunk_rows,
                              keep_text=keep_text):
                yield Chunk(c.table, c.rows, c.bad, c.notes)
        elif self.kind in ("parquet", "sql"):
            yield from self._parquet_chunks(wanted, chunk_rows)
        elif self.kind == "excel":
            yield from self._sheet.chunks(chunk_rows=chunk_rows, wanted=wanted)
        else:
            df = self.frame
            for start in range(0, max(len(df), 1), chunk_rows):
                part = df.iloc[start : start + chunk_rows][wanted]
                yield Chunk(part, np.arange(start, start + len(part), dtype=np.int64))

    def _parquet_chunks(self, wanted: list[str], chunk_rows: int) -> Iterator[Chunk]:
        import pyarrow as pa

        offset = 0
        try:
            batches = self._parquet.iter_batches(batch_size=chunk_rows, columns=wanted)
            any_batch = False
            for batch in batches:
                any_batch = True
                n = batch.num_rows
                yield Chunk(pa.Table.from_batches([batch]), np.arange(offset, offset + n))
                offset += n
            if not any_batch:
                schema = self._parquet.schema_arrow
                empty = pa.Table.from_batches([], schema=pa.schema([schema.field(c) for c in wanted]))
                yield Chunk(empty, np.zeros(0, dtype=np.int64))
        except DataError:
            raise
        except Exception as exc:  # a damaged row group
            raise DataError(
                f"not a readable Parquet file ({type(exc).__name__}: {_first_line(exc)})",
                file=self.path,
            ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def open_source(item: Any, *, what: str = "input", **defaults: Any) -> Source:
    """A :class:`Source` for a file path, an :class:`Input` or a DataFrame.

    ``defaults`` (``sheet``, ``columns``, ``dayfirst``) apply where the
    Input sets nothing itself (see :func:`as_input`).

    Raises
    ------
    DataError
        A missing file, an unknown format, an unreadable or empty file (or
        sheet, or query), a header that names a column twice; the message
        names the file (a query by its URL without the password).
    """
    import pandas as pd

    if isinstance(item, pd.DataFrame):
        check_unique_columns(list(item.columns), file="<frame>")
        frame = item.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        cols = defaults.get("columns") or ()
        return Source("<frame>", "frame", tuple(frame.columns), frame=frame,
                      mapping=dict(cols.items() if isinstance(cols, Mapping) else cols),
                      dayfirst=defaults.get("dayfirst"))
    inp = as_input(item, **defaults)
    src = _open_input(inp, what)
    src.mapping = inp.mapping
    src.dayfirst = inp.dayfirst
    return src


def _open_input(inp: Input, what: str) -> Source:
    if inp.query is not None:
        import pyarrow.parquet as pq

        spool = inp.spool()
        pf = pq.ParquetFile(spool.path, pre_buffer=False)
        return Source(inp.name, "sql", spool.columns, path=None, input=inp, _parquet=pf)
    p = inp.path
    if not p.exists():
        raise DataError(f"{what} file not found", file=p)
    if p.is_dir():
        raise DataError(f"is a folder, not a {what} file", file=p)
    kind = source_kind(p)
    if kind is None:
        raise DataError(
            f"unknown {what} file format {''.join(p.suffixes) or '(no suffix)'!r}; use .csv "
            "(optionally .gz/.bz2/.xz/.zip), .parquet or .xlsx",
            file=p,
        )
    if kind == "csv":
        layout = sniff_csv(p)
        return Source(str(p), "csv", layout.columns, layout.notes, path=p, input=inp,
                      _layout=layout)
    if kind == "excel":
        from rct.io.excel import open_sheet

        sheet = open_sheet(p, sheet=inp.sheet)
        return Source(f"{p} (sheet {sheet.sheet})" if inp.sheet is not None else str(p),
                      "excel", sheet.columns, path=p, input=inp, _sheet=sheet)
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p, pre_buffer=False)
        names = list(pf.schema_arrow.names)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(
            f"not a readable Parquet file ({type(exc).__name__}: {_first_line(exc)})", file=p
        ) from None
    check_unique_columns(names, file=p)
    return Source(str(p), "parquet", tuple(names), path=p, input=inp, _parquet=pf)

