"""The analysis plan: one object, one SHA-256, every trial-file key honoured or refused."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from rct.config import load_trial
from rct.errors import ConfigError
from rct.plan import plan_from_trial, register_plan
from rct.plan.evaluate import evaluate_trial
from rct.plan.register import check_registration
from rct.randomise.manifest import randomise_crossover_file, randomise_parallel_file

IDS = [f"h{i:02d}" for i in range(12)]


def _crossover(tmp_path, *, extra_analysis: str = "", extra_design: str = ""):
    pd.DataFrame({"hotspot_id": IDS}).to_csv(tmp_path / "hotspots.csv", index=False)
    design = randomise_crossover_file(tmp_path / "hotspots.csv", out=tmp_path / "schedule.csv",
                                      seed=7, start="2024-05-01", days=30, per_day=6)
    alloc = design.allocation
    rng = np.random.default_rng(1)
    z = (alloc["arm"] == "treatment").to_numpy()
    crimes = rng.poisson(np.repeat(rng.gamma(2.0, 0.5, len(IDS)), 30) * np.where(z, 0.6, 1.0))
    out = alloc[["hotspot_id", "trial_date"]].assign(crimes=crimes, harm=crimes * 10.0)
    out.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "trial.toml").write_text(f"""
[trial]
name = "plan test"

[design]
type = "crossover"
per_day = 6
start = 2024-05-01
days = 30
seed = 7
{extra_design}

[files]
hotspots = "hotspots.csv"
allocation = "schedule.csv"
outcomes = "outcomes.parquet"

[analysis]
primary = "crimes"
secondary = ["harm"]
ri_draws = 200
seed = 5
{extra_analysis}
""")
    return tmp_path / "trial.toml"


def test_plan_sha256_is_sha256sum_of_plan_json(tmp_path):
    toml = _crossover(tmp_path)
    plan, path = register_plan(toml)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == plan.sha256
    assert json.loads(path.read_text()) == plan.to_dict()
    # the same plan from a fresh load, and it names the allocation it was drawn with
    again = plan_from_trial(toml)
    assert again.sha256 == plan.sha256
    assert plan.files["allocation"]["sha256"] == hashlib.sha256(
        (tmp_path / "schedule.csv").read_bytes()).hexdigest()
    reg = check_registration(again, load_trial(toml))
    assert reg.status == "registered" and plan.sha256 in reg.message


def test_plan_hash_does_not_depend_on_the_folder(tmp_path):
    import shutil

    a = tmp_path / "a"
    a.mkdir()
    toml = _crossover(a)
    b = tmp_path / "somewhere" / "else"
    shutil.copytree(a, b)
    assert plan_from_trial(toml).sha256 == plan_from_trial(b / "trial.toml").sha256


def test_changed_plan_is_reported_with_its_keys(tmp_path):
    toml = _crossover(tmp_path)
    register_plan(toml)
    toml.write_text(toml.read_text().replace("ri_draws = 200", "ri_draws = 300"))
    t = load_trial(toml)
    reg = check_registration(plan_from_trial(t), t)
    assert reg.status == "differs" and "primary_test.draws" in reg.differences
    res = evaluate_trial(toml)
    assert res.meta["registration"]["status"] == "differs"
    # and re-registering a different plan needs force
    with pytest.raises(ConfigError, match="different registered plan"):
        register_plan(toml)


def test_plan_names_the_primary_test(tmp_path):
    plan = plan_from_trial(_crossover(tmp_path))
    text = dict(plan.describe())["Primary test"]
    assert "randomisation inference" in text and "conditional Poisson" in text
    assert "rate ratio" in text
    other = tmp_path / "other"
    other.mkdir()
    diff = plan_from_trial(_crossover(other, extra_analysis='estimator = "difference"'))
    assert "fixed-effects OLS" in dict(diff.describe())["Primary test"]
    assert diff.sha256 != plan.sha256


@pytest.mark.parametrize("text, key", [
    ('estimator = "lin"', "estimator"),            # parallel-only test in a crossover
    ('estimator = "negbin"', "estimator"),         # model-based: retired as a primary test
    ('labels = { robbery = "Robbery" }', "labels"),  # a label for no planned outcome
    ('crime_types = ["Robbery", "Robbery"]', "crime_types"),
])
def test_keys_that_cannot_be_honoured_are_refused(tmp_path, text, key):
    with pytest.raises(ConfigError, match=rf"\[analysis\] {key}"):
        load_trial(_crossover(tmp_path, extra_analysis=text))


def test_parallel_keys_in_a_crossover_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"\[design\] rank_column applies to parallel"):
        load_trial(_crossover(tmp_path, extra_design='rank_column = "crimes"'))


def test_design_key_that_disagrees_with_the_manifest_is_named(tmp_path):
    toml = _crossover(tmp_path)
    toml.write_text(toml.read_text().replace("seed = 7", "seed = 8", 1))
    with pytest.raises(ConfigError, match=r"\[design\] seed = 8, but the allocation's manifest"):
        evaluate_trial(toml)


def test_crime_types_change_the_analysis(tmp_path):
    """[analysis] crime_types is honoured: outcomes must be built for those types."""
    from rct.ingest.outcomes import build_outcomes

    toml = _crossover(tmp_path, extra_analysis='crime_types = ["Robbery"]')
    # outcomes that do not record their crime types are refused, naming the key
    with pytest.raises(ConfigError, match=r"\[analysis\] crime_types = \['Robbery'\]"):
        evaluate_trial(toml)
    # built for robbery only: counts (and so results) differ from all crimes
    import geopandas as gpd
    from shapely.geometry import box

    hs = gpd.GeoDataFrame({"hotspot_id": IDS},
                          geometry=[box(i * 100, 0, i * 100 + 50, 50) for i in range(12)],
                          crs="EPSG:27700")
    rng = np.random.default_rng(4)
    n = 3000
    crimes = pd.DataFrame({
        "x": rng.integers(0, 12, n) * 100 + 25.0, "y": np.full(n, 25.0),
        "occurred_at": pd.Timestamp("2024-05-01 12:00", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 29 * 24, n), unit="h"),
        "category": rng.choice(["Robbery", "Violence and sexual offences"], n)})
    kw = {"harm": None, "start": "2024-05-01", "end": "2024-05-30"}
    robbery = build_outcomes(crimes, hs, crime_types=["robbery"], **kw)
    every = build_outcomes(crimes, hs, **kw)
    assert robbery["crimes"].sum() == (crimes["category"] == "Robbery").sum()
    assert every["crimes"].sum() == n
    robbery = robbery.assign(harm=robbery["crimes"] * 10.0)
    robbery.attrs["rct_outcomes"] = {**robbery.attrs["rct_outcomes"], "harm": "cchi"}
    robbery.to_parquet(tmp_path / "outcomes.parquet")
    res_r = evaluate_trial(toml)
    assert res_r.meta["plan"]["primary_outcome"]["crime_types"] == ["Robbery"]
    assert "Robbery" in res_r.meta["headline"]["label"]
    every = every.assign(harm=every["crimes"] * 10.0)
    every.to_parquet(tmp_path / "outcomes.parquet")
    toml.write_text(toml.read_text().replace('crime_types = ["Robbery"]', ""))
    res_all = evaluate_trial(toml)
    assert res_r.headline.estimate != res_all.headline.estimate


def test_unknown_crime_type_is_named():
    from rct.errors import DataError
    from rct.harm import crime_type_mask

    df = pd.DataFrame({"category": ["Robbery"], "offence_subgroup": ["Robbery of personal property"]})
    assert crime_type_mask(df, ["robbery of personal property"]).all()
    with pytest.raises(DataError, match="Burglary"):
        crime_type_mask(df, ["Burglary"])


def _parallel(tmp_path, *, scheme_lines: str, cli_kw: dict):
    rng = np.random.default_rng(3)
    ids = [f"p{i:02d}" for i in range(45)]
    crimes = rng.poisson(20, 45)
    pd.DataFrame({"hotspot_id": ids, "crimes": crimes, "share_crimes": crimes / crimes.sum()}
                 ).to_csv(tmp_path / "hotspots.csv", index=False)
    design = randomise_parallel_file(tmp_path / "hotspots.csv", out=tmp_path / "allocation.csv",
                                     seed=11, **cli_kw)
    arm = design.allocation.set_index("hotspot_id")["arm"]
    days = pd.date_range("2024-01-01", "2024-03-31").date
    rows = pd.DataFrame([(h, d) for h in ids for d in days], columns=["hotspot_id", "trial_date"])
    lam = rows["hotspot_id"].map(dict(zip(ids, crimes / 60, strict=True)))
    treated = rows["hotspot_id"].map(arm).eq("treatment") & (rows["trial_date"] >= days[45])
    rows["crimes"] = rng.poisson(lam * np.where(treated, 0.6, 1.0))
    rows.to_parquet(tmp_path / "outcomes.parquet")
    (tmp_path / "trial.toml").write_text(f"""
