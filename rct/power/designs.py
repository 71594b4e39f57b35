"""Analytic power of hot-spot trials: crossover hot-spot-day and parallel designs.

Both functions solve for the one quantity left as ``None`` among the number
of hot spots, the number of days, the effect (``reduction`` or ``irr``),
``power`` and ``alpha``, and return a :class:`~rct.power.results.PowerResult`
whose ``value`` is that quantity (a float scalar) and whose ``mde`` is the
minimum detectable incidence-rate ratio at the target power.

Each power is that of the test the evaluation runs: crossover — the CR2 /
Satterthwaite t test of the hot-spot fixed-effects Poisson rate ratio
(:func:`rct.evaluate.crossover.crossover_poisson`, ``day_effects=False``; the
day effects of the default fit cost under one point of power when there are no
day shocks); parallel — the quasi-Poisson t test of the rate ratio
(:func:`rct.evaluate.counts.count_model`'s default) or the difference in means
with Welch's test (:func:`rct.evaluate.parallel.difference_in_means`).
Against :func:`rct.power.simulate_power` of the same test (20,000 trials a
row, MC SE <= 0.004; ``tests/power/test_power_agreement.py``), analytic minus
simulated power:

======================================  ===============  ===============  ===============
crossover design                        phi 0, tau2 0    phi .25, tau2 .5 phi 1, tau2 1
======================================  ===============  ===============  ===============
Thames Valley 45 x 151 d, 22/day, -15%  0.800 / +0.001   0.762 / -0.001   0.650 / -0.005
Southend 20 x 90 d, 8/day, -25%         0.652 / -0.015   0.600 / -0.020   0.490 / -0.022
Bedfordshire 21 x 90 d, 7/day, -25%     0.629 / -0.010   0.578 / -0.014   0.482 / -0.026
======================================  ===============  ===============  ===============

(simulated power / difference; 0.2 crimes per hot-spot-day.)  Parallel, 0.2
crimes per hot-spot-day: rate ratio within 0.7 points (20, 45, 80 hot spots);
difference in means within 1.2 points except with skewed totals at 20 hot
spots (``tau^2 = 1``: 0.172 against 0.130 simulated, Welch's test being
conservative there — simulate such designs).  The analytic crossover power is
slightly conservative at 20 hot spots: the CR2 variance is 2-4 % below the
estimator's variance under an effect, which the noncentral t does not model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

from rct.errors import DesignError
from rct.power._core import ALTERNATIVES, check_choice, power_of_test, solve_alpha, solve_scalar
from rct.power.analytic import _mde_ratio, _peak_bounds, one_unknown
from rct.power.results import PowerResult

__all__ = [
    "crossover_power",
    "parallel_power",
    "crossover_variance",
    "crossover_df",
    "parallel_variance",
    "baseline_r2",
]

OUTCOMES = ("count", "log-count", "harm")
ESTIMATORS = ("rate-ratio", "diff-means")
PARALLEL_DESIGNS = ("complete", "block", "pairs")
REFERENCES = ("t", "z")


def _effect(reduction: float | None, irr: float | None) -> float | None:
    if reduction is not None and irr is not None:
        raise DesignError("give the effect as reduction or as irr, not both")
    if reduction is not None:
        if not reduction < 1:
            raise DesignError(f"reduction must be below 1 (100 %); got {reduction}")
        return 1.0 - float(reduction)
    if irr is not None:
        if not irr > 0:
            raise DesignError(f"irr must be positive; got {irr}")
        return float(irr)
    return None


def _check_model(*, rate: float, dispersion: float, heterogeneity: float, harm_cv: float) -> None:
    """Checks both designs make: finite non-negative model parameters, a positive rate."""
    params = {"rate": rate, "dispersion": dispersion, "heterogeneity": heterogeneity,
              "harm_cv": harm_cv}  # fmt: skip
    for name, v in params.items():
        if v is not None and not (float(v) >= 0 and math.isfinite(float(v))):
            raise DesignError(f"{name} must be a finite non-negative number; got {v}")
    if rate <= 0:
        raise DesignError(f"rate must be positive; got {rate}")


def _effect_and_unknown(
    hotspots: float | None,
    days: float | None,
    reduction: float | None,
    irr: float | None,
    power: float | None,
    alpha: float | None,
) -> tuple[float | None, str]:
    """The effect as a rate ratio (None if unknown) and the one quantity to solve for."""
    theta = _effect(reduction, irr)
    unknown = one_unknown(
        {"hotspots": hotspots, "days": days, "effect": theta, "power": power, "alpha": alpha}
    )
    return theta, unknown


def _solve_design(
    pw: Callable[[float, float, float, float], float],
    unknown: str,
    n: float | None,
    days: float | None,
    theta: float | None,
    power: float | None,
    alpha: float | None,
    *,
    n_lo: float,
    alternative: str,
) -> tuple[float, float, float, float, float, float, float]:
    """Fill in the unknown; returns (n, days, theta, power, alpha, value, mde)."""

    def at_ratio(q: float) -> float:
        # power at rate ratio q; reads n, days and alpha when called (after they are solved)
        return pw(n, days, q, alpha)  # type: ignore[arg-type]

    if unknown == "power":
        power = pw(n, days, theta, alpha)  # type: ignore[arg-type]
        value = power
    elif unknown == "hotspots":
        value = n = solve_scalar(
            lambda x: pw(x, days, theta, alpha),  # type: ignore[arg-type]
            float(power),  # type: ignore[arg-type]
            n_lo,
            1e6,
            what="number of hot spots",
        )
    elif unknown == "days":
        value = days = solve_scalar(
            lambda x: pw(n, x, theta, alpha),  # type: ignore[arg-type]
            float(power),  # type: ignore[arg-type]
            1e-3,
            1e7,
            what="number of days",
        )
    elif unknown == "alpha":
        value = alpha = solve_alpha(lambda a: pw(n, days, theta, a), power)  # type: ignore[arg-type]
    else:
        lo, hi = _peak_bounds(at_ratio, alternative)
        value = theta = solve_scalar(at_ratio, float(power), lo, hi, what="effect (rate ratio)")  # type: ignore[arg-type]
    target = 0.8 if unknown == "power" else float(power)  # type: ignore[arg-type]
    mde = _mde_ratio(at_ratio, target, alternative)
    return float(n), float(days), float(theta), float(power), float(alpha), float(value), mde  # type: ignore[arg-type,return-value]


# ---------------------------------------------------------------------------
# crossover hot-spot-day design
# ---------------------------------------------------------------------------


def crossover_variance(
    *,
    hotspots: float,
    days: float,
    per_day: float,
    rate: float,
    irr: float = 1.0,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    harm_cv: float = 0.0,
) -> float:
    """Variance of the within-hot-spot log rate ratio of a crossover trial.

    Notes
    -----
    Model: hot spot ``i`` has rate ``rate * u_i`` per hot-spot-day with
    ``E u = 1``, ``Var u = tau^2`` (``heterogeneity``, gamma frailty); the
    count on day ``t`` is negative binomial with mean
    ``mu_it = rate u_i irr^{Z_it}`` and variance ``mu + phi mu^2``
    (``dispersion`` phi: day-to-day overdispersion).  Each day ``k`` of ``N``
    hot spots are tasked (``Z = 1``); with equal coverage each hot spot is
    tasked on ``a = D k / N`` of ``D`` days.

    The planned estimator is the Poisson regression with hot-spot fixed
    effects (equivalently the conditional likelihood given each hot spot's
    total).  With equal coverage its MLE is closed form,
    ``log IRR = log(T / a) - log(C / b)`` with ``T``, ``C`` the sums over all
    hot spots of crimes on tasked / untasked days and ``b = D - a``, and by
    the delta method, conditioning on the ``u_i`` (``U_1 = sum u_i``,
    ``U_2 = sum u_i^2``):

    ``Var | u = (1 + c^2) N / (rate D U_1) * (1 / (irr k) + 1 / (N - k))``
    ``        + phi N U_2 / (D U_1^2) * (1 / k + 1 / (N - k))``

    where ``c`` is the coefficient of variation of harm weights per crime
    (0 for counts: a harm total per hot-spot-day is a compound sum whose
    variance is ``mu E[w^2] + E[w]^2 phi mu^2``), and averaging over the
    gamma frailty, ``E[N / U_1] = N / (N - tau^2)`` and
    ``E[N U_2 / U_1^2] = N (1 + tau^2) / (N + tau^2)`` (the shares
    ``u_i / U_1`` are Dirichlet).  Between-hot-spot heterogeneity cancels in
    the within-hot-spot comparison to first order and enters through these
    two factors: this is what the crossover buys over a parallel design.
    City-wide day shocks are assumed absent (they cancel in expectation when
    ``k`` is fixed each day).  (Before 2026-12 the factors were 1 and
    ``1 + tau^2``: the SE was 1-3 % too small with heterogeneous hot spots.)
    """
    k = float(per_day)
    N = float(hotspots)
    m = N - k
    if not (0 < k < hotspots):
        raise DesignError(f"per_day must be between 0 and the number of hot spots; got {k}")
    e1 = N / (N - heterogeneity) if heterogeneity < N - 1 else N
    e2 = N * (1.0 + heterogeneity) / (N + heterogeneity)
    poisson = e1 * (1.0 + harm_cv**2) / (rate * days) * (1.0 / (irr * k) + 1.0 / m)
    extra = e2 * dispersion / days * (1.0 / k + 1.0 / m)
    return poisson + extra


def crossover_df(
    *,
    hotspots: float,
    days: float,
    per_day: float,
    rate: float,
    irr: float = 1.0,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    harm_cv: float = 0.0,
) -> float:
    """Expected Satterthwaite degrees of freedom of the crossover CR2 test.

    Notes
    -----
    The CR2 variance of the hot-spot fixed-effects Poisson estimator is a
    weighted sum of the hot spots' squared scores with working weights
    ``w_i`` proportional to each hot spot's fitted total ``n_i`` (tasked
    share ``pi`` common under equal coverage), and its Satterthwaite matrix
    is ``P = diag(w) - w w' / sum w`` (the rank-one term removes the
    estimated ratio), so ``df = (S_1 - S_2/S_1)^2 / (S_2 - 2 S_3/S_1 +
    (S_2/S_1)^2)`` with ``S_j = sum_i n_i^j``.  The power calculation plugs in
    ``S_j = N E[n^j]`` for a hot spot's total ``n`` under the model of
    :func:`crossover_variance`: given ``u``, ``n`` has mean ``m u``
    (``m = rate (a irr + b)``), variance ``m u + phi s_2 u^2`` and third
    cumulant ``m u + 3 phi s_2 u^2 + 2 phi^2 s_3 u^3``
    (``s_j = rate^j (a irr^j + b)``), with ``E u^2 = 1 + tau^2`` and
    ``E u^3 = (1 + tau^2)(1 + 2 tau^2)``; a harm total scales the Poisson
    part by ``1 + c^2`` (third moment by ``(1 + c^2)(1 + 2 c^2)``, gamma
    weights).  Equal weights give ``N - 1``; heterogeneous hot spots fewer
    (a simulated 20-hot-spot trial with ``tau^2 = 1``, ``phi = 1``: 9.5 on
    average against 9.8 here).
    """
    N, k = float(hotspots), float(per_day)
    a = days * k / N
    b = days - a
    c2 = harm_cv**2
    m = rate * (a * irr + b)
    s2 = rate**2 * (a * irr**2 + b)
    s3 = rate**3 * (a * irr**3 + b)
    eu2 = 1.0 + heterogeneity
    eu3 = (1.0 + heterogeneity) * (1.0 + 2.0 * heterogeneity)
    var_u = m * (1 + c2)  # Poisson (compound) part of Var(n | u), per unit u
    mu1 = m
    mu2 = var_u + dispersion * s2 * eu2 + m * m * eu2
    k3 = m * (1 + c2) * (1 + 2 * c2) + 3 * dispersion * s2 * eu2 * (1 + c2) \
        + 2 * dispersion**2 * s3 * eu3
    mu3 = m**3 * eu3 + 3 * m * (var_u * eu2 + dispersion * s2 * eu3) + k3
    S1, S2, S3 = N * mu1, N * mu2, N * mu3
    den = S2 - 2 * S3 / S1 + (S2 / S1) ** 2
    df = (S1 - S2 / S1) ** 2 / den if den > 0 else N - 1
    return float(min(max(df, 1.0), N - 1))


def crossover_power(
    *,
    hotspots: float | None,
    days: float | None,
    rate: float,
    per_day: float | None = None,
    share: float | None = None,
    reduction: float | None = None,
    irr: float | None = None,
    power: float | None = None,
    alpha: float | None = 0.05,
    dispersion: float = 0.0,
    heterogeneity: float = 0.0,
    harm_cv: float = 0.0,
    alternative: str = "two-sided",
    reference: str = "t",
) -> PowerResult:
    """Power of a crossover hot-spot-day trial; solve for any one of its quantities.

    Parameters
    ----------
    hotspots, days
        Hot spots ``N`` and trial days ``D``.
    rate
        Crimes (or harm-weighted events) per hot-spot-day without patrols.
    per_day, share
        Hot spots tasked each day, ``k``; or the share ``k / N`` (default
        one half).  When solving for ``hotspots`` with ``per_day`` given,
        ``k`` is held fixed.
    reduction, irr
        The effect: ``reduction = 1 - irr`` (0.15 = 15 % fewer crimes on
        tasked days).  Leave both ``None`` to solve for the effect.
    power, alpha
        Power and level; leave one ``None`` to solve for it.
    dispersion
        Day-level negative binomial dispersion ``phi`` (``Var = mu + phi mu^2``).
    heterogeneity
        Between-hot-spot variance ``tau^2`` of the rate multipliers.
    harm_cv
        Coefficient of variation of the harm weight per crime (harm outcome).
    alternative
        ``"two-sided"``, ``"smaller"`` (a reduction) or ``"larger"``.
    reference
        ``"t"`` (default): t with the expected Satterthwaite degrees of
        freedom of the CR2 test (:func:`crossover_df`; ``N - 1`` for
        identical hot spots, fewer when they differ); ``"z"``: normal.

    Returns
    -------
    PowerResult
        ``value`` is the solved quantity; ``mde`` the detectable IRR.

    Notes
    -----
    The Wald statistic ``log(IRR_hat) / SE`` is taken as noncentral t with
    noncentrality ``log(irr) / sqrt(V)``, ``V`` from
    :func:`crossover_variance` (which states the derivation).
    Thames Valley's question, 45 hot spots at 0.2 crimes per hot-spot-day,
    half tasked, 15 % reduction, 80 % power::

        crossover_power(hotspots=45, days=None, rate=0.2, share=0.5,
                        reduction=0.15, power=0.8)
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("reference", reference, REFERENCES)
    _check_model(rate=rate, dispersion=dispersion, heterogeneity=heterogeneity, harm_cv=harm_cv)
    if per_day is not None and share is not None:
        raise DesignError("give per_day or share, not both")
    theta, unknown = _effect_and_unknown(hotspots, days, reduction, irr, power, alpha)
    if share is None and per_day is None:
        share = 0.5
    if share is not None and not 0 < share < 1:
        raise DesignError(f"share must be in (0, 1); got {share}")

    def k_of(n: float) -> float:
        return float(per_day) if per_day is not None else float(share) * n  # type: ignore[arg-type]

    def variance(n: float, d: float, k: float, q: float) -> float:
        return crossover_variance(
            hotspots=n, days=d, per_day=k, rate=rate, irr=q, dispersion=dispersion,
            heterogeneity=heterogeneity, harm_cv=harm_cv,
        )  # fmt: skip

    def dof(n: float, d: float, k: float, q: float) -> float:
        if reference == "z":
            return math.inf
        return crossover_df(hotspots=n, days=d, per_day=k, rate=rate, irr=q,
                            dispersion=dispersion, heterogeneity=heterogeneity, harm_cv=harm_cv)

    def pw(n: float, d: float, q: float, a: float) -> float:
        k = k_of(n)
        if not 0 < k < n:
            return 0.0
        v = variance(n, d, k, q)
        return power_of_test(math.log(q) / math.sqrt(v), dof(n, d, k, q), a, alternative)

    n_lo = 2.0 + 1e-9 if per_day is None else float(per_day) + 1e-6
    n, d, q, p, a, value, mde = _solve_design(
        pw, unknown, hotspots, days, theta, power, alpha, n_lo=n_lo, alternative=alternative
    )
    if n is not None and per_day is not None and not per_day < n:
        raise DesignError(f"per_day ({per_day}) must be below the number of hot spots ({n})")
    k = k_of(n)
    se = math.sqrt(variance(n, d, k, q))
    return PowerResult(
        design="crossover",
        solved_for=unknown,
        value=value,
        power=p,
        alpha=a,
        effect=q,
        std_error=se,
        df=dof(n, d, k, q),
        alternative=alternative,
        mde=mde,
        parameters={
            "hotspots": n,
            "days": d,
            "per_day": k,
            "rate": rate,
            "dispersion": dispersion,
            "heterogeneity": heterogeneity,
            "harm_cv": harm_cv,
            "reference": reference,
            "hotspot_days": n * d,
        },
    )


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
