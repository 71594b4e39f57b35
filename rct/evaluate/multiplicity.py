"""Multiplicity adjustment across outcomes (Holm, Benjamini–Hochberg).

The primary outcome named in ``trial.toml`` is confirmatory and is tested alone at
``alpha``: its p-value is not adjusted.  The secondary outcomes form one family and
are adjusted together (Holm controls the family-wise error rate; Benjamini–Hochberg
the false discovery rate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from rct.evaluate._prep import check_choice
from rct.evaluate.results import Estimate, EvaluationResults

__all__ = ["adjust_pvalues", "adjust_estimates", "MULTIPLICITY_METHODS"]

#: accepted names -> canonical method
_ALIASES = {
    "holm": "holm",
    "bh": "bh",
    "fdr_bh": "bh",
    "benjamini-hochberg": "bh",
    "bonferroni": "bonferroni",
    "none": "none",
}
MULTIPLICITY_METHODS = tuple(_ALIASES)


def adjust_pvalues(p: Iterable[float], *, method: str = "holm") -> np.ndarray:
    """Adjusted p-values (same order); NaN p-values stay NaN and are not counted.

    Notes
    -----
    With ordered :math:`p_{(1)}\\le\\dots\\le p_{(m)}`: Holm (1979)
    :math:`\\tilde p_{(i)}=\\max_{k\\le i}\\min(1,(m-k+1)p_{(k)})`; Benjamini & Hochberg
    (1995) :math:`\\tilde p_{(i)}=\\min_{k\\ge i}\\min(1, m\\,p_{(k)}/k)`; Bonferroni
    :math:`\\min(1, m p_i)`.  Equal to statsmodels ``multipletests`` ("holm",
    "fdr_bh", "bonferroni") and R ``p.adjust``.
    """
    canon = _ALIASES[check_choice("multiplicity method", str(method).lower(), MULTIPLICITY_METHODS)]
    arr = np.asarray(list(p), dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = np.isfinite(arr)
    if ((arr[ok] < 0) | (arr[ok] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    q = arr[ok]
    m = q.size
    if m == 0:
        return out
    if canon == "none":
        adj = q.copy()
    elif canon == "bonferroni":
        adj = np.minimum(1.0, m * q)
    else:
        order = np.argsort(q, kind="stable")
        s = q[order]
        k = np.arange(1, m + 1)
        if canon == "holm":
            adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - k + 1) * s))
        else:
            adj_sorted = np.minimum(1.0, np.minimum.accumulate((m * s / k)[::-1])[::-1])
        adj = np.empty(m)
        adj[order] = adj_sorted
    out[ok] = adj
    return out


def adjust_estimates(
    estimates: Iterable[Estimate] | EvaluationResults,
    *,
    primary: str | None,
    method: str = "holm",
    meta: Mapping[str, Any] | None = None,
) -> EvaluationResults:
    """Collect estimates and adjust the headline p-values of the secondary outcomes.

    Parameters
    ----------
    estimates
        Estimates (or an :class:`EvaluationResults`), one or more per outcome.
    primary
        Primary outcome (``[analysis] primary``); its estimates keep their own
        p-value as ``p_adjusted``.  ``None``: every outcome is secondary.
    method
        ``"holm"``, ``"bh"`` (also ``"fdr_bh"``, ``"benjamini-hochberg"``),
        ``"bonferroni"`` or ``"none"``.

    Returns
    -------
    EvaluationResults
        With ``adjusted_p`` keyed by ``(outcome, method, term)`` for the headline
        (first) term of every estimate.

    Notes
    -----
    The family is the headline term of every estimate of a secondary outcome —
    one test per (outcome, estimator).  Pre-specify one estimator per outcome to
    keep the family small; sensitivity analyses add to the family.
    """
    canon = _ALIASES[check_choice("multiplicity method", str(method).lower(), MULTIPLICITY_METHODS)]
    if isinstance(estimates, EvaluationResults):
        meta = {**dict(estimates.meta), **dict(meta or {})}
        estimates = estimates.estimates
    ests = tuple(estimates)
    adjusted: dict[tuple[str, str, str], float] = {}
    secondary = [e for e in ests if e.outcome != primary]
    adj = adjust_pvalues([e.effect.p_value for e in secondary], method=canon)
    for e, a in zip(secondary, adj, strict=True):
        adjusted[(e.outcome, e.method, e.effect.term)] = float(a)
    for e in ests:
        if e.outcome == primary:
            adjusted[(e.outcome, e.method, e.effect.term)] = float(e.effect.p_value)
    return EvaluationResults(
        ests,
        primary=primary,
        adjustment=canon,
        adjusted_p=adjusted,
        meta=dict(meta or {}),
    )
