"""Analytic power of hot-spot trials: crossover hot-spot-day and parallel designs.

Both functions solve for the one quantity left as ``None`` among the number
of hot spots, the number of days, the effect (``reduction`` or ``irr``),
``power`` and ``alpha``, and return a :class:`~rct.power.results.PowerResult`
whose ``value`` is that quantity (a float scalar) and whose ``mde`` is the
minimum detectable incidence-rate ratio at the target power.

Each power is that of the test the evaluation runs (crossover: see
:mod:`rct.power.crossover_design`; parallel: the quasi-Poisson t test of the
rate ratio, :func:`rct.evaluate.counts.count_model`'s default, or the
difference in means with Welch's test,
:func:`rct.evaluate.parallel.difference_in_means`).  Against
:func:`rct.power.simulate_power` of the same test (20,000 trials a row;
``tests/power/test_power_agreement.py``), 0.2 crimes per hot-spot-day: the
rate ratio within 0.7 points (20, 45, 80 hot spots); the difference in means
within 1.2 points except with skewed totals at 20 hot spots (``tau^2 = 1``:
0.172 against 0.130 simulated, Welch's test being conservative there —
simulate such designs).  The crossover functions live in
:mod:`rct.power.crossover_design` and are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from rct.errors import DesignError
from rct.power._core import ALTERNATIVES, check_choice, power_of_test
from rct.power._design_core import (
    ESTIMATORS,
    OUTCOMES,
    PARALLEL_DESIGNS,
    REFERENCES,
    _check_model,
    _effect_and_unknown,
    _solve_design,
)
from rct.power.crossover_design import crossover_df, crossover_power, crossover_variance
from rct.power.results import PowerResult

__all__ = [
    "crossover_power",
    "parallel_power",
    "crossover_variance",
    "crossover_df",
    "parallel_variance",
    "baseline_r2",
]


# ---------------------------------------------------------------------------
# parallel design
# ---------------------------------------------------------------------------


def _log1p_moments(mean: float, kappa: float) -> tuple[float, float]:
    """Exact mean and variance of ``log(1 + Y)``, Y negative binomial (mean, dispersion)."""
    if kappa <= 0:
        dist = stats.poisson(mean)
    else:
        size = 1.0 / kappa
        dist = stats.nbinom(size, size / (size + mean))
    top = int(dist.ppf(1 - 1e-13)) + 2
    y = np.arange(top + 1)
    pmf = dist.pmf(y)
    pmf = pmf / pmf.sum()
    ly = np.log1p(y)
    mu = float(pmf @ ly)
    return mu, float(pmf @ (ly - mu) ** 2)


def _arm_variance(*, days: float, rate: float, irr: float, dispersion: float,
                  heterogeneity: float, outcome: str, harm_cv: float) -> float:
    """Variance of one hot spot's trial total (in mean-harm units for harm; see below)."""
    kappa = heterogeneity + dispersion * (1 + heterogeneity) / days
    m = rate * days * irr
    if outcome == "log-count":
        return _log1p_moments(m, kappa)[1]
    c2 = harm_cv**2 if outcome == "harm" else 0.0
    return m * (1 + c2) + kappa * m * m


