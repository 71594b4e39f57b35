"""Count models for crime counts per hot spot: Poisson (robust SEs), quasi-Poisson,
negative binomial — the treatment effect reported as an incidence-rate ratio (IRR).

:func:`count_model` is the one entry point; :func:`log_ratio_statistic` (in
``harm_effects``) is the matching vectorised statistic for randomisation inference.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Literal

import numpy as np

from rct.errors import DataError, DesignError
from rct.evaluate._prep import (
    EstimatorWarning,
    block_codes,
    check_choice,
    numeric_column,
    one_hot,
    select_arms,
    t_inference,
)
from rct.evaluate.results import Estimate, Term

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["count_model", "irr_terms", "FAMILIES", "BASELINE_FORMS"]

FAMILIES = ("quasipoisson", "poisson", "negbin")
BASELINE_FORMS = ("log1p", "linear", "offset")
ROBUST = ("HC3", "HC2", "HC1", "HC0")
NB_SE = ("conditional", "joint")


def irr_terms(
    log_irr: float, se_log: float, df: float, alpha: float, name: str = "treatment"
) -> tuple[Term, Term]:
    """(IRR term, log-IRR term).

    The IRR term has ``scale="ratio"``: estimate :math:`e^{b}`, delta-method SE
    :math:`e^{b}\\,SE(b)`, the Wald statistic and p-value of :math:`b`, and the
    interval :math:`e^{b \\pm q\\,SE(b)}`; the log term carries :math:`b` itself.
    """
    stat, p, lo, hi = t_inference(log_irr, se_log, df, alpha)
    irr = math.exp(log_irr)
    return (
        Term(name, irr, irr * se_log, stat, p, math.exp(lo), math.exp(hi), scale="ratio"),
        Term(f"{name} (log IRR)", log_irr, se_log, stat, p, lo, hi, scale="log_ratio"),
    )


def _design(
    data: pd.DataFrame,
    z: np.ndarray,
    baseline: str | None,
    baseline_form: str,
    blocks: str | None,
    exposure: str | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    cols = [np.ones(z.size), z.astype(float)]
    names = ["const", "treatment"]
    offset = np.zeros(z.size)
    if baseline is not None:
        b = numeric_column(data, baseline, nonnegative=True)
        if baseline_form == "log1p":
            cols.append(np.log1p(b))
            names.append(f"log1p({baseline})")
        elif baseline_form == "linear":
            cols.append(b)
            names.append(baseline)
        else:
            if (b <= 0).any():
                i = int(np.flatnonzero(b <= 0)[0])
                raise DataError(
                    "an offset needs a positive baseline; use baseline_form='log1p'",
                    row=i + 1,
                    column=baseline,
                    value=b[i],
                )
            offset += np.log(b)
    if exposure is not None:
        e = numeric_column(data, exposure, nonnegative=True)
        if (e <= 0).any():
            i = int(np.flatnonzero(e <= 0)[0])
            raise DataError("exposure must be positive", row=i + 1, column=exposure, value=e[i])
        offset += np.log(e)
    if blocks is not None:
        codes, labels = block_codes(data, blocks)
        cols.extend(one_hot(codes, labels.size)[:, 1:].T)
        names.extend(f"{blocks}[{lab}]" for lab in labels[1:])
    x = np.column_stack(cols)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise DesignError(f"count model design is rank deficient (terms {names})")
    return x, offset, names


def _poisson_sandwich_se(y, x, mu, kind: str) -> float:
    """Sandwich SE of the treatment coefficient of a log-link Poisson GLM (HC0-HC3)."""
    n, p = x.shape
    bread = np.linalg.inv(x.T @ (x * mu[:, None]))
    h = mu * np.einsum("ij,jk,ik->i", x, bread, x)
    e2 = (y - mu) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        omega = {
            "HC0": e2,
            "HC1": e2 * n / (n - p),
            "HC2": e2 / (1.0 - h),
            "HC3": e2 / (1.0 - h) ** 2,
        }[kind]
    v = bread @ (x.T @ (x * omega[:, None])) @ bread
    return float(math.sqrt(v[1, 1])) if v[1, 1] > 0 else math.nan


def _theta_ml(y: np.ndarray, mu: np.ndarray) -> tuple[float, float]:
    """ML estimate of the NB2 shape theta given means (as MASS::theta.ml) and its SE."""
    from scipy import optimize, special

    def score(log_t: float) -> float:
        t = math.exp(log_t)
        return float(
            np.sum(
                special.digamma(y + t)
                - special.digamma(t)
                + math.log(t)
                + 1.0
                - np.log(t + mu)
                - (y + t) / (t + mu)
            )
        )

    lo, hi = math.log(1e-4), math.log(1e6)
    if score(hi) > 0:  # likelihood still rising: no overdispersion
        return math.inf, math.nan
    if score(lo) < 0:
        return 1e-4, math.nan
    log_t = optimize.brentq(score, lo, hi, xtol=1e-12)
    t = math.exp(log_t)
    info = -np.sum(
        special.polygamma(1, y + t)
        - special.polygamma(1, t)
        + 1.0 / t
        - 2.0 / (t + mu)
        + (y + t) / (t + mu) ** 2
    )
    return t, (1.0 / math.sqrt(info) if info > 0 else math.nan)


def _fit_negbin(y, x, offset):
    """Alternate GLM(NB, theta fixed) and theta.ml until both settle (MASS::glm.nb)."""
    import statsmodels.api as sm

    fam_p = sm.families.Poisson()
    res = sm.GLM(y, x, family=fam_p, offset=offset).fit()
    theta, theta_se = _theta_ml(y, res.mu)
    for _ in range(50):
        if not math.isfinite(theta):
            return res, theta, theta_se
        fam = sm.families.NegativeBinomial(alpha=1.0 / theta)
        res = sm.GLM(y, x, family=fam, offset=offset).fit(start_params=res.params, tol=1e-12)
        new, theta_se = _theta_ml(y, res.mu)
        if math.isfinite(new) and abs(new - theta) <= 1e-9 * max(1.0, theta):
            theta = new
            break
        theta = new
    else:  # pragma: no cover - pathological data
        warnings.warn("negative binomial fit did not settle", EstimatorWarning, stacklevel=3)
    if math.isfinite(theta):
        fam = sm.families.NegativeBinomial(alpha=1.0 / theta)
        res = sm.GLM(y, x, family=fam, offset=offset).fit(start_params=res.params, tol=1e-12)
    return res, theta, theta_se


def _joint_se(y, x, offset, params, theta) -> float:
    """SE of the treatment coefficient from the joint (beta, alpha) information.

    statsmodels' discrete ``NegativeBinomial`` (NB2), started at the glm.nb solution
    (its MLE too), Newton steps in (beta, alpha); SEs from the observed Hessian.
    """
    from statsmodels.discrete.discrete_model import NegativeBinomial

    model = NegativeBinomial(y, x, loglike_method="nb2", offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(
            start_params=np.append(params, 1.0 / theta), method="newton", maxiter=50, disp=0
        )
    se = float(np.asarray(res.bse)[1])
    return se if math.isfinite(se) else math.nan


def count_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str = "arm",
    family: Literal["quasipoisson", "poisson", "negbin"] = "quasipoisson",
    baseline: str | None = None,
    baseline_form: Literal["log1p", "linear", "offset"] = "log1p",
    blocks: str | None = None,
    exposure: str | None = None,
    robust: Literal["HC3", "HC2", "HC1", "HC0"] = "HC3",
    nb_se: Literal["conditional", "joint"] = "conditional",
    arms: tuple[object, object] | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Treatment effect on a count as an incidence-rate ratio (log link GLM).

    Parameters
    ----------
    data
        One row per unit (hot spot, or hot-spot-period).
    outcome
        Count column (non-negative).
    treatment, arms, alpha
        As :func:`rct.evaluate.parallel.difference_in_means`.
    family
        ``"quasipoisson"`` (default: Poisson quasi-MLE — consistent for the IRR
        whatever the overdispersion — with the Pearson :math:`\\chi^2/df` scale and a
        t reference on :math:`n-p` df; R ``glm(family = quasipoisson)``),
        ``"poisson"`` (sandwich SEs of type ``robust``, normal reference; the old
        default) or ``"negbin"`` (NB2 as ``MASS::glm.nb``, normal reference).  The
        default was chosen by simulation (``tests/evaluate/test_count_calibration.py``;
        8,000 trials per cell, MC SE 0.24 points for a size, 0.24 for a coverage):
        complete randomisation of 20 or 45 hot spots, negative binomial counts with
        mean 3 and size 0.5 or 1.5, no covariates; size at 5 % (IRR 0.8 coverage of
        the 95 % interval):

        =====================================  =============  =============  =============  =============
        test                                   20, size 0.5   20, size 1.5   45, size 0.5   45, size 1.5
        =====================================  =============  =============  =============  =============
        quasi-Poisson, t(n-p) (default)        3.7 (95.9)     4.7 (95.5)     5.1 (95.2)     4.8 (95.2)
        Poisson HC3, normal (old default)      8.6 (91.0)     6.5 (93.8)     7.2 (92.9)     5.5 (94.4)
        Poisson HC3, t(n-p)                    6.8 (92.8)     4.9 (95.2)     6.5 (93.4)     4.9 (95.0)
        negative binomial Wald, normal         8.8 (91.0)     8.4 (92.2)     6.8 (93.2)     6.0 (93.8)
        negative binomial LR, F(1, n-p)        5.1            5.3            5.3            4.8
        =====================================  =============  =============  =============  =============

        The NB likelihood-ratio test is as good when the counts are negative
        binomial but over-rejects when the mixing is not gamma (7.9 % and 8.9 % with
        lognormal mixing of the same variance at 20 and 45 hot spots, size 0.5), where
        quasi-Poisson stays at 4.2 % and 5.3 %.  Caveat: with a strongly predictive
        baseline covariate (means varying ten-fold across hot spots) the quasi-Poisson
        variance function is wrong for NB counts and its size rose to 5.8-7.9 % (HC3
        with t: 4.5-6.0 %) in ``tests/evaluate/count_covariate_study.py`` (4,000 trials);
        the randomisation test of the ratio remains the design-based check.
    baseline
        Baseline count column entered as a covariate.
    baseline_form
        ``"log1p"`` (default) covariate :math:`\\log(b+1)` — zero baselines allowed;
        ``"linear"`` covariate :math:`b`; ``"offset"`` offset :math:`\\log b` (coefficient
        fixed at 1; every baseline must be positive).
    blocks
        Block/pair column entered as fixed effects.
    exposure
        Optional exposure column (e.g. days observed); offset :math:`\\log` exposure.
    robust
        Poisson sandwich type, equal to ``sandwich::vcovHC(type = ...)``: ``"HC3"``
        (default for ``family="poisson"``; :math:`e_i^2/(1-h_i)^2`), ``"HC2"``
        (:math:`e_i^2/(1-h_i)`), ``"HC1"`` (HC0 × n/(n−p)) or ``"HC0"``;
        :math:`h_i` are the GLM (weighted) hat values.
    nb_se
        Negative binomial SE reported as the term's ``std_error``: ``"conditional"``
        (default) — SEs given the estimated :math:`\\theta`, exactly ``glm.nb``'s;
        ``"joint"`` — from the joint observed information of
        :math:`(\\beta, \\alpha)` (statsmodels ``NegativeBinomial``).  Both are in
        ``details``.

    Returns
    -------
    Estimate
        Terms ``"treatment"`` (IRR, ``scale="ratio"``, delta-method SE, interval
        :math:`\\exp(b\\pm q\\,SE_b)`) and ``"treatment (log IRR)"``.  ``details``:
        ``dispersion`` (Pearson :math:`\\chi^2/df` of the fitted model), ``theta``
        (NB), ``std_error_conditional`` / ``std_error_joint`` (NB), ``terms``.

    Notes
    -----
    :math:`\\log E[y_i] = \\beta_0 + \\beta_1 Z_i + \\gamma f(b_i) + \\alpha_{block(i)} +
    \\text{offset}_i`; IRR :math:`= e^{\\beta_1}`.  Quasi-Poisson scales the Poisson
    covariance by :math:`\\hat\\phi=\\sum r_{P,i}^2/(n-p)` (McCullagh & Nelder 1989);
    the negative binomial follows Venables & Ripley (2002) ``glm.nb``: :math:`\\theta`
    by ML given :math:`\\mu` alternating with IRLS given :math:`\\theta`; its default
    SE ignores the uncertainty in :math:`\\theta` (asymptotically orthogonal to
    :math:`\\beta`), the joint SE includes it and is usually a little larger.
    A plain Poisson model SE (no sandwich) is never reported: on overdispersed crime
    counts it rejects far too often.

    Separation: when every unit of one arm has a zero count the maximum-likelihood
    ratio is 0 or infinite; the estimate is returned as NaN with a
    :class:`~rct.errors.SeparationWarning` pointing to the randomisation test or an
    exact conditional test (never an IRR of ``1e-14`` with ``p = 0``, never an
    ``OverflowError``); so is a fit that fails to converge to a finite ratio.  Blocks
    without any event carry no information and are dropped (``details["notes"]``).
    """
    check_choice("family", family, FAMILIES)
    check_choice("baseline_form", baseline_form, BASELINE_FORMS)
    check_choice("robust", robust, ROBUST)
    check_choice("nb_se", nb_se, NB_SE)
    data, z = select_arms(data, treatment, arms)
    y = numeric_column(data, outcome, nonnegative=True)
    if y.sum() == 0:
        raise DesignError(f"outcome {outcome!r} is zero for every unit; no rate ratio")
    notes: list[str] = []
    if blocks is not None:  # a block without events has an effect of -inf: no information
        codes, labels = block_codes(data, blocks)
        empty = np.bincount(codes, y, labels.size) == 0
        if empty.any():
            keep = ~empty[codes]
            notes.append(f"{int(empty.sum())} block(s) with no {outcome!r} events dropped (no "
                         f"information on the ratio): {', '.join(map(str, labels[empty][:10]))}")
            data, z, y = data.loc[keep], z[keep], y[keep]
    c1, c0 = float(y[z == 1].sum()), float(y[z == 0].sum())
    if c1 == 0 or c0 == 0:
        arm = "treated" if c1 == 0 else "control"
        return _separated(outcome, family, alpha, len(y), notes,
                          f"every unit of the {arm} arm has zero {outcome!r} (separation): the "
                          f"rate ratio is {'0' if c1 == 0 else 'infinite'} with no finite standard "
                          "error", c1, c0)
    x, offset, names = _design(data, z, baseline, baseline_form, blocks, exposure)
    n, p = x.shape
    if n - p < 1:
        raise DesignError(f"count model has {p} parameters for {n} units")
    details: dict = {"terms": names, "n_treated": int(z.sum()), "n_control": int((1 - z).sum()),
                     "notes": notes}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", _perfect_separation_warning())
            fitted = _fit(family, y, x, offset, robust, nb_se, n, p, details)
    except (OverflowError, FloatingPointError, np.linalg.LinAlgError,
            _perfect_separation_warning(), _perfect_separation_error()):
        fitted = None
    if fitted is None or not (math.isfinite(fitted[0]) and abs(fitted[0]) < 25):
        return _separated(outcome, family, alpha, n, notes,
                          f"the {family} fit of {outcome!r} has no finite solution (quasi-complete "
                          "separation)", c1, c0)
    b, se, df, method, res = fitted
    pearson = float(np.sum((y - res.mu) ** 2 / res.family.variance(res.mu)) / (n - p))
    details.update(
        dispersion=pearson,
        df=df,
        coefficients=dict(zip(names, map(float, res.params), strict=True)),
    )
    return Estimate(
        outcome=outcome,
        method=method,
        terms=irr_terms(b, se, df, alpha),
        n=int(n),
        alpha=alpha,
        details=details,
    )


