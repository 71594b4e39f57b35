"""rct.evaluate.meta: meta-analysis of trials against metafor, by simulation, and `rct meta`.

The R reference is tests/reference/evaluate/metafor_meta.R (metafor 3.8-1; its output
metafor_meta.json, the data sets metafor_*.csv).  For every data set and fit the JSON
records the R call, e.g. ``rma(yi, vi, method = "REML", test = "knha", level = 95)``,
followed by ``predict(fit)`` (pi.lb, pi.ub) and ``weights(fit)``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rct.cli import main
from rct.errors import DataError
from rct.evaluate.meta import (
    MetaAnalysisWarning,
    _fit,
    effects_from_counts,
    effects_from_results,
    meta_analysis,
)
from rct.evaluate.results import Estimate, EvaluationResults, Term

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate"
R = json.loads((REF / "metafor_meta.json").read_text())
FITS = [(name, fit) for name in R["datasets"] for fit in R["datasets"][name]["fits"]]
TOL = 1e-9  # the brief asks for 1e-6; the implementation follows metafor's iterations exactly

# R field -> (where in our Estimate)
FIELDS = {
    "beta": lambda e: e.effect.estimate, "se": lambda e: e.effect.std_error,
    "zval": lambda e: e.effect.statistic, "pval": lambda e: e.effect.p_value,
    "ci_lb": lambda e: e.effect.conf_low, "ci_ub": lambda e: e.effect.conf_high,
    "tau2": lambda e: e.details["tau2"], "se_tau2": lambda e: e.details["se_tau2"],
    "I2": lambda e: e.details["I2"], "H2": lambda e: e.details["H2"],
    "QE": lambda e: e.details["Q"], "QEp": lambda e: e.details["Q_p"],
    "s2w": lambda e: e.details["knha_scale"], "pi_lb": lambda e: e.details["pi_low"],
    "pi_ub": lambda e: e.details["pi_high"],
}


def _table(name: str) -> pd.DataFrame:
    d = R["datasets"][name]
    return pd.DataFrame({"label": d["label"], "yi": d["yi"], "vi": d["vi"]})


def _run(name: str, r: dict) -> Estimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaAnalysisWarning)  # FE + knha, as metafor warns
        return meta_analysis(_table(name), method=r["method"], knha=r["test"] == "knha",
                             alpha=1 - r["level"] / 100, threshold=r.get("threshold", 1e-5),
                             max_iter=r["maxiter"], step_adjust=r.get("stepadj", 1.0))


# -- metafor::rma ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fit"), FITS)
def test_matches_metafor(name, fit):
    r = R["datasets"][name]["fits"][fit]
    if "error" in r:
        # metafor: r$call (default maxiter = 100) stops with "Fisher scoring algorithm did
        # not converge"; so must we
        with pytest.raises(DataError, match="did not converge"):
            _run(name, r)
        return
    est = _run(name, r)
    diffs = {}
    for key, get in FIELDS.items():
        if r.get(key) is None:  # FE: no se.tau2, and predict() gives no PI
            continue
        diffs[key] = abs(get(est) - r[key])
    # metafor: weights(fit) (percent)
    diffs["weights"] = float(np.max(np.abs(np.array(list(est.details["weights"].values()))
                                           - np.array(r["weights"]))))
    worst = max(diffs, key=diffs.get)
    assert diffs[worst] < TOL, (r["call"], worst, diffs[worst])


def test_fe_prediction_interval_is_the_confidence_interval():
    # metafor: predict(rma(yi, vi, method = "FE")) has no pi.lb / pi.ub: tau^2 = 0, so our
    # PI is the CI (R's ci.lb, ci.ub)
    r = R["datasets"]["bcg"]["fits"]["FE_z"]
    est = _run("bcg", r)
    assert est.details["pi_low"] == pytest.approx(r["ci_lb"], abs=TOL)
    assert est.details["pi_high"] == pytest.approx(r["ci_ub"], abs=TOL)


def test_zero_tau_set_truncates_at_zero():
    # metafor: rma(yi, vi, method = "DL") and "REML" on metafor_zero_tau.csv: tau^2 = 0,
    # Q = 0.1612 on 4 df, I^2 = 0, H^2 = 1; the pooled effect equals the FE one
    for m in ("DL", "REML"):
        r = R["datasets"]["zero_tau"]["fits"][f"{m}_z"]
        assert r["tau2"] == 0 and r["I2"] == 0
        est = meta_analysis(_table("zero_tau"), method=m)
        assert est.details["tau2"] == 0.0 and est.details["I2"] == 0.0
        assert est.details["H2"] == 1.0
        fe = meta_analysis(_table("zero_tau"), method="FE")
        assert est.effect.estimate == pytest.approx(fe.effect.estimate, abs=1e-15)


def test_slow_reml_needs_more_iterations_as_in_metafor():
    # metafor: rma(yi, vi) fails at maxiter = 100; control = list(maxiter = 1000) gives
    # tau^2 = 0.00821108450359979; control = list(stepadj = 0.5) gives 0.00820634265464707
    fits = R["datasets"]["slow_reml"]["fits"]
    with pytest.raises(DataError, match="step_adjust=0.5"):
        meta_analysis(_table("slow_reml"))
    est = meta_analysis(_table("slow_reml"), max_iter=1000)
    assert est.details["tau2"] == pytest.approx(fits["REML_z_maxiter1000"]["tau2"], abs=TOL)
    assert est.details["iterations"] > 100
    est = meta_analysis(_table("slow_reml"), step_adjust=0.5)
    assert est.details["tau2"] == pytest.approx(fits["REML_z_stepadj0.5"]["tau2"], abs=TOL)


def test_effect_sizes_match_escalc():
    # metafor: escalc(measure = "IRR", x1i, t1i, x2i, t2i) on metafor_hotspot.csv
    hot = pd.read_csv(REF / "metafor_hotspot.csv")
    got = effects_from_counts(hot.drop(columns=["yi", "vi"]))
    assert np.max(np.abs(got["yi"] - hot["yi"])) < 1e-12
    assert np.max(np.abs(got["vi"] - hot["vi"])) < 1e-12
    # the data set fed to the fits is escalc's; the count table pools identically
    r = R["datasets"]["hotspot"]["fits"]["REML_knha"]
    est = meta_analysis(hot.drop(columns=["yi", "vi"]), knha=True)
    assert est.effect.estimate == pytest.approx(r["beta"], abs=TOL)
    # metafor: escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, dat.bcg)
    bcg = pd.read_csv(REF / "metafor_bcg.csv")
    a, b, c, d = (bcg[x].to_numpy(float) for x in ("tpos", "tneg", "cpos", "cneg"))
    assert np.max(np.abs(np.log(a / (a + b)) - np.log(c / (c + d)) - bcg["yi"])) < 1e-12
    assert np.max(np.abs(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d) - bcg["vi"])) < 1e-12


def test_zero_counts_need_a_correction_as_escalc():
    df = pd.DataFrame({"events_treated": [0, 12], "exposure_treated": [100, 100],
                       "events_control": [5, 20], "exposure_control": [100, 120]})
    with pytest.raises(DataError, match="row 1.*correction=0.5"):
        effects_from_counts(df)
    got = effects_from_counts(df, correction=0.5)
    # escalc(measure = "IRR", add = 1/2, to = "only0"): 0.5 added to row 1 only
    assert got["yi"].iloc[0] == pytest.approx(math.log(0.5 / 100) - math.log(5.5 / 100))
    assert got["vi"].iloc[0] == pytest.approx(1 / 0.5 + 1 / 5.5)
    assert got["yi"].iloc[1] == pytest.approx(math.log(12 / 100) - math.log(20 / 120))


def test_rirr_counts_reuse_wilsons_estimator():
    from rct.evaluate.prepost import rirr

    df = pd.DataFrame({"label": ["A", "B"], "treated_pre": [88, 207], "treated_post": [63, 110],
                       "control_pre": [64, 308], "control_post": [74, 318],
                       "dispersion": [1.0, 2.0]})
    got = effects_from_counts(df)
    one = rirr((207, 110), (308, 318), dispersion=2.0).term("log RIRR")
    assert got["yi"].iloc[1] == one.estimate and got["vi"].iloc[1] == one.std_error**2
    assert got["yi"].iloc[0] == pytest.approx(math.log((63 / 88) / (74 / 64)), rel=1e-14)
    assert got["vi"].iloc[0] == pytest.approx(1 / 88 + 1 / 63 + 1 / 64 + 1 / 74, rel=1e-14)


# -- the result object ------------------------------------------------------------------


def test_estimate_shape_and_details():
    est = meta_analysis(_table("hotspot"), knha=True)
    assert isinstance(est, Estimate) and est.n == 8
    pooled, ratio = est.terms
    assert (pooled.term, pooled.scale, ratio.term, ratio.scale) == (
        "pooled", "log_ratio", "pooled ratio", "ratio")
    assert ratio.estimate == pytest.approx(math.exp(pooled.estimate))
    assert ratio.conf_low == pytest.approx(math.exp(pooled.conf_low))
    d = est.details
    for key in ("tau2", "I2", "H2", "Q", "Q_df", "Q_p", "pi_low", "pi_high", "k", "weights",
                "pi_low_ratio", "pi_high_ratio", "studies"):
        assert key in d
    assert d["Q_df"] == 7 and d["df"] == 7
    assert sum(d["weights"].values()) == pytest.approx(100)
    assert d["pi_low_ratio"] == pytest.approx(math.exp(d["pi_low"]))
    with pytest.raises(TypeError):
        d["tau2"] = 0  # read-only
    text = json.dumps(est.to_dict(), allow_nan=False)  # JSON-safe (NaN -> null)
    assert '"pooled ratio"' in text
    assert set(est.tidy()["term"]) == {"pooled", "pooled ratio"}


def test_difference_scale_has_no_ratio_term():
    est = meta_analysis(_table("zero_tau"), scale="difference")
    assert [t.term for t in est.terms] == ["pooled"] and est.effect.scale == "difference"
    assert "pi_low_ratio" not in est.details


def test_sei_column_and_consistency_check():
    t = _table("bcg")
    a = meta_analysis(t)
    b = meta_analysis(t.assign(sei=np.sqrt(t["vi"])).drop(columns="vi"))
    assert a.effect.estimate == pytest.approx(b.effect.estimate, rel=1e-14)
    with pytest.raises(DataError, match="row 2.*sei"):
        meta_analysis(t.assign(sei=np.sqrt(t["vi"]) * np.r_[1, 2, np.ones(11)]))


def test_batch_fit_equals_one_at_a_time():
    rng = np.random.default_rng(7)
    v = rng.uniform(0.01, 0.08, (6, 9))
    y = rng.normal(-0.1, np.sqrt(v + 0.03))
    f = _fit(y, v, method="REML", knha=True, alpha=0.05, max_iter=1000)
    for i in range(6):
        one = meta_analysis(pd.DataFrame({"yi": y[i], "vi": v[i]}), knha=True, max_iter=1000)
        assert one.effect.estimate == pytest.approx(f["estimate"][i], abs=1e-14)
        assert one.details["tau2"] == pytest.approx(f["tau2"][i], abs=1e-14)
        assert one.details["pi_high"] == pytest.approx(f["pi_high"][i], abs=1e-14)


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value", "pattern"), [
    ("vi", 0.0, r"row 3, column 'vi', value 0.0: value must be a positive"),
    ("vi", -0.2, r"row 3, column 'vi', value -0.2"),
    ("vi", np.inf, r"row 3, column 'vi', value inf"),
    ("yi", np.nan, r"row 3, column 'yi', value nan: value must be a finite"),
])
def test_bad_values_name_row_and_value(column, value, pattern):
    t = _table("zero_tau")
    t.loc[2, column] = value
    with pytest.raises(DataError, match=pattern):
        meta_analysis(t)


def test_fewer_than_two_studies_and_bad_choices():
    with pytest.raises(DataError, match="at least 2 studies; got 1"):
        meta_analysis(_table("zero_tau").head(1))
    with pytest.raises(ValueError, match="'REML', 'DL', 'FE'"):
        meta_analysis(_table("zero_tau"), method="PM")
    with pytest.raises(ValueError, match="'log_ratio', 'difference'"):
        meta_analysis(_table("zero_tau"), scale="odds")
    with pytest.raises(DataError, match="row 2, column 'label'.*duplicate study label"):
        meta_analysis(_table("zero_tau").assign(label="same"))
    with pytest.raises(DataError, match="'vi'.*'sei'"):
        meta_analysis(_table("zero_tau").drop(columns="vi"))
    with pytest.warns(MetaAnalysisWarning, match="Knapp-Hartung"):
        meta_analysis(_table("zero_tau"), method="FE", knha=True)


# -- results.json inputs -----------------------------------------------------------------


def _trial(name: str, log_irr: float, se: float, *, ri: bool = True) -> dict:
    """A results.json as `rct evaluate` writes it (crossover: FE OLS, Poisson IRR, RI)."""
    poisson = Estimate("crimes", "crossover Poisson, hot-spot + day fixed effects, IRR",
                       (Term("tasked", math.exp(log_irr), se, log_irr / se, 0.1,
                             math.exp(log_irr - 2.01 * se), math.exp(log_irr + 2.01 * se),
                             scale="ratio"),),
                       n=900, details={"std_error_scale": "log IRR", "clusters": 45})
    ols = Estimate("crimes", "crossover OLS", (Term("tasked", -0.02, 0.03, scale="difference"),),
                   n=900)
    ests = [ols]
    if ri:
        ests.append(Estimate("crimes", "randomisation inference: conditional Poisson rate ratio",
                             (Term("tasked", 0.5, math.nan, math.nan, 0.2, 0.4, 0.6,
                                   scale="ratio"),), n=900))
    ests.append(poisson)
    ests.append(Estimate("harm", "crossover Poisson", (Term("tasked", 0.7, 0.1, 1, 0.1,
                                                             0.6, 0.8, scale="ratio"),), n=900,
                         details={"std_error_scale": "log IRR"}))
    res = EvaluationResults(tuple(ests), primary="crimes", meta={"trial": name})
    return res.to_dict()


def test_results_json_picks_the_primary_model_based_rate_ratio(tmp_path):
    a, b = _trial("Trial A", -0.10, 0.08), _trial("Trial B", -0.30, 0.12)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(b))
    tab = effects_from_results([a, str(path)])
    assert list(tab["label"]) == ["Trial A", "Trial B"]  # meta.trial wins over the file name
    assert tab["yi"].tolist() == pytest.approx([-0.10, -0.30], abs=1e-15)
    assert tab["vi"].tolist() == pytest.approx([0.08**2, 0.12**2], rel=1e-14)
    assert (tab["method"].str.startswith("crossover Poisson")).all()
    assert tab["source"].iloc[0] == "log-scale SE stated in the results"
    est = meta_analysis([a, str(path)], method="FE")
    assert est.outcome == "crimes"
    w = np.array([1 / 0.08**2, 1 / 0.12**2])
    assert est.effect.estimate == pytest.approx((w * [-0.1, -0.3]).sum() / w.sum(), rel=1e-13)


def test_results_json_ci_fallback_and_estimator_choice():
    a, b = _trial("A", -0.1, 0.08), _trial("B", -0.3, 0.12)
    tab = effects_from_results([a, b], estimator="randomisation")
    # from the CI 0.4 to 0.6 on the log scale, normal approximation
    se = (math.log(0.6) - math.log(0.4)) / (2 * 1.959963984540054)
    assert tab["vi"].tolist() == pytest.approx([se**2, se**2], rel=1e-12)
    assert tab["yi"].tolist() == pytest.approx([math.log(0.5)] * 2)
    assert tab["source"].iloc[0].startswith("SE from the 95% CI")
    tab = effects_from_results([a, b], outcome="harm")
    assert tab["yi"].tolist() == pytest.approx([math.log(0.7)] * 2)
    with pytest.raises(DataError, match="no rate-ratio estimate.*'nope'"):
        effects_from_results([a], outcome="nope")


def test_results_from_real_count_model_estimate():
    """count_model's IRR term has a delta-method SE; the log-IRR term is used."""
    from rct.evaluate.counts import count_model

    rng = np.random.default_rng(3)
    out = []
    for _ in range(3):
        z = np.repeat([0, 1], 20)
        y = rng.poisson(np.where(z == 1, 2.0, 2.6))
        e = count_model(pd.DataFrame({"arm": z, "crimes": y}), outcome="crimes",
                        family="quasipoisson")
        out.append(e)
    tab = effects_from_results(out)
    for e, (yi, vi) in zip(out, tab[["yi", "vi"]].to_numpy(), strict=True):
        log_term = e.terms[1]
        assert log_term.scale == "log_ratio"
        assert yi == pytest.approx(log_term.estimate) and vi == pytest.approx(log_term.std_error**2)


