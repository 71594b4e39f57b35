"""Typed columns from text, fast when the text is clean, exact when it is not.

Readers get text columns as Arrow arrays (:mod:`rct.io.delimited`) and
convert them here.  Each conversion first tries pyarrow's vectorised cast of
the whole chunk (a clean chunk, the common case, costs a few milliseconds
per million values); only a chunk where that fails takes the slower path,
which finds the values that do not convert and marks them (NaN / NaT with a
reason) instead of failing.  Either way the result is the same as
:func:`rct.io.times.parse_times` / :func:`pandas.to_numeric` give.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = ["NAT", "to_float64", "utc_ns", "DATE_ONLY"]

NAT = np.iinfo(np.int64).min
DATE_ONLY = "date without a time of day"
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^(?i:[-+]?(nan|inf|infinity))$"
_DATE_ONLY = r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\s*$"


def _arrow(values: Any, *, combine: bool = True) -> Any:
    """An Arrow array for Arrow input (chunked arrays combined, unless not asked), else None."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return values.chunk(0)
        return values.combine_chunks() if combine else values
    if isinstance(values, pa.Array):
        return values
    return None


def to_float64(values: Any) -> np.ndarray:
    """Floats, NaN where a value is missing or not a number (surrounding blanks allowed)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _arrow(values)
    if arr is None:
        s = pd.Series(values)
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype="float64", na_value=np.nan)
        try:
            arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return np.asarray(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        try:
            arr = pc.cast(arr, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return np.full(len(arr), np.nan)
    try:
        out = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        trimmed = pc.utf8_trim_whitespace(arr)
        ok = pc.match_substring_regex(trimmed, _NUMBER)
        out = pc.cast(pc.if_else(ok, trimmed, pa.scalar(None, pa.string())), pa.float64())
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64)


def utc_ns(
    values: Any,
    *,
    ambiguous: str = "earliest",
    nonexistent: str = "shift_forward",
    date_only: str = "accept",
) -> tuple[np.ndarray, np.ndarray | None]:
    """UTC nanoseconds (int64, :data:`NAT` where unusable) and a reason per row.

    Parameters
    ----------
    values
        Text (ISO 8601; naive = Europe/London), timestamps or dates; Arrow or
        pandas.
    ambiguous, nonexistent
        As :func:`rct.io.times.parse_times`.
    date_only
        ``"accept"`` (a date alone is local midnight, as parse_times reads
        it) or ``"reject"`` (reason :data:`DATE_ONLY`: a visit or a ping
        needs a time of day).

    Returns
    -------
    ns : ndarray of int64
    reasons : ndarray of object or None
        ``None`` when every value is good; otherwise ``None`` per good row
        and the reason (as parse_times gives it) per bad row.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.times import _check_choice

    _check_choice("ambiguous", ambiguous, ("earliest", "latest", "quarantine"))
    _check_choice("nonexistent", nonexistent, ("shift_forward", "quarantine"))
    _check_choice("date_only", date_only, ("accept", "reject"))
    arr = _arrow(values, combine=False)  # text is parsed chunk by chunk: no copy
    if arr is None:
        s = pd.Series(values).reset_index(drop=True)
        if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
            arr = pa.array(s, from_pandas=True)
        else:
            try:
                arr = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                return _slow(s, ambiguous, nonexistent, date_only)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_timestamp(arr.type):
        if arr.type.tz is not None:
            ns = arr.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
            return _finish(ns, None)
        return _localise(arr.cast(pa.timestamp("ns")), ambiguous, nonexistent, None)
    if pa.types.is_date(arr.type):
        naive = arr.cast(pa.timestamp("ns"))
        only = pc.is_valid(arr) if date_only == "reject" else None
        return _localise(naive, ambiguous, nonexistent, only)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return _slow(pd.Series(arr.to_pandas()), ambiguous, nonexistent, date_only)
    got = _cast_text(arr, ambiguous, nonexistent, date_only)
    if got is not None:
        return got
    return _by_blocks(arr, ambiguous, nonexistent, date_only)


#: rows per block when a chunk's text does not convert as a whole (see :func:`_by_blocks`)
BLOCK_ROWS = 4096


