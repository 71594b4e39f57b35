"""Statistics and design alignment for randomisation inference (:mod:`rct.evaluate.ri`).

The statistic contract (``stat(Z, y) -> T`` over a batch of assignments) is
described in :mod:`rct.evaluate.ri`; here are the default statistic
(:class:`DifferenceInMeans`), the adapter for other vectorised functions
(:func:`as_statistic`), the :class:`Design` protocol the engine reads, and the
helpers that put data in the design's unit order (:func:`align_to_design`,
:func:`treatment_matrix`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

__all__ = [
    "Design",
    "DifferenceInMeans",
    "as_statistic",
    "treatment_matrix",
    "align_to_design",
    "align_columns",
]


class Design(Protocol):  # pragma: no cover - typing only
    assignment: np.ndarray
    units: Any

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def enumerate(self, limit: int = 100_000) -> np.ndarray | None: ...


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DifferenceInMeans:
    """Treated mean minus control mean, for a batch of assignments.

    ``T(Z, y) = Z y / Z 1 - (1 - Z) y / (1 - Z) 1`` (row-wise).  Linear in ``y``.
    """

    name: str = "difference in means"
    linear: bool = True
    scale: str = "difference"

    def __call__(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        n1 = Z.sum(axis=1)
        n0 = Z.shape[1] - n1
        s1 = Z @ y
        return s1 / n1 - (y.sum() - s1) / n0


class _Wrapped:
    def __init__(self, fn: Callable, name: str, linear: bool, scale: str, order: str,
                 kwargs: dict[str, Any]) -> None:
        self.fn, self.name, self.linear, self.scale = fn, name, linear, scale
        self.order, self.kwargs = order, kwargs

    def __call__(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.order == "zy":
            return self.fn(Z, y, **self.kwargs)
        return self.fn(y, Z, **self.kwargs)

    def __repr__(self) -> str:
        return f"Statistic({self.name!r}, linear={self.linear})"


def as_statistic(fn: Callable, *, name: str | None = None, linear: bool = False,
                 scale: str = "difference", order: Literal["zy", "yz"] = "zy",
                 **kwargs: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Wrap a vectorised function as a statistic for :func:`randomisation_test`.

    ``order="yz"`` adapts functions written ``fn(y, assignments, **kwargs)``
    (e.g. :func:`rct.evaluate.parallel.dim_statistic`); ``linear`` declares
    linearity in ``y`` (enables the closed-form additive interval).
    """
    if order not in ("zy", "yz"):
        raise ValueError(f"order must be one of ('zy', 'yz'), got {order!r}")
    return _Wrapped(fn, name or getattr(fn, "__name__", "statistic"), linear, scale, order, kwargs)


def treatment_matrix(assignments: np.ndarray, treated: int = 1) -> np.ndarray:
    """0/1 float matrix from arm codes (``treated`` = the arm counted as treatment)."""
    a = np.asarray(assignments)
    return (a == treated).astype(np.float64)


def align_to_design(design: Any, data: Any, column: str, *, keys: list[str] | None = None) -> np.ndarray:
    """The column ``column`` of ``data`` in ``design.units`` order.

    ``design.units`` may be an Index/MultiIndex, a DataFrame of key columns or
    a sequence of ids; ``keys`` are the matching columns of ``data`` (default:
    the index names / frame columns / ``["hotspot_id"]``).  Every unit must
    be present exactly once.
    """
    return align_columns(design, data, [column], keys=keys)[column]


def align_columns(design: Any, data: Any, columns: list[str], *,
                  keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """:func:`align_to_design` of several columns, matching the keys once."""
    import pandas as pd

    from rct.errors import DataError

    columns = list(dict.fromkeys(columns))
    units = design.units
    if isinstance(units, pd.DataFrame):
        idx = pd.MultiIndex.from_frame(units) if units.shape[1] > 1 else pd.Index(units.iloc[:, 0])
    elif isinstance(units, pd.Index):
        idx = units
    else:
        idx = pd.Index(list(units), name="hotspot_id")
    if keys is None:
        names = [n for n in idx.names]
        keys = names if all(n is not None for n in names) else ["hotspot_id"]
    frame = data.set_index(keys if len(keys) > 1 else keys[0])[columns]
    if not frame.index.is_unique:
        raise DataError(f"duplicate {keys} rows in the data", column=columns[0])
    if isinstance(idx, pd.MultiIndex):
        frame.index = pd.MultiIndex.from_arrays(
            [_norm_key(frame.index.get_level_values(i)) for i in range(idx.nlevels)]
        )
        idx = pd.MultiIndex.from_arrays([_norm_key(idx.get_level_values(i)) for i in range(idx.nlevels)])
    else:
        frame.index = _norm_key(frame.index)
        idx = _norm_key(idx)
    out = frame.reindex(idx)
    result = {}
    for column in columns:
        missing = out[column].isna()
        if missing.any():
            first = idx[np.flatnonzero(missing.to_numpy())[0]]
            raise DataError(
                f"{int(missing.sum())} design units have no {column!r} value (first: {first})",
                column=column,
            )
        result[column] = out[column].to_numpy(dtype=np.float64)
    return result


def _norm_key(values: Any) -> Any:
    """Keys compared as strings (dates as ISO) so CSV and Parquet inputs match."""
    import pandas as pd

    v = pd.Index(values)
    if pd.api.types.is_datetime64_any_dtype(v.dtype):
        return pd.Index(v.strftime("%Y-%m-%d"))
    # convert each distinct key once (a panel repeats every hot spot and date many times)
    # (missing values are converted one by one: pandas versions factorize None differently)
    codes, uniques = pd.factorize(v)
    keys = np.array([x.isoformat() if hasattr(x, "isoformat") else str(x) for x in uniques],
                    dtype=object)
    out = keys[np.maximum(codes, 0)] if len(keys) else np.empty(len(v), dtype=object)
    na = codes < 0
    if na.any():
        out = out.astype(object)
        out[na] = [str(x) for x in np.asarray(v, dtype=object)[na]]
    return pd.Index(out)
