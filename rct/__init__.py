"""hotspot-rct: randomised controlled trials of hot-spot policing.

Importing :mod:`rct` is cheap: the public names below are loaded on first
use, so ``rct --help`` stays fast.  See ``README.md`` for a tour.
"""

from __future__ import annotations

from rct._lazy import lazy_names
from rct._version import __version__
from rct.errors import (
    ConfigError,
    DataError,
    DesignError,
    RCTError,
    RCTWarning,
    VerificationError,
)

# public name -> module that defines it (imported lazily on first access)
_LAZY: dict[str, str] = {
    "load_trial": "rct.config",
    "Trial": "rct.config",
    "read_crimes": "rct.io.crimes",
    "read_hotspots": "rct.io.hotspots",
    "write_hotspots": "rct.io.hotspots",
    "to_bng": "rct.geo",
    "from_bng": "rct.geo",
    "harm_table": "rct.harm",
    "HarmTable": "rct.harm",
    "build_hotspots": "rct.hotspots",
    "hotspot_stability": "rct.hotspots",
    "HotspotResult": "rct.hotspots",
    "StabilityResult": "rct.hotspots",
    "parallel": "rct.randomise",
    "crossover": "rct.randomise",
    "ParallelDesign": "rct.randomise",
    "CrossoverDesign": "rct.randomise",
    "load_design": "rct.randomise",
    "verify_allocation": "rct.randomise",
    "balance": "rct.randomise",
    "tasking_list": "rct.randomise",
    "randomise_parallel_file": "rct.randomise",
    "randomise_crossover_file": "rct.randomise",
    "ALGORITHM_VERSION": "rct.randomise",
    "ingest_patrols": "rct.dosage",
    "ingest_airwave": "rct.dosage",
    "airwave_presence": "rct.dosage",
    "locate": "rct.pip",
    "locate_all": "rct.pip",
    "PolygonIndex": "rct.pip",
    "patrol_dosage": "rct.dosage",
    "read_patrol_logs": "rct.dosage",
    "baseline_uplift": "rct.dosage",
    "compliance": "rct.dosage",
    "monitor": "rct.dosage",
    "monitor_trial": "rct.dosage",
    "Pseudonymiser": "rct.dosage",
    "interval_union": "rct.dosage",
    "difference_in_means": "rct.evaluate",
    "lm_lin": "rct.evaluate",
    "count_model": "rct.evaluate",
    "harm_difference": "rct.evaluate",
    "complier_effect": "rct.evaluate",
    "rirr": "rct.evaluate",
    "wdd": "rct.evaluate",
    "wdd_harm": "rct.evaluate",
    "displacement_quotient": "rct.evaluate",
    "crossover_fe": "rct.evaluate",
    "crossover_poisson": "rct.evaluate",
    "crossover_carryover": "rct.evaluate",
    "randomisation_test": "rct.evaluate",
    "adjust_pvalues": "rct.evaluate",
    "build_outcomes": "rct.ingest",
    "ingest_crimes": "rct.ingest",
    "evaluate_trial": "rct.plan",
    "plan_from_trial": "rct.plan",
    "AnalysisPlan": "rct.plan",
    "Estimate": "rct.evaluate",
    "EvaluationResults": "rct.evaluate",
    "meta_analysis": "rct.evaluate",
    "crossover_power": "rct.power",
    "parallel_power": "rct.power",
    "simulate_power": "rct.power",
    "empirical_power": "rct.power",
    "power_grid": "rct.power",
    "ttest_power": "rct.power",
    "rate_ratio_power": "rct.power",
    "CrossoverSpec": "rct.power",
    "ParallelSpec": "rct.power",
    "PowerResult": "rct.power",
    "SimulationResult": "rct.power",
    "design_report": "rct.reports",
    "monitor_report": "rct.reports",
    "evaluation_report": "rct.reports",
    "run_demo": "rct.demo",
    "simulate_trial": "rct.simulate",
    "SimulationSpec": "rct.simulate",
    "SimulatedTrial": "rct.simulate",
}

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "DesignError",
    "RCTError",
    "RCTWarning",
    "VerificationError",
    *_LAZY,
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
