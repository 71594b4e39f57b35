"""The analysis plan, from pre-registration to publication, and the evaluation that runs it.

``plan_from_trial(trial.toml)`` resolves the plan (:class:`AnalysisPlan`);
``register_plan`` writes ``plan.json`` (its SHA-256 is the one to publish);
``evaluate_trial`` runs the plan on the trial's files and returns
:class:`rct.evaluate.results.EvaluationResults` whose ``meta`` carries the plan,
its SHA-256, the input files' hashes and the one headline.

Names are loaded on first use.
"""

from __future__ import annotations

from rct._lazy import lazy_names

_LAZY: dict[str, str] = {
    "AnalysisPlan": "rct.plan.plan",
    "OutcomeSpec": "rct.plan.plan",
    "PrimaryTest": "rct.plan.plan",
    "PowerAssumptions": "rct.plan.plan",
    "PRIMARY_TESTS": "rct.plan.plan",
    "plan_from_trial": "rct.plan.plan",
    "register_plan": "rct.plan.register",
    "registered_plan": "rct.plan.register",
    "check_registration": "rct.plan.register",
    "Headline": "rct.plan.headline",
    "headline_from": "rct.plan.headline",
    "evaluate_trial": "rct.plan.evaluate",
    "evaluate_trial_files": "rct.plan.evaluate",
    "write_results": "rct.plan.evaluate",
    "design_from_trial": "rct.plan.evaluate",
    "evaluate_crossover": "rct.plan.crossover",
    "evaluate_parallel": "rct.plan.parallel",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
