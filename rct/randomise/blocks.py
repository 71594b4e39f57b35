"""Reading units and forming blocks (column, quantile, matched sets) for parallel designs."""

from __future__ import annotations

from typing import Any

import numpy as np

from rct.errors import DataError, DesignError

__all__ = ["as_frame", "numeric", "column_blocks", "quantile_blocks", "matched_sets"]


def as_frame(units: Any, id_column: str) -> Any:
    import pandas as pd

    if isinstance(units, pd.DataFrame):
        if id_column not in units.columns:
            raise DataError(f"missing column; have {list(units.columns)}", column=id_column)
        df = pd.DataFrame(units.drop(columns="geometry", errors="ignore"))
        df["__id"] = [str(v) for v in units[id_column]]
        return df
    if isinstance(units, str | bytes):
        raise DesignError("units must be a DataFrame or a sequence of hot-spot ids")
    ids = [str(v) for v in units]
    return pd.DataFrame({id_column: ids, "__id": ids})


def numeric(df: Any, column: str) -> np.ndarray:
    import pandas as pd

    if column not in df.columns:
        raise DataError(f"missing column; have {[c for c in df.columns if c != '__id']}", column=column)
    vals = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(vals))
    if len(bad):
        i = int(bad[0])
        raise DataError(
            "not a finite number", row=i + 1, column=column, value=df[column].iat[i]
        )
    return vals


def column_blocks(df: Any, column: str, digest: dict[str, Any]) -> np.ndarray:
    if column not in df.columns:
        raise DataError(f"missing column; have {[c for c in df.columns if c != '__id']}", column=column)
    vals = [str(v) for v in df[column]]
    for i, v in enumerate(vals):
        if v.strip() == "" or v.lower() in {"nan", "none", "<na>"}:
            raise DataError("blank block", row=i + 1, column=column, value=v)
    labels = sorted(set(vals))
    pos = {lab: j for j, lab in enumerate(labels)}
    digest["blocks"] = vals
    return np.array([pos[v] for v in vals], dtype=np.int64)


def quantile_blocks(vals: np.ndarray, k: int) -> tuple[np.ndarray, list[str]]:
    n = len(vals)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(vals, kind="stable")] = np.arange(n)  # ties by canonical id order
    block = (rank * k) // n
    width = len(str(k))
    return block.astype(np.int64), [f"q{j + 1:0{width}d}" for j in range(k)]


def matched_sets(rank: np.ndarray, outer: np.ndarray, size: int, *,
                 merge_leftover: bool = False) -> tuple[np.ndarray, list[str]]:
    """Consecutive sets of ``size`` units by descending rank within each outer block.

    ``merge_leftover``: units left over at the bottom of an outer block join
    its last full set (e.g. a matched triple) instead of forming a set alone.
    """
    n = len(rank)
    # within each outer block, descending rank, ties by canonical id: stable sort on (outer, -rank)
    order = np.lexsort((-rank, outer))
    block = np.empty(n, dtype=np.int64)
    labels: list[str] = []
    n_sets = 0
    for ob in np.unique(outer):
        members = order[outer[order] == ob]
        starts = list(range(0, len(members), size))
        if merge_leftover and len(starts) > 1 and len(members) % size:
            starts = starts[:-1]  # the leftover joins the last full set
        for i, s in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(members)
            block[members[s:end]] = n_sets
            n_sets += 1
    width = len(str(n_sets))
    labels = [f"{'pair' if size == 2 else 'set'}{j + 1:0{width}d}" for j in range(n_sets)]
    return block, labels