def test_results_from_real_crossover_poisson_estimate():
    """crossover_poisson states its SE on the log scale; its t CI gives the same SE."""
    from scipy import stats

    from rct.evaluate.crossover import crossover_poisson

    rng = np.random.default_rng(11)
    n, days = 20, 30
    hs = np.repeat(np.arange(n), days)
    day = np.tile(np.arange(days), n)
    tasked = (rng.random(n * days) < 0.5).astype(int)
    crimes = rng.poisson(0.4 * np.where(tasked == 1, 0.8, 1.0))
    panel = pd.DataFrame({"hotspot_id": hs, "trial_date": day, "tasked": tasked,
                          "crimes": crimes})
    e = crossover_poisson(panel, outcome="crimes")
    res = EvaluationResults((e,), primary="crimes", meta={"trial": "sim"}).to_dict()
    tab = effects_from_results([res, res])
    t = e.effect
    assert tab["yi"].iloc[0] == pytest.approx(math.log(t.estimate), abs=1e-14)
    assert tab["vi"].iloc[0] == pytest.approx(t.std_error**2, rel=1e-14)
    q = stats.t.ppf(0.975, e.details["df"])  # CR2's Satterthwaite df
    assert math.sqrt(tab["vi"].iloc[0]) == pytest.approx(
        (math.log(t.conf_high) - math.log(t.conf_low)) / (2 * q), rel=1e-10)
    assert list(tab["label"]) == ["sim", "sim (2)"]


