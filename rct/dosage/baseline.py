"""Baseline activity and uplift (part of what ``rct monitor`` reports).

* :func:`baseline_uplift` -- baseline window vs trial window, both arms: the
  uplift in presence in tasked hot-spot-days relative to control
  (difference-in-differences, and as a ratio: Thames Valley's "+93 %"), and
  the additional minutes / visits over baseline (its "3,500 additional
  patrols").
* :func:`compliance` -- share of tasked hot-spot-days receiving the target
  dose, contamination of control hot-spot-days, visits against the app's
  cap, foot share, Koper-curve share; a weekly table; hot spots falling
  behind flagged.
* :func:`monitor` -- both, as one :class:`MonitorReport` that writes its
  CSVs atomically.  :func:`monitor_trial` does the same from a ``trial.toml``.

Hot-spot-days are keyed by ``hotspot_id, trial_date``.  An allocation is
either parallel (``hotspot_id, arm``: the arm holds on every trial day) or
crossover (``hotspot_id, trial_date, arm``).  A hot-spot-day absent from a
dosage table had no recorded activity and counts as zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rct.errors import DataError

__all__ = [
    "AIRWAVE_MEASURES",
    "PATROL_MEASURES",
    "Uplift",
    "baseline_uplift",
    "hotspot_day_arms",
]

AIRWAVE_MEASURES = ("presence_minutes", "visits", "radios", "pings")
PATROL_MEASURES = ("visits", "presence_minutes", "officer_minutes")
Window = tuple[Any, Any]


# ---------------------------------------------------------------------------
# hot-spot-days and their arms


def hotspot_day_arms(
    allocation: pd.DataFrame,
    *,
    window: Window,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every hot-spot-day of ``window`` with its arm.

    Parameters
    ----------
    allocation
        Parallel (``hotspot_id, arm``) or crossover (``hotspot_id,
        trial_date, arm``) allocation.
    window
        First and last trial day, inclusive.
    arms
        Keep only these arms (default: all).

    Returns
    -------
    DataFrame
        ``hotspot_id, trial_date`` (``datetime64[ns]``, midnight), ``arm``,
        sorted.  For a crossover, only the days the schedule lists.
    """
    start, end = _window(window, "window")
    alloc = _check_allocation(allocation)
    if "trial_date" in alloc.columns:
        out = alloc[(alloc["trial_date"] >= start) & (alloc["trial_date"] <= end)]
        out = out[["hotspot_id", "trial_date", "arm"]]
    else:
        days = pd.date_range(start, end, freq="D").astype("datetime64[ns]")
        n = len(days)
        out = pd.DataFrame(
            {
                "hotspot_id": np.repeat(alloc["hotspot_id"].to_numpy(), n),
                "trial_date": np.tile(days.to_numpy(), len(alloc)),
                "arm": np.repeat(alloc["arm"].to_numpy(), n),
            }
        )
    if arms is not None:
        out = out[out["arm"].isin(list(arms))]
    return out.sort_values(["hotspot_id", "trial_date"], kind="stable").reset_index(drop=True)


def _check_allocation(allocation: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("hotspot_id", "arm") if c not in allocation.columns]
    if missing:
        raise DataError(f"allocation has no {', '.join(missing)} column")
    cols = ["hotspot_id", "arm"] + (["trial_date"] if "trial_date" in allocation.columns else [])
    alloc = allocation[cols].copy()
    alloc["hotspot_id"] = alloc["hotspot_id"].astype(str).str.strip().astype(object)
    alloc["arm"] = alloc["arm"].astype(str).str.strip().astype(object)
    key = ["hotspot_id"]
    if "trial_date" in alloc.columns:
        alloc["trial_date"] = _dates64(alloc["trial_date"])
        key.append("trial_date")
    dup = alloc.duplicated(key)
    if dup.any():
        first = alloc.loc[dup, key].iloc[0].tolist()
        raise DataError(f"allocation lists {first} more than once", column="hotspot_id")
    return alloc


