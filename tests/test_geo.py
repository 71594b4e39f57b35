"""rct.geo: CRS handling, GB extent, polygon helpers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.errors import DataError
from rct.geo import (
    BNG,
    WGS84,
    area_m2,
    buffer,
    circles,
    crs_from_names,
    ensure_27700,
    fits_bng,
    fits_lonlat,
    from_bng,
    guess_crs,
    in_gb,
    is_bng,
    normalise_crs,
    polygon_problems,
    to_bng,
    transformer,
)


def _dms(d: float, m: float, s: float) -> float:
    return d + m / 60 + s / 3600


def test_os_worked_example_caister_water_tower():
    # Ordnance Survey, "A guide to coordinate systems in Great Britain", Annex C:
    # OSGB36 lat 52 39 27.2531 N, lon 1 43 4.5177 E -> E 651409.903, N 313177.270.
    lat = _dms(52, 39, 27.2531)
    lon = _dms(1, 43, 4.5177)
    e, n = to_bng([lon], [lat], "EPSG:4277")  # OSGB36 geographic: pure projection
    assert e[0] == pytest.approx(651409.903, abs=0.01)
    assert n[0] == pytest.approx(313177.270, abs=0.01)


def test_wgs84_differs_from_osgb36_by_a_datum_shift_only():
    lat, lon = _dms(52, 39, 27.2531), _dms(1, 43, 4.5177)
    e1, n1 = to_bng([lon], [lat], "EPSG:4277")
    e2, n2 = to_bng([lon], [lat], WGS84)
    shift = np.hypot(e1 - e2, n1 - n2)[0]
    assert 50 < shift < 200  # the OSGB36/ETRS89 datum difference in East Anglia (~100 m)


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(-7.5, 1.7, allow_nan=False),
    lat=st.floats(50.0, 58.5, allow_nan=False),
)
def test_round_trip_wgs84_bng(lon, lat):
    e, n = to_bng([lon], [lat])
    assert fits_bng(e, n).all()
    lon2, lat2 = from_bng(e, n)
    assert lon2[0] == pytest.approx(lon, abs=1e-7)
    assert lat2[0] == pytest.approx(lat, abs=1e-7)


def test_to_bng_is_vectorised_and_keeps_missing_as_nan():
    lon = np.array([-1.25, np.nan, -1.3, np.inf])
    lat = np.array([51.75, 51.7, np.nan, 51.7])
    e, n = to_bng(lon, lat)
    assert e.shape == (4,)
    assert np.isfinite(e[0]) and np.isfinite(n[0])
    assert np.isnan(e[1:]).all() and np.isnan(n[1:]).all()


def test_to_bng_identity_for_bng_and_shape_check():
    e, n = to_bng([450000.0], [200000.0], BNG)
    assert (e[0], n[0]) == (450000.0, 200000.0)
    with pytest.raises(ValueError, match="shape"):
        to_bng([1.0, 2.0], [51.0])


def test_transformer_is_cached_and_xy_ordered():
    assert transformer("EPSG:4326") is transformer(4326)
    assert transformer(WGS84, BNG) is transformer("epsg:4326", "EPSG:27700")
    e, n = transformer(WGS84).transform(-1.25, 51.75)  # lon first despite EPSG:4326 axis order
    assert 400_000 < e < 500_000 and 150_000 < n < 250_000


def test_normalise_crs():
    assert is_bng(27700) and is_bng("EPSG:27700") and is_bng(normalise_crs("27700"))
    assert not is_bng(WGS84)
    with pytest.raises(DataError, match="unknown coordinate reference system"):
        normalise_crs("EPSG:99999999")


def test_in_gb():
    x = np.array([450000, 0, -5, 450000, np.nan, 800000])
    y = np.array([200000, 0, 200000, 1_400_000, 1, 200000])
    assert in_gb(x, y).tolist() == [True, False, False, False, False, False]
    assert in_gb([-1.25, 10.0], [51.75, 51.0], crs=WGS84).tolist() == [True, False]


def test_fits_boxes():
    assert fits_lonlat([-1.2, 2.6, -9.5], [51.7, 51.7, 55]).tolist() == [True, False, False]
    assert fits_bng([1, 700001], [1, 5]).tolist() == [True, False]


@pytest.mark.parametrize(
    ("xn", "yn", "expected"),
    [
        ("Longitude", "Latitude", WGS84),
        ("lng", "lat", WGS84),
        ("Easting", "Northing", BNG),
        ("x", "y", None),
        ("latitude", "longitude", None),
    ],
)
def test_crs_from_names(xn, yn, expected):
    assert crs_from_names(xn, yn) == expected


def test_guess_crs_from_values():
    assert guess_crs([-1.2, -0.9], [51.5, 51.9]) == WGS84
    assert guess_crs([450000, 460000], [200000, 210000]) == BNG
    # web-mercator metres: neither
    assert guess_crs([-130000, -100000], [6_700_000, 6_750_000]) is None
    assert guess_crs([np.nan], [np.nan]) is None
    # names win over values
    assert guess_crs([1, 2], [3, 4], x_name="easting", y_name="northing") == BNG
    # a mixture: majority when not strict, undecided when strict
    xs, ys = [-1.2, -1.1, -1.0, 450000], [51.5, 51.6, 51.7, 200000]
    assert guess_crs(xs, ys) == WGS84
    assert guess_crs(xs, ys, require_all=True) is None


def _boxes(crs=None, *, lonlat=False):
    if lonlat:
        geoms = [shapely.box(-1.26, 51.75, -1.25, 51.76), shapely.box(-1.24, 51.75, -1.23, 51.76)]
    else:
        geoms = [
            shapely.box(450000, 200000, 450100, 200100),
            shapely.box(451000, 200000, 451200, 200050),
        ]
    return gpd.GeoDataFrame({"v": [1, 2]}, geometry=geoms, crs=crs)


def test_ensure_27700_variants():
    out = ensure_27700(_boxes(BNG))
    assert is_bng(out.crs)
    assert area_m2(out.geometry).tolist() == [10000.0, 10000.0]
    # no CRS, BNG-looking values
    assert is_bng(ensure_27700(_boxes(None)).crs)
    # no CRS, lon/lat values: converted
    ll = ensure_27700(_boxes(None, lonlat=True))
    assert is_bng(ll.crs) and fits_bng(*ll.geometry.centroid.get_coordinates().to_numpy().T).all()
    # a given crs overrides the frame's
    fixed = ensure_27700(_boxes(WGS84), crs=BNG)
    assert fixed.geometry.iloc[0].bounds[0] == 450000


def test_ensure_27700_errors_name_the_file():
    with pytest.raises(DataError, match=r"hs\.geojson.*look like British National Grid"):
        ensure_27700(_boxes(WGS84), file="hs.geojson")
    merc = gpd.GeoDataFrame(geometry=[shapely.box(-130000, 6_700_000, -129000, 6_701_000)])
    with pytest.raises(DataError, match=r"hs\.shp.*no coordinate reference system"):
        ensure_27700(merc, file="hs.shp")


def test_area_requires_bng():
    with pytest.raises(DataError, match="27700"):
        area_m2(_boxes(WGS84).geometry)


def test_buffer_and_circles_areas():
    pts = shapely.points([450000, 460000], [200000, 200000])
    b = buffer(pts, 100.0)
    area = shapely.area(b)
    assert np.allclose(area, np.pi * 100**2, rtol=0.002)
    assert area.max() < np.pi * 100**2  # inscribed polygon
    shrunk = buffer([shapely.box(0, 0, 100, 100)], -10.0)
    assert shapely.area(shrunk)[0] == pytest.approx(80 * 80)
    with pytest.raises(ValueError, match="finite"):
        buffer(pts, np.nan)
    c = circles([450000, 451000], [200000, 201000], [50, 150])
    assert np.allclose(shapely.area(c), np.pi * np.array([50, 150]) ** 2, rtol=0.002)
    cent = shapely.centroid(c)
    assert np.allclose(shapely.get_x(cent), [450000, 451000])


def test_polygon_problems():
    geoms = [
        shapely.box(0, 0, 1, 1),
        shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]),  # bow-tie
        shapely.Polygon(),
        shapely.Point(0, 0),
        shapely.LineString([(0, 0), (1, 1)]),
        None,
        shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        shapely.Polygon([(0, 0), (1, 0), (2, 0), (0, 0)]),  # zero area
    ]
    p = polygon_problems(np.array(geoms, dtype=object))
    assert p[0] is None and p[6] is None
    assert p[1].startswith("invalid geometry: Self-intersection")
    assert p[2] == "empty geometry"
    assert p[3] == "a point where a polygon was expected"
    assert p[4] == "a line where a polygon was expected"
    assert p[5] == "missing geometry"
    assert p[7] is not None and ("zero area" in p[7] or "invalid" in p[7])
