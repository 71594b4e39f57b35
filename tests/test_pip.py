"""rct.pip against shapely's robust predicates (GEOS)."""

from __future__ import annotations

import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.pip import PolygonIndex, locate, locate_all


def _reference_pairs(polys, x, y):
    """(point, polygon) pairs with the point in or on the polygon, by GEOS."""
    pi, gi = shapely.STRtree(polys).query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((gi, pi))
    return pi[order], gi[order]


def _reference_lowest(polys, x, y):
    pi, gi = _reference_pairs(polys, x, y)
    best = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(best, pi, gi)
    return np.where(best == np.iinfo(np.int64).max, -1, best)


def _hot_spots(rng, n=120):
    polys = []
    for i in range(n):
        cx, cy = rng.uniform(440_000, 460_000), rng.uniform(190_000, 210_000)
        r = rng.uniform(40, 160)
        p = shapely.Point(cx, cy).buffer(r, quad_segs=int(rng.integers(1, 6)))
        if i % 4 == 0:  # a hole
            p = p.difference(shapely.box(cx - r / 3, cy - r / 3, cx + r / 4, cy + r / 5))
        if i % 5 == 0:  # a MultiPolygon with a far part
            p = shapely.MultiPolygon([p, shapely.box(cx + 300, cy, cx + 390, cy + 70)])
        polys.append(p)
    # overlapping pairs: later polygons overlap earlier ones
    polys += [shapely.affinity.translate(polys[j], 30, 20) for j in range(0, 20, 3)]
    return np.array(polys, dtype=object)


def _test_points(rng, polys, n_random=200_000):
    coords = shapely.get_coordinates(polys)
    x = [rng.uniform(439_000, 461_500, n_random)]
    y = [rng.uniform(189_000, 211_000, n_random)]
    k = rng.integers(0, len(coords) - 1, 40_000)
    x.append(coords[k, 0] + rng.normal(0, 30, len(k)))  # near the boundary
    y.append(coords[k, 1] + rng.normal(0, 30, len(k)))
    x.append(coords[k[:5000], 0])  # exactly on vertices
    y.append(coords[k[:5000], 1])
    a, b = coords[k[:5000]], coords[k[:5000] + 1]
    t = rng.uniform(0, 1, (5000, 1))
    on = a + t * (b - a)  # on or within rounding of an edge
    x.append(on[:, 0])
    y.append(on[:, 1])
    return np.concatenate(x), np.concatenate(y)


def test_locate_and_locate_all_match_geos():
    rng = np.random.default_rng(20240601)
    polys = _hot_spots(rng)
    x, y = _test_points(rng, polys)
    index = PolygonIndex.build(polys)
    got = index.locate(x, y)
    np.testing.assert_array_equal(got, _reference_lowest(polys, x, y))
    pt, pg = index.locate_all(x, y)
    rp, rg = _reference_pairs(polys, x, y)
    np.testing.assert_array_equal(pt, rp)
    np.testing.assert_array_equal(pg, rg)
    assert (got >= 0).sum() > 10_000  # the test exercises hits
    assert len(pt) > (got >= 0).sum()  # and overlaps


def test_exact_edges_vertices_and_holes():
    square = shapely.box(0, 0, 10, 10)
    holed = shapely.Polygon([(20, 0), (30, 0), (30, 10), (20, 10)], [[(22, 2), (28, 2), (25, 8)]])
    tri = shapely.Polygon([(40, 0), (50, 3), (43, 10)])
    x = np.array([0, 10, 5, 5, 10.000000001, 25, 22, 25, 25, 45, 43, 40, 41.75, 5, np.nan])
    y = np.array([0, 5, 10, 5, 5, 2, 2, 8, 5, 1.5, 10, 0, 5.0, -1e-9, 5])
    polys = [square, holed, tri]
    got = locate(x, y, polys)
    expected = np.where(np.isnan(x), -1, _reference_lowest(np.array(polys), np.nan_to_num(x), y))
    np.testing.assert_array_equal(got, expected)
    # by hand: corner, edges in, just outside out, hole edge in, hole interior out, vertex in
    assert got.tolist()[:10] == [0, 0, 0, 0, -1, 1, 1, 1, -1, 2]
    assert got[-1] == -1 and got[-2] == -1


