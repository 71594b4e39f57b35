"""Outcomes: crimes per hot spot and trial day (or month), harm-weighted, with catchments.

:func:`build_outcomes` turns a crimes table (``rct.io.crimes.read_crimes``
contract) and hot spots into a complete panel — one row per hot spot and
trial day (or month) over the trial window, zeros included — with

``crimes``, ``harm``, ``harm_unknown``
    crimes inside the hot spot (polygon + ``buffer_m``), their summed harm
    weight, and how many of them had no harm weight (their harm is left out
    of ``harm`` and counted here, never silently weighted 0);
``crimes_<group>``, ``harm_<group>``
    the same per crime group (police.uk category slug by default);
``catchment_crimes``, ``catchment_harm``
    crimes in the displacement catchment: the ring from the hot spot's edge
    (+ buffer) out to ``catchment_m`` further, excluding every hot spot's own
    area.

:func:`ingest_crimes` is the file-to-file verb behind ``rct ingest crimes``.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rct.errors import DataError, RCTError, RCTWarning

__all__ = ["build_outcomes", "ingest_crimes", "locate_pairs", "OutcomeWarning", "group_slug"]

Period = Literal["day", "month"]
_PERIODS = ("day", "month")


class OutcomeWarning(RCTWarning):
    """Crimes left out of the outcome table (no usable time, outside the window)."""


def group_slug(values: Any) -> Any:
    """``"Violence and sexual offences"`` -> ``"violence_and_sexual_offences"``."""
    import pandas as pd

    v = pd.Series(values, dtype="object")
    idx, uniq = pd.factorize(v, use_na_sentinel=True)  # slugged once per distinct value
    s = pd.Series(uniq, dtype="object").astype(str).str.lower()
    s = s.str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
    slugs = np.append(s.where(s != "", "unknown").to_numpy(dtype=object), "unknown")
    return pd.Series(slugs[np.where(idx < 0, len(uniq), idx)], index=v.index, dtype="object")


def _slug_codes(values: Any) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(group_slug(values), sort=True)``, slugging and sorting the distinct
    values only (no Python string per crime)."""
    import pandas as pd

    idx, uniq = pd.factorize(pd.Series(values), use_na_sentinel=True)
    s = pd.Series(np.asarray(uniq, dtype=object), dtype="object").astype(str).str.lower()
    s = s.str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
    slugs = s.where(s != "", "unknown").to_numpy(dtype=object)
    missing = idx < 0
    if missing.any():  # a missing value's group is "unknown"
        slugs = np.append(slugs, "unknown")
        idx = np.where(missing, len(slugs) - 1, idx)
    scode, names = pd.factorize(pd.Series(slugs, dtype="object"), sort=True)
    return scode[idx].astype(np.int64), [str(n) for n in names]


