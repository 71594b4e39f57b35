"""[design] sites / shifts / per_day tables: the trial file, the plan, and the manifest check."""

from __future__ import annotations

import pandas as pd
import pytest

from rct.config import load_trial
from rct.errors import ConfigError
from rct.plan import plan_from_trial
from rct.plan.evaluate import design_from_trial
from rct.randomise.manifest import randomise_crossover_file

BASE = """
[trial]
name = "two sites, two shifts"

[design]
type = "crossover"
start = 2021-10-25
days = 7
seed = 3
{design}

[files]
hotspots = "hotspots.csv"
allocation = "schedule.csv"

[analysis]
primary = "crimes"
secondary = []
"""


def _write(tmp_path, design: str):
    f = tmp_path / "trial.toml"
    f.write_text(BASE.format(design=design))
    return f


def _units(tmp_path):
    rows = [(f"H{i}-{w}", "north" if i < 4 else "south", w, a, b) for i in range(8)
            for w, a, b in (("day", "06:00", "18:00"), ("night", "18:00", "06:00"))]
    pd.DataFrame(rows, columns=["hotspot_id", "site", "window", "window_start",
                                "window_end"]).to_csv(tmp_path / "hotspots.csv", index=False)
    return tmp_path / "hotspots.csv"


def test_tables_load_and_the_plan_says_so(tmp_path):
    _units(tmp_path)
    f = _write(tmp_path, 'per_day = { north = { night = 2 }, day = 1, south = 1 }\n'
                         'sites = "site"\nshifts = { day = "6:00-18:00", night = "18:00-06:00" }')
    t = load_trial(f)
    assert t.design.per_day == {"north": {"night": 2}, "day": 1, "south": 1}
    assert t.design.shifts == {"day": "06:00-18:00", "night": "18:00-06:00"}
    plan = plan_from_trial(t)
    rows = dict(plan.describe())
    assert "day 06:00-18:00, night 18:00-06:00" in rows["Shifts"]
    assert "a daily quota per site" in rows["Sites"]
    assert "per hot-spot-shift" in plan.primary.unit
    assert any("restricted to each site and each shift" in r for r in plan.robustness)
    assert plan.to_dict()["design"]["per_day"] == t.design.per_day


def test_trial_file_problems(tmp_path):
    _units(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_trial(_write(tmp_path, 'per_day = { north = 0, south = "x" }\n'
                                    'shifts = { day = "06:00-18:00", x = "17:00-19:00" }'))
    text = str(e.value)
    assert "per_day.south" in text and "per_day = 0 is out of range" in text
    assert "overlap" in text
    with pytest.raises(ConfigError, match="neither sites nor shifts"):
        load_trial(_write(tmp_path, "per_day = { north = 1 }"))
    p = tmp_path / "p.toml"
    p.write_text(BASE.replace('type = "crossover"', 'type = "parallel"').format(
        design='sites = "site"\nshifts = { day = "06:00-18:00" }').replace(
        "start = 2021-10-25\ndays = 7\n", ""))
    with pytest.raises(ConfigError, match="shifts applies to crossover designs only"):
        load_trial(p)


def test_parallel_sites_block_by_site_unless_told_otherwise(tmp_path):
    par = BASE.replace('type = "crossover"', 'type = "parallel"').replace(
        "start = 2021-10-25\ndays = 7\n", "")
    f = tmp_path / "p.toml"
    f.write_text(par.format(design='sites = "site"'))
    d = load_trial(f).design
    assert (d.scheme, d.block_column) == ("block", "site")
    f.write_text(par.format(design='sites = "site"\nscheme = "complete"'))
    d = load_trial(f).design
    assert (d.scheme, d.block_column) == ("complete", None)
    f.write_text(par.format(design='sites = "site"\nscheme = "block"\nblock_column = "beat"'))
    assert load_trial(f).design.block_column == "beat"


def test_design_is_rebuilt_from_the_manifest_and_checked(tmp_path):
    hs = _units(tmp_path)
    randomise_crossover_file(hs, out=tmp_path / "schedule.csv", seed=3, start="2021-10-25",
                             days=7, sites="site", windows="auto",
                             per_day={"north": {"day": 1, "night": 2},
                                      "south": {"day": 1, "night": 1}})
    alloc = pd.read_csv(tmp_path / "schedule.csv")
    # the same quotas written another way agree with the manifest
    good = _write(tmp_path, 'per_day = { north = { night = 2 }, day = 1, south = 1 }\n'
                            'sites = "site"\nshifts = { day = "06:00-18:00", night = '
                            '"18:00-06:00" }')
    d = design_from_trial(load_trial(good), alloc)
    assert d.windows is not None and d.sites is not None
    bad = _write(tmp_path, 'per_day = { north = 2, south = 1 }\nsites = "site"\n'
                           'shifts = { day = "06:00-18:00", night = "18:00-06:00" }')
    with pytest.raises(ConfigError, match=r"\[design\] per_day"):
        design_from_trial(load_trial(bad), alloc)
    other = _write(tmp_path, 'per_day = 1\nsites = "site"\n'
                             'shifts = { day = "07:00-19:00", night = "19:00-07:00" }')
    with pytest.raises(ConfigError, match=r"\[design\] shifts"):
        design_from_trial(load_trial(other), alloc)


def test_design_re_derived_from_the_spec_without_a_manifest(tmp_path):
    hs = _units(tmp_path)
    d0 = randomise_crossover_file(hs, out=tmp_path / "made.csv", seed=3, start="2021-10-25",
                                  days=7, sites="site", windows="auto", per_day=1)
    d0.allocation.to_csv(tmp_path / "schedule.csv", index=False)  # no manifest beside it
    f = _write(tmp_path, 'per_day = 1\nsites = "site"\n'
                         'shifts = { day = "06:00-18:00", night = "18:00-06:00" }')
    d = design_from_trial(load_trial(f), pd.read_csv(tmp_path / "schedule.csv"))
    assert (d.schedule == d0.schedule).all()
