"""numba kernels of the ``rct-randomise/3`` crossover sampler (:mod:`rct.randomise.crossover_v3`).

Integer arithmetic only (no floating point), so every machine computes the
same schedules.  Each chain has its own PCG64 generator (the PCG-XSL-RR
128/64 generator of ``numpy.random.PCG64``, reimplemented here so the
kernels can read a variable number of words; checked against numpy in the
tests), seeded by four raw words of the design's stream.
"""

from __future__ import annotations

import llvmlite.ir as ir
import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

__all__ = ["pcg_words", "premix", "curveball_site", "independent_site", "PCG_MULT"]

#: The 128-bit LCG multiplier of numpy's PCG64 (``PCG_DEFAULT_MULTIPLIER_128``).
PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


def _can_cache() -> bool:
    """True if numba can cache this module's kernels somewhere writable."""
    try:
        from numba.core.caching import CompileResultCacheImpl

        CompileResultCacheImpl(_can_cache_probe)
        return True
    except Exception:  # pragma: no cover - no writable __pycache__ nor user cache dir
        return False


def _can_cache_probe() -> None:  # pragma: no cover - only inspected
    return None


_CACHE = _can_cache()


@intrinsic
def _popc(typingctx, x):  # pragma: no cover - compiled
    """Set bits of a uint64, as int64 (LLVM ``ctpop``)."""
    sig = types.int64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic
def _mulhi(typingctx, a, b):  # pragma: no cover - compiled
    """High 64 bits of the 128-bit product of two uint64."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        p = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), ir.IntType(64))

    return sig, codegen


@intrinsic
def _lcg128(typingctx, hi, lo, ihi, ilo):  # pragma: no cover - compiled
    """``state * PCG_MULT + inc`` mod 2**128, state and increment as (high, low) uint64 halves."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        c64 = ir.Constant(i128, 64)

        def join(h, lo_):
            return builder.or_(builder.shl(builder.zext(h, i128), c64), builder.zext(lo_, i128))

        s = builder.add(builder.mul(join(args[0], args[1]), ir.Constant(i128, PCG_MULT)),
                        join(args[2], args[3]))
        nh = builder.trunc(builder.lshr(s, c64), i64)
        nl = builder.trunc(s, i64)
        return context.make_tuple(builder, signature.return_type, [nh, nl])

    return sig, codegen


@intrinsic
def _muladd128(typingctx, hi, lo, mhi, mlo, ahi, alo):  # pragma: no cover - compiled
    """``s * m + a`` mod 2**128 for 128-bit values given as (high, low) uint64 halves."""
    u = types.uint64
    sig = types.UniTuple(u, 2)(u, u, u, u, u, u)

    def codegen(context, builder, signature, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)
        c64 = ir.Constant(i128, 64)

        def join(h, lo_):
            return builder.or_(builder.shl(builder.zext(h, i128), c64), builder.zext(lo_, i128))

        r = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])),
                        join(args[4], args[5]))
        return context.make_tuple(builder, signature.return_type,
                                  [builder.trunc(builder.lshr(r, c64), i64), builder.trunc(r, i64)])

    return sig, codegen


def _split(x: int) -> tuple[np.uint64, np.uint64]:
    x %= 1 << 128
    return np.uint64(x >> 64), np.uint64(x & ((1 << 64) - 1))


# PCG_MULT ** k (k = 2, 3, 4) and 1 + M + ... + M**(k-1): four steps of the stream at once
_M2H, _M2L = _split(PCG_MULT**2)
_M3H, _M3L = _split(PCG_MULT**3)
_M4H, _M4L = _split(PCG_MULT**4)
_G2H, _G2L = _split(1 + PCG_MULT)
_G3H, _G3L = _split(1 + PCG_MULT + PCG_MULT**2)
_G4H, _G4L = _split(1 + PCG_MULT + PCG_MULT**2 + PCG_MULT**3)

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U58 = np.uint64(58)
_U63 = np.uint64(63)
_U64C = np.uint64(64)


NB = 64  # words generated at a time (an implementation detail: the words are read in order)


@numba.njit(cache=_CACHE, inline="always")
def _out(hi, lo):  # pragma: no cover - compiled
    """PCG64's output function (XSL-RR) of the state ``(hi, lo)``."""
    x = hi ^ lo
    r = hi >> _U58
    return (x >> r) | (x << ((_U64C - r) & _U63))


