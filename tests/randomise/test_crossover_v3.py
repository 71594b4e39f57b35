"""rct-randomise/3 (exact curveball trades, :mod:`rct.randomise.crossover_v3`), verified.

* the kernel's generator is numpy's PCG64, word for word;
* the compiled procedure equals a plain-Python re-run of the documented steps
  (numpy's own PCG64 for the words), schedule for schedule, for every kernel:
  one stratum, weekday strata with the extra-day chain, more than 64 hot
  spots (multi-word rows), sites, no equal coverage;
* mixing on the published designs: transition probabilities at lags 1..7
  match their exact uniform values, and the pair-overlap statistics match a
  chain five times longer and the ``rct-randomise/2`` sampler within
  Monte-Carlo error (tolerance 4 combined standard errors of the per-draw
  statistic), while a one-round chain is detected;
* determinism: pinned bytes, batch-size independence, the stream layout.

Chi-squared against exact enumeration on small designs (with sites and
weekday strata) is in ``test_crossover_uniform.py`` (run there for /2 and /3).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rct.randomise import crossover
from rct.randomise.base import RawStream
from rct.randomise.manifest import allocation_bytes

V3 = "rct-randomise/3"
_M64 = (1 << 64) - 1


def _ids(n):
    return [f"HS{i:02d}" for i in range(n)]


def _numpy_pcg64(w4):
    """numpy's PCG64 with the state and increment a chain takes from its four raw words."""
    bg = np.random.PCG64()
    st = bg.state
    st["state"] = {"state": (int(w4[0]) << 64) | int(w4[1]), "inc": (int(w4[2]) << 64) | int(w4[3]) | 1}
    bg.state = st
    return bg


def test_kernel_generator_is_numpy_pcg64():
    from rct.randomise import _crossover_v3_kernels as K

    seeds = np.random.PCG64(5).random_raw(12).reshape(3, 4).astype(np.uint64)
    got = K.pcg_words(seeds, 200)  # more than one refill of the kernel's buffer
    for c in range(3):
        np.testing.assert_array_equal(got[c], _numpy_pcg64(seeds[c]).random_raw(200))


# --------------------------------------------------------------------------- reference
class _Gen:
    """A chain's generator in plain Python: numpy's PCG64, one word at a time."""

    def __init__(self, w4):
        self.bg = _numpy_pcg64(w4)

    def word(self):
        return int(self.bg.random_raw())

    def below(self, s):  # Lemire's multiply-shift with rejection: exactly uniform on [0, s)
        m = self.word() * s
        if (m & _M64) < s:
            t = ((1 << 64) - s) % s
            while (m & _M64) < t:
                m = self.word() * s
        return m >> 64


def _popcount(x):
    return bin(x).count("1")


def _rows(X):
    """Bit-packed rows ``(R, w)`` -> Python ints."""
    return [sum(int(v) << (64 * q) for q, v in enumerate(row)) for row in X]


def _trade_rounds(rows, pa, pb, loff, rounds, w, g):
    n_levels = len(loff) - 1
    for s in range(rounds):
        lv = s % n_levels
        for i, j in zip(pa[loff[lv] : loff[lv + 1]], pb[loff[lv] : loff[lv + 1]], strict=True):
            P = rows[i] ^ rows[j]
            if P == 0:
                continue
            A, B = rows[i] & P, P & ~rows[i]
            if _popcount(A) != _popcount(B):  # rows of different sums: sequential selection
                need, rem, keep = _popcount(A), _popcount(P), 0
                for bit in (1 << b for b in range(P.bit_length()) if P >> b & 1):
                    if g.below(rem) < need:
                        keep |= bit
                        need -= 1
                    rem -= 1
                rows[i], rows[j] = (rows[i] & ~P) | keep, (rows[j] & ~P) | (P & ~keep)
                continue
            while True:  # masks of uniform bits until one is balanced
                M = sum(g.word() << (64 * q) for q in range(w))
                if _popcount(M & A) == _popcount(M & B):
                    break
            rows[i] ^= M & P
            rows[j] ^= M & P