def parallel_variance(
    *,
    hotspots: float,
    days: float,
    rate: float,
    irr: float,
    share: float = 0.5,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    outcome: str = "count",
    estimator: str = "rate-ratio",
    harm_cv: float = 0.0,
) -> tuple[float, float]:
    """Effect and its variance for a parallel design, before blocking or covariates.

    Returns ``(effect, variance)``: the log IRR for ``rate-ratio``, the
    difference in means (crimes per hot spot over the trial, in units of the
    mean harm weight for harm, or of ``log(1 + crimes)``) for ``diff-means``.

    Notes
    -----
    Each hot spot's total over ``D`` days is, given its multiplier ``u``,
    a sum of ``D`` day counts with mean ``m = rate D irr^Z u`` and variance
    ``m + (phi / D) m^2``; over ``u`` (variance ``tau^2``) the total has mean
    ``m`` and variance ``m + kappa m^2`` with
    ``kappa = tau^2 + phi (1 + tau^2) / D``.  A harm total (compound sum with
    weight CV ``c``) has variance ``w^2 [m (1 + c^2) + kappa m^2]``.  Then
    ``Var(log IRR_hat) = sum_arms [(1 + c^2)/m + kappa] / n_arm`` (delta
    method; Zhu & Lakkis 2014 when ``c = 0``) and
    ``Var(diff) = sum_arms [m (1 + c^2) + kappa m^2] / n_arm``.  For
    ``log-count`` the moments of ``log(1 + Y)`` are summed exactly over the
    negative binomial with that mean and dispersion.
    """
    check_choice("outcome", outcome, OUTCOMES)
    check_choice("estimator", estimator, ESTIMATORS)
    n_t, n_c = share * hotspots, (1 - share) * hotspots
    kappa = heterogeneity + dispersion * (1 + heterogeneity) / days
    m_c = rate * days
    m_t = irr * m_c
    c2 = harm_cv**2 if outcome == "harm" else 0.0
    if outcome == "log-count":
        if estimator != "diff-means":
            raise DesignError("outcome 'log-count' is analysed by estimator 'diff-means'")
        mu_t, v_t = _log1p_moments(m_t, kappa)
        mu_c, v_c = _log1p_moments(m_c, kappa)
        return mu_t - mu_c, v_t / n_t + v_c / n_c
    if estimator == "rate-ratio":
        v = ((1 + c2) / m_t + kappa) / n_t + ((1 + c2) / m_c + kappa) / n_c
        return math.log(irr), v
    v = (m_t * (1 + c2) + kappa * m_t**2) / n_t + (m_c * (1 + c2) + kappa * m_c**2) / n_c
    return m_t - m_c, v


