"""trial.toml: loading, defaults, and reporting every problem at once."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from rct.config import load_trial
from rct.errors import ConfigError

GOOD = """
[trial]
name = "TV2"

[design]
type = "crossover"
per_day = 17
start = 2023-04-01
days = 10
day_starts = "06:00"
seed = 7

[windows]
baseline = [2023-01-01, 2023-03-31]
trial = [2023-04-01, 2023-04-10]

[files]
hotspots = "hotspots.geojson"
crimes = ["crimes/*.csv"]
harm = "ons"

[analysis]
primary = "harm"
secondary = ["crimes", "harm"]
alpha = 0.05

[dosage]
buffer_m = 25
"""


def _hotspots(path, n):
    feats = [
        {"type": "Feature", "properties": {"hotspot_id": f"H{i}"}, "geometry": None}
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))


def test_good_file_loads_with_resolved_paths(tmp_path):
    _hotspots(tmp_path / "hotspots.geojson", 34)
    (tmp_path / "crimes").mkdir()
    for m in ("b.csv", "a.csv"):
        (tmp_path / "crimes" / m).write_text("x")
    f = tmp_path / "trial.toml"
    f.write_text(GOOD)
    t = load_trial(f, check_files=True)
    assert t.design.type == "crossover" and t.design.per_day == 17
    assert t.design.end == dt.date(2023, 4, 10)
    assert t.windows.baseline == (dt.date(2023, 1, 1), dt.date(2023, 3, 31))
    assert [p.name for p in t.files.crimes] == ["a.csv", "b.csv"]
    assert t.files.hotspots == (tmp_path / "hotspots.geojson").resolve()
    assert t.files.outcomes == (tmp_path / "out" / "outcomes.parquet").resolve()
    assert t.analysis.outcomes == ("harm", "crimes")
    assert t.dosage.buffer_m == 25.0
    assert len(t.sha256) == 64
    assert json.dumps(t.to_dict())  # serialisable for reports


def test_every_problem_reported_at_once_with_its_key(tmp_path):
    _hotspots(tmp_path / "hotspots.geojson", 45)
    bad = GOOD.replace("per_day = 17", "per_day = 50").replace("alpha = 0.05", "alpha = 2.0")
    bad = bad.replace('day_starts = "06:00"', 'day_starts = "6 am"')
    bad = bad.replace('harm = "ons"', 'harm = "cchx"\nfoo = 1')
    bad = bad.replace('crimes = ["crimes/*.csv"]', "")
    f = tmp_path / "trial.toml"
    f.write_text(bad)
    with pytest.raises(ConfigError) as err:
        load_trial(f)
    problems = err.value.problems
    assert "[design] per_day = 50 is more than the 45 hot spots" in problems
    assert any(p.startswith("[analysis] alpha = 2.0") for p in problems)
    assert any(p.startswith("[design] day_starts = '6 am'") for p in problems)
    assert any(p.startswith("[files] harm = 'cchx'") for p in problems)
    assert any("[files] unknown key 'foo'" in p for p in problems)
    assert len(problems) == 5
    assert str(f) in str(err.value)


def test_crossover_needs_its_parameters_and_consistent_window(tmp_path):
    f = tmp_path / "trial.toml"
    f.write_text('[design]\ntype = "crossover"\n[windows]\ntrial = [2023-04-02, 2023-04-01]\n')
    with pytest.raises(ConfigError) as err:
        load_trial(f)
    msg = str(err.value)
    for key in ("per_day", "start", "days"):
        assert f"[design] {key} is required" in msg
    assert "[windows] trial starts 2023-04-02 after it ends 2023-04-01" in msg


def test_window_must_match_design(tmp_path):
    f = tmp_path / "trial.toml"
    f.write_text(
        GOOD.replace("trial = [2023-04-01, 2023-04-10]", "trial = [2023-04-01, 2023-04-30]")
    )
    with pytest.raises(ConfigError, match=r"start \+ days - 1 = 2023-04-10"):
        load_trial(f)


def test_parallel_schemes_validated(tmp_path):
    f = tmp_path / "trial.toml"
    f.write_text('[design]\ntype = "parallel"\nscheme = "shuffle"\n')
    with pytest.raises(ConfigError, match="complete, block, pairs, rerandomise"):
        load_trial(f)
    f.write_text('[design]\ntype = "parallel"\nscheme = "rerandomise"\n')
    with pytest.raises(ConfigError, match="needs covariates"):
        load_trial(f)
    f.write_text('[design]\ntype = "parallel"\nscheme = "block"\nblock_column = "beat"\n')
    assert load_trial(f).design.block_column == "beat"


def test_unreadable_and_invalid_toml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_trial(tmp_path / "missing.toml")
    f = tmp_path / "trial.toml"
    f.write_text("[design\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_trial(f)


def test_require_names_missing_inputs(tmp_path):
    f = tmp_path / "trial.toml"
    f.write_text('[design]\ntype = "parallel"\n[files]\npatrols = "p.csv"\n')
    t = load_trial(f)
    with pytest.raises(ConfigError) as err:
        t.require("patrols", "hotspots")
    assert "[files] hotspots is not set" in err.value.problems
    assert any("[files] patrols" in p and "does not exist" in p for p in err.value.problems)


def test_glob_matching_nothing_loads_but_require_reports_it(tmp_path):
    """A pre-registered trial file names pings that have not arrived yet."""
    f = tmp_path / "trial.toml"
    f.write_text('[design]\ntype = "parallel"\n[files]\nairwave = ["pings/*.parquet"]\n')
    t = load_trial(f)
    assert [p.name for p in t.files.airwave] == ["*.parquet"]
    with pytest.raises(ConfigError, match=r"\[files\] airwave = .*does not exist"):
        t.require("airwave")
    (tmp_path / "pings").mkdir()
    (tmp_path / "pings" / "a.parquet").write_bytes(b"x")
    assert [p.name for p in load_trial(f).files.airwave] == ["a.parquet"]