def _dates64(values: Any) -> pd.Series:
    try:
        return pd.to_datetime(pd.Series(values)).dt.normalize().astype("datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise DataError(f"trial_date values are not dates: {exc}", column="trial_date") from None


def _window(window: Window, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        a, b = window
        start, end = pd.Timestamp(a).normalize(), pd.Timestamp(b).normalize()
    except (TypeError, ValueError):
        raise DataError(f"{name} must be (first day, last day), got {window!r}") from None
    if start > end:
        raise DataError(f"{name} starts {start.date()} after it ends {end.date()}")
    return start, end


def _on_grid(grid: pd.DataFrame, table: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    """``grid`` (hotspot_id, trial_date, ...) with ``measures`` from ``table``; absent = 0."""
    missing = [m for m in ("hotspot_id", "trial_date", *measures) if m not in table.columns]
    if missing:
        raise DataError(f"dosage table has no column(s) {', '.join(missing)}")
    t = table[["hotspot_id", "trial_date", *measures]].copy()
    t["hotspot_id"] = t["hotspot_id"].astype(str).astype(object)
    t["trial_date"] = _dates64(t["trial_date"])
    t = t.groupby(["hotspot_id", "trial_date"], as_index=False, sort=False)[list(measures)].sum()
    out = grid.merge(t, on=["hotspot_id", "trial_date"], how="left")
    for m in measures:
        out[m] = out[m].fillna(0).astype(np.float64)
    return out


# ---------------------------------------------------------------------------
# baseline and uplift


@dataclass(frozen=True)
class Uplift:
    """Baseline vs trial activity by arm, one row per measure.

    Attributes
    ----------
    table : DataFrame
        See :func:`baseline_uplift` for the columns.
    source : str
        ``"airwave"`` or ``"patrols"`` (or what the caller named it).
    baseline, trial : tuple of date
        The windows (inclusive).
    """

    table: pd.DataFrame
    source: str
    baseline: tuple[dt.date, dt.date]
    trial: tuple[dt.date, dt.date]
    notes: tuple[str, ...] = ()

    def tidy(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "baseline": [d.isoformat() for d in self.baseline],
            "trial": [d.isoformat() for d in self.trial],
            "measures": _records(self.table),
            "notes": list(self.notes),
        }


def baseline_uplift(
    table: pd.DataFrame,
    allocation: pd.DataFrame,
    *,
    baseline: Window,
    trial: Window,
    measures: Sequence[str] | None = None,
    treatment: str = "treatment",
    control: str = "control",
    source: str = "airwave",
) -> Uplift:
    """Activity per hot-spot-day before and during the trial, by arm.

    Parameters
    ----------
    table
        Per-hot-spot-day activity (Airwave presence or patrol dosage).
    allocation
        Parallel or crossover allocation (see :func:`hotspot_day_arms`).
    baseline, trial
        Inclusive day windows.
    measures
        Columns to compare (default: those of :data:`AIRWAVE_MEASURES` /
        :data:`PATROL_MEASURES` present in ``table``).
    treatment, control
        Arm labels.

    Returns
    -------
    Uplift
        ``table`` columns: ``measure``; ``baseline_treatment``,
        ``baseline_control`` (:math:`B_t, B_c`), ``trial_treatment``,
        ``trial_control`` (:math:`T_t, T_c`): means per hot-spot-day;
        ``n_baseline_days``, ``n_treatment`` and ``n_control`` (trial
        hot-spot-days); ``difference`` :math:`T_t - T_c`; ``ratio``
        :math:`T_t/T_c - 1` (the uplift in treatment relative to control);
        ``change_treatment`` :math:`T_t - B_t`; ``change_control``;
        ``did`` :math:`(T_t - B_t) - (T_c - B_c)`; ``did_ratio``
        :math:`(T_t/B_t)/(T_c/B_c) - 1`; ``additional`` :math:`n_t (T_t -
        B_t)` (total over tasked hot-spot-days, over their own baseline);
        ``additional_did`` :math:`n_t \\cdot did` (net also of the change in
        control, e.g. seasonal).

    Notes
    -----
    Absent hot-spot-days count as zero.  The baseline of hot spot
    :math:`h` is :math:`b_h`, its mean per baseline day.  Each arm's
    baseline weights the hot spots by their trial days in that arm,
    :math:`B_a = \\sum_h w_{ha} b_h / \\sum_h w_{ha}`, so in a crossover
    (where every hot spot is in both arms) the two baselines are comparable
    with the trial means, and in a parallel design :math:`B_a` is the mean
    baseline of the arm's hot spots.  Ratios are NaN when their denominator
    is 0.  The difference-in-differences follows Angrist & Pischke (2009),
    *Mostly Harmless Econometrics*, ch. 5; the Thames Valley trial's
    lesson that "the baseline of police activity ... needs to be measured
    alongside" the tasked patrols is the motivation.
    """
    b0, b1 = _window(baseline, "baseline")
    t0, t1 = _window(trial, "trial")
    if b1 >= t0:
        raise DataError(f"baseline ends {b1.date()}, not before the trial starts {t0.date()}")
    if measures is None:
        candidates = AIRWAVE_MEASURES if source == "airwave" else PATROL_MEASURES
        measures = [m for m in candidates if m in table.columns]
        if not measures:
            raise DataError(f"{source} table has none of the columns {', '.join(candidates)}")
    measures = list(measures)
    trial_grid = hotspot_day_arms(allocation, window=(t0, t1), arms=[treatment, control])
    tg = _on_grid(trial_grid, table, measures)
    hot = trial_grid["hotspot_id"].drop_duplicates()
    base_days = pd.date_range(b0, b1, freq="D").astype("datetime64[ns]")
    base_grid = pd.DataFrame(
        {
            "hotspot_id": np.repeat(hot.to_numpy(), len(base_days)),
            "trial_date": np.tile(base_days.to_numpy(), len(hot)),
        }
    )
    bg = _on_grid(base_grid, table, measures)
    b_h = bg.groupby("hotspot_id")[measures].mean()  # per baseline day
    # weights: trial days of each hot spot in each arm
    w = trial_grid.groupby(["hotspot_id", "arm"]).size().unstack("arm", fill_value=0)
    w = w.reindex(columns=[treatment, control], fill_value=0).reindex(b_h.index, fill_value=0)

    rows = []
    n_t = int((trial_grid["arm"] == treatment).sum())
    n_c = int((trial_grid["arm"] == control).sum())
    for m in measures:  # a handful of columns, not rows
        base_t = _weighted(b_h[m], w[treatment])
        base_c = _weighted(b_h[m], w[control])
        tr_t = tg.loc[tg["arm"] == treatment, m].mean() if n_t else np.nan
        tr_c = tg.loc[tg["arm"] == control, m].mean() if n_c else np.nan
        did = (tr_t - base_t) - (tr_c - base_c)
        rows.append(
            {
                "source": source,
                "measure": m,
                "baseline_treatment": base_t,
                "baseline_control": base_c,
                "trial_treatment": tr_t,
                "trial_control": tr_c,
                "n_baseline_days": len(base_days),
                "n_treatment": n_t,
                "n_control": n_c,
                "difference": tr_t - tr_c,
                "ratio": _ratio(tr_t, tr_c) - 1.0,
                "change_treatment": tr_t - base_t,
                "change_control": tr_c - base_c,
                "did": did,
                "did_ratio": _ratio(_ratio(tr_t, base_t), _ratio(tr_c, base_c)) - 1.0,
                "additional": n_t * (tr_t - base_t),
                "additional_did": n_t * did,
            }
        )
    notes = []
    observed = _dates64(table["trial_date"]) if len(table) else pd.Series(dtype="datetime64[ns]")
    if not ((observed >= b0) & (observed <= b1)).any():
        notes.append(
            f"the {source} table has no rows in the baseline window "
            f"{b0.date()} to {b1.date()}: baseline activity counted as zero"
        )
    return Uplift(
        table=pd.DataFrame(rows),
        source=source,
        baseline=(b0.date(), b1.date()),
        trial=(t0.date(), t1.date()),
        notes=tuple(notes),
    )


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total else float("nan")


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b and np.isfinite(b) else float("nan")


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.date().isoformat()
            elif isinstance(v, dt.date):
                v = v.isoformat()
            elif isinstance(v, np.integer | np.bool_):
                v = v.item()
            elif isinstance(v, float | np.floating):
                v = None if not np.isfinite(v) else float(v)
            clean[str(k)] = v
        out.append(clean)
    return out
