"""Meta-analysis of trials: fixed effect, DerSimonian–Laird and REML random effects.

:func:`meta_analysis` pools one effect per trial (a log rate ratio, a log RIRR, or a
difference, with its sampling variance) the way ``metafor::rma()`` does — the same
estimators, the same Fisher-scoring iterations and convergence rule for REML, the
Knapp–Hartung adjustment, and ``predict.rma()``'s prediction interval — and returns an
:class:`~rct.evaluate.results.Estimate`.  Effects come from a table (``label, yi, vi``
or ``sei``), from pre/post or tasked/untasked counts (:func:`effects_from_counts`), or
from trials' ``results.json`` files (:func:`effects_from_results`).

The fitting core works on a batch of meta-analyses at once (arrays of shape
``(batch, k)``), so simulation checks need no Python loop over replicates.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rct.errors import DataError, RCTWarning
from rct.evaluate._prep import check_choice
from rct.evaluate.results import Estimate, Term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "meta_analysis",
    "effects_from_results",
    "effects_from_counts",
    "MetaAnalysisWarning",
    "METHODS",
    "SCALES",
]

METHODS = ("REML", "DL", "FE")
SCALES = ("log_ratio", "difference")
RIRR_COLUMNS = ("treated_pre", "treated_post", "control_pre", "control_post")
IRR_COLUMNS = ("events_treated", "exposure_treated", "events_control", "exposure_control")
_METHOD_TEXT = {
    "FE": "fixed-effect (inverse-variance) meta-analysis",
    "DL": "random-effects meta-analysis (DerSimonian-Laird tau^2)",
    "REML": "random-effects meta-analysis (REML tau^2)",
}
_LL_TOL = np.finfo(float).eps ** 0.25  # metafor's control$tol for its ll0check


class MetaAnalysisWarning(RCTWarning):
    """A meta-analysis choice that is allowed but questionable (e.g. Knapp–Hartung with FE)."""


# ---------------------------------------------------------------------------
# the fitting core (batched)
# ---------------------------------------------------------------------------


def _reml_tau2(y: np.ndarray, v: np.ndarray, threshold: float, max_iter: int,
               step_adjust: float = 1.0):
    """metafor's REML Fisher scoring for an intercept-only model, on ``(B, k)`` arrays.

    Start: the Hedges (HE) estimate floored at 0; step ``(y'PPy - tr P) / tr(PP)``
    (times ``step_adjust``, metafor's ``stepadj``), halved while it would take tau^2
    below 0; stop when a step changes tau^2 by at most ``threshold`` (non-convergence
    once more than ``max_iter`` steps were taken); then metafor's check that the
    likelihood at tau^2 = 0 is not higher.
    Returns ``(tau2, iterations, converged, reset_to_zero)``.
    """
    b, k = y.shape
    rss_he = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    tau2 = np.maximum(0.0, (rss_he - v.sum(axis=1) * (1 - 1 / k)) / (k - 1))
    iters = np.zeros(b, dtype=np.int64)
    active = np.ones(b, dtype=bool)
    converged = np.ones(b, dtype=bool)
    while active.any():
        ta, ya, va = tau2[active], y[active], v[active]
        w = 1.0 / (va + ta[:, None])
        sw, sw2, sw3 = w.sum(axis=1), (w**2).sum(axis=1), (w**3).sum(axis=1)
        mu = (w * ya).sum(axis=1) / sw
        ypp = ((w * (ya - mu[:, None])) ** 2).sum(axis=1)
        tr_p = sw - sw2 / sw
        tr_pp = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            adj = (ypp - tr_p) / tr_pp
        adj = adj * step_adjust
        adj[~np.isfinite(adj)] = 0.0
        adj[(ta + adj < 0) & (ta <= 0)] = 0.0  # halving from tau^2 = 0 ends at -0.0
        bad = ta + adj < 0
        while bad.any():
            adj[bad] /= 2
            bad &= ta + adj < 0
        new = ta + adj
        change = np.abs(new - ta)
        idx = np.flatnonzero(active)
        tau2[idx] = new
        iters[idx] += 1
        over = iters[idx] > max_iter
        converged[idx[over]] = False
        active[idx[(change <= threshold) | over]] = False
    # metafor's ll0check: a REML likelihood at tau^2 = 0 higher than at the estimate
    ll0, ll = _reml_loglik(y, v, np.zeros(b)), _reml_loglik(y, v, tau2)
    reset = converged & (ll0 - ll > _LL_TOL) & (tau2 > threshold)
    tau2 = np.where(reset, 0.0, tau2)
    return np.maximum(tau2, 0.0), iters, converged, reset


def _reml_loglik(y: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Restricted log likelihood of the intercept-only model, up to a constant."""
    w = 1.0 / (v + tau2[:, None])
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    return -0.5 * (np.log(v + tau2[:, None]).sum(axis=1) + np.log(sw)
                   + (w * (y - mu[:, None]) ** 2).sum(axis=1))


def _fit(y: np.ndarray, v: np.ndarray, *, method: str, knha: bool, alpha: float,
         threshold: float = 1e-5, max_iter: int = 100,
         step_adjust: float = 1.0) -> dict[str, np.ndarray]:
    """Fit ``B`` intercept-only meta-analyses of ``k`` studies (``y``, ``v``: ``(B, k)``)."""
    from scipy import stats

    y, v = np.atleast_2d(np.asarray(y, dtype=float)), np.atleast_2d(np.asarray(v, dtype=float))
    b, k = y.shape
    w0 = 1.0 / v
    sw0, sw0_2 = w0.sum(axis=1), (w0**2).sum(axis=1)
    mu0 = (w0 * y).sum(axis=1) / sw0
    q = np.maximum(0.0, (w0 * (y - mu0[:, None]) ** 2).sum(axis=1))
    tr_p0 = sw0 - sw0_2 / sw0
    iters = np.zeros(b, dtype=np.int64)
    converged, reset = np.ones(b, dtype=bool), np.zeros(b, dtype=bool)
    if method == "FE":
        tau2 = np.zeros(b)
    elif method == "DL":
        tau2 = np.maximum(0.0, (q - (k - 1)) / tr_p0)
    else:
        tau2, iters, converged, reset = _reml_tau2(y, v, threshold, max_iter, step_adjust)
    w = 1.0 / (v + tau2[:, None])
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    vb = 1.0 / sw
    s2w = np.ones(b)
    if knha:
        rss = (w * (y - mu[:, None]) ** 2).sum(axis=1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - 1))
        vb = s2w * vb
        dist = stats.t(k - 1)
    else:
        dist = stats.norm
    se = np.sqrt(vb)
    crit = float(dist.ppf(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = mu / se
    p = 2 * dist.sf(np.abs(stat))
    half_pi = crit * np.sqrt(vb + tau2)
    vt = (k - 1) / tr_p0  # metafor's "typical" within-study variance (i2def = "1")
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "FE":
            i2, h2 = np.maximum(0.0, 100 * (q - (k - 1)) / q), q / (k - 1)
        else:
            i2, h2 = 100 * tau2 / (vt + tau2), tau2 / vt + 1
    if method == "DL":
        pp0 = sw0_2 - 2 * (w0**3).sum(axis=1) / sw0 + (sw0_2 / sw0) ** 2
        se_tau2 = np.sqrt((2 * (k - 1) + 4 * tau2 * tr_p0 + 2 * tau2**2 * pp0) / tr_p0**2)
    elif method == "REML":
        sw2 = (w**2).sum(axis=1)
        se_tau2 = np.sqrt(2 / (sw2 - 2 * (w**3).sum(axis=1) / sw + (sw2 / sw) ** 2))
    else:
        se_tau2 = np.full(b, np.nan)
    return {"estimate": mu, "std_error": se, "statistic": stat, "p_value": p,
            "conf_low": mu - crit * se, "conf_high": mu + crit * se,
            "pi_low": mu - half_pi, "pi_high": mu + half_pi, "tau2": tau2, "se_tau2": se_tau2,
            "I2": i2, "H2": h2, "Q": q, "Q_p": stats.chi2.sf(q, k - 1), "s2w": s2w,
            "weights": 100 * w / sw[:, None], "iterations": iters, "converged": converged,
            "reset_to_zero": reset, "crit": np.full(b, crit)}


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def effects_from_counts(data: pd.DataFrame, *, correction: float = 0.0,
                        where: object | None = None) -> pd.DataFrame:
    """One log rate ratio per row from published counts.

    Two layouts are recognised (``label`` optional in both):

    * ``treated_pre, treated_post, control_pre, control_post`` (+ optional
      ``dispersion``): Wilson's log relative incident rate ratio, computed by
      :func:`rct.evaluate.prepost.rirr` (variance :math:`\\phi\\sum 1/n`);
    * ``events_treated, exposure_treated, events_control, exposure_control`` (crimes and
      hot-spot-days on tasked and untasked days, say): the log incidence-rate ratio
      :math:`\\log(x_1/t_1) - \\log(x_2/t_2)` with variance :math:`1/x_1 + 1/x_2`
      (``metafor::escalc(measure="IRR")``).

    ``correction`` is added to every count of a row that has a zero count (escalc's
    ``to="only0"``); with the default 0 a zero count is an error naming its row.
    Returns ``label, yi, vi, source``.
    """
    import pandas as pd

    from rct.evaluate.prepost import rirr

    cols = set(map(str, data.columns))
    layout = RIRR_COLUMNS if set(RIRR_COLUMNS) <= cols else IRR_COLUMNS
    missing = [c for c in layout if c not in cols]
    if missing:
        raise DataError(f"count columns missing: {missing}; give either {list(RIRR_COLUMNS)} "
                        f"or {list(IRR_COLUMNS)}", file=where)
    if not (np.isfinite(correction) and correction >= 0):
        raise ValueError(f"correction must be >= 0, got {correction!r}")
    n = np.column_stack([_numbers(data, c, where, positive=False) for c in layout])
    labels = _labels(data, where)
    counts = n[:, [0, 2]] if layout == IRR_COLUMNS else n
    zero = (counts <= 0).any(axis=1)
    if layout == IRR_COLUMNS:
        _numbers(data, "exposure_treated", where, positive=True)
        _numbers(data, "exposure_control", where, positive=True)
    if zero.any() and correction == 0:
        i = int(np.flatnonzero(zero)[0])
        raise DataError("a zero count has no log rate ratio; pass correction=0.5 to add 0.5 to "
                        "the counts of rows with a zero", file=where, row=i + 1,
                        value=dict(zip(layout, n[i].tolist(), strict=True)))
    add = np.where(zero, correction, 0.0)
    if layout == IRR_COLUMNS:
        x1, t1, x2, t2 = n[:, 0] + add, n[:, 1], n[:, 2] + add, n[:, 3]
        yi = np.log(x1 / t1) - np.log(x2 / t2)
        vi = 1 / x1 + 1 / x2
        source = "log IRR from counts and exposures"
    else:
        phi = (_numbers(data, "dispersion", where, positive=True) if "dispersion" in cols
               else np.ones(len(data)))
        fits = [rirr((a + c, b + c), (d + c, e + c), dispersion=f).term("log RIRR")
                for (a, b, d, e), c, f in zip(n, add, phi, strict=True)]
        yi = np.array([t.estimate for t in fits])
        vi = np.array([t.std_error**2 for t in fits])
        source = "log RIRR from pre/post counts (Wilson 2022)"
    return pd.DataFrame({"label": labels, "yi": yi, "vi": vi, "source": source})


def effects_from_results(results: Sequence[Any], *, outcome: str | None = None,
                         estimator: str | None = None) -> pd.DataFrame:
    """One log rate ratio per trial from ``results.json`` files (or their parsed dicts).

    Each item is a path, a parsed ``results.json`` (``EvaluationResults.to_dict()``), an
    :class:`~rct.evaluate.results.EvaluationResults`, or a single
    :class:`~rct.evaluate.results.Estimate` (or its ``to_dict()``).

    Notes
    -----
    From a trial's results the primary outcome (``"primary"``, or ``outcome=``) is taken,
    and among its estimates the first whose headline term is a rate ratio
    (``scale="ratio"``) or log rate ratio with a finite interval — model-based estimates
    (Poisson / quasi-Poisson / negative-binomial IRR, RIRR) before randomisation-inference
    ones; ``estimator=`` (a piece of the method text, e.g. ``"Poisson"``) chooses another.
    ``yi`` is the log of the ratio.  ``vi`` is the square of the log-scale standard
    error when the file states one (a ``log_ratio`` term, or ``details.std_error_scale``
    naming the log scale); otherwise it is derived from the interval on the log scale,
    :math:`SE = (\\log U - \\log L) / (2 z_{1-\\alpha/2})` — exact for a normal-theory
    interval, approximate for t-based or test-inversion (randomisation) intervals.
    The ``source`` column says which rule applied.
    """
    import pandas as pd

    rows = []
    for i, item in enumerate(results):
        d, where = _load_results(item, i)
        rows.append(_pick_effect(d, where, outcome, estimator))
    df = pd.DataFrame(rows, columns=["label", "yi", "vi", "source", "outcome", "method"])
    seen: dict[str, int] = {}
    labels = []
    for lab in df["label"]:
        seen[lab] = seen.get(lab, 0) + 1
        labels.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    df["label"] = labels
    return df


def _load_results(item: Any, i: int) -> tuple[dict, str]:
    if isinstance(item, str | Path):
        p = Path(item)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read results file: {exc}", file=p) from None
        if isinstance(d, dict):
            d.setdefault("meta", {})
            d["meta"] = {"trial": str(p), **(d["meta"] or {})}
        return d, str(p)
    if hasattr(item, "to_dict"):
        item = item.to_dict()
    if not isinstance(item, Mapping):
        raise DataError(f"results item {i + 1} is {type(item).__name__}, not a results "
                        "file, a parsed results.json or an Estimate")
    return dict(item), f"results item {i + 1}"


def _pick_effect(d: Mapping, where: str, outcome: str | None, estimator: str | None) -> dict:
    if "terms" in d:  # a single Estimate
        ests, primary = [d], outcome or d.get("outcome")
    else:
        ests, primary = list(d.get("estimates") or []), outcome or d.get("primary")
    cands = [e for e in ests if primary is None or e.get("outcome") == primary]
    if estimator is not None:
        cands = [e for e in cands if estimator.lower() in str(e.get("method", "")).lower()]
    ratio = [e for e in cands if _ratio_term(e) is not None]
    model = [e for e in ratio if not str(e.get("method", "")).startswith("randomisation")]
    if not ratio:
        methods = sorted({str(e.get("method")) for e in ests if e.get("outcome") == primary})
        raise DataError(f"no rate-ratio estimate with an interval for outcome {primary!r}"
                        + (f" matching {estimator!r}" if estimator else "")
                        + f"; its estimates are {methods}", file=where)
    e = (model or ratio)[0]
    t = _ratio_term(e)
    log = t["scale"] == "log_ratio"
    yi = float(t["estimate"]) if log else math.log(float(t["estimate"]))
    details = e.get("details") or {}
    log_terms = [u for u in e.get("terms", []) if u.get("scale") == "log_ratio"
                 and _finite(u.get("std_error"))]
    alpha = float(e.get("alpha", 0.05))
    if log_terms:
        se, source = float(log_terms[0]["std_error"]), "log-scale SE stated in the results"
    elif str(details.get("std_error_scale", "")).startswith("log") and _finite(t.get("std_error")):
        se, source = float(t["std_error"]), "log-scale SE stated in the results"
    else:
        from scipy import stats

        lo, hi = float(t["conf_low"]), float(t["conf_high"])
        lo, hi = (lo, hi) if log else (math.log(lo), math.log(hi))
        se = (hi - lo) / (2 * float(stats.norm.ppf(1 - alpha / 2)))
        source = f"SE from the {1 - alpha:.0%} CI on the log scale (normal approximation)"
    label = str((d.get("meta") or {}).get("trial") or where)
    return {"label": label, "yi": yi, "vi": se**2, "source": source,
            "outcome": e.get("outcome"), "method": e.get("method")}


def _ratio_term(e: Mapping) -> dict | None:
    for t in e.get("terms") or []:
        if t.get("scale") in ("ratio", "log_ratio") and _finite(t.get("estimate")) \
                and _finite(t.get("conf_low")) and _finite(t.get("conf_high")):
            if t["scale"] == "ratio" and not (t["estimate"] > 0 and t["conf_low"] > 0):
                continue
            return dict(t)
    return None


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _numbers(data: pd.DataFrame, column: str, where: object, *, positive: bool) -> np.ndarray:
    import pandas as pd

    v = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v) | ((v <= 0) if positive else (v < 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        need = "a positive finite number" if positive else "a finite non-negative number"
        raise DataError(f"value must be {need}", file=where, row=i + 1, column=column,
                        value=_py(data[column].iloc[i]))
    return v


def _py(x: Any) -> Any:
    """A numpy scalar as the Python value (for readable error messages)."""
    return x.item() if hasattr(x, "item") else x


def _labels(data: pd.DataFrame, where: object) -> list[str]:
    if "label" not in data.columns:
        return [f"study {i + 1}" for i in range(len(data))]
    labels = data["label"].astype(str).str.strip().tolist()
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab in ("", "nan", "None"):
            raise DataError("missing study label", file=where, row=i + 1, column="label")
        if lab in seen:
            raise DataError(f"duplicate study label (also row {seen[lab]})", file=where,
                            row=i + 1, column="label", value=lab)
        seen[lab] = i + 1
    return labels


def _effect_table(effects: Any, *, correction: float, outcome: str | None,
                  estimator: str | None) -> tuple[pd.DataFrame, object, str | None]:
    """``(table of label, yi, vi, source; where; outcome)`` from any accepted input."""
    import pandas as pd

    where: object = None
    if isinstance(effects, str | Path) and Path(effects).suffix.lower() in (".csv", ".parquet"):
        where = Path(effects)
        effects = (pd.read_parquet(where) if where.suffix.lower() == ".parquet"
                   else pd.read_csv(where))
    if isinstance(effects, pd.DataFrame):
        cols = set(map(str, effects.columns))
        if "yi" not in cols and (set(RIRR_COLUMNS) <= cols or set(IRR_COLUMNS) <= cols):
            return effects_from_counts(effects, correction=correction, where=where), where, outcome
        if "yi" not in cols:
            raise DataError(f"no column 'yi' (and no count columns); columns are {sorted(cols)}",
                            file=where)
        if "vi" not in cols and "sei" not in cols:
            raise DataError("give the variances as 'vi' or the standard errors as 'sei'",
                            file=where)
        yi = _numbers_finite(effects, "yi", where)
        if "vi" in cols:
            vi = _numbers(effects, "vi", where, positive=True)
            if "sei" in cols:
                sei = _numbers(effects, "sei", where, positive=True)
                off = ~np.isclose(sei**2, vi, rtol=1e-6, atol=0)
                if off.any():
                    i = int(np.flatnonzero(off)[0])
                    raise DataError(f"sei^2 = {sei[i] ** 2:.6g} differs from vi", file=where,
                                    row=i + 1, column="vi", value=_py(effects["vi"].iloc[i]))
        else:
            vi = _numbers(effects, "sei", where, positive=True) ** 2
        source = (effects["source"].astype(str).tolist() if "source" in cols
                  else "table (yi, vi)" if "vi" in cols else "table (yi, sei)")
        tab = pd.DataFrame({"label": _labels(effects, where), "yi": yi, "vi": vi,
                            "source": source})
        return tab, where, outcome
    if isinstance(effects, Sequence) and not isinstance(effects, str | bytes):
        tab = effects_from_results(effects, outcome=outcome, estimator=estimator)
        outs = set(tab["outcome"].dropna())
        return tab, where, outcome or (outs.pop() if len(outs) == 1 else None)
    raise DataError(f"effects must be a DataFrame, a .csv/.parquet table or a list of "
                    f"results files; got {type(effects).__name__}")


def _numbers_finite(data: pd.DataFrame, column: str, where: object) -> np.ndarray:
    import pandas as pd

    v = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError("value must be a finite number", file=where, row=i + 1, column=column,
                        value=_py(data[column].iloc[i]))
    return v


# ---------------------------------------------------------------------------
# the public entry point
# ---------------------------------------------------------------------------


def meta_analysis(
    effects: Any,
    *,
    method: Literal["REML", "DL", "FE"] = "REML",
    knha: bool = False,
    alpha: float = 0.05,
    scale: Literal["log_ratio", "difference"] = "log_ratio",
    outcome: str | None = None,
    estimator: str | None = None,
    correction: float = 0.0,
    threshold: float = 1e-5,
    max_iter: int = 100,
    step_adjust: float = 1.0,
) -> Estimate:
    """Pool one effect per trial: fixed effect, DerSimonian–Laird or REML random effects.

    Parameters
    ----------
    effects
        A DataFrame (or a ``.csv``/``.parquet`` path) with ``yi`` and ``vi`` (or ``sei``)
        and optionally ``label``; or a table of counts (see :func:`effects_from_counts`);
        or a list of trials' ``results.json`` paths / parsed dicts / results objects
        (see :func:`effects_from_results`).
    method
        ``"REML"`` (default, as ``metafor::rma``), ``"DL"`` or ``"FE"``.
    knha
        Knapp–Hartung adjustment (metafor ``test="knha"``): the variance of the pooled
        effect scaled by :math:`s^2_w` and a :math:`t_{k-1}` reference for the test,
        the interval and the prediction interval.
    alpha
        Interval level ``1 - alpha``.
    scale
        ``"log_ratio"`` (``yi`` are log rate ratios: a back-transformed ``"pooled ratio"``
        term and ratio-scale prediction interval are added) or ``"difference"``.
    outcome, estimator
        Which estimate of each results file to pool (see :func:`effects_from_results`).
    correction
        Added to the counts of rows with a zero count (count tables only).
    threshold, max_iter, step_adjust
        REML convergence: stop when a Fisher-scoring step changes :math:`\\tau^2` by at
        most ``threshold`` (metafor's ``control$threshold``, 1e-5) within ``max_iter``
        steps (``control$maxiter``, 100); each step is multiplied by ``step_adjust``
        (``control$stepadj``, 1).  When the iterations do not converge (they can
        oscillate when the maximum is near 0), metafor's remedies apply:
        ``step_adjust=0.5``, a larger ``max_iter``, or ``method="DL"``.

    Returns
    -------
    Estimate
        Terms ``"pooled"`` (on the ``yi`` scale; for ``scale="log_ratio"`` then
        ``"pooled ratio"``, ``exp`` of it with delta-method SE).  ``details``:
        ``tau2, tau, se_tau2, I2, H2, Q, Q_df, Q_p, pi_low, pi_high`` (prediction
        interval on the ``yi`` scale; ``pi_low_ratio, pi_high_ratio`` too), ``k``,
        ``weights`` (percent, by label), ``studies`` (each study's ``yi, vi, sei``, its
        normal-theory interval, weight and source), ``df``, ``knha_scale``, ``iterations``.

    Notes
    -----
    With weights :math:`w_i = 1/(v_i+\\hat\\tau^2)` the pooled effect is
    :math:`\\hat\\mu=\\sum w_i y_i/\\sum w_i`, :math:`SE = (\\sum w_i)^{-1/2}`.
    :math:`Q=\\sum v_i^{-1}(y_i-\\hat\\mu_{FE})^2` on :math:`k-1` df.  DerSimonian–Laird:
    :math:`\\hat\\tau^2=\\max\\{0,(Q-(k-1))/(\\sum v_i^{-1} - \\sum v_i^{-2}/\\sum v_i^{-1})\\}`.
    REML: Fisher scoring :math:`\\tau^2 \\leftarrow \\tau^2 + (y'PPy - \\mathrm{tr}P)/\\mathrm{tr}(PP)`,
    :math:`P = W - ww'/\\sum w`, from the Hedges estimate, steps halved at the boundary
    0 (Viechtbauer 2005).  :math:`I^2 = 100\\,\\hat\\tau^2/(\\hat\\tau^2+\\tilde v)`,
    :math:`H^2 = \\hat\\tau^2/\\tilde v + 1` with :math:`\\tilde v = (k-1)/\\mathrm{tr}P_{FE}`
    (for FE: :math:`I^2 = 100\\max(0, (Q-(k-1))/Q)`, :math:`H^2 = Q/(k-1)`).  Knapp–Hartung:
    :math:`s^2_w = \\sum w_i(y_i-\\hat\\mu)^2/(k-1)`, :math:`SE_{KH} = s_w SE`, reference
    :math:`t_{k-1}` (Knapp & Hartung 2003).  Prediction interval, as ``predict.rma()``:
    :math:`\\hat\\mu \\pm c\\sqrt{SE^2+\\hat\\tau^2}` with :math:`c` the interval's
    critical value (:math:`z`, or :math:`t_{k-1}` with Knapp–Hartung); for FE it is the
    confidence interval.  Viechtbauer, W. (2010), Conducting meta-analyses in R with the
    metafor package, *J. Stat. Softw.* 36(3); DerSimonian & Laird (1986), *Control.
    Clin. Trials* 7:177–188; Higgins & Thompson (2002), *Stat. Med.* 21:1539–1558.
    """
    check_choice("method", method, METHODS)
    check_choice("scale", scale, SCALES)
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (threshold > 0 and max_iter >= 1 and 0 < step_adjust <= 1):
        raise ValueError("threshold must be > 0, max_iter >= 1 and 0 < step_adjust <= 1")
    tab, where, outcome = _effect_table(effects, correction=correction, outcome=outcome,
                                        estimator=estimator)
    k = len(tab)
    if k < 2:
        raise DataError(f"a meta-analysis needs at least 2 studies; got {k}", file=where)
    if knha and method == "FE":
        warnings.warn("the Knapp-Hartung adjustment is meant for random-effects models, not FE",
                      MetaAnalysisWarning, stacklevel=2)
    y, v = tab["yi"].to_numpy(dtype=float), tab["vi"].to_numpy(dtype=float)
    f = {key: val[0] for key, val in _fit(y[None, :], v[None, :], method=method, knha=knha,
                                           alpha=alpha, threshold=threshold,
                                           max_iter=max_iter,
                                           step_adjust=step_adjust).items()}
    if not f["converged"]:
        raise DataError(f"REML did not converge in {max_iter} Fisher-scoring steps; try "
                        "step_adjust=0.5, a larger max_iter, or method='DL' (as metafor "
                        "advises)", file=where)
    if f["reset_to_zero"]:
        warnings.warn("REML Fisher scoring may have stopped at a local maximum; tau^2 set to 0 "
                      "(as metafor does)", MetaAnalysisWarning, stacklevel=2)
    est = Term("pooled", *(float(f[c]) for c in ("estimate", "std_error", "statistic", "p_value",
                                                  "conf_low", "conf_high")), scale=scale)
    terms = [est]
    from scipy import stats

    zq = float(stats.norm.ppf(1 - alpha / 2))
    sei = np.sqrt(v)
    studies = [{"label": lab, "yi": float(yy), "vi": float(vv), "sei": float(s),
                "conf_low": float(yy - zq * s), "conf_high": float(yy + zq * s),
                "weight": float(wt), "source": src}
               for lab, yy, vv, s, wt, src in zip(tab["label"], y, v, sei, f["weights"],
                                                  tab["source"], strict=True)]
    details: dict[str, Any] = {
        "tau2": float(f["tau2"]), "tau": math.sqrt(float(f["tau2"])),
        "se_tau2": float(f["se_tau2"]), "I2": float(f["I2"]), "H2": float(f["H2"]),
        "Q": float(f["Q"]), "Q_df": k - 1, "Q_p": float(f["Q_p"]),
        "pi_low": float(f["pi_low"]), "pi_high": float(f["pi_high"]), "k": k,
        "weights": {s["label"]: s["weight"] for s in studies}, "studies": studies,
        "tau2_method": method, "knha": bool(knha), "knha_scale": float(f["s2w"]),
        "df": k - 1 if knha else None, "iterations": int(f["iterations"]),
        "threshold": threshold if method == "REML" else None,
        "step_adjust": step_adjust if method == "REML" else None, "scale": scale,
    }
    if scale == "log_ratio":
        r = math.exp(est.estimate)
        terms.append(Term("pooled ratio", r, r * est.std_error, est.statistic, est.p_value,
                          math.exp(est.conf_low), math.exp(est.conf_high), scale="ratio"))
        details.update(pi_low_ratio=math.exp(details["pi_low"]),
                       pi_high_ratio=math.exp(details["pi_high"]))
        for s in studies:
            s.update(ratio=math.exp(s["yi"]), ratio_low=math.exp(s["conf_low"]),
                     ratio_high=math.exp(s["conf_high"]))
    text = _METHOD_TEXT[method] + (", Knapp-Hartung t-test" if knha else "")
    return Estimate(outcome=outcome or "effect", method=text, terms=tuple(terms), n=k,
                    alpha=alpha, details=details)
