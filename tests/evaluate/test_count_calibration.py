"""Calibration of count_model's tests in small overdispersed parallel trials, and the choice
of its default.

Scenarios: 20 or 45 hot spots, half treated (complete randomisation), negative binomial
counts with mean 3 and size 0.5 or 1.5 (the variance is 21 or 9), no covariates.  Every
candidate test is computed for every simulated trial at once from closed forms that equal
``count_model`` trial by trial (checked below).  The table printed by
``test_count_model_calibration_table`` is the one in ``count_model``'s docstring.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from rct.evaluate.counts import count_model

ALPHA = 0.05
SETTINGS = ((20, 0.5), (20, 1.5), (45, 0.5), (45, 1.5))
REPS = 8000
MEAN = 3.0


def _exceed(y):
    """``c[r, j] = #{i : y[r, i] > j}``: digamma / gammaln sums over counts become sums over j."""
    top = int(y.max()) + 1
    hist = np.zeros((y.shape[0], top + 1))
    np.add.at(hist, (np.repeat(np.arange(y.shape[0]), y.shape[1]), y.astype(int).ravel()), 1.0)
    return y.shape[1] - np.cumsum(hist, axis=1)[:, :top], np.arange(top)


def _theta_ml(y, mu, iters=40):
    """ML negative binomial size given the means, for every row (Newton on log theta).

    Uses ``psi(y + t) - psi(t) = sum_{j < y} 1 / (t + j)`` (counts are integers).
    """
    c, j = _exceed(y)
    m, v = y.mean(axis=1), y.var(axis=1, ddof=1)
    lt = np.log(np.clip(np.where(v > m, m * m / np.maximum(v - m, 1e-9), 1e6), 1e-3, 1e6))
    for _ in range(iters):  # Newton iterations, vectorised over trials
        t = np.exp(lt)[:, None]
        tj = t + j[None, :]
        sc = (c / tj).sum(axis=1) + (np.log(t) + 1 - np.log(t + mu) - (y + t) / (t + mu)).sum(axis=1)
        h = -(c / tj**2).sum(axis=1) + (1 / t - 2 / (t + mu) + (y + t) / (t + mu) ** 2).sum(axis=1)
        e = t[:, 0]
        g1, g2 = e * sc, e * sc + e * e * h
        step = np.where(g2 < 0, -g1 / np.where(g2 < 0, g2, 1.0), np.sign(g1) * 0.5)
        step = np.clip(step, -1, 1)
        lt = np.clip(lt + step, -9, 16)
        if np.max(np.abs(step)) < 1e-10:
            break
    return np.exp(lt)


def _nb_loglik(y, mu, t):
    c, j = _exceed(y)
    t = t[:, None]
    return ((c * np.log(t + j[None, :])).sum(axis=1)
            + (-special.gammaln(y + 1) + t * np.log(t / (t + mu))
               + y * np.log(np.maximum(mu, 1e-300) / (t + mu))).sum(axis=1))


