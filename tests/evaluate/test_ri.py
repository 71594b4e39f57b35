"""Randomisation inference engine: exact p-values vs published / R coin references,
Monte Carlo error, test inversion."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from rct.evaluate.crossover import ConditionalPoissonLogRR, TwoWayFE
from rct.evaluate.ri import (
    DifferenceInMeans,
    align_to_design,
    randomisation_test,
    ri_estimate,
)

# Gerber & Green (2012) Table 2.2 as used in the ri2 intro vignette (villages 1 and 7 treated):
GG_Z = [1, 0, 0, 0, 0, 0, 1]
GG_Y = np.array([15, 15, 20, 20, 10, 15, 30], dtype=float)


def test_gerber_green_exact_p_is_8_over_21(Block):
    res = randomisation_test(Block(GG_Z), GG_Y)
    assert res.method == "exact" and res.n_draws == 21
    assert res.observed == pytest.approx(6.5)
    assert res.p_value == pytest.approx(8 / 21, abs=1e-12)  # Gerber & Green p. 64: 8/21 = 0.38
    assert res.mc_se == 0


def test_gerber_green_matches_coin(coin_ref, Block):
    # R: oneway_test(Y ~ Z, data = gg, distribution = "exact")  -> coin_exact.csv gg_table_2_2
    res = randomisation_test(Block(GG_Z), GG_Y)
    assert res.p_value == pytest.approx(coin_ref.loc["gg_table_2_2", "p_value"], rel=1e-9)


def test_blocked_exact_matches_coin(coin_ref, Block):
    # R: oneway_test(Y ~ Z | block, data = blk, distribution = "exact")
    z = [1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0]
    y = np.array([3, 0, 5, 1, 2, 6, 4, 1, 7, 3, 2, 0], dtype=float)
    d = Block(z, blocks=list("aaaabbbbcccc"))
    res = randomisation_test(d, y)
    assert res.n_draws == 216
    assert res.p_value == pytest.approx(coin_ref.loc["blocked_3x4", "p_value"], rel=1e-9)


def test_crossover_shaped_exact_matches_coin(coin_ref, Crossover):
    # R: oneway_test(Y ~ Z | day, data = xo, distribution = "exact")
    sched = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 1, 0]]).T  # hot spots x days
    y = np.array([[0, 1, 2, 3], [1, 0, 2, 1], [0, 1, 0, 4]], dtype=float).T
    d = Crossover(["a", "b", "c", "d"], ["d1", "d2", "d3"], sched)
    res = randomisation_test(d, y.ravel())
    assert res.p_value == pytest.approx(coin_ref.loc["crossover_4x3", "p_value"], rel=1e-9)


def test_one_sided_match_coin(coin_ref, Block):
    # R: oneway_test(Y ~ Z, data = cr, distribution = "exact", alternative = "greater"/"less");
    # coin's statistic sums the first level (control), so its "greater" is our "less".
    z = [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0]
    y = np.array([2, 5, 3, 0, 6, 1, 4, 7, 2, 5, 1, 3], dtype=float)
    d = Block(z)
    two = randomisation_test(d, y, ci=False)
    less = randomisation_test(d, y, alternative="less", ci=False)
    greater = randomisation_test(d, y, alternative="greater", ci=False)
    assert two.p_value == pytest.approx(coin_ref.loc["complete_12_5", "p_value"], rel=1e-9)
    assert less.p_value == pytest.approx(coin_ref.loc["complete_12_5_greater", "p_value"], rel=1e-9)
    assert greater.p_value == pytest.approx(coin_ref.loc["complete_12_5_less", "p_value"], rel=1e-9)


def test_monte_carlo_close_to_exact_within_mc_error(Block):
    d = Block(GG_Z)
    res = randomisation_test(d, GG_Y, exact_limit=0, draws=20_000, rng=3, ci=False)
    assert res.method == "monte carlo" and res.n_draws == 20_000
    assert res.mc_se == pytest.approx(np.sqrt((8 / 21) * (13 / 21) / 20_000), rel=0.05)
    assert abs(res.p_value - 8 / 21) < 4 * res.mc_se


def test_mc_p_value_has_plus_one_correction(Block):
    # with the observed statistic the most extreme possible, MC p is 1/(B+1), never 0
    z = np.r_[np.ones(10), np.zeros(10)].astype(int)
    y = np.r_[np.full(10, 100.0), np.zeros(10)]
    res = randomisation_test(Block(z), y, exact_limit=0, draws=999, rng=1, ci=False)
    assert res.p_value == pytest.approx(1 / 1000)


def _exact_set(d, y, alpha=0.05):
    """Brute force: the set of integer shifts tau accepted at level alpha (loop over assignments)."""
    E = d.enumerate()
    z = d.assignment.astype(float)
    acc = []
    for tau in np.arange(-40, 41, 0.5):
        y0 = y - tau * z
        t = y0[z == 1].mean() - y0[z == 0].mean()
        T = np.array([y0[r == 1].mean() - y0[r == 0].mean() for r in E])
        if np.mean(np.abs(T) >= abs(t) - 1e-9) > alpha:
            acc.append(tau)
    return min(acc), max(acc)


def test_ci_by_inversion_matches_brute_force_grid(Block):
    d = Block(GG_Z)
    res = randomisation_test(d, GG_Y)
    lo, hi = _exact_set(d, GG_Y)
    # brute-force grid has 0.5 spacing: the root lies within half a step outside the accepted grid
    # (bisection tolerance 1e-6 x null SD ~ 5e-6)
    assert lo - 0.5 <= res.conf_low <= lo + 1e-4
    assert hi - 1e-4 <= res.conf_high <= hi + 0.5
    assert res.conf_low < res.observed < res.conf_high


def test_ci_nonlinear_path_agrees_with_linear_path(Block):
    class NonLinearDIM(DifferenceInMeans):
        linear = False

    rng = np.random.default_rng(5)
    z = np.r_[np.ones(8), np.zeros(8)].astype(int)
    rng.shuffle(z)
    y = rng.normal(size=16) + 0.8 * z
    d = Block(z)
    a = randomisation_test(d, y, draws=3000, rng=2, exact_limit=0)
    b = randomisation_test(d, y, NonLinearDIM(), draws=3000, rng=2, exact_limit=0)
    assert a.p_value == b.p_value
    assert a.conf_low == pytest.approx(b.conf_low, abs=1e-4)
    assert a.conf_high == pytest.approx(b.conf_high, abs=1e-4)


def test_two_way_fe_exact_p_matches_brute_force_ols(Crossover):
    # 4 hot spots x 3 days, 2 tasked a day: every assignment refitted by lstsq with dummies
    sched = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [1, 0, 1, 0]]).T
    y = np.array([[0, 1, 2, 3], [1, 0, 2, 1], [0, 1, 0, 4]], dtype=float).T.ravel()
    d = Crossover(["a", "b", "c", "d"], ["d1", "d2", "d3"], sched)
    u = np.repeat(np.arange(4), 3)
    t = np.tile(np.arange(3), 4)
    stat = TwoWayFE(u, t)
    res = randomisation_test(d, y, stat, ci=False)
    F = np.column_stack([np.eye(4)[u], np.eye(3)[t][:, 1:]])

    def coef(z):
        X = np.column_stack([z, F])
        if np.linalg.matrix_rank(X) < X.shape[1]:  # tasking collinear with hot-spot FE
            return np.nan
        return np.linalg.lstsq(X, y, rcond=None)[0][0]

    E = d.enumerate()
    T = np.array([coef(r.astype(float)) for r in E])
    assert np.isnan(T).sum() == res.details["n_undefined"] > 0
    T = T[~np.isnan(T)]
    t_obs = coef(d.assignment.astype(float))
    assert res.observed == pytest.approx(t_obs)
    assert res.p_value == pytest.approx(np.mean(np.abs(T) >= abs(t_obs) - 1e-9))


def test_multiplicative_ci_contains_estimate_and_is_ratio(Crossover):
    rng = np.random.default_rng(11)
    H, D = 10, 30
    sched = np.zeros((H, D), dtype=int)
    for j in range(D):
        sched[rng.choice(H, 5, replace=False), j] = 1
    y = rng.poisson(2.0 * np.exp(-0.4 * sched)).astype(float).ravel()
    d = Crossover(range(H), range(D), sched)
    stat = ConditionalPoissonLogRR(np.repeat(np.arange(H), D))
    res = randomisation_test(d, y, stat, effect="multiplicative", draws=500, rng=1)
    assert res.conf_low < res.estimate < res.conf_high
    assert 0 < res.conf_low < 1.0  # a 33 % reduction with 300 hot-spot-days: interval below ~1
    # p(rho) at the interval ends is about alpha
    p_lo = randomisation_test(d, y, stat, effect="multiplicative", null=res.conf_low * 0.97,
                              draws=500, rng=1, ci=False).p_value
    p_in = randomisation_test(d, y, stat, effect="multiplicative", null=res.conf_low * 1.03,
                              draws=500, rng=1, ci=False).p_value
    assert p_lo <= 0.05 < p_in


def test_sharp_null_shift_equals_shifting_outcome(Block):
    d = Block(GG_Z)
    a = randomisation_test(d, GG_Y, null=3.0, ci=False)
    b = randomisation_test(d, GG_Y - 3.0 * np.array(GG_Z), ci=False)
    assert a.p_value == b.p_value


def test_align_to_design_orders_and_checks_units():
    units = pd.MultiIndex.from_tuples([("b", "2024-01-02"), ("a", "2024-01-01")],
                                      names=["hotspot_id", "trial_date"])

    class D:
        pass

    d = D()
    d.units = units
    data = pd.DataFrame({"hotspot_id": ["a", "b"],
                         "trial_date": pd.to_datetime(["2024-01-01", "2024-01-02"]).date,
                         "crimes": [1.0, 2.0]})
    assert list(align_to_design(d, data, "crimes")) == [2.0, 1.0]
    from rct.errors import DataError

    with pytest.raises(DataError, match="no 'crimes' value"):
        align_to_design(d, data.iloc[:1], "crimes")


def test_ri_estimate_tidy(Block):
    res = randomisation_test(Block(GG_Z), GG_Y)
    est = ri_estimate(res, outcome="budget", n=7)
    row = est.tidy().iloc[0]
    assert row["p_value"] == pytest.approx(8 / 21) and row["estimate"] == pytest.approx(6.5)
    assert "exact" in row["method"]
    assert est.to_dict()["details"]["ri_method"] == "exact"


def test_bad_choices_raise(Block):
    with pytest.raises(ValueError, match="two-sided"):
        randomisation_test(Block(GG_Z), GG_Y, alternative="both")
    with pytest.raises(ValueError, match="additive"):
        randomisation_test(Block(GG_Z), GG_Y, effect="log")


def test_enumeration_double_is_complete(Block):
    d = Block(GG_Z)
    E = d.enumerate()
    assert {tuple(r) for r in E} == {
        tuple(int(i in c) for i in range(7)) for c in itertools.combinations(range(7), 2)
    }


def test_null_histogram_is_the_distribution_behind_the_p_value(Block):
    """details["null_histogram"]: the 21 Gerber & Green statistics binned; 8 exceed."""
    res = randomisation_test(Block(GG_Z), GG_Y, ci=False)
    h = res.details["null_histogram"]
    T = []
    for c in itertools.combinations(range(7), 2):  # brute force over the 21 assignments
        z = np.zeros(7, dtype=bool)
        z[list(c)] = True
        T.append(GG_Y[z].mean() - GG_Y[~z].mean())
    counts, edges = np.histogram(T, bins=len(h["counts"]), range=(min(T), max(T)))
    assert h["counts"] == counts.tolist() and h["edges"] == pytest.approx(edges.tolist())
    assert h["n_exceed"] == 8 and h["n_defined"] == 21 and h["p_value"] == res.p_value
    assert h["observed"] == pytest.approx(6.5)


def test_adjusted_test_needs_a_linear_statistic(Block):
    from rct.evaluate.ri import adjusted_randomisation_test, as_statistic

    stat = as_statistic(lambda Z, y: Z @ np.log1p(y), name="nonlinear")
    with pytest.raises(ValueError, match="linear"):
        adjusted_randomisation_test(Block(GG_Z), GG_Y, GG_Y, stat)
    # with no effect of assignment on x the Wald ratio is undefined, but the test still runs
    res = adjusted_randomisation_test(Block(GG_Z), GG_Y, np.ones(7), ci=False)
    assert np.isnan(res.observed) and res.p_value == pytest.approx(8 / 21)
