"""CALC mode, the ifmap read buffer's epochs of an output-stationary layer, without a per-slot
pass: O(lanes x window offsets) per fold and per probe of the search for an epoch's end row,
instead of calc_epochs' build over every (pixel, window element) slot.

Output stationary, fold r streams pixels r*AR + j (lane j) against every window element
k = tau - j (row tau), k = offset * cg + channel (operands.py). A word (sample, row, column,
channel) is read by each (offset, pixel) whose window reaches it, always with the same channel;
its reads in one fold are at rows offset * cg + lane + channel, so their order is that of
(offset * cg + lane, lane) and the channel drops out (with cg >= AR: offset by offset; with
more lanes than channels, e.g. a 3-channel stem conv, offsets interleave). One pass over the
folds of a unit in that order gives per (offset, pixel) the word's latest earlier read (a word's
first read in the unit: its last one, as the unit is re-read).

SCALE-Sim's buffer forgets every word at an epoch boundary B, so a slot after B reads a new word
iff that latest earlier read is at or before B: in an earlier fold than B's, or in B's fold at
a slot up to B (one bound on the channel). Numbering the rows of all folds on one axis (rows_span
= K + AR rows a fold) makes both one comparison: per (offset, pixel) the table holds the read's
channel-0 row on that axis (relative to the fold it serves) and lane, and a slot is new iff its
channel is at most the boundary's row minus that row (minus one for a later lane). New words
over a range of rows are then, offset by offset, a branch-free pass over the lanes that reach
it; the E-th by row_search's interpolation over the rows and a walk of one row's lanes. A fold
after the boundary's, with no read exactly as many folds back as the boundary, has a new-word
total known without a count (_fold_totals): where an epoch spans many folds, those cost O(1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .framed import _framed_layout
from .row_search import (_search_feed, _search_next, _search_result, _search_start,
                         _search_state)

# largest offsets x pixels table (one int64 each): 32 MB
_TABLE_ENTRIES = 1 << 22
# _count_rows' visit costs ~1.7 ns where calc_epochs._os_budget counts ~5 ns a visit (tbl.py's
# 600 points: 8.5 M visits in 14.6 ms): on 1500 other random points the os scans that 2x
# admits ran 1.5-6x faster than the stored unit, those 3x would add (stem convs, cg = 3) 20 %
# slower
_VISITS_PER_BUDGET_UNIT = 2
# the read row of a padding slot's "previous read": past any boundary
_NEVER = 1 << 40


@njit(cache=True)
def _lane_bits(AR):
    """Bits that hold a lane (0 .. AR - 1) in a key's low end."""
    bits = 1
    while (1 << bits) < AR:
        bits += 1
    return bits


@njit(cache=True)
def _read_order(RS, cg, lanes):
    """The (offset, lane) slots of a fold in stream order of their reads of one channel: rows
    o * cg + j + channel, then lanes (the channel is the same for every read of a word). With
    cg >= lanes that is offset by offset, lanes in order; with more lanes, by o * cg + j."""
    n = RS * lanes
    order_o = np.empty(n, dtype=np.int64)
    order_j = np.empty(n, dtype=np.int64)
    i = 0
    if cg >= lanes:
        for o in range(RS):
            for j in range(lanes):
                order_o[i] = o
                order_j[i] = j
                i += 1
    else:
        for d in range((RS - 1) * cg + lanes):
            j_lo = max(0, d - (RS - 1) * cg)
            for j in range(j_lo + (d - j_lo) % cg, min(lanes - 1, d) + 1, cg):
                order_o[i] = (d - j) // cg
                order_j[i] = j
                i += 1
    return order_o, order_j


