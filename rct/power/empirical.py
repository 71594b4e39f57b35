"""Empirical power from history: placebo trials on the user's own past crime counts.

Randomise the past as the trial would be randomised, impose the effect by
binomial thinning of the treated crimes, re-estimate with the planned
estimator, and count rejections; with no thinning the same procedure gives
the type I error on the same data.  No distributional assumption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rct.errors import DataError, DesignError
from rct.power._core import ALTERNATIVES, check_choice
from rct.power._design_core import _effect
from rct.power.estimators import crossover_fe_poisson, diff_means, rate_ratio
from rct.power.results import SimulationResult
from rct.power.simulate import _summarise

__all__ = ["history_matrix", "empirical_power", "calibrate_history", "Calibration"]

_PERIOD_COLUMNS = ("trial_date", "period", "month", "date", "day")


def history_matrix(
    history: Any,
    *,
    outcome: str = "crimes",
    hotspot: str = "hotspot_id",
    period: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hot spot x period matrix of counts from a long table.

    Parameters
    ----------
    history
        DataFrame with one row per hot spot and period (day, or month
        ``"YYYY-MM"`` as police.uk publishes) and a count column.
    outcome
        The count column (non-negative integers for thinning).
    period
        The period column; by default the first of ``trial_date``,
        ``period``, ``month``, ``date``, ``day`` present.

    Returns
    -------
    hotspot_ids, periods, counts
        ``counts[i, t]`` for sorted hot spots and periods; a hot spot-period
        absent from the table counts 0 (tables of crimes list only
        hot-spot-periods with crimes).
    """
    import pandas as pd

    if period is None:
        period = next((c for c in _PERIOD_COLUMNS if c in history.columns), None)
        if period is None:
            raise DataError(
                f"history needs a period column (one of {', '.join(_PERIOD_COLUMNS)}); "
                f"it has {list(history.columns)}"
            )
    for col in (hotspot, period, outcome):
        if col not in history.columns:
            raise DataError(f"history has no column {col!r}", column=col)
    y = pd.to_numeric(history[outcome], errors="coerce")
    bad = y.isna() | (y < 0) | (y != np.floor(y))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            "counts must be non-negative integers",
            row=i + 1,
            column=outcome,
            value=history[outcome].iloc[i],
        )
    wide = (
        pd.DataFrame({"h": history[hotspot].astype(str), "p": history[period].astype(str), "y": y})
        .pivot_table(index="h", columns="p", values="y", aggfunc="sum", fill_value=0)
        .sort_index()
    )
    wide = wide.reindex(columns=sorted(wide.columns), fill_value=0)
    return wide.index.to_numpy(), wide.columns.to_numpy(), wide.to_numpy(dtype=np.int64)


def _windows(n_periods: int, length: int, n: int, rng: np.random.Generator) -> np.ndarray:
    if length > n_periods:
        raise DesignError(f"the trial ({length} periods) is longer than the history ({n_periods})")
    return rng.integers(0, n_periods - length + 1, size=n)


