"""Per-hot-spot feedback for supervisors: recent-weeks effects, shrunk toward the trial-wide one.

Sherman (2022) argues that a crossover trial can tell supervisors, week by week, how
patrols are doing at *their* hot spots.  One hot spot's last few weeks hold a handful of
crimes, so its own rate ratio (tasked vs untasked days) is very noisy; empirical-Bayes
shrinkage pulls each toward the trial-wide effect by as much as its noise warrants, and
the intervals show how little one hot spot's weeks can show.

This is **feedback, not a test**: no p-values, no claims that a hot spot "worked"; the
trial's effect is the pre-registered primary analysis.

* :func:`hotspot_log_rr` — each hot spot's log rate ratio and its variance
  (negative-binomial over-dispersion), from per-hot-spot sums;
* :func:`eb_shrink` — normal–normal empirical Bayes (REML or DerSimonian–Laird
  ``tau^2``), vectorised over leading axes;
* :func:`hotspot_feedback` — both, on the last ``weeks`` weeks of a crossover panel.
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

__all__ = ["TAU2_METHODS", "DISPERSION", "INTERVALS", "hotspot_log_rr", "nb_inv_kappa",
           "eb_shrink", "eb_hierarchical", "EBShrinkage", "hotspot_feedback", "HotspotFeedback", "FEEDBACK_NOTE"]

TAU2_METHODS = ("reml", "dl")
DISPERSION = ("nb", "poisson")
INTERVALS = ("hierarchical", "plug-in")
FEEDBACK_NOTE = (
    "Feedback for supervisors, not a test: these per-hot-spot figures describe the last "
    "few weeks and are shrunk toward the trial-wide effect; they carry no p-values and "
    "must not be read as evidence that patrols did or did not work at any one hot spot. "
    "The trial's effect is its pre-registered primary analysis.")


def nb_inv_kappa(sum_sq: Any, n_days: Any, mean: Any) -> np.ndarray:
    """Moment estimate of the negative-binomial ``1/kappa`` from per-cell day counts.

    Parameters
    ----------
    sum_sq, n_days, mean
        For each cell (hot spot × arm; last axis), ``sum_t (y_t - mean)^2``, the number of
        days and the mean count per day.  Leading axes are computed separately.

    Notes
    -----
    ``Var(y) = m + m^2 / kappa`` per hot-spot-day, so
    ``E[sum_t (y_t - m_hat)^2] = (n - 1)(m + m^2/kappa)`` and
    ``1/kappa = max(0, sum_c [S_c - (n_c - 1) m_c] / sum_c (n_c - 1) m_c^2)``.
    """
    S, n, m = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (sum_sq, n_days, mean)))
    w = np.maximum(n - 1, 0)
    den = (w * m**2).sum(-1)
    num = (S - w * m).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.maximum(num / np.where(den > 0, den, 1.0), 0.0), 0.0)


def hotspot_log_rr(
    y1: Any, y0: Any, t1: Any, t0: Any, *, inv_kappa: Any = 0.0, pooled: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each hot spot's log rate ratio (tasked vs untasked days) and its variance.

    Parameters
    ----------
    y1, y0, t1, t0
        Crimes and days, tasked and untasked, per hot spot (last axis; leading axes are
        computed separately).
    inv_kappa
        Negative-binomial over-dispersion ``1/kappa`` (:func:`nb_inv_kappa`; 0 = Poisson),
        a scalar or one per leading index.
    pooled
        The pooled log rate ratio used in the variance (default: the conditional-Poisson
        estimate over all hot spots, :func:`rct.evaluate.interim.stratified_log_rr`).

    Returns
    -------
    (log_rr, variance) : numpy.ndarray
        ``variance = inf`` for a hot spot with no crime in the window (its own data say
        nothing); both NaN for one with no tasked or no untasked day.

    Notes
    -----
    ``log RR_i = log((Y1_i + 1/2) / T1_i) - log((Y0_i + 1/2) / T0_i)`` (the half keeps
    it finite when an arm saw no crime; Cox & Snell 1989).  Its variance is that of the
    conditional (on the hot spot's total ``Y_i``) binomial logit, inflated for
    negative-binomial over-dispersion:
    ``v_i = (1 + lambda_i / kappa) / (Y_i p_i (1 - p_i))`` with
    ``p_i = T1_i e^b / (T1_i e^b + T0_i)`` at the pooled ``b`` and
    ``lambda_i = Y_i / (T1_i + T0_i)``.  Using the total ``Y_i`` rather than the two arm
    counts keeps ``v_i`` from being small exactly when an arm's count happens to be
    small (which would make the raw intervals and the shrinkage weights depend on the
    noise they are meant to measure).
    """
    from rct.evaluate.interim import stratified_log_rr

    y1, y0, t1, t0 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (y1, y0, t1, t0)))
    ik = np.asarray(inv_kappa, dtype=float)
    if ik.ndim:
        ik = ik[..., None]
    if pooled is None:
        pooled = stratified_log_rr(y1, y0, t1, t0, se="model").log_rr
    pb = np.asarray(pooled, dtype=float)
    pb = np.where(np.isfinite(pb), pb, 0.0)
    e = np.exp(pb)[..., None] if pb.ndim else np.exp(pb)
    ok = (t1 > 0) & (t0 > 0)
    y = y1 + y0
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.log((y1 + 0.5) / t1) - np.log((y0 + 0.5) / t0)
        p = t1 * e / (t1 * e + t0)
        lam = y / (t1 + t0)
        info = y * p * (1 - p)
        v = np.where(info > 0, (1 + lam * ik) / np.where(info > 0, info, 1.0), np.inf)
    return np.where(ok, b, np.nan), np.where(ok, v, np.nan)


