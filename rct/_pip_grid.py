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


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, value): every integer of ``lo[i]..hi[i]`` (none when ``hi < lo``), with ``i``."""
    cnt = np.maximum(hi - lo + 1, 0)
    owner = np.repeat(np.arange(len(lo)), cnt)
    value = lo[owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    return owner, value


def _classify_cells(
    c_lo,
    r_lo,
    ncol,
    nrow,
    x0,
    y0,
    fcs,
    margin,
    epoly,
    ex0,
    ey0,
    ex1,
    ey1,
    band_base,
    band_ptr,
    band_edges,
):
    """Fine cells of each polygon's bounding range that are boundary or fully inside.

    *Boundary*: some edge of the polygon may meet the cell grown by the margin.
    Each edge marks, row by row, the cells its piece within the row (grown by
    twice the margin) spans: a superset of the cells it meets, which is safe
    (a boundary cell only costs an exact crossing test per point).  *Fully
    inside*: not boundary, and the centre inside by the crossing number of a
    horizontal ray over the edges in the centre's row band; every edge is then
    more than half a cell from the centre, so the float test is exact.
    Returns (polygon, column, row, full) per kept cell, in (polygon, row,
    column) order.  Vectorised over (edge, row), (edge, row, column) and
    (cell, crossing) pairs.
    """
    n = len(c_lo)
    size = ncol * nrow
    base = np.zeros(n + 1, np.int64)
    np.cumsum(size, out=base[1:])
    total = int(base[-1])
    m2 = 2.0 * margin
    bnd = np.zeros(total, np.bool_)
    # boundary: each edge's rows, then each (edge, row)'s columns
    p = epoly
    ax, ay, bx, by = ex0, ey0, ex1, ey1
    rlo = np.maximum(np.floor((np.minimum(ay, by) - m2 - y0) / fcs).astype(np.int64) - r_lo[p], 0)
    rhi = np.minimum(np.floor((np.maximum(ay, by) + m2 - y0) / fcs).astype(np.int64) - r_lo[p],
                     nrow[p] - 1)
    e, rr = _ranges(rlo, rhi)
    pe = p[e]
    ax, ay, bx, by = ax[e], ay[e], bx[e], by[e]
    blo = y0 + (r_lo[pe] + rr) * fcs - m2
    bhi = y0 + (r_lo[pe] + rr + 1) * fcs + m2
    flat = ay == by
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (blo - ay) / (by - ay)
        t1 = (bhi - ay) / (by - ay)
    t0, t1 = np.minimum(t0, t1), np.maximum(t0, t1)
    t0 = np.maximum(t0, 0.0)
    t1 = np.minimum(t1, 1.0)
    keep = flat | (t0 <= t1)
    xa = np.where(flat, np.minimum(ax, bx), ax + t0 * (bx - ax))
    xb = np.where(flat, np.maximum(ax, bx), ax + t1 * (bx - ax))
    xa, xb = np.minimum(xa, xb), np.maximum(xa, xb)
    pe, rr, xa, xb = pe[keep], rr[keep], xa[keep], xb[keep]
    clo = np.maximum(np.floor((xa - m2 - x0) / fcs).astype(np.int64) - c_lo[pe], 0)
    chi = np.minimum(np.floor((xb + m2 - x0) / fcs).astype(np.int64) - c_lo[pe], ncol[pe] - 1)
    k, cc = _ranges(clo, chi)
    bnd[base[pe[k]] + rr[k] * ncol[pe[k]] + cc] = True
    # every cell of every polygon's range, in (polygon, row, column) order
    cp = np.repeat(np.arange(n), size)
    local = np.arange(total) - base[cp]
    rr = local // np.maximum(ncol[cp], 1)
    col = c_lo[cp] + local % np.maximum(ncol[cp], 1)
    row = r_lo[cp] + rr
    # fully inside: crossings of the centre's row by the edges of its band, right of the centre
    inner = np.flatnonzero(~bnd)
    band = band_base[cp[inner]] + rr[inner]
    cy_band = y0 + (r_lo[cp[inner]] + rr[inner]) * fcs + fcs / 2
    cx = x0 + col[inner] * fcs + fcs / 2
    q, j = _ranges(band_ptr[band], band_ptr[band + 1] - 1)
    ed = band_edges[j]
    cyq = cy_band[q]
    ay, by = ey0[ed], ey1[ed]
    cross = (ay > cyq) != (by > cyq)
    q, ed, cyq, ay, by = q[cross], ed[cross], cyq[cross], ay[cross], by[cross]
    ax = ex0[ed]
    xint = ax + (cyq - ay) * (ex1[ed] - ax) / (by - ay)
    odd = np.bincount(q[xint > cx[q]], minlength=len(inner)) % 2 == 1
    inside = np.zeros(total, np.bool_)
    inside[inner[odd]] = True
    kept = bnd | inside
    return cp[kept], col[kept], row[kept], inside[kept]


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
    ncol = np.where(valid, c_hi - c_lo + 1, 0).astype(np.int64)
    nrow = np.where(valid, r_hi - r_lo + 1, 0).astype(np.int64)
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
    # classify each polygon's fine cells: boundary (an edge may pass within the margin),
    # fully inside (no edge near, centre inside) or outside (dropped)
    ex0, ey0, ex1, ey1 = (np.ascontiguousarray(v, dtype=np.float64) for v in (ex0, ey0, ex1, ey1))
    cp, gx, gy, full = _classify_cells(
        c_lo.astype(np.int64),
        r_lo.astype(np.int64),
        ncol,
        nrow,
        float(x0),
        float(y0),
        float(fcs),
        float(margin),
        epoly,
        ex0,
        ey0,
        ex1,
        ey1,
        band_base,
        band_ptr,
        band_edges,
    )
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
    g = np.array([x0, y0, 1.0 / fcs, float(nfx), float(nfy), float(ncx)])
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
