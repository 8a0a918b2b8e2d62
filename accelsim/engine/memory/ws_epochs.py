"""CALC mode, the ifmap read buffer's epochs of a weight-stationary layer whose array rows divide
its channels (per group), without a per-slot pass: O(folds x rows) plus O(rows x log) per epoch,
instead of calc_epochs' build over every (pixel, window element) slot.

The window index is k = offset * cg + channel (operands.py), so when AR divides cg every row
fold r = offset * nb + block holds ONE window offset and AR consecutive channels (nb = cg / AR
channel blocks): lane j reads channel block * AR + j of every pixel m, at row tau = m + AR + j,
and every lane of the fold has the same valid pixels (those whose window at that offset lies
inside the image). A word (sample, row, column, channel) is read once per offset whose pixel
reaches it, always in the same lane: its occurrences lie in the folds of the same channel
block, nb folds apart, and none repeats inside a fold. So per (offset, pixel) the distance, in
same-block folds, back to the word's latest earlier occurrence (cyclically: the unit re-reads
the same folds) and that occurrence's pixel describe the whole stream: a table over offsets x
pixels (the channels drop out), 1 / cg of the slots.

SCALE-Sim's buffer forgets every word at an epoch boundary B, so a slot X after B reads a new
word iff X's latest earlier occurrence lies at or before B: in a fold more than (F - F_B) / nb
same-block folds back, or in B's fold at a slot before B (for the occurrence's pixel m' in lane
j that is one bound on m' + j, and m' = m + a shift fixed by the two offsets). Per lane the new
slots of a run of rows are then prefix counts over pixels: new words per range of rows in
O(AR), the E-th by bisection over the rows and a walk of one row's lanes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .framed import _framed_layout

# largest offsets x (offsets + 1) x (pixels + 1) prefix table (int32): 16 MB
_TABLE_ENTRIES = 1 << 22
_NO_BOUNDARY = 1 << 40          # tau of the "boundary" before a segment: no slot lies past it


@njit(cache=True)
def _ws_tables(folds, im2col):
    """(ok, offsets RS, channel blocks nb, back, occ, shift, gt): per offset o and pixel m the
    same-block folds back to the latest earlier occurrence of its word (1..RS; 0: outside the
    image), that occurrence's pixel, per (o, distance) the pixel shift occ - m, and the prefix
    counts gt[o, d, m] of pixels before m with back > d. ok False where this path does not
    apply (then calc_epochs' build does)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e2 = np.zeros((1, 1), dtype=np.int32)
    e3 = np.zeros((1, 1, 1), dtype=np.int32)
    eb = np.zeros((1, 1), dtype=np.int64)
    if df != 1 or cg < AR or cg % AR != 0 or K % cg != 0:
        return False, 0, 0, e2, e2, eb, e3
    RS, nb = K // cg, cg // AR
    if rf != RS * nb or RS * (RS + 1) * (M + 1) > _TABLE_ENTRIES:
        return False, 0, 0, e2, e2, eb, e3
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, 0, e2, e2, eb, e3
    # window element k = offset * cg + channel: one frame offset per offset, + channel
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, 0, e2, e2, eb, e3
    nloc = inside.shape[0] // C
    last_seq = np.full(nloc, -1, dtype=np.int64)
    last_pix = np.zeros(nloc, dtype=np.int64)
    back = np.zeros((RS, M), dtype=np.int32)
    occ = np.zeros((RS, M), dtype=np.int32)
    # two laps over the offsets in fold order: the second lap sees every word's latest
    # occurrence before it, in this lap or (cyclically) the previous one
    for s in range(2 * RS):
        o = s % RS
        w0 = wof[o * cg]
        for m in range(M):
            a = pbf[m] + w0
            if inside[a] == 0:
                continue
            loc = a // C
            if s >= RS:
                back[o, m] = s - last_seq[loc]
                occ[o, m] = last_pix[loc]
            last_seq[loc] = s
            last_pix[loc] = m
    # an occurrence d offsets back is the pixel a fixed shift away (same sample, window
    # offsets d apart): checked, as the counts below rely on it
    shift = np.zeros((RS, RS + 1), dtype=np.int64)
    seen = np.zeros((RS, RS + 1), dtype=np.bool_)
    for o in range(RS):
        for m in range(M):
            d = back[o, m]
            if d == 0:
                continue
            if not seen[o, d]:
                seen[o, d] = True
                shift[o, d] = occ[o, m] - m
            elif shift[o, d] != occ[o, m] - m:
                return False, 0, 0, e2, e2, eb, e3
    gt = np.zeros((RS, RS + 1, M + 1), dtype=np.int32)
    for o in range(RS):
        for m in range(M):
            d_m = back[o, m]
            for d in range(RS + 1):
                gt[o, d, m + 1] = gt[o, d, m] + (1 if d_m > d else 0)
    return True, RS, nb, back, occ, shift, gt


@njit(cache=True, inline="always")
def _span(diff, nb, RS):
    """For a fold diff folds after the boundary's (diff >= 1): (d, eq): a slot is a hit if its
    latest earlier occurrence is at most d same-block folds back; eq (0: none) the distance
    that lands on the boundary's own fold, where the slot order decides."""
    d = min((diff - 1) // nb, RS)
    eq = diff // nb if (diff % nb == 0 and diff // nb <= RS) else 0
    return d, eq


@njit(cache=True)
def _count_rows(gt, shift, o, AR, M, t0, t1, d, eq, tb, jb):
    """New slots in rows [t0, t1) of a fold at offset o: per lane j the pixels m = tau - AR - j
    with back > d, less (eq > 0) those with back == eq whose occurrence (pixel m + shift, lane j,
    row m + shift + AR + j in the boundary's fold) comes after the boundary slot (tb, jb)."""
    n = 0
    for j in range(AR):
        ma = max(0, t0 - AR - j)
        mb = min(M, t1 - AR - j)
        if ma >= mb:
            continue
        n += gt[o, d, mb] - gt[o, d, ma]
        if eq > 0:
            # after (tb, jb): m' + j > tb - AR, or equal with j > jb
            lo = max(ma, tb - AR - j + (0 if j > jb else 1) - shift[o, eq])
            if lo < mb:
                n -= ((gt[o, eq - 1, mb] - gt[o, eq, mb])
                      - (gt[o, eq - 1, lo] - gt[o, eq, lo]))
    return n


@njit(cache=True, inline="always")
def _is_new(back, occ, o, m, j, AR, diff, d, eq, tb, jb):
    """Whether slot (pixel m, lane j) of a fold diff folds after the boundary's reads a new word."""
    bk = back[o, m]
    if bk == 0:
        return False
    if diff == 0:
        return True
    if bk <= d:
        return False
    if bk == eq:
        r = occ[o, m] + AR + j
        return not (r > tb or (r == tb and j > jb))
    return True


@njit(cache=True)
def _epochs_ws(folds, im2col, E, rows_fold):
    """(ok, epoch boundaries, words recorded since the last, row of the last boundary or -1):
    calc_epochs._epochs for the ifmap of a weight-stationary layer with AR | cg; ok False where
    the tables do not apply."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    ok, RS, nb, back, occ, shift, gt = _ws_tables(folds, im2col)
    if not ok or E < 1:
        return False, 0, 0, -1
    nsh = 0
    cnt = 0
    row = -1
    t_end = M + 2 * AR - 1          # rows past it hold no ifmap lane
    for g in range(G):
        # each group's words are new to the buffer: a boundary before the segment
        fb, tb, jb = -1, _NO_BOUNDARY, 0
        F = 0
        nf = cf * rf                # the segment: cf units of rf folds, same fold order
        while F < nf:
            o = (F % rf) // nb
            diff = F - fb
            d, eq = (0, 0) if diff == 0 else _span(diff, nb, RS)
            t0 = AR
            found = False
            if diff == 0:
                # the boundary's own row, lanes after it
                t0 = tb + 1
                for j in range(jb + 1, AR):
                    m = tb - AR - j
                    if 0 <= m < M and back[o, m] > 0:
                        cnt += 1
                        if cnt == E:
                            found = True
                            jb = j
                            break
            if not found:
                n = _count_rows(gt, shift, o, AR, M, t0, t_end, d, eq, tb, jb)
                if cnt + n < E:
                    cnt += n
                    F += 1
                    continue
                # the smallest t1 with E - cnt new slots in rows [t0, t1)
                need = E - cnt
                lo, hi = t0 + 1, t_end
                while lo < hi:
                    mid = (lo + hi) // 2
                    if _count_rows(gt, shift, o, AR, M, t0, mid, d, eq, tb, jb) >= need:
                        hi = mid
                    else:
                        lo = mid + 1
                t = lo - 1
                cnt += _count_rows(gt, shift, o, AR, M, t0, t, d, eq, tb, jb)
                for j in range(AR):
                    m = t - AR - j
                    if 0 <= m < M and _is_new(back, occ, o, m, j, AR, diff, d, eq, tb, jb):
                        cnt += 1
                        if cnt == E:
                            jb = j
                            break
                tb = t
            # a boundary at (F, tb, jb)
            nsh += 1
            cnt = 0
            fb = F
            row = ((g * cf + F // rf) * rf + F % rf) * rows_fold + tb
    return True, nsh, cnt, row