class EBShrinkage(NamedTuple):
    """:func:`eb_shrink` output; arrays (the per-hot-spot ones keep the last axis)."""

    center: np.ndarray
    center_se: np.ndarray
    tau2: np.ndarray
    weight: np.ndarray  # B_i = v_i / (v_i + tau^2): the weight on the centre
    estimate: np.ndarray
    std_error: np.ndarray
    conf_low: np.ndarray
    conf_high: np.ndarray


def eb_shrink(
    estimates: Any,
    variances: Any,
    *,
    method: str = "reml",
    center: Any = None,
    center_se: Any = 0.0,
    alpha: float = 0.05,
    tol: float = 1e-12,
    maxit: int = 500,
) -> EBShrinkage:
    """Normal–normal empirical-Bayes shrinkage of per-hot-spot estimates.

    Parameters
    ----------
    estimates, variances
        ``y_i`` and their sampling variances ``v_i`` (last axis: hot spots; NaN = left
        out; ``v_i = inf``: no information, so the hot spot gets the prior
        ``N(mu, tau^2)``).  Leading axes (e.g. simulations) are computed separately.
    method
        ``"reml"`` (default) or ``"dl"`` (DerSimonian–Laird method of moments) for
        ``tau^2``.
    center
        ``None``: shrink toward the precision-weighted mean ``mu_hat`` of the estimates
        (a random-effects meta-analysis); or a known centre (the trial-wide effect, e.g.
        the primary log rate ratio) with standard error ``center_se``.

    Returns
    -------
    EBShrinkage

    Notes
    -----
    ``theta_i ~ N(mu, tau^2)``, ``y_i | theta_i ~ N(theta_i, v_i)``.  Posterior mean
    ``theta~_i = mu + (1 - B_i)(y_i - mu)`` with ``B_i = v_i / (v_i + tau^2)``, and variance
    ``(1 - B_i) v_i + B_i^2 Var(mu_hat)`` (the second term for the estimated centre, as
    R ``metafor::blup``); interval ``theta~_i -/+ z_{1-alpha/2} SE``.  With ``mu``
    estimated: ``mu_hat = sum w_i y_i / sum w_i``, ``w_i = 1/(v_i + tau^2)``,
    ``Var(mu_hat) = 1 / sum w_i``; REML ``tau^2`` by Fisher scoring,
    ``tau^2 += (y'PPy - tr P) / tr PP`` with ``P = W - W11'W / 1'W1`` (truncated at 0; as
    ``metafor::rma(method = "REML")``); DL: ``tau^2 = max(0, (Q - (k-1)) / (sum w0 -
    sum w0^2 / sum w0))``, ``w0 = 1/v``.  With a known centre ``mu``: ML,
    ``tau^2 += (sum w^2 r^2 - sum w) / sum w^2`` with ``r = y - mu``, or the moment
    estimate ``max(0, (sum w0 r^2 - k) / sum w0)``.  Morris (1983), *JASA* 78:47–55;
    Raudenbush & Bryk (2002) ch. 3; Viechtbauer (2005).
    """
    from scipy import stats

    if method not in TAU2_METHODS:
        raise ValueError(f"method must be one of {TAU2_METHODS}, got {method!r}")
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    y, v = np.broadcast_arrays(y, v)
    present = np.isfinite(y) & ~np.isnan(v) & (v > 0)  # inf variance: no information
    valid = present & np.isfinite(v)
    yy = np.where(valid, y, 0.0)
    vv = np.where(valid, v, 1.0)
    k = valid.sum(-1)
    known = center is not None
    w0 = np.where(valid, 1 / vv, 0.0)
    if known:
        mu_k = np.asarray(center, dtype=float)
        r0 = np.where(valid, yy - mu_k[..., None] if mu_k.ndim else yy - mu_k, 0.0)
        tau2 = np.maximum(((w0 * r0**2).sum(-1) - k) / np.maximum(w0.sum(-1), 1e-300), 0.0)
    else:
        sw = w0.sum(-1)
        mu0 = (w0 * yy).sum(-1) / np.where(sw > 0, sw, 1.0)
        Q = (w0 * (yy - mu0[..., None]) ** 2).sum(-1)
        c = sw - (w0**2).sum(-1) / np.where(sw > 0, sw, 1.0)
        tau2 = np.maximum((Q - (k - 1)) / np.where(c > 0, c, 1.0), 0.0)
    if method == "reml":
        for _ in range(maxit):  # Fisher scoring, vectorised over the leading axes
            w = np.where(valid, 1 / (vv + tau2[..., None]), 0.0)
            sw = w.sum(-1)
            if known:
                r = r0
                num = (w**2 * r**2).sum(-1) - sw
                den = (w**2).sum(-1)
            else:
                mu = (w * yy).sum(-1) / np.where(sw > 0, sw, 1.0)
                r = np.where(valid, yy - mu[..., None], 0.0)
                s2, s3 = (w**2).sum(-1), (w**3).sum(-1)
                swn = np.where(sw > 0, sw, 1.0)
                num = (w**2 * r**2).sum(-1) - (sw - s2 / swn)
                den = s2 - 2 * s3 / swn + s2**2 / swn**2
            step = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
            new = np.maximum(tau2 + step, 0.0)
            done = np.all(np.abs(new - tau2) < tol * (1 + tau2))
            tau2 = new
            if done:
                break
    w = np.where(valid, 1 / (vv + tau2[..., None]), 0.0)
    sw = w.sum(-1)
    if known:
        mu = np.broadcast_to(np.asarray(center, dtype=float), tau2.shape).astype(float)
        mu_var = np.broadcast_to(np.asarray(center_se, dtype=float) ** 2, tau2.shape)
    else:
        mu = (w * yy).sum(-1) / np.where(sw > 0, sw, np.nan)
        mu_var = 1 / np.where(sw > 0, sw, np.nan)
    t2 = tau2[..., None]
    B = np.where(valid, vv / (vv + t2), np.where(present, 1.0, np.nan))
    post = np.where(valid, mu[..., None] + (1 - B) * (yy - mu[..., None]), mu[..., None])
    # (1 - B) v = tau^2 v / (v + tau^2) -> tau^2 as v -> inf (the prior)
    pvar = np.where(valid, t2 * vv / (vv + t2), t2) + B**2 * mu_var[..., None]
    se = np.sqrt(pvar)
    q = stats.norm.ppf(1 - alpha / 2)
    post = np.where(present, post, np.nan)
    se = np.where(present, se, np.nan)
    return EBShrinkage(center=np.asarray(mu, dtype=float), center_se=np.sqrt(mu_var),
                       tau2=tau2, weight=B, estimate=post, std_error=se,
                       conf_low=post - q * se, conf_high=post + q * se)


