"""RIRR, WDD (ptools worked examples), harm-weighted WDD, displacement quotient."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rct.evaluate.prepost import (
    displacement_quotient,
    prepost_counts,
    rirr,
    rirr_units,
    wdd,
    wdd_harm,
    wdd_units,
)


def test_wdd_paper_example_matches_ptools():
    # ptools::wdd(c(308,318), c(207,110), c(150,140), c(178,157), alpha = 0.05)
    # published: local -107 (SE 30.71); total -118, SE sqrt(1568) = 39.60, z -2.98, CI -196 to -40
    e = wdd(
        (308, 318),
        (207, 110),
        displacement_control=(150, 140),
        displacement_treated=(178, 157),
        alpha=0.05,
    )
    local, total = e.term("local"), e.term("total")
    assert local.estimate == -107
    assert round(local.std_error, 2) == 30.71
    assert total.estimate == -118
    assert total.std_error == pytest.approx(math.sqrt(1568))
    assert round(total.std_error, 2) == 39.60
    assert round(total.statistic, 2) == -2.98
    assert (round(total.conf_low), round(total.conf_high)) == (-196, -40)
    assert e.term("displacement").estimate == -11


def test_wdd_area_and_time_weights_match_ptools():
    # ptools test "Area Weights": wdd(..., area_weights = c(0.9,1.2,1.6,1.5), alpha = 0.05)
    e = wdd(
        (308, 318),
        (207, 110),
        displacement_control=(150, 140),
        displacement_treated=(178, 157),
        area_weights=(0.9, 1.2, 1.6, 1.5),
    )
    t = e.effect
    expected = [-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241]
    got = [t.estimate, t.std_error, t.statistic, t.conf_low, t.conf_high]
    assert got == pytest.approx(expected, rel=1e-8)
    # ptools test "Time Weights": wdd(c(100,50), c(80,20), time_weights = c(2,1)) -> -20, sqrt(115)
    e = wdd((100, 50), (80, 20), time_weights=(2, 1))
    assert e.effect.estimate == pytest.approx(-20)
    assert e.effect.std_error == pytest.approx(math.sqrt(115))


def test_wdd_harm_matches_ptools_cumulative_harm_example():
    # ptools test "Cumulative Harm": wdd() per crime type, then
    # wdd_harm(Est_Local, SE_Local, c(3,2,5,7,10), alpha = 0.05)
    pairs = [
        ((133, 91), (130, 74)),
        ((388, 305), (327, 202)),
        ((148, 97), (398, 190)),
        ((86, 64), (144, 92)),
        ((94, 67), (183, 96)),
    ]
    loc = [wdd(c, t).term("local") for c, t in pairs]
    e = wdd_harm([t.estimate for t in loc], [t.std_error for t in loc], [3, 2, 5, 7, 10])
    t = e.effect
    expected = [-1721.0, 304.10360077, -5.65925558, -2317.03210507, -1124.96789493]
    assert [t.estimate, t.std_error, t.statistic, t.conf_low, t.conf_high] == pytest.approx(
        expected, rel=1e-5
    )


def test_rirr_definition_and_variance():
    # Wheeler (2021) worked example of Wilson's estimator: treated 50 -> 30, control 60 -> 55
    # log(30) - log(50) - (log(55) - log(60)) = -0.4238142 ; (30/50)/(55/60) = 0.6545455
    e = rirr((50, 30), (60, 55))
    assert e.term("log RIRR").estimate == pytest.approx(-0.4238142, abs=1e-7)
    assert e.effect.estimate == pytest.approx(0.6545455, abs=1e-7)
    var = 1 / 50 + 1 / 30 + 1 / 60 + 1 / 55
    assert e.term("log RIRR").std_error == pytest.approx(math.sqrt(var))
    assert e.effect.conf_low == pytest.approx(
        math.exp(-0.4238142 - 1.959964 * math.sqrt(var)), rel=1e-6
    )
    assert e.details["relative_effect_size"] == pytest.approx(1 / 0.6545455, rel=1e-6)
    e2 = rirr((50, 30), (60, 55), dispersion=2.0)
    assert e2.term("log RIRR").std_error == pytest.approx(math.sqrt(2 * var))
    with pytest.raises(ValueError, match="positive"):
        rirr((0, 30), (60, 55))
    # continuity correction (Wheeler's planning notes: 1/(Y + 0.5) terms)
    e3 = rirr((0, 3), (6, 5), correction=0.5)
    assert e3.term("log RIRR").estimate == pytest.approx(math.log((3.5 / 0.5) / (5.5 / 6.5)))
    assert e3.term("log RIRR").std_error == pytest.approx(
        math.sqrt(1 / 0.5 + 1 / 3.5 + 1 / 6.5 + 1 / 5.5)
    )


def test_rirr_units_equals_quasipoisson_fixed_effects_glm():
    """Independent check: statsmodels quasi-Poisson GLM, unit FE + arm x post."""
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    n = 30
    mu = rng.gamma(1.5, 6, size=n)
    z = np.repeat([0, 1], 15)
    pre = rng.poisson(mu * rng.gamma(2, 0.5, n))
    post = rng.poisson(mu * np.where(z == 1, 0.7, 1.0) * rng.gamma(2, 0.5, n))
    d = pd.DataFrame({"pre": pre, "post": post, "z": z})
    e = rirr_units(d, pre="pre", post="post", treatment="z")
    keep = (pre + post) > 0
    long = pd.DataFrame(
        {
            "y": np.concatenate([pre[keep], post[keep]]),
            "unit": np.tile(np.flatnonzero(keep), 2),
            "post": np.repeat([0, 1], keep.sum()),
            "z": np.tile(z[keep], 2),
        }
    )
    x = pd.get_dummies(long["unit"], prefix="u", dtype=float)
    x["post_c"] = long["post"] * (1 - long["z"])
    x["post_t"] = long["post"] * long["z"]
    fit = sm.GLM(long["y"], x, family=sm.families.Poisson()).fit(scale="X2", tol=1e-12)
    b = fit.params["post_t"] - fit.params["post_c"]
    se = math.sqrt(
        fit.cov_params().loc["post_t", "post_t"]
        + fit.cov_params().loc["post_c", "post_c"]
        - 2 * fit.cov_params().loc["post_t", "post_c"]
    )
    assert e.term("log RIRR").estimate == pytest.approx(b, rel=1e-7)
    assert e.details["dispersion_raw"] == pytest.approx(fit.scale, rel=1e-6)
    assert fit.scale > 1
    assert e.term("log RIRR").std_error == pytest.approx(se, rel=1e-5)
    sums = prepost_counts(d, pre="pre", post="post", treatment="z")
    assert sums["treated"] == (pre[z == 1].sum(), post[z == 1].sum())


def test_rirr_and_wdd_size_by_simulation():
    """Poisson counts, no effect: both tests reject ~5%; intervals cover ~95%."""
    rng = np.random.default_rng(9)
    reps = 20000
    lam = np.array([40.0, 40.0, 55.0, 55.0])  # treated pre/post, control pre/post
    y = rng.poisson(lam, size=(reps, 4)).astype(float)
    y = y[(y > 0).all(axis=1)]
    log_r = np.log(y[:, 1]) - np.log(y[:, 0]) - np.log(y[:, 3]) + np.log(y[:, 2])
    se = np.sqrt((1 / y).sum(axis=1))
    q = stats.norm.ppf(0.975)
    rej_r = np.mean(np.abs(log_r / se) > q)
    w = (y[:, 1] - y[:, 0]) - (y[:, 3] - y[:, 2])
    rej_w = np.mean(np.abs(w / np.sqrt(y.sum(axis=1))) > q)
    # the functions agree with the vectorised formulas on a few rows
    for k in (0, 1):
        assert rirr(y[k, :2], y[k, 2:]).term("log RIRR").statistic == pytest.approx(
            log_r[k] / se[k]
        )
        assert wdd(y[k, 2:], y[k, :2]).effect.statistic == pytest.approx(
            w[k] / math.sqrt(y[k].sum())
        )
    print(f"RIRR size {rej_r:.4f}, WDD size {rej_w:.4f}")
    mc = math.sqrt(0.05 * 0.95 / y.shape[0])
    assert abs(rej_r - 0.05) < 4 * mc + 0.005
    assert abs(rej_w - 0.05) < 4 * mc + 0.005


def test_displacement_quotient_hand_computed():
    # formulas as Guerette (2009) POP Center Tool Guide 10, appendix B:
    # WDQ = (Da/Ca - Db/Cb) / (Ra/Ca - Rb/Cb); TNE = [Rb(Ca/Cb) - Ra] + [Db(Ca/Cb) - Da]
    # R (treated) 100 -> 60, D (catchment) 80 -> 70, C (control) 200 -> 200
    e = displacement_quotient((100, 60), (80, 70), (200, 200))
    sm = 60 / 200 - 100 / 200
    dm = 70 / 200 - 80 / 200
    assert e.term("success measure").estimate == pytest.approx(sm)
    assert e.term("displacement measure").estimate == pytest.approx(dm)
    assert e.effect.estimate == pytest.approx(dm / sm)  # 0.25 > 0: diffusion of benefits
    assert e.effect.estimate > 0
    assert e.term("total net effect").estimate == pytest.approx((100 - 60) + (80 - 70))
    # displacement: the catchment rose
    e = displacement_quotient((100, 60), (80, 95), (200, 200))
    assert e.effect.estimate < 0
    assert e.details["meaningful"] is True


def test_wdd_units_sums_by_arm():
    d = pd.DataFrame(
        {
            "arm": ["treatment", "control"] * 3,
            "pre": [70, 100, 70, 100, 67, 108],
            "post": [40, 106, 35, 106, 35, 106],
            "ring_pre": [60, 50, 60, 50, 58, 50],
            "ring_post": [52, 47, 52, 47, 53, 46],
        }
    )
    e = wdd_units(d, pre="pre", post="post", catchment_pre="ring_pre", catchment_post="ring_post")
    ref = wdd(
        (308, 318), (207, 110), displacement_control=(150, 140), displacement_treated=(178, 157)
    )
    assert e.to_dict()["terms"] == ref.to_dict()["terms"]
    with pytest.raises(ValueError, match="both"):
        wdd_units(d, pre="pre", post="post", catchment_pre="ring_pre")


# ---------------------------------------------------------------------------
# hot-spot-level randomisation inference (parallel design with a baseline window)


def _all_assignments(n, m):
    import itertools

    rows = []
    for c in itertools.combinations(range(n), m):
        z = np.zeros(n, dtype=np.int8)
        z[list(c)] = 1
        rows.append(z)
    return np.array(rows)


def test_wdd_and_rirr_ri_exact_equal_brute_force_2_of_6(Block):
    from rct.evaluate.prepost import rirr_ri, wdd_ri

    z = np.array([0, 1, 0, 0, 1, 0], dtype=np.int8)
    pre = np.array([10.0, 14.0, 7.0, 9.0, 12.0, 5.0])
    post = np.array([11.0, 6.0, 8.0, 10.0, 7.0, 6.0])
    design = Block(z)
    Z = _all_assignments(6, 2)
    assert len(Z) == 15

    def tol(t):
        return 1e-9 * max(1.0, abs(t))

    # WDD per hot spot: difference in mean post - pre change
    ch = post - pre
    T = np.array([ch[r == 1].mean() - ch[r == 0].mean() for r in Z])
    t = ch[z == 1].mean() - ch[z == 0].mean()
    w = wdd_ri(design, pre, post)
    assert w.effect.estimate == pytest.approx(t)
    assert w.effect.p_value == pytest.approx(np.mean(np.abs(T) >= abs(t) - tol(t)), abs=1e-12)
    # the WDD of the totals (ptools) is the difference of summed changes (arms of 2 and 4 here)
    sums = wdd((pre[z == 0].sum(), post[z == 0].sum()), (pre[z == 1].sum(), post[z == 1].sum()))
    assert sums.term("local").estimate == pytest.approx(ch[z == 1].sum() - ch[z == 0].sum())
    # RIRR of the arm totals

    def lr(r):
        return (np.log(post[r == 1].sum() / pre[r == 1].sum())
                - np.log(post[r == 0].sum() / pre[r == 0].sum()))

    T = np.array([lr(r) for r in Z])
    t = lr(z)
    r = rirr_ri(design, pre, post)
    point = rirr((pre[z == 1].sum(), post[z == 1].sum()), (pre[z == 0].sum(), post[z == 0].sum()))
    assert r.effect.estimate == pytest.approx(point.effect.estimate)
    assert r.effect.scale == "ratio"
    assert r.effect.p_value == pytest.approx(np.mean(np.abs(T) >= abs(t) - tol(t)), abs=1e-12)
    assert r.effect.conf_low < r.effect.estimate < r.effect.conf_high


def test_rirr_ri_interval_covers_the_true_ratio(Block):
    """Multiplicative effect on post-period counts: the 90 % interval covers rho."""
    from rct.evaluate.prepost import rirr_ri

    rng = np.random.default_rng(31)
    rho, reps, covered = 0.7, 80, 0
    z = np.zeros(12, dtype=np.int8)
    z[:6] = 1
    for _ in range(reps):  # independent simulated trials
        zr = rng.permutation(z)
        lam = rng.gamma(3, 4, 12)
        pre = rng.poisson(lam).astype(float)
        post0 = rng.poisson(lam).astype(float) + 1.0
        post = post0 * np.where(zr == 1, rho, 1.0)  # sharp multiplicative effect
        e = rirr_ri(Block(zr), pre, post, alpha=0.1)
        covered += e.effect.conf_low <= rho <= e.effect.conf_high
    rate = covered / reps
    print(f"RIRR RI 90 % interval coverage: {rate:.3f} over {reps} trials")
    assert 0.82 <= rate <= 1.0  # nominal 0.90; MC SD 0.034
