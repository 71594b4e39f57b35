"""Numba kernels of the Airwave map step, and the duplicate-key search of the reduce step.

Split from :mod:`rct.dosage.airwave_read` to keep modules short.  Every
kernel here is self-contained (calls nothing in another module): numba's
on-disk cache does not notice changes to functions called from another file.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["partition_good", "partition_keys", "mix_keys", "duplicate_candidates"]


def _can_cache() -> bool:
    try:
        from numba.core.caching import CompileResultCacheImpl

        CompileResultCacheImpl(_probe)
        return True
    except Exception:  # read-only package and no writable user cache: compile each run
        return False


def _probe() -> None:  # pragma: no cover - only inspected
    return None


@numba.njit(parallel=True, cache=_can_cache(), nogil=True)
def _check_rows(ridx, rcode, t, x, y, has_t, x0, y0, x1, y1, tmin, tmax):  # pragma: no cover
    """Per row: good (radio, time, plausible, in the box) and the 64-bit key.

    The radio of row ``i`` is ``rcode[ridx[i]]`` (missing when ``ridx[i] < 0`` or
    the code is negative).
    """
    n = t.shape[0]
    good = np.empty(n, dtype=np.bool_)
    keys = np.empty(n, dtype=np.uint64)
    for i in numba.prange(n):
        ri = ridx[i]
        r = rcode[ri] if ri >= 0 else -1
        xi = x[i]
        yi = y[i]
        ti = t[i]
        ok = (
            r >= 0
            and has_t[i]
            and ti >= tmin
            and ti < tmax
            and xi >= x0
            and xi <= x1
            and yi >= y0
            and yi <= y1
        )
        good[i] = ok
        z = np.uint64(r) * np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(ti)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        keys[i] = z ^ (z >> np.uint64(31))
    return good, keys


_N_BLOCKS = 16  # row blocks of the parallel counting sort


@numba.njit(cache=_can_cache(), nogil=True)
def _count_block(keys, good, lo, hi, counts):  # pragma: no cover
    for i in range(lo, hi):
        if good[i]:
            counts[np.int64(keys[i] >> np.uint64(56))] += 1


@numba.njit(cache=_can_cache(), nogil=True)
def _scatter_block(keys, good, lo, hi, pos, out):  # pragma: no cover
    for i in range(lo, hi):
        if good[i]:
            z = keys[i]
            k = np.int64(z >> np.uint64(56))
            out[pos[k]] = z
            pos[k] += 1


@numba.njit(parallel=True, cache=_can_cache(), nogil=True)
def partition_good(keys, good):  # pragma: no cover
    """The ``good`` keys grouped by their top 8 bits, with the 257 bucket offsets.

    A counting sort over row blocks in parallel: per-block bucket counts, then
    each block scatters its keys to its own slots.  (The per-block loops are
    helper functions: written inline in the ``prange`` body, numba compiled
    them several times slower.)
    """
    n = keys.shape[0]
    nb = _N_BLOCKS
    step = max((n + nb - 1) // nb, 1)
    counts = np.zeros(nb * 256, dtype=np.int64)
    for b in numba.prange(nb):
        lo = min(n, b * step)
        _count_block(keys, good, lo, min(n, lo + step), counts[b * 256 : (b + 1) * 256])
    pos = np.empty(nb * 256, dtype=np.int64)
    offsets = np.zeros(257, dtype=np.int64)
    acc = 0
    for k in range(256):
        offsets[k] = acc
        for b in range(nb):
            pos[b * 256 + k] = acc
            acc += counts[b * 256 + k]
    offsets[256] = acc
    out = np.empty(acc, dtype=np.uint64)
    for b in numba.prange(nb):
        lo = min(n, b * step)
        _scatter_block(keys, good, lo, min(n, lo + step), pos[b * 256 : (b + 1) * 256], out)
    return out, offsets


@numba.njit(cache=_can_cache(), nogil=True)
def partition_keys(keys):  # pragma: no cover
    """Counting sort of keys by their top 8 bits: (keys grouped by bucket, 257 offsets)."""
    counts = np.zeros(257, dtype=np.int64)
    for k in keys:
        counts[(k >> np.uint64(56)) + 1] += 1
    offsets = np.cumsum(counts)
    pos = offsets[:-1].copy()
    out = np.empty_like(keys)
    for k in keys:
        b = k >> np.uint64(56)
        out[pos[b]] = k
        pos[b] += 1
    return out, offsets


def mix_keys(radio: np.ndarray, t: np.ndarray) -> np.ndarray:
    """64-bit hash of (radio, timestamp): equal pings give equal keys (collisions are re-checked)."""
    with np.errstate(over="ignore"):
        z = radio.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ t.astype(np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


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
