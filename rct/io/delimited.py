"""CSV files as streams of Arrow tables: structure checked, columns never shifted.

Every CSV reader in :mod:`rct` (patrol logs, pings, crimes, hot-spot CSVs,
harm tables) reads through this module:

* one encoding detection (:mod:`rct.io.encoding`);
* the delimiter told from the header (``,``, ``;``, tab or ``|``);
* a header that names a column twice, or an empty file, is refused with a
  :class:`~rct.errors.DataError` naming the file;
* the header alone fixes the number of fields.  A line with more or fewer
  fields is never re-aligned (pandas turns a stray comma in the first data
  row into an index column and shifts every field left); it is set aside as
  a :class:`BadLine` with its data-row number, so the caller quarantines
  that row alone ("wrong number of fields (expected E, saw S)") or stops
  naming the file and row;
* rows come in chunks of ``chunk_rows`` (pyarrow's streaming reader,
  single-threaded so every row keeps its number), so memory is set by the
  chunk, not the file.

Rows are numbered as data rows: the header is row 0, the first data row is
row 1 (blank lines are skipped and not counted; a quoted field may span
lines).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError
from rct.io.encoding import QuoteTracker, open_utf8

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = [
    "BadLine",
    "CsvChunk",
    "CsvLayout",
    "sniff_csv",
    "iter_csv",
    "read_csv_table",
    "read_csv_pandas",
    "check_unique_columns",
]

_SEPARATORS = (",", ";", "\t", "|")
_SAMPLE = 1 << 16
_MAX_TEXT = 4096  # characters of a malformed line kept (only when asked)


@dataclass(frozen=True)
class BadLine:
    """A data row whose number of fields differs from the header's.

    Attributes
    ----------
    row : int
        1-based data row (the header is row 0).
    expected, saw : int
        Fields in the header and in this row.
    text : str or None
        The row as read (only when the reader was asked to keep it: it may
        hold personal data).
    """

    row: int
    expected: int
    saw: int
    text: str | None = None

    @property
    def reason(self) -> str:
        return f"wrong number of fields (expected {self.expected}, saw {self.saw})"


@dataclass(frozen=True)
class CsvLayout:
    """What :func:`sniff_csv` found: delimiter, column names, encoding notes."""

    path: Path
    delimiter: str
    columns: tuple[str, ...]
    notes: tuple[str, ...] = ()
    line_bytes: float = 100.0
    blank_lines: int = 0  # blank lines before the header


@dataclass(frozen=True, eq=False)
class CsvChunk:
    """Consecutive rows of a CSV: a table, their row numbers, and bad lines among them.

    ``rows[i]`` is the 0-based data row of ``table`` row ``i`` (1-based row
    = ``rows[i] + 1``); ``bad`` are the malformed lines found since the
    previous chunk.
    """

    table: pa.Table
    rows: np.ndarray
    bad: tuple[BadLine, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = ()

    @property
    def n_read(self) -> int:
        """Rows this chunk accounts for: the table's and the bad lines."""
        return self.table.num_rows + len(self.bad)


def sniff_csv(path: str | os.PathLike[str]) -> CsvLayout:
    """Delimiter and header of a CSV file (plain or compressed, any supported encoding).

    Raises
    ------
    DataError
        Missing or empty file; a header that names a column twice.
    """
    path = Path(path)
    with open_utf8(path) as stream:
        sample = stream.read(_SAMPLE)
        notes = tuple(stream.notes)
    text = sample.decode("utf-8", errors="ignore")
    if not text.strip():
        raise DataError("empty file: no header row", file=path)
    first_line = re.split(r"\r\n|\r|\n", text.lstrip("\r\n"), maxsplit=1)[0]
    delimiter = ","
    try:
        fields = next(csv.reader(io.StringIO(first_line)))
    except (csv.Error, StopIteration):
        fields = [first_line]
    if len(fields) == 1:
        counts = {s: first_line.count(s) for s in _SEPARATORS[1:]}
        best = max(counts, key=lambda s: counts[s])
        if counts[best]:
            delimiter = best
    try:
        header = next(
            csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=delimiter, strict=True)
        )
    except csv.Error as exc:
        raise DataError(f"cannot read as CSV: the header row is malformed ({exc})", file=path) from None
    except StopIteration:
        raise DataError("empty file: no header row", file=path) from None
    check_unique_columns(header, file=path)
    broken = [i for i, c in enumerate(header, start=1) if "\r" in c or "\n" in c]
    if broken:  # a quoted line break in a column name: the rows below could not be counted
        raise DataError(f"the header's column {broken[0]} holds a line break "
                        f"({header[broken[0] - 1]!r}); column names must be on one line",
                        file=path, row=1, column=str(broken[0]))
    lines = max(sample.count(b"\n"), 1)
    leading = text[: len(text) - len(text.lstrip("\r\n"))]
    return CsvLayout(
        path=path,
        delimiter=delimiter,
        columns=tuple(header),
        notes=notes,
        line_bytes=len(sample) / lines,
        blank_lines=len(re.findall(r"\r\n|\r|\n", leading)),
    )