def _perfect_separation_warning() -> type[Warning]:
    try:
        from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
    except ImportError:  # pragma: no cover - older statsmodels
        return RuntimeWarning
    return PerfectSeparationWarning


def _perfect_separation_error() -> type[Exception]:
    try:
        from statsmodels.tools.sm_exceptions import PerfectSeparationError
    except ImportError:  # pragma: no cover
        return OverflowError
    return PerfectSeparationError


def _separated(outcome: str, family: str, alpha: float, n: int, notes: list[str], why: str,
               c1: float, c0: float) -> Estimate:
    """NaN estimate with a :class:`~rct.errors.SeparationWarning` (never ``p = 0``)."""
    from rct.errors import SeparationWarning

    msg = (f"{why}; a Wald test is meaningless here: use the randomisation test of the ratio of "
           "means (rct.evaluate.ri.randomisation_test with log_ratio_statistic), which stays "
           "valid, or an exact conditional test (given the total, the treated count is binomial "
           "under Poisson counts)")
    warnings.warn(msg, SeparationWarning, stacklevel=3)
    nan = math.nan
    return Estimate(
        outcome=outcome,
        method=f"{family} GLM (not estimable: separation)",
        terms=(Term("treatment", nan, nan, nan, nan, nan, nan, scale="ratio"),
               Term("treatment (log IRR)", nan, nan, nan, nan, nan, nan, scale="log_ratio")),
        n=int(n),
        alpha=alpha,
        details={"separation": msg, "events_treated": c1, "events_control": c0,
                 "notes": [*notes, msg]},
    )


