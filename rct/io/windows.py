"""Time windows (shifts): definitions, and times assigned to (trial day, window).

A *time window* is a named stretch of the local (Europe/London) day, e.g.
``day=06:00-18:00,night=18:00-06:00``.  A window whose end is not after its
start crosses midnight (``18:00-06:00`` runs into the next calendar day); a
window from a time to the same time (``06:00-06:00``) lasts the whole day.
Windows may leave gaps (``late=22:00-04:00`` alone), but may not overlap.

An *instance* of window ``w`` starts on calendar day ``c`` at ``c + start_w``
local time and ends at ``c + end_w`` (the next day when it crosses midnight).
Bounds are wall-clock times turned into instants as the trial days are
(:func:`rct.io.times.trial_day_bounds`): a bound in the repeated October hour
is its first pass (BST), a bound in the skipped March hour moves to 02:00
BST.  So a night window ``18:00-06:00`` lasts 13 hours on the night the
clocks go back and 11 hours on the night they go forward.  Each instance
belongs to the trial day its start falls in (days starting at
``day_starts``): with days starting at 06:00, the night of Saturday
18:00 to Sunday 06:00 is Saturday's.

A time belongs to the one instance containing it (``[start, end)``), or to
none when it falls in a gap.  An interval (a patrol, a radio's visit) is cut
at every instance boundary; the pieces in gaps belong to no window.

Hot-spot files built per window (``rct hotspots build --windows``) carry the
window of each unit in columns ``window``, ``window_start`` and
``window_end``, and the physical place in ``place_id``; the unit
``hotspot_id`` is the place and window together (``H001-night``).
:func:`hotspot_windows` reads them back; every later stage (randomise,
ingest crimes / patrols / Airwave) takes the windows from the hot-spot file,
so a trial has one definition of its shifts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "TimeWindow",
    "WindowSet",
    "WindowTimeline",
    "HotspotWindows",
    "parse_windows",
    "window_timeline",
    "assign_windows",
    "split_by_window",
    "hotspot_windows",
    "WINDOW_COLUMNS",
]

#: the hot-spot file's columns that make it a per-window file
WINDOW_COLUMNS = ("window", "window_start", "window_end")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})(?::00(?:\.0+)?)?")  # a GeoJSON reader may add :00
_DAY_NS = 86_400 * 10**9


def _minutes(text: str, what: str) -> int:
    m = _HHMM.fullmatch(str(text).strip())
    if not m or int(m.group(2)) > 59 or int(m.group(1)) > 24 or (
            int(m.group(1)) == 24 and int(m.group(2)) != 0):
        raise DataError(f"{what} must be HH:MM between 00:00 and 24:00, got {text!r}")
    return (int(m.group(1)) * 60 + int(m.group(2))) % 1440


@dataclass(frozen=True)
class TimeWindow:
    """One named window of the local day, ``start``-``end`` (``HH:MM``)."""

    name: str
    start: str
    end: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(str(self.name)):
            raise DataError(f"window name {self.name!r} must be letters, digits and _ "
                            "(it becomes part of hot-spot ids such as H001-night)")
        s = _minutes(self.start, f"start of window {self.name!r}")
        e = _minutes(self.end, f"end of window {self.name!r}")
        object.__setattr__(self, "start", f"{s // 60:02d}:{s % 60:02d}")
        object.__setattr__(self, "end", f"{e // 60:02d}:{e % 60:02d}")

    @property
    def start_minute(self) -> int:
        return _minutes(self.start, "start")

    @property
    def end_minute(self) -> int:
        return _minutes(self.end, "end")

    @property
    def crosses_midnight(self) -> bool:
        return self.end_minute <= self.start_minute

    @property
    def nominal_minutes(self) -> int:
        """Length on a day without a clock change (1440 for a whole-day window)."""
        return (self.end_minute - self.start_minute) % 1440 or 1440

    @property
    def text(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True)
class WindowSet:
    """Non-overlapping named windows, in the order given."""

    windows: tuple[TimeWindow, ...]

    def __post_init__(self) -> None:
        if not self.windows:
            raise DataError("at least one time window is needed")
        names = [w.name for w in self.windows]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DataError(f"window {dup[0]!r} is defined twice")
        cover = np.zeros(1440, dtype=np.int64)
        owner: dict[int, str] = {}
        for w in self.windows:
            m = (w.start_minute + np.arange(w.nominal_minutes)) % 1440
            clash = m[cover[m] > 0]
            if clash.size:
                t = int(clash[0])
                raise DataError(f"windows {owner[t]!r} and {w.name!r} overlap (both hold "
                                f"{t // 60:02d}:{t % 60:02d})")
            cover[m] += 1
            owner.update(dict.fromkeys(m.tolist(), w.name))

    def __iter__(self):
        return iter(self.windows)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(w.name for w in self.windows)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError(f"unknown window {name!r}; windows: {', '.join(self.names)}") from None

    def get(self, name: str) -> TimeWindow:
        return self.windows[self.index(name)]

    def to_dict(self) -> dict[str, str]:
        """``{name: "HH:MM-HH:MM"}`` in order (the manifest's and the plan's form)."""
        return {w.name: w.text for w in self.windows}

    @property
    def text(self) -> str:
        """``day=06:00-18:00,night=18:00-06:00`` (the command-line form)."""
        return ",".join(f"{w.name}={w.text}" for w in self.windows)

    @property
    def covers_day(self) -> bool:
        return sum(w.nominal_minutes for w in self.windows) == 1440


def parse_windows(spec: Any) -> WindowSet:
    """Windows from ``"day=06:00-18:00,night=18:00-06:00"``, a mapping or a :class:`WindowSet`.

    Raises
    ------
    DataError
        For a malformed definition, a repeated name, or overlapping windows.
    """
    if isinstance(spec, WindowSet):
        return spec
    items: Iterable[tuple[str, str]]
    if isinstance(spec, Mapping):
        items = [(str(k), str(v)) for k, v in spec.items()]
    elif isinstance(spec, str):
        items = []
        for part in [p.strip() for p in spec.split(",") if p.strip()]:
            if "=" not in part:
                raise DataError(f"window {part!r} must be NAME=HH:MM-HH:MM, e.g. "
                                "day=06:00-18:00")
            name, _, span = part.partition("=")
            items.append((name.strip(), span.strip()))
    elif isinstance(spec, TimeWindow):
        return WindowSet((spec,))
    else:
        items = list(spec)
    out = []
    for name, span in items:
        if isinstance(span, TimeWindow):
            out.append(span)
            continue
        a, sep, b = str(span).partition("-")
        if not sep:
            raise DataError(f"window {name}={span!r} must be HH:MM-HH:MM")
        out.append(TimeWindow(name, a.strip(), b.strip()))
    return WindowSet(tuple(out))


# ---------------------------------------------------------------------------
# instances on the time line


@dataclass(frozen=True, eq=False)
class WindowTimeline:
    """Every window instance over a range of dates, as a sorted time line.

    Attributes
    ----------
    windows
        The windows.
    bounds
        Sorted UTC nanoseconds ``(M + 1,)``: the time line is cut into ``M``
        segments ``[bounds[j], bounds[j + 1])``, each one window instance or a gap.
    segment
        ``(M,)`` instance of each segment, ``-1`` for a gap.
    window
        ``(I,)`` window code (position in ``windows``) of each instance.
    trial_date
        ``(I,)`` ``datetime64[D]``: the trial day each instance belongs to.
    start, end
        ``(I,)`` UTC nanoseconds of each instance.
    """

    windows: WindowSet
    bounds: np.ndarray
    segment: np.ndarray
    window: np.ndarray
    trial_date: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def locate(self, t_ns: np.ndarray) -> np.ndarray:
        """Instance containing each time (``-1``: in a gap or outside the time line)."""
        t = np.asarray(t_ns, dtype=np.int64)
        j = np.searchsorted(self.bounds, t, side="right") - 1
        ok = (j >= 0) & (j < len(self.segment))
        out = np.full(t.shape, -1, dtype=np.int64)
        out[ok] = self.segment[j[ok]]
        return out

    def split(self, s_ns: np.ndarray, e_ns: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Cut intervals ``[s, e)`` at instance boundaries.

        Returns ``(row, instance, start, end)`` of the pieces inside window
        instances (pieces in gaps are left out).  A zero-length interval gives
        one zero-length piece in the instance containing it.
        """
        s = np.asarray(s_ns, dtype=np.int64)
        e = np.asarray(e_ns, dtype=np.int64)
        if np.any(e < s):
            raise ValueError("every interval needs end >= start")
        j0 = np.searchsorted(self.bounds, s, side="right") - 1
        j1 = np.searchsorted(self.bounds, np.where(e > s, e - 1, s), side="right") - 1
        m = len(self.segment)
        j0c, j1c = np.clip(j0, 0, m - 1), np.clip(j1, 0, m - 1)
        n = np.maximum(j1c - j0c + 1, 1)
        row = np.repeat(np.arange(len(s)), n)
        step = np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n)
        j = j0c[row] + step
        lo = np.maximum(s[row], self.bounds[j])
        hi = np.maximum(np.minimum(e[row], self.bounds[j + 1]), lo)
        inst = self.segment[j]
        inside = (inst >= 0) & (j0[row] >= 0) & (j1[row] < m) & (
            (hi > lo) | (s[row] == e[row]))
        return row[inside], inst[inside], lo[inside], hi[inside]


