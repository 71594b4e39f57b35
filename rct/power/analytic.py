"""Analytic power for the textbook tests: t tests, Poisson / negative binomial rates, MDES.

Each function takes every quantity as a keyword and solves for the one left
as ``None`` (like statsmodels ``solve_power``), returning a
:class:`~rct.power.results.PowerResult` whose ``value`` is that quantity as a
float scalar.  No solution in the search range raises
:class:`rct.errors.DesignError`.  The hot-spot designs (parallel and
crossover) are in :mod:`rct.power.designs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize, stats

from rct.errors import DesignError
from rct.power._core import (
    ALTERNATIVES,
    check_choice,
    check_probability,
    power_of_test,
    solve_alpha,
    solve_scalar,
)
from rct.power.results import PowerResult

__all__ = [
    "ttest_power",
    "rate_ratio_power",
    "poisson_diff_power",
    "mdes_ira",
    "mdes_bira2c1",
    "one_unknown",
]

_T_KINDS = ("two-sample", "one-sample", "paired")


def one_unknown(values: dict[str, object]) -> str:
    """Name of the single ``None`` among ``values``; DesignError otherwise."""
    missing = [k for k, v in values.items() if v is None]
    if len(missing) != 1:
        names = ", ".join(values)
        raise DesignError(
            f"leave exactly one of {names} as None (the quantity to solve for); "
            f"got {len(missing)} unknown{'s' if len(missing) != 1 else ''}"
            + (f": {', '.join(missing)}" if missing else "")
        )
    return missing[0]


# ---------------------------------------------------------------------------
# t tests (pwr.t.test)
# ---------------------------------------------------------------------------


def _t_power(d: float, n: float, alpha: float, kind: str, alternative: str) -> float:
    if kind == "two-sample":
        ncp, df = d * math.sqrt(n / 2.0), 2.0 * (n - 1.0)
    else:
        ncp, df = d * math.sqrt(n), n - 1.0
    return power_of_test(ncp, df, alpha, alternative)


def ttest_power(
    *,
    d: float | None = None,
    n: float | None = None,
    power: float | None = None,
    alpha: float | None = 0.05,
    kind: str = "two-sample",
    alternative: str = "two-sided",
) -> PowerResult:
    """Power of the two-sample, one-sample or paired t test; solve for any one input.

    Parameters
    ----------
    d
        Standardised effect size (Cohen's d; for ``paired`` the mean
        difference over the SD of differences).
    n
        Observations per group (two-sample) or pairs / observations.
    power, alpha
        Power and significance level.
    kind
        ``"two-sample"``, ``"one-sample"`` or ``"paired"``.
    alternative
        ``"two-sided"``, ``"larger"`` (pwr's ``"greater"``) or ``"smaller"``
        (``"less"``).

    Returns
    -------
    PowerResult
        ``value`` is the solved quantity.

    Notes
    -----
    Exact power from the noncentral t distribution, as ``pwr.t.test``
    (Champely, R package pwr; Cohen 1988): two-sample ``ncp = d sqrt(n/2)``,
    ``df = 2(n - 1)``; one-sample/paired ``ncp = d sqrt(n)``, ``df = n - 1``.
    Two-sided power counts both rejection tails:
    ``P(T' > t_{1-a/2}) + P(T' < -t_{1-a/2})``.
    """
    check_choice("kind", kind, _T_KINDS)
    check_choice("alternative", alternative, ALTERNATIVES)
    unknown = one_unknown({"d": d, "n": n, "power": power, "alpha": alpha})
    lo_n = 2 + 1e-10

    def at_d(x: float) -> float:
        # power at effect size x; reads n and alpha when called (after they are solved)
        return _t_power(x, float(n), float(alpha), kind, alternative)  # type: ignore[arg-type]

    if unknown == "power":
        value = _t_power(float(d), float(n), float(alpha), kind, alternative)  # type: ignore[arg-type]
        power = value
    elif unknown == "n":
        value = solve_scalar(
            lambda x: _t_power(float(d), x, float(alpha), kind, alternative),  # type: ignore[arg-type]
            float(power),  # type: ignore[arg-type]
            lo_n,
            1e9,
            what="n",
        )
        n = value
    elif unknown == "d":
        lo, hi = {"two-sided": (1e-10, 10.0), "larger": (-5.0, 10.0), "smaller": (-10.0, 5.0)}[
            alternative
        ]
        value = d = solve_scalar(at_d, float(power), lo, hi, what="d")  # type: ignore[arg-type]
    else:
        value = alpha = solve_alpha(
            lambda a: _t_power(float(d), float(n), a, kind, alternative),  # type: ignore[arg-type]
            power,  # type: ignore[arg-type]
        )
    target = 0.8 if unknown == "power" else float(power)  # type: ignore[arg-type]
    sign = -1.0 if alternative == "smaller" else 1.0
    lo, hi = (1e-10, 10.0) if sign > 0 else (-10.0, -1e-10)
    mde = solve_scalar(at_d, target, lo, hi, what="d")
    df = 2 * (float(n) - 1) if kind == "two-sample" else float(n) - 1  # type: ignore[arg-type]
    se = math.sqrt(2.0 / float(n)) if kind == "two-sample" else math.sqrt(1.0 / float(n))  # type: ignore[arg-type]
    return PowerResult(
        design="t-test",
        solved_for=unknown,
        value=float(value),
        power=float(power),  # type: ignore[arg-type]
        alpha=float(alpha),  # type: ignore[arg-type]
        effect=float(d),  # type: ignore[arg-type]
        std_error=se,
        df=df,
        alternative=alternative,
        mde=mde,
        parameters={"kind": kind, "n": float(n)},  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------
# Poisson and negative binomial rates (statsmodels.stats.rates)
# ---------------------------------------------------------------------------


def _het_power(es: float, nobs: float, alpha: float, sd0: float, sd1: float, alt: str) -> float:
    """Power of a z test whose SD differs under the null (sd0) and alternative (sd1)."""
    a = alpha / 2 if alt == "two-sided" else alpha
    crit = stats.norm.isf(a)
    ratio = sd0 / sd1
    shift = es * math.sqrt(nobs) / sd1
    p = 0.0
    if alt in ("two-sided", "larger"):
        p += stats.norm.sf(crit * ratio - shift)
    if alt in ("two-sided", "smaller"):
        p += stats.norm.cdf(-crit * ratio - shift)
    return float(p)


def _ratio_sds(
    rate1: float,
    rate2: float,
    nobs_ratio: float,
    exposure: float,
    dispersion: float,
    value: float,
    method_var: str,
) -> tuple[float, float]:
    r = nobs_ratio
    v1 = (1 / rate1 + 1 / (r * rate2)) / exposure + (1 + r) / r * dispersion
    if method_var == "alt":
        v0 = v1
    elif method_var == "ftotal":
        v0 = (1 + value * r) ** 2 / (exposure * r * value * (rate1 + r * rate2))
        v0 += (1 + r) / r * dispersion
    else:  # score: variance at the constrained MLE (Zhu & Lakkis 2014, Zhu 2017)
        q = 1 / r  # n1 / n0 in Zhu's notation
        a = -dispersion * exposure * value * (1 + q)
        b = dispersion * exposure * (rate2 * value + q * rate1) - (1 + q * value)
        c = rate2 + q * rate1
        r0 = -c / b if dispersion == 0 else (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
        v0 = (1 / exposure / r0 * (1 + 1 / value / q) + (1 + q) / q * dispersion) * q
    return math.sqrt(v0), math.sqrt(v1)


def rate_ratio_power(
    *,
    rate1: float | None,
    rate2: float,
    nobs1: float | None,
    nobs_ratio: float = 1.0,
    exposure: float = 1.0,
    dispersion: float = 0.0,
    value: float = 1.0,
    power: float | None = None,
    alpha: float | None = 0.05,
    alternative: str = "two-sided",
    method_var: str = "alt",
) -> PowerResult:
    """Power of the Wald/score z test of the ratio of two Poisson or negative binomial rates.

    Parameters
    ----------
    rate1, rate2
        Event rates per unit exposure in groups 1 and 2 (``rate1`` may be
        solved for: the rate giving the requested power).
    nobs1
        Units in group 1; ``nobs2 = nobs_ratio * nobs1``.
    exposure
        Exposure per unit (e.g. days followed).
    dispersion
        Negative binomial dispersion ``k`` in ``Var = mu + k mu^2``; 0 is Poisson.
    value
        Rate ratio under the null.
    method_var
        ``"alt"`` (variance under the alternative), ``"score"`` (constrained
        MLE under the null) or ``"ftotal"``.

    Notes
    -----
    The log rate ratio has variance ``v / nobs1`` with
    ``v = (1/rate1 + 1/(r rate2)) / exposure + (1 + r)/r * k`` (``r`` the
    nobs ratio; Zhu & Lakkis 2014, Statistics in Medicine 33:376-87; Zhu 2017).
    Power of the z test is ``Phi(-z sd0/sd1 + |log(rate1/rate2) - log value|
    sqrt(nobs1)/sd1)`` per tail, as statsmodels
    ``power_negbin_ratio_2indep`` (and ``power_poisson_ratio_2indep`` when
    ``k = 0``, where the Poisson ``dispersion`` of statsmodels is 1).
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("method_var", method_var, ("alt", "score", "ftotal"))
    unknown = one_unknown({"rate1": rate1, "nobs1": nobs1, "power": power, "alpha": alpha})

    def pw(r1: float, n1: float, a: float) -> float:
        sd0, sd1 = _ratio_sds(r1, rate2, nobs_ratio, exposure, dispersion, value, method_var)
        es = math.log(r1 / rate2) - math.log(value)
        return _het_power(es, n1, a, sd0, sd1, alternative)

    def at_ratio(q: float) -> float:
        # power at rate ratio q; reads nobs1 and alpha when called (after they are solved)
        return pw(rate2 * q, float(nobs1), float(alpha))  # type: ignore[arg-type]

    if unknown == "power":
        power = pw(float(rate1), float(nobs1), float(alpha))  # type: ignore[arg-type]
        val = power
    elif unknown == "nobs1":
        val = nobs1 = solve_scalar(
            lambda n: pw(float(rate1), n, float(alpha)),  # type: ignore[arg-type]
            float(power),  # type: ignore[arg-type]
            1e-6,
            1e9,
            what="nobs1",
        )
    elif unknown == "alpha":
        val = alpha = solve_alpha(
            lambda a: pw(float(rate1), float(nobs1), a),  # type: ignore[arg-type]
            power,  # type: ignore[arg-type]
        )
    else:
        lo, hi = _peak_bounds(at_ratio, alternative, value)
        val = solve_scalar(at_ratio, float(power), lo, hi, what="rate ratio")  # type: ignore[arg-type]
        rate1 = rate2 * val
        val = rate1
    irr = float(rate1) / rate2  # type: ignore[arg-type]
    target = float(power) if unknown != "power" and float(power) >= 0.5 else 0.8  # type: ignore[arg-type]
    mde = _mde_ratio(at_ratio, target, alternative, value)
    sd0, sd1 = _ratio_sds(float(rate1), rate2, nobs_ratio, exposure, dispersion, value, method_var)  # type: ignore[arg-type]
    return PowerResult(
        design="rate-ratio",
        solved_for=unknown,
        value=float(val),
        power=float(power),  # type: ignore[arg-type]
        alpha=float(alpha),  # type: ignore[arg-type]
        effect=irr,
        std_error=sd1 / math.sqrt(float(nobs1)),  # type: ignore[arg-type]
        df=math.inf,
        alternative=alternative,
        mde=mde,
        parameters={
            "rate1": float(rate1),  # type: ignore[arg-type]
            "rate2": rate2,
            "nobs1": float(nobs1),  # type: ignore[arg-type]
            "nobs_ratio": nobs_ratio,
            "exposure": exposure,
            "dispersion": dispersion,
            "method_var": method_var,
        },
    )


def _ratio_bounds(alternative: str, value: float = 1.0) -> tuple[float, float]:
    if alternative == "larger":
        return value * (1 + 1e-9), value * 1e3
    return 1e-6, value * (1 - 1e-9)


def _peak_bounds(
    fn: Callable[[float], float], alternative: str, value: float = 1.0
) -> tuple[float, float]:
    """Search range for a rate ratio: from the ratio of highest power to the null.

    Power is not monotone in a reduction: as the ratio tends to 0 the treated
    rate, and with it the information, vanishes; the bracket starts at the
    ratio of highest power on a geometric grid.
    """
    lo, hi = _ratio_bounds(alternative, value)
    if alternative == "larger":
        return lo, hi
    grid = np.geomspace(lo, hi, 40)
    best = int(np.argmax([fn(float(q)) for q in grid]))
    a, b = np.log(grid[max(best - 1, 0)]), np.log(grid[min(best + 1, grid.size - 1)])
    peak = optimize.minimize_scalar(
        lambda x: -fn(float(np.exp(x))), bounds=(a, b), method="bounded", options={"xatol": 1e-6}
    )
    q = float(np.exp(peak.x)) if -peak.fun >= fn(float(grid[best])) else float(grid[best])
    return q, hi


def _mde_ratio(
    fn: Callable[[float], float], target: float, alternative: str, value: float = 1.0
) -> float:
    """Detectable rate ratio: where ``fn`` (power at a ratio) reaches ``target``; NaN if none."""
    lo, hi = _peak_bounds(fn, alternative, value)
    try:
        return solve_scalar(fn, target, lo, hi, what="rate ratio")
    except DesignError:
        return math.nan


def poisson_diff_power(
    *,
    rate1: float,
    rate2: float,
    nobs1: float | None,
    nobs_ratio: float = 1.0,
    power: float | None = None,
    alpha: float | None = 0.05,
    alternative: str = "two-sided",
    method_var: str = "alt",
) -> PowerResult:
    """Power of the z test of the difference of two Poisson rates (null: equal rates).

    Notes
    -----
    The rate difference has variance ``(rate1 + rate2 / r) / nobs1`` under the
    alternative; ``method_var="score"`` uses the pooled rate
    ``(rate1 + r rate2)/(1 + r)`` under the null (Stucke & Kieser 2013,
    Biometrical Journal 55:203-16; PASS chapter 436), as statsmodels
    ``power_poisson_diff_2indep`` with ``value=0``.  PASS's example: rates
    15 vs 10, n 6 and 8, one-sided alpha 0.05 gives power 0.82566.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("method_var", method_var, ("alt", "score"))
    unknown = one_unknown({"nobs1": nobs1, "power": power, "alpha": alpha})
    r = nobs_ratio
    sd1 = math.sqrt(rate1 + rate2 / r)
    if method_var == "alt":
        sd0 = sd1
    else:
        pooled = (rate1 + r * rate2) / (1 + r)
        sd0 = math.sqrt(pooled + pooled / r)

    def pw(n1: float, a: float) -> float:
        return _het_power(rate1 - rate2, n1, a, sd0, sd1, alternative)

    if unknown == "power":
        val = power = pw(float(nobs1), float(alpha))  # type: ignore[arg-type]
    elif unknown == "nobs1":
        val = nobs1 = solve_scalar(
            lambda n: pw(n, float(alpha)), float(power), 1e-6, 1e9, what="nobs1"
        )  # type: ignore[arg-type]
    else:
        val = alpha = solve_alpha(lambda a: pw(float(nobs1), a), power)  # type: ignore[arg-type]
    return PowerResult(
        design="rate-difference",
        solved_for=unknown,
        value=float(val),
        power=float(power),  # type: ignore[arg-type]
        alpha=float(alpha),  # type: ignore[arg-type]
        effect=rate1 - rate2,
        std_error=sd1 / math.sqrt(float(nobs1)),  # type: ignore[arg-type]
        df=math.inf,
        alternative=alternative,
        mde=math.nan,
        parameters={"rate1": rate1, "rate2": rate2, "nobs1": float(nobs1), "nobs_ratio": r},  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------
# PowerUp! minimum detectable effect sizes (Dong & Maynard 2013)
# ---------------------------------------------------------------------------


def _multiplier(df: float, alpha: float, power: float, two_tailed: bool) -> float:
    t1 = stats.t.ppf(1 - alpha / 2 if two_tailed else 1 - alpha, df)
    t2 = stats.t.ppf(power, df)
    return float(t1 + t2)


def _mdes_result(
    design: str,
    mdes: float,
    df: float,
    alpha: float,
    power: float,
    two_tailed: bool,
    se: float,
    params: dict,
) -> PowerResult:
    return PowerResult(
        design="mdes",
        solved_for="effect",
        value=mdes,
        power=power,
        alpha=alpha,
        effect=mdes,
        std_error=se,
        df=df,
        alternative="two-sided" if two_tailed else "larger",
        mde=mdes,
        parameters={"powerup_design": design, **params},
    )


def mdes_ira(
    *,
    n: float,
    p: float = 0.5,
    r2: float = 0.0,
    g: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    two_tailed: bool = True,
) -> PowerResult:
    """Minimum detectable effect size of individual random assignment (PowerUp! IRA).

    In hot-spot terms: ``n`` hot spots, a share ``p`` treated, outcomes in SD
    units, baseline covariates explaining ``r2`` of the outcome variance.

    Notes
    -----
    Dong & Maynard (2013), "PowerUp!: A tool for calculating minimum
    detectable effect sizes and minimum required sample sizes for
    experimental and quasi-experimental design studies", Journal of Research
    on Educational Effectiveness 6(1):24-67, IRA design:

    ``MDES = M_{n-g-2} * sqrt((1 - R^2) / (P (1 - P) n))``,
    ``M_v = t_{1-a/2, v} + t_{1-b, v}`` (two-tailed; ``t_{1-a, v}`` one-tailed),

    with ``g`` covariates.  ``mdes.ira(n=250)`` in PowerUpR gives 0.3557750.
    """
    p = check_probability("p", p)
    df = n - g - 2
    if df < 1:
        raise DesignError(f"IRA needs n - g - 2 >= 1 degrees of freedom; got {df}")
    se = math.sqrt((1 - r2) / (p * (1 - p) * n))
    m = _multiplier(df, alpha, power, two_tailed)
    return _mdes_result(
        "ira", m * se, df, alpha, power, two_tailed, se, {"n": n, "p": p, "r2": r2, "g": g}
    )


def mdes_bira2c1(
    *,
    n: float,
    J: float,
    p: float = 0.5,
    r2: float = 0.0,
    g: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    two_tailed: bool = True,
) -> PowerResult:
    """MDES of blocked individual random assignment, constant block effects (PowerUp! BIRA2_1c).

    In hot-spot terms: ``J`` blocks (or ``J`` matched pairs with ``n = 2``)
    of ``n`` hot spots each, a share ``p`` treated within each block.

    Notes
    -----
    Dong & Maynard (2013), BIRA2_1c (blocks fixed, treatment effect constant
    across blocks):

    ``MDES = M_{Jn - J - g - 1} * sqrt((1 - R1^2) / (P (1 - P) J n))``.

    The effect is in units of the within-block outcome SD; the share of the
    total variance the blocks explain (the correlation blocking buys, rho)
    turns it into total-SD units by ``sqrt(1 - rho)`` (see
    :func:`rct.power.designs.parallel_power`).  ``mdes.bira2c1(n=15, J=20)``
    in PowerUpR gives 0.3246342.
    """
    p = check_probability("p", p)
    df = J * n - J - g - 1
    if df < 1:
        raise DesignError(f"BIRA2_1c needs Jn - J - g - 1 >= 1 degrees of freedom; got {df}")
    se = math.sqrt((1 - r2) / (p * (1 - p) * J * n))
    m = _multiplier(df, alpha, power, two_tailed)
    return _mdes_result(
        "bira2c1",
        m * se,
        df,
        alpha,
        power,
        two_tailed,
        se,
        {"n": n, "J": J, "p": p, "r2": r2, "g": g},
    )


def _as_float(x: object) -> float:
    return float(np.asarray(x).item())  # type: ignore[arg-type]
