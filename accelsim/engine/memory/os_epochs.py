"""CALC mode, the ifmap read buffer's epochs of an output-stationary layer with at least as many
channels (per group) as array rows, without a per-slot pass: O(lanes x window offsets) per fold
and per probe of a bisection per epoch, instead of calc_epochs' build over every (pixel, window
element) slot.

Output stationary, fold r streams pixels r*AR + j (lane j) against every window element
k = tau - j (row tau), k = offset * cg + channel (operands.py). A word (sample, row, column,
channel) is read by each (offset, pixel) whose window reaches it, always with the same channel;
two of its reads in one fold are at rows offset * cg + channel + lane, so with cg >= AR the
earlier offset is the earlier row: in stream order a word's reads go by (fold, offset) and the
channel drops out. One pass over (fold, offset, pixel) per unit (two laps: the unit is re-read)
gives per (offset, pixel) the word's latest earlier read (folds back, offset, pixel).

SCALE-Sim's buffer forgets every word at an epoch boundary B, so a slot after B reads a new word
iff that latest earlier read is at or before B: in an earlier fold than B's, or in B's fold at
a slot up to B (one bound on the channel). New words over a range of rows are then, per lane,
a sum over the window offsets the range crosses; the E-th by bisection over the rows and a walk
of one row's lanes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .framed import _framed_layout
from .row_search import (_search_feed, _search_next, _search_result, _search_start,
                         _search_state)

# largest offsets x pixels table (three int32 each): 48 MB
_TABLE_ENTRIES = 1 << 22
_NO_BOUNDARY = 1 << 40          # tau of the "boundary" before a segment: no slot lies past it


@njit(cache=True)
def _os_tables(folds, im2col):
    """(ok, offsets RS, dist, prev_off, prev_pix): per offset o and pixel m, the folds back to
    its word's latest earlier read (0: the same fold, an earlier offset; -1: outside the image),
    and that read's offset and pixel. ok False where this path does not apply (then
    calc_epochs' build does)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e2 = np.zeros((1, 1), dtype=np.int32)
    if df != 0 or cg < AR or K % cg != 0:
        return False, 0, e2, e2, e2
    RS = K // cg
    if RS * M > _TABLE_ENTRIES:
        return False, 0, e2, e2, e2
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, e2, e2, e2
    # window element k = offset * cg + channel: one frame offset per offset, + channel
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, e2, e2, e2
    nloc = inside.shape[0] // C
    last_f = np.full(nloc, -1, dtype=np.int64)
    last_o = np.zeros(nloc, dtype=np.int32)
    last_m = np.zeros(nloc, dtype=np.int32)
    dist = np.full((RS, M), -1, dtype=np.int32)
    prev_off = np.zeros((RS, M), dtype=np.int32)
    prev_pix = np.zeros((RS, M), dtype=np.int32)
    # two laps over the folds in stream order: the second lap sees every word's latest read
    # before it, in this lap or (cyclically) the previous one
    for s in range(2 * rf):
        r = s % rf
        for o in range(RS):
            w0 = wof[o * cg]
            for m in range(r * AR, min(M, r * AR + AR)):
                a = pbf[m] + w0
                if inside[a] == 0:
                    continue
                loc = a // C
                if s >= rf:
                    dist[o, m] = s - last_f[loc]
                    prev_off[o, m] = last_o[loc]
                    prev_pix[o, m] = last_m[loc]
                last_f[loc] = s
                last_o[loc] = o
                last_m[loc] = m
    return True, RS, dist, prev_off, prev_pix


@njit(cache=True)
def _new_channels(dist, prev_off, prev_pix, o, m, c0, c1, F, fb, tb, jb, AR, cg):
    """New words among channels [c0, c1) of (offset o, pixel m) in fold F, after the boundary
    slot (fold fb, row tb, lane jb): all if the word's latest earlier read is in a fold before
    fb, none if after, and in fb's fold those whose read (row prev_off * cg + channel + lane,
    lane) is at or before (tb, jb)."""
    dd = dist[o, m]
    if dd < 0:
        return 0
    fp = F - dd
    if fp < fb:
        return c1 - c0
    if fp > fb:
        return 0
    jp = prev_pix[o, m] % AR
    # row prev_off * cg + ch + jp <= tb, strictly below tb when the lane is past jb
    ch_max = tb - prev_off[o, m] * cg - jp - (0 if jp <= jb else 1)
    return max(0, min(c1, ch_max + 1) - c0)


