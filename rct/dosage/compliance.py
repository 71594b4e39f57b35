"""Compliance with the tasking: dose received, contamination, cap, foot and Koper shares.

Computed from the patrol dosage table (:mod:`rct.dosage.patrols`) and the
allocation, over the trial window up to an ``as_of`` day, overall and per
trial week; hot spots falling behind are flagged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.baseline import Window, _dates64, _on_grid, _records, _window, hotspot_day_arms
from rct.errors import DataError

__all__ = ["Compliance", "compliance", "COMPLIANCE_METRICS"]

_NEEDED = (
    "visits",
    "presence_minutes",
    "officer_minutes",
    "foot_minutes",
    "vehicle_minutes",
    "visits_lt5",
    "visits_10_15",
)

# metric -> (numerator column, denominator column, description)
COMPLIANCE_METRICS: dict[str, tuple[str, str, str]] = {
    "dosed_share": (
        "dosed_days",
        "tasked_days",
        "tasked hot-spot-days that received the target dose",
    ),
    "contamination_share": (
        "contaminated_days",
        "control_days",
        "control hot-spot-days with at least one tasked patrol",
    ),
    "visits_per_tasked_day": ("tasked_visits", "tasked_days", "visits per tasked hot-spot-day"),
    "over_cap_share": (
        "over_cap_days",
        "tasked_days",
        "tasked hot-spot-days with more visits than the app's cap",
    ),
    "mean_presence_tasked": (
        "tasked_presence",
        "tasked_days",
        "presence minutes per tasked hot-spot-day",
    ),
    "mean_presence_control": (
        "control_presence",
        "control_days",
        "presence minutes per control hot-spot-day",
    ),
    "foot_share": (
        "tasked_foot_minutes",
        "tasked_officer_minutes",
        "share of officer minutes on tasked days spent on foot",
    ),
    "koper_share": (
        "tasked_visits_10_15",
        "tasked_visits",
        "share of visits on tasked days lasting 10-15 minutes (Koper curve)",
    ),
    "short_share": (
        "tasked_visits_lt5",
        "tasked_visits",
        "share of visits on tasked days shorter than 5 minutes",
    ),
}


@dataclass(frozen=True)
class Compliance:
    """Compliance to date.

    Attributes
    ----------
    summary : DataFrame
        One row per metric: ``metric, value, numerator, denominator,
        description`` (:data:`COMPLIANCE_METRICS`).
    weekly : DataFrame
        One row per trial week: ``week, week_start, week_end``, the counts,
        every metric, ``hotspots_behind`` (the rule, at the week's end) and
        ``hotspots_short_week``.
    hotspots : DataFrame
        One row per hot spot and week: ``tasked_days, dosed_days,
        dosed_share, presence_minutes, visits, contaminated_days,
        cumulative_dosed_share, short_week`` and the columns of
        :func:`rct.dosage.monitor.flag_behind` (``cumulative_tasked_days,
        cumulative_dosed_days, reference_share, behind_p, behind``).
    behind : tuple of str
        Hot spots behind at the end of the latest week (see ``rule``).
    rule : str
        The flagging rule in words.
    parameters : dict
    """

    summary: pd.DataFrame
    weekly: pd.DataFrame
    hotspots: pd.DataFrame
    behind: tuple[str, ...]
    rule: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.summary.copy()

    def value(self, metric: str) -> float:
        """One metric's value, e.g. ``c.value("dosed_share")``."""
        row = self.summary.loc[self.summary["metric"] == metric, "value"]
        if row.empty:
            raise ValueError(
                f"metric must be one of {', '.join(COMPLIANCE_METRICS)}; got {metric!r}"
            )
        return float(row.iloc[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": _records(self.summary),
            "weekly": _records(self.weekly),
            "behind": list(self.behind),
            "rule": self.rule,
            "parameters": {
                k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in self.parameters.items()
            },
        }


def compliance(
    dosage: pd.DataFrame,
    allocation: pd.DataFrame,
    *,
    trial: Window,
    target_minutes: float = 15.0,
    dose_measure: str = "presence_minutes",
    cap_per_day: int | None = None,
    behind_share: float = 0.8,
    behind_fraction: float = 0.5,
    behind_min_days: int = 7,
    behind_alpha: float = 0.01,
    as_of: Any = None,
    treatment: str = "treatment",
    control: str = "control",
) -> Compliance:
    """Dose, contamination and patrol quality of the tasking, overall and weekly.

    Parameters
    ----------
    dosage
        Patrol dosage per hot-spot-day (:data:`rct.dosage.patrols.DOSAGE_COLUMNS`).
    allocation
        Parallel or crossover allocation; ``treatment`` = tasked.
    trial
        First and last trial day (inclusive).
    target_minutes
        The dose a tasked hot-spot-day should get.
    dose_measure
        ``"presence_minutes"`` (union: officers together count once) or
        ``"officer_minutes"``.
    cap_per_day
        The app's cap on visits per hot spot per day (``None``: not checked).
    behind_share
        A hot-spot-week is *short* (``short_week``) when fewer than this share
        of its tasked days that week got the target dose: a description of
        the week, not the alarm (in most trials most weeks are short).
    behind_fraction, behind_min_days, behind_alpha
        The rule for a hot spot *behind* (the alarm): see
        :func:`rct.dosage.monitor.flag_behind`.
    as_of
        Last day to include (default: the last day with any patrol in
        ``dosage``, within the trial; the whole trial if none).
    treatment, control
        Arm labels.

    Returns
    -------
    Compliance

    Notes
    -----
    A tasked hot-spot-day is *dosed* when ``dose_measure >= target_minutes``.
    A control hot-spot-day is *contaminated* when the app logged at least
    one visit there.  Trial week :math:`k` holds days
    :math:`7(k-1) .. 7k-1` after the first trial day.  Foot share is foot
    minutes over all officer minutes on tasked days (patrols of unknown mode
    count in the denominator); the Koper share is visits of 10-15 minutes
    over visits (Koper 1995, *Justice Quarterly* 12(4): 649-672).
    """
    measures = ("presence_minutes", "officer_minutes")
    if dose_measure not in measures:
        raise ValueError(f"dose_measure must be one of {', '.join(measures)}; got {dose_measure!r}")
    if not 0 < behind_share <= 1:
        raise ValueError("behind_share must be in (0, 1]")
    if not 0 < behind_fraction <= 1:
        raise ValueError(f"behind_fraction must be in (0, 1]; got {behind_fraction!r}")
    if not 0 < behind_alpha < 1:
        raise ValueError(f"behind_alpha must be between 0 and 1; got {behind_alpha!r}")
    if int(behind_min_days) < 1:
        raise ValueError(f"behind_min_days must be at least 1; got {behind_min_days!r}")
    if cap_per_day is not None and cap_per_day < 1:
        raise ValueError("cap_per_day must be at least 1")
    t0, t1 = _window(trial, "trial")
    end = _as_of(dosage, t0, t1, as_of)
    grid = hotspot_day_arms(allocation, window=(t0, end), arms=[treatment, control])
    if grid.empty:
        raise DataError(f"no {treatment} or {control} hot-spot-days in the trial window")
    g = _on_grid(grid, dosage, _NEEDED)
    tasked = (g["arm"] == treatment).to_numpy()
    ctrl = (g["arm"] == control).to_numpy()
    visits = g["visits"].to_numpy()
    f = pd.DataFrame(
        {
            "hotspot_id": g["hotspot_id"],
            "week": ((g["trial_date"] - t0).dt.days // 7 + 1).astype(np.int64),
            "tasked_days": tasked.astype(np.int64),
            "dosed_days": (tasked & (g[dose_measure].to_numpy() >= target_minutes)).astype(
                np.int64
            ),
            "control_days": ctrl.astype(np.int64),
            "contaminated_days": (ctrl & (visits > 0)).astype(np.int64),
            "contamination_visits": visits * ctrl,
            "tasked_visits": visits * tasked,
            "over_cap_days": (
                (tasked & (visits > cap_per_day)).astype(np.int64)
                if cap_per_day is not None
                else np.zeros(len(g), np.int64)
            ),
            "tasked_presence": g["presence_minutes"].to_numpy() * tasked,
            "control_presence": g["presence_minutes"].to_numpy() * ctrl,
            "tasked_officer_minutes": g["officer_minutes"].to_numpy() * tasked,
            "tasked_foot_minutes": g["foot_minutes"].to_numpy() * tasked,
            "tasked_vehicle_minutes": g["vehicle_minutes"].to_numpy() * tasked,
            "tasked_visits_10_15": g["visits_10_15"].to_numpy() * tasked,
            "tasked_visits_lt5": g["visits_lt5"].to_numpy() * tasked,
        }
    )
    counts = [c for c in f.columns if c not in ("hotspot_id", "week")]

    overall = f[counts].sum().to_frame().T
    overall = _add_metrics(overall, cap_per_day)
    summary = pd.DataFrame(
        {
            "metric": list(COMPLIANCE_METRICS),
            "value": [float(overall[m].iloc[0]) for m in COMPLIANCE_METRICS],
            "numerator": [float(overall[n].iloc[0]) for n, _, _ in COMPLIANCE_METRICS.values()],
            "denominator": [float(overall[d].iloc[0]) for _, d, _ in COMPLIANCE_METRICS.values()],
            "description": [d for _, _, d in COMPLIANCE_METRICS.values()],
        }
    )

    # per hot spot and week
    hs = f.groupby(["hotspot_id", "week"], as_index=False, sort=True)[
        ["tasked_days", "dosed_days", "tasked_presence", "tasked_visits", "contaminated_days"]
    ].sum()
    hs = hs.rename(columns={"tasked_presence": "presence_minutes", "tasked_visits": "visits"})
    hs.insert(4, "dosed_share", _div(hs["dosed_days"], hs["tasked_days"]))
    cum = hs.groupby("hotspot_id")[["dosed_days", "tasked_days"]].cumsum()
    hs["cumulative_dosed_share"] = _div(cum["dosed_days"], cum["tasked_days"])
    hs["short_week"] = (hs["tasked_days"] > 0) & (hs["dosed_share"] < behind_share)
    from rct.dosage.monitor import behind_rule_text, flag_behind

    flags = flag_behind(hs, fraction=behind_fraction, min_tasked_days=behind_min_days,
                        alpha=behind_alpha)
    hs = pd.concat([hs, flags], axis=1)
    latest = int(f["week"].max())
    behind = tuple(hs.loc[hs["behind"] & (hs["week"] == latest), "hotspot_id"].astype(str))

    weekly = f.groupby("week", as_index=False, sort=True)[counts].sum()
    weekly = _add_metrics(weekly, cap_per_day)
    for col, flag in (("hotspots_behind", "behind"), ("hotspots_short_week", "short_week")):
        weekly[col] = (
            hs.groupby("week")[flag].sum().reindex(weekly["week"]).fillna(0).astype(int).to_numpy()
        )
    week_start = t0 + pd.to_timedelta((weekly["week"] - 1) * 7, unit="D")
    weekly.insert(1, "week_start", week_start.dt.date)
    weekly.insert(2, "week_end", (week_start + pd.Timedelta(days=6)).clip(upper=end).dt.date)

    rule = behind_rule_text(fraction=behind_fraction, min_tasked_days=behind_min_days,
                            alpha=behind_alpha, target_minutes=target_minutes,
                            dose_measure=dose_measure) + (
        f"; flagged: hot spots behind at the end of the latest week (week {latest}, to "
        f"{end.date()})")
    params = {
        "trial": [t0.date().isoformat(), t1.date().isoformat()],
        "as_of": end.date(),
        "target_minutes": target_minutes,
        "dose_measure": dose_measure,
        "cap_per_day": cap_per_day,
        "behind_share": behind_share,
        "behind_fraction": behind_fraction,
        "behind_min_days": behind_min_days,
        "behind_alpha": behind_alpha,
        "treatment": treatment,
        "control": control,
    }
    return Compliance(
        summary=summary,
        weekly=weekly,
        hotspots=hs,
        behind=behind,
        rule=rule,
        parameters=params,
    )


def _as_of(dosage: pd.DataFrame, t0: pd.Timestamp, t1: pd.Timestamp, as_of: Any) -> pd.Timestamp:
    if as_of is not None:
        end = pd.Timestamp(as_of).normalize()
        if end < t0:
            raise DataError(f"as_of {end.date()} is before the trial starts {t0.date()}")
        return min(end, t1)
    if "trial_date" not in dosage.columns or dosage.empty:
        return t1
    active = dosage["visits"].to_numpy() > 0 if "visits" in dosage.columns else True
    if "presence_minutes" in dosage.columns:
        active = active | (dosage["presence_minutes"].to_numpy() > 0)
    days = _dates64(dosage["trial_date"])[np.asarray(active, dtype=bool)]
    days = days[(days >= t0) & (days <= t1)]
    return t1 if days.empty else days.max()


def _div(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    return (num / den.where(den != 0)).astype(np.float64)


def _add_metrics(df: pd.DataFrame, cap: int | None) -> pd.DataFrame:
    df = df.copy()
    for metric, (num, den, _) in COMPLIANCE_METRICS.items():
        df[metric] = _div(df[num], df[den])
    if cap is None:
        df["over_cap_share"] = np.nan
    return df
