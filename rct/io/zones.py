"""Local wall-clock times to UTC by a table of the zone's clock changes.

Localising naive timestamps one at a time through a time-zone library
(``pyarrow.compute.assume_timezone``, ``pandas.Series.dt.tz_localize``) is
the dearest step of reading local times.  A zone changes its clocks a
couple of times a year, so the same answer comes from a small table: the
UTC instant of every change between 1970 and 2037 with the offsets before
and after it, found once per process from the standard library's
:mod:`zoneinfo`.  One :func:`numpy.searchsorted` per chunk then gives each
local time its offset, and says in the same step which local times fall in
a skipped hour (March: non-existent) or a repeated one (October:
ambiguous).

Outside the table's years (:attr:`ZoneTable.lo` .. :attr:`ZoneTable.hi`) the
callers fall back to the library (``assume_timezone``): tz databases
disagree about times after 2037, and this keeps every result the library's.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["ZoneTable", "zone_table"]

_NS = 1_000_000_000
FIRST_YEAR = 1970
END_YEAR = 2038  # tables end at 2038-01-01 local (tz files list changes only to 2037)


@dataclass(frozen=True, eq=False)
class ZoneTable:
    """A zone's clock changes as arrays (all int64 nanoseconds).

    Attributes
    ----------
    zone : str
    at : ndarray
        UTC instant of each change, ascending.
    before, after : ndarray
        UTC offset before and after each change.
    start, stop : ndarray
        The local wall-clock window each change touches: ``[at + min(before,
        after), at + max(before, after))``.  A forward change (``after >
        before``) skips it (non-existent local times); a backward one repeats
        it (ambiguous: first with ``before``, then with ``after``).
    first_offset : int
        The offset before the first change.
    lo, hi : int
        Local times in ``[lo, hi)`` are covered by the table.
    """

    zone: str
    at: np.ndarray
    before: np.ndarray
    after: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    first_offset: int
    lo: int
    hi: int

    def localise(
        self, local: np.ndarray, *, ambiguous: str = "earliest"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """UTC ns of local ns, with the rows in a repeated or skipped hour and outside the table.

        Parameters
        ----------
        local : ndarray of int64
            Wall-clock nanoseconds since 1970-01-01 00:00 (naive).
        ambiguous
            ``"earliest"`` (a repeated hour read as its first pass, the
            offset before the change) or ``"latest"`` (the second pass).

        Returns
        -------
        utc : ndarray of int64
            ``local - offset``; a skipped local time maps to the instant of
            the change (the first instant after the gap, as
            ``assume_timezone(nonexistent="latest")`` and pandas'
            ``nonexistent="shift_forward"`` give).  Undefined where
            ``outside``.
        fold, gap, outside : ndarray of bool
            In a repeated hour; in a skipped hour; not covered by the table.

        Notes
        -----
        With changes ``c`` sorted by time, ``j = searchsorted(start, L,
        "right") - 1`` is the last change whose window starts at or before
        ``L``.  Past that window (``L >= stop[j]``) the offset is
        ``after[j]`` (``first_offset`` before every change); inside it, a
        forward change is a gap and a backward one a fold, read with
        ``before[j]`` (earliest) or ``after[j]`` (latest).
        """
        local = np.asarray(local, dtype=np.int64)
        n = len(local)
        if not n:
            z = np.zeros(0, dtype=bool)
            return local.copy(), z, z.copy(), z.copy()
        lo, hi = int(local.min()), int(local.max())
        j_lo, j_hi = np.searchsorted(self.start, [lo, hi], side="right")
        outside = np.zeros(n, dtype=bool)
        if lo < self.lo or hi >= self.hi:
            outside = (local < self.lo) | (local >= self.hi)
        if j_lo == j_hi and lo >= self._stop[j_lo]:  # one offset for the whole chunk
            z = np.zeros(n, dtype=bool)
            return local - self._after[j_lo], z, z.copy(), outside
        # index 0: before every change; k: after change k-1 (``_after`` / ``_stop`` padded)
        # every change before the chunk's first value counts for all its values, none after
        # its last: search only the changes between (a few, not the table's ~136)
        j = j_lo + np.searchsorted(self.start[j_lo:j_hi], local, side="right")
        utc = local - self._after[j]
        inside = local < self._stop[j]
        fold = np.zeros(n, dtype=bool)
        gap = np.zeros(n, dtype=bool)
        if inside.any():  # the clock-change hours: few rows
            pos = np.flatnonzero(inside)
            k = j[pos] - 1
            forward = self.after[k] > self.before[k]
            gap[pos[forward]] = True
            fold[pos[~forward]] = True
            utc[pos[forward]] = self.at[k[forward]]
            if ambiguous == "earliest":
                back = pos[~forward]
                utc[back] = local[back] - self.before[k[~forward]]
        return utc, fold, gap, outside

    def wall(self, utc: np.ndarray) -> np.ndarray:
        """Wall-clock ns of UTC ns (the inverse of :meth:`localise`): ``utc`` plus the offset
        in force at ``utc`` (one ``searchsorted`` on :attr:`at`).  Callers keep ``utc``
        within the table's years."""
        utc = np.asarray(utc, dtype=np.int64)
        if not len(utc):
            return utc.copy()
        k_lo, k_hi = np.searchsorted(self.at, [int(utc.min()), int(utc.max())], side="right")
        if k_lo == k_hi:  # one offset for all
            return utc + self._after[k_lo]
        return utc + self._after[k_lo + np.searchsorted(self.at[k_lo:k_hi], utc, side="right")]

    @functools.cached_property
    def _after(self) -> np.ndarray:
        return np.concatenate([[self.first_offset], self.after]).astype(np.int64)

    @functools.cached_property
    def _stop(self) -> np.ndarray:
        return np.concatenate([[np.iinfo(np.int64).min], self.stop]).astype(np.int64)