def eb_hierarchical(
    estimates: Any,
    variances: Any,
    *,
    center: Any = None,
    center_se: Any = 0.0,
    alpha: float = 0.05,
    tau_max: float = 3.0,
    grid: int = 121,
) -> EBShrinkage:
    """Shrinkage with the uncertainty in ``tau`` integrated out (hierarchical intervals).

    Same model and arguments as :func:`eb_shrink`, but instead of plugging in one
    ``tau^2`` the conditional posteriors are averaged over the posterior of ``tau`` on a
    grid, so the intervals stay honest when a few weeks cannot pin ``tau`` down (plug-in
    empirical-Bayes intervals then under-cover badly: ``tau^2`` is often estimated as 0
    and every hot spot is shrunk to the centre with a narrow interval).

    Returns
    -------
    EBShrinkage
        ``estimate`` the posterior mean, ``std_error`` the posterior SD, ``conf_low/high``
        the posterior ``alpha/2`` and ``1 - alpha/2`` quantiles (of the normal mixture,
        by bisection); ``tau2`` the posterior mean of ``tau^2``; ``weight`` the posterior
        mean of ``B_i``; ``center`` the posterior mean of ``mu``.

    Notes
    -----
    Uniform prior on ``tau`` over ``[0, tau_max]`` (``tau_max = 3`` on the log-ratio
    scale: rate ratios varying by a factor ``e^3`` SD across hot spots), flat prior on
    ``mu`` (or ``mu`` known, from ``center``).  On a grid of ``tau``:
    ``p(tau | y) ∝ V_mu^{1/2} prod_i (v_i + tau^2)^{-1/2} exp(-sum_i (y_i - mu_hat)^2 /
    (2 (v_i + tau^2)))`` with ``V_mu = 1 / sum_i 1/(v_i + tau^2)`` (known ``mu``: without
    ``V_mu^{1/2}``, ``mu_hat = mu``), and given ``tau`` each ``theta_i`` is normal with the
    mean and variance of :func:`eb_shrink`; the mixture over the grid uses the trapezoid
    rule.  Gelman, Carlin, Stern, Dunson, Vehtari &
    Rubin (2013), *Bayesian Data Analysis*, 3rd ed., sec. 5.4 (eqs. 5.17–5.21); Gelman
    (2006) for the uniform prior on ``tau``.
    """
    from scipy import special

    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    y, v = np.broadcast_arrays(y, v)
    present = np.isfinite(y) & ~np.isnan(v) & (v > 0)
    valid = present & np.isfinite(v)
    yy = np.where(valid, y, 0.0)
    vv = np.where(valid, v, 1.0)
    taus = np.linspace(0.0, float(tau_max), int(grid))
    t2 = (taus**2).reshape((-1,) + (1,) * y.ndim)  # grid axis first
    w = np.where(valid, 1 / (vv + t2), 0.0)
    sw = w.sum(-1)
    if center is None:
        mu = (w * yy).sum(-1) / np.where(sw > 0, sw, np.nan)
        mu_var = 1 / np.where(sw > 0, sw, np.nan)
        extra = -0.5 * np.log(np.where(sw > 0, sw, 1.0))
    else:
        mu = np.broadcast_to(np.asarray(center, dtype=float), sw.shape)
        mu_var = np.broadcast_to(np.asarray(center_se, dtype=float) ** 2, sw.shape)
        extra = 0.0
    r = np.where(valid, yy - mu[..., None], 0.0)
    ll = (-0.5 * np.where(valid, np.log(vv + t2), 0.0).sum(-1) + extra
          - 0.5 * (w * r**2).sum(-1))
    ll = ll - np.nanmax(ll, axis=0)
    trap = np.ones(taus.size)  # trapezoid rule over the tau grid
    trap[[0, -1]] = 0.5
    pi = np.exp(ll) * trap.reshape((-1,) + (1,) * (ll.ndim - 1))
    pi = pi / pi.sum(axis=0)
    B = np.where(valid, vv / (vv + t2), 1.0)
    m = mu[..., None] + (1 - B) * np.where(valid, yy - mu[..., None], 0.0)
    s2 = np.where(valid, t2 * vv / (vv + t2), t2) + B**2 * mu_var[..., None]
    s = np.sqrt(np.maximum(s2, 1e-300))
    P = pi[..., None]
    mean = (P * m).sum(0)
    sd = np.sqrt(np.maximum((P * (s2 + m**2)).sum(0) - mean**2, 0.0))
    bounds = []
    for q in (alpha / 2, 1 - alpha / 2):
        lo, hi = mean - 12 * sd - 1e-9, mean + 12 * sd + 1e-9
        for _ in range(50):  # vectorised bisection on the mixture CDF
            mid = (lo + hi) / 2
            F = (P * special.ndtr((mid - m) / s)).sum(0)
            lo, hi = np.where(F < q, mid, lo), np.where(F < q, hi, mid)
        bounds.append((lo + hi) / 2)
    nan = ~present
    return EBShrinkage(
        center=(pi * mu).sum(0), center_se=np.sqrt((pi * (mu_var + mu**2)).sum(0)
                                                    - (pi * mu).sum(0) ** 2),
        tau2=(pi * t2.reshape(pi.shape[:1] + (1,) * (pi.ndim - 1))).sum(0),
        weight=np.where(nan, np.nan, (P * B).sum(0)),
        estimate=np.where(nan, np.nan, mean), std_error=np.where(nan, np.nan, sd),
        conf_low=np.where(nan, np.nan, bounds[0]), conf_high=np.where(nan, np.nan, bounds[1]))


