"""Fast point in polygon: which hot spot (if any) contains each of millions of points.

A few hundred hot-spot polygons against tens of millions of points (Airwave
pings, crimes).  :class:`PolygonIndex` is built once from the polygons and
then answers :meth:`~PolygonIndex.locate` (one polygon per point) and
:meth:`~PolygonIndex.locate_all` (every (point, polygon) pair, for
overlapping buffered polygons) with one numba kernel (:func:`_scan`,
compiled once per install for one signature and cached; serial by default,
see :func:`_split`).

Semantics
---------
* A point *on* an edge or vertex (including the edges of holes) counts as
  inside: the result equals ``shapely.intersects_xy(polygon, x, y)``.
* ``locate`` returns the **lowest** index of the polygons containing a point,
  ``-1`` for none; NaN coordinates give ``-1``.
* ``buffer_m`` grows each polygon by that many metres (``shapely.buffer``,
  ``quad_segs`` segments per quarter circle, so a round corner is a polygon
  whose vertices lie on the true circle: inside it by at most
  ``buffer_m * (1 - cos(pi / (4 * quad_segs)))``, 3 cm for 25 m and 16).
  The buffer is taken in EPSG:27700 metres.

Points in lon/lat
-----------------
All polygons are held in EPSG:27700.  Points given in another CRS
(``crs="EPSG:4326"``) are **not** reprojected; instead the (buffered)
polygons are densified to vertices at most 10 m apart and reprojected to the
points' CRS with pyproj (``always_xy=True``), and the test is done there.
Reprojecting 300 polygons takes milliseconds; reprojecting 10 million points
takes about 4 s on this machine (pyproj, 0.38 s per million), longer than the
whole pipeline.  The price: in lon/lat the polygon edges are straight lines
between reprojected vertices, within about 0.01 mm of the image of the
straight 27700 edges at 10 m spacing -- far below GPS accuracy; "exactly on
an edge" then means on the edge of the reprojected polygon.

Algorithm
---------
A two-level uniform grid covers the polygons' bounding box: a coarse grid of
cells about the size of a hot spot, and for each coarse cell touched by a
polygon a block of ``8 x 8`` fine cells.  Each fine cell is classified at
build time (with shapely) per polygon as *outside*, *fully inside* (no edge
within the cell, expanded by a small margin, and the centre inside) or
*boundary*.  A point in an empty cell is answered with two array look-ups; a
point in a fully-inside cell with three; only points in boundary cells run a
crossing-number test, and only against the edges of that polygon that cross
the point's fine-cell row (a horizontal ray meets no other edge).

The crossing test is exact: every decision is the sign of the orientation
determinant, computed in floating point with Shewchuk's error bound
(``orient2dfast`` with ``ccwerrboundA``); when the bound cannot certify the
sign (points within about 1e-16 relative of an edge's line) the point is
marked *uncertain* and settled afterwards by shapely's robust predicate
(GEOS), for those few points only.  No shapely Point is created for the
others.

References
----------
J. R. Shewchuk (1997), Adaptive precision floating-point arithmetic and fast
robust geometric predicates, *Discrete & Computational Geometry* 18, 305-363.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from rct import _pip_grid
from rct._pip_grid import _KEYS, build_arrays

# Fine cells per coarse cell side.  Written here, not imported, on purpose: numba's
# on-disk cache is invalidated only when *this* file changes, and the kernels below
# compile the value in; the grid builder must agree (checked at import).
_FINE = 8
if _FINE != _pip_grid._FINE:  # pragma: no cover - a developer changed one side only
    raise ImportError(f"rct.pip._FINE = {_FINE} differs from rct._pip_grid._FINE = "
                      f"{_pip_grid._FINE}; change both (numba caches compile it in)")

_SHIFT = np.uint64(_FINE.bit_length() - 1)  # log2(_FINE)
_MASK = np.uint64(_FINE - 1)

__all__ = ["PolygonIndex", "locate", "locate_all"]

BNG = "EPSG:27700"
_EPS = 2.0**-53
_CCW_ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS
_DENSIFY_M = 10.0


def _can_cache() -> bool:
    """True if numba can cache this module's kernels somewhere writable."""
    try:
        from numba.core.caching import CompileResultCacheImpl

        CompileResultCacheImpl(_can_cache_probe)
        return True
    except Exception:  # no writable __pycache__ nor user cache dir
        return False