@numba.njit(cache=_CACHE, inline="always")
def _gen_init(seeds, c, g):  # pragma: no cover - compiled
    """Generator of chain ``c``: state ``seeds[c, 0:2]``, increment ``seeds[c, 2:4] | 1`` (128-bit,
    high word first), kept in ``g`` with the jump-ahead constants of :func:`_refill`."""
    g[0] = seeds[c, 0]
    g[1] = seeds[c, 1]
    g[2] = seeds[c, 2]
    g[3] = seeds[c, 3] | _U1
    g[4], g[5] = _muladd128(g[2], g[3], _G2H, _G2L, _U0, _U0)  # inc * (1 + M)
    g[6], g[7] = _muladd128(g[2], g[3], _G3H, _G3L, _U0, _U0)  # inc * (1 + M + M^2)
    g[8], g[9] = _muladd128(g[2], g[3], _G4H, _G4L, _U0, _U0)  # inc * (1 + ... + M^3)
    g[10] = _U0  # refills so far (to count the words read)


@numba.njit(cache=_CACHE, inline="always")
def _refill(g, buf):  # pragma: no cover - compiled
    """The generator's next :data:`NB` words into ``buf``, in order (four interleaved steps)."""
    h1, l1 = _lcg128(g[0], g[1], g[2], g[3])
    h2, l2 = _muladd128(g[0], g[1], _M2H, _M2L, g[4], g[5])
    h3, l3 = _muladd128(g[0], g[1], _M3H, _M3L, g[6], g[7])
    h4, l4 = _muladd128(g[0], g[1], _M4H, _M4L, g[8], g[9])
    for t in range(0, NB, 4):
        buf[t] = _out(h1, l1)
        buf[t + 1] = _out(h2, l2)
        buf[t + 2] = _out(h3, l3)
        buf[t + 3] = _out(h4, l4)
        if t + 4 < NB:
            h1, l1 = _muladd128(h1, l1, _M4H, _M4L, g[8], g[9])
            h2, l2 = _muladd128(h2, l2, _M4H, _M4L, g[8], g[9])
            h3, l3 = _muladd128(h3, l3, _M4H, _M4L, g[8], g[9])
            h4, l4 = _muladd128(h4, l4, _M4H, _M4L, g[8], g[9])
    g[0] = h4
    g[1] = l4
    g[10] += _U1


@numba.njit(cache=_CACHE, inline="always")
def _below(g, buf, pos, s):  # pragma: no cover - compiled
    """Uniform integer in ``[0, s)`` (``s >= 1``), exactly: Lemire's multiply-shift with rejection.

    Returns ``(value, pos)``.
    """
    if pos == NB:
        _refill(g, buf)
        pos = 0
    x = buf[pos]
    pos += 1
    m_lo = x * s
    m_hi = _mulhi(x, s)
    if m_lo < s:
        t = (_U0 - s) % s
        while m_lo < t:
            if pos == NB:
                _refill(g, buf)
                pos = 0
            x = buf[pos]
            pos += 1
            m_lo = x * s
            m_hi = _mulhi(x, s)
    return m_hi, pos


@numba.njit(cache=_CACHE)
def _shuffle(a, off, size, g, buf, pos):  # pragma: no cover - compiled
    """``a[off : off + size]`` in a uniformly random order (Fisher-Yates, top down); returns ``pos``."""
    for u in range(size - 1, 0, -1):
        v, pos = _below(g, buf, pos, np.uint64(u + 1))
        v = off + np.int64(v)
        tmp = a[off + u]
        a[off + u] = a[v]
        a[v] = tmp
    return pos


@numba.njit(cache=_CACHE)
def pcg_words(seeds, n):  # pragma: no cover - compiled
    """``(b, n)`` words of each chain's generator (tests compare them with numpy's PCG64)."""
    b = seeds.shape[0]
    out = np.empty((b, n), dtype=np.uint64)
    g = np.empty(11, dtype=np.uint64)
    buf = np.empty(NB, dtype=np.uint64)
    for c in range(b):
        _gen_init(seeds, c, g)
        pos = NB
        for i in range(n):
            if pos == NB:
                _refill(g, buf)
                pos = 0
            out[c, i] = buf[pos]
            pos += 1
    return out


