"""Force crime extracts (CSV/Parquet) -> the canonical crime table.

Columns are matched through :data:`rct.io.crimes.ALIASES`; location from
easting/northing, lon/lat or plain x/y (CRS told from the values or given);
time from one datetime column or a date and a time column, naive times
being Europe/London; UK day-first dates (``25/10/2024 01:30``) are read as
such.  Used through :func:`rct.io.crimes.read_crimes`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError
from rct.io.crimes import (
    ALIASES,
    _gathered_text,
    column_lookup,
    extras,
    find_column,
    locate,
    month_strings,
    numbers,
    synthetic_ids,
    text,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.io.quarantine import Quarantiner
    from rct.io.times import Ambiguous, Nonexistent

__all__ = ["parse_extract", "category_from_code"]


def parse_extract(
    raw: pd.DataFrame,
    q: Quarantiner,
    *,
    file: Path,
    crs: Any | None,
    ambiguous: Ambiguous,
    nonexistent: Nonexistent,
    dayfirst: bool | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Canonical crime columns from a raw force extract; unusable rows flagged on ``q``.

    Slash dates (``25/10/2024 01:30``) are read in the order ``dayfirst``
    gives, or the order the whole column shows (a day above 12); a column
    whose order cannot be told is refused (:func:`rct.io.times.day_order`).

    Returns the canonical frame (aligned with ``raw``) and notes for the
    user (CRS guessed, synthetic IDs made, rows located from lon/lat).

    Raises
    ------
    DataError
        No location columns, no time or month column, x/y columns whose
        CRS cannot be told, or latitude and longitude swapped.
    """
    import pandas as pd

    from rct.geo import BNG, WGS84, guess_crs, normalise_crs
    from rct.io.times import LONDON

    lookup = column_lookup(raw.columns)
    col = {k: find_column(lookup, k) for k in ALIASES}
    notes: list[str] = []
    used: list[str] = []

    # --- location: easting/northing, then lon/lat, then plain x/y
    pairs: list[tuple[str, str, Any]] = []
    if col["easting"] and col["northing"]:
        pairs.append((col["easting"], col["northing"], BNG))
    if col["lon"] and col["lat"]:
        pairs.append((col["lon"], col["lat"], WGS84))
    if col["x"] and col["y"]:
        xy_crs: Any = normalise_crs(crs) if crs is not None else None
        if xy_crs is None:
            guess = guess_crs(numbers(raw[col["x"]]), numbers(raw[col["y"]]))
            if guess is None and not pairs and _any_numeric(raw, col["x"], col["y"]):
                raise DataError(
                    f"cannot tell the CRS of columns {col['x']!r}/{col['y']!r}: the values are "
                    "neither WGS84 lon/lat nor British National Grid metres in Great Britain; "
                    "pass crs=",
                    file=file,
                )
            xy_crs = guess or BNG
        pairs.append((col["x"], col["y"], xy_crs))
    if not pairs:
        raise DataError(
            "not a crime file: no location columns (easting/northing, lat/lon or x/y); found "
            + _listed(raw.columns),
            file=file,
        )
    xcol, ycol, pair_crs = pairs[0]
    if len(pairs) > 1:  # fill missing British National Grid from lon/lat (or x/y)
        xs, ys = raw[xcol].copy(), raw[ycol].copy()
        for xc, yc, c in pairs[1:]:
            gap = (text(xs).isna() | text(ys).isna()) & ~(
                text(raw[xc]).isna() | text(raw[yc]).isna()
            )
            if gap.any():
                fx, fy = _to_crs_text(raw.loc[gap, xc], raw.loc[gap, yc], c, pair_crs)
                xs = xs.astype(object)
                ys = ys.astype(object)
                xs[gap] = fx
                ys[gap] = fy
                notes.append(f"{int(gap.sum())} rows located from {xc}/{yc}")
        used += [c for p in pairs for c in p[:2]]
    else:
        xs, ys = raw[xcol], raw[ycol]
        used += [xcol, ycol]
    if pair_crs == WGS84 and col["lon"] == xcol:
        _check_swapped(raw[xcol], raw[ycol], file=file)

    # --- crime_id
    if col["crime_id"]:
        ids = text(raw[col["crime_id"]])
        q.flag(ids.isna(), "missing crime_id")
        used.append(col["crime_id"])
    else:
        ids = None
        notes.append("no crime_id column: synthetic IDs made from each row's content")

    x, y, _, _ = locate(q, xs, ys, pair_crs)

    # --- time
    occurred = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if col["occurred_at"]:
        values = raw[col["occurred_at"]]
        used.append(col["occurred_at"])
        if col["time"] and not pd.api.types.is_datetime64_any_dtype(values.dtype):
            d, t = text(values), text(raw[col["time"]])
            date_only = ~d.str.contains(":", regex=False, na=False)  # no time part of its own
            values = d.where(~date_only, d.str.cat(t, sep=" ", na_rep="").str.strip())
            used.append(col["time"])
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = _slash_dates(text(values), dayfirst, file=file, column=col["occurred_at"])
        occurred, reasons = _times(values, ambiguous=ambiguous, nonexistent=nonexistent)
        for reason in pd.unique(reasons.dropna()):
            q.flag(reasons == reason, str(reason))
        month = _months(occurred.dt.tz_convert(LONDON))
        if col["month"]:
            used.append(col["month"])
    elif col["month"]:
        month = month_strings(q, raw[col["month"]])
        used.append(col["month"])
        notes.append("no time column: month only (occurred_at is NaT)")
    else:
        raise DataError(
            "not a crime file: no time column (occurred_at, date, datetime, occurred, "
            "committed_at, ...) and no month column",
            file=file,
        )

    if ids is None:
        basis = raw[[c for c in raw.columns if c not in ("raw_fields", "_malformed", "raw_line")]]
        ids = synthetic_ids(basis)

    # --- offence and category
    code = pd.Series(pd.NA, index=raw.index, dtype="string")
    if col["offence_code"]:
        code = text(raw[col["offence_code"]]).str.upper()
        used.append(col["offence_code"])
    category = category_from_code(code)
    if col["category"]:  # the file's own category first, the offence code's where blank
        category = text(raw[col["category"]]).fillna(category)
        used.append(col["category"])

    out = pd.DataFrame(
        {
            "crime_id": ids.astype("string"),
            "month": month.astype("string"),
            "occurred_at": occurred,
            "x": x,
            "y": y,
            "category": category.astype("string"),
            "offence_code": code,
        },
        index=raw.index,
    )
    for name, values in extras(raw, used).items():
        out[name] = values
    if xcol == col["x"]:
        notes.append(f"columns {xcol}/{ycol} read as {pair_crs}")
    return out, tuple(notes)


