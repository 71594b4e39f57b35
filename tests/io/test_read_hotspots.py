"""rct.io.hotspots: read_hotspots / write_hotspots on good, messy and hostile files."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rct.errors import DataError
from rct.geo import BNG, WGS84, fits_bng, is_bng
from rct.io.hotspots import read_hotspots, write_hotspots

BOXES = [
    shapely.box(450000, 200000, 450200, 200200),
    shapely.box(450500, 200000, 450650, 200100),
    shapely.box(451000, 201000, 451100, 201300),
]
AREAS = [40000.0, 15000.0, 30000.0]


def _gdf(**cols) -> gpd.GeoDataFrame:
    data = {"hotspot_id": ["H1", "H2", "H3"], "beat": ["A", "B", "A"], "baseline": [12, 7, 3]}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=BOXES, crs=BNG)


def _check(out: gpd.GeoDataFrame, ids=("H1", "H2", "H3")) -> None:
    assert isinstance(out, gpd.GeoDataFrame)
    assert is_bng(out.crs)
    assert list(out.index) == list(range(len(ids)))
    assert out.columns[0] == "hotspot_id" and out.geometry.name == "geometry"
    assert out["hotspot_id"].tolist() == list(ids)
    assert all(isinstance(v, str) for v in out["hotspot_id"])
    assert set(out.geom_type) <= {"Polygon", "MultiPolygon"}


# ----------------------------------------------------------------- good files


@pytest.mark.parametrize(
    ("name", "driver_crs"),
    [
        ("hs.gpkg", BNG),
        ("hs.shp", BNG),
        ("hs.geojson", WGS84),
        ("hs.geojson", BNG),  # old-style GeoJSON with a "crs" member
        ("hs.gpkg", WGS84),
    ],
)
def test_vector_formats(tmp_path, name, driver_crs):
    path = tmp_path / name
    _gdf().to_crs(driver_crs).to_file(path)
    out = read_hotspots(path)
    _check(out)
    assert out["beat"].tolist() == ["A", "B", "A"]
    assert out["baseline"].tolist() == [12, 7, 3]
    assert np.allclose(out.area, AREAS, rtol=1e-6)  # survives reprojection to ~mm


def test_shapefile_without_prj_detects_bng(tmp_path):
    path = tmp_path / "hs.shp"
    _gdf().to_file(path)
    (tmp_path / "hs.prj").unlink()
    out = read_hotspots(path)
    _check(out)
    assert np.allclose(out.area, AREAS)


def test_geojson_written_in_bng_without_crs_needs_crs(tmp_path):
    path = tmp_path / "bng.geojson"
    fc = json.loads(_gdf().to_json())  # BNG coordinates, no "crs" member
    fc.pop("crs", None)
    path.write_text(json.dumps(fc))
    with pytest.raises(DataError, match=r"bng\.geojson.*crs='EPSG:27700'"):
        read_hotspots(path)
    out = read_hotspots(path, crs="EPSG:27700")
    _check(out)
    assert np.allclose(out.area, AREAS)


def test_csv_with_wkt_bng(tmp_path):
    path = tmp_path / "hs.csv"
    df = pd.DataFrame(
        {"hotspot_id": ["H1", "H2", "H3"], "wkt": [b.wkt for b in BOXES], "n": [1, 2, 3]}
    )
    df.to_csv(path, index=False)
    out = read_hotspots(path)
    _check(out)
    assert "wkt" not in out.columns and out["n"].tolist() == [1, 2, 3]
    assert np.allclose(out.area, AREAS)


def test_csv_with_wkt_lonlat_and_semicolons(tmp_path):
    ll = gpd.GeoSeries(BOXES, crs=BNG).to_crs(WGS84)
    path = tmp_path / "hs.csv"
    pd.DataFrame({"id": ["1", "2", "3"], "geometry": ll.to_wkt(rounding_precision=-1)}).to_csv(
        path, index=False, sep=";"
    )
    out = read_hotspots(path)
    _check(out, ids=("1", "2", "3"))
    assert "id" not in out.columns
    assert np.allclose(out.area, AREAS, rtol=1e-5)


@pytest.mark.parametrize(
    ("xcol", "ycol", "xs", "ys"),
    [
        ("easting", "northing", [450000, 451000], [200000, 201000]),
        ("x", "y", [450000, 451000], [200000, 201000]),
        ("Longitude", "Latitude", [-1.27, -1.25], [51.75, 51.76]),
        ("x", "y", [-1.27, -1.25], [51.75, 51.76]),
    ],
)
def test_csv_centroid_radius(tmp_path, xcol, ycol, xs, ys):
    path = tmp_path / "c.csv"
    pd.DataFrame({"hotspot_id": [7, 8], xcol: xs, ycol: ys, "radius": [100, 50]}).to_csv(
        path, index=False
    )
    out = read_hotspots(path)
    _check(out, ids=("7", "8"))
    assert np.allclose(out.area, np.pi * np.array([100, 50]) ** 2, rtol=0.002)
    c = out.geometry.centroid
    assert fits_bng(c.x, c.y).all()


def test_csv_centroid_radius_keyword_and_missing_radius(tmp_path):
    path = tmp_path / "c.csv"
    pd.DataFrame({"hotspot_id": ["a"], "easting": [450000], "northing": [200000]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="radius"):
        read_hotspots(path)
    out = read_hotspots(path, radius_m=75)
    assert out.area.iloc[0] == pytest.approx(np.pi * 75**2, rel=0.002)


def test_point_features_with_radius_property(tmp_path):
    pts = gpd.GeoDataFrame(
        {"hotspot_id": ["p1", "p2"], "radius": [60.0, 80.0]},
        geometry=shapely.points([450000, 452000], [200000, 200000]),
        crs=BNG,
    ).to_crs(WGS84)
    path = tmp_path / "pts.geojson"
    pts.to_file(path)
    out = read_hotspots(path)
    _check(out, ids=("p1", "p2"))
    assert np.allclose(out.area, np.pi * np.array([60, 80]) ** 2, rtol=0.003)


def test_id_aliases_and_name_only_when_asked(tmp_path):
    path = tmp_path / "n.gpkg"
    gpd.GeoDataFrame({"name": ["Town Centre", "Station", "Park"]}, geometry=BOXES, crs=BNG).to_file(
        path
    )
    with pytest.raises(DataError, match="no hot-spot ID column.*id_column="):
        read_hotspots(path)
    out = read_hotspots(path, id_column="name")
    _check(out, ids=("Town Centre", "Station", "Park"))
    assert out["name"].tolist() == ["Town Centre", "Station", "Park"]

    path2 = tmp_path / "h.gpkg"
    gpd.GeoDataFrame({"HOTSPOT": [3.0, 1.0, 2.0]}, geometry=BOXES, crs=BNG).to_file(path2)
    _check(read_hotspots(path2), ids=("3", "1", "2"))  # float IDs that are whole -> "3"


def test_z_coordinates_dropped(tmp_path):
    path = tmp_path / "z.gpkg"
    z = [shapely.force_3d(b, 5.0) for b in BOXES]
    gpd.GeoDataFrame({"hotspot_id": ["a", "b", "c"]}, geometry=z, crs=BNG).to_file(path)
    out = read_hotspots(path)
    assert not out.has_z.any()


def test_geopackage_layers(tmp_path):
    path = tmp_path / "two.gpkg"
    _gdf().to_file(path, layer="hotspots")
    _gdf().iloc[:1].to_file(path, layer="other")
    with pytest.raises(DataError, match="2 layers.*layer="):
        read_hotspots(path)
    assert len(read_hotspots(path, layer="other")) == 1


# ------------------------------------------------------------- messy / hostile


def test_duplicate_ids_name_both_rows(tmp_path):
    path = tmp_path / "dup.gpkg"
    _gdf(hotspot_id=["H1", "H2", "H1"]).to_file(path)
    with pytest.raises(DataError, match=r"dup\.gpkg.*duplicate hotspot_id 'H1' in rows 1, 3"):
        read_hotspots(path)


def test_blank_ids(tmp_path):
    path = tmp_path / "blank.csv"
    pd.DataFrame({"hotspot_id": ["a", " ", "c"], "wkt": [b.wkt for b in BOXES]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"row 2.*no hotspot_id"):
        read_hotspots(path)


def test_invalid_geometry_names_feature(tmp_path):
    bowtie = "POLYGON ((450000 200000, 450100 200100, 450100 200000, 450000 200100, 450000 200000))"
    path = tmp_path / "bad.csv"
    pd.DataFrame({"hotspot_id": ["ok", "HS-bow"], "wkt": [BOXES[0].wkt, bowtie]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError) as err:
        read_hotspots(path)
    msg = str(err.value)
    assert "bad.csv" in msg and "row 2" in msg and "HS-bow" in msg and "Self-intersection" in msg
    assert err.value.row == 2


def test_empty_and_point_geometries(tmp_path):
    path = tmp_path / "mixed.geojson"
    feats = [
        {
            "type": "Feature",
            "properties": {"hotspot_id": "p"},
            "geometry": {"type": "Point", "coordinates": [-1.25, 51.75]},
        },
        {"type": "Feature", "properties": {"hotspot_id": "e"}, "geometry": None},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with pytest.raises(DataError) as err:
        read_hotspots(path)
    msg = str(err.value)
    assert "row 1 (hotspot_id 'p'): a point where a polygon was expected" in msg
    assert "row 2 (hotspot_id 'e'): missing geometry" in msg


def test_unparseable_wkt(tmp_path):
    path = tmp_path / "w.csv"
    pd.DataFrame({"hotspot_id": ["a", "b"], "wkt": [BOXES[0].wkt, "POLYGON ((1 2, 3"]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"row 2.*unparseable WKT"):
        read_hotspots(path)


def test_ambiguous_crs_csv(tmp_path):
    path = tmp_path / "merc.csv"
    pd.DataFrame(
        {"hotspot_id": ["a"], "x": [-130000.0], "y": [6_700_000.0], "radius": [100]}
    ).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"merc\.csv.*pass crs="):
        read_hotspots(path)
    out = read_hotspots(path, crs="EPSG:3857")
    assert is_bng(out.crs) and fits_bng(*out.geometry.centroid.get_coordinates().to_numpy().T).all()


def test_outside_gb(tmp_path):
    path = tmp_path / "far.gpkg"
    far = [shapely.box(450000, 200000, 450100, 200100), shapely.box(900000, 200000, 900100, 200100)]
    gpd.GeoDataFrame({"hotspot_id": ["in", "out"]}, geometry=far, crs=BNG).to_file(path)
    with pytest.raises(DataError, match=r"outside Great Britain.*row 2 \('out'\)"):
        read_hotspots(path)


def test_no_geometry_columns_in_csv(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("hotspot_id,count\na,1\n")
    with pytest.raises(DataError, match=r"plain\.csv.*no geometry"):
        read_hotspots(path)


@pytest.mark.parametrize(
    "name", ["junk.geojson", "junk.gpkg", "junk.shp", "junk.csv", "junk.csv.gz", "junk.zip"]
)
def test_random_bytes(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(1).bytes(2000))
    with pytest.raises(DataError, match="junk"):
        read_hotspots(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_hotspots(tmp_path / "nope.geojson")
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(DataError, match="no hot spots"):
        read_hotspots(path)


# ----------------------------------------------------------------------- write


def test_write_round_trip_is_wgs84_ccw_and_atomic(tmp_path):
    src = _gdf()
    # make one ring clockwise so the writer has something to orient
    src.loc[0, "geometry"] = shapely.Polygon(list(BOXES[0].exterior.coords)[::-1])
    path = tmp_path / "out" / "hotspots.geojson"
    write_hotspots(src, path)
    assert [p.name for p in path.parent.iterdir()] == ["hotspots.geojson"]  # no temp files left
    doc = json.loads(path.read_text())
    ring = np.array(doc["features"][0]["geometry"]["coordinates"][0])
    assert (-9 < ring[:, 0]).all() and (ring[:, 0] < 2.5).all() and (ring[:, 1] > 49).all()
    assert shapely.Polygon(ring).exterior.is_ccw
    assert doc["features"][0]["properties"] == {"hotspot_id": "H1", "beat": "A", "baseline": 12}
    back = read_hotspots(path)
    _check(back)
    gap = shapely.hausdorff_distance(back.geometry.values, src.geometry.values)
    assert (gap < 0.01).all()  # round trip through WGS84 within a centimetre


def test_write_odd_property_types(tmp_path):
    import datetime as dt

    g = _gdf(
        day=[dt.date(2024, 1, 1), None, dt.date(2024, 1, 3)],
        share=[np.nan, 0.5, 0.25],
        tag=pd.array(["x", pd.NA, "z"], dtype="string"),
        when=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
    )
    path = tmp_path / "odd.geojson"
    write_hotspots(g, path)
    props = [f["properties"] for f in json.loads(path.read_text())["features"]]
    assert [p["day"] for p in props] == ["2024-01-01", None, "2024-01-03"]
    assert [p["share"] for p in props] == [None, 0.5, 0.25]
    assert [p["tag"] for p in props] == ["x", None, "z"]
    assert props[0]["when"].startswith("2024-01-01T00:00:00")
    assert props[0]["baseline"] == 12 and isinstance(props[0]["baseline"], int)


def test_write_needs_crs_and_ids(tmp_path):
    with pytest.raises(DataError, match="no CRS"):
        write_hotspots(_gdf().set_crs(None, allow_override=True), tmp_path / "a.geojson")
    with pytest.raises(DataError, match="hotspot_id"):
        write_hotspots(_gdf().drop(columns="hotspot_id"), tmp_path / "b.geojson")
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ property

_cell = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**7), 10**7).map(str),
    st.sampled_from(["", "POLYGON ((0 0, 1 1, 1 0, 0 0))", BOXES[0].wkt, "POINT (450000 200000)"]),
)
_header = st.lists(
    st.sampled_from(
        [
            "hotspot_id",
            "id",
            "wkt",
            "geometry",
            "x",
            "y",
            "easting",
            "northing",
            "lat",
            "lon",
            "radius",
            "name",
            "zz",
        ]
    ),
    min_size=1,
    max_size=5,
    unique=True,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(header=_header, data=st.data())
def test_random_csv_raises_dataerror_or_reads(tmp_path, header, data):
    rows = data.draw(
        st.lists(st.lists(_cell, min_size=len(header), max_size=len(header)), max_size=6)
    )
    path = tmp_path / "rand.csv"
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    try:
        out = read_hotspots(path)
    except DataError:
        return
    _check(out, ids=tuple(out["hotspot_id"]))
    assert out["hotspot_id"].is_unique and len(out) == len(rows)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_random_text_csv_raises_dataerror_or_reads(tmp_path, blob):
    path = tmp_path / "blob.csv"
    path.write_bytes(blob)
    try:
        read_hotspots(path)
    except DataError:
        pass
