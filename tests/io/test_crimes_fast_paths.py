"""The crime reader's Arrow fast paths give what the pandas spelling gives."""

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.io.crimes import filled, month_strings
from rct.io.quarantine import Quarantiner

_TEXT = st.one_of(st.none(), st.text(st.characters(codec="utf-8"), max_size=6))


@settings(max_examples=80, deadline=None)
@given(st.lists(_TEXT, max_size=40), st.data())
def test_filled_is_setitem(values, data):
    where = np.array(data.draw(st.lists(st.booleans(), min_size=len(values),
                                        max_size=len(values))), dtype=bool)
    index = pd.RangeIndex(len(values)) + 10
    new_vals = data.draw(st.lists(st.text(max_size=5), min_size=int(where.sum()),
                                  max_size=int(where.sum())))
    new = pd.Series(new_vals, index=index[where], dtype="string")
    cut = data.draw(st.integers(0, len(values)))
    arr = pa.array(values, type=pa.large_string())
    for s in (pd.Series(values, index=index, dtype="string"),
              pd.Series(values, index=index, dtype=pd.StringDtype("python")),  # pandas 2
              # chunks, as the CSV reader gives them
              pd.Series(pd.array(pa.chunked_array([arr.slice(0, cut), arr.slice(cut)]),
                                 dtype=pd.StringDtype()), index=index)):
        want = s.copy()
        want[pd.Series(where, index=index)] = new
        got = filled(s, pd.Series(where, index=index), new)
        pd.testing.assert_series_equal(got, want)


def test_month_strings_flags_and_values():
    raw = pd.DataFrame({"Month": ["2024-01", " 2024-02 ", "", "2024-13", "Jan", "2024-01"]},
                       index=np.arange(6) + 3)
    q = Quarantiner(raw, source="f.csv")
    got = month_strings(q, raw["Month"])
    assert got.index.equals(raw.index) and isinstance(got.dtype, pd.StringDtype)
    assert got.tolist() == ["2024-01", "2024-02", pd.NA, pd.NA, pd.NA, "2024-01"]
    reasons = q._reason.tolist()
    assert reasons == [pd.NA, pd.NA, "missing month", "unparseable month",
                       "unparseable month", pd.NA]