# -- simulation: interval coverage -------------------------------------------------------


def test_reml_knha_coverage_is_near_nominal():
    """REML + Knapp-Hartung: 95 % intervals cover the true pooled log IRR about 95 % of the
    time for 5, 10 and 20 trials with tau^2 = 0, 0.0225 (tau 0.15) and 0.09 (tau 0.3);
    within-trial variances 0.005-0.06 (hot-spot-like log IRRs).  3,000 meta-analyses per
    cell (Monte Carlo SE 0.004); tolerance 0.02.  The plain z-based REML interval
    undercovers with few heterogeneous trials (why knha matters)."""
    rng = np.random.default_rng(20250418)
    start = time.perf_counter()
    truth = math.log(0.85)
    for k in (5, 10, 20):
        for tau2 in (0.0, 0.0225, 0.09):
            v = rng.uniform(0.005, 0.06, (3000, k))
            y = truth + rng.normal(0.0, np.sqrt(v + tau2))
            # metafor's remedy for the oscillating Fisher scoring: stepadj = 0.5
            f = _fit(y, v, method="REML", knha=True, alpha=0.05, max_iter=1000, step_adjust=0.5)
            assert f["converged"].all()
            cover = np.mean((f["conf_low"] <= truth) & (truth <= f["conf_high"]))
            assert abs(cover - 0.95) < 0.02, (k, tau2, cover)
            if k == 5 and tau2 == 0.09:
                z = _fit(y, v, method="REML", knha=False, alpha=0.05, max_iter=1000,
                         step_adjust=0.5)
                z_cover = np.mean((z["conf_low"] <= truth) & (truth <= z["conf_high"]))
                assert z_cover < 0.91 < cover, (z_cover, cover)
    assert time.perf_counter() - start < 20


