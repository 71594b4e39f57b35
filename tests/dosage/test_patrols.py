"""Patrol logs -> dosage per hot-spot-day, against a generator with known truth."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rct.dosage.patrol_logs import read_patrol_logs
from rct.dosage.patrols import DOSAGE_COLUMNS, ingest_patrols, patrol_dosage
from rct.dosage.pseudonym import Pseudonymiser

KEY = b"another-test-key-0123456789"
PSEUDO = Pseudonymiser(KEY)
HOTSPOTS = tuple(f"HS{i:02d}" for i in range(1, 7))


def _dosage(logs, **kw):
    kw.setdefault("hotspots", list(HOTSPOTS))
    return ingest_patrols(logs, key=KEY, **kw)


def test_columns_follow_the_contract(simulated):
    r = _dosage(simulated.logs)
    assert tuple(r.dosage.columns) == DOSAGE_COLUMNS
    assert tuple(simulated.truth.columns) == DOSAGE_COLUMNS
    assert simulated.hotspots == HOTSPOTS


@pytest.mark.parametrize("seed", [20240331, 7, 99])
def test_every_figure_matches_the_truth(seed, simulate):
    sim = simulate(seed)
    r = _dosage(sim.logs, trial_start=min(sim.dates), trial_end=max(sim.dates))
    got = r.dosage
    # the complete grid: every hot spot on every day of the window
    n_days = (max(sim.dates) - min(sim.dates)).days + 1
    assert len(got) == len(HOTSPOTS) * n_days
    on_sim_days = got[got["trial_date"].isin(sim.dates)].reset_index(drop=True)
    pd.testing.assert_frame_equal(on_sim_days, sim.truth, check_exact=True)
    others = got[~got["trial_date"].isin(sim.dates)]
    assert (others[list(DOSAGE_COLUMNS[2:])] == 0).all().all()
    assert r.read.n_quarantined == 0
    assert r.read.n_read == len(sim.logs)


def test_without_window_only_observed_days(simulated):
    got = _dosage(simulated.logs).dosage
    truth = simulated.truth
    active = truth[(truth["visits"] > 0) | (truth["presence_minutes"] > 0)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, active, check_exact=True)


def test_presence_is_union_officer_minutes_is_sum(simulated):
    got = _dosage(simulated.logs).dosage
    assert (got["presence_minutes"] <= got["officer_minutes"]).all()
    # some hot-spot-days really have overlap, so the test has teeth
    assert (got["presence_minutes"] < got["officer_minutes"]).any()


def _logs(rows):
    cols = ["patrol_id", "officer_id", "hotspot_id", "arrived_at", "left_at", "mode", "stopped"]
    return pd.DataFrame(rows, columns=cols)


def test_two_officers_together_count_once():
    logs = _logs(
        [
            ("a", "PC1", "HS01", "2024-05-01 10:00", "2024-05-01 10:15", "foot", "no"),
            ("b", "PC2", "HS01", "2024-05-01 10:00", "2024-05-01 10:15", "foot", "yes"),
            ("c", "PC3", "HS01", "2024-05-01 10:10", "2024-05-01 10:30", "vehicle", "3"),
        ]
    )
    d = _dosage(logs).dosage.iloc[0]
    assert d["presence_minutes"] == 30.0
    assert d["officer_minutes"] == 50.0
    assert d["foot_minutes"] == 30.0 and d["vehicle_minutes"] == 20.0
    assert d["visits"] == 3 and d["officers"] == 3 and d["stops"] == 4
    assert d["visits_10_15"] == 2 and d["visits_lt5"] == 0 and d["presence_periods"] == 1


def test_patrol_crossing_the_day_boundary_is_split():
    logs = _logs([("a", "PC1", "HS01", "2024-05-01 05:30", "2024-05-01 06:20", "foot", "1")])
    d = _dosage(logs).dosage
    assert d["trial_date"].tolist() == [dt.date(2024, 4, 30), dt.date(2024, 5, 1)]
    assert d["presence_minutes"].tolist() == [30.0, 20.0]
    assert d["officer_minutes"].tolist() == [30.0, 20.0]
    # one visit, counted (with its stop) on the day it began; its length is 50 minutes
    assert d["visits"].tolist() == [1, 0]
    assert d["stops"].tolist() == [1, 0]
    assert d["officers"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("day_starts", "expected"),
    [
        ("06:00", {dt.date(2024, 5, 1): 60.0}),
        ("00:00", {dt.date(2024, 5, 1): 60.0}),
        ("07:30", {dt.date(2024, 4, 30): 30.0, dt.date(2024, 5, 1): 30.0}),
    ],
)
def test_day_start_is_configurable(day_starts, expected):
    logs = _logs([("a", "PC1", "HS01", "2024-05-01 07:00", "2024-05-01 08:00", "foot", "")])
    d = _dosage(logs, day_starts=day_starts).dosage
    assert dict(zip(d["trial_date"], d["presence_minutes"], strict=True)) == expected


def test_dst_days_are_23_and_25_hours():
    # whole trial days, 06:00 to 06:00 local, around both clock changes of 2024
    logs = _logs(
        [
            ("spring", "PC1", "HS01", "2024-03-30 06:00", "2024-03-31 06:00", "foot", ""),
            ("normal", "PC1", "HS02", "2024-04-01 06:00", "2024-04-02 06:00", "foot", ""),
            ("autumn", "PC1", "HS03", "2024-10-26 06:00", "2024-10-27 06:00", "foot", ""),
            # across the clock change itself: 00:30-03:30 local is 2 h in March, 4 h in October
            ("night-spring", "PC2", "HS04", "2024-03-31 00:30", "2024-03-31 03:30", "car", ""),
            ("night-autumn", "PC2", "HS05", "2024-10-27 00:30", "2024-10-27 03:30", "car", ""),
        ]
    )
    d = _dosage(logs, max_visit_hours=30, hotspots=["HS01", "HS02", "HS03", "HS04", "HS05"]).dosage
    got = dict(
        zip(zip(d["hotspot_id"], d["trial_date"], strict=True), d["presence_minutes"], strict=True)
    )
    assert got == {
        ("HS01", dt.date(2024, 3, 30)): 23 * 60.0,
        ("HS02", dt.date(2024, 4, 1)): 24 * 60.0,
        ("HS03", dt.date(2024, 10, 26)): 25 * 60.0,
        ("HS04", dt.date(2024, 3, 30)): 2 * 60.0,
        ("HS05", dt.date(2024, 10, 26)): 4 * 60.0,
    }


def test_dst_day_boundary_split_on_the_short_and_long_days():
    # 23:00 on the Saturday to 07:00 on the Sunday: the clock change falls inside
    logs = _logs(
        [
            ("s", "PC1", "HS01", "2024-03-30 23:00", "2024-03-31 07:00", "foot", ""),
            ("a", "PC1", "HS02", "2024-10-26 23:00", "2024-10-27 07:00", "foot", ""),
        ]
    )
    d = _dosage(logs, max_visit_hours=10).dosage
    got = dict(
        zip(zip(d["hotspot_id"], d["trial_date"], strict=True), d["officer_minutes"], strict=True)
    )
    assert got == {
        ("HS01", dt.date(2024, 3, 30)): 6 * 60.0,  # 23:00-06:00 with an hour skipped
        ("HS01", dt.date(2024, 3, 31)): 60.0,
        ("HS02", dt.date(2024, 10, 26)): 8 * 60.0,  # 23:00-06:00 with an hour repeated
        ("HS02", dt.date(2024, 10, 27)): 60.0,
    }


def test_times_with_offsets_and_parquet_input(tmp_path, simulated):
    logs = simulated.logs.copy()
    local = pd.to_datetime(logs["arrived_at"]).dt.tz_localize("Europe/London")
    logs["arrived_at"] = local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "logs.parquet"
    logs.to_parquet(path)
    got = _dosage(path).dosage
    want = _dosage(simulated.logs).dosage
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_koper_classes_use_inclusive_band():
    rows = [
        (
            f"p{m}",
            "PC1",
            "HS01",
            "2024-05-01 10:00",
            f"2024-05-01 {10 + (m // 60)}:{m % 60:02d}",
            "foot",
            "",
        )
        for m in (0, 4, 5, 9, 10, 15, 16)
    ]
    rows = [(r[0], r[1], f"HS0{i + 1}", *r[3:]) for i, r in enumerate(rows)]
    d = _dosage(_logs(rows), hotspots=[f"HS0{i}" for i in range(1, 8)]).dosage
    assert d["visits_lt5"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert d["visits_10_15"].tolist() == [0, 0, 0, 0, 1, 1, 0]


@pytest.mark.filterwarnings("ignore::rct.errors.QuarantineWarning")
def test_empty_logs_give_zero_grid():
    logs = _logs([("a", "PC1", "HS99", "2024-05-01 10:00", "2024-05-01 10:10", "foot", "")])
    # every row quarantined: allowed only when the caller lowers the bar (issue 15, case 5)
    r = _dosage(logs, trial_start="2024-05-01", trial_end="2024-05-02", max_quarantined=1)
    assert r.read.n_accepted == 0 and r.read.n_quarantined == 1
    assert len(r.dosage) == 2 * len(HOTSPOTS)
    assert (r.dosage[list(DOSAGE_COLUMNS[2:])] == 0).all().all()


def test_read_patrol_logs_direct(simulated):
    res = read_patrol_logs(simulated.logs, pseudonymiser=PSEUDO, hotspots=HOTSPOTS)
    assert "officer_id" not in res.data.columns
    assert set(res.data["mode"].dropna()) <= {"foot", "vehicle"}
    table = patrol_dosage(res.data)
    assert np.isclose(table["officer_minutes"].sum(), simulated.truth["officer_minutes"].sum())


def test_window_starting_before_the_first_patrol_keeps_its_dates():
    """A baseline with no app patrols: the grid's early days keep their own dates (a bug once
    gave them dates in 1768 and the wrong hot spot)."""
    logs = _logs([("a", "PC1", "HS01", "2024-05-20 10:00", "2024-05-20 10:15", "foot", "")])
    r = _dosage(logs, trial_start="2024-05-01", trial_end="2024-05-31")
    d = r.dosage
    days = pd.to_datetime(d["trial_date"])
    assert days.min() == pd.Timestamp("2024-05-01") and days.max() == pd.Timestamp("2024-05-31")
    assert (d.groupby("hotspot_id").size() == 31).all() and len(d) == 31 * len(HOTSPOTS)
    hit = d[d["presence_minutes"] > 0]
    assert list(hit["hotspot_id"]) == ["HS01"] and list(hit["trial_date"]) == [dt.date(2024, 5, 20)]