def check_unique_columns(names: Sequence[object], *, file: object) -> None:
    """Refuse a header that names a column twice (the second would be silently ignored)."""
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names, start=1):
        seen.setdefault(str(n), []).append(i)
    dups = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dups:
        name, pos = next(iter(dups.items()))
        shown = repr(name) if name.strip() else "(blank)"
        raise DataError(
            f"the header names column {shown} {len(pos)} times (columns "
            f"{', '.join(map(str, pos))}); every column needs its own name"
            + (f"; also {', '.join(map(repr, list(dups)[1:]))}" if len(dups) > 1 else ""),
            file=file,
        )


def iter_csv(
    path: str | os.PathLike[str] | CsvLayout,
    *,
    columns: Sequence[str] | None = None,
    chunk_rows: int = 1_000_000,
    types: dict[str, pa.DataType] | None = None,
    keep_text: bool = False,
    blank_is_null: bool = True,
    prefer: dict[str, pa.DataType] | None = None,
) -> Iterator[CsvChunk]:
    """Stream a CSV as :class:`CsvChunk` s of at most ``chunk_rows`` rows.

    Parameters
    ----------
    path
        The file, or its :func:`sniff_csv` layout.
    columns
        Columns to read (default all), by header name.
    chunk_rows
        Rows per chunk (the memory bound).
    types
        Arrow types of some columns (default: every column as text).  A
        value that does not convert stops the reader with a DataError, so
        callers that must quarantine bad values read text and convert
        themselves (see :mod:`rct.io.convert`).
    keep_text
        Keep the text of malformed lines in :attr:`BadLine.text`.
    blank_is_null
        Empty cells as nulls (else as ``""``).
    prefer
        Arrow types to read some columns as *when every value converts*
        (pyarrow converts while parsing: no text column is built).  At the
        first value that does not, the rest of the file is read again with
        that column as text, from the first row not yet returned, so the
        caller sees every row exactly once, typed or as text, and converts
        text itself.

    Raises
    ------
    DataError
        A file that cannot be parsed as CSV (e.g. an unterminated quote),
        naming the file and pyarrow's description of the place.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    layout = path if isinstance(path, CsvLayout) else sniff_csv(path)
    names = list(layout.columns)
    wanted = list(columns) if columns is not None else names
    missing = [c for c in wanted if c not in names]
    if missing:
        raise DataError(f"no column {missing[0]!r} in the header", file=layout.path)
    bad: list[tuple[int, int, int, str | None]] = []

    def on_bad(row: Any) -> str:
        text = None
        if keep_text and row.text is not None:
            text = row.text[:_MAX_TEXT]
        # row.number counts the header as row 1 and the skipped blank lines before it
        # (later blank lines are not counted), so the 0-based data row is
        # number - 2 - blank_lines
        bad.append((int(row.number) - 2 - layout.blank_lines, row.expected_columns,
                    row.actual_columns, text))
        return "skip"

    # pyarrow parses small blocks fastest (cache); _rechunk joins them into chunk_rows rows
    block = int(min(max(min(chunk_rows, 100_000) * layout.line_bytes, 1 << 20), 1 << 23))
    attempt = {k: v for k, v in (prefer or {}).items() if k in wanted}
    done_upto = -1  # last good row returned (0-based); rows come in order
    done_bad: set[int] = set()
    while True:
        col_types = {n: pa.string() for n in names}
        col_types.update(types or {})
        col_types.update(attempt)
        bad.clear()
        stream = _Blocks(open_utf8(layout.path))
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(stream, mode="r"),
                read_options=pacsv.ReadOptions(
                    use_threads=False, block_size=block, column_names=names,
                    skip_rows=1 + layout.blank_lines,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=layout.delimiter,
                    newlines_in_values=True,
                    invalid_row_handler=on_bad,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=col_types,
                    include_columns=wanted,
                    strings_can_be_null=blank_is_null,
                    quoted_strings_can_be_null=blank_is_null,
                    null_values=[""],
                    true_values=["true", "True", "TRUE"],
                    false_values=["false", "False", "FALSE"],
                ),
            )
            for chunk in _rechunk(reader, bad, chunk_rows, layout, stream):
                if done_upto >= 0 or done_bad:  # a second pass: skip what was returned
                    chunk = _after(chunk, done_upto, done_bad)
                if len(chunk.rows):
                    done_upto = int(chunk.rows[-1])
                done_bad.update(b.row for b in chunk.bad)
                yield chunk
            line = stream.open_quote_line(layout.delimiter)
            if line is not None:
                raise DataError(
                    f"cannot read as CSV: a quote opened on line {line:,} is never closed, so "
                    "everything after it would be read as one field (and those rows lost); "
                    "close or remove the quote",
                    file=layout.path,
                )
            return
        except DataError:
            raise
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            if attempt and "conversion error" in str(exc).lower():
                # a value that does not convert: that column (all, if not named) as text
                # from the first row not yet returned
                m = re.search(r"column #(\d+)", str(exc))
                col = names[int(m.group(1))] if m and int(m.group(1)) < len(names) else None
                attempt = {k: v for k, v in attempt.items() if k != col} if col in attempt else {}
                continue
            raise DataError(
                f"cannot read as CSV ({_arrow_message(exc)})", file=layout.path
            ) from None
        except (OSError, ValueError) as exc:
            raise DataError(
                f"cannot read as CSV ({type(exc).__name__}: {exc})", file=layout.path
            ) from None
        finally:
            stream.close()


class _Blocks(QuoteTracker, io.RawIOBase):
    """A :class:`rct.io.encoding.Utf8Stream` read in pyarrow's block sizes, cheaply.

    The stream's own ``read`` copies each block several times through a
    bytearray and counts quotes and line breaks with three ``bytes.count``
    passes: about 2 CPU seconds per 800 MB, more than pyarrow's parse of
    the same bytes.  This reads the stream's decoded blocks
    (``Utf8Stream._next_block``: the same encoding detection, validation and
    fallback) and hands them on whole when they fit, and keeps the same
    quote bookkeeping (:class:`rct.io.encoding.QuoteTracker`).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self._s = stream
        self._cur = b""
        self._pos = 0
        self._reset_quotes()

    @property
    def notes(self) -> list[str]:
        return self._s.notes

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        n = 0
        whole = size is None or size < 0
        while whole or n < size:
            if self._pos >= len(self._cur):
                block = self._s._next_block()
                if block is None:
                    break
                self._cur, self._pos = block, 0
                continue
            take = len(self._cur) - self._pos if whole else min(size - n, len(self._cur) - self._pos)
            if self._pos == 0 and take == len(self._cur):
                parts.append(self._cur)  # the whole block: no copy
            else:
                parts.append(self._cur[self._pos : self._pos + take])
            self._pos += take
            n += take
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._track(data)
        return data

    def close(self) -> None:
        try:
            self._s.close()
        finally:
            super().close()


