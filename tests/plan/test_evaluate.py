"""`rct evaluate trial.toml`: orchestration end to end on small synthetic trials."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from rct.plan.evaluate import (
    DesignApproximationWarning,
    evaluate_crossover,
    evaluate_parallel,
    evaluate_trial,
)

IDS = [f"h{i:02d}" for i in range(12)]


def _crossover_trial(tmp_path, *, seed=77, days=30, effect=0.6, alloc_seed=None):
    from rct.randomise.crossover import crossover

    design = crossover(IDS, start="2024-05-01", days=days, per_day=6, seed=alloc_seed or seed)
    alloc = design.allocation
    rng = np.random.default_rng(1)
    lam = np.repeat(rng.gamma(2.0, 0.5, len(IDS)), days)
    z = (alloc["arm"] == "treatment").to_numpy()
    crimes = rng.poisson(lam * np.where(z, effect, 1.0))
    harm = crimes * rng.lognormal(3, 1, len(crimes))
    out = alloc[["hotspot_id", "trial_date"]].assign(crimes=crimes, harm=harm)
    alloc.to_csv(tmp_path / "schedule.csv", index=False)
    out.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "trial.toml").write_text(f"""
[trial]
name = "test crossover"

[design]
type = "crossover"
per_day = 6
start = 2024-05-01
days = {days}
seed = {seed}

[files]
allocation = "schedule.csv"
outcomes = "outcomes.parquet"
results = "out/results.json"

