"""rct.power.analytic against pwr (R), statsmodels and PowerUpR published values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.rates import (
    power_negbin_ratio_2indep,
    power_poisson_diff_2indep,
    power_poisson_ratio_2indep,
)

from rct.errors import DesignError
from rct.power import (
    mdes_bira2c1,
    mdes_ira,
    poisson_diff_power,
    rate_ratio_power,
    ttest_power,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "power"
ALT = {"two.sided": "two-sided", "greater": "larger", "less": "smaller"}
KIND = {"two.sample": "two-sample", "one.sample": "one-sample", "paired": "paired"}


def test_issue_reference_values():
    # pwr.t.test(n=30, d=.5)$power == 0.4778965
    assert ttest_power(n=30, d=0.5).power == pytest.approx(0.4778965, abs=5e-8)
    # pwr.t.test(d=.5, power=.8)$n == 63.76561
    assert ttest_power(d=0.5, power=0.8, n=None).value == pytest.approx(63.76561, abs=5e-6)


@pytest.mark.parametrize(
    "row", pd.read_csv(REF / "pwr_ttest.csv").to_dict("records"), ids=lambda r: r["call"]
)
def test_ttest_matches_pwr(row):
    # each row: the pwr.t.test call in row["call"], run by tests/reference/power/pwr_ttest.R
    kw = dict(kind=KIND[row["type"]], alternative=ALT[row["alternative"]])
    given_ = {"d": row["d"], "n": row["n"], "power": row["power"], "alpha": row["alpha"]}
    given_[row["solve"]] = None
    res = ttest_power(**given_, **kw)
    if row["solve"] == "power":
        assert res.value == pytest.approx(row["power"], rel=1e-9)
    else:
        # pwr solves with uniroot(tol = .Machine$double.eps^0.25 = 1.2e-4); ours is exact:
        assert res.value == pytest.approx(row[row["solve"]], abs=1.3e-4)
        given_[row["solve"]] = res.value
        given_["power"] = None
        assert ttest_power(**given_, **kw).power == pytest.approx(row["power"], abs=1e-9)


def test_poisson_diff_matches_pass_example():
    # statsmodels power_poisson_diff_2indep(15, 10, 6, nobs_ratio=8/6, alpha=.05, value=0,
    #   method_var="alt", alternative="larger") -> 0.82566 (PASS ch. 436 example)
    res = poisson_diff_power(rate1=15, rate2=10, nobs1=6, nobs_ratio=8 / 6, alternative="larger")
    assert res.power == pytest.approx(0.82566, abs=5e-5)
    sm = power_poisson_diff_2indep(15, 10, 6, nobs_ratio=8 / 6, alpha=0.05, value=0,
                                   method_var="alt", alternative="larger", return_results=False)  # fmt: skip
    assert res.power == pytest.approx(float(sm), rel=1e-12)
    sc = power_poisson_diff_2indep(15, 10, 6, nobs_ratio=8 / 6, alpha=0.05, value=0,
                                   method_var="score", alternative="two-sided", return_results=False)  # fmt: skip
    mine = poisson_diff_power(rate1=15, rate2=10, nobs1=6, nobs_ratio=8 / 6, method_var="score")
    assert mine.power == pytest.approx(float(sc), rel=1e-10)


@pytest.mark.parametrize("method_var", ["alt", "score", "ftotal"])
@pytest.mark.parametrize("alternative", ["two-sided", "smaller", "larger"])
@pytest.mark.parametrize("dispersion", [0.0, 0.5])
def test_negbin_ratio_matches_statsmodels(method_var, alternative, dispersion):
    args = dict(nobs_ratio=0.5, exposure=2.0, value=1.0, alpha=0.05)
    r1, r2 = (0.5, 0.3) if alternative != "smaller" else (0.3, 0.5)
    sm = power_negbin_ratio_2indep(r1, r2, 100, dispersion=dispersion, alternative=alternative,
                                   method_var=method_var, return_results=False, **args)  # fmt: skip
    mine = rate_ratio_power(rate1=r1, rate2=r2, nobs1=100, dispersion=dispersion,
                            alternative=alternative, method_var=method_var, **args)  # fmt: skip
    assert mine.power == pytest.approx(float(sm), rel=1e-10)


def test_poisson_ratio_with_margin_matches_statsmodels():
    # statsmodels test case (Zhu 2017): rate1 2.2, rate2 1.8, n 29, value 1/1.2, alpha .025 larger
    sm = power_poisson_ratio_2indep(2.2, 1.8, 29, value=1 / 1.2, alpha=0.025, alternative="larger",
                                    return_results=False)  # fmt: skip
    mine = rate_ratio_power(
        rate1=2.2, rate2=1.8, nobs1=29, value=1 / 1.2, alpha=0.025, alternative="larger"
    )
    assert mine.power == pytest.approx(float(sm), rel=1e-12)


def test_powerup_mdes_values():
    # PowerUpR: mdes.ira(n=250) -> 0.3557750 ; mdes.bira2c1(n=15, J=20) -> 0.3246342
    assert mdes_ira(n=250).value == pytest.approx(0.3557750, abs=5e-8)
    assert mdes_bira2c1(n=15, J=20).value == pytest.approx(0.3246342, abs=5e-8)


def test_mdes_ira_equals_its_formula_with_covariates():
    from scipy import stats

    n, p, r2, g = 80, 0.4, 0.3, 2
    df = n - g - 2
    m = stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)
    assert mdes_ira(n=n, p=p, r2=r2, g=g).value == pytest.approx(
        m * math.sqrt((1 - r2) / (p * (1 - p) * n))
    )


def test_ttest_mde_matches_pwr_d():
    # pwr.t.test(n=30, power=.8)$d is in pwr_ttest.csv
    ref = pd.read_csv(REF / "pwr_ttest.csv").query("solve == 'd'")["d"].iloc[0]
    assert ttest_power(n=30, d=0.2).mde == pytest.approx(ref, rel=2e-5)


@settings(max_examples=30, deadline=None)
@given(
    n=st.floats(5, 500),
    d=st.floats(0.05, 1.5),
    kind=st.sampled_from(["two-sample", "one-sample", "paired"]),
)
def test_ttest_round_trip(n, d, kind):
    p = ttest_power(n=n, d=d, kind=kind).power
    if not 0.06 < p < 0.999:
        return
    assert ttest_power(d=d, power=p, n=None, kind=kind).value == pytest.approx(n, rel=1e-6)
    assert ttest_power(n=n, power=p, d=None, kind=kind).value == pytest.approx(d, rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(n=st.floats(10, 1000), q=st.floats(0.3, 0.95), disp=st.floats(0, 2))
def test_rate_ratio_round_trip(n, q, disp):
    p = rate_ratio_power(rate1=2 * q, rate2=2.0, nobs1=n, dispersion=disp).power
    if not 0.06 < p < 0.999:
        return
    back = rate_ratio_power(rate1=2 * q, rate2=2.0, nobs1=None, power=p, dispersion=disp)
    assert back.value == pytest.approx(n, rel=1e-6)
    eff = rate_ratio_power(rate1=None, rate2=2.0, nobs1=n, power=p, dispersion=disp)
    assert eff.effect == pytest.approx(q, rel=1e-6)


def test_errors():
    with pytest.raises(DesignError, match="exactly one"):
        ttest_power(d=0.5, n=None, power=None)
    with pytest.raises(ValueError, match="'two-sample'"):
        ttest_power(d=0.5, n=10, kind="three-sample")
    with pytest.raises(ValueError, match="'two-sided', 'larger', 'smaller'"):
        ttest_power(d=0.5, n=10, alternative="greater")
    with pytest.raises(DesignError, match="no n"):
        ttest_power(d=0.5, n=None, power=0.01)  # below alpha: no sample size gives it
    with pytest.raises(DesignError, match="degrees of freedom"):
        mdes_ira(n=2)
    assert isinstance(ttest_power(d=0.5, n=None, power=0.8).value, float)
    assert isinstance(float(np.float64(ttest_power(d=0.5, n=10).value)), float)
