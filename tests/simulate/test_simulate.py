"""The simulator: its truth must be what it says, and its files what a force supplies."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import shapely

from rct.config import load_trial
from rct.errors import DesignError
from rct.simulate import SimulationSpec, simulate_trial, synthetic_hotspots


def _schedule(ids, spec, seed=0):
    """A crossover schedule drawn independently of rct.randomise (k of N each day)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(spec.start, spec.end).date
    keys = rng.random((len(days), len(ids)))
    tasked = np.argsort(keys, axis=1)[:, : spec.k]
    arm = np.zeros((len(days), len(ids)), dtype=bool)
    np.put_along_axis(arm, tasked, True, axis=1)
    return pd.DataFrame(
        {
            "hotspot_id": np.tile(ids, len(days)),
            "trial_date": np.repeat(days, len(ids)),
            "arm": np.where(arm.ravel(), "treatment", "control"),
        }
    )


@pytest.fixture(scope="module")
def small():
    spec = SimulationSpec(n_hotspots=12, days=28, baseline_days=14, start=dt.date(2021, 10, 18),
                          base_rate=0.5, seed=11)
    hs = synthetic_hotspots(spec.n_hotspots, rng=np.random.default_rng(1))
    return simulate_trial(spec, hotspots=hs, schedule=_schedule(hs["hotspot_id"], spec))


def test_panel_is_complete_and_matches_schedule(small):
    spec = small.spec
    panel = small.panel
    assert len(panel) == spec.n_hotspots * (spec.days + spec.baseline_days)
    trial = panel[panel["period"] == "trial"]
    assert (trial.groupby("trial_date")["tasked"].sum() == spec.k).all()
    assert not panel.loc[panel["period"] == "baseline", "tasked"].any()


def test_crimes_in_hotspots_equal_panel_counts(small):
    """Crimes located inside each hot spot polygon, by trial day, equal the true panel."""
    from rct.io.times import parse_times, trial_date

    c = small.crimes.dropna(subset=["easting", "northing"]).drop_duplicates()
    t, why = parse_times(c["occurred_at"], ambiguous="earliest")
    c = c[why.isna()].assign(trial_date=trial_date(t[why.isna()], small.spec.day_starts))
    inside = np.column_stack([
        shapely.contains_xy(g, c["easting"].to_numpy(), c["northing"].to_numpy())
        for g in small.hotspots.geometry
    ])
    assert inside.sum(axis=1).max() <= 1
    hit = inside.any(axis=1)
    got = (
        pd.DataFrame({"hotspot_id": small.hotspots["hotspot_id"].to_numpy()[inside[hit].argmax(1)],
                      "trial_date": c.loc[hit, "trial_date"].to_numpy()})
        .value_counts().rename("n").reset_index()
    )
    truth = small.panel[["hotspot_id", "trial_date", "crimes"]]
    merged = truth.merge(got, on=["hotspot_id", "trial_date"], how="left").fillna({"n": 0})
    # planted bad rows (missing coordinates / unparseable dates) may remove a few
    bad = sum(small.truth["planted_bad_rows"]["crimes"].values())
    diff = (merged["crimes"] - merged["n"]).abs().sum()
    assert diff <= bad
    assert merged["crimes"].sum() > 100