def locate_pairs(x: np.ndarray, y: np.ndarray, polygons: Any, *, buffer_m: float = 0.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(point_idx, polygon_idx)`` for every point inside (or on the edge of) each polygon.

    Uses :func:`rct.pip.locate_all` when available, else a shapely STRtree
    ``intersects`` query (edges count as inside).
    """
    try:
        from rct.pip import locate_all  # type: ignore[import-not-found]
    except ImportError:
        locate_all = None
    if locate_all is not None:
        pi, gi = locate_all(x, y, polygons, buffer_m=buffer_m)
        return np.asarray(pi, dtype=np.int64), np.asarray(gi, dtype=np.int64)
    import shapely

    geoms = np.asarray(getattr(polygons, "geometry", polygons).values if hasattr(
        polygons, "geometry") else polygons)
    if buffer_m:
        geoms = shapely.buffer(geoms, float(buffer_m), quad_segs=16)
    tree = shapely.STRtree(geoms)
    pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    pi, gi = tree.query(pts, predicate="intersects")
    return pi.astype(np.int64), gi.astype(np.int64)


def _ring_pairs(x: np.ndarray, y: np.ndarray, geoms: np.ndarray, *, buffer_m: float,
                catchment_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point, hot spot) for points in a hot spot's catchment ring and in no hot spot."""
    import shapely

    inner = shapely.buffer(geoms, float(buffer_m), quad_segs=16) if buffer_m else geoms
    outer = shapely.buffer(geoms, float(buffer_m + catchment_m), quad_segs=16)
    ring = shapely.difference(outer, inner)
    pi, gi = locate_pairs(x, y, ring)
    in_any = np.zeros(len(x), dtype=bool)
    hp, _ = locate_pairs(x, y, inner)
    in_any[hp] = True
    keep = ~in_any[pi]
    return pi[keep], gi[keep]


def _periods(kind: Period, start: Any, end: Any) -> list:
    import pandas as pd

    if kind == "day":
        return list(pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D").date)
    return [str(p) for p in pd.period_range(pd.Period(str(start), "M"), pd.Period(str(end), "M"),
                                            freq="M")]


def build_outcomes(
    crimes: Any,
    hotspots: Any,
    *,
    harm: Any = "cchi",
    force: str = "Thames Valley",
    buffer_m: float = 0.0,
    catchment_m: float | None = None,
    day_starts: str = "06:00",
    period: Period = "day",
    start: Any = None,
    end: Any = None,
    group_column: str | None = "category",
    crime_types: Any = None,
) -> Any:
    """Per hot spot × trial day (or month): crimes, harm, per-group and catchment counts.

    Parameters
    ----------
    crimes
        DataFrame with ``x``, ``y`` (EPSG:27700), ``occurred_at`` (UTC; may be
        NaT for police.uk) and ``month`` ("YYYY-MM"), plus whatever the harm
        table keys on (``offence_code`` / ``category``).
    hotspots
        GeoDataFrame with ``hotspot_id`` and ``geometry`` in EPSG:27700.  A
        table built per time window (columns ``window``, ``window_start``,
        ``window_end``; see :mod:`rct.io.windows`) gives outcomes per window:
        each unit counts the crimes at its place whose local time falls in
        its window, on the trial day the window instance starts in (a night
        shift from Saturday 18:00 to Sunday 06:00 is Saturday's, 11 or 13
        hours long across a clock change).  Crimes between windows are counted
        in ``attrs["counts"]["outside_windows"]``.
    harm
        ``"cchi"``, ``"cchi-subgroup"``, ``"ons"``, a CSV path or a
        :class:`rct.harm.HarmTable`; ``None`` gives no harm columns.
    buffer_m
        Buffer added around each hot spot polygon.
    catchment_m
        Width of the displacement catchment ring beyond the (buffered) hot
        spot; ``None`` gives no catchment columns.
    day_starts
        Trial-day boundary (local time), the same as the dosage tables use.
    period
        ``"day"`` (trial days; needs ``occurred_at``) or ``"month"``.
    start, end
        Trial window, inclusive (dates for days, ``"YYYY-MM"`` for months);
        default: the range of the crimes.
    group_column
        Column defining crime groups (slugged); ``None`` for no group columns.
    crime_types
        Count only crimes of these types (``[analysis] crime_types``; matched
        by :func:`rct.harm.crime_type_mask` on category, subgroup, offence or
        code); ``None`` counts every crime.  Recorded, with the harm index and
        the other settings, in ``attrs["rct_outcomes"]`` (kept by Parquet), so
        ``rct evaluate`` can check the table was built as the plan says.

    Returns
    -------
    DataFrame
        ``hotspot_id``, ``trial_date`` (``datetime.date``) or ``period`` (str),
        ``crimes``, [``harm``, ``harm_unknown``], ``crimes_<g>`` [``harm_<g>``],
        [``catchment_crimes``, ``catchment_harm``]; sorted by hot spot then
        period; every hot spot × period present.  ``attrs["counts"]`` holds
        the reconciliation (crimes read, without a time, outside the window,
        in a hot spot, in a catchment).

    Notes
    -----
    A crime inside two overlapping (buffered) hot spots counts for each.
    Catchment crimes exclude crimes inside any hot spot (+buffer); a crime
    in two overlapping rings counts for each.  Harm: weights from
    ``rct.harm.harm_table(...).weigh``; unweighted crimes are counted in
    ``harm_unknown`` and left out of ``harm``.
    """
    import pandas as pd

    from rct.io.times import trial_date
    from rct.io.windows import assign_windows

    if period not in _PERIODS:
        raise ValueError(f"period must be one of {_PERIODS}, got {period!r}")
    for col in ("x", "y"):
        if col not in crimes.columns:
            raise DataError(f"crimes have no {col!r} column", column=col)
    if "hotspot_id" not in hotspots.columns:
        raise DataError("hot spots have no 'hotspot_id' column", column="hotspot_id")
    if buffer_m < 0 or (catchment_m is not None and catchment_m <= 0):
        raise ValueError("buffer_m must be >= 0 and catchment_m > 0")
    c = crimes.reset_index(drop=True)
    counts: dict[str, Any] = {"crimes_read": len(c)}
    types: list[str] | None = None
    if crime_types is not None and len([crime_types] if isinstance(crime_types, str)
                                       else list(crime_types)):
        from rct.harm import crime_type_mask

        types = [crime_types] if isinstance(crime_types, str) else [str(t) for t in crime_types]
        keep = crime_type_mask(c, types)
        counts["other_crime_types"] = int((~keep).sum())
        c = c.loc[keep].reset_index(drop=True)
    n_read = len(c)
    from rct.io.windows import hotspot_windows

    hw = hotspot_windows(hotspots)  # a per-window hot-spot table: count each unit's window only
    cwin = np.full(n_read, -1, dtype=np.int64)
    gap = np.zeros(n_read, dtype=bool)
    if hw is not None and ("occurred_at" not in c.columns or (
            c["occurred_at"].isna().all() and len(c))):
        raise DataError("outcomes per time window need crime times ('occurred_at'); these "
                        "crimes have months only (police.uk)", column="occurred_at")

    # --- period of each crime
    if hw is not None:
        t = pd.to_datetime(c["occurred_at"], utc=True)
        no_time = t.isna().to_numpy()
        aw = assign_windows(t, hw.windows, day_starts=day_starts)
        gap = ~no_time & aw["window"].isna().to_numpy()
        names = {n: i for i, n in enumerate(hw.windows.names)}
        cwin = aw["window"].map(names).fillna(-1).to_numpy(dtype=np.int64)
        key = pd.Series(aw["trial_date"].to_numpy(), index=c.index, dtype="object")
        if period == "month":
            key = key.map(lambda d: d.strftime("%Y-%m") if isinstance(d, dt.date) else None)
        counts["outside_windows"] = int(gap.sum())
    elif period == "day":
        if "occurred_at" not in c.columns or c["occurred_at"].isna().all() and len(c):
            raise DataError(
                "daily outcomes need crime times ('occurred_at'); these crimes have months only "
                "(police.uk) — use period='month'", column="occurred_at")
        t = pd.to_datetime(c["occurred_at"], utc=True)
        no_time = t.isna().to_numpy()
        # trial days as datetime64 (no date objects per crime); see _day_index
        day64 = np.full(n_read, np.datetime64("NaT"), dtype="datetime64[D]")
        if (~no_time).any():
            day64[~no_time] = trial_date(t[~no_time], day_starts, kind="datetime64").to_numpy()
        key = None
    else:
        if "month" in c.columns:
            key = c["month"].astype("string").str.slice(0, 7)  # text, not a str per crime
        else:
            t = pd.to_datetime(c["occurred_at"], utc=True)
            key = t.dt.tz_convert("Europe/London").dt.strftime("%Y-%m").astype("object")
        no_time = key.isna().to_numpy()
    no_time = no_time & ~gap  # a crime between windows has a time; it is in no window
    counts["no_time"] = int(no_time.sum())
    if no_time.any():
        warnings.warn(f"{int(no_time.sum()):,} crimes have no usable {'time' if period == 'day' else 'month'} "
                      "and are not counted", OutcomeWarning, stacklevel=2)
    if key is None:  # daily, from day64
        got = day64[~no_time & ~gap]
        valid = None
        if start is None:
            start = pd.Timestamp(got.min()).date() if len(got) else None
        if end is None:
            end = pd.Timestamp(got.max()).date() if len(got) else None
    else:
        valid = key[~no_time & ~gap]
        if start is None:
            start = valid.min() if len(valid) else None
        if end is None:
            end = valid.max() if len(valid) else None
    if start is None or end is None:
        raise DataError("no crimes with a time and no trial window given (start/end)")
    periods = _periods(period, start, end)
    if not periods:
        raise ValueError(f"empty trial window {start} .. {end}")
    if period == "month":
        # a month with no crime anywhere in the input is a gap in the data (police.uk
        # files not supplied), not a month of zero crime: leave it out, and say so
        present = {str(v) for v in pd.unique(valid)}  # distinct first
        gaps = [m for m in periods if m not in present]
        if gaps:
            warnings.warn(f"no crimes at all in the input for {', '.join(gaps)}: treated as "
                          "missing data and left out of the panel (not counted as zero)",
                          OutcomeWarning, stacklevel=2)
            periods = [m for m in periods if m in present]
        counts["missing_months"] = gaps
    pos = {p: i for i, p in enumerate(periods)}
    if key is None:  # consecutive trial days: the position is the day's distance from the first
        pidx = _day_index(day64, periods)
    elif period == "day":
        pidx = _by_distinct(key, lambda d: pos.get(d, -1) if isinstance(d, dt.date) else -1)
    else:
        pidx = _by_distinct(key, lambda m: pos.get(str(m), -1) if isinstance(m, str) else -1)
    pidx = np.asarray(pidx, dtype=np.int64)
    outside = (pidx < 0) & ~no_time & ~gap
    counts["outside_window"] = int(outside.sum())

    # --- harm weights
    if harm is not None:
        from rct.harm import harm_table

        try:
            table = harm if hasattr(harm, "weigh") else harm_table(harm, force=force)
        except RCTError:
            raise
        except (ValueError, OSError) as exc:  # unknown name or unreadable file: a user error
            raise DataError(str(exc), column="harm") from exc
        w, unknown = table.weigh(c)
        w = w.to_numpy(dtype=float)
        unknown = unknown.to_numpy(dtype=bool)
    else:
        w = np.zeros(n_read)
        unknown = np.zeros(n_read, dtype=bool)
    wz = np.where(unknown, 0.0, w)

    # --- groups
    if group_column is not None and group_column in c.columns:
        gcodes, gnames = _slug_codes(c[group_column])
    else:
        gcodes, gnames = np.zeros(n_read, dtype=np.int64), []

    geoms = np.asarray(hotspots.geometry.values)
    ids = hotspots["hotspot_id"].astype(str).to_numpy()
    H, P = len(ids), len(periods)
    x = c["x"].to_numpy(dtype=float)
    y = c["y"].to_numpy(dtype=float)
    ok = pidx >= 0
    located = np.isfinite(x) & np.isfinite(y)
    counts["no_location"] = int((~located).sum())
    if (~located).any():
        warnings.warn(f"{int((~located).sum()):,} crimes have no coordinates and are not counted",
                      OutcomeWarning, stacklevel=2)
    sel = np.flatnonzero(ok & located)
    pi, hi = locate_pairs(x[sel], y[sel], geoms, buffer_m=buffer_m)
    pi = sel[pi]
    uwin = None
    if hw is not None:  # a unit counts the crimes of its own window only
        uwin = np.array([names[hw.unit_window[u]] for u in ids], dtype=np.int64)
        keep = cwin[pi] == uwin[hi]
        pi, hi = pi[keep], hi[keep]
    cell = hi * P + pidx[pi]
    ncell = H * P
    out: dict[str, Any] = {
        "hotspot_id": np.repeat(ids, P),
        "trial_date" if period == "day" else "period": np.tile(np.array(periods, dtype=object), H),
        "crimes": np.bincount(cell, minlength=ncell).astype(np.int64),
    }
    counts["in_hotspots"] = int(np.unique(pi).size)
    counts["hotspot_assignments"] = int(len(pi))
    if harm is not None:
        out["harm"] = np.bincount(cell, wz[pi], ncell)
        out["harm_unknown"] = np.bincount(cell, unknown[pi].astype(float), ncell).astype(np.int64)
    for j, g in enumerate(gnames):
        m = gcodes[pi] == j
        out[f"crimes_{g}"] = np.bincount(cell[m], minlength=ncell).astype(np.int64)
        if harm is not None:
            out[f"harm_{g}"] = np.bincount(cell[m], wz[pi][m], ncell)
    if catchment_m is not None:
        ri, rh = _ring_pairs(x[sel], y[sel], geoms, buffer_m=buffer_m, catchment_m=catchment_m)
        ri = sel[ri]
        if uwin is not None:
            keep = cwin[ri] == uwin[rh]
            ri, rh = ri[keep], rh[keep]
        rcell = rh * P + pidx[ri]
        out["catchment_crimes"] = np.bincount(rcell, minlength=ncell).astype(np.int64)
        if harm is not None:
            out["catchment_harm"] = np.bincount(rcell, wz[ri], ncell)
        counts["in_catchments"] = int(np.unique(ri).size)
    df = pd.DataFrame(out)
    df.attrs["counts"] = counts
    df.attrs["groups"] = gnames
    harm_name = None if harm is None else (harm if isinstance(harm, str) else
                                           getattr(harm, "name", "custom"))
    if isinstance(harm_name, str) and harm_name.lower().endswith(".csv"):
        harm_name = Path(harm_name).name
    df.attrs["rct_outcomes"] = {
        "crime_types": sorted(types) if types else None, "harm": harm_name,
        "day_starts": day_starts, "period": period, "buffer_m": float(buffer_m),
        "catchment_m": None if catchment_m is None else float(catchment_m)}
    if hw is not None:
        df.attrs["rct_outcomes"]["windows"] = hw.windows.to_dict()
    return df


def _by_distinct(values: Any, fn: Any) -> np.ndarray:
    """``values.map(fn)`` as int64, ``fn`` called once per distinct value (-1 for missing)."""
    import pandas as pd

    if not (isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype)):
        values = pd.Series(values, dtype="object")  # text is factorized as it is
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniq] + [-1], dtype=np.int64)
    return mapped[np.where(codes < 0, len(uniq), codes)]


