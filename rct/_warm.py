"""Compile and cache rct's numba kernels once, at install: ``python -m rct._warm``.

rct has one numba kernel, the point-in-polygon scan of :mod:`rct.pip`
(everything else is numpy).  Compiling it takes about 2-3 CPU seconds; with
numba's on-disk cache (``cache=True``) every later run loads it in
milliseconds.  ``make`` runs this module after ``pip install`` so that the
first real run is not the one that pays.  Safe to run any number of times;
without a writable cache directory it compiles in memory and exits.

Prints what it did, e.g. ``rct._warm: 1 numba kernel ready (2.41 s)``.
"""

from __future__ import annotations

import sys
import time


def warm() -> list[str]:
    """Run every numba kernel once on a tiny input; returns their names."""
    import numpy as np
    import shapely

    from rct import pip

    # two overlapping squares: exercises every mode of the kernel (first, several, pairs)
    index = pip.PolygonIndex.build([shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15)])
    x = np.array([1.0, 7.0, 12.0, 20.0, 10.0])
    y = np.array([1.0, 7.0, 12.0, 20.0, 3.0])
    index.locate(x, y)
    index.locate_all(x, y)
    return [pip._scan.__name__]


def main() -> int:
    t = time.perf_counter()
    names = warm()
    n = len(names)
    print(f"rct._warm: {n} numba kernel{'s' if n != 1 else ''} ready "
          f"({time.perf_counter() - t:.2f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover - run by make
    sys.exit(main())
