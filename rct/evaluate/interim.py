"""Interim estimates of the primary crossover effect: the effect using data up to each look.

A look is a cut-off date; the estimate at look ``k`` uses every hot-spot-day up to and
including it, so the looks are cumulative and their estimates form the sequence that
:func:`rct.evaluate.sequential.sequential_test` monitors.

* :func:`stratified_log_rr` — the conditional-Poisson log rate ratio with hot-spot strata
  and its cluster-robust SE, computed from per-hot-spot sufficient statistics (tasked /
  untasked crimes and days) and vectorised over any leading axes (looks, simulations);
* :func:`interim_estimates` — that estimator, or the plan's panel estimators
  (:func:`rct.evaluate.crossover.crossover_poisson`, :func:`~rct.evaluate.crossover.crossover_fe`),
  at every look of a crossover panel.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from rct.evaluate.sequential import _json

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.evaluate.sequential import SequentialAnalysis

__all__ = ["ESTIMATORS", "stratified_log_rr", "StratifiedFit", "interim_estimates",
           "InterimEstimates", "expected_information"]

ESTIMATORS = ("conditional-poisson", "panel-poisson", "panel")
UNIT, TIME, TREAT = "hotspot_id", "trial_date", "tasked"


class StratifiedFit(NamedTuple):
    """:func:`stratified_log_rr` output (arrays over the leading axes)."""

    log_rr: np.ndarray
    std_error: np.ndarray
    df: np.ndarray


def stratified_log_rr(
    y1: Any, y0: Any, t1: Any, t0: Any, *, se: str = "cr2"
) -> StratifiedFit:
    """Conditional-Poisson log rate ratio with hot-spot strata, from sufficient statistics.

    Parameters
    ----------
    y1, y0
        Events on tasked / untasked days per hot spot: arrays whose last axis is the hot
        spot (any leading axes — looks, simulations — are computed together).
    t1, t0
        Tasked / untasked hot-spot-days, same shape (or broadcastable).
    se
        ``"cr2"`` (default): cluster-robust by hot spot with the CR2 leverage
        correction and Satterthwaite degrees of freedom; ``"cluster"``: the plain
        sandwich (CR1, ``G/(G-1)``, df ``G - 1``) as :func:`rct.evaluate.crossover.ppml_fe`;
        ``"model"``: the Poisson information (too small when counts are overdispersed;
        df infinite).

    Returns
    -------
    StratifiedFit
        ``(log_rr, std_error, df)`` over the leading axes; NaN where there is no
        information (no events, or all of them in one arm).  Refer ``log_rr / std_error``
        to Student's t with ``df``.

    Notes
    -----
    Conditioning on each hot spot's total ``Y_i = Y1_i + Y0_i`` removes its rate:
    ``Y1_i | Y_i ~ Binomial(Y_i, p_i(b))`` with ``p_i = T1_i e^b / (T1_i e^b + T0_i)``.
    ``b`` solves the score ``sum_i U_i = sum_i (Y1_i - Y_i p_i) = 0`` (Newton, from the
    Mantel–Haenszel estimate).  With ``q_i = Y_i p_i (1 - p_i)`` and ``J = sum_i q_i``:
    ``Var_model = 1/J``; ``Var_CR1 = G/(G-1) sum_i U_i^2 / J^2`` (``G`` hot spots) — the
    Poisson MLE with hot-spot fixed effects and SEs clustered by hot spot, equal to
    :class:`rct.evaluate.crossover.ConditionalPoissonLogRR` and
    :func:`rct.evaluate.crossover.ppml_fe` with hot-spot effects only (``U_i`` is hot spot
    ``i``'s cluster score); the randomisation makes day effects ignorable for its
    consistency.  ``Var_CR2 = sum_i U_i^2 / (1 - h_i) / J^2`` with leverage
    ``h_i = q_i / J`` (Bell & McCaffrey 2002), and ``df = (sum_i w_i)^2 / sum_i w_i^2``
    (Satterthwaite) from the working variances of a negative-binomial model,
    ``w_i = q_i (1 + lambda_i / kappa)``, ``lambda_i = Y_i / (T1_i + T0_i)`` and the
    moment estimate ``1/kappa = max(0, sum_i (U_i^2 - q_i) / sum_i q_i lambda_i)``
    (Imbens & Kolesár 2016 use a working model for the df in the same way).  With hot
    spots of very unequal rates a few dominate ``sum U_i^2``, so CR1 with normal
    quantiles over-rejects, most at the many looks of sequential monitoring; CR2 with
    these df kept the size at 5 % in ``tests/evaluate/test_sequential.py`` (see
    ``docs/sequential.md``).  Breslow & Day (1987) sec. 7.4.
    """
    if se not in ("cr2", "cluster", "model"):
        raise ValueError(f"se must be one of ('cr2', 'cluster', 'model'), got {se!r}")
    y1, y0, t1, t0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (y1, y0, t1, t0)))
    y = y1 + y0
    t = t1 + t0
    G = y.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(t > 0, t, 1.0)
        b = np.log((y1 * t0 / tt).sum(-1) / (y0 * t1 / tt).sum(-1))
    b = np.where(np.isfinite(b), np.clip(b, -20, 20), 0.0)
    for _ in range(60):  # Newton iterations, vectorised over the leading axes
        e = np.exp(b)[..., None]
        d = t1 * e + t0
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(d > 0, t1 * e / d, 0.0)
        f = (y1 - y * p).sum(-1)
        J = (y * p * (1 - p)).sum(-1)
        step = np.where(J > 0, f / np.where(J > 0, J, 1.0), 0.0)
        step = np.clip(step, -2, 2)
        b = np.clip(b + step, -20, 20)
        if np.all(np.abs(step) < 1e-12):
            break
    e = np.exp(b)[..., None]
    d = t1 * e + t0
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(d > 0, t1 * e / d, 0.0)
    q = y * p * (1 - p)
    J = q.sum(-1)
    ok = (J > 0) & (np.abs(b) < 20)
    Js = np.where(ok, J, 1.0)
    U = y1 - y * p
    with np.errstate(divide="ignore", invalid="ignore"):
        if se == "model":
            var = 1 / Js
            df = np.full(b.shape, np.inf)
        elif se == "cluster":
            var = (U**2).sum(-1) / Js**2 * (G / (G - 1) if G > 1 else np.nan)
            df = np.full(b.shape, float(G - 1))
        else:
            h = np.clip(q / Js[..., None], 0.0, 1 - 1e-12)
            var = (U**2 / (1 - h)).sum(-1) / Js**2
            lam = np.where(t > 0, y / np.where(t > 0, t, 1.0), 0.0)
            den = (q * lam).sum(-1)
            inv_k = np.maximum((U**2 - q).sum(-1) / np.where(den > 0, den, 1.0), 0.0)
            w = q * (1 + lam * inv_k[..., None])
            df = np.clip(w.sum(-1) ** 2 / np.where(ok, (w**2).sum(-1), 1.0), 1.0, max(G - 1, 1))
    sd = np.where(ok, np.sqrt(np.where(ok, var, 1.0)), np.nan)
    return StratifiedFit(np.where(ok, b, np.nan), sd, np.where(ok, df, np.nan))


def expected_information(
    *,
    hotspots: int,
    per_day: int,
    days: int,
    rate: float,
    rate_cv: float = 0.0,
    inv_kappa: float = 0.0,
) -> float:
    """Information ``1/SE^2`` of the conditional-Poisson log rate ratio expected after
    ``days`` of a crossover trial — for planning ``max_information`` and a confidence
    sequence's ``horizon_information`` *before* the data are seen.

    Parameters
    ----------
    hotspots, per_day, days
        The design: hot spots, tasked per day, trial days.
    rate
        Mean crimes per hot-spot-day (under no effect).
    rate_cv
        Coefficient of variation of the hot spots' rates (gamma distributed).
    inv_kappa
        Negative-binomial over-dispersion ``1/kappa`` of daily counts within a hot spot.

    Notes
    -----
    The estimator's variance is ``sum_i Var(U_i) / J^2`` (:func:`stratified_log_rr`) with
    ``J = sum_i Y_i p (1 - p)``, ``p = per_day / hotspots``, and, for negative-binomial
    days, ``Var(U_i) = days p (1 - p) lambda_i (1 + lambda_i / kappa)``.  Averaging over
    hot-spot rates with mean ``rate`` and ``E[lambda^2] = rate^2 (1 + rate_cv^2)``:
    ``I = hotspots days p (1 - p) rate / (1 + rate (1 + rate_cv^2) / kappa)``.  A
    first-order (large-sample) figure: in the simulations of ``docs/sequential.md`` it is
    3–11 % above ``1 / Var(b_hat)``.  The information must be fixed in advance for the
    spending schedule and the confidence sequence's mixing to keep their guarantees: take
    it from the design, not from the interim data.
    """
    if not (0 < per_day < hotspots):
        raise ValueError(f"per_day must be between 0 and hotspots, got {per_day}")
    if not (rate > 0 and days > 0):
        raise ValueError("rate and days must be positive")
    p = per_day / hotspots
    return float(hotspots * days * p * (1 - p) * rate
                 / (1 + rate * (1 + rate_cv**2) * inv_kappa))


@dataclass(frozen=True)
class InterimEstimates:
    """The primary effect at each look (see :func:`interim_estimates`).

    ``estimates`` and ``std_errors`` are on the log-ratio scale for the Poisson
    estimators and on the outcome's scale (tasked − untasked per hot-spot-day) for
    ``"panel"``; ``scale`` says which.  ``df`` are the degrees of freedom of Student's t
    to which ``estimate / std_error`` is referred.
    """

    outcome: str
    estimator: str
    method: str
    scale: str
    look_dates: tuple[Any, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    df: tuple[float, ...]
    days: tuple[int, ...]
    hotspot_days: tuple[int, ...]
    events: tuple[float, ...]
    tasked_days: tuple[int, ...]
    alpha: float = 0.05
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def information(self) -> np.ndarray:
        """``1 / SE^2`` at each look."""
        return 1 / np.asarray(self.std_errors, dtype=float) ** 2

    def tidy(self) -> pd.DataFrame:
        """One row per look: ``TIDY_COLUMNS`` (the interval and p-value are the
        *unadjusted* fixed-sample ones, t with ``df`` — use :meth:`sequential` for valid
        interim inference) plus ``look, look_date, days, hotspot_days, events,
        tasked_days, information, df, rate_ratio, scale``."""
        import pandas as pd
        from scipy import stats

        est = np.asarray(self.estimates, dtype=float)
        se = np.asarray(self.std_errors, dtype=float)
        df = np.asarray(self.df, dtype=float)
        q = stats.t.ppf(1 - self.alpha / 2, df)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = est / se
        ratio = self.scale == "log_ratio"
        lo, hi = est - q * se, est + q * se
        return pd.DataFrame({
            "outcome": self.outcome, "term": TREAT, "estimate": est, "std_error": se,
            "statistic": z, "p_value": 2 * stats.t.sf(np.abs(z), df),
            "conf_low": lo, "conf_high": hi,
            "method": f"interim (unadjusted): {self.method}",
            "n": np.asarray(self.hotspot_days, dtype=np.int64),
            "look": np.arange(1, len(est) + 1), "look_date": list(self.look_dates),
            "days": self.days, "hotspot_days": self.hotspot_days, "events": self.events,
            "tasked_days": self.tasked_days, "information": 1 / se**2, "df": df,
            "rate_ratio": np.exp(est) if ratio else np.nan, "scale": self.scale,
        })

    def to_dict(self) -> dict[str, Any]:
        return _json({"kind": "interim estimates", "outcome": self.outcome,
                       "estimator": self.estimator, "method": self.method,
                       "scale": self.scale, "alpha": self.alpha,
                       "looks": self.tidy().astype({"look_date": str}).to_dict(orient="list"),
                       "details": dict(self.details)})

    def summary(self) -> str:
        if not self.estimates:
            return f"{self.outcome}: no complete look yet ({self.method})"
        b, s = self.estimates[-1], self.std_errors[-1]
        shown = f"rate ratio {math.exp(b):.3f}" if self.scale == "log_ratio" else f"{b:.4g}"
        return (f"{self.outcome}: {len(self.estimates)} looks to {self.look_dates[-1]}; latest "
                f"{shown} (SE {s:.3g} on the {self.scale} scale) — {self.method}")

    def __str__(self) -> str:
        return self.summary()

    def sequential(self, **kw: Any) -> SequentialAnalysis:
        """:func:`rct.evaluate.sequential.sequential_test` on these looks (keyword options
        passed on; looks with no estimate yet are left out)."""
        from rct.evaluate.sequential import sequential_test

        est = np.asarray(self.estimates, dtype=float)
        se = np.asarray(self.std_errors, dtype=float)
        df = np.asarray(self.df, dtype=float)
        ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
        if not ok.any():
            raise ValueError("no look has an estimate yet (too few events)")
        labels = [str(d) for d, k in zip(self.look_dates, ok, strict=True) if k]
        kw.setdefault("outcome", self.outcome)
        kw.setdefault("scale", self.scale)
        if "information_rates" in kw and kw["information_rates"] is not None:
            kw["information_rates"] = np.asarray(kw["information_rates"], dtype=float)[ok]
        kw.setdefault("df", df[ok])
        if "information" in kw and kw["information"] is not None:
            kw["information"] = np.asarray(kw["information"], dtype=float)[ok]
        return sequential_test(est[ok], se[ok], labels=labels, **kw)


def _look_bins(dates: Any, looks: Any, every: int, start: Any, partial: bool = False
               ) -> tuple[np.ndarray, list]:
    """Bin of each row (index of the first look date >= its date; -1 after the last)."""
    import pandas as pd

    d = pd.to_datetime(pd.Series(dates)).dt.normalize().to_numpy().astype("datetime64[D]")
    if looks is None:
        if not isinstance(every, int | np.integer) or every < 1:
            raise ValueError(f"every must be a positive number of days, got {every!r}")
        first = np.datetime64(pd.Timestamp(start).date(), "D") if start is not None else d.min()
        n = int((d.max() - first).astype(int) + 1) // every
        cut = first + np.arange(1, n + 1) * every - 1
        if partial and (cut.size == 0 or cut[-1] < d.max()):
            cut = np.append(cut, d.max())
    else:
        cut = np.sort(pd.to_datetime(pd.Series(list(looks))).dt.normalize().to_numpy()
                      .astype("datetime64[D]"))
        if np.unique(cut).size != cut.size:
            raise ValueError("look dates must be distinct")
    b = np.searchsorted(cut, d, side="left")
    b = np.where(b < cut.size, b, -1)
    return b, [pd.Timestamp(c).date() for c in cut]


def interim_estimates(
    panel: Any,
    *,
    outcome: str = "crimes",
    estimator: str = "conditional-poisson",
    every: int = 7,
    looks: Any = None,
    start: Any = None,
    partial: bool = False,
    treatment: str = TREAT,
    unit: str = UNIT,
    time: str = TIME,
    alpha: float = 0.05,
) -> InterimEstimates:
    """The primary crossover effect at each look, using the data up to the look.

    Parameters
    ----------
    panel
        Crossover panel (one row per hot-spot-day with ``outcome`` and a 0/1
        ``treatment`` column), as from :func:`rct.evaluate.crossover.crossover_panel`.
    estimator
        ``"conditional-poisson"`` (default; :func:`stratified_log_rr`, fast, log rate
        ratio with hot-spot strata and SE clustered by hot spot), ``"panel-poisson"``
        (:func:`rct.evaluate.crossover.crossover_poisson`: hot-spot and day fixed
        effects; log IRR) or ``"panel"`` (:func:`rct.evaluate.crossover.crossover_fe`:
        OLS with two-way fixed effects; difference per hot-spot-day).
    every
        Days between looks (default weekly); looks fall on the last day of each complete
        period from ``start`` (default: the first trial date).  A trailing incomplete
        period is not a look unless ``partial=True`` (e.g. the final analysis on the last
        trial date).
    looks
        Explicit look dates instead (each look includes its date).

    Returns
    -------
    InterimEstimates

    Notes
    -----
    Look ``k`` uses every hot-spot-day with ``trial_date <= look_k``.  For
    ``"conditional-poisson"`` the per-hot-spot sums are accumulated over looks and the
    estimator is solved for every look at once.  The panel estimators are refitted on
    each look's data (their SEs are cluster-robust with the plan's settings, referred to
    t with ``G - 1`` df).
    A look with too few events for an estimate has NaN.
    """
    import pandas as pd

    from rct.errors import DataError

    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    missing = [c for c in (unit, time, outcome, treatment) if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks columns {missing}; it has {list(panel.columns)}")
    y = pd.to_numeric(panel[outcome], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any():
        raise DataError(f"{int(np.isnan(y).sum())} rows have no {outcome!r} value",
                        column=outcome)
    if estimator != "panel" and np.any(y < 0):
        raise DataError(f"{outcome!r} has negative values; a rate ratio needs y >= 0",
                        column=outcome)
    z = panel[treatment].to_numpy()
    if not np.isin(z, (0, 1)).all():
        raise DataError(f"{treatment!r} must be 0/1", column=treatment)
    z = z.astype(float)
    bins, cut = _look_bins(panel[time], looks, every, start, partial)
    K = len(cut)
    hs, H = pd.factorize(panel[unit].astype(str), sort=True)
    nH = len(H)
    keep = bins >= 0

    def acc(w: np.ndarray) -> np.ndarray:  # look x hot-spot sums, cumulative over looks
        out = np.bincount(bins[keep] * nH + hs[keep], w[keep], K * nH).reshape(K, nH)
        return np.cumsum(out, axis=0)

    Y1, Y0, T1, T0 = acc(y * z), acc(y * (1 - z)), acc(z), acc(1 - z)
    kept_dates = pd.to_datetime(panel[time]).dt.normalize().to_numpy()[keep]
    first = ~pd.Series(kept_dates).duplicated().to_numpy()  # one row per distinct date
    day_counts = np.cumsum(np.bincount(bins[keep][first], minlength=K))
    hsd = (T1 + T0).sum(axis=1)
    events = (Y1 + Y0).sum(axis=1)
    tasked = T1.sum(axis=1)
    if estimator == "conditional-poisson":
        est, se, df = stratified_log_rr(Y1, Y0, T1, T0) if K else (np.zeros(0),) * 3
        method = ("conditional Poisson log rate ratio (hot-spot strata), SE clustered by "
                  "hot spot (CR2, Satterthwaite df)")
        scale = "log_ratio"
    else:
        from rct.evaluate.crossover import crossover_fe, crossover_poisson

        est, se, df = np.full(K, np.nan), np.full(K, np.nan), np.full(K, np.nan)
        method = ""
        for k in range(K):  # one refit per look (a few dozen at most)
            sub = panel.loc[keep & (bins <= k)]
            if sub[outcome].sum() <= 0 or sub[treatment].nunique() < 2:
                continue
            try:
                if estimator == "panel-poisson":
                    e = crossover_poisson(sub, outcome=outcome, treatment=treatment, unit=unit,
                                          time=time, alpha=alpha)
                    est[k], se[k] = e.details["log_irr"], e.effect.std_error
                    df[k] = e.details["clusters"] - 1
                else:
                    e = crossover_fe(sub, outcome=outcome, treatment=treatment, unit=unit,
                                     time=time, alpha=alpha)
                    est[k], se[k] = e.effect.estimate, e.effect.std_error
                    df[k] = e.details["df"]
                method = e.method
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
                continue
        scale = "log_ratio" if estimator == "panel-poisson" else "difference"
        method = method or estimator
    return InterimEstimates(
        outcome=outcome, estimator=estimator, method=method, scale=scale,
        look_dates=tuple(cut), estimates=tuple(map(float, est)),
        std_errors=tuple(map(float, se)), df=tuple(map(float, df)), days=tuple(map(int, day_counts)),
        hotspot_days=tuple(map(int, hsd)), events=tuple(map(float, events)),
        tasked_days=tuple(map(int, tasked)), alpha=float(alpha),
        details={"every_days": None if looks is not None else int(every),
                 "hotspots": int(nH), "rows_after_last_look": int((~keep).sum())},
    )
