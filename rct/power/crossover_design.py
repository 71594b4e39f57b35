"""Analytic power of crossover hot-spot-day trials (re-exported by :mod:`rct.power.designs`).

The power is that of the test the evaluation runs: the CR2 / Satterthwaite t
test of the hot-spot fixed-effects Poisson rate ratio
(:func:`rct.evaluate.crossover.crossover_poisson` with ``day_effects=False``;
the day effects of its default fit cost under one point of power when there
are no day shocks, ``tests/power/test_power_agreement.py``).  Against :func:`rct.power.simulate_power` of the same test (20,000 trials a
row, MC SE <= 0.004; ``tests/power/test_power_agreement.py``), analytic minus
simulated power:

======================================  ===============  ===============  ===============
crossover design                        phi 0, tau2 0    phi .25, tau2 .5 phi 1, tau2 1
======================================  ===============  ===============  ===============
Thames Valley 45 x 151 d, 22/day, -15%  0.800 / +0.001   0.762 / -0.001   0.650 / -0.005
Southend 20 x 90 d, 8/day, -25%         0.652 / -0.015   0.600 / -0.020   0.490 / -0.022
Bedfordshire 21 x 90 d, 7/day, -25%     0.629 / -0.010   0.578 / -0.014   0.482 / -0.026
======================================  ===============  ===============  ===============

(simulated power / difference; 0.2 crimes per hot-spot-day.)  The analytic
power is slightly conservative at 20 hot spots: the CR2 variance is 2-4 % below the
estimator's variance under an effect, which the noncentral t does not model.
"""

from __future__ import annotations

import math

from rct.errors import DesignError
from rct.power._core import ALTERNATIVES, check_choice, power_of_test
from rct.power._design_core import REFERENCES, _check_model, _effect_and_unknown, _solve_design
from rct.power.results import PowerResult

__all__ = ["crossover_power", "crossover_variance", "crossover_df"]


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
