"""Hot-spot building: hex grid maths, counts, ranking, selection, merging, stability."""

from __future__ import annotations

import dataclasses
import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.errors import DataError, UnknownOffenceWarning
from rct.harm import harm_table
from rct.hotspots import HexGrid, HotspotWarning, build_hotspots, stability

VIOLENCE = "Violence and sexual offences"


# ----------------------------------------------------------------------------- grid maths
@pytest.mark.parametrize("orientation", ["pointy", "flat"])
@pytest.mark.parametrize("cell", [150.0, 237.5])
def test_points_fall_in_their_cell_and_nearest_centre(orientation, cell):
    rng = np.random.default_rng(1)
    origin = (rng.uniform(-500, 500), rng.uniform(-500, 500))
    grid = HexGrid(cell, orientation=orientation, origin=origin)
    x = rng.uniform(400_000, 410_000, 5_000)
    y = rng.uniform(200_000, 210_000, 5_000)
    q, r = grid.locate(x, y)
    # 1. the polygon of the assigned cell contains the point (shapely, independent of the maths)
    polys = grid.polygons(q, r)
    assert shapely.intersects(polys, shapely.points(x, y)).all()
    # 2. the assigned centre is the nearest of all cells within two steps (Voronoi property)
    cx, cy = grid.centres(q, r)
    d_own = np.hypot(x - cx, y - cy)
    for dq in range(-2, 3):
        for dr in range(-2, 3):
            ox, oy = grid.centres(q + dq, r + dr)
            assert (d_own <= np.hypot(x - ox, y - oy) + 1e-9).all()
    # 3. centres map back to themselves; areas and neighbour spacing follow `cell`
    q2, r2 = grid.locate(cx, cy)
    assert (q2 == q).all() and (r2 == r).all()
    np.testing.assert_allclose(shapely.area(polys), np.sqrt(3) / 2 * cell**2)
    for dq, dr in ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1)):
        nx, ny = grid.centres(q[:10] + dq, r[:10] + dr)
        np.testing.assert_allclose(np.hypot(nx - cx[:10], ny - cy[:10]), cell)
        assert (HexGrid.hex_distance(q[:10], r[:10], q[:10] + dq, r[:10] + dr) == 1).all()
    # 4. touching cells share an edge (distance across flats = neighbour spacing)
    a = grid.polygons(np.array([0]), np.array([0]))[0]
    b = grid.polygons(np.array([1]), np.array([0]))[0]
    assert a.intersection(b).area < 1e-3
    assert a.boundary.intersection(b.buffer(1e-6)).length == pytest.approx(grid.radius)


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(0, 700_000), y=st.floats(0, 1_300_000),
    cell=st.floats(10, 1000), flat=st.booleans(),
)
def test_locate_property(x, y, cell, flat):
    grid = HexGrid(cell, orientation="flat" if flat else "pointy")
    q, r = grid.locate(np.array([x]), np.array([y]))
    poly = grid.polygons(q, r)[0]
    assert poly.distance(shapely.Point(x, y)) < 1e-6 * cell


def test_grid_validation():
    with pytest.raises(ValueError, match="positive"):
        HexGrid(0)
    with pytest.raises(ValueError, match="pointy.*flat"):
        HexGrid(100, orientation="square")


# ----------------------------------------------------------------------------- synthetic data
def _clusters(spec, *, rng, spread=20.0, category=VIOLENCE, month="2024-01"):
    """Crimes around given centres: spec = [(x, y, n), ...]."""
    rows = []
    for x, y, n in spec:
        rows.append(pd.DataFrame({
            "x": x + rng.uniform(-spread, spread, n), "y": y + rng.uniform(-spread, spread, n),
            "category": category, "month": month,
        }))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def synthetic():
    rng = np.random.default_rng(7)
    grid = HexGrid(150)
    # cell centres spread over a 20 x 20 block of cells, counts 1..40 (all distinct)
    q = np.repeat(np.arange(0, 40, 2), 2)[:40] + 3000
    r = np.tile([0, 6], 20) + 1000
    cx, cy = grid.centres(q, r)
    counts = rng.permutation(np.arange(1, 41))
    crimes = _clusters(list(zip(cx, cy, counts, strict=True)), rng=rng)
    noise = pd.DataFrame({"x": rng.uniform(449_000, 460_000, 300),
                          "y": rng.uniform(1_299_000, 1_300_000, 300),
                          "category": "Burglary", "month": "2024-01"})
    return pd.concat([crimes, noise], ignore_index=True)


