"""The one point-in-polygon kernel: one compiled signature, thread ranges, every mode vs GEOS."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from rct import pip


def _polys(rng: np.random.Generator, n: int = 40) -> np.ndarray:
    c = rng.uniform(0, 2000, (n, 2))
    out = [shapely.Point(x, y).buffer(rng.uniform(30, 120), quad_segs=3) for x, y in c]
    out += [shapely.affinity.translate(out[j], 25, 10) for j in range(0, n, 4)]  # overlaps
    return np.array(out, dtype=object)


def _geos_pairs(polys: np.ndarray, x: np.ndarray, y: np.ndarray):
    pi, gi = shapely.STRtree(polys).query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((gi, pi))
    return pi[order], gi[order]


def test_one_signature_for_read_only_and_writable_points():
    """A zero-copy pyarrow column is read-only; it must not compile the kernel a second time."""
    rng = np.random.default_rng(1)
    index = pip.PolygonIndex.build(_polys(rng))
    x = rng.uniform(0, 2000, 5000)
    y = rng.uniform(0, 2000, 5000)
    xr = pa.array(x).to_numpy()
    yr = pa.array(y).to_numpy()
    assert not xr.flags.writeable
    a = index.locate_all(x, y)
    b = index.locate_all(xr, yr)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(index.locate(x, y), index.locate(xr, yr))
    assert len(pip._scan.signatures) == 1


def test_thread_ranges_give_the_same_pairs(monkeypatch):
    """RCT_NUM_THREADS splits the points into ranges run in threads: same answer as GEOS."""
    rng = np.random.default_rng(2)
    polys = _polys(rng)
    index = pip.PolygonIndex.build(polys)
    x = rng.uniform(-100, 2100, 30_000)
    y = rng.uniform(-100, 2100, 30_000)
    ref_pi, ref_gi = _geos_pairs(polys, x, y)
    monkeypatch.setattr(pip, "_MIN_PER_THREAD", 1000)
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("RCT_NUM_THREADS", threads)
        assert len(pip._split(len(x))) == int(threads)
        pi, gi = index.locate_all(x, y)
        np.testing.assert_array_equal(pi, ref_pi)
        np.testing.assert_array_equal(gi, ref_gi)
        low = index.locate(x, y)
        best = np.full(len(x), -1)
        first = np.ones(len(ref_pi), bool)
        first[1:] = ref_pi[1:] != ref_pi[:-1]
        best[ref_pi[first]] = ref_gi[first]
        np.testing.assert_array_equal(low, best)
    monkeypatch.setenv("RCT_NUM_THREADS", "not a number")
    assert pip._threads() == 1


def test_warm_compiles_the_kernel():
    from rct import _warm

    assert _warm.warm() == ["_scan"]
    assert len(pip._scan.signatures) == 1