def test_patrol_minutes_from_logs(small):
    """Union of tasked patrol intervals per hot spot and trial day, recomputed naively."""
    from rct.io.times import parse_times, split_by_trial_day

    p = small.patrols[~small.patrols["patrol_id"].str.startswith("PX")].drop_duplicates()
    a, _ = parse_times(p["arrived_at"])
    b, _ = parse_times(p["left_at"])
    pieces = split_by_trial_day(a, b, small.spec.day_starts)
    pieces["hotspot_id"] = p["hotspot_id"].to_numpy()[pieces["row"]]
    total = {}
    for (h, d), g in pieces.groupby(["hotspot_id", "trial_date"]):
        minutes = set()
        for s, e in zip(g["start"], g["end"], strict=True):
            minutes.update(range(int(s.timestamp() // 60), int(e.timestamp() // 60)))
        total[(h, d)] = len(minutes)
    panel = small.panel.set_index(["hotspot_id", "trial_date"])["patrol_minutes"]
    for key, value in total.items():
        assert panel[key] == value
    assert panel.sum() == sum(total.values())


def test_effect_recovered_on_average():
    """Across the whole panel the tasked/untasked rate ratio is near the true IRR."""
    spec = SimulationSpec(n_hotspots=40, days=200, baseline_days=0, base_rate=0.5,
                          dispersion=float("inf"), heterogeneity=float("inf"), effect=0.7,
                          mess=False, seed=3)
    hs = synthetic_hotspots(spec.n_hotspots, rng=np.random.default_rng(2))
    tr = simulate_trial(spec, hotspots=hs, schedule=_schedule(hs["hotspot_id"], spec, 4))
    p = tr.panel
    rate = p.groupby("tasked")["crimes"].mean()
    ratio = rate[True] / rate[False]
    # Poisson counts, ~4000 events: SE of log ratio ~ sqrt(1/1400 + 1/2000) ~ 0.035
    assert abs(np.log(ratio) - np.log(0.7)) < 4 * 0.035


def test_mess_is_planted_and_counted(small):
    planted = small.truth["planted_bad_rows"]
    assert small.crimes[["easting", "northing"]].isna().any(axis=1).sum() == \
        planted["crimes"]["missing coordinates"]
    assert small.crimes.duplicated().sum() == planted["crimes"]["duplicate"]
    assert small.patrols.duplicated().sum() == planted["patrols"]["duplicate"]
    assert small.truth["good_rows"]["patrols"] == len(small.patrols) - 6


def test_write_produces_loadable_trial(small, tmp_path):
    paths = small.write(tmp_path)
    trial = load_trial(paths["trial"], check_files=True)
    assert trial.design.per_day == small.spec.k
    assert trial.windows.trial == (small.spec.start, small.spec.end)
    truth = json.loads(paths["truth"].read_text())
    assert truth["irr"] == small.spec.effect
    assert sum(len(pd.read_parquet(f)) for f in trial.files.airwave) == len(small.pings)
    patrols = pd.read_csv(trial.files.patrols[0])
    assert set(patrols.columns) >= {"patrol_id", "officer_id", "hotspot_id", "arrived_at",
                                    "left_at", "mode", "stopped", "notes"}


def test_dst_day_present(small):
    """The trial spans the October clock change: that trial day is 25 hours long."""
    from rct.io.times import trial_day_bounds

    lo, hi = trial_day_bounds([dt.date(2021, 10, 30)])
    assert (hi - lo).iloc[0] == pd.Timedelta(hours=25)
    assert dt.date(2021, 10, 30) in set(small.panel["trial_date"])


def test_bad_spec_raises():
    with pytest.raises(DesignError, match="compliance"):
        SimulationSpec(compliance=1.5)
    with pytest.raises(DesignError, match="per_day"):
        SimulationSpec(n_hotspots=10, per_day=10)


def test_no_officer_or_radio_in_two_places_at_once(small):
    """Each officer's patrols, and each radio's pings, never overlap in time across hot spots."""
    from rct.io.times import parse_times

    p = small.patrols[~small.patrols["patrol_id"].str.startswith("PX")].drop_duplicates()
    a, _ = parse_times(p["arrived_at"])
    b, _ = parse_times(p["left_at"])
    df = p.assign(a=a, b=b).sort_values(["officer_id", "a"])
    same = df["officer_id"].eq(df["officer_id"].shift())
    assert not (same & (df["a"] < df["b"].shift())).any()
    pings = small.pings.drop_duplicates()
    pings = pings[(pings["lon"] != 0.0)]
    per_second = pings.groupby(["radio_id", "timestamp"])[["lon", "lat"]].nunique()
    clashes = int((per_second.max(axis=1) > 1).sum())
    assert clashes == small.truth["planted_bad_rows"]["pings"]["radio in two places at once"]


def test_offence_mix_is_the_national_subgroup_mix_and_every_crime_has_harm(small):
    """Subgroups follow the bundled national counts; CCHI and ONS weigh every simulated crime."""
    import warnings

    from rct.harm import harm_table
    from rct.simulate import SUBGROUP_CODES, violence_mix

    mix = violence_mix()
    assert abs(sum(mix.values()) - 1) < 1e-12
    assert mix["Violence without injury"] > mix["Violence with injury"] > mix["Homicide"] > 0
    c = small.crimes
    assert set(c["offence_subgroup"]) <= set(SUBGROUP_CODES)
    assert (c["offence_code"] == c["offence_subgroup"].map(SUBGROUP_CODES)).all()
    # the commonest subgroup's share is within 5 binomial SEs of its national share
    share = (c["offence_subgroup"] == "Violence without injury").mean()
    p = mix["Violence without injury"]
    assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / len(c))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown offence would warn
        for name in ("cchi-subgroup", "ons"):
            w, unknown = harm_table(name).weigh(c)
            assert not unknown.any() and (w > 0).all()


def test_presence_grid_in_blocks_equals_one_grid():
    """The minute-grid truth is the same whether built at once or in blocks of hot spots."""
    import numpy as np
    import pandas as pd

    from rct.simulate.trial import _presence_minutes

    rng = np.random.default_rng(0)
    minute = 60_000_000_000
    day_lo = np.arange(10) * 1440 * minute
    day_hi = day_lo + 1440 * minute
    start = rng.integers(0, 10 * 1440, 400) * minute
    iv = pd.DataFrame({"hs": rng.integers(0, 7, 400), "start": start,
                       "end": start + rng.integers(1, 300, 400) * minute})
    whole = _presence_minutes(iv, 7, day_lo, day_hi)
    blocks = _presence_minutes(iv, 7, day_lo, day_hi, max_cells=3 * 15_000)
    np.testing.assert_array_equal(whole, blocks)
    assert whole.sum() > 0
