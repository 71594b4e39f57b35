"""Hot-spot files: GeoJSON, GeoPackage, Shapefile, or CSV (WKT or centroid + radius).

:func:`read_hotspots` returns a GeoDataFrame in EPSG:27700 with a unique
string ``hotspot_id``, polygonal geometry and every other column of the
file; anything that would make a trial's hot spots ambiguous (duplicate or
missing IDs, invalid or non-polygonal geometry, an unknown CRS, a feature
outside Great Britain) raises :class:`~rct.errors.DataError` naming the file
and the feature.  :func:`write_hotspots` writes RFC 7946 GeoJSON (WGS84)
atomically.
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

__all__ = ["read_hotspots", "write_hotspots", "hotspots_geojson"]

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
) -> gpd.GeoDataFrame:
    """Read hot spots into a GeoDataFrame in EPSG:27700.

    Parameters
    ----------
    path
        GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``), Shapefile
        (``.shp`` or a ``.zip`` holding one), or CSV.  A CSV holds either a
        WKT column (``geometry`` or ``wkt``) or a centroid (``x``/``y``,
        ``easting``/``northing`` or ``lon``/``lat``) with a ``radius`` column
        in metres, which becomes a circle.
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

    Returns
    -------
    GeoDataFrame
        Index 0..n-1; ``hotspot_id`` (str, unique) first, then the file's
        other columns, then ``geometry`` (Polygon/MultiPolygon, EPSG:27700).

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

    path = Path(path)
    if not path.exists():
        raise DataError("hot-spot file not found", file=path)
    if radius_m is not None and not (np.isfinite(radius_m) and radius_m > 0):
        raise ValueError(f"radius_m must be a positive number of metres, got {radius_m!r}")
    if crs is not None:
        crs = normalise_crs(crs)

    if _is_csv(path):
        frame, geom, geom_crs = _read_csv(path, crs=crs, radius_m=radius_m)
        gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, index=frame.index), crs=geom_crs)
    else:
        gdf = _read_vector(path, layer=layer)
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
    _check_geometry(gdf, ids, file=path)
    _check_in_gb(gdf, ids, file=path)

    geom = shapely.force_2d(gdf.geometry.to_numpy())
    others = [c for c in gdf.columns if c != gdf.geometry.name]
    return gpd.GeoDataFrame(
        {"hotspot_id": ids, **{c: gdf[c].to_numpy() for c in others}},
        geometry=gpd.GeoSeries(geom, crs=BNG),
    )


def write_hotspots(
    gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, force: bool = True
) -> Path:
    """Write hot spots as GeoJSON in WGS84 (RFC 7946), atomically.

    Exterior rings are counter-clockwise as RFC 7946 recommends; the
    properties are every column but the geometry.  ``force=False`` refuses
    an existing file.
    """
    from rct.io.atomic import check_overwrite, write_text

    check_overwrite([path], force=force)
    return write_text(path, hotspots_geojson(gdf, path=path))


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


def _read_csv(
    path: Path, *, crs: Any | None, radius_m: float | None
) -> tuple[pd.DataFrame, np.ndarray, Any]:
    import pandas as pd
    import shapely

    from rct.geo import circles, guess_crs
    from rct.io.delimited import read_csv_pandas, sniff_csv

    # one reader for every CSV: any encoding, the delimiter from the header, a column named
    # twice or a row with the wrong number of fields refused (never shifted into another column)
    cols = list(sniff_csv(path).columns)
    as_text = {c: str for c in cols if _norm(c) in (*_ID_ALIASES, "name", *_WKT_NAMES)}
    try:
        frame = read_csv_pandas(path, dtype=as_text)
    except DataError:
        raise
    except Exception as exc:  # the parsers raise many types on hostile input
        raise DataError(f"cannot read as CSV ({type(exc).__name__}: {exc})", file=path) from None
    frame.columns = [str(c).strip() for c in frame.columns]
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
