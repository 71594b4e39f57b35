"""Read and validate patrol logs from the tasking app (quarantine bad rows).

See :mod:`rct.dosage.patrols` for the dosage table built from them.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rct.dosage.pseudonym import Pseudonymiser
from rct.errors import DataError
from rct.io.quarantine import Quarantiner, ReadResult
from rct.io.times import parse_day_start, parse_times

__all__ = ["REQUIRED", "OPTIONAL", "hotspot_ids", "read_patrol_logs"]

REQUIRED = ("patrol_id", "officer_id", "hotspot_id", "arrived_at", "left_at")
OPTIONAL = ("mode", "stopped", "notes")

_ALIASES = {
    "patrol": "patrol_id",
    "patrolid": "patrol_id",
    "officer": "officer_id",
    "officerid": "officer_id",
    "hotspot": "hotspot_id",
    "hot_spot_id": "hotspot_id",
    "hotspotid": "hotspot_id",
    "arrived": "arrived_at",
    "arrival": "arrived_at",
    "arrival_time": "arrived_at",
    "start_time": "arrived_at",
    "left": "left_at",
    "departed": "left_at",
    "departed_at": "left_at",
    "departure": "left_at",
    "departure_time": "left_at",
    "end_time": "left_at",
    "patrol_mode": "mode",
    "stop": "stopped",
    "stops": "stopped",
    "note": "notes",
    "comments": "notes",
}
_FOOT = {"foot", "on foot", "walk", "walking", "f"}
_VEHICLE = {"vehicle", "car", "van", "mobile", "driving", "drive", "v", "motor"}
_TRUE = {"true", "yes", "y", "t"}
_FALSE = {"false", "no", "n", "f", ""}

DateLike = str | dt.date | None


# ---------------------------------------------------------------------------
# reading


def read_patrol_logs(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pd.DataFrame,
    *,
    pseudonymiser: Pseudonymiser,
    hotspots: Any = None,
    day_starts: str = "06:00",
    trial_start: DateLike = None,
    trial_end: DateLike = None,
    max_visit_hours: float = 4.0,
    include_notes: bool = False,
    ambiguous: str = "earliest",
    nonexistent: str = "shift_forward",
) -> ReadResult:
    """Read and validate patrol logs; bad rows go to quarantine with a reason.

    Parameters
    ----------
    paths
        One or more CSV / Parquet files, or a DataFrame.
    pseudonymiser
        Turns ``officer_id`` into the ``officer`` pseudonym; the raw ID is
        dropped from both the accepted and the quarantined rows.
    hotspots
        Hot-spot file, frame or ids (see :func:`hotspot_ids`); patrols at a
        hot spot not among them are quarantined.  ``None``: no check.
    day_starts
        Trial-day boundary, local time (``"06:00"``).
    trial_start, trial_end
        First and last trial day (inclusive).  Patrols wholly outside are
        quarantined; patrols partly inside are kept (their minutes outside
        are dropped by :func:`patrol_dosage`).
    max_visit_hours
        Patrols longer than this are quarantined.
    include_notes
        Keep the free-text ``notes`` column (off by default: notes can hold
        personal data).
    ambiguous, nonexistent
        Handling of naive local times in the clock-change hours; see
        :func:`rct.io.times.parse_times`.

    Returns
    -------
    ReadResult
        ``.data``: ``patrol_id, officer, hotspot_id, arrived_at, left_at``
        (UTC), ``minutes, mode`` (``foot`` / ``vehicle`` / other text /
        missing), ``stops``, ``source_file, source_row`` [``, notes``].
        ``.quarantine``: the rejected rows (pseudonymised, notes dropped
        unless asked) with ``reason``.  Reasons: ``missing <column>``,
        ``<column>: unparseable timestamp``, ``left before arrived``,
        ``visit longer than <h> h``, ``unknown hot spot``,
        ``unparseable stopped``, ``exact duplicate``,
        ``conflicting duplicate patrol_id``, ``outside the trial window``.
    """
    if max_visit_hours <= 0:
        raise ValueError("max_visit_hours must be positive")
    offset = parse_day_start(day_starts)
    start_day, end_day = _as_date(trial_start), _as_date(trial_end)
    raw, source = _read_raw(paths)
    n_read = len(raw)

    # exact duplicates are judged on the raw values (notes included)
    content = [c for c in raw.columns if c not in ("source_file", "source_row")]
    exact_dup = raw.duplicated(subset=content, keep="first")

    frame = raw.copy()
    frame.insert(
        frame.columns.get_loc("officer_id"), "officer", pseudonymiser.apply(raw["officer_id"])
    )
    frame = frame.drop(columns=["officer_id"])
    if not include_notes and "notes" in frame.columns:
        frame = frame.drop(columns=["notes"])
    q = Quarantiner(frame, source=source)

    for col in ("patrol_id", "officer_id", "hotspot_id"):
        q.flag(_blank(raw[col]), f"missing {col}")
    arrived, why_a = parse_times(raw["arrived_at"], ambiguous=ambiguous, nonexistent=nonexistent)
    left, why_l = parse_times(raw["left_at"], ambiguous=ambiguous, nonexistent=nonexistent)
    for col, why in (("arrived_at", why_a), ("left_at", why_l)):
        for reason in why.dropna().unique():
            q.flag(why == reason, f"{col}: {reason}")
    minutes = (left - arrived).dt.total_seconds() / 60.0
    q.flag(left < arrived, "left before arrived")
    q.flag(minutes > max_visit_hours * 60.0, f"visit longer than {max_visit_hours:g} h")
    hid = raw["hotspot_id"].astype("string").str.strip()
    known = hotspot_ids(hotspots)
    if known is not None:
        q.flag(~hid.isin(known) & ~_blank(raw["hotspot_id"]), "unknown hot spot")
    stops, bad_stops = _parse_stops(raw["stopped"]) if "stopped" in raw else (None, None)
    if bad_stops is not None:
        q.flag(bad_stops, "unparseable stopped")
    q.flag(exact_dup, "exact duplicate")
    pid = raw["patrol_id"].astype("string").str.strip()
    candidates = q.good
    conflict = candidates & pid[candidates].duplicated(keep=False).reindex(
        raw.index, fill_value=False
    )
    q.flag(conflict, "conflicting duplicate patrol_id")
    if start_day is not None or end_day is not None:
        first_day = _trial_day64(arrived, offset)
        last = left.where(left <= arrived, left - pd.Timedelta(1, "ns"))
        last_day = _trial_day64(last, offset)
        outside = pd.Series(False, index=raw.index)
        if start_day is not None:
            outside |= last_day < np.datetime64(start_day, "ns")
        if end_day is not None:
            outside |= first_day > np.datetime64(end_day, "ns")
        q.flag(outside & arrived.notna() & left.notna(), "outside the trial window")

    good = q.good
    data = pd.DataFrame(
        {
            "patrol_id": pid[good].astype(object),
            "officer": frame.loc[good, "officer"],
            "hotspot_id": hid[good].astype(object),
            "arrived_at": arrived[good],
            "left_at": left[good],
            "minutes": minutes[good],
            "mode": _normalise_mode(raw["mode"][good]) if "mode" in raw else pd.NA,
            "stops": stops[good] if stops is not None else 0,
            "source_file": raw.loc[good, "source_file"],
            "source_row": raw.loc[good, "source_row"],
        }
    )
    if include_notes and "notes" in raw.columns:
        data["notes"] = raw.loc[good, "notes"]
    data = data.reset_index(drop=True)
    return q.result(data, n_read=n_read)


def _read_raw(paths: Any) -> tuple[pd.DataFrame, str]:
    """Concatenate the input files as text columns, with source_file / source_row."""
    if isinstance(paths, pd.DataFrame):
        frames = [(_canonical(paths.copy(), "<frame>"), "<frame>")]
    else:
        items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        if not items:
            raise DataError("no patrol log files given")
        frames = []
        for item in items:
            p = Path(item)
            if not p.exists():
                raise DataError("patrol log file not found", file=p)
            suffix = p.suffix.lower()
            if suffix in (".parquet", ".pq"):
                df = pd.read_parquet(p)
            elif suffix in (".csv", ".txt") or p.name.lower().endswith(".csv.gz"):
                df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
            else:
                raise DataError(
                    f"unknown patrol log format {suffix!r}; use .csv or .parquet", file=p
                )
            frames.append((_canonical(df, str(p)), str(p)))
    parts = []
    for df, name in frames:
        df = df.reset_index(drop=True)
        df["source_file"] = name
        df["source_row"] = np.arange(1, len(df) + 1)
        parts.append(df)
    raw = pd.concat(parts, ignore_index=True, sort=False)
    for col in REQUIRED:
        if pd.api.types.is_string_dtype(raw[col]) or raw[col].dtype == object:
            raw[col] = raw[col].astype(object)
    source = frames[0][1] if len(frames) == 1 else f"{len(frames)} patrol log files"
    return raw, source


def _canonical(df: pd.DataFrame, name: str) -> pd.DataFrame:
    rename = {}
    for col in df.columns:
        key = str(col).strip().lower().replace(" ", "_").replace("-", "_")
        rename[col] = _ALIASES.get(key, key)
    df = df.rename(columns=rename)
    dup = df.columns[df.columns.duplicated()].tolist()
    if dup:
        raise DataError(
            f"more than one column means {', '.join(map(str, dup))} (after mapping aliases)",
            file=name,
        )
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(
            f"missing required column(s) {', '.join(missing)}; patrol logs need "
            f"{', '.join(REQUIRED)} (optional {', '.join(OPTIONAL)})",
            file=name,
        )
    for col in ("patrol_id", "officer_id", "hotspot_id"):
        if not pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].astype("string")
    return df


def _blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip() == "").fillna(True)


def _normalise_mode(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip().str.lower()
    out = text.where(~text.isin(_FOOT), "foot")
    out = out.where(~text.isin(_VEHICLE), "vehicle")
    out = out.where(~(text == ""), pd.NA)
    return out.astype(object)


def _parse_stops(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``stopped``: yes/no (1/0) or a whole count; returns (stops, unparseable mask)."""
    if pd.api.types.is_bool_dtype(s):
        return s.fillna(False).astype(np.int64), pd.Series(False, index=s.index)
    text = s.astype("string").str.strip().str.lower().fillna("")
    num = pd.to_numeric(text.where(~text.isin(_TRUE | _FALSE)), errors="coerce")
    whole = num.notna() & (num >= 0) & (num == np.floor(num.fillna(0)))
    stops = pd.Series(0, index=s.index, dtype=np.int64)
    stops[text.isin(_TRUE)] = 1
    stops[whole] = num[whole].astype(np.int64)
    bad = ~text.isin(_TRUE | _FALSE) & ~whole
    return stops, bad


