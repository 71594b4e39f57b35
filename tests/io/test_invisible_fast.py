"""invisible_mask's byte screen (only values holding a byte outside printable ASCII go
through the regular expression) agrees with Python's ``re`` on every value."""

import re

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.io.safety import INVISIBLE, invisible_mask

_RE = re.compile(INVISIBLE)
# printable ASCII, controls, DEL/C1, the named invisibles, their neighbours, other non-ASCII
_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.sampled_from(["\x00", "\x09", "\x1f", "\x7f", "\x80", "\x9f", "\xa0", "\u061b",
                     "\u061c", "\u200a", "\u200b", "\u200f", "\u2010", "\u202a", "\u202e",
                     "\u202f", "\u2060", "\u2069", "\u206a", "\ufeff", "\ufeff", "\u00e9",
                     "\U0001f600"]),
    st.characters(codec="utf-8"),
)
_VALUES = st.lists(st.one_of(st.none(), st.text(_CHARS, max_size=12)), max_size=60)


def _reference(values):
    return np.array([isinstance(v, str) and _RE.search(v) is not None for v in values],
                    dtype=bool)


@settings(max_examples=150, deadline=None)
@given(_VALUES, st.integers(0, 5))
def test_screen_matches_python_re(values, cut):
    want = _reference(values)
    arr = pa.array(values, type=pa.string())
    np.testing.assert_array_equal(invisible_mask(arr), want)
    np.testing.assert_array_equal(invisible_mask(arr.cast(pa.large_string())), want)
    # a slice and a chunked array: offsets that do not start at the buffer's start
    cut = min(cut, len(values))
    np.testing.assert_array_equal(invisible_mask(arr.slice(cut)), want[cut:])
    chunked = pa.chunked_array([arr.slice(0, cut), arr.slice(cut)], type=pa.string())
    np.testing.assert_array_equal(invisible_mask(chunked), want)
    np.testing.assert_array_equal(invisible_mask(pd.Series(values, dtype="string")), want)
    np.testing.assert_array_equal(invisible_mask(pd.Series(values, dtype=object)), want)
    # pandas 2's default text storage
    python = pd.Series(values, dtype=pd.StringDtype("python"))
    np.testing.assert_array_equal(invisible_mask(python), want)


def test_values_that_are_not_text_are_shown_as_text():
    # bytes, numbers and mixed objects take the general path, as astype("string") shows them
    vals = pd.Series([b"a\x00", 5, "x\u200by", None, "ok"], dtype=object)
    want = vals.astype("string").str.contains(INVISIBLE, regex=True).fillna(False)
    np.testing.assert_array_equal(invisible_mask(vals), want.to_numpy(bool))
    assert list(invisible_mask(vals)) == [True, False, True, False, False]  # bytes decoded
    assert not invisible_mask(pd.Series([1.5, np.nan])).any()
