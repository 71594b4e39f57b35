"""Outcome tables: crimes and harm per hot spot x trial day (or month), catchments."""

from __future__ import annotations

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from rct.harm import harm_table
from rct.ingest.outcomes import OutcomeWarning, build_outcomes, group_slug, locate_pairs


@pytest.fixture
def hotspots():
    return gpd.GeoDataFrame(
        {"hotspot_id": ["A", "B", "C"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(300, 0, 400, 100),
                  shapely.box(380, 0, 480, 100)],  # B and C overlap on 380..400
        crs=27700,
    )


def _crimes(rows):
    df = pd.DataFrame(rows, columns=["x", "y", "occurred_at", "category"])
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    df["month"] = df["occurred_at"].dt.strftime("%Y-%m")
    df["offence_code"] = pd.NA
    return df


def test_hand_worked_panel(hotspots):
    crimes = _crimes([
        (50, 50, "2024-07-01T05:30:00+01:00", "Burglary"),           # 05:30 BST: trial day 30 Jun
        (50, 50, "2024-07-01T06:00:00+01:00", "Burglary"),           # 06:00 BST: trial day 1 Jul
        (100, 50, "2024-07-01T12:00:00Z", "Violence and sexual offences"),  # on A's edge: inside
        (390, 50, "2024-07-02T12:00:00Z", "Robbery"),                # in B and C (overlap)
        (150, 50, "2024-07-02T12:00:00Z", "Burglary"),               # 50 m from A: A's catchment
        (250, 50, "2024-07-02T12:00:00Z", "Burglary"),               # 50 m from B, 150 from A
        (50, 50, "2024-07-05T12:00:00Z", "Burglary"),                # after the window
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = build_outcomes(crimes, hotspots, harm="cchi", catchment_m=100,
                             start="2024-06-30", end="2024-07-02")
    assert len(out) == 3 * 3  # complete panel with zero rows
    key = out.set_index(["hotspot_id", "trial_date"])
    d = dt.date
    assert key.loc[("A", d(2024, 6, 30)), "crimes"] == 1
    assert key.loc[("A", d(2024, 7, 1)), "crimes"] == 2
    assert key.loc[("A", d(2024, 7, 1)), "crimes_violence_and_sexual_offences"] == 1
    assert key.loc[("B", d(2024, 7, 2)), "crimes"] == 1 and key.loc[("C", d(2024, 7, 2)), "crimes"] == 1
    assert key.loc[("A", d(2024, 7, 2)), "catchment_crimes"] == 1
    assert key.loc[("B", d(2024, 7, 2)), "catchment_crimes"] == 1
    # the overlap crime is inside B and C, so in nobody's catchment; C's ring holds nothing else
    assert key.loc[("C", d(2024, 7, 2)), "catchment_crimes"] == 0
    assert out["crimes"].sum() == 5 and (out["crimes"] >= 0).all()
    # harm = cchi weights of the crimes counted
    table = harm_table("cchi")
    w_burg = table.weight(category="Burglary")
    w_viol = table.weight(category="Violence and sexual offences")
    assert key.loc[("A", d(2024, 7, 1)), "harm"] == pytest.approx(w_burg + w_viol)
    assert key.loc[("A", d(2024, 7, 2)), "catchment_harm"] == pytest.approx(w_burg)
    assert out.attrs["counts"]["outside_window"] == 1
    assert out["harm_unknown"].sum() == 0


def test_unknown_harm_is_counted_not_zeroed(hotspots):
    crimes = _crimes([(50, 50, "2024-07-01T12:00:00Z", "Not a category"),
                      (50, 50, "2024-07-01T13:00:00Z", "Burglary")])
    from rct.errors import UnknownOffenceWarning

    with pytest.warns(UnknownOffenceWarning):
        out = build_outcomes(crimes, hotspots, harm="cchi")
    row = out[(out.hotspot_id == "A")].iloc[0]
    assert row["crimes"] == 2 and row["harm_unknown"] == 1
    assert row["harm"] == pytest.approx(harm_table("cchi").weight(category="Burglary"))


def test_matches_brute_force_on_random_data():
    rng = np.random.default_rng(4)
    polys = [shapely.Point(rng.uniform(0, 2000), rng.uniform(0, 2000)).buffer(rng.uniform(50, 150))
             for _ in range(15)]
    hs = gpd.GeoDataFrame({"hotspot_id": [f"h{i}" for i in range(15)]}, geometry=polys, crs=27700)
    n = 3000
    t0 = pd.Timestamp("2024-03-25T00:00Z")  # spans the March clock change (31 Mar 2024)
    times = t0 + pd.to_timedelta(rng.uniform(0, 14 * 86400, n), unit="s")
    crimes = pd.DataFrame({"x": rng.uniform(0, 2000, n), "y": rng.uniform(0, 2000, n),
                           "occurred_at": times, "category": rng.choice(["Burglary", "Robbery"], n)})
    crimes["month"] = "2024-03"
    out = build_outcomes(crimes, hs, harm=None, buffer_m=20, catchment_m=100,
                         start="2024-03-25", end="2024-04-07")
    london = ZoneInfo("Europe/London")
    # brute force: loop over polygons with shapely covers; trial day by zoneinfo wall clock - 6 h
    local = [t.to_pydatetime(warn=False).astimezone(london) for t in crimes["occurred_at"]]
    tday = np.array([(lt.replace(tzinfo=None) - dt.timedelta(hours=6)).date() for lt in local])
    pts = shapely.points(crimes["x"], crimes["y"])
    inner = [p.buffer(20, quad_segs=16) for p in polys]
    outer = [p.buffer(120, quad_segs=16) for p in polys]
    in_window = (tday >= dt.date(2024, 3, 25)) & (tday <= dt.date(2024, 4, 7))
    in_any = np.zeros(n, dtype=bool)
    for g in inner:
        in_any |= shapely.covers(g, pts)
    for i, (g_in, g_out) in enumerate(zip(inner, outer, strict=True)):
        inside = shapely.covers(g_in, pts) & in_window
        ring = shapely.covers(shapely.difference(g_out, g_in), pts) & ~in_any & in_window
        sub = out[out.hotspot_id == f"h{i}"].set_index("trial_date")
        want = pd.Series(tday[inside]).value_counts()
        got = sub["crimes"]
        assert got.sum() == inside.sum()
        for day, c in want.items():
            assert got[day] == c
        assert sub["catchment_crimes"].sum() == ring.sum()
        assert sub["crimes_burglary"].sum() == (inside & (crimes["category"] == "Burglary")).sum()
    assert len(out) == 15 * 14


def test_month_period_for_police_uk(hotspots):
    crimes = pd.DataFrame({"x": [50, 50, 350], "y": [50, 50, 50],
                           "occurred_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns, UTC]"),
                           "month": ["2024-01", "2024-03", "2024-03"],
                           "category": ["Burglary"] * 3})
    # February has no crime anywhere in the input: a gap in the data (a police.uk month
    # not supplied), so it is left out with a warning rather than counted as zero
    with pytest.warns(OutcomeWarning, match="2024-02"):
        out = build_outcomes(crimes, hotspots, harm="cchi", period="month")
    assert list(out.columns[:2]) == ["hotspot_id", "period"]
    assert len(out) == 3 * 2  # Jan and Mar for each hot spot
    assert out.attrs["counts"]["missing_months"] == ["2024-02"]
    key = out.set_index(["hotspot_id", "period"])["crimes"]
    assert key[("A", "2024-01")] == 1 and key[("B", "2024-01")] == 0 and key[("B", "2024-03")] == 1
    from rct.errors import DataError

    with pytest.raises(DataError, match="period='month'"):
        build_outcomes(crimes, hotspots, harm="cchi", period="day")


def test_missing_location_warns(hotspots):
    crimes = _crimes([(np.nan, 50, "2024-07-01T12:00:00Z", "Burglary"),
                      (50, 50, "2024-07-01T12:00:00Z", "Burglary")])
    with pytest.warns(OutcomeWarning, match="no coordinates"):
        out = build_outcomes(crimes, hotspots, harm=None)
    assert out["crimes"].sum() == 1 and out.attrs["counts"]["no_location"] == 1


def test_locate_pairs_fallback_equals_pip(hotspots):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-50, 500, 500), rng.uniform(-50, 150, 500)
    pi, gi = locate_pairs(x, y, hotspots, buffer_m=10)
    tree_pairs = set()
    geoms = shapely.buffer(np.asarray(hotspots.geometry.values), 10, quad_segs=16)
    pts = shapely.points(x, y)
    for j, g in enumerate(geoms):
        tree_pairs |= {(int(i), j) for i in np.flatnonzero(shapely.intersects(g, pts))}
    assert set(zip(pi.tolist(), gi.tolist(), strict=True)) == tree_pairs


def test_group_slug():
    s = group_slug(["Violence and sexual offences", "Criminal damage & arson", None])
    assert list(s) == ["violence_and_sexual_offences", "criminal_damage_arson", "unknown"]


def test_cli_ingest_crimes_police_uk(tmp_path, police_uk_dir):
    from rct.cli import main
    from rct.io.crimes import read_crimes
    from rct.io.hotspots import write_hotspots

    files = sorted(police_uk_dir.glob("*.csv.gz"))[:2]
    crimes = read_crimes(files).data
    # two hot spots: 150 m circles around the two commonest crime locations
    top = crimes.groupby(["x", "y"]).size().sort_values(ascending=False).index[:2]
    hs = gpd.GeoDataFrame({"hotspot_id": ["hs1", "hs2"]},
                          geometry=[shapely.Point(x, y).buffer(150) for x, y in top], crs=27700)
    hpath = tmp_path / "hotspots.geojson"
    write_hotspots(hs, hpath)
    out = tmp_path / "outcomes.parquet"
    with pytest.warns(OutcomeWarning, match="2018-07, 2018-08, 2018-09"):
        code = main(["ingest", "crimes", *map(str, files), "--hotspots", str(hpath),
                     "--harm", "cchi", "--catchment", "200", "--out", str(out)])
    assert code == 0
    df = pd.read_parquet(out)
    assert {"hotspot_id", "period", "crimes", "harm", "catchment_crimes"} <= set(df.columns)
    # the bundled files are 2018-06 and 2018-10: the months between are missing data,
    # not months of zero crime, so the panel has the two supplied months only
    months = sorted(crimes["month"].unique())
    assert months == ["2018-06", "2018-10"]
    assert sorted(df["period"].unique()) == months and len(df) == 2 * 2
    assert df["crimes"].sum() > 0
    # a bad harm name is a one-line error with exit code 2
    assert main(["ingest", "crimes", str(files[0]), "--hotspots", str(hpath), "--harm",
                 "nope", "--out", str(tmp_path / "x.parquet")]) == 2
