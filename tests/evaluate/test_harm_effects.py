"""Harm-weighted difference: bootstrap, log scale, ratio; vectorised ratio statistic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rct.evaluate.harm_effects import bootstrap_effects, harm_difference, log_ratio_statistic
from rct.evaluate.parallel import difference_in_means

from ._ref import dataset


@pytest.fixture(scope="module")
def par() -> pd.DataFrame:
    d = dataset("parallel")
    rng = np.random.default_rng(1)
    # heavy-tailed harm (CCHI-like days): mostly small, occasionally huge
    return d.assign(harm=np.round(rng.lognormal(3, 1.5, len(d)) * (rng.random(len(d)) < 0.8), 1))


def test_terms_match_their_definitions(par):
    e = harm_difference(par, outcome="harm", treatment="z_block", blocks="block", rng=7, n_boot=999)
    dim = difference_in_means(par, outcome="harm", treatment="z_block", blocks="block").effect
    t = e.effect
    assert t == dim
    bt = e.term("treatment (bootstrap)")
    assert bt.estimate == t.estimate and math.isnan(bt.p_value)
    assert bt.conf_low < bt.estimate < bt.conf_high
    assert bt.std_error == pytest.approx(e.details["bootstrap_se_difference"])
    logd = difference_in_means(
        par.assign(lh=np.log1p(par.harm)), outcome="lh", treatment="z_block", blocks="block"
    ).effect
    lt = e.term("treatment (log1p)")
    assert (lt.estimate, lt.std_error, lt.conf_low) == (
        logd.estimate,
        logd.std_error,
        logd.conf_low,
    )
    r = e.term("ratio of means")
    m1 = sum(
        par.harm[(par.block == b) & (par.z_block == 1)].mean() * (par.block == b).mean()
        for b in "ABC"
    )
    m0 = sum(
        par.harm[(par.block == b) & (par.z_block == 0)].mean() * (par.block == b).mean()
        for b in "ABC"
    )
    assert r.estimate == pytest.approx(m1 / m0)
    assert r.conf_low < r.estimate < r.conf_high
    assert e.details["bootstrap"] == "units within block x arm"
    z = par.z_block.to_numpy()[None, :]
    assert log_ratio_statistic(par.harm.to_numpy(), z, par.block.to_numpy())[0] == pytest.approx(
        math.log(m1 / m0)
    )


def test_reproducible_and_pairs_resample_blocks(par):
    a = harm_difference(
        par,
        outcome="harm",
        treatment="z_pair",
        blocks="pair",
        rng=np.random.default_rng(3),
        n_boot=500,
    )
    b = harm_difference(par, outcome="harm", treatment="z_pair", blocks="pair", rng=3, n_boot=500)
    assert a.to_dict() == b.to_dict()
    assert a.details["bootstrap"] == "blocks"
    assert a.details["ratio_se_method"] == "bootstrap"
    with pytest.raises(ValueError, match="n_boot"):
        harm_difference(par, outcome="harm", treatment="z_pair", rng=1, n_boot=10)


def test_stratified_bootstrap_keeps_cell_sizes():
    y = np.array([1.0, 2, 3, 100, 5, 6, 7, 8])
    z = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    b = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    m1, m0, _ = bootstrap_effects(y, z, b, n_boot=2000, rng=np.random.default_rng(0))
    # treated means can only use treated units of each block: block0 {1,2}, block1 {5,6}
    assert m1.min() >= 0.5 * 1 + 0.5 * 5 - 1e-12 and m1.max() <= 0.5 * 2 + 0.5 * 6 + 1e-12
    assert m0.mean() == pytest.approx(0.5 * 51.5 + 0.5 * 7.5, rel=0.05)


def test_coverage_by_simulation():
    """Heavy-tailed harm, 45 hot spots, true effect = 0: how often do intervals cover it?

    Percentile bootstrap intervals on a few dozen heavy-tailed units undercover
    (~90 % in 1,000-rep runs); Neyman t and log1p intervals are at or above nominal.
    Reported and loosely bounded.
    """
    rng = np.random.default_rng(12)
    reps, n = 300, 45
    cover = {"neyman": 0, "bootstrap": 0, "log1p": 0, "ratio": 0}
    for _ in range(reps):
        h = np.round(rng.lognormal(3, 1.5, n) * (rng.random(n) < 0.6), 1)
        z = rng.permutation(np.repeat([0, 1], [23, 22]))
        e = harm_difference(pd.DataFrame({"harm": h, "z": z}), treatment="z", rng=rng, n_boot=400)
        for key, name, null in (
            ("neyman", "treatment", 0),
            ("bootstrap", "treatment (bootstrap)", 0),
            ("log1p", "treatment (log1p)", 0),
            ("ratio", "ratio of means", 1),
        ):
            t = e.term(name)
            cover[key] += t.conf_low <= null <= t.conf_high
    rates = {k: v / reps for k, v in cover.items()}
    print("coverage of 95% intervals (null, heavy-tailed harm):", rates)
    assert rates["neyman"] >= 0.93
    assert rates["log1p"] >= 0.91
    assert rates["bootstrap"] >= 0.85
    assert rates["ratio"] >= 0.85