def candidate_tests(y: np.ndarray, z: np.ndarray) -> dict[str, tuple]:
    """Every candidate's (log IRR, SE, df) — or ("p", p-values) — for each row of ``y``.

    Two arms, no covariates: the Poisson, quasi-Poisson and NB fits all put each arm's
    mean at its sample mean, so b = log(ybar_1 / ybar_0) and the SEs are closed form.
    """
    z = z.astype(bool)
    n1 = z.sum(axis=1).astype(float)
    n0 = z.shape[1] - n1
    N = z.shape[1]
    m1 = np.where(z, y, 0).sum(axis=1) / n1
    m0 = np.where(z, 0, y).sum(axis=1) / n0
    mu = np.where(z, m1[:, None], m0[:, None])
    ok = (m1 > 0) & (m0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(ok, np.log(m1 / m0), np.nan)
        ss1 = np.where(z, (y - mu) ** 2, 0).sum(axis=1)
        ss0 = np.where(z, 0, (y - mu) ** 2).sum(axis=1)
        hc3 = np.sqrt(ss1 * (n1 / (n1 - 1)) ** 2 / (n1 * m1) ** 2
                      + ss0 * (n0 / (n0 - 1)) ** 2 / (n0 * m0) ** 2)
        phi = (ss1 / m1 + ss0 / m0) / (N - 2)
        quasi = np.sqrt(phi * (1 / (n1 * m1) + 1 / (n0 * m0)))
        th = _theta_ml(y, mu)
        big = th > 1e6  # no overdispersion: glm.nb reduces to Poisson
        inv = np.where(big, 0.0, 1 / th)
        nb = np.sqrt((1 / m1 + inv) / n1 + (1 / m0 + inv) / n0)
        m = y.mean(axis=1)
        th0 = _theta_ml(y, np.repeat(m[:, None], N, axis=1))
        lr = np.maximum(2 * (_nb_loglik(y, mu, th) - _nb_loglik(y, np.repeat(m[:, None], N, 1), th0)),
                        0.0)
    return {
        "Poisson HC3, normal (old default)": (b, hc3, math.inf),
        "Poisson HC3, t(n - p)": (b, hc3, N - 2),
        "quasi-Poisson, t(n - p) (default)": (b, quasi, N - 2),
        "negative binomial Wald, normal": (b, nb, math.inf),
        "negative binomial LR, F(1, n - p)": ("p", np.where(ok, stats.f.sf(lr, 1, N - 2), np.nan)),
    }


def _pvalues(t):
    if isinstance(t[0], str):
        p = t[1]
    else:
        est, se, df = t
        with np.errstate(invalid="ignore", divide="ignore"):
            zz = np.abs(est / se)
            p = 2 * (stats.norm.sf(zz) if not np.isfinite(df) else stats.t.sf(zz, df))
    return np.where(np.isfinite(p), p, 1.0)  # no estimate (an all-zero arm) never rejects


def _covers(t, truth):
    est, se, df = t
    q = stats.norm.ppf(1 - ALPHA / 2) if not np.isfinite(df) else stats.t.ppf(1 - ALPHA / 2, df)
    return np.where(np.isfinite(est), np.abs(est - truth) <= q * se, False)


def _trials(rng, N, size, reps, irr=1.0):
    z = np.argsort(rng.random((reps, N)), axis=1) < N // 2
    mean = np.where(z, MEAN * irr, MEAN)
    y = rng.negative_binomial(size, size / (size + mean)).astype(float)
    return y, z


def test_closed_forms_equal_count_model():
    rng = np.random.default_rng(4)
    y, z = _trials(rng, 20, 0.5, 6)
    out = candidate_tests(y, z)
    for r in range(len(y)):
        d = pd.DataFrame({"y": y[r], "z": z[r].astype(int)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = count_model(d, outcome="y", treatment="z").term("treatment (log IRR)")
            h = count_model(d, outcome="y", treatment="z", family="poisson").term(
                "treatment (log IRR)")
            nb = count_model(d, outcome="y", treatment="z", family="negbin").term(
                "treatment (log IRR)")
        b, se, df = out["quasi-Poisson, t(n - p) (default)"]
        assert q.estimate == pytest.approx(b[r], abs=1e-9)
        assert q.std_error == pytest.approx(se[r], rel=1e-8)
        assert q.p_value == pytest.approx(_pvalues((b, se, df))[r], rel=1e-7)
        assert h.std_error == pytest.approx(out["Poisson HC3, normal (old default)"][1][r], rel=1e-8)
        assert nb.std_error == pytest.approx(out["negative binomial Wald, normal"][1][r], rel=1e-5)


@pytest.mark.slow
def test_count_model_calibration_table():
    rng = np.random.default_rng(2027)
    rows = []
    for N, size in SETTINGS:
        y, z = _trials(rng, N, size, REPS)
        out = candidate_tests(y, z)
        y1, z1 = _trials(rng, N, size, REPS, irr=0.8)
        out1 = candidate_tests(y1, z1)
        for name, t in out.items():
            cov = (float(np.mean(_covers(out1[name], math.log(0.8))))
                   if not isinstance(t[0], str) else math.nan)
            rows.append({"hot spots": N, "NB size": size, "test": name,
                         "size": float(np.mean(_pvalues(t) <= ALPHA)), "IRR coverage": cov})
    table = pd.DataFrame(rows)
    mc = math.sqrt(ALPHA * (1 - ALPHA) / REPS)
    print(f"\n{REPS} trials per setting and test; MC SE of a size {100 * mc:.2f} points, of a "
          f"coverage {100 * math.sqrt(0.95 * 0.05 / REPS):.2f}")
    print(table.pivot_table(index="test", columns=["hot spots", "NB size"], values="size",
                            sort=False).to_string(float_format=lambda v: f"{100 * v:.1f}%"))
    print(table.pivot_table(index="test", columns=["hot spots", "NB size"],
                            values="IRR coverage", sort=False).dropna().to_string(
        float_format=lambda v: f"{100 * v:.1f}%"))
    res = {(r["hot spots"], r["NB size"], r["test"]): r for r in rows}
    band = 2.6 * mc
    cband = 2.6 * math.sqrt(0.95 * 0.05 / REPS)
    for N, size in SETTINGS:
        d = res[(N, size, "quasi-Poisson, t(n - p) (default)")]
        # the default never over-rejects (a little conservative at 20 hot spots, size 0.5)
        assert 0.03 <= d["size"] <= ALPHA + band, (N, size, d["size"])
        assert d["IRR coverage"] >= 0.95 - cband, (N, size, d["IRR coverage"])
    # the old default (Poisson HC3, normal) over-rejected with 20 hot spots and size 0.5
    assert res[(20, 0.5, "Poisson HC3, normal (old default)")]["size"] > ALPHA + band