def _reference(sampler, words):
    """The documented procedure, step by step, in plain Python: ``(b, N, D)`` int8."""
    from rct.randomise.crossover_v3 import _PREMIX_ROUNDS, _PREMIX_SEED

    b = words.shape[0]
    out = np.zeros((b, sampler.n, sampler.d), dtype=np.int8)
    for si, site in enumerate(sampler.sites):
        n, info = site.n, site.info
        for c in range(b):
            g = _Gen(words[c, 4 * si : 4 * si + 4])
            if site.kernel == "independent":
                for t in range(sampler.d):
                    idx = list(range(n))
                    for u in range(site.k):
                        v = u + g.below(n - u)
                        idx[u], idx[v] = idx[v], idx[u]
                        out[c, site.cols[idx[u]], t] = 1
                continue
            w, pa, pb, loff = info["w"], info["pa"], info["pb"], info["loff"]
            # the start: the template after the fixed-seed chain
            q = (site.k * sampler.sizes) // n
            e = (site.k * sampler.sizes) % n
            rows = _rows(sampler._template(np.arange(n)[None, :] < e[:, None], q, n, w))
            g0 = _Gen(np.random.PCG64(_PREMIX_SEED).random_raw(4))
            _trade_rounds(rows, pa, pb, loff, max(64, _PREMIX_ROUNDS * info["levels"]), w, g0)
            assert rows == _rows(info["X0"])
            if len(info["e_rows"]):
                E = _rows(info["E0"])
                _trade_rounds(E, info["e_pa"], info["e_pb"], info["e_loff"], info["e_rounds"], w, g)
                for r, s in enumerate(info["e_rows"]):
                    new = [j for j in range(n) if E[r] >> j & 1] + [j for j in range(n)
                                                                     if not E[r] >> j & 1]
                    off, size = sampler.offsets[s], sampler.sizes[s]
                    for u in range(off, off + size):
                        rows[u] = sum(1 << new[j] for j in range(n) if rows[u] >> j & 1)
            _trade_rounds(rows, pa, pb, loff, info["rounds"], w, g)
            order = list(range(sampler.d))
            for off, size in zip(sampler.offsets, sampler.sizes, strict=True):
                for u in range(size - 1, 0, -1):
                    v = off + g.below(u + 1)
                    order[off + u], order[v] = order[v], order[off + u]
            sigma = list(range(n))
            for j in range(n - 1, 0, -1):
                v = g.below(j + 1)
                sigma[j], sigma[v] = sigma[v], sigma[j]
            for t in range(sampler.d):
                row = rows[order[sampler.day_slot[t]]]
                for j in range(n):
                    out[c, site.cols[j], t] = row >> sigma[j] & 1
    return out


REFERENCE_CASES = [
    pytest.param(10, 20, 4, {}, id="one-stratum"),
    pytest.param(5, 17, 2, {"block_weekday": True}, id="weekday-extra-day-chain"),
    pytest.param(70, 6, 30, {}, id="multi-word-rows"),
    pytest.param(70, 16, 30, {"block_weekday": True}, id="multi-word-weekday"),
    pytest.param(9, 12, {"a": 1, "b": 2}, {"sites": {h: "a" if i < 4 else "b"
                                                       for i, h in enumerate(_ids(9))}},
                 id="sites"),
    pytest.param(6, 9, 2, {"equal_coverage": False}, id="no-equal-coverage"),
]


