"""Covariate balance of a parallel allocation: means, SMDs, variance ratios, omnibus test."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import DataError, DesignError
from rct.randomise.rerandomise import MahalanobisScorer

__all__ = ["BalanceResult", "balance", "balance_file", "independent_covariates"]


@dataclass(frozen=True)
class BalanceResult:
    """Balance table and omnibus randomisation test.

    ``table`` has one row per covariate: ``n_<arm>``, ``mean_<arm>``,
    ``sd_<arm>`` for every arm, and for each non-control arm ``smd_<arm>`` and
    ``variance_ratio_<arm>`` against the first (control) arm.  ``omnibus`` holds
    the Mahalanobis statistic, its randomisation p-value and how it was computed,
    the covariates it used (``covariates``) and those it left out (``dropped``:
    covariate -> reason).  ``notes`` says in words what was left out and why.
    """

    table: Any = field(repr=False)
    omnibus: dict[str, Any]
    notes: tuple[str, ...] = ()

    def tidy(self) -> Any:
        """The table plus an ``omnibus`` row (statistic in ``mean_*``-free columns)."""
        import pandas as pd

        row = {"covariate": "omnibus (Mahalanobis)", "statistic": self.omnibus["statistic"],
               "p_value": self.omnibus["p_value"], "method": self.omnibus["method"]}
        return pd.concat([self.table, pd.DataFrame([row])], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table.to_dict(orient="records"), "omnibus": dict(self.omnibus),
                "notes": list(self.notes)}

    def summary(self) -> str:
        o = self.omnibus
        return (
            self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
            + f"\nOmnibus balance: M = {o['statistic']:.4g}, p = {o['p_value']:.4g} "
            f"({o['method']}; {o['reference_size']} assignments)"
            + "".join(f"\nnote: {n}" for n in self.notes)
        )


def balance(
    design: Any,
    units: Any,
    covariates: Sequence[str],
    *,
    assignment: np.ndarray | None = None,
    draws: int = 10_000,
    seed: int = 0,
    enumerate_limit: int = 100_000,
) -> BalanceResult:
    """Balance of ``design``'s allocation (or ``assignment``) on ``covariates``.

    Parameters
    ----------
    design
        A :class:`~rct.randomise.parallel.ParallelDesign`; its randomisation
        distribution is the reference for the omnibus test.
    units
        DataFrame with ``hotspot_id`` and the covariates (any row order).
    assignment
        Arm codes in ``design.units`` order; default the design's own allocation.
    draws, seed
        Monte Carlo reference size when the design has more than
        ``enumerate_limit`` assignments.

    Notes
    -----
    SMD = :math:`(\\bar x_a - \\bar x_0) / \\sqrt{(s_a^2 + s_0^2)/2}` (Austin 2009);
    variance ratio :math:`s_a^2 / s_0^2`.  The omnibus statistic is the
    Mahalanobis balance statistic
    :math:`M = \\sum_a n_a (\\bar x_a - \\bar x)^\\top S^{-1} (\\bar x_a - \\bar x)`
    (Morgan & Rubin 2012); its p-value is :math:`P(M^* \\ge M)` over the
    design's randomisation distribution -- exact by enumeration when possible,
    else :math:`(1 + \\#\\{M^*_b \\ge M\\})/(1 + B)` over ``draws`` draws from
    ``design.draw`` (which respects blocks, pairs and re-randomisation).  For a
    re-randomised design the test is therefore relative to the accepted set.

    :math:`S` must be invertible, so covariates that are constant, or an exact
    linear combination of covariates listed before them (e.g. ``crimes`` and
    ``share_crimes`` from ``rct hotspots build``, one a multiple of the other),
    are left out of the omnibus statistic in the order given, as are any beyond
    :math:`N - 2`; each is named in ``notes`` and ``omnibus["dropped"]`` and
    keeps its row in the table.  Collinearity is judged on the centred and
    scaled columns (:func:`independent_covariates`).

    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of
    baseline covariates between treatment groups in propensity-score matched
    samples. *Statistics in Medicine* 28, 3083-3107.
    """
    import pandas as pd

    if getattr(design, "to_dict", lambda: {})().get("design") != "parallel":
        raise DesignError("balance applies to parallel designs; crossover designs are balanced "
                          "by construction (see CrossoverDesign.coverage())")
    covariates = list(covariates)
    if not covariates:
        raise DesignError("balance needs at least one covariate")
    df = pd.DataFrame(units).drop(columns="geometry", errors="ignore")
    idc = design.parameters.get("id_column", "hotspot_id")
    df = df.assign(**{idc: df[idc].astype(str)}).set_index(idc)
    missing = [i for i in design.ids if i not in df.index]
    if missing:
        raise DataError(f"{len(missing)} allocated hot spots have no covariates, e.g. {missing[0]!r}")
    df = df.loc[list(design.ids)]
    x = np.column_stack([_numeric(df, c) for c in covariates])
    z = np.asarray(design.assignment if assignment is None else assignment, dtype=np.int8)
    arms = list(design.arms)
    keep, dropped = independent_covariates(x, covariates, max_covariates=len(df) - 2)
    if not keep:
        raise DesignError("balance needs at least one covariate that varies between hot spots; "
                          + "; ".join(f"{c}: {why}" for c, why in dropped.items()))
    rows = []
    for j, c in enumerate(covariates):
        row: dict[str, Any] = {"covariate": c}
        for a, name in enumerate(arms):
            xa = x[z == a, j]
            row[f"n_{name}"] = int(len(xa))
            row[f"mean_{name}"] = float(xa.mean()) if len(xa) else np.nan
            row[f"sd_{name}"] = float(xa.std(ddof=1)) if len(xa) > 1 else np.nan
        v0 = row[f"sd_{arms[0]}"] ** 2
        for name in arms[1:]:
            va = row[f"sd_{name}"] ** 2
            pooled = np.sqrt((va + v0) / 2)
            diff = row[f"mean_{name}"] - row[f"mean_{arms[0]}"]
            row[f"smd_{name}"] = float(diff / pooled) if pooled > 0 else np.nan
            row[f"variance_ratio_{name}"] = float(va / v0) if v0 > 0 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    scorer = MahalanobisScorer(x[:, [covariates.index(c) for c in keep]], len(arms))
    m_obs = float(scorer.score(z[None])[0])
    tol = 1e-9 * max(1.0, abs(m_obs))
    enum = design.enumerate(enumerate_limit, with_probabilities=True)
    if enum is not None:
        zz, w = enum
        p = float(w[scorer.score(zz) >= m_obs - tol].sum())
        method, size = "exact (enumeration)", len(zz)
    else:
        ms = scorer.score(design.draw(int(draws), np.random.default_rng(seed)))
        p = (1 + int((ms >= m_obs - tol).sum())) / (1 + int(draws))
        method, size = "randomisation (Monte Carlo)", int(draws)
    from scipy.stats import chi2

    omnibus = {
        "statistic": m_obs,
        "df": scorer.df,
        "p_value": min(1.0, p),
        "p_value_chi2": float(chi2.sf(m_obs, scorer.df)),
        "method": method,
        "reference_size": size,
        "covariates": keep,
        "dropped": dropped,
    }
    notes = tuple(f"{c} left out of the omnibus test: {why}" for c, why in dropped.items())
    return BalanceResult(table=table, omnibus=omnibus, notes=notes)


def independent_covariates(x: np.ndarray, names: Sequence[str], *, max_covariates: int | None = None,
                           tol: float = 1e-8) -> tuple[list[str], dict[str, str]]:
    r"""The covariates (in order) whose centred columns are linearly independent.

    Parameters
    ----------
    x
        Covariate matrix, shape ``(N, k)``, columns in ``names`` order.
    max_covariates
        Keep at most this many (the Mahalanobis covariance needs ``N - 2``
        or fewer); later ones are dropped with that reason.
    tol
        Relative tolerance: a column is constant when its centred norm is below
        ``tol`` times its uncentred norm, and dependent when the residual of its
        least-squares fit on the kept columns has norm below ``tol`` times its
        centred norm.

    Returns
    -------
    kept : list of str
    dropped : dict
        Covariate -> reason in words ("constant across hot spots", "an exact
        linear function of crimes ...", "with 12 hot spots the test takes at
        most 10 covariates").

    Notes
    -----
    Greedy forward selection in the given order (a pivoted Gram-Schmidt): a
    column is kept when :math:`\lVert (I - P_K) x_j \rVert > tol \lVert x_j
    - \bar x_j \rVert`, with :math:`P_K` the projection onto the kept
    centred columns.  ``k`` is the number of covariates (small), not of hot
    spots, so the loop is over columns only.
    """
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean(axis=0)
    kept: list[int] = []
    basis = np.zeros((x.shape[0], 0))
    dropped: dict[str, str] = {}
    for j, name in enumerate(names):
        col = xc[:, j]
        norm = float(np.linalg.norm(col))
        if norm <= tol * max(float(np.linalg.norm(x[:, j])), 1e-300):
            dropped[str(name)] = "constant across hot spots"
            continue
        resid = col - basis @ (basis.T @ col)
        if float(np.linalg.norm(resid)) <= tol * norm:
            coef = np.linalg.lstsq(xc[:, kept], col, rcond=None)[0]
            weight = np.abs(coef) * np.linalg.norm(xc[:, kept], axis=0)
            big = [names[kept[i]] for i in np.flatnonzero(weight > 1e-6 * norm)]
            named = " and ".join([", ".join(map(str, big[:-1])), str(big[-1])] if len(big) > 1
                                 else [str(b) for b in big]) or "the covariates before it"
            dropped[str(name)] = f"an exact linear function of {named} (it adds no information)"
            continue
        if max_covariates is not None and len(kept) >= max_covariates:
            dropped[str(name)] = (f"with {max_covariates + 2} hot spots the test takes at most "
                                  f"{max_covariates} covariates")
            continue
        kept.append(j)
        basis = np.column_stack([basis, resid / np.linalg.norm(resid)])
    return [str(names[j]) for j in kept], dropped


def balance_file(
    allocation: str | Path,
    *,
    hotspots: str | Path | None = None,
    covariates: Sequence[str] | None = None,
    draws: int = 10_000,
    seed: int = 0,
    out: str | Path | None = None,
) -> BalanceResult:
    """Balance of an allocation CSV; the reference distribution comes from its manifest.

    Without a manifest the reference is complete randomisation with the observed
    arm counts (stated in ``omnibus["reference"]``).  Writes the tidy table to
    ``out`` (default ``<allocation>.balance.csv``).
    """
    import pandas as pd

    from rct.io.atomic import write_table
    from rct.randomise.manifest import load_design, manifest_path, read_units
    from rct.randomise.parallel import parallel

    allocation = Path(allocation)
    from rct.io.safety import restore_frame

    # ids neutralised against spreadsheet formulas ("'=HS1") are read back as written
    alloc = restore_frame(pd.read_csv(allocation, dtype=str, keep_default_na=False))
    man = None
    if manifest_path(allocation).exists():
        import json

        man = json.loads(manifest_path(allocation).read_text(encoding="utf-8"))
        if man["design"]["design"] != "parallel":
            raise DesignError("balance applies to parallel allocations; crossover schedules are "
                              "balanced by construction")
        if hotspots is None:
            hotspots = manifest_path(allocation).parent / man["inputs"]["hotspots"]["path"]
    if hotspots is None:
        raise DesignError("no manifest beside the allocation: pass --hotspots with the covariates")
    idc = (man or {}).get("design", {}).get("parameters", {}).get("id_column", "hotspot_id")
    units = read_units(hotspots, id_column=idc)
    if not covariates:
        covariates = (man or {}).get("design", {}).get("parameters", {}).get("covariates") or []
    if not covariates:
        num = [c for c in units.columns if c != idc and pd.api.types.is_numeric_dtype(units[c])]
        raise DesignError(f"choose covariates (--covariates); numeric columns: {num}")
    if man is not None:
        design = load_design(allocation, hotspots=hotspots)
        reference = f"design in manifest ({design.scheme})"
    else:
        arms = list(dict.fromkeys(["control", "treatment", *sorted(set(alloc["arm"]))]))
        arms = [a for a in arms if a in set(alloc["arm"])]
        counts = [int((alloc["arm"] == a).sum()) for a in arms]
        design = parallel(alloc["hotspot_id"].tolist(), arms=arms, ratio=[1] * len(arms),
                          counts=counts, seed=0)
        reference = "complete randomisation with the observed counts (no manifest)"
    code = {a: i for i, a in enumerate(design.arms)}
    obs = alloc.set_index("hotspot_id")["arm"].reindex(list(design.ids))
    if obs.isna().any() or not set(obs).issubset(code):
        raise DataError("allocation does not match the design's hot spots/arms", file=allocation)
    z = np.array([code[a] for a in obs], dtype=np.int8)
    res = balance(design, units.rename(columns={idc: design.parameters.get("id_column", idc)}),
                  covariates, assignment=z, draws=draws, seed=seed)
    res.omnibus["reference"] = reference
    target = Path(out) if out is not None else Path(f"{allocation}.balance.csv")
    write_table(res.tidy(), target)
    return res


def _numeric(df: Any, column: str) -> np.ndarray:
    import pandas as pd

    if column not in df.columns:
        raise DataError(f"missing covariate; have {list(df.columns)}", column=column)
    v = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(v).all():
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise DataError("not a finite number", row=i + 1, column=column, value=df[column].iat[i])
    return v
