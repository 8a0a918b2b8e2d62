"""CALC mode, a large ifmap unit's epochs with memory bounded by the ifmap, not by the stream.

calc_epochs._epochs describes a re-read unit once by the previous occurrence of every stream
position (4 bytes a position: 236 MB for ResNet-50's conv1 at batch 32) and scans it in blocks of
64. Here the unit is summarized per block only (min / max previous occurrence, and where its first
position lies: row and lane), from one streaming pass with a per-word table; the scan skips
blocks that are all hits or all new exactly as _epochs does, and walks the stream only through
"mixed" blocks, where it keeps, per word, its last position walked (a word is new iff that lies
before the epoch start). The walk is continuous from the epoch start whenever it classifies (a
gap since the last walk is walked first, recording only), so every occurrence since the epoch
start has been seen: the same answer as the stored previous occurrences, position by position.

Memory: one int32 per ifmap word (a table of last positions, first for the summary, then for the
walk), 16 bytes per block of 64 positions. Time: one pass over the unit plus the walked mixed
blocks (and their gaps), per unit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _lanes, _slot_mk

_BSH = 6                         # blocks of 64 stream positions, as calc_epochs
_I32 = (1 << 31) - 1
# a previous occurrence more than this many positions back is "far": a block whose far
# occurrences all lie before the epoch start and near ones after it (the usual case between two
# boundaries: windows overlapping in the same fold vs the same word in another fold or sample)
# is counted from its far mask without a walk
_NEAR = 1 << 14


@njit(cache=True)
def _summary(folds, im2col, uf, L, space, rows_fold, near):
    """Per block of unit 0's ifmap stream: min / max previous occurrence (cyclic for a word's
    first occurrence: its last occurrence - L, as calc_epochs._build_unit), the smallest near
    and the largest far one and the mask of far positions, and its first position's row (in
    the unit) and how many valid lanes of that row come before it."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    nb = (L + (1 << _BSH) - 1) >> _BSH
    bmin = np.full(nb, np.iinfo(np.int32).max, dtype=np.int32)
    bmax = np.full(nb, np.iinfo(np.int32).min, dtype=np.int32)
    ckrow = np.zeros(nb, dtype=np.int32)
    ckoff = np.zeros(nb, dtype=np.int32)
    nmin = np.full(nb, np.iinfo(np.int32).max, dtype=np.int32)
    fmax = np.full(nb, np.iinfo(np.int32).min, dtype=np.int32)
    fmask = np.zeros(nb, dtype=np.uint64)
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
                p = last[a]
                if p < 0:
                    # a word's first occurrence: its previous one is its last in the previous
                    # repeat, somewhere in [-L, -1]; the bounds say so (no table of first
                    # positions), and a block they leave undecided is walked, exactly
                    p = -L
                    hi_b = max(hi_b, -1)
                    far_b = max(far_b, -1)
                    mask_b |= np.uint64(1) << np.uint64(q & 63)
                elif q - p > near:
                    far_b = max(far_b, p)
                    mask_b |= np.uint64(1) << np.uint64(q & 63)
                else:
                    near_b = min(near_b, p)
                lo_b = min(lo_b, p)
                hi_b = max(hi_b, p)
                last[a] = q
                q += 1
                o += 1
    if q > 0:
        bmin[b], bmax[b], nmin[b], fmax[b], fmask[b] = lo_b, hi_b, near_b, far_b, mask_b
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
def _walk_span(folds, im2col, rows_fold, ckrow, ckoff, s, e, base, wl, st, classify, E):
    """Positions [s, e) of the unit whose first position is global position ``base``: record
    each word's position in ``wl`` (minus st[6]); with ``classify`` also count new words (last
    walked position before the epoch start st[2]) and close epochs. st: boundaries, words in
    the epoch, epoch start (global), unit and position of the last boundary, current unit, the
    offset of wl's positions."""
    if s >= e:
        return
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
                a = pb[m] + wo[k]
                g = base + q
                if classify and wl[a] < st[2] - st[6]:
                    st[1] += 1
                    if st[1] == E:
                        st[0] += 1
                        st[1] = 0
                        st[2] = g + 1
                        st[3] = st[5]
                        st[4] = q
                wl[a] = g - st[6]
            q += 1
            if q >= e:
                return
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
def _row_of(folds, im2col, rows_fold, ckrow, ckoff, q):
    """Row (in the unit) of unit position q."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    b = q >> _BSH
    R = ckrow[b]
    skip = ckoff[b]
    p = b << _BSH
    while True:
        f = R // rows_fold
        tau = R % rows_fold
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
            if skip > 0:
                skip -= 1
                continue
            if p == q:
                return R
            p += 1
        R += 1


@njit(cache=True)
def _rebase(wl, shift):
    """wl's positions minus ``shift``; those that fall below 0 (before the epoch start, where
    the new offset lies) become -1: not seen since the epoch start, as before."""
    for i in range(wl.shape[0]):
        v = wl[i] - shift
        wl[i] = v if v >= 0 else -1


@njit(cache=True)
def _epochs_streamed(folds, im2col, E, rows_fold, L, space, uf, n_u, nunits, wl_limit=_I32,
                     near=_NEAR):
    """calc_epochs._epochs for a non-distinct ifmap unit: (epoch boundaries, words recorded
    since the last, row of the last boundary or -1). ``wl_limit``: the largest position the walk
    table holds before it is moved, ``near`` the far/near split (tests make them small)."""
    bmin, bmax, nmin, fmax, fmask, ckrow, ckoff = _summary(folds, im2col, uf, L, space,
                                                            rows_fold, near)
    # int32 positions relative to st[6], moved up to the epoch start before they would pass
    # 2^31 (an epoch spans less than two units: a unit reads all of its words, at least E;
    # calc._MAX_UNIT keeps two units below 2^31)
    wl = np.full(space, -1, dtype=np.int32)
    st = np.zeros(7, dtype=np.int64)
    st[3] = -1
    st[4] = -1
    wfrom = 0          # positions [wfrom, wpos) have been walked, in order
    wpos = 0
    for u in range(nunits):
        base = u * L
        st[5] = u
        if u % n_u == 0:
            # a segment's first unit: its words were never read before (_epochs' max(th, 0));
            # the walk table's older positions (other groups alias group 0's words) fall below
            st[2] = max(st[2], base)
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
                    st[0] += 1
                    st[1] = 0
                    st[2] = base + qb + 1
                    st[3] = u
                    st[4] = qb
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
                    st[0] += 1
                    st[1] = 0
                    st[2] = base + qb + 1
                    st[3] = u
                    st[4] = qb
                    q = qb + 1
                    continue
            # a mixed block (or the rest of one after a boundary): walk it, continuously from
            # the epoch start
            thr_g = st[2]
            if base + L - st[6] >= wl_limit:
                _rebase(wl, thr_g - st[6])
                st[6] = thr_g
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
        row = st[3] * uf * rows_fold + _row_of(folds, im2col, rows_fold, ckrow, ckoff, st[4])
    return st[0], st[1], row
