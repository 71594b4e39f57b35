"""The fast timestamp paths of :mod:`rct.io.convert` against the general one.

:func:`rct.io.convert.utc_ns` converts a clean chunk with one pyarrow cast and
localises naive Europe/London times by the zone's table of clock changes
(:mod:`rct.io.zones`); a chunk that does not convert as a whole goes block by
block (:func:`rct.io.convert._by_blocks`).  Each must give, value for value
and reason for reason, what the general path gives: :func:`rct.io.convert._slow`,
i.e. :func:`rct.io.times.parse_times` (pandas) plus the date-only rule.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rct.io import convert
from rct.io.convert import NAT, _slow, utc_ns
from rct.io.zones import zone_table

LONDON = "Europe/London"
ZT = zone_table(LONDON)
# the clock changes of 2020-2030 as local wall-clock datetimes (start of the window)
_CHANGES = [
    dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(s) // 1000)
    for s in ZT.start
    if dt.datetime(2020, 1, 1) <= dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(s) // 1000)
    < dt.datetime(2031, 1, 1)
]


@st.composite
def local_times(draw: st.DrawFn) -> dt.datetime:
    """A wall-clock time in 2020-2030, half of them within 3 hours of a clock change."""
    if draw(st.booleans()):
        base = draw(st.sampled_from(_CHANGES))
        return base + dt.timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return draw(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31)))


@st.composite
def stamps(draw: st.DrawFn) -> str | None:
    kind = draw(st.sampled_from(["iso"] * 6 + ["date", "bad", "none", "space"]))
    if kind == "none":
        return None
    t = draw(local_times())
    if kind == "date":
        return t.strftime("%Y-%m-%d")
    if kind == "bad":
        return draw(st.sampled_from([
            "", "   ", "not a time", "2024-13-01 00:00:00", "2024-02-30 10:00:00",
            "2024-01-01 24:00:00", "2024-01-01 12:00:60", "2024-1-1 12:00:00",
            "01/02/2024 10:00", "2024-01-01T12:00:00z", "2024-01-01T12:00:00,5",
            "2024-01-01  12:00:00", "12:00:00", "2024-01-01T", "2024-01-01 12:00:00.1234567891",
        ]))
    sep = draw(st.sampled_from(["T", " "]))
    text = t.strftime("%Y-%m-%d") + sep + t.strftime("%H:%M")
    if draw(st.booleans()):
        text += t.strftime(":%S")
        digits = draw(st.integers(0, 9))
        if digits:
            text += "." + "".join(draw(st.lists(st.sampled_from("0123456789"),
                                                min_size=digits, max_size=digits)))
    zone = draw(st.sampled_from(["", "", "", "Z", "+01:00", "-05:30", "+0100", "+01", "+00:00"]))
    text += zone
    if kind == "space":
        text = draw(st.sampled_from([" ", "  "])) + text + draw(st.sampled_from(["", " "]))
    return text


OPTIONS = st.fixed_dictionaries({
    "ambiguous": st.sampled_from(["earliest", "latest", "quarantine"]),
    "nonexistent": st.sampled_from(["shift_forward", "quarantine"]),
    "date_only": st.sampled_from(["accept", "reject"]),
})


def _general(values: list, **kw: str) -> tuple[np.ndarray, np.ndarray]:
    ns, why = _slow(pd.Series(values, dtype=object), kw["ambiguous"], kw["nonexistent"],
                    kw["date_only"])
    return ns, (np.full(len(ns), None, dtype=object) if why is None else why)


def _check(values: list, arr: object, **kw: str) -> None:
    ns, why = utc_ns(arr, **kw)
    why = np.full(len(ns), None, dtype=object) if why is None else why
    ref_ns, ref_why = _general(values, **kw)
    assert list(why) == list(ref_why), (values, kw)
    assert list(ns) == list(ref_ns), (values, kw)


# a whole chunk of one layout: the one-cast paths
UNIFORM = st.sampled_from(["naive", "zoned", "date"]).flatmap(
    lambda k: st.lists(stamps().filter(lambda s: _layout(s) == k), min_size=1, max_size=40)
)


def _layout(s: str | None) -> str:
    if s is None:
        return "naive"
    if len(s) == 10:
        return "date"
    return "zoned" if s.endswith(("Z", "+01:00", "-05:30", "+0100", "+01", "+00:00")) else "naive"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(values=UNIFORM, kw=OPTIONS)
def test_uniform_chunks_agree_with_general_path(values: list, kw: dict) -> None:
    _check(values, pa.array(values, type=pa.string()), **kw)


@settings(max_examples=120, deadline=None)
@given(values=st.lists(stamps(), min_size=1, max_size=60), kw=OPTIONS,
       block=st.sampled_from([1, 3, 7, 4096]))
def test_mixed_chunks_agree_with_general_path(values: list, kw: dict, block: int) -> None:
    """Any mixture (naive, zoned, dates alone, malformed, blanks), in blocks of any size and
    as a chunked array."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(convert, "BLOCK_ROWS", block)
        _check(values, pa.array(values, type=pa.string()), **kw)
        cut = len(values) // 2
        chunked = pa.chunked_array([pa.array(values[:cut], type=pa.string()),
                                    pa.array(values[cut:], type=pa.string())])
        _check(values, chunked, **kw)