def _times(values: pd.Series, *, ambiguous: str, nonexistent: str) -> tuple[pd.Series, pd.Series]:
    """:func:`rct.io.times.parse_times` of a column: text by :func:`rct.io.convert.utc_ns`
    (vectorised; the same values and reasons, tested against parse_times), typed times by
    parse_times itself (a NaT there is a crime without a time, not a quarantined row)."""
    import pandas as pd

    from rct.io.convert import utc_ns
    from rct.io.times import parse_times

    if pd.api.types.is_datetime64_any_dtype(values.dtype) or not (
        pd.api.types.is_string_dtype(values.dtype) or values.dtype == object
    ):
        return parse_times(values, ambiguous=ambiguous, nonexistent=nonexistent)
    try:
        ns, why = utc_ns(values, ambiguous=ambiguous, nonexistent=nonexistent)
    except (TypeError, ValueError):
        return parse_times(values, ambiguous=ambiguous, nonexistent=nonexistent)
    occurred = pd.Series(ns.view("datetime64[ns]"), index=values.index).dt.tz_localize("UTC")
    reasons = pd.Series(None if why is None else why, index=values.index, dtype="object")
    return occurred, reasons


def _months(local: pd.Series) -> pd.Series:
    """``YYYY-MM`` of local times (<NA> for NaT), formatted once per distinct month."""
    import pandas as pd

    ym = (local.dt.year * 100 + local.dt.month).to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(ym)
    idx, uniq = pd.factorize(ym[ok].astype(np.int64))
    text = [f"{int(v) // 100}-{int(v) % 100:02d}" for v in uniq]
    codes = np.full(len(ym), -1, dtype=np.int64)
    codes[ok] = idx
    return _gathered_text(text, codes, local.index)


