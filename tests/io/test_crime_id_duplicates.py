"""Duplicate crime ids found through a 64-bit hash of the text, settled exactly on the text."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from rct.io import crimes


def _reference(parts):
    ids = pd.Series(np.concatenate([np.asarray(p.to_pylist(), dtype=object) for p in parts]),
                    dtype=object)
    return ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy()


def _ids(rng, n):
    pool = np.array(["".join(rng.choice(list("ab\u00e9x0"), int(rng.integers(0, 40))))
                     for _ in range(n // 3 + 1)], dtype=object)
    v = pool[rng.integers(0, len(pool), n)].astype(object)
    v[rng.random(n) < 0.05] = None
    return pa.array(v, pa.string())


@pytest.mark.parametrize("seed", range(6))
def test_duplicates_match_pandas(seed):
    rng = np.random.default_rng(seed)
    a = _ids(rng, int(rng.integers(4096, 12000)))
    parts = [a.slice(0, len(a) // 3), a.slice(len(a) // 3)] if seed % 2 else [a]
    if seed % 3 == 0:
        parts = [p.cast(pa.large_string()) for p in parts]
    assert np.array_equal(crimes._duplicated(parts), _reference(parts))


def test_values_that_differ_only_in_padding_or_length():
    vals = ["a", "a\x00", "", "\x00", "abcdefgh", "abcdefgh\x00", "abcdefghi", None] * 700
    a = pa.array(vals)
    assert np.array_equal(crimes._duplicated([a]), _reference([a]))
    h = crimes._hash64(a.slice(0, 7))
    assert len(set(h.tolist())) == 7  # distinct texts, distinct hashes


def test_hash_collisions_are_settled_on_the_text(monkeypatch):
    # every id hashes alike: the exact text decides
    monkeypatch.setattr(crimes, "_hash64", lambda arr, longest=None: np.zeros(len(arr), dtype=np.uint64))
    a = _ids(np.random.default_rng(9), 5000)
    assert np.array_equal(crimes._duplicated([a]), _reference([a]))


def _rows_reference(ids, wheres):
    vals = pd.Series([v for s, w in zip(ids, wheres, strict=True)
                      for v in pd.Series(s, dtype=object).to_numpy()[w]], dtype=object)
    vals = vals.where(vals.notna(), None)
    return vals.duplicated(keep="first").to_numpy() & vals.notna().to_numpy()


@pytest.mark.parametrize("collide", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_rows_of_whole_files_match_pandas(seed, collide, monkeypatch):
    # ids hashed whole per file, usable rows picked after: the same as pandas on the picked
    # ids in file order (duplicates across files, blanks, non-ASCII; every hash alike)
    if collide:
        monkeypatch.setattr(crimes, "_hash64", lambda arr, longest=None: np.zeros(len(arr), dtype=np.uint64))
    rng = np.random.default_rng(seed)
    ids, wheres = [], []
    for _ in range(int(rng.integers(1, 4))):
        a = _ids(rng, int(rng.integers(0, 6000)))
        kind = seed % 4
        cut = len(a) // 3
        s = (pd.Series(a.to_pylist(), dtype="string") if kind == 0 else
             pd.Series(a.to_pylist(), dtype=object) if kind == 1 else
             pd.Series(pd.array(a.cast(pa.large_string()), dtype=pd.ArrowDtype(
                 pa.large_string()))) if kind == 2 else
             # chunks (one empty), as the CSV reader gives them
             pd.Series(pd.array(pa.chunked_array([a.slice(0, cut), a.slice(cut, 0),
                                                  a.slice(cut)]), dtype=pd.StringDtype())))
        ids.append(s)
        wheres.append(np.flatnonzero(rng.random(len(s)) < 0.8))
    got = crimes._duplicated_rows(ids, wheres)
    assert np.array_equal(got, _rows_reference(ids, wheres))


def test_rows_with_ids_that_are_not_text():
    ids = [pd.Series([1, 2, 1, None] * 2000, dtype=object), pd.Series(["1", "2"] * 10)]
    wheres = [np.arange(8000), np.arange(20)]
    got = crimes._duplicated_rows(ids, wheres)
    assert np.array_equal(got, _rows_reference(ids, wheres))
    assert got[:4].tolist() == [False, False, True, False] and not got[8000:8002].any()


def test_equal_texts_hash_alike_in_arrays_of_different_widths():
    # files (or chunks) hashed apart: the same rounds for all, so "abc" is "abc" everywhere
    short, long_ = pa.array(["abc", "x"]), pa.array(["abc", "y" * 40])
    assert crimes._hash64(short)[0] != crimes._hash64(long_)[0]  # why the rounds are shared
    assert crimes._hash64(short, 40)[0] == crimes._hash64(long_, 40)[0]
    with pytest.raises(ValueError, match="shorter"):
        crimes._hash64(long_, 8)
