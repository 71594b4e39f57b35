"""Power and minimum detectable effects for hot-spot trials.

- :mod:`rct.power.analytic` — t tests (``pwr.t.test``), Poisson / negative
  binomial rate tests (statsmodels), PowerUp! MDES.
- :mod:`rct.power.designs` — crossover hot-spot-day (from
  :mod:`rct.power.crossover_design`) and parallel designs
  (counts, log counts, harm; blocks, pairs, baseline R^2); solve for any one
  of hot spots, days, effect, power, alpha.
- :mod:`rct.power.simulate` — Monte Carlo power, size, bias and coverage of
  the planned estimator under any :mod:`rct.randomise` design.
- :mod:`rct.power.empirical` — placebo trials on the user's history.
- :mod:`rct.power.grid` — grids (curves are drawn by :mod:`rct.reports.figures`).
"""

from __future__ import annotations

from rct.power.analytic import (
    mdes_bira2c1,
    mdes_ira,
    poisson_diff_power,
    rate_ratio_power,
    ttest_power,
)
from rct.power.designs import (
    baseline_r2,
    crossover_power,
    crossover_variance,
    parallel_power,
    parallel_variance,
)
from rct.power.empirical import Calibration, calibrate_history, empirical_power, history_matrix
from rct.power.grid import power_grid
from rct.power.results import PowerResult, SimulationResult
from rct.power.simulate import CrossoverSpec, ParallelSpec, simulate_power

__all__ = [
    "ttest_power",
    "rate_ratio_power",
    "poisson_diff_power",
    "mdes_ira",
    "mdes_bira2c1",
    "crossover_power",
    "crossover_variance",
    "parallel_power",
    "parallel_variance",
    "baseline_r2",
    "simulate_power",
    "CrossoverSpec",
    "ParallelSpec",
    "empirical_power",
    "calibrate_history",
    "Calibration",
    "history_matrix",
    "power_grid",
    "PowerResult",
    "SimulationResult",
]