def _fit(family, y, x, offset, robust, nb_se, n, p, details):
    """(log IRR, SE, df, method, fitted result) of one family."""
    import statsmodels.api as sm

    if family == "negbin":
        res, theta, theta_se = _fit_negbin(y, x, offset)
        if not math.isfinite(theta):
            warnings.warn(
                "no overdispersion (theta -> infinity): negative binomial reduces to Poisson",
                EstimatorWarning,
                stacklevel=2,
            )
            se_cond = se_joint = float(res.bse[1])
        else:
            se_cond = float(res.bse[1])
            se_joint = _joint_se(y, x, offset, res.params, theta)
        se = se_cond if nb_se == "conditional" else se_joint
        df = math.inf
        method = f"negative binomial GLM (NB2, ML theta; {nb_se} SE)"
        details.update(
            theta=theta,
            theta_se=theta_se,
            std_error_conditional=se_cond,
            std_error_joint=se_joint,
        )
    else:
        glm = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset)
        if family == "poisson":
            res = glm.fit(tol=1e-12)
            se, df = _poisson_sandwich_se(y, x, res.mu, robust), math.inf
            method = f"Poisson GLM, robust ({robust}) SE"
        else:
            res = glm.fit(scale="X2", tol=1e-12)
            se, df = float(res.bse[1]), float(n - p)
            method = "quasi-Poisson GLM (Pearson scale, t with n - p df)"
    return float(res.params[1]), se, df, method, res
