"""Crossover and parallel hot-spot designs: correspondences, solving, errors."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.rates import power_negbin_ratio_2indep, power_poisson_ratio_2indep

from rct.errors import DesignError
from rct.power import crossover_power, crossover_variance, mdes_ira, parallel_power


def test_crossover_poisson_equals_two_sample_rate_test():
    # With phi = 0 the crossover compares tasked (D k hot-spot-days) with untasked
    # (D (N-k)) exposure: statsmodels' Poisson ratio test with those sample sizes.
    N, D, k, lam, irr = 45, 120, 22, 0.2, 0.85
    sm = power_poisson_ratio_2indep(lam * irr, lam, D * k, nobs_ratio=(N - k) / k, value=1,
                                    alpha=0.05, alternative="two-sided", return_results=False)  # fmt: skip
    mine = crossover_power(hotspots=N, days=D, per_day=k, rate=lam, irr=irr, reference="z")
    assert mine.power == pytest.approx(float(sm), rel=1e-10)


def test_crossover_heterogeneity_nearly_cancels_without_overdispersion():
    # without day-level overdispersion heterogeneity enters only through E[N / sum u] =
    # N / (N - tau^2) (gamma frailty) and the fewer Satterthwaite df of unequal hot spots
    kw = dict(hotspots=45, days=90, per_day=22, rate=0.2, irr=0.85)
    v0 = crossover_variance(**kw)
    assert crossover_variance(**kw, heterogeneity=2.0) == pytest.approx(v0 * 45 / 43, rel=1e-12)
    base = crossover_power(hotspots=45, days=90, rate=0.2, reduction=0.15)
    het = crossover_power(hotspots=45, days=90, rate=0.2, reduction=0.15, heterogeneity=2.0)
    # (simulated with 20,000 trials: 0.590 and 0.539, mean df 41.5 and 15.0)
    assert base.power - 0.08 < het.power < base.power
    assert het.df < 20 < base.df <= 44
    od = crossover_power(
        hotspots=45, days=90, rate=0.2, reduction=0.15, dispersion=1.0, heterogeneity=2.0
    )
    assert od.power < het.power


def test_crossover_variance_formula():
    v = crossover_variance(hotspots=40, days=100, per_day=10, rate=0.5, irr=0.8, dispersion=0.4,
                           heterogeneity=0.5, harm_cv=2.0)  # fmt: skip
    expect = (40 / 39.5) * (1 + 4) / 50 * (1 / 8 + 1 / 30) \
        + (40 * 1.5 / 40.5) * 0.4 / 100 * (1 / 10 + 1 / 30)
    assert v == pytest.approx(expect)


def test_crossover_df_equal_hot_spots_is_n_minus_one():
    from rct.power.designs import crossover_df

    # Poisson counts, identical hot spots, many events: the Satterthwaite df tends to N - 1
    assert crossover_df(hotspots=30, days=1e6, per_day=15, rate=1.0) == pytest.approx(29, rel=1e-4)
    assert crossover_df(hotspots=30, days=90, per_day=15, rate=0.2, heterogeneity=1.0) < 20


def test_parallel_rate_ratio_equals_statsmodels_negbin():
    # parallel totals over D days are NB with kappa = tau^2 + phi (1 + tau^2) / D
    N, D, lam, tau2, phi = 60, 30, 0.3, 0.4, 0.5
    kappa = tau2 + phi * (1 + tau2) / D
    sm = power_negbin_ratio_2indep(lam * D * 0.8, lam * D, N / 2, nobs_ratio=1, dispersion=kappa,
                                   alpha=0.05, method_var="alt", return_results=False)  # fmt: skip
    mine = parallel_power(hotspots=N, days=D, rate=lam, irr=0.8, heterogeneity=tau2, dispersion=phi,
                          reference="z")  # fmt: skip
    assert mine.power == pytest.approx(float(sm), rel=1e-10)


def _standardised(res):
    # counts with pure heterogeneity (days -> inf): arm SDs are m and irr m; the effect in
    # pooled-SD units is (1 - irr) / sqrt((1 + irr^2) / 2), PowerUp!'s standardised scale
    q = res.mde
    return (1 - q) / math.sqrt((1 + q * q) / 2)


def test_parallel_standardised_mde_corresponds_to_powerup():
    # PowerUpR mdes.ira(n=250) = 0.3557750: the same design in count units, MDE converted
    # to SD units, agrees up to PowerUp!'s t_{a/2} + t_{b} approximation of the noncentral t.
    res = parallel_power(hotspots=250, days=1e7, rate=1.0, power=0.8, heterogeneity=1.0,
                         estimator="diff-means")  # fmt: skip
    assert _standardised(res) == pytest.approx(mdes_ira(n=250).value, rel=2e-3)
    assert _standardised(res) == pytest.approx(0.3557750, rel=2e-3)
    # blocks: 20 blocks of 15, rho = 0; PowerUpR mdes.bira2c1(n=15, J=20) = 0.3246342
    blk = parallel_power(hotspots=300, days=1e7, rate=1.0, power=0.8, heterogeneity=1.0,
                         estimator="diff-means", design="block", n_blocks=20)  # fmt: skip
    assert _standardised(blk) == pytest.approx(0.3246342, rel=2e-3)
    # the correlation blocking buys: the standardised MDE shrinks by sqrt(1 - rho)
    rho = 0.5
    blk2 = parallel_power(hotspots=300, days=1e7, rate=1.0, power=0.8, heterogeneity=1.0,
                          estimator="diff-means", design="block", n_blocks=20,
                          block_correlation=rho)  # fmt: skip
    assert _standardised(blk2) / _standardised(blk) == pytest.approx(math.sqrt(1 - rho), rel=2e-2)


def test_parallel_pairs_and_r2_help():
    kw = dict(hotspots=60, days=365, rate=0.2, reduction=0.15, heterogeneity=0.5)
    base = parallel_power(**kw).power
    assert parallel_power(**kw, design="pairs", block_correlation=0.6).power > base
    assert parallel_power(**kw, r2=0.5).power > base


def test_parallel_log_count_and_harm():
    kw = dict(hotspots=80, days=180, rate=0.2, reduction=0.2, heterogeneity=0.5)
    lc = parallel_power(**kw, outcome="log-count", estimator="diff-means")
    assert 0.05 < lc.power < 1
    h0 = parallel_power(**kw, outcome="harm", harm_cv=0.0)
    h3 = parallel_power(**kw, outcome="harm", harm_cv=3.0)
    assert h3.power < h0.power  # heavy-tailed harm costs power
    with pytest.raises(DesignError, match="log-count"):
        parallel_power(**kw, outcome="log-count", estimator="rate-ratio")


@pytest.mark.parametrize("unknown", ["hotspots", "days", "effect", "power", "alpha"])
def test_crossover_round_trip(unknown):
    truth = dict(hotspots=45.0, days=200.0, rate=0.2, reduction=0.15, alpha=0.05,
                 dispersion=0.3, heterogeneity=0.5)  # fmt: skip
    p = crossover_power(**truth, power=None).power
    kw = dict(truth, power=p)
    kw["reduction" if unknown == "effect" else unknown] = None
    res = crossover_power(**kw)
    assert isinstance(res.value, float)
    want = {"effect": 0.85}.get(unknown, truth.get(unknown, p))
    assert res.value == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("unknown", ["hotspots", "days", "effect", "alpha"])
def test_parallel_round_trip(unknown):
    truth = dict(hotspots=120.0, days=365.0, rate=0.2, reduction=0.2, alpha=0.05, heterogeneity=0.4)
    p = parallel_power(**truth, power=None).power
    kw = dict(truth, power=p)
    kw["reduction" if unknown == "effect" else unknown] = None
    res = parallel_power(**kw)
    want = {"effect": 0.8}.get(unknown, truth.get(unknown))
    assert res.value == pytest.approx(want, rel=1e-6)


def test_mde_is_direct_output_and_consistent():
    res = crossover_power(hotspots=45, days=365, rate=0.2, reduction=0.15)
    again = crossover_power(hotspots=45, days=365, rate=0.2, reduction=None, power=0.8)
    assert res.mde == pytest.approx(again.effect, rel=1e-9)
    assert res.mde_reduction == pytest.approx(again.reduction, rel=1e-9)


def test_no_solution_raises_design_error():
    # heterogeneity puts a floor under the parallel variance: more days cannot reach 80 %
    with pytest.raises(DesignError, match="number of days"):
        parallel_power(
            hotspots=10, days=None, rate=0.2, reduction=0.05, power=0.8, heterogeneity=1.0
        )
    with pytest.raises(DesignError, match="exactly one"):
        crossover_power(hotspots=None, days=None, rate=0.2, reduction=0.1, power=0.8)
    with pytest.raises(DesignError, match="per_day"):
        crossover_power(hotspots=10, days=30, per_day=10, rate=0.2, reduction=0.1)
    with pytest.raises(DesignError, match="not both"):
        crossover_power(hotspots=10, days=30, rate=0.2, reduction=0.1, irr=0.9)
    with pytest.raises(ValueError, match="'complete', 'block', 'pairs'"):
        parallel_power(hotspots=10, rate=0.2, reduction=0.1, design="cluster")
