"""Per-site / per-shift estimates and heterogeneity (:mod:`rct.plan.subgroups`)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rct.evaluate.crossover import ConditionalPoissonLogRR
from rct.evaluate.ri import randomisation_test, reference_assignments
from rct.plan.crossover import evaluate_crossover, unit_groups
from rct.plan.subgroups import RestrictedDesign, _heterogeneity, heterogeneity_ri
from rct.randomise import crossover
from tests.randomise.test_crossover_shifts import _brute_force_two_sites

IDS = ["a0", "a1", "a2", "b0", "b1"]
SITES = {"a0": "a", "a1": "a", "a2": "a", "b0": "b", "b1": "b"}


def test_subgroup_test_is_exact_over_the_design_restricted_to_the_site():
    """The site-b test from the design's enumeration equals brute force over every schedule
    of the two-site design, restricted to b's units (not b's schedules alone)."""
    d = crossover(IDS, start="2021-06-07", days=3, per_day=1, sites=SITES, seed=4)
    y = np.array([3, 0, 1, 2, 0, 5, 1, 1, 0, 4, 2, 2, 0, 1, 6], dtype=float)
    idx = np.arange(9, 15)  # b0, b1 x 3 days (hot-spot major units)

    def stat(Z, yy):
        n1 = Z.sum(axis=1)
        return Z @ yy / n1 - (yy.sum() - Z @ yy) / (Z.shape[1] - n1)

    sub = RestrictedDesign(d, idx)
    res = randomisation_test(sub, y[idx], stat, ci=False)
    brute = _brute_force_two_sites()[:, idx].astype(float)
    t = stat(np.asarray(d.assignment, float)[idx][None, :], y[idx])[0]
    p = float(np.mean(np.abs(stat(brute, y[idx])) >= abs(t) - 1e-12))
    assert res.method == "exact" and res.p_value == pytest.approx(p, abs=1e-12)
    # and from the shared reference draws restricted to the site
    ref = reference_assignments(d, draws=10)
    assert ref[1] and ref[0].shape == (36, 15)


def test_q_and_i2_are_cochrans():
    yi, vi = [-0.5, 0.1, -0.2], [0.04, 0.09, 0.05]
    h = _heterogeneity(yi, vi, levels=["a", "b", "c"], multiplicative=True, alpha=0.05)
    w = 1 / np.array(vi)
    mu = (w * yi).sum() / w.sum()
    q = float((w * (np.array(yi) - mu) ** 2).sum())
    assert h["Q"] == pytest.approx(q, rel=1e-12) and h["Q_df"] == 2
    # I² from τ² as metafor (Higgins & Thompson with the typical within-study variance)
    v_typ = 2 / (w.sum() - (w**2).sum() / w.sum())
    assert h["I2"] == pytest.approx(100 * h["tau2"] / (h["tau2"] + v_typ), rel=1e-9)
    assert h["tau2_method"] == "REML"


def _trial(effects, seed=1, days=40):
    rows = [(f"H{i:02d}", "north" if i < 6 else "south") for i in range(12)]
    u = pd.DataFrame(rows, columns=["hotspot_id", "site"])
    d = crossover(u, start="2021-06-01", days=days, per_day=3, sites="site", seed=seed)
    rng = np.random.default_rng(seed)
    uid = np.array([a for a, _ in d.units])
    site = np.array([dict(rows)[x] for x in uid])
    z = np.asarray(d.assignment)
    irr = np.array([effects[s] for s in site])
    y = rng.poisson(0.6 * np.where(z == 1, irr, 1.0)).astype(float)
    return d, y, uid, site, z


def test_heterogeneity_test_sees_a_difference_and_not_an_absent_one():
    for effects, small in (({"north": 0.3, "south": 1.6}, True), ({"north": 1, "south": 1},
                                                                    False)):
        d, y, uid, site, z = _trial(effects, seed=3)
        ref = reference_assignments(d, draws=299, rng=np.random.default_rng(0), exact_limit=0)
        idxs = [np.flatnonzero(site == s) for s in ("north", "south")]
        stats = [ConditionalPoissonLogRR(uid[i]) for i in idxs]
        th = [s(z[None, i].astype(float), y[i])[0] for s, i in zip(stats, idxs, strict=True)]
        r = heterogeneity_ri(stats, y, z.astype(float), idxs, ref, weights=np.ones(2),
                             effect="multiplicative", center=float(np.mean(th)), scale=0.1)
        assert (r["p_value"] < 0.01) == small, (effects, r)
        assert r["p_value"] >= r["gamma"] and r["grid"] == 41


def test_per_site_estimates_beside_an_unchanged_pooled_test():
    d, y, uid, site, z = _trial({"north": 0.5, "south": 1.0}, seed=5)
    units = d.units.to_frame(index=False)
    outcomes = units.assign(crimes=y)
    alloc = d.allocation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_sites = evaluate_crossover(outcomes, alloc, design=d, ri_draws=200, seed=1)
        without = evaluate_crossover(outcomes, alloc.drop(columns="site"), design=d,
                                     ri_draws=200, seed=1)
    a = with_sites.tidy()
    b = without.tidy()
    pd.testing.assert_frame_equal(a[a["role"] != "exploratory"].reset_index(drop=True),
                                  b[b["role"] != "exploratory"].reset_index(drop=True))
    assert with_sites.meta["headline"] == without.meta["headline"]
    sub = [e for e in with_sites.estimates if "subgroup" in e.details]
    assert {e.role for e in sub} == {"exploratory"}
    levels = with_sites.meta["subgroups"]["site"]["levels"]
    assert [r["level"] for r in levels] == ["north", "south"] and "subgroups" not in without.meta
    assert unit_groups(alloc, uid)["site"].tolist() == site.tolist()
