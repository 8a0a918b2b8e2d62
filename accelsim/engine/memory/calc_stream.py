"""CALC mode, a large ifmap unit's epochs with memory bounded by the ifmap, not by the stream.

calc_epochs._epochs describes a re-read unit once by the previous occurrence of every stream
position (4 bytes a position: 236 MB for ResNet-50's conv1 at batch 32) and scans it in blocks of
64. Here the unit is summarized per block only (min / max previous occurrence, largest far and
smallest near one with the mask of far positions, and where its first position lies: row and
lane), from one pass with a per-word table; the scan skips blocks that are all hits, all new, or
far-new / near-hit (counted from the mask), and walks the stream only through the others, where
it stamps each word with the epoch it was last walked in (new iff not stamped with the current
one). The walk is continuous from the epoch start whenever it classifies (a gap since the last
walk is walked first, stamping only), so every occurrence since the epoch start has been seen:
the same answer as the stored previous occurrences, position by position.

Memory: 32 bytes per block of 64 positions; the summary's table of last positions (int32) per
ifmap word, or, weight stationary over a batch, per word of one sample (taken sample by sample:
in stream order every row fold sweeps the whole batch, and the table falls out of the CPU cache);
the walk's table, 2 bytes (an epoch stamp) per ifmap word, made only if a block is walked. Time:
one pass over the unit plus the walked mixed blocks (and their gaps), per unit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _lanes, _offset_counts, _slot_mk, _window_extent

_BSH = 6                         # blocks of 64 stream positions, as calc_epochs
_STAMPS = 65535                  # epochs the walk table's uint16 stamps tell apart
# a previous occurrence more than this many positions back is "far": a block whose far
# occurrences all lie before the epoch start and near ones after it (the usual case between two
# boundaries: windows overlapping in the same fold vs the same word in another fold or sample)
# is counted from its far mask without a walk
_NEAR = 1 << 14


@njit(cache=True)
def _block_tables(L):
    """The per-block summary of a unit of L positions, empty: min / max previous occurrence,
    checkpoint row and lanes before it, smallest near and largest far occurrence, far mask."""
    nb = (L + (1 << _BSH) - 1) >> _BSH
    return (np.full(nb, np.iinfo(np.int32).max, dtype=np.int32),
            np.full(nb, np.iinfo(np.int32).min, dtype=np.int32),
            np.zeros(nb, dtype=np.int32), np.zeros(nb, dtype=np.int32),
            np.full(nb, np.iinfo(np.int32).max, dtype=np.int32),
            np.full(nb, np.iinfo(np.int32).min, dtype=np.int32),
            np.zeros(nb, dtype=np.uint64))


@njit(cache=True, inline="always")
def _note(p, q, L, near, lo_b, hi_b, near_b, far_b, mask_b):
    """Position q, whose address last occurred at position p (-1: never in this unit), folded
    into its block's figures (min / max previous occurrence, smallest near and largest far one,
    far mask). A word's first occurrence has its previous one at its last in the previous
    repeat, somewhere in [-L, -1]: the bounds say so (no table of first positions), and a
    block they leave undecided is walked, exactly."""
    bit = np.uint64(1) << np.uint64(q & 63)
    if p < 0:
        p = -L
        hi_b = max(hi_b, -1)
        far_b = max(far_b, -1)
        mask_b |= bit
    elif q - p > near:
        far_b = max(far_b, p)
        mask_b |= bit
    else:
        near_b = min(near_b, p)
    return min(lo_b, p), max(hi_b, p), near_b, far_b, mask_b


@njit(cache=True)
def _summary(folds, im2col, uf, L, space, rows_fold, near):
    """Per block of unit 0's ifmap stream: min / max previous occurrence (cyclic for a word's
    first occurrence: its last occurrence - L, as calc_epochs._build_unit), the smallest near
    and the largest far one and the mask of far positions, and its first position's row (in
    the unit) and how many valid lanes of that row come before it."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    bmin, bmax, ckrow, ckoff, nmin, fmax, fmask = _block_tables(L)
    last = np.full(space, -1, dtype=np.int32)
    imax = np.iinfo(np.int32).max
    imin = np.iinfo(np.int32).min
    # the current block's figures in registers, stored when it ends (5 loads and stores fewer
    # per position: this pass is most of the streamed scan's time)
    b = 0
    lo_b, hi_b, near_b, far_b, mask_b = imax, imin, imax, imin, np.uint64(0)
    q = 0
    for f in range(uf):
        c = (f // rf) % cf
        r = f % rf
        for tau in range(rows_fold):
            lo, hi = _lanes(folds, True, tau)
            o = 0
            for j in range(lo, hi + 1):
                m, k = _slot_mk(df, True, c, r, tau, j, AR, AC)
                if m >= M or k >= K:             # written out (see addresses.py)
                    continue
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if y < 0 or y >= H or x < 0 or x >= W:
                    continue
                a = pb[m] + wo[k]                # group 0's words
                if (q & ((1 << _BSH) - 1)) == 0:
                    if q > 0:
                        bmin[b], bmax[b], nmin[b], fmax[b], fmask[b] = (lo_b, hi_b, near_b,
                                                                        far_b, mask_b)
                        lo_b, hi_b, near_b, far_b, mask_b = imax, imin, imax, imin, np.uint64(0)
                    b = q >> _BSH
                    ckrow[b] = f * rows_fold + tau
                    ckoff[b] = o
                lo_b, hi_b, near_b, far_b, mask_b = _note(last[a], q, L, near, lo_b, hi_b,
                                                          near_b, far_b, mask_b)
                last[a] = q
                q += 1
                o += 1
    if q > 0:
        bmin[b], bmax[b], nmin[b], fmax[b], fmask[b] = lo_b, hi_b, near_b, far_b, mask_b
    return bmin, bmax, nmin, fmax, fmask, ckrow, ckoff


@njit(cache=True)
def _samples(folds, im2col):
    """(samples, pixels and words per sample) when the ifmap is a batch of identical samples
    (the pixels of sample b are sample 0's, b * words further on), else (1, M, 0)."""
    M = folds.pixels
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    ef = 1
    while ef < M and not (rb[ef] == rb[0] and cb[ef] == cb[0]):
        ef += 1
    if ef >= M or M % ef != 0:
        return 1, M, 0
    sw = pb[ef] - pb[0]
    for m in range(ef, M):
        if rb[m] != rb[m - ef] or cb[m] != cb[m - ef] or pb[m] != pb[m - ef] + sw:
            return 1, M, 0
    return M // ef, ef, sw


@njit(cache=True)
def _fold_starts(folds, im2col, n_s, ef):
    """Stream position where each weight-stationary row fold starts: row fold r streams every
    pixel against window elements [r*AR, r*AR + AR), so it holds n_s times sample 0's valid
    (pixel, window element) pairs of those elements (identical samples: _samples)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    R, S = _window_extent(im2col, K)
    # sample 0's pixels inside the image, per window offset (no per-pixel prefix wanted)
    per_rs = _offset_counts(im2col, 0, ef, R, S, np.zeros((R, S), dtype=np.int64),
                            np.zeros(1, dtype=np.int64))
    cpos = np.zeros(rf, dtype=np.int64)
    q = 0
    for r in range(rf):
        cpos[r] = q
        for k in range(r * AR, min(K, r * AR + AR)):
            q += n_s * per_rs[wr[k], wc[k]]
    return cpos


@njit(cache=True, inline="always")
def _merge(tables, b, lo, hi, near, far, mask):
    """Block b's figures from one visit merged into the tables (min / max / or: exact in any
    order of visits)."""
    bmin, bmax, ckrow, ckoff, nmin, fmax, fmask = tables
    bmin[b] = min(bmin[b], lo)
    bmax[b] = max(bmax[b], hi)
    nmin[b] = min(nmin[b], near)
    fmax[b] = max(fmax[b], far)
    fmask[b] |= mask


@njit(cache=True)
def _summary_ws(folds, im2col, L, rows_fold, near, n_s, ef, sw):
    """_summary for a weight-stationary ifmap of n_s identical samples, taken sample by sample:
    every row fold streams all samples' pixels, so in stream order the table of last positions
    spans the whole batch (out of the CPU cache at batch 32), while a word's occurrences all
    belong to one sample; sample by sample, in stream order within the sample, the table holds
    one sample's words. Stream positions come from each row fold's start (_fold_starts) plus
    the valid lanes before a slot in its rows (all samples' lanes)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    tables = _block_tables(L)
    bmin, bmax, ckrow, ckoff, nmin, fmax, fmask = tables
    imax = np.iinfo(np.int32).max
    imin = np.iinfo(np.int32).min
    # per row fold a cursor: a row and the stream position its first valid lane has (rows are
    # visited in ascending order sample after sample, so the cursors only move forward)
    crow = np.full(rf, AR, dtype=np.int64)        # rows before AR hold no ifmap lane
    cpos = _fold_starts(folds, im2col, n_s, ef)
    # the current block's figures in registers (as _summary), merged into the tables when the
    # walk leaves the block: within a sample and row fold positions only grow, and a block at a
    # sample boundary is visited once per sample, so merging (min / max / or) is exact
    cur = -1
    lo_b, hi_b, near_b, far_b, mask_b = imax, imin, imax, imin, np.uint64(0)
    last = np.full(sw, -1, dtype=np.int32)
    for s in range(n_s):
        last[:] = -1
        m0, m1 = s * ef, (s + 1) * ef
        for r in range(rf):
            # rows whose lanes reach a pixel of this sample: m = tau - AR - j, j < AR; they
            # start at the cursor, which moves to the next sample's first row
            row_pos = cpos[r]
            end = min(rows_fold, m1 + 2 * AR - 1)
            for tau in range(crow[r], end):
                if tau == m1 + AR:
                    crow[r] = tau
                    cpos[r] = row_pos
                lo, hi = _lanes(folds, True, tau)
                o = 0
                for j in range(lo, min(hi, K - 1 - r * AR) + 1):
                    m = tau - AR - j
                    k = r * AR + j
                    y = rb[m] + wr[k]
                    x = cb[m] + wc[k]
                    if y < 0 or y >= H or x < 0 or x >= W:
                        continue
                    if m < m0 or m >= m1:
                        o += 1
                        continue
                    q = row_pos + o
                    o += 1
                    b = q >> _BSH
                    if b != cur:
                        if cur >= 0:
                            _merge(tables, cur, lo_b, hi_b, near_b, far_b, mask_b)
                        cur = b
                        lo_b, hi_b, near_b, far_b, mask_b = (imax, imin, imax, imin,
                                                             np.uint64(0))
                    if (q & ((1 << _BSH) - 1)) == 0:
                        ckrow[b] = r * rows_fold + tau
                        ckoff[b] = o - 1
                    a = pb[m] + wo[k] - s * sw      # sample s: words [s * sw, (s + 1) * sw)
                    lo_b, hi_b, near_b, far_b, mask_b = _note(last[a], q, L, near, lo_b, hi_b,
                                                              near_b, far_b, mask_b)
                    last[a] = q
                row_pos += o
            if crow[r] != m1 + AR:                # a one-row array: the next row is the end
                crow[r] = end
                cpos[r] = row_pos
    if cur >= 0:
        _merge(tables, cur, lo_b, hi_b, near_b, far_b, mask_b)
    return bmin, bmax, nmin, fmax, fmask, ckrow, ckoff


@njit(cache=True)
def _nth_bit(x, n):
    """Index of the n-th (0-based) set bit of x, and the number of set bits if n is past them."""
    i = 0
    seen = 0
    while x:
        if x & np.uint64(1):
            if seen == n:
                return i, seen
            seen += 1
        x >>= np.uint64(1)
        i += 1
    return -1, seen


@njit(cache=True)
def _walk_span(folds, im2col, rows_fold, ckrow, ckoff, s, e, base, wl, st, classify, E,
               find=False):
    """Positions [s, e) of the unit whose first position is global position ``base``: stamp each
    word in ``wl`` with its epoch (boundaries so far mod st[6], + 1; 0: never); with ``classify``
    also count new words (not stamped with the current epoch: the walk is continuous from the
    epoch start) and close epochs. st: boundaries, words in the epoch, epoch start (global),
    unit and position of the last boundary, current unit, the stamps' modulus. With ``find``:
    record nothing, return the row (in the unit) of position ``s``; else -1."""
    if s >= e:
        return -1
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    b = s >> _BSH
    R = ckrow[b]
    skip = ckoff[b]
    q = b << _BSH
    f = R // rows_fold
    tau = R % rows_fold
    while True:
        c = (f // rf) % cf
        r = f % rf
        lo, hi = _lanes(folds, True, tau)
        for j in range(lo, hi + 1):
            m, k = _slot_mk(df, True, c, r, tau, j, AR, AC)
            if m >= M or k >= K:
                continue
            y = rb[m] + wr[k]
            x = cb[m] + wc[k]
            if y < 0 or y >= H or x < 0 or x >= W:
                continue
            if skip > 0:                         # lanes of the row before the block
                skip -= 1
                continue
            if q >= s:
                if find:
                    return f * rows_fold + tau
                a = pb[m] + wo[k]
                g = base + q
                stamp = st[0] % st[6] + 1
                new = classify and wl[a] != stamp
                wl[a] = stamp                    # before a boundary: this word is the old epoch's
                if new:
                    st[1] += 1
                    if st[1] == E:
                        _close(st, wl, st[5], q, g + 1)
            q += 1
            if q >= e:
                return -1
        tau += 1
        if tau == rows_fold:
            tau = 0
            f += 1


@njit(cache=True)
def _walk_global(folds, im2col, rows_fold, ckrow, ckoff, g0, g1, L, wl, st, E):
    """Record-only walk of global positions [g0, g1) (units of one segment share content)."""
    while g0 < g1:
        u = g0 // L
        e = min(g1, (u + 1) * L)
        _walk_span(folds, im2col, rows_fold, ckrow, ckoff, g0 - u * L, e - u * L, u * L, wl,
                   st, False, E)
        g0 = e


@njit(cache=True)
def _close(st, wl, u, q, start):
    """An epoch boundary at position q of unit u; the next epoch starts at global ``start``.
    When the stamps wrap around, the walk table is cleared (an old stamp would read as new)."""
    st[0] += 1
    st[1] = 0
    st[2] = start
    st[3] = u
    st[4] = q
    if st[0] % st[6] == 0:
        wl[:] = 0


@njit(cache=True)
def _epochs_streamed(folds, im2col, E, rows_fold, L, space, uf, n_u, nunits, stamps=_STAMPS,
                     near=_NEAR, by_sample=True):
    """calc_epochs._epochs for a non-distinct ifmap unit: (epoch boundaries, words recorded
    since the last, row of the last boundary or -1). ``stamps``: how many epochs the walk
    table tells apart before it is cleared, ``near`` the far/near split (tests make them small);
    ``by_sample`` False: the weight-stationary summary in stream order."""
    n_s, ef, sw = _samples(folds, im2col) if folds.dataflow == 1 else (1, folds.pixels, 0)
    if n_s > 1 and by_sample:
        bmin, bmax, nmin, fmax, fmask, ckrow, ckoff = _summary_ws(folds, im2col, L, rows_fold,
                                                                   near, n_s, ef, sw)
    else:
        bmin, bmax, nmin, fmax, fmask, ckrow, ckoff = _summary(folds, im2col, uf, L, space,
                                                                rows_fold, near)
    # the walk table: per word the stamp of the epoch it was last walked in (2 bytes a word);
    # made at the first walk (a stream of blocks all new or all hits never walks)
    wl = np.empty(0, dtype=np.uint16)
    st = np.zeros(7, dtype=np.int64)
    st[3] = -1
    st[4] = -1
    st[6] = stamps
    wfrom = 0          # positions [wfrom, wpos) have been walked, in order
    wpos = 0
    for u in range(nunits):
        base = u * L
        st[5] = u
        if u % n_u == 0:
            # a segment's first unit: its words were never read before (_epochs' max(th, 0));
            # the walk table's stamps are another group's (groups alias group 0's words)
            st[2] = max(st[2], base)
            if u > 0:
                wl[:] = 0
        q = 0
        while q < L:
            bi = q >> _BSH
            bend = min(L, (bi + 1) << _BSH)
            if q == (bi << _BSH):
                thr = st[2] - base
                if bmin[bi] >= thr:              # all hits
                    q = bend
                    continue
                if bmax[bi] < thr:               # all new
                    n = bend - q
                    if st[1] + n < E:
                        st[1] += n
                        q = bend
                        continue
                    qb = q + (E - st[1]) - 1
                    _close(st, wl, u, qb, base + qb + 1)
                    q = qb + 1
                    continue
                if fmax[bi] < thr <= nmin[bi]:      # far ones new, near ones hits
                    need = E - st[1]
                    i, nf = _nth_bit(fmask[bi], need - 1)
                    if i < 0:
                        st[1] += nf
                        q = bend
                        continue
                    qb = q + i
                    _close(st, wl, u, qb, base + qb + 1)
                    q = qb + 1
                    continue
            # a mixed block (or the rest of one after a boundary): walk it, continuously from
            # the epoch start
            thr_g = st[2]
            if wl.shape[0] == 0:
                wl = np.zeros(space, dtype=np.uint16)
            if wfrom <= thr_g <= wpos:
                _walk_global(folds, im2col, rows_fold, ckrow, ckoff, wpos, base + q, L, wl,
                             st, E)
            else:
                _walk_global(folds, im2col, rows_fold, ckrow, ckoff, thr_g, base + q, L, wl,
                             st, E)
                wfrom = thr_g
            _walk_span(folds, im2col, rows_fold, ckrow, ckoff, q, bend, base, wl, st, True, E)
            wpos = base + bend
            q = bend
    row = -1
    if st[3] >= 0:
        row = st[3] * uf * rows_fold + _walk_span(folds, im2col, rows_fold, ckrow, ckoff,
                                                  st[4], st[4] + 1, 0, wl, st, False, E, True)
    return st[0], st[1], row