def parallel_power(
    *,
    hotspots: float | None,
    rate: float,
    days: float | None = 1.0,
    reduction: float | None = None,
    irr: float | None = None,
    power: float | None = None,
    alpha: float | None = 0.05,
    share: float = 0.5,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    outcome: str = "count",
    estimator: str = "rate-ratio",
    harm_cv: float = 0.0,
    design: str = "complete",
    block_correlation: float = 0.0,
    n_blocks: int | None = None,
    r2: float = 0.0,
    covariates: int | None = None,
    alternative: str = "two-sided",
    reference: str = "t",
) -> PowerResult:
    """Power of a parallel hot-spot trial; solve for any one of its quantities.

    Parameters
    ----------
    hotspots
        Hot spots randomised (a share ``share`` treated for the whole trial).
    rate, days
        Crimes per hot-spot-day in control and trial length in days (or give
        ``rate`` per period and ``days`` in periods, e.g. months).
    reduction, irr, power, alpha
        As in :func:`crossover_power`; one of hot spots, days, effect, power,
        alpha is ``None``.
    dispersion, heterogeneity
        Day-level NB dispersion ``phi`` and between-hot-spot variance
        ``tau^2`` (the latter dominates a parallel design).
    outcome
        ``"count"``, ``"log-count"`` (``log(1 + crimes)``) or ``"harm"``
        (harm weights with coefficient of variation ``harm_cv``).
    estimator
        ``"rate-ratio"`` (log ratio of arm means, quasi-Poisson t test) or
        ``"diff-means"`` (difference in means, Welch's test).
    design
        ``"complete"``, ``"block"`` (``n_blocks`` blocks) or ``"pairs"``.
    block_correlation
        Share of outcome variance explained by blocks / pairs (rho): the
        variance of the estimator is multiplied by ``1 - rho``.
    r2, covariates
        Baseline adjustment: share of the (within-block) variance explained
        by baseline covariates; variance multiplied by ``1 - r2``;
        ``covariates`` (default 1 when ``r2 > 0``) costs degrees of freedom.
    reference
        ``"t"`` (degrees of freedom below) or ``"z"`` (normal, as statsmodels'
        rate tests).

    Notes
    -----
    Noncentral t power with noncentrality ``effect / sqrt(V (1 - rho)(1 - R^2))``
    (``V`` from :func:`parallel_variance`) and degrees of freedom as
    PowerUp! (Dong & Maynard 2013): ``N - g - 2`` (complete, their IRA),
    ``N - J - g - 1`` (blocks, BIRA2_1c; pairs are ``J = N/2`` blocks of 2).
    With baseline adjustment of counts or harm by ``diff-means`` (ANCOVA) a
    multiplicative effect also changes the slope on the baseline (``irr b``
    in the treated arm): the common slope leaves
    ``((1 - irr)/2)^2 R^2 Var(Y_control)`` per arm in the residuals, added to
    ``V``.  In standardised units this reproduces ``mdes.ira`` and
    ``mdes.bira2c1`` up to their ``t_{1-a/2} + t_{1-b}`` approximation of the
    noncentral t.

    The tests are the evaluation's (``reference="t"``): ``diff-means`` in a
    complete design is Welch's test, on the Welch–Satterthwaite df of the
    model's arm variances ``v_k``:
    ``(v_1/n_1 + v_0/n_0)^2 / ((v_1/n_1)^2/(n_1-1) + (v_0/n_0)^2/(n_0-1))``.
    ``rate-ratio`` is the quasi-Poisson t test: its SE pools the arms'
    dispersions ``f_k = 1 + c^2 + kappa m_k`` by arm size,
    ``E[SE^2] = f_bar (1/(n_1 m_1) + 1/(n_0 m_0))`` with
    ``f_bar = sum (n_k - 1) f_k / (N - 2)``, against the true
    ``sum f_k / (n_k m_k)``; under an effect the two differ and the power is
    that of the noncentral t against the critical value scaled by
    ``sqrt(E[SE^2] / V)`` (``reference="z"`` keeps the large-sample Wald z
    test of statsmodels ``power_negbin_ratio_2indep``).  Agreement with
    simulation: see the module docstring.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("design", design, PARALLEL_DESIGNS)
    check_choice("reference", reference, REFERENCES)
    check_choice("outcome", outcome, OUTCOMES)
    check_choice("estimator", estimator, ESTIMATORS)
    _check_model(rate=rate, dispersion=dispersion, heterogeneity=heterogeneity, harm_cv=harm_cv)
    if not 0 < share < 1:
        raise DesignError(f"share must be in (0, 1); got {share}")
    if not (0 <= block_correlation < 1 and 0 <= r2 < 1):
        raise DesignError("block_correlation and r2 must be in [0, 1)")
    if design == "block" and (n_blocks is None or n_blocks < 2):
        raise DesignError("design 'block' needs n_blocks >= 2")
    if design == "complete" and block_correlation:
        raise DesignError("block_correlation needs design 'block' or 'pairs'")
    g = (1 if r2 > 0 else 0) if covariates is None else int(covariates)
    theta, unknown = _effect_and_unknown(hotspots, days, reduction, irr, power, alpha)
    factor = (1 - block_correlation) * (1 - r2)

    def df_of(n: float) -> float:
        if design == "complete":
            return n - g - 2
        if design == "pairs":
            return n / 2 - g - 1
        return n - float(n_blocks) - g - 1  # type: ignore[arg-type]

    def adjusted(n: float, d: float, q: float) -> tuple[float, float]:
        common = dict(hotspots=n, days=d, rate=rate, share=share, dispersion=dispersion,
                      heterogeneity=heterogeneity, outcome=outcome, estimator=estimator,
                      harm_cv=harm_cv)  # fmt: skip
        eff, v = parallel_variance(irr=q, **common)
        v = v * factor
        if r2 > 0 and estimator == "diff-means" and outcome != "log-count":
            # a multiplicative effect gives the arms slopes b and irr b on the baseline; the
            # common ANCOVA slope (1 + irr) b / 2 leaves ((1 - irr)/2)^2 R^2 Var(Y_control)
            v += (
                ((1 - q) / 2) ** 2
                * r2
                * (1 - block_correlation)
                * parallel_variance(irr=1.0, **common)[1]
            )
        return eff, v

    def test_df(n: float, d: float, q: float) -> float:
        """The test's df: Welch for a complete-design difference in means, else PowerUp!'s."""
        if reference != "t":
            return math.inf
        if design == "complete" and estimator == "diff-means" and r2 == 0:
            return _welch_df(n, d, q)
        return df_of(n)

    def _welch_df(n: float, d: float, q: float) -> float:
        common = dict(days=d, rate=rate, dispersion=dispersion, heterogeneity=heterogeneity,
                      outcome=outcome, harm_cv=harm_cv)  # fmt: skip
        n1, n0 = share * n, (1 - share) * n
        v1 = _arm_variance(irr=q, **common) / n1
        v0 = _arm_variance(irr=1.0, **common) / n0
        return (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))

    def se_scale(n: float, d: float, q: float) -> float:
        """sqrt(E[estimated variance] / true variance) of the planned test's SE."""
        if estimator != "rate-ratio" or outcome == "log-count" or reference != "t":
            return 1.0
        # quasi-Poisson: the pooled Pearson scale weights the arms' dispersions by their
        # sizes, while the true variance weights them by 1/(n m) (unequal under the effect)
        kappa = heterogeneity + dispersion * (1 + heterogeneity) / d
        c2 = harm_cv**2 if outcome == "harm" else 0.0
        n1, n0 = share * n, (1 - share) * n
        m1, m0 = rate * d * q, rate * d
        f1, f0 = 1 + c2 + kappa * m1, 1 + c2 + kappa * m0
        phi = ((n1 - 1) * f1 + (n0 - 1) * f0) / (n - 2)
        est = phi * (1 / (n1 * m1) + 1 / (n0 * m0))
        true = f1 / (n1 * m1) + f0 / (n0 * m0)
        return math.sqrt(est / true)

    def pw(n: float, d: float, q: float, a: float) -> float:
        df = df_of(n)
        if df < 1:
            return 0.0
        eff, v = adjusted(n, d, q)
        return power_of_test(eff / math.sqrt(v), test_df(n, d, q), a, alternative,
                             crit_scale=se_scale(n, d, q))

    n_lo = {"complete": g + 3, "pairs": 2 * g + 4, "block": (n_blocks or 0) + g + 2}[design] + 1e-6
    n, d, q, p, a, value, mde = _solve_design(
        pw, unknown, hotspots, days, theta, power, alpha, n_lo=n_lo, alternative=alternative
    )
    eff, v = adjusted(n, d, q)
    return PowerResult(
        design="parallel",
        solved_for=unknown,
        value=value,
        power=p,
        alpha=a,
        effect=q,
        std_error=math.sqrt(v),
        df=test_df(n, d, q),
        alternative=alternative,
        mde=mde,
        parameters={
            "hotspots": n,
            "days": d,
            "rate": rate,
            "share": share,
            "dispersion": dispersion,
            "heterogeneity": heterogeneity,
            "outcome": outcome,
            "estimator": estimator,
            "harm_cv": harm_cv,
            "scheme": design,
            "block_correlation": block_correlation,
            "n_blocks": n_blocks,
            "r2": r2,
            "covariates": g,
        },
    )


def baseline_r2(
    *,
    rate: float,
    days: float,
    baseline_days: float,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
) -> float:
    """Expected R^2 of a hot spot's trial count on its pre-trial count (for ``r2``).

    Notes
    -----
    Under the model of :func:`parallel_variance` the trial total ``Y`` (mean
    ``m_y = rate days``) and the baseline total ``X`` (``m_x = rate
    baseline_days``) share only the hot spot's multiplier ``u``:
    ``Cov(Y, X) = m_y m_x tau^2``, ``Var(Y) = m_y + kappa_y m_y^2`` with
    ``kappa_y = tau^2 + phi (1 + tau^2) / days`` (likewise ``X``), so
    ``R^2 = Cov^2 / (Var(Y) Var(X))``.  Without heterogeneity a baseline
    predicts nothing.
    """
    my, mx = rate * days, rate * baseline_days
    ky = heterogeneity + dispersion * (1 + heterogeneity) / days
    kx = heterogeneity + dispersion * (1 + heterogeneity) / baseline_days
    cov = my * mx * heterogeneity
    return float(cov * cov / ((my + ky * my * my) * (mx + kx * mx * mx)))
