"""Shared machinery of the analytic design power functions (private)."""

from __future__ import annotations

import math
from collections.abc import Callable

from rct.errors import DesignError
from rct.power._core import solve_alpha, solve_scalar
from rct.power.analytic import _mde_ratio, _peak_bounds, one_unknown

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
