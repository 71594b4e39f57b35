"""Monte Carlo power of hot-spot trials: simulate, estimate, count rejections.

Any design works: a :class:`CrossoverSpec` / :class:`ParallelSpec` given by
numbers, or a design object from :mod:`rct.randomise` (anything with
``.draw(n, rng)``, ``.units`` and ``.allocation``).  Counts are negative
binomial with per-hot-spot rates (gamma frailty, or rates calibrated to the
user's history); harm totals add weights drawn from an empirical harm
distribution.  Everything is vectorised over simulated trials.

Exact shortcuts (Notes of :func:`simulate_power`): a crossover trial is
simulated by each hot spot's totals on tasked and untasked days, because a
sum of ``a`` negative binomial draws with a common ``p`` is negative
binomial with size ``a / phi``, and the planned within-hot-spot estimator
depends on the data only through those totals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rct.errors import CalibrationWarning, DesignError
from rct.power._core import ALTERNATIVES, check_choice
from rct.power._design_core import _effect
from rct.power.estimators import (
    ancova,
    block_diff_means,
    critical_values,
    crossover_fe_poisson,
    diff_means,
    rate_ratio,
    reject,
)
from rct.power.results import SimulationResult

__all__ = [
    "CrossoverSpec",
    "ParallelSpec",
    "simulate_power",
    "simulate_crossover_panel",
    "size_band",
]

PARALLEL_ESTIMATORS = ("rate-ratio", "diff-means", "log-diff-means")
CROSSOVER_ESTIMATORS = ("fe-poisson",)


@dataclass(frozen=True)
class CrossoverSpec:
    """A crossover hot-spot-day design given by numbers: ``per_day`` of ``hotspots`` tasked daily.

    With ``equal_coverage`` (the :func:`rct.randomise.crossover` default)
    each hot spot is tasked on ``floor(D k / N)`` or ``ceil(D k / N)`` days,
    the extra days going to a random subset; otherwise each day's ``k``
    are drawn independently.
    """

    hotspots: int
    days: int
    per_day: int
    equal_coverage: bool = True

    def __post_init__(self) -> None:
        if not (0 < self.per_day < self.hotspots) or self.days < 1:
            raise DesignError(
                f"crossover needs 0 < per_day < hotspots and days >= 1; got hotspots="
                f"{self.hotspots}, days={self.days}, per_day={self.per_day}"
            )

    def tasked_days(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, hotspots)`` number of tasked days per hot spot in ``n`` fresh schedules."""
        N, D, k = self.hotspots, self.days, self.per_day
        if self.equal_coverage:
            base, rem = divmod(D * k, N)
            if rem == 0:
                return np.full((n, N), float(base))
            ranks = np.argsort(rng.random((n, N)), axis=1).argsort(axis=1)
            return base + (ranks < rem).astype(float)
        return self.draw_schedule(n, rng).sum(axis=2).astype(float)

    def draw_schedule(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, hotspots, days)`` 0/1 schedules (each day a random ``per_day`` subset).

        With ``equal_coverage`` the days are dealt round-robin from a
        random order, so coverage differs by at most one day.
        """
        N, D, k = self.hotspots, self.days, self.per_day
        if not self.equal_coverage:
            ranks = np.argsort(rng.random((n, D, N)), axis=2).argsort(axis=2)
            return np.transpose(ranks < k, (0, 2, 1)).astype(np.int8)
        out = np.zeros((n, N, D), dtype=np.int8)
        slots = np.arange(D * k)
        for s in range(n):  # only used for checks / the slow reference path
            order = rng.permutation(N)
            hs = order[slots % N]
            days = rng.permutation(D)[slots // k]
            out[s, hs, days] = 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"design": "crossover", "hotspots": self.hotspots, "days": self.days,
                "per_day": self.per_day, "equal_coverage": self.equal_coverage}  # fmt: skip


@dataclass(frozen=True)
class ParallelSpec:
    """A parallel design given by numbers: ``treated`` of ``hotspots`` (complete randomisation),
    or within ``blocks`` (one label per hot spot; half of each block treated)."""

    hotspots: int
    treated: int | None = None
    blocks: tuple | None = None

    def __post_init__(self) -> None:
        t = self.hotspots // 2 if self.treated is None else self.treated
        if not 0 < t < self.hotspots:
            raise DesignError(f"treated must be between 0 and hotspots; got {t}")
        if self.blocks is not None and len(self.blocks) != self.hotspots:
            raise DesignError("blocks must give one label per hot spot")

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        N = self.hotspots
        if self.blocks is None:
            t = N // 2 if self.treated is None else self.treated
            ranks = np.argsort(rng.random((n, N)), axis=1).argsort(axis=1)
            return (ranks < t).astype(np.int8)
        codes = np.unique(np.asarray(self.blocks), return_inverse=True)[1].ravel()
        key = codes[None, :] + rng.random((n, N))  # sort within blocks
        order = np.argsort(key, axis=1)
        pos = np.empty_like(order)
        np.put_along_axis(pos, order, np.arange(N)[None, :].repeat(n, 0), axis=1)
        sizes = np.bincount(codes)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])[codes]
        within = pos - start[None, :]
        n_t = sizes[codes] // 2 + (sizes[codes] % 2) * (rng.random((n, N)) < 0.5)
        return (within < n_t).astype(np.int8)

    def to_dict(self) -> dict[str, Any]:
        return {"design": "parallel", "hotspots": self.hotspots, "treated": self.treated,
                "blocked": self.blocks is not None}  # fmt: skip


# ---------------------------------------------------------------------------
# adapters for rct.randomise designs
# ---------------------------------------------------------------------------


def _is_crossover(design: Any) -> bool:
    if isinstance(design, CrossoverSpec):
        return True
    if isinstance(design, ParallelSpec):
        return False
    alloc = getattr(design, "allocation", None)
    return alloc is not None and "trial_date" in getattr(alloc, "columns", ())


def _unit_hotspots(design: Any) -> np.ndarray:
    """Hot-spot code (0..N-1) of every unit of a randomise design, in ``.units`` order."""
    import pandas as pd

    units = design.units
    if isinstance(units, pd.MultiIndex):
        ids = units.get_level_values(0)
    elif isinstance(units, pd.DataFrame):
        ids = units["hotspot_id"] if "hotspot_id" in units else units.iloc[:, 0]
    else:
        ids = pd.Index(units)
        if len(ids) and isinstance(ids[0], tuple):
            ids = pd.Index([u[0] for u in ids])
    return pd.factorize(pd.Index(ids))[0]


def _crossover_days(design: Any, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: tasked / untasked days per hot spot for ``n`` draws of the design."""
    if isinstance(design, CrossoverSpec):
        a = design.tasked_days(n, rng)
        return a, design.days - a
    codes = _unit_hotspots(design)
    N = int(codes.max()) + 1
    onehot = np.zeros((codes.size, N), dtype=np.float32)
    onehot[np.arange(codes.size), codes] = 1.0
    z = (np.asarray(design.draw(n, rng)) == 1).astype(np.float32)
    a = (z @ onehot).astype(float)
    return a, onehot.sum(axis=0)[None, :] - a