@njit(cache=True)
def _count_rows(dist, prev_off, prev_pix, r, ru, AR, K, cg, t0, t1, F, fb, tb, jb):
    """New words in rows [t0, t1) of fold F (pixel block r, ru lanes): per lane the window
    elements k = tau - j in range, offset by offset (_new_channels written out: the call cost
    20x the visit)."""
    n = 0
    for j in range(ru):
        ka = max(0, t0 - j)
        kb = min(K, t1 - j)
        if ka >= kb:
            continue
        m = r * AR + j
        o = ka // cg
        while o * cg < kb:
            c0 = max(ka - o * cg, 0)
            c1 = min(kb - o * cg, cg)
            dd = dist[o, m]
            if dd >= 0:
                fp = F - dd
                if fp < fb:
                    n += c1 - c0
                elif fp == fb:
                    jp = prev_pix[o, m] % AR
                    ch_max = tb - prev_off[o, m] * cg - jp - (0 if jp <= jb else 1)
                    n += max(0, min(c1, ch_max + 1) - c0)
            o += 1
    return n


@njit(cache=True, inline="always")
def _row_ops(ru, t0, t1, cg):
    """Lane-offset visits of a _count_rows call over rows [t0, t1) (the budget's unit)."""
    return ru * ((t1 - t0) // cg + 2)


@njit(cache=True)
def _epochs_os(folds, im2col, E, rows_fold, budget):
    """(ok, epoch boundaries, words recorded since the last, row of the last boundary or -1):
    calc_epochs._epochs for the ifmap of an output-stationary layer with cg >= AR; ok False
    where the tables do not apply, or when the scan would take more than ``budget`` lane-offset
    visits (many short epochs on many lanes: there the stored unit's block scan is cheaper; the
    work so far is projected over the units at each unit's end)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    ok, RS, dist, prev_off, prev_pix = _os_tables(folds, im2col)
    if not ok or E < 1:
        return False, 0, 0, -1
    cg = K // RS
    nsh = 0
    cnt = 0
    row = -1
    ops = 0
    rate = 0.0
    st = _search_state()
    nunits = G * cf
    for g in range(G):
        # each group's words are new to the buffer: a boundary before the segment
        fb, tb, jb = -1, _NO_BOUNDARY, 0
        F = 0
        nf = cf * rf                # the segment: cf units of rf folds, same fold order
        while F < nf:
            if ops > budget:
                return False, 0, 0, -1
            r = F % rf
            ru = min(AR, M - r * AR)
            t_end = K + ru - 1      # rows past it hold no lane
            t0 = 0
            found = False
            if F == fb:
                # the boundary's own row, lanes after it
                t0 = tb + 1
                for j in range(jb + 1, min(ru, tb + 1)):
                    k = tb - j
                    if k < K and _new_channels(dist, prev_off, prev_pix, k // cg, r * AR + j,
                                               k % cg, k % cg + 1, F, fb, tb, jb, AR, cg) > 0:
                        cnt += 1
                        if cnt == E:
                            found = True
                            jb = j
                            break
            if not found:
                # the row where the epoch ends, or the fold's new words if it falls short
                need = E - cnt
                _search_start(st, t0, t_end, need, -1, rate)
                a, b = _search_next(st)
                while b >= 0:
                    _search_feed(st, _count_rows(dist, prev_off, prev_pix, r, ru, AR, K, cg, a, b,
                                                 F, fb, tb, jb))
                    ops += _row_ops(ru, a, b, cg)
                    a, b = _search_next(st)
                reached, t, got, rate = _search_result(st)
                cnt += got
                if not reached:
                    F += 1
                    if F % rf == 0 and ops * nunits // (g * cf + F // rf) > budget:
                        return False, 0, 0, -1
                    continue
                for j in range(max(0, t - K + 1), min(ru, t + 1)):
                    k = t - j
                    if _new_channels(dist, prev_off, prev_pix, k // cg, r * AR + j, k % cg,
                                     k % cg + 1, F, fb, tb, jb, AR, cg) > 0:
                        cnt += 1
                        if cnt == E:
                            jb = j
                            break
                tb = t
            # a boundary at (F, tb, jb)
            nsh += 1
            cnt = 0
            fb = F
            row = ((g * cf + F // rf) * rf + r) * rows_fold + tb
    return True, nsh, cnt, row
