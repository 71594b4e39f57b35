"""Time handling: ISO 8601 parsing, Europe/London local time, trial days.

Naive timestamps are Europe/London wall-clock time.  Both clock changes are
real: in October the hour 01:00-02:00 happens twice (ambiguous), in March
01:00-02:00 does not happen (non-existent).  Everything is held internally
as tz-aware UTC; trial days are wall-clock days starting at a configurable
boundary (e.g. 06:00), so the trial days containing a clock change last 23
or 25 hours.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "LONDON",
    "Ambiguous",
    "Nonexistent",
    "parse_day_start",
    "parse_times",
    "trial_date",
    "trial_day_bounds",
    "split_by_trial_day",
]

LONDON = "Europe/London"
# a zone after the time of day: Z, +01:00 / +0100, or +01 (hours alone, after a time)
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|[T ]\d{1,2}(?::\d{2}){0,2}(?:[.,]\d+)?[+-]\d{2})$")

Ambiguous = Literal["earliest", "latest", "quarantine"]
Nonexistent = Literal["shift_forward", "quarantine"]


def parse_day_start(value: str | dt.time | None) -> dt.timedelta:
    """``"06:00"`` -> ``timedelta(hours=6)``; the trial-day boundary after midnight."""
    if value is None:
        return dt.timedelta(0)
    if isinstance(value, dt.time):
        t = value
    else:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise DataError(f"trial-day start must be HH:MM between 00:00 and 23:59, got {value!r}")
        t = dt.time(int(m.group(1)), int(m.group(2)))
    return dt.timedelta(hours=t.hour, minutes=t.minute)


def parse_times(
    values: pd.Series,
    *,
    ambiguous: Ambiguous = "earliest",
    nonexistent: Nonexistent = "shift_forward",
) -> tuple[pd.Series, pd.Series]:
    """Parse ISO 8601 strings (or datetimes) to tz-aware UTC.

    Parameters
    ----------
    values
        Strings, datetimes or a datetime Series.  Values with an offset or
        ``Z`` are taken as given; naive values are Europe/London time.
    ambiguous
        For naive times in the repeated October hour: ``"earliest"`` (the
        first pass, BST), ``"latest"`` (the second, GMT) or ``"quarantine"``.
    nonexistent
        For naive times in the skipped March hour: ``"shift_forward"`` (to
        02:00 BST, as a clock that was not yet changed would mean) or
        ``"quarantine"``.

    Returns
    -------
    times : Series of ``datetime64[ns, UTC]``
        NaT where the value could not be used.
    reasons : Series of object
        ``None`` where the time is good, otherwise why it is not.
    """
    import pandas as pd

    _check_choice("ambiguous", ambiguous, ("earliest", "latest", "quarantine"))
    _check_choice("nonexistent", nonexistent, ("shift_forward", "quarantine"))
    s = pd.Series(values)
    index = s.index
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    reasons = pd.Series(None, index=index, dtype="object")

    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), reasons
    if pd.api.types.is_datetime64_dtype(s.dtype):
        naive = s.astype("datetime64[ns]")
        aware = pd.Series(index=index, dtype="object")
        has_offset = pd.Series(False, index=index)
    else:
        text = s.astype("string").str.strip()
        missing = text.isna() | (text == "")
        reasons[missing] = "missing timestamp"
        has_offset = text.str.contains(_OFFSET, na=False)
        aware = pd.to_datetime(text.where(has_offset), format="ISO8601", errors="coerce", utc=True)
        naive = pd.to_datetime(
            text.where(~has_offset & ~missing), format="ISO8601", errors="coerce"
        )
        bad = ~missing & (has_offset & aware.isna() | ~has_offset & naive.isna())
        reasons[bad] = "unparseable timestamp"
        # pandas 3 may parse years outside nanosecond range (e.g. "0000") at a coarser unit:
        # such a time is quarantined for its year, never an OutOfBoundsDatetime
        aware, far_a = _in_ns_range(aware)
        naive, far_n = _in_ns_range(naive)
        reasons[far_a | far_n] = _OUT_OF_RANGE
        out[has_offset] = aware[has_offset]

    todo = ~has_offset & naive.notna()
    if todo.any():
        local = naive[todo]
        amb_flag = ambiguous != "latest"  # True = DST (BST) = first pass
        loc_nat = local.dt.tz_localize(LONDON, ambiguous="NaT", nonexistent="NaT").copy()
        is_problem = loc_nat.isna()
        if is_problem.any():
            probe_dst = local[is_problem].dt.tz_localize(
                LONDON, ambiguous=np.ones(int(is_problem.sum()), dtype=bool), nonexistent="NaT"
            )
            nonexist = probe_dst.isna()  # still NaT with an explicit DST flag: skipped hour
            amb_idx = nonexist.index[~nonexist.to_numpy()]
            non_idx = nonexist.index[nonexist.to_numpy()]
            if len(amb_idx):
                if ambiguous == "quarantine":
                    reasons[amb_idx] = "ambiguous local time (October clock change)"
                else:
                    loc_nat[amb_idx] = local[amb_idx].dt.tz_localize(
                        LONDON, ambiguous=np.full(len(amb_idx), amb_flag)
                    )
            if len(non_idx):
                if nonexistent == "quarantine":
                    reasons[non_idx] = "non-existent local time (March clock change)"
                else:
                    loc_nat[non_idx] = local[non_idx].dt.tz_localize(
                        LONDON, nonexistent="shift_forward"
                    )
        out[todo] = loc_nat.dt.tz_convert("UTC")
    return out.astype("datetime64[ns, UTC]"), reasons


_OUT_OF_RANGE = "timestamp out of range (years 1678 to 2261 only)"
# one day inside pandas' nanosecond bounds, so localising to London's LMT offset stays in range
_NS_MIN, _NS_MAX = np.datetime64("1677-09-23", "s"), np.datetime64("2262-04-10", "s")


def _in_ns_range(times: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``times`` at nanosecond unit with out-of-range values as NaT, and where they were."""
    import pandas as pd

    tz = getattr(times.dtype, "tz", None)
    raw = (times.dt.tz_convert(None) if tz is not None else times).to_numpy("datetime64[s]")
    far = pd.Series((raw < _NS_MIN) | (raw > _NS_MAX), index=times.index)
    if far.any():
        times = times.where(~far)
    unit = f"datetime64[ns, {tz}]" if tz is not None else "datetime64[ns]"
    return times.astype(unit), far


