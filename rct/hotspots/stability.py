"""Do hot spots stay put?  Top cells of one period against another.

Hot spots that move make a poor trial: cells chosen from last year's data
must still be hot during the trial for patrols there to matter.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError
from rct.hotspots.build import (
    HotspotWarning,
    RankBy,
    _cells,
    _prepare,
    _rank,
    _select,
    _validate_choice,
)
from rct.hotspots.grid import HexGrid, Orientation

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.harm import HarmTable

__all__ = ["stability", "StabilityResult"]

_COLUMNS = [
    "period_a", "period_b", "crimes_a", "crimes_b", "n_top_a", "n_top_b", "overlap",
    "overlap_share", "jaccard", "spearman", "spearman_top", "n_cells", "b_share_in_a_top",
]


@dataclass(frozen=True, eq=False)
class StabilityResult:
    """Agreement between the hot spots of consecutive periods.

    ``table`` has one row per compared pair of periods (A, then B):

    - ``n_top_a``, ``n_top_b``: cells chosen in each period by the same rule;
    - ``overlap``: cells chosen in both; ``overlap_share`` = overlap / n_top_a
      (share of A's hot spots still hot in B); ``jaccard`` = overlap / |A ∪ B|;
    - ``spearman``: Spearman rank correlation between the ranking measure per
      cell in A and in B (0 where no crime) over the cells with at least one
      crime in A -- the candidates a selection from A ranks; ``n_cells`` of
      them.  ``spearman_top``: the same over A's top cells only;
    - ``b_share_in_a_top``: share of B's crimes (or harm, when ranking by
      harm) that fall in A's top cells -- what a trial chosen from A would catch.
    """

    table: pd.DataFrame
    measure: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        lines = []
        for row in self.table.itertuples(index=False):
            lines.append(
                f"{row.period_a} -> {row.period_b}: {row.overlap} of {row.n_top_a} top cells "
                f"still top ({row.overlap_share:.0%}), Spearman {row.spearman:.2f} "
                f"({self.measure}, {row.n_cells:,} cells); A's top cells hold "
                f"{row.b_share_in_a_top:.1%} of B's {'harm' if self.measure == 'harm' else 'crime'}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"params": dict(self.params), "measure": self.measure,
                "pairs": self.table.to_dict(orient="records")}

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)


def _periods(frame: pd.DataFrame, split: str) -> tuple[np.ndarray, list[str]]:
    """Period label per row and the labels in time order."""
    import pandas as pd

    if split != "half":
        if split not in frame.columns:
            raise DataError(f"split column {split!r} not in the crimes; use 'half' or one of "
                            f"{list(frame.columns)}", column=split)
        lab = frame[split].astype("string")
        if lab.isna().any():
            i = int(np.flatnonzero(lab.isna().to_numpy())[0])
            raise DataError("blank period", row=i + 1, column=split)
        order = sorted(lab.unique())
        return lab.to_numpy(dtype=object), order
    if "occurred_at" in frame.columns and frame["occurred_at"].notna().all():
        t = pd.to_datetime(frame["occurred_at"], utc=True)
        lo, hi = t.min(), t.max()
        mid = lo + (hi - lo) / 2
        first = (t < mid).to_numpy()
        a = f"{lo:%Y-%m-%d} to {mid:%Y-%m-%d %H:%M}"
        b = f"{mid:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d}"
        return np.where(first, a, b).astype(object), [a, b]
    if "month" not in frame.columns:
        raise DataError("split='half' needs an 'occurred_at' (complete) or a 'month' column",
                        column="month")
    months = frame["month"].astype("string")
    uniq = sorted(months.dropna().unique())
    if months.isna().any():
        i = int(np.flatnonzero(months.isna().to_numpy())[0])
        raise DataError("blank month", row=i + 1, column="month")
    if len(uniq) < 2:
        raise DataError(f"split='half' needs at least two months of data; got {uniq}",
                        column="month")
    k = len(uniq) // 2
    a = uniq[0] if k == 1 else f"{uniq[0]} to {uniq[k - 1]}"
    b = uniq[k] if len(uniq) - k == 1 else f"{uniq[k]} to {uniq[-1]}"
    return np.where(months.isin(uniq[:k]).to_numpy(), a, b).astype(object), [a, b]


def stability(
    crimes: pd.DataFrame,
    *,
    split: str = "half",
    cell: float = 150.0,
    top: int | None = None,
    share_of_harm: float | None = None,
    rank_by: RankBy | None = None,
    crime_types: str | Iterable[str] | None = None,
    harm: str | os.PathLike[str] | HarmTable | None = None,
    force: str = "Thames Valley",
    min_separation: float = 0.0,
    origin: tuple[float, float] | None = None,
    orientation: Orientation = "pointy",
) -> StabilityResult:
    """Compare the top cells of each period with the next period's.

    Parameters
    ----------
    split
        ``"half"``: the first half of the data against the second (by
        ``occurred_at`` when every crime has one -- halves of the time range --
        else by ``month``: the first ⌊m/2⌋ months against the rest); or the
        name of a column (e.g. ``"month"``) whose sorted values are periods,
        each compared with the next.
    cell, top, share_of_harm, rank_by, crime_types, harm, force, min_separation, origin, orientation
        As in :func:`~rct.hotspots.build_hotspots`; the same rule picks the
        top cells of every period on the same grid.

    Returns
    -------
    StabilityResult

    Notes
    -----
    Spearman's rho is Pearson's correlation of the mid-ranks of the per-cell
    measure in the two periods (``scipy.stats.spearmanr``), over the cells
    with crime in period A (a cell with none in B counts 0 there).  Cells are
    deliberately not restricted to those with crime in A *or* B: conditioning
    on the sum of the two periods makes sparse counts look negatively
    correlated even when places keep their risk.  Low overlap or rho means the places
    chosen from one period are not reliably hot in the next.
    Weisburd, D., Bushway, S., Lum, C. & Yang, S.-M. (2004). Trajectories of
    crime at places. Criminology 42(2):283-322.
    """
    import pandas as pd
    from scipy.stats import spearmanr

    if (top is None) == (share_of_harm is None):
        raise ValueError("give exactly one of top= or share_of_harm=")
    if rank_by is None:
        rank_by = "harm" if share_of_harm is not None else "count"
    _validate_choice("rank_by", rank_by, ["count", "harm"])
    if (rank_by == "harm" or share_of_harm is not None) and harm is None:
        raise ValueError("ranking by harm or choosing a share_of_harm needs a harm table")
    grid = HexGrid(cell, orientation=orientation, origin=origin or (0.0, 0.0))
    frame, weights, unknown, types, table = _prepare(
        crimes, crime_types=crime_types, harm=harm, force=force)
    labels, order = _periods(frame, split)
    if len(order) < 2:
        raise DataError(f"stability needs at least two periods; {split!r} gives {order}")
    x = pd.to_numeric(frame["x"]).to_numpy(dtype=float)
    y = pd.to_numeric(frame["y"]).to_numpy(dtype=float)
    measure = "crimes" if rank_by == "count" else "harm"

    per: dict[str, tuple[pd.DataFrame, set[str]]] = {}
    for p in order:
        m = labels == p
        cells = _rank(_cells(grid, x[m], y[m], weights[m], unknown[m]), rank_by)
        total = float(np.nansum(weights[m]))
        chosen, short = _select(cells, top=top, share_of_harm=share_of_harm, total_harm=total,
                                min_separation=float(min_separation))
        if short:
            warnings.warn(f"period {p}: {short}", HotspotWarning, stacklevel=2)
        per[p] = (cells.set_index("cell_id"), set(cells["cell_id"].iloc[chosen]))

    rows = []
    for pa, pb in zip(order[:-1], order[1:], strict=True):
        (ca, ta), (cb, tb) = per[pa], per[pb]
        va = ca[measure].to_numpy(dtype=float)
        vb = cb[measure].reindex(ca.index, fill_value=0).to_numpy(dtype=float)
        ia = ca.index.get_indexer(sorted(ta))
        top_union = ta | tb
        overlap = len(ta & tb)
        total_b = float(cb[measure].sum())
        rows.append({
            "period_a": pa, "period_b": pb,
            "crimes_a": int(ca["crimes"].sum()), "crimes_b": int(cb["crimes"].sum()),
            "n_top_a": len(ta), "n_top_b": len(tb), "overlap": overlap,
            "overlap_share": overlap / len(ta) if ta else np.nan,
            "jaccard": overlap / len(top_union) if top_union else np.nan,
            "spearman": _rho(spearmanr, va, vb),
            "spearman_top": _rho(spearmanr, va[ia], vb[ia]),
            "n_cells": len(ca),
            "b_share_in_a_top": vb[ia].sum() / total_b if total_b else np.nan,
        })
    params = {"split": split, "cell": grid.cell, "top": top, "share_of_harm": share_of_harm,
              "rank_by": rank_by, "crime_types": list(types) if types else None,
              "harm": None if table is None else table.name,
              "min_separation": float(min_separation), "orientation": orientation,
              "origin": list(grid.origin)}
    return StabilityResult(table=pd.DataFrame(rows, columns=_COLUMNS), measure=measure,
                           params=params)


def _rho(spearmanr: Any, a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)