def _parallel_draw(design: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    z = np.asarray(design.draw(n, rng))
    return (z == 1).astype(np.int8)


def _blocks_of(design: Any) -> np.ndarray | None:
    if isinstance(design, ParallelSpec):
        return None if design.blocks is None else np.asarray(design.blocks)
    alloc = getattr(design, "allocation", None)
    if alloc is not None and "block" in alloc.columns and alloc["block"].nunique() > 1:
        return alloc["block"].astype(str).to_numpy()
    return None


def _n_hotspots(design: Any) -> int:
    if isinstance(design, (CrossoverSpec, ParallelSpec)):
        return design.hotspots
    return int(_unit_hotspots(design).max()) + 1


# ---------------------------------------------------------------------------
# data generation
# ---------------------------------------------------------------------------


def _rates(
    rate: float, hotspot_rates: np.ndarray | None, heterogeneity: float, shape: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    if hotspot_rates is not None:
        return np.broadcast_to(np.asarray(hotspot_rates, dtype=float), shape)
    if heterogeneity > 0:
        return rate * rng.gamma(1.0 / heterogeneity, heterogeneity, size=shape)
    return np.full(shape, float(rate))


def _nb_totals(
    mean_per_day: np.ndarray, days: np.ndarray, dispersion: float, rng: np.random.Generator
) -> np.ndarray:
    """Sum over ``days`` of NB(mean, phi) day counts: NB with size ``days / phi`` (exact)."""
    mu = mean_per_day * days
    if dispersion <= 0:
        return rng.poisson(mu).astype(float)
    lam = rng.gamma(np.maximum(days, 0.0) / dispersion, dispersion * mean_per_day)
    return rng.poisson(lam).astype(float)


def _harm(counts: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Compound sums: each count replaced by the sum of that many resampled harm weights."""
    c = counts.astype(np.int64).ravel()
    total = int(c.sum())
    w = rng.choice(weights, size=total)
    idx = np.repeat(np.arange(c.size), c)
    return np.bincount(idx, weights=w, minlength=c.size).reshape(counts.shape)


def simulate_crossover_panel(
    spec: CrossoverSpec,
    *,
    rate: float,
    irr: float,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    rng: np.random.Generator,
) -> Any:
    """One simulated crossover trial as a hot-spot-day panel (the slow, literal path).

    Returns a DataFrame with ``hotspot_id, day, tasked, crimes`` (N x D rows),
    from the same model :func:`simulate_power` draws totals from.  For
    checks and for benchmarking against per-trial regression fits.
    """
    import pandas as pd

    z = spec.draw_schedule(1, rng)[0]
    lam = _rates(rate, None, heterogeneity, (1, spec.hotspots), rng)[0]
    mu = lam[:, None] * np.where(z == 1, irr, 1.0)
    if dispersion > 0:
        y = rng.poisson(rng.gamma(1.0 / dispersion, dispersion * mu))
    else:
        y = rng.poisson(mu)
    N, D = z.shape
    return pd.DataFrame(
        {
            "hotspot_id": np.repeat(np.arange(N), D),
            "day": np.tile(np.arange(D), N),
            "tasked": z.ravel().astype(np.int8),
            "crimes": y.ravel(),
        }
    )


def size_band(alpha: float, n_sims: int, z: float = 2.576) -> tuple[float, float]:
    """Monte Carlo band ``alpha +/- z sqrt(alpha (1 - alpha) / n_sims)`` for a test's size."""
    h = z * math.sqrt(alpha * (1 - alpha) / n_sims)
    return alpha - h, alpha + h


def _summarise(
    est1: np.ndarray,
    se1: np.ndarray,
    est0: np.ndarray,
    se0: np.ndarray,
    df: float | np.ndarray | tuple,
    *,
    design: str,
    estimator: str,
    n_sims: int,
    alpha: float,
    alternative: str,
    effect: float,
    truth: float,
    null: float = 0.0,
    parameters: dict[str, Any],
    seed: int | None,
) -> SimulationResult:
    """Power, size, bias and coverage of simulated (or placebo) trials.

    ``est1, se1`` are the trials under the effect, ``est0, se0`` under the
    null.  Warns (:class:`~rct.errors.CalibrationWarning`, at the caller of
    the public function) when the size is outside :func:`size_band`.
    """
    df1, df0 = df if isinstance(df, tuple) else (df, df)
    power = float(reject(est1, se1, df1, alpha, alternative, null).mean())
    size = float(reject(est0, se0, df0, alpha, alternative, null).mean())
    lo, hi = size_band(alpha, n_sims)
    size_ok = lo <= size <= hi
    crit = np.broadcast_to(critical_values(alpha, df1, "two-sided"), np.shape(est1))
    ok = np.isfinite(est1) & np.isfinite(se1) & np.isfinite(crit)
    bias = float(np.mean(est1[ok]) - truth) if ok.any() else math.nan
    coverage = (float(np.mean(np.abs(est1[ok] - truth) <= crit[ok] * se1[ok])) if ok.any()
                else math.nan)
    result = SimulationResult(
        design=design,
        estimator=estimator,
        n_sims=int(n_sims),
        alpha=alpha,
        effect=effect,
        truth=truth,
        power=power,
        power_mcse=math.sqrt(power * (1 - power) / n_sims),
        size=size,
        size_mcse=math.sqrt(alpha * (1 - alpha) / n_sims),
        size_ok=bool(size_ok),
        bias=bias,
        coverage=coverage,
        mean_se=float(np.mean(se1[ok])) if ok.any() else math.nan,
        sd_estimate=float(np.std(est1[ok], ddof=1)) if ok.sum() > 1 else math.nan,
        parameters={
            **parameters,
            "alternative": alternative,
            "mean_df": float(np.nanmean(np.broadcast_to(df1, np.shape(est1))[ok]))
            if ok.any() else math.nan,
            "degenerate": int((~ok).sum()),
            "seed": seed,
        },
    )
    if not size_ok:
        warnings.warn(
            f"{estimator}: {result.verdict} (band [{lo:.3f}, {hi:.3f}])",
            CalibrationWarning,
            stacklevel=3,  # the caller of simulate_power / empirical_power
        )
    return result


# ---------------------------------------------------------------------------
# one batch of simulated trials -> (estimate, se, df)
# ---------------------------------------------------------------------------


def _crossover_batch(
    ab: tuple[np.ndarray, np.ndarray], theta: float, rate: float, hotspot_rates: np.ndarray | None,
    heterogeneity: float, dispersion: float, weights: np.ndarray | None, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, float]:  # fmt: skip
    a, b = ab
    lam = _rates(rate, hotspot_rates, heterogeneity, a.shape, rng)
    t = _nb_totals(lam * theta, a, dispersion, rng)
    c = _nb_totals(lam, np.broadcast_to(b, a.shape), dispersion, rng)
    if weights is not None:
        t, c = _harm(t, weights, rng), _harm(c, weights, rng)
    return crossover_fe_poisson(t, c, a, b)


def _parallel_batch(
    z: np.ndarray, theta: float, rate: float, hotspot_rates: np.ndarray | None,
    heterogeneity: float, dispersion: float, weights: np.ndarray | None, days: float,
    estimator: str, blocks: np.ndarray | None, rng: np.random.Generator,
    baseline_days: float | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:  # fmt: skip
    lam = _rates(rate, hotspot_rates, heterogeneity, z.shape, rng)
    y = _nb_totals(
        lam * np.where(z == 1, theta, 1.0), np.full(z.shape, float(days)), dispersion, rng
    )
    if weights is not None:
        y = _harm(y, weights, rng)
    if estimator == "rate-ratio":
        return rate_ratio(y, z)
    if estimator == "log-diff-means":
        y = np.log1p(y)
    if baseline_days:
        x = _nb_totals(lam, np.full(z.shape, float(baseline_days)), dispersion, rng)
        if weights is not None:
            x = _harm(x, weights, rng)
        if estimator == "log-diff-means":
            x = np.log1p(x)
        return ancova(y, z, x)
    if blocks is not None:
        return block_diff_means(y, z, blocks)
    return diff_means(y, z)


def simulate_power(
    design: Any,
    *,
    rate: float,
    reduction: float | None = None,
    irr: float | None = None,
    n_sims: int = 2000,
    alpha: float = 0.05,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    hotspot_rates: Sequence[float] | np.ndarray | None = None,
    harm_weights: Sequence[float] | np.ndarray | None = None,
    days: float = 1.0,
    baseline_days: float | None = None,
    estimator: str | None = None,
    alternative: str = "two-sided",
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    batch_size: int = 5000,
) -> SimulationResult:
    """Power, size, bias and coverage of the planned test by simulating the whole trial.

    Parameters
    ----------
    design
        :class:`CrossoverSpec`, :class:`ParallelSpec`, or a design object
        from :mod:`rct.randomise` (fresh assignments from its ``.draw``).
    rate
        Crimes per hot-spot-day (crossover) or per hot spot per day / period
        (parallel, times ``days``) without treatment.
    reduction, irr
        The true effect (``irr = 1 - reduction``).
    n_sims
        Simulated trials under the effect, and as many under the null.
    dispersion, heterogeneity
        Day-level NB dispersion ``phi`` and between-hot-spot variance
        ``tau^2`` (gamma frailty, redrawn each trial).
    hotspot_rates
        Per-hot-spot control rates (e.g. from history); overrides ``rate``
        and ``heterogeneity``.
    harm_weights
        Empirical harm weights per crime: outcomes become harm totals.
    days
        Parallel design: days (or periods) each hot spot is followed.
    baseline_days
        Parallel design: also draw each hot spot's pre-trial count over this
        many days (same rate, no treatment) and adjust for it (ANCOVA, HC2
        SE, :func:`rct.power.estimators.ancova`); ``diff-means`` and
        ``log-diff-means`` only.
    estimator
        The estimator and test the evaluation runs.  Crossover:
        ``"fe-poisson"`` — the within-hot-spot (hot-spot fixed effects) log rate
        ratio with the CR2 cluster-robust SE and Satterthwaite df of each trial,
        exactly :func:`rct.evaluate.crossover.crossover_poisson` with
        ``day_effects=False`` (the default two-way fit differs by well under a
        point of power without day shocks:
        ``tests/power/test_power_agreement.py``).  Parallel: ``"rate-ratio"``
        (default; the quasi-Poisson t test on ``N - 2`` df, exactly
        :func:`rct.evaluate.counts.count_model`'s default without covariates),
        ``"diff-means"`` (Welch's test with each trial's Welch df, as
        :func:`rct.evaluate.parallel.difference_in_means`; block fixed effects
        with an HC1 SE when the design has blocks), ``"log-diff-means"``
        (difference in mean ``log(1 + y)``, Welch).
    seed, rng
        Randomness (one of them; ``seed`` makes a fresh generator).

    Returns
    -------
    SimulationResult
        Power with its Monte Carlo SE, size of the same test under the null
        (``size_ok`` False, and a :class:`~rct.errors.CalibrationWarning`,
        when outside the 99 % Monte Carlo band), bias and coverage of
        the estimate of the log IRR (difference for ``diff-means``).

    Notes
    -----
    Crossover: per-hot-spot tasked days ``a_i`` come from the design; the
    totals are drawn as ``T_i ~ NB(size a_i / phi, mean a_i lambda_i irr)``
    and ``C_i ~ NB(size b_i / phi, mean b_i lambda_i)`` (Poisson when
    ``phi = 0``), which is exactly the distribution of the sums of daily
    NB(mean, phi) counts, and the estimator
    (:func:`rct.power.estimators.crossover_fe_poisson`) depends only on them.
    Parallel: each hot spot's total over ``days`` is drawn the same way.
    Harm totals are compound sums of weights resampled from
    ``harm_weights``.  The null trials reuse the alternative trials'
    assignments (fresh data), so a design's draws are paid for once.  Monte Carlo SE of a rejection rate ``p`` is
    ``sqrt(p (1 - p) / n_sims)`` (Morris, White & Crowther 2019, Statistics
    in Medicine 38:2074-2102).
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    theta = _effect(reduction, irr)
    if theta is None:
        raise DesignError("simulate_power needs the effect: give reduction or irr")
    if n_sims < 10:
        raise DesignError(f"n_sims must be at least 10; got {n_sims}")
    if rng is None:
        rng = np.random.default_rng(seed)
    crossover = _is_crossover(design)
    choices = CROSSOVER_ESTIMATORS if crossover else PARALLEL_ESTIMATORS
    estimator = estimator or choices[0]
    check_choice("estimator", estimator, choices)
    n_hot = _n_hotspots(design)
    hr = None if hotspot_rates is None else np.asarray(hotspot_rates, dtype=float)
    if hr is not None and hr.shape != (n_hot,):
        raise DesignError(
            f"hotspot_rates must have one rate per hot spot ({n_hot}); got {hr.shape}"
        )
    w = None if harm_weights is None else np.asarray(harm_weights, dtype=float)
    if w is not None and (w.size == 0 or np.any(w < 0)):
        raise DesignError("harm_weights must be a non-empty array of non-negative weights")
    blocks = None if crossover else _blocks_of(design)
    if baseline_days and (crossover or estimator == "rate-ratio"):
        raise DesignError(
            "baseline_days adjusts a parallel 'diff-means' or 'log-diff-means' estimator"
        )

    def run() -> tuple[np.ndarray, ...]:
        """Alternative and null trials; each batch of assignments serves both (paired)."""
        out: list[list[np.ndarray]] = [[], [], [], [], [], []]
        done = 0
        while done < n_sims:  # loop over batches, vectorised within
            m = min(batch_size, n_sims - done)
            if crossover:
                ab = _crossover_days(design, m, rng)
                res = [_crossover_batch(ab, q, rate, hr, heterogeneity, dispersion, w, rng)
                       for q in (theta, 1.0)]  # fmt: skip
            else:
                z = _parallel_draw(design, m, rng)
                res = [_parallel_batch(z, q, rate, hr, heterogeneity, dispersion, w, days,
                                       estimator, blocks, rng, baseline_days)
                       for q in (theta, 1.0)]  # fmt: skip
            for j, arr in enumerate((res[0][0], res[0][1], res[1][0], res[1][1],
                                     np.broadcast_to(res[0][2], (m,)),
                                     np.broadcast_to(res[1][2], (m,)))):
                out[j].append(np.asarray(arr, dtype=float))
            done += m
        return tuple(np.concatenate(o) for o in out)

    ratio_scale = estimator in ("fe-poisson", "rate-ratio")
    if ratio_scale:
        truth, null = math.log(theta), 0.0
    elif estimator == "diff-means":
        base = (hr.mean() if hr is not None else rate) * (1.0 if crossover else days)
        truth = base * (theta - 1.0) * (float(w.mean()) if w is not None else 1.0)
        null = 0.0
    else:
        truth, null = math.nan, 0.0
    est1, se1, est0, se0, df1, df0 = run()
    return _summarise(
        est1,
        se1,
        est0,
        se0,
        (df1, df0),
        design="crossover" if crossover else "parallel",
        estimator=estimator,
        n_sims=n_sims,
        alpha=alpha,
        alternative=alternative,
        effect=theta,
        truth=truth,
        null=null,
        parameters={
            **_design_dict(design),
            "rate": rate if hr is None else float(hr.mean()),
            "days_followed": None if crossover else days,
            "baseline_days": baseline_days,
            "dispersion": dispersion,
            "heterogeneity": heterogeneity if hr is None else None,
            "harm": w is not None,
        },
        seed=seed,
    )


def _design_dict(design: Any) -> dict[str, Any]:
    if hasattr(design, "to_dict"):
        d = design.to_dict()
        keep = {k: v for k, v in d.items() if isinstance(v, (int, float, str, bool)) or v is None}
        if "design" not in keep:
            keep["design"] = d.get("scheme", type(design).__name__)
        keep.setdefault("hotspots", _n_hotspots(design))
        return keep
    return {"design": type(design).__name__, "hotspots": _n_hotspots(design)}