@pytest.mark.parametrize(("n", "days", "k", "kw"), REFERENCE_CASES)
def test_kernel_equals_plain_python_procedure(n, days, k, kw):
    d = crossover(_ids(n), start="2021-01-04", days=days, per_day=k, seed=9, **kw)
    sampler = d._sampler()
    if kw.get("block_weekday"):
        assert d.derived["sampler"]["sites"][0]["extra_day_chain"]
    if n > 64:
        assert d._sampler().sites[0].info["w"] == 2
    words = np.random.PCG64(4).random_raw(4 * sampler.n_words).reshape(4, -1).astype(np.uint64)
    np.testing.assert_array_equal(sampler.sample(words), _reference(sampler, words))
    # and the allocation is draw 0 of the same procedure
    first = RawStream(9).words(sampler.n_words)[None]
    np.testing.assert_array_equal(_reference(sampler, first)[0].T, d.schedule)


# --------------------------------------------------------------------------- mixing
def _lag_counts(z, lags=7):
    """Per draw and lag: tasked->tasked and untasked->tasked pair counts (hot spot, day t, t+l)."""
    zt = z.astype(np.int64)
    tt = np.stack([(zt[:, :, g:] * zt[:, :, :-g]).sum(axis=(1, 2)) for g in range(1, lags + 1)], 1)
    ut = np.stack([((1 - zt[:, :, :-g]) * zt[:, :, g:]).sum(axis=(1, 2))
                   for g in range(1, lags + 1)], 1)
    return tt, ut


def _pair_stats(z):
    """Per draw: variance, minimum and maximum of the hot-spot pair overlaps (days co-tasked)."""
    zf = z.astype(np.float32)
    o = np.einsum("bid,bjd->bij", zf, zf)
    iu = np.triu_indices(z.shape[1], 1)
    ov = o[:, iu[0], iu[1]]
    return {"var": ov.var(axis=1), "min": ov.min(axis=1), "max": ov.max(axis=1)}


def _close(a, b, k=4.0):
    """|mean a - mean b| within k combined Monte-Carlo standard errors of the per-draw means."""
    se = np.hypot(a.std(ddof=1) / np.sqrt(len(a)), b.std(ddof=1) / np.sqrt(len(b)))
    return abs(a.mean() - b.mean()), k * se


