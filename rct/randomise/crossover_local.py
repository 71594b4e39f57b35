"""The run-constrained kernel of :mod:`rct.randomise.crossover_mcmc` (``max_consecutive``, washout).

Local Metropolis moves on bit-packed day rows, vectorised over chains and over
groups of hot spots; see the ``crossover_mcmc`` module docstring for the
moves and why they keep the uniform distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rct.randomise.crossover_mcmc import (
    _U64,
    _bits_by_hotspot,
    _mask,
    _permutation_keys,
    pack_bits,
    popcount,
)

__all__ = ["local_chain", "runs_ok", "patterns"]


def patterns(sampler: Any) -> list[tuple[bool, ...]]:
    """Forbidden column patterns: ``cap + 1`` tasked days in a row; a gap shorter than washout."""
    out: list[tuple[bool, ...]] = []
    if sampler.cap is not None:
        out.append((True,) * (sampler.cap + 1))
    for gap in range(1, sampler.washout):
        out.append((True,) + (False,) * gap + (True,))
    return out


def runs_ok(X: np.ndarray, rows: np.ndarray, pad: int, changes: list[tuple[np.ndarray, np.ndarray]],
            S: np.ndarray, patterns: list[tuple[bool, ...]], span: int) -> np.ndarray:
    """``(b, G)``: no forbidden pattern through a changed day, in the changed bits ``S``."""
    ok = np.ones(S.shape[:2], dtype=bool)
    if not patterns:
        return ok
    offs = np.arange(-span + 1, span)
    for t, _ in changes:
        days = t[..., None] + offs  # (b, G, O)
        win = X[rows[..., None], days + pad]  # (b, G, O, w)
        for tc, nc in changes:  # the step's new rows replace the old ones
            hit = days == tc[..., None]
            win = np.where(hit[..., None], nc[:, :, None, :], win)
        bad = np.zeros_like(S)
        for pat in patterns:
            for a in range(len(pat)):  # the changed day at position a of the pattern
                acc = S
                for u, want in enumerate(pat):
                    v = win[:, :, u - a + span - 1]
                    acc = acc & (v if want else ~v)
                bad |= acc
        ok &= ~(bad != 0).any(axis=-1)
    return ok


def local_chain(sampler: Any, site: Any, words: Any) -> np.ndarray:
    """The run-constrained chain of one site (see :mod:`rct.randomise.crossover_mcmc`): ``(b, n, D)``."""
    info = site.info
    b, w, n, d = words.b, info["w"], site.n, sampler.d
    G, steps, per_step = info["groups"], info["steps"], info["per_step"]
    span = max(sampler.cap or 0, sampler.washout) + 1  # a forbidden pattern is at most this long
    pad = span
    X = np.zeros((b, d + 2 * pad, w), dtype=_U64)
    X[:, pad : pad + d] = info["start"]
    eq = sampler.equal_coverage
    multi = eq and sampler.n_strata > 1
    if eq:
        H = np.broadcast_to(info["high"], (b, sampler.n_strata, w)).copy()
        Ht = np.broadcast_to(info["high_total"], (b, w)).copy()
    sitebits = pack_bits(np.ones(n, dtype=np.uint8))  # (w,)
    pats = patterns(sampler)
    strata = sampler.strata
    rows = np.broadcast_to(np.arange(b)[:, None], (b, G))
    lg = int(math.log2(G))
    choose = ((np.arange(G)[None, :] >> np.arange(lg)[:, None]) & 1).astype(bool)  # (lg, G)
    lo32 = _U64(0xFFFFFFFF)
    for i in range(steps):
        step = words.take(per_step)
        idx = step[:, :G]  # (b, G): two 32-bit day indices per group
        pick = step[:, G : 2 * G]  # two 32-bit uniforms per group: which hot spots
        part = step[:, 2 * G :].reshape(b, lg, w)
        grp = np.broadcast_to(sitebits, (b, G, w)).copy()  # group g: partition code g
        for j in range(lg):
            pj = part[:, j][:, None, :]
            grp &= np.where(choose[j][None, :, None], pj, ~pj)
        t1 = ((idx & lo32) * _U64(d) >> _U64(32)).astype(np.int64)
        r1 = X[rows, t1 + pad]  # (b, G, w)
        flip = info["flips"] and i % 2 == 1
        if flip:  # one tasked and one untasked hot spot of the group swap places on day t1
            src, dst = r1 & grp, ~r1 & grp
        else:  # checkerboard: one hot spot tasked t1 not t2, one tasked t2 not t1, swap
            t2 = ((idx >> _U64(32)) * _U64(d) >> _U64(32)).astype(np.int64)
            r2 = X[rows, t2 + pad]
            src, dst = r1 & ~r2 & grp, r2 & ~r1 & grp
        both, both_ok = _random_bit(np.stack([src, dst]), np.stack([pick & lo32, pick >> _U64(32)]))
        a_bit, b_bit = both[0], both[1]
        a_ok, b_ok = both_ok[0], both_ok[1]
        S = a_bit | b_bit
        ok = a_ok & b_ok
        if flip:
            if eq:  # a loses a day (must be high), b gains one (must be low)
                Hs = H[rows, strata[t1]]
                bad = (a_bit & ~Hs) | (b_bit & Hs)
                if multi:
                    bad |= (a_bit & ~Ht[:, None, :]) | (b_bit & Ht[:, None, :])
                ok &= ~(bad != 0).any(-1)
            ok &= runs_ok(X, rows, pad, [(t1, r1 ^ S)], S, pats, span)
            S = S & _mask(ok)[..., None]
            np.bitwise_xor.at(X, (rows, t1 + pad), S)
            if eq:
                np.bitwise_xor.at(H, (rows, strata[t1]), S)
                if multi:
                    Ht ^= np.bitwise_xor.reduce(S, axis=1)
            continue
        if multi:  # a moves from t1 to t2, b from t2 to t1
            s1, s2 = strata[t1], strata[t2]
            H1, H2 = H[rows, s1], H[rows, s2]
            bad = (a_bit & ~(H1 & ~H2)) | (b_bit & ~(~H1 & H2))
            ok &= (s1 == s2) | ~(bad != 0).any(-1)
        ok &= runs_ok(X, rows, pad, [(t1, r1 ^ S), (t2, r2 ^ S)], S, pats, span)
        S = S & _mask(ok)[..., None]
        # groups own disjoint bits, so accumulating XORs (ufunc.at: repeated days) is exact
        np.bitwise_xor.at(X, (rows, t1 + pad), S)
        np.bitwise_xor.at(X, (rows, t2 + pad), S)
        if multi:
            cross = S & _mask(s1 != s2)[..., None]
            np.bitwise_xor.at(H, (rows, s1), cross)
            np.bitwise_xor.at(H, (rows, s2), cross)
    sigma = _permutation_keys(words.take(n))
    return _bits_by_hotspot(X[:, pad : pad + d], sigma)


def _random_bit(x: np.ndarray, u32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly random set bit of ``x`` ``(..., W)`` from a 32-bit uniform ``u32``.

    Returns the one-bit words and whether a bit was chosen: none when ``x`` is
    empty or ``u32`` falls in the top ``2**32 mod popcount`` values (rejected,
    so that ``u32 mod popcount`` is exactly uniform).  The chance of choosing
    depends only on ``popcount(x)``, which a move does not change, so the
    proposal stays symmetric.
    """
    if x.shape[-1] == 1:
        return _random_bit1(x[..., 0], u32)
    pc = popcount(x).astype(np.int64)  # (..., W)
    tot = pc.sum(axis=-1)
    t = np.maximum(tot, 1).astype(_U64)
    valid = u32 < (_U64(1 << 32) // t) * t  # then u32 mod tot is exactly uniform
    r = (u32 % t).astype(np.int64)
    cum = np.cumsum(pc, axis=-1)
    word = (cum <= r[..., None]).sum(axis=-1)  # the word holding the r-th bit
    word = np.minimum(word, x.shape[-1] - 1)
    before = np.take_along_axis(cum - pc, word[..., None], axis=-1)[..., 0]
    v = np.take_along_axis(x, word[..., None], axis=-1)[..., 0]
    r = r - before
    pos = np.zeros(r.shape, dtype=np.int64)
    for width in (32, 16, 8, 4, 2, 1):  # binary search for the r-th set bit of v
        low = (v >> pos.astype(_U64)) & _U64((1 << width) - 1)
        c = popcount(low).astype(np.int64)
        go = r >= c
        r = np.where(go, r - c, r)
        pos = pos + width * go
    one = np.zeros(x.shape, dtype=_U64)
    np.put_along_axis(one, word[..., None], (_U64(1) << pos.astype(_U64))[..., None], axis=-1)
    has = (tot > 0) & valid
    return one * has[..., None].astype(_U64), has


def _random_bit1(v: np.ndarray, u32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_random_bit` for one word per row (``v`` without the word axis)."""
    tot = popcount(v)
    t = np.maximum(tot, 1).astype(_U64)
    has = (u32 < (_U64(1 << 32) // t) * t) & (tot > 0)
    r = u32 % t  # rank of the chosen bit, exactly uniform when ``has``
    pos = np.zeros(v.shape, dtype=_U64)
    for width in (32, 16, 8, 4, 2, 1):  # binary search for the r-th set bit of v
        c = popcount((v >> pos) & _U64((1 << width) - 1)).astype(_U64)
        go = r >= c
        r -= c * go
        pos += _U64(width) * go
    one = (_U64(1) << pos) * has
    return one[..., None], has
