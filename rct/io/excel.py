"""Excel workbooks: sheets read as sources, tables written as one workbook.

Reading (:func:`open_sheet`) uses python-calamine (the Rust ``calamine``
reader; no Excel needed): the chosen sheet's first non-empty row is the
header, every later non-empty row a data row, each cell written out as the
text a CSV export would hold (:mod:`rct.io.cells`), so the validators treat
a sheet exactly like a CSV.  Rows keep the sheet's numbering: a quarantined
row's ``source_row`` is the row number Excel shows.  A workbook with more
than one sheet needs the sheet named (``--sheet``); nothing is guessed.

Writing (:func:`write_workbook`) uses openpyxl: one sheet per table, cells
that Excel would run as a formula neutralised exactly as in CSV outputs
(:func:`rct.io.safety.neutralise_frame`: a leading ``'``), written
atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import DataError

__all__ = ["EXCEL_SUFFIXES", "is_excel", "sheet_names", "open_sheet", "read_sheet_frame",
           "write_workbook", "SheetReader"]

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_MAX_SHEET = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def is_excel(path: str | os.PathLike[str]) -> bool:
    """True for ``.xlsx`` / ``.xlsm`` files (by name)."""
    return Path(path).suffix.lower() in EXCEL_SUFFIXES


def _workbook(path: Path) -> Any:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("reading .xlsx needs python-calamine (pip install python-calamine)",
                        file=path) from None
    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for damaged files
        raise DataError(f"not a readable Excel workbook ({type(exc).__name__}: "
                        f"{str(exc).strip()[:200]})", file=path) from None


def sheet_names(path: str | os.PathLike[str]) -> list[str]:
    """The workbook's sheet names, in order."""
    return list(_workbook(Path(path)).sheet_names)


class SheetReader:
    """One sheet of a workbook: header, then chunks of text rows (see :func:`open_sheet`)."""

    def __init__(self, path: Path, sheet: str, columns: tuple[str, ...], header_row: int,
                 width: int) -> None:
        self.path = path
        self.sheet = sheet
        self.columns = columns
        self.header_row = header_row  # 0-based sheet row of the header
        self.width = width

    def _rows(self) -> Iterator[tuple[int, list[Any]]]:
        wb = _workbook(self.path)
        ws = wb.get_sheet_by_name(self.sheet)
        start = ws.start[0] if ws.start is not None else 0
        for i, row in enumerate(ws.iter_rows()):
            yield start + i, row

    def chunks(self, *, chunk_rows: int, wanted: list[str] | None = None) -> Iterator[Any]:
        """Chunks (:class:`rct.io.sources.Chunk`) of at most ``chunk_rows`` data rows."""
        from rct.io.cells import text_table
        from rct.io.delimited import BadLine
        from rct.io.sources import Chunk

        names = list(self.columns)
        wanted = names if wanted is None else list(wanted)
        pos = [names.index(c) for c in wanted]
        buf: list[list[Any]] = []
        numbers: list[int] = []
        bad: list[BadLine] = []
        any_chunk = False

        def flush() -> Any:
            cols = [[r[j] if j < len(r) else None for r in buf] for j in pos]
            table = text_table(wanted, cols)
            return Chunk(table, np.asarray(numbers, dtype=np.int64), tuple(bad))

        for r, row in self._rows():
            if r <= self.header_row or _empty(row):
                continue
            last = _last_filled(row)
            if last >= self.width:
                # a value right of the header's last column: like a CSV line with extra fields
                bad.append(BadLine(row=r + 1, expected=self.width, saw=last + 1))  # sheet row
                continue
            buf.append(row)
            numbers.append(r)  # 0-based sheet row: source_row (rows + 1) is Excel's number
            if len(buf) >= chunk_rows:
                yield flush()
                any_chunk = True
                buf, numbers, bad = [], [], []
        if buf or bad or not any_chunk:
            yield flush()