@settings(max_examples=60, deadline=None)
@given(times=st.lists(local_times(), min_size=1, max_size=50), kw=OPTIONS)
def test_typed_naive_timestamps_agree_with_general_path(times: list, kw: dict) -> None:
    """Naive timestamps (Parquet, a database) localise like their text."""
    naive = pa.array(times, type=pa.timestamp("us")).cast(pa.timestamp("ns"))
    ns, why = utc_ns(naive, ambiguous=kw["ambiguous"], nonexistent=kw["nonexistent"])
    ref_ns, ref_why = _general([t.isoformat() for t in times], **{**kw, "date_only": "accept"})
    assert list(ns) == list(ref_ns)
    assert list(np.full(len(ns), None) if why is None else why) == list(ref_why)


def test_zone_table_agrees_with_assume_timezone_every_quarter_hour() -> None:
    """1970-2037 and a year either side (there the library is used): every quarter hour."""
    step = 15 * 60 * 10**9
    local = np.arange(ZT.lo - 366 * 86400 * 10**9, ZT.hi + 366 * 86400 * 10**9, step,
                      dtype=np.int64)
    naive = pa.array(local.view("datetime64[ns]"))
    for amb in ("earliest", "latest"):
        utc, fold, gap, outside = ZT.localise(local, ambiguous=amb)
        ref = pc.assume_timezone(naive, LONDON, ambiguous=amb, nonexistent="latest")
        other = pc.assume_timezone(naive, LONDON, ambiguous="latest" if amb == "earliest"
                                   else "earliest", nonexistent="latest")
        early = pc.assume_timezone(naive, LONDON, ambiguous=amb, nonexistent="earliest")
        inside = ~outside
        assert inside.sum() > 2_000_000 and outside.sum() > 60_000
        np.testing.assert_array_equal(utc[inside], ref.cast(pa.int64()).to_numpy()[inside])
        np.testing.assert_array_equal(fold[inside], pc.not_equal(ref, other).to_numpy(
            zero_copy_only=False)[inside])
        np.testing.assert_array_equal(gap[inside], pc.not_equal(ref, early).to_numpy(
            zero_copy_only=False)[inside])
        # every repeated / skipped hour is four quarter hours
        assert fold[inside].sum() == 4 * int((ZT.after < ZT.before).sum()) == 268
        assert gap[inside].sum() == 4 * int((ZT.after > ZT.before).sum()) == 264
    # two clock changes a year from 1972 (Oct 1968 - Oct 1971: British Standard Time all year)
    assert len(ZT.at) == 133


def test_zone_table_constant_chunk_and_clock_change_rows() -> None:
    """A chunk within one offset takes the shortcut; the 2024 changes are found exactly."""
    t = pd.Timestamp
    ns = lambda s: np.array([t(x).value for x in s], dtype=np.int64)  # noqa: E731
    utc, fold, gap, out = ZT.localise(ns(["2024-06-01 12:00", "2024-06-02 00:00"]))
    assert list(utc) == list(ns(["2024-06-01 11:00", "2024-06-01 23:00"]))
    assert not fold.any() and not gap.any() and not out.any()
    local = ns(["2024-03-31 00:59:59", "2024-03-31 01:00", "2024-03-31 01:59:59",
                "2024-03-31 02:00", "2024-10-27 00:59", "2024-10-27 01:00", "2024-10-27 01:59",
                "2024-10-27 02:00"])
    utc, fold, gap, out = ZT.localise(local, ambiguous="earliest")
    assert list(gap) == [False, True, True, False, False, False, False, False]
    assert list(fold) == [False, False, False, False, False, True, True, False]
    assert list(utc) == list(ns(["2024-03-31 00:59:59", "2024-03-31 01:00", "2024-03-31 01:00",
                                 "2024-03-31 01:00", "2024-10-26 23:59", "2024-10-27 00:00",
                                 "2024-10-27 00:59", "2024-10-27 02:00"]))
    utc, *_ = ZT.localise(local, ambiguous="latest")
    assert list(utc[5:7]) == list(ns(["2024-10-27 01:00", "2024-10-27 01:59"]))


