"""Sessionise accepted in-hot-spot pings into visits and aggregate per hot spot and trial day.

Pure numpy on arrays of (hot spot, radio, time); see the Notes of
:func:`rct.dosage.airwave.airwave_presence` for the definitions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

__all__ = ["sessionise", "presence_table", "day_boundaries"]

_NS_MIN = 60_000_000_000


def sessionise(
    hot: np.ndarray, radio: np.ndarray, t: np.ndarray, *, gap_ns: int, tail_ns: int = 0
) -> dict[str, np.ndarray]:
    """Visits: runs of a radio's pings in a hot spot with gaps <= ``gap_ns``.

    Returns
    -------
    dict of arrays, one value per visit
        ``hotspot``, ``radio``, ``start`` (first ping, ns), ``last`` (last
        ping), ``end`` (``last + tail_ns``), ``pings``; plus ``ping_visit``
        (the visit of each input ping, input order).
    """
    import pandas as pd

    n = len(t)
    # one group number per (hot spot, radio), ordered like (hot, radio): two sort keys, not three
    rdense, runiq = pd.factorize(radio, sort=True)
    group = hot.astype(np.int64) * max(len(runiq), 1) + rdense
    order = np.lexsort((t, group))
    h, r, s = hot[order], radio[order], t[order]
    gs = group[order]
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (gs[1:] != gs[:-1]) | (s[1:] - s[:-1] > gap_ns)
    vid = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:], n) - 1
    ping_visit = np.empty(n, dtype=np.int64)
    ping_visit[order] = vid
    return {
        "hotspot": h[first],
        "radio": r[first],
        "start": s[first],
        "last": s[last],
        "end": s[last] + np.int64(tail_ns),
        "pings": last - first + 1,
        "ping_visit": ping_visit,
    }


def day_boundaries(tmin_ns: int, tmax_ns: int, day_starts: str) -> tuple[list[dt.date], np.ndarray]:
    """Trial days covering [tmin, tmax] with one spare day each side, and their UTC starts (ns).

    ``bounds[i]`` is the start of ``dates[i]``; ``bounds[-1]`` the end of the last day.
    """
    import pandas as pd

    from rct.io.times import trial_date, trial_day_bounds

    ends = pd.Series(pd.to_datetime(np.array([tmin_ns, tmax_ns], dtype="datetime64[ns]"), utc=True))
    d0, d1 = trial_date(ends, day_starts)
    dates = [d0 - dt.timedelta(days=1) + dt.timedelta(days=i) for i in range((d1 - d0).days + 3)]
    lo, hi = trial_day_bounds(pd.Series(dates), day_starts)
    bounds = np.append(_ns(lo), _ns(hi)[-1:])
    return dates, bounds


def _ns(s: Any) -> np.ndarray:
    return (
        s.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy()
        .astype("datetime64[ns]")
        .astype(np.int64)
    )


def presence_table(
    hot: np.ndarray, radio: np.ndarray, t: np.ndarray, hotspot_ids: np.ndarray, opts: Any
) -> Any:
    """Per hot spot and trial day: pings, radios, presence_minutes, radio_minutes, visits."""
    import pandas as pd

    from rct.dosage.airwave import AIRWAVE_COLUMNS
    from rct.dosage.intervals import interval_union

    if len(t) == 0:
        out = pd.DataFrame(
            {
                c: pd.Series(dtype=d)
                for c, d in zip(
                    AIRWAVE_COLUMNS,
                    ["object", "object", "int64", "int64", "float64", "float64", "int64"],
                    strict=True,
                )
            }
        )
        return out
    v = sessionise(hot, radio, t, gap_ns=opts.gap_ns, tail_ns=opts.tail_ns)
    dates, bounds = day_boundaries(int(t.min()), int(v["end"].max()), opts.day_starts)
    nd = len(dates)

    def day_of(x: np.ndarray) -> np.ndarray:
        return np.searchsorted(bounds, x, side="right") - 1

    # pings by the day they fall in
    ping_hd = hot.astype(np.int64) * nd + day_of(t)
    # visit pieces: from the day of the first ping to the day of the last ping (or end)
    ds = day_of(v["start"])
    stop = np.where(v["end"] > v["last"], v["end"] - 1, v["last"])
    de = day_of(np.maximum(stop, v["last"]))
    k = de - ds + 1
    vi = np.repeat(np.arange(len(ds)), k)
    day = ds[vi] + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
    ps = np.maximum(v["start"][vi], bounds[day])
    pe = np.maximum(np.minimum(v["end"][vi], bounds[day + 1]), ps)
    piece_hd = v["hotspot"][vi].astype(np.int64) * nd + day
    # dense group numbers via a table over all (hot spot, day) cells: no hashing or sorting
    n_cells = int(v["hotspot"].max()) * nd + nd if len(ds) else 0
    present = np.bincount(piece_hd, minlength=n_cells) > 0
    keys = np.flatnonzero(present)
    g = (np.cumsum(present) - 1)[piece_hd]
    ng = len(keys)
    visits = np.bincount(g, minlength=ng)
    radio_ns = pd.Series(pe - ps).groupby(g).sum().reindex(range(ng), fill_value=0).to_numpy()
    presence_ns = interval_union(g, ps, pe, n_groups=ng).length
    rdense = pd.factorize(v["radio"])[0][vi].astype(np.int64)
    width = int(rdense.max()) + 1
    pair = pd.unique(g.astype(np.int64) * width + rdense)
    radios = np.bincount(pair // width, minlength=ng)
    ping_counts = np.bincount(ping_hd, minlength=n_cells)
    pings = ping_counts[keys].astype(np.int64)
    if ping_counts.sum() != pings.sum():  # pragma: no cover - by construction
        raise AssertionError("a ping fell on a day without its visit")
    hs = keys // nd
    table = pd.DataFrame(
        {
            "hotspot_id": np.asarray(hotspot_ids, dtype=object)[hs],
            "trial_date": np.asarray(dates, dtype=object)[keys % nd],
            "pings": pings,
            "radios": radios.astype(np.int64),
            "presence_minutes": presence_ns / _NS_MIN,
            "radio_minutes": radio_ns / _NS_MIN,
            "visits": visits.astype(np.int64),
        }
    )
    return table