def _empty(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _last_filled(row: list[Any]) -> int:
    for j in range(len(row) - 1, -1, -1):
        v = row[j]
        if not (v is None or (isinstance(v, str) and not v.strip())):
            return j
    return -1


def open_sheet(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> SheetReader:
    """A sheet of an ``.xlsx`` workbook, ready to be read in chunks.

    Parameters
    ----------
    path
        The workbook.
    sheet
        Sheet name (or 1-based number).  Required when the workbook has more
        than one sheet.

    Raises
    ------
    DataError
        Unreadable workbook, unknown sheet, several sheets and none chosen,
        an empty sheet, a header naming a column twice.
    """
    from rct.io.delimited import check_unique_columns

    p = Path(path)
    if not p.is_file():
        raise DataError("Excel workbook not found", file=p)
    wb = _workbook(p)
    names = list(wb.sheet_names)
    if not names:
        raise DataError("the workbook has no sheets", file=p)
    if sheet is None:
        if len(names) > 1:
            raise DataError(
                f"the workbook has {len(names)} sheets ({', '.join(map(repr, names))}); pass "
                "--sheet NAME (sheet=) to choose one", file=p)
        chosen = names[0]
    elif str(sheet) in names:
        chosen = str(sheet)
    elif str(sheet).strip().isdigit() and 1 <= int(str(sheet)) <= len(names):
        chosen = names[int(str(sheet)) - 1]
    else:
        raise DataError(f"no sheet {sheet!r}; the workbook has {', '.join(map(repr, names))}",
                        file=p)
    ws = wb.get_sheet_by_name(chosen)
    start = ws.start[0] if ws.start is not None else 0
    header: list[Any] | None = None
    header_row = -1
    for i, row in enumerate(ws.iter_rows()):
        if not _empty(row):
            header, header_row = row, start + i
            break
    if header is None:
        raise DataError(f"sheet {chosen!r} is empty: no header row", file=p)
    width = _last_filled(header) + 1
    from rct.io.cells import _cell_text

    cols = tuple(
        (_cell_text(v).strip() if v not in (None, "") else f"column_{j + 1}")
        for j, v in enumerate(header[:width])
    )
    check_unique_columns(cols, file=f"{p} (sheet {chosen!r})")
    return SheetReader(p, chosen, cols, header_row, width)


def read_sheet_frame(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> Any:
    """A whole sheet as a DataFrame of text (blank cells ``""``), for small tables.

    Used for hot-spot lists and harm tables; a row with values right of the
    header is a DataError naming the sheet row.
    """
    import pyarrow as pa

    reader = open_sheet(path, sheet=sheet)
    parts = list(reader.chunks(chunk_rows=1 << 30))
    bad = [b for c in parts for b in c.bad]
    if bad:
        raise DataError(f"a value right of the header's last column (expected "
                        f"{bad[0].expected} columns)", file=path, row=bad[0].row)
    table = pa.concat_tables([c.table for c in parts]) if len(parts) > 1 else parts[0].table
    frame = table.to_pandas()
    for c in frame.columns:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), "")
    return frame


# ------------------------------------------------------------------------- writing


def _sheet_title(name: str, taken: set[str]) -> str:
    title = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "sheet"
    title = title[:_MAX_SHEET]
    base, k = title, 2
    while title.lower() in taken:
        suffix = f" ({k})"
        title = base[: _MAX_SHEET - len(suffix)] + suffix
        k += 1
    taken.add(title.lower())
    return title


def _cell(v: Any) -> Any:
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.isoformat()  # Excel has no time zones: the exact instant, as text
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).to_pydatetime()
    if isinstance(v, dt.date | dt.time | int | str):
        return v
    return str(v)


def write_workbook(
    path: str | os.PathLike[str], sheets: Mapping[str, Any], *, force: bool = True
) -> Path:
    """Write tables as the sheets of one ``.xlsx`` workbook, atomically.

    Parameters
    ----------
    path
        The workbook (``.xlsx``).
    sheets
        Sheet name -> DataFrame, in order (names are cut to Excel's 31
        characters and made unique).
    force
        Replace an existing workbook (``False``: refuse it).

    Notes
    -----
    Text cells beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return are prefixed with ``'`` (OWASP's advice against formula
    injection, as for every CSV rct writes); numbers stay numbers.  Times
    with a time zone are written as ISO 8601 text (Excel cells have no
    zone); dates and naive times as Excel dates.
    """
    from openpyxl import Workbook

    from rct.io.atomic import atomic_path, check_overwrite
    from rct.io.safety import neutralise_frame

    p = Path(path)
    if p.suffix.lower() != ".xlsx":
        raise DataError(f"an Excel workbook must end in .xlsx, not {p.suffix or '(none)'!r}",
                        file=p)
    if not sheets:
        raise ValueError("write_workbook needs at least one table")
    check_overwrite([p], force=force)
    wb = Workbook(write_only=True)
    taken: set[str] = set()
    for name, df in sheets.items():
        ws = wb.create_sheet(_sheet_title(name, taken))
        safe = neutralise_frame(df.reset_index(drop=True))
        ws.append([str(c) for c in safe.columns])
        columns = [safe[c].to_numpy(dtype=object) for c in safe.columns]
        for i in range(len(safe)):
            ws.append([_cell(col[i]) for col in columns])
    with atomic_path(p) as tmp:
        wb.save(tmp)
    return p
