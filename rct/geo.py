"""Coordinates and polygons: everything inside is EPSG:27700 (British National Grid) metres.

Inputs arrive as WGS84 longitude/latitude (police.uk, phone apps, GeoJSON)
or as British National Grid eastings/northings (force systems).  This
module converts them with cached :mod:`pyproj` transformers (always in
x = easting/longitude, y = northing/latitude order), tells the two apart
from column names and value ranges, checks points fall inside Great
Britain, and holds the few polygon helpers the readers need (validity,
areas, buffers, circles).

Point-in-polygon lives in :mod:`rct.pip`; the hexagonal grid in
:mod:`rct.hotspots`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd
    import pyproj

__all__ = [
    "BNG",
    "WGS84",
    "GB_BNG_BOUNDS",
    "GB_LONLAT_BOUNDS",
    "transformer",
    "normalise_crs",
    "is_bng",
    "to_bng",
    "from_bng",
    "in_gb",
    "fits_lonlat",
    "fits_bng",
    "crs_from_names",
    "guess_crs",
    "ensure_27700",
    "area_m2",
    "buffer",
    "circles",
    "polygon_problems",
]

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Great Britain in British National Grid metres: (xmin, ymin, xmax, ymax).
GB_BNG_BOUNDS: tuple[float, float, float, float] = (0.0, 0.0, 700_000.0, 1_300_000.0)
#: Great Britain in WGS84 degrees, generously: (lon_min, lat_min, lon_max, lat_max).
GB_LONLAT_BOUNDS: tuple[float, float, float, float] = (-9.0, 49.0, 2.5, 61.0)

_LON_NAMES = frozenset({"lon", "long", "lng", "longitude", "wgs84_lon", "lon_wgs84"})
_LAT_NAMES = frozenset({"lat", "latitude", "wgs84_lat", "lat_wgs84"})
_EAST_NAMES = frozenset({"easting", "eastings", "bng_x", "bng_easting", "os_x", "grid_x"})
_NORTH_NAMES = frozenset({"northing", "northings", "bng_y", "bng_northing", "os_y", "grid_y"})


# --------------------------------------------------------------------------- CRS


@functools.lru_cache(maxsize=64)
def _crs(key: str) -> pyproj.CRS:
    import pyproj

    return pyproj.CRS.from_user_input(key)


def normalise_crs(crs: Any) -> pyproj.CRS:
    """Any CRS spelling (``"EPSG:27700"``, ``27700``, WKT, :class:`pyproj.CRS`) -> :class:`pyproj.CRS`.

    Raises
    ------
    DataError
        If the CRS is not one :mod:`pyproj` knows.
    """
    import pyproj

    if isinstance(crs, pyproj.CRS):
        return crs
    key = str(crs).strip()
    if key.isdigit():
        key = f"EPSG:{key}"
    try:
        return _crs(key)
    except pyproj.exceptions.CRSError as exc:
        raise DataError(f"unknown coordinate reference system {crs!r} ({exc})") from None


def _crs_key(crs: Any) -> str:
    c = normalise_crs(crs)
    epsg = c.to_epsg(min_confidence=90)
    return f"EPSG:{epsg}" if epsg is not None else c.to_wkt()


def is_bng(crs: Any) -> bool:
    """True if ``crs`` is British National Grid (EPSG:27700)."""
    return _crs_key(crs) == BNG


@functools.lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    import pyproj

    return pyproj.Transformer.from_crs(_crs(src), _crs(dst), always_xy=True)


def transformer(src: Any, dst: Any = BNG) -> pyproj.Transformer:
    """A cached :class:`pyproj.Transformer` from ``src`` to ``dst`` with ``always_xy=True``."""
    return _transformer(_crs_key(src), _crs_key(dst))


def _xy_arrays(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype="float64")
    ya = np.asarray(y, dtype="float64")
    if xa.shape != ya.shape:
        raise ValueError(f"x and y differ in shape: {xa.shape} and {ya.shape}")
    return xa, ya


def _transform(x: Any, y: Any, src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = _xy_arrays(x, y)
    if _crs_key(src) == _crs_key(dst):
        return xa.copy(), ya.copy()
    ok = np.isfinite(xa) & np.isfinite(ya)
    ox = np.full(xa.shape, np.nan)
    oy = np.full(ya.shape, np.nan)
    if ok.any():
        tx, ty = transformer(src, dst).transform(xa[ok], ya[ok])
        tx = np.asarray(tx, dtype="float64")
        ty = np.asarray(ty, dtype="float64")
        bad = ~(np.isfinite(tx) & np.isfinite(ty))
        tx[bad] = np.nan
        ty[bad] = np.nan
        ox[ok] = tx
        oy[ok] = ty
    return ox, oy


def to_bng(x: Any, y: Any, crs: Any = WGS84) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` to British National Grid metres.

    Parameters
    ----------
    x, y
        Array-likes of equal shape: longitude/latitude (or easting/northing
        in another projected CRS), in x-then-y order whatever the CRS's
        official axis order.
    crs
        The CRS of ``x``, ``y`` (default WGS84).

    Returns
    -------
    easting, northing : numpy float arrays
        NaN where an input was missing or could not be transformed.
    """
    return _transform(x, y, crs, BNG)


