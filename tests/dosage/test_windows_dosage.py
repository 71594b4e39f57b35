"""Outcomes, patrol dosage and Airwave presence per time window, across both clock changes.

Units are places in one window: A is a hot spot by day and by night, B by
night only.  The truth is counted minute by minute (or crime by crime) with
the zoneinfo wall-clock reference of ``tests/io/test_windows.py`` -- no
interval algebra and none of the code under test.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from rct.dosage.airwave import airwave_presence
from rct.dosage.patrols import patrol_dosage
from rct.ingest.outcomes import build_outcomes
from rct.io.windows import hotspot_windows, parse_windows
from tests.io.test_windows import _reference

KEY = b"test-key-0123456789abcdef"
WINDOWS = parse_windows("day=06:00-18:00,night=18:00-06:00")
PLACES = {"A": (450_000.0, 200_000.0), "B": (451_000.0, 200_000.0)}
UNITS = {"A-day": ("A", "day"), "A-night": ("A", "night"), "B-night": ("B", "night")}
# a few days around each clock change of 2024 (31 March, 27 October)
STARTS = [dt.datetime(2024, 3, 29, 12, tzinfo=dt.UTC), dt.datetime(2024, 10, 25, 12, tzinfo=dt.UTC)]
MIN = 60


def _hotspots() -> gpd.GeoDataFrame:
    rows = []
    for unit, (place, win) in UNITS.items():
        x, y = PLACES[place]
        w = WINDOWS.get(win)
        rows.append((unit, place, win, w.start, w.end, shapely.box(x, y, x + 100, y + 100)))
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["hotspot_id", "place_id", "window",
                                                        "window_start", "window_end",
                                                        "geometry"]),
                            geometry="geometry", crs=27700)


def _unit_of(place: str, t: dt.datetime):
    """(unit, trial date) whose window instance holds ``t`` at ``place`` (None: not a unit)."""
    day, win = _reference(t, WINDOWS, 360)
    unit = next((u for u, pw in UNITS.items() if pw == (place, win)), None)
    return unit, day


def _intervals(rng):
    """Whole-minute intervals at the places, many crossing 06:00 / 18:00 and the changes."""
    out = []
    for start in STARTS:
        for _ in range(70):
            place = "A" if rng.random() < 0.6 else "B"
            a = start + dt.timedelta(minutes=int(rng.integers(0, 3 * 1440)))
            b = a + dt.timedelta(minutes=int(rng.integers(0, 180)))
            out.append((place, a, b))
    for place, local in (("A", "2024-10-26 17:30"), ("B", "2024-03-31 05:40")):
        t = pd.Timestamp(local).tz_localize("Europe/London").tz_convert("UTC").to_pydatetime()
        out.append((place, t, t + dt.timedelta(minutes=60)))  # across a boundary
    return out


def _minute_truth(intervals):
    """Presence (union) and officer minutes per (unit, trial date), minute by minute."""
    presence: dict = defaultdict(set)
    officer: dict = defaultdict(int)
    for place, a, b in intervals:
        t = a
        while t < b:
            unit, day = _unit_of(place, t)
            if unit is not None:
                presence[(unit, day)].add(t)
                officer[(unit, day)] += 1
            t += dt.timedelta(minutes=1)
    return {k: len(v) for k, v in presence.items()}, dict(officer)


def _frame(table):
    return {(h, d): v for h, d, v in zip(table["hotspot_id"], table["trial_date"],
                                        table["value"], strict=True)}


def _nonzero(table, column):
    """``{(hotspot_id, trial_date): value}`` of a unit-day table's non-zero cells."""
    return {(h, d): v for h, d, v in zip(table["hotspot_id"], table["trial_date"], table[column],
                                         strict=True) if v > 0}


def _count_by_unit(events):
    """How many (place, time) events fall in each (unit, trial day), by the window reference."""
    counts: dict = defaultdict(int)
    for place, t in events:
        unit, day = _unit_of(place, t)
        if unit is not None:
            counts[(unit, day)] += 1
    return dict(counts)


