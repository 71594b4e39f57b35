"""Hot spots for a synthetic trial, and random points inside them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["synthetic_hotspots", "sample_points", "hexagon"]

# Reading town centre, British National Grid (EPSG:27700)
READING = (471_500.0, 173_300.0)


def hexagon(cx: float, cy: float, cell: float):
    """A flat-topped hexagon of width ``cell`` across the flats, centred on (cx, cy)."""
    from shapely.geometry import Polygon

    r = cell / math.sqrt(3.0)  # centre-to-vertex
    angles = np.deg2rad(np.arange(0, 360, 60))
    return Polygon(np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)]))


def synthetic_hotspots(
    n: int,
    *,
    rng: np.random.Generator,
    cell: float = 150.0,
    spacing: float = 600.0,
    centre: tuple[float, float] = READING,
) -> gpd.GeoDataFrame:
    """``n`` hexagonal hot spots on a jittered grid, at least ``spacing - cell`` apart.

    Returns
    -------
    GeoDataFrame in EPSG:27700 with ``hotspot_id`` ("H01", ...), ``name`` and geometry.
    """
    import geopandas as gpd

    side = math.ceil(math.sqrt(n))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    order = rng.permutation(side * side)[:n]
    jitter = rng.uniform(-0.2, 0.2, size=(n, 2)) * spacing
    x = centre[0] + (gx.ravel()[order] - side / 2) * spacing + jitter[:, 0]
    y = centre[1] + (gy.ravel()[order] - side / 2) * spacing + jitter[:, 1]
    width = len(str(n))
    ids = [f"H{i + 1:0{max(width, 2)}d}" for i in range(n)]
    geoms = [hexagon(a, b, cell) for a, b in zip(x, y, strict=True)]
    return gpd.GeoDataFrame(
        {"hotspot_id": ids, "name": [f"Synthetic hot spot {i}" for i in ids]},
        geometry=geoms,
        crs="EPSG:27700",
    )


def sample_points(
    geoms, counts: np.ndarray, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform random points inside each geometry, ``counts[i]`` of them in ``geoms[i]``.

    Rejection sampling in each geometry's bounding box, vectorised per
    geometry (a loop over the few hot spots, never over points).

    Returns
    -------
    x, y : arrays of coordinates; owner : index of the geometry of each point.
    """
    import shapely

    counts = np.asarray(counts, dtype=np.int64)
    xs, ys, owner = [], [], []
    for i, (g, k) in enumerate(zip(geoms, counts, strict=True)):
        if k <= 0:
            continue
        minx, miny, maxx, maxy = g.bounds
        fill = max(g.area / ((maxx - minx) * (maxy - miny)), 1e-3)
        got_x: list[np.ndarray] = []
        got_y: list[np.ndarray] = []
        have = 0
        while have < k:
            m = int((k - have) / fill * 1.3) + 8
            px = rng.uniform(minx, maxx, m)
            py = rng.uniform(miny, maxy, m)
            inside = shapely.contains_xy(g, px, py)
            got_x.append(px[inside])
            got_y.append(py[inside])
            have += int(inside.sum())
        xs.append(np.concatenate(got_x)[:k])
        ys.append(np.concatenate(got_y)[:k])
        owner.append(np.full(k, i, dtype=np.int64))
    if not xs:
        empty = np.empty(0)
        return empty, empty, np.empty(0, dtype=np.int64)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)