def _localise(wall: Any) -> Any:
    """Naive local wall-clock timestamps -> UTC, as trial-day bounds are localised."""
    from rct.io.times import LONDON

    return wall.dt.tz_localize(LONDON, ambiguous=np.ones(len(wall), dtype=bool),
                               nonexistent="shift_forward").dt.tz_convert("UTC")


def _ns(x: Any) -> np.ndarray:
    return x.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy(
    ).view(np.int64)


def window_timeline(windows: Any, *, day_starts: str | dt.timedelta = "06:00",
                    first: dt.date, last: dt.date) -> WindowTimeline:
    """The instances of ``windows`` starting on calendar days ``first`` .. ``last``."""
    import pandas as pd

    from rct.io.times import trial_date

    ws = parse_windows(windows)
    if last < first:
        raise ValueError(f"last day {last} is before the first {first}")
    cal = pd.Series(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="D"))
    nw, nd = len(ws), len(cal)
    s_min = np.array([w.start_minute for w in ws], dtype=np.int64)
    e_min = np.array([w.start_minute + w.nominal_minutes for w in ws], dtype=np.int64)
    day = np.repeat(np.arange(nd), nw)
    code = np.tile(np.arange(nw), nd)
    base = cal.iloc[day].reset_index(drop=True)
    lo = _localise(base + pd.to_timedelta(s_min[code], unit="min"))
    hi = _localise(base + pd.to_timedelta(e_min[code], unit="min"))
    start, end = _ns(lo), _ns(hi)
    order = np.lexsort((code, start))
    start, end, code, lo = start[order], end[order], code[order], lo.iloc[order]
    tdate = trial_date(lo.reset_index(drop=True), day_starts, kind="datetime64").to_numpy(
    ).astype("datetime64[D]")
    bounds = np.unique(np.concatenate([start, end]))
    segment = np.full(max(len(bounds) - 1, 0), -1, dtype=np.int64)
    a = np.searchsorted(bounds, start)
    b = np.searchsorted(bounds, end)
    span = b - a  # 1 for every instance of positive length (no bound lies inside one)
    if np.any(span > 1):  # pragma: no cover - windows are checked not to overlap
        raise DataError("window instances overlap")
    pos = span == 1
    segment[a[pos]] = np.flatnonzero(pos)
    return WindowTimeline(windows=ws, bounds=bounds, segment=segment, window=code,
                          trial_date=tdate, start=start, end=end)


