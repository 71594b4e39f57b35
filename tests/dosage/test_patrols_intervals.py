"""The union-of-intervals kernel: properties (hypothesis) and brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rct.dosage.intervals import interval_union, union_length

interval = st.tuples(st.integers(0, 200), st.integers(0, 60)).map(lambda t: (t[0], t[0] + t[1]))
grouped = st.lists(st.tuples(st.integers(0, 4), interval), min_size=0, max_size=40)


def _arrays(items):
    g = np.array([i[0] for i in items], dtype=np.int64)
    s = np.array([i[1][0] for i in items], dtype=np.int64)
    e = np.array([i[1][1] for i in items], dtype=np.int64)
    return g, s, e


@settings(max_examples=200, deadline=None)
@given(grouped)
def test_union_bounds_and_brute_force(items):
    g, s, e = _arrays(items)
    u = interval_union(g, s, e, n_groups=5)
    lengths = e - s
    for k in range(5):
        mine = g == k
        total = lengths[mine].sum()
        assert u.length[k] <= total  # union <= sum
        assert u.total[k] == total
        assert u.length[k] >= (lengths[mine].max() if mine.any() else 0)  # union >= max
        covered = np.zeros(261, dtype=bool)  # brute force on the integer grid
        for a, b in zip(s[mine], e[mine], strict=True):
            covered[a:b] = True
        assert u.length[k] == covered.sum()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 30)), min_size=1, max_size=30))
def test_union_of_disjoint_is_sum(gaps_lengths):
    # lay the intervals end to start with positive gaps: disjoint by construction
    gaps = np.array([x[0] + 1 for x in gaps_lengths])
    lens = np.array([x[1] for x in gaps_lengths])
    starts = np.cumsum(gaps + np.r_[0, lens[:-1]])
    ends = starts + lens
    rng = np.random.default_rng(len(lens))
    order = rng.permutation(len(lens))  # input order must not matter
    u = interval_union(np.zeros(len(lens), np.int64), starts[order], ends[order])
    assert u.length[0] == lens.sum()
    assert u.blocks[0] == len(lens)


def test_touching_intervals_make_one_block_and_block_ids():
    g = np.array([0, 0, 0, 1])
    s = np.array([0, 10, 30, 5])
    e = np.array([10, 20, 40, 6])
    u = interval_union(g, s, e)
    assert u.length.tolist() == [30, 1]
    assert u.blocks.tolist() == [2, 1]
    assert u.block_id[0] == u.block_id[1] != u.block_id[2] != u.block_id[3]


def test_float_input_and_validation():
    assert union_length(np.array([0, 0]), np.array([0.5, 1.0]), np.array([1.5, 2.0])).tolist() == [
        1.5
    ]
    with pytest.raises(ValueError, match="end >= start"):
        union_length(np.array([0]), np.array([2]), np.array([1]))
    assert union_length(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)).tolist() == []


def test_union_order_is_exactly_lexsorts():
    """interval_union's packed-key order equals np.lexsort((start, groups)), ties included."""
    from rct.dosage.intervals import _order_by

    rng = np.random.default_rng(11)
    for n, ng, span in ((1, 1, 5), (50, 3, 4), (5000, 40, 30), (20000, 20000, 10**12)):
        g = rng.integers(0, ng, n)
        s = rng.integers(0, span, n)
        np.testing.assert_array_equal(_order_by(g, s), np.lexsort((s, g)))
        f = s.astype(float)
        np.testing.assert_array_equal(_order_by(g, f), np.lexsort((f, g)))