def _after(chunk: CsvChunk, done_upto: int, done_bad: set[int]) -> CsvChunk:
    """The part of a re-read chunk not returned before (good rows after ``done_upto``)."""
    k = int(np.searchsorted(chunk.rows, done_upto, side="right"))
    bad = tuple(b for b in chunk.bad if b.row not in done_bad)
    if k == 0 and len(bad) == len(chunk.bad):
        return chunk
    return CsvChunk(chunk.table.slice(k), chunk.rows[k:], bad, chunk.notes)


def _arrow_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _rechunk(
    reader: Any, bad: list, chunk_rows: int, layout: CsvLayout, stream: Any
) -> Iterator[CsvChunk]:
    """Batches of pyarrow's reader -> chunks of ``chunk_rows`` rows with their numbers."""
    import pyarrow as pa

    pending: list[pa.Table] = []
    pending_rows: list[np.ndarray] = []
    n_pending = 0
    next_row = 0  # 0-based data row of the next good row
    bad_rows: list[int] = []  # 0-based rows of malformed lines not yet placed
    bad_out: list[BadLine] = []
    notes_sent = 0
    schema = None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        schema = batch.schema
        for r, e, s, t in bad:
            bad_rows.append(r)
            bad_out.append(BadLine(row=r + 1, expected=e, saw=s, text=t))
        bad.clear()
        n = batch.num_rows
        rows, next_row, bad_rows = _number_rows(next_row, n, bad_rows)
        pending.append(pa.Table.from_batches([batch]))
        pending_rows.append(rows)
        n_pending += n
        while n_pending >= chunk_rows:
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            numbers = np.concatenate(pending_rows) if len(pending_rows) > 1 else pending_rows[0]
            head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            notes = tuple(stream.notes[notes_sent:])
            notes_sent = len(stream.notes)
            yield CsvChunk(head, numbers[:chunk_rows], tuple(bad_out), notes)
            bad_out = []
            pending = [rest] if rest.num_rows else []
            pending_rows = [numbers[chunk_rows:]] if rest.num_rows else []
            n_pending = rest.num_rows
    for r, e, s, t in bad:
        bad_out.append(BadLine(row=r + 1, expected=e, saw=s, text=t))
    bad.clear()
    notes = tuple(stream.notes[notes_sent:])
    if n_pending or bad_out or schema is None or notes:
        if pending:
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            numbers = np.concatenate(pending_rows) if len(pending_rows) > 1 else pending_rows[0]
        else:
            table = _empty_table(reader.schema if schema is None else schema)
            numbers = np.zeros(0, dtype=np.int64)
        yield CsvChunk(table, numbers, tuple(bad_out), notes)