@njit(cache=True)
def _os_tables(folds, im2col):
    """(ok, offsets RS, key, hist): per offset o and pixel m, where its word's latest earlier read
    lies in the stream, as key = (row << lane bits) | lane: the read's channel-0 row in the
    current fold's row numbering (prev_off * cg + its lane, minus rows_span per fold back:
    rows_span = K + AR exceeds every row of a fold, so (fold, row) order is row order) and its
    lane. A padding slot reads no word: row _NEVER. hist[dd]: the slots whose word's latest
    earlier read is dd folds back. ok False where this path does not apply (then calc_epochs'
    build does)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e2 = np.zeros((1, 1), dtype=np.int64)
    e1 = np.zeros(1, dtype=np.int64)
    if df != 0 or K % cg != 0:
        return False, 0, e2, e1
    RS = K // cg
    if RS * M > _TABLE_ENTRIES:
        return False, 0, e2, e1
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, e2, e1
    # window element k = offset * cg + channel: one frame offset per offset, + channel
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, e2, e1
    bits = _lane_bits(AR)
    rows_span = K + AR
    nloc = inside.shape[0] // C
    # frame words of one (sample, row, column) share their insideness; pbf and the offsets'
    # frame offsets are whole locations
    loc_in = inside[::C].copy()
    loc_pix = pbf // C
    loc_off = np.empty(RS, dtype=np.int64)
    for o in range(RS):
        loc_off[o] = wof[o * cg] // C
    last_f = np.full(nloc, -1, dtype=np.int64)
    last_row = np.zeros(nloc, dtype=np.int64)
    last_lane = np.zeros(nloc, dtype=np.int64)
    first = np.zeros((nloc + 1, 4), dtype=np.int64)
    key = np.full((RS, M), _NEVER << bits, dtype=np.int64)
    hist = np.zeros(rf + 1, dtype=np.int64)
    # per location its latest read so far (fold, channel-0 row o * cg + lane, lane), and the
    # reads that were a word's first in the unit (first[0, 0] of them: location, fold, offset,
    # pixel; their key waits for the unit's last read)
    order_o, order_j = _read_order(RS, cg, min(AR, M))
    for s in range(rf):
        ru = min(M - s * AR, AR)
        m0 = s * AR
        for i in range(order_o.shape[0]):
            o, j = order_o[i], order_j[i]
            if j >= ru:
                continue
            loc = loc_pix[m0 + j] + loc_off[o]
            if loc_in[loc] == 0:
                continue
            if last_f[loc] < 0:
                n = first[0, 0] + 1
                first[n, 0] = loc
                first[n, 1] = s
                first[n, 2] = o
                first[n, 3] = m0 + j
                first[0, 0] = n
            else:
                row = last_row[loc] - (s - last_f[loc]) * rows_span
                key[o, m0 + j] = (row << bits) | last_lane[loc]
                hist[s - last_f[loc]] += 1
            last_f[loc] = s
            last_row[loc] = o * cg + j
            last_lane[loc] = j
    # a word's first read in the unit: its latest earlier read is its last one in the unit
    # before (the unit is re-read in the same order), rf + s - that fold folds back
    for i in range(1, first[0, 0] + 1):
        loc = first[i, 0]
        row = last_row[loc] - (rf + first[i, 1] - last_f[loc]) * rows_span
        key[first[i, 2], first[i, 3]] = (row << bits) | last_lane[loc]
        hist[rf + first[i, 1] - last_f[loc]] += 1
    return True, RS, key, hist


@njit(cache=True, inline="always")
def _new_below(key, t_b, jb, bits):
    """Channels c below this bound of a slot whose word's latest earlier read has ``key`` read
    a new word after the boundary at row t_b (current fold's numbering), lane jb: that read
    (row key's row + c, its lane) is at or before the boundary in stream order (row, then
    lane)."""
    return t_b - (key >> bits) + 1 - (1 if (key & ((1 << bits) - 1)) > jb else 0)


@njit(cache=True, inline="always")
def _is_new(key, c, t_b, jb, bits):
    """Whether channel c of a slot whose word's latest earlier read has ``key`` reads a new
    word after the boundary at row t_b, lane jb (_new_below)."""
    return c < _new_below(key, t_b, jb, bits)


@njit(cache=True)
def _count_rows(key, r, ru, AR, cg, K, t0, t1, t_b, jb, bits):
    """New words in rows [t0, t1) of a fold (pixel block r, ru lanes), after the boundary at
    row t_b (this fold's numbering), lane jb: offset by offset the lanes whose window elements
    k = tau - j reach it, each channels [c0, c1) of it, of which those up to the channel
    bound t_b - read row (- 1 for a later lane) are new. One pass over contiguous pixels per
    offset, no branch: the per-lane loop over offsets it replaces spent most of its time on
    loop overhead for the one or two offsets an epoch's rows cross."""
    n = 0
    k_lo = max(0, t0 - ru + 1)
    k_hi = min(K, t1)
    if k_lo >= k_hi:
        return 0
    m0 = r * AR
    for o in range(k_lo // cg, (k_hi - 1) // cg + 1):
        base = o * cg
        j0 = max(0, t0 - base - cg + 1)
        j1 = min(ru, t1 - base)
        for j in range(j0, j1):
            c0 = max(t0 - j - base, 0)
            c1 = min(t1 - j - base, cg)
            v = _new_below(key[o, m0 + j], t_b, jb, bits)
            n += min(max(v, c0), c1) - c0
    return n


@njit(cache=True, inline="always")
def _row_ops(ru, t0, t1, cg):
    """Lane-offset visits of a _count_rows call over rows [t0, t1) (the budget's unit)."""
    return ru * ((t1 - t0) // cg + 2)


@njit(cache=True)
def _fold_totals(key, hist, AR, M, rf, rows_span, bits):
    """(d_small, d_big, d_max, big_fold): a whole fold's new words without a count, where the
    boundary lies D folds back. A slot whose word's latest earlier read is dd folds back is
    new for every channel if dd > D, for none if dd < D (rows_span exceeds a fold's rows). With
    no read dd folds back in between (d_small < D < d_big: words re-read by nearby pixel
    blocks, against words first read in the unit, folds apart) fold r then holds cg x
    big_fold[r] new words (its reads d_big or more folds back); past d_max, none."""
    RS = key.shape[0]
    d_small, d_big, d_max, prev = -1, -1, -1, -1
    for d in range(rf + 1):
        if hist[d] > 0:
            if prev >= 0 and d - prev > max(1, d_big - d_small):
                d_small, d_big = prev, d
            prev = d
            d_max = d
    big_fold = np.zeros(rf, dtype=np.int64)
    if d_big > 0:
        # d_big or more folds back: a read row below the fold d_big - 1 back
        below = ((1 - d_big) * rows_span) << bits
        for r in range(rf):
            for o in range(RS):
                for m in range(r * AR, min(M, r * AR + AR)):
                    big_fold[r] += key[o, m] < below
    return d_small, d_big, d_max, big_fold


@njit(cache=True)
def _epochs_os(folds, im2col, E, rows_fold, budget):
    """(ok, epoch boundaries, words recorded since the last, row of the last boundary or -1):
    calc_epochs._epochs for the ifmap of an output-stationary layer; ok False where the tables
    do not apply, or when the scan would take more than ``budget`` (calc_epochs._os_budget:
    lane-offset visits at ~5 ns) x _VISITS_PER_BUDGET_UNIT visits (many short epochs on many
    lanes: there the stored unit's block scan is cheaper; the work so far is projected over
    the units at each unit's end)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    cg = im2col[8]
    visits_max = budget * _VISITS_PER_BUDGET_UNIT
    # the table pass alone (a visit per entry) past the budget: do not build the tables
    if E < 1 or cg < 1 or K % cg != 0 or (K // cg) * M > visits_max:
        return False, 0, 0, -1
    # epochs under ~4 folds' slots: nearly every fold holds an epoch's end and is counted row
    # by row, ru lanes a visit per cg rows; with more lanes than channels (stem convs, cg = 3)
    # that bound past the budget declines late, after the tables, on bench_batch-like points
    ru_max = min(AR, M)
    if cg < AR and E < 4 * ru_max * K and G * cf * M * ((K + ru_max) // cg) > visits_max:
        return False, 0, 0, -1
    ok, RS, key, hist = _os_tables(folds, im2col)
    if not ok:
        return False, 0, 0, -1
    bits = _lane_bits(AR)
    rows_span = K + AR
    d_small, d_big, d_max, big_fold = _fold_totals(key, hist, AR, M, rf, rows_span, bits)
    nsh = 0
    cnt = 0
    row = -1
    ops = 0
    rate = 0.0
    st = _search_state()
    nunits = G * cf
    for g in range(G):
        # each group's words are new to the buffer: a boundary after the last row of a fold
        # before the segment (reads there, of the previous lap, are before it; this lap's after)
        fb, tb, jb = -1, rows_span - 1, 0
        F = 0
        nf = cf * rf                # the segment: cf units of rf folds, same fold order
        while F < nf:
            if ops > visits_max:
                return False, 0, 0, -1
            r = F % rf
            ru = min(AR, M - r * AR)
            m0 = r * AR
            t_end = K + ru - 1      # rows past it hold no lane
            t_b = (fb - F) * rows_span + tb     # the boundary's row in this fold's numbering
            t0 = 0
            found = False
            if F == fb:
                # the boundary's own row, lanes after it
                t0 = tb + 1
                for j in range(jb + 1, min(ru, tb + 1)):
                    k = tb - j
                    if k < K and _is_new(key[k // cg, m0 + j], k % cg, t_b, jb, bits):
                        cnt += 1
                        if cnt == E:
                            found = True
                            jb = j
                            break
            if not found:
                # the row where the epoch ends, or the fold's new words if it falls short
                need = E - cnt
                # a fold after the boundary's: its new words, when no count is needed
                c_end = -1
                if F > fb and F - fb > d_max:
                    c_end = 0
                elif F > fb and d_small < F - fb < d_big:
                    c_end = cg * big_fold[r]
                _search_start(st, t0, t_end, need, c_end, rate)
                a, b = _search_next(st)
                while b >= 0:
                    _search_feed(st, _count_rows(key, r, ru, AR, cg, K, a, b, t_b, jb, bits))
                    ops += _row_ops(ru, a, b, cg)
                    a, b = _search_next(st)
                reached, t, got, rate = _search_result(st)
                cnt += got
                if not reached:
                    F += 1
                    if F % rf == 0 and ops * nunits // (g * cf + F // rf) > visits_max:
                        return False, 0, 0, -1
                    continue
                for j in range(max(0, t - K + 1), min(ru, t + 1)):
                    k = t - j
                    if _is_new(key[k // cg, m0 + j], k % cg, t_b, jb, bits):
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