def _cast_text(
    arr: Any, ambiguous: str, nonexistent: str, date_only: str
) -> tuple[np.ndarray, Any] | None:
    """Text that pyarrow converts as a whole (all naive, or all with a zone); else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    only = None
    if date_only == "reject" and len(arr) and arr.null_count < len(arr):
        if _min_bytes(arr) <= 10:  # a date alone that converts is 10 characters
            only = pc.match_substring_regex(arr, _DATE_ONLY)
    # one cast can succeed: the one the first value's layout allows (a failed cast to
    # zoned times is dear: about 0.6 s per million values)
    if not _zoned(_first_text(arr)):
        try:
            naive = pc.cast(arr, pa.timestamp("ns"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        return _localise(naive, ambiguous, nonexistent, only)
    try:
        aware = pc.cast(arr, pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return _finish(aware.cast(pa.int64()), None)


_ZONED = re.compile(r"[T ]\d.*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


def _zoned(first: str | None) -> bool:
    """True when a value carries a zone (``Z``, ``+01:00``) after its time of day."""
    return first is not None and _ZONED.search(first) is not None


def _first_text(arr: Any) -> str | None:
    """The first non-null value of a (chunked) string array, or None."""
    import pyarrow as pa

    for c in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if len(c) > c.null_count:
            head = c.slice(0, 64).drop_null()
            if not len(head):
                head = c.drop_null()
            return str(head[0].as_py())
    return None


def _by_blocks(arr: Any, ambiguous: str, nonexistent: str, date_only: str
               ) -> tuple[np.ndarray, Any]:
    """Text that does not convert as a whole: each block of :data:`BLOCK_ROWS` rows that does
    (:func:`_cast_text`) is converted by pyarrow; the rows of the others, together, by the
    reference :func:`_slow`.

    A chunk with a handful of bad values (the common dirty export) costs a few
    small pandas parses instead of one of the whole chunk; the answer for each
    row is the same either way (tested against :func:`_slow`).
    """
    import pandas as pd
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    out = np.empty(n, dtype=np.int64)
    reasons = np.full(n, None, dtype=object)
    slow: list[int] = []
    for start in range(0, n, BLOCK_ROWS):
        part = arr.slice(start, BLOCK_ROWS)
        got = _cast_text(part, ambiguous, nonexistent, date_only)
        if got is None:
            slow.append(start)
            continue
        out[start : start + len(part)] = got[0]
        if got[1] is not None:
            reasons[start : start + len(part)] = got[1]
    if slow:
        pos = np.concatenate([np.arange(s, min(s + BLOCK_ROWS, n)) for s in slow])
        text = pd.Series(arr.take(pa.array(pos)).to_pandas(), dtype=object)
        ns, why = _slow(text, ambiguous, nonexistent, date_only)
        out[pos] = ns
        if why is not None:
            reasons[pos] = why
    bad = reasons != None  # noqa: E711
    return out, (reasons if bad.any() else None)


def _min_bytes(arr: Any) -> int:
    """The fewest bytes of a (chunked) string array's non-null values (no less than its
    fewest characters), from the offsets: no pass over the text."""
    import pyarrow as pa

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    best = np.iinfo(np.int64).max
    for c in chunks:
        if len(c) == c.null_count:
            continue
        off, _ = string_buffers(c)
        n = np.diff(off)
        if c.null_count:
            n = n[bool_array(c.is_valid())]
        best = min(best, int(n.min()))
    return best


def _localise(naive: Any, ambiguous: str, nonexistent: str, only: Any) -> tuple[np.ndarray, Any]:
    """Naive Europe/London timestamps -> UTC ns, with clock-change (and date-only) reasons.

    Local times from 1970 to 2037 are localised by the zone's table of clock
    changes (:func:`rct.io.zones.zone_table`: one ``searchsorted``); others
    by ``pyarrow.compute.assume_timezone``, which gives the same answers
    where both apply (tested on every quarter hour of those years).
    """
    import pyarrow as pa

    from rct.io.times import LONDON
    from rct.io.zones import zone_table

    ints = naive.cast(pa.int64())
    filled = ints.fill_null(0) if ints.null_count else ints  # (fill_null copies)
    local = np.array(filled.to_numpy(zero_copy_only=False), dtype=np.int64)
    missing = _nulls(ints, len(local))
    amb = "latest" if ambiguous == "latest" else "earliest"
    out, fold, gap, outside = zone_table(LONDON).localise(local, ambiguous=amb)
    outside &= ~missing
    if outside.any():
        pos = np.flatnonzero(outside)
        o, f, g = _localise_arrow(naive.take(pa.array(pos)), amb)
        out[pos], fold[pos], gap[pos] = o, f, g
    flags: list[tuple[Any, str]] = []
    if only is not None:
        flags.append((bool_array(only), DATE_ONLY))
    if ambiguous == "quarantine":
        flags.append((fold, "ambiguous local time (October clock change)"))
    if nonexistent == "quarantine":
        flags.append((gap, "non-existent local time (March clock change)"))
    reasons = None
    flags = [(m, why) for m, why in flags if m.any()]
    if missing.any() or flags:
        reasons = np.full(len(out), None, dtype=object)
        reasons[missing] = "missing timestamp"
        taken = missing.copy()
        for mask, why in flags:
            m = mask & ~taken  # first reason wins
            reasons[m] = why
            taken |= m
        if not taken.any():
            reasons = None
        else:
            out[taken] = NAT
    return out, reasons


def _localise_arrow(naive: Any, amb: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC ns, in-repeated-hour and in-skipped-hour flags by ``assume_timezone`` (no nulls)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.times import LONDON

    non = "latest"  # shift_forward: the first instant after the gap (02:00 BST)
    base = pc.assume_timezone(naive, LONDON, ambiguous=amb, nonexistent=non)
    other = "latest" if amb == "earliest" else "earliest"
    folded = pc.assume_timezone(naive, LONDON, ambiguous=other, nonexistent=non)
    gapped = pc.assume_timezone(naive, LONDON, ambiguous=amb, nonexistent="earliest")
    out = np.array(base.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return out, bool_array(pc.not_equal(base, folded)), bool_array(pc.not_equal(base, gapped))


def _nulls(arr: Any, n: int) -> np.ndarray:
    """True where an Arrow (chunked) array is null."""
    import pyarrow.compute as pc

    if not arr.null_count:
        return np.zeros(n, dtype=bool)
    return bool_array(pc.is_null(arr))


def _finish(ns: Any, reasons: Any) -> tuple[np.ndarray, Any]:
    out = np.array(ns.fill_null(NAT).to_numpy(zero_copy_only=False), dtype=np.int64)
    if ns.null_count:
        reasons = np.where(out == NAT, "missing timestamp", None).astype(object)
    return out, reasons


def _slow(s: Any, ambiguous: str, nonexistent: str, date_only: str) -> tuple[np.ndarray, Any]:
    """:func:`rct.io.times.parse_times` (the reference), plus the date-only check."""
    import pandas as pd

    from rct.io.times import parse_times

    s = pd.Series(s).reset_index(drop=True)
    t, why = parse_times(s, ambiguous=ambiguous, nonexistent=nonexistent)
    reasons = why.to_numpy(dtype=object, copy=True)
    reasons[pd.isna(reasons)] = None
    if date_only == "reject" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        only = s.astype("string").str.fullmatch(_DATE_ONLY).fillna(False).to_numpy(dtype=bool)
        reasons[only] = DATE_ONLY
    naive = t.dt.tz_convert("UTC").dt.tz_localize(None)
    out = naive.to_numpy().astype("datetime64[ns]").view(np.int64).copy()
    bad = (reasons != None) | (out == NAT)  # noqa: E711
    reasons[(reasons == None) & (out == NAT)] = "missing timestamp"  # noqa: E711
    out[bad] = NAT
    return out, (reasons if bad.any() else None)


# ---------------------------------------------------------------------- text


def as_arrow(values: Any) -> Any:
    """An Arrow array for Arrow or pandas input (object columns as text)."""
    import pandas as pd
    import pyarrow as pa

    arr = _arrow(values)
    if arr is not None:
        return arr
    s = pd.Series(values).reset_index(drop=True)
    try:
        return pa.Array.from_pandas(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.Array.from_pandas(s.astype("string"))


def as_text(values: Any) -> Any:
    """Values as an Arrow string array (numbers and dates written out; nulls kept)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = as_arrow(values)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_large_string(arr.type):
        return arr.cast(pa.string())
    if not pa.types.is_string(arr.type):
        try:
            arr = pc.cast(arr, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            import pandas as pd

            arr = pa.Array.from_pandas(pd.Series(arr.to_pylist(), dtype=object).astype("string"))
    return arr


def stripped(values: Any) -> Any:
    """Text with surrounding whitespace removed (Arrow string array)."""
    import pyarrow.compute as pc

    return pc.utf8_trim_whitespace(as_text(values))


def blank_mask(text: Any) -> np.ndarray:
    """True where a (stripped) text value is missing or empty."""
    import pyarrow.compute as pc

    m = pc.or_kleene(pc.is_null(text), pc.equal(text, ""))
    return bool_array(m, fill=True)


def string_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """An Arrow (large) string array's value offsets (``len(arr) + 1`` of them, into the
    data buffer; int32 or int64 as stored) and its bytes (uint8; None without a data
    buffer), as zero-copy numpy views."""
    import pyarrow as pa

    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    bufs = arr.buffers()
    off = np.frombuffer(bufs[1], dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    return off, (None if bufs[2] is None else np.frombuffer(bufs[2], dtype=np.uint8))


def bool_array(mask: Any, *, fill: bool = False) -> np.ndarray:
    """An Arrow boolean array (nulls as ``fill``) as a numpy bool array."""
    return np.asarray(mask.fill_null(fill).to_numpy(zero_copy_only=False), dtype=bool)


def isin_mask(text: Any, values: Any) -> np.ndarray:
    """True where a text value is one of ``values``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    vs = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    return bool_array(pc.is_in(text, value_set=vs))


def index_in(text: Any, values: Any) -> np.ndarray:
    """Position of each text value in ``values`` (-1 where absent or null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    vs = values if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    out = pc.index_in(text, value_set=vs).fill_null(-1)
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.int64)
