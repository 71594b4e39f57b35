"""rct.io.times around the clock changes (Europe/London).

Expected values come from the law (clocks change at 01:00 UTC on the last
Sunday of March and October) and from the standard library's ``zoneinfo``,
independently of pandas' time-zone code that ``rct.io.times`` uses.
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.errors import DataError
from rct.io.times import (
    parse_day_start,
    parse_times,
    split_by_trial_day,
    trial_date,
    trial_day_bounds,
)

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def last_sunday(year: int, month: int) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    d = dt.date(year, month, last)
    return d - dt.timedelta(days=(d.weekday() - 6) % 7)


def utc_series(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True))


def test_last_sunday_helper():
    assert last_sunday(2024, 3) == dt.date(2024, 3, 31)
    assert last_sunday(2024, 10) == dt.date(2024, 10, 27)
    assert last_sunday(2021, 3) == dt.date(2021, 3, 28)


# ----------------------------------------------------------- parse_times


@pytest.mark.parametrize(
    ("ambiguous", "expected"),
    [("earliest", "2024-10-27 00:30"), ("latest", "2024-10-27 01:30")],
)
def test_repeated_october_hour_both_policies(ambiguous, expected):
    t, why = parse_times(
        pd.Series(["2024-10-27 00:59", "2024-10-27 01:30", "2024-10-27 02:00"]), ambiguous=ambiguous
    )
    assert t.tolist() == [ts("2024-10-26 23:59"), ts(expected), ts("2024-10-27 02:00")]
    assert why.isna().all()


def test_repeated_october_hour_quarantine():
    t, why = parse_times(
        pd.Series(["2024-10-27 01:00", "2024-10-27 01:59:59", "2024-10-27 02:00"]),
        ambiguous="quarantine",
    )
    assert t.isna().tolist() == [True, True, False]
    assert why.tolist()[:2] == ["ambiguous local time (October clock change)"] * 2
    assert why.iloc[2] is None or pd.isna(why.iloc[2])


def test_missing_march_hour():
    s = pd.Series(["2024-03-31 00:59", "2024-03-31 01:00", "2024-03-31 01:30", "2024-03-31 02:00"])
    t, why = parse_times(s, nonexistent="shift_forward")
    # 01:00-02:00 does not exist; shifted to 02:00 BST = 01:00 UTC
    assert t.tolist() == [
        ts("2024-03-31 00:59"),
        ts("2024-03-31 01:00"),
        ts("2024-03-31 01:00"),
        ts("2024-03-31 01:00"),
    ]
    t, why = parse_times(s, nonexistent="quarantine")
    assert t.isna().tolist() == [False, True, True, False]
    assert set(why.dropna()) == {"non-existent local time (March clock change)"}


def test_offsets_are_taken_as_given_and_bad_values_explained():
    s = pd.Series(
        [
            "2024-10-27T01:30:00+01:00",
            "2024-10-27T01:30:00Z",
            "2024-10-27T01:30:00+00:00",
            "",
            "soon",
        ]
    )
    t, why = parse_times(s, ambiguous="quarantine")
    assert t.tolist()[:3] == [
        ts("2024-10-27 00:30"),
        ts("2024-10-27 01:30"),
        ts("2024-10-27 01:30"),
    ]
    assert why.tolist()[3:] == ["missing timestamp", "unparseable timestamp"]
    assert why.iloc[:3].isna().all()


def test_naive_datetime64_input_is_london_time():
    s = pd.Series(pd.to_datetime(["2024-07-01 12:00", "2024-01-01 12:00", "2024-10-27 01:30"]))
    t, _ = parse_times(s, ambiguous="latest")
    assert t.tolist() == [ts("2024-07-01 11:00"), ts("2024-01-01 12:00"), ts("2024-10-27 01:30")]
    aware = s.dt.tz_localize("UTC")
    assert parse_times(aware)[0].tolist() == aware.tolist()


def test_invalid_policy_lists_choices():
    with pytest.raises(ValueError, match="earliest, latest, quarantine"):
        parse_times(pd.Series(["2024-01-01"]), ambiguous="first")


def _zoneinfo_status(local: dt.datetime) -> str:
    """'ok', 'ambiguous' or 'gap' for a naive Europe/London wall time (stdlib only)."""
    outs = []
    for fold in (0, 1):
        aware = local.replace(tzinfo=LONDON, fold=fold)
        back = aware.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        outs.append((aware.utcoffset(), back == local))
    if not outs[0][1] or not outs[1][1]:
        return "gap"
    return "ambiguous" if outs[0][0] != outs[1][0] else "ok"


@settings(max_examples=100, deadline=None)
@given(
    local=st.datetimes(min_value=dt.datetime(2015, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
    | st.builds(  # 00:00-03:00 on a clock-change Sunday: a third fall in the odd hour
        lambda y, m, k: (
            dt.datetime.combine(last_sunday(y, m), dt.time(0)) + dt.timedelta(minutes=k)
        ),
        st.integers(2015, 2030),
        st.sampled_from([3, 10]),
        st.integers(0, 180),
    )
)
def test_parse_times_matches_zoneinfo(local):
    text = pd.Series([local.isoformat(sep=" ")])
    status = _zoneinfo_status(local)
    first, _ = parse_times(text, ambiguous="earliest")
    second, _ = parse_times(text, ambiguous="latest")
    q, why = parse_times(text, ambiguous="quarantine", nonexistent="quarantine")
    if status == "gap":
        change = dt.datetime.combine(local.date(), dt.time(1), tzinfo=UTC)
        assert first.iloc[0] == pd.Timestamp(change)
        assert why.iloc[0] == "non-existent local time (March clock change)"
    else:
        e0 = local.replace(tzinfo=LONDON, fold=0).astimezone(UTC)
        e1 = local.replace(tzinfo=LONDON, fold=1).astimezone(UTC)
        assert first.iloc[0] == pd.Timestamp(e0)
        assert second.iloc[0] == pd.Timestamp(e1)
        if status == "ambiguous":
            assert why.iloc[0] == "ambiguous local time (October clock change)"
        else:
            assert q.iloc[0] == pd.Timestamp(e0)


# ------------------------------------------------------------ trial days


def test_trial_days_of_23_and_25_hours():
    days = [
        dt.date(2024, 3, 30),
        dt.date(2024, 3, 31),
        dt.date(2024, 10, 26),
        dt.date(2024, 10, 27),
    ]
    start, end = trial_day_bounds(days, "06:00")
    hours = ((end - start).dt.total_seconds() / 3600).tolist()
    assert hours == [23.0, 24.0, 25.0, 24.0]
    assert start.tolist() == [
        ts("2024-03-30 06:00"),  # 06:00 GMT
        ts("2024-03-31 05:00"),  # 06:00 BST
        ts("2024-10-26 05:00"),
        ts("2024-10-27 06:00"),
    ]
    # midnight-based calendar days: the clock-change days themselves are short and long
    s0, e0 = trial_day_bounds([dt.date(2024, 3, 31), dt.date(2024, 10, 27)], "00:00")
    assert ((e0 - s0).dt.total_seconds() / 3600).tolist() == [23.0, 25.0]


@pytest.mark.parametrize("year", [2019, 2024, 2027])
def test_a_year_of_trial_days(year):
    days = pd.Series(pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D").date)
    start, end = trial_day_bounds(days, "06:00")
    hours = (end - start).dt.total_seconds() / 3600
    short = days[hours == 23].tolist()
    long = days[hours == 25].tolist()
    assert short == [last_sunday(year, 3) - dt.timedelta(days=1)]
    assert long == [last_sunday(year, 10) - dt.timedelta(days=1)]
    assert (hours[(hours != 23) & (hours != 25)] == 24).all()
    assert (start.iloc[1:].to_numpy() == end.iloc[:-1].to_numpy()).all()  # days tile time


def test_trial_date_around_the_boundary():
    t = utc_series(
        "2024-06-10 04:59",  # 05:59 BST -> previous trial day
        "2024-06-10 05:00",  # 06:00 BST
        "2024-10-27 05:30",  # 05:30 GMT after the change -> 26th (25-hour day)
        "2024-10-27 06:00",
        "2024-03-31 04:59",  # 05:59 BST -> 30th (23-hour day)
        "2024-03-31 05:00",
    )
    assert trial_date(t, "06:00").tolist() == [
        dt.date(2024, 6, 9),
        dt.date(2024, 6, 10),
        dt.date(2024, 10, 26),
        dt.date(2024, 10, 27),
        dt.date(2024, 3, 30),
        dt.date(2024, 3, 31),
    ]


# Every minute of the day, including boundaries inside the repeated October hour.
_day_starts = st.integers(0, 23 * 60 + 59)


@settings(max_examples=100, deadline=None)
@given(
    minute=_day_starts,
    when=st.sampled_from(["2024-03-30", "2024-10-26", "2023-03-25", "2023-10-28", "2024-07-01"]),
    offset_min=st.integers(0, 3 * 24 * 60),
)
def test_trial_date_lies_within_its_bounds(minute, when, offset_min):
    start = f"{minute // 60:02d}:{minute % 60:02d}"
    t = pd.Series([pd.Timestamp(when, tz="UTC") + pd.Timedelta(minutes=offset_min)])
    d = trial_date(t, start)
    lo, hi = trial_day_bounds(d, start)
    assert lo.iloc[0] <= t.iloc[0] < hi.iloc[0]


def test_parse_day_start():
    assert parse_day_start("06:00") == dt.timedelta(hours=6)
    assert parse_day_start("6:30") == dt.timedelta(hours=6, minutes=30)
    assert parse_day_start(dt.time(5, 59)) == dt.timedelta(hours=5, minutes=59)
    for bad in ("24:00", "06:60", "six", "06:00:00"):
        with pytest.raises(DataError, match="HH:MM"):
            parse_day_start(bad)


# --------------------------------------------------------- patrol splits


def test_patrol_split_across_the_0600_boundary():
    # 05:30-06:45 BST on 10 June 2024
    p = split_by_trial_day(utc_series("2024-06-10 04:30"), utc_series("2024-06-10 05:45"), "06:00")
    assert p["trial_date"].tolist() == [dt.date(2024, 6, 9), dt.date(2024, 6, 10)]
    assert p["minutes"].tolist() == [30.0, 45.0]
    assert p["end"].iloc[0] == p["start"].iloc[1] == ts("2024-06-10 05:00")


def test_patrol_across_the_october_change():
    # 00:30 BST to 03:00 GMT: 3.5 real hours though the clock says 2.5
    p = split_by_trial_day(utc_series("2024-10-26 23:30"), utc_series("2024-10-27 03:00"), "06:00")
    assert p["minutes"].tolist() == [210.0] and p["trial_date"].tolist() == [dt.date(2024, 10, 26)]
    # 05:00-07:00 GMT on the morning after: one hour in each trial day
    p = split_by_trial_day(utc_series("2024-10-27 05:00"), utc_series("2024-10-27 07:00"), "06:00")
    assert p["trial_date"].tolist() == [dt.date(2024, 10, 26), dt.date(2024, 10, 27)]
    assert p["minutes"].tolist() == [60.0, 60.0]


def test_patrol_across_the_march_change():
    # 00:30 GMT to 03:30 BST: 2 real hours though the clock says 3
    p = split_by_trial_day(utc_series("2024-03-31 00:30"), utc_series("2024-03-31 02:30"), "06:00")
    assert p["minutes"].tolist() == [120.0] and p["trial_date"].tolist() == [dt.date(2024, 3, 30)]
    # 05:30 GMT (Saturday) to 06:30 BST (Sunday): 24 real hours over three trial days
    p = split_by_trial_day(utc_series("2024-03-30 05:30"), utc_series("2024-03-31 05:30"), "06:00")
    assert p["trial_date"].tolist() == [
        dt.date(2024, 3, 29),
        dt.date(2024, 3, 30),
        dt.date(2024, 3, 31),
    ]
    assert p["minutes"].tolist() == [30.0, 23 * 60.0, 30.0]


def test_zero_length_and_reversed_intervals():
    p = split_by_trial_day(
        utc_series("2024-06-10 04:30", "2024-06-10 06:00"),
        utc_series("2024-06-10 04:30", "2024-06-10 05:00"),
        "06:00",
    )
    assert p["row"].tolist() == [0, 1] and p["minutes"].tolist() == [0.0, 0.0]


@settings(max_examples=100, deadline=None)
@given(
    minute=_day_starts,
    when=st.sampled_from(["2024-03-29", "2024-10-25", "2024-06-01"]),
    start_min=st.integers(0, 4 * 24 * 60),
    length_min=st.integers(0, 3 * 24 * 60),
)
def test_split_conserves_time_and_respects_days(minute, when, start_min, length_min):
    day_start = f"{minute // 60:02d}:{minute % 60:02d}"
    s = pd.Timestamp(when, tz="UTC") + pd.Timedelta(minutes=start_min)
    e = s + pd.Timedelta(minutes=length_min)
    p = split_by_trial_day(pd.Series([s]), pd.Series([e]), day_start)
    assert p["minutes"].sum() == pytest.approx(length_min)
    assert p["start"].iloc[0] == s and p["end"].iloc[-1] == e
    assert (p["start"].iloc[1:].to_numpy() == p["end"].iloc[:-1].to_numpy()).all()
    lo, hi = trial_day_bounds(p["trial_date"], day_start)
    assert (p["start"] >= lo).all() and (p["end"] <= hi).all()
    assert p["trial_date"].is_monotonic_increasing and p["trial_date"].is_unique


def test_boundary_inside_repeated_hour_regression():
    """Day start 01:30 on 2024-10-27: both times fall in the 27th's bounds (00:30Z to 01:30Z+1d)."""
    t = pd.Series(pd.to_datetime(["2024-10-27T00:45Z", "2024-10-27T01:15Z"]))
    d = trial_date(t, "01:30")
    assert list(d) == [dt.date(2024, 10, 27)] * 2
    lo, hi = trial_day_bounds(d, "01:30")
    assert ((lo <= t) & (t < hi)).all()


def test_datetime64_kind_matches_dates():
    t = pd.Series(pd.date_range("2024-10-26", periods=200, freq="37min", tz="UTC"))
    as_dates = trial_date(t, "06:00")
    as_ts = trial_date(t, "06:00", kind="datetime64")
    assert as_ts.dtype == "datetime64[ns]"
    assert list(as_ts.dt.date) == list(as_dates)
    with pytest.raises(ValueError, match="date, datetime64"):
        trial_date(t, "06:00", kind="day")
