"""`rct demo`: the whole pipeline, run once (quick mode) through the CLI.

`make demo` runs the full 182-day version; here the quick one (28 days,
200 randomisation draws) is checked against the simulator's truth.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import pandas as pd
import pytest

from rct.cli import main

REPORTS = ("design", "monitor", "evaluation")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo")
    out = root / "rct-demo"
    mp = pytest.MonkeyPatch()
    # the pseudonym key is generated outside the outputs; keep it out of ~/.config
    mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
    mp.delenv("RCT_PSEUDONYM_KEY", raising=False)
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            code = main(["demo", "--out", str(out), "--quick", "--no-progress"])
    finally:
        mp.undo()
    summary = json.loads((out / "demo_summary.json").read_text())
    truth = json.loads((out / "truth.json").read_text())
    return {"code": code, "out": out, "stdout": stdout.getvalue(), "summary": summary,
            "truth": truth}


def test_exit_code_and_printed_paths(demo):
    assert demo["code"] == 0, demo["stdout"]
    lines = demo["stdout"].splitlines()
    for kind in REPORTS:
        path = demo["out"] / f"{kind}_report.html"
        assert any(line.strip().endswith(str(path)) for line in lines), demo["stdout"]
    # the three summary lines
    assert sum(line.startswith(("design:", "dosage:", "effect:")) for line in lines) == 3


def test_files_exist(demo):
    out = demo["out"]
    for name in ("hotspots.geojson", "schedule.csv", "schedule.csv.manifest.json", "crimes.csv",
                 "patrols.csv", "trial.toml", "truth.json", "truth_panel.csv",
                 "out/patrol_dosage.parquet", "out/airwave_presence.parquet",
                 "out/outcomes.parquet", "out/results.json", "out/results.csv",
                 "out/monitor.json"):
        assert (out / name).is_file(), name
    assert sorted((out / "pings").glob("part-*.parquet"))
    assert not (out / ".simulated").exists()


@pytest.mark.parametrize("kind", REPORTS)
def test_reports_are_html(demo, kind):
    text = (demo["out"] / f"{kind}_report.html").read_text(encoding="utf-8")
    assert len(text) > 10_000
    assert text.lstrip().lower().startswith("<!doctype html")
    assert "</html>" in text.lower()


def test_schedule_is_the_randomised_one(demo):
    """The demo keeps the manifest-bearing schedule: `rct randomise verify` re-derives it."""
    from rct.randomise.manifest import verify_allocation

    report = verify_allocation(demo["out"] / "schedule.csv")
    assert report.ok, str(report)


def test_hotspots_are_the_real_ones(demo):
    from rct.io.hotspots import read_hotspots

    hs = read_hotspots(demo["out"] / "hotspots.geojson")
    assert len(hs) == 45
    # the bundled police.uk data are Thames Valley: Reading .. Milton Keynes .. Oxford
    x, y = hs.geometry.centroid.x, hs.geometry.centroid.y
    assert x.between(420_000, 500_000).all() and y.between(160_000, 260_000).all()
    # centres at least ~300 m apart
    import numpy as np

    xy = np.column_stack([x.to_numpy(), y.to_numpy()])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= 299.0


def test_design_numbers_agree_with_truth(demo):
    f, t = demo["summary"]["figures"], demo["truth"]
    assert f["tasked_hotspot_days"] == t["tasked_hotspot_days"] == 22 * 28
    assert f["control_hotspot_days"] == t["untasked_hotspot_days"] == 23 * 28
    sched = pd.read_csv(demo["out"] / "schedule.csv")
    assert (sched["arm"] == "treatment").sum() == t["tasked_hotspot_days"]


def test_dosage_agrees_with_truth(demo):
    """Ingested patrol presence per hot-spot-day vs the simulator's exact minute-grid truth.

    Tolerance 2 %: both count whole minutes of the union of visits; only the
    planted bad rows differ, and those are quarantined.
    """
    f, t = demo["summary"]["figures"], demo["truth"]
    true_tasked = t["patrol_minutes_tasked"] / t["tasked_hotspot_days"]
    true_control = t["patrol_minutes_untasked"] / t["untasked_hotspot_days"]
    assert f["patrol_minutes_tasked_day"] == pytest.approx(true_tasked, rel=0.02)
    assert f["patrol_minutes_control_day"] == pytest.approx(true_control, rel=0.05, abs=0.1)
    # radios see the tasked patrols plus background policing in both arms
    assert f["airwave_minutes_tasked_day"] > f["patrol_minutes_tasked_day"]
    assert f["airwave_minutes_tasked_day"] > 2 * f["airwave_minutes_control_day"]
    # every planted bad patrol and crime row was quarantined, and nothing else
    assert f["patrol_rows_quarantined"] == f["planted_bad_patrol_rows"]
    assert f["crime_rows_quarantined"] == f["planted_bad_crime_rows"]
    assert f["airwave_rows_quarantined"] >= f["planted_bad_ping_rows"]


def test_effect_agrees_with_truth(demo):
    """The primary rate ratio vs the true one (0.85).

    Tolerances: the 95 % CI covers the truth, and the estimate is within a
    factor exp(0.4) of it (SE of the log rate ratio is about 0.15 with ~190
    crimes in 28 days).  The RI p-value is a valid probability with the
    Monte Carlo resolution of 200 draws.
    """
    f, t = demo["summary"]["figures"], demo["truth"]
    assert f["true_irr"] == t["irr"] == pytest.approx(0.85)
    assert f["irr_conf_low"] <= t["irr"] <= f["irr_conf_high"]
    assert abs(math.log(f["irr"] / t["irr"])) < 0.4
    assert 1 / 201 <= f["ri_p"] <= 1.0
    assert "200 draws" in f["ri_method"]
    # the printed summary is the evaluation's one headline, beside the truth
    effect = next(s for s in demo["summary"]["summary"] if s.startswith("effect:"))
    res = json.loads((demo["out"] / "out" / "results.json").read_text())
    assert res["meta"]["headline"]["sentence"] in effect
    assert f"{100 * (1 - t['irr']):.1f} % lower" in effect
    assert effect in demo["stdout"]


def test_demo_writes_what_the_readme_says(demo):
    """The daily tasking list and the registered plan are written; the plan is as registered."""
    import hashlib

    assert (demo["out"] / "tasking.csv").is_file()
    plan = demo["out"] / "plan.json"
    res = json.loads((demo["out"] / "out" / "results.json").read_text())
    assert hashlib.sha256(plan.read_bytes()).hexdigest() == res["meta"]["plan_sha256"]
    assert res["meta"]["registration"]["status"] == "registered"


def test_results_json_primary_is_crimes(demo):
    res = json.loads((demo["out"] / "out" / "results.json").read_text())
    assert res["primary"] == "crimes"
    assert demo["summary"]["figures"]["primary"] == "crimes"


def test_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "precious.csv").write_text("a,b\n1,2\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["demo", "--out", str(tmp_path), "--quick", "--no-progress"])
    assert code == 2
    assert "not empty" in err.getvalue()
    assert (tmp_path / "precious.csv").read_text() == "a,b\n1,2\n"


def test_missing_step_fails_loudly(tmp_path, monkeypatch):
    """A missing upstream call stops the demo at its step, naming the call."""
    import rct.io.crimes
    from rct.demo import DemoError, run_demo

    monkeypatch.delattr(rct.io.crimes, "read_crimes")
    with pytest.raises(DemoError, match=r"'hot spots'.*rct\.io\.crimes\.read_crimes"):
        run_demo(tmp_path / "d", progress=False, quick=True)
    assert not (tmp_path / "d" / "hotspots.geojson").exists()
