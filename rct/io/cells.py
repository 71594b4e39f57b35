"""Cells from spreadsheets and databases as text columns, read the way a CSV is read.

Excel sheets (:mod:`rct.io.excel`) and query results (:mod:`rct.io.sql`)
hand over Python values -- numbers, dates, datetimes, text, booleans.  The
validators read CSV text, so every value is written out as the same text a
CSV export of it would hold, and a patrol log gives the same dosage table
whichever way it arrives:

* whole numbers without a decimal point (``1001.0`` -> ``"1001"``: Excel
  keeps every number as a float, and a hot-spot id must match its file);
* datetimes as ISO 8601 (``2021-09-06T06:07:00``); a zone-aware datetime
  (PostgreSQL ``timestamptz``) in UTC with ``Z``; naive ones stay naive
  (Europe/London, as everywhere);
* dates as ``YYYY-MM-DD``, booleans as ``true``/``false``, exact decimals
  as written, empty cells as missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["text_column", "text_table"]


def text_column(values: Sequence[Any]) -> Any:
    """One column of Python values as an Arrow string array (see the module notes)."""
    import pyarrow as pa

    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    blank = np.fromiter((v is None or (isinstance(v, str) and v == "") for v in arr),
                        dtype=bool, count=len(arr))
    arr[blank] = None
    try:
        typed = pa.array(arr, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        typed = None  # mixed types: cell by cell
    if typed is not None:
        return _as_text(typed)
    out = [None if v is None else _cell_text(v) for v in arr]
    return pa.array(out, type=pa.string())


def _as_text(arr: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            arr = arr.cast(pa.timestamp(t.unit, tz="UTC"))
        s = arr.cast(pa.string())
        s = pc.replace_substring_regex(s, r"\.0+(Z?)$", r"\1")
        return pc.replace_substring(s, " ", "T", max_replacements=1)
    if pa.types.is_time(t):
        return pc.replace_substring_regex(arr.cast(pa.string()), r"\.0+$", "")
    if pa.types.is_boolean(t):
        return arr.cast(pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else v.decode("utf-8", "replace")
                         for v in arr.to_pylist()], type=pa.string())
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else _cell_text(v) for v in arr.to_pylist()],
                        type=pa.string())


def _cell_text(v: Any) -> str:
    """One value as text, for columns whose cells have mixed types."""
    import datetime as dt
    import decimal

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, int | decimal.Decimal):
        return str(v)
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
            return v.isoformat() + "Z"
        return v.isoformat()
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def text_table(names: Sequence[str], columns: Sequence[Sequence[Any]]) -> Any:
    """An Arrow table of text columns from column-wise Python values."""
    import pyarrow as pa

    return pa.table([text_column(c) for c in columns], names=list(names))
