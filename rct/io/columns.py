"""Input columns: the canonical names, their aliases, and a force's own column mapping.

One source of truth for what each input holds.  The readers match column
names through the alias tables here (patrol logs, radio pings) or beside
them (:data:`rct.io.crimes.ALIASES`, the name lists of
:mod:`rct.io.hotspots`); :func:`schema` assembles every table into the
description ``rct schema patrols|pings|crimes|hotspots|harm`` prints, so the
help cannot drift from what the readers accept.

A force whose export uses other headers maps them with a :class:`ColumnMap`
(``--columns FILE`` on the command line, ``[columns]`` in ``trial.toml``)::

    # columns.toml -- the force's header = the canonical name
    dayfirst = true                # optional: times are dd/mm/yyyy
    [patrols]
    "Hot Spot" = "hotspot_id"
    "Arrived" = "arrived_at"
    "Departed" = "left_at"
    [crimes]
    "Crime Ref" = "crime_id"

or as CSV with the columns ``input,column,canonical``.  A mapped header
wins over every alias; a header the mapping names but a file lacks is
ignored for that file (several exports may share one mapping), and a
required column still missing after mapping is an error naming the mapping.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rct.errors import ConfigError, DataError

__all__ = [
    "KINDS",
    "PATROL_ALIASES",
    "PING_ALIASES",
    "Column",
    "Schema",
    "ColumnMap",
    "schema",
    "load_columns",
    "parse_columns",
    "snake",
]

#: the inputs whose columns can be mapped (``rct schema KIND``)
KINDS = ("patrols", "pings", "crimes", "hotspots", "harm")

#: patrol logs: canonical name -> accepted names (snake_case, case-insensitive), priority order
PATROL_ALIASES: dict[str, tuple[str, ...]] = {
    "patrol_id": ("patrol_id", "patrol", "patrolid"),
    "officer_id": ("officer_id", "officer", "officerid"),
    "hotspot_id": ("hotspot_id", "hotspot", "hot_spot_id", "hot_spot", "hotspotid"),
    "arrived_at": ("arrived_at", "arrived", "arrival", "arrival_time", "start_time"),
    "left_at": ("left_at", "left", "departed", "departed_at", "departure", "departure_time",
                "end_time"),
    "mode": ("mode", "patrol_mode"),
    "stopped": ("stopped", "stop", "stops"),
    "notes": ("notes", "note", "comments"),
}

#: Airwave radio pings: canonical name -> accepted names (case-insensitive), priority order
PING_ALIASES: dict[str, tuple[str, ...]] = {
    "radio_id": ("radio_id", "radio", "issi", "terminal_id", "device_id", "radioid"),
    "timestamp": ("timestamp", "time", "datetime", "ping_time", "recorded_at", "ts"),
    "x": ("x", "easting", "east", "eastings"),
    "y": ("y", "northing", "north", "northings"),
    "lon": ("lon", "lng", "long", "longitude"),
    "lat": ("lat", "latitude"),
    "speed": ("speed", "speed_kmh", "speed_mps"),
    "accuracy_m": ("accuracy_m", "accuracy", "horizontal_accuracy"),
}


def snake(name: object) -> str:
    """Column name -> the key used for alias matching (``"Hot Spot"`` -> ``hot_spot``)."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


# ---------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Column:
    """One column of an input: its canonical name, type, whether required, aliases, example."""

    name: str
    type: str
    required: str  # "yes", "no", or how it is required ("one of the location pairs")
    description: str
    aliases: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class Schema:
    """What one kind of input holds (see :func:`schema`)."""

    kind: str
    title: str
    formats: str
    columns: tuple[Column, ...]
    notes: tuple[str, ...] = ()

    @property
    def canonical(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def example_csv(self) -> str:
        """A two-line CSV (header and one row) with the columns that have an example."""
        cols = [c for c in self.columns if c.example]
        return ",".join(c.name for c in cols) + "\n" + ",".join(_csv(c.example) for c in cols)

    def text(self) -> str:
        """The description ``rct schema`` prints."""
        w = max(len(c.name) for c in self.columns)
        tw = max(len(c.type) for c in self.columns)
        lines = [f"{self.title} ({self.kind})", f"formats: {self.formats}", ""]
        lines.append(f"  {'column':<{w}}  {'type':<{tw}}  required  aliases accepted")
        for c in self.columns:
            aliases = ", ".join(a for a in c.aliases if a != c.name) or "-"
            lines.append(f"  {c.name:<{w}}  {c.type:<{tw}}  {c.required:<8}  {aliases}")
            lines.append(f"  {'':<{w}}  {c.description}")
        lines += ["", "example:"] + [f"  {line}" for line in self.example_csv().splitlines()]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "formats": self.formats,
            "columns": [c.__dict__.copy() for c in self.columns],
            "notes": list(self.notes),
        }


