"""Shared machinery for power calculations: test power, choice checks, root finding."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, stats

from rct.errors import DesignError

__all__ = [
    "ALTERNATIVES",
    "check_choice",
    "power_of_test",
    "solve_scalar",
    "solve_alpha",
    "critical_value",
]

ALTERNATIVES = ("two-sided", "larger", "smaller")


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return str(value)


def check_probability(name: str, value: float, *, closed: bool = False) -> float:
    value = float(value)
    ok = (0.0 <= value <= 1.0) if closed else (0.0 < value < 1.0)
    if not ok or math.isnan(value):
        raise DesignError(f"{name} must be in {'[0, 1]' if closed else '(0, 1)'}; got {value}")
    return value


def critical_value(alpha: float, df: float | None, alternative: str) -> float:
    """Critical value of the t (``df``) or normal (``df`` None/inf) reference distribution."""
    a = alpha / 2.0 if alternative == "two-sided" else alpha
    if df is None or not np.isfinite(df):
        return float(stats.norm.isf(a))
    return float(stats.t.isf(a, df))


def power_of_test(ncp: float, df: float | None, alpha: float, alternative: str,
                  crit_scale: float = 1.0) -> float:
    """Power of a t (noncentral t, ``df``) or z test (``df`` None) with noncentrality ``ncp``.

    ``alternative`` is ``"two-sided"``, ``"larger"`` (reject for large
    statistics) or ``"smaller"``.  The two-sided power counts both tails, as
    ``pwr.t.test`` does.  ``crit_scale`` multiplies the critical value: a
    standard error whose expectation is ``crit_scale^2`` times the true
    variance rejects when the noncentral t exceeds ``crit_scale`` times
    the critical value.
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    crit = critical_value(alpha, df, alternative) * crit_scale
    normal = df is None or not np.isfinite(df)
    if normal:
        upper = stats.norm.sf(crit - ncp)
        lower = stats.norm.cdf(-crit - ncp)
    elif ncp == 0:
        upper = stats.t.sf(crit, df)
        lower = stats.t.cdf(-crit, df)
    else:
        upper = stats.nct.sf(crit, df, ncp)
        lower = stats.nct.cdf(-crit, df, ncp)
    if not (np.isfinite(upper) and np.isfinite(lower)):  # nct fails far in the tail
        upper = stats.norm.sf(crit - ncp) if np.isnan(upper) else upper
        lower = stats.norm.cdf(-crit - ncp) if np.isnan(lower) else lower
    if alternative == "two-sided":
        return float(min(1.0, upper + lower))
    if alternative == "larger":
        return float(upper)
    return float(lower)


def solve_scalar(
    fn: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    what: str,
    xtol: float = 1e-10,
) -> float:
    """Solve ``fn(x) == target`` for x in [lo, hi] by Brent's method; always a float.

    Raises
    ------
    DesignError
        When ``fn(lo) - target`` and ``fn(hi) - target`` have the same sign:
        no solution in the range (the message gives the range of ``fn``).
    """
    f_lo = fn(lo) - target
    f_hi = fn(hi) - target
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)):
        raise DesignError(f"cannot solve for {what}: power is not finite at the search bounds")
    if f_lo == 0:
        return float(lo)
    if f_hi == 0:
        return float(hi)
    if np.sign(f_lo) == np.sign(f_hi):
        raise DesignError(
            f"no {what} in [{lo:g}, {hi:g}] gives {target:g}: the value ranges from "
            f"{f_lo + target:.4g} to {f_hi + target:.4g} over that range"
        )
    return float(optimize.brentq(lambda x: fn(x) - target, lo, hi, xtol=xtol, rtol=1e-12))


def solve_alpha(fn: Callable[[float], float], power: float) -> float:
    """The level ``alpha`` in (0, 1) at which ``fn(alpha)``, the power at that level, is ``power``."""
    return solve_scalar(fn, float(power), 1e-10, 1 - 1e-10, what="alpha")