def _empty_table(schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_batches([], schema=schema)


def _number_rows(next_row: int, n: int, bad_rows: list[int]) -> tuple[np.ndarray, int, list[int]]:
    """The ``n`` smallest data rows >= ``next_row`` that are not malformed lines."""
    skip = np.sort(np.asarray(bad_rows, dtype=np.int64))
    skip = skip[skip >= next_row]
    k = 0
    while True:
        hi = next_row + n + k
        k2 = int(np.searchsorted(skip, hi))
        if k2 == k:
            break
        k = k2
    rows = np.arange(next_row, hi, dtype=np.int64)
    if k:
        rows = rows[~np.isin(rows, skip[:k])]
    left = [int(r) for r in skip[k:]]
    return rows, hi, left


def read_csv_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    keep_text: bool = False,
    blank_is_null: bool = True,
    strict: bool = False,
) -> CsvChunk:
    """The whole CSV as one :class:`CsvChunk` (text columns).

    ``strict=True`` refuses a malformed line with a DataError naming the
    file and row instead of returning it in ``bad`` (for small tables that
    must be complete: hot-spot lists, harm tables).
    """
    import pyarrow as pa

    layout = sniff_csv(path)
    parts = list(
        iter_csv(
            layout,
            columns=columns,
            chunk_rows=1 << 62,
            keep_text=keep_text,
            blank_is_null=blank_is_null,
        )
    )
    table = pa.concat_tables([p.table for p in parts]) if len(parts) > 1 else parts[0].table
    rows = np.concatenate([p.rows for p in parts]) if len(parts) > 1 else parts[0].rows
    bad = tuple(b for p in parts for b in p.bad)
    notes = tuple(layout.notes) + tuple(n for p in parts for n in p.notes if n not in layout.notes)
    if strict and bad:
        b = bad[0]
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise DataError(f"{b.reason}{more}", file=layout.path, row=b.row)
    return CsvChunk(table, rows, bad, notes)


def read_csv_pandas(
    path: str | os.PathLike[str], *, dtype: Any = None, **options: Any
) -> Any:
    """A CSV checked like every rct input, then parsed by :func:`pandas.read_csv`.

    For small tables whose column types pandas should infer (hot-spot
    covariates, tables rct wrote): the encoding, the delimiter, a header
    naming a column twice and every row's number of fields are checked
    first -- a malformed row is a DataError naming the file and row, never
    a shifted row (``index_col=False``).
    """
    import pandas as pd

    layout = sniff_csv(path)
    for chunk in iter_csv(layout, columns=[]):  # structure only
        if chunk.bad:
            b = chunk.bad[0]
            more = f" (and {len(chunk.bad) - 1} more rows)" if len(chunk.bad) > 1 else ""
            raise DataError(f"{b.reason}{more}", file=layout.path, row=b.row)
    with open_utf8(layout.path) as raw:
        text = io.TextIOWrapper(io.BufferedReader(raw), encoding="utf-8", newline="")
        try:
            return pd.read_csv(
                text, dtype=dtype, sep=layout.delimiter, index_col=False,
                skip_blank_lines=True, **options
            )
        except pd.errors.EmptyDataError:
            raise DataError("empty file: no header row", file=layout.path) from None
        except (pd.errors.ParserError, ValueError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise DataError(f"cannot read as CSV ({msg})", file=layout.path) from None
