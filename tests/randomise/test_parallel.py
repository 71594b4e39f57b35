"""Parallel designs: exact enumeration, probabilities, block/pair properties, determinism."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.errors import DataError, DesignError
from rct.randomise import parallel
from rct.randomise.kernel import count_support
from rct.randomise.manifest import allocation_bytes
from rct.randomise.rerandomise import mahalanobis_loop

IDS7 = [f"H{i}" for i in range(7)]


def _units(n, seed=0, k=2):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, k)) * 10 + 50, columns=[f"c{j}" for j in range(k)])
    df.insert(0, "hotspot_id", [f"HS{i:03d}" for i in range(n)])
    df["crimes"] = rng.poisson(12, n)
    df["beat"] = rng.choice(["A", "B", "C"], n)
    return df


# -- 2 of 7 treated: 21 allocations, checked against itertools -------------------------------
def test_two_of_seven_enumeration_and_probabilities():
    d = parallel(IDS7, counts=(5, 2), seed=11)
    assert d.n_assignments == 21
    z, w = d.enumerate(with_probabilities=True)
    got = {tuple(np.flatnonzero(row == 1)) for row in z}
    assert got == set(combinations(range(7), 2))  # independent: every 2-subset once
    np.testing.assert_allclose(w, 1 / 21, rtol=0, atol=1e-15)
    p = d.probabilities()
    assert p.attrs["method"] == "exact"
    np.testing.assert_allclose(p["treatment"], 2 / 7, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-15)
    assert (d.assignment == 1).sum() == 2


def test_two_of_seven_randomisation_test_p_value():
    y = np.array([3.0, 7.5, 1.0, 4.2, 9.9, 2.2, 5.0])
    d = parallel(IDS7, counts=(5, 2), seed=3)
    z_obs = d.assignment

    def stat(z):
        return y[z == 1].mean() - y[z == 0].mean()

    t_obs = stat(z_obs)
    z_all = d.enumerate()
    stats = np.array([stat(z) for z in z_all])
    p_design = np.mean(stats >= t_obs - 1e-12)
    # independent reference: all C(7,2) treated pairs by itertools
    ref = []
    for pair in combinations(range(7), 2):
        t = np.zeros(7, int)
        t[list(pair)] = 1
        ref.append(y[t == 1].mean() - y[t == 0].mean())
    p_ref = sum(r >= t_obs - 1e-12 for r in ref) / 21
    assert p_design == pytest.approx(p_ref, abs=0)
    assert p_ref * 21 == round(p_ref * 21)  # a multiple of 1/21


# -- remainder rule ----------------------------------------------------------------------
def test_remainder_support_is_exact():
    # block of 4 at ratio 2:1 -> expected 8/3 control, 4/3 treatment
    sup = dict(count_support(np.array([2, 1]), np.array([2, 1]), 3))
    assert sup == {(2, 2): Fraction(1, 3), (3, 1): Fraction(2, 3)}
    # block of 3 at 1:1
    sup = dict(count_support(np.array([1, 1]), np.array([1, 1]), 2))
    assert sup == {(1, 2): Fraction(1, 2), (2, 1): Fraction(1, 2)}


def test_odd_blocks_keep_ratio_exactly():
    df = pd.DataFrame({"hotspot_id": list("abcdefgh"), "b": list("xxxyyyyy")})
    d = parallel(df, scheme="block", block_column="b", ratio=(2, 1), seed=5)
    p = d.probabilities()
    np.testing.assert_allclose(p["treatment"], 1 / 3, atol=1e-15)
    z, w = d.enumerate(with_probabilities=True)
    assert w.sum() == pytest.approx(1.0)
    # exact marginal from the enumeration equals the design probabilities
    marg = (w[:, None] * (z == 1)).sum(axis=0)
    np.testing.assert_allclose(marg, 1 / 3, atol=1e-12)
    draws = d.draw(30_000, np.random.default_rng(1))
    se = np.sqrt((1 / 3) * (2 / 3) / 30_000)
    assert np.abs(draws.mean(axis=0) - 1 / 3).max() < 4.5 * se


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=5),
    ratio=st.sampled_from([(1, 1), (2, 1), (1, 1, 1), (3, 2), (1, 2, 2)]),
    seed=st.integers(0, 2**32),
)
def test_block_counts_exact(sizes, ratio, seed):
    blocks = np.repeat(np.arange(len(sizes)), sizes)
    df = pd.DataFrame({"hotspot_id": [f"u{i}" for i in range(len(blocks))], "blk": blocks})
    arms = [f"a{i}" for i in range(len(ratio))]
    if len(df) < 2:
        return
    d = parallel(df, scheme="block", block_column="blk", arms=arms, ratio=ratio, seed=seed)
    big_r = sum(ratio)
    z = d.draw(200, np.random.default_rng(seed % 1000))
    blk = np.array([int(b) for b in df.set_index("hotspot_id").loc[list(d.ids), "blk"]])
    for b, n_b in enumerate(sizes):
        zb = z[:, blk == b]
        for a, r in enumerate(ratio):
            c = (zb == a).sum(axis=1)
            lo, hi = (n_b * r) // big_r, -(-n_b * r // big_r)
            assert c.min() >= lo and c.max() <= hi
            if n_b % big_r == 0:
                assert (c == n_b * r // big_r).all()
    p = d.probabilities()
    np.testing.assert_allclose(p.to_numpy(), np.array(ratio)[None] / big_r * np.ones((len(df), 1)),
                               atol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), seed=st.integers(0, 2**32), ties=st.booleans())
def test_pairs_never_split(n, seed, ties):
    rng = np.random.default_rng(seed)
    rank = rng.integers(0, 4, n) if ties else rng.normal(size=n)
    df = pd.DataFrame({"hotspot_id": [f"p{i}" for i in range(n)], "crimes": rank})
    d = parallel(df, scheme="pairs", rank_column="crimes", seed=seed)
    z = np.vstack([d.assignment[None], d.draw(100, rng)])
    labels = np.array(d.allocation["block"])
    for lab in np.unique(labels):
        cols = labels == lab
        if cols.sum() == 2:
            assert (z[:, cols].sum(axis=1) == 1).all()  # one of each arm, always
    # pairs are consecutive in descending rank
    alloc = d.allocation.assign(r=df.set_index("hotspot_id").loc[list(d.ids), "crimes"].to_numpy())
    means = alloc.groupby("block")["r"].agg(["min", "max"]).sort_index()
    assert (means["min"].to_numpy()[:-1] >= means["max"].to_numpy()[1:]).all()


def test_probabilities_match_empirical_frequencies():
    df = _units(23, seed=4)
    d = parallel(df, scheme="block", blocks_from="crimes", n_blocks=4, seed=9)
    n = 40_000
    emp = d.draw(n, np.random.default_rng(5)).mean(axis=0)
    p = d.probabilities()["treatment"].to_numpy()
    se = np.sqrt(p * (1 - p) / n)
    assert (np.abs(emp - p) < 4.5 * se).all()
    sizes = d.allocation["block"].value_counts()
    assert sizes.max() - sizes.min() <= 1


def test_multi_arm_ratio_counts():
    d = parallel([f"x{i}" for i in range(12)], arms=("control", "short", "long"), ratio=(2, 1, 1),
                 seed=8)
    assert np.bincount(d.assignment, minlength=3).tolist() == [6, 3, 3]
    z = d.draw(500, np.random.default_rng(0))
    assert (np.stack([(z == a).sum(1) for a in range(3)], 1) == [6, 3, 3]).all()
    f = math.factorial
    assert d.n_assignments == f(12) // (f(6) * f(3) * f(3))


# -- re-randomisation ----------------------------------------------------------------------
def test_rerandomisation_matches_loop_and_acceptance():
    df = _units(60, seed=1, k=3)
    d = parallel(df, scheme="rerandomise", covariates=["c0", "c1", "c2"], acceptance=0.1, seed=2)
    x = df.set_index("hotspot_id").loc[list(d.ids), ["c0", "c1", "c2"]].to_numpy()
    z = d.draw(300, np.random.default_rng(3))
    m_loop = np.array(mahalanobis_loop(x, z))
    np.testing.assert_allclose(d.scorer.score(z), m_loop, rtol=1e-9)
    np.testing.assert_allclose(d.scorer.score_numpy(z), m_loop, rtol=1e-9)
    assert (m_loop <= d.threshold + 1e-9).all()
    assert mahalanobis_loop(x, [d.assignment])[0] <= d.threshold
    # exact rational arithmetic agrees with the compiled float kernel
    assert float(d.scorer.exact(d.assignment)) == pytest.approx(
        d.scorer.score(d.assignment[None])[0], rel=1e-12
    )
    assert d.derived["df"] == 3 and d.derived["threshold"] > 0


def test_rerandomisation_enumeration_small():
    df = _units(10, seed=7, k=2)
    d = parallel(df, scheme="rerandomise", covariates=["c0", "c1"], threshold=1.0, seed=4)
    z, w = d.enumerate(with_probabilities=True)
    x = df.set_index("hotspot_id").loc[list(d.ids), ["c0", "c1"]].to_numpy()
    # independent: filter all C(10,5) complete-randomisation allocations with the loop statistic
    ref = []
    for t in combinations(range(10), 5):
        a = np.zeros(10, int)
        a[list(t)] = 1
        if mahalanobis_loop(x, [a])[0] <= 1.0:
            ref.append(tuple(a))
    assert {tuple(r) for r in z} == set(ref)
    assert d.n_assignments == len(ref)
    np.testing.assert_allclose(w, 1 / len(ref))
    p = d.probabilities()
    assert p.attrs["method"] == "exact"
    np.testing.assert_allclose(p["treatment"], np.mean(ref, axis=0), atol=1e-12)
    draws = d.draw(5000, np.random.default_rng(2))
    assert {tuple(r) for r in draws} <= set(ref)
    se = np.sqrt(0.25 / 5000)
    assert np.abs(draws.mean(0) - np.mean(ref, axis=0)).max() < 4.5 * se * 2


def test_rerandomisation_unequal_arms_monte_carlo_probabilities():
    df = _units(40, seed=2, k=2)
    d = parallel(df, scheme="rerandomise", covariates=["c0", "c1"], counts=(25, 15),
                 acceptance=0.2, seed=1)
    p = d.probabilities()
    assert p.attrs["method"] == "monte-carlo" and 0 < p.attrs["mc_se"] < 0.01
    assert p["treatment"].mean() == pytest.approx(15 / 40, abs=1e-12)


def test_collinear_covariates_refused():
    df = _units(20)
    df["c2"] = df["c0"] * 2
    with pytest.raises(DesignError, match="collinear"):
        parallel(df, scheme="rerandomise", covariates=["c0", "c2"], acceptance=0.5, seed=1)


# -- determinism ---------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**63), perm_seed=st.integers(0, 1000),
       scheme=st.sampled_from(["complete", "block", "pairs", "rerandomise"]))
def test_same_seed_same_allocation_any_row_order(seed, perm_seed, scheme):
    df = _units(17, seed=3)
    kw = {
        "complete": {},
        "block": {"block_column": "beat"},
        "pairs": {"rank_column": "crimes"},
        "rerandomise": {"covariates": ["c0", "c1"], "acceptance": 0.3},
    }[scheme]
    a = parallel(df, scheme=scheme, seed=seed, **kw)
    b = parallel(df.sample(frac=1, random_state=perm_seed), scheme=scheme, seed=seed, **kw)
    assert allocation_bytes(a) == allocation_bytes(b)
    assert a.ids == tuple(sorted(df["hotspot_id"]))


def test_algorithm_output_is_pinned():
    # Regression pin: these bytes may only change together with ALGORITHM_VERSION
    # (randomizr issue #73). The values were produced by rct-randomise/1.
    i = np.arange(30)
    df = pd.DataFrame({"hotspot_id": [f"HS{k:03d}" for k in i], "c0": (i * 37) % 101 + 0.25,
                       "c1": (i * 53) % 89 - 0.5 * i, "beat": ["ABC"[k] for k in (i * 7) % 3]})
    got = {
        "complete": parallel(df, seed=20211005),
        "block": parallel(df, scheme="block", block_column="beat", seed=20211005),
        "rerandomise": parallel(df, scheme="rerandomise", covariates=["c0", "c1"],
                                acceptance=0.2, seed=20211005),
    }
    digests = {k: hashlib.sha256(allocation_bytes(v)).hexdigest()[:16] for k, v in got.items()}
    assert digests == PINNED


PINNED = {"complete": "d4d8b64a5558fa4b", "block": "44a1422da6037038", "rerandomise": "4bd45228ab00e17f"}


def test_different_seeds_differ():
    df = _units(30)
    assert not np.array_equal(parallel(df, seed=1).assignment, parallel(df, seed=2).assignment)


def test_validation_errors():
    with pytest.raises(ValueError, match="complete"):
        parallel(IDS7, scheme="stratified", seed=1)
    with pytest.raises(DesignError):
        parallel(IDS7, counts=(3, 3), seed=1)
    with pytest.raises(DataError, match="duplicate"):
        parallel(["a", "b", "a"], seed=1)
    with pytest.raises(DesignError, match="seed"):
        parallel(IDS7, seed=-1)
    with pytest.raises(DesignError, match="rank_column"):
        parallel(IDS7, scheme="pairs", seed=1)