def empirical_power(
    history: Any,
    *,
    design: str = "crossover",
    periods: int | None = None,
    per_period: int | None = None,
    share: float = 0.5,
    reduction: float | None = None,
    irr: float | None = None,
    n_sims: int = 2000,
    alpha: float = 0.05,
    outcome: str = "crimes",
    period: str | None = None,
    estimator: str | None = None,
    alternative: str = "two-sided",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    batch_size: int = 1000,
) -> SimulationResult:
    """Power and size of the planned test in placebo trials on past counts.

    Parameters
    ----------
    history
        Long table (see :func:`history_matrix`) or a ``(hot spots, periods)``
        integer array.
    design
        ``"crossover"`` (each period ``per_period`` hot spots tasked, default
        ``share`` of them) or ``"parallel"`` (``share`` of hot spots treated
        for the whole trial; outcome the total over the window).
    periods
        Trial length in periods (days, or months for police.uk data); each
        placebo trial uses a random window of that length (default: all).
    reduction, irr
        Effect imposed on treated hot-spot-periods by thinning.
    estimator
        Crossover ``"fe-poisson"``; parallel ``"rate-ratio"`` or ``"diff-means"``.

    Notes
    -----
    Each placebo trial draws a window of ``periods`` consecutive periods and
    a fresh assignment; treated crimes are kept with probability ``irr``:
    ``Y' ~ Binomial(Y, irr)`` (thinning a sum equals summing the thinned
    parts, so per-hot-spot treated totals are thinned at once).  The
    estimator is then applied exactly as in :func:`simulate_power`.  Power
    is the rejection rate with thinning, size without (same assignments).
    The result's ``truth`` is ``log(irr)``, the effect thinning imposes.
    """
    check_choice("design", design, ("crossover", "parallel"))
    check_choice("alternative", alternative, ALTERNATIVES)
    theta = _effect(reduction, irr)
    if theta is None or not 0 < theta <= 1:
        raise DesignError(
            "empirical power thins crimes: give a reduction in [0, 1) (irr in (0, 1])"
        )
    choices = ("fe-poisson",) if design == "crossover" else ("rate-ratio", "diff-means")
    estimator = estimator or choices[0]
    check_choice("estimator", estimator, choices)
    if rng is None:
        rng = np.random.default_rng(seed)
    if isinstance(history, np.ndarray):
        y = np.asarray(history, dtype=np.int64)
    else:
        y = history_matrix(history, outcome=outcome, period=period)[2]
    N, P = y.shape
    L = P if periods is None else int(periods)
    k = int(round(share * N)) if per_period is None else int(per_period)
    if not 0 < k < N:
        raise DesignError(f"need 0 < treated hot spots < {N}; got {k}")

    est1, se1, est0, se0, df1s, df0s = [], [], [], [], [], []
    done = 0
    while done < n_sims:  # batches; vectorised within
        m = min(batch_size, n_sims - done)
        start = _windows(P, L, m, rng)
        win = y[:, start[:, None] + np.arange(L)[None, :]]  # (N, m, L)
        win = np.transpose(win, (1, 0, 2))  # (m, N, L)
        if design == "crossover":
            ranks = np.argsort(rng.random((m, L, N)), axis=2).argsort(axis=2)
            z = np.transpose(ranks < k, (0, 2, 1))  # (m, N, L)
            t = np.where(z, win, 0).sum(axis=2)
            c = win.sum(axis=2) - t
            a = z.sum(axis=2).astype(float)
            b = L - a
            e0, s0, d0 = crossover_fe_poisson(t, c, a, b)
            e1, s1, d1 = crossover_fe_poisson(rng.binomial(t, theta), c, a, b)
        else:
            tot = win.sum(axis=2)
            ranks = np.argsort(rng.random((m, N)), axis=1).argsort(axis=1)
            z = (ranks < k).astype(np.int8)
            thinned = np.where(z == 1, rng.binomial(tot, theta), tot)
            fn = rate_ratio if estimator == "rate-ratio" else diff_means
            e0, s0, d0 = fn(tot.astype(float), z)
            e1, s1, d1 = fn(thinned.astype(float), z)
        df1s.append(np.broadcast_to(np.asarray(d1, dtype=float), (m,)))
        df0s.append(np.broadcast_to(np.asarray(d0, dtype=float), (m,)))
        est1.append(e1)
        se1.append(s1)
        est0.append(e0)
        se0.append(s0)
        done += m
    if estimator == "diff-means":
        truth = math.nan  # the imposed difference depends on the window's counts
    else:
        truth = math.log(theta)
    return _summarise(
        np.concatenate(est1),
        np.concatenate(se1),
        np.concatenate(est0),
        np.concatenate(se0),
        (np.concatenate(df1s), np.concatenate(df0s)),
        design=f"empirical-{design}",
        estimator=estimator,
        n_sims=n_sims,
        alpha=alpha,
        alternative=alternative,
        effect=theta,
        truth=truth,
        parameters={
            "design": design,
            "hotspots": N,
            "history_periods": P,
            "periods": L,
            "treated_per_period" if design == "crossover" else "treated": k,
            "mean_count": float(y.mean()),
        },
        seed=seed,
    )


@dataclass(frozen=True)
class Calibration:
    """Rates and dispersion estimated from a hot spot x period history (moments).

    ``rate`` per hot spot per period, day-level ``dispersion`` phi,
    between-hot-spot ``heterogeneity`` tau^2, and each hot spot's own mean
    (``hotspot_rates``, for :func:`~rct.power.simulate.simulate_power`).
    """

    rate: float
    dispersion: float
    heterogeneity: float
    hotspot_rates: tuple[float, ...]
    n_hotspots: int
    n_periods: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "dispersion": self.dispersion,
            "heterogeneity": self.heterogeneity,
            "n_hotspots": self.n_hotspots,
            "n_periods": self.n_periods,
        }


def calibrate_history(
    history: Any, *, outcome: str = "crimes", period: str | None = None
) -> Calibration:
    """Method-of-moments rate, overdispersion and heterogeneity from past counts.

    Notes
    -----
    Model: ``Y_it | u_i ~ NB(mean lambda u_i, phi)``, ``E u = 1``,
    ``Var u = tau^2``.  With ``m_i``, ``s_i^2`` the mean and variance over
    the ``P`` periods of hot spot ``i``: ``lambda = mean(m_i)``;
    ``E s_i^2 = mu_i + phi mu_i^2`` gives
    ``phi = max(0, sum(s_i^2 - m_i) / sum(m_i^2))``; ``Var_i(m_i) =
    lambda^2 tau^2 + E[s_i^2] / P`` gives
    ``tau^2 = max(0, (var_i(m_i) - mean(s_i^2) / P) / lambda^2)``.
    """
    if isinstance(history, np.ndarray):
        y = np.asarray(history, dtype=float)
    else:
        y = history_matrix(history, outcome=outcome, period=period)[2].astype(float)
    n, p = y.shape
    if n < 2 or p < 2:
        raise DataError(f"calibration needs at least 2 hot spots and 2 periods; got {n} x {p}")
    m = y.mean(axis=1)
    s2 = y.var(axis=1, ddof=1)
    lam = float(m.mean())
    if lam <= 0:
        raise DataError("the history has no crimes: cannot calibrate a rate")
    phi = max(0.0, float((s2 - m).sum() / (m * m).sum()))
    tau2 = max(0.0, float((m.var(ddof=1) - s2.mean() / p) / lam**2))
    return Calibration(lam, phi, tau2, tuple(float(v) for v in m), n, p)