def _csv(value: str) -> str:
    return f'"{value}"' if ("," in value or '"' in value) else value


_TIME_NOTE = (
    "Times: ISO 8601 (2021-09-06T06:07:00, with or without an offset) or day-first "
    "dd/mm/yyyy HH:MM[:SS]. Day-first is detected when some day is above 12; otherwise pass "
    "--dayfirst (or --monthfirst): an ambiguous column is refused, never guessed. Naive times "
    "are Europe/London local time (both clock changes handled)."
)
_MAP_NOTE = (
    "Other headers: map them with --columns FILE (or [columns] in trial.toml), e.g. "
    '[{kind}] "Hot Spot" = "hotspot_id".'
)
_FORMATS = "CSV (any encoding; , ; tab or |), Parquet, Excel .xlsx (--sheet), a database query (--db/--query)"


def schema(kind: str) -> Schema:
    """The columns, types, aliases and an example of one kind of input.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.

    Notes
    -----
    Aliases are read from the readers' own tables (:data:`PATROL_ALIASES`,
    :data:`PING_ALIASES`, :data:`rct.io.crimes.ALIASES`, the name lists in
    :mod:`rct.io.hotspots`), so this is what the readers accept.
    """
    if kind not in KINDS:
        raise ValueError(f"input kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return _SCHEMAS[kind]()


def _patrols() -> Schema:
    a = PATROL_ALIASES
    cols = (
        Column("patrol_id", "text", "yes", "One id per patrol (visit); repeated ids are "
               "checked as duplicates.", a["patrol_id"], "P000001"),
        Column("officer_id", "text", "yes", "Officer (or crew); replaced by a keyed-hash "
               "pseudonym, never written out.", a["officer_id"], "PC1234"),
        Column("hotspot_id", "text", "yes", "The hot spot patrolled; must be in the hot-spot "
               "file.", a["hotspot_id"], "HS01"),
        Column("arrived_at", "datetime", "yes", "Arrival time.", a["arrived_at"],
               "2021-09-06T06:07:00"),
        Column("left_at", "datetime", "yes", "Departure time (not before arrival).",
               a["left_at"], "2021-09-06T06:22:00"),
        Column("mode", "text", "no", "foot or vehicle (also walk, car, van, ...).", a["mode"],
               "foot"),
        Column("stopped", "yes/no or count", "no", "Stops made during the visit.",
               a["stopped"], "1"),
        Column("notes", "text", "no", "Free text; dropped unless --include-notes.",
               a["notes"], ""),
    )
    return Schema("patrols", "Patrol logs from the tasking app", _FORMATS, cols,
                  (_TIME_NOTE, _MAP_NOTE.format(kind="patrols")))


def _pings() -> Schema:
    a = PING_ALIASES
    cols = (
        Column("radio_id", "text", "yes", "Radio (ISSI); replaced by a keyed-hash pseudonym.",
               a["radio_id"], "2345678"),
        Column("timestamp", "datetime", "yes", "Time of the location fix.", a["timestamp"],
               "2021-09-06T06:07:30"),
        Column("x", "number (metres)", "x/y or lon/lat", "British National Grid easting.",
               a["x"], "451234.5"),
        Column("y", "number (metres)", "x/y or lon/lat", "British National Grid northing.",
               a["y"], "206789.0"),
        Column("lon", "number (degrees)", "x/y or lon/lat", "WGS84 longitude.", a["lon"], ""),
        Column("lat", "number (degrees)", "x/y or lon/lat", "WGS84 latitude.", a["lat"], ""),
        Column("speed", "number", "no", "Speed (kept, not used).", a["speed"], ""),
        Column("accuracy_m", "number (metres)", "no", "Fix accuracy (kept, not used).",
               a["accuracy_m"], ""),
    )
    return Schema("pings", "Airwave radio location pings", "CSV or Parquet files, globs or "
                  "folders", cols, (_TIME_NOTE, _MAP_NOTE.format(kind="pings")))


def _crimes() -> Schema:
    from rct.io.crimes import ALIASES as a

    loc = "one location pair"
    cols = (
        Column("crime_id", "text", "no", "Crime reference (made from the row's content when "
               "absent); repeated ids are quarantined.", a["crime_id"], "43210/21"),
        Column("occurred_at", "datetime", "or month", "When it happened (a date, or a date "
               "and a separate time column).", a["occurred_at"], "25/09/2021 23:15"),
        Column("time", "time", "no", "Time of day when occurred_at holds only the date.",
               a["time"], ""),
        Column("month", "YYYY-MM", "or occurred_at", "Month only (police.uk): monthly "
               "outcomes.", a["month"], ""),
        Column("offence_code", "text", "no", "Home Office offence code (harm by code).",
               a["offence_code"], "8N"),
        Column("category", "text", "no", "police.uk crime type (or the force's category).",
               a["category"], "Violence and sexual offences"),
        Column("easting", "number (metres)", loc, "British National Grid easting.",
               a["easting"], "451234"),
        Column("northing", "number (metres)", loc, "British National Grid northing.",
               a["northing"], "206789"),
        Column("lon", "number (degrees)", loc, "WGS84 longitude.", a["lon"], ""),
        Column("lat", "number (degrees)", loc, "WGS84 latitude.", a["lat"], ""),
        Column("x", "number", loc, "x coordinate; its CRS told from the values (or crs=).",
               a["x"], ""),
        Column("y", "number", loc, "y coordinate.", a["y"], ""),
    )
    return Schema("crimes", "Crime records: a force extract, or police.uk street CSVs as "
                  "published", _FORMATS, cols,
                  (_TIME_NOTE, "police.uk street CSVs are recognised by their headers and "
                   "need no mapping.", "Other columns are kept (snake_case names).",
                   _MAP_NOTE.format(kind="crimes")))


def _hotspots() -> Schema:
    from rct.io.hotspots import _ID_ALIASES, _RADIUS_NAMES, _WKT_NAMES, _XY_PAIRS

    xs = tuple(dict.fromkeys(p[0] for p in _XY_PAIRS))
    ys = tuple(dict.fromkeys(p[1] for p in _XY_PAIRS))
    cols = (
        Column("hotspot_id", "text", "yes", "Unique id of the hot spot.", _ID_ALIASES, "HS01"),
        Column("geometry", "WKT or vector geometry", "or x/y + radius", "Polygon, "
               "MultiPolygon, or LineString (a street segment: buffered by --line-buffer "
               "metres each side, default 15).", _WKT_NAMES,
               "POLYGON ((451200 206700, 451350 206700, 451350 206850, 451200 206700))"),
        Column("x", "number", "or geometry", "Centroid x (easting or longitude).", xs, ""),
        Column("y", "number", "or geometry", "Centroid y (northing or latitude).", ys, ""),
        Column("radius", "number (metres)", "with x/y", "Radius of a circular hot spot.",
               _RADIUS_NAMES, ""),
        Column("name", "text", "no", "Label for maps and tasking lists.", ("name",), "High St"),
        Column("block", "text", "no", "Block or stratum for blocked randomisation.",
               ("block",), "north"),
    )
    return Schema("hotspots", "Hot spots", "GeoJSON, GeoPackage (.gpkg), Shapefile (.shp or "
                  ".zip), or a table (CSV, Excel .xlsx) with WKT or centroid + radius", cols,
                  ("Coordinates: WGS84 lon/lat or British National Grid; converted to "
                   "EPSG:27700 inside.", "Any other column (covariates) is kept.",
                   _MAP_NOTE.format(kind="hotspots")))


#: harm tables: the columns read_harm_csv requires (lower-cased headers)
HARM_COLUMNS = ("offence_code", "category", "weight", "source")


def _harm() -> Schema:
    cols = (
        Column("offence_code", "text", "this or category", "Home Office offence code.",
               ("offence_code",), "8N"),
        Column("category", "text", "this or offence_code", "police.uk category (used where "
               "a row has no offence code).", ("category",), ""),
        Column("weight", "number >= 0", "yes", "Harm per crime (e.g. days of imprisonment).",
               ("weight",), "365"),
        Column("source", "text", "no", "Where the weights come from (cited in reports).",
               ("source",), "force harm index 2024"),
    )
    return Schema("harm", "Harm table (custom weights)", "CSV or Excel .xlsx", cols,
                  ("Bundled tables need no file: --harm cchi | cchi-subgroup | ons.",
                   _MAP_NOTE.format(kind="harm")))


_SCHEMAS = {"patrols": _patrols, "pings": _pings, "crimes": _crimes, "hotspots": _hotspots,
            "harm": _harm}


# ------------------------------------------------------------------------ column maps


@dataclass(frozen=True)
class ColumnMap:
    """A force's headers mapped to canonical names, per kind of input.

    Attributes
    ----------
    maps : dict
        kind -> {force header: canonical name}.
    dayfirst : bool or None
        ``True``: slash dates are dd/mm/yyyy; ``False``: mm/dd/yyyy; ``None``:
        detected per column (see :func:`rct.io.times.day_order`).
    source : str or None
        Where the mapping was read from (for messages).
    """

    maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dayfirst: bool | None = None
    source: str | None = None

    def for_kind(self, kind: str) -> dict[str, str]:
        if kind not in KINDS:
            raise ValueError(f"input kind must be one of {', '.join(KINDS)}; got {kind!r}")
        return dict(self.maps.get(kind, {}))

    def __bool__(self) -> bool:
        return any(self.maps.values()) or self.dayfirst is not None

    def to_dict(self) -> dict[str, Any]:
        return {"maps": {k: dict(v) for k, v in self.maps.items() if v},
                "dayfirst": self.dayfirst}


def parse_columns(raw: Mapping[str, Any], *, source: object = None) -> tuple[ColumnMap, list[str]]:
    """A :class:`ColumnMap` from a TOML table, and the problems found (every one).

    ``raw`` holds ``dayfirst`` (bool, optional) and one table per kind of
    input mapping the force's header to a canonical name.
    """
    problems: list[str] = []
    maps: dict[str, dict[str, str]] = {}
    dayfirst = None
    for key, value in raw.items():
        if key == "dayfirst":
            if not isinstance(value, bool):
                problems.append(f"dayfirst = {value!r} must be true or false")
            else:
                dayfirst = value
            continue
        if key not in KINDS:
            problems.append(f"unknown key {key!r}; valid keys are dayfirst, {', '.join(KINDS)}")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{key} must be a table of \"force header\" = \"canonical name\"")
            continue
        maps[key] = _check_map(key, value, problems)
    return ColumnMap(maps, dayfirst, None if source is None else str(source)), problems


