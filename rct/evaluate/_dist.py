"""Reference distributions of the model-based estimators, without importing ``scipy.stats``
(private).

``scipy.stats`` costs about 0.6 s of CPU to import, more than most estimators take to
run; ``rct evaluate`` needs only a handful of distribution functions.  Each function
here calls the :mod:`scipy.special` function that the named ``scipy.stats``
distribution method itself calls (scipy 1.11-1.17: ``t._sf = stdtr(df, -x)``,
``t._ppf = stdtrit``, ``norm._sf = ndtr(-x)``, ``norm._ppf = ndtri``,
``chi2._sf = chdtrc``), so the numbers are the same to the last bit
(``tests/evaluate/test_perf_equivalence.py`` checks them against ``scipy.stats``).
"""

from __future__ import annotations

import math

__all__ = ["t_sf", "t_ppf", "norm_sf", "norm_ppf", "chi2_sf", "clopper_pearson",
           "ttest_ind"]


def _special():
    from scipy import special

    return special


def t_sf(x: float, df: float) -> float:
    """``P(T > x)`` for Student's t with ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    return float(_special().stdtr(df, -x))


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t (``scipy.stats.t.ppf``)."""
    return float(_special().stdtrit(df, q))


def norm_sf(x: float) -> float:
    """``P(Z > x)`` for the standard normal (``scipy.stats.norm.sf``)."""
    return float(_special().ndtr(-x))


def norm_ppf(q: float) -> float:
    """The ``q`` quantile of the standard normal (``scipy.stats.norm.ppf``)."""
    return float(_special().ndtri(q))


def chi2_sf(x: float, df: float) -> float:
    """``P(X > x)`` for chi-squared with ``df`` degrees of freedom (``scipy.stats.chi2.sf``)."""
    return float(_special().chdtrc(df, x))


def clopper_pearson(k: int, n: int, level: float) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided ``level`` interval for a binomial proportion ``k/n``.

    Notes
    -----
    ``(B(a/2; k, n - k + 1), B(1 - a/2; k + 1, n - k))`` with ``B(q; s, t)`` the beta
    quantile and ``a = 1 - level`` (0 and 1 at ``k = 0`` and ``k = n``): the limits in
    closed form, as R ``binom.test`` / ``poisson.test`` compute them with ``qbeta``
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")`` finds the same limits
    by root finding, to about 1e-12).  Clopper & Pearson (1934), *Biometrika* 26:404-413.
    """
    sp = _special()
    a = 1.0 - level
    lo = 0.0 if k == 0 else float(sp.betaincinv(k, n - k + 1, a / 2))
    hi = 1.0 if k == n else float(sp.betaincinv(k + 1, n - k, 1 - a / 2))
    return lo, hi


def ttest_ind(y1, y0, *, equal_var: bool, alpha: float) -> dict[str, float]:
    """Two-sample t-test of ``mean(y1) - mean(y0)`` with its ``1 - alpha`` interval.

    Returns ``statistic``, ``p_value`` (two-sided), ``df``, ``std_error``, ``conf_low``,
    ``conf_high`` — the numbers of ``scipy.stats.ttest_ind(y1, y0, equal_var=...)`` and
    its ``confidence_interval(1 - alpha)``.

    Notes
    -----
    Student (``equal_var``): ``s_p^2 = ((n1 - 1) s1^2 + (n0 - 1) s0^2) / (n1 + n0 - 2)``,
    ``SE = s_p sqrt(1/n1 + 1/n0)``, ``df = n1 + n0 - 2``.  Welch: ``SE = sqrt(s1^2/n1 +
    s0^2/n0)`` and the Welch-Satterthwaite ``df``.  ``t = (m1 - m0) / SE``, interval
    ``m1 - m0 -/+ t_{df, 1 - alpha/2} SE`` (R ``t.test``).
    """
    import numpy as np

    y1 = np.asarray(y1, dtype=float)
    y0 = np.asarray(y0, dtype=float)
    n1, n0 = y1.size, y0.size
    v1, v0 = y1.var(ddof=1), y0.var(ddof=1)
    d = float(y1.mean() - y0.mean())
    if equal_var:
        df = float(n1 + n0 - 2)
        se = math.sqrt(((n1 - 1) * v1 + (n0 - 1) * v0) / df * (1.0 / n1 + 1.0 / n0))
    else:
        a1, a0 = v1 / n1, v0 / n0
        se = math.sqrt(a1 + a0)
        df = float((a1 + a0) ** 2 / (a1**2 / (n1 - 1) + a0**2 / (n0 - 1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float(np.float64(d) / se)
    p = 2 * t_sf(abs(t), df)  # (0 when t is infinite, NaN when it is NaN: as scipy)
    q = t_ppf(1 - alpha / 2, df)
    return {"statistic": t, "p_value": float(p), "df": df, "std_error": se,
            "conf_low": d - q * se, "conf_high": d + q * se}
