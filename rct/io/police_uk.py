"""police.uk street-level crime CSVs, exactly as published on data.police.uk.

Columns: ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude,
Location, LSOA code, LSOA name, Crime type, Last outcome category,
Context``.  ``Crime ID`` is blank for anti-social behaviour; ``Month`` is
``YYYY-MM`` with no day; locations are snapped to anonymised map points and
a few rows (``No Location``) have no coordinates.  Used through
:func:`rct.io.crimes.read_crimes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from rct.io.quarantine import Quarantiner

__all__ = [
    "PUBLISHED_COLUMNS",
    "CATEGORIES",
    "looks_like_police_uk",
    "other_police_uk_file",
    "parse_police_uk",
]

PUBLISHED_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

#: the 14 police.uk crime types (categories)
CATEGORIES = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)

_REQUIRED = ("crime_id", "month", "longitude", "latitude", "crime_type")


def looks_like_police_uk(columns: Iterable[object]) -> bool:
    """True if the columns include police.uk's ``Crime ID, Month, Longitude, Latitude, Crime type``."""
    from rct.io.crimes import snake

    keys = {snake(c) for c in columns}
    return all(k in keys for k in _REQUIRED)


def other_police_uk_file(columns: Iterable[object]) -> str | None:
    """Name of the other police.uk download these columns come from, if any.

    The police.uk archive also holds *outcomes* files (``Outcome type``, no
    ``Crime type``) and *stop and search* files (``Object of search``);
    both have dates and coordinates but are not crimes.
    """
    from rct.io.crimes import snake

    keys = {snake(c) for c in columns}
    if "outcome_type" in keys and "crime_type" not in keys:
        return "a police.uk outcomes file"
    if "object_of_search" in keys:
        return "a police.uk stop-and-search file"
    return None


def parse_police_uk(raw: pd.DataFrame, q: Quarantiner, *, file: Path | str) -> pd.DataFrame:
    """Canonical crime columns from a raw police.uk frame; unusable rows flagged on ``q``.

    Rows are flagged for missing or unparseable coordinates, coordinates
    outside Great Britain, a missing or malformed month, or a missing crime
    type.  Blank ``Crime ID`` values get stable synthetic IDs.
    """
    import pandas as pd

    from rct.geo import WGS84
    from rct.io.crimes import (
        column_lookup,
        extras,
        filled,
        locate,
        month_strings,
        synthetic_ids,
        text,
    )

    lookup = column_lookup(raw.columns)
    missing = [k for k in _REQUIRED if k not in lookup]
    if missing:
        names = {"crime_id": "Crime ID", "month": "Month", "longitude": "Longitude"}
        names |= {"latitude": "Latitude", "crime_type": "Crime type"}
        raise DataError(
            "not a police.uk street CSV: missing column(s) "
            + ", ".join(repr(names[k]) for k in missing),
            file=file,
        )
    c = {k: lookup[k] for k in _REQUIRED}
    x, y, lon, lat = locate(q, raw[c["longitude"]], raw[c["latitude"]], WGS84)
    month = month_strings(q, raw[c["month"]])
    category = text(raw[c["crime_type"]])
    q.flag(category.isna(), "missing crime type")

    ids = text(raw[c["crime_id"]])
    blank = ids.isna()
    if blank.any():
        keys = ("month", "longitude", "latitude", "location", "lsoa_code", "crime_type")
        content = [lookup[k] for k in keys if k in lookup]
        ids = filled(ids, blank, synthetic_ids(raw.loc[blank, content]))

    out = pd.DataFrame(
        {
            "crime_id": ids,
            "month": month.astype("string"),
            "occurred_at": pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]"),
            "x": x,
            "y": y,
            "category": category,
            "offence_code": pd.Series(pd.NA, index=raw.index, dtype="string"),
        },
        index=raw.index,
    )
    used = list(c.values())
    for name, values in extras(raw, used).items():
        out[name] = values
    out["lon"], out["lat"] = lon, lat  # the published points, as numbers
    return out
