"""Sessionise accepted in-hot-spot pings into visits and aggregate per hot spot and trial day.

Arrays of (hot spot, radio, time) in, the per-hot-spot-day table out; see the
Notes of :func:`rct.dosage.airwave.airwave_presence` for the definitions.
:func:`presence_table` orders the pings by (hot spot, radio, time) with a
counting sort on the (hot spot, radio) group and a per-group check that the
times are in order (they usually are: files are written in time
order), then cuts visits, splits them at day boundaries and aggregates in
two linear numba passes; only the visit pieces (far fewer than pings) are
sorted, for the union of intervals.  Everything is integer nanoseconds, so
the results are exact.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numba
import numpy as np

from rct.dosage.airwave_kernels import _can_cache

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


_CACHE = _can_cache()


@numba.njit(cache=_CACHE, nogil=True)
def _group_sort(hot, rd, t, n_radio, group, n_groups):  # pragma: no cover
    """(hot spot * 2**32 + radio, time) ordered by (hot spot, radio, time).

    A counting sort on the group ``hot * n_radio + rd`` (or on ``group`` when
    given, non-empty), then each group's times sorted (usually they are
    already: files come in time order).  Group numbers are made on the fly, so
    the only arrays as long as the input are the two returned.
    """
    n = t.shape[0]
    dense = group.shape[0] == 0
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(n):
        g = np.int64(hot[i]) * n_radio + rd[i] if dense else group[i]
        ptr[g + 1] += 1
    for g in range(n_groups):
        ptr[g + 1] += ptr[g]
    pos = ptr[:-1].copy()
    ks = np.empty(n, dtype=np.int64)
    ts = np.empty(n, dtype=np.int64)
    for i in range(n):
        g = np.int64(hot[i]) * n_radio + rd[i] if dense else group[i]
        ks[pos[g]] = (np.int64(hot[i]) << 32) + rd[i]
        ts[pos[g]] = t[i]
        pos[g] += 1
    for g in range(n_groups):
        lo = ptr[g]
        hi = ptr[g + 1]
        for k in range(lo + 1, hi):
            if ts[k] < ts[k - 1]:
                ts[lo:hi].sort()
                break
    return ks, ts


@numba.njit(cache=_CACHE, inline="always")
def _day(bounds, x):  # pragma: no cover
    """``searchsorted(bounds, x, side="right") - 1``."""
    return np.searchsorted(bounds, x, side="right") - 1


@numba.njit(cache=_CACHE, nogil=True)
def _visit_pieces(g, ts, n_hot, gap, tail, bounds, nd):  # pragma: no cover
    """Cut visits and split them at day boundaries.

    ``g`` (hot spot * 2**32 + radio) and ``ts`` are in (hot spot, radio, time)
    order.  Returns per-cell ping counts (cell = hot * nd + day) and, per visit
    piece in (hot spot, radio, start) order: cell, radio, start and end (ns).
    Within a (hot spot, radio) times only grow, so the day is searched once per
    group and then stepped.
    """
    n = g.shape[0]
    pings = np.zeros(n_hot * nd, dtype=np.int64)
    n_pieces = 0
    prev = np.int64(-1)
    d = 0
    i = 0
    while i < n:  # pass 1: count pieces (and pings per cell)
        gi = g[i]
        h = gi >> 32
        start = ts[i]
        if gi != prev:  # a new (hot spot, radio): search; later visits step on from the last ping
            d = _day(bounds, start)
            prev = gi
        while start >= bounds[d + 1]:
            d += 1
        d0 = d
        pings[h * nd + d] += 1
        last = start
        j = i + 1
        while j < n:
            tj = ts[j]
            if g[j] != gi or tj - last > gap:
                break
            last = tj
            while tj >= bounds[d + 1]:
                d += 1
            pings[h * nd + d] += 1
            j += 1
        end = last + tail
        stop = end - 1 if end > last else last
        d1 = d
        while stop >= bounds[d1 + 1]:
            d1 += 1
        n_pieces += d1 - d0 + 1
        i = j
    cell = np.empty(n_pieces, dtype=np.int64)
    radio = np.empty(n_pieces, dtype=np.int64)
    ps = np.empty(n_pieces, dtype=np.int64)
    pe = np.empty(n_pieces, dtype=np.int64)
    k = 0
    prev = -1
    i = 0
    while i < n:  # pass 2: the pieces
        gi = g[i]
        h = gi >> 32
        r = gi & 0xFFFFFFFF
        start = ts[i]
        if gi != prev:
            d = _day(bounds, start)
            prev = gi
        while start >= bounds[d + 1]:
            d += 1
        last = start
        j = i + 1
        while j < n:
            if g[j] != gi or ts[j] - last > gap:
                break
            last = ts[j]
            j += 1
        end = last + tail
        stop = end - 1 if end > last else last
        dd = d
        while True:
            a = max(start, bounds[dd])
            cell[k] = h * nd + dd
            radio[k] = r
            ps[k] = a
            pe[k] = max(min(end, bounds[dd + 1]), a)
            k += 1
            if stop < bounds[dd + 1]:
                break
            dd += 1
        i = j
    return pings, cell, radio, ps, pe


@numba.njit(cache=_CACHE, nogil=True)
def _cell_sums(cell, radio, ps, pe, n_cells):  # pragma: no cover
    """Per cell: visits, distinct radios, radio ns (sum) -- pieces in (hot, radio) runs."""
    visits = np.zeros(n_cells, dtype=np.int64)
    radios = np.zeros(n_cells, dtype=np.int64)
    radio_ns = np.zeros(n_cells, dtype=np.int64)
    seen = np.full(n_cells, -1, dtype=np.int64)
    for k in range(cell.shape[0]):
        c = cell[k]
        visits[c] += 1
        radio_ns[c] += pe[k] - ps[k]
        if seen[c] != radio[k]:  # a radio's pieces in a hot spot are consecutive
            seen[c] = radio[k]
            radios[c] += 1
    return visits, radios, radio_ns


@numba.njit(cache=_CACHE, nogil=True)
def _union_ns(cell, ps, pe, n_cells):  # pragma: no cover
    """Length of the union of the pieces ``[ps, pe)`` per cell.

    Pieces are bucketed by cell (counting sort), each cell's pieces sorted by
    start; then a running maximum of the ends gives each piece's new coverage
    ``max(0, end - max(start, reach))`` (as :func:`rct.dosage.intervals.interval_union`).
    """
    m = cell.shape[0]
    ptr = np.zeros(n_cells + 1, dtype=np.int64)
    for k in range(m):
        ptr[cell[k] + 1] += 1
    for c in range(n_cells):
        ptr[c + 1] += ptr[c]
    pos = ptr[:-1].copy()
    s = np.empty(m, dtype=np.int64)
    e = np.empty(m, dtype=np.int64)
    for k in range(m):
        c = cell[k]
        s[pos[c]] = ps[k]
        e[pos[c]] = pe[k]
        pos[c] += 1
    out = np.zeros(n_cells, dtype=np.int64)
    for c in range(n_cells):
        lo = ptr[c]
        hi = ptr[c + 1]
        if hi == lo:
            continue
        if hi - lo <= 32:  # insertion sort of the few pieces, by start
            for q in range(lo + 1, hi):
                a = s[q]
                b = e[q]
                r = q - 1
                while r >= lo and s[r] > a:
                    s[r + 1] = s[r]
                    e[r + 1] = e[r]
                    r -= 1
                s[r + 1] = a
                e[r + 1] = b
        else:
            o = np.argsort(s[lo:hi]) + lo
            s[lo:hi] = s[o]
            e[lo:hi] = e[o]
        reach = s[lo]
        total = 0
        for q in range(lo, hi):
            a = s[q]
            b = e[q]
            low = max(a, reach)
            if b > low:
                total += b - low
            if b > reach:
                reach = b
        out[c] = total
    return out


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
    n_groups = n_hot * n_radio
    group = np.zeros(0, dtype=np.int64)  # dense groups, numbered on the fly
    if n_groups > 4 * len(t) + 1_000_000:  # sparse groups: number them densely first
        group = pd.factorize(hot.astype(np.int64) * n_radio + rd)[0].astype(np.int64)
        n_groups = int(group.max()) + 1
    gs, ts = _group_sort(hot, rd, t, n_radio, group, n_groups)
    del group, rd
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
    visits, radios, radio_ns = _cell_sums(cell, prd, ps, pe, n_cells)
    presence_ns = _union_ns(cell, ps, pe, n_cells)
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
