"""Count models against R glm / sandwich / MASS::glm.nb; size by simulation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rct.errors import DataError, RCTWarning
from rct.evaluate._prep import EstimatorWarning
from rct.evaluate.counts import count_model

from ._ref import dataset, reference


@pytest.fixture(scope="module")
def cnt() -> pd.DataFrame:
    return dataset("counts")


def _fit(cnt, **kw):
    return count_model(cnt, outcome="y", treatment="z", baseline="baseline", blocks="block", **kw)


def test_poisson_robust_matches_sandwich(cnt):
    ref = reference()["counts"]
    # R: pois <- glm(y ~ z + log1p(baseline) + factor(block), family = poisson); vcovHC(pois, type = "HC0")
    e0 = _fit(cnt, family="poisson", robust="HC0").term("treatment (log IRR)")
    assert e0.estimate == pytest.approx(ref["poisson_hc0"]["estimate"], rel=1e-7)
    assert e0.std_error == pytest.approx(ref["poisson_hc0"]["std_error"], rel=1e-6)
    # R: vcovHC(pois, type = "HC1")
    e1 = _fit(cnt, family="poisson", robust="HC1").term("treatment (log IRR)")
    assert e1.std_error == pytest.approx(ref["poisson_hc1"]["std_error"], rel=1e-6)
    # R: vcovHC(pois, type = "HC2"); vcovHC(pois, type = "HC3")  (HC3 is the default)
    e2 = _fit(cnt, family="poisson", robust="HC2").term("treatment (log IRR)")
    assert e2.std_error == pytest.approx(ref["poisson_hc2"]["std_error"], rel=1e-6)
    e3 = _fit(cnt, family="poisson").term("treatment (log IRR)")
    assert e3.std_error == pytest.approx(ref["poisson_hc3"]["std_error"], rel=1e-6)
    # the non-robust Poisson SE is far smaller on these overdispersed counts and is never used
    assert e0.std_error > 1.5 * ref["poisson_model"]["std_error"]


def test_quasipoisson_matches_glm(cnt):
    ref = reference()["counts"]["quasipoisson"]
    # R: summary(glm(y ~ z + log1p(baseline) + factor(block), family = quasipoisson))
    e = _fit(cnt, family="quasipoisson")
    t = e.term("treatment (log IRR)")
    assert t.estimate == pytest.approx(ref["estimate"], rel=1e-7)
    assert t.std_error == pytest.approx(ref["std_error"], rel=1e-6)
    assert t.p_value == pytest.approx(ref["p_value"], rel=1e-5)  # t reference, df.residual
    assert e.details["dispersion"] == pytest.approx(ref["dispersion"], rel=1e-6)
    assert e.details["df"] == ref["df_residual"]


def test_negbin_matches_glm_nb(cnt):
    ref = reference()["counts"]["negbin"]
    # R: nb <- MASS::glm.nb(y ~ z + log1p(baseline) + factor(block)); summary(nb); nb$theta
    e = _fit(cnt, family="negbin")
    t = e.term("treatment (log IRR)")
    assert t.estimate == pytest.approx(ref["estimate"], rel=1e-6)
    assert e.details["theta"] == pytest.approx(ref["theta"], rel=1e-6)
    assert e.details["theta_se"] == pytest.approx(ref["theta_se"], rel=1e-5)
    # reported SE: conditional on theta, as glm.nb
    assert t.std_error == pytest.approx(ref["std_error"], rel=1e-6)
    assert t.p_value == pytest.approx(ref["p_value"], rel=1e-5)
    assert list(e.details["coefficients"].values()) == pytest.approx(ref["coefficients"], rel=1e-5)
    # the joint (beta, alpha) SE of statsmodels' NegativeBinomial differs from glm.nb's, slightly
    joint = e.details["std_error_joint"]
    assert joint != pytest.approx(ref["std_error"], rel=1e-6)
    assert joint == pytest.approx(ref["std_error"], rel=0.05)
    ej = _fit(cnt, family="negbin", nb_se="joint")
    assert ej.term("treatment (log IRR)").std_error == joint


def test_negbin_without_blocks_and_poisson_offset(cnt):
    ref = reference()["counts"]
    # R: MASS::glm.nb(y ~ z + log1p(baseline))
    e = count_model(cnt, outcome="y", treatment="z", baseline="baseline", family="negbin")
    t = e.term("treatment (log IRR)")
    assert t.estimate == pytest.approx(ref["negbin_noblocks"]["estimate"], rel=1e-6)
    assert t.std_error == pytest.approx(ref["negbin_noblocks"]["std_error"], rel=1e-6)
    assert e.details["theta"] == pytest.approx(ref["negbin_noblocks"]["theta"], rel=1e-6)
    # R: glm(y ~ z + log1p(baseline) + offset(log(days)), family = poisson); vcovHC(type = "HC0")
    e = count_model(
        cnt,
        outcome="y",
        treatment="z",
        baseline="baseline",
        exposure="days",
        family="poisson",
        robust="HC0",
    )
    t = e.term("treatment (log IRR)")
    assert t.estimate == pytest.approx(ref["poisson_offset_hc0"]["estimate"], rel=1e-7)
    assert t.std_error == pytest.approx(ref["poisson_offset_hc0"]["std_error"], rel=1e-6)


def test_irr_term_is_exp_of_log_term(cnt):
    e = _fit(cnt, family="quasipoisson")
    irr, log = e.terms
    assert irr.scale == "ratio" and log.scale == "log_ratio"
    assert irr.estimate == pytest.approx(math.exp(log.estimate))
    assert irr.conf_low == pytest.approx(math.exp(log.conf_low))
    assert irr.conf_high == pytest.approx(math.exp(log.conf_high))
    assert irr.std_error == pytest.approx(irr.estimate * log.std_error)
    assert irr.p_value == log.p_value


def test_choices_and_bad_input(cnt):
    with pytest.raises(ValueError, match="valid choices"):
        _fit(cnt, family="zip")
    with pytest.raises(ValueError, match="valid choices"):
        _fit(cnt, baseline_form="sqrt")
    with pytest.raises(DataError, match="positive baseline"):
        count_model(
            cnt.assign(baseline=0),
            outcome="y",
            treatment="z",
            baseline="baseline",
            baseline_form="offset",
        )
    with pytest.raises(DataError, match="non-negative"):
        count_model(cnt.assign(y=-cnt.y), outcome="y", treatment="z")


@pytest.mark.parametrize("family", ["quasipoisson", "poisson", "negbin"])
def test_all_zero_arm_is_reported_never_p_zero(family):
    from rct.errors import SeparationWarning

    # every treated unit has zero crimes: the MLE ratio is 0 (it used to give IRR 2.3e-14,
    # p = 0 for Poisson and an OverflowError for negbin / quasipoisson)
    d = pd.DataFrame({"arm": [1, 0] * 6, "y": [0, 2, 0, 1, 0, 3, 0, 0, 0, 4, 0, 1]})
    with pytest.warns(SeparationWarning, match="randomisation test"):
        e = count_model(d, outcome="y", treatment="arm", family=family)
    for t in e.terms:
        assert math.isnan(t.estimate) and math.isnan(t.p_value) and math.isnan(t.conf_low)
    assert e.details["events_treated"] == 0 and e.details["events_control"] == 11
    assert "separation" in e.method
    # and the mirror image: no control events
    with pytest.warns(SeparationWarning, match="infinite"):
        count_model(d.assign(arm=1 - d.arm), outcome="y", treatment="arm", family=family)


@pytest.mark.parametrize("family", ["quasipoisson", "poisson", "negbin"])
def test_block_without_events_is_dropped_with_a_note(family):
    d = pd.DataFrame({"arm": [1, 0] * 8, "y": [0, 2, 0, 1, 5, 3, 2, 0, 0, 0, 0, 0, 1, 4, 2, 2],
                      "b": np.repeat(["a", "b", "c", "d"], 4)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RCTWarning)
        warnings.simplefilter("ignore", EstimatorWarning)  # negbin: no overdispersion here
        e = count_model(d, outcome="y", treatment="arm", blocks="b", family=family)
        ref = count_model(d[d.b != "c"], outcome="y", treatment="arm", blocks="b", family=family)
    assert e.effect.estimate == pytest.approx(ref.effect.estimate, rel=1e-9)
    assert e.effect.p_value == pytest.approx(ref.effect.p_value, rel=1e-9)
    assert e.n == 12 and "dropped" in e.details["notes"][0] and ": c" in e.details["notes"][0]


def test_default_is_quasipoisson(cnt):
    e = count_model(cnt, outcome="y", treatment="z", baseline="baseline", blocks="block")
    q = _fit(cnt, family="quasipoisson")
    assert e.method == q.method and "quasi-Poisson" in e.method
    assert e.effect.p_value == q.effect.p_value
