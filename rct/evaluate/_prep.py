"""Input preparation and inference helpers shared by the parallel-design estimators.

Private: used by ``parallel``, ``counts``, ``prepost``, ``complier`` and ``harm_effects``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rct.errors import DataError, DesignError, RCTWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "EstimatorWarning",
    "check_choice",
    "treatment_indicator",
    "select_arms",
    "numeric_column",
    "block_codes",
    "t_inference",
    "one_hot",
    "batch_inputs",
]

#: arm labels read as "treated" / "control" when the treatment column holds strings
TREATED_LABELS = ("treatment", "treated", "patrol", "tasked", "1", "true", "yes")
CONTROL_LABELS = ("control", "untreated", "0", "false", "no")


class EstimatorWarning(RCTWarning):
    """An estimator fell back to another rule (e.g. a variance estimator) or dropped data."""


def check_choice(name: str, value: object, valid: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise a ValueError listing them."""
    if value not in valid:
        raise ValueError(
            f"unknown {name} {value!r}; valid choices are {', '.join(map(repr, valid))}"
        )
    return str(value)


def _require(data: pd.DataFrame, column: str) -> None:
    if column not in data.columns:
        raise DataError(f"column {column!r} not found; columns are {list(map(str, data.columns))}")


def treatment_indicator(
    data: pd.DataFrame, treatment: str, arms: tuple[object, object] | None = None
) -> np.ndarray:
    """0/1 int array: 1 = treated arm, 0 = control arm; rows of other arms are -1.

    ``arms=(control, treated)`` names the two arms to compare (needed for
    multi-arm trials).  Without it, a numeric/boolean column is read as 0/1 and a
    string column must hold exactly two labels recognisable as control/treatment
    (e.g. ``"control"``/``"treatment"``).
    """
    _require(data, treatment)
    col = data[treatment]
    if col.isna().any():
        row = int(np.flatnonzero(col.isna().to_numpy())[0]) + 1
        raise DataError("missing treatment assignment", row=row, column=treatment)
    values = col.to_numpy()
    if arms is not None:
        control, treated = arms
        as_str = col.astype(str).to_numpy()
        z = np.full(len(col), -1, dtype=np.int64)
        z[as_str == str(control)] = 0
        z[as_str == str(treated)] = 1
    elif col.dtype == bool or np.issubdtype(np.asarray(values).dtype, np.number):
        v = np.asarray(values, dtype=float)
        bad = ~np.isin(v, (0.0, 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                "numeric treatment must be 0/1 (pass arms=(control, treated) for other codes)",
                row=i + 1,
                column=treatment,
                value=values[i],
            )
        z = v.astype(np.int64)
    else:
        labels = col.astype(str).str.strip().str.lower().to_numpy()
        z = np.full(len(col), -1, dtype=np.int64)
        z[np.isin(labels, CONTROL_LABELS)] = 0
        z[np.isin(labels, TREATED_LABELS)] = 1
        if (z < 0).any():
            other = sorted(set(col.astype(str)[z < 0]))
            raise DataError(
                f"cannot tell treated from control arm for labels {other}; "
                "pass arms=(control, treated)",
                column=treatment,
            )
    if not ((z == 1).any() and (z == 0).any()):
        raise DesignError(f"column {treatment!r} needs both a treated and a control unit")
    return z


def select_arms(
    data: pd.DataFrame, treatment: str, arms: tuple[object, object] | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """``(rows of the two compared arms, their 0/1 indicator)``: rows of other arms dropped.

    See :func:`treatment_indicator` for how ``treatment`` and ``arms`` are read.
    """
    z = treatment_indicator(data, treatment, arms)
    keep = z >= 0
    if not keep.all():
        data = data.loc[keep]
        z = z[keep]
    return data, z


def numeric_column(data: pd.DataFrame, column: str, *, nonnegative: bool = False) -> np.ndarray:
    """Float array of a column; DataError naming the first bad row otherwise."""
    _require(data, column)
    import pandas as pd

    v = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(v)
    if nonnegative:
        bad |= v < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        need = "a finite non-negative number" if nonnegative else "a finite number"
        raise DataError(
            f"value must be {need}", row=i + 1, column=column, value=data[column].iloc[i]
        )
    return v


def block_codes(data: pd.DataFrame, blocks: str) -> tuple[np.ndarray, np.ndarray]:
    """(codes 0..J-1 per row, labels) for a block/pair column."""
    _require(data, blocks)
    col = data[blocks]
    if col.isna().any():
        row = int(np.flatnonzero(col.isna().to_numpy())[0]) + 1
        raise DataError("missing block", row=row, column=blocks)
    labels, codes = np.unique(col.astype(str).to_numpy(), return_inverse=True)
    return codes.astype(np.int64), labels


def one_hot(codes: np.ndarray, n_levels: int | None = None) -> np.ndarray:
    """(n, J) float indicator matrix of integer codes."""
    j = int(codes.max()) + 1 if n_levels is None else n_levels
    out = np.zeros((codes.size, j))
    out[np.arange(codes.size), codes] = 1.0
    return out


def batch_inputs(
    y: np.ndarray, assignments: np.ndarray, blocks: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, zmat, codes)`` for the vectorised (many-assignment) statistics.

    ``y`` as float ``(n_units,)``; ``zmat`` the assignments as float
    ``(n_draws, n_units)``; ``codes`` the block codes 0..J-1 of ``blocks`` (all 0
    when ``blocks`` is ``None``).  ValueError when the unit counts differ.
    """
    y = np.asarray(y, dtype=float)
    zmat = np.atleast_2d(np.asarray(assignments)).astype(float)
    if zmat.shape[1] != y.size:
        raise ValueError(f"assignments have {zmat.shape[1]} units, y has {y.size}")
    if blocks is None:
        codes = np.zeros(y.size, dtype=np.int64)
    else:
        codes = np.unique(np.asarray(blocks).astype(str), return_inverse=True)[1].astype(np.int64)
    return y, zmat, codes


def t_inference(
    estimate: float, std_error: float, df: float, alpha: float
) -> tuple[float, float, float, float]:
    """(statistic, two-sided p, conf_low, conf_high) with a t(df) reference (normal if df is inf)."""
    from rct.evaluate._dist import norm_ppf, norm_sf, t_ppf, t_sf

    if not (0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not np.isfinite(std_error) or std_error <= 0:
        return math.nan, math.nan, math.nan, math.nan
    stat = estimate / std_error
    if np.isfinite(df):
        p, q = 2 * t_sf(abs(stat), df), t_ppf(1 - alpha / 2, df)
    else:
        p, q = 2 * norm_sf(abs(stat)), norm_ppf(1 - alpha / 2)
    return float(stat), p, float(estimate - q * std_error), float(estimate + q * std_error)