def _can_cache_probe() -> None:  # pragma: no cover - only inspected
    return None


_CACHE = _can_cache()


# --------------------------------------------------------------------------- kernels
@numba.njit(cache=_CACHE, inline="always")
def _orient(ax, ay, bx, by, px, py):  # pragma: no cover - compiled
    """Sign of cross(a - p, b - p): 1, -1, 0, or 2 when not certified."""
    detleft = (ax - px) * (by - py)
    detright = (ay - py) * (bx - px)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = -detleft - detright
    else:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    errbound = _CCW_ERRBOUND_A * detsum
    if det > errbound:
        return 1
    if -det > errbound:
        return -1
    return 2


@numba.njit(cache=_CACHE, inline="always")
def _in_poly(p, gy, px, py, row0, nrows, band_base, band_ptr, band_edges, ex0, ey0, ex1, ey1
             ):  # pragma: no cover
    """0 outside, 1 inside or on the boundary, 2 uncertain (the index arrays passed unpacked)."""
    r = gy - row0[p]
    if r < 0 or r >= nrows[p]:
        return 0
    b = band_base[p] + r
    inside = False
    uncertain = False
    for k in range(band_ptr[b], band_ptr[b + 1]):
        e = band_edges[k]
        ax = ex0[e]
        ay = ey0[e]
        bx = ex1[e]
        by = ey1[e]
        if ay == by:
            if py == ay and min(ax, bx) <= px <= max(ax, bx):
                return 1
            continue
        if py < min(ay, by) or py > max(ay, by):
            continue
        o = _orient(ax, ay, bx, by, px, py)
        if o == 0:
            return 1
        if o == 2:
            uncertain = True
            continue
        if ay <= py < by:
            if o > 0:
                inside = not inside
        elif by <= py < ay:
            if o < 0:
                inside = not inside
    if uncertain:
        return 2
    return 1 if inside else 0


@numba.njit(cache=_CACHE, inline="always")
def _cell_code(px, py, g, coarse, fine):  # pragma: no cover
    """(code, gy): fine-cell code (-1 empty) and the point's global fine row."""
    x0, y0, inv, nfx, nfy, ncx = g[0], g[1], g[2], g[3], g[4], g[5]
    fx = (px - x0) * inv
    fy = (py - y0) * inv
    if not (fx >= 0.0 and fy >= 0.0 and fx < nfx and fy < nfy):  # NaN fails too
        return -1, 0
    gx = np.uint64(fx)  # non-negative: shifts and masks instead of floor division
    gy = np.uint64(fy)
    blk = coarse[(gy >> _SHIFT) * np.uint64(ncx) + (gx >> _SHIFT)]
    if blk < 0:
        return -1, np.int64(gy)
    sub = ((gy & _MASK) << _SHIFT) + (gx & _MASK)
    return fine[np.int64(blk) * (_FINE * _FINE) + np.int64(sub)], np.int64(gy)


_FIRST, _FIRST_MULTI, _COUNT, _FILL = 0, 1, 2, 3  # what :func:`_scan` computes