def test_patrol_dosage_per_window():
    rng = np.random.default_rng(11)
    iv = _intervals(rng)
    names = [p if rng.random() < 0.5 else f"{p}-night" for p, _, _ in iv]  # place or unit id
    p = pd.DataFrame({"hotspot_id": names,
                      "officer": [f"o{i % 5}" for i in range(len(iv))],
                      "arrived_at": pd.to_datetime([a for _, a, _ in iv], utc=True),
                      "left_at": pd.to_datetime([b for _, _, b in iv], utc=True),
                      "mode": "foot", "stops": 0})
    p["minutes"] = (p["left_at"] - p["arrived_at"]).dt.total_seconds() / 60
    hw = hotspot_windows(_hotspots())
    got = patrol_dosage(p, windows=hw, hotspots=sorted(UNITS))
    presence, officer = _minute_truth(iv)
    mine = _nonzero(got, "presence_minutes")
    assert mine == {k: float(v) for k, v in presence.items()}
    off = _nonzero(got, "officer_minutes")
    assert off == {k: float(v) for k, v in officer.items()}
    # a visit counts once, for the unit of the window it began in (if the place is one then)
    assert _nonzero(got, "visits") == _count_by_unit((place, a) for place, a, _ in iv)
    # the 13-hour and the 11-hour nights were seen
    nights = {d for (u, d) in presence if u.endswith("night")}
    assert dt.date(2024, 10, 26) in nights and dt.date(2024, 3, 30) in nights


def test_airwave_presence_per_window(tmp_path):
    rng = np.random.default_rng(5)
    iv = _intervals(rng)
    rows = []
    truth: dict = defaultdict(set)
    seen = set()
    for i, (place, a, b) in enumerate(iv):
        radio = f"R{i:03d}"  # one radio per visit: no merging across visits
        x, y = PLACES[place]
        t = a
        while t <= b:  # a ping each minute; presence runs from the first ping to the last
            rows.append((radio, t, x + 50, y + 50))
            if t < b:
                unit, day = _unit_of(place, t)
                if unit is not None:
                    truth[(unit, day)].add((radio, t))
            unit, day = _unit_of(place, t)
            if unit is not None:
                seen.add((unit, day))
            t += dt.timedelta(minutes=1)
    pings = pd.DataFrame(rows, columns=["radio_id", "timestamp", "x", "y"])
    pings["timestamp"] = pd.to_datetime(pings["timestamp"], utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    pings.to_csv(tmp_path / "pings.csv", index=False)
    res = airwave_presence(tmp_path / "pings.csv", _hotspots(), buffer_m=0, gap_minutes=5, day_starts="06:00",
                           key=KEY)
    t = res.table
    got = {(h, d): v for h, d, v in zip(t["hotspot_id"], t["trial_date"],
                                       t["radio_minutes"], strict=True) if v > 0}
    assert got == {k: float(len(v)) for k, v in truth.items() if v}
    assert set(zip(t["hotspot_id"], t["trial_date"], strict=True)) == seen


def test_outcomes_per_window(tmp_path):
    rng = np.random.default_rng(2)
    n = 400
    secs = rng.integers(0, 3 * 86400, n)
    base = [STARTS[i % 2] for i in range(n)]
    when = [b + dt.timedelta(seconds=int(s)) for b, s in zip(base, secs, strict=True)]
    place = np.where(rng.random(n) < 0.5, "A", "B")
    crimes = pd.DataFrame({"x": [PLACES[p][0] + 30 for p in place],
                           "y": [PLACES[p][1] + 30 for p in place],
                           "occurred_at": pd.to_datetime(when, utc=True),
                           "category": "Violence and sexual offences"})
    out = build_outcomes(crimes, _hotspots(), harm=None, start="2024-03-28", end="2024-10-29")
    truth = _count_by_unit(zip(place, when, strict=True))
    assert _nonzero(out, "crimes") == truth
    counts = out.attrs["counts"]
    assert counts["hotspot_assignments"] == sum(truth.values())
    assert out.attrs["rct_outcomes"]["windows"] == WINDOWS.to_dict()
    # every unit on every trial date, zeros included
    assert len(out) == len(UNITS) * len(pd.date_range("2024-03-28", "2024-10-29"))
