"""Distributed-lag carryover models: regressors, fits against statsmodels, exact RI, washout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rct.evaluate.carryover import (
    add_carryover,
    add_lags,
    carryover_matrix,
    carryover_terms,
    distributed_lag,
    distributed_lag_ri,
)
from rct.evaluate.crossover import crossover_panel
from rct.randomise import crossover


def test_since_last_regressors_by_hand():
    z = np.array([[1, 1, 0, 0, 0, 1, 0, 0]])  # one hot spot, 8 days
    X = carryover_matrix(z[None], 3, "since-last")[0, :, 0]
    assert X[0].tolist() == z[0].tolist()
    assert X[1].tolist() == [0, 0, 1, 0, 0, 0, 1, 0]  # untasked, last tasked 1 day ago
    assert X[2].tolist() == [0, 0, 0, 1, 0, 0, 0, 1]
    assert X[3].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    # categories are exclusive; days 4+ after the last tasking are the clean comparison
    assert (X.sum(axis=0) <= 1).all()
    L = carryover_matrix(z[None], 2, "lags")[0, :, 0]
    assert L[1].tolist() == [0, 1, 1, 0, 0, 0, 1, 0] and L[2].tolist() == [0, 0, 1, 1, 0, 0, 0, 1]
    assert carryover_terms(2) == ["tasked", "carryover_day1", "carryover_day2"]
    with pytest.raises(ValueError, match="form"):
        carryover_terms(2, "weird")


@pytest.fixture(scope="module")
def trial():
    ids = [f"h{i:02d}" for i in range(14)]
    design = crossover(ids, start="2024-03-04", days=40, per_day=6, seed=8)
    rng = np.random.default_rng(3)
    units = design.units.to_frame(index=False)
    z = design.schedule.T.astype(float)
    X = carryover_matrix(z[None], 3, "since-last")[0]
    mu = rng.gamma(3, 0.6, 14)[:, None] * 0.8 ** (X[0] + X[1] + X[2])
    y = rng.poisson(mu).ravel().astype(float)
    outcomes = units.assign(crimes=y)
    return design, crossover_panel(outcomes, design.allocation), y


def _statsmodels_fit(panel, names, family):
    import statsmodels.api as sm

    X = pd.get_dummies(panel[["hotspot_id"]].astype(str), drop_first=True, dtype=float)
    T = pd.get_dummies(panel["trial_date"].astype(str), drop_first=True, dtype=float)
    M = pd.concat([panel[names].astype(float), X, T], axis=1)
    M = sm.add_constant(M)
    groups = pd.factorize(panel["hotspot_id"])[0]
    if family == "ols":
        return sm.OLS(panel["crimes"], M).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return sm.GLM(panel["crimes"], M, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups})


@pytest.mark.parametrize("model", ["ols", "poisson"])
@pytest.mark.parametrize("form", ["since-last", "lags"])
def test_distributed_lag_matches_statsmodels(trial, model, form):
    _, panel, _ = trial
    # statsmodels' cluster sandwich is the classic CR1 one (CR2, the default, is checked
    # against clubSandwich in test_crossover.py)
    est = distributed_lag(panel, lags=3, form=form, model=model,
                          vcov="CR1S" if model == "ols" else "CR1")
    names = carryover_terms(3, form)
    assert [t.term for t in est.terms] == [*names, "cumulative"]
    df = add_carryover(panel, lags=3, form=form)
    ref = _statsmodels_fit(df, names, model)
    b = ref.params[names].to_numpy()
    V = ref.cov_params().loc[names, names].to_numpy()
    got = np.array([t.estimate for t in est.terms[:4]])
    if model == "poisson":
        got = np.log(got)
    # statsmodels: OLS / GLM(Poisson) with hot-spot and day dummies
    np.testing.assert_allclose(got, b, rtol=1e-6, atol=1e-9)
    cum = est.term("cumulative")
    cum_b = np.log(cum.estimate) if model == "poisson" else cum.estimate
    assert cum_b == pytest.approx(b.sum(), rel=1e-6, abs=1e-9)
    # cumulative SE = sqrt(1'V1); statsmodels' small-sample factor cancels in the ratio
    ratio_ref = np.sqrt(V.sum()) / np.sqrt(V[0, 0])
    assert cum.std_error / est.terms[0].std_error == pytest.approx(ratio_ref, rel=1e-5)


def test_add_lags_is_the_lags_form(trial):
    _, panel, _ = trial
    a = add_lags(panel, lags=2)
    b = add_carryover(panel, lags=2, form="lags")
    assert (a["tasked_lag2"].to_numpy() == b["tasked_lag2"].to_numpy()).all()


def _brute_coefs(y, Z, N, D, lags, form):
    """OLS with explicit dummies for every schedule (independent of the FWL batch code)."""
    H = np.repeat(np.eye(N), D, axis=0)
    T = np.tile(np.eye(D), (N, 1))
    F = np.column_stack([H, T[:, 1:]])
    out = np.full((len(Z), lags + 1), np.nan)
    for b, z in enumerate(Z):
        X = carryover_matrix(z.reshape(1, N, D).astype(float), lags, form)[0].reshape(lags + 1, -1)
        A = np.column_stack([F, X.T])
        if np.linalg.matrix_rank(A) < A.shape[1]:
            continue
        out[b] = np.linalg.lstsq(A, y, rcond=None)[0][-(lags + 1):]
    return out


def test_ri_exact_over_every_schedule_of_a_tiny_design():
    design = crossover(["a", "b", "c", "d"], start="2024-05-01", days=5, per_day=2, seed=3)
    Z, prob = design.enumerate(100_000, with_probabilities=True)
    y = np.random.default_rng(5).poisson(1.5, 20).astype(float)
    est = distributed_lag_ri(design, y, lags=2, effect="additive", ci=False)
    assert est.details["ri_method"] == "exact" and est.details["ri_draws"] == len(Z)
    coefs = _brute_coefs(y, Z, 4, 5, 2, "since-last")
    obs = _brute_coefs(y, np.asarray(design.assignment)[None], 4, 5, 2, "since-last")[0]
    stats = np.column_stack([coefs, coefs.sum(axis=1)])
    obs = np.append(obs, obs.sum())
    for j, t in enumerate(est.terms):
        assert t.estimate == pytest.approx(obs[j], abs=1e-9)
        ok = ~np.isnan(stats[:, j])
        hit = np.abs(stats[ok, j]) >= abs(obs[j]) - 1e-9 * max(1.0, abs(obs[j]))
        assert t.p_value == pytest.approx(prob[ok][hit].sum() / prob[ok].sum(), abs=1e-10), t.term


@pytest.mark.parametrize("effect", ["additive", "multiplicative"])
def test_ri_interval_ends_are_where_the_inverted_test_crosses_alpha(trial, effect):
    from rct.evaluate.carryover import _design_frame, _fe_coefficients
    from rct.evaluate.ri import _p, reference_assignments

    design, _, y = trial
    est = distributed_lag_ri(design, y, lags=3, effect=effect, draws=300, rng=11)
    t = est.term("tasked")
    assert t.conf_low < t.estimate < t.conf_high
    if effect == "multiplicative":
        assert t.scale == "ratio" and 0 < t.conf_low
    Z, exact, w = reference_assignments(design, draws=300, rng=11, n_units=y.size)
    f, fe, N, D = _design_frame(design)
    z_obs = np.asarray(design.assignment, dtype=float).reshape(1, N, D)
    x0 = carryover_matrix(z_obs, 3)[0, 0].ravel()
    lo, hi = (np.log(t.conf_low), np.log(t.conf_high)) if effect == "multiplicative" else \
        (t.conf_low, t.conf_high)
    for beta, inside in ((lo + 1e-3, True), (lo - 1e-2, False), (hi - 1e-3, True),
                         (hi + 1e-2, False)):
        y0 = y * np.exp(-beta * x0) if effect == "multiplicative" else y - beta * x0
        T = _fe_coefficients(carryover_matrix(Z.reshape(-1, N, D), 3).reshape(len(Z), 4, -1),
                             y0[:, None], fe)[:, 0, 0]
        tobs = _fe_coefficients(carryover_matrix(z_obs, 3).reshape(1, 4, -1), y0[:, None],
                                fe)[0, 0, 0]
        assert (_p(T, tobs, "two-sided", exact, w) > 0.05) == inside, (beta, inside)


@pytest.mark.slow
def test_ri_size_and_interval_coverage_with_few_hot_spots():
    # 12 hot spots x 30 days; overdispersed counts (negative binomial, size 1.5)
    ids = [f"h{i:02d}" for i in range(12)]
    design = crossover(ids, start="2024-03-04", days=30, per_day=5, seed=2)
    rng = np.random.default_rng(9)
    reps, rej, cover = 60, 0, 0
    for r in range(reps):
        z = design.draw_schedules(1, rng)[0].T
        X = carryover_matrix(z[None].astype(float), 2)[0]
        lam = rng.gamma(2.0, 1.0, 12)[:, None] * np.ones((12, 30))
        y0 = rng.negative_binomial(1.5, 1.5 / (1.5 + lam)).ravel().astype(float)
        d = crossover(ids, start="2024-03-04", days=30, per_day=5, seed=2)
        object.__setattr__(d, "schedule", z.T.copy())  # the trial's schedule
        null = distributed_lag_ri(d, y0, lags=2, effect="additive", draws=199, rng=r, ci=False)
        rej += null.terms[0].p_value <= 0.05
        y1 = y0 * np.exp(np.log(0.7) * (X[0] + X[1]).ravel())  # sharp multiplicative effect
        est = distributed_lag_ri(d, np.round(y1, 6), lags=2, draws=199, rng=r)
        t = est.term("tasked")
        cover += t.conf_low <= 0.7 <= t.conf_high
    assert rej / reps <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / reps)
    assert cover / reps >= 0.95 - 2.5 * np.sqrt(0.05 * 0.95 / reps)


def test_washout_design_needs_lags_at_least_washout():
    ids = [f"h{i:02d}" for i in range(10)]
    design = crossover(ids, start="2024-03-04", days=30, per_day=3, seed=1, washout=2)
    y = np.random.default_rng(1).poisson(1.0, 300).astype(float)
    with pytest.raises(ValueError, match="washout"):
        distributed_lag_ri(design, y, lags=1, draws=20)
    panel = crossover_panel(design.units.to_frame(index=False).assign(crimes=y), design.allocation)
    panel["washout"] = design.allocation["washout"].to_numpy()
    with pytest.raises(ValueError, match="washout"):
        distributed_lag(panel, lags=1)
    est = distributed_lag(panel, lags=2, model="ols")
    assert est.details["lags"] == 2
    ri = distributed_lag_ri(design, y, lags=2, draws=50, rng=1, ci=False)
    assert len(ri.terms) == 4


def test_bad_choices_list_the_valid_ones(trial):
    design, panel, y = trial
    with pytest.raises(ValueError, match="since-last"):
        distributed_lag(panel, form="x")
    with pytest.raises(ValueError, match="poisson"):
        distributed_lag(panel, model="x")
    with pytest.raises(ValueError, match="multiplicative"):
        distributed_lag_ri(design, y, effect="x")
    with pytest.raises(ValueError, match="lags"):
        distributed_lag(panel, lags=0)
