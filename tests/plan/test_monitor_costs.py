"""The plan's interim looks ([monitoring]) and cost and value ([costs]), end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.reports.conftest import build_trial


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> Path:
    return build_trial(tmp_path_factory.mktemp("plan-monitor") / "trial", n_hotspots=14,
                       days=42, seed=21, plant=False)


def test_interim_analysis_follows_the_plan(trial):
    from rct.evaluate.crossover import crossover_panel
    from rct.evaluate.interim import interim_estimates
    from rct.evaluate.sequential import sequential_test
    from rct.plan.monitor import interim_analysis

    res = interim_analysis(trial)
    assert res.status == "done" and res.method == "obrien-fleming"
    assert res.planned_looks == 6 and res.looks_done == 6  # 42 days, weekly
    # the same looks and boundaries as the library calls with the plan's settings
    from rct.config import load_trial

    t = load_trial(trial)
    out = pd.read_parquet(t.files.outcomes)
    d = pd.to_datetime(out["trial_date"]).dt.date
    out = out[(d >= t.design.start) & (d <= t.design.end)]
    panel = crossover_panel(out, pd.read_csv(t.files.allocation))
    ie = interim_estimates(panel, outcome="crimes", every=7, start=t.design.start)
    direct = sequential_test(np.asarray(ie.estimates), np.asarray(ie.std_errors),
                             information_rates=np.arange(1, 7) / 6, df=np.asarray(ie.df),
                             final=True, alpha=0.05,
                             labels=[str(x) for x in ie.look_dates])  # the plan names looks by date
    np.testing.assert_allclose(res.sequential.tidy()["critical_value"],
                               direct.tidy()["critical_value"])
    assert res.sequential.crossed == direct.crossed
    assert res.decision == direct.decision
    assert res.feedback is not None and "not a test" in res.feedback.summary()
    # an earlier cut: fewer looks, same planned number
    early = interim_analysis(trial, as_of=t.design.start.replace(day=t.design.start.day) +
                             pd.Timedelta(days=20))
    assert early.looks_done == 3 and early.planned_looks == 6


def test_no_interim_looks_unless_planned(trial, tmp_path):
    import shutil

    from rct.plan.monitor import interim_analysis

    root = tmp_path / "t"
    shutil.copytree(trial.parent, root)
    toml = root / "trial.toml"
    toml.write_text(toml.read_text().replace('sequential = "obrien-fleming"',
                                             'sequential = "none"'))
    res = interim_analysis(toml)
    assert res.status == "not planned" and res.sequential is None
    assert "estimated once, at the end of the trial" in res.decision


def test_rct_monitor_prints_and_writes_the_sequential_analysis(trial, capsys):
    from rct.cli import main

    assert main(["monitor", str(trial), "--force"]) == 0  # the fixture monitored already
    printed = capsys.readouterr().out
    assert "sequential (O'Brien–Fleming-type group-sequential boundaries, 6 of 6" in printed
    seq = pd.read_csv(trial.parent / "out" / "monitor_sequential.csv")
    fb = pd.read_csv(trial.parent / "out" / "monitor_feedback.csv")
    assert len(seq) == 6 and fb["p_value"].isna().all()  # feedback carries no p-values


def test_monitor_report_shows_the_plot_and_the_decision(trial):
    from rct.plan.monitor import interim_analysis
    from rct.reports import monitor_report

    rep = monitor_report(trial)
    assert "sequential" not in rep.unavailable and "feedback" not in rep.unavailable
    html = rep.html
    assert interim_analysis(trial).decision in html
    assert "The effect at each look" in html and "not a test" in html


def test_cost_and_value_in_results_cli_and_report(trial):
    from rct.reports import evaluation_report

    rd = json.loads((trial.parent / "out" / "results.json").read_text())
    cv = rd["meta"]["cost_value"]
    assert cv["status"] == "done"
    hours = pd.read_parquet(trial.parent / "out" / "patrol_dosage.parquet")
    alloc = pd.read_csv(trial.parent / "schedule.csv")
    # officer hours on tasked hot-spot-days = officer minutes / 60 there (dosage ⋈ schedule)
    m = hours.assign(hotspot_id=hours["hotspot_id"].astype(str),
                     trial_date=pd.to_datetime(hours["trial_date"]).dt.date).merge(
        alloc.assign(trial_date=pd.to_datetime(alloc["trial_date"]).dt.date),
        on=["hotspot_id", "trial_date"])
    tasked_hours = m.loc[m["arm"] == "treatment", "officer_minutes"].sum() / 60
    assert cv["officer_hours"]["hours"] == pytest.approx(tasked_hours)
    cost = next(r for r in cv["rows"] if r["term"] == "cost")
    assert cost["estimate"] == pytest.approx(45 * tasked_hours)
    # the effect used is the headline (the pre-registered test), not another estimate
    h = rd["meta"]["headline"]
    assert cv["effect"]["rate_ratio"] == pytest.approx(h["estimate"])
    summary = (trial.parent / "evaluate_summary.txt").read_text()
    assert "cost and value: " + cv["summary"] in summary
    html = evaluation_report(trial).html
    assert "Cost and value" in html and "illustrative figure for a synthetic trial" in html


def test_unit_costs_give_a_benefit_cost_ratio(trial, tmp_path):
    import shutil

    from rct.plan.evaluate import evaluate_trial

    root = tmp_path / "u"
    shutil.copytree(trial.parent, root)
    crimes = pd.read_csv(root / "crimes.csv", dtype=str)
    codes = sorted(crimes["offence_code"].dropna().unique())
    # test values only: every offence priced at 1,000 (the table must cite a source per row)
    pd.DataFrame({"offence_code": codes, "unit_cost": 1000.0,
                  "source": "test value, not a real cost"}).to_csv(root / "unit_costs.csv",
                                                                   index=False)
    toml = root / "trial.toml"
    toml.write_text(toml.read_text().replace(
        "price_year = 2024", 'price_year = 2024\nunit_costs = "unit_costs.csv"'))
    res = evaluate_trial(toml)
    cv = res.meta["cost_value"]
    terms = {r["term"]: r for r in cv["rows"]}
    assert "benefit_cost_ratio" in terms
    prevented = terms["crimes_prevented"]["estimate"]
    value = terms["value_of_crime_prevented"]["estimate"]
    # every priced offence at 1,000: the value is 1,000 per crime prevented times the share of
    # the expected crimes that is priced (crimes with no offence code have no unit cost)
    share = (terms["cost_of_crime_expected_without_tasking"]["estimate"]
             / (1000.0 * terms["crimes_expected_without_tasking"]["estimate"]))
    assert 0.9 < share <= 1.0
    assert value == pytest.approx(1000.0 * prevented * share, rel=1e-9)
    assert terms["benefit_cost_ratio"]["estimate"] == pytest.approx(value / terms["cost"]["estimate"])
    assert "unit costs of crime" in res.meta["inputs"]


def test_costs_need_their_source(tmp_path):
    from rct.config import load_trial
    from rct.errors import ConfigError

    p = tmp_path / "trial.toml"
    p.write_text('[design]\ntype = "crossover"\nper_day = 2\nstart = 2024-01-01\ndays = 7\n'
                 "[costs]\nofficer_hour = 45\n")
    with pytest.raises(ConfigError, match=r"\[costs\] officer_hour needs officer_hour_source"):
        load_trial(p)