[analysis]
primary = "crimes"
secondary = ["harm"]
ri_draws = 300
seed = 5
multiplicity = "holm"
""")
    return design, alloc, out


def test_evaluate_cli_crossover_writes_results(tmp_path):
    from rct.cli import main

    _crossover_trial(tmp_path)
    assert main(["evaluate", str(tmp_path / "trial.toml")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    tidy = pd.read_csv(tmp_path / "out" / "results.csv")
    assert res["primary"] == "crimes" and res["adjustment"] == "holm"
    assert set(tidy["outcome"]) == {"crimes", "harm", "log1p_harm"}  # harm also on log scale
    # one pre-registered test per outcome: the conditional Poisson rate ratio's RI
    planned = tidy[tidy["role"].isin(["primary", "secondary"])].set_index("outcome")
    assert list(planned.index) == ["crimes", "harm"]
    assert planned["method"].str.startswith(
        "randomisation inference: conditional Poisson rate ratio").all()
    assert (planned["scale"] == "ratio").all()
    # exactly one row is flagged primary: the pre-registered test of the primary outcome
    assert tidy["primary"].sum() == 1 and tidy.loc[tidy["primary"], "role"].item() == "primary"
    # the primary is tested at alpha; the secondary family (harm alone here) is Holm-adjusted
    assert np.isnan(planned.loc["crimes", "p_adjusted"])
    assert planned.loc["harm", "p_adjusted"] == pytest.approx(planned.loc["harm", "p_value"])
    others = tidy[~tidy["role"].isin(["primary", "secondary"])]
    assert others["p_adjusted"].isna().all()  # robustness analyses are not in the family
    assert set(others["role"]) == {"robustness", "exploratory"}
    # a 40 % reduction with 360 hot-spot-days: the FE estimate is negative and significant
    fe = tidy[(tidy.outcome == "crimes") & tidy.method.str.startswith("crossover OLS")].iloc[0]
    assert fe["estimate"] < 0 and fe["p_value"] < 0.05
    assert res["meta"]["ri_design"].startswith("the trial's own randomisation design")
    # the headline is the primary test, in words, with its numbers
    h = res["meta"]["headline"]
    prim = planned.loc["crimes"]
    assert h["estimate"] == pytest.approx(prim["estimate"])
    assert h["p_value"] == pytest.approx(prim["p_value"])
    assert f"{100 * (1 - prim['estimate']):.1f} % lower" in h["sentence"]


def test_evaluate_trial_results_match_direct_calls(tmp_path):
    from rct.evaluate.crossover import crossover_fe, crossover_panel

    design, alloc, out = _crossover_trial(tmp_path)
    res = evaluate_trial(tmp_path / "trial.toml")
    fe = [e for e in res if e.outcome == "crimes" and e.method.startswith("crossover OLS")][0]
    direct = crossover_fe(crossover_panel(out, alloc), outcome="crimes")
    assert fe.effect.estimate == pytest.approx(direct.effect.estimate)
    ri = [e for e in res if e.outcome == "crimes" and "two-way FE" in e.method][0]
    assert ri.effect.estimate == pytest.approx(direct.effect.estimate)
    assert ri.details["ri_draws"] == 300 and ri.effect.conf_low < ri.effect.estimate


def test_allocation_not_from_the_stated_seed_is_refused(tmp_path):
    from rct.cli import main

    _crossover_trial(tmp_path, seed=77, alloc_seed=78)  # file made with another seed
    err = tmp_path / "err.txt"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stderr(buf):
        code = main(["evaluate", str(tmp_path / "trial.toml")])
    err.write_text(buf.getvalue())
    assert code == 2
    assert not (tmp_path / "out" / "results.json").exists()


def test_crossover_without_design_object_warns_and_approximates(tmp_path):
    _, alloc, out = _crossover_trial(tmp_path)
    with pytest.warns(DesignApproximationWarning):
        res = evaluate_crossover(out, alloc, outcomes_to_test=("crimes",), ri_draws=200, seed=1)
    assert res.meta["ri_design"].startswith("approximate")


def test_parallel_plan(tmp_path):
    from rct.randomise.parallel import parallel

    ids = [f"p{i:02d}" for i in range(16)]
    units = pd.DataFrame({"hotspot_id": ids, "block": np.repeat(["a", "b"], 8)})
    design = parallel(units, scheme="block", block_column="block", seed=3)
    rng = np.random.default_rng(2)
    alloc = design.allocation
    base = rng.poisson(30, 16)
    df = alloc.assign(crimes=rng.poisson(base * np.where(alloc["arm"] == "treatment", 0.7, 1.0)),
                      baseline_crimes=base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate_parallel(df, design=design, outcomes_to_test=("crimes",), blocks="block",
                                baseline={"crimes": "baseline_crimes"}, ri_draws=500, seed=1)
    methods = [e.method for e in res]
    assert any(m.startswith("difference in means") for m in methods)
    assert any("Lin" in m for m in methods)
    ri = [e for e in res if e.method.startswith("randomisation inference: difference in means")][0]
    # C(8,4)^2 = 4,900 assignments <= the 100,000 limit: exact
    assert ri.details["ri_method"] == "exact" and ri.details["ri_draws"] == 4_900
    assert 0 <= ri.effect.p_value <= 1


def test_holm_over_secondary_outcomes(tmp_path):
    from rct.evaluate.multiplicity import adjust_pvalues

    design, alloc, out = _crossover_trial(tmp_path)
    out = out.assign(crimes2=np.random.default_rng(3).poisson(0.5, len(out)))
    res = evaluate_crossover(out, alloc, design=design, outcomes_to_test=("crimes", "harm", "crimes2"),
                             ri_draws=200, seed=2)
    fam = [e for e in res if e.role == "secondary"]
    assert [e.outcome for e in fam] == ["harm", "crimes2"]
    p = {e.outcome: e.effect.p_value for e in fam}
    # (outcome, method, term) is unique; (outcome, method) is not when an estimate has several terms
    tidy = res.tidy().set_index(["outcome", "method", "term"]).sort_index()
    adj = adjust_pvalues([p["harm"], p["crimes2"]], method="holm")
    assert tidy.loc[("harm", fam[0].method, fam[0].effect.term), "p_adjusted"] == pytest.approx(adj[0])
    assert tidy.loc[("crimes2", fam[1].method, fam[1].effect.term), "p_adjusted"] == pytest.approx(
        adj[1])
    # the primary outcome is not in the family
    assert set(res.adjusted_p) == {(e.outcome, e.method, e.effect.term) for e in fam}


def test_parallel_trial_toml_with_baseline_window(tmp_path):
    from rct.cli import main
    from rct.randomise.parallel import parallel

    ids = [f"p{i:02d}" for i in range(16)]
    design = parallel(ids, scheme="complete", seed=9)
    design.allocation.to_csv(tmp_path / "allocation.csv", index=False)
    days = pd.date_range("2024-01-01", "2024-04-30").date
    rng = np.random.default_rng(0)
    lam = rng.gamma(2, 0.2, len(ids))
    arm = design.allocation.set_index("hotspot_id")["arm"]
    rows = pd.DataFrame([(h, d) for h in ids for d in days], columns=["hotspot_id", "trial_date"])
    treated = rows["hotspot_id"].map(arm).eq("treatment") & (rows["trial_date"] >= days[60])
    rows["crimes"] = rng.poisson(np.repeat(lam, len(days)) * np.where(treated, 0.5, 1.0))
    rows.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "trial.toml").write_text(f"""
[design]
type = "parallel"
scheme = "complete"
seed = 9

[windows]
baseline = [2024-01-01, {days[59].isoformat()}]
trial = [{days[60].isoformat()}, 2024-04-30]

[files]
allocation = "allocation.csv"
outcomes = "outcomes.parquet"
results = "res/results.json"