def from_bng(x: Any, y: Any, crs: Any = WGS84) -> tuple[np.ndarray, np.ndarray]:
    """Convert British National Grid metres to ``crs`` (default WGS84 lon/lat)."""
    return _transform(x, y, BNG, crs)


# ------------------------------------------------------------------ GB extent


def _inside(x: np.ndarray, y: np.ndarray, bounds: Sequence[float]) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    with np.errstate(invalid="ignore"):
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def fits_lonlat(x: Any, y: Any) -> np.ndarray:
    """True where (x, y) could be a WGS84 longitude/latitude inside Great Britain."""
    return _inside(*_xy_arrays(x, y), GB_LONLAT_BOUNDS)


def fits_bng(x: Any, y: Any) -> np.ndarray:
    """True where (x, y) lies inside Great Britain's box in British National Grid metres."""
    return _inside(*_xy_arrays(x, y), GB_BNG_BOUNDS)


def in_gb(x: Any, y: Any, *, crs: Any = BNG) -> np.ndarray:
    """True where a point lies inside Great Britain's bounding box (False for NaN).

    The check is a box (British National Grid 0-700 km east, 0-1300 km
    north), not a coastline: it catches swapped axes, wrong CRSs, ``(0, 0)``
    placeholders and typos, not points in the sea.
    """
    if is_bng(crs):
        xa, ya = _xy_arrays(x, y)
    else:
        xa, ya = to_bng(x, y, crs)
    return fits_bng(xa, ya) & ~((xa == 0) & (ya == 0))


def _norm_name(name: object) -> str:
    import re

    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def crs_from_names(x_name: object, y_name: object) -> str | None:
    """CRS implied by column names: lon/lat -> WGS84, easting/northing -> BNG, else None."""
    xn, yn = _norm_name(x_name), _norm_name(y_name)
    if xn in _LON_NAMES and yn in _LAT_NAMES:
        return WGS84
    if xn in _EAST_NAMES and yn in _NORTH_NAMES:
        return BNG
    return None


def guess_crs(
    x: Any,
    y: Any,
    *,
    x_name: object | None = None,
    y_name: object | None = None,
    require_all: bool = False,
) -> str | None:
    """Guess whether coordinates are WGS84 lon/lat or British National Grid.

    Parameters
    ----------
    x, y
        Coordinate values (NaN ignored).
    x_name, y_name
        Column names; ``lon``/``lat`` or ``easting``/``northing`` settle it.
    require_all
        If True every finite point must fit the guessed CRS's GB box (used
        for hot spots, where one odd feature means the file is
        misunderstood); otherwise the CRS that fits more points wins (used
        for crimes, where odd rows are quarantined later).

    Returns
    -------
    ``"EPSG:4326"``, ``"EPSG:27700"`` or None when it cannot be told.
    """
    if x_name is not None and y_name is not None:
        named = crs_from_names(x_name, y_name)
        if named is not None:
            return named
    xa, ya = _xy_arrays(x, y)
    finite = np.isfinite(xa) & np.isfinite(ya)
    n = int(finite.sum())
    if n == 0:
        return None
    ll = fits_lonlat(xa, ya)
    bng = fits_bng(xa, ya) & ~ll
    n_ll, n_bng = int(ll.sum()), int(bng.sum())
    if require_all:
        if n_ll == n:
            return WGS84
        if n_bng + n_ll == n and n_bng > 0 and n_ll == 0:
            return BNG
        return None
    if n_ll == 0 and n_bng == 0:
        return None
    return WGS84 if n_ll > n_bng else BNG


# ------------------------------------------------------------------- polygons


