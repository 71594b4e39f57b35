"""Difference in means and Lin (2013) against R estimatr; vectorised statistics; simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rct.errors import DataError, DesignError
from rct.evaluate._prep import EstimatorWarning
from rct.evaluate.parallel import difference_in_means, dim_statistic, lin_statistic, lm_lin

from ._ref import dataset, reference

TOL = dict(rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def par() -> pd.DataFrame:
    return dataset("parallel")


def _check(est, ref, *, df=True):
    t = est.effect
    assert t.estimate == pytest.approx(ref["estimate"], **TOL)
    assert t.std_error == pytest.approx(ref["std_error"], **TOL)
    assert t.statistic == pytest.approx(ref["statistic"], **TOL)
    assert t.p_value == pytest.approx(ref["p_value"], rel=1e-7)
    assert t.conf_low == pytest.approx(ref["conf_low"], rel=1e-7)
    assert t.conf_high == pytest.approx(ref["conf_high"], rel=1e-7)
    if df:
        assert est.details["df"] == pytest.approx(ref["df"], rel=1e-9)


def test_dim_complete_matches_estimatr(par):
    # R: difference_in_means(y ~ z_complete, data = par)
    _check(
        difference_in_means(par, outcome="y", treatment="z_complete"),
        reference()["difference_in_means"]["complete"],
    )


def test_dim_alpha_matches_estimatr(par):
    # R: difference_in_means(y ~ z_complete, data = par, alpha = 0.1)
    est = difference_in_means(par, outcome="y", treatment="z_complete", alpha=0.1)
    _check(est, reference()["difference_in_means"]["complete_alpha10"])


def test_dim_blocked_matches_estimatr(par):
    # R: difference_in_means(y_block ~ z_block, blocks = block, data = par)
    est = difference_in_means(par, outcome="y_block", treatment="z_block", blocks="block")
    _check(est, reference()["difference_in_means"]["blocked"])
    assert est.details["design"] == "blocked"


def test_dim_pairs_matches_estimatr(par):
    # R: difference_in_means(y_pair ~ z_pair, blocks = pair, data = par)
    est = difference_in_means(par, outcome="y_pair", treatment="z_pair", blocks="pair")
    _check(est, reference()["difference_in_means"]["pairs"])
    assert est.details["design"] == "matched-pair"


def test_dim_mixed_pairs_and_blocks_matches_estimatr(par):
    # R: difference_in_means(y_mixed ~ z_mixed, blocks = mixed, data = par)  (warns; pair SE)
    with pytest.warns(EstimatorWarning, match="matched-pairs"):
        est = difference_in_means(par, outcome="y_mixed", treatment="z_mixed", blocks="mixed")
    _check(est, reference()["difference_in_means"]["mixed"])


def test_lm_lin_matches_estimatr(par):
    ref = reference()["lm_lin"]
    # R: lm_lin(y ~ z_complete, covariates = ~ x1, data = par)
    _check(lm_lin(par, outcome="y", treatment="z_complete", covariates=["x1"]), ref["x1"])
    # R: lm_lin(y ~ z_complete, covariates = ~ x1 + x2, data = par)
    _check(lm_lin(par, outcome="y", treatment="z_complete", covariates=["x1", "x2"]), ref["x1_x2"])
    # R: lm_lin(y_block ~ z_block, covariates = ~ x1 + block, data = par)
    est = lm_lin(par, outcome="y_block", treatment="z_block", covariates=["x1"], blocks="block")
    _check(est, ref["block"])


def test_string_arms_and_multi_arm_selection(par):
    d = par.assign(arm=np.where(par.z_complete == 1, "treatment", "control"))
    a = difference_in_means(d, outcome="y", treatment="arm")
    b = difference_in_means(par, outcome="y", treatment="z_complete")
    assert a.effect == b.effect
    d3 = pd.concat([d, d.head(4).assign(arm="foot", y=1e6)], ignore_index=True)
    c = difference_in_means(d3, outcome="y", treatment="arm", arms=("control", "treatment"))
    assert c.effect == b.effect
    with pytest.raises(DataError, match="arms="):
        difference_in_means(d3, outcome="y", treatment="arm")


def test_errors(par):
    with pytest.raises(DataError, match="not found"):
        difference_in_means(par, outcome="nope", treatment="z_complete")
    bad = par.assign(block=np.where(par.z_block == 1, "T", "C"))
    with pytest.raises(DesignError, match="both arms"):
        difference_in_means(bad, outcome="y", treatment="z_block", blocks="block")
    with pytest.raises(DataError, match="row 3"):
        difference_in_means(
            par.assign(y=par.y.where(par.index != 2)), outcome="y", treatment="z_complete"
        )
    with pytest.raises(DesignError):
        lm_lin(par, outcome="y_pair", treatment="z_pair", covariates=["x1"], blocks="pair")


def _draws(z, blocks, n, rng):
    z = np.asarray(z)
    out = np.empty((n, z.size), dtype=np.int8)
    codes = pd.factorize(blocks)[0] if blocks is not None else np.zeros(z.size, int)
    for i in range(n):  # test helper only: permute within blocks
        zz = z.copy()
        for b in np.unique(codes):
            m = codes == b
            zz[m] = rng.permutation(zz[m])
        out[i] = zz
    return out


@pytest.mark.parametrize(
    "y,z,blocks",
    [("y", "z_complete", None), ("y_block", "z_block", "block"), ("y_pair", "z_pair", "pair")],
)
def test_dim_statistic_equals_estimator(par, y, z, blocks):
    rng = np.random.default_rng(3)
    bl = par[blocks].to_numpy() if blocks else None
    draws = _draws(par[z].to_numpy(), bl, 25, rng)
    est = dim_statistic(par[y].to_numpy(), draws, bl)
    stu = dim_statistic(par[y].to_numpy(), draws, bl, studentized=True)
    for k in (0, 7, 24):
        e = difference_in_means(par.assign(zz=draws[k]), outcome=y, treatment="zz", blocks=blocks)
        assert est[k] == pytest.approx(e.effect.estimate, rel=1e-12)
        assert stu[k] == pytest.approx(e.effect.statistic, rel=1e-10)


def test_lin_statistic_equals_lm_lin(par):
    rng = np.random.default_rng(4)
    draws = _draws(par.z_complete.to_numpy(), None, 20, rng)
    vals = lin_statistic(par.y.to_numpy(), par[["x1", "x2"]].to_numpy(), draws)
    for k in (0, 11, 19):
        e = lm_lin(par.assign(zz=draws[k]), outcome="y", treatment="zz", covariates=["x1", "x2"])
        assert vals[k] == pytest.approx(e.effect.estimate, rel=1e-9)


def test_dim_type_one_error_and_coverage_by_simulation():
    """Neyman t-test over the randomisation distribution (fixed overdispersed counts).

    Constant additive effect => coverage of the 95% interval = 1 - rejection rate
    under the sharp null (the estimate shifts by tau, the SE is unchanged).
    """
    rng = np.random.default_rng(2024)
    n, draws = 45, 4000
    y0 = rng.negative_binomial(1.2, 1.2 / (1.2 + 36.0), size=n).astype(float)  # mean 36/yr
    rows = []
    for blocks in (None, np.repeat(np.arange(9), 5)):
        z = np.zeros(n, dtype=np.int8)
        if blocks is None:
            z[:22] = 1
        else:
            z[np.arange(n) % 5 < 2] = 1  # 2 of 5 treated in each block
        zs = (
            _draws(z, blocks, draws, rng)
            if blocks is not None
            else np.array([rng.permutation(z) for _ in range(draws)])
        )
        t = dim_statistic(y0, zs, blocks, studentized=True)
        df = (n - 2) if blocks is None else n - 2 * 9
        rej = float(np.mean(np.abs(t) > stats.t.ppf(0.975, df)))
        rows.append(
            {
                "design": "complete" if blocks is None else "blocked",
                "reject": rej,
                "coverage": 1 - rej,
            }
        )
        mc = np.sqrt(0.05 * 0.95 / draws)
        assert rej <= 0.05 + 4 * mc  # Neyman SE is conservative under constant effects
        assert rej >= 0.01
    print(pd.DataFrame(rows))


def test_treatment_column_forms(par):
    base = difference_in_means(par, outcome="y", treatment="z_complete").effect
    as_bool = difference_in_means(
        par.assign(t=par.z_complete.astype(bool)), outcome="y", treatment="t"
    ).effect
    assert as_bool == base
    with pytest.raises(DataError, match="0/1"):
        difference_in_means(par.assign(t=par.z_complete * 2), outcome="y", treatment="t")
    with pytest.raises(DataError, match="missing treatment"):
        difference_in_means(
            par.assign(t=par.z_complete.where(par.index != 4)), outcome="y", treatment="t"
        )
    with pytest.raises(DesignError, match="both a treated and a control"):
        difference_in_means(par.assign(t=1), outcome="y", treatment="t")
