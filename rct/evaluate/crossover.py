"""Crossover (hot-spot-day) estimators.

In a crossover trial each trial day a random subset of hot spots is tasked;
the unit of analysis is the hot-spot-day.  A panel here is a DataFrame with
one row per ``hotspot_id`` × ``trial_date``, an outcome column and a 0/1
``tasked`` column (see :func:`crossover_panel`).

Estimators (each returns an :class:`~rct.evaluate.results.Estimate`):

* :func:`crossover_fe` — OLS with hot-spot and day fixed effects, CR2 SEs
  clustered by hot spot with Satterthwaite df (``CR1S`` as linearmodels
  ``PanelOLS`` / ``vcovCL`` on request);
* :func:`crossover_poisson` — Poisson pseudo-likelihood with hot-spot and
  day fixed effects, CR2 cluster-robust SEs and Satterthwaite df, as an IRR;

Small-sample calibration (``tests/evaluate/test_small_sample.py``; trials
from the real ``rct.randomise`` crossover design, hot-spot rates gamma with
CV 1 around 0.2 crimes a day, weekly cycle, NB size-1 day noise), size of
the 5 % test:

===========================  =======================  =======================
test                         12 hot spots x 60 days   30 hot spots x 60 days
===========================  =======================  =======================
Poisson, CR2 + Satterthwaite 5.0 % (df 6.9)           4.9 % (df 15.7)
Poisson, CR1 + t(G-1) (old)  8.9 %                    6.9 %
OLS, CR2 + Satterthwaite     4.1 % (df 11.0)          4.1 % (df 29.0)
OLS, CR1S + t(G-1) (old)     4.0 %                    4.0 %
===========================  =======================  =======================

(8,000 trials at 12 hot spots, MC SE 0.24 points; 3,000 at 30, MC SE 0.4;
``PYTHONPATH=. python tests/evaluate/test_small_sample.py 12 8000 11`` and
``... 30 3000 12``.)  95 % intervals of the rate ratio cover 0.85 in 94.5 %
of 800 trials at 12 hot spots (CR1: 90.6 %).  At 45 hot spots x 120 days
(``tests/evaluate/test_calibration.py``, 300 trials) the Poisson CR2 test of
harm (lognormal weights, sdlog 1.5) rejected 7.7 %: prefer the
randomisation test for heavy-tailed harm.  The OLS tests are a little
conservative with very unequal hot spots (self-normalised heavy-tailed
sums); a wild cluster bootstrap (restricted, 399 draws) was more liberal —
Rademacher 5.5 %, Webb 5.8-6.4 % at 12 hot spots — so CR2 is the default.
* :func:`crossover_carryover` — the same with the previous 1..L days'
  tasking as extra regressors;
* :func:`thames_valley_ttest` / :func:`thames_valley_chisq` — the simple
  comparisons of tasked vs untasked hot-spot-days used in published reports.

Vectorised statistics for randomisation inference (:mod:`rct.evaluate.ri`):
:class:`TwoWayFE` and :class:`ConditionalPoissonLogRR`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from rct.evaluate._fe import ConditionalPoissonLogRR, PPMLFit, TwoWayFE, _codes, ppml_fe
from rct.evaluate.results import Estimate, Term

__all__ = [
    "crossover_panel",
    "crossover_fe",
    "crossover_poisson",
    "crossover_carryover",
    "thames_valley_ttest",
    "thames_valley_chisq",
    "TwoWayFE",
    "ConditionalPoissonLogRR",
    "ppml_fe",
    "PPMLFit",
    "add_lags",
    "lag_sources",
    "carryover_coefficients",
    "carryover_ri",
]

UNIT, TIME, TREAT = "hotspot_id", "trial_date", "tasked"


# ---------------------------------------------------------------------------
# panel
# ---------------------------------------------------------------------------


def crossover_panel(
    outcomes: Any,
    allocation: Any,
    *,
    treated_arm: str = "treatment",
    unit: str = UNIT,
    time: str = TIME,
) -> Any:
    """Outcomes joined to the schedule, with a 0/1 ``tasked`` column.

    Every scheduled hot-spot-day must have an outcome row (outcomes are a
    complete panel); outcome rows outside the schedule are dropped.
    """
    import pandas as pd

    from rct.errors import DataError

    alloc = allocation[[unit, time, "arm"]].copy()
    out = outcomes.copy()
    for df in (alloc, out):
        df[unit] = df[unit].astype(str)
        df[time] = pd.to_datetime(df[time]).dt.date
    if alloc.duplicated([unit, time]).any():
        raise DataError("the schedule has duplicate hotspot_id × trial_date rows")
    merged = alloc.merge(out, on=[unit, time], how="left", validate="one_to_one", indicator=True)
    missing = merged["_merge"] == "left_only"
    if missing.any():
        row = merged.loc[missing].iloc[0]
        raise DataError(
            f"{int(missing.sum())} scheduled hot-spot-days have no outcome row "
            f"(first: {row[unit]} {row[time]})"
        )
    merged = merged.drop(columns="_merge")
    merged[TREAT] = (merged["arm"].astype(str) == treated_arm).astype(np.int8)
    return merged.sort_values([unit, time], ignore_index=True)


def _check_panel(panel: Any, cols: list[str]) -> None:
    from rct.errors import DataError

    missing = [c for c in cols if c not in panel.columns]
    if missing:
        raise DataError(f"panel lacks columns {missing}; it has {list(panel.columns)}")
    bad = panel[cols[0]].isna()
    if bad.any():
        raise DataError(f"{int(bad.sum())} rows have no {cols[0]!r} value", column=cols[0])


# ---------------------------------------------------------------------------
# OLS with two-way fixed effects
# ---------------------------------------------------------------------------


def crossover_fe(
    panel: Any,
    *,
    outcome: str = "crimes",
    treatment: str = TREAT,
    extra: tuple[str, ...] = (),
    unit: str = UNIT,
    time: str = TIME,
    vcov: Literal["CR2", "CR1S"] = "CR2",
    engine: Literal["fwl", "linearmodels"] = "fwl",
    alpha: float = 0.05,
) -> Estimate:
    """Effect of tasking on the day: OLS with hot-spot and day fixed effects.

    Parameters
    ----------
    panel
        One row per hot-spot-day with ``outcome``, ``treatment`` (0/1), ``unit``, ``time``.
    extra
        Further regressors (e.g. lagged tasking); reported as extra terms.
    vcov
        ``"CR2"`` (default): bias-reduced cluster-robust covariance by hot
        spot with Satterthwaite degrees of freedom (R ``clubSandwich``
        ``vcovCR(type = "CR2")`` + ``coef_test(test = "Satterthwaite")``);
        ``"CR1S"``: ``G/(G-1) (n-1)/(n-k)`` with ``t_{G-1}`` (R
        ``sandwich::vcovCL(type = "HC1")``, Stata's ``cluster``) — the
        previous default, liberal with few hot spots.
    engine
        ``"fwl"`` (default: two-way within transform, fast) or
        ``"linearmodels"`` (``PanelOLS(entity_effects=True, time_effects=True)``
        with ``cov_type="clustered", cluster_entity=True, group_debias=True``,
        the ``CR1S`` SE); both give the same numbers.

    Notes
    -----
    ``y_it = alpha_i + gamma_t + beta * tasked_it + e_it``.  By
    Frisch–Waugh–Lovell ``beta`` is OLS of the two-way-demeaned ``y`` on the
    demeaned regressors (one pass for a balanced panel, alternating
    projections otherwise).  ``CR2``: ``V = B sum_g X~_g' A_g e_g e_g' A_g
    X~_g B`` with ``B = (X~'X~)^-1`` and ``A_g = (I - H_gg)^{+1/2}``, ``H``
    the hat matrix of the full model (fixed effects included); the
    Satterthwaite df matches the first two moments of the variance
    estimator under independent homoskedastic errors (Bell & McCaffrey
    2002; Pustejovsky & Tipton 2018, *JBES* 36:672–683; see
    :func:`rct.evaluate._cr2.cr2_twoway`).  ``CR1S``:
    ``(X~'X~)^-1 (sum_g s_g s_g') (X~'X~)^-1 * G/(G-1) * (n-1)/(n-k)``, with
    ``s_g = sum_{t} x~_it e_it`` and ``k`` counting every fixed effect;
    ``t`` with ``G - 1`` df (Cameron & Miller 2015, sec. VI).  Simulated
    size in :mod:`tests.evaluate.test_calibration`.
    """
    from rct.evaluate._cr2 import cr2_twoway
    from rct.evaluate._dist import t_ppf, t_sf

    if engine not in ("fwl", "linearmodels"):
        raise ValueError(f"engine must be one of ('fwl', 'linearmodels'), got {engine!r}")
    if vcov not in ("CR2", "CR1S"):
        raise ValueError(f"vcov must be one of ('CR2', 'CR1S'), got {vcov!r}")
    cols = [outcome, treatment, *extra]
    _check_panel(panel, cols)
    names = [treatment, *extra]
    G = int(panel[unit].nunique())
    n = len(panel)
    fe = TwoWayFE(panel[unit], panel[time])
    X = panel[names].to_numpy(dtype=float)
    y = panel[outcome].to_numpy(dtype=float)
    Xt = fe.within(np.ascontiguousarray(X.T)).T
    yt = fe.within(y[None, :])[0]
    if engine == "linearmodels":
        import pandas as pd
        from linearmodels.panel import PanelOLS

        df_ = panel[[unit, time, *cols]].copy()
        df_[time] = pd.to_datetime(df_[time])
        df_ = df_.set_index([unit, time])
        res = PanelOLS(df_[outcome].astype(float), df_[names].astype(float),
                       entity_effects=True, time_effects=True).fit(
            cov_type="clustered", cluster_entity=True, group_debias=True)
        params = res.params[names].to_numpy()
        se_cr1 = res.std_errors[names].to_numpy()
        r2w = float(res.rsquared_within)
        e = yt - Xt @ params
    else:
        XtX = Xt.T @ Xt
        params = np.linalg.solve(XtX, Xt.T @ yt)
        e = yt - Xt @ params
        Bi = np.linalg.inv(XtX)
        S = np.stack([np.bincount(fe.u, Xt[:, j] * e, fe.nu) for j in range(len(names))], axis=1)
        k = len(names) + fe.nu + fe.nt - 1
        V = Bi @ (S.T @ S) @ Bi * (G / (G - 1)) * ((n - 1) / (n - k))
        se_cr1 = np.sqrt(np.diag(V))
        r2w = float(1 - (e @ e) / (yt @ yt)) if yt @ yt > 0 else float("nan")
    if vcov == "CR2":
        cr2 = cr2_twoway(X, e, np.ones(n), fe.u, fe.t)
        ses, dfs = np.sqrt(np.diag(cr2.cov)), cr2.df
    else:
        ses, dfs = se_cr1, np.full(len(names), float(G - 1))
    terms = []
    for name, b, se, df in zip(names, params, ses, dfs, strict=True):
        b, se, df = float(b), float(se), float(df)
        t = b / se if se > 0 else math.nan
        q = t_ppf(1 - alpha / 2, df)
        terms.append(Term(
            term=name, estimate=b, std_error=se, statistic=t,
            p_value=float(2 * t_sf(abs(t), df)),
            conf_low=b - q * se, conf_high=b + q * se,
        ))
    label = ("CR2 SE clustered by hot spot, Satterthwaite df" if vcov == "CR2"
             else "SE clustered by hot spot (CR1S), t with G - 1 df")
    return Estimate(
        outcome=outcome,
        method=f"crossover OLS, hot-spot + day fixed effects, {label}",
        terms=tuple(terms),
        n=n,
        alpha=alpha,
        details={"clusters": G, "df": float(dfs[0]), "df_terms": [float(v) for v in dfs],
                 "vcov": vcov, "std_error_CR1S": [float(v) for v in se_cr1],
                 "r2_within": r2w, "engine": engine},
    )


# ---------------------------------------------------------------------------
# Poisson with two-way fixed effects
# ---------------------------------------------------------------------------


def crossover_poisson(
    panel: Any,
    *,
    outcome: str = "crimes",
    treatment: str = TREAT,
    extra: tuple[str, ...] = (),
    unit: str = UNIT,
    time: str = TIME,
    se: Literal["cluster", "model"] = "cluster",
    vcov: Literal["CR2", "CR1"] = "CR2",
    day_effects: bool = True,
    alpha: float = 0.05,
) -> Estimate:
    """Incidence-rate ratio of tasking: Poisson with hot-spot and day fixed effects.

    Parameters
    ----------
    se
        ``"cluster"`` (default; type ``vcov``) or ``"model"`` (the plain
        Poisson SE with a normal reference — anti-conservative when counts
        are overdispersed; not the default).
    vcov
        Cluster-robust type: ``"CR2"`` (default; bias-reduced, Satterthwaite
        df, as R ``clubSandwich::vcovCR(glm, type = "CR2")`` +
        ``coef_test(test = "Satterthwaite")``) or ``"CR1"`` (``G/(G-1)``
        times the sandwich, ``t_{G-1}``; R ``sandwich::vcovCL(type = "HC0",
        cadjust = TRUE)``, the previous default: size 7 % at 12 hot spots).
    day_effects
        Day fixed effects (default ``True``).  ``False`` keeps hot-spot
        effects only: the within-hot-spot rate ratio that the conditional
        Poisson randomisation statistic (:class:`ConditionalPoissonLogRR`)
        and :func:`rct.power.simulate_power` use.

    Notes
    -----
    ``log E[y_it] = a_i + g_t + beta tasked_it``; IRR ``= exp(beta)``, CI
    ``exp(beta -/+ t_df SE)`` with SE clustered by hot spot (robust to
    overdispersion and within-hot-spot correlation; :func:`ppml_fe`).
    Hot spots (and days) without any event carry no information about the
    ratio: they are dropped, and listed in ``details["dropped_hotspots"]``.
    When every remaining event falls on tasked days, or every one on
    untasked days, the maximum-likelihood ratio is 0 or infinite
    (separation): the estimate is returned as NaN with a
    :class:`~rct.errors.SeparationWarning` that points to the randomisation
    test (whose p-value stays valid) — never a ratio of ``1e-14`` with
    ``p = 0``.  Also used for harm (pseudo-Poisson on a non-negative
    continuous outcome is consistent for the ratio of means).
    """
    from rct.evaluate._dist import norm_ppf, norm_sf, t_ppf, t_sf

    if se not in ("cluster", "model"):
        raise ValueError(f"se must be one of ('cluster', 'model'), got {se!r}")
    if vcov not in ("CR2", "CR1"):
        raise ValueError(f"vcov must be one of ('CR2', 'CR1'), got {vcov!r}")
    cols = [outcome, treatment, *extra]
    _check_panel(panel, cols)
    yv = panel[outcome].to_numpy(dtype=float)
    if np.any(yv < 0):
        raise ValueError(f"{outcome!r} has negative values; a Poisson model needs y >= 0")
    names = [treatment, *extra]
    u, _ = _codes(panel[unit])
    t_, _ = _codes(panel[time]) if day_effects else (np.zeros(len(panel), dtype=np.int64), 1)
    X = panel[names].to_numpy(dtype=float)
    G = int(panel[unit].nunique())
    z = X[:, 0]
    sep = _separation(yv, z, u, outcome)
    if sep is not None:
        return _separated(outcome, names, sep, len(panel), G, alpha)
    try:
        fit = ppml_fe(yv, X, u, t_, se=se, vcov=vcov)
    except np.linalg.LinAlgError:
        fit = None
    if fit is None or not np.all(np.isfinite(fit.params)) or np.max(np.abs(fit.params)) > 25:
        # a separating direction the one-arm check does not see (e.g. through a lag)
        return _separated(outcome, names, {
            "events_tasked": float(yv[z == 1].sum()), "events_untasked": float(yv[z == 0].sum()),
            "message": f"the Poisson fit of {outcome!r} has no finite solution (quasi-complete "
                       "separation: the events are fitted exactly by the fixed effects and the "
                       "ratio, or it diverges); use the randomisation test of the conditional Poisson ratio "
                       "(rct.evaluate.ri.randomisation_test with ConditionalPoissonLogRR)"},
            len(panel), G, alpha)
    keep = fit.details["keep"]
    dropped = sorted(set(panel[unit].astype(str).to_numpy()[~keep])
                     - set(panel[unit].astype(str).to_numpy()[keep]))
    terms = []
    for j, name in enumerate(names):
        b, s, df = float(fit.params[j]), float(math.sqrt(fit.cov[j, j])), float(fit.df[j])
        q = t_ppf(1 - alpha / 2, df) if math.isfinite(df) else norm_ppf(1 - alpha / 2)
        zst = b / s
        p = 2 * (t_sf(abs(zst), df) if math.isfinite(df) else norm_sf(abs(zst)))
        terms.append(Term(term=name, estimate=math.exp(b), std_error=s, statistic=zst,
                          p_value=float(p), conf_low=math.exp(b - q * s),
                          conf_high=math.exp(b + q * s), scale="ratio"))
    if se == "model":
        label = "model-based Poisson SE"
    elif vcov == "CR2":
        label = "CR2 SE clustered by hot spot, Satterthwaite df"
    else:
        label = "SE clustered by hot spot (CR1), t with G - 1 df"
    fx = "hot-spot + day fixed effects" if day_effects else "hot-spot fixed effects"
    notes = []
    if dropped:
        notes.append(f"{len(dropped)} hot spot(s) with no {outcome!r} events dropped (no "
                     f"information on the ratio): {', '.join(dropped[:10])}"
                     + (" ..." if len(dropped) > 10 else ""))
    return Estimate(
        outcome=outcome,
        method=f"crossover Poisson, {fx}, IRR ({label})",
        terms=tuple(terms),
        n=fit.n,
        alpha=alpha,
        details={"log_irr": float(fit.params[0]), "dropped_all_zero": fit.n_dropped,
                 "dropped_hotspots": dropped, "notes": notes,
                 "clusters": fit.clusters, "iterations": fit.iterations,
                 "df": float(fit.df[0]), "df_terms": [float(v) for v in fit.df],
                 "vcov": fit.vcov, "day_effects": bool(day_effects),
                 "std_error_scale": "log IRR"},
    )


def _separation(y: np.ndarray, z: np.ndarray, u: np.ndarray, outcome: str) -> dict | None:
    """``None``, or what separates: every event of the informative hot spots in one arm."""
    tot = np.bincount(u, y)
    info = tot[u] > 0
    c1, c0 = float(y[info & (z == 1)].sum()), float(y[info & (z == 0)].sum())
    if c1 > 0 and c0 > 0:
        return None
    if c1 == 0 and c0 == 0:
        from rct.errors import DesignError

        raise DesignError(f"outcome {outcome!r} is zero on every hot-spot-day; no rate ratio")
    arm = "untasked" if c1 == 0 else "tasked"
    return {"events_tasked": c1, "events_untasked": c0,
            "message": f"every {outcome!r} event fell on {arm} hot-spot-days (separation): the "
                       f"Poisson rate ratio is {'0' if c1 == 0 else 'infinite'} with no finite "
                       "standard error; use the randomisation test of the conditional Poisson "
                       "ratio (rct.evaluate.ri.randomisation_test with ConditionalPoissonLogRR), "
                       "which stays valid, or an exact conditional (binomial) test"}


def _separated(outcome: str, names: list[str], sep: dict, n: int, G: int, alpha: float
               ) -> Estimate:
    import warnings

    from rct.errors import SeparationWarning

    warnings.warn(sep["message"], SeparationWarning, stacklevel=3)
    nan = math.nan
    return Estimate(
        outcome=outcome,
        method="crossover Poisson, hot-spot + day fixed effects, IRR (not estimable: separation)",
        terms=tuple(Term(term=nm, estimate=nan, std_error=nan, statistic=nan, p_value=nan,
                         conf_low=nan, conf_high=nan, scale="ratio") for nm in names),
        n=n, alpha=alpha,
        details={"separation": sep["message"], "events_tasked": sep["events_tasked"],
                 "events_untasked": sep["events_untasked"], "clusters": G,
                 "notes": [sep["message"]], "std_error_scale": "log IRR"},
    )


# ---------------------------------------------------------------------------
# published simple comparisons
# ---------------------------------------------------------------------------


def thames_valley_ttest(
    panel: Any,
    *,
    outcome: str = "crimes",
    treatment: str = TREAT,
    equal_var: bool = True,
    alpha: float = 0.05,
) -> Estimate:
    """Two-sample t-test of mean outcome per hot-spot-day, tasked vs untasked days.

    Notes
    -----
    Treats hot-spot-days as independent (ignores hot-spot clustering), as
    the simple published comparison did; use :func:`crossover_fe` for the
    analysis that respects the design.  ``equal_var=True`` is Student's
    pooled-variance test (R ``t.test(var.equal = TRUE)``), ``False`` Welch's.
    Terms: difference in means, and percent change ``100 (m1/m0 - 1)``
    (delta-method SE).
    """
    from rct.evaluate._dist import ttest_ind

    _check_panel(panel, [outcome, treatment])
    y = panel[outcome].to_numpy(dtype=float)
    z = panel[treatment].to_numpy() == 1
    y1, y0 = y[z], y[~z]
    res = ttest_ind(y1, y0, equal_var=equal_var, alpha=alpha)
    m1, m0 = y1.mean(), y0.mean()
    d = m1 - m0
    se, df = res["std_error"], res["df"]
    pct = 100 * (m1 / m0 - 1) if m0 > 0 else math.nan
    v1m, v0m = y1.var(ddof=1) / len(y1), y0.var(ddof=1) / len(y0)
    pct_se = 100 * math.sqrt(v1m / m0**2 + m1**2 * v0m / m0**4) if m0 > 0 else math.nan
    qn = _norm_q(alpha)
    return Estimate(
        outcome=outcome,
        method=f"t-test per hot-spot-day ({'Student' if equal_var else 'Welch'}), tasked vs untasked",
        terms=(
            Term(term=treatment, estimate=float(d), std_error=float(se),
                 statistic=res["statistic"], p_value=res["p_value"],
                 conf_low=res["conf_low"], conf_high=res["conf_high"]),
            Term(term="percent_change", estimate=float(pct), std_error=float(pct_se),
                 conf_low=float(pct - qn * pct_se), conf_high=float(pct + qn * pct_se),
                 scale="percent"),
        ),
        n=int(len(y)),
        alpha=alpha,
        details={"mean_tasked": float(m1), "mean_untasked": float(m0), "df": float(df),
                 "n_tasked": int(len(y1)), "n_untasked": int(len(y0))},
    )


def _norm_q(alpha: float) -> float:
    from rct.evaluate._dist import norm_ppf

    return norm_ppf(1 - alpha / 2)


def thames_valley_chisq(
    panel: Any,
    *,
    outcome: str = "crimes",
    treatment: str = TREAT,
    alpha: float = 0.05,
) -> Estimate:
    """Chi-squared test of crime counts on tasked vs untasked hot-spot-days.

    Notes
    -----
    With ``C1, C0`` crimes on ``n1, n0`` tasked / untasked hot-spot-days, the
    null expects counts in proportion to exposure: ``E_k = C n_k / N``;
    ``X^2 = sum (C_k - E_k)^2 / E_k`` on 1 df (R ``chisq.test(c(C1, C0),
    p = c(n1, n0) / N)``).  The rate ratio ``(C1/n1)/(C0/n0)`` gets the exact
    conditional interval: given ``C``, ``C1 ~ Binomial(C, pi)``,
    ``RR = pi n0 / ((1 - pi) n1)`` with Clopper-Pearson limits for ``pi``
    (as R ``poisson.test(c(C1, C0), c(n1, n0))``).  Counts of crimes, not
    hot-spot-days: ignores clustering and overdispersion, as the simple
    published comparison did.
    """
    from rct.evaluate._dist import chi2_sf, clopper_pearson

    _check_panel(panel, [outcome, treatment])
    y = panel[outcome].to_numpy(dtype=float)
    z = panel[treatment].to_numpy() == 1
    c1, c0 = float(y[z].sum()), float(y[~z].sum())
    n1, n0 = int(z.sum()), int((~z).sum())
    C, N = c1 + c0, n1 + n0
    exp_ = np.array([C * n1 / N, C * n0 / N])
    x2 = float(np.sum((np.array([c1, c0]) - exp_) ** 2 / exp_)) if C > 0 else math.nan
    p = chi2_sf(x2, 1) if C > 0 else math.nan
    rr = (c1 / n1) / (c0 / n0) if c0 > 0 else math.inf
    lo = hi = math.nan
    if C > 0 and float(C).is_integer():
        pi_lo, pi_hi = clopper_pearson(int(c1), int(C), 1 - alpha)
        to_rr = lambda pi: pi * n0 / ((1 - pi) * n1) if pi < 1 else math.inf  # noqa: E731
        lo, hi = to_rr(pi_lo), to_rr(pi_hi)
    return Estimate(
        outcome=outcome,
        method="chi-squared test of counts, tasked vs untasked hot-spot-days (rate ratio)",
        terms=(Term(term=treatment, estimate=float(rr),
                    std_error=math.sqrt(1 / c1 + 1 / c0) if c1 > 0 and c0 > 0 else math.nan,
                    statistic=x2, p_value=p, conf_low=lo, conf_high=hi, scale="ratio"),),
        n=N,
        alpha=alpha,
        details={"crimes_tasked": c1, "crimes_untasked": c0, "days_tasked": n1,
                 "days_untasked": n0, "expected": exp_.tolist(), "df": 1,
                 "std_error_scale": "log rate ratio"},
    )


# moved to rct.evaluate.carryover; re-exported (that module imports this one lazily)
from rct.evaluate.carryover import (  # noqa: E402
    add_lags,
    carryover_coefficients,
    carryover_ri,
    crossover_carryover,
    lag_sources,
)
