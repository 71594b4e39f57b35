"""Hot-spot files: GeoJSON, GeoPackage, Shapefile, or a table (CSV/Excel: WKT or centroid + radius).

:func:`read_hotspots` returns a GeoDataFrame in EPSG:27700 with a unique
string ``hotspot_id``, polygonal geometry and every other column of the
file; anything that would make a trial's hot spots ambiguous (duplicate or
missing IDs, invalid geometry, an unknown CRS, a feature outside Great
Britain) raises :class:`~rct.errors.DataError` naming the file and the
feature.

Street segments drawn as lines (LineString / MultiLineString, as
Sacramento-style street-block designs and the Thames Valley v2 thoroughfares
are) become polygons: the band :data:`LINE_BUFFER_M` metres (15 m) each side
of the line, its ends cut square at the segment's ends (flat caps, so the
segments meeting at a junction do not swallow each other's ends), unless
``line_buffer_m`` says otherwise.

:func:`write_hotspots` writes RFC 7946 GeoJSON (WGS84), a GeoPackage
(``.gpkg``, British National Grid, one layer) or a Shapefile (``.shp`` with
its ``.shx``, ``.dbf``, ``.prj`` and ``.cpg``), atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["read_hotspots", "write_hotspots", "hotspots_geojson", "hotspots_files",
           "LINE_BUFFER_M", "GIS_SUFFIXES"]

#: metres each side of a line hot spot (a street segment), flat caps
LINE_BUFFER_M = 15.0
#: hot-spot files :func:`write_hotspots` writes, by suffix
GIS_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp")
_SHP_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")

_ID_ALIASES = ("hotspot_id", "hotspot", "hot_spot_id", "hot_spot", "id")
_WKT_NAMES = ("geometry", "wkt", "geom", "the_geom", "shape")
_RADIUS_NAMES = ("radius", "radius_m", "radius_metres", "radius_meters")
_XY_PAIRS = (
    ("x", "y"),
    ("easting", "northing"),
    ("eastings", "northings"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("longitude", "latitude"),
)
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_MAX_LISTED = 5


def read_hotspots(
    path: str | os.PathLike[str],
    *,
    crs: Any | None = None,
    id_column: str = "hotspot_id",
    layer: str | None = None,
    radius_m: float | None = None,
    line_buffer_m: float | None = None,
    columns: Any = None,
    sheet: str | None = None,
) -> gpd.GeoDataFrame:
    """Read hot spots into a GeoDataFrame in EPSG:27700.

    Parameters
    ----------
    path
        GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``), Shapefile
        (``.shp`` or a ``.zip`` holding one), CSV or Excel (``.xlsx``), or
        an :class:`rct.io.sources.Input` carrying its own settings.  A table
        holds either a WKT column (``geometry`` or ``wkt``) or a centroid
        (``x``/``y``, ``easting``/``northing`` or ``lon``/``lat``) with a
        ``radius`` column in metres, which becomes a circle.
    crs
        The CRS of the coordinates when the file has none (CSV, Shapefile
        without ``.prj``) or says the wrong thing (a GeoJSON written in
        British National Grid without a ``crs`` member).  Without it the CRS
        is the file's, or is told from the column names and values; a file
        where that is ambiguous raises :class:`DataError`.
    id_column
        Column holding the hot-spot ID.  With the default, ``hotspot``,
        ``hot_spot_id`` and ``id`` are accepted too (case-insensitive); any
        other column, such as ``name``, is used only when asked for.
    layer
        GeoPackage layer; needed when the file has more than one.
    radius_m
        Radius for point/centroid hot spots when the file has no radius
        column.
    line_buffer_m
        Metres each side of a line hot spot (street segment); default
        :data:`LINE_BUFFER_M` (15 m).  Ends are cut square (flat caps).
    columns
        The force's headers mapped to canonical names (``{"Beat Ref":
        "hotspot_id"}`` or a :class:`rct.io.columns.ColumnMap`).
    sheet
        Excel sheet (needed when the workbook has more than one).

    Returns
    -------
    GeoDataFrame
        Index 0..n-1; ``hotspot_id`` (str, unique) first, then the file's
        other columns, then ``geometry`` (Polygon/MultiPolygon, EPSG:27700).
        ``attrs["line_buffer_m"]`` is the buffer used when any hot spot was
        a line.

    Raises
    ------
    DataError
        Unreadable file; missing/duplicate IDs; missing, empty, invalid or
        non-polygonal geometry (points without a radius); an undeterminable
        CRS; features outside Great Britain.  Messages name the file, row
        (1-based) and ``hotspot_id``.
    """
    import geopandas as gpd
    import shapely

    from rct.geo import BNG, ensure_27700, normalise_crs
    from rct.io.columns import ColumnMap, rename_columns
    from rct.io.sources import Input

    if isinstance(columns, ColumnMap):
        columns = columns.for_kind("hotspots")
    mapping = dict(columns.items() if isinstance(columns, dict) else (columns or ()))
    if isinstance(path, Input):
        mapping = path.mapping or mapping
        sheet = path.sheet if path.sheet is not None else sheet
        line_buffer_m = path.line_buffer_m if path.line_buffer_m is not None else line_buffer_m
        path = path.path
    path = Path(path)
    if not path.exists():
        raise DataError("hot-spot file not found", file=path)
    if radius_m is not None and not (np.isfinite(radius_m) and radius_m > 0):
        raise ValueError(f"radius_m must be a positive number of metres, got {radius_m!r}")
    buffer_m = LINE_BUFFER_M if line_buffer_m is None else line_buffer_m
    if isinstance(buffer_m, bool) or not isinstance(buffer_m, int | float) or not (
        np.isfinite(buffer_m) and 0 < buffer_m <= 1000
    ):
        raise ValueError(f"line_buffer_m must be more than 0 and at most 1000 metres, got "
                         f"{line_buffer_m!r}")
    if crs is not None:
        crs = normalise_crs(crs)

    if _is_csv(path) or _is_excel(path):
        frame, geom, geom_crs = _read_csv(path, crs=crs, radius_m=radius_m, mapping=mapping,
                                          sheet=sheet)
        gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, index=frame.index), crs=geom_crs)
    else:
        gdf = _read_vector(path, layer=layer)
        if mapping:
            cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]
            new = dict(zip(cols, rename_columns(cols, mapping), strict=True))
            gdf = gdf.rename(columns={c: n for c, n in new.items() if c != n})
        if crs is not None:
            gdf = gdf.set_crs(crs, allow_override=True)

    gdf = gdf.reset_index(drop=True)
    if len(gdf) == 0:
        raise DataError("no hot spots in file", file=path)
    ids, id_source = _hotspot_ids(gdf, id_column=id_column, file=path)
    drop = ["hotspot_id"] if "hotspot_id" in gdf.columns else []
    if id_source != "hotspot_id" and (id_source != id_column or _norm(id_source) in _ID_ALIASES):
        drop.append(id_source)  # an alias: it becomes hotspot_id (id_column="name" keeps name)
    gdf = gdf.drop(columns=drop)
    gdf = ensure_27700(gdf, file=path)
    gdf = _points_to_circles(gdf, ids, radius_m=radius_m, file=path)
    gdf, n_lines = _lines_to_bands(gdf, float(buffer_m))
    _check_geometry(gdf, ids, file=path)
    _check_in_gb(gdf, ids, file=path)

    geom = shapely.force_2d(gdf.geometry.to_numpy())
    others = [c for c in gdf.columns if c != gdf.geometry.name]
    out = gpd.GeoDataFrame(
        {"hotspot_id": ids, **{c: gdf[c].to_numpy() for c in others}},
        geometry=gpd.GeoSeries(geom, crs=BNG),
    )
    if n_lines:
        out.attrs["line_buffer_m"] = float(buffer_m)
        out.attrs["n_lines"] = int(n_lines)
    return out


def _lines_to_bands(gdf: gpd.GeoDataFrame, buffer_m: float) -> tuple[gpd.GeoDataFrame, int]:
    """Line features (street segments) -> the band ``buffer_m`` metres each side, flat ends."""
    import shapely

    geom = gdf.geometry.to_numpy()
    present = ~shapely.is_missing(geom)
    is_line = np.zeros(len(geom), dtype=bool)
    is_line[present] = np.isin(shapely.get_type_id(geom[present]), (1, 5))  # (Multi)LineString
    is_line[present] &= ~shapely.is_empty(geom[present])
    if not is_line.any():
        return gdf, 0
    new = geom.copy()  # EPSG:27700 by now: the buffer is in metres
    new[is_line] = shapely.buffer(geom[is_line], buffer_m, cap_style="flat", join_style="round",
                                  quad_segs=8)
    return gdf.set_geometry(new, crs=gdf.crs), int(is_line.sum())


def write_hotspots(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, force: bool = True,
    layer: str = "hotspots",
) -> Path:
    """Write hot spots atomically, in the format the suffix names.

    ``.geojson`` / ``.json``: RFC 7946 GeoJSON in WGS84, exterior rings
    counter-clockwise.  ``.gpkg``: a GeoPackage layer (``layer``) in
    British National Grid (EPSG:27700), as QGIS and ArcGIS open it.
    ``.shp``: a Shapefile (``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg``)
    in EPSG:27700 -- column names over 10 characters are cut by the format.
    The attributes are every column but the geometry.  ``force=False``
    refuses an existing file.
    """
    from rct.io.atomic import check_overwrite, write_bytes

    files = hotspots_files(gdf, path, layer=layer)
    check_overwrite(list(files), force=force)
    for target, data in files.items():
        write_bytes(target, data)
    return Path(path)


def hotspots_files(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, layer: str = "hotspots"
) -> dict[Path, bytes]:
    """The file(s) :func:`write_hotspots` writes for ``path``, as bytes, by target path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".geojson", ".json"):
        return {path: hotspots_geojson(gdf, path=path).encode("utf-8")}
    if suffix not in (".gpkg", ".shp"):
        raise DataError(f"unknown hot-spot output format {suffix or '(none)'!r}; use one of "
                        f"{', '.join(GIS_SUFFIXES)}", file=path)
    return _ogr_files(gdf, path, layer=layer)