def test_overlap_lowest_index_and_all_pairs():
    polys = [shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15), shapely.box(5, 5, 15, 15)]
    x, y = np.array([7.0, 12.0, 1.0, 20.0]), np.array([7.0, 12.0, 1.0, 20.0])
    assert locate(x, y, polys).tolist() == [0, 1, 0, -1]
    pt, pg = locate_all(x, y, polys)
    assert list(zip(pt.tolist(), pg.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 1),
        (1, 2),
        (2, 0),
    ]


def test_buffer_matches_shapely_buffer():
    rng = np.random.default_rng(7)
    polys = _hot_spots(rng, n=40)
    x, y = _test_points(rng, polys, n_random=50_000)
    got = locate(x, y, polys, buffer_m=25.0)
    ref = _reference_lowest(shapely.buffer(polys, 25.0, quad_segs=16), x, y)
    np.testing.assert_array_equal(got, ref)
    assert (got >= 0).sum() > (locate(x, y, polys) >= 0).sum()


def test_geodataframe_in_other_crs_and_lonlat_points():
    rng = np.random.default_rng(3)
    polys = _hot_spots(rng, n=30)
    gdf = gpd.GeoDataFrame({"hotspot_id": range(len(polys))}, geometry=list(polys), crs=27700)
    x, y = _test_points(rng, polys, n_random=20_000)
    ref = locate(x, y, polys, buffer_m=10)
    np.testing.assert_array_equal(locate(x, y, gdf.to_crs(4326), buffer_m=10), ref)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    got = locate(lon, lat, gdf, buffer_m=10, crs="EPSG:4326")
    # points within 1 mm of a buffered edge may legitimately differ (documented)
    dist = shapely.distance(
        shapely.boundary(shapely.buffer(polys, 10))[np.maximum(ref, 0)], shapely.points(x, y)
    )
    sure = (ref < 0) & (
        shapely.distance(shapely.union_all(shapely.buffer(polys, 10)), shapely.points(x, y)) > 1e-3
    ) | (ref >= 0) & (dist > 1e-3)
    np.testing.assert_array_equal(got[sure], ref[sure])
    assert sure.mean() > 0.99


def test_empty_inputs_and_bad_polygons():
    assert locate(np.zeros(0), np.zeros(0), [shapely.box(0, 0, 1, 1)]).shape == (0,)
    assert locate([0.5], [0.5], []).tolist() == [-1]
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    from rct.errors import DataError

    with pytest.raises(DataError, match="not valid"):
        locate([0.5], [0.5], [bowtie])
    with pytest.raises(ValueError, match="Polygon"):
        locate([0.5], [0.5], [shapely.LineString([(0, 0), (1, 1)])])


@settings(max_examples=60, deadline=None)
@given(
    tri=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=3, max_size=3),
    pts=st.lists(st.tuples(st.integers(-2, 14), st.integers(-2, 14)), min_size=1, max_size=40),
)
def test_integer_triangles_property(tri, pts):
    poly = shapely.Polygon(tri)
    if not poly.is_valid or poly.area == 0:
        return
    x = np.array([p[0] for p in pts], dtype=float) / 2  # half-integers: many exact on-edge hits
    y = np.array([p[1] for p in pts], dtype=float) / 2
    poly = shapely.affinity.scale(poly, 0.5, 0.5, origin=(0, 0))
    got = locate(x, y, [poly])
    np.testing.assert_array_equal(got >= 0, shapely.intersects_xy(poly, x, y))


def test_works_when_numba_cannot_cache(tmp_path):
    """A read-only install with no writable cache directory: numba compiles without caching.

    (chmod cannot make a directory unwritable for root, so the "nowhere to cache" state is
    produced with numba's own hook: a cache-locator list whose only locator finds nothing,
    exactly what numba sees when neither __pycache__ nor the user cache dir is writable.)
    """
    (tmp_path / "nolocator.py").write_text(
        "class NoLocator:\n"
        "    @classmethod\n"
        "    def from_function(cls, py_func, source_path):\n"
        "        return None\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "NUMBA_CACHE_LOCATOR_CLASSES": "nolocator.NoLocator",
    }
    env.pop("NUMBA_CACHE_DIR", None)
    code = (
        "import rct.pip as p, shapely; "
        "print(p._CACHE, p.locate([0.5, 2], [0.5, 2], [shapely.box(0, 0, 1, 1)]).tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False [0, -1]"
