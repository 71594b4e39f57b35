"""Patrol logs from the tasking app -> dosage per hot spot and trial day.

Input, one row per patrol (one officer's visit to one hot spot):
``patrol_id, officer_id, hotspot_id, arrived_at, left_at`` and optionally
``mode`` (foot / vehicle), ``stopped`` (yes/no or a count of stops) and
``notes``.  Output, one row per ``hotspot_id, trial_date``:

=================  ==========================================================
visits             patrols that began on this trial day (a patrol crossing
                   the day boundary is counted once, on the day it began)
presence_minutes   length of the union of the patrols' intervals on this day
                   (two officers there together count once)
officer_minutes    sum of the patrols' minutes on this day (with overlaps)
foot_minutes       officer minutes of foot patrols
vehicle_minutes    officer minutes of vehicle patrols
stops              stops recorded by the patrols that began this day
officers           distinct officers (pseudonyms) present this day
visits_lt5         visits (that began this day) shorter than 5 minutes
visits_10_15       visits lasting 10 to 15 minutes inclusive (Koper curve)
presence_periods   separate periods of presence (merged overlapping patrols)
=================  ==========================================================

Minutes are split at the trial-day boundary (e.g. 06:00 local time), so a
patrol from 05:30 to 06:30 gives 30 minutes to each day.  Visit length for
the Koper classes is the whole patrol's length.  Trial days containing a
clock change last 23 or 25 hours; all arithmetic is on UTC instants.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.intervals import interval_union
from rct.dosage.patrol_logs import (
    DateLike,
    _as_date,
    _dates64,
    _trial_day64,
    hotspot_ids,
    read_patrol_logs,
)
from rct.dosage.pseudonym import KeySource, Pseudonymiser, load_or_create_key
from rct.io.atomic import write_table
from rct.io.quarantine import ReadResult, quarantine_path
from rct.io.times import parse_day_start, split_by_trial_day

__all__ = [
    "DOSAGE_COLUMNS",
    "PatrolIngest",
    "hotspot_ids",
    "ingest_patrols",
    "patrol_dosage",
    "read_patrol_logs",
]

DOSAGE_COLUMNS = (
    "hotspot_id",
    "trial_date",
    "visits",
    "presence_minutes",
    "officer_minutes",
    "foot_minutes",
    "vehicle_minutes",
    "stops",
    "officers",
    "visits_lt5",
    "visits_10_15",
    "presence_periods",
)
KOPER_SHORT = 5.0  # minutes: visits shorter than this are "drive-bys"
KOPER_BAND = (10.0, 15.0)  # minutes, inclusive: Koper (1995) optimal dwell


# ---------------------------------------------------------------------------
# dosage


def patrol_dosage(
    patrols: pd.DataFrame,
    *,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    hotspots: Any = None,
) -> pd.DataFrame:
    """Aggregate accepted patrols to one row per ``hotspot_id, trial_date``.

    Parameters
    ----------
    patrols
        ``ReadResult.data`` of :func:`read_patrol_logs` (``hotspot_id,
        officer, arrived_at, left_at, minutes, mode, stops``).
    day_starts
        Trial-day boundary, local time.
    trial_start, trial_end
        Keep trial days in this inclusive range.  When both are given with
        ``hotspots``, every hot spot gets a row for every trial day (zeros
        where nobody patrolled).
    hotspots
        Hot spots for the complete grid (see :func:`hotspot_ids`).

    Returns
    -------
    DataFrame
        Columns :data:`DOSAGE_COLUMNS`, sorted by ``hotspot_id, trial_date``
        (``trial_date`` holds :class:`datetime.date` values).

    Notes
    -----
    Presence minutes are the length of the union of the patrol pieces of a
    hot-spot-day (see :func:`rct.dosage.intervals.interval_union`); officer
    minutes are their sum, so ``presence <= officer minutes`` with equality
    when no two patrols overlap.  Visit length classes follow Koper (1995),
    *Justice Quarterly* 12(4): 649-672 (10-15 minutes optimal).
    """
    offset = parse_day_start(day_starts)
    start_day, end_day = _as_date(trial_start), _as_date(trial_end)
    p = patrols.reset_index(drop=True)
    pieces = split_by_trial_day(p["arrived_at"], p["left_at"], offset)
    rows = pieces["row"].to_numpy()
    pieces["hotspot_id"] = p["hotspot_id"].to_numpy()[rows]
    pieces["officer"] = p["officer"].to_numpy()[rows]
    mode = pd.Series(p["mode"], dtype=object).to_numpy()[rows]
    pieces["date64"] = _dates64(pieces["trial_date"])
    pieces = pieces[_in_window(pieces["date64"], start_day, end_day)]

    # per-piece minutes and the union per hot-spot-day
    key = ["hotspot_id", "date64"]
    codes, uniq = _group_codes(pieces, key)
    mode = pd.Series(mode[pieces.index.to_numpy()], dtype=object)
    is_foot = mode.eq("foot").fillna(False).to_numpy(dtype=bool)
    is_vehicle = mode.eq("vehicle").fillna(False).to_numpy(dtype=bool)
    s_ns = _ns(pieces["start"])
    e_ns = _ns(pieces["end"])
    u = interval_union(codes, s_ns, e_ns, n_groups=len(uniq))
    minutes = pieces["minutes"].to_numpy()
    ng = len(uniq)
    by_piece = uniq.copy()
    by_piece["presence_minutes"] = u.length / 60e9
    by_piece["officer_minutes"] = u.total / 60e9
    by_piece["presence_periods"] = u.blocks
    by_piece["foot_minutes"] = np.bincount(codes, weights=minutes * is_foot, minlength=ng)
    by_piece["vehicle_minutes"] = np.bincount(codes, weights=minutes * is_vehicle, minlength=ng)
    officers = (
        pd.DataFrame({"g": codes, "o": pieces["officer"].to_numpy()}).groupby("g")["o"].nunique()
    )
    by_piece["officers"] = officers.reindex(np.arange(ng), fill_value=0).to_numpy()

    # per-patrol counts on the day each patrol began
    starts = pd.DataFrame(
        {
            "hotspot_id": p["hotspot_id"].to_numpy(),
            "date64": _trial_day64(p["arrived_at"], offset).to_numpy(),
            "visits": 1,
            "stops": np.asarray(p["stops"], dtype=np.int64) if len(p) else np.zeros(0, np.int64),
            "visits_lt5": (p["minutes"] < KOPER_SHORT).astype(np.int64).to_numpy(),
            "visits_10_15": p["minutes"]
            .between(*KOPER_BAND, inclusive="both")
            .astype(np.int64)
            .to_numpy(),
        }
    )
    starts = starts[_in_window(starts["date64"], start_day, end_day)]
    by_start = starts.groupby(key, sort=False).sum().reset_index()

    table = by_piece.merge(by_start, on=key, how="outer")
    ids = hotspot_ids(hotspots)
    if ids is not None and start_day is not None and end_day is not None:
        days = pd.date_range(start_day, end_day, freq="D").astype("datetime64[ns]")
        grid = pd.MultiIndex.from_product([ids, days], names=key).to_frame(index=False)
        extra = table[~table["hotspot_id"].isin(ids)]
        table = pd.concat([grid.merge(table, on=key, how="left"), extra], ignore_index=True)
    counts = ["visits", "stops", "officers", "visits_lt5", "visits_10_15", "presence_periods"]
    mins = ["presence_minutes", "officer_minutes", "foot_minutes", "vehicle_minutes"]
    for c in counts:
        table[c] = table[c].fillna(0).astype(np.int64)
    for c in mins:
        table[c] = table[c].fillna(0.0).astype(np.float64)
    table = table.sort_values(key, kind="stable").reset_index(drop=True)
    table.insert(1, "trial_date", table.pop("date64").dt.date)
    table["hotspot_id"] = table["hotspot_id"].astype(object)
    return table[list(DOSAGE_COLUMNS)]


def _ns(x: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of a tz-aware UTC Series."""
    return (
        x.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
        .to_numpy()
        .view(np.int64)
    )