# -- figure ------------------------------------------------------------------------------


def test_forest_plot(tmp_path):
    from rct.reports.figures import meta_forest_plot, save_figure

    est = meta_analysis(_table("hotspot"), knha=True)
    fig = meta_forest_plot(est)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels and "0.5" in labels and "1.5" in labels
    assert [t.get_text() for t in ax.get_yticklabels()][-2:] == ["Pooled", "Prediction interval"]
    squares = ax.collections[1]
    sizes = squares.get_sizes()
    w = np.array(list(est.details["weights"].values()))
    assert np.argmax(sizes) == np.argmax(w) and len(sizes) == 8
    out = save_figure(meta_forest_plot(est.to_dict()), tmp_path / "f.png")
    assert out.stat().st_size > 10_000


# -- command line ------------------------------------------------------------------------


def test_cli_meta_prints_and_writes(tmp_path, capsys):
    table = tmp_path / "trials.csv"
    pd.read_csv(REF / "metafor_hotspot.csv").drop(columns=["yi", "vi"]).to_csv(table, index=False)
    out, plot = tmp_path / "pooled.json", tmp_path / "forest.png"
    args = ["meta", str(table), "--knha", "--out", str(out), "--plot", str(plot)]
    assert main(args) == 0
    text = capsys.readouterr().out
    r = R["datasets"]["hotspot"]["fits"]["REML_knha"]
    # metafor: exp(beta), exp(ci.lb), exp(ci.ub), I2, QE, predict()'s pi.lb / pi.ub
    pooled = next(line for line in text.splitlines() if line.strip().startswith("pooled"))
    assert pooled.split()[1:5] == [f"{math.exp(r[c]):.2f}" for c in ("beta",)] + [
        f"{math.exp(r['ci_lb']):.2f}", "to", f"{math.exp(r['ci_ub']):.2f}"]
    assert f"I^2 = {r['I2']:.1f}%" in text and f"Q = {r['QE']:.2f} on 7 df" in text
    assert (f"Prediction interval {math.exp(r['pi_lb']):.2f} to {math.exp(r['pi_ub']):.2f}"
            in text)
    assert "trial H" in text
    saved = json.loads(out.read_text())
    assert saved["details"]["tau2"] == pytest.approx(r["tau2"], abs=TOL)
    assert plot.stat().st_size > 10_000
    # refuses to overwrite without --force; nothing is rewritten
    before = out.stat().st_mtime_ns
    assert main(args) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == before
    assert main([*args, "--force", "--method", "DL"]) == 0
    saved = json.loads(out.read_text())
    assert saved["details"]["tau2"] == pytest.approx(
        R["datasets"]["hotspot"]["fits"]["DL_knha"]["tau2"], abs=TOL)


