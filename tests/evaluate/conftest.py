"""Fixtures for the evaluate tests: small design doubles with the rct.randomise contract.

``BlockDouble`` is a blocked complete randomisation (one block = complete
randomisation; days as blocks = a crossover with k tasked per day).  It has
``.assignment``, ``.units``, ``.draw(n, rng)``, ``.enumerate(limit)`` and
``.n_assignments``, like the designs of :mod:`rct.randomise`.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REF = Path(__file__).resolve().parents[1] / "reference" / "evaluate"


class BlockDouble:
    """Complete randomisation within blocks, fixed number treated per block."""

    def __init__(self, assignment, blocks=None, units=None):
        self.assignment = np.asarray(assignment, dtype=np.int8)
        n = self.assignment.size
        self.blocks = np.zeros(n, dtype=int) if blocks is None else pd.factorize(np.asarray(blocks))[0]
        self.units = units if units is not None else pd.Index([str(i) for i in range(n)], name="hotspot_id")
        self._b = np.unique(self.blocks)
        self._m = [int(self.assignment[self.blocks == b].sum()) for b in self._b]
        self._n = [int((self.blocks == b).sum()) for b in self._b]

    @property
    def n_assignments(self):
        return math.prod(math.comb(n, m) for n, m in zip(self._n, self._m, strict=True))

    def enumerate(self, limit=100_000):
        if self.n_assignments > limit:
            return None
        per_block = []
        for b, m in zip(self._b, self._m, strict=True):
            idx = np.flatnonzero(self.blocks == b)
            per_block.append([idx[list(c)] for c in itertools.combinations(range(idx.size), m)])
        out = np.zeros((self.n_assignments, self.assignment.size), dtype=np.int8)
        for r, combo in enumerate(itertools.product(*per_block)):
            out[r, np.concatenate(combo)] = 1
        return out

    def draw(self, n, rng):
        # random keys, ranked within block: the m smallest in each block are treated
        keys = rng.random((n, self.assignment.size))
        order = np.lexsort((keys, np.broadcast_to(self.blocks, keys.shape)), axis=1)
        rank = np.empty_like(order)
        rows = np.arange(n)[:, None]
        rank[rows, order] = np.arange(self.assignment.size)[None, :]
        counts = np.bincount(self.blocks)
        start = np.concatenate([[0], np.cumsum(counts)[:-1]])[self.blocks]
        m = np.array(self._m)[self.blocks]
        return ((rank - start[None, :]) < m[None, :]).astype(np.int8)


def crossover_double(hotspots, dates, schedule):
    """A day-blocked double for a crossover schedule (H × D 0/1 array)."""
    units = pd.MultiIndex.from_product([list(hotspots), list(dates)], names=["hotspot_id", "trial_date"])
    blocks = np.tile(np.arange(len(dates)), len(hotspots))
    return BlockDouble(np.asarray(schedule).ravel(), blocks=blocks, units=units)


@pytest.fixture
def coin_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "coin_exact.csv").set_index("case")


@pytest.fixture
def Block():
    """The :class:`BlockDouble` class (test double of a blocked/complete design)."""
    return BlockDouble


@pytest.fixture
def Crossover():
    """:func:`crossover_double` (a crossover schedule double: days are blocks)."""
    return crossover_double