def _group_codes(df: pd.DataFrame, key: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    if len(df) == 0:
        return np.zeros(0, np.int64), pd.DataFrame({k: df[k].iloc[:0] for k in key})
    grouped = df.groupby(key, sort=True)
    codes = grouped.ngroup().to_numpy().astype(np.int64)
    uniq = grouped.size().reset_index()[key]
    return codes, uniq


def _in_window(d64: pd.Series, start: dt.date | None, end: dt.date | None) -> pd.Series:
    keep = pd.Series(True, index=d64.index)
    if start is not None:
        keep &= d64 >= np.datetime64(start, "ns")
    if end is not None:
        keep &= d64 <= np.datetime64(end, "ns")
    return keep


# ---------------------------------------------------------------------------
# one call: read, aggregate, write


@dataclass(frozen=True)
class PatrolIngest:
    """What :func:`ingest_patrols` did.

    Attributes
    ----------
    dosage : DataFrame
        One row per hot-spot-day (:data:`DOSAGE_COLUMNS`).
    read : ReadResult
        Accepted patrols (pseudonymised) and quarantined rows with reasons.
    output, quarantine_file : Path or None
        Files written.
    key_source : KeySource
        Where the pseudonym key came from (tell the user).
    parameters : dict
        Day boundary, window, maximum visit length.
    """

    dosage: pd.DataFrame
    read: ReadResult
    output: Path | None = None
    quarantine_file: Path | None = None
    key_source: KeySource | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """The dosage table."""
        return self.dosage

    def summary(self) -> str:
        lines = [self.read.summary()]
        d = self.dosage
        lines.append(
            f"{len(d):,} hot-spot-days: {int(d['visits'].sum()):,} visits, "
            f"{d['presence_minutes'].sum():,.1f} presence minutes, "
            f"{d['officer_minutes'].sum():,.1f} officer minutes"
        )
        if self.output is not None:
            lines.append(f"wrote {self.output}")
        if self.quarantine_file is not None and self.read.n_quarantined:
            lines.append(f"quarantined rows in {self.quarantine_file}")
        if self.key_source is not None:
            lines.append(self.key_source.describe())
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        d = self.dosage
        return {
            "n_read": self.read.n_read,
            "n_accepted": self.read.n_accepted,
            "n_quarantined": self.read.n_quarantined,
            "quarantine_reasons": {str(k): int(v) for k, v in self.read.reasons().items()}
            if self.read.n_quarantined
            else {},
            "hotspot_days": len(d),
            "visits": int(d["visits"].sum()),
            "presence_minutes": float(d["presence_minutes"].sum()),
            "officer_minutes": float(d["officer_minutes"].sum()),
            "output": None if self.output is None else str(self.output),
            "quarantine_file": None if self.quarantine_file is None else str(self.quarantine_file),
            "key": None if self.key_source is None else self.key_source.kind,
            "parameters": dict(self.parameters),
        }


def ingest_patrols(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pd.DataFrame,
    *,
    hotspots: Any,
    out: str | os.PathLike[str] | None = None,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    max_visit_hours: float = 4.0,
    key: bytes | None = None,
    key_file: str | os.PathLike[str] | None = None,
    include_notes: bool = False,
    ambiguous: str = "earliest",
    nonexistent: str = "shift_forward",
) -> PatrolIngest:
    """Patrol logs -> per-hot-spot-day dosage (+ quarantine file), in one call.

    Parameters
    ----------
    paths
        Patrol log file(s) (CSV / Parquet) or a DataFrame.
    hotspots
        Hot-spot file or ids; patrols elsewhere are quarantined.
    out
        Output table (``.parquet`` or ``.csv``), written atomically; the
        quarantine goes beside it (``<stem>.quarantine.csv``).  ``None``:
        write nothing.
    key, key_file
        Pseudonym key bytes, or a key file (see
        :func:`rct.dosage.pseudonym.load_or_create_key`; default
        ``$RCT_PSEUDONYM_KEY`` or a key generated under
        ``~/.config/hotspot-rct/``).  The key file must be outside the
        output's directory.
    day_starts, trial_start, trial_end, max_visit_hours, include_notes, ambiguous, nonexistent
        See :func:`read_patrol_logs` and :func:`patrol_dosage`.

    Returns
    -------
    PatrolIngest
    """
    if key is not None:
        source = KeySource("argument")
    else:
        key, source = load_or_create_key(key_file, outputs=None if out is None else [out])
    pseudo = Pseudonymiser(key, prefix="officer-")
    ids = hotspot_ids(hotspots)
    read = read_patrol_logs(
        paths,
        pseudonymiser=pseudo,
        hotspots=ids,
        day_starts=day_starts,
        trial_start=trial_start,
        trial_end=trial_end,
        max_visit_hours=max_visit_hours,
        include_notes=include_notes,
        ambiguous=ambiguous,
        nonexistent=nonexistent,
    )
    dosage = patrol_dosage(
        read.data,
        day_starts=day_starts,
        trial_start=trial_start,
        trial_end=trial_end,
        hotspots=ids,
    )
    read.warn()  # QuarantineWarning naming the counts, if anything was quarantined
    qfile = None
    if out is not None:
        write_table(dosage, out)
        qfile = quarantine_path(out)
        write_table(read.quarantine, qfile)
    params = {
        "day_starts": day_starts,
        "trial_start": None if trial_start is None else str(_as_date(trial_start)),
        "trial_end": None if trial_end is None else str(_as_date(trial_end)),
        "max_visit_hours": max_visit_hours,
        "include_notes": include_notes,
    }
    return PatrolIngest(
        dosage=dosage,
        read=read,
        output=None if out is None else Path(out),
        quarantine_file=qfile,
        key_source=source,
        parameters=params,
    )
