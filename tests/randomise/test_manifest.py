"""Allocation files, manifests, verify (one-byte changes), overwrite refusal, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rct.cli import main
from rct.randomise import (
    AllocationExistsError,
    load_design,
    randomise_crossover_file,
    randomise_parallel_file,
    verify_allocation,
)


def _write_hotspots(path: Path, n: int = 24) -> Path:
    i = np.arange(n)
    df = pd.DataFrame({
        "hotspot_id": [f"HS{k:02d}" for k in i],
        "crimes": (i * 7) % 23 + 3,
        "harm": ((i * 13) % 17) * 12.5 + 0.1,
        "beat": [["N", "S", "E"][k % 3] for k in i],
    })
    df.sample(frac=1, random_state=3).to_csv(path, index=False)
    return path


@pytest.fixture()
def made(tmp_path):
    hs = _write_hotspots(tmp_path / "hotspots.csv")
    out = tmp_path / "allocation.csv"
    randomise_parallel_file(hs, out=out, seed=7, scheme="rerandomise", covariates=["crimes", "harm"],
                            acceptance=0.25)
    return hs, out


def test_write_and_verify(made):
    hs, out = made
    man = json.loads(Path(f"{out}.manifest.json").read_text())
    assert man["design"]["seed"] == 7 and man["design"]["scheme"] == "rerandomise"
    assert man["design"]["algorithm_version"] == "rct-randomise/1"
    assert man["inputs"]["hotspots"]["path"] == "hotspots.csv"
    assert set(man["software"]) >= {"version", "numpy", "python"}
    rep = verify_allocation(out)
    assert rep.ok, rep.problems
    d = load_design(out)
    assert d.allocation.equals(pd.read_csv(out, dtype=str, keep_default_na=False))


def test_overwrite_refused_then_forced(made):
    hs, out = made
    before = out.read_bytes()
    with pytest.raises(AllocationExistsError, match="rigged"):
        randomise_parallel_file(hs, out=out, seed=8)
    assert out.read_bytes() == before
    randomise_parallel_file(hs, out=out, seed=8, force=True)
    man = json.loads(Path(f"{out}.manifest.json").read_text())
    assert man["replaces"]["allocation_sha256"] is not None
    assert verify_allocation(out).ok


def _flip(path: Path, pos: int, delta: int) -> None:
    data = bytearray(path.read_bytes())
    pos %= len(data)
    data[pos] = (data[pos] + delta) % 256
    path.write_bytes(bytes(data))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(["allocation", "input", "manifest"]), pos=st.integers(0, 10**6),
       delta=st.integers(1, 255))
def test_verify_fails_on_any_one_byte_change(tmp_path_factory, which, pos, delta):
    tmp = tmp_path_factory.mktemp("v")
    hs = _write_hotspots(tmp / "hotspots.csv")
    out = tmp / "allocation.csv"
    randomise_parallel_file(hs, out=out, seed=3, scheme="block", block_column="beat")
    target = {"allocation": out, "input": hs, "manifest": Path(f"{out}.manifest.json")}[which]
    _flip(target, pos, delta)
    rep = verify_allocation(out)
    assert not rep.ok
    expected = {"allocation": "allocation changed", "input": "input changed",
                "manifest": "manifest edited"}[which]
    assert any(expected in p for p in rep.problems), rep.problems
    assert main(["randomise", "verify", str(out)]) == 2


def test_verify_detects_edited_parameter(made):
    hs, out = made
    mp = Path(f"{out}.manifest.json")
    man = json.loads(mp.read_text())
    man["design"]["seed"] = 8
    mp.write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    rep = verify_allocation(out)
    assert any("manifest edited" in p for p in rep.problems)
    assert any("re-derived allocation differs" in p for p in rep.problems)


def test_cli_parallel_verify_balance(tmp_path, capsys):
    hs = _write_hotspots(tmp_path / "h.csv")
    out = tmp_path / "a.csv"
    assert main(["randomise", "parallel", str(hs), "--scheme", "pairs", "--rank-column", "crimes",
                 "--seed", "5", "--out", str(out)]) == 0
    assert main(["randomise", "verify", str(out)]) == 0
    assert main(["randomise", "parallel", str(hs), "--seed", "6", "--out", str(out)]) == 2
    assert "rigged" in capsys.readouterr().err
    assert main(["randomise", "balance", str(out), "--covariates", "crimes,harm",
                 "--draws", "500"]) == 0
    bal = pd.read_csv(f"{out}.balance.csv")
    assert {"covariate", "smd_treatment", "variance_ratio_treatment", "p_value"} <= set(bal.columns)
    assert "Omnibus" in capsys.readouterr().out


def test_cli_crossover_with_tasking(tmp_path):
    hs = _write_hotspots(tmp_path / "h.csv", n=20)
    out, task = tmp_path / "s.csv", tmp_path / "tasking.csv"
    assert main(["randomise", "crossover", str(hs), "--start", "2020-06-01", "--days", "90",
                 "--per-day", "8", "--seed", "1", "--out", str(out), "--tasking", str(task)]) == 0
    s = pd.read_csv(out)
    assert len(s) == 1800 and (s.arm == "treatment").sum() == 720
    t = pd.read_csv(task)
    assert (t.n_tasked == 8).all() and len(t) == 90
    assert main(["randomise", "verify", str(out)]) == 0
    d = randomise_crossover_file(hs, out=tmp_path / "s2.csv", seed=1, start="2020-06-01", days=90,
                                 per_day=8)
    assert (tmp_path / "s2.csv").read_bytes() == out.read_bytes()
    assert d.per_day == 8


def test_cli_bad_choice_is_one_line_error(tmp_path, capsys):
    hs = _write_hotspots(tmp_path / "h.csv")
    code = main(["randomise", "parallel", str(hs), "--scheme", "nope", "--seed", "1",
                 "--out", str(tmp_path / "a.csv")])
    assert code != 0
    assert not (tmp_path / "a.csv").exists()


def _old_fixture_verifies(tmp_path: Path, fixture: Path, name: str, version: str):
    """Copy a fixture made by an earlier algorithm version and check that it verifies bit for
    bit (library and CLI) and reloads under that version; ``(allocation, manifest, design)``."""
    import shutil

    from rct.randomise.manifest import allocation_bytes

    for f in fixture.iterdir():
        shutil.copy(f, tmp_path / f.name)
    out = tmp_path / name
    man = json.loads(Path(f"{out}.manifest.json").read_text())
    assert man["design"]["algorithm_version"] == version
    rep = verify_allocation(out)
    assert rep.ok, rep.problems
    assert "re-derived from seed and parameters" in rep.checked
    assert main(["randomise", "verify", str(out)]) == 0
    d = load_design(out)
    assert d.algorithm_version == version
    assert allocation_bytes(d) == out.read_bytes()
    return out, man, d


FIXTURE_V1 = Path(__file__).parent / "fixtures" / "crossover_v1"


@pytest.mark.parametrize("name", ["schedule_default.csv", "schedule_constrained.csv",
                                  "schedule_weekday.csv"])
def test_schedules_made_by_rct_randomise_1_still_verify(tmp_path, name):
    # made with `rct randomise crossover` at commit 7089b35 (before rct-randomise/2)
    out, man, d = _old_fixture_verifies(tmp_path, FIXTURE_V1, name, "rct-randomise/1")
    # its randomisation distribution is the v1 sampler's, drawn by the v1 code
    z = d.draw(5, np.random.default_rng(1))
    assert z.shape == (5, d.n_units)
    # an edited version label is caught
    man["design"]["algorithm_version"] = "rct-randomise/9"
    Path(f"{out}.manifest.json").write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    rep = verify_allocation(out)
    assert not rep.ok and any("rct-randomise/9" in p for p in rep.problems)


FIXTURE_V2 = Path(__file__).parent / "fixtures" / "crossover_v2"


@pytest.mark.parametrize("name", ["schedule_default.csv", "schedule_constrained.csv",
                                  "schedule_weekday.csv"])
def test_schedules_made_by_rct_randomise_2_still_verify(tmp_path, name):
    # made with `rct randomise crossover` at commit 902815e (before rct-randomise/3)
    out, man, d = _old_fixture_verifies(tmp_path, FIXTURE_V2, name, "rct-randomise/2")
    # its randomisation distribution is drawn by the v2 code: draw 0 is the allocation
    z = d.draw(2, np.random.PCG64(int(man["design"]["seed"])))
    assert (z[0] == d.assignment).all()
    # the same design under rct-randomise/3 is another schedule (unless run-constrained,
    # where /3 runs the /2 procedure), so the recorded version matters
    from rct.randomise.crossover import crossover

    p = dict(man["design"]["parameters"])
    again = crossover(list(d.ids), seed=int(man["design"]["seed"]), **p)
    assert again.algorithm_version == "rct-randomise/3"
    same = (again.schedule == d.schedule).all()
    assert same == (p["max_consecutive"] is not None or p["washout"] >= 2)


def test_new_crossover_manifest_records_version_3(tmp_path):
    hs = _write_hotspots(tmp_path / "h.csv", n=20)
    out = tmp_path / "s.csv"
    d = randomise_crossover_file(hs, out=out, seed=1, start="2020-06-01", days=30, per_day=8)
    man = json.loads(Path(f"{out}.manifest.json").read_text())
    assert man["design"]["algorithm_version"] == "rct-randomise/3"
    assert man["design"]["derived"]["sampler"]["sites"][0]["kernel"] == "curveball"
    assert verify_allocation(out).ok
    assert (load_design(out).schedule == d.schedule).all()


def test_crossover_with_sites_verifies(tmp_path):
    hs = _write_hotspots(tmp_path / "h.csv", n=24)
    ids = [f"HS{k:02d}" for k in range(24)]
    sites = {h: ("A" if i < 10 else "B") for i, h in enumerate(ids)}
    out = tmp_path / "s.csv"
    randomise_crossover_file(hs, out=out, seed=3, start="2021-06-07", days=30,
                             per_day={"A": 4, "B": 6}, sites=sites)
    assert verify_allocation(out).ok
    s = pd.read_csv(out)
    assert set(s["site"]) == {"A", "B"}
    per = s[s.arm == "treatment"].groupby(["trial_date", "site"]).size().unstack()
    assert (per["A"] == 4).all() and (per["B"] == 6).all() and len(per) == 30
