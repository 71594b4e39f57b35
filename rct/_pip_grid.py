"""Build the two-level grid index used by :mod:`rct.pip` (see its docstring).

Split from :mod:`rct.pip` to keep modules short; private.
"""

from __future__ import annotations

import math

import numpy as np

_FINE = 8  # fine cells per coarse cell side
_MAX_COARSE = 4_000_000
# the index arrays, in the order the kernels unpack them
_KEYS = (
    "g",
    "coarse",
    "fine",
    "cl_ptr",
    "cl_poly",
    "cl_full",
    "row0",
    "nrows",
    "band_base",
    "band_ptr",
    "band_edges",
    "ex0",
    "ey0",
    "ex1",
    "ey1",
)


def _empty(n: int) -> dict[str, np.ndarray]:
    """Arrays of an index with no edges: every cell empty."""
    m = max(n, 1)
    out = {k: np.zeros(0, np.int64) for k in _KEYS}
    out.update(
        g=np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0]),
        coarse=np.full(1, -1, np.int32),
        fine=np.full(1, -1, np.int32),
        cl_ptr=np.zeros(1, np.int64),
        cl_poly=np.zeros(0, np.int32),
        cl_full=np.zeros(0, np.bool_),
        row0=np.zeros(m, np.int64),
        nrows=np.zeros(m, np.int64),
        band_base=np.zeros(m, np.int64),
        band_ptr=np.zeros(1, np.int64),
    )
    for k in ("ex0", "ey0", "ex1", "ey1"):
        out[k] = np.zeros(0)
    return out


def _edges(geoms: np.ndarray) -> tuple[np.ndarray, ...]:
    """All ring edges: (x0, y0, x1, y1, polygon index)."""
    import shapely

    parts, part_idx = shapely.get_parts(geoms, return_index=True)
    rings, ring_idx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a = coords[:-1][same]
    b = coords[1:][same]
    poly = part_idx[ring_idx[cidx[:-1][same]]]
    keep = ~((a[:, 0] == b[:, 0]) & (a[:, 1] == b[:, 1]))  # repeated vertices
    return a[keep, 0], a[keep, 1], b[keep, 0], b[keep, 1], poly[keep].astype(np.int64)