[analysis]
primary = "crimes"
secondary = []
ri_draws = 500
""")
    assert main(["evaluate", str(tmp_path / "trial.toml")]) == 0
    tidy = pd.read_csv(tmp_path / "res" / "results.csv")
    dim = tidy[tidy.method.str.startswith("difference in means")].iloc[0]
    # the difference in hot-spot totals over the trial window equals a direct computation
    trial = rows[rows["trial_date"] >= days[60]].groupby("hotspot_id")["crimes"].sum()
    t = trial[arm.reindex(trial.index) == "treatment"].mean() - trial[arm.reindex(trial.index) == "control"].mean()
    assert dim["estimate"] == pytest.approx(t)
    assert tidy.method.str.contains("Lin").any()  # baseline window found -> Lin adjustment
    assert tidy.method.str.contains("exact").any()  # C(16,8) = 12,870 assignments: exact RI
    # pre/post at hot-spot level with the design's (exact) assignments
    base = rows[rows["trial_date"] < days[60]].groupby("hotspot_id")["crimes"].sum()
    change = trial - base
    treated = arm.reindex(change.index) == "treatment"
    wdd = tidy[tidy.method.str.contains("WDD at hot-spot level")].iloc[0]
    assert wdd["estimate"] == pytest.approx(change[treated].mean() - change[~treated].mean())
    assert "exact" in wdd["method"] and 0 < wdd["p_value"] <= 1
    rirr = tidy[tidy.method.str.contains("relative incident rate ratio of arm totals")].iloc[0]
    ratio = (trial[treated].sum() / base[treated].sum()) / (trial[~treated].sum() / base[~treated].sum())
    assert rirr["estimate"] == pytest.approx(ratio) and rirr["conf_low"] < ratio < rirr["conf_high"]
    assert tidy.method.str.contains("Wilson 2022").any()
    assert tidy.method.str.contains("ratio of means").any()  # count-model RI (log rate ratio)


def test_crossover_trial_with_carryover_and_dosage(tmp_path):
    """carryover_days > 0 and a dosage table: carryover RI and the complier effect are written."""
    from rct.plan.evaluate import evaluate_trial_files

    design, alloc, out = _crossover_trial(tmp_path)
    rng = np.random.default_rng(3)
    z = (alloc["arm"] == "treatment").to_numpy()
    dose = alloc[["hotspot_id", "trial_date"]].assign(
        presence_minutes=np.where(z, rng.gamma(4, 5, len(z)), rng.gamma(1, 2, len(z))))
    dose.to_csv(tmp_path / "dosage.csv", index=False)
    toml = tmp_path / "trial.toml"
    text = toml.read_text().replace('results = "out/results.json"',
                                    'results = "out/results.json"\npatrol_dosage = "dosage.csv"')
    toml.write_text(text.replace('multiplicity = "holm"', 'multiplicity = "holm"\ncarryover_days = 2'))
    j, _, _ = evaluate_trial_files(toml)
    res = json.loads(j.read_text())
    by = {(e["outcome"], e["method"]): e for e in res["estimates"]}
    carry = [e for (o, m), e in by.items() if o == "crimes" and m.startswith(
        "randomisation inference: crossover distributed lag (since-last, 2 days)")]
    assert len(carry) == 1 and carry[0]["role"] == "exploratory"
    terms = [t["term"] for t in carry[0]["terms"]]
    assert terms[0] == "tasked" and terms[-1] == "cumulative" and len(terms) == 4
    assert all(0 < t["p_value"] <= 1 for t in carry[0]["terms"])
    model = [e for (o, m), e in by.items() if o == "crimes" and m.startswith(
        "crossover distributed lag (since-last, 2 days)")][0]
    assert [t["term"] for t in model["terms"]] == terms
    for a, b in zip(carry[0]["terms"], model["terms"], strict=True):  # the same FE Poisson fit
        assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-6)
    iv = [e for (o, m), e in by.items() if "complier effect of presence_minutes" in m]
    assert len(iv) == 2  # 2SLS and its randomisation test
    ri_iv = [e for e in iv if e["method"].startswith("randomisation")][0]
    assert ri_iv["terms"][0]["term"] == "dose" and ri_iv["terms"][0]["p_value"] is not None
    # the report's histogram: the primary headline test, its p and observed statistic
    dist = res["meta"]["randomisation_distribution"]
    head = [e for e in res["estimates"] if e["role"] == "primary"]
    assert len(head) == 1
    head = head[0]
    assert dist["method"] == head["method"] and dist["p_value"] == head["terms"][0]["p_value"]
    assert (1 + dist["n_exceed"]) / (1 + dist["n_defined"]) == pytest.approx(dist["p_value"])
    assert sum(dist["counts"]) == dist["n_defined"] == 300
