"""Allocation files, their manifests, and verification.

An allocation is a CSV written byte-for-byte deterministically (``csv`` module,
``\\n`` line ends, UTF-8, canonical row order) plus ``<allocation>.manifest.json``
holding the SHA-256 of every input file, every parameter, the seed, the
algorithm version, package/numpy/python versions and the SHA-256 of the
allocation bytes.  :func:`verify_allocation` re-derives the allocation from the
manifest and inputs and lists every difference.

The manifest carries a hash of its own content (``manifest_sha256``) and is
written in one canonical layout, so any edit -- even one byte of whitespace --
is detected.  This protects against accidents, not forgery (anyone can
recompute a hash): to make an allocation tamper-evident, publish or
pre-register the manifest's SHA-256 before the trial starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rct.errors import DataError, VerificationError
from rct.io.atomic import write_bytes, write_json
from rct.randomise.base import SUPPORTED_VERSIONS, AllocationExistsError

__all__ = [
    "MANIFEST_FORMAT",
    "VerificationReport",
    "allocation_bytes",
    "manifest_path",
    "read_units",
    "write_allocation",
    "randomise_parallel_file",
    "randomise_crossover_file",
    "verify_allocation",
    "load_design",
    "file_sha256",
    "check_overwrite",
]

MANIFEST_FORMAT = "hotspot-rct/allocation-manifest/1"


def manifest_path(allocation: str | Path) -> Path:
    """``allocation.csv`` -> ``allocation.csv.manifest.json``."""
    return Path(f"{allocation}.manifest.json")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def allocation_bytes(design: Any) -> bytes:
    """The allocation CSV exactly as written (deterministic bytes)."""
    df = design.allocation
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(df.columns))
    cols = [df[c].tolist() for c in df.columns]
    for row in zip(*cols, strict=True):
        w.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _cell(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        from rct.io.safety import neutralise_cell

        return neutralise_cell(v)  # a hot-spot id like "=HS1" is not run as a formula
    return str(v)


_GEOMETRY_COLUMNS = {
    "geometry", "wkt", "x", "y", "easting", "northing", "lon", "lat", "lng",
    "longitude", "latitude",
}


def read_units(path: str | Path, *, id_column: str = "hotspot_id") -> Any:
    """Hot spots as a plain DataFrame (geometry dropped) for randomisation.

    Hot-spot files with geometry go through :func:`rct.io.hotspots.read_hotspots`.
    Randomisation needs no geometry, so a CSV with no geometry or coordinate
    columns at all (just ``hotspot_id`` and covariates) is read as a plain table,
    with numbers parsed by pandas' correctly rounded ``round_trip`` converter.
    """
    import pandas as pd

    from rct.io.columns import rename_columns
    from rct.io.sources import Input

    source = path
    mapping = path.mapping if isinstance(path, Input) else {}
    sheet = path.sheet if isinstance(path, Input) else None
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from rct.io.excel import open_sheet
        from rct.io.hotspots import read_table_frame
        from rct.io.safety import check_identifiers

        cols = rename_columns(open_sheet(path, sheet=sheet).columns, mapping)
        if not {str(c).strip().lower() for c in cols} & _GEOMETRY_COLUMNS:
            df = read_table_frame(path, mapping=mapping, sheet=sheet, text=(id_column,))
            if id_column not in df.columns:
                raise DataError(f"missing column; have {list(df.columns)}", file=path,
                                column=id_column)
            df[id_column] = df[id_column].astype(str)
            check_identifiers(df[id_column], file=path, column=id_column)
            return df
    if path.suffix.lower() in (".csv", ".txt"):
        from rct.io.delimited import read_csv_pandas, sniff_csv
        from rct.io.safety import check_identifiers

        names = {str(c).strip().lower() for c in rename_columns(sniff_csv(path).columns, mapping)}
        if not names & _GEOMETRY_COLUMNS:
            # pandas < 3 needs round_trip for correctly rounded floats; pandas 3 parses
            # that way by default and deprecates the argument
            extra = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
            if mapping:  # the id column is known only after mapping: text, then numbers
                df = read_csv_pandas(path, dtype=str, **extra)
                df.columns = rename_columns([str(c).strip() for c in df.columns], mapping)
                df = df.apply(lambda s: s if s.name == id_column else _numbers_or_text(s))
            else:
                df = read_csv_pandas(path, dtype={id_column: str}, **extra)  # checked: no shifts
                df.columns = [str(c).strip() for c in df.columns]
            if id_column not in df.columns:
                raise DataError(f"missing column; have {list(df.columns)}", file=path, column=id_column)
            check_identifiers(df[id_column], file=path, column=id_column)
            return df
    from rct.io.hotspots import read_hotspots

    gdf = read_hotspots(source, id_column=id_column)
    return pd.DataFrame(gdf.drop(columns="geometry", errors="ignore"))


def _numbers_or_text(s: Any) -> Any:
    import pandas as pd

    num = pd.to_numeric(s, errors="coerce")
    return num if num.notna().sum() == s.notna().sum() else s


def _input_entry(p: Any) -> dict[str, Any]:
    """How an input hot-spot file was read (sheet, column mapping), for re-deriving it."""
    out: dict[str, Any] = {}
    if getattr(p, "sheet", None) is not None:
        out["sheet"] = str(p.sheet)
    if getattr(p, "columns", None):
        out["columns"] = {k: v for k, v in p.columns}
    return out


def _as_read(path: Path, info: dict[str, Any]) -> Any:
    """The file as it was read when the allocation was made (an Input with its settings)."""
    if not info.get("sheet") and not info.get("columns"):
        return path
    from rct.io.sources import Input

    return Input(path=path, sheet=info.get("sheet"), columns=info.get("columns") or ())


# -- writing -------------------------------------------------------------------------
def write_allocation(
    design: Any, out: str | Path, *, inputs: dict[str, str | Path], force: bool = False
) -> Path:
    """Write the allocation CSV and its manifest atomically; refuse to overwrite unless ``force``.

    Returns the manifest path.
    """
    out = Path(out)
    mpath = manifest_path(out)
    replaces = None
    if out.exists() or mpath.exists():
        check_overwrite(out, force)
        replaces = {
            "allocation_sha256": file_sha256(out) if out.exists() else None,
            "manifest_sha256": file_sha256(mpath) if mpath.exists() else None,
        }
    data = allocation_bytes(design)
    from rct._version import __version__

    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "allocation": {
            "file": out.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "rows": data.count(b"\n") - 1,
        },
        "design": design.to_dict(),
        "inputs": {
            role: {
                "path": _relative(Path(p), out.parent),
                "sha256": file_sha256(p),
                "bytes": Path(p).stat().st_size,
                **_input_entry(p),
            }
            for role, p in inputs.items()
        },
        "software": {
            "package": "hotspot-rct",
            "version": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "replaces": replaces,
    }
    manifest = json.loads(json.dumps(manifest, default=_json_default))
    manifest["manifest_sha256"] = _content_hash(manifest)
    write_bytes(out, data)
    write_json(mpath, manifest)
    return mpath


def randomise_parallel_file(
    hotspots: str | Path, *, out: str | Path, seed: int, force: bool = False, **params: Any
) -> Any:
    """Read hot spots, build :func:`~rct.randomise.parallel`, write allocation + manifest."""
    from rct.randomise.parallel import parallel

    check_overwrite(out, force)
    units = read_units(hotspots, id_column=params.get("id_column", "hotspot_id"))
    design = parallel(units, seed=seed, **params)
    write_allocation(design, out, inputs={"hotspots": hotspots}, force=force)
    return design


def randomise_crossover_file(
    hotspots: str | Path,
    *,
    out: str | Path,
    seed: int,
    force: bool = False,
    tasking: str | Path | None = None,
    **params: Any,
) -> Any:
    """Read hot spots, build :func:`~rct.randomise.crossover`, write schedule + manifest
    (and the daily tasking list when ``tasking`` is given)."""
    from rct.io.atomic import check_overwrite as check_output
    from rct.randomise.crossover import crossover

    check_overwrite(out, force)
    if tasking is not None:  # the officers' list follows the same overwrite rule
        if Path(tasking).suffix.lower() not in TASKING_SUFFIXES:
            raise DataError(f"the tasking list must be one of {', '.join(TASKING_SUFFIXES)}",
                            file=tasking)
        check_output([tasking], force=force)
    id_column = params.get("id_column", "hotspot_id")
    units = read_units(hotspots, id_column=id_column)
    # the table itself when sites or windows name its columns (the ids alone otherwise)
    by_column = isinstance(params.get("sites"), str) or isinstance(params.get("windows"), str)
    design = crossover(units if by_column else units[id_column].tolist(), seed=seed, **params)
    write_allocation(design, out, inputs={"hotspots": hotspots}, force=force)
    if tasking is not None:
        write_tasking(design, tasking, hotspots=hotspots, schedule=out)
    return design


#: formats of the daily tasking list (``--tasking``)
TASKING_SUFFIXES = (".csv", ".parquet", ".xlsx", ".gpkg", ".geojson")


def write_tasking(design: Any, path: str | Path, *, hotspots: Any = None,
                  schedule: str | Path | None = None) -> Path:
    """The officers' daily tasking list, in the format its suffix names.

    ``.csv`` / ``.parquet``: one row per trial day with the tasked hot spots
    (:func:`rct.randomise.crossover.tasking_list`).  ``.xlsx``: that list
    and the schedule as two sheets.  ``.gpkg`` / ``.geojson``: one feature
    per tasked hot spot and day (``trial_date, weekday, starts_local,
    ends_local, hotspot_id`` and the hot spot's other columns), with its
    polygon, for QGIS or a tasking app's map (needs a hot-spot file with
    geometry).
    """
    from rct.io.atomic import write_table
    from rct.randomise.crossover import tasking_list

    path = Path(path)
    suffix = path.suffix.lower()
    daily = tasking_list(design)
    if suffix in (".csv", ".parquet"):
        return write_table(daily, path)
    if suffix == ".xlsx":
        from rct.io.tables import read_table
        from rct.io.workbooks import tasking_workbook

        sched = read_table(schedule, verify=False) if schedule is not None else None
        return tasking_workbook(daily, path, schedule=sched)
    if suffix in (".gpkg", ".geojson"):
        return _tasking_features(design, daily, path, hotspots)
    raise DataError(f"the tasking list must be one of {', '.join(TASKING_SUFFIXES)}", file=path)


def _tasking_features(design: Any, daily: Any, path: Path, hotspots: Any) -> Path:
    import geopandas as gpd
    import pandas as pd

    from rct.io.hotspots import read_hotspots, write_hotspots

    if hotspots is None:
        raise DataError("a map of the tasking list needs the hot spots' geometry", file=path)
    try:
        gdf = read_hotspots(hotspots)
    except DataError as exc:
        raise DataError(f"a map of the tasking list needs hot spots with geometry ({exc})",
                        file=path) from None
    ids = np.asarray(design.ids, dtype=object)
    day, spot = np.nonzero(np.asarray(design.schedule, dtype=bool))
    rows = pd.DataFrame({
        "trial_date": daily["trial_date"].to_numpy()[day],
        "weekday": daily["weekday"].to_numpy()[day],
        "starts_local": daily["starts_local"].to_numpy()[day],
        "ends_local": daily["ends_local"].to_numpy()[day],
        "hotspot_id": ids[spot].astype(str),
    })
    shapes = gdf.set_index(gdf["hotspot_id"].astype(str))
    others = [c for c in shapes.columns if c not in ("hotspot_id", shapes.geometry.name)]
    feats = rows.join(shapes[others], on="hotspot_id")
    geom = shapes.geometry.reindex(rows["hotspot_id"]).to_numpy()
    out = gpd.GeoDataFrame(feats, geometry=gpd.GeoSeries(geom, crs=gdf.crs))
    return write_hotspots(out, path, layer="tasking")


def check_overwrite(out: str | Path, force: bool) -> None:
    """Raise :class:`AllocationExistsError` (explaining why) if ``out`` exists and not ``force``."""
    out = Path(out)
    if force or not (out.exists() or manifest_path(out).exists()):
        return
    raise AllocationExistsError(
        f"{out} already exists: refusing to overwrite an allocation. Re-drawing until a "
        "preferred allocation appears is how trials get rigged, so a finished allocation "
        "is kept; pass --force (force=True) only if this allocation was never used (the "
        "new manifest records the SHA-256 of the one it replaces)"
    )


# -- verification --------------------------------------------------------------------------
@dataclass(frozen=True)
class VerificationReport:
    """Outcome of :func:`verify_allocation`: ``ok`` and every problem found."""

    allocation: str
    ok: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    checked: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "allocation": self.allocation,
            "ok": self.ok,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "checked": list(self.checked),
        }

    def __str__(self) -> str:
        if self.ok:
            head = f"{self.allocation}: verified ({'; '.join(self.checked)})"
        else:
            head = f"{self.allocation}: NOT verified: " + "; ".join(self.problems)
        return head + ("".join(f"\n  note: {n}" for n in self.notes))


def verify_allocation(allocation: str | Path) -> VerificationReport:
    """Re-derive an allocation from its manifest and inputs; report every difference.

    Checks, in order: the manifest is intact (canonical layout and content
    hash); it was made by this algorithm version; the allocation file's
    SHA-256; each input file's SHA-256; and that re-running the design with the
    recorded parameters and seed gives the recorded allocation bytes.
    """
    allocation = Path(allocation)
    problems: list[str] = []
    notes: list[str] = []
    checked: list[str] = []
    mpath = manifest_path(allocation)
    if not mpath.exists():
        return VerificationReport(str(allocation), False, (f"manifest {mpath.name} not found",))
    raw = mpath.read_bytes()
    try:
        man = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return VerificationReport(str(allocation), False, (f"manifest edited: not valid JSON ({exc})",))
    if not isinstance(man, dict) or man.get("format") != MANIFEST_FORMAT:
        return VerificationReport(str(allocation), False, ("manifest edited: unknown format",))
    canonical = (json.dumps(man, indent=2, sort_keys=True) + "\n").encode("utf-8")
    if canonical != raw:
        problems.append("manifest edited: its bytes differ from the layout rct writes")
    if man.get("manifest_sha256") != _content_hash(man):
        problems.append("manifest edited: its content does not match its manifest_sha256")
    else:
        checked.append("manifest intact")
    design_d = man.get("design") or {}
    known = SUPPORTED_VERSIONS.get(str(design_d.get("design")), ())
    version_ok = design_d.get("algorithm_version") in known
    if not version_ok:
        problems.append(
            f"made by algorithm {design_d.get('algorithm_version')!r}, this rct re-derives "
            f"{', '.join(map(repr, known)) or 'no such design'}: install the hotspot-rct "
            f"version in the manifest ({(man.get('software') or {}).get('version')}) to re-derive it"
        )
    sw = man.get("software") or {}
    if sw.get("numpy") != np.__version__:
        notes.append(f"numpy {sw.get('numpy')} made it, {np.__version__} re-derived it")
    rec = man.get("allocation") or {}
    if not allocation.exists():
        problems.append(f"allocation changed: {allocation.name} is missing")
    elif file_sha256(allocation) != rec.get("sha256"):
        problems.append(
            f"allocation changed: SHA-256 of {allocation.name} is {file_sha256(allocation)[:12]}..., "
            f"manifest says {str(rec.get('sha256'))[:12]}..."
        )
    else:
        checked.append("allocation SHA-256")
    inputs_ok = True
    paths: dict[str, Path] = {}
    for role, info in (man.get("inputs") or {}).items():
        p = (mpath.parent / info.get("path", "")).resolve()
        paths[role] = _as_read(p, info)
        if not p.exists():
            problems.append(f"input changed: {role} file {info.get('path')} is missing")
            inputs_ok = False
        elif file_sha256(p) != info.get("sha256"):
            problems.append(
                f"input changed: {role} file {info.get('path')} has SHA-256 "
                f"{file_sha256(p)[:12]}..., manifest says {str(info.get('sha256'))[:12]}..."
            )
            inputs_ok = False
        else:
            checked.append(f"input {role} SHA-256")
    if inputs_ok and "hotspots" in paths and version_ok:
        try:
            design = _rebuild(design_d, paths["hotspots"])
        except Exception as exc:  # noqa: BLE001 - any failure to rebuild is a finding
            problems.append(f"could not re-derive the allocation from the manifest: {exc}")
        else:
            data = allocation_bytes(design)
            if hashlib.sha256(data).hexdigest() != rec.get("sha256"):
                problems.append(
                    "re-derived allocation differs from the one recorded in the manifest "
                    "(parameters, seed, inputs or algorithm do not reproduce it)"
                )
            else:
                checked.append("re-derived from seed and parameters")
            if allocation.exists() and data != allocation.read_bytes():
                problems.append(_diff_summary(data, allocation.read_bytes()))
    return VerificationReport(str(allocation), not problems, tuple(problems), tuple(notes), tuple(checked))


def load_design(allocation: str | Path, *, hotspots: str | Path | None = None) -> Any:
    """The design object an allocation was made from, rebuilt from its manifest."""
    allocation = Path(allocation)
    mpath = manifest_path(allocation)
    if not mpath.exists():
        raise VerificationError(f"{allocation}: manifest {mpath.name} not found")
    man = json.loads(mpath.read_text(encoding="utf-8"))
    if hotspots is None:
        info = man["inputs"]["hotspots"]
        hotspots = _as_read(mpath.parent / info["path"], info)
    return _rebuild(man["design"], hotspots)


def _rebuild(design_d: dict[str, Any], hotspots: Any) -> Any:
    params = dict(design_d["parameters"])
    seed = int(design_d["seed"])
    units = read_units(hotspots, id_column=params.get("id_column", "hotspot_id"))
    if design_d["design"] == "parallel":
        from rct.randomise.parallel import parallel

        params.pop("scheme", None)
        if design_d["scheme"] == "pairs":  # made before pairs_leftover existed: sets alone
            params.setdefault("pairs_leftover", "alone")
        return parallel(units, scheme=design_d["scheme"], seed=seed, **params)
    if design_d["design"] == "crossover":
        from rct.randomise.crossover import crossover

        id_column = params.get("id_column", "hotspot_id")
        return crossover(units[id_column].tolist(), seed=seed,
                         algorithm=design_d.get("algorithm_version", "rct-randomise/1"), **params)
    raise VerificationError(f"unknown design {design_d['design']!r} in manifest")


def _diff_summary(derived: bytes, actual: bytes) -> str:
    a = derived.decode("utf-8", "replace").splitlines()
    b = actual.decode("utf-8", "replace").splitlines()
    diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
    parts = [f"allocation file differs from the re-derived allocation in {len(diff)} line(s)"]
    if len(a) != len(b):
        parts.append(f"{len(b)} lines instead of {len(a)}")
    if diff:
        i = diff[0]
        parts.append(f"first at line {i + 1}: file {b[i]!r}, re-derived {a[i]!r}")
    return "; ".join(parts)


def _content_hash(man: dict[str, Any]) -> str:
    body = {k: v for k, v in man.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _relative(p: Path, base: Path) -> str:
    import os

    return Path(os.path.relpath(p.resolve(), base.resolve())).as_posix()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, dt.date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
