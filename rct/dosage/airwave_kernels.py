"""Row checks and keys of the Airwave map step, and the duplicate-key search of the reduce step.

Split from :mod:`rct.dosage.airwave_read` to keep modules short.  Plain
numpy: these passes were numba kernels, but a numba kernel compiles for
0.3-1.1 CPU seconds on first use, and in the same benchmark numpy costs
1-5 ms more per million pings (``benchmarks/numba_vs_numpy.py``): a run
needs 100-500 million pings to win the compile time back.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_rows", "partition_good", "partition_keys", "mix_keys", "duplicate_candidates"]

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def check_rows(
    ridx: np.ndarray,
    rcode: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    has_t: np.ndarray,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    tmin: int,
    tmax: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: good (radio, time, plausible, in the box) and the 64-bit key.

    The radio of row ``i`` is ``rcode[ridx[i]]`` (missing when ``ridx[i] < 0`` or
    the code is negative).  The key of a row is :func:`mix_keys` of its radio
    (-1 when missing) and time; only the keys of good rows are used.
    """
    r = rcode[np.maximum(ridx, 0)]
    r[ridx < 0] = -1
    good = r >= 0
    good &= has_t
    good &= t >= tmin
    good &= t < tmax
    good &= x >= x0  # NaN compares False: a missing coordinate is not good
    good &= x <= x1
    good &= y >= y0
    good &= y <= y1
    return good, mix_keys(r, t)


def partition_good(keys: np.ndarray, good: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``good`` keys grouped by their top 8 bits, with the 257 bucket offsets."""
    return partition_keys(keys[good])


def partition_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keys grouped by their top 8 bits: (keys grouped by bucket, 257 offsets).

    The keys sorted (numpy's SIMD sort: faster than a stable sort of the
    bucket numbers and the gather after it), and the bucket edges searched.
    """
    out = np.sort(np.asarray(keys, dtype=np.uint64))
    edges = np.arange(256, dtype=np.uint64) << np.uint64(56)
    offsets = np.empty(257, dtype=np.int64)
    offsets[:256] = np.searchsorted(out, edges)
    offsets[256] = len(out)
    return out, offsets


def mix_keys(radio: np.ndarray, t: np.ndarray) -> np.ndarray:
    """64-bit hash of (radio, timestamp): equal pings give equal keys (collisions are re-checked).

    SplitMix64's finaliser of ``radio * golden ^ t`` (in place: one temporary).
    """
    with np.errstate(over="ignore"):
        z = np.asarray(radio).astype(np.uint64)
        z *= _M1
        z ^= np.asarray(t).astype(np.uint64, copy=False)
        tmp = z >> np.uint64(30)
        z ^= tmp
        z *= _M2
        np.right_shift(z, np.uint64(27), out=tmp)
        z ^= tmp
        z *= _M3
        np.right_shift(z, np.uint64(31), out=tmp)
        z ^= tmp
        return z


def duplicate_candidates(runs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Keys occurring more than once across ``runs``, sorted.

    Each run holds keys grouped by their top 8 bits with the bucket offsets
    (:func:`partition_good`).  Keys are well mixed,
    so the 256 buckets are even: each is gathered from every run, sorted and
    scanned alone, in two threads (numpy sorts without the GIL).  No array as
    large as all the keys is built or sorted.
    """
    from concurrent.futures import ThreadPoolExecutor

    def scan(buckets: range) -> list[np.ndarray]:
        out = []
        for b in buckets:
            pieces = [k[off[b] : off[b + 1]] for k, off in runs]
            part = np.concatenate(pieces) if pieces else np.zeros(0, np.uint64)
            part.sort()
            same = part[1:] == part[:-1]
            if same.any():
                out.append(np.unique(part[1:][same]))
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = [a for part in pool.map(scan, (range(0, 128), range(128, 256))) for a in part]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.uint64)