@pytest.mark.parametrize("origin", [None, (1_000_000.0, 1_500_000.0)])  # negative q, r too
def test_counts_per_cell_match_point_in_polygon(synthetic, origin):
    res = build_hotspots(synthetic, cell=150, top=10, origin=origin)
    if origin is not None:
        assert (res.cells["q"] < 0).any() and (res.cells["r"] < 0).all()
    cells = res.cells
    assert cells["crimes"].sum() == len(synthetic) == res.n_crimes
    # independent count: spatial join of the points with the cell polygons
    polys = gpd.GeoDataFrame(cells[["cell_id"]], geometry=res.grid.polygons(cells["q"], cells["r"]),
                             crs="EPSG:27700")
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(synthetic["x"], synthetic["y"]),
                           crs="EPSG:27700")
    joined = gpd.sjoin(pts, polys, predicate="intersects")
    joined = joined[~joined.index.duplicated()]  # a point on a shared edge: count once
    by_cell = joined.groupby("cell_id").size()
    assert by_cell.reindex(cells["cell_id"]).fillna(0).astype(int).tolist() == cells["crimes"].tolist()


def test_top_n_by_count_ids_shares_and_areas(synthetic):
    res = build_hotspots(synthetic, cell=150, top=12)
    h = res.hotspots
    assert len(h) == 12 and h.crs.to_epsg() == 27700
    assert h["hotspot_id"].tolist() == [f"H{i:03d}" for i in range(1, 13)]
    ranked = res.cells.sort_values("crimes", ascending=False)
    assert h["crimes"].tolist() == ranked["crimes"].head(12).tolist()
    assert (np.diff(h["crimes"]) <= 0).all()
    np.testing.assert_allclose(h["share_crimes"], h["crimes"] / len(synthetic))
    np.testing.assert_allclose(h["area_m2"], shapely.area(h.geometry.to_numpy()))
    np.testing.assert_allclose(h["share_area"], h["area_m2"] / (len(res.cells) * res.grid.cell_area))
    assert h["harm"].isna().all() and res.harm_table is None
    # every hot spot holds exactly the crimes inside it
    inside = shapely.contains_xy(h.geometry.to_numpy()[:, None], synthetic["x"].to_numpy()[None],
                                 synthetic["y"].to_numpy()[None]).sum(axis=1)
    assert inside.tolist() == h["crimes"].tolist()
    summ = res.summary().set_index("measure")["value"]
    assert summ["hot spots"] == 12
    assert summ["share of crime"] == pytest.approx(h["crimes"].sum() / len(synthetic))
    assert summ["share of area"] == pytest.approx(12 / len(res.cells))
    assert "share of harm" not in summ.index
    study = res.summary(area_m2=2e9).set_index("measure")["value"]
    assert study["share of study area"] == pytest.approx(h["area_m2"].sum() / 2e9)
    assert json.loads(json.dumps(res.to_dict()))["hotspot_hot_spots"] == 12
    assert "share of area" in res.summary_text() and "%" in res.summary_text()
    assert res.headline().startswith("12 hot spots: ")
    assert list(res.tidy().columns) == [c for c in h.columns if c != "geometry"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_crimes = 0


def test_crime_types_filter_and_denominators(synthetic):
    res = build_hotspots(synthetic, cell=150, top=5, crime_types=["burglary"])
    assert res.n_crimes == (synthetic["category"] == "Burglary").sum()
    assert res.crime_types == ("burglary",)
    both = build_hotspots(synthetic, cell=150, top=5, crime_types=f"{VIOLENCE},Burglary")
    assert both.n_crimes == len(synthetic)
    with pytest.raises(DataError, match="Burglary.*Violence") as exc:
        build_hotspots(synthetic, top=5, crime_types=["Shoplifting"])
    assert exc.value.column == "category"


def _reference_greedy(cells, min_sep, top):
    """Plain-loop greedy choice in rank order (the reference for the vectorised one)."""
    taken = []
    for i, row in cells.sort_values("rank").iterrows():
        if all(np.hypot(row.x - cells.x[j], row.y - cells.y[j]) >= min_sep - 1e-6 for j in taken):
            taken.append(i)
        if len(taken) == top:
            break
    return sorted(cells.cell_id[taken])


@pytest.mark.parametrize("min_sep", [150.0, 300.0, 600.0])
def test_min_separation_greedy_matches_reference(min_sep):
    rng = np.random.default_rng(3)
    crimes = pd.DataFrame({"x": rng.normal(450_000, 700, 4000), "y": rng.normal(200_000, 700, 4000),
                           "category": VIOLENCE})
    res = build_hotspots(crimes, cell=150, top=20, min_separation=min_sep)
    h = res.hotspots
    d = np.hypot(h.centroid_x.to_numpy()[:, None] - h.centroid_x.to_numpy()[None], h.centroid_y.to_numpy()[:, None] - h.centroid_y.to_numpy()[None])
    d[np.diag_indices(len(h))] = np.inf
    assert d.min() >= min_sep - 1e-6
    assert sorted(h["cell_ids"]) == _reference_greedy(res.cells, min_sep, 20)


def test_share_of_harm_is_smallest_prefix_and_ranked_by_harm(tmp_path):
    rng = np.random.default_rng(11)
    crimes = pd.DataFrame({"x": rng.normal(450_000, 600, 3000), "y": rng.normal(200_000, 600, 3000),
                           "category": rng.choice(["Robbery", "Shoplifting", "Burglary"], 3000)})
    table = tmp_path / "w.csv"
    table.write_text("category,weight\nRobbery,10\nShoplifting,1\nBurglary,4\n")
    res = build_hotspots(crimes, cell=150, share_of_harm=0.3, harm=table)
    assert res.params["rank_by"] == "harm"
    cells = res.cells.sort_values("rank")
    # independent harm per cell: weights summed with pandas
    w = crimes["category"].map({"Robbery": 10, "Shoplifting": 1, "Burglary": 4})
    assert res.total_harm == w.sum()
    assert np.all(np.diff(cells["harm"]) <= 0)
    chosen = cells[cells["chosen"]]
    assert chosen["rank"].tolist() == list(range(1, len(chosen) + 1))
    assert chosen["harm"].sum() >= 0.3 * w.sum()
    assert chosen["harm"].iloc[:-1].sum() < 0.3 * w.sum()
    assert res.hotspots["share_harm"].sum() == pytest.approx(chosen["harm"].sum() / w.sum())
    summ = res.summary().set_index("measure")["value"]
    assert summ["share of harm"] >= 0.3


def test_merge_touching_cells():
    grid = HexGrid(150)
    # three touching cells in a row, one far away, one touching the far one
    q = np.array([3000, 3001, 3002, 3100, 3100])
    r = np.array([1000, 1000, 1000, 1000, 1001])
    cx, cy = grid.centres(q, r)
    rng = np.random.default_rng(0)
    crimes = _clusters(list(zip(cx, cy, [50, 40, 30, 45, 35], strict=True)), rng=rng)
    res = build_hotspots(crimes, cell=150, top=5, merge_touching=True)
    h = res.hotspots
    assert len(h) == 2 and h["cells"].tolist() == [3, 2]
    assert h["crimes"].tolist() == [120, 80]
    assert h["hotspot_id"].tolist() == ["H001", "H002"]
    assert h.geometry.is_valid.all() and (h.geometry.geom_type == "Polygon").all()
    np.testing.assert_allclose(h.geometry.area, h["cells"] * grid.cell_area, rtol=1e-5)
    assert res.summary().set_index("measure").loc["cells chosen", "value"] == 5
    unmerged = build_hotspots(crimes, cell=150, top=5)
    assert len(unmerged.hotspots) == 5


def test_harm_with_unknown_categories_counts_and_warns():
    rng = np.random.default_rng(5)
    crimes = pd.DataFrame({"x": rng.uniform(450_000, 451_000, 500),
                           "y": rng.uniform(200_000, 201_000, 500),
                           "category": rng.choice(["Burglary", "Anti-social behaviour"], 500)})
    with pytest.warns(UnknownOffenceWarning, match="Anti-social behaviour"):
        res = build_hotspots(crimes, cell=150, top=3, harm="cchi", rank_by="harm")
    n_asb = int((crimes["category"] == "Anti-social behaviour").sum())
    assert res.n_harm_unknown == n_asb == res.cells["harm_unknown"].sum()
    burglary = harm_table("cchi").weight(category="Burglary")
    assert res.total_harm == pytest.approx(burglary * (500 - n_asb))
    assert "without a weight excluded" in res.summary()["denominator"].str.cat()


def test_shortfall_warns():
    crimes = pd.DataFrame({"x": [450_000.0, 450_010.0, 451_000.0], "y": [200_000.0] * 3,
                           "category": VIOLENCE})
    with pytest.warns(HotspotWarning, match="only 2 of the 5"):
        res = build_hotspots(crimes, top=5)
    assert len(res.hotspots) == 2


def test_option_and_input_errors(synthetic):
    with pytest.raises(ValueError, match="exactly one"):
        build_hotspots(synthetic)
    with pytest.raises(ValueError, match="exactly one"):
        build_hotspots(synthetic, top=3, share_of_harm=0.5, harm="cchi")
    with pytest.raises(ValueError, match=r"\['count', 'harm'\]"):
        build_hotspots(synthetic, top=3, rank_by="density")
    with pytest.raises(ValueError, match="needs a harm table"):
        build_hotspots(synthetic, top=3, rank_by="harm")
    with pytest.raises(ValueError, match="share_of_harm"):
        build_hotspots(synthetic, share_of_harm=1.5, harm="cchi")
    with pytest.raises(ValueError, match="positive whole"):
        build_hotspots(synthetic, top=0)
    with pytest.raises(ValueError, match="min_separation"):
        build_hotspots(synthetic, top=3, min_separation=-1)
    asb = synthetic.assign(category="Anti-social behaviour")
    with pytest.warns(UnknownOffenceWarning), pytest.raises(DataError, match="total harm is 0"):
        build_hotspots(asb, share_of_harm=0.5, harm="cchi")
    bad = synthetic.copy()
    bad.loc[7, "y"] = np.nan
    with pytest.raises(DataError, match="coordinate") as exc:
        build_hotspots(bad, top=3)
    assert exc.value.row == 8 and exc.value.column == "y"
    with pytest.raises(DataError, match="'x' and 'y'"):
        build_hotspots(synthetic.rename(columns={"x": "easting"}), top=3)


# ----------------------------------------------------------------------------- stability
def test_stability_stable_and_moving_hot_spots():
    rng = np.random.default_rng(21)
    grid = HexGrid(150)
    q = np.arange(3000, 3060, 3)
    cx, cy = grid.centres(q, np.full(len(q), 1000))
    counts = np.arange(5, 25)
    same = pd.concat([
        _clusters(list(zip(cx, cy, counts, strict=True)), rng=rng, month="2024-01"),
        _clusters(list(zip(cx, cy, counts, strict=True)), rng=rng, month="2024-02"),
    ], ignore_index=True)
    s = stability(same, top=5)
    row = s.table.iloc[0]
    assert (row.period_a, row.period_b) == ("2024-01", "2024-02")
    assert row.overlap == 5 and row.overlap_share == 1.0 and row.jaccard == 1.0
    assert row.spearman == pytest.approx(1.0)

    moved = pd.concat([
        _clusters(list(zip(cx[:10], cy[:10], counts[10:], strict=True)), rng=rng, month="2024-01"),
        _clusters(list(zip(cx[10:], cy[10:], counts[10:], strict=True)), rng=rng, month="2024-02"),
    ], ignore_index=True)
    row = stability(moved, top=5).table.iloc[0]
    assert row.overlap == 0 and row.b_share_in_a_top == 0.0


def test_stability_spearman_matches_pandas_and_month_column():
    rng = np.random.default_rng(8)
    frames = []
    for m in ("2024-01", "2024-02", "2024-03"):
        frames.append(pd.DataFrame({"x": rng.normal(450_000, 500, 1500),
                                    "y": rng.normal(200_000, 500, 1500),
                                    "category": VIOLENCE, "month": m}))
    crimes = pd.concat(frames, ignore_index=True)
    s = stability(crimes, split="month", top=15, min_separation=300)
    assert s.table[["period_a", "period_b"]].values.tolist() == [
        ["2024-01", "2024-02"], ["2024-02", "2024-03"]]
    # independent: counts per cell via the grid, rank correlation with pandas
    grid = HexGrid(150)
    q, r = grid.locate(crimes["x"], crimes["y"])
    per = pd.DataFrame({"cell": [f"{a},{b}" for a, b in zip(q, r, strict=True)],
                        "month": crimes["month"]}).value_counts().unstack(fill_value=0)
    a = per[per["2024-01"] > 0]
    expected = a["2024-01"].corr(a["2024-02"], method="spearman")
    assert s.table["spearman"].iloc[0] == pytest.approx(expected, rel=1e-10)
    assert s.table["n_cells"].iloc[0] == len(a)
    assert (s.table["n_top_a"] == 15).all()
    assert "top cells still top" in s.summary()
    assert len(json.loads(json.dumps(s.to_dict()))["pairs"]) == 2
    halves = stability(crimes, top=15)  # first 1 month vs last 2
    assert halves.table[["period_a", "period_b"]].values.tolist() == [["2024-01", "2024-02 to 2024-03"]]
    with pytest.raises(DataError, match="two months"):
        stability(crimes[crimes["month"] == "2024-01"], top=5)


# ----------------------------------------------------------------------------- real data
def _police_uk(paths):
    from rct.io.crimes import read_crimes

    return read_crimes(paths, kind="police_uk").data


@pytest.fixture(scope="module")
def real_crimes(police_uk_dir):
    paths = [police_uk_dir / "2018-10-thames-valley-street.csv.gz",
             police_uk_dir / "2018-11-thames-valley-street.csv.gz"]
    return _police_uk(paths)


def test_real_police_uk_violence_top_45(real_crimes):
    with warnings.catch_warnings():
        warnings.simplefilter("error", HotspotWarning)
        res = build_hotspots(real_crimes, cell=150, top=45, crime_types=[VIOLENCE],
                             harm="cchi", min_separation=300)
    h = res.hotspots
    assert len(h) == 45 and h["hotspot_id"].is_unique
    n_violence = int((real_crimes["category"] == VIOLENCE).sum())
    assert res.n_crimes == n_violence
    share_crime = h["crimes"].sum() / n_violence
    share_area = h["area_m2"].sum() / res.area_cells_m2
    assert share_crime > 2 * share_area        # crime concentrates
    assert h["crimes"].min() >= res.cells.loc[~res.cells["chosen"], "crimes"].median()
    cx, cy = h["centroid_x"].to_numpy(), h["centroid_y"].to_numpy()
    d = np.hypot(cx[:, None] - cx[None], cy[:, None] - cy[None])
    d[np.diag_indices(45)] = np.inf
    assert d.min() >= 300 - 1e-6
    # counts re-derived from the points inside each polygon
    vx = real_crimes.loc[real_crimes["category"] == VIOLENCE, "x"].to_numpy()
    vy = real_crimes.loc[real_crimes["category"] == VIOLENCE, "y"].to_numpy()
    inside = shapely.contains_xy(h.geometry.to_numpy()[:, None], vx[None], vy[None]).sum(axis=1)
    assert (inside <= h["crimes"].to_numpy()).all()            # edge points may sit on a border
    assert inside.sum() >= 0.95 * h["crimes"].sum()
    # all violence has one CCHI weight, so share of harm equals share of crime
    assert h["share_harm"].sum() == pytest.approx(share_crime)
    s = stability(real_crimes, top=45, crime_types=[VIOLENCE], min_separation=300)
    row = s.table.iloc[0]
    assert row.crimes_a + row.crimes_b == n_violence
    assert 0 < row.overlap < 45 and row.spearman > 0
