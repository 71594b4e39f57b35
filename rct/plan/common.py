"""Shared pieces of the evaluation plans (:mod:`rct.plan.evaluate`).

The fallback design for randomisation inference when the real one cannot be
re-derived (:class:`ApproximateDesign`, :class:`DesignApproximationWarning`),
the per-plan RI seed, one randomisation test as an :class:`Estimate`, the
report's null-distribution entry, the "optional analysis" guard and the
multiplicity-adjusted result.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import numpy as np

from rct.errors import RCTWarning
from rct.evaluate.results import Estimate, EvaluationResults

__all__ = ["ApproximateDesign", "DesignApproximationWarning"]


class DesignApproximationWarning(RCTWarning):
    """RI drawn from an approximating design (the real one could not be re-derived)."""


class ApproximateDesign:
    """Complete randomisation within blocks, fixed counts per block (fallback design).

    Used when the trial's design cannot be re-derived (no seed): crossover →
    blocks are days (k tasked per day, ignoring equal-coverage or
    consecutive-day constraints); parallel → the allocation's blocks.
    """

    def __init__(self, units: Any, assignment: np.ndarray, blocks: np.ndarray) -> None:
        import pandas as pd

        self.units = units
        self.assignment = np.asarray(assignment, dtype=np.int8)
        self.blocks = pd.factorize(pd.Series(np.asarray(blocks)))[0]
        counts = np.bincount(self.blocks)
        self._start = np.concatenate([[0], np.cumsum(counts)[:-1]])[self.blocks]
        self._m = np.bincount(self.blocks, self.assignment.astype(float)).astype(int)[self.blocks]

    def enumerate(self, limit: int = 100_000) -> None:
        return None

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        keys = rng.random((n, self.assignment.size))
        order = np.lexsort((keys, np.broadcast_to(self.blocks, keys.shape)), axis=1)
        rank = np.empty_like(order)
        rank[np.arange(n)[:, None], order] = np.arange(self.assignment.size)[None, :]
        return ((rank - self._start[None, :]) < self._m[None, :]).astype(np.int8)


def _ri_seed(seed: int | None, text: str) -> int:
    if seed is not None:
        return int(seed)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def _ri(design, y, stat, *, outcome, n, draws, seed, effect, alpha, label, term="treatment",
        reference=None):
    """One randomisation test as an Estimate (on the evaluation's shared ``reference`` draws)."""
    from rct.evaluate.ri import randomisation_test, ri_estimate

    res = randomisation_test(design, y, stat, draws=draws, rng=np.random.default_rng(seed),
                             effect=effect, alpha=alpha, reference=reference)
    return ri_estimate(res, outcome=outcome, n=n, term=term,
                       method=f"randomisation inference: {label}")


def _reference(design, *, draws: int, seed: int) -> tuple:
    """The design's assignments, drawn once per evaluation and scored by every statistic."""
    from rct.evaluate.ri import reference_assignments

    return reference_assignments(design, draws=int(draws), rng=np.random.default_rng(seed))


def _distribution(family: list[Estimate], primary: str, label: str) -> dict[str, Any] | None:
    """The primary headline test's null histogram (from its details), for the report."""
    for e in family:
        if e.outcome == primary and "null_histogram" in e.details:
            h = dict(e.details["null_histogram"])
            how = ("all {:,} possible assignments".format(int(e.details["ri_draws"]))
                   if e.details.get("ri_method") == "exact"
                   else "{:,} draws from the design".format(int(e.details["ri_draws"])))
            return {"outcome": primary, "method": e.method, "term": e.effect.term,
                    "label": label, "how": how, "scale": e.effect.scale, **h}
    return None


def _safe(fn, what: str, *args, **kw):
    """Run an optional analysis; a failure is a warning (the rest of the plan still runs)."""
    try:
        return fn(*args, **kw)
    except Exception as exc:  # noqa: BLE001 - optional analyses never sink the evaluation
        warnings.warn(f"{what} failed: {exc}", RCTWarning, stacklevel=3)
        return None


def _finish(estimates, primary_ests, *, primary, multiplicity, meta) -> EvaluationResults:
    from rct.evaluate.multiplicity import adjust_estimates

    method = "none" if multiplicity in (None, "none") else multiplicity
    adj = adjust_estimates(primary_ests, primary=primary, method=method, meta=meta)
    return EvaluationResults(tuple(estimates), primary=primary, adjustment=method,
                             adjusted_p=dict(adj.adjusted_p), meta=dict(meta))
