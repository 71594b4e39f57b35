"""Residual deterrence as an estimand: distributed-lag models of crossover tasking.

When patrols deter crime on the following days too (Barnes et al. 2020: up to
about four days; Sherman 2022), an untasked hot-spot-day that follows tasked
days is not a clean control, and the same-day comparison understates the
effect.  This module estimates the effect of tasking on the day it happens
(the *direct* effect), on each of the following ``L`` days, and their sum
(the *cumulative* effect), with hot-spot and day fixed effects, and tests
them by randomisation inference from the real design (every reference
schedule drawn from the design and re-lagged).

Two forms of the lagged regressors (``form``):

* ``"since-last"`` (default): ``tasked`` (tasked today) and, for ``l = 1..L``,
  ``carryover_day{l}`` = untasked today and last tasked ``l`` days ago.  The
  comparison group is untasked days with no tasking in the previous ``L``
  days.  It represents "deterrence decays from the last patrol" exactly:
  when the effect is a rate ratio ``r`` on tasked days and on the ``K <= L``
  untasked days after the last one, the model is correctly specified
  (``tasked`` = ``carryover_day1..K`` = ``log r``, the rest 0), so the direct
  effect is estimated without bias (docs/carryover.md: within 5 % of
  ``log 0.85`` for ``K = 1..4`` at 45 x 182, against 47-92 % attenuation of
  the same-day comparison).
* ``"lags"``: the classic distributed lag, ``tasked_lag{l}`` = tasked ``l``
  days ago (additive on the model scale).  Kept because it is the textbook
  model; it is misspecified when a second patrol inside the carryover
  window adds nothing, and then the direct effect stays attenuated.

The lagged regressors are *not* orthogonal to today's tasking under a
crossover schedule: with exactly ``k`` tasked a day and fixed coverage they
are correlated (slightly, ``-1/(D-1)`` per lag, under a uniform schedule;
strongly under the alternating ``rct-randomise/1`` schedules), which is why
the lags must be in the model rather than ignored.

Washout designs flag the ``w`` untasked days after each run (``washout``
column); they are carryover days by construction, so the model needs
``lags >= w`` (checked) and then compares tasked days with clean days only.

References: Sherman, L. W. (2022). Test-as-you-go. *Cambridge Journal of
Evidence-Based Policing* 6:25-41.  Barnes, G. C. et al. (2020). Sweet spots of
residual deterrence. *Cambridge Journal of Evidence-Based Policing*.  Bojinov, I. & Shephard, N.
(2019). Time series experiments and causal estimands. *JASA* 114:1665-1682.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from rct.evaluate._fe import TwoWayFE, _codes, ppml_fe
from rct.evaluate.results import Estimate, Term

# rct.evaluate.crossover re-exports the functions below, so its estimators are imported
# where they are used (no import cycle)
UNIT, TIME, TREAT = "hotspot_id", "trial_date", "tasked"

__all__ = [
    "FORMS",
    "add_lags",
    "add_carryover",
    "carryover_terms",
    "carryover_matrix",
    "distributed_lag",
    "distributed_lag_ri",
    "crossover_carryover",
    "lag_sources",
    "carryover_coefficients",
    "carryover_ri",
]

FORMS = ("since-last", "lags")
_MODELS = ("ols", "poisson")
_EFFECTS = ("additive", "multiplicative")


def _choice(name: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {valid}, got {value!r}")


def carryover_terms(lags: int, form: str = "since-last") -> list[str]:
    """Names of the regressors: ``tasked`` then the ``lags`` carryover terms."""
    _choice("form", form, FORMS)
    stem = "carryover_day" if form == "since-last" else "tasked_lag"
    return ["tasked", *[f"{stem}{j}" for j in range(1, lags + 1)]]


def carryover_matrix(Z: np.ndarray, lags: int, form: str = "since-last") -> np.ndarray:
    """Regressors ``(B, 1 + lags, N, D)`` from schedules ``Z`` ``(B, N, D)`` (hot spot by day).

    ``form="lags"``: ``Z`` shifted by ``l`` days (0 before the trial);
    ``form="since-last"``: ``(1 - z_t) * 1{t - last tasked day before t == l}``
    (days before the trial count as untasked).
    """
    _choice("form", form, FORMS)
    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    Z = np.asarray(Z)
    B, N, D = Z.shape
    out = np.zeros((B, lags + 1, N, D), dtype=np.float64)
    out[:, 0] = Z
    if form == "lags":
        for j in range(1, lags + 1):
            out[:, j, :, j:] = Z[:, :, : D - j]
        return out
    day = np.arange(D, dtype=np.int64)
    mark = np.where(Z != 0, day, -(1 << 40))
    last = np.maximum.accumulate(mark, axis=2)  # last tasked day <= t
    before = np.empty_like(last)
    before[:, :, 0] = -(1 << 40)
    before[:, :, 1:] = last[:, :, :-1]  # last tasked day < t
    since = day - before
    untasked = Z == 0
    for j in range(1, lags + 1):
        out[:, j] = untasked & (since == j)
    return out


# ---------------------------------------------------------------------------
# panels
# ---------------------------------------------------------------------------


def add_lags(panel: Any, *, lags: int = 4, treatment: str = TREAT, unit: str = UNIT,
             time: str = TIME) -> Any:
    """Add ``<treatment>_lag1..lagL``: tasked 1..L calendar days earlier (0 before the trial)."""
    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    return add_carryover(panel, lags=lags, form="lags", treatment=treatment, unit=unit, time=time,
                         _names=[f"{treatment}_lag{k}" for k in range(1, lags + 1)])


def add_carryover(panel: Any, *, lags: int = 4, form: str = "since-last", treatment: str = TREAT,
                  unit: str = UNIT, time: str = TIME, _names: list[str] | None = None) -> Any:
    """Add the carryover regressors of :func:`carryover_terms` (calendar days within a hot spot)."""
    import pandas as pd

    _choice("form", form, FORMS)
    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    df = panel.copy()
    dates = pd.to_datetime(df[time])
    grid = df.assign(_d=dates).pivot(index=unit, columns="_d", values=treatment)
    full = pd.date_range(dates.min(), dates.max(), freq="D")
    grid = grid.reindex(columns=full).fillna(0)
    X = carryover_matrix(grid.to_numpy(dtype=np.float64)[None], lags, form)[0]  # (1+L, N, D)
    rows = grid.index.get_indexer(df[unit])
    cols = full.get_indexer(dates)
    names = _names or carryover_terms(lags, form)[1:]
    for j, name in enumerate(names, start=1):
        df[name] = X[j][rows, cols].astype(np.int8)
    return df


def _check_washout(panel: Any, lags: int, form: str, treatment: str, unit: str, time: str) -> None:
    """Washout days must be carryover days of the model (within ``lags`` of the last tasking)."""
    if "washout" not in panel.columns:
        return
    flag = panel["washout"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    if not flag.any():
        return
    sl = add_carryover(panel[[unit, time, treatment]], lags=lags, form="since-last",
                       treatment=treatment, unit=unit, time=time)
    covered = sl[carryover_terms(lags)[1:]].to_numpy().any(axis=1)
    if (flag & ~covered).any():
        raise ValueError(
            f"the panel has washout days more than lags={lags} days after the last tasked day; "
            "use lags >= the design's washout so washout days are modelled as carryover days")


def distributed_lag(
    panel: Any,
    *,
    outcome: str = "crimes",
    lags: int = 4,
    form: Literal["since-last", "lags"] = "since-last",
    model: Literal["poisson", "ols"] = "poisson",
    treatment: str = TREAT,
    unit: str = UNIT,
    time: str = TIME,
    alpha: float = 0.05,
    vcov: str | None = None,
) -> Estimate:
    """Direct, lagged and cumulative effects of tasking, with hot-spot and day fixed effects.

    Parameters
    ----------
    panel
        One row per hot-spot-day: ``outcome``, ``treatment`` (0/1), ``unit``, ``time``
        (e.g. :func:`rct.evaluate.crossover.crossover_panel`); a ``washout`` column
        (from a washout design) is checked against ``lags``.
    lags
        ``L``: days after a tasked day on which an effect is allowed.
    form
        ``"since-last"`` (default) or ``"lags"``; see the module docstring.
    model
        ``"poisson"`` (default; rate ratios, cluster-robust SEs, :func:`crossover_poisson`)
        or ``"ols"`` (differences, :func:`crossover_fe`).
    vcov
        Their cluster-robust variance (default: theirs, CR2 with Satterthwaite df;
        ``"CR1S"`` / ``"CR1"`` for the classic sandwich).

    Returns
    -------
    Estimate
        Terms ``tasked`` (the direct effect), one per lag, and ``cumulative``.

    Notes
    -----
    ``g(E[y_it]) = a_i + c_t + b_0 x0_it + sum_{l=1..L} b_l xl_it`` with ``g`` the
    log (Poisson) or identity (OLS) link.  The cumulative effect
    ``theta = b_0 + ... + b_L`` is the summed effect of one tasked day on it and
    the following ``L`` days (for ``"since-last"``: of an isolated tasked day
    whose following days are untasked); it is estimated with its
    cluster-robust SE by refitting with ``x0`` and ``xl - x0`` as regressors,
    whose coefficient on ``x0`` is ``theta``.  Reported as a ratio
    ``exp(theta)`` for the Poisson model.  SEs clustered by hot spot; ``t`` with
    ``G - 1`` df.  References in the module docstring.
    """
    from rct.evaluate.crossover import _check_panel, crossover_fe, crossover_poisson

    _choice("form", form, FORMS)
    _choice("model", model, _MODELS)
    lags = int(lags)
    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    _check_panel(panel, [outcome, treatment])
    _check_washout(panel, lags, form, treatment, unit, time)
    df = add_carryover(panel, lags=lags, form=form, treatment=treatment, unit=unit, time=time)
    names = carryover_terms(lags, form)
    extra = tuple(names[1:])
    absent = [n for n in extra if not df[n].any()]
    if absent:
        raise ValueError(
            f"{absent[0]} never occurs in this schedule, so its effect is not identified "
            f"(alternating schedules rarely leave {lags} untasked days in a row): use fewer lags")
    if form == "since-last" and not ((df[treatment] == 0) & (df[list(extra)].sum(axis=1) == 0)).any():
        raise ValueError(f"no untasked day is more than {lags} days after a tasked day: the "
                         "comparison group is empty; use fewer lags")
    fn = crossover_poisson if model == "poisson" else crossover_fe
    kw = {} if vcov is None else {"vcov": vcov}
    est = fn(df, outcome=outcome, treatment=treatment, extra=extra, unit=unit, time=time,
             alpha=alpha, **kw)
    # cumulative effect: coefficient on x0 when the lags enter as xl - x0
    diff = {f"_d{j}": df[n].astype(np.float64) - df[treatment] for j, n in enumerate(extra)}
    df2 = df.assign(**diff)
    cum = fn(df2, outcome=outcome, treatment=treatment, extra=tuple(diff), unit=unit, time=time,
             alpha=alpha, **kw).terms[0]
    terms = [est.terms[0], *est.terms[1:],
             Term(term="cumulative", estimate=cum.estimate, std_error=cum.std_error,
                  statistic=cum.statistic, p_value=cum.p_value, conf_low=cum.conf_low,
                  conf_high=cum.conf_high, scale=cum.scale)]
    label = "Poisson rate ratios" if model == "poisson" else "OLS differences"
    return Estimate(
        outcome=outcome,
        method=f"crossover distributed lag ({form}, {lags} days), hot-spot + day fixed effects, "
               f"{label}, SE clustered by hot spot ({vcov or 'CR2'})",
        terms=tuple(terms), n=est.n, alpha=alpha,
        details={**dict(est.details), "form": form, "lags": lags, "model": model,
                 "direct_term": "tasked", "cumulative_term": "cumulative",
                 "comparison": ("untasked days with no tasking in the previous "
                                f"{lags} days") if form == "since-last" else
                               "model-based (additive lags)"},
    )


# ---------------------------------------------------------------------------
# randomisation inference
# ---------------------------------------------------------------------------


def _fe_coefficients(X: np.ndarray, Y: np.ndarray, fe: TwoWayFE) -> np.ndarray:
    """Two-way FE OLS coefficients ``(B, k, m)`` of each column of ``Y`` ``(n, m)`` on ``X`` ``(B, k, n)``.

    NaN where the regressors are collinear.  Frisch-Waugh-Lovell: ``(X~'X~)^-1 X~'y``.
    """
    B, k, n = X.shape
    Xt = fe.within(X.reshape(B * k, n)).reshape(B, k, n)
    G = np.einsum("bkn,bjn->bkj", Xt, Xt)
    R = np.einsum("bkn,nm->bkm", Xt, Y)
    scale = np.einsum("bkk->bk", G).max(axis=1, keepdims=True)[:, :, None]
    ok = np.linalg.matrix_rank(G / np.where(scale > 0, scale, 1.0), tol=1e-9) == k
    G[~ok] = np.eye(k)
    out = np.linalg.solve(G, R)
    out[~ok] = np.nan
    return out


def _design_frame(design: Any) -> tuple[Any, TwoWayFE, int, int]:
    import pandas as pd

    units = design.units
    f = units.to_frame(index=False) if isinstance(units, pd.MultiIndex) else pd.DataFrame(units)
    fe = TwoWayFE(f.iloc[:, 0].astype(str), f.iloc[:, 1].astype(str))
    n_hs = int(f.iloc[:, 0].nunique())
    n_days = int(f.iloc[:, 1].nunique())
    if n_hs * n_days != len(f):
        raise ValueError("the design's units must be a complete hot spot x day panel")
    return f, fe, n_hs, n_days


def distributed_lag_ri(
    design: Any,
    y: np.ndarray,
    *,
    lags: int = 4,
    form: Literal["since-last", "lags"] = "since-last",
    effect: Literal["multiplicative", "additive"] = "multiplicative",
    outcome: str = "crimes",
    draws: int = 1000,
    rng: np.random.Generator | int | None = None,
    exact_limit: int = 100_000,
    alpha: float = 0.05,
    ci: bool = True,
) -> Estimate:
    """Randomisation tests and intervals for the direct, lagged and cumulative effects.

    Parameters
    ----------
    design
        The crossover design the schedule was drawn from (``.draw``, ``.units``,
        ``.assignment``; :func:`rct.randomise.crossover`); ``y`` in ``design.units``
        order (:func:`rct.evaluate.ri.align_to_design`).
    effect
        ``"multiplicative"`` (default): estimates are FE Poisson rate ratios and
        intervals invert ``Y(0) = Y exp(-beta x)``; ``"additive"``: FE OLS
        coefficients, intervals invert ``Y(0) = Y - beta x``.
    draws, rng, exact_limit
        Reference schedules: every schedule when the design can enumerate at
        most ``exact_limit``, else ``draws`` from ``design.draw`` (the procedure
        that made the allocation).

    Returns
    -------
    Estimate
        Terms ``tasked``, the lag terms and ``cumulative``, each with its
        randomisation p-value and inverted interval.

    Notes
    -----
    Statistic for term ``j``: the two-way FE OLS coefficient ``b_j(Z; v)`` of
    the outcome ``v`` on the regressors rebuilt from schedule ``Z``
    (:func:`carryover_matrix`); for ``cumulative``, ``sum_j b_j``.  p-values test
    the sharp null of no effect on any day:
    ``p = (1 + #{|T(Z_b)| >= |T(z_obs)|}) / (B + 1)`` (exact share when
    enumerated).  The interval for term ``j`` inverts the sharp null that
    tasking acts through ``x_j`` only: ``Y(0) = y - beta x_j`` (additive) or
    ``y exp(-beta x_j)`` (multiplicative); the cumulative one inverts an equal
    effect ``theta/(L+1)`` on the tasked day and on each carryover day (for
    ``"since-last"``, whose indicators are exclusive; additive only for
    ``"lags"``).  Because ``x_j`` is 0/1 both are linear in one scalar
    (``beta``, or ``exp(-beta) - 1`` times ``y x_j``), so one batch of fits on
    ``[y, adjustment columns]`` serves every ``beta``.  Bojinov & Shephard
    (2019); Rosenbaum (2002), *Observational Studies*, ch. 2.
    """
    from rct.evaluate.ri import _exceed, _invert, _p, null_histogram, reference_assignments

    _choice("form", form, FORMS)
    _choice("effect", effect, _EFFECTS)
    lags = int(lags)
    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    washout = int(getattr(design, "parameters", {}).get("washout", 0) or 0)
    if washout > lags:
        raise ValueError(f"the design has washout = {washout} days: use lags >= {washout} so "
                         "washout days are modelled as carryover days")
    f, fe, N, D = _design_frame(design)
    y = np.asarray(y, dtype=np.float64)
    if y.size != len(f) or not np.all(np.isfinite(y)):
        raise ValueError("y must be finite and in design.units order")
    if effect == "multiplicative" and np.any(y < 0):
        raise ValueError("a multiplicative effect needs y >= 0")
    Zall, exact, weights = reference_assignments(design, draws=draws, rng=rng,
                                                 exact_limit=exact_limit, n_units=y.size)
    z_obs = (np.asarray(design.assignment) == 1).astype(np.float64)
    k = lags + 1
    Xobs = carryover_matrix(z_obs.reshape(1, N, D), lags, form)[0].reshape(k, -1)  # (k, n)
    names = carryover_terms(lags, form)
    # adjustment columns: Y(0) = y + c(beta) * w
    if effect == "additive":
        W = [Xobs[j] for j in range(k)]
        share = Xobs.sum(axis=0) / k
        W.append(share)
    else:
        W = [y * Xobs[j] for j in range(k)]
        e = Xobs.sum(axis=0)
        W.append(y * e if form == "since-last" else np.full_like(y, np.nan))
    Y = np.column_stack([y, *W])  # (n, 2 + k)
    rows = max(1, 2_000_000 // (k * y.size))
    C = np.concatenate([
        _fe_coefficients(carryover_matrix(np.asarray(Zall[i:i + rows], dtype=np.float64)
                                          .reshape(-1, N, D), lags, form).reshape(-1, k, y.size),
                         np.nan_to_num(Y), fe)
        for i in range(0, Zall.shape[0], rows)])  # (B, k, 2 + k), memory-bounded batches
    Cobs = _fe_coefficients(Xobs[None], np.nan_to_num(Y), fe)[0]
    # point estimates
    if effect == "additive":
        point = [float(Cobs[j, 0]) for j in range(k)]
        point.append(float(sum(point)))
    else:
        u, _ = _codes(f.iloc[:, 0].astype(str))
        t, _ = _codes(f.iloc[:, 1].astype(str))
        fit = ppml_fe(y, Xobs.T, u, t)
        point = [float(b) for b in fit.params[:k]]
        point.append(float(sum(point)))
    terms, per_term = [], {}
    for j, name in enumerate([*names, "cumulative"]):
        if j < k:
            a, a_obs = C[:, j, 0], float(Cobs[j, 0])
            c, c_obs = C[:, j, 1 + j], float(Cobs[j, 1 + j])
        else:
            a, a_obs = C[:, :, 0].sum(axis=1), float(Cobs[:, 0].sum())
            c, c_obs = C[:, :, 1 + k].sum(axis=1), float(Cobs[:, 1 + k].sum())
        p = _p(a, a_obs, "two-sided", exact, weights)
        defined = ~np.isnan(a)
        kk = int(np.count_nonzero(_exceed(a[defined], a_obs, "two-sided")))
        Bd = max(int(defined.sum()), 1)
        lo = hi = math.nan
        can_ci = ci and not (effect == "multiplicative" and j == k and form == "lags")
        if can_ci:
            per_day = 1.0 / k if j == k else 1.0

            def coef(beta: float, per_day: float = per_day) -> float:
                if effect == "additive":
                    return -beta * per_day
                return math.expm1(-beta * per_day)

            def pfun(beta: float, a=a, c=c, a_obs=a_obs, c_obs=c_obs, coef=coef) -> float:
                q = coef(beta)
                return _p(a + q * c, a_obs + q * c_obs, "two-sided", exact, weights)

            spread = float(np.nanstd(a))
            if effect == "multiplicative":
                level = max(abs(float(np.nanmean(y))), 1e-9)
                spread = min(max(spread / level, 1e-3), 5.0)
            lo, hi = _invert(pfun, point[j], spread, alpha)
        ratio = effect == "multiplicative"
        terms.append(Term(
            term=name,
            estimate=math.exp(point[j]) if ratio else point[j],
            statistic=a_obs, p_value=p,
            conf_low=math.exp(lo) if ratio and np.isfinite(lo) else lo,
            conf_high=math.exp(hi) if ratio and np.isfinite(hi) else hi,
            scale="ratio" if ratio else "difference"))
        per_term[name] = {"n_exceed": kk, "n_undefined": int((~defined).sum()),
                          "mc_se": 0.0 if exact else math.sqrt(kk / Bd * (1 - kk / Bd) / Bd),
                          "null_histogram": null_histogram(a, a_obs, p, weights=weights)}
    how = "exact" if exact else f"Monte Carlo, {Zall.shape[0]} draws"
    est_label = "FE Poisson rate ratios" if effect == "multiplicative" else "FE OLS coefficients"
    return Estimate(
        outcome=outcome,
        method=f"randomisation inference: crossover distributed lag ({form}, {lags} days), "
               f"{est_label}; statistic two-way FE OLS coefficient ({how})",
        terms=tuple(terms), n=int(y.size), alpha=alpha,
        details={"ri_method": "exact" if exact else "monte carlo",
                 "ri_draws": int(Zall.shape[0]), "lags": lags, "form": form, "effect": effect,
                 "sharp_null": "no effect of tasking on any day", "terms": per_term,
                 "cumulative_interval": ("equal effect on the tasked day and each carryover day"
                                         if form == "since-last" or effect == "additive"
                                         else "not available")},
    )


# ---------------------------------------------------------------------------
# the earlier functions (moved from rct.evaluate.crossover; re-exported there)
# ---------------------------------------------------------------------------


def crossover_carryover(
    panel: Any,
    *,
    outcome: str = "crimes",
    lags: int = 4,
    model: Literal["ols", "poisson"] = "ols",
    treatment: str = TREAT,
    unit: str = UNIT,
    time: str = TIME,
    alpha: float = 0.05,
) -> Estimate:
    """Same-day and carryover effects of tasking (previous 1..``lags`` days), additive lags.

    Notes
    -----
    ``y_it = a_i + g_t + b0 tasked_it + sum_k b_k tasked_{i,t-k} + e_it``
    (OLS, or the Poisson analogue with IRRs).  Lags run over calendar trial
    days within a hot spot; days before the trial count as untasked.
    Carryover ("residual deterrence") up to four days was reported by
    Sherman (2022) and the Perth hot-spot trial.  Because the schedule is
    randomised, the lagged indicators are randomised too, so each ``b_k`` is
    identified; they are correlated with the same-day indicator (exactly ``k``
    tasked a day and fixed coverage make them so, strongly under alternating
    schedules), which is why they must be in the model.  When a second patrol
    inside the carryover window adds nothing, this additive form is
    misspecified and ``b0`` stays attenuated: :func:`distributed_lag` with
    ``form="since-last"`` is the model for that (and reports the cumulative
    effect).
    """
    from rct.evaluate.crossover import crossover_fe, crossover_poisson

    if model not in ("ols", "poisson"):
        raise ValueError(f"model must be one of ('ols', 'poisson'), got {model!r}")
    df = add_lags(panel, lags=lags, treatment=treatment, unit=unit, time=time)
    extra = tuple(f"{treatment}_lag{k}" for k in range(1, lags + 1))
    fn = crossover_fe if model == "ols" else crossover_poisson
    est = fn(df, outcome=outcome, treatment=treatment, extra=extra, unit=unit, time=time,
             alpha=alpha)
    return Estimate(outcome=est.outcome, method=est.method.replace("crossover", f"crossover carryover ({lags} lags)", 1),
                    terms=est.terms, n=est.n, alpha=alpha, details=dict(est.details))


def lag_sources(units: Any, lags: int) -> np.ndarray:
    """Positions of each unit's lagged hot-spot-days: shape ``(lags, n)``, -1 where none.

    ``units`` are the design's ``(hotspot_id, trial_date)`` units (MultiIndex
    or two-column frame) in design order; row ``k-1`` holds, for every unit,
    the position of the same hot spot ``k`` calendar days earlier (-1 before
    the trial or on a day outside the schedule, counted as untasked as in
    :func:`add_lags`).
    """
    import pandas as pd

    if lags < 1:
        raise ValueError(f"lags must be >= 1, got {lags}")
    f = units.to_frame(index=False) if isinstance(units, pd.MultiIndex) else pd.DataFrame(units)
    hs = f.iloc[:, 0].astype(str).to_numpy()
    day = pd.to_datetime(f.iloc[:, 1]).to_numpy().astype("datetime64[D]").astype(np.int64)
    index = pd.MultiIndex.from_arrays([hs, day])
    if not index.is_unique:
        raise ValueError("design units must be unique hot-spot-days")
    return np.stack([index.get_indexer(pd.MultiIndex.from_arrays([hs, day - k]))
                     for k in range(1, lags + 1)])


def carryover_coefficients(Z: np.ndarray, Y: np.ndarray, fe: TwoWayFE, src: np.ndarray
                           ) -> np.ndarray:
    """Two-way FE OLS coefficients on tasking and its lags, for a batch of schedules.

    ``Z`` ``(B, n)`` 0/1 schedules in design order, ``Y`` ``(n, m)`` outcomes,
    ``src`` from :func:`lag_sources`.  Returns ``(B, 1 + lags, m)``: for each
    schedule the coefficients of ``[tasked, lag1..lagL]`` in the regression of
    each outcome column with hot-spot and day fixed effects; NaN where the
    regressors are collinear.

    Notes
    -----
    By Frisch–Waugh–Lovell ``b = (X~'X~)^-1 X~'y`` with ``X~ = M X`` the
    two-way within transform (:class:`TwoWayFE`) of the schedule-dependent
    regressors ``X_b = [z_b, L_1 z_b, ..., L_K z_b]`` (lags rebuilt from each
    schedule); the projections are batched over schedules and the
    ``(1+K) x (1+K)`` systems solved together (``numpy.linalg.solve`` on a stack).
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64).reshape(Z.shape[1], -1)
    B, n = Z.shape
    k = src.shape[0] + 1
    X = np.empty((B, k, n))
    X[:, 0] = Z
    for j in range(1, k):  # one gather per lag (L <= a handful), vectorised over schedules
        s = src[j - 1]
        X[:, j] = np.where(s >= 0, Z[:, np.maximum(s, 0)], 0.0)
    return _fe_coefficients(X, Y, fe)


