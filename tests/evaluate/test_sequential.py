"""Group-sequential boundaries, confidence sequences, interim estimates and their calibration.

References: R rpact 3.3.4 (tests/reference/evaluate/rpact_designs.R and its outputs
rpact_designs.csv, rpact_analysis.csv); Monte Carlo of Gaussian random walks; direct
numerical integration of the mixture martingale; the library's crossover estimators.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from rct.evaluate.crossover import ConditionalPoissonLogRR, crossover_poisson, ppml_fe
from rct.evaluate.interim import interim_estimates, stratified_log_rr
from rct.evaluate.sequential import (
    SPENDING,
    confidence_sequence,
    crossing_probabilities,
    cs_mixing,
    cs_radius,
    gs_design,
    gs_observed,
    sequential_test,
    spending_function,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate"
TYPES = {"asOF": "obrien-fleming", "asP": "pocock", "asKD": "kim-demets",
         "asHSD": "hwang-shih-decani"}


def _designs():
    return pd.read_csv(REF / "rpact_designs.csv")


def _ours(g: pd.DataFrame):
    r = g.iloc[0]
    return gs_design(g["rate"].to_numpy(), alpha=float(r["alpha"]), sided=int(r["sided"]),
                     spending=TYPES[r["type"]],
                     gamma=None if pd.isna(r["gamma"]) else float(r["gamma"]))


# ---------------------------------------------------------------------------
# rpact
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(dict.fromkeys(_designs()["case"])))
def test_boundaries_match_rpact(case):
    # R: rpact::getDesignGroupSequential(typeOfDesign = type, informationRates = rates,
    #    alpha = alpha, sided = sided, gammaA = gamma, tolerance = 1e-10)
    g = _designs().query("case == @case")
    d = _ours(g)
    crit = np.asarray(d.critical_values)
    ref = g["critical"].to_numpy()
    inc = np.diff(g["alpha_spent"].to_numpy(), prepend=0.0)
    # rpact solves each look to an alpha tolerance, so looks spending < 1e-5 are compared
    # by the alpha they spend instead; where rpact says Inf (nothing spendable) so do we
    well = inc > 1e-5
    assert np.max(np.abs(crit[well] - ref[well])) < 1e-4
    assert np.all(np.isinf(crit[np.isinf(ref)]))
    np.testing.assert_allclose(d.alpha_spent, g["alpha_spent"], atol=1e-7, rtol=0)
    np.testing.assert_allclose(np.asarray(d.stage_levels)[well], g["stage_level"][well],
                               atol=1e-7, rtol=0)
    np.testing.assert_allclose(d.alpha_spent[-1], g["alpha"].iloc[0], rtol=1e-9)


@pytest.mark.parametrize("case", ["A_OF_1s", "A_OF_1s_final", "A_P_2s", "A_P_2s_final"])
def test_analysis_matches_rpact(case):
    # R: rpact::getAnalysisResults(design, getDataset(overallEvents = d, overallLogRanks = z,
    #    overallAllocationRatios = 1), directionUpper = TRUE): repeated CIs for the hazard
    #    ratio and the final (stage-wise-ordered) p-value.  log HR = 2 z / sqrt(d), SE 2/sqrt(d).
    a = pd.read_csv(REF / "rpact_analysis.csv").query("case == @case")
    dz = _designs().query("case == @a.design.iloc[0]")
    r = dz.iloc[0]
    se = 2 / np.sqrt(a["events"].to_numpy())
    est = a["z"].to_numpy() * se
    k = len(a)
    res = sequential_test(est, se, method=TYPES[r["type"]], alpha=float(r["alpha"]),
                          alternative="greater" if r["sided"] == 1 else "two-sided",
                          information_rates=dz["rate"].to_numpy()[:k], final=k == len(dz))
    t = res.tidy()
    assert np.max(np.abs(np.exp(t["conf_low"].to_numpy()) - a["rci_low_hr"].to_numpy())) < 1e-4
    assert np.max(np.abs(np.exp(t["conf_high"].to_numpy()) - a["rci_high_hr"].to_numpy())) < 1e-4
    assert res.stop_look == (int(a["final_stage"].iloc[0]) if res.crossed else None)
    ref_p = a["final_p"].dropna().to_numpy()
    assert abs(res.p_value - ref_p[0]) < 1e-5


# ---------------------------------------------------------------------------
# spending and integration, independently of rpact
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("spending", SPENDING)
@pytest.mark.parametrize("sided", [1, 2])
def test_spending_function_shape(spending, sided):
    t = np.linspace(0, 1, 101)
    a = spending_function(t, alpha=0.05, spending=spending, sided=sided, gamma=None)
    assert a[0] == 0 and a[-1] == pytest.approx(0.05, rel=1e-12)
    assert np.all(np.diff(a) >= 0)


def test_unknown_choices_list_the_valid_ones():
    with pytest.raises(ValueError, match="obrien-fleming"):
        gs_design([0.5, 1], spending="haybittle")
    with pytest.raises(ValueError, match="confidence-sequence"):
        sequential_test([0.1], [0.1], method="bayes", information_rates=[1])
    with pytest.raises(ValueError, match="two-sided"):
        sequential_test([0.1], [0.1], alternative="both", information_rates=[1])
    with pytest.raises(ValueError, match="strictly increasing"):
        gs_design([0.5, 0.4, 1])


def test_boundaries_hold_alpha_by_monte_carlo():
    # independent of the integration: Gaussian random walks in information time
    rng = np.random.default_rng(1)
    info = np.array([0.15, 0.3, 0.5, 0.75, 1.0])
    n = 400_000
    S = np.cumsum(rng.standard_normal((n, info.size)) * np.sqrt(np.diff(info, prepend=0)), 1)
    Z = S / np.sqrt(info)
    for spending in ("obrien-fleming", "pocock"):
        d = gs_design(info, alpha=0.05, sided=2, spending=spending)
        hit = (np.abs(Z) >= np.asarray(d.critical_values)).any(1).mean()
        assert abs(hit - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)
        pu, pl = crossing_probabilities(-np.asarray(d.critical_values), d.critical_values, info)
        np.testing.assert_allclose(np.cumsum(pu + pl), d.alpha_spent, atol=1e-10)
        # power under a drift: integration vs simulation
        theta = 2.5
        pu, _ = crossing_probabilities(-np.asarray(d.critical_values), d.critical_values, info,
                                       drift=theta)
        mc = ((Z + theta * np.sqrt(info)) >= np.asarray(d.critical_values)).any(1).mean()
        assert abs(pu.sum() - mc) < 4 * math.sqrt(mc * (1 - mc) / n) + 2e-3


def test_observed_information_recomputes_boundaries():
    planned = gs_design([0.25, 0.5, 0.75, 1.0], alpha=0.05, sided=2)
    same = gs_observed([25.0, 50.0, 75.0, 100.0], max_information=100.0, alpha=0.05, sided=2)
    np.testing.assert_allclose(same.critical_values, planned.critical_values, atol=1e-9)
    # fewer, unequally spaced looks than planned; the final one spends what is left
    obs = gs_observed([31.0, 58.0, 93.0], max_information=100.0, final=True, alpha=0.05)
    assert obs.alpha_spent[-1] == pytest.approx(0.05, abs=1e-10)
    assert obs.information_rates == pytest.approx((0.31, 0.58, 1.0))
    ref = gs_design([0.31, 0.58, 1.0], information=[31.0, 58.0, 93.0], alpha=0.05)
    np.testing.assert_allclose(obs.critical_values, ref.critical_values, atol=1e-12)
    # information beyond the planned maximum: nothing left to spend after t = 1
    over = gs_observed([60.0, 110.0, 130.0], max_information=100.0, alpha=0.05)
    assert over.alpha_spent[1] == pytest.approx(0.05, abs=1e-10)
    assert math.isinf(over.critical_values[2])


def test_design_result_object():
    d = gs_design([0.5, 1.0], alpha=0.025, sided=1, spending="pocock")
    t = d.tidy()
    assert list(t["look"]) == [1, 2] and t["alpha_increment"].sum() == pytest.approx(0.025)
    dd = d.to_dict()
    assert dd["rpact_type"] == "asP" and "Pocock" in d.summary()
    with pytest.raises(AttributeError):
        d.alpha = 0.1  # frozen


# ---------------------------------------------------------------------------
# confidence sequences
# ---------------------------------------------------------------------------


def _mixture(s, info, rho, one_sided):
    """The mixture martingale by quadrature (independent of the closed form)."""
    dens = (lambda lam: 2 * stats.norm.pdf(lam, scale=1 / math.sqrt(rho))) if one_sided else \
        (lambda lam: stats.norm.pdf(lam, scale=1 / math.sqrt(rho)))
    lo = 0.0 if one_sided else -np.inf
    return integrate.quad(lambda lam: math.exp(lam * s - lam**2 * info / 2) * dens(lam), lo,
                          np.inf, limit=200)[0]


@pytest.mark.parametrize("one_sided", [False, True])
def test_cs_radius_solves_the_mixture_martingale(one_sided):
    rho, alpha = 30.0, 0.05
    for info in (5.0, 50.0, 400.0):
        s = optimize.brentq(lambda s, i=info: _mixture(s, i, rho, one_sided) - 1 / alpha, 0,
                            10 * math.sqrt(info + rho), xtol=1e-12)
        r = cs_radius([info], rho=rho, alpha=alpha, sided=1 if one_sided else 2)[0]
        assert r == pytest.approx(s / info, rel=1e-7)


def test_cs_mixing_is_tightest_near_the_horizon():
    horizon = 600.0
    rho = cs_mixing(horizon, alpha=0.05)
    grid = np.geomspace(rho / 20, rho * 20, 400)
    radii = np.array([cs_radius([horizon], rho=g)[0] for g in grid])
    assert cs_radius([horizon], rho=rho)[0] <= radii.min() * 1.01


def test_confidence_sequence_covers_uniformly_over_many_looks():
    # a Gaussian random walk observed at 500 looks: the CS must contain theta at all of them
    rng = np.random.default_rng(7)
    n, K = 20_000, 500
    info = np.arange(1, K + 1, dtype=float)
    S = np.cumsum(rng.standard_normal((n, K)), axis=1)
    est = S / info  # theta = 0, SE = 1 / sqrt(I)
    r = cs_radius(info, rho=cs_mixing(K, alpha=0.05))
    miss = (np.abs(est) >= r).any(1).mean()
    assert miss <= 0.05 + 2.6 * math.sqrt(0.05 * 0.95 / n)
    # while pointwise 95 % intervals are crossed far more often
    assert (np.abs(est) >= 1.96 / np.sqrt(info)).any(1).mean() > 0.3
    cs = confidence_sequence(est[0], 1 / np.sqrt(info), horizon_information=K)
    assert np.all(np.asarray(cs.running_high) <= np.asarray(cs.conf_high) + 1e-15)


# ---------------------------------------------------------------------------
# sequential_test
# ---------------------------------------------------------------------------


def test_sequential_test_crossing_and_flags():
    se = 1 / np.sqrt(np.array([20.0, 40.0, 60.0, 80.0]))
    est = np.array([-0.1, -0.45, -0.5, -0.5])
    res = sequential_test(est, se, method="pocock", alternative="less",
                          information_rates=[0.25, 0.5, 0.75, 1.0], labels=list("abcd"))
    t = res.tidy()
    c = np.asarray(res.design.critical_values)
    expected = int(np.argmax(est / se <= -c)) + 1
    assert res.crossed and res.stop_look == expected
    assert list(t["after_stop"]) == [k > expected for k in range(1, 5)]
    assert res.decision.startswith("Yes") and "look" in res.decision
    np.testing.assert_allclose(t["boundary_low"], -c * se)
    assert np.isnan(t["boundary_high"]).all()
    assert 0 < res.p_value < 0.05
    none = sequential_test(est / 10, se, method="obrien-fleming",
                           information_rates=[0.25, 0.5, 0.75, 1.0])
    assert not none.crossed and none.stop_look is None and np.isnan(none.p_value)
    assert none.decision.startswith("No")


def test_sequential_test_t_reference_widens():
    se = np.array([0.2, 0.14, 0.11])
    est = np.array([0.1, 0.2, 0.25])
    z = sequential_test(est, se, information_rates=[1 / 3, 2 / 3, 1])
    tt = sequential_test(est, se, information_rates=[1 / 3, 2 / 3, 1], df=8)
    zi = sequential_test(est, se, information_rates=[1 / 3, 2 / 3, 1], df=np.inf)
    pd.testing.assert_frame_equal(z.tidy(), zi.tidy())
    assert np.all(tt.tidy()["boundary_high"] > z.tidy()["boundary_high"])
    assert np.all(np.abs(tt.tidy()["z_normal"]) < np.abs(z.tidy()["z_normal"]))


def test_sequential_test_confidence_sequence():
    se = 1 / np.sqrt(np.arange(1, 11) * 50.0)
    est = np.full(10, -0.3)
    with pytest.raises(ValueError, match="horizon_information"):
        sequential_test(est, se, method="confidence-sequence")
    res = sequential_test(est, se, method="confidence-sequence", horizon_information=500.0)
    cs = confidence_sequence(est, se, horizon_information=500.0)
    np.testing.assert_allclose(res.tidy()["conf_high"], cs.conf_high)
    first = int(np.argmax(np.asarray(cs.conf_high) < 0)) + 1
    assert res.stop_look == first and np.isnan(res.p_value)


# ---------------------------------------------------------------------------
# interim estimates
# ---------------------------------------------------------------------------


def _panel(H=30, D=63, K=15, seed=3):
    rng = np.random.default_rng(seed)
    keys = rng.random((D, H))
    Z = (keys.argsort(1).argsort(1) < K).astype(int).T
    lam = rng.gamma(2.0, 0.15, H)
    Y = rng.poisson(lam[:, None] * rng.gamma(2, 0.5, (H, D)) * np.where(Z == 1, 0.8, 1.0))
    return pd.DataFrame({
        "hotspot_id": np.repeat([f"h{i:02d}" for i in range(H)], D),
        "trial_date": np.tile(pd.date_range("2024-03-01", periods=D).date, H),
        "tasked": Z.ravel(), "crimes": Y.ravel()})


def test_stratified_estimator_equals_the_library_estimator():
    p = _panel()
    y1 = p.assign(v=p.crimes * p.tasked).groupby("hotspot_id")["v"].sum().to_numpy()
    y0 = p.assign(v=p.crimes * (1 - p.tasked)).groupby("hotspot_id")["v"].sum().to_numpy()
    t1 = p.groupby("hotspot_id")["tasked"].sum().to_numpy()
    t0 = p.groupby("hotspot_id").size().to_numpy() - t1
    fit = stratified_log_rr(y1, y0, t1, t0, se="cluster")
    cp = ConditionalPoissonLogRR(p["hotspot_id"])(p["tasked"].to_numpy(float)[None, :],
                                                  p["crimes"].to_numpy(float))[0]
    u = pd.factorize(p["hotspot_id"], sort=True)[0]
    pp = ppml_fe(p["crimes"].to_numpy(float), p[["tasked"]].to_numpy(float), u,
                 np.zeros(len(p), dtype=np.int64), vcov="CR1")  # the classic cluster sandwich
    assert float(fit.log_rr) == pytest.approx(cp, abs=1e-9)
    assert float(fit.log_rr) == pytest.approx(pp.params[0], abs=1e-8)
    assert float(fit.std_error) == pytest.approx(math.sqrt(pp.cov[0, 0]), rel=1e-6)
    # the plan's two-way fixed-effects Poisson differs only by the day effects
    two = crossover_poisson(p)
    assert abs(float(fit.log_rr) - two.details["log_irr"]) < 0.5 * two.effect.std_error
    # CR2 is at least as large as CR1 x (G-1)/G; df within [1, G-1]
    cr2 = stratified_log_rr(y1, y0, t1, t0)
    assert cr2.std_error ** 2 >= fit.std_error ** 2 * (len(y1) - 1) / len(y1)
    assert 1 <= cr2.df <= len(y1) - 1


def test_interim_estimates_use_the_data_up_to_each_look():
    p = _panel()
    ie = interim_estimates(p)
    assert len(ie.estimates) == 9 and ie.days == tuple(range(7, 64, 7))
    d = pd.to_datetime(p["trial_date"])
    for k in (0, 4, 8):
        cut = pd.Timestamp(ie.look_dates[k])
        sub = p[d <= cut]
        g = sub.groupby("hotspot_id")
        fit = stratified_log_rr(g[["crimes", "tasked"]].apply(lambda x: (x.crimes * x.tasked).sum()).to_numpy(),
                                g[["crimes", "tasked"]].apply(lambda x: (x.crimes * (1 - x.tasked)).sum()).to_numpy(),
                                g["tasked"].sum().to_numpy(),
                                (1 - sub["tasked"]).groupby(sub["hotspot_id"]).sum().to_numpy())
        assert ie.estimates[k] == pytest.approx(float(fit.log_rr), abs=1e-10)
        assert ie.std_errors[k] == pytest.approx(float(fit.std_error), abs=1e-10)
        assert ie.hotspot_days[k] == len(sub) and ie.events[k] == sub["crimes"].sum()
    pp = interim_estimates(p, estimator="panel-poisson", looks=[ie.look_dates[3]])
    sub = p[d <= pd.Timestamp(ie.look_dates[3])]
    ref = crossover_poisson(sub)
    assert pp.estimates[0] == pytest.approx(ref.details["log_irr"], abs=1e-10)
    assert pp.std_errors[0] == pytest.approx(ref.effect.std_error, abs=1e-10)
    seq = ie.sequential(method="obrien-fleming", information_rates=np.arange(1, 10) / 9,
                        alternative="less")
    assert seq.tidy()["label"].iloc[-1] == str(ie.look_dates[-1])
    assert len(ie.tidy()) == 9 and ie.tidy()["df"].between(1, 29).all()
    with pytest.raises(ValueError, match="conditional-poisson"):
        interim_estimates(p, estimator="glm")


# ---------------------------------------------------------------------------
# calibration by simulation
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_sequential_calibration_thames_valley():
    """Under no effect, weekly looks over a year (45 hot spots, 22 tasked a day, ~0.2
    crimes per hot-spot-day, NB overdispersion, hot-spot heterogeneity) keep P(ever
    crossing) <= alpha + 2.6 MC SE for each method; the naive weekly 5 % test does not.
    Also the 20-hot-spot, 13-week setting.  The table in docs/sequential.md comes from
    ``python -m tests.evaluate._sequential_sim`` (more simulations)."""
    from tests.evaluate._sequential_sim import World, calibrate

    for world, sims, obs in ((World(), 2000, 150), (World(hotspots=20, per_day=8, weeks=13),
                                                    2000, 300)):
        rows = {r["method"]: r for r in calibrate(world, sims, seed=2024, observed_sims=obs)}
        for m, r in rows.items():
            band = 0.05 + 2.6 * math.sqrt(0.05 * 0.95 / r["sims"])
            if m == "naive":
                assert r["size"] > band + 0.05, (world, r)
            else:
                assert r["size"] <= band, (world, m, r)
        for m in ("obrien-fleming", "pocock"):  # group-sequential: not wastefully conservative
            assert rows[m]["size"] >= 0.05 - 2.6 * math.sqrt(0.05 * 0.95 / sims), (world, m)
        assert rows["confidence-sequence"]["size"] < rows["obrien-fleming"]["size"]
        if world.hotspots == 45:
            assert rows["obrien-fleming"]["power"] > 0.8
            assert rows["obrien-fleming"]["expected_stop_week"] < world.weeks


def test_sequential_plot_says_whether_a_boundary_was_crossed():
    from rct.reports.figures import feedback_plot, sequential_plot

    se = 1 / np.sqrt(np.arange(1, 9) * 40.0)
    est = np.array([0.3, -0.1, -0.3, -0.35, -0.3, -0.32, -0.3, -0.31])
    res = sequential_test(est, se, information_rates=np.arange(1, 9) / 8, labels=[
        f"week {k}" for k in range(1, 9)])
    fig = sequential_plot(res.tidy())
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == f"Boundary crossed at look {res.stop_look} (week {res.stop_look})"
    none = sequential_test(est / 20, se, information_rates=np.arange(1, 9) / 8)
    assert sequential_plot(none.tidy()).axes[0].get_title() == "No boundary crossed"
    from rct.evaluate.feedback import hotspot_feedback

    fb = hotspot_feedback(_panel(), weeks=2)
    assert "not a test" in feedback_plot(fb.tidy()).axes[0].get_xlabel()


def test_expected_information_matches_simulation():
    from rct.evaluate.interim import expected_information
    from tests.evaluate._sequential_sim import World, weekly_sums

    w = World(hotspots=30, per_day=15, weeks=26)
    d = weekly_sums(w, 800, np.random.default_rng(11))
    fit = stratified_log_rr(d["y1"][:, -1], d["y0"][:, -1], d["t1"][:, -1], d["t0"][:, -1])
    sim = 1 / np.nanvar(fit.log_rr)  # SE of this ~ 5 %
    plan = expected_information(hotspots=30, per_day=15, days=7 * 26, rate=0.2, rate_cv=1.0,
                                inv_kappa=1.0)
    assert plan == pytest.approx(sim, rel=0.15)
    with pytest.raises(ValueError, match="per_day"):
        expected_information(hotspots=10, per_day=10, days=5, rate=0.2)


def test_interim_partial_last_look():
    p = _panel(D=66)  # 9 complete weeks and 3 days
    assert len(interim_estimates(p).estimates) == 9
    ie = interim_estimates(p, partial=True)
    assert len(ie.estimates) == 10 and ie.days[-1] == 66 and ie.hotspot_days[-1] == len(p)