[design]
type = "parallel"
seed = 11
{scheme_lines}

[windows]
baseline = [2024-01-01, {days[44].isoformat()}]
trial = [{days[45].isoformat()}, 2024-03-31]

[files]
hotspots = "hotspots.csv"
allocation = "allocation.csv"
outcomes = "outcomes.parquet"

[analysis]
primary = "crimes"
secondary = []
ri_draws = 300
seed = 2
""")
    return tmp_path / "trial.toml", design


def test_pairs_with_an_odd_number_of_hot_spots_evaluate(tmp_path):
    toml, design = _parallel(tmp_path, scheme_lines='scheme = "pairs"\nrank_column = "crimes"',
                             cli_kw={"scheme": "pairs", "rank_column": "crimes"})
    sizes = design.allocation.groupby("block").size()
    assert sorted(sizes.unique()) == [2, 3] and (sizes == 3).sum() == 1  # one matched triple
    both = design.allocation.groupby("block")["arm"].nunique()
    assert (both == 2).all()  # every set has both arms
    with pytest.warns(Warning):  # estimatr's rule for mixed pair and larger blocks
        res = evaluate_trial(toml)
    assert res.headline is not None and res.headline.estimate < 1
    assert res.meta["ri_design"].startswith("the trial's own randomisation design")


def test_quantile_blocks_in_the_trial_file_evaluate(tmp_path):
    toml, design = _parallel(
        tmp_path, scheme_lines='scheme = "block"\nblocks_from = "crimes"\nn_blocks = 5',
        cli_kw={"scheme": "block", "blocks_from": "crimes", "n_blocks": 5})
    res = evaluate_trial(toml)
    assert design.n_blocks == 5 and res.headline is not None
    # the wrong number of blocks is named against the manifest
    toml.write_text(toml.read_text().replace("n_blocks = 5", "n_blocks = 4"))
    with pytest.raises(ConfigError, match=r"\[design\] n_blocks = 4"):
        evaluate_trial(toml)


def test_balance_covariates_are_allowed_without_rerandomisation(tmp_path):
    toml, _ = _parallel(tmp_path, scheme_lines='scheme = "complete"\ncovariates = ["crimes"]',
                        cli_kw={"scheme": "complete"})
    assert load_trial(toml).design.covariates == ("crimes",)
    assert evaluate_trial(toml).headline is not None