def carryover_ri(
    design: Any,
    y: np.ndarray,
    *,
    lags: int = 4,
    outcome: str = "crimes",
    draws: int = 2000,
    rng: np.random.Generator | int | None = None,
    exact_limit: int = 100_000,
    alpha: float = 0.05,
    ci: bool = True,
) -> Estimate:
    """Randomisation tests of the same-day and (additive) lag coefficients, from the real design.

    ``y`` is in ``design.units`` order (:func:`rct.evaluate.ri.align_to_design`).
    Every reference schedule is drawn from (or enumerated by) the design, its
    lags rebuilt from it, and the two-way FE regression refitted
    (:func:`carryover_coefficients`).  Terms ``tasked``, ``tasked_lag1`` ...;
    each with its randomisation p-value and an inverted interval.
    :func:`distributed_lag_ri` adds the ``since-last`` form, rate ratios and
    the cumulative effect.

    Notes
    -----
    p-values test the sharp null of no effect of tasking on any day (``y``
    fixed across schedules), with the term's coefficient as the statistic:
    ``p_j = (1 + #{|b_j(Z_b)| >= |b_j(Z_obs)|})/(B + 1)`` (Monte Carlo) or the
    exact share.  The interval for term ``j`` inverts the sharp null
    ``Y = Y(0) + beta x_j`` (an effect through that lag only):
    ``b_j(Z_b; y - beta x_j,obs) = b_j(Z_b; y) - beta b_j(Z_b; x_j,obs)`` by
    linearity, so one batch of fits serves every ``beta``.  Carryover up to
    four days: Sherman (2022); randomisation inference for lagged effects
    of a randomised schedule: Bojinov & Shephard (2019), *JASA* 114:1665–1682.
    """
    import pandas as pd

    from rct.evaluate.ri import _exceed, _invert, _p, null_histogram, reference_assignments

    units = design.units
    f = units.to_frame(index=False) if isinstance(units, pd.MultiIndex) else pd.DataFrame(units)
    fe = TwoWayFE(f.iloc[:, 0].astype(str), f.iloc[:, 1].astype(str))
    src = lag_sources(units, lags)
    y = np.asarray(y, dtype=np.float64)
    if y.size != len(f) or not np.all(np.isfinite(y)):
        raise ValueError("y must be finite and in design.units order")
    Zall, exact, weights = reference_assignments(design, draws=draws, rng=rng,
                                                 exact_limit=exact_limit, n_units=y.size)
    z_obs = (np.asarray(design.assignment) == 1).astype(np.float64)[None, :]
    k = lags + 1
    Xobs = np.empty((k, y.size))
    Xobs[0] = z_obs[0]
    for j in range(1, k):
        s = src[j - 1]
        Xobs[j] = np.where(s >= 0, z_obs[0, np.maximum(s, 0)], 0.0)
    Y = np.column_stack([y, Xobs.T])  # outcome, then each observed regressor
    rows = max(1, 4_000_000 // (k * y.size))
    C = np.concatenate([carryover_coefficients(Zall[i:i + rows], Y, fe, src)
                        for i in range(0, Zall.shape[0], rows)])  # memory-bounded batches
    Cobs = carryover_coefficients(z_obs, Y, fe, src)[0]
    names = ["tasked", *[f"tasked_lag{j}" for j in range(1, k)]]
    terms, per_term = [], {}
    for j, name in enumerate(names):
        a, c = C[:, j, 0], C[:, j, 1 + j]
        a_obs, c_obs = float(Cobs[j, 0]), float(Cobs[j, 1 + j])
        p = _p(a, a_obs, "two-sided", exact, weights)
        defined = ~np.isnan(a)
        kk = int(np.count_nonzero(_exceed(a[defined], a_obs, "two-sided")))
        Bd = max(int(defined.sum()), 1)
        lo = hi = math.nan
        if ci:
            lo, hi = _invert(lambda b, a=a, c=c, a_obs=a_obs, c_obs=c_obs: _p(
                a - b * c, a_obs - b * c_obs, "two-sided", exact, weights),
                a_obs, float(np.nanstd(a)), alpha)
        terms.append(Term(term=name, estimate=a_obs, statistic=a_obs, p_value=p,
                          conf_low=lo, conf_high=hi))
        per_term[name] = {"n_exceed": kk, "n_undefined": int((~defined).sum()),
                          "mc_se": 0.0 if exact else math.sqrt(kk / Bd * (1 - kk / Bd) / Bd),
                          "null_histogram": null_histogram(a, a_obs, p, weights=weights)}
    how = "exact" if exact else f"Monte Carlo, {Zall.shape[0]} draws"
    return Estimate(
        outcome=outcome,
        method=f"randomisation inference: crossover carryover ({lags} lags), two-way FE "
               f"coefficients ({how})",
        terms=tuple(terms), n=int(y.size), alpha=alpha,
        details={"ri_method": "exact" if exact else "monte carlo",
                 "ri_draws": int(Zall.shape[0]), "lags": lags,
                 "sharp_null": "no effect of tasking on any day", "terms": per_term},
    )