# _nrt=False: no reference counting in the kernel (it allocates nothing).  With it, every
# array handed to the inlined helpers costs an atomic increment and decrement per point:
# twice the CPU time of the whole test on this benchmark.
@numba.njit(cache=_CACHE, nogil=True, _nrt=False)
def _scan(xs, ys, where, a, mode, out, offsets, pt, pg, lo, hi):  # pragma: no cover
    """The one point kernel, for points ``lo`` to ``hi`` (only those with ``where`` when it is
    non-empty; ``out`` is -1 elsewhere).

    ``mode``: ``_FIRST`` writes ``out[i]`` = the lowest polygon containing the point, -1
    none, -2 uncertain; ``_FIRST_MULTI`` the same, or -3 when several contain it;
    ``_COUNT`` the number of polygons containing it (-1 uncertain); ``_FILL`` writes the
    point's pairs to ``pt``/``pg`` from ``offsets[i]`` to ``offsets[i + 1]`` (nothing when
    they are equal).  One kernel for all four so that numba compiles (and caches) the
    crossing test once.  The arrays of ``a`` are unpacked once, outside the loop: taking
    them from the tuple per point (a reference count each) costs more than the test.
    """
    g, coarse, fine, cl_ptr, cl_poly, cl_full = a[0], a[1], a[2], a[3], a[4], a[5]
    row0, nrows, band_base, band_ptr, band_edges = a[6], a[7], a[8], a[9], a[10]
    ex0, ey0, ex1, ey1 = a[11], a[12], a[13], a[14]
    every = where.shape[0] == 0
    fill = mode == _FILL
    for i in range(lo, hi):
        if not (every or where[i]):
            out[i] = -1
            continue
        if fill and offsets[i + 1] == offsets[i]:
            continue
        px = xs[i]
        py = ys[i]
        code, gy = _cell_code(px, py, g, coarse, fine)
        if code >= -1:  # empty cell (-1) or one polygon's fully-inside cell
            if fill:
                pt[offsets[i]] = i
                pg[offsets[i]] = code
            elif mode == _COUNT:
                out[i] = 0 if code == -1 else 1
            else:
                out[i] = code
            continue
        j = -code - 2
        res = -1
        hits = 0
        unc = False
        o = offsets[i] if fill else 0
        for k in range(cl_ptr[j], cl_ptr[j + 1]):
            p = cl_poly[k]
            t = 1 if cl_full[k] else _in_poly(p, gy, px, py, row0, nrows, band_base, band_ptr,
                                              band_edges, ex0, ey0, ex1, ey1)
            if t == 1:
                if hits == 0:
                    res = p
                hits += 1
                if fill:
                    pt[o] = i
                    pg[o] = p
                    o += 1
                elif (mode == _FIRST) or (mode == _FIRST_MULTI and hits > 1):
                    break
            elif t == 2:
                unc = True
        if mode == _COUNT:
            out[i] = -1 if unc else hits
        elif not fill:
            out[i] = -2 if unc else (-3 if hits > 1 else res)


_ALL = np.zeros(0, dtype=np.bool_)  # ``where`` of :func:`_scan`: every point
_NO_OFFSETS = np.zeros(0, dtype=np.int64)
_NO_PT = np.zeros(0, dtype=np.int64)
_NO_PG = np.zeros(0, dtype=np.int32)


def _threads() -> int:
    """Threads for the point kernels: ``RCT_NUM_THREADS`` (default 1; see :func:`_split`)."""
    try:
        return max(1, int(os.environ.get("RCT_NUM_THREADS", "1")))
    except ValueError:
        return 1


_MIN_PER_THREAD = 200_000  # points: fewer run in the calling thread


