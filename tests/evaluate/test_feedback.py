"""Per-hot-spot feedback: shrinkage vs metafor and direct computation; coverage by simulation.

References: R metafor 3.8.1 (tests/reference/evaluate/metafor_feedback.R and its outputs);
direct numerical maximisation / integration with scipy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from rct.evaluate.feedback import (
    FEEDBACK_NOTE,
    eb_hierarchical,
    eb_shrink,
    hotspot_feedback,
    hotspot_log_rr,
    nb_inv_kappa,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate"


def _metafor():
    return (pd.read_csv(REF / "metafor_feedback_data.csv"),
            pd.read_csv(REF / "metafor_feedback.csv"))


@pytest.mark.parametrize("key", [("A", "REML"), ("A", "DL"), ("B", "REML"), ("B", "DL"),
                                 ("C", "REML"), ("C", "DL")])
def test_shrinkage_matches_metafor(key):
    # R: r <- metafor::rma(yi, vi, method = "REML" / "DL", control = list(threshold = 1e-12));
    #    blup(r)  (pred, se, pi.lb, pi.ub)
    data, ref = _metafor()
    s, m = key
    d = data.query("set == @s")
    r = ref.query("set == @s and method == @m")
    e = eb_shrink(d["yi"].to_numpy(), d["vi"].to_numpy(), method=m.lower())
    assert float(e.tau2) == pytest.approx(r["tau2"].iloc[0], abs=1e-9)
    assert float(e.center) == pytest.approx(r["mu"].iloc[0], abs=1e-9)
    assert float(e.center_se) == pytest.approx(r["mu_se"].iloc[0], abs=1e-9)
    np.testing.assert_allclose(e.estimate, r["pred"], atol=1e-9)
    np.testing.assert_allclose(e.std_error, r["pred_se"], atol=1e-9)
    np.testing.assert_allclose(e.conf_low, r["pi_lb"], atol=1e-8)
    np.testing.assert_allclose(e.conf_high, r["pi_ub"], atol=1e-8)


def test_shrinkage_toward_a_known_centre_vs_direct_computation():
    data, _ = _metafor()
    d = data.query("set == 'A'")
    y, v = d["yi"].to_numpy(), d["vi"].to_numpy()
    mu, mu_se = -0.2, 0.05
    e = eb_shrink(y, v, method="reml", center=mu, center_se=mu_se)
    # ML for tau^2 with the mean known, by direct maximisation
    nll = lambda t2: 0.5 * np.sum(np.log(v + t2) + (y - mu) ** 2 / (v + t2))  # noqa: E731
    t2 = optimize.minimize_scalar(nll, bounds=(0, 5), method="bounded",
                                  options={"xatol": 1e-12}).x
    assert float(e.tau2) == pytest.approx(t2, abs=1e-7)
    B = v / (v + t2)
    np.testing.assert_allclose(e.estimate, mu + (1 - B) * (y - mu), atol=1e-7)
    np.testing.assert_allclose(e.std_error, np.sqrt((1 - B) * v + B**2 * mu_se**2), atol=1e-7)
    dl = eb_shrink(y, v, method="dl", center=mu)
    assert float(dl.tau2) == pytest.approx(
        max(0.0, (np.sum((y - mu) ** 2 / v) - len(y)) / np.sum(1 / v)), abs=1e-12)


def test_hierarchical_vs_numerical_integration():
    data, _ = _metafor()
    d = data.query("set == 'A'")
    y, v = d["yi"].to_numpy(), d["vi"].to_numpy()
    e = eb_hierarchical(y, v, grid=801)

    def post_tau(tau):  # p(tau | y), uniform on [0, 3], flat prior on mu (BDA eq. 5.21)
        w = 1 / (v + tau**2)
        m = np.sum(w * y) / np.sum(w)
        return math.exp(-0.5 * np.sum(np.log(v + tau**2)) - 0.5 * math.log(np.sum(w))
                        - 0.5 * np.sum(w * (y - m) ** 2))

    Z = integrate.quad(post_tau, 0, 3, limit=200)[0]
    i = 4

    def cond(tau):  # E[theta_i | tau, y] and Var
        w = 1 / (v + tau**2)
        m = np.sum(w * y) / np.sum(w)
        B = v[i] / (v[i] + tau**2)
        return m + (1 - B) * (y[i] - m), (1 - B) * v[i] + B**2 / np.sum(w)

    mean = integrate.quad(lambda t: post_tau(t) * cond(t)[0], 0, 3, limit=200)[0] / Z
    second = integrate.quad(lambda t: post_tau(t) * (cond(t)[1] + cond(t)[0] ** 2), 0, 3,
                            limit=200)[0] / Z
    assert e.estimate[i] == pytest.approx(mean, abs=2e-4)
    assert e.std_error[i] == pytest.approx(math.sqrt(second - mean**2), abs=2e-4)
    cdf = lambda x: integrate.quad(  # noqa: E731
        lambda t: post_tau(t) * stats.norm.cdf(x, cond(t)[0], math.sqrt(cond(t)[1])), 0, 3,
        limit=200)[0] / Z
    assert cdf(e.conf_low[i]) == pytest.approx(0.025, abs=5e-4)
    assert cdf(e.conf_high[i]) == pytest.approx(0.975, abs=5e-4)


def test_hotspot_log_rr_by_hand():
    # hot spot 1: 3 crimes on 10 tasked days, 9 on 18 untasked; pooled log RR 0 here
    b, v = hotspot_log_rr([3, 0, 0], [9, 4, 0], [10, 5, 7], [18, 9, 7], pooled=0.0,
                          inv_kappa=0.5)
    assert b[0] == pytest.approx(math.log(3.5 / 10) - math.log(9.5 / 18))
    p = 10 / 28
    assert v[0] == pytest.approx((1 + 0.5 * 12 / 28) / (12 * p * (1 - p)))
    assert np.isfinite(v[1]) and np.isinf(v[2])  # no crime at all: no information
    b2, v2 = hotspot_log_rr([1], [1], [0], [5])
    assert np.isnan(b2[0]) and np.isnan(v2[0])


def test_nb_inv_kappa_recovers_the_dispersion():
    rng = np.random.default_rng(5)
    means = rng.gamma(2, 0.3, 400)
    n = 250
    y = rng.poisson(means[:, None] * rng.gamma(2.0, 0.5, (400, n)))  # 1/kappa = 0.5
    m = y.mean(1)
    S = ((y - m[:, None]) ** 2).sum(1)
    assert float(nb_inv_kappa(S, np.full(400, n), m)) == pytest.approx(0.5, abs=0.05)
    yp = rng.poisson(np.broadcast_to(means[:, None], (400, n)))
    mp = yp.mean(1)
    assert float(nb_inv_kappa(((yp - mp[:, None]) ** 2).sum(1), np.full(400, n), mp)) < 0.03


def _panel(seed=2, H=24, D=70, K=12):
    rng = np.random.default_rng(seed)
    Z = (rng.random((D, H)).argsort(1).argsort(1) < K).astype(int).T
    lam = rng.gamma(2, 0.15, H)
    Y = rng.poisson(lam[:, None] * rng.gamma(2, 0.5, (H, D)))
    return pd.DataFrame({"hotspot_id": np.repeat([f"h{i:02d}" for i in range(H)], D),
                         "trial_date": np.tile(pd.date_range("2024-05-01", periods=D), H),
                         "tasked": Z.ravel(), "crimes": Y.ravel()})


def test_hotspot_feedback_window_and_labels():
    p = _panel()
    f = hotspot_feedback(p, weeks=3)
    t = f.tidy()
    last = p["trial_date"].max()
    win = p[p["trial_date"] > last - pd.Timedelta(days=21)]
    g = win.groupby("hotspot_id")
    np.testing.assert_array_equal(t["tasked_days"], g["tasked"].sum())
    np.testing.assert_array_equal(t["crimes_tasked"], g[["crimes", "tasked"]].apply(lambda x: (x.crimes * x.tasked).sum()))
    np.testing.assert_array_equal(t["n"], g.size())
    assert f.kind == "feedback" and f.note == FEEDBACK_NOTE and "not a test" in f.summary()
    assert t["p_value"].isna().all() and t["statistic"].isna().all()
    assert (t["kind"] == "feedback").all() and t["method"].str.contains("not a test").all()
    # shrunk intervals are narrower than the hot spot's own
    ok = t["raw_low"] > 0
    assert np.all((t["conf_high"] / t["conf_low"])[ok] < (t["raw_high"] / t["raw_low"])[ok])
    json.dumps(f.to_dict(), allow_nan=False)
    plug = hotspot_feedback(p, weeks=3, interval="plug-in", center=(-0.1, 0.05))
    assert plug.center == pytest.approx(-0.1) and "given" in plug.center_source
    with pytest.raises(ValueError, match="hierarchical"):
        hotspot_feedback(p, interval="bayes")
    with pytest.raises(ValueError, match="reml"):
        hotspot_feedback(p, tau2_method="pm")


def _coverage(S, H, K, D, tau, seed, mu=math.log(0.85)):
    """Average coverage across hot spots of the feedback intervals (simulated truth)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(1, 0.2, (S, 1, H))
    theta = rng.normal(mu, tau, (S, 1, H))
    keys = rng.random((S, D, H))
    z = keys <= np.partition(keys, K - 1, axis=2)[:, :, K - 1:K]
    y = rng.poisson(lam * np.where(z, np.exp(theta), 1.0) * rng.gamma(1, 1, (S, D, H)))
    Y1, Y0 = (y * z).sum(1), (y * ~z).sum(1)
    T1 = z.sum(1).astype(float)
    T0 = D - T1
    ss = np.concatenate([(y**2 * z).sum(1) - Y1**2 / T1, (y**2 * ~z).sum(1) - Y0**2 / T0], -1)
    ik = nb_inv_kappa(ss, np.concatenate([T1, T0], -1), np.concatenate([Y1 / T1, Y0 / T0], -1))
    b, v = hotspot_log_rr(Y1, Y0, T1, T0, inv_kappa=ik)
    th = theta[:, 0, :]
    h = eb_hierarchical(b, v)
    p = eb_shrink(b, v)
    cover = lambda e: float(np.mean((e.conf_low <= th) & (th <= e.conf_high)))  # noqa: E731
    return cover(h), cover(p)


@pytest.mark.slow
@pytest.mark.parametrize("H,K,weeks,tau", [(45, 22, 8, 0.3), (20, 8, 4, 0.3),
                                           (45, 22, 12, 0.5)])
def test_feedback_intervals_cover_on_average(H, K, weeks, tau):
    """EB intervals (tau integrated out) cover the hot spots' true rate ratios at roughly
    the nominal 95 % on average across hot spots, in Thames-Valley-like worlds
    (NB overdispersion, heterogeneous rates); plug-in intervals fall short."""
    hier, plug = _coverage(200, H, K, 7 * weeks, tau, seed=H + weeks)
    assert 0.92 <= hier <= 0.99, hier
    assert plug < hier
