"""Benchmark: simulated hot-spot trials per second (data generation + estimation).

Run: .venv/bin/python benchmarks/power_sim.py

Prints JSON lines.  Goals (issue 8): >= 2,000 simulated crossover trials/s
for 45 hot spots x 90 days; >= 10,000/s for a 45-hot-spot parallel design;
>= 50x faster than the same simulation with a statsmodels GLM fit per trial
(measured here, same run).  Every simulate_power call simulates n_sims
trials under the effect and n_sims under the null; both are counted.  The
machine is shared (2 cores), so figures are noisy.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings

import numpy as np
import pandas as pd


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _emit(**kw) -> None:
    print(json.dumps(kw, default=float), flush=True)


def main() -> None:
    import statsmodels.api as sm

    from rct.power import CrossoverSpec, ParallelSpec, simulate_power
    from rct.power.simulate import simulate_crossover_panel

    warnings.simplefilter("ignore")
    N, D, K = 45, 90, 22
    n_sims = 20_000

    # -- crossover, numbers-only design (equal coverage sampler) -------------
    spec = CrossoverSpec(N, D, K)
    t = _best(lambda: simulate_power(spec, rate=0.2, reduction=0.15, n_sims=n_sims, dispersion=0.5,
                                     heterogeneity=0.5, seed=1))  # fmt: skip
    cross_rate = 2 * n_sims / t

    # -- crossover with rct.randomise.crossover draws -------------------------
    randomise_rate = None
    try:
        from rct.randomise.crossover import crossover

        design = crossover([f"h{i:02d}" for i in range(N)], start=dt.date(2025, 1, 1), days=D,
                           per_day=K, seed=1)  # fmt: skip
        m = 2000
        t_r = _best(lambda: simulate_power(design, rate=0.2, reduction=0.15, n_sims=m, seed=1), repeat=1)
        randomise_rate = 2 * m / t_r
    except ImportError:  # pragma: no cover - randomise not installed
        pass

    # -- crossover with statsmodels GLM per trial -------------------------------
    rng = np.random.default_rng(2)
    dummies = None
    n_glm = 6

    def glm_crossover() -> None:
        nonlocal dummies
        for _ in range(n_glm):
            p = simulate_crossover_panel(spec, rate=0.2, irr=0.85, dispersion=0.5, heterogeneity=0.5, rng=rng)
            if dummies is None:
                dummies = pd.get_dummies(p["hotspot_id"], prefix="h", dtype=float)
            X = dummies.copy()
            X.insert(0, "tasked", p["tasked"].astype(float))
            sm.GLM(p["crimes"], X, family=sm.families.Poisson()).fit(
                cov_type="cluster", cov_kwds={"groups": p["hotspot_id"].to_numpy()}
            )

    t_g = _best(glm_crossover, repeat=1)
    glm_cross_rate = n_glm / t_g
    _emit(
        benchmark="power_sim.crossover",
        hotspots=N,
        days=D,
        per_day=K,
        trials_per_s=round(cross_rate),
        trials_per_s_with_rct_randomise_draws=None if randomise_rate is None else round(randomise_rate),
        statsmodels_glm_trials_per_s=round(glm_cross_rate, 1),
        speedup_vs_statsmodels=round(cross_rate / glm_cross_rate),
        goal="trials_per_s >= 2000 and speedup >= 50",
        met=bool(cross_rate >= 2000 and cross_rate / glm_cross_rate >= 50),
    )

    # -- parallel ------------------------------------------------------------------
    pspec = ParallelSpec(N)
    n_par = 100_000
    t_p = _best(lambda: simulate_power(pspec, rate=0.2, days=365, reduction=0.15, heterogeneity=0.5,
                                       dispersion=0.5, n_sims=n_par, seed=3))  # fmt: skip
    par_rate = 2 * n_par / t_p
    n_glm_p = 300
    X0 = None

    def glm_parallel() -> None:
        nonlocal X0
        for _ in range(n_glm_p):
            z = pspec.draw(1, rng)[0]
            lam = 0.2 * 365 * rng.gamma(2.0, 0.5, N) * np.where(z == 1, 0.85, 1.0)
            y = rng.poisson(rng.gamma(2.0, lam / 2.0))
            X = sm.add_constant(z.astype(float))
            sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="HC0")

    t_gp = _best(glm_parallel, repeat=2)
    glm_par_rate = n_glm_p / t_gp
    _emit(
        benchmark="power_sim.parallel",
        hotspots=N,
        trials_per_s=round(par_rate),
        statsmodels_glm_trials_per_s=round(glm_par_rate, 1),
        speedup_vs_statsmodels=round(par_rate / glm_par_rate),
        goal="trials_per_s >= 10000 and speedup >= 50",
        met=bool(par_rate >= 10_000 and par_rate / glm_par_rate >= 50),
    )


if __name__ == "__main__":
    main()