def test_zone_table_chunks_search_only_their_changes_and_agree_with_the_whole_table() -> None:
    """localise and wall search only the changes between a chunk's first and last value:
    random windows (a day to three years, placed anywhere, edges on the changes too) give
    what the whole table gives for each value alone."""
    rng = np.random.default_rng(16)
    step = 15 * 60 * 10**9
    grid = np.arange(ZT.lo, ZT.hi, step, dtype=np.int64)
    edges = np.concatenate([ZT.start, ZT.stop, ZT.at])
    for k in range(300):
        width = int(rng.integers(96, 3 * 35_064))
        if k % 3 == 0:  # start on a clock change
            i = int(np.searchsorted(grid, edges[rng.integers(len(edges))]))
        else:
            i = int(rng.integers(0, len(grid) - width))
        chunk = rng.permutation(grid[i:i + width])
        for amb in ("earliest", "latest"):
            got = ZT.localise(chunk, ambiguous=amb)
            one = [np.concatenate(parts) for parts in zip(*(
                ZT.localise(chunk[j:j + 1], ambiguous=amb) for j in range(0, len(chunk), 997)), strict=True)]
            for g, w in zip(got, one, strict=True):
                np.testing.assert_array_equal(g[::997], w)
        utc = got[0]
        wall = ZT.wall(utc)
        alone = np.concatenate([ZT.wall(utc[j:j + 1]) for j in range(0, len(utc), 997)])
        np.testing.assert_array_equal(wall[::997], alone)
        # the wall clock of the UTC instant is the local time back (outside the gaps)
        keep = ~got[2]
        np.testing.assert_array_equal(wall[keep], chunk[keep])


def test_a_few_bad_values_convert_block_by_block() -> None:
    """One million clean values with three bad ones: the bad ones quarantined, the rest as
    the general path gives, and only their blocks parsed by pandas."""
    v = pd.date_range("2024-01-01", periods=200_000, freq="37s").strftime(
        "%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    v[[5, 100_000, 199_999]] = ["bad", "2024-13-01 00:00:00", "2024-01-01T00:00:00Z"]
    ns, why = utc_ns(pa.array(v), date_only="reject")
    ref_ns, ref_why = _slow(pd.Series(v), "earliest", "shift_forward", "reject")
    np.testing.assert_array_equal(ns, ref_ns)
    assert list(why) == list(ref_why)
    assert list(why[[5, 100_000, 199_999]]) == ["unparseable timestamp"] * 2 + [None]
    assert ns[199_999] == pd.Timestamp("2024-01-01").value and ns[5] == NAT


def test_duplicate_crime_ids_by_dictionary_encoding_match_pandas() -> None:
    """rct.io.crimes._duplicated (pyarrow) = pandas duplicated(keep="first") & notna, across
    files, with blanks and non-text ids."""
    from rct.io.crimes import _duplicated, _id_text

    rng = np.random.default_rng(4)
    files = [pd.Series(rng.choice(["a", "b", "c", "d", None], n).tolist(), dtype="string")
             for n in (50, 1, 0, 30)]
    parts = [_id_text(f, np.flatnonzero(rng.random(len(f)) < 0.8)) for f in files]
    ref = pd.Series([v for p in parts for v in p.to_pylist()], dtype=object)
    want = ref.duplicated(keep="first").to_numpy() & ref.notna().to_numpy()
    np.testing.assert_array_equal(_duplicated(parts), want)
    mixed = [_id_text(pd.Series([1, 2, 1, None], dtype=object), np.arange(4))]
    np.testing.assert_array_equal(_duplicated(mixed), [False, False, True, False])


@st.composite
def slash_columns(draw: st.DrawFn) -> list:
    """A column of slash dates, most in one fixed layout (the byte path), some not."""
    width = draw(st.sampled_from([10, 16, 19]))
    n = draw(st.integers(1, 30))
    out = []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            out.append(None)
            continue
        d, m = draw(st.integers(0, 39)), draw(st.integers(0, 19))
        y = draw(st.integers(1990, 2040))
        s1, s2 = draw(st.sampled_from("/.-")), draw(st.sampled_from("/.-"))
        text = f"{d:02d}{s1}{m:02d}{s2}{y}"
        if width > 10:
            text += draw(st.sampled_from([" ", "T"])) + f"{draw(st.integers(0, 29)):02d}:" \
                f"{draw(st.integers(0, 69)):02d}"
        if width == 19:
            text += f":{draw(st.integers(0, 69)):02d}"
        if draw(st.integers(0, 14)) == 0:  # off the layout: the regex path for the column
            text = draw(st.sampled_from([" ", "", "x"])) + text + draw(st.sampled_from(
                ["", " ", ".5"]))
        out.append(text)
    return out


@settings(max_examples=80, deadline=None)
@given(values=slash_columns(), dayfirst=st.booleans())
def test_slash_dates_by_bytes_match_the_regex_path(values: list, dayfirst: bool) -> None:
    from rct.io import times

    arr = pa.array(values, type=pa.string())
    fast = times.slash_to_iso(arr, dayfirst)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(times, "_slash_fixed", lambda *a: None)
        ref = times.slash_to_iso(arr, dayfirst)
    assert fast.to_pylist() == ref.to_pylist()


@settings(max_examples=60, deadline=None)
@given(times=st.lists(local_times(), min_size=1, max_size=40),
       start=st.sampled_from(["00:00", "05:59", "06:00", "01:00", "02:00", "23:30", "12:15"]),
       kind=st.sampled_from(["date", "datetime64"]), nat=st.booleans())
def test_trial_date_by_zone_table_matches_pandas(times: list, start: str, kind: str,
                                                 nat: bool) -> None:
    """trial_date's table path = its tz_convert path, for UTC instants around clock changes."""
    from rct.io import times as T

    utc = pd.Series(pd.to_datetime([t.replace(tzinfo=dt.UTC) for t in times]),
                    index=np.arange(len(times)) * 3, name="t")
    if nat:
        utc.iloc[0] = pd.NaT
    got = T.trial_date(utc, start, kind=kind)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "_trial_day_by_table", lambda *a: None)
        ref = T.trial_date(utc, start, kind=kind)
    pd.testing.assert_series_equal(got, ref)