def _ogr_files(gdf: gpd.GeoDataFrame, path: Path, *, layer: str) -> dict[Path, bytes]:
    """A GeoPackage or a Shapefile written by GDAL in a scratch folder, read back as bytes."""
    import tempfile

    if gdf.crs is None:
        raise DataError("hot spots have no CRS; cannot write them", file=path)
    suffix = path.suffix.lower()
    out = gdf.to_crs("EPSG:27700")
    for c in out.columns:  # GDAL has no type for Python objects such as dates: text
        if c != out.geometry.name and out[c].dtype == object:
            out[c] = out[c].map(lambda v: None if v is None else
                                (v.isoformat() if hasattr(v, "isoformat") else str(v)))
    with tempfile.TemporaryDirectory(prefix="rct-gis-") as tmp:
        target = Path(tmp) / f"out{suffix}"
        try:
            if suffix == ".gpkg":
                out.to_file(target, driver="GPKG", layer=layer, engine="pyogrio")
            else:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # column names cut to 10 characters
                    out.to_file(target, driver="ESRI Shapefile", engine="pyogrio",
                                ENCODING="UTF-8")
        except Exception as exc:  # GDAL raises many types
            raise DataError(f"cannot write {suffix} ({type(exc).__name__}: {exc})",
                            file=path) from None
        files = {path: target.read_bytes()}
        if suffix == ".shp":
            for side in _SHP_SIDECARS:
                f = target.with_suffix(side)
                if f.exists():
                    files[path.with_suffix(side)] = f.read_bytes()
    return files


