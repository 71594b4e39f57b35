"""Cells and identifiers that are safe to open and to show.

*Spreadsheet formula injection.*  Officers open schedules and tasking lists
in Excel; a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return) is run as a formula.  Every CSV (and, later, XLSX) that
:mod:`rct` writes goes through :func:`neutralise_frame`, which prefixes such
text cells with a single quote, as OWASP recommends ("CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection).  Numeric columns
are untouched, and so is text that is a plain number (``-12``, ``+3.5``),
which no spreadsheet runs.  A text cell that already starts with a quote
followed by one of those characters gets a second quote, so
:func:`restore_frame` (used when :mod:`rct` reads its own outputs back)
undoes the prefix exactly.

*Invisible characters in identifiers.*  A hot-spot or patrol id holding a
bidirectional override (U+202A-U+202E, U+2066-U+2069), a directional mark
(U+200E/U+200F, U+061C), a zero-width character (U+200B-U+200D, U+2060,
U+FEFF) or a control character can display as a different id in a report
or a spreadsheet.  :func:`invisible_mask` finds them; readers refuse
hot-spot ids that hold one (:func:`check_identifiers`) and quarantine rows
of event data whose ids hold one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "INVISIBLE",
    "neutralise_cell",
    "neutralise_frame",
    "restore_frame",
    "invisible_mask",
    "check_identifiers",
    "invisible_reason",
]

#: characters refused in identifiers (a regex character class)
INVISIBLE = (
    "[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
_INVISIBLE_RE = re.compile(INVISIBLE)
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """``"=1+1"`` -> ``"'=1+1"``; other values unchanged (see the module notes)."""
    if not isinstance(value, str) or not _FORMULA.match(value) or _PLAIN_NUMBER.match(value):
        return value
    return "'" + value


def _restore_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value[1:]):
        return value[1:]
    return value


def _text_columns(df: pd.DataFrame) -> list[Any]:
    import pandas as pd

    return [
        c
        for c in df.columns
        if df[c].dtype == object
        or pd.api.types.is_string_dtype(df[c].dtype)
        or isinstance(df[c].dtype, pd.CategoricalDtype)
    ]


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with formula-leading text cells prefixed by ``'`` (numbers untouched).

    Column names are neutralised too.  Returns ``df`` itself when nothing
    needs changing.
    """
    import pandas as pd

    changed: dict[Any, Any] = {}
    for c in _text_columns(df):
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        text = s.astype("string")
        risky = text.str.match(_FORMULA.pattern).fillna(False).to_numpy(dtype=bool)
        if not risky.any():
            continue
        fixed = s.astype(object).to_numpy(copy=True)
        idx = np.flatnonzero(risky)
        fixed[idx] = [neutralise_cell(v) for v in fixed[idx]]
        changed[c] = fixed
    names = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in df.columns]
    if not changed and names == list(df.columns):
        return df
    out = df.copy()
    for c, v in changed.items():
        out[c] = pd.Series(v, index=df.index, dtype=object)
    out.columns = names
    return out


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_frame` on a table :mod:`rct` wrote (in place; returns it)."""
    import pandas as pd

    df.columns = [_restore_cell(c) for c in df.columns]
    for c in _text_columns(df):
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            continue
        text = s.astype("string")
        marked = text.str.match(r"^'+[=+\-@\t\r]").fillna(False).to_numpy(dtype=bool)
        if marked.any():
            fixed = s.astype(object).to_numpy(copy=True)
            idx = np.flatnonzero(marked)
            fixed[idx] = [_restore_cell(v) for v in fixed[idx]]
            df[c] = pd.Series(fixed, index=df.index, dtype=s.dtype if s.dtype != object else object)
    return df


def invisible_mask(values: Any) -> np.ndarray:
    """True where a text value holds an invisible or control character (see :data:`INVISIBLE`).

    Text (an Arrow string array, a pandas ``string`` Series or an object Series of
    ``str``) is screened on its UTF-8 bytes: every character :data:`INVISIBLE` names is
    a byte below 0x20, 0x7F, or part of a multi-byte character (a byte of 0x80 or
    more), so only the values holding such a byte go through the regular expression.
    Other values are read as ``values.astype("string")`` would show them.
    """
    import pandas as pd
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray | pa.Array):
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return np.zeros(len(values), dtype=bool)
        return _screened(values)
    s = pd.Series(values)
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return np.zeros(len(s), dtype=bool)
    arr = _as_text_array(s)
    if arr is not None:
        return _screened(arr)
    return s.astype("string").str.contains(INVISIBLE, regex=True).fillna(False).to_numpy(bool)


def _as_text_array(s: pd.Series) -> Any:
    """``s`` as an Arrow string array when it holds text only (None otherwise)."""
    import pandas as pd
    import pyarrow as pa

    if not isinstance(s.dtype, pd.StringDtype):
        if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
            return None  # numbers, bytes, mixed: the general path shows them as text
    try:
        arr = pa.array(s.array if isinstance(s.dtype, pd.StringDtype) else s.to_numpy(
            dtype=object), type=None if isinstance(s.dtype, pd.StringDtype) else pa.string(),
            from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr


_BLOCK = 1 << 20


def _screened(values: Any) -> np.ndarray:
    """:func:`invisible_mask` of an Arrow string array: the regular expression only on
    the values holding a byte outside printable ASCII (0x20-0x7E)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.convert import bool_array, string_buffers

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    out = np.zeros(len(values), dtype=bool)
    at = 0
    for arr in chunks:
        n = len(arr)
        off, data = string_buffers(arr) if n else (None, None)
        if data is not None and len(data):
            lo, hi = int(off[0]), int(off[-1])
            # a block at a time: small temporaries, reused (no fresh pages per byte)
            pos = np.concatenate([np.zeros(0, np.int64)] + [
                b + np.flatnonzero((data[b: min(b + _BLOCK, hi)] < 0x20)
                                   | (data[b: min(b + _BLOCK, hi)] > 0x7E))
                for b in range(lo, hi, _BLOCK)])
            if len(pos):
                # the value holding each such byte (empty values hold none)
                rows = np.unique(np.searchsorted(off, pos, side="right") - 1)
                m = pc.match_substring_regex(arr.take(pa.array(rows)), INVISIBLE)
                out[at + rows] = bool_array(m)
        at += n
    return out


def _codepoint(value: str) -> str:
    m = _INVISIBLE_RE.search(value)
    return "" if m is None else f"U+{ord(m.group(0)):04X}"


def invisible_reason(column: str) -> str:
    """The quarantine reason for an id holding an invisible character."""
    return f"{column} holds an invisible or control character"


def check_identifiers(
    values: Any, *, file: object = None, column: str = "hotspot_id", rows: Any = None
) -> None:
    """Refuse identifiers holding invisible, bidirectional or control characters.

    Raises
    ------
    DataError
        Naming the file, the (1-based) row, the column, the value (escaped)
        and the code point.
    """
    bad = invisible_mask(values)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    seq = list(values.to_pylist() if hasattr(values, "to_pylist") else values)
    value = str(seq[i])
    row = int(rows[i]) if rows is not None else i + 1
    more = int(bad.sum()) - 1
    raise DataError(
        f"identifier holds an invisible or control character {_codepoint(value)} (it can "
        "display as a different id in reports and spreadsheets)"
        + (f"; {more} more row(s) too" if more else ""),
        file=file,
        row=row,
        column=column,
        value=value.encode("unicode_escape").decode("ascii"),
    )
