"""The fast paths of `rct evaluate` give the numbers of the direct definitions (issue 16).

* CR2 / Satterthwaite (:func:`rct.evaluate._cr2.cr2_twoway`): the closed form for balanced
  OLS panels and the memory-bounded, vector-applied general path both equal a dense
  implementation written from the definitions (full dummy design, hat matrix, generalised
  inverse square root per cluster) — clubSandwich's formulas, whose R output the
  reference tests in ``test_crossover.py`` check.
* The conditional Poisson randomisation interval on compact (int8) draws equals the one
  on float64 draws and the one that re-scores every draw at every bisection step.
* Key normalisation converts each distinct key once and gives the per-element strings.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rct.evaluate import _cr2
from rct.evaluate._cr2 import cr2_twoway
from rct.evaluate._fe import ConditionalPoissonLogRR
from rct.evaluate.ri import randomisation_test, reference_assignments
from rct.evaluate.ri_stats import _norm_key
from rct.randomise.crossover import crossover
from tests.evaluate.test_ri_shared import _Plain  # the statistic without its one-pass family


def _dense_cr2(X, e, w, unit, time, cluster):
    """CR2 covariance and Satterthwaite df from the definitions, with every matrix formed."""
    n = len(e)
    U = pd.get_dummies(unit).to_numpy(float)
    Tm = pd.get_dummies(time).to_numpy(float)[:, 1:]
    Xf = np.column_stack([X, U, Tm])
    p = X.shape[1]
    Wh = np.sqrt(w)
    Minv = np.linalg.pinv(Xf.T @ (w[:, None] * Xf))
    H = (Wh[:, None] * Xf) @ Minv @ (Xf * Wh[:, None]).T
    D = np.column_stack([U, Tm])
    K = np.linalg.pinv(D.T @ (w[:, None] * D))
    Xt = X - D @ K @ D.T @ (w[:, None] * X)
    B = np.linalg.inv(Xt.T @ (w[:, None] * Xt))
    groups = np.unique(cluster)
    meat = np.zeros((p, p))
    Z = np.zeros((p, n, len(groups)))
    for gi, g in enumerate(groups):  # test reference: one cluster at a time
        r = np.flatnonzero(cluster == g)
        Wg = np.diag(w[r])
        M = Wg @ (np.eye(len(r)) - H[np.ix_(r, r)]) @ Wg
        lam, V = np.linalg.eigh((M + M.T) / 2)
        f = np.where(lam > 1e-10 * lam.max(), 1 / np.sqrt(np.abs(lam)), 0.0)
        A = np.diag(Wh[r]) @ (V * f) @ V.T @ np.diag(Wh[r])
        u = Xt[r].T @ A @ e[r]
        meat += np.outer(u, u)
        Z[:, r, gi] = (A @ Xt[r] @ B).T
    cov = B @ meat @ B
    PW = Xf @ Minv @ Xf.T @ np.diag(w)
    df = np.empty(p)
    for j in range(p):
        P = Z[j].T @ np.diag(w) @ (np.eye(n) - PW) @ Z[j]
        df[j] = np.trace(P) ** 2 / np.sum(P * P)
    return cov, df


def _assert_equals_definition(got, X, e, w, unit, time, cluster, *, rtol=1e-10):
    """``got`` (covariance and df) equals :func:`_dense_cr2` of the same fit."""
    cov, df = _dense_cr2(X, e, w, unit, time, cluster)
    np.testing.assert_allclose(got.cov, cov, rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(got.df, df, rtol=rtol)


def _panel(N, T, p, rng, drop=0):
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(T), N)
    keep = np.ones(N * T, bool)
    keep[rng.choice(N * T, drop, replace=False)] = False
    perm = rng.permutation(int(keep.sum()))  # rows in no particular order
    u, t = u[keep][perm], t[keep][perm]
    X = rng.integers(0, 2, (len(u), p)).astype(float)
    if p > 1:
        X[:, 1:] += rng.normal(size=(len(u), p - 1))
    return u, t, X


@pytest.mark.parametrize("N,T,p", [(6, 9, 1), (9, 14, 2), (5, 4, 2)])
def test_balanced_ols_closed_form_equals_definition(N, T, p):
    rng = np.random.default_rng(N * 100 + T)
    u, t, X = _panel(N, T, p, rng)
    e = rng.normal(size=len(u))
    got = cr2_twoway(X, e, np.ones(len(u)), u, t)
    _assert_equals_definition(got, X, e, np.ones(len(u)), u, t, u)


def test_balanced_ols_closed_form_is_used_and_equals_general_path(monkeypatch):
    rng = np.random.default_rng(5)
    u, t, X = _panel(12, 30, 2, rng)
    e = rng.normal(size=len(u))
    calls = []
    real = _cr2._cr2_balanced_ols
    monkeypatch.setattr(_cr2, "_cr2_balanced_ols", lambda *a: calls.append(1) or real(*a))
    fast = cr2_twoway(X, e, np.ones(len(u)), u, t)
    assert calls == [1]
    monkeypatch.setattr(_cr2, "_balanced_cells", lambda *a: None)  # force the general path
    slow = cr2_twoway(X, e, np.ones(len(u)), u, t)
    np.testing.assert_allclose(fast.cov, slow.cov, rtol=1e-12)
    np.testing.assert_allclose(fast.df, slow.df, rtol=1e-12)


@pytest.mark.parametrize("drop,paired,weighted", [(0, False, True), (7, False, True),
                                                  (5, True, True), (6, False, False)])
def test_general_path_in_small_chunks_equals_definition(monkeypatch, drop, paired, weighted):
    rng = np.random.default_rng(drop + 10 * paired)
    u, t, X = _panel(8, 10, 2, rng, drop=drop)
    w = np.exp(rng.normal(size=len(u)) * 0.6) if weighted else np.ones(len(u))
    e = rng.normal(size=len(u))
    cl = u // 2 if paired else u
    monkeypatch.setattr(_cr2, "_CLUSTER_CELLS", 150)  # a cluster or two per chunk
    got = cr2_twoway(X, e, w, u, t, cl if paired else None)
    _assert_equals_definition(got, X, e, w, u, t, cl, rtol=1e-9)


def test_ratio_interval_on_compact_draws_equals_float64_and_rescoring():
    n, days = 10, 24
    design = crossover([f"h{i}" for i in range(n)], start="2024-01-01", days=days, per_day=5,
                       seed=4)
    rng = np.random.default_rng(4)
    z = np.asarray(design.assignment, dtype=float)
    y = rng.poisson(np.repeat(rng.gamma(2, 0.4, n), days) * np.where(z == 1, 0.7, 1.0))
    y = y.astype(float)
    stat = ConditionalPoissonLogRR(np.repeat(np.arange(n), days))
    Z, exact, wts = reference_assignments(design, draws=300, rng=np.random.default_rng(2))
    assert Z.dtype == np.float64
    res = [randomisation_test(design, y, s, reference=(Zr, exact, wts), effect="multiplicative")
           for s, Zr in ((stat, Z), (stat, Z.astype(np.int8)), (_Plain(stat), Z))]
    for r in res[1:]:
        assert r.p_value == res[0].p_value
        assert r.details["n_exceed"] == res[0].details["n_exceed"]
        np.testing.assert_allclose([r.observed, r.conf_low, r.conf_high],
                                   [res[0].observed, res[0].conf_low, res[0].conf_high],
                                   rtol=1e-10)
    assert res[0].conf_low < 1 or res[0].conf_high < 1  # a real interval, not degenerate
    assert np.isfinite(res[0].conf_low) and np.isfinite(res[0].conf_high)


def test_norm_key_equals_per_element_conversion():
    cases = [[dt.date(2021, 1, 2), dt.date(2021, 1, 3), dt.date(2021, 1, 2)],
             ["a", None, "b", "a"], [1, 2.5, np.nan, 1],
             pd.array(["x", "y", "x"], dtype="string"),
             [dt.datetime(2021, 1, 1, 5), "q"], pd.date_range("2021-01-01", periods=3)]
    for v in cases:
        idx = pd.Index(v)
        if pd.api.types.is_datetime64_any_dtype(idx.dtype):
            want = list(idx.strftime("%Y-%m-%d"))
        else:
            want = [x.isoformat() if hasattr(x, "isoformat") else str(x) for x in idx]
        assert list(_norm_key(v)) == want


@pytest.mark.parametrize("n,blocks,hc", [(120, 0, "HC1"), (400, 3, "HC1"), (300, 2, "HC0")])
def test_complier_first_stage_f_and_partial_r2_equal_linearmodels(n, blocks, hc):
    from linearmodels.iv import IV2SLS

    from rct.evaluate.complier import complier_effect

    rng = np.random.default_rng(n)
    z = rng.permutation(np.arange(n) % 2)
    d = 3 * z + rng.normal(size=n) * np.exp(rng.normal(size=n))
    data = pd.DataFrame({"arm": np.where(z == 1, "treatment", "control"), "dose": d,
                         "y": 0.4 * d + rng.normal(size=n), "x": rng.normal(size=n),
                         "blk": rng.integers(0, blocks + 1, n)})
    est = complier_effect(data, outcome="y", dose="dose", covariates=("x",),
                          blocks="blk" if blocks else None, robust=hc)
    exog = {"const": np.ones(n), "x": data["x"].to_numpy()}
    for b in range(1, blocks + 1):
        exog[f"b{b}"] = (data["blk"].to_numpy() == b).astype(float)
    res = IV2SLS(data["y"], pd.DataFrame(exog), data[["dose"]],
                 pd.DataFrame({"a": z.astype(float)})).fit(cov_type="robust",
                                                          debiased=hc == "HC1")
    diag = res.first_stage.diagnostics.loc["dose"]
    assert est.details["first_stage_f"] == pytest.approx(float(diag["f.stat"]), rel=1e-10)
    assert est.details["partial_r2"] == pytest.approx(float(diag["partial.rsquared"]), rel=1e-10)
    assert est.terms[0].estimate == pytest.approx(float(res.params["dose"]), rel=1e-10)
    assert est.terms[0].std_error == pytest.approx(float(res.std_errors["dose"]), rel=1e-10)


@pytest.mark.parametrize("balanced", [True, False])
def test_two_way_fe_scores_many_outcomes_on_compact_draws_as_one_at_a_time(balanced):
    from rct.evaluate._fe import TwoWayFE
    from rct.evaluate.ri_null import _batched, _batched_many

    rng = np.random.default_rng(11)
    u, t, _ = _panel(9, 13, 1, rng, drop=0 if balanced else 6)
    stat = TwoWayFE(u, t)
    assert stat.balanced is balanced
    Z = (rng.random((50, len(u))) < 0.4).astype(np.int8)
    ys = [rng.poisson(1.0, len(u)).astype(float), rng.normal(size=len(u))]
    many = _batched_many(stat, Z, ys)
    for y, got in zip(ys, many, strict=True):
        one = _batched(stat, Z, y)  # float64 chunks, one outcome per pass
        np.testing.assert_allclose(got, one, rtol=1e-12, atol=1e-15)
        # and against the definition: OLS slope of the two-way demeaned y on demeaned z
        z0 = Z[0].astype(float)
        D = np.column_stack([pd.get_dummies(u).to_numpy(float),
                             pd.get_dummies(t).to_numpy(float)[:, 1:]])
        M = np.eye(len(u)) - D @ np.linalg.pinv(D)
        assert got[0] == pytest.approx((M @ z0) @ y / ((M @ z0) @ z0), rel=1e-10)


def _lanczos_calls(monkeypatch):
    """Record, per call of the Lanczos solver, how many clusters it solved and how many converged."""
    calls = []
    real = _cr2._lanczos_inv_sqrt

    def spy(op, null, V, *work):
        x, ok = real(op, null, V, *work)
        calls.append((len(ok), int(ok.sum())))
        return x, ok

    monkeypatch.setattr(_cr2, "_lanczos_inv_sqrt", spy)
    return calls


@pytest.mark.parametrize("N,T,drop,paired,spread", [
    (9, 70, 0, False, 0.2),    # weights within a factor of 2: Lanczos converges for every cluster
    (8, 66, 9, False, 0.2),    # unbalanced: clusters of several sizes, some below the threshold
    (10, 36, 0, True, 0.2),    # pairs of hot spots (72 rows, two nested units each)
    (8, 70, 0, False, 1.2),    # weights over orders of magnitude: slow clusters go dense
])
def test_lanczos_cr2_equals_definition(monkeypatch, N, T, drop, paired, spread):
    rng = np.random.default_rng(N * T + drop)
    u, t, X = _panel(N, T, 2, rng, drop=drop)
    w = np.exp(rng.normal(size=len(u)) * spread)
    e = rng.normal(size=len(u)) * np.sqrt(w)
    cl = u // 2 if paired else u
    calls = _lanczos_calls(monkeypatch)
    got = cr2_twoway(X, e, w, u, t, cl if paired else None)
    if spread < 1:  # the iterative path ran (for the clusters of >= 64 rows) and converged
        assert calls and all(ok == n > 0 for n, ok in calls)
        if not drop:
            assert sum(n for n, _ in calls) == len(np.unique(cl))
    else:  # far too ill-conditioned: straight to the dense eigensolver
        assert sum(ok for _, ok in calls) == 0
    _assert_equals_definition(got, X, e, w, u, t, cl)
    monkeypatch.setattr(_cr2, "_LANCZOS_MIN", 10**9)  # the dense eigensolver for every cluster
    dense = cr2_twoway(X, e, w, u, t, cl if paired else None)
    np.testing.assert_allclose(got.cov, dense.cov, rtol=1e-11)
    np.testing.assert_allclose(got.df, dense.df, rtol=1e-11)


def test_lanczos_falls_back_to_the_dense_eigensolver(monkeypatch):
    rng = np.random.default_rng(3)
    u, t, X = _panel(6, 70, 1, rng)
    w = np.exp(rng.normal(size=len(u)) * 0.5)
    e = rng.normal(size=len(u))
    calls = _lanczos_calls(monkeypatch)
    monkeypatch.setattr(_cr2, "_LANCZOS_MAXIT", 8)  # far too few steps: nothing converges
    monkeypatch.setattr(_cr2, "_LANCZOS_STEPS", 0)  # ... but every cluster is tried
    got = cr2_twoway(X, e, w, u, t)
    assert calls == [(6, 0)]
    _assert_equals_definition(got, X, e, w, u, t, u)


def test_ill_conditioned_clusters_skip_lanczos():
    from rct.evaluate._cr2 import _LANCZOS_MAXIT, _LANCZOS_STEPS, _lanczos_worth

    k = (_LANCZOS_MAXIT / _LANCZOS_STEPS) ** 2  # the largest condition number Lanczos gets
    diag = np.array([[1.0, 0.5 * k], [1.0, 2.0 * k], [1.0, 2.0], [0.0, 1.0]])
    np.testing.assert_array_equal(_lanczos_worth(diag, 365), [True, False, True, False])
    assert not _lanczos_worth(np.array([[1.0, 4.0]]), 20)[0]  # a short cluster: fewer steps


def test_lanczos_exhausted_krylov_space_is_exact(monkeypatch):
    """A residual vector that is zero in some clusters (e.g. a hot spot fitted exactly)."""
    rng = np.random.default_rng(8)
    u, t, X = _panel(7, 64, 1, rng)
    w = np.exp(rng.normal(size=len(u)) * 0.4)
    e = rng.normal(size=len(u))
    e[u == 2] = 0.0
    calls = _lanczos_calls(monkeypatch)
    monkeypatch.setattr(_cr2, "_LANCZOS_STEPS", 0)  # every cluster tried
    got = cr2_twoway(X, e, w, u, t)
    assert calls == [(7, 7)]
    _assert_equals_definition(got, X, e, w, u, t, u)


def test_distribution_functions_equal_scipy_stats():
    """rct.evaluate._dist calls the scipy.special functions scipy.stats' methods call."""
    from scipy import stats

    from rct.evaluate import _dist

    for df in (1.0, 2.5, 7.0, 41.3, 298.0, 1e5):
        for x in (0.0, 0.3, 1.96, 4.2, 11.0):
            assert _dist.t_sf(x, df) == float(stats.t.sf(x, df))
            assert _dist.chi2_sf(x, df) == float(stats.chi2.sf(x, df))
        for q in (0.5, 0.9, 0.975, 0.995):
            assert _dist.t_ppf(q, df) == float(stats.t.ppf(q, df))
    for x in (0.0, 0.7, 1.96, 6.0):
        assert _dist.norm_sf(x) == float(stats.norm.sf(x))
    for q in (0.5, 0.95, 0.975):
        assert _dist.norm_ppf(q) == float(stats.norm.ppf(q))