def hotspots_geojson(gdf: gpd.GeoDataFrame, *, path: object = None) -> str:
    """The GeoJSON text :func:`write_hotspots` writes."""
    import shapely

    if gdf.crs is None:
        raise DataError("hot spots have no CRS; cannot write GeoJSON", file=path)
    if "hotspot_id" not in gdf.columns:
        raise DataError("hot spots have no hotspot_id column", file=path)
    out = gdf.to_crs("EPSG:4326")
    if hasattr(shapely, "orient_polygons"):
        out = out.set_geometry(
            shapely.orient_polygons(out.geometry.to_numpy(), exterior_cw=False), crs=out.crs
        )
    text = out.to_json(drop_id=True, na="null", show_bbox=False, default=_json_value)
    return text + "\n"


def _json_value(o: Any) -> Any:
    """JSON for property values json cannot write itself (dates, numpy scalars, <NA>)."""
    import pandas as pd

    if o is pd.NA or o is pd.NaT:
        return None
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


# ---------------------------------------------------------------------- readers


def _is_excel(path: Path) -> bool:
    from rct.io.excel import is_excel

    return is_excel(path)


def _is_csv(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return bool(suffixes) and (
        suffixes[-1] in _CSV_SUFFIXES or (len(suffixes) > 1 and suffixes[-2] in _CSV_SUFFIXES)
    )


def _read_vector(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    try:
        if layer is None and path.suffix.lower() == ".gpkg":
            import pyogrio

            layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            if len(layers) > 1:
                raise DataError(
                    f"GeoPackage has {len(layers)} layers ({', '.join(layers)}); pass layer=",
                    file=path,
                )
        gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except DataError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise many types for unreadable files
        raise DataError(
            f"cannot read as a vector file ({type(exc).__name__}: {exc})", file=path
        ) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None:
        raise DataError("no geometry in file", file=path)
    if gdf.geometry.name != "geometry":
        if "geometry" in gdf.columns:
            gdf = gdf.drop(columns="geometry")
        gdf = gdf.rename_geometry("geometry")
    return gdf


def read_table_frame(path: Path, *, mapping: dict[str, str] | None = None,
                     sheet: str | None = None, text: Any = None) -> pd.DataFrame:
    """A hot-spot (or other small) table from CSV or Excel, with pandas' column types.

    CSV: the shared checked reader (any encoding, no shifted rows).  Excel:
    the sheet's cells as text, then every column whose values are all
    numbers becomes numeric (as pandas infers a CSV's).  ``text``: names
    (snake_case) to keep as text.  The force's ``mapping`` renames headers.
    """
    import pandas as pd

    from rct.io.columns import rename_columns
    from rct.io.delimited import read_csv_pandas, sniff_csv

    keep = set(text or ())
    if _is_excel(path):
        from rct.io.excel import read_sheet_frame

        frame = read_sheet_frame(path, sheet=sheet)
        frame.columns = rename_columns([str(c).strip() for c in frame.columns], mapping)
        for c in frame.columns:
            if _norm(c) in keep:
                frame[c] = frame[c].mask(frame[c] == "", None)
                continue
            blank = frame[c] == ""
            num = pd.to_numeric(frame[c].mask(blank, None), errors="coerce")
            if num.notna().sum() == (~blank).sum() and (~blank).any():
                frame[c] = num
            else:
                frame[c] = frame[c].mask(blank, None)
        return frame
    # one reader for every CSV: any encoding, the delimiter from the header, a column named
    # twice or a row with the wrong number of fields refused (never shifted into another column)
    cols = list(sniff_csv(path).columns)
    renamed = rename_columns(cols, mapping)
    as_text = {c: str for c, n in zip(cols, renamed, strict=True) if _norm(n) in keep}
    try:
        frame = read_csv_pandas(path, dtype=as_text)
    except DataError:
        raise
    except Exception as exc:  # the parsers raise many types on hostile input
        raise DataError(f"cannot read as CSV ({type(exc).__name__}: {exc})", file=path) from None
    frame.columns = rename_columns([str(c).strip() for c in frame.columns], mapping)
    return frame


def _read_csv(
    path: Path, *, crs: Any | None, radius_m: float | None, mapping: dict[str, str] | None = None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray, Any]:
    import pandas as pd
    import shapely

    from rct.geo import circles, guess_crs

    frame = read_table_frame(path, mapping=mapping, sheet=sheet,
                             text=(*_ID_ALIASES, "name", *_WKT_NAMES))
    from rct.io.delimited import check_unique_columns

    check_unique_columns(list(frame.columns), file=path)
    lookup = {_norm(c): c for c in frame.columns}

    wkt_col = next((lookup[n] for n in _WKT_NAMES if n in lookup), None)
    if wkt_col is not None:
        text = frame[wkt_col].astype("string")
        geom = shapely.from_wkt(text.fillna("").to_numpy(dtype=object), on_invalid="ignore")
        blank = text.isna() | (text.str.strip() == "")
        bad = np.flatnonzero(shapely.is_missing(geom) & ~blank.to_numpy())
        if len(bad):
            rows = ", ".join(str(i + 1) for i in bad[:_MAX_LISTED])
            raise DataError(
                f"{len(bad)} unparseable WKT value(s) in rows {rows}",
                file=path,
                row=int(bad[0]) + 1,
                column=wkt_col,
                value=str(text.iloc[bad[0]])[:80],
            )
        frame = frame.drop(columns=wkt_col)
        geom_crs = crs
        if geom_crs is None:
            b = shapely.bounds(geom)
            xs = np.concatenate([b[:, 0], b[:, 2]])
            ys = np.concatenate([b[:, 1], b[:, 3]])
            geom_crs = guess_crs(xs, ys, require_all=True)
            if geom_crs is None:
                raise DataError(
                    "the CSV has no CRS and its WKT coordinates are neither WGS84 lon/lat nor "
                    "British National Grid metres inside Great Britain; pass crs=",
                    file=path,
                )
        return frame, geom, geom_crs

    pair = next(((lookup[a], lookup[b]) for a, b in _XY_PAIRS if a in lookup and b in lookup), None)
    if pair is None:
        raise DataError(
            "no geometry: a hot-spot CSV needs a WKT column (geometry or wkt) or centroid "
            "columns (x/y, easting/northing or lon/lat) with a radius in metres; found "
            + ", ".join(map(repr, frame.columns)),
            file=path,
        )
    xcol, ycol = pair
    x = pd.to_numeric(frame[xcol], errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(frame[ycol], errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
    if len(bad):
        i = int(bad[0])
        raise DataError(
            f"{len(bad)} row(s) with missing or non-numeric centroid coordinates",
            file=path,
            row=i + 1,
            column=xcol if not np.isfinite(x[i]) else ycol,
            value=str(frame[xcol].iloc[i]) + ", " + str(frame[ycol].iloc[i]),
        )
    rcol = next((lookup[n] for n in _RADIUS_NAMES if n in lookup), None)
    if rcol is None and radius_m is None:
        raise DataError(
            f"centroid columns {xcol!r}/{ycol!r} but no radius column "
            f"({', '.join(_RADIUS_NAMES)}) in metres; add one or pass radius_m=",
            file=path,
        )
    if rcol is not None:
        r = pd.to_numeric(frame[rcol], errors="coerce").to_numpy(dtype="float64")
        bad_r = np.flatnonzero(~(np.isfinite(r) & (r > 0)))
        if len(bad_r):
            i = int(bad_r[0])
            raise DataError(
                f"{len(bad_r)} radius value(s) that are not positive numbers of metres",
                file=path,
                row=i + 1,
                column=rcol,
                value=frame[rcol].iloc[i],
            )
    else:
        r = np.full(len(frame), float(radius_m))  # type: ignore[arg-type]
    geom_crs = (
        crs if crs is not None else guess_crs(x, y, x_name=xcol, y_name=ycol, require_all=True)
    )
    if geom_crs is None:
        raise DataError(
            f"the CSV has no CRS and the centroids in {xcol!r}/{ycol!r} are neither WGS84 "
            "lon/lat nor British National Grid metres inside Great Britain; pass crs=",
            file=path,
        )
    from rct.geo import is_bng, to_bng

    ex, ny = (x, y) if is_bng(geom_crs) else to_bng(x, y, geom_crs)
    geom = circles(ex, ny, r)
    return frame, geom, "EPSG:27700"


# --------------------------------------------------------------------- checks


def _norm(name: object) -> str:
    import re

    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _hotspot_ids(gdf: gpd.GeoDataFrame, *, id_column: str, file: Path) -> tuple[np.ndarray, str]:
    """The hot-spot IDs as unique non-blank strings, and the column they came from."""
    import pandas as pd

    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    col = id_column if id_column in cols else None
    if col is None:
        lookup = {_norm(c): c for c in cols}
        names = _ID_ALIASES if id_column == "hotspot_id" else (_norm(id_column),)
        col = next((lookup[n] for n in names if n in lookup), None)
    if col is None:
        accepted = ", ".join(_ID_ALIASES) if id_column == "hotspot_id" else repr(id_column)
        raise DataError(
            f"no hot-spot ID column (looked for {accepted}); found {', '.join(map(repr, cols))}; "
            "pass id_column= to use another column",
            file=file,
        )
    raw = gdf[col]
    if pd.api.types.is_float_dtype(raw.dtype):
        whole = raw.dropna()
        if len(whole) and np.all(np.mod(whole.to_numpy(), 1) == 0):
            raw = raw.astype("Int64")
    text = raw.astype("string").str.strip()
    blank = np.flatnonzero((text.isna() | (text == "")).to_numpy())
    if len(blank):
        listed = ", ".join(str(i + 1) for i in blank[:_MAX_LISTED])
        raise DataError(
            f"{len(blank)} feature(s) with no {col} (rows {listed})",
            file=file,
            row=int(blank[0]) + 1,
            column=str(col),
        )
    from rct.io.safety import check_identifiers

    check_identifiers(text.reset_index(drop=True), file=file, column=str(col))
    dup = text.duplicated(keep=False).to_numpy()
    if dup.any():
        first = text[dup].iloc[0]
        rows = np.flatnonzero((text == first).to_numpy()) + 1
        n_ids = text[dup].nunique()
        raise DataError(
            f"duplicate {col} {first!r} in rows {', '.join(map(str, rows))}"
            + (f" ({n_ids} duplicated IDs in all)" if n_ids > 1 else ""),
            file=file,
            row=int(rows[0]),
            column=str(col),
            value=first,
        )
    return np.array(text.tolist(), dtype=object), str(col)


def _points_to_circles(
    gdf: gpd.GeoDataFrame, ids: np.ndarray, *, radius_m: float | None, file: Path
) -> gpd.GeoDataFrame:
    """Point features with a radius (column or ``radius_m``) become circles."""
    import pandas as pd
    import shapely

    geom = gdf.geometry.to_numpy()
    is_point = np.zeros(len(gdf), dtype=bool)
    present = ~shapely.is_missing(geom)
    is_point[present] = shapely.get_type_id(geom[present]) == 0
    if not is_point.any():
        return gdf
    lookup = {_norm(c): c for c in gdf.columns if c != gdf.geometry.name}
    rcol = next((lookup[n] for n in _RADIUS_NAMES if n in lookup), None)
    if rcol is None and radius_m is None:
        return gdf  # reported as "a point where a polygon was expected"
    if rcol is not None:
        r = pd.to_numeric(gdf[rcol], errors="coerce").to_numpy(dtype="float64")
        if radius_m is not None:
            r = np.where(np.isfinite(r), r, radius_m)
        bad = np.flatnonzero(is_point & ~(np.isfinite(r) & (r > 0)))
        if len(bad):
            i = int(bad[0])
            raise DataError(
                f"hot spot {ids[i]!r} is a point with no positive radius",
                file=file,
                row=i + 1,
                column=str(rcol),
                value=gdf[rcol].iloc[i],
            )
    else:
        r = np.full(len(gdf), float(radius_m))  # type: ignore[arg-type]
    new = geom.copy()  # gdf is in EPSG:27700 by now, so the radius is in metres
    new[is_point] = shapely.buffer(geom[is_point], r[is_point], quad_segs=16)
    return gdf.set_geometry(new, crs=gdf.crs)


def _check_geometry(gdf: gpd.GeoDataFrame, ids: np.ndarray, *, file: Path) -> None:
    from rct.geo import polygon_problems

    problems = polygon_problems(gdf.geometry.reset_index(drop=True))
    bad = np.flatnonzero(problems.notna().to_numpy())
    if len(bad):
        listed = "; ".join(
            f"row {i + 1} (hotspot_id {ids[i]!r}): {problems.iloc[i]}" for i in bad[:_MAX_LISTED]
        )
        more = f"; and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
        raise DataError(
            f"{len(bad)} unusable hot-spot geometr{'y' if len(bad) == 1 else 'ies'}: {listed}{more}",
            file=file,
            row=int(bad[0]) + 1,
            column="geometry",
            value=str(ids[bad[0]]),
        )


def _check_in_gb(gdf: gpd.GeoDataFrame, ids: np.ndarray, *, file: Path) -> None:
    from rct.geo import fits_bng

    b = gdf.geometry.bounds
    inside = fits_bng(b["minx"], b["miny"]) & fits_bng(b["maxx"], b["maxy"])
    bad = np.flatnonzero(~inside)
    if len(bad):
        listed = ", ".join(f"row {i + 1} ({ids[i]!r})" for i in bad[:_MAX_LISTED])
        raise DataError(
            f"{len(bad)} hot spot(s) outside Great Britain after conversion to British National "
            f"Grid: {listed}; is the CRS right? (pass crs=)",
            file=file,
            row=int(bad[0]) + 1,
            value=str(ids[bad[0]]),
        )
