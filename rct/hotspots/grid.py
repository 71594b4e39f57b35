"""Hexagonal grids in EPSG:27700 metres: vectorised point binning, centres, polygons.

Cells are regular hexagons whose **distance across flats** (the distance
between two opposite sides) is ``cell`` metres.  That is also the distance
between the centres of two touching cells, so a 150 m grid has neighbours
150 m apart and each cell covers ``sqrt(3)/2 * cell**2`` m² (19,486 m² for
150 m).  The circumradius (centre to corner) is ``cell / sqrt(3)``.

Cells are addressed by axial coordinates ``(q, r)`` (Patel, "Hexagonal
Grids", Red Blob Games, 2013): ``pointy`` grids have a corner at the top and
rows of cells along x; ``flat`` grids have a flat top and columns along y.
The grid is anchored at ``origin`` (default the national grid origin
(0, 0)), so the same cell size and origin always give the same cells,
whatever the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["HexGrid", "Orientation"]

Orientation = Literal["pointy", "flat"]
_SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True)
class HexGrid:
    """A hexagonal grid: ``cell`` metres across flats, anchored at ``origin``.

    Parameters
    ----------
    cell
        Distance across flats = centre-to-centre distance of neighbours (m).
    orientation
        ``"pointy"`` (corner up) or ``"flat"`` (side up).
    origin
        The centre of cell ``(0, 0)`` in EPSG:27700 metres.
    """

    cell: float
    orientation: Orientation = "pointy"
    origin: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.cell) and self.cell > 0):
            raise ValueError(f"cell must be a positive number of metres, got {self.cell!r}")
        if self.orientation not in ("pointy", "flat"):
            raise ValueError(
                f"orientation must be one of ['pointy', 'flat'], got {self.orientation!r}"
            )
        x0, y0 = (float(v) for v in self.origin)
        if not (np.isfinite(x0) and np.isfinite(y0)):
            raise ValueError(f"origin must be two finite numbers, got {self.origin!r}")
        object.__setattr__(self, "origin", (x0, y0))
        object.__setattr__(self, "cell", float(self.cell))

    @property
    def radius(self) -> float:
        """Circumradius: centre to corner (m)."""
        return self.cell / _SQRT3

    @property
    def cell_area(self) -> float:
        """Area of one cell (m²): ``sqrt(3)/2 * cell**2``."""
        return _SQRT3 / 2.0 * self.cell**2

    def locate(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Axial cell ``(q, r)`` (int64 arrays) containing each point.

        Vectorised: fractional axial coordinates, then cube rounding (the
        component with the largest rounding error is recomputed from the other
        two so that ``q + r + s == 0``).  A point exactly on an edge goes to one
        of the two cells, deterministically.
        """
        x = np.asarray(x, dtype=float) - self.origin[0]
        y = np.asarray(y, dtype=float) - self.origin[1]
        size = self.radius
        if self.orientation == "pointy":
            qf = (_SQRT3 / 3.0 * x - y / 3.0) / size
            rf = (2.0 / 3.0 * y) / size
        else:
            qf = (2.0 / 3.0 * x) / size
            rf = (-x / 3.0 + _SQRT3 / 3.0 * y) / size
        sf = -qf - rf
        q, r, s = np.round(qf), np.round(rf), np.round(sf)
        dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
        fix_q = (dq > dr) & (dq > ds)
        fix_r = ~fix_q & (dr > ds)
        q = np.where(fix_q, -r - s, q)
        r = np.where(fix_r, -q - s, r)
        return q.astype(np.int64), r.astype(np.int64)

    def centres(self, q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centre ``(x, y)`` of axial cells ``(q, r)`` in EPSG:27700 metres."""
        q = np.asarray(q, dtype=float)
        r = np.asarray(r, dtype=float)
        size = self.radius
        if self.orientation == "pointy":
            x = size * _SQRT3 * (q + r / 2.0)
            y = size * 1.5 * r
        else:
            x = size * 1.5 * q
            y = size * _SQRT3 * (r + q / 2.0)
        return x + self.origin[0], y + self.origin[1]

    def polygons(self, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Shapely hexagons of axial cells (built in one vectorised call)."""
        import shapely

        cx, cy = self.centres(q, r)
        start = 30.0 if self.orientation == "pointy" else 0.0
        angles = np.deg2rad(start + 60.0 * np.arange(7))  # closed ring
        ring = np.stack(
            [cx[:, None] + self.radius * np.cos(angles), cy[:, None] + self.radius * np.sin(angles)],
            axis=-1,
        )
        return shapely.polygons(ring)

    @staticmethod
    def hex_distance(q1: np.ndarray, r1: np.ndarray, q2: np.ndarray, r2: np.ndarray) -> np.ndarray:
        """Steps between cells on the grid (1 = touching); broadcasts."""
        dq = np.asarray(q1) - np.asarray(q2)
        dr = np.asarray(r1) - np.asarray(r2)
        return (np.abs(dq) + np.abs(dr) + np.abs(dq + dr)) // 2