def _listed(columns: Iterable[object], limit: int = 12) -> str:
    names = [c for c in map(str, columns) if c not in ("raw_fields", "_malformed", "raw_line")]
    shown = ", ".join(repr(c if len(c) <= 30 else c[:27] + "...") for c in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _any_numeric(raw: pd.DataFrame, xc: str, yc: str) -> bool:
    return bool(np.isfinite(numbers(raw[xc])).any() and np.isfinite(numbers(raw[yc])).any())


def _to_crs_text(xs: pd.Series, ys: pd.Series, src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    from rct.geo import transformer

    xv, yv = numbers(xs), numbers(ys)
    ok = np.isfinite(xv) & np.isfinite(yv)
    ox, oy = np.full(len(xv), np.nan), np.full(len(yv), np.nan)
    if ok.any():
        tx, ty = transformer(src, dst).transform(xv[ok], yv[ok])
        ox[ok], oy[ok] = tx, ty
    return ox, oy


def _check_swapped(lon: pd.Series, lat: pd.Series, *, file: Path) -> None:
    from rct.geo import fits_lonlat

    xv, yv = numbers(lon), numbers(lat)
    finite = np.isfinite(xv) & np.isfinite(yv)
    if finite.sum() == 0:
        return
    fits = fits_lonlat(xv, yv)[finite].mean()
    swapped = fits_lonlat(yv, xv)[finite].mean()
    if fits < 0.5 and swapped > 0.5:
        raise DataError(
            f"longitude and latitude look swapped: {swapped:.0%} of rows fit Great Britain "
            f"only with {lon.name!r} as latitude and {lat.name!r} as longitude",
            file=file,
        )


def _slash_dates(t: pd.Series, dayfirst: bool | None, *, file: Path, column: str) -> pd.Series:
    """Slash dates as ISO 8601 in the column's order (given, or told from the values)."""
    import pandas as pd

    from rct.io.times import DayOrderScan, slash_mask, slash_to_iso

    has = slash_mask(t)
    if not has.any():
        return t
    scan = DayOrderScan()
    scan.add(t[has], np.flatnonzero(has) + 1)
    order = scan.decide(dayfirst, file=file, column=column)
    if order is None:
        return t
    iso = slash_to_iso(t, order)
    return pd.Series(iso.to_pandas(), index=t.index, dtype="string")


@functools.lru_cache(maxsize=1)
def _code_categories() -> dict[str, str]:
    """Home Office offence code -> police.uk category, from the bundled ONS table."""
    from importlib.resources import files

    import pandas as pd

    path = files("rct") / "data" / "harm" / "ons-crime-severity-weights.csv"
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str)
    out: dict[str, str] = {}
    cat = table["POLICE_UK_CAT_MAP_category"].str.strip().str.capitalize()
    for column in ("ONS_COUNTS_code", "ONS_SEVERITY_code"):
        for codes, c in zip(table[column], cat, strict=True):
            if not isinstance(codes, str) or not isinstance(c, str):
                continue
            for code in codes.split(","):
                out.setdefault(_code_key(code), c)
    return out


def _code_key(code: str) -> str:
    return re.sub(r"\s+", "", code).upper().lstrip("0")


def category_from_code(codes: pd.Series) -> pd.Series:
    """police.uk category for Home Office offence codes (<NA> where unknown).

    Worked out once per distinct code (an extract has a few hundred), then
    gathered for every row.
    """
    import pandas as pd

    table = _code_categories()
    idx, uniq = pd.factorize(codes.astype("string"), use_na_sentinel=True)
    u = pd.Series(uniq, dtype="string")
    keys = u.str.replace(r"\s+", "", regex=True).str.upper().str.lstrip("0")
    cats = keys.map(table).astype("string").to_numpy(dtype=object, na_value=None)
    return _gathered_text(list(cats), np.asarray(idx, dtype=np.int64), codes.index)