@pytest.mark.parametrize("start", ["00:00", "02:00", "06:00", "23:00"])
def test_trial_date_by_zone_table_at_the_changes_themselves(start: str) -> None:
    """The instants of the changes and a nanosecond either side (2020-2030), exactly."""
    from rct.io import times as T

    at = ZT.at[(ZT.at >= pd.Timestamp("2020-01-01").value) & (ZT.at < pd.Timestamp(
        "2031-01-01").value)]
    ns = np.concatenate([at - 1, at, at + 1, at + 3_600 * 10**9])
    utc = pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")
    got = T.trial_date(utc, start, kind="datetime64")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "_trial_day_by_table", lambda *a: None)
        ref = T.trial_date(utc, start, kind="datetime64")
    pd.testing.assert_series_equal(got, ref)


@settings(max_examples=80, deadline=None)
@given(values=slash_columns())
def test_day_order_scan_by_bytes_matches_the_regex_path(values: list) -> None:
    """DayOrderScan's fixed-layout shortcut finds what the regex finds (counts, examples)."""
    from rct.io import times

    arr = pa.array(values, type=pa.string())
    rows = np.arange(len(values)) * 2 + 5
    fast = times.DayOrderScan()
    fast.add(arr, rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(times, "_slash_parts_fixed", lambda *a: None)
        ref = times.DayOrderScan()
        ref.add(arr, rows)
    assert vars(fast) == vars(ref)


@pytest.mark.parametrize("value", ["0000", "0000-01-01T10:00+01:00", "9999-01-01",
                                   "9999-12-31T23:59", "1066-10-14 09:00"])
def test_a_year_outside_nanosecond_range_is_quarantined_not_raised(value):
    """Found by hypothesis (a crime's date cell "0000"): pandas 3 parses such years at a
    coarser unit, and localising them raised OutOfBoundsDatetime out of the reader."""
    import pandas as pd

    from rct.io.times import parse_times

    times, reasons = parse_times(pd.Series([value, "2024-01-01T10:00"]))
    assert times.isna().tolist() == [True, False]
    assert reasons[0] in ("timestamp out of range (years 1678 to 2261 only)",
                          "unparseable timestamp")  # pandas 2.2 does not parse these at all
    ns, why = utc_ns(pa.array([value, "2024-01-01T10:00"]))
    assert ns[0] == NAT and why[0] == reasons[0] and why[1] is None