def _split(n: int) -> list[tuple[int, int]]:
    """Contiguous ranges of ``range(n)``, one per thread.

    The kernel is serial and releases the GIL, so ranges run in Python
    threads.  Default one thread (issue 16, goal 5: two threads must give at
    least 1.6x, else serial): on this 2-core machine the old parallel kernel
    gave 1.46x with two threads at a quiet moment and was slower than one
    under load; this kernel, 1.1x under load (``locate_all`` of 10 M points,
    0.64 s vs 0.58 s); and point in polygon is under a twentieth of the CPU
    time of an Airwave run.  ``RCT_NUM_THREADS=2`` for a machine with idle
    cores.
    """
    k = min(_threads(), max(1, n // _MIN_PER_THREAD))
    cuts = np.linspace(0, n, k + 1).astype(np.int64)
    return [(int(cuts[i]), int(cuts[i + 1])) for i in range(k)]


def _run(fn: Any, parts: list[tuple[int, int]]) -> list[Any]:
    if len(parts) == 1:
        return [fn(*parts[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        return list(pool.map(lambda r: fn(*r), parts))


def _signature() -> tuple:
    """The one signature :func:`_scan` is compiled for: inputs read-only (a writable array
    converts to it; a read-only one, e.g. a zero-copy pyarrow column, would otherwise
    compile a second time), outputs writable."""
    from numba import types as nt

    def ro(d: Any) -> Any:
        return nt.Array(d, 1, "C", readonly=True)

    def rw(d: Any) -> Any:
        return nt.Array(d, 1, "C")

    f8, i4, i8, b1 = nt.float64, nt.int32, nt.int64, nt.boolean
    a = nt.Tuple([ro(f8), ro(i4), ro(i4), ro(i8), ro(i4), ro(b1), ro(i8), ro(i8), ro(i8),
                  ro(i8), ro(i8), ro(f8), ro(f8), ro(f8), ro(f8)])
    return (ro(f8), ro(f8), ro(b1), a, i8, rw(i4), ro(i8), rw(i8), rw(i4), i8, i8)


_compiled: list[Any] = []


def _kernel() -> Any:
    """:func:`_scan`, compiled (or loaded from numba's cache) for :func:`_signature` on first
    use, then closed to further compilation: one compile per install, whatever the inputs."""
    if not _compiled:
        _scan.compile(_signature())
        _scan.disable_compile()
        _compiled.append(_scan)
    return _compiled[0]


def _locate(xs: np.ndarray, ys: np.ndarray, where: np.ndarray, a: tuple, multi: bool
            ) -> np.ndarray:
    out = np.empty(len(xs), dtype=np.int32)
    mode = _FIRST_MULTI if multi else _FIRST
    scan = _kernel()
    _run(lambda lo, hi: scan(xs, ys, where, a, mode, out, _NO_OFFSETS, _NO_PT, _NO_PG, lo, hi),
         _split(len(xs)))
    return out


def _pairs_of(xs: np.ndarray, ys: np.ndarray, a: tuple
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: its count of polygons (-1 uncertain), and every (point, polygon) pair."""
    n = len(xs)
    counts = np.empty(n, dtype=np.int32)
    parts = _split(n)
    scan = _kernel()
    _run(lambda lo, hi: scan(xs, ys, _ALL, a, _COUNT, counts, _NO_OFFSETS, _NO_PT, _NO_PG,
                              lo, hi), parts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.maximum(counts, 0), out=offsets[1:])
    pt = np.empty(offsets[-1], dtype=np.int64)
    pg = np.empty(offsets[-1], dtype=np.int32)
    _run(lambda lo, hi: scan(xs, ys, _ALL, a, _FILL, counts, offsets, pt, pg, lo, hi), parts)
    return counts, pt, pg


def _compact(first: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of single hits (with their polygon) and of special points (< -1)."""
    single = np.flatnonzero(first >= 0)
    return single, first[single], np.flatnonzero(first < -1)


# --------------------------------------------------------------------------- index
@dataclass(frozen=True, eq=False)
class PolygonIndex:
    """A grid index of polygons for fast point-in-polygon queries.

    Build with :meth:`build`; query with :meth:`locate` / :meth:`locate_all`.
    The object holds only numpy arrays and shapely geometries, so it pickles
    (e.g. to Dask workers).

    Attributes
    ----------
    geometries : ndarray of shapely geometries
        The polygons as tested (buffered, and reprojected to ``crs``).
    buffer_m : float
        Buffer applied, in metres.
    crs : str
        CRS of the points to be queried (and of ``geometries``).
    """

    geometries: np.ndarray
    buffer_m: float
    crs: str
    _arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def n(self) -> int:
        """Number of polygons."""
        return len(self.geometries)

    @classmethod
    def build(
        cls,
        polygons: Any,
        *,
        buffer_m: float = 0.0,
        crs: str | int = BNG,
        quad_segs: int = 16,
    ) -> PolygonIndex:
        """Index polygons (a GeoDataFrame/GeoSeries or a sequence of shapely geometries).

        Parameters
        ----------
        polygons
            Polygons/MultiPolygons; a GeoDataFrame or GeoSeries is converted
            to EPSG:27700 first, bare shapely geometries are taken to be in
            EPSG:27700.  Position ``i`` is polygon index ``i``.
        buffer_m
            Grow every polygon by this many metres (0: none; negative shrinks).
        crs
            CRS of the points that will be queried; the (buffered) polygons
            are densified and reprojected to it when it is not EPSG:27700.
        quad_segs
            Segments per quarter circle of the buffer's rounded corners.
        """
        import shapely

        geoms = _as_geometries(polygons)
        bad = ~shapely.is_valid(geoms) & ~shapely.is_empty(geoms)
        if buffer_m == 0 and bad.any():
            from rct.errors import DataError

            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"polygon {i} is not valid ({shapely.is_valid_reason(geoms[i])}); "
                "repair it (e.g. shapely.make_valid) before locating points"
            )
        kinds = shapely.get_type_id(geoms)
        if np.any(~np.isin(kinds, (3, 6)) & ~shapely.is_empty(geoms)):
            raise ValueError("every geometry must be a Polygon or MultiPolygon")
        if buffer_m:
            geoms = shapely.buffer(geoms, float(buffer_m), quad_segs=quad_segs)
        crs_s = _crs_string(crs)
        if crs_s != BNG:
            from pyproj import Transformer

            tr = Transformer.from_crs(BNG, crs_s, always_xy=True)
            geoms = shapely.segmentize(geoms, _DENSIFY_M)
            geoms = shapely.transform(
                geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
            )
        arrays = build_arrays(geoms)
        return cls(geometries=geoms, buffer_m=float(buffer_m), crs=crs_s, _arrays=arrays)

    # ------------------------------------------------------------------ queries
    def _kargs(self) -> tuple:
        return tuple(self._arrays[k] for k in _KEYS)

    def locate(self, x: Any, y: Any) -> np.ndarray:
        """Index of the lowest-numbered polygon containing each point, -1 for none.

        Returns
        -------
        ndarray of int32, one value per point.
        """
        xs, ys = _xy(x, y)
        if self.n == 0 or len(xs) == 0:
            return np.full(len(xs), -1, dtype=np.int32)
        out = _locate(xs, ys, _ALL, self._kargs(), False)
        unc = np.flatnonzero(out == -2)
        if len(unc):
            pi, gi = self._exact_pairs(xs[unc], ys[unc])
            best = np.full(len(unc), np.iinfo(np.int32).max, dtype=np.int64)
            np.minimum.at(best, pi, gi)
            out[unc] = np.where(best == np.iinfo(np.int32).max, -1, best).astype(np.int32)
        return out

    def locate_all(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Every (point, polygon) pair with the point inside or on the polygon.

        Returns
        -------
        point_idx : ndarray of int64
        poly_idx : ndarray of int32
            Sorted by point, then polygon.
        """
        xs, ys = _xy(x, y)
        if self.n == 0 or len(xs) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        first = _locate(xs, ys, _ALL, self._kargs(), True)
        return self._pairs(xs, ys, *_compact(first))

    def _first_where(self, xs: np.ndarray, ys: np.ndarray, where: np.ndarray) -> np.ndarray:
        """The fast kernel's verdict (``multi=True``) where ``where`` (-1 elsewhere), for
        :meth:`_pairs`.  (Other modules must not call the kernels from their own cached
        numba functions: numba's cache would not see a change to this module.)"""
        if self.n == 0:
            return np.full(len(xs), -1, dtype=np.int32)
        return _locate(xs, ys, np.ascontiguousarray(where, dtype=np.bool_), self._kargs(), True)

    def _pairs(
        self,
        xs: np.ndarray,
        ys: np.ndarray,
        single: np.ndarray,
        single_poly: np.ndarray,
        special: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`locate_all` from the fast kernel's verdicts, compacted (see ``_compact``):
        the points in exactly one polygon, with it, and the special points (several
        polygons, or uncertain), all sorted by point."""
        if not len(special):
            return single, single_poly
        # the few special points: count and fill every pair, then GEOS for uncertain ones
        sx, sy = xs[special], ys[special]
        counts, spt, spg = _pairs_of(sx, sy, self._kargs())
        unc = np.flatnonzero(counts < 0)
        if len(unc):
            pi, gi = self._exact_pairs(sx[unc], sy[unc])
            spt = np.concatenate([spt, unc[pi]])
            spg = np.concatenate([spg, gi.astype(np.int32)])
            order = np.lexsort((spg, spt))
            spt, spg = spt[order], spg[order]
        # merge two point-sorted lists over disjoint points (no full sort)
        sp = special[spt]
        at = np.searchsorted(single, sp) + np.arange(len(sp))
        pt = np.empty(len(single) + len(sp), dtype=np.int64)
        pg = np.empty(len(pt), dtype=np.int32)
        rest = np.ones(len(pt), dtype=bool)
        rest[at] = False
        pt[at], pg[at] = sp, spg
        pt[rest], pg[rest] = single, single_poly
        return pt, pg

    def _exact_pairs(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Robust (GEOS) pairs for the few points the fast kernel could not certify."""
        import shapely

        tree = self._arrays.get("_tree")
        if tree is None:
            tree = shapely.STRtree(self.geometries)
            self._arrays["_tree"] = tree  # cache; the dict is private and mutable
        pts = shapely.points(xs, ys)
        pi, gi = tree.query(pts, predicate="intersects")
        return pi.astype(np.int64), gi.astype(np.int64)


def locate(
    x: Any, y: Any, polygons: Any, *, buffer_m: float = 0.0, crs: str | int = BNG
) -> np.ndarray:
    """Index (0..n-1) of the polygon containing each point, -1 for none.

    Points on an edge count as inside; where polygons overlap the lowest
    index wins (see :func:`locate_all` for every pair).  ``polygons`` may be
    a GeoDataFrame/GeoSeries, a sequence of shapely geometries, or a
    :class:`PolygonIndex` (then ``buffer_m``/``crs`` must match it).

    Examples
    --------
    >>> import shapely
    >>> locate([0.5, 2.0], [0.5, 0.0], [shapely.box(0, 0, 1, 1)]).tolist()
    [0, -1]
    """
    return _index(polygons, buffer_m, crs).locate(x, y)


def locate_all(
    x: Any, y: Any, polygons: Any, *, buffer_m: float = 0.0, crs: str | int = BNG
) -> tuple[np.ndarray, np.ndarray]:
    """All (point_idx, poly_idx) pairs with the point inside or on the polygon."""
    return _index(polygons, buffer_m, crs).locate_all(x, y)


# --------------------------------------------------------------------------- helpers
def _index(polygons: Any, buffer_m: float, crs: str | int) -> PolygonIndex:
    if isinstance(polygons, PolygonIndex):
        if polygons.buffer_m != float(buffer_m) and buffer_m != 0.0:
            raise ValueError("buffer_m differs from the PolygonIndex's buffer")
        return polygons
    return PolygonIndex.build(polygons, buffer_m=buffer_m, crs=crs)


def _crs_string(crs: str | int) -> str:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else c.to_string()


def _as_geometries(polygons: Any) -> np.ndarray:
    try:
        import geopandas as gpd
    except ImportError:  # pragma: no cover
        gpd = None
    if gpd is not None and isinstance(polygons, gpd.GeoDataFrame | gpd.GeoSeries):
        if polygons.crs is not None and _crs_string(polygons.crs) != BNG:
            polygons = polygons.to_crs(BNG)
        geo = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
        return np.asarray(geo.values, dtype=object)
    return np.asarray(list(polygons), dtype=object)


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    xs = np.ascontiguousarray(np.asarray(x, dtype=np.float64)).ravel()
    ys = np.ascontiguousarray(np.asarray(y, dtype=np.float64)).ravel()
    if xs.shape != ys.shape:
        raise ValueError("x and y must have the same length")
    return xs, ys
