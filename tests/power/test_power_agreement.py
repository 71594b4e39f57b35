"""Analytic power against the simulated power of the same estimator and test.

Crossover (CR2 / Satterthwaite test of the hot-spot FE Poisson rate ratio): Thames Valley
(45 hot spots, 22 a day, 0.2 crimes per hot-spot-day, 151 days, 15 % reduction), Southend
(20 hot spots, 8 a day, 90 days) and Bedfordshire (21 areas, 7 a day, 90 days), 25 %
reduction at 0.2 a day.  Parallel (quasi-Poisson t test of the rate ratio; difference in
means with Welch's test), 0.2 crimes per hot-spot-day.  The table printed by
``test_analytic_power_matches_simulation`` is the one in ``rct.power.designs``' docstring.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rct.power import CrossoverSpec, ParallelSpec, crossover_power, parallel_power, simulate_power

SIMS = 20_000
CROSSOVER = (  # name, hot spots, days, per day, rate, reduction
    ("Thames Valley", 45, 151, 22, 0.2, 0.15),
    ("Southend", 20, 90, 8, 0.2, 0.25),
    ("Bedfordshire", 21, 90, 7, 0.2, 0.25),
)
MODELS = ((0.0, 0.0), (0.25, 0.5), (1.0, 1.0))  # (dispersion phi, heterogeneity tau^2)
PARALLEL = (  # hot spots, days, reduction, phi, tau^2
    (20, 365, 0.3, 0.5, 0.2),
    (45, 365, 0.2, 0.5, 0.5),
    (80, 180, 0.25, 0.5, 0.5),
    (20, 365, 0.4, 0.5, 1.0),
)


def _rows():
    rows = []
    for name, N, D, k, rate, red in CROSSOVER:
        for phi, tau in MODELS:
            sim = simulate_power(CrossoverSpec(N, D, k), rate=rate, reduction=red, n_sims=SIMS,
                                 dispersion=phi, heterogeneity=tau, seed=N + int(10 * phi))
            ana = crossover_power(hotspots=N, days=D, per_day=k, rate=rate, reduction=red,
                                  dispersion=phi, heterogeneity=tau)
            rows.append({"design": f"crossover {name}", "N": N, "days": D, "phi": phi,
                         "tau2": tau, "estimator": "fe-poisson", "simulated": sim.power,
                         "mc_se": sim.power_mcse, "analytic": ana.power, "size": sim.size,
                         "df sim": sim.parameters["mean_df"], "df analytic": ana.df})
    for N, D, red, phi, tau in PARALLEL:
        for est in ("rate-ratio", "diff-means"):
            sim = simulate_power(ParallelSpec(N), rate=0.2, days=D, reduction=red, n_sims=SIMS,
                                 dispersion=phi, heterogeneity=tau, estimator=est, seed=N)
            ana = parallel_power(hotspots=N, days=D, rate=0.2, reduction=red, dispersion=phi,
                                 heterogeneity=tau, estimator=est)
            rows.append({"design": "parallel", "N": N, "days": D, "phi": phi, "tau2": tau,
                         "estimator": est, "simulated": sim.power, "mc_se": sim.power_mcse,
                         "analytic": ana.power, "size": sim.size,
                         "df sim": sim.parameters["mean_df"], "df analytic": ana.df})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_analytic_power_matches_simulation():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # size flags: Welch's test is conservative at N = 20
        t = _rows()
    t["difference"] = t["analytic"] - t["simulated"]
    print(f"\n{SIMS:,} simulated trials per row (and as many null trials for the size)")
    print(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    xo = t[t.design.str.startswith("crossover")]
    # the CR2 test holds its size in every design ...
    assert ((xo["size"] - 0.05).abs() <= 2.6 * math.sqrt(0.0475 / SIMS)).all()
    # ... the expected Satterthwaite df is the simulated mean df ...
    assert ((xo["df analytic"] / xo["df sim"] - 1).abs() < 0.06).all()
    # ... and the analytic power is within 2 points of the simulated power (Southend with
    # phi = 0.25, tau^2 = 0.5: 2.0 points conservative), and conservative by up to 3.5 points
    # with heavy overdispersion (phi = tau^2 = 1): the CR2 variance is 2-4 % below the
    # estimator's variance under the effect, which the noncentral t does not see
    mild = xo[xo.phi <= 0.25]
    assert (mild["difference"].abs() <= 0.0225).all(), mild
    heavy = xo[xo.phi > 0.25]
    assert ((heavy["difference"] <= 0.005) & (heavy["difference"] >= -0.035)).all(), heavy
    par = t[t.design == "parallel"]
    rr = par[par.estimator == "rate-ratio"]
    assert (rr["difference"].abs() <= 0.02).all(), rr
    dm = par[par.estimator == "diff-means"]
    calm = dm[(dm.N >= 45) | (dm.tau2 <= 0.2)]
    assert (calm["difference"].abs() <= 0.02).all(), calm
    # skewed totals (20 hot spots, tau^2 = 1): Welch's test is conservative (size ~4 %) and the
    # normal-theory power overstates it; the gap is documented, and bounded here
    skew = dm[(dm.N < 45) & (dm.tau2 > 0.2)]
    assert ((skew["difference"] > 0) & (skew["difference"] < 0.06)).all(), skew


@pytest.mark.slow
def test_day_effects_cost_little_power_in_a_crossover():
    """The evaluation's two-way FE Poisson (CR2) against the hot-spot FE one that the power
    simulation uses, on the same simulated Southend-like panels (paired)."""
    from rct.evaluate._cr2 import poisson_twoway_batch
    from rct.power.estimators import crossover_fe_poisson, reject

    rng = np.random.default_rng(8)
    spec = CrossoverSpec(20, 90, 8)
    R = 600
    Z = spec.draw_schedule(R, rng).astype(float)  # (R, N, D)
    lam = 0.2 * rng.gamma(2.0, 0.5, (R, 20, 1))  # tau^2 = 0.5
    Y = rng.poisson(rng.gamma(4.0, 0.25 * lam * np.where(Z == 1, 0.75, 1.0))).astype(float)
    two = [poisson_twoway_batch(Y[i:i + 50], Z[i:i + 50]) for i in range(0, R, 50)]
    two = {k: np.concatenate([p[k] for p in two]) for k in two[0]}
    T = (Y * Z).sum(axis=2)
    a = Z.sum(axis=2)
    est, se, df = crossover_fe_poisson(T, Y.sum(axis=2) - T, a, 90 - a)
    r_two = reject(two["estimate"], two["se_cr2"], two["df_cr2"], 0.05, "two-sided")
    r_one = reject(est, se, df, 0.05, "two-sided")
    diff = r_one.astype(float) - r_two.astype(float)
    print(f"\npower: hot-spot FE {r_one.mean():.3f}, two-way FE {r_two.mean():.3f}; "
          f"disagreement {np.mean(diff != 0):.3f}; corr of estimates "
          f"{np.corrcoef(est, two['estimate'])[0, 1]:.4f}")
    assert np.corrcoef(est, two["estimate"])[0, 1] > 0.98
    assert abs(diff.mean()) <= 0.02 + 2.6 * diff.std(ddof=1) / math.sqrt(R)
