"""`rct monitor trial.toml`: simulated patrols with known truth, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from rct.cli import main
from rct.dosage.monitor import monitor_trial

TRIAL_DAYS = tuple(pd.date_range("2024-03-25", "2024-04-07").date)  # includes the 23-hour day
BASE_DAYS = tuple(pd.date_range("2024-03-01", "2024-03-14").date)


def _setup(tmp_path, simulate):
    trial = simulate(11, dates=TRIAL_DAYS)
    base = simulate(12, dates=BASE_DAYS)
    base_logs = base.logs.assign(patrol_id="B" + base.logs["patrol_id"])
    rng = np.random.default_rng(5)
    hot = list(trial.hotspots)
    sched = []
    for d in TRIAL_DAYS:
        tasked = set(rng.choice(hot, size=3, replace=False))
        sched += [(h, d.isoformat(), "treatment" if h in tasked else "control") for h in hot]
    schedule = pd.DataFrame(sched, columns=["hotspot_id", "trial_date", "arm"])
    schedule.to_csv(tmp_path / "schedule.csv", index=False)
    pd.DataFrame({"hotspot_id": hot}).to_csv(tmp_path / "hotspots.csv", index=False)
    pd.concat([base_logs, trial.logs]).to_csv(tmp_path / "patrols.csv", index=False)
    (tmp_path / "trial.toml").write_text(
        f"""
[trial]
name = "simulated"

[design]
type = "crossover"
per_day = 3
start = {TRIAL_DAYS[0]}
days = {len(TRIAL_DAYS)}
day_starts = "06:00"
seed = 1

[windows]
baseline = [{BASE_DAYS[0]}, {BASE_DAYS[-1]}]
trial = [{TRIAL_DAYS[0]}, {TRIAL_DAYS[-1]}]

[files]
hotspots = "hotspots.csv"
allocation = "schedule.csv"
patrols = "patrols.csv"
out_dir = "out"

[dosage]
target_minutes = 15
cap_per_day = 2
pseudonym_key_file = "keys/pseudonym.key"
"""
    )
    return trial, base, schedule


def test_monitor_trial_matches_truth(tmp_path, simulate):
    trial, base, schedule = _setup(tmp_path, simulate)
    report, written = monitor_trial(tmp_path / "trial.toml", as_of=TRIAL_DAYS[-1])
    assert (tmp_path / "keys" / "pseudonym.key").exists()
    assert "patrol_dosage" in written and written["patrol_dosage"].exists()

    schedule = schedule.assign(trial_date=pd.to_datetime(schedule["trial_date"]).dt.date)
    t = trial.truth.merge(schedule, on=["hotspot_id", "trial_date"])
    tasked = t[t["arm"] == "treatment"]
    ctrl = t[t["arm"] == "control"]
    c = report.compliance
    assert c.value("dosed_share") == (tasked["presence_minutes"] >= 15).mean()
    assert c.value("contamination_share") == (ctrl["visits"] > 0).mean()
    assert c.value("over_cap_share") == (tasked["visits"] > 2).mean()
    assert c.value("koper_share") == tasked["visits_10_15"].sum() / tasked["visits"].sum()
    foot = tasked["foot_minutes"].sum() / tasked["officer_minutes"].sum()
    assert np.isclose(c.value("foot_share"), foot, rtol=1e-12)

    u = report.uplift_for("patrols").table.set_index("measure")
    # baseline per hot spot: mean over the 14 baseline days; weights: trial days in each arm
    b_h = base.truth.groupby("hotspot_id")["presence_minutes"].mean()
    w = t.groupby("hotspot_id")["arm"].apply(lambda a: (a == "treatment").sum())
    assert np.isclose(u.loc["presence_minutes", "baseline_treatment"], (b_h * w).sum() / w.sum())
    assert u.loc["presence_minutes", "trial_treatment"] == tasked["presence_minutes"].mean()
    expected_additional = (
        tasked["visits"].sum() - len(tasked) * u.loc["visits", "baseline_treatment"]
    )
    assert np.isclose(u.loc["visits", "additional"], expected_additional, rtol=1e-12)
    assert any("Airwave" in n for n in report.notes)  # no Airwave table in this trial
    summary = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert summary["compliance"]["parameters"]["as_of"] == str(TRIAL_DAYS[-1])

    # a second run reuses the dosage table (logs unchanged)
    _, written2 = monitor_trial(tmp_path / "trial.toml", as_of=TRIAL_DAYS[-1], force=True)
    assert "patrol_dosage" not in written2


def test_cli_monitor(tmp_path, simulate, capsys):
    _setup(tmp_path, simulate)
    code = main(["monitor", str(tmp_path / "trial.toml"), "--as-of", str(TRIAL_DAYS[-1])])
    assert code == 0
    out = capsys.readouterr().out
    assert "tasked hot-spot-days got the target" in out
    for name in ("monitor_compliance.csv", "monitor_weekly.csv", "monitor_hotspots.csv",
                 "monitor_uplift.csv", "monitor.json"):  # fmt: skip
        assert (tmp_path / "out" / name).exists()
    weekly = pd.read_csv(tmp_path / "out" / "monitor_weekly.csv")
    assert weekly["week"].tolist() == [1, 2]
    assert weekly["tasked_days"].sum() == 3 * len(TRIAL_DAYS)


def test_cli_monitor_bad_trial_file(tmp_path, capsys):
    (tmp_path / "trial.toml").write_text("[design]\ntype = 'zigzag'\n")
    assert main(["monitor", str(tmp_path / "trial.toml")]) == 2
    assert "zigzag" in capsys.readouterr().err
