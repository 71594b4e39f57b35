"""Time windows: definitions, instances with both clock changes, assignment and splitting.

The reference is an independent wall-clock computation with :mod:`zoneinfo`
and :mod:`datetime` (no pandas, no numpy): for a UTC time, its local wall time
and the window definitions say which window instance holds it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from rct.errors import DataError
from rct.io.windows import (
    assign_windows,
    hotspot_windows,
    parse_windows,
    split_by_window,
    window_timeline,
)

LONDON = ZoneInfo("Europe/London")
DAYNIGHT = "day=06:00-18:00,night=18:00-06:00"


def _utc(*local: str, fold: int = 0) -> pd.Series:
    """Naive local times (first pass in the repeated hour unless fold=1) -> UTC Series."""
    out = []
    for s in local:
        t = dt.datetime.fromisoformat(s).replace(tzinfo=LONDON, fold=fold)
        out.append(t.astimezone(dt.UTC))
    return pd.Series(pd.to_datetime(out, utc=True))


def _instance_bound(day: dt.date, minute: int) -> dt.datetime:
    """A wall-clock bound as the module defines it: the first pass of a repeated time, and
    the end of the gap (02:00 BST = 01:00 UTC) for a time the clocks skip."""
    wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    t = wall.replace(tzinfo=LONDON)  # fold=0: the first pass
    if t.astimezone(dt.UTC).astimezone(LONDON).replace(tzinfo=None) != wall:  # in the gap
        return dt.datetime.combine(wall.date(), dt.time(1), tzinfo=dt.UTC)
    return t.astimezone(dt.UTC)


def _trial_day(t_utc: dt.datetime, start_min: int) -> dt.date:
    """The trial day whose [start, next start) holds the instant (days start at start_min)."""
    d = (t_utc.astimezone(LONDON).replace(tzinfo=None) - dt.timedelta(minutes=start_min)).date()
    for cand in (d - dt.timedelta(days=1), d, d + dt.timedelta(days=1)):
        if _instance_bound(cand, start_min) <= t_utc < _instance_bound(
                cand + dt.timedelta(days=1), start_min):
            return cand
    raise AssertionError(t_utc)


def _reference(t_utc: dt.datetime, windows, day_starts_min: int):
    """(trial date, window) by brute force: scan the window instances starting near the time."""
    local_day = t_utc.astimezone(LONDON).date()
    for c in (local_day - dt.timedelta(days=1), local_day):
        for w in windows:
            lo = _instance_bound(c, w.start_minute)
            hi = _instance_bound(c, w.start_minute + w.nominal_minutes)
            if lo <= t_utc < hi:
                return _trial_day(lo, day_starts_min), w.name
    return None, None


def test_parse_and_validate():
    ws = parse_windows(DAYNIGHT)
    assert ws.names == ("day", "night")
    assert ws.get("night").crosses_midnight and not ws.get("day").crosses_midnight
    assert ws.covers_day and ws.to_dict() == {"day": "06:00-18:00", "night": "18:00-06:00"}
    assert parse_windows(ws.to_dict()) == ws and parse_windows(ws.text) == ws
    assert parse_windows("all=06:00-06:00").get("all").nominal_minutes == 1440
    assert not parse_windows("late=22:00-04:00").covers_day
    assert parse_windows("x=6:00:00-18:00").get("x").start == "06:00"  # GeoJSON readers add :00
    with pytest.raises(DataError, match="overlap"):
        parse_windows("a=06:00-18:00,b=17:00-20:00")
    with pytest.raises(DataError, match="overlap"):
        parse_windows("a=22:00-02:00,b=01:00-03:00")
    with pytest.raises(DataError, match="twice"):
        parse_windows([("a", "01:00-02:00"), ("a", "03:00-04:00")])
    with pytest.raises(DataError, match="HH:MM"):
        parse_windows("a=25:00-02:00")
    with pytest.raises(DataError, match="letters"):
        parse_windows("night shift=18:00-06:00")
    with pytest.raises(DataError, match="NAME="):
        parse_windows("18:00-06:00")


@pytest.mark.parametrize("first,hours", [(dt.date(2021, 10, 30), 13.0),   # clocks go back
                                         (dt.date(2022, 3, 26), 11.0)])  # clocks go forward
def test_night_across_clock_changes(first, hours):
    tl = window_timeline(DAYNIGHT, day_starts="06:00", first=first, last=first)
    length = (tl.end - tl.start) / 3.6e12
    names = [tl.windows.names[i] for i in tl.window]
    assert names == ["day", "night"]
    assert length.tolist() == [12.0, hours]
    # both belong to the trial day they start in
    assert [str(d) for d in tl.trial_date] == [first.isoformat()] * 2


def test_assign_around_boundaries_and_repeated_hour():
    ws = parse_windows(DAYNIGHT)
    t = pd.concat([
        _utc("2021-10-30 17:59", "2021-10-30 18:00", "2021-10-31 05:59", "2021-10-31 06:00",
             "2021-10-31 01:30"),
        _utc("2021-10-31 01:30", fold=1),  # the second pass of the repeated hour: still night
        _utc("2022-03-27 03:00", "2022-03-27 00:30"),
    ], ignore_index=True)
    got = assign_windows(t, ws, day_starts="06:00")
    assert got["window"].tolist() == ["day", "night", "night", "day", "night", "night", "night",
                                      "night"]
    assert [str(d) for d in got["trial_date"]] == ["2021-10-30"] * 3 + ["2021-10-31"] + \
        ["2021-10-30"] * 2 + ["2022-03-26"] * 2


def test_assign_matches_wall_clock_reference():
    """Random times over both clock changes, odd windows with a gap, against zoneinfo."""
    ws = parse_windows("early=00:30-01:45,late=22:15-00:30,day=07:00-16:00")
    rng = np.random.default_rng(7)
    base = dt.datetime(2021, 10, 29, tzinfo=dt.UTC)
    spans = [base, dt.datetime(2022, 3, 25, tzinfo=dt.UTC)]
    secs = np.concatenate([rng.integers(0, 4 * 86400, 600) for _ in spans])
    times = [spans[i // 600] + dt.timedelta(seconds=int(s)) for i, s in enumerate(secs)]
    got = assign_windows(pd.Series(pd.to_datetime(times, utc=True)), ws, day_starts="01:30")
    for t, d, w in zip(times, got["trial_date"], got["window"], strict=True):
        assert (d, w) == _reference(t, ws, 90), t


def test_split_sums_and_cuts():
    ws = parse_windows("day=06:00-18:00,night=18:00-06:00")
    start = _utc("2021-10-30 17:00", "2021-10-31 05:50", "2021-10-30 12:00")
    end = _utc("2021-10-31 07:00", "2021-10-31 06:20", "2021-10-30 12:00")
    p = split_by_window(start, end, ws, day_starts="06:00")
    assert p["row"].tolist() == [0, 0, 0, 1, 1, 2]
    assert p["window"].tolist() == ["day", "night", "day", "night", "day", "day"]
    assert [str(d) for d in p["trial_date"]] == ["2021-10-30", "2021-10-30", "2021-10-31",
                                                 "2021-10-30", "2021-10-31", "2021-10-30"]
    # 17:00 BST - 18:00 BST, the 13-hour night, 06:00 - 07:00 GMT
    assert p["minutes"].tolist() == [60.0, 780.0, 60.0, 10.0, 20.0, 0.0]
    total = (end - start).dt.total_seconds() / 60
    assert p.groupby("row")["minutes"].sum().tolist() == total.tolist()


def test_split_leaves_out_gaps():
    p = split_by_window(_utc("2021-06-01 21:00"), _utc("2021-06-02 05:00"), "late=22:00-04:00")
    assert p["minutes"].tolist() == [360.0] and p["window"].tolist() == ["late"]


def test_hotspot_windows():
    hs = pd.DataFrame({"hotspot_id": ["A-day", "A-night", "B-night"],
                       "place_id": ["A", "A", "B"], "window": ["day", "night", "night"],
                       "window_start": ["06:00", "18:00", "18:00:00"],
                       "window_end": ["18:00", "06:00", "06:00"]})
    hw = hotspot_windows(hs)
    assert hw.windows.names == ("day", "night")
    assert hw.place_window_unit() == {("A", "day"): "A-day", ("A", "night"): "A-night",
                                      ("B", "night"): "B-night"}
    assert hotspot_windows(hs.drop(columns="window_end")) is None  # not a per-window file
    bad = hs.assign(window_start=["06:00", "18:00", "19:00"])
    with pytest.raises(DataError, match="window 'night' is"):
        hotspot_windows(bad)
    dup = hs.assign(window=["night", "night", "night"], window_start="18:00",
                    window_end="06:00")
    with pytest.raises(DataError, match="two units"):
        hotspot_windows(dup)
