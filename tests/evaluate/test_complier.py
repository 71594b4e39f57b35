"""Complier effect (2SLS) against R estimatr::iv_robust."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rct.evaluate._prep import EstimatorWarning
from rct.evaluate.complier import complier_effect, wald_statistic

from ._ref import dataset, reference


@pytest.fixture(scope="module")
def iv() -> pd.DataFrame:
    return dataset("iv")


def _check(t, ref):
    assert t.estimate == pytest.approx(ref["estimate"], rel=1e-9)
    assert t.std_error == pytest.approx(ref["std_error"], rel=1e-8)
    assert t.p_value == pytest.approx(ref["p_value"], rel=1e-6)
    assert t.conf_low == pytest.approx(ref["conf_low"], rel=1e-8)
    assert t.conf_high == pytest.approx(ref["conf_high"], rel=1e-8)


def test_matches_iv_robust(iv):
    ref = reference()["iv_robust"]
    # R: iv_robust(y ~ minutes | z, data = iv, se_type = "HC1", diagnostics = TRUE)
    e = complier_effect(iv, outcome="y", dose="minutes", treatment="z")
    _check(e.effect, ref["hc1"])
    assert e.details["df"] == ref["hc1"]["df"]
    assert e.details["first_stage_f"] == pytest.approx(ref["hc1"]["first_stage_f"], rel=1e-8)
    # R: iv_robust(y ~ minutes + x | z + x, data = iv, se_type = "HC1", diagnostics = TRUE)
    e = complier_effect(iv, outcome="y", dose="minutes", treatment="z", covariates=["x"])
    _check(e.effect, ref["hc1_x"])
    assert e.details["first_stage_f"] == pytest.approx(ref["hc1_x"]["first_stage_f"], rel=1e-8)
    # R: partial R^2 of z in lm(minutes ~ z + x) vs lm(minutes ~ x)
    assert e.details["partial_r2"] == pytest.approx(ref["partial_r2_x"], rel=1e-8)
    # R: iv_robust(y ~ minutes | z, data = iv, se_type = "HC0")
    e = complier_effect(iv, outcome="y", dose="minutes", treatment="z", robust="HC0")
    _check(e.effect, ref["hc0"])


def test_first_stage_term_and_wald_statistic(iv):
    e = complier_effect(iv, outcome="y", dose="minutes", treatment="z")
    fs = e.term("first stage")
    itt_d = iv.minutes[iv.z == 1].mean() - iv.minutes[iv.z == 0].mean()
    assert fs.estimate == pytest.approx(itt_d)
    assert fs.statistic**2 == pytest.approx(e.details["first_stage_f"], rel=1e-8)
    draws = np.vstack([iv.z.to_numpy(), np.random.default_rng(0).permutation(iv.z.to_numpy())])
    w = wald_statistic(iv.y.to_numpy(), iv.minutes.to_numpy(), draws)
    assert w[0] == pytest.approx(e.effect.estimate, rel=1e-10)
    with pytest.warns(EstimatorWarning, match="weak"):  # a random permutation: no first stage
        e2 = complier_effect(iv.assign(z2=draws[1]), outcome="y", dose="minutes", treatment="z2")
    assert w[1] == pytest.approx(e2.effect.estimate, rel=1e-10)


def test_weak_instrument_warns():
    rng = np.random.default_rng(1)
    n = 60
    z = np.repeat([0, 1], n // 2)
    d = pd.DataFrame({"z": z, "dose": rng.normal(30, 10, n) + 0.5 * z, "y": rng.normal(size=n)})
    with pytest.warns(EstimatorWarning, match="weak first stage"):
        e = complier_effect(d, outcome="y", dose="dose", treatment="z")
    assert e.details["weak_instrument"] is True


# ---------------------------------------------------------------------------
# randomisation inference for the dose effect (Imbens & Rosenbaum 2005)


def _brute_iv_p(y, d, z_obs, beta0, combos, weights=None):
    """p of H0: beta = beta0 by a plain loop over every assignment (difference in means)."""
    adj = y - beta0 * d

    def dim(z):
        return adj[z == 1].mean() - adj[z == 0].mean()

    t = dim(z_obs)
    hits = np.array([abs(dim(z)) >= abs(t) - 1e-9 * max(1.0, abs(t)) for z in combos])
    w = np.ones(len(combos)) if weights is None else np.asarray(weights)
    return float(w[hits].sum() / w.sum())


def _combos(n, m):
    import itertools

    out = []
    for c in itertools.combinations(range(n), m):
        z = np.zeros(n, dtype=np.int8)
        z[list(c)] = 1
        out.append(z)
    return out


def test_complier_ri_exact_p_equals_brute_force_over_15_assignments(Block):
    from rct.evaluate.complier import complier_ri

    z = np.array([1, 0, 0, 1, 0, 0])
    y = np.array([3.0, 5.0, 6.0, 1.0, 4.0, 7.0])
    d = np.array([30.0, 2.0, 0.0, 25.0, 5.0, 1.0])
    design = Block(z)
    combos = _combos(6, 2)
    assert len(combos) == 15
    for beta0 in (0.0, -0.1, 0.05):
        est = complier_ri(design, y, d, null=beta0, ci=False)
        assert est.details["ri_method"] == "exact" and est.details["ri_draws"] == 15
        assert est.effect.p_value == pytest.approx(_brute_iv_p(y, d, z, beta0, combos), abs=1e-12)
    # the estimate is the Wald ratio ITT_y / ITT_d
    wald = (y[z == 1].mean() - y[z == 0].mean()) / (d[z == 1].mean() - d[z == 0].mean())
    assert est.effect.estimate == pytest.approx(wald)
    assert est.effect.estimate == pytest.approx(float(wald_statistic(y, d, z[None, :])[0]))


def test_complier_ri_interval_is_the_set_of_unrejected_doses(Block):
    """The inverted interval's ends separate p > alpha (inside) from p <= alpha (outside)."""
    from rct.evaluate.complier import complier_ri

    rng = np.random.default_rng(4)
    z = np.zeros(10, dtype=np.int8)
    z[:4] = 1
    d = z * rng.uniform(20, 40, 10) + rng.uniform(0, 5, 10)
    y = 5 + rng.normal(0, 1, 10) - 0.05 * d
    design = Block(z)
    est = complier_ri(design, y, d, alpha=0.1)
    lo, hi = est.effect.conf_low, est.effect.conf_high
    assert lo < est.effect.estimate < hi
    combos = _combos(10, 4)  # 210 assignments
    eps = 1e-4 * (hi - lo)
    for inside in (lo + eps, hi - eps):
        assert _brute_iv_p(y, d, z, inside, combos) > 0.1
    for outside in (lo - eps, hi + eps):
        assert _brute_iv_p(y, d, z, outside, combos) <= 0.1