def ensure_27700(
    gdf: gpd.GeoDataFrame, *, crs: Any | None = None, file: object | None = None
) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:27700, working out its CRS if it has none.

    Parameters
    ----------
    gdf
        A GeoDataFrame, with or without a CRS.
    crs
        The CRS its coordinates are really in; overrides whatever the frame
        says (use it for GeoJSON files written in British National Grid
        without a ``crs`` member).
    file
        Named in error messages.

    Raises
    ------
    DataError
        No CRS and the coordinates fit neither lon/lat nor British National
        Grid in Great Britain; or a geographic CRS whose coordinates are
        clearly not degrees.
    """
    if crs is not None:
        gdf = gdf.set_crs(normalise_crs(crs), allow_override=True)
    elif gdf.crs is None:
        b = gdf.geometry.bounds
        xs = np.concatenate([b["minx"].to_numpy(), b["maxx"].to_numpy()])
        ys = np.concatenate([b["miny"].to_numpy(), b["maxy"].to_numpy()])
        guess = guess_crs(xs, ys, require_all=True)
        if guess is None:
            raise DataError(
                "no coordinate reference system in the file and the coordinates are neither "
                "WGS84 longitude/latitude nor British National Grid metres inside Great Britain; "
                "pass crs= (e.g. crs='EPSG:27700')",
                file=file,
            )
        gdf = gdf.set_crs(guess)
    elif gdf.crs.is_geographic and len(gdf):
        b = gdf.geometry.bounds.dropna()
        if len(b) and not (
            fits_lonlat(b["minx"], b["miny"]).all() and fits_lonlat(b["maxx"], b["maxy"]).all()
        ):
            hint = ""
            if (fits_bng(b["minx"], b["miny"]) & fits_bng(b["maxx"], b["maxy"])).all():
                hint = "; they look like British National Grid metres: pass crs='EPSG:27700'"
            raise DataError(
                f"the file says its coordinates are degrees ({gdf.crs.name}) but they are not "
                f"longitude/latitude inside Great Britain{hint}",
                file=file,
            )
    if is_bng(gdf.crs):
        return gdf
    return gdf.to_crs(BNG)


def area_m2(geoms: Any) -> np.ndarray:
    """Area in square metres of each polygon (geometries in EPSG:27700 metres)."""
    import shapely

    g = getattr(geoms, "values", geoms)
    crs = getattr(geoms, "crs", None)
    if crs is not None and not is_bng(crs):
        raise DataError(f"area_m2 needs EPSG:27700 geometries, got {crs}")
    return np.asarray(shapely.area(np.asarray(g)), dtype="float64")


def buffer(geoms: Any, distance_m: float, *, quad_segs: int = 16) -> np.ndarray:
    """Buffer geometries (EPSG:27700 metres) by ``distance_m`` metres.

    Returns a numpy array of shapely geometries (wrap it in a GeoSeries
    with ``crs="EPSG:27700"`` if needed).  A negative distance shrinks.
    """
    import shapely

    if not np.isfinite(distance_m):
        raise ValueError(f"distance_m must be finite, got {distance_m!r}")
    g = np.asarray(getattr(geoms, "values", geoms))
    return shapely.buffer(g, float(distance_m), quad_segs=quad_segs)


def circles(x: Any, y: Any, radius_m: Any, *, quad_segs: int = 16) -> np.ndarray:
    """Circular polygons (``4 * quad_segs``-gons) around points in EPSG:27700.

    The polygon's area is ``(1 - O(quad_segs**-2))`` of ``pi r**2`` (0.16 %
    short at the default).
    """
    import shapely

    xa, ya = _xy_arrays(x, y)
    r = np.broadcast_to(np.asarray(radius_m, dtype="float64"), xa.shape)
    return shapely.buffer(shapely.points(xa, ya), r, quad_segs=quad_segs)


def polygon_problems(geoms: Any) -> pd.Series:
    """Why each geometry is not a usable hot-spot polygon (None where it is).

    Problems: missing, empty, not a Polygon/MultiPolygon (e.g. a point
    where a polygon was expected), zero area, or invalid (self-
    intersection, ring self-intersection, ... with shapely's location).
    """
    import pandas as pd
    import shapely

    g = np.asarray(getattr(geoms, "values", geoms), dtype=object)
    index = getattr(geoms, "index", None)
    out = np.full(len(g), None, dtype=object)
    missing = shapely.is_missing(g)
    out[missing] = "missing geometry"
    have = ~missing
    empty = np.zeros(len(g), dtype=bool)
    empty[have] = shapely.is_empty(g[have])
    out[empty] = "empty geometry"
    rest = have & ~empty
    type_id = np.full(len(g), -1)
    type_id[rest] = shapely.get_type_id(g[rest])
    polygonal = np.isin(type_id, (3, 6))  # Polygon, MultiPolygon
    label = {0: "a point", 1: "a line", 2: "a ring", 4: "points", 5: "lines", 7: "a collection"}
    for t in np.unique(type_id[rest & ~polygonal]):
        out[rest & (type_id == t)] = (
            f"{label.get(int(t), 'not a polygon')} where a polygon was expected"
        )
    poly = np.flatnonzero(rest & polygonal)
    if len(poly):
        valid = shapely.is_valid(g[poly])
        bad = poly[~valid]
        if len(bad):
            out[bad] = np.array(
                [f"invalid geometry: {r}" for r in shapely.is_valid_reason(g[bad])], dtype=object
            )
        ok = poly[valid]
        out[ok[shapely.area(g[ok]) <= 0]] = "polygon with zero area"
    return pd.Series(out, index=index if index is not None else range(len(g)), dtype="object")