@numba.njit(cache=_CACHE)
def _rounds(X, pa, pb, loff, rounds, w, g, buf, pos, mbuf):  # pragma: no cover - compiled
    """``rounds`` rounds of exact curveball trades on the rows of ``X`` ``(R, w)``, in place.

    Round ``s`` trades the row pairs of level ``s mod L`` (``pa[loff[l]:loff[l+1]]`` with
    ``pb[...]``).  A trade reads masks ``M`` (``w`` words each) until one swaps as
    many of the first row's hot spots (tasked on it only) as of the second's,
    then swaps the rows on ``M``: given acceptance, the hot spots the first row
    keeps are a uniformly random subset of the right size.  Returns ``pos``.
    """
    nl = len(loff) - 1
    for s in range(rounds):
        lv = s % nl
        for p in range(loff[lv], loff[lv + 1]):
            i = pa[p]
            j = pb[p]
            if w == 1:
                x1 = X[i, 0]
                x2 = X[j, 0]
                P = x1 ^ x2
                if P == _U0:
                    continue
                A = x1 & P
                Bm = P ^ A
                if _popc(A) != _popc(Bm):  # rows of different sums: sequential selection
                    need = _popc(A)
                    rem = need + _popc(Bm)
                    keep = _U0
                    Q = P
                    while Q != _U0:
                        bit = Q & (~Q + _U1)
                        Q ^= bit
                        v, pos = _below(g, buf, pos, np.uint64(rem))
                        if v < np.uint64(need):
                            keep |= bit
                            need -= 1
                        rem -= 1
                    sw = P & (x1 ^ keep)
                    X[i, 0] = x1 ^ sw
                    X[j, 0] = x2 ^ sw
                    continue
                while True:
                    if pos == NB:
                        _refill(g, buf)
                        pos = 0
                    M = buf[pos]
                    pos += 1
                    if _popc(M & A) == _popc(M & Bm):
                        break
                sw = M & P
                X[i, 0] = x1 ^ sw
                X[j, 0] = x2 ^ sw
                continue
            na = 0
            nb = 0
            for q in range(w):
                P = X[i, q] ^ X[j, q]
                na += _popc(X[i, q] & P)
                nb += _popc(P & ~X[i, q])
            if na + nb == 0:
                continue
            if na != nb:  # rows of different sums (the extra-day matrix): sequential selection
                need = na
                rem = na + nb
                for q in range(w):
                    x1 = X[i, q]
                    P = x1 ^ X[j, q]
                    keep = _U0
                    while P != _U0:
                        bit = P & (~P + _U1)  # lowest set bit
                        P ^= bit
                        v, pos = _below(g, buf, pos, np.uint64(rem))
                        if v < np.uint64(need):
                            keep |= bit
                            need -= 1
                        rem -= 1
                    mbuf[q] = (x1 ^ X[j, q]) & (x1 ^ keep)  # the bits that change
                for q in range(w):
                    X[i, q] ^= mbuf[q]
                    X[j, q] ^= mbuf[q]
                continue
            while True:
                diff = 0
                for q in range(w):
                    x1 = X[i, q]
                    P = x1 ^ X[j, q]
                    if pos == NB:
                        _refill(g, buf)
                        pos = 0
                    M = buf[pos] & P
                    pos += 1
                    mbuf[q] = M
                    diff += _popc(M & x1) - _popc(M & ~x1)
                if diff == 0:
                    break
            for q in range(w):
                X[i, q] ^= mbuf[q]
                X[j, q] ^= mbuf[q]
    return pos


@numba.njit(cache=_CACHE)
def premix(seeds, X, pa, pb, loff, rounds):  # pragma: no cover - compiled
    """``rounds`` rounds of trades on ``X`` ``(R, w)`` in place, generator ``seeds[0]`` (the start)."""
    w = X.shape[1]
    g = np.empty(11, dtype=np.uint64)
    buf = np.empty(NB, dtype=np.uint64)
    mbuf = np.empty(w, dtype=np.uint64)
    _gen_init(seeds, 0, g)
    _rounds(X, pa, pb, loff, rounds, w, g, buf, NB, mbuf)


