"""CALC mode, the ifmap read buffer's epochs of an input-stationary layer without a per-slot
pass: O(lanes x window offsets x channel classes) per pixel block and per probe of a bisection
per epoch, instead of calc_epochs' build over every (pixel, window element) slot.

Input stationary, fold (c, r) holds pixels c*AC + j (lane j) x window elements r*AR + AR - 1 -
tau (stored row tau), k = offset * cg + channel (operands.py); folds go r fastest, so a pixel
block's stream is its rows rho = r*AR + tau in order (row rho: one element, every lane). A word
(sample, row, column, channel) is read by each (offset, pixel) whose window reaches it, always
with the same channel, one pixel per offset (distinct pixels, distinct positions), so its reads
in one block are elements cg apart: with cg >= AR in different folds, in offset order, and the
channel drops out. With cg < AR a fold holds several offsets of a channel, read from the last
element down: the order is (fold of the element, -offset), the same for every channel of a
class of gcd(cg, AR) channels (fold edges, multiples of AR, never split such a run); AR a
multiple of cg is one class. One pass per class over (block, offset, pixel) in that order gives
per (offset, pixel) the word's latest earlier read (block, offset, lane), or none (the unit is a
whole group: its words are new to the buffer).

SCALE-Sim's buffer forgets every word at an epoch boundary B, so a slot after B reads a new word
iff that latest earlier read is at or before B (or there is none): in an earlier block than
B's, or in B's block at an element whose slot (fold, -element, lane) comes up to B's (per
(offset, pixel) two ranges of channels). New words over a range of rows are then, per lane, a
sum over the window offsets the range crosses; the E-th by bisection over the rows and a walk of
one row's lanes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .framed import _framed_layout
from .row_search import (_search_feed, _search_next, _search_result, _search_start,
                         _search_state)

# largest offsets x pixels table (three int32 each): 48 MB
_TABLE_ENTRIES = 1 << 22
_OUTSIDE = -2                   # (offset, pixel) reads the padding: no word
_FIRST = -(1 << 30)             # the word's first read in the unit: new (below any block)


@njit(cache=True)
def _is_tables(folds, im2col):
    """(ok, offsets RS, prev): per channel class x, offset o and pixel m, prev[0, x, o, m] the
    block of its word's latest earlier read (_FIRST: none, _OUTSIDE: outside the image),
    prev[1, x, o, m] that read's offset and prev[2, x, o, m] its lane. ok False where this path
    does not apply (then calc_epochs' build does)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e3 = np.zeros((3, 1, 1, 1), dtype=np.int32)
    if df != 2 or K % cg != 0:
        return False, 0, e3
    RS = K // cg
    # channel classes of w channels that share every offset's fold (fold edges are multiples
    # of AR, offsets start at multiples of cg: runs of gcd(cg, AR) channels never straddle one)
    X = 1
    if cg < AR:
        d, e = cg, AR
        while e:
            d, e = e, d % e
        X = cg // d
    if cg // X < 2 or X * RS * M > _TABLE_ENTRIES:
        # classes of one channel: a visit a slot, the stored unit's scan is cheaper (ResNet's
        # 3-channel stem on 64 rows: 2x slower)
        return False, 0, e3
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, e3
    # window element k = offset * cg + channel: one frame offset per offset, + channel
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, e3
    nloc = inside.shape[0] // C
    last_c = np.empty(nloc, dtype=np.int32)
    last_o = np.zeros(nloc, dtype=np.int32)
    last_j = np.zeros(nloc, dtype=np.int32)
    prev = np.empty((3, X, RS, M), dtype=np.int32)
    w = cg // X
    order = np.empty(RS, dtype=np.int64)
    for x in range(X):
        # a block reads a class's offsets in fold order, within a fold from the last element
        # down (cg >= AR: one offset of the class a fold)
        i = 0
        while i < RS:
            f0 = (i * cg + x * w) // AR
            i1 = i
            while i1 < RS and (i1 * cg + x * w) // AR == f0:
                i1 += 1
            for t in range(i, i1):
                order[t] = i1 - 1 - (t - i)
            i = i1
        last_c[:] = -1
        for c in range(cf):
            m0 = c * AC
            m1 = min(M, m0 + AC)
            for i in range(RS):
                o = order[i]
                w0 = wof[o * cg]
                for m in range(m0, m1):
                    a = pbf[m] + w0
                    if inside[a] == 0:
                        prev[0, x, o, m] = _OUTSIDE
                        continue
                    loc = a // C
                    pc = last_c[loc]
                    if pc == c and last_o[loc] == o:
                        # two pixels of a block on one word at one offset: the order
                        # argument (one read per (block, offset)) fails
                        return False, 0, e3
                    prev[0, x, o, m] = pc if pc >= 0 else _FIRST
                    prev[1, x, o, m] = last_o[loc]
                    prev[2, x, o, m] = last_j[loc]
                    last_c[loc] = c
                    last_o[loc] = o
                    last_j[loc] = m - m0
    return True, RS, prev


@njit(cache=True, inline="always")
def _overlap(a0, a1, b0, b1):
    return max(0, min(a1, b1) - max(a0, b0))


@njit(cache=True, inline="always")
def _new_in(prev, x, o, m, c0, c1, cg, AR, cb, kb, jb):
    """New words among channels [c0, c1) of (offset o, pixel m), after the boundary slot (block
    cb, element kb, lane jb): all if the word's latest earlier read is in a block before cb
    (or there is none), none if after, and in cb's block those whose read (element
    prev_off * cg + channel, fold element // AR) comes at or before the boundary: an earlier
    fold, or cb's fold at a later element (an earlier row), or kb itself at a lane up to jb."""
    pc = prev[0, x, o, m]
    if pc == _OUTSIDE:
        return 0
    if pc < cb:                 # _FIRST included
        return c1 - c0
    if pc > cb:
        return 0
    base = prev[1, x, o, m] * cg
    rb_ = kb // AR
    k_lo = base + c0
    k_hi = base + c1
    k_eq = kb + (0 if prev[2, x, o, m] <= jb else 1)
    return _overlap(k_lo, k_hi, 0, rb_ * AR) + _overlap(k_lo, k_hi, k_eq, rb_ * AR + AR)


@njit(cache=True)
def _count_k(prev, m0, cu, ka, kb_, cg, AR, cb, kb, jb):
    """New words of pixels [m0, m0 + cu) over window elements [ka, kb_) after the boundary."""
    n = 0
    if ka >= kb_:
        return 0
    w = cg // prev.shape[1]     # channels a class (_is_tables)
    o = ka // cg
    while o * cg < kb_:
        c0 = max(ka - o * cg, 0)
        c1 = min(kb_ - o * cg, cg)
        for x in range(c0 // w, (c1 - 1) // w + 1):
            d0 = max(c0, x * w)
            d1 = min(c1, x * w + w)
            for m in range(m0, m0 + cu):
                n += _new_in(prev, x, o, m, d0, d1, cg, AR, cb, kb, jb)
        o += 1
    return n


@njit(cache=True, inline="always")
def _row_element(rho, AR):
    """Window element of block row rho (fold rho // AR, stored row rho % AR)."""
    return (rho // AR) * AR + AR - 1 - rho % AR


@njit(cache=True)
def _count_rows(prev, m0, cu, K, cg, AR, p0, p1, cb, kb, jb):
    """(new words, visits) in block rows [p0, p1): as element ranges, the first fold's rows
    [t0, AR), the whole folds between, the last fold's rows [0, t1). Visits: per (offset,
    class) piece its lanes and ~2 more, per call ~16 (narrow blocks are mostly overhead)."""
    if p0 >= p1:
        return 0, 0
    w = cg // prev.shape[1]
    r0, r1 = p0 // AR, (p1 - 1) // AR
    t0, t1 = p0 - r0 * AR, p1 - r1 * AR
    if r0 == r1:
        ka, kz = r0 * AR + AR - t1, r0 * AR + AR - t0
        kz = min(kz, K)
        return (_count_k(prev, m0, cu, ka, kz, cg, AR, cb, kb, jb),
                (cu + 2) * (max(0, kz - ka) // w + 2) + 16)
    n = _count_k(prev, m0, cu, r0 * AR, min(K, r0 * AR + AR - t0), cg, AR, cb, kb, jb)
    n += _count_k(prev, m0, cu, (r0 + 1) * AR, min(K, r1 * AR), cg, AR, cb, kb, jb)
    n += _count_k(prev, m0, cu, r1 * AR + AR - t1, min(K, r1 * AR + AR), cg, AR, cb, kb, jb)
    return n, (cu + 2) * ((p1 - p0) // w + 6) + 48


@njit(cache=True)
def _epochs_is(folds, im2col, E, rows_fold, budget):
    """(ok, epoch boundaries, words recorded since the last, row of the last boundary or -1):
    calc_epochs._epochs for the ifmap of an input-stationary layer; ok False
    where the tables do not apply, or when the scan would take more than ``budget`` lane-offset
    visits (many short epochs: there the stored unit's block scan is cheaper; the work so far
    is projected over the pixel blocks at each block's end)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    ok, RS, prev = _is_tables(folds, im2col)
    if not ok or E < 1:
        return False, 0, 0, -1
    cg = K // RS
    w = cg // prev.shape[1]     # channels a class (_is_tables)
    nsh = 0
    cnt = 0
    row = -1
    ops = 0
    rate = 0.0
    st = _search_state()
    nblocks = G * cf
    p_end = rf * AR             # block rows; those past element K - 1 hold no word
    for g in range(G):
        # each group's words are new to the buffer: a boundary before the segment (block -1)
        cb, kb, jb, pb_ = -1, 0, 0, 0
        c = 0
        while c < cf:
            if ops > budget:
                return False, 0, 0, -1
            m0 = c * AC
            cu = min(AC, M - m0)
            p0 = 0
            found = False
            if c == cb:
                # the boundary's own row, lanes after it
                p0 = pb_ + 1
                for j in range(jb + 1, cu):
                    if _new_in(prev, kb % cg // w, kb // cg, m0 + j, kb % cg, kb % cg + 1, cg,
                               AR, cb, kb, jb) > 0:
                        cnt += 1
                        if cnt == E:
                            found = True
                            jb = j
                            break
            if not found:
                # the row where the epoch ends, or the block's new words if it falls short
                need = E - cnt
                _search_start(st, p0, p_end, need, -1, rate)
                a, b = _search_next(st)
                while b >= 0:
                    n, v = _count_rows(prev, m0, cu, K, cg, AR, a, b, cb, kb, jb)
                    _search_feed(st, n)
                    ops += v
                    a, b = _search_next(st)
                reached, p, got, rate = _search_result(st)
                cnt += got
                if not reached:
                    c += 1
                    if ops * nblocks // (g * cf + c) > budget:
                        return False, 0, 0, -1
                    continue
                k = _row_element(p, AR)
                for j in range(cu):
                    if _new_in(prev, k % cg // w, k // cg, m0 + j, k % cg, k % cg + 1, cg,
                               AR, cb, kb, jb) > 0:
                        cnt += 1
                        if cnt == E:
                            jb = j
                            break
                kb = k
                pb_ = p
            # a boundary at (block c, row pb_, lane jb)
            nsh += 1
            cnt = 0
            cb = c
            row = ((g * cf + c) * rf + pb_ // AR) * rows_fold + pb_ % AR
    return True, nsh, cnt, row