def _timeline_for(ns: np.ndarray, windows: Any, day_starts: Any) -> WindowTimeline:
    """A time line covering the UTC nanoseconds ``ns`` (two spare days each side)."""
    import pandas as pd

    lo, hi = (int(ns.min()), int(ns.max())) if ns.size else (0, 0)
    days = pd.to_datetime(np.array([lo, hi], dtype="datetime64[ns]"), utc=True).tz_convert(
        "Europe/London").date
    return window_timeline(windows, day_starts=day_starts,
                           first=days[0] - dt.timedelta(days=2),
                           last=days[1] + dt.timedelta(days=2))


def _utc_ns(times: Any) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds, valid mask) of a UTC (or tz-aware) datetime Series."""
    import pandas as pd

    t = pd.to_datetime(pd.Series(times), utc=True)
    ok = t.notna().to_numpy()
    ns = np.zeros(len(t), dtype=np.int64)
    if ok.any():
        ns[ok] = _ns(t[ok])
    return ns, ok


def assign_windows(times_utc: Any, windows: Any, *, day_starts: str = "06:00") -> pd.DataFrame:
    """The (trial day, window) of each time.

    Returns
    -------
    DataFrame
        ``trial_date`` (``datetime.date``; None outside every window or for a
        missing time) and ``window`` (the window's name, or None), one row per
        time, in input order.
    """
    import pandas as pd

    ws = parse_windows(windows)
    ns, ok = _utc_ns(times_utc)
    inst = np.full(len(ns), -1, dtype=np.int64)
    if ok.any():
        tl = _timeline_for(ns[ok], ws, day_starts)
        inst[ok] = tl.locate(ns[ok])
        names = np.array(ws.names, dtype=object)
        has = inst >= 0
        window = np.full(len(ns), None, dtype=object)
        window[has] = names[tl.window[inst[has]]]
        dates = np.full(len(ns), None, dtype=object)
        dates[has] = pd.Series(tl.trial_date[inst[has]].astype("datetime64[ns]")).dt.date.to_numpy()
    else:
        window = np.full(len(ns), None, dtype=object)
        dates = np.full(len(ns), None, dtype=object)
    return pd.DataFrame({"trial_date": pd.Series(dates, dtype=object),
                         "window": pd.Series(window, dtype=object)})


def split_by_window(start_utc: Any, end_utc: Any, windows: Any, *,
                    day_starts: str = "06:00") -> pd.DataFrame:
    """Split intervals ``[start, end)`` at window boundaries (see :meth:`WindowTimeline.split`).

    Returns
    -------
    DataFrame
        One row per piece inside a window instance: ``row`` (position of the
        interval in the input), ``trial_date`` (``datetime.date``),
        ``window`` (name), ``start``, ``end`` (UTC) and ``minutes``.  Pieces
        falling in gaps between windows are left out.
    """
    import pandas as pd

    ws = parse_windows(windows)
    s, ok_s = _utc_ns(start_utc)
    e, ok_e = _utc_ns(end_utc)
    if not (ok_s.all() and ok_e.all()):
        raise ValueError("every interval needs a start and an end time")
    tl = _timeline_for(np.concatenate([s, e]), ws, day_starts)
    row, inst, lo, hi = tl.split(s, e)
    names = np.array(ws.names, dtype=object)
    return pd.DataFrame({
        "row": row,
        "trial_date": pd.Series(tl.trial_date[inst].astype("datetime64[ns]")).dt.date,
        "window": names[tl.window[inst]],
        "start": pd.Series(lo.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "end": pd.Series(hi.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "minutes": (hi - lo) / 60e9,
    })


# ---------------------------------------------------------------------------
# hot-spot files built per window


@dataclass(frozen=True)
class HotspotWindows:
    """The windows of a per-window hot-spot file.

    Attributes
    ----------
    windows
        The window definitions.
    unit_window
        ``hotspot_id`` (unit) -> window name.
    unit_place
        ``hotspot_id`` (unit) -> ``place_id`` (the unit itself when there is
        no ``place_id`` column).
    """

    windows: WindowSet
    unit_window: Mapping[str, str]
    unit_place: Mapping[str, str]

    def units_of(self, place: str, window: str) -> list[str]:
        return [u for u, p in self.unit_place.items()
                if p == place and self.unit_window[u] == window]

    def place_window_unit(self) -> dict[tuple[str, str], str]:
        """``(place, window) -> unit`` (each pair has at most one unit)."""
        return {(self.unit_place[u], w): u for u, w in self.unit_window.items()}


def hotspot_windows(hotspots: Any, *, file: Any = None) -> HotspotWindows | None:
    """The windows of a hot-spot table built per window, or None for a whole-day file.

    A file is per-window when it has the columns ``window``, ``window_start``
    and ``window_end`` (see the module docstring).  Each window must have one
    definition throughout the file, and each (place, window) at most one unit.
    """
    cols = set(getattr(hotspots, "columns", ()))
    if not set(WINDOW_COLUMNS) <= cols:
        return None
    ids = hotspots["hotspot_id"].astype(str).to_numpy()
    name = hotspots["window"].astype(str).to_numpy()
    defs: dict[str, str] = {}
    for i, (n, a, b) in enumerate(zip(name, hotspots["window_start"].astype(str),
                                      hotspots["window_end"].astype(str), strict=True)):
        text = f"{TimeWindow(n, a, b).text}"
        if defs.setdefault(n, text) != text:
            raise DataError(f"window {n!r} is {defs[n]} in one row and {text} in another",
                            file=file, row=i + 1, column="window_start")
    ws = parse_windows(defs)
    place = (hotspots["place_id"].astype(str).to_numpy() if "place_id" in cols else ids)
    seen: dict[tuple[str, str], str] = {}
    for u, p, n in zip(ids, place, name, strict=True):
        if (p, n) in seen:
            raise DataError(f"place {p!r} has two units in window {n!r} ({seen[(p, n)]!r} "
                            f"and {u!r})", file=file, column="place_id")
        seen[(p, n)] = u
    return HotspotWindows(windows=ws, unit_window=dict(zip(ids, name, strict=True)),
                          unit_place=dict(zip(ids, place, strict=True)))