def trial_date(
    times_utc: pd.Series,
    day_start: str | dt.timedelta = "06:00",
    *,
    kind: Literal["date", "datetime64"] = "date",
) -> pd.Series:
    """The trial day each UTC time falls in, days starting at ``day_start`` local time.

    A time at 05:59 local belongs to the previous trial day when days start at
    06:00.  The result always agrees with :func:`trial_day_bounds`: every time
    lies in ``[start, end)`` of its trial day, even when the boundary falls in
    the repeated October hour.

    Parameters
    ----------
    kind
        ``"date"`` for ``datetime.date`` objects, ``"datetime64"`` for naive
        midnight timestamps (faster to group and join on).
    """
    import pandas as pd

    _check_choice("kind", kind, ("date", "datetime64"))
    offset = day_start if isinstance(day_start, dt.timedelta) else parse_day_start(day_start)
    times_utc = pd.Series(times_utc)
    fast = _trial_day_by_table(times_utc, offset)
    if fast is not None:
        return fast if kind == "datetime64" else fast.dt.date
    wall = times_utc.dt.tz_convert(LONDON).dt.tz_localize(None)
    day = (wall - pd.Timedelta(offset)).dt.normalize().copy()  # not a view of the accessor
    if _boundary_can_be_ambiguous(offset):
        # wall-clock arithmetic is off by a day inside a repeated boundary hour:
        # compare with the day's real bounds and step to the neighbour
        ok = day.notna()
        lo, hi = trial_day_bounds(day[ok], offset)
        t = _utc_ns(times_utc[ok])
        step = np.where(t < _utc_ns(lo), -1, np.where(t >= _utc_ns(hi), 1, 0))
        day.loc[ok] = day[ok] + pd.to_timedelta(step, unit="D")
    if kind == "datetime64":
        return day.astype("datetime64[ns]")
    return day.dt.date


