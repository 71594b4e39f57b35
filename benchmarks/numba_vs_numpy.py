"""Benchmark: the Airwave map-step passes as numba kernels (as they were) against numpy (now).

Issue 16, goal 3: keep numba only where it clearly wins, counting its compile
time (paid on the first run after install, and by every run without a
writable cache).  For each pass: the numba kernel's compile time (first
call minus a warm call, no cache) and both implementations' time per
million pings, in the same run on the same arrays, and whether they agree.

    python benchmarks/numba_vs_numpy.py [N]      # N pings, default 1,000,000

Prints JSON lines; ``break_even_pings`` is how many pings a run needs before
the numba kernel has paid back its compile time.
"""

from __future__ import annotations

import json
import sys
import time

import numba
import numpy as np

from rct.dosage.airwave_kernels import check_rows, partition_keys
from rct.dosage.airwave_read import T_MAX, T_MIN
from rct.pip import _compact

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


@numba.njit(parallel=True, nogil=True)
def nb_check_rows(ridx, rcode, t, x, y, has_t, x0, y0, x1, y1, tmin, tmax):  # pragma: no cover
    """The numba kernel the map step used before (parallel)."""
    n = t.shape[0]
    good = np.empty(n, dtype=np.bool_)
    keys = np.empty(n, dtype=np.uint64)
    for i in numba.prange(n):
        ri = ridx[i]
        r = rcode[ri] if ri >= 0 else -1
        ok = (r >= 0 and has_t[i] and t[i] >= tmin and t[i] < tmax and x[i] >= x0
              and x[i] <= x1 and y[i] >= y0 and y[i] <= y1)
        good[i] = ok
        z = np.uint64(r) * np.uint64(0x9E3779B97F4A7C15) ^ np.uint64(t[i])
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        keys[i] = z ^ (z >> np.uint64(31))
    return good, keys


@numba.njit(nogil=True)
def nb_partition_keys(keys):  # pragma: no cover
    """Counting sort of keys by their top 8 bits (the kernel used before)."""
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


@numba.njit(nogil=True)
def nb_compact(first):  # pragma: no cover
    n = first.shape[0]
    ns = 0
    nx = 0
    for i in range(n):
        if first[i] >= 0:
            ns += 1
        elif first[i] < -1:
            nx += 1
    single = np.empty(ns, dtype=np.int64)
    poly = np.empty(ns, dtype=np.int32)
    special = np.empty(nx, dtype=np.int64)
    a = 0
    b = 0
    for i in range(n):
        f = first[i]
        if f >= 0:
            single[a] = i
            poly[a] = f
            a += 1
        elif f < -1:
            special[b] = i
            b += 1
    return single, poly, special


def best(fn, *args, repeats: int = 7) -> float:
    out = []
    for _ in range(repeats):
        t = time.process_time()
        fn(*args)
        out.append(time.process_time() - t)
    return min(out)


def compare(name: str, nb, np_fn, args: tuple, same) -> None:
    t = time.process_time()
    a = nb(*args)
    first = time.process_time() - t
    warm_nb = best(nb, *args)
    compile_s = max(first - warm_nb, 0.0)
    b = np_fn(*args)
    warm_np = best(np_fn, *args)
    per_m = 1e6 / N
    saved = (warm_np - warm_nb) * per_m  # CPU s numba saves per million pings
    print(json.dumps({
        "benchmark": "numba_vs_numpy", "pass": name, "pings": N,
        "numba_compile_cpu_s": round(compile_s, 3),
        "numba_cpu_s_per_million": round(warm_nb * per_m, 4),
        "numpy_cpu_s_per_million": round(warm_np * per_m, 4),
        "break_even_pings": None if saved <= 0 else round(compile_s / saved * 1e6),
        "agree": bool(same(a, b)),
    }), flush=True)


def main() -> None:
    rng = np.random.default_rng(1)
    ridx = rng.integers(-1, 400, N).astype(np.int32)
    rcode = rng.integers(0, 2**48, 400)
    rcode[3] = -1
    t = np.int64(1_717_200_000) * 10**9 + np.arange(N) * (30 * 86400 * 10**9 // N)
    x = rng.uniform(-1e4, 7.1e5, N)
    y = rng.uniform(0, 1.3e6, N)
    has_t = rng.random(N) > 0.01
    args = (ridx, rcode, t, x, y, has_t, 0.0, 0.0, 7e5, 1.3e6, int(T_MIN), int(T_MAX))
    compare("check_rows", nb_check_rows, check_rows, args,
            lambda a, b: np.array_equal(a[0], b[0]) and np.array_equal(a[1][a[0]], b[1][b[0]]))
    keys = check_rows(*args)[1]

    def same_buckets(a, b):
        return np.array_equal(a[1], b[1]) and all(
            np.array_equal(np.sort(a[0][a[1][k]:a[1][k + 1]]), b[0][b[1][k]:b[1][k + 1]])
            for k in range(256))

    compare("partition_keys", nb_partition_keys, partition_keys, (keys,), same_buckets)
    first = rng.integers(-3, 300, N).astype(np.int32)
    first[rng.random(N) < 0.9] = -1
    compare("compact", nb_compact, _compact, (first,),
            lambda a, b: all(np.array_equal(u, v) for u, v in zip(a, b, strict=True)))


if __name__ == "__main__":
    main()
