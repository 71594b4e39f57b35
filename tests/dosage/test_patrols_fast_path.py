"""The fast paths of patrol dosage against plain references (issue 16, goal 2).

``ingest_patrols`` builds the dosage from the reader's codes and trial days
(``_dosage_of``), splits patrols at trial days on nanoseconds (``_split_days``)
and merges intervals by one packed-key sort (``interval_union``).  Each is
checked here against a plain computation: ``split_by_trial_day``, a Python
sweep over ``np.lexsort`` order, and a per-hot-spot-day loop over the accepted
patrols.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.dosage.intervals import interval_union
from rct.dosage.patrols import DOSAGE_COLUMNS, _split_days, ingest_patrols
from rct.io.times import parse_day_start, split_by_trial_day, trial_day_ns

KEY = b"fast-path-test-key-0123456789"
HOTSPOTS = ("HS01", "HS02", "HS03")
DAY = 86_400 * 10**9
# the days around both clock changes of 2024, and an ordinary one
STARTS = [pd.Timestamp(d, tz="Europe/London") for d in ("2024-03-30", "2024-10-26", "2024-06-01")]


def _sweep(g, s, e, n_groups):
    """Union length, blocks, total and block ids by a plain loop over lexsort order."""
    order = np.lexsort((s, g))
    length = np.zeros(n_groups, np.int64)
    blocks = np.zeros(n_groups, np.int64)
    total = np.zeros(n_groups, np.int64)
    block_id = np.empty(len(g), np.int64)
    block, last_g, reach = -1, None, None
    for i in order:
        gi, si, ei = int(g[i]), int(s[i]), int(e[i])
        total[gi] += ei - si
        if gi != last_g or si > reach:  # a new block
            block += 1
            blocks[gi] += 1
            length[gi] += ei - si
            reach = ei
        else:
            length[gi] += max(ei - reach, 0)
            reach = max(reach, ei)
        last_g = gi
        block_id[i] = block
    return length, blocks, total, block_id


def _check_against_sweep(g, s, e, n_groups):
    """interval_union's four outputs equal the plain sweep's."""
    u = interval_union(g, s, e, n_groups=n_groups)
    length, blocks, total, block_id = _sweep(g, s, e, n_groups)
    np.testing.assert_array_equal(u.length, length)
    np.testing.assert_array_equal(u.blocks, blocks)
    np.testing.assert_array_equal(u.total, total)
    np.testing.assert_array_equal(u.block_id, block_id)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 400), st.integers(0, 50)),
             min_size=2, max_size=60),
    st.sampled_from([1, 10**3, 10**6, 10**9, 7]),
    st.integers(-(10**12), 10**12),
)
def test_packed_union_equals_a_plain_sweep(items, unit, shift):
    g = np.array([i[0] for i in items], np.int64)
    s = np.array([i[1] for i in items], np.int64) * unit + shift
    e = s + np.array([i[2] for i in items], np.int64) * unit
    _check_against_sweep(g, s, e, 7)


def test_union_too_wide_to_pack_takes_the_two_sort_path():
    """A year in nanoseconds over 10**5 groups does not fit one int64 key: same answers."""
    rng = np.random.default_rng(3)
    n = 3000
    g = rng.integers(0, 100_000, n)
    s = rng.integers(0, 366 * DAY, n) + 1  # not whole microseconds
    e = s + rng.integers(0, 4 * 3600 * 10**9, n)
    g[:2] = [0, 99_999]
    _check_against_sweep(g, s, e, 100_000)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3 * 24 * 60), st.integers(0, 26 * 60),
                       st.integers(0, 59)), min_size=1, max_size=40),
    st.sampled_from(STARTS),
    st.sampled_from(["06:00", "00:00", "07:30", "23:15"]),
)
def test_split_on_nanoseconds_equals_split_by_trial_day(items, base, day_starts):
    offset = parse_day_start(day_starts)
    start = [base + pd.Timedelta(minutes=m, seconds=sec) for m, _, sec in items]
    end = [a + pd.Timedelta(minutes=length) for a, (_, length, _) in zip(start, items,
                                                                       strict=True)]
    s_utc = pd.Series(pd.DatetimeIndex(start).tz_convert("UTC")).astype("datetime64[ns, UTC]")
    e_utc = pd.Series(pd.DatetimeIndex(end).tz_convert("UTC")).astype("datetime64[ns, UTC]")
    a = s_utc.dt.tz_localize(None).to_numpy().view(np.int64)
    b = e_utc.dt.tz_localize(None).to_numpy().view(np.int64)
    d0 = trial_day_ns(a, offset) // DAY
    d1 = trial_day_ns(np.where(b <= a, b, b - 1), offset) // DAY
    rows, day, lo, hi, minutes = _split_days(a, b, d0, d1, offset)
    ref = split_by_trial_day(s_utc, e_utc, day_starts, kind="datetime64")
    np.testing.assert_array_equal(rows, ref["row"].to_numpy())
    np.testing.assert_array_equal(
        day, ref["trial_date"].to_numpy().astype("datetime64[D]").astype(np.int64))
    for mine, col in ((lo, "start"), (hi, "end")):
        theirs = ref[col].dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(minutes, ref["minutes"].to_numpy())


def _reference(data: pd.DataFrame, day_starts: str, first: dt.date, last: dt.date):
    """The dosage of the accepted patrols by a plain loop per hot-spot-day."""
    pieces = split_by_trial_day(data["arrived_at"], data["left_at"], day_starts)
    began = split_by_trial_day(data["arrived_at"], data["arrived_at"], day_starts)["trial_date"]
    out = []
    for h in HOTSPOTS:
        for day in pd.date_range(first, last).date:
            mine = pieces[(data["hotspot_id"].to_numpy()[pieces["row"]] == h)
                          & (pieces["trial_date"] == day)]
            rows = data.iloc[mine["row"].to_numpy()]
            spans = sorted(zip(mine["start"], mine["end"], strict=True))
            presence, periods, reach = pd.Timedelta(0), 0, None
            for a, b in spans:
                if reach is None or a > reach:
                    periods += 1
                    presence += b - a
                    reach = b
                elif b > reach:
                    presence += b - reach
                    reach = b
            started = data[(data["hotspot_id"] == h) & (began == day).to_numpy()]
            m = mine["minutes"].to_numpy()
            out.append({
                "hotspot_id": h, "trial_date": day, "visits": len(started),
                "presence_minutes": presence.value / 60e9,
                "officer_minutes": float(sum(m)),
                "foot_minutes": float(sum(m * (rows["mode"] == "foot").to_numpy())),
                "vehicle_minutes": float(sum(m * (rows["mode"] == "vehicle").to_numpy())),
                "stops": int(started["stops"].sum()),
                "officers": rows["officer"].nunique(),
                "visits_lt5": int((started["minutes"] < 5).sum()),
                "visits_10_15": int(started["minutes"].between(10, 15).sum()),
                "presence_periods": periods,
            })
    return pd.DataFrame(out, columns=list(DOSAGE_COLUMNS))


row = st.tuples(
    st.sampled_from(["HS01", "HS02", " HS03 ", "HS01", "HS02", "HS99", ""]),  # padded, unknown
    st.sampled_from(["PC1", "PC2", " PC3", "PC1", "PC2", ""]),
    # start, minutes after the base day's midnight: often just before 06:00 or midnight,
    # or in the clock-change hours (01:00-02:00)
    st.builds(lambda d, m, j: d * 1440 + m + j, st.integers(0, 3),
              st.sampled_from([0, 60, 90, 300, 340, 355, 600, 1380, 1430]), st.integers(0, 9)),
    st.sampled_from([0, 1, 4, 5, 10, 15, 16, 45, 90, 200, 300, -5]),  # -5: left before
    st.sampled_from(["foot", "vehicle", "", "foot", "vehicle", "bike"]),  # bike: quarantined
    st.sampled_from(["yes", "no", "2", "", "yes", "no", "x"]),  # "x": quarantined
)


@pytest.mark.filterwarnings("ignore::rct.errors.RCTWarning")
@settings(max_examples=25, deadline=None)
@given(st.lists(row, min_size=1, max_size=30), st.sampled_from(STARTS),
       st.sampled_from(["06:00", "00:00"]), st.booleans())
def test_ingest_equals_a_plain_dosage_of_the_accepted_patrols(rows, base, day_starts, dup):
    logs = pd.DataFrame({
        "patrol_id": [f"p{i}" for i in range(len(rows))],
        "officer_id": [r[1] for r in rows],
        "hotspot_id": [r[0] for r in rows],
        "arrived_at": [(base + pd.Timedelta(minutes=r[2])).strftime("%Y-%m-%d %H:%M:%S")
                       for r in rows],
        "left_at": [(base + pd.Timedelta(minutes=r[2] + r[3])).strftime("%Y-%m-%d %H:%M:%S")
                    for r in rows],
        "mode": [r[4] for r in rows],
        "stopped": [r[5] for r in rows],
    })
    if dup:  # an exact duplicate and a conflicting one (both quarantined)
        logs = pd.concat([logs, logs.iloc[:1], logs.iloc[:1].assign(mode="foot", stopped="7")],
                         ignore_index=True)
    first = base.date()
    last = first + dt.timedelta(days=3)
    got = ingest_patrols(logs, key=KEY, hotspots=list(HOTSPOTS), day_starts=day_starts,
                         trial_start=first, trial_end=last, max_quarantined=1.0,
                         nonexistent="shift_forward")
    want = _reference(got.read.data, day_starts, first, last)
    pd.testing.assert_frame_equal(got.dosage, want, check_exact=True, check_dtype=False)
    # the public patrol_dosage of the same rows (factorized, no reader codes) agrees
    from rct.dosage.patrols import patrol_dosage

    again = patrol_dosage(got.read.data, day_starts=day_starts, trial_start=first,
                          trial_end=last, hotspots=list(HOTSPOTS))
    pd.testing.assert_frame_equal(got.dosage, again, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "", "P1", "é"]),
                       st.text(max_size=3)), max_size=30),
    st.booleans(),
)
def test_repeated_patrol_ids_by_dictionary_match_counting(values, chunked):
    """Every occurrence of an id seen more than once is flagged, nulls never (chunked too)."""
    from collections import Counter

    import pyarrow as pa

    from rct.dosage.patrol_logs import _repeated

    arr = pa.array(values, type=pa.string())
    if chunked and len(values) > 1:
        arr = pa.chunked_array([arr.slice(0, len(values) // 2), arr.slice(len(values) // 2)])
    seen = Counter(v for v in values if v is not None)
    want = [v is not None and seen[v] > 1 for v in values]
    assert _repeated(arr).tolist() == want