def test_cli_meta_errors_are_one_line(tmp_path, capsys):
    t = _table("zero_tau")
    t.loc[3, "vi"] = -1
    table = tmp_path / "bad.csv"
    t.to_csv(table, index=False)
    assert main(["meta", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rct: error:") and "row 4" in err and "'vi'" in err
    assert main(["meta", str(tmp_path / "one.json")]) == 2


def test_cli_meta_results_files(tmp_path, capsys):
    paths = []
    for name, b, s in (("A", -0.1, 0.08), ("B", -0.3, 0.12), ("C", 0.05, 0.1)):
        p = tmp_path / name / "results.json"
        p.parent.mkdir()
        p.write_text(json.dumps(_trial(f"Trial {name}", b, s)))
        paths.append(str(p))
    assert main(["meta", *paths, "--method", "FE"]) == 0
    out = capsys.readouterr().out
    assert "Trial A" in out and "Trial C" in out and "3 trials" in out


def test_cli_meta_help_is_fast_and_has_an_example():
    code = ("import sys, time; t = time.perf_counter(); from rct.cli import main; "
            "main(['meta', '--help']); print('T=%.3f' % (time.perf_counter() - t)); "
            "print('HEAVY=' + ','.join(m for m in ('pandas', 'numpy', 'scipy', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "Example (trials.csv):" in out and "rct meta trials.csv --method REML --knha" in out
    assert "HEAVY=\n" in out or out.rstrip().endswith("HEAVY=")