def _check_map(kind: str, value: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    valid = _valid_targets(kind)
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for header, canon in value.items():
        if not isinstance(canon, str):
            problems.append(f"{kind}: {header!r} = {canon!r} must be a column name (text)")
            continue
        target = canon.strip()
        if target not in valid:
            problems.append(f"{kind}: {header!r} = {canon!r} is not a {kind} column; valid "
                            f"names are {', '.join(valid)}")
            continue
        if target in seen and target not in ("notes",):
            problems.append(f"{kind}: {header!r} and {seen[target]!r} both map to {target!r}")
            continue
        seen[target] = header
        out[str(header)] = target
    return out


def _valid_targets(kind: str) -> tuple[str, ...]:
    names = list(schema(kind).canonical)
    if kind == "crimes":  # the extract reader's own location names
        names = [n for n in names if n not in ("lon", "lat")] + ["lon", "lat"]
    return tuple(dict.fromkeys(names))


def load_columns(path: str | os.PathLike[str]) -> ColumnMap:
    """Read a column mapping: TOML (a ``[columns]`` table of a trial file, or the mapping
    itself) or CSV (``input,column,canonical``).

    Raises
    ------
    ConfigError
        Listing every problem (unknown kinds, unknown canonical names, two
        headers mapped to one name), naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError("column mapping file not found", file=p)
    if p.suffix.lower() == ".csv":
        return _load_csv(p)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"not valid TOML: {exc}"], file=p) from None
    if "columns" in raw and isinstance(raw["columns"], Mapping):
        raw = raw["columns"]  # a trial file: its [columns] section
    cmap, problems = parse_columns(raw, source=p)
    if problems:
        raise ConfigError(problems, file=p)
    return cmap


def _load_csv(p: Path) -> ColumnMap:
    from rct.io.delimited import read_csv_table

    table = read_csv_table(p, strict=True).table.to_pandas()
    table.columns = [snake(c) for c in table.columns]
    need = ("input", "column", "canonical")
    if not set(need) <= set(table.columns):
        raise DataError(f"a column mapping CSV needs the columns {', '.join(need)}; found "
                        f"{', '.join(map(str, table.columns))}", file=p)
    raw: dict[str, Any] = {}
    for kind, header, canon in table[list(need)].itertuples(index=False):
        raw.setdefault(str(kind).strip(), {})[str(header).strip()] = str(canon).strip()
    cmap, problems = parse_columns(raw, source=p)
    if problems:
        raise ConfigError(problems, file=p)
    return cmap


def rename_columns(names: Iterable[str], mapping: Mapping[str, str] | None) -> list[str]:
    """Each file column's name after the force's mapping (exact header, else snake_case match)."""
    names = [str(n) for n in names]
    if not mapping:
        return names
    exact = {str(k): v for k, v in mapping.items()}
    loose = {snake(k): v for k, v in mapping.items()}
    out = []
    for n in names:
        if n in exact:
            out.append(exact[n])
        elif n.strip() in exact:
            out.append(exact[n.strip()])
        elif snake(n) in loose:
            out.append(loose[snake(n)])
        else:
            out.append(n)
    return out


def describe_map(mapping: Mapping[str, str] | None) -> str:
    """``"Hot Spot" -> hotspot_id, ...`` for messages."""
    if not mapping:
        return ""
    return ", ".join(f"{k!r} -> {v}" for k, v in mapping.items())
