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

A new kind of source (a spreadsheet, a database query) only has to yield
chunks; every validator then works on it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import DataError
from rct.io.delimited import BadLine, check_unique_columns, iter_csv, sniff_csv
from rct.io.encoding import COMPRESSED_SUFFIXES

__all__ = ["Chunk", "Source", "open_source", "source_kind", "PARQUET_SUFFIXES", "CSV_SUFFIXES"]

PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")


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
    """``"csv"``, ``"parquet"`` or None, from the file name (compressed CSVs included)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if not suffixes:
        return None
    if suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    if suffixes[-1] in CSV_SUFFIXES:
        return "csv"
    if suffixes[-1] in COMPRESSED_SUFFIXES and len(suffixes) > 1 and suffixes[-2] in CSV_SUFFIXES:
        return "csv"
    return None


@dataclass(eq=False)
class Source:
    """A CSV file, a Parquet file or a DataFrame, ready to be read in chunks."""

    name: str
    kind: str
    columns: tuple[str, ...]
    notes: tuple[str, ...] = ()
    path: Path | None = None
    frame: Any = None
    _layout: Any = field(default=None, repr=False)
    _parquet: Any = field(default=None, repr=False)

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
        elif self.kind == "parquet":
            yield from self._parquet_chunks(wanted, chunk_rows)
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


def open_source(item: Any, *, what: str = "input") -> Source:
    """A :class:`Source` for a file path or a DataFrame.

    Raises
    ------
    DataError
        A missing file, an unknown format, an unreadable or empty file, a
        header that names a column twice; the message names the file.
    """
    import pandas as pd

    if isinstance(item, pd.DataFrame):
        check_unique_columns(list(item.columns), file="<frame>")
        frame = item.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return Source("<frame>", "frame", tuple(frame.columns), frame=frame)
    p = Path(item)
    if not p.exists():
        raise DataError(f"{what} file not found", file=p)
    if p.is_dir():
        raise DataError(f"is a folder, not a {what} file", file=p)
    kind = source_kind(p)
    if kind is None:
        raise DataError(
            f"unknown {what} file format {''.join(p.suffixes) or '(no suffix)'!r}; use .csv "
            "(optionally .gz/.bz2/.xz/.zip) or .parquet",
            file=p,
        )
    if kind == "csv":
        layout = sniff_csv(p)
        return Source(str(p), "csv", layout.columns, layout.notes, path=p, _layout=layout)
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p, pre_buffer=False)
        names = list(pf.schema_arrow.names)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        raise DataError(
            f"not a readable Parquet file ({type(exc).__name__}: {_first_line(exc)})", file=p
        ) from None
    check_unique_columns(names, file=p)
    return Source(str(p), "parquet", tuple(names), path=p, _parquet=pf)