@dataclass(frozen=True)
class HotspotFeedback:
    """Recent-weeks effect per hot spot with empirical-Bayes shrinkage (feedback, not a test).

    ``table`` has one row per hot spot (see :meth:`tidy`); ``center`` is the trial-wide
    log rate ratio the estimates are shrunk toward, ``tau2`` the between-hot-spot
    variance of the true log rate ratios, ``inv_kappa`` the over-dispersion used.
    """

    outcome: str
    window_start: Any
    window_end: Any
    weeks: int
    center: float
    center_se: float
    center_source: str
    tau2: float
    tau2_method: str
    inv_kappa: float
    alpha: float
    table: Any  # pandas.DataFrame (private copy)
    kind: str = "feedback"
    note: str = FEEDBACK_NOTE
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        object.__setattr__(self, "table", self.table.copy())

    def tidy(self) -> pd.DataFrame:
        """One row per hot spot: ``TIDY_COLUMNS`` (``term`` = hot spot, ``estimate`` the
        shrunk rate ratio with its interval; ``std_error`` on the log scale;
        ``statistic`` and ``p_value`` are always NaN — this is not a test) plus
        ``hotspot_id, tasked_days, untasked_days, crimes_tasked, crimes_untasked,
        raw_rate_ratio, raw_low, raw_high, shrinkage_weight, kind``."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        t = self.table.copy()
        return _json({
            "kind": self.kind, "note": self.note, "outcome": self.outcome,
            "window_start": str(self.window_start), "window_end": str(self.window_end),
            "weeks": self.weeks, "center_rate_ratio": math.exp(self.center),
            "center_log": self.center, "center_se": self.center_se,
            "center_source": self.center_source, "tau2": self.tau2,
            "tau2_method": self.tau2_method, "inv_kappa": self.inv_kappa, "alpha": self.alpha,
            "hotspots": t.to_dict(orient="list"), "details": dict(self.details),
        })

    def summary(self) -> str:
        t = self.table
        ok = t["raw_low"].notna()
        pct = f"{1 - self.alpha:.0%}"
        if not ok.any():
            return f"{self.note} No hot spot had both tasked and untasked days in the window."
        lo, hi = float(t.loc[ok, "raw_low"].median()), float(t.loc[ok, "raw_high"].median())
        slo = float(t.loc[ok, "conf_low"].median())
        shi = float(t.loc[ok, "conf_high"].median())
        wt = float(t.loc[ok, "shrinkage_weight"].median())
        return (
            f"Per-hot-spot feedback, {self.window_start} to {self.window_end} "
            f"({self.weeks} weeks, {int(ok.sum())} hot spots): on its own, one hot spot's "
            f"weeks give a typical {pct} interval for its rate ratio of {lo:.2f} to {hi:.2f} "
            f"— too wide to judge that hot spot. Shrunk toward the trial-wide rate ratio "
            f"{math.exp(self.center):.3f} ({self.center_source}; typical weight on it "
            f"{wt:.0%}), the typical interval is {slo:.2f} to {shi:.2f}. {self.note}")

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False, float_format=lambda v: f"{v:.3g}")

    def __str__(self) -> str:
        return self.summary()


def hotspot_feedback(
    panel: Any,
    *,
    weeks: int = 4,
    outcome: str = "crimes",
    end: Any = None,
    center: Any = None,
    tau2_method: str = "reml",
    interval: str = "hierarchical",
    dispersion: str = "nb",
    alpha: float = 0.05,
    treatment: str = "tasked",
    unit: str = "hotspot_id",
    time: str = "trial_date",
) -> HotspotFeedback:
    """Recent-weeks effect per hot spot, shrunk toward the trial-wide effect.

    Parameters
    ----------
    panel
        Crossover panel (``hotspot_id, trial_date, tasked`` 0/1 and ``outcome``), e.g.
        :func:`rct.evaluate.crossover.crossover_panel`.
    weeks
        Length of the recent window, ending on ``end`` (default the last trial date).
    center
        What to shrink toward: ``None`` — the precision-weighted mean of the window's
        hot-spot estimates (random-effects); an :class:`~rct.evaluate.results.Estimate`
        with a ratio headline term (e.g. the trial's primary
        :func:`~rct.evaluate.crossover.crossover_poisson` IRR: its ``log_irr`` and SE are
        used); or a ``(log_rate_ratio, std_error)`` pair.
    tau2_method
        ``"reml"`` or ``"dl"``: the ``tau^2`` reported and used by ``interval="plug-in"``
        (:func:`eb_shrink`).
    interval
        ``"hierarchical"`` (default; :func:`eb_hierarchical`, ``tau`` integrated out —
        near-nominal coverage in simulation) or ``"plug-in"`` (:func:`eb_shrink` with the
        estimated ``tau^2``, as ``metafor::blup``; under-covers when a few weeks cannot
        pin ``tau^2`` down).  The shrunk estimate is the matching posterior mean.
    dispersion
        ``"nb"`` (default: negative-binomial ``1/kappa`` estimated from the window's
        hot-spot-days, :func:`nb_inv_kappa`) or ``"poisson"``.

    Returns
    -------
    HotspotFeedback

    Notes
    -----
    Per hot spot, :func:`hotspot_log_rr` over the window; then :func:`eb_shrink`.
    Rate ratios and intervals are reported on the ratio scale (``exp``).  A hot spot with
    no tasked or no untasked day in the window has no estimate (NaN row).
    """
    import pandas as pd

    from rct.errors import DataError

    if tau2_method not in TAU2_METHODS:
        raise ValueError(f"tau2_method must be one of {TAU2_METHODS}, got {tau2_method!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if dispersion not in DISPERSION:
        raise ValueError(f"dispersion must be one of {DISPERSION}, got {dispersion!r}")
    if not isinstance(weeks, int | np.integer) or weeks < 1:
        raise ValueError(f"weeks must be a positive integer, got {weeks!r}")
    missing = [c for c in (unit, time, outcome, treatment) if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks columns {missing}; it has {list(panel.columns)}")
    dates = pd.to_datetime(panel[time]).dt.normalize()
    last = dates.max() if end is None else pd.Timestamp(end).normalize()
    first = last - pd.Timedelta(days=7 * weeks - 1)
    win = panel.loc[((dates >= first) & (dates <= last)).to_numpy()]
    y = pd.to_numeric(win[outcome], errors="coerce").to_numpy(dtype=float)
    if np.isnan(y).any() or np.any(y < 0):
        raise DataError(f"{outcome!r} must be non-negative numbers", column=outcome)
    z = win[treatment].to_numpy()
    if not np.isin(z, (0, 1)).all():
        raise DataError(f"{treatment!r} must be 0/1", column=treatment)
    ids_all = pd.Index(sorted(panel[unit].astype(str).unique()))
    codes = ids_all.get_indexer(win[unit].astype(str))
    H = len(ids_all)
    cell = codes * 2 + z.astype(int)  # hot spot x arm
    n = np.bincount(cell, minlength=2 * H).astype(float)
    s = np.bincount(cell, y, 2 * H)
    m = np.where(n > 0, s / np.where(n > 0, n, 1.0), 0.0)
    ss = np.bincount(cell, y**2, 2 * H) - n * m**2
    ik = float(nb_inv_kappa(ss, n, m)) if dispersion == "nb" else 0.0
    Y0, Y1 = s[0::2], s[1::2]
    T0, T1 = n[0::2], n[1::2]
    b, v = hotspot_log_rr(Y1, Y0, T1, T0, inv_kappa=ik)
    if center is None:
        c, c_se, source = None, 0.0, "random-effects mean of these hot spots' recent weeks"
    elif hasattr(center, "terms"):
        c = float(center.details.get("log_irr", math.log(center.effect.estimate)))
        c_se, source = float(center.effect.std_error), f"given: {center.method}"
    else:
        c, c_se = (float(x) for x in center)
        source = "given trial-wide effect"
    plug = eb_shrink(b, v, method=tau2_method, center=c, center_se=c_se, alpha=alpha)
    eb = plug if interval == "plug-in" else eb_hierarchical(b, v, center=c, center_se=c_se,
                                                            alpha=alpha)
    from scipy import stats

    q = stats.norm.ppf(1 - alpha / 2)
    sd = np.sqrt(v)
    table = pd.DataFrame({
        "outcome": outcome, "term": ids_all.to_numpy(), "estimate": np.exp(eb.estimate),
        "std_error": eb.std_error, "statistic": np.nan, "p_value": np.nan,
        "conf_low": np.exp(eb.conf_low), "conf_high": np.exp(eb.conf_high),
        "method": ("empirical-Bayes feedback (hierarchical, tau integrated out), not a test"
                   if interval == "hierarchical" else
                   f"empirical-Bayes feedback ({tau2_method.upper()} tau^2), not a test"),
        "n": (T1 + T0).astype(np.int64), "hotspot_id": ids_all.to_numpy(),
        "tasked_days": T1.astype(np.int64), "untasked_days": T0.astype(np.int64),
        "crimes_tasked": Y1, "crimes_untasked": Y0, "raw_rate_ratio": np.exp(b),
        "raw_low": np.exp(b - q * sd), "raw_high": np.exp(b + q * sd),
        "shrinkage_weight": eb.weight, "kind": "feedback",
    })
    return HotspotFeedback(
        outcome=outcome, window_start=first.date(), window_end=last.date(), weeks=int(weeks),
        center=float(eb.center), center_se=float(eb.center_se), center_source=source,
        tau2=float(plug.tau2), tau2_method=tau2_method, inv_kappa=ik, alpha=float(alpha),
        table=table, details={"hotspots_with_estimate": int(np.isfinite(b).sum()),
                              "hotspots_without_crime": int(np.isinf(v).sum()),
                              "dispersion": dispersion, "interval": interval,
                              "tau2_posterior_mean": float(eb.tau2)},
    )