def _trial_day_by_table(times_utc: pd.Series, offset: dt.timedelta) -> pd.Series | None:
    """:func:`trial_date` (``datetime64``) by the zone's table of clock changes, or None.

    The wall clock of a UTC instant ``u`` is ``u`` plus the offset in force at
    ``u`` (one ``searchsorted`` on the changes, :mod:`rct.io.zones`); the
    trial day is the date of the wall clock ``offset`` earlier.  Used for
    tz-aware times within the table's years and boundaries outside the
    01:00-02:00 hour (there the day needs the slower correction below); the
    answers are pandas' ``tz_convert`` ones (tested).
    """
    import pandas as pd

    if _boundary_can_be_ambiguous(offset) or not isinstance(times_utc.dtype, pd.DatetimeTZDtype):
        return None
    ns = times_utc.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]") \
        .to_numpy().view(np.int64)
    day = trial_day_ns(ns, offset)
    if day is None:
        return None
    return pd.Series(day.view("datetime64[ns]"), index=times_utc.index, name=times_utc.name)


def trial_day_ns(ns: np.ndarray, offset: dt.timedelta) -> np.ndarray | None:
    """Trial day (local midnight as naive ns) of UTC ns, by the zone table; None when the
    table does not cover the times or the boundary lies in 01:00-02:00 (see
    :func:`trial_date`).  ``INT64_MIN`` (NaT) stays NaT."""
    from rct.io.zones import zone_table

    if _boundary_can_be_ambiguous(offset):
        return None
    z = zone_table(LONDON)
    ns = np.asarray(ns, dtype=np.int64)
    nat = ns == np.iinfo(np.int64).min
    day_ns = 86_400 * 1_000_000_000
    good = ns[~nat] if nat.any() else ns
    if len(good) and (good.min() < z.lo + day_ns or good.max() >= z.hi - day_ns):
        return None
    wall = z.wall(ns)
    shift = int(offset.total_seconds()) * 1_000_000_000
    day = (wall - shift) // day_ns * day_ns
    day[nat] = np.iinfo(np.int64).min
    return day


def _boundary_can_be_ambiguous(offset: dt.timedelta) -> bool:
    """True when the day boundary falls within the hour the clocks repeat or skip."""
    return dt.timedelta(hours=1) < offset < dt.timedelta(hours=2)


def trial_day_bounds(
    dates: pd.Series | pd.Index | list, day_start: str | dt.timedelta = "06:00"
) -> tuple[pd.Series, pd.Series]:
    """UTC start and end of each trial day (end = next day's start); 23, 24 or 25 hours long."""
    import pandas as pd

    offset = day_start if isinstance(day_start, dt.timedelta) else parse_day_start(day_start)
    d = pd.to_datetime(pd.Series(dates)).dt.normalize()

    def _loc(x: pd.Series) -> pd.Series:
        return x.dt.tz_localize(
            LONDON, ambiguous=np.ones(len(x), dtype=bool), nonexistent="shift_forward"
        ).dt.tz_convert("UTC")

    start = _loc(d + pd.Timedelta(offset))
    end = _loc(d + pd.Timedelta(days=1) + pd.Timedelta(offset))
    return start, end