@numba.njit(cache=_CACHE)
def curveball_site(seeds, X0, pa, pb, loff, rounds, E0, e_rows, e_pa, e_pb, e_loff, e_rounds,
                   seg_off, seg_len, day_slot, n, cols, out):  # pragma: no cover - compiled
    """One site of the equal-coverage design, every chain: writes ``out[c, cols, :]`` (int8)
    and returns the number of generator words the chains read.

    ``X0`` ``(D, w)``: the start in slot order.  With ``len(e_rows) > 0`` each
    chain first mixes the extra-day matrix ``E0`` ``(len(e_rows), w)`` by
    ``e_rounds`` rounds of trades; in stratum ``e_rows[r]`` the start's
    hot spots ``0..e-1`` (the ones with an extra day there) then become the
    hot spots of ``E[r]`` and the others the rest, both in ascending order.
    Then ``rounds`` rounds of trades, a uniformly random order of the days
    within each stratum and of the hot spots.
    """
    b = seeds.shape[0]
    d, w = X0.shape
    n_strata = len(seg_off)
    g = np.empty(11, dtype=np.uint64)
    buf = np.empty(NB, dtype=np.uint64)
    mbuf = np.empty(w, dtype=np.uint64)
    X = np.empty((d, w), dtype=np.uint64)
    Y = np.empty(d, dtype=np.uint64)
    E = np.empty((max(1, len(e_rows)), w), dtype=np.uint64)
    order = np.empty(d, dtype=np.int64)
    sigma = np.empty(n, dtype=np.int64)
    used = 0
    for c in range(b):
        _gen_init(seeds, c, g)
        pos = NB
        if len(e_rows) == 0:
            X[:, :] = X0
        else:
            E[:, :] = E0
            pos = _rounds(E, e_pa, e_pb, e_loff, e_rounds, w, g, buf, pos, mbuf)
            X[:, :] = X0
            for r in range(len(e_rows)):  # stratum e_rows[r]: its extra days to E[r]'s hot spots
                s = e_rows[r]
                ne = 0
                for jj in range(n):  # X0's column ne + ... : extras first, then the others
                    if (E[r, jj >> 6] >> np.uint64(jj & 63)) & _U1:
                        sigma[ne] = jj
                        ne += 1
                m = ne
                for jj in range(n):
                    if not (E[r, jj >> 6] >> np.uint64(jj & 63)) & _U1:
                        sigma[m] = jj
                        m += 1
                for u in range(seg_off[s], seg_off[s] + seg_len[s]):
                    for qw in range(w):
                        mbuf[qw] = _U0
                    for jj in range(n):
                        if (X0[u, jj >> 6] >> np.uint64(jj & 63)) & _U1:
                            t = sigma[jj]
                            mbuf[t >> 6] |= _U1 << np.uint64(t & 63)
                    for qw in range(w):
                        X[u, qw] = mbuf[qw]
        pos = _rounds(X, pa, pb, loff, rounds, w, g, buf, pos, mbuf)
        for u in range(d):
            order[u] = u
        for s in range(n_strata):  # days in a uniformly random order within each stratum
            pos = _shuffle(order, seg_off[s], seg_len[s], g, buf, pos)
        for jj in range(n):  # hot spots in a uniformly random order
            sigma[jj] = jj
        pos = _shuffle(sigma, 0, n, g, buf, pos)
        for qw in range(w):
            for t in range(d):
                Y[t] = X[order[day_slot[t]], qw]
            for jj in range(n):
                src = sigma[jj]
                if (src >> 6) != qw:
                    continue
                sh = np.uint64(src & 63)
                o = out[c, cols[jj]]
                for t in range(d):
                    o[t] = np.int8((Y[t] >> sh) & _U1)
        used += np.int64(g[10]) * NB - (NB - pos)
    return used


@numba.njit(cache=_CACHE)
def independent_site(seeds, d, k, cols, out):  # pragma: no cover - compiled
    """No equal coverage: each day's ``k`` hot spots a uniformly random subset (partial
    Fisher-Yates); returns the number of generator words the chains read."""
    b = seeds.shape[0]
    n = len(cols)
    g = np.empty(11, dtype=np.uint64)
    buf = np.empty(NB, dtype=np.uint64)
    idx = np.empty(n, dtype=np.int64)
    used = 0
    for c in range(b):
        _gen_init(seeds, c, g)
        pos = NB
        for t in range(d):
            for jj in range(n):
                idx[jj] = jj
            for u in range(k):
                v, pos = _below(g, buf, pos, np.uint64(n - u))
                v = u + np.int64(v)
                tmp = idx[u]
                idx[u] = idx[v]
                idx[v] = tmp
                out[c, cols[idx[u]], t] = 1
        used += np.int64(g[10]) * NB - (NB - pos)
    return used