def build_arrays(geoms: np.ndarray) -> dict[str, np.ndarray]:
    import shapely

    n = len(geoms)
    ex0, ey0, ex1, ey1, epoly = _edges(geoms)
    if len(ex0) == 0:
        return _empty(n)
    bounds = shapely.bounds(geoms)  # NaN for empty
    valid = ~np.isnan(bounds[:, 0])
    xmin, ymin = np.nanmin(bounds[:, 0]), np.nanmin(bounds[:, 1])
    xmax, ymax = np.nanmax(bounds[:, 2]), np.nanmax(bounds[:, 3])
    size = np.maximum(bounds[valid, 2] - bounds[valid, 0], bounds[valid, 3] - bounds[valid, 1])
    typical = float(np.median(size[size > 0])) if np.any(size > 0) else 1.0
    span = max(xmax - xmin, ymax - ymin, typical)
    cs = max(typical, span / math.sqrt(_MAX_COARSE))  # coarse cell ~ one hot spot
    fcs = cs / _FINE
    margin = fcs * 1e-3 + 1e-9 * max(abs(xmax), abs(ymax), 1.0)
    x0 = xmin - 2 * margin
    y0 = ymin - 2 * margin
    ncx = int(math.floor((xmax + 2 * margin - x0) / cs)) + 1
    ncy = int(math.floor((ymax + 2 * margin - y0) / cs)) + 1
    nfx, nfy = ncx * _FINE, ncy * _FINE

    def frow(v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((v - y0) / fcs), 0, nfy - 1).astype(np.int64)

    def fcol(v: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((v - x0) / fcs), 0, nfx - 1).astype(np.int64)

    # per polygon: fine cell ranges
    bx = np.where(valid[:, None], bounds, 0.0)
    c_lo, c_hi = fcol(bx[:, 0] - margin), fcol(bx[:, 2] + margin)
    r_lo, r_hi = frow(bx[:, 1] - margin), frow(bx[:, 3] + margin)
    ncol = np.where(valid, c_hi - c_lo + 1, 0)
    nrow = np.where(valid, r_hi - r_lo + 1, 0)
    ncell = ncol * nrow
    cp = np.repeat(np.arange(n), ncell)
    k = np.arange(ncell.sum()) - np.repeat(np.cumsum(ncell) - ncell, ncell)
    gx = c_lo[cp] + k % ncol[cp]
    gy = r_lo[cp] + k // ncol[cp]
    cx0 = x0 + gx * fcs
    cy0 = y0 + gy * fcs
    boxes = shapely.box(cx0 - margin, cy0 - margin, cx0 + fcs + margin, cy0 + fcs + margin)
    rings = shapely.boundary(geoms)
    shapely.prepare(rings)
    boundary = shapely.intersects(rings[cp], boxes)
    centre_in = shapely.contains_xy(geoms[cp], cx0 + fcs / 2, cy0 + fcs / 2)
    full = ~boundary & centre_in
    keep = boundary | full
    cp, gx, gy, full = cp[keep], gx[keep], gy[keep], full[keep]
    cell = gy * nfx + gx
    order = np.lexsort((cp, cell))
    cell, cp, full, gx, gy = cell[order], cp[order], full[order], gx[order], gy[order]
    ucell, first, cnt = np.unique(cell, return_index=True, return_counts=True)
    single_full = (cnt == 1) & full[first]
    # coarse blocks
    ucx = (ucell % nfx) // _FINE
    ucy = (ucell // nfx) // _FINE
    ublock, block_of = np.unique(ucy * ncx + ucx, return_inverse=True)
    coarse = np.full(ncx * ncy, -1, np.int32)
    coarse[ublock] = np.arange(len(ublock), dtype=np.int32)
    fine = np.full(len(ublock) * _FINE * _FINE, -1, np.int32)
    sub = ((ucell // nfx) - ucy * _FINE) * _FINE + ((ucell % nfx) - ucx * _FINE)
    pos = block_of * _FINE * _FINE + sub
    list_cells = np.flatnonzero(~single_full)
    code = np.where(single_full, cp[first], 0).astype(np.int64)
    code[list_cells] = -(np.arange(len(list_cells)) + 2)
    fine[pos] = code.astype(np.int32)
    # candidate lists (CSR)
    in_list = np.repeat(~single_full, cnt)
    cl_poly = cp[in_list].astype(np.int32)
    cl_full = full[in_list].astype(np.bool_)
    cl_ptr = np.zeros(len(list_cells) + 1, np.int64)
    np.cumsum(cnt[list_cells], out=cl_ptr[1:])
    # row bands: edges of polygon p crossing fine row r (with margin)
    row0 = np.where(valid, r_lo, 0).astype(np.int64)
    nrows = nrow.astype(np.int64)
    band_base = np.zeros(n, np.int64)
    band_base[1:] = np.cumsum(nrows)[:-1]
    e_lo = np.maximum(frow(np.minimum(ey0, ey1) - margin), row0[epoly])
    e_hi = np.minimum(frow(np.maximum(ey0, ey1) + margin), row0[epoly] + nrows[epoly] - 1)
    e_n = np.maximum(e_hi - e_lo + 1, 0)
    eid = np.repeat(np.arange(len(ex0)), e_n)
    erow = e_lo[eid] + np.arange(e_n.sum()) - np.repeat(np.cumsum(e_n) - e_n, e_n)
    band = band_base[epoly[eid]] + (erow - row0[epoly[eid]])
    order = np.argsort(band, kind="stable")
    band_edges = eid[order].astype(np.int64)
    band_ptr = np.zeros(int(nrows.sum()) + 1, np.int64)
    np.cumsum(np.bincount(band, minlength=int(nrows.sum())), out=band_ptr[1:])
    g = np.array([x0, y0, 1.0 / fcs, float(nfx), float(nfy), float(ncx)])
    ex0, ey0, ex1, ey1 = (np.ascontiguousarray(v) for v in (ex0, ey0, ex1, ey1))
    values = (
        g,
        coarse,
        fine,
        cl_ptr,
        cl_poly,
        cl_full,
        row0,
        nrows,
        band_base,
        band_ptr,
        band_edges,
        ex0,
        ey0,
        ex1,
        ey1,
    )
    return dict(zip(_KEYS, values, strict=True))
