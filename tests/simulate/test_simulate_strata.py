"""`rct simulate` with sites and shifts: a known truth per site and shift."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rct.cli import main
from rct.errors import DesignError
from rct.io.hotspots import read_hotspots
from rct.io.windows import assign_windows, hotspot_windows
from rct.simulate import SimulationSpec, simulate_trial

SHIFTS = {"day": "06:00-18:00", "night": "18:00-06:00"}


def test_spec_truth_by_site_and_shift():
    s = SimulationSpec(sites={"north": 4, "south": 3}, shifts=SHIFTS, effect=0.9,
                       effects={"north": 0.7, "night": 0.8, "south/day": 1.1})
    assert s.n_hotspots == 7 and s.quota == {"north": 2, "south": 1}
    assert s.irr("north", "night") == 0.7      # the site's entry beats the shift's
    assert s.irr("south", "night") == 0.8 and s.irr("south", "day") == 1.1
    with pytest.raises(DesignError, match="not a site, a shift"):
        SimulationSpec(sites={"a": 3}, effects={"b": 0.5})
    with pytest.raises(DesignError, match="crossover"):
        SimulationSpec(design="parallel", shifts=SHIFTS)


def test_units_crimes_and_patrols_in_their_shift():
    spec = SimulationSpec(sites={"north": 4, "south": 4}, shifts=SHIFTS, days=21,
                          baseline_days=3, start=dt.date(2022, 3, 20), mess=False,
                          effects={"north": 0.5}, shift_rates={"day": 0.3, "night": 0.6})
    t = simulate_trial(spec)
    hw = hotspot_windows(pd.DataFrame(t.hotspots.drop(columns="geometry")))
    assert len(t.hotspots) == 16 and hw.windows.to_dict() == SHIFTS
    sched = t.schedule[t.schedule["arm"] == "treatment"]
    per = sched.groupby(["site", "window", "trial_date"]).size()
    assert per.eq(2).all() and len(per) == 2 * 2 * 21
    assert t.truth["irr_by_site"] == {"north": 0.5, "south": 0.85}
    assert t.truth["irr_by_shift"] == {"day": None, "night": None}  # varies across sites
    assert t.truth["irr"] is None
    panel = t.panel
    assert (panel.loc[panel["site"] == "north", "true_irr"] == 0.5).all()
    # every tasked patrol starts inside its unit's shift on its trial day
    p = t.patrols
    when = pd.to_datetime(p["arrived_at"], utc=True)
    aw = assign_windows(when, SHIFTS, day_starts="06:00")
    assert (aw["window"].to_numpy() == p["hotspot_id"].str.split("-").str[1].to_numpy()).all()
    # night is busier than day, as the shift rates say
    rate = panel.groupby("window")["crimes"].mean()
    assert rate["night"] > 1.4 * rate["day"]


def test_cli_writes_sites_and_shifts(tmp_path, capsys):
    code = main(["simulate", "--out", str(tmp_path), "--sites", "a=3,b=3", "--shifts",
                 "day=06:00-18:00,night=18:00-06:00", "--effects", "a/night=0.5",
                 "--days", "10", "--baseline-days", "0", "--no-mess"])
    out = capsys.readouterr().out
    assert code == 0 and "IRR by site x shift: a / day 0.85, a / night 0.5" in out
    toml = (tmp_path / "trial.toml").read_text()
    assert 'sites = "site"' in toml and 'shifts = { day = "06:00-18:00"' in toml
    assert "per_day = { a = 1, b = 1 }" in toml
    hs = read_hotspots(tmp_path / "hotspots.geojson")
    assert set(hs["window"]) == {"day", "night"} and np.all(hs["place_id"].str.len() > 0)
    assert main(["simulate", "--out", str(tmp_path / "x"), "--sites", "a"]) == 2
    assert "NAME=value" in capsys.readouterr().err
