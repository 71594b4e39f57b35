"""Interim looks at the primary effect while a crossover trial runs, as the plan says.

``rct monitor`` and the monitoring report call :func:`interim_analysis`.  With
``[monitoring] sequential = "none"`` (the default) there are no interim
looks: nothing about the effect is shown, so looking cannot inflate the error
rate.  Otherwise, at each complete period of ``every_days`` (weekly by
default) the primary effect is estimated on the data so far
(:func:`rct.evaluate.interim.interim_estimates`, the plan's primary statistic
with small-sample cluster-robust standard errors) and judged against the
planned boundaries (:func:`rct.evaluate.sequential.sequential_test`):
Lan–DeMets alpha spending at the planned information fractions ``k / K`` for
O'Brien–Fleming- or Pocock-type boundaries, or an anytime-valid confidence
sequence whose mixing is set from the design's expected information
(:func:`rct.evaluate.interim.expected_information` with the ``[power]``
assumptions).  Per-hot-spot feedback for supervisors over the last
``feedback_weeks`` weeks (:func:`rct.evaluate.feedback.hotspot_feedback`) is
returned beside it — feedback, never a test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import ConfigError

__all__ = ["InterimAnalysis", "interim_analysis"]

_METHOD_NAMES = {"obrien-fleming": "O'Brien–Fleming-type group-sequential boundaries",
                 "pocock": "Pocock-type group-sequential boundaries",
                 "confidence-sequence": "an anytime-valid confidence sequence"}


@dataclass(frozen=True)
class InterimAnalysis:
    """The interim looks so far: the sequential analysis, feedback and what was done.

    ``status`` is ``"not planned"``, ``"not available"`` (with ``reason``) or
    ``"done"``; ``sequential`` is a
    :class:`~rct.evaluate.sequential.SequentialAnalysis` and ``feedback`` a
    :class:`~rct.evaluate.feedback.HotspotFeedback` when done.
    """

    status: str
    method: str
    reason: str = ""
    sequential: Any = None
    feedback: Any = None
    looks_done: int = 0
    planned_looks: int | None = None
    as_of: str | None = None

    @property
    def decision(self) -> str:
        """One sentence: whether a boundary was crossed (or why there is no look)."""
        if self.status == "not planned":
            return ("No interim looks at the effect are planned ([monitoring] sequential = "
                    "\"none\"): the effect is estimated once, at the end of the trial.")
        if self.status != "done":
            return f"Interim analysis not available: {self.reason}."
        return str(self.sequential.decision)

    def summary(self) -> str:
        if self.status != "done":
            return self.decision
        return (f"sequential ({_METHOD_NAMES.get(self.method, self.method)}, "
                f"{self.looks_done} of {self.planned_looks} planned looks to {self.as_of}): "
                f"{self.decision}")

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "method": self.method, "reason": self.reason,
                "decision": self.decision, "looks_done": self.looks_done,
                "planned_looks": self.planned_looks, "as_of": self.as_of,
                "sequential": None if self.sequential is None else self.sequential.to_dict(),
                "feedback": None if self.feedback is None else self.feedback.to_dict()}


def interim_analysis(trial: Any, *, as_of: Any = None) -> InterimAnalysis:
    """The planned interim analysis of the primary outcome up to ``as_of`` (inclusive).

    Parameters
    ----------
    trial
        ``trial.toml`` path or a loaded :class:`rct.config.Trial`.
    as_of
        Last trial day to use (default: the last day in the outcomes table).
    """
    import pandas as pd

    from rct.config import Trial, load_trial
    from rct.plan.plan import plan_from_trial

    t = trial if isinstance(trial, Trial) else load_trial(trial)
    plan = plan_from_trial(t)
    m = plan.monitoring
    method = str(m.get("sequential", "none"))
    if method == "none":
        return InterimAnalysis("not planned", method)
    if plan.design_type != "crossover":
        return InterimAnalysis("not available", method, "interim looks need a crossover design")
    out_path = Path(t.files.outcomes)
    if not out_path.exists():
        return InterimAnalysis("not available", method,
                               f"no outcomes table yet ({out_path.name}; run `rct ingest "
                               "crimes` with the crimes so far)")
    if t.files.allocation is None or not Path(t.files.allocation).exists():
        return InterimAnalysis("not available", method, "no allocation file")
    from rct.dosage.monitor import read_table
    from rct.evaluate.crossover import crossover_panel
    from rct.evaluate.feedback import hotspot_feedback
    from rct.evaluate.interim import expected_information, interim_estimates

    outcomes = read_table(out_path)
    allocation = read_table(t.files.allocation)
    if "trial_date" not in outcomes.columns:
        return InterimAnalysis("not available", method, "the outcomes table has months, "
                               "not trial days")
    primary = plan.primary.name
    d_out = pd.to_datetime(outcomes["trial_date"]).dt.date
    d_all = pd.to_datetime(allocation["trial_date"]).dt.date
    start = t.design.start or min(d_all)
    last = max(d for d in d_out if d <= (t.design.end or max(d_all)))
    cut = last if as_of is None else min(last, _date(as_of))
    outcomes = outcomes[(d_out >= start) & (d_out <= cut)]
    allocation = allocation[(d_all >= start) & (d_all <= cut)]
    if outcomes.empty:
        return InterimAnalysis("not available", method, f"no trial days up to {cut}")
    panel = crossover_panel(outcomes, allocation)
    key = plan.primary_test.key
    every = int(m["every_days"])
    K = int(m["planned_looks"] or 1)
    ie = interim_estimates(panel, outcome=primary,
                           estimator="conditional-poisson" if key == "rate-ratio" else "panel",
                           every=every, start=start, alpha=plan.alpha)
    if not ie.estimates:
        return InterimAnalysis("not available", method, f"no complete {every}-day look yet "
                               f"(first look on {start + dt.timedelta(days=every - 1)})",
                               planned_looks=K, as_of=str(cut))
    k_done = len(ie.estimates)
    if k_done > K:
        raise ConfigError([f"[monitoring] planned_looks = {K}, but {k_done} looks have "
                           "happened: the plan must name every look"], file=t.path)
    kw: dict[str, Any] = {"method": method, "alpha": plan.alpha,
                          "alternative": str(m["alternative"]), "outcome": primary}
    if method == "confidence-sequence":
        p = plan.power
        if p.rate is None:
            raise ConfigError(["[monitoring] sequential = \"confidence-sequence\" needs "
                               "[power] rate: the sequence's mixing is fixed from the design "
                               "before any data are seen"], file=t.path)
        n_hot = int(allocation["hotspot_id"].nunique())
        kw["horizon_information"] = expected_information(
            hotspots=n_hot, per_day=int(t.design.per_day), days=int(t.design.days),
            rate=float(p.rate), rate_cv=float(np.sqrt(p.heterogeneity)),
            inv_kappa=float(p.dispersion))
    else:
        done = np.arange(1, k_done + 1, dtype=float)
        kw["information_rates"] = done / K
        kw["final"] = k_done == K
    try:
        seq = ie.sequential(**kw)
    except ValueError as exc:
        return InterimAnalysis("not available", method, str(exc), planned_looks=K,
                               as_of=str(cut))
    try:
        fb = hotspot_feedback(panel, weeks=int(m["feedback_weeks"]), outcome=primary,
                              alpha=plan.alpha)
    except (ValueError, ArithmeticError) as exc:  # too few crimes in the window: say so
        fb = None
        seq_reason = f"feedback not available: {exc}"
        return InterimAnalysis("done", method, seq_reason, seq, None, k_done, K, str(cut))
    return InterimAnalysis("done", method, "", seq, fb, k_done, K, str(cut))


def _date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))