@pytest.mark.parametrize("k,n", [(0, 12), (3, 12), (12, 12), (431, 1000), (5000, 9711)])
def test_clopper_pearson_equals_binomtest(k, n):
    from scipy import stats

    from rct.evaluate._dist import clopper_pearson

    for level in (0.9, 0.95):
        lo, hi = clopper_pearson(k, n, level)
        ci = stats.binomtest(k, n).proportion_ci(level, method="exact")  # root finding
        assert lo == pytest.approx(ci.low, rel=1e-9, abs=1e-12)
        assert hi == pytest.approx(ci.high, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("equal_var", [True, False])
def test_ttest_ind_equals_scipy(equal_var):
    from scipy import stats

    from rct.evaluate._dist import ttest_ind

    rng = np.random.default_rng(4)
    y1, y0 = rng.poisson(1.2, 80).astype(float), rng.poisson(1.5, 130).astype(float)
    got = ttest_ind(y1, y0, equal_var=equal_var, alpha=0.1)
    ref = stats.ttest_ind(y1, y0, equal_var=equal_var)
    ci = ref.confidence_interval(0.9)
    assert got["statistic"] == pytest.approx(float(ref.statistic), rel=1e-12)
    assert got["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-10)
    assert got["df"] == pytest.approx(float(ref.df), rel=1e-12)
    assert got["conf_low"] == pytest.approx(float(ci.low), rel=1e-12)
    assert got["conf_high"] == pytest.approx(float(ci.high), rel=1e-12)


def test_lanczos_sampled_checks_when_the_sample_settles_first(monkeypatch):
    """The sampled run converges long before the others (its cluster's weights are flat):
    the others are then checked in full, and every cluster equals the definition."""
    rng = np.random.default_rng(21)
    u, t, X = _panel(6, 72, 1, rng)
    w = np.where(u == 0, 1.0, np.exp(rng.normal(size=len(u)) * 0.35))
    e = rng.normal(size=len(u))
    monkeypatch.setattr(_cr2, "_LANCZOS_PROBES", 1)  # the sample: cluster 0's first run
    monkeypatch.setattr(_cr2, "_LANCZOS_STEPS", 0)
    calls = _lanczos_calls(monkeypatch)
    got = cr2_twoway(X, e, w, u, t)
    assert calls == [(6, 6)]  # every cluster converged (the check after the sample's, at 21)
    _assert_equals_definition(got, X, e, w, u, t, u)