# ---------------------------------------------------------------------------
# hot spots


def hotspot_ids(hotspots: Any) -> list[str] | None:
    """The hot-spot ids of a file, a (Geo)DataFrame or an iterable of ids.

    Files are read with :func:`rct.io.hotspots.read_hotspots`; a CSV with
    only a ``hotspot_id`` column (no geometry) is accepted too, since the
    dosage needs only the ids.  ``None`` gives ``None`` (no check).
    """
    if hotspots is None:
        return None
    if isinstance(hotspots, str | os.PathLike):
        p = Path(hotspots)
        if not p.exists():
            raise DataError("hot-spots file not found", file=p)
        from rct.io.hotspots import read_hotspots

        try:
            hotspots = read_hotspots(p)
        except DataError:
            # a plain list of ids (CSV without geometry) is enough for dosage
            if p.suffix.lower() not in (".csv", ".txt"):
                raise
            hotspots = pd.read_csv(p, dtype=str)
            if "hotspot_id" not in hotspots.columns:
                raise
            if hotspots["hotspot_id"].isna().any() or hotspots["hotspot_id"].duplicated().any():
                raise DataError("hot-spot ids must be present and unique", file=p) from None
        if "hotspot_id" not in hotspots.columns:
            raise DataError("no hotspot_id column", file=p)
    if isinstance(hotspots, pd.DataFrame):
        if "hotspot_id" not in hotspots.columns:
            raise DataError("hot-spot table has no hotspot_id column")
        values: Iterable[Any] = hotspots["hotspot_id"]
    elif isinstance(hotspots, pd.Series | pd.Index | np.ndarray | list | tuple | set | frozenset):
        values = hotspots
    else:
        raise TypeError(
            f"hotspots must be a path, a DataFrame or ids, not {type(hotspots).__name__}"
        )
    ids = pd.Series(list(values), dtype="string").str.strip().dropna()
    return sorted(set(ids.tolist()))


def _trial_day64(times_utc: pd.Series, offset: dt.timedelta) -> pd.Series:
    """:func:`rct.io.times.trial_date` as ``datetime64[ns]`` midnights (no Python dates)."""
    wall = times_utc.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return (wall - pd.Timedelta(offset)).dt.normalize().astype("datetime64[ns]")


def _dates64(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(pd.Series(dates)).astype("datetime64[ns]")


def _as_date(value: DateLike) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataError(f"not a date (YYYY-MM-DD): {value!r}") from None