def _offset_ns(zone: object, utc_seconds: int) -> int:
    t = dt.datetime.fromtimestamp(utc_seconds, tz=dt.UTC).astimezone(zone)  # type: ignore[arg-type]
    off = t.utcoffset()
    return int(off.total_seconds()) * _NS if off is not None else 0


@functools.lru_cache(maxsize=8)
def zone_table(zone: str = "Europe/London") -> ZoneTable:
    """The clock changes of ``zone`` from 1970 to 2037 (cached; a few ms the first time).

    Found from :mod:`zoneinfo`: the offset at 00:00 UTC every 7 days, and
    where two samples differ, the change located to the second by
    bisection (zones change clocks at most once a week).
    """
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    t0 = int(dt.datetime(FIRST_YEAR - 1, 12, 25, tzinfo=dt.UTC).timestamp())
    t1 = int(dt.datetime(END_YEAR, 1, 8, tzinfo=dt.UTC).timestamp())
    week = 7 * 86400
    grid = range(t0, t1 + week, week)
    offs = [_offset_ns(tz, s) for s in grid]
    at, before, after = [], [], []
    for k in range(1, len(offs)):
        if offs[k] == offs[k - 1]:
            continue
        lo, hi = grid[k - 1], grid[k]  # offset(lo) = offs[k-1] != offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset_ns(tz, mid) == offs[k - 1]:
                lo = mid
            else:
                hi = mid
        at.append(hi * _NS)
        before.append(offs[k - 1])
        after.append(_offset_ns(tz, hi))
    a = np.array(at, dtype=np.int64)
    b = np.array(before, dtype=np.int64)
    f = np.array(after, dtype=np.int64)
    start = a + np.minimum(b, f)
    if len(start) > 1 and not (np.all(np.diff(start) > 0) and np.all(start[1:] >= a[:-1] + np.maximum(b, f)[:-1])):
        raise RuntimeError(f"clock changes of {zone} overlap; the table cannot hold them")
    epoch = dt.datetime(1970, 1, 1)
    lo = int((dt.datetime(FIRST_YEAR, 1, 1) - epoch).total_seconds()) * _NS
    hi = int((dt.datetime(END_YEAR, 1, 1) - epoch).total_seconds()) * _NS
    return ZoneTable(
        zone=zone,
        at=a,
        before=b,
        after=f,
        start=start,
        stop=a + np.maximum(b, f),
        first_offset=offs[0],
        lo=lo,
        hi=hi,
    )
