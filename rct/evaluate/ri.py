"""Randomisation inference drawn from the trial's own design object.

The engine takes a design (anything with the :mod:`rct.randomise` contract:
``.assignment``, ``.units``, ``.draw(n, rng)``, ``.enumerate(limit)``), an
outcome vector in ``design.units`` order and a *vectorised* test statistic,
and returns an exact or Monte Carlo p-value and a confidence interval found
by inverting the test.

Statistic contract
------------------
A statistic is a callable ``stat(Z, y) -> T`` where ``Z`` is a float array of
shape ``(B, n_units)`` holding B assignments (1 = treatment, 0 = control) and
``y`` an outcome of shape ``(n_units,)``; it returns ``T`` of shape ``(B,)``
computed for all B assignments at once (matrix products, no Python loop over
assignments).  Optional attributes:

``linear`` (bool)
    ``T(Z, a + c*b) == T(Z, a) + c*T(Z, b)``; the additive-effect interval is
    then found in closed form from two batch evaluations.
``name`` (str), ``scale`` (``"difference"`` or ``"log_ratio"``).

The statistic should be centred at zero under the sharp null of no effect
(differences, log ratios), because the two-sided p-value compares absolute
values.

Also here: :func:`adjusted_randomisation_test` (a dose changed by assignment:
sharp null on ``Y - beta0 X``; the complier effect), :func:`reference_assignments`
(the design's enumerated or drawn assignments) and :func:`null_histogram` (the
JSON-ready null distribution every test stores in ``details["null_histogram"]``).

Layout: the statistics, the :class:`Design` protocol and design alignment are
in :mod:`rct.evaluate.ri_stats`; the null-distribution machinery (reference
assignments, p-values, CI inversion, histogram) in :mod:`rct.evaluate.ri_null`.
Every name is re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from rct.evaluate.results import Estimate, Term
from rct.evaluate.ri_null import _CHUNK_CELLS as _CHUNK_CELLS
from rct.evaluate.ri_null import HISTOGRAM_BINS as HISTOGRAM_BINS
from rct.evaluate.ri_null import (
    _batched,
    _batched_many,
    _exceed,
    _invert,
    _p,
    _shift_family,
    null_histogram,
    reference_assignments,
)
from rct.evaluate.ri_stats import (
    Design,
    DifferenceInMeans,
    align_to_design,
    as_statistic,
    treatment_matrix,
)
from rct.evaluate.ri_stats import _norm_key as _norm_key
from rct.evaluate.ri_stats import _Wrapped as _Wrapped

__all__ = [
    "Design",
    "DifferenceInMeans",
    "RIResult",
    "as_statistic",
    "randomisation_test",
    "ri_estimate",
    "treatment_matrix",
    "align_to_design",
    "adjusted_randomisation_test",
    "null_histogram",
    "reference_assignments",
]

Alternative = Literal["two-sided", "greater", "less"]
Effect = Literal["additive", "multiplicative"]
_ALTERNATIVES = ("two-sided", "greater", "less")
_EFFECTS = ("additive", "multiplicative")


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RIResult:
    """A randomisation test and its inverted confidence interval.

    Attributes
    ----------
    observed
        The statistic at the observed assignment (null value 0 / ratio 1).
    p_value
        Randomisation p-value of the sharp null ``null`` (see Notes of
        :func:`randomisation_test` for the exact definition).
    method
        ``"exact"`` (all assignments enumerated) or ``"monte carlo"``.
    n_draws
        Assignments used (all of them when exact).
    mc_se
        Monte Carlo standard error of ``p_value`` (0 when exact).
    conf_low, conf_high
        ``1 - alpha`` interval by test inversion (NaN when not requested);
        on the effect scale (a ratio when ``effect == "multiplicative"``).
    """

    statistic: str
    observed: float
    p_value: float
    alternative: str
    method: str
    n_draws: int
    mc_se: float
    effect: str
    null: float
    alpha: float
    conf_low: float = math.nan
    conf_high: float = math.nan
    null_sd: float = math.nan
    details: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @property
    def estimate(self) -> float:
        """The observed statistic on the effect scale (ratio if multiplicative)."""
        return math.exp(self.observed) if self.effect == "multiplicative" else self.observed

    def to_dict(self) -> dict[str, Any]:
        from rct.evaluate.results import _clean

        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "details"}
        d["details"] = dict(self.details)
        return _clean(d)


def _shift(y: np.ndarray, z: np.ndarray, tau: float, effect: str) -> np.ndarray:
    """Hypothesised control outcomes ``Y(0)`` under a constant effect ``tau``."""
    if effect == "additive":
        return y - tau * z
    with np.errstate(over="ignore", invalid="ignore"):  # far ends of an unbounded interval
        return y * np.exp(-tau * z)  # tau is a log ratio


# ---------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------


def randomisation_test(
    design: Any,
    y: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    draws: int = 2000,
    rng: np.random.Generator | int | None = None,
    exact_limit: int = 100_000,
    alternative: Alternative = "two-sided",
    null: float | None = None,
    effect: Effect = "additive",
    ci: bool = True,
    alpha: float = 0.05,
    treated: int = 1,
    assignments: np.ndarray | None = None,
    reference: tuple[np.ndarray, bool, np.ndarray | None] | None = None,
) -> RIResult:
    """Randomisation test of a sharp null, drawn from the design, with an inverted CI.

    Parameters
    ----------
    design
        Object with ``.assignment`` (arm codes in ``.units`` order),
        ``.draw(n, rng)`` and ``.enumerate(limit)`` (see :mod:`rct.randomise`).
    y
        Outcome in ``design.units`` order (see :func:`align_to_design`).
    statistic
        Vectorised statistic ``stat(Z, y) -> (B,)`` (module docstring);
        default :class:`DifferenceInMeans`.
    draws
        Monte Carlo draws when the design has more than ``exact_limit``
        assignments (or cannot enumerate them).
    rng
        Generator or seed for the Monte Carlo draws.
    alternative
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    null
        The sharp null effect: an additive shift (default 0), or a *ratio*
        (default 1) when ``effect == "multiplicative"``.
    effect
        ``"additive"`` (``Y(1) = Y(0) + tau``) or ``"multiplicative"``
        (``Y(1) = rho Y(0)``; the statistic should then be a log ratio).
    ci
        Invert the test for a ``1 - alpha`` interval.
    treated
        Arm code counted as treatment (others are control).
    assignments
        Use these assignments (shape ``(B, n_units)``) instead of drawing.
    reference
        ``(Z, exact, weights)`` from :func:`reference_assignments`, computed
        once and shared by several tests of the same design (an evaluation
        draws the design's assignments once and scores every statistic on them).

    Returns
    -------
    RIResult

    Notes
    -----
    Under the sharp null ``H(tau)`` every unit's control outcome is known:
    ``Y0 = Y - tau Z`` (additive) or ``Y0 = Y rho^{-Z}`` (multiplicative,
    ``tau = log rho``), and ``Y0`` does not depend on the assignment.  The
    reference distribution is ``T_b = T(Z_b, Y0)`` over assignments ``Z_b``
    from the design; the observed value is ``t = T(Z_obs, Y0)`` (Rosenbaum
    2002, ch. 2; Gerber & Green 2012, ch. 3).

    * exact (all ``N`` assignments enumerated): ``p = sum_b P(Z_b) 1{|T_b| >= |t|}``
      with the design's exact assignment probabilities (``#{...}/N`` when they
      are equal; the observed assignment is one of them);
    * Monte Carlo (``B`` independent draws): ``p = (1 + #{b : |T_b| >= |t|}) / (B + 1)``,
      which is a valid p-value for any ``B`` (Phipson & Smyth 2010); its
      Monte Carlo SE is ``sqrt(p_hat (1 - p_hat) / B)``, ``p_hat = #{...} / B``.

    ``"greater"``/``"less"`` replace ``|T_b| >= |t|`` with ``T_b >= t`` /
    ``T_b <= t``.  Ties count as exceeding (relative tolerance 1e-9).
    Assignments where the statistic is undefined (NaN, e.g. tasking
    collinear with the fixed effects) are left out of ``N``/``B`` and
    counted in ``details["n_undefined"]``.

    The interval is ``{tau : p(tau) > alpha}`` computed with the same set of
    assignments for every ``tau``; its ends are found by bracketing outward
    from the estimate and bisecting (or, for a linear statistic and an
    additive effect, from ``T(Z_b, Y - tau Z) = T(Z_b, Y) - tau T(Z_b, Z)``
    evaluated once).  The p-value function is a step function, so the ends
    are accurate to the bisection tolerance (1e-6 of the null SD).
    """
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    if effect not in _EFFECTS:
        raise ValueError(f"effect must be one of {_EFFECTS}, got {effect!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    stat = statistic if statistic is not None else DifferenceInMeans()
    y = np.asarray(y, dtype=np.float64)
    z_obs = treatment_matrix(np.asarray(design.assignment), treated)
    if z_obs.shape != y.shape:
        raise ValueError(f"y has {y.size} values but the design has {z_obs.size} units")
    if not np.all(np.isfinite(y)):
        raise ValueError("y has missing or infinite values")

    if reference is not None:
        Zall, exact, weights = reference
        if Zall.ndim != 2 or Zall.shape[1] != y.size:
            raise ValueError(f"reference assignments must have shape (B, {y.size}), "
                             f"got {Zall.shape}")
    else:
        Zall, exact, weights = reference_assignments(design, assignments=assignments,
                                                     draws=draws, rng=rng,
                                                     exact_limit=exact_limit, treated=treated,
                                                     n_units=y.size)
    B = Zall.shape[0]
    Zobs = z_obs[None, :]
    if null is None:
        null = 0.0 if effect == "additive" else 1.0
    if effect == "multiplicative" and not null > 0:
        raise ValueError(f"a multiplicative null must be a ratio > 0, got {null!r}")
    tau0 = null if effect == "additive" else math.log(null)

    linear = bool(getattr(stat, "linear", False)) and effect == "additive"
    # a multiplicative statistic that can score every hypothesised ratio from one pass
    family = None
    memo = getattr(reference, "memo", None)  # statistics already computed on these draws
    if effect == "multiplicative" and hasattr(stat, "shift_family"):
        fam_all = _shift_family(stat, Zall, y, z_obs, memo)
        fam_obs = stat.shift_family(Zobs, y, z_obs)

        def family(tau: float) -> tuple[np.ndarray, float]:
            return fam_all(tau), float(fam_obs(tau)[0])

    if family is not None:
        a = family(0.0)[0]
    elif linear and (ci or tau0 != 0):  # T(Z, y) and T(Z, z_obs) in one pass over the draws
        a, c = _batched_many(stat, Zall, [y, z_obs], memo=memo)
    else:
        a = _batched(stat, Zall, y)
    a_obs = float(stat(Zobs, y)[0])
    if family is not None:
        T0, t0 = family(tau0)
    elif linear and (ci or tau0 != 0):
        c_obs = float(stat(Zobs, z_obs)[0])
        T0 = a - tau0 * c
        t0 = a_obs - tau0 * c_obs
    elif linear:
        T0, t0 = a, a_obs
    else:
        y0 = _shift(y, z_obs, tau0, effect)
        T0 = _batched(stat, Zall, y0) if tau0 != 0 else a
        t0 = float(stat(Zobs, y0)[0]) if tau0 != 0 else a_obs
    undefined = int(np.isnan(T0).sum())
    Bd = B - undefined
    k = int(np.count_nonzero(_exceed(T0[~np.isnan(T0)], t0, alternative)))
    if Bd == 0:
        raise ValueError("the statistic is undefined for every assignment")
    p = _p(T0, t0, alternative, exact, weights)
    mc_se = 0.0 if exact or Bd == 0 else math.sqrt((k / Bd) * (1 - k / Bd) / Bd)
    finite = a[np.isfinite(a)]
    null_sd = float(np.std(finite)) if finite.size > 1 else math.nan

    lo = hi = math.nan
    if ci:
        if linear:

            def pfun(tau: float) -> float:
                return _p(a - tau * c, a_obs - tau * c_obs, "two-sided", exact, weights)

        elif family is not None:

            def pfun(tau: float) -> float:
                T, t = family(tau)
                return _p(T, t, "two-sided", exact, weights)

        else:

            def pfun(tau: float) -> float:
                y0 = _shift(y, z_obs, tau, effect)
                T = _batched(stat, Zall, y0)
                t = float(stat(Zobs, y0)[0])
                return _p(T, t, "two-sided", exact, weights)

        lo, hi = _invert(pfun, a_obs, null_sd, alpha)
        if effect == "multiplicative":
            lo, hi = math.exp(lo), math.exp(hi)

    return RIResult(
        statistic=str(getattr(stat, "name", getattr(stat, "__name__", "statistic"))),
        observed=a_obs,
        p_value=p,
        alternative=alternative,
        method="exact" if exact else "monte carlo",
        n_draws=B,
        mc_se=mc_se,
        effect=effect,
        null=null,
        alpha=alpha,
        conf_low=lo,
        conf_high=hi,
        null_sd=null_sd,
        details={
            "p_definition": (
                "sum of P(Z_b) over all assignments with |T_b| >= |t| (#/N when equally likely)"
                if exact
                else "(1 + #{|T_b| >= |t|})/(B + 1) over B Monte Carlo draws"
            ),
            "n_exceed": k,
            "n_undefined": undefined,
            "null_histogram": null_histogram(T0, t0, p, alternative=alternative, weights=weights),
        },
    )


def adjusted_randomisation_test(
    design: Any,
    y: np.ndarray,
    x: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    *,
    draws: int = 2000,
    rng: np.random.Generator | int | None = None,
    exact_limit: int = 100_000,
    alternative: Alternative = "two-sided",
    null: float = 0.0,
    ci: bool = True,
    alpha: float = 0.05,
    treated: int = 1,
    assignments: np.ndarray | None = None,
    name: str | None = None,
    reference: tuple[np.ndarray, bool, np.ndarray | None] | None = None,
) -> RIResult:
    """Randomisation test of ``beta = null`` in ``Y = Y(0) + beta X`` (X affected by assignment).

    ``reference``: precomputed ``(Z, exact, weights)``, as for
    :func:`randomisation_test`.

    For a dose ``x`` (e.g. presence minutes) that assignment changes, test the
    sharp null that the dose's effect is a constant ``beta0``: then the
    adjusted outcome ``y - beta0 x`` is the same whatever the assignment, and
    its statistic's randomisation distribution is known.  ``statistic`` must
    be linear in the outcome (``linear = True``; default
    :class:`DifferenceInMeans`; :class:`rct.evaluate.crossover.TwoWayFE` for a
    crossover).  The estimate is the ``beta`` that zeroes the observed
    statistic, ``T(Z, y) / T(Z, x)`` (the Wald / IV estimate), and the
    interval ``{beta0 : p(beta0) > alpha}``.

    Notes
    -----
    Model: ``Y_i(d) = Y_i(0) + beta d`` for every dose ``d`` a unit may get,
    and the dose ``D_i(z)`` depends on assignment only through the
    randomisation (exclusion restriction).  Under ``H(beta0)``
    ``Y_i - beta0 D_i = Y_i(0)`` whatever ``Z`` is, so
    ``T_b(beta0) = T(Z_b, y - beta0 x) = T(Z_b, y) - beta0 T(Z_b, x)`` (by
    linearity; the *observed* ``x`` is held fixed — it is ``y - beta0 x``,
    not ``x``, that is invariant) and ``p(beta0)`` is computed as in
    :func:`randomisation_test`.  Inverting over ``beta0`` gives the
    Imbens & Rosenbaum (2005) interval for the dose effect, valid however
    weak the instrument (it is then wide or unbounded: ends of ``±inf``).  The
    ends are those of the connected set of accepted ``beta0`` around the
    estimate.  Imbens, G. W. & Rosenbaum, P. R. (2005), Robust, accurate
    confidence intervals with a weak instrument, *JRSS A* 168:109–126.
    """
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    stat = statistic if statistic is not None else DifferenceInMeans()
    if not getattr(stat, "linear", False):
        raise ValueError("adjusted_randomisation_test needs a statistic linear in the outcome "
                         "(linear=True)")
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    z_obs = treatment_matrix(np.asarray(design.assignment), treated)
    if not (z_obs.shape == y.shape == x.shape):
        raise ValueError(f"y, x and the design must have the same units: {y.size}, {x.size}, "
                         f"{z_obs.size}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
        raise ValueError("y or x has missing or infinite values")
    if reference is not None:
        Zall, exact, weights = reference
        if Zall.ndim != 2 or Zall.shape[1] != y.size:
            raise ValueError(f"reference assignments must have shape (B, {y.size}), "
                             f"got {Zall.shape}")
    else:
        Zall, exact, weights = reference_assignments(design, assignments=assignments,
                                                     draws=draws, rng=rng,
                                                     exact_limit=exact_limit, treated=treated,
                                                     n_units=y.size)
    Zobs = z_obs[None, :]
    a, c = _batched_many(stat, Zall, [y, x], memo=getattr(reference, "memo", None))
    a_obs, c_obs = float(stat(Zobs, y)[0]), float(stat(Zobs, x)[0])
    est = a_obs / c_obs if c_obs != 0 else math.nan
    T0, t0 = a - null * c, a_obs - null * c_obs
    p = _p(T0, t0, alternative, exact, weights)
    defined = ~np.isnan(T0)
    Bd = int(defined.sum())
    if Bd == 0:
        raise ValueError("the statistic is undefined for every assignment")
    k = int(np.count_nonzero(_exceed(T0[defined], t0, alternative)))
    mc_se = 0.0 if exact else math.sqrt((k / Bd) * (1 - k / Bd) / Bd)
    # scale of beta: SD of the Wald ratio's numerator over that of the observed first stage
    sd_a = float(np.nanstd(a)) if a.size > 1 else math.nan
    scale = sd_a / abs(c_obs) if c_obs != 0 and np.isfinite(sd_a) else math.nan
    lo = hi = math.nan
    if ci:
        lo, hi = _invert(lambda b: _p(a - b * c, a_obs - b * c_obs, "two-sided", exact, weights),
                         est, scale, alpha)
    label = name or f"{getattr(stat, 'name', 'statistic')} of the dose-adjusted outcome"
    return RIResult(
        statistic=label, observed=est, p_value=p, alternative=alternative,
        method="exact" if exact else "monte carlo", n_draws=int(Zall.shape[0]), mc_se=mc_se,
        effect="additive", null=float(null), alpha=alpha, conf_low=lo, conf_high=hi,
        null_sd=scale,
        details={
            "p_definition": ("sum of P(Z_b) over assignments with |T_b| >= |t|" if exact else
                             "(1 + #{|T_b| >= |t|})/(B + 1) over B Monte Carlo draws"),
            "sharp_null": "Y - beta0 * dose is the same under every assignment",
            "statistic_at_null": t0,
            "itt_outcome": a_obs,
            "itt_dose": c_obs,
            "n_exceed": k,
            "n_undefined": int(Zall.shape[0] - Bd),
            "null_histogram": null_histogram(T0, t0, p, alternative=alternative,
                                             weights=weights),
        },
    )


def ri_estimate(
    result: RIResult,
    *,
    outcome: str,
    term: str = "treatment",
    n: int,
    method: str | None = None,
) -> Estimate:
    """An :class:`Estimate` carrying a randomisation test (p-value and inverted CI)."""
    scale = "ratio" if result.effect == "multiplicative" else "difference"
    label = method or f"randomisation inference: {result.statistic}"
    how = "exact" if result.method == "exact" else f"Monte Carlo, {result.n_draws} draws"
    return Estimate(
        outcome=outcome,
        method=f"{label} ({how})",
        terms=(
            Term(
                term=term,
                estimate=result.estimate,
                std_error=math.nan,
                statistic=result.observed,
                p_value=result.p_value,
                conf_low=result.conf_low,
                conf_high=result.conf_high,
                scale=scale,
            ),
        ),
        n=n,
        alpha=result.alpha,
        details={
            "ri_method": result.method,
            "ri_draws": result.n_draws,
            "ri_mc_se": result.mc_se,
            "ri_alternative": result.alternative,
            "ri_effect": result.effect,
            "ri_null": result.null,
            "ri_null_sd": result.null_sd,
            **dict(result.details),
        },
    )