def split_by_trial_day(
    start_utc: pd.Series,
    end_utc: pd.Series,
    day_start: str | dt.timedelta = "06:00",
    *,
    kind: Literal["date", "datetime64"] = "date",
) -> pd.DataFrame:
    """Split intervals ``[start, end)`` at trial-day boundaries.

    Returns
    -------
    DataFrame
        One row per (interval, trial day) piece: ``row`` (position of the
        interval in the input), ``trial_date``, ``start``, ``end`` (UTC,
        clipped to the day) and ``minutes``.  Zero-length intervals give one
        piece of 0 minutes on the day they start.  ``trial_date`` holds
        ``datetime.date`` objects, or naive midnight timestamps with
        ``kind="datetime64"`` (as in :func:`trial_date`).
    """
    import pandas as pd

    _check_choice("kind", kind, ("date", "datetime64"))
    offset = day_start if isinstance(day_start, dt.timedelta) else parse_day_start(day_start)
    start_utc = pd.Series(start_utc).reset_index(drop=True)
    end_utc = pd.Series(end_utc).reset_index(drop=True)
    s_ns, e_ns = _utc_ns(start_utc), _utc_ns(end_utc)
    d0 = trial_date(start_utc, offset, kind="datetime64").to_numpy()
    last = _from_ns(np.where(e_ns <= s_ns, e_ns, e_ns - 1))
    d1 = trial_date(last, offset, kind="datetime64").to_numpy()
    del last
    n_days = np.maximum((d1 - d0).astype("timedelta64[D]").astype(np.int64) + 1, 1)
    del d1
    row = np.repeat(np.arange(len(start_utc)), n_days)
    step = np.arange(len(row)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    dates = d0[row] + step.astype("timedelta64[D]")
    del step, d0
    # the bounds of each distinct day (a few hundred), gathered for every piece
    which, days = pd.factorize(dates)
    day_lo, day_hi = trial_day_bounds(pd.Series(np.asarray(days)), offset)
    lo = np.maximum(s_ns[row], _utc_ns(day_lo)[which])
    hi = np.maximum(np.minimum(e_ns[row], _utc_ns(day_hi)[which]), lo)
    del which, s_ns, e_ns
    pieces = pd.DataFrame(
        {
            "row": row,
            "trial_date": pd.Series(dates).dt.date if kind == "date" else pd.Series(dates),
            "start": _from_ns(lo),
            "end": _from_ns(hi),
        }
    )
    pieces["minutes"] = (hi - lo) / 1e9 / 60.0  # as Timedelta.total_seconds() / 60
    return pieces


def _from_ns(ns: np.ndarray) -> pd.Series:
    """UTC nanoseconds (int64) -> a tz-aware UTC Series, without per-value parsing."""
    import pandas as pd

    return pd.Series(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).dt.tz_localize("UTC")


def _utc_ns(x: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of a tz-aware (or UTC-naive) datetime Series."""
    import pandas as pd

    x = pd.Series(x)
    if isinstance(x.dtype, pd.DatetimeTZDtype):
        x = x.dt.tz_convert("UTC").dt.tz_localize(None)
    return x.astype("datetime64[ns]").to_numpy().astype("int64")


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(valid)}; got {value!r}")


# ------------------------------------------------------------------ day-first dates

#: how a slash date starts (the cheap test before :data:`SLASH_DATE` reads its parts)
_SLASH_START = r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}"
#: ``dd/mm/yyyy[ HH:MM[:SS[.fff]]]`` (or mm/dd/yyyy); ``/``, ``.`` or ``-`` between the parts
SLASH_DATE = (
    r"^\s*(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4})"
    r"(?:(?:[ T]+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d{1,9})?)?)?\s*$"
)
DAY_ORDERS = ("dayfirst", "monthfirst")


class DayOrderScan:
    """What a column's slash dates say about their order, gathered chunk by chunk.

    ``dd/mm/yyyy`` and ``mm/dd/yyyy`` look the same until a day is above 12.
    :meth:`add` looks at one chunk; :meth:`decide` says which order the
    whole column is in, or raises naming an example when it cannot tell
    (see :func:`day_order`).
    """

    def __init__(self) -> None:
        self.n_slash = 0
        self.first_over_12: tuple[str, int] | None = None  # (value, row)
        self.second_over_12: tuple[str, int] | None = None
        self.differ: tuple[str, int] | None = None  # a value whose reading depends on the order

    def add(self, values: Any, rows: Any = None) -> None:
        """Look at one chunk of a column (text; Arrow or pandas); ``rows``: their 1-based rows."""
        import pyarrow as pa
        import pyarrow.compute as pc

        from rct.io.convert import as_arrow, as_text

        arr = as_arrow(values)
        kind = arr.type.value_type if pa.types.is_dictionary(arr.type) else arr.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            return  # typed times or numbers are never slash dates (and writing them out is dear)
        text = as_text(arr)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        if not len(text) or text.null_count == len(text):
            return
        maybe = _not_iso_start(text)  # ISO 8601 rows (most) cannot be slash dates: skip them
        if not maybe.any():
            return
        if not maybe.all():
            keep = np.flatnonzero(maybe)
            text = text.take(pa.array(keep))
            rows = (np.arange(len(maybe)) + 1 if rows is None else np.asarray(rows))[keep]
        if not pc.any(pc.match_substring_regex(text, _SLASH_START)).as_py():
            return
        fixed = _slash_parts_fixed(text)
        if fixed is not None:  # one fixed layout: the two leading numbers from the bytes
            ok, a, b = fixed
        else:
            parts = pc.extract_regex(text, SLASH_DATE)
            ok = np.asarray(pc.is_valid(parts).to_numpy(zero_copy_only=False), dtype=bool)
            if not ok.any():
                return
            a = _ints(parts.field("a"))
            b = _ints(parts.field("b"))
        self.n_slash += int(ok.sum())
        where = np.arange(len(text)) + 1 if rows is None else np.asarray(rows)
        # a value with both parts above 12 is invalid either way (quarantined), not evidence
        for attr, mask in (("first_over_12", ok & (a > 12) & (b <= 12)),
                           ("second_over_12", ok & (b > 12) & (a <= 12)),
                           ("differ", ok & (a != b) & (a <= 12) & (b <= 12))):
            if getattr(self, attr) is None and mask.any():
                i = int(np.flatnonzero(mask)[0])
                setattr(self, attr, (str(text[i].as_py()).strip(), int(where[i])))

    def decide(
        self, dayfirst: bool | None, *, file: object = None, column: str | None = None
    ) -> bool | None:
        """``True`` (day first), ``False`` (month first) or ``None`` (no slash dates).

        Raises
        ------
        DataError
            Days above 12 in both places (mixed orders), or a column whose
            order cannot be told and no ``dayfirst`` given: naming an
            example value and its row, and the options that settle it.
        """
        if self.n_slash == 0:
            return None
        if dayfirst is not None:
            return bool(dayfirst)
        if self.first_over_12 and self.second_over_12:
            (v1, r1), (v2, r2) = self.first_over_12, self.second_over_12
            raise DataError(
                f"dates in two orders: {v1!r} (row {r1}) is day-first but {v2!r} (row {r2}) is "
                "month-first; fix the export, or pass --dayfirst or --monthfirst to read every "
                "date one way (the others are quarantined as unparseable)",
                file=file, column=column,
            )
        if self.first_over_12:
            return True
        if self.second_over_12:
            return False
        if self.differ is None:
            return True  # every date reads the same either way (e.g. 01/01/2021)
        v, r = self.differ
        raise DataError(
            f"ambiguous dates: {v!r} (row {r}) could be day-first or month-first and no day in "
            f"the column is above 12, so the order cannot be told; pass --dayfirst "
            "(dd/mm/yyyy, the UK order) or --monthfirst (mm/dd/yyyy), or set dayfirst in "
            "[columns] of trial.toml",
            file=file, column=column,
        )


def slash_mask(values: Any) -> np.ndarray:
    """True where a value starts like a slash date (``dd/mm/yyyy``, ``/``, ``.`` or ``-``).

    Rows that start with a year are ruled out from their bytes; the regex
    (pyarrow's) runs on the others only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.convert import as_text

    text = as_text(values)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    out = np.zeros(len(text), dtype=bool)
    if not len(text) or text.null_count == len(text):
        return out
    maybe = np.flatnonzero(_not_iso_start(text))
    if len(maybe):
        hit = pc.match_substring_regex(text.take(pa.array(maybe)), _SLASH_START)
        out[maybe] = np.asarray(hit.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return out


def _not_iso_start(text: Any) -> np.ndarray:
    """False where a (non-null) string starts ``dddd-`` (a year: not a slash date), from the
    bytes; True elsewhere (nulls too: the regex decides)."""

    from rct.io.convert import string_buffers

    n = len(text)
    off, raw = string_buffers(text)
    if raw is None:
        return np.ones(n, dtype=bool)
    size = np.diff(off)
    width0 = int(size[0]) if n else 0
    if n and width0 >= 5 and (size == width0).all():  # fixed width (most exports): a 2-D view
        head = raw[int(off[0]) : int(off[-1])].reshape(n, width0)[:, :5]
        iso = ((head[:, :4] - ord("0")) <= 9).all(axis=1) & (head[:, 4] == ord("-"))
    else:
        start = off[:-1].astype(np.int64)
        iso = size >= 5
        iso &= raw.take(start + 4, mode="clip") == ord("-")
        for k in range(4):
            iso &= (raw.take(start + k, mode="clip") - ord("0")) <= 9  # uint8: wraps below '0'
    if text.null_count:
        iso &= np.asarray(text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return ~iso


def _ints(arr: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(arr):
        return np.zeros(0, dtype=np.int64)
    arr = pc.if_else(pc.greater(pc.utf8_length(arr), 0), arr, pa.scalar(None, pa.string()))
    out = pc.cast(arr, pa.int64())
    return np.asarray(pc.fill_null(out, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def day_order(
    values: Any, *, dayfirst: bool | None = None, file: object = None, column: str | None = None
) -> bool | None:
    """The order of the slash dates in a whole column: detected when it can be, never guessed.

    Returns ``True`` for ``dd/mm/yyyy`` (some day above 12 comes first),
    ``False`` for ``mm/dd/yyyy`` and ``None`` when the column holds no slash
    dates.  ``dayfirst`` (``--dayfirst`` / ``--monthfirst``) settles it.

    Raises
    ------
    DataError
        When no value tells the order (every day and month at most 12) and
        ``dayfirst`` is not given, or when both orders are present; the
        message names an example value.
    """
    scan = DayOrderScan()
    scan.add(values)
    return scan.decide(dayfirst, file=file, column=column)


def slash_to_iso(values: Any, dayfirst: bool | None) -> Any:
    """Slash dates rewritten as ISO 8601 text in the given order; other values unchanged.

    ``dayfirst=None`` returns the values as they are.  A rewritten value
    whose day or month is out of range stays invalid (ISO text such as
    ``2021-13-06``), so the time parser quarantines it as unparseable.
    """
    if dayfirst is None:
        return values
    import pyarrow as pa
    import pyarrow.compute as pc

    from rct.io.convert import as_arrow, as_text

    arr = as_arrow(values)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
            or pa.types.is_dictionary(arr.type)):
        return values  # typed times (Parquet, a database): nothing to reorder
    text = as_text(arr)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if not len(text) or text.null_count == len(text):
        return text
    fast = _slash_fixed(text, dayfirst)
    if fast is not None:
        return fast
    parts = pc.extract_regex(text, SLASH_DATE)
    if parts.null_count == len(parts):
        return text
    day, month = ("a", "b") if dayfirst else ("b", "a")

    def pad(name: str, width: int = 2) -> Any:
        return pc.utf8_lpad(parts.field(name), width=width, padding="0")

    date = pc.binary_join_element_wise(parts.field("y"), pad(month), pad(day), "-")
    sec = pc.if_else(pc.equal(pc.utf8_length(parts.field("S")), 0), "00", parts.field("S"))
    frac = parts.field("f")
    clock = pc.binary_join_element_wise(pad("H"), parts.field("M"), sec, ":")
    clock = pc.binary_join_element_wise(clock, frac, "")
    has_time = pc.greater(pc.utf8_length(parts.field("H")), 0)
    iso = pc.if_else(has_time, pc.binary_join_element_wise(date, clock, "T"), date)
    return pc.if_else(pc.is_valid(parts), iso, text)


#: the fixed layouts :func:`_slash_fixed` rewrites by moving bytes: length -> has seconds
_FIXED = {10: None, 16: False, 19: True}


def _fixed_layout(text: Any) -> tuple[np.ndarray, np.ndarray | None, int] | None:
    """``(bytes (rows x width), validity or None, width)`` when every non-null value of a
    string array is a slash date in one fixed layout (see :func:`_slash_fixed`); else None."""
    import pyarrow as pa

    from rct.io.convert import string_buffers

    n = len(text)
    if not n or text.offset or not pa.types.is_string(text.type):
        return None
    off, raw = string_buffers(text)
    if raw is None:
        return None
    size = np.diff(off)
    valid = None if not text.null_count else np.asarray(
        text.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    sizes = size if valid is None else size[valid]
    if not len(sizes):
        return None
    width = int(sizes[0])
    if width not in _FIXED or not (sizes == width).all():
        return None
    if valid is None and int(off[-1]) - int(off[0]) == n * width:
        b = raw[int(off[0]) : int(off[-1])].reshape(n, width)
    else:
        starts = off[:-1].astype(np.int64) if valid is None else off[:-1][valid].astype(np.int64)
        b = raw[starts[:, None] + np.arange(width)[None, :]]
    digits = [0, 1, 3, 4, 6, 7, 8, 9] + ([11, 12, 14, 15] if width > 10 else []) + (
        [17, 18] if width == 19 else [])
    ok = ((b[:, digits] - ord("0")) <= 9).all()  # uint8: wraps below '0'
    seps = np.frombuffer(b"/.-", dtype=np.uint8)
    ok = ok and np.isin(b[:, 2], seps).all() and np.isin(b[:, 5], seps).all()
    if width > 10:
        ok = ok and np.isin(b[:, 10], np.frombuffer(b" T", dtype=np.uint8)).all()
        ok = ok and (b[:, 13] == ord(":")).all()
    if width == 19:
        ok = ok and (b[:, 16] == ord(":")).all()
    return (b, valid, width) if ok else None


def _slash_parts_fixed(text: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(matched, a, b)`` of :data:`SLASH_DATE` for a column in one fixed layout, from the
    bytes (the regex's answer: every valid row matches; ``a``, ``b`` its two leading
    numbers; 0 for nulls, as :func:`_ints` gives); else None."""
    got = _fixed_layout(text)
    if got is None:
        return None
    b, valid, _ = got
    n = len(text)
    num = b.astype(np.int64) - ord("0")
    a_v = num[:, 0] * 10 + num[:, 1]
    b_v = num[:, 3] * 10 + num[:, 4]
    if valid is None:
        return np.ones(n, dtype=bool), a_v, b_v
    a, bb = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    a[valid], bb[valid] = a_v, b_v
    return valid.copy(), a, bb


def _slash_fixed(text: Any, dayfirst: bool) -> Any:
    """:func:`slash_to_iso` of a column in one fixed layout, by moving bytes; else None.

    Every value (nulls aside) ``dd/mm/yyyy``, ``dd/mm/yyyy HH:MM`` or
    ``dd/mm/yyyy HH:MM:SS`` (all the same length; ``/``, ``.`` or ``-``
    between the date's parts, a space or ``T`` before the time): the ISO text
    is the same bytes in another order (``yyyy-mm-ddTHH:MM:SS``, seconds
    ``00`` when absent), exactly what the regex path writes.  Any other
    column: None (the regex path).
    """
    import pyarrow as pa

    got = _fixed_layout(text)
    if got is None:
        return None
    b, valid, width = got
    n = len(text)
    day, month = ((0, 1), (3, 4)) if dayfirst else ((3, 4), (0, 1))
    m = len(b)
    out_w = 10 if width == 10 else 19
    out = np.empty((m, out_w), dtype=np.uint8)
    out[:, 0:4] = b[:, 6:10]
    out[:, 4] = ord("-")
    out[:, 5:7] = b[:, list(month)]
    out[:, 7] = ord("-")
    out[:, 8:10] = b[:, list(day)]
    if width > 10:
        out[:, 10] = ord("T")
        out[:, 11:16] = b[:, 11:16]
        out[:, 16] = ord(":")
        out[:, 17:19] = b[:, 17:19] if width == 19 else ord("0")
    if valid is None:
        offsets = np.arange(n + 1, dtype=np.int32) * out_w
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()))
    lens = np.where(valid, out_w, 0).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.tobytes()),
                                       text.buffers()[0], text.null_count)
