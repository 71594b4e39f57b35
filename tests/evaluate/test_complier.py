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