PUBLISHED = [
    pytest.param(45, 182, 22, 600, id="45x182-k22"),
    pytest.param(20, 90, 8, 1500, id="20x90-k8"),
    pytest.param(45, 365, 22, 500, id="45x365-k22", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("n", "days", "k", "draws"), PUBLISHED)
def test_mixing_on_published_designs(n, days, k, draws, monkeypatch):
    import rct.randomise.crossover_v3 as M

    kw = {"start": "2021-06-07", "days": days, "per_day": k, "seed": 11}
    d = crossover(_ids(n), **kw)
    z = d._draw(draws, np.random.default_rng(1))
    # transitions, lags 1..7: the exact uniform expectations (each hot spot's c days a uniformly
    # random c-subset): E[#(t, t+l) both tasked] = (D - l) c (c - 1) / (D (D - 1)) summed over
    # hot spots, E[#(untasked t, tasked t+l)] = (D - l) c (D - c) / (D (D - 1))
    c = z[0].sum(axis=1).astype(np.float64)
    tt, ut = _lag_counts(z)
    for lag in range(1, 8):
        e_tt = ((days - lag) * c * (c - 1) / (days * (days - 1))).sum()
        e_ut = ((days - lag) * c * (days - c) / (days * (days - 1))).sum()
        for obs, exp in ((tt[:, lag - 1], e_tt), (ut[:, lag - 1], e_ut)):
            se = obs.std(ddof=1) / np.sqrt(draws)
            assert abs(obs.mean() - exp) < 4 * se, (lag, obs.mean(), exp, se)
    # pair overlaps: like a chain five times longer, and like rct-randomise/2
    s3 = _pair_stats(z)
    rounds = d._sampler().sites[0].info["rounds"]
    monkeypatch.setattr(M, "_ROUNDS_PER_LEVEL", 0)
    monkeypatch.setattr(M, "_ROUNDS_EXTRA", 0)
    monkeypatch.setattr(M, "_ROUNDS_MIN", 5 * rounds)
    long = crossover(_ids(n), **kw)
    assert long._sampler().sites[0].info["rounds"] == 5 * rounds
    s_long = _pair_stats(long._draw(draws, np.random.default_rng(2)))
    v2 = crossover(_ids(n), algorithm="rct-randomise/2", **kw)
    s2 = _pair_stats(v2._draw(draws, np.random.default_rng(3)))
    for key in ("var", "min", "max"):
        for other in (s_long, s2):
            diff, tol = _close(s3[key], other[key])
            assert diff < tol, (key, s3[key].mean(), other[key].mean(), tol)
    # a chain of one round is detected by the same statistics
    monkeypatch.setattr(M, "_ROUNDS_MIN", 1)
    short = crossover(_ids(n), **kw)
    s1 = _pair_stats(short._draw(draws, np.random.default_rng(4)))
    diff, tol = _close(s1["var"], s_long["var"])
    sd_ratio = s1["var"].std() / s_long["var"].std()
    assert diff > 1.5 * tol or sd_ratio < 0.8, (diff, tol, sd_ratio)


# --------------------------------------------------------------------------- determinism
def test_regression_pin_v3_bytes():
    # These bytes may only change together with CROSSOVER_ALGORITHM_VERSION.
    d = crossover(_ids(20), start="2020-06-01", days=90, per_day=8, seed=2020)
    assert d.algorithm_version == V3
    assert hashlib.sha256(allocation_bytes(d)).hexdigest() == PIN_DEFAULT
    ids = _ids(30)
    d = crossover(ids, start="2020-06-01", days=60, per_day={"n": 5, "s": 6}, seed=7,
                  sites={h: "n" if i < 12 else "s" for i, h in enumerate(ids)},
                  block_weekday=True)
    assert hashlib.sha256(allocation_bytes(d)).hexdigest() == PIN_SITES_WEEKDAY
    z = d.draw(5, np.random.PCG64(1))
    assert hashlib.sha256(z.tobytes()).hexdigest() == PIN_DRAWS


PIN_DEFAULT = "a20279a9e231606c350de3440efc50fdf1993ac402fe2207ee5ad718d6fb89c5"
PIN_SITES_WEEKDAY = "ed998e963911f0d766e916eec8db6041a41e57e84e5b9930343a999d90f02d8b"
PIN_DRAWS = "9e21fc058395703e8132a60291f4943f0d4f3e2e717f61b3b1283d92c5cf481f"


def test_draws_do_not_depend_on_batch_and_stream_layout():
    d = crossover(_ids(45), start="2021-06-07", days=365, per_day=22, seed=77)
    w = d._sampler().n_words
    assert w == 4
    a = d.draw(70, np.random.PCG64(77))
    assert (a[0] == d.assignment).all()  # the allocation is draw 0
    for n in (1, 3, 64, 65):
        assert (d.draw(n, np.random.PCG64(77)) == a[:n]).all()
    # draw i reads words [4 i, 4 i + 4): the stream moves on by 4 n words
    bg = np.random.PCG64(77)
    d.draw(10, bg)
    ref = np.random.PCG64(77)
    ref.random_raw(40)
    assert bg.random_raw() == ref.random_raw()
    bg = np.random.PCG64(77)
    bg.random_raw(12)
    assert (d.draw(2, bg) == a[3:5]).all()


def test_run_constrained_designs_run_the_v2_procedure():
    kw = {"start": "2021-06-07", "days": 40, "per_day": 5, "seed": 3, "max_consecutive": 3}
    d3 = crossover(_ids(12), **kw)
    d2 = crossover(_ids(12), algorithm="rct-randomise/2", **kw)
    assert d3.algorithm_version == V3 and d2.algorithm_version == "rct-randomise/2"
    assert (d3.schedule == d2.schedule).all()
    assert (d3.draw(3, np.random.PCG64(1)) == d2.draw(3, np.random.PCG64(1))).all()
    assert d3.derived["sampler"]["procedure"] == "rct-randomise/2 (run constraints)"
