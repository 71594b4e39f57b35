"""Estimators, randomisation inference, results objects and trial evaluation.

Names are loaded on first use (statsmodels and linearmodels are slow to import).
"""

from __future__ import annotations

from rct._lazy import lazy_names

_LAZY: dict[str, str] = {
    # results
    "Term": "rct.evaluate.results",
    "Estimate": "rct.evaluate.results",
    "EvaluationResults": "rct.evaluate.results",
    "TIDY_COLUMNS": "rct.evaluate.results",
    # parallel designs
    "difference_in_means": "rct.evaluate.parallel",
    "lm_lin": "rct.evaluate.parallel",
    "dim_statistic": "rct.evaluate.parallel",
    "lin_statistic": "rct.evaluate.parallel",
    "harm_difference": "rct.evaluate.harm_effects",
    "log_ratio_statistic": "rct.evaluate.harm_effects",
    "count_model": "rct.evaluate.counts",
    "complier_effect": "rct.evaluate.complier",
    "wald_statistic": "rct.evaluate.complier",
    "complier_ri": "rct.evaluate.complier",
    # pre/post and displacement
    "rirr": "rct.evaluate.prepost",
    "rirr_units": "rct.evaluate.prepost",
    "wdd": "rct.evaluate.prepost",
    "wdd_units": "rct.evaluate.prepost",
    "wdd_harm": "rct.evaluate.prepost",
    "displacement_quotient": "rct.evaluate.prepost",
    "prepost_counts": "rct.evaluate.prepost",
    "wdd_ri": "rct.evaluate.prepost",
    "rirr_ri": "rct.evaluate.prepost",
    # crossover designs
    "crossover_panel": "rct.evaluate.crossover",
    "crossover_fe": "rct.evaluate.crossover",
    "crossover_poisson": "rct.evaluate.crossover",
    "crossover_carryover": "rct.evaluate.crossover",
    "add_lags": "rct.evaluate.crossover",
    "carryover_ri": "rct.evaluate.crossover",
    "distributed_lag": "rct.evaluate.carryover",
    "distributed_lag_ri": "rct.evaluate.carryover",
    "thames_valley_ttest": "rct.evaluate.crossover",
    "thames_valley_chisq": "rct.evaluate.crossover",
    # randomisation inference
    "randomisation_test": "rct.evaluate.ri",
    "ri_estimate": "rct.evaluate.ri",
    "adjusted_randomisation_test": "rct.evaluate.ri",
    "RIResult": "rct.evaluate.ri",
    "DifferenceInMeans": "rct.evaluate.ri",
    "as_statistic": "rct.evaluate.ri",
    "align_to_design": "rct.evaluate.ri",
    # multiplicity
    "adjust_pvalues": "rct.evaluate.multiplicity",
    "adjust_estimates": "rct.evaluate.multiplicity",
    # sequential monitoring, supervisors' feedback, cost and value
    "gs_design": "rct.evaluate.sequential",
    "gs_observed": "rct.evaluate.sequential",
    "sequential_test": "rct.evaluate.sequential",
    "confidence_sequence": "rct.evaluate.sequential",
    "GroupSequentialDesign": "rct.evaluate.sequential",
    "SequentialAnalysis": "rct.evaluate.sequential",
    "interim_estimates": "rct.evaluate.interim",
    "expected_information": "rct.evaluate.interim",
    "hotspot_feedback": "rct.evaluate.feedback",
    "cost_value": "rct.evaluate.costs",
    "officer_hours": "rct.evaluate.costs",
    "read_unit_costs": "rct.evaluate.costs",
    "CostPerHour": "rct.evaluate.costs",
    # outcomes (built at ingest: rct.ingest; re-exported for old code)
    "build_outcomes": "rct.ingest.outcomes",
    "ingest_crimes": "rct.ingest.outcomes",
    "EstimatorWarning": "rct.evaluate._prep",
    # meta-analysis of trials
    "meta_analysis": "rct.evaluate.meta",
    "effects_from_results": "rct.evaluate.meta",
    "effects_from_counts": "rct.evaluate.meta",
    "MetaAnalysisWarning": "rct.evaluate.meta",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
