"""Estimates by site and by shift beside the pooled one, and tests of heterogeneity.

A trial run in several sites (policing areas, forces), or a shift crossover
whose units are hot spots in one time window, is analysed as one trial: the
pre-registered test pools every unit.  Beside it, as exploratory analyses,
:func:`subgroup_estimates` reports for each site, each shift (window) and,
when there are both, each site × shift cell:

* the **same primary statistic restricted to the subgroup's units**, with its
  randomisation test and inverted interval drawn from the *same* reference
  assignments as the pooled test (the trial's own design, so per-site daily
  quotas and per-shift quotas are respected), restricted to those units; and
* the **model-based estimate** of the same effect with its small-sample
  standard error (crossover: two-way fixed-effects Poisson with CR2
  cluster-robust SEs and Satterthwaite df — or two-way FE OLS for a difference
  primary; parallel: the quasi-Poisson rate ratio or the Neyman difference).

Heterogeneity across the levels of a dimension (sites, or shifts) is reported
two ways; :func:`heterogeneity_ri` gives the one to read as the test.

*Cochran's Q, I² and τ²* (:func:`rct.evaluate.meta.meta_analysis`, REML) on the
model-based log rate ratios (or differences) and their small-sample
variances: the standard summary, matching the per-site forest plot.  Its
p-value refers Q to χ² with S - 1 df, which treats the variances as known;
with a few hot spots per site the CR2 variances are themselves noisy and the
χ² reference is only approximate: in the calibration study
(``tests/plan/test_subgroups_calibration.py``; 2 sites x 6 places x 2
shifts, 42 days, overdispersed counts, 400 trials per scenario) it rejected
a true common effect 8.0 % of the time across sites and 5.3 % across shifts
at α = 5 %, against 3.8 % and 1.3 % for the randomisation test below (MC SE
1.1 points); per-site and per-shift 95 % intervals covered 94.3-97.3 %
(randomisation) and 93.0-97.0 % (model-based).

*A randomisation test of heterogeneity* (the one to read as the test): the
statistic is :math:`T = \\sum_s w_s (\\hat\\theta_s - \\bar\\theta_w)^2`, the
weighted spread of the subgroup statistics :math:`\\hat\\theta_s` (the primary
statistic restricted to subgroup ``s``) with fixed weights :math:`w_s = 1/v_s`
from the model-based variances.  The null "one constant effect τ for every
unit" is composite (τ unknown), so the test is the Berger–Boos / Ding–Feller–
Miratrix construction: for each τ on a grid over a :math:`1-\\gamma`
confidence interval of the pooled effect, the sharp null ``H(τ)`` fixes
every unit's control outcome and gives an exact randomisation p-value
:math:`p(\\tau)` from the design's reference assignments; the test's p-value
is :math:`\\min\\{1, \\max_\\tau p(\\tau) + \\gamma\\}` (γ = 0.001), valid at
any sample size whatever the design's strata.  It is chosen over Q's χ²
p-value because it needs no variance to be known and no normal
approximation, and uses the very randomisation the trial ran (per-site and
per-shift quotas included); the price is some power (33 % against 43 % for
Q in the study above, which Q buys partly with its excess size).  Ding, P., Feller, A. & Miratrix, L. (2016),
Randomization inference for treatment effect variation, *JRSS B*
78:655–671; Berger, R. L. & Boos, D. D. (1994), P values maximised over a
confidence set for the nuisance parameter, *JASA* 89:1012–1016; Cochran
(1954), *Biometrics* 10:101–129; Higgins & Thompson (2002), *Stat. Med.*
21:1539–1558.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from rct.errors import RCTWarning
from rct.evaluate.results import Estimate, Term

__all__ = ["RestrictedDesign", "subgroup_estimates", "heterogeneity_ri", "GAMMA"]

#: the Berger–Boos γ: the nuisance effect's interval is at level 1 - γ, and γ is added to p
GAMMA = 0.001
_GRID = 41


class RestrictedDesign:
    """The trial's design seen on a subset of its units (``idx``, in design-unit order).

    Draws are the design's own, restricted to the subset: a subgroup's
    randomisation test compares the observed subgroup assignment with the
    subgroup part of assignments the whole design could have produced, so the
    distribution is exactly the design's marginal on those units.
    """

    def __init__(self, design: Any, idx: np.ndarray) -> None:
        self.parent = design
        self.idx = np.asarray(idx, dtype=np.int64)
        self.units = design.units[self.idx]
        self.assignment = np.asarray(design.assignment)[self.idx]

    def draw(self, n: int, rng: Any) -> np.ndarray:
        return np.asarray(self.parent.draw(n, rng))[:, self.idx]

    def enumerate(self, limit: int = 100_000, **kw: Any) -> Any:
        full = self.parent.enumerate(limit, **kw) if kw else self.parent.enumerate(limit)
        if full is None:
            return None
        if isinstance(full, tuple):
            return np.asarray(full[0])[:, self.idx], full[1]
        return np.asarray(full)[:, self.idx]


def _restrict(reference: tuple, idx: np.ndarray) -> tuple:
    Z, exact, weights = reference
    return np.ascontiguousarray(Z[:, idx]), exact, weights


def _families(stats: list[Any], Z: np.ndarray, y: np.ndarray, z: np.ndarray,
              idxs: list[np.ndarray], effect: str) -> list[Any]:
    """For each subgroup, ``tau -> (T over the reference draws, observed T)`` under H(tau)."""
    from rct.evaluate.ri_null import _batched

    out = []
    for stat, idx in zip(stats, idxs, strict=True):
        Zg, yg, zg = np.ascontiguousarray(Z[:, idx]), y[idx], z[idx]
        if effect == "multiplicative" and hasattr(stat, "shift_family"):
            fam, obs = stat.shift_family(Zg, yg, zg), stat.shift_family(zg[None, :], yg, zg)
            out.append(lambda tau, fam=fam, obs=obs: (fam(tau), float(obs(tau)[0])))
        elif effect == "additive" and getattr(stat, "linear", False):
            a, c = _batched(stat, Zg, yg), _batched(stat, Zg, zg)
            a0, c0 = float(stat(zg[None, :], yg)[0]), float(stat(zg[None, :], zg)[0])
            out.append(lambda tau, a=a, c=c, a0=a0, c0=c0: (a - tau * c, a0 - tau * c0))
        else:
            def direct(tau: float, stat=stat, Zg=Zg, yg=yg, zg=zg) -> tuple:
                y0 = yg - tau * zg if effect == "additive" else yg * np.exp(-tau * zg)
                return _batched(stat, Zg, y0), float(stat(zg[None, :], y0)[0])
            out.append(direct)
    return out


def heterogeneity_ri(stats: list[Any], y: np.ndarray, z_obs: np.ndarray,
                     idxs: list[np.ndarray], reference: tuple, *, weights: np.ndarray,
                     effect: str, center: float, scale: float, gamma: float = GAMMA,
                     grid: int = _GRID) -> dict[str, Any]:
    """Randomisation test of "one constant effect in every subgroup" (see the module docstring).

    Parameters
    ----------
    stats, idxs
        The primary statistic of each subgroup and its units (design-unit positions).
    y, z_obs
        Outcome and observed assignment (0/1) in design-unit order.
    reference
        ``(Z, exact, weights)`` of the whole design (:func:`rct.evaluate.ri.reference_assignments`).
    weights
        Fixed weights ``w_s`` of the spread statistic (``1/v_s``).
    effect
        ``"multiplicative"`` (statistics are log ratios, ``tau`` a log ratio) or ``"additive"``.
    center, scale
        The pooled estimate (log scale when multiplicative) and its standard
        error: the nuisance interval is ``center ± z_{1-gamma/2} scale``.

    Returns
    -------
    dict
        ``p_value`` (``min(1, max p(tau) + gamma)``), ``statistic`` (observed
        ``T`` at the pooled estimate), ``tau_range``, ``grid``, ``gamma``.
    """
    from scipy import stats as st

    from rct.evaluate.ri_null import _p

    Z, exact, ref_w = reference
    fams = _families(stats, Z, np.asarray(y, float), np.asarray(z_obs, float), idxs, effect)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    half = float(st.norm.ppf(1 - gamma / 2)) * float(scale)
    taus = np.linspace(center - half, center + half, int(grid)) if half > 0 else np.array(
        [center])

    def spread(theta: np.ndarray) -> np.ndarray:
        bar = theta @ w
        return ((theta - bar[..., None]) ** 2) @ w

    ps = []
    # a few dozen hypothesised effects, each one pass over (B, S) arrays; a subgroup whose
    # statistic is undefined under some assignment (no events) gives NaN there, left out
    with np.errstate(all="ignore"):
        for tau in taus:
            pairs = [f(float(tau)) for f in fams]
            T = spread(np.column_stack([p[0] for p in pairs]))
            t = float(spread(np.array([p[1] for p in pairs])))
            ps.append(_p(T, t, "greater", exact, ref_w))
        pairs = [f(float(center)) for f in fams]
        t_at_center = float(spread(np.array([p[1] for p in pairs])))
    ps = np.asarray(ps, dtype=float)
    p_max = float(np.nanmax(ps)) if np.isfinite(ps).any() else math.nan
    return {"p_value": min(1.0, p_max + gamma) if math.isfinite(p_max) else math.nan,
            "p_max": p_max, "statistic": t_at_center, "gamma": gamma,
            "tau_range": [float(taus[0]), float(taus[-1])], "grid": int(len(taus)),
            "effect": effect, "exact": bool(exact)}


def _levels(labels: np.ndarray) -> list[str]:
    return sorted({str(v) for v in labels})


def subgroup_estimates(
    design: Any, y: np.ndarray, *, groups: dict[str, np.ndarray], make_stat: Any,
    model: Any, reference: tuple, outcome: str, effect: str, label: str, alpha: float,
    pooled: Estimate, unit: str = "hot spot", term: str = "treatment",
) -> tuple[list[Estimate], dict[str, Any]]:
    """Per-subgroup randomisation and model-based estimates, and heterogeneity per dimension.

    Parameters
    ----------
    design, y
        The trial's design object and the outcome in its unit order.
    groups
        Dimension (``"site"``, ``"shift"``, ``"site × shift"``) -> label of each
        design unit (strings).  A dimension with one level is skipped.
    make_stat
        ``idx -> statistic`` restricted to units ``idx`` (the primary statistic).
    model
        ``(idx) -> Estimate`` the model-based estimate on those units, whose
        first term has ``estimate`` and ``std_error`` (for a ratio: the SE of
        the log ratio, ``details["log_irr"]``), or None when it cannot be fitted.
    reference
        The evaluation's shared reference assignments.
    pooled
        The pooled primary estimate (its interval centres the nuisance grid).

    Returns
    -------
    (estimates, summary)
        Estimates with ``role = "exploratory"`` and ``details["subgroup"] =
        {"by", "level", "units"}``; ``summary`` maps each dimension to its
        levels and heterogeneity (for ``results.json`` ``meta["subgroups"]``).
    """
    from rct.evaluate.ri import randomisation_test, ri_estimate, treatment_matrix

    z_obs = treatment_matrix(np.asarray(design.assignment))
    out: list[Estimate] = []
    summary: dict[str, Any] = {}
    multiplicative = effect == "multiplicative"
    pe = pooled.effect
    if multiplicative:
        center = math.log(pe.estimate) if pe.estimate and pe.estimate > 0 else 0.0
    else:
        center = float(pe.estimate) if math.isfinite(pe.estimate) else 0.0
    null_sd = float(pooled.details.get("ri_null_sd", math.nan))
    for by, labels in groups.items():
        labels = np.asarray(labels, dtype=object).astype(str)
        levels = _levels(labels)
        if len(levels) < 2:
            continue
        rows, stats, idxs, yi, vi, labs = [], [], [], [], [], []
        for lev in levels:
            idx = np.flatnonzero(labels == lev)
            stat = make_stat(idx)
            sub = RestrictedDesign(design, idx)
            n_units = len(set(map(str, _unit_ids(sub.units))))
            tag = f" ({by}: {lev})"
            try:
                with np.errstate(all="ignore"):  # far ends of a small subgroup's interval
                    res = randomisation_test(sub, y[idx], stat, effect=effect, alpha=alpha,
                                             reference=_restrict(reference, idx))
                ri = ri_estimate(res, outcome=outcome, n=len(idx), term=term,
                                 method=f"randomisation inference: {label}{tag}")
            except ValueError as exc:  # e.g. no events in the subgroup
                warnings.warn(f"subgroup {by} {lev}: randomisation test not possible ({exc})",
                              RCTWarning, stacklevel=3)
                ri = None
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mod = model(idx)
            except Exception as exc:  # noqa: BLE001 - a subgroup model that cannot be fitted
                warnings.warn(f"subgroup {by} {lev}: model not fitted ({exc})", RCTWarning,
                              stacklevel=3)
                mod = None
            info = {"by": by, "level": lev, "units": n_units, "design_units": int(len(idx))}
            for e in (ri, mod):
                if e is None:
                    continue
                e = Estimate(outcome=e.outcome, method=e.method if e is ri else
                             f"{e.method}{tag}", terms=e.terms[:1], n=e.n, alpha=e.alpha,
                             details={**dict(e.details), "subgroup": info}, role="exploratory")
                out.append(e)
            th, v = _model_theta(mod, multiplicative)
            row = {"level": lev, "units": n_units, "design_units": int(len(idx)),
                   "estimate": None if ri is None else _f(ri.effect.estimate),
                   "conf_low": None if ri is None else _f(ri.effect.conf_low),
                   "conf_high": None if ri is None else _f(ri.effect.conf_high),
                   "p_value": None if ri is None else _f(ri.effect.p_value),
                   "model_estimate": None if mod is None else _f(mod.effect.estimate),
                   "model_conf_low": None if mod is None else _f(mod.effect.conf_low),
                   "model_conf_high": None if mod is None else _f(mod.effect.conf_high),
                   "model_p_value": None if mod is None else _f(mod.effect.p_value)}
            rows.append(row)
            if ri is not None and math.isfinite(th) and math.isfinite(v) and v > 0:
                stats.append(stat)
                idxs.append(idx)
                yi.append(th)
                vi.append(v)
                labs.append(lev)
        het = _heterogeneity(yi, vi, levels=labs, multiplicative=multiplicative, alpha=alpha)
        if len(stats) >= 2:
            scale = null_sd if math.isfinite(null_sd) and null_sd > 0 else float(
                1 / math.sqrt(np.sum(1 / np.asarray(vi))))
            ri_het = heterogeneity_ri(stats, y, z_obs, idxs, reference,
                                      weights=1 / np.asarray(vi), effect=effect,
                                      center=center, scale=scale)
            het["randomisation"] = ri_het
            out.append(_het_estimate(het, by=by, outcome=outcome, n=len(y), alpha=alpha,
                                     unit=unit))
        summary[by] = {"levels": rows, "heterogeneity": het}
    return out, summary


def _unit_ids(units: Any) -> list[Any]:
    import pandas as pd

    if isinstance(units, pd.MultiIndex):
        return list(units.get_level_values(0))
    return list(units)


def _f(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _model_theta(mod: Estimate | None, multiplicative: bool) -> tuple[float, float]:
    """(estimate on the analysis scale, its variance) from a model-based estimate."""
    if mod is None:
        return math.nan, math.nan
    t = mod.effect
    if multiplicative:
        if not (t.estimate and t.estimate > 0):
            return math.nan, math.nan
        logs = [x for x in mod.terms[1:] if x.scale == "log_ratio"]
        if logs:  # a log-IRR term beside the ratio (count_model)
            se = logs[0].std_error
        elif str(mod.details.get("std_error_scale", "")).startswith("log"):
            se = t.std_error  # the crossover Poisson model reports the SE of the log ratio
        else:
            se = t.std_error / t.estimate  # a delta-method SE of the ratio
        return math.log(t.estimate), float(se) ** 2
    return float(t.estimate), float(t.std_error) ** 2


def _heterogeneity(yi: list[float], vi: list[float], *, levels: list[str],
                   multiplicative: bool, alpha: float) -> dict[str, Any]:
    """Cochran's Q, I², τ² (REML) of the subgroup model estimates (meta_analysis)."""
    if len(yi) < 2:
        return {"k": len(yi), "note": "fewer than two subgroups with an estimate"}
    import pandas as pd

    from rct.evaluate.meta import meta_analysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RCTWarning)
        try:
            m = meta_analysis(pd.DataFrame({"label": levels, "yi": yi, "vi": vi}),
                              method="REML", alpha=alpha,
                              scale="log_ratio" if multiplicative else "difference")
        except ValueError:  # REML did not converge: DerSimonian-Laird (metafor's advice)
            m = meta_analysis(pd.DataFrame({"label": levels, "yi": yi, "vi": vi}),
                              method="DL", alpha=alpha,
                              scale="log_ratio" if multiplicative else "difference")
    d = m.details
    return {"k": int(d["k"]), "Q": d["Q"], "Q_df": int(d["Q_df"]), "Q_p": d["Q_p"],
            "I2": d["I2"], "tau2": d["tau2"], "tau2_method": d["tau2_method"],
            "scale": "log rate ratio" if multiplicative else "difference",
            "pooled": _f(m.terms[-1].estimate), "pooled_low": _f(m.terms[-1].conf_low),
            "pooled_high": _f(m.terms[-1].conf_high)}


def _het_estimate(het: dict[str, Any], *, by: str, outcome: str, n: int, alpha: float,
                  unit: str) -> Estimate:
    r = het["randomisation"]
    terms = (Term(term=f"heterogeneity across {by}s (randomisation test)",
                  estimate=float(r["statistic"]), statistic=float(r["statistic"]),
                  p_value=float(r["p_value"]), scale="statistic"),
             Term(term="Cochran's Q", estimate=float(het["Q"]), statistic=float(het["Q"]),
                  p_value=float(het["Q_p"]), scale="statistic"),
             Term(term="I2 (percent)", estimate=float(het["I2"]), scale="percent"),
             Term(term="tau2", estimate=float(het["tau2"]), scale="difference"))
    return Estimate(outcome=outcome, method=f"heterogeneity of the effect across {by}s "
                    f"({het['k']} {by}s; randomisation test, and Q on model-based "
                    f"{het['scale']}s)", terms=terms, n=n, alpha=alpha,
                    details={"subgroup": {"by": by, "level": "all"}, **het},
                    role="exploratory")