def test_complier_ri_interval_covers_the_true_dose_effect(Block):
    """Coverage of the 90 % interval over 120 simulated trials (exact test: at least nominal)."""
    from rct.evaluate.complier import complier_ri

    rng = np.random.default_rng(2024)
    beta, reps, covered = -0.04, 120, 0
    z = np.zeros(12, dtype=np.int8)
    z[:6] = 1  # complete randomisation 6 of 12: all 924 assignments enumerated
    for _ in range(reps):  # independent simulated trials (not a loop over assignments)
        zr = rng.permutation(z)
        d = zr * rng.gamma(4, 8, 12) + rng.gamma(1, 3, 12)
        y0 = rng.negative_binomial(3, 0.3, 12).astype(float)
        y = y0 + beta * d
        e = complier_ri(Block(zr), y, d, alpha=0.1)
        covered += e.effect.conf_low <= beta <= e.effect.conf_high
    rate = covered / reps
    print(f"complier RI 90 % interval coverage: {rate:.3f} over {reps} trials")
    assert 0.84 <= rate <= 1.0  # nominal 0.90 (exact test: >= 0.90 up to discreteness); MC SD 0.027


def test_complier_ri_crossover_fe_matches_iv2sls_with_dummies(Crossover):
    """With the two-way FE statistic the estimate is 2SLS with hot-spot and day dummies."""
    from linearmodels.iv import IV2SLS

    from rct.evaluate.complier import complier_ri
    from rct.evaluate.crossover import TwoWayFE

    rng = np.random.default_rng(8)
    H, D = 6, 8
    sched = np.zeros((H, D), dtype=np.int8)
    for t in range(D):
        sched[rng.choice(H, 3, replace=False), t] = 1
    design = Crossover([f"h{i}" for i in range(H)], [f"d{t}" for t in range(D)], sched)
    z = sched.ravel().astype(float)
    d = z * rng.uniform(10, 30, H * D) + rng.uniform(0, 4, H * D)
    y = rng.poisson(2, H * D) - 0.02 * d
    u = design.units.to_frame(index=False)
    stat = TwoWayFE(u["hotspot_id"], u["trial_date"])
    est = complier_ri(design, y, d, statistic=stat, draws=300, rng=1)
    exog = pd.get_dummies(u, drop_first=True, dtype=float)
    exog.insert(0, "const", 1.0)
    ref = IV2SLS(pd.Series(y), exog, pd.Series(d, name="dose"), pd.Series(z, name="z")).fit()
    assert est.effect.estimate == pytest.approx(float(ref.params["dose"]), rel=1e-8)
    assert est.details["ri_method"] == "monte carlo" and 0 < est.effect.p_value <= 1
    h = est.details["null_histogram"]
    assert sum(h["counts"]) == h["n_defined"] == 300