def _day_index(day64: np.ndarray, periods: list) -> np.ndarray:
    """Position of each trial day in ``periods`` (consecutive dates), -1 for NaT or outside."""
    if not periods:
        return np.full(len(day64), -1, dtype=np.int64)
    first = np.datetime64(periods[0], "D")
    ok = ~np.isnat(day64)
    idx = np.full(len(day64), -1, dtype=np.int64)
    idx[ok] = (day64[ok] - first).astype(np.int64)
    idx[(idx < 0) | (idx >= len(periods))] = -1
    return idx


def ingest_crimes(
    paths: list[str | os.PathLike[str]],
    *,
    hotspots: str | os.PathLike[str],
    out: str | os.PathLike[str],
    harm: str = "cchi",
    force: bool | str = False,
    police_force: str = "Thames Valley",
    kind: str = "auto",
    buffer_m: float = 0.0,
    catchment_m: float | None = None,
    day_starts: str = "06:00",
    period: Period | None = None,
    start: Any = None,
    end: Any = None,
    crime_types: Any = None,
    max_quarantined: float = 0.5,
    quarantine_raw: bool = False,
) -> dict[str, Any]:
    """Read crime files and hot spots, build outcomes, commit them as one unit.

    ``period=None`` picks ``"month"`` when no crime has a time (police.uk),
    else ``"day"``.  The table (``out``), the rows the crime reader rejects
    (``<stem>.quarantine.csv``, when there are any; a previous run's is
    removed otherwise) and ``<out>.manifest.json`` (SHA-256 of every file and
    input, the counts) are committed together (:class:`rct.io.atomic.OutputUnit`).

    Parameters
    ----------
    force
        Replace an existing output.  (A string is taken as the police force
        name, for calls written before ``police_force`` existed.)
    police_force
        Force for force-specific harm weights (``cchi``).
    max_quarantined
        Largest share (0-1) of the crime rows read that may be quarantined;
        above it the run stops (:class:`~rct.errors.QuarantineLimitError`)
        and writes nothing.
    quarantine_raw
        Keep every column of quarantined rows (free text included); see
        :func:`rct.io.crimes.read_crimes`.

    Returns the reconciliation counts.
    """
    from rct.io.atomic import OutputUnit
    from rct.io.crimes import read_crimes
    from rct.io.hotspots import read_hotspots
    from rct.io.quarantine import check_share, enforce_share, quarantine_path

    if isinstance(force, str):  # the old keyword meant the police force
        police_force, force = force, False
    check_share(max_quarantined)
    if buffer_m is None or not (np.isfinite(buffer_m) and 0 <= buffer_m <= 1000):
        raise ValueError(f"buffer_m must be between 0 and 1000 metres; got {buffer_m!r}")
    if catchment_m is not None and not (np.isfinite(catchment_m) and 0 < catchment_m <= 5000):
        raise ValueError(f"catchment_m must be in (0, 5000] metres; got {catchment_m!r}")
    if period is not None and period not in _PERIODS:
        raise ValueError(f"period must be one of {', '.join(_PERIODS)}; got {period!r}")
    if start is not None and end is not None and str(start) > str(end):
        raise DataError(f"the window starts {start} after it ends {end} (--start after --end)")
    unit = OutputUnit(out, companions={"quarantine": quarantine_path(out)}, force=force,
                      command="rct ingest crimes")
    unit.check()
    res = read_crimes(list(paths), kind=kind, quarantine_raw=quarantine_raw)
    enforce_share(res.n_read, res.n_quarantined, res.reasons() if res.n_quarantined else {},
                  limit=max_quarantined, source=res.source, what="crime rows")
    hs = read_hotspots(hotspots)
    data = res.data
    if period is None:
        has_time = "occurred_at" in data.columns and data["occurred_at"].notna().any()
        period = "day" if has_time else "month"
    df = build_outcomes(data, hs, harm=harm, force=police_force, buffer_m=buffer_m,
                        catchment_m=catchment_m, day_starts=day_starts, period=period,
                        start=start, end=end, crime_types=crime_types)
    if period == "month":
        df["period"] = df["period"].astype(str)
    counts = dict(df.attrs.get("counts", {}))
    counts.update({"rows_read": res.n_read, "rows_quarantined": res.n_quarantined,
                   "rows_out": len(df), "period": period})
    outcome_spec = dict(df.attrs.get("rct_outcomes") or {})
    df.attrs = {}
    unit.add_table("output", df)
    if res.n_quarantined:
        unit.add_table("quarantine", res.quarantine)
    from rct.io.crimes import _expand_paths

    unit.commit(
        counts={"read": res.n_read, "accepted": res.n_accepted, "quarantined": res.n_quarantined},
        inputs=[*_expand_paths(list(paths)), hotspots],
        parameters={"harm": str(harm), "police_force": police_force, "kind": kind,
                    "buffer_m": buffer_m, "catchment_m": catchment_m, "day_starts": day_starts,
                    "period": period, "start": None if start is None else str(start),
                    "end": None if end is None else str(end),
                    "max_quarantined": max_quarantined,
                    # what the outcome counts: `rct evaluate` checks it against the plan
                    "crime_types": (outcome_spec.get("crime_types")
                                    if outcome_spec.get("crime_types") else None)}
        | ({"windows": outcome_spec["windows"]} if outcome_spec.get("windows") else {}),
    )
    return counts
