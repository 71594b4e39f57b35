"""Hot spots ranked per time window and per site."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rct.errors import DataError
from rct.hotspots import build_hotspots
from rct.io.windows import hotspot_windows

CELL = 150.0


def _crimes() -> pd.DataFrame:
    """Place P (x=0) busy by night only, Q (x=1000) by day only, R (x=2000) always, noise."""
    rng = np.random.default_rng(3)
    rows = []

    def at(x, hour, n, site):
        for k in range(n):
            day = pd.Timestamp("2021-10-25") + pd.Timedelta(days=int(k % 10))
            rows.append((x + rng.uniform(-5, 5), rng.uniform(-5, 5),
                         day + pd.Timedelta(hours=hour, minutes=int(rng.integers(0, 50))), site))

    at(0.0, 23, 30, "east")     # night, around midnight
    at(0.0, 2, 10, "east")      # night after midnight (crosses into the next day)
    at(1000.0, 12, 40, "east")  # day
    at(2000.0, 10, 12, "west")  # day
    at(2000.0, 20, 14, "west")  # night
    for _ in range(60):         # scattered single crimes
        rows.append((rng.uniform(-3000, 3000), rng.uniform(2000, 5000),
                     pd.Timestamp("2021-10-26") + pd.Timedelta(hours=int(rng.integers(0, 24))),
                     "west"))
    df = pd.DataFrame(rows, columns=["x", "y", "local", "lpa"])
    df["occurred_at"] = df["local"].dt.tz_localize(
        "Europe/London", ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    df["category"] = "Violence and sexual offences"
    return df.dropna(subset=["occurred_at"]).reset_index(drop=True)


def test_a_place_can_be_a_night_hot_spot_and_not_a_day_one():
    c = _crimes()
    r = build_hotspots(c, cell=CELL, top=2, windows="day=06:00-18:00,night=18:00-06:00")
    h = r.tidy()
    assert list(h.columns[:6]) == ["hotspot_id", "place_id", "window", "window_start",
                                   "window_end", "rank"]
    night = h[h["window"] == "night"].sort_values("rank")
    day = h[h["window"] == "day"].sort_values("rank")
    # P has 40 night crimes (23:xx and 02:xx both night), R 14; Q has only day crimes
    assert night["crimes"].tolist() == [40, 14] and day["crimes"].tolist() == [40, 12]
    p_place = night["place_id"].iloc[0]
    q_place = day["place_id"].iloc[0]
    assert p_place not in set(day["place_id"]) and q_place not in set(night["place_id"])
    shared = set(day["place_id"]) & set(night["place_id"])  # R is a hot spot in both
    assert len(shared) == 1
    assert (h["hotspot_id"] == h["place_id"] + "-" + h["window"]).all()
    # the same place has the same geometry in both windows
    g = r.hotspots.set_index("hotspot_id").geometry
    rid = shared.pop()
    assert g[f"{rid}-day"].equals(g[f"{rid}-night"])
    # each window's ranking is the plain ranking of that window's crimes
    hw = hotspot_windows(h)
    assert hw.windows.names == ("day", "night")
    hours = c["occurred_at"].dt.tz_convert("Europe/London").dt.hour
    alone = build_hotspots(c[(hours >= 6) & (hours < 18)], cell=CELL, top=2)
    assert alone.tidy()["crimes"].tolist() == day["crimes"].tolist()
    assert alone.tidy()["cell_ids"].tolist() == day["cell_ids"].tolist()
    assert "ranked per time window" in r.headline()
    assert set(r.summary()["group"]) == {"day", "night"}


def test_per_site_ranking_and_ids():
    c = _crimes()
    r = build_hotspots(c, cell=CELL, top=1, site_column="lpa",
                       windows="day=06:00-18:00,night=18:00-06:00")
    h = r.tidy()
    assert sorted(zip(h["site"], h["window"], strict=True)) == [("east", "day"), ("east", "night"),
                                                   ("west", "day"), ("west", "night")]
    assert h.groupby(["site", "window"])["rank"].max().eq(1).all()
    plain = build_hotspots(c, cell=CELL, top=2, site_column="lpa").tidy()
    assert "window" not in plain.columns and set(plain["site"]) == {"east", "west"}
    assert plain["hotspot_id"].str.fullmatch(r"H\d{3}").all() and plain["hotspot_id"].is_unique
    with pytest.raises(DataError, match="no column"):
        build_hotspots(c, cell=CELL, top=1, site_column="force")


def test_windows_need_times():
    c = _crimes().assign(occurred_at=pd.NaT)
    with pytest.raises(DataError, match="crime times"):
        build_hotspots(c, cell=CELL, top=1, windows="day=06:00-18:00,night=18:00-06:00")


def test_cli_build_per_window_then_a_shift_crossover(tmp_path, capsys):
    from rct.cli import main
    from rct.io.hotspots import read_hotspots
    from rct.simulate import SimulationSpec, simulate_trial

    crimes = tmp_path / "crimes.csv"
    simulate_trial(SimulationSpec(n_hotspots=10, days=30, mess=False)).crimes.to_csv(
        crimes, index=False)
    out = tmp_path / "hotspots.geojson"
    assert main(["hotspots", "build", str(crimes), "--cell", "150", "--top", "4",
                 "--windows", "day=06:00-18:00,night=18:00-06:00", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "8 hot spots at" in printed and "ranked per time window" in printed
    hs = read_hotspots(out)
    hw = hotspot_windows(hs)
    assert hw is not None and len(hs) == 8 and set(hs["window"]) == {"day", "night"}
    sched = tmp_path / "schedule.csv"
    assert main(["randomise", "crossover", str(out), "--start", "2021-09-06", "--days", "5",
                 "--per-day", "2", "--seed", "1", "--out", str(sched)]) == 0
    assert "shift night (18:00-06:00): 2 of 4 tasked each day" in capsys.readouterr().out
    s = pd.read_csv(sched)
    assert s[s["arm"] == "treatment"].groupby(["window", "trial_date"]).size().eq(2).all()
