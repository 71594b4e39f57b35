"""Compile and cache rct's numba kernels once, at install: ``python -m rct._warm``.

rct's numba kernels: the point-in-polygon scan of :mod:`rct.pip` and the
crossover sampler of :mod:`rct.randomise.crossover_v3` (its curveball,
independent-days and start kernels; everything else is numpy).  Compiling
them takes about 10 CPU seconds; with numba's on-disk cache (``cache=True``)
every later run loads them in milliseconds.  ``make`` runs this module after
``pip install`` so that the first real run is not the one that pays.  Safe to run any number of times;
without a writable cache directory it compiles in memory and exits.

Prints what it did, e.g. ``rct._warm: 4 numba kernels ready (12.4 s)``.
"""

from __future__ import annotations

import sys
import time


def warm() -> list[str]:
    """Run the point-in-polygon kernel once on a tiny input; returns its name."""
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


def warm_crossover() -> list[str]:
    """Draw from tiny crossover designs: compiles every kernel of ``rct-randomise/3``."""
    import numpy as np

    from rct.randomise import _crossover_v3_kernels as K
    from rct.randomise.crossover import crossover

    ids = [f"h{i}" for i in range(5)]
    for kw in ({}, {"block_weekday": True}, {"equal_coverage": False}):  # one kernel each
        crossover(ids, start="2021-01-04", days=15, per_day=2, seed=1, **kw).draw(
            2, np.random.PCG64(1))
    return [K.premix.__name__, K.curveball_site.__name__, K.independent_site.__name__]


def main() -> int:
    t = time.perf_counter()
    names = warm() + warm_crossover()
    n = len(names)
    print(f"rct._warm: {n} numba kernel{'s' if n != 1 else ''} ready "
          f"({time.perf_counter() - t:.2f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover - run by make
    sys.exit(main())
