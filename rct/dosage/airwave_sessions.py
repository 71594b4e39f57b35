"""Sessionise accepted in-hot-spot pings into visits and aggregate per hot spot and trial day.

Arrays of (hot spot, radio, time) in, the per-hot-spot-day table out; see the
Notes of :func:`rct.dosage.airwave.airwave_presence` for the definitions.
:func:`presence_table` orders the pings by (hot spot, radio, time) with a
stable sort on the (hot spot, radio) group and a check that each group's
times are in order (they usually are: files are written in time
order), then cuts visits, splits them at day boundaries and aggregates in
linear vectorised numpy passes; only the visit pieces (far fewer than pings) are
sorted, for the union of intervals.  Everything is integer nanoseconds, so
the results are exact.
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


def _group_sort(
    hot: np.ndarray, rd: np.ndarray, t: np.ndarray, n_radio: int
) -> tuple[np.ndarray, np.ndarray]:
    """(hot spot * 2**32 + radio, time) ordered by (hot spot, radio, time).

    A stable sort on the group ``hot * n_radio + rd`` keeps each group's pings
    in input order; only when some group's times are then out of order (files
    usually come in time order) are they sorted by (group, time).
    """
    g = hot.astype(np.int64) * n_radio + rd
    order = np.argsort(g, kind="stable")
    ts = t[order]
    if len(ts) > 1:
        gs = g[order]
        if np.any((ts[1:] < ts[:-1]) & (gs[1:] == gs[:-1])):
            order = np.lexsort((t, g))
            ts = t[order]
    ks = (hot[order].astype(np.int64) << 32) + rd[order]
    return ks, ts


def _visit_pieces(
    g: np.ndarray, ts: np.ndarray, n_hot: int, gap: int, tail: int, bounds: np.ndarray, nd: int
) -> tuple[np.ndarray, ...]:
    """Cut visits and split them at day boundaries.

    ``g`` (hot spot * 2**32 + radio) and ``ts`` are in (hot spot, radio, time)
    order.  Returns per-cell ping counts (cell = hot * nd + day) and, per visit
    piece in (hot spot, radio, start) order: cell, radio, start and end (ns).
    A visit occupies the days from that of its first ping to that of
    ``end - 1`` (``end`` = last ping + tail; the last ping's day with no tail);
    piece ``k`` of a visit is the visit clipped to its day.
    """
    n = len(g)
    h = g >> 32
    day = np.searchsorted(bounds, ts, side="right") - 1
    pings = np.bincount(h * nd + day, minlength=n_hot * nd).astype(np.int64)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (g[1:] != g[:-1]) | (ts[1:] - ts[:-1] > gap)
    first = np.flatnonzero(new)
    last = ts[np.append(first[1:], n) - 1]
    start = ts[first]
    end = last + np.int64(tail)
    stop = np.where(end > last, end - 1, last)
    d0 = day[first]
    cnt = np.searchsorted(bounds, stop, side="right") - d0  # pieces per visit (>= 1)
    vi = np.repeat(np.arange(len(first)), cnt)
    dd = d0[vi] + (np.arange(len(vi)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    ps = np.maximum(start[vi], bounds[dd])
    pe = np.maximum(np.minimum(end[vi], bounds[dd + 1]), ps)
    gv = g[first][vi]
    return pings, (gv >> 32) * nd + dd, gv & 0xFFFFFFFF, ps, pe


def _cell_sums(
    cell: np.ndarray, radio: np.ndarray, ps: np.ndarray, pe: np.ndarray, n_cells: int,
    n_days: int,
) -> tuple[np.ndarray, ...]:
    """Per cell: visits, distinct radios, radio ns (sum) and presence ns (union length).

    Pieces come in (hot spot, radio, start) order.  A (hot spot, radio)'s
    pieces usually step through the days in order, and then each (cell,
    radio) is one run of consecutive pieces: the distinct radios of a cell
    are the runs that start in it.  (A tail longer than the gap can carry a
    visit into a day its next visit starts before; then the distinct
    (cell, radio) pairs are counted.)  The union is
    :func:`rct.dosage.intervals.interval_union`.
    """
    from rct.dosage.intervals import interval_union

    visits = np.bincount(cell, minlength=n_cells).astype(np.int64)
    m = len(cell)
    same_radio = np.zeros(m, dtype=bool)
    if m > 1:
        same_radio[1:] = (radio[1:] == radio[:-1]) & (cell[1:] // n_days == cell[:-1] // n_days)
    if m > 1 and np.any(same_radio[1:] & (cell[1:] < cell[:-1])):
        pair = np.unique(cell * (np.int64(radio.max()) + 1) + radio)
        radios = np.bincount(pair // (np.int64(radio.max()) + 1), minlength=n_cells)
    else:
        new = np.ones(m, dtype=bool)
        new[1:] = ~same_radio[1:] | (cell[1:] != cell[:-1])
        radios = np.bincount(cell[new], minlength=n_cells)
    radios = radios.astype(np.int64)
    u = interval_union(cell, ps, pe, n_groups=n_cells)
    return visits, radios, u.total, u.length


def window_boundaries(tmin_ns: int, tmax_ns: int, day_starts: str, windows: Any
                      ) -> tuple[Any, np.ndarray]:
    """The window time line covering [tmin, tmax] (two spare days each side) and its bounds.

    Segment ``j`` (``bounds[j]`` to ``bounds[j + 1]``) is window instance
    ``timeline.segment[j]`` or a gap (``-1``); see :mod:`rct.io.windows`.
    """
    import pandas as pd

    from rct.io.windows import window_timeline

    days = pd.to_datetime(np.array([tmin_ns, tmax_ns], dtype="datetime64[ns]"), utc=True
                          ).tz_convert("Europe/London").date
    tl = window_timeline(windows, day_starts=day_starts, first=days[0] - dt.timedelta(days=2),
                         last=days[1] + dt.timedelta(days=2))
    return tl, tl.bounds


def presence_table(
    hot: np.ndarray, radio: np.ndarray, t: np.ndarray, hotspot_ids: np.ndarray, opts: Any,
    *, windows: Any = None,
) -> Any:
    """Per hot spot and trial day: pings, radios, presence_minutes, radio_minutes, visits.

    ``windows`` (:class:`rct.io.windows.HotspotWindows`, a per-window hot-spot
    file): visits are cut at window boundaries instead of trial-day
    boundaries, and a unit (place × window) keeps only the pieces, pings and
    visits in its own window's instances, each instance on the trial day it
    starts in.  A unit's geometry is its place's, so a radio at a place that
    is a hot spot in both windows is found in both units and split between
    them by time.
    """
    import pandas as pd

    from rct.dosage.airwave import AIRWAVE_COLUMNS

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
    t = np.ascontiguousarray(t, dtype=np.int64)
    rd = pd.factorize(radio)[0].astype(np.int32)
    n_radio = int(rd.max()) + 1
    n_hot = int(hot.max()) + 1
    gs, ts = _group_sort(hot, rd, t, n_radio)
    del rd
    tail = opts.tail_ns
    tl = None
    if windows is not None:
        tl, bounds = window_boundaries(int(t.min()), int(t.max()) + tail, opts.day_starts,
                                       windows.windows)
        nd = len(bounds) - 1
    else:
        dates, bounds = day_boundaries(int(t.min()), int(t.max()) + tail, opts.day_starts)
        nd = len(dates)
    ping_cells, cell, prd, ps, pe = _visit_pieces(gs, ts, n_hot, opts.gap_ns, tail, bounds, nd)
    del gs, ts
    n_cells = len(ping_cells)
    visits, radios, radio_ns, presence_ns = _cell_sums(cell, prd, ps, pe, n_cells, nd)
    keys = np.flatnonzero(visits > 0)
    pings = ping_cells[keys]
    if ping_cells.sum() != pings.sum():  # pragma: no cover - by construction
        raise AssertionError("a ping fell on a day without its visit")
    if tl is not None:  # units keep their own window's instances, dated by trial day
        names = {n: i for i, n in enumerate(windows.windows.names)}
        uwin = np.array([names.get(windows.unit_window.get(str(h), ""), -2)
                         for h in hotspot_ids], dtype=np.int64)
        inst = tl.segment[keys % nd]
        win = np.where(inst >= 0, tl.window[np.maximum(inst, 0)], -1)
        keep = (inst >= 0) & (win == uwin[keys // nd])
        keys, pings, inst = keys[keep], pings[keep], inst[keep]
        day = pd.Series(tl.trial_date[inst].astype("datetime64[ns]")).dt.date.to_numpy()
        table = pd.DataFrame({  # one instance of a window per trial day: keys stay unique
            "hotspot_id": np.asarray(hotspot_ids, dtype=object)[keys // nd],
            "trial_date": day,
            "pings": pings.astype(np.int64),
            "radios": radios[keys],
            "presence_minutes": presence_ns[keys] / _NS_MIN,
            "radio_minutes": radio_ns[keys] / _NS_MIN,
            "visits": visits[keys],
        })
        return table  # in (hot spot, time) order, as the whole-day table
    hs = keys // nd
    return pd.DataFrame(
        {
            "hotspot_id": np.asarray(hotspot_ids, dtype=object)[hs],
            "trial_date": np.asarray(dates, dtype=object)[keys % nd],
            "pings": pings.astype(np.int64),
            "radios": radios[keys],
            "presence_minutes": presence_ns[keys] / _NS_MIN,
            "radio_minutes": radio_ns[keys] / _NS_MIN,
            "visits": visits[keys],
        }
    )
