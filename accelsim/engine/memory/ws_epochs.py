"""CALC mode, the ifmap read buffer's epochs of a weight-stationary layer with at least as many
channels (per group) as array rows, without a per-slot pass: O(rows) per fold and
O(rows x log) per epoch, instead of calc_epochs' build over every (pixel, window element) slot.

Weight stationary, lane j of row fold r holds window element k = r*AR + j, k = offset * cg +
channel (operands.py), and reads pixel m = tau - AR - j at row tau. A word (sample, row,
column, channel) is read once per offset whose pixel reaches it, always at the same channel:
its reads are window elements cg apart, so with cg >= AR no fold reads it twice and its reads
come in offset order. Per (offset, pixel), the offsets back to the word's latest earlier read
(cyclically: the unit is re-read) and that read's pixel describe the whole stream: a table over
offsets x pixels (the channels drop out), 1 / cg of the slots.

SCALE-Sim's buffer forgets every word at an epoch boundary B, so a slot X after B reads a new
word iff X's latest earlier read lies at or before B. Per lane of X's fold, the reads b offsets
back lie in folds after B's for b <= d (hits), in B's own fold for at most one b (the slot
order decides: one bound on the read's pixel, a fixed shift from X's), and before it otherwise
(new). The new slots of a run of rows are then, per lane, prefix counts over pixels of the
table: O(lanes) per range, the E-th by bisection over the rows and a walk of one row's lanes.

With fewer channels per group than array rows (a network's first conv) a fold reads a word
once per offset of the fold whose pixel reaches it: _narrow_tables below, per channel class.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import Folds, Im2col
from .framed import _framed_layout
from .row_search import (_search_feed, _search_next, _search_result, _search_start,
                         _search_state)

# largest offsets x (offsets + 1) x (pixels + 1) prefix table (int32): 16 MB
_TABLE_ENTRIES = 1 << 22
_NO_BOUNDARY = 1 << 40          # tau of the "boundary" before a segment: no slot lies past it


@njit(cache=True)
def _sample_period(folds, im2col):
    """Pixels per sample P when every sample's pixels repeat sample 0's windows over its own
    image (operands.py's batch), else M. A word's reads then all come from its own sample's
    pixels, in the same order for every sample, so the tables below are sample 0's and the
    counts repeat per sample: a batch costs its epochs, not batch x the tables (issue 14's
    ResNet-50 at batch 32)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    sample_words = H * W * G * goff
    if M < 2 or sample_words <= 0:
        return M
    samples = pb.max() // sample_words + 1
    if samples < 2 or M % samples != 0:
        return M
    P = M // samples
    for b in range(1, samples):
        for m in range(P):
            x = b * P + m
            if rb[x] != rb[m] or cb[x] != cb[m] or pb[x] != pb[m] + b * sample_words:
                return M
    return P


@njit(cache=True)
def _first_sample(folds, im2col, P):
    """The records of sample 0 alone (its P pixels)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    return (Folds(df, AR, AC, P, N, K, G, rf, cf),
            Im2col(rb[:P].copy(), cb[:P].copy(), pb[:P].copy(), wr, wc, wo, H, W, goff))


@njit(cache=True, inline="always")
def _pre(pre, r, m, P):
    """pre[r, m] over the whole batch, from sample 0's prefix rows (P pixels): whole samples'
    totals, then sample 0's prefix."""
    if m <= P:
        return pre[r, m]
    q = m // P
    return q * pre[r, P] + pre[r, m - q * P]


@njit(cache=True)
def _ws_tables(folds, im2col):
    """(ok, offsets RS, back, occ, shift, gt): per offset o and pixel m the offsets back to
    the latest earlier read of its word (1..RS; 0: outside the image), that read's pixel, per
    (o, distance) the pixel shift occ - m, and the prefix counts gt[o, d, m] of pixels before m
    with back > d. ok False where this path does not apply (then calc_epochs' build does)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e2 = np.zeros((1, 1), dtype=np.int32)
    e3 = np.zeros((1, 1, 1), dtype=np.int32)
    eb = np.zeros((1, 1), dtype=np.int64)
    if df != 1 or cg < AR or K % cg != 0:
        return False, 0, e2, e2, eb, e3
    RS = K // cg
    if RS * (RS + 1) * (M + 1) > _TABLE_ENTRIES:
        return False, 0, e2, e2, eb, e3
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, e2, e2, eb, e3
    # window element k = offset * cg + channel: one frame offset per offset, + channel
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, e2, e2, eb, e3
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
                return False, 0, e2, e2, eb, e3
    gt = np.zeros((RS, RS + 1, M + 1), dtype=np.int32)
    for o in range(RS):
        for m in range(M):
            d_m = back[o, m]
            for d in range(RS + 1):
                gt[o, d, m + 1] = gt[o, d, m] + (1 if d_m > d else 0)
    return True, RS, back, occ, shift, gt


@njit(cache=True)
def _lane_sums(gt):
    """Q[o, d, z] = gt[o, d, 0] + ... + gt[o, d, z - 1] (z up to pixels + 1): a run of lanes
    reads pixels shifted by one per lane, so its new slots over a range of rows are two
    differences of Q instead of one difference of gt per lane."""
    RS, D, P1 = gt.shape
    Q = np.zeros((RS, D, P1 + 1), dtype=np.int64)
    for o in range(RS):
        for d in range(D):
            acc = 0
            for z in range(P1):
                acc += gt[o, d, z]
                Q[o, d, z + 1] = acc
    return Q


@njit(cache=True, inline="always")
def _q(Q, gt, o, d, z, P, M):
    """Sum of gt[o, d, x] over the whole batch (x repeated per sample, _pre) for x < z, x taken
    as min(x, M) (a lane past the last pixel counts every pixel) and x < 0 as 0."""
    if z <= 0:
        return 0
    ext = 0
    if z > M + 1:
        ext = (z - M - 1) * _pre(gt[o], d, M, P)
        z = M + 1
    if z <= P + 1:
        return Q[o, d, z] + ext
    # z = q P + r: q whole samples (sample i adds i gt[P] to each of its P prefixes), then r
    q = z // P
    r = z - q * P
    g_p = gt[o, d, P]
    return q * Q[o, d, P] + g_p * P * (q * (q - 1) // 2) + r * q * g_p + Q[o, d, r] + ext


@njit(cache=True, inline="always")
def _fold_start(F, rf, K, AR):
    """Global window element (unit * K + k) where fold F of a segment starts (floor division:
    F = -1 is the previous unit's last fold)."""
    return (F // rf) * K + (F % rf) * AR


@njit(cache=True, inline="always")
def _lane_params(F, fb, rf, K, AR, cg, RS, j):
    """Lane j of fold F, for a boundary in fold fb: (its offset, d, eq, eq's lane). d: a slot is
    a hit if its word's latest earlier read is at most d offsets back (that read's fold lies
    after fb); eq (0: none): the distance whose read lies in fb's own fold, where the slot
    order decides, and that read's lane. The read b offsets back is window element
    kappa - b * cg (the same channel), in the fold of that element; cg >= AR puts at most one
    such element in a fold."""
    o = (F % rf * AR + j) // cg
    if F == fb:
        return o, 0, 0, 0
    s_next = _fold_start(fb + 1, rf, K, AR)
    s_b = _fold_start(fb, rf, K, AR)
    kappa = _fold_start(F, rf, K, AR) + j
    d = min(max((kappa - s_next) // cg, -1), RS)
    e = d + 1
    if e <= RS and kappa - e * cg >= s_b:
        return o, max(d, 0), e, kappa - e * cg - s_b
    return o, max(d, 0), 0, 0


@njit(cache=True)
def _fold_runs(F, fb, rf, K, AR, cg, RS, ru, jb, runs):
    """Fold F's lanes as runs of consecutive lanes with the same offset, d, eq, eq's lane less
    the lane, and side of the boundary lane jb (_lane_params): runs[:, i] = first lane, end,
    offset, d, eq, eq's lane - lane, past jb (runs[7]: scratch). A parameter changes only
    where the lane's element crosses a multiple of cg (offset; u = kappa - s_next: d), where
    u mod cg reaches cg - w (w: fb's lanes; eq's read enters fb's fold, on its lane
    u mod cg - cg + w) and where that lane passes jb: at most six cuts (cg >= AR = lanes),
    found in closed form, so a fold costs O(runs) and not O(lanes). Returns the number of
    runs."""
    cuts = runs[7]          # scratch row: no allocation per fold
    nc = 0
    cuts[nc] = cg - (F % rf * AR) % cg
    nc += 1
    if F != fb:
        s_next = _fold_start(fb + 1, rf, K, AR)
        w = s_next - _fold_start(fb, rf, K, AR)
        r0 = (_fold_start(F, rf, K, AR) - s_next) % cg
        for base in (0, cg):
            cuts[nc] = base + cg - r0
            cuts[nc + 1] = base + cg - w - r0
            cuts[nc + 2] = base + cg - w + jb + 1 - r0
            nc += 3
    # the cuts inside (0, ru), in order (insertion: at most seven)
    for i in range(1, nc):
        v = cuts[i]
        k = i
        while k > 0 and cuts[k - 1] > v:
            cuts[k] = cuts[k - 1]
            k -= 1
        cuts[k] = v
    nr = 0
    j0 = 0
    for i in range(nc + 1):
        j1 = min(cuts[i], ru) if i < nc else ru
        if j1 <= j0:
            continue
        o, d, eq, jp = _lane_params(F, fb, rf, K, AR, cg, RS, j0)
        runs[0, nr] = j0
        runs[1, nr] = j1
        runs[2, nr] = o
        runs[3, nr] = d
        runs[4, nr] = eq
        runs[5, nr] = jp - j0 if eq > 0 else 0
        runs[6, nr] = 1 if eq > 0 and jp > jb else 0
        nr += 1
        j0 = j1
    return nr


@njit(cache=True)
def _same_folds(F, fb, rf, K, AR, cg, RS):
    """How many folds from F on (F itself included, F > fb, all in F's unit and all whole:
    AR lanes) give every lane the same offset and the same d as in F and no lane a read in
    fb's own fold (_lane_params): their counts over all rows are equal, so a run of them is
    counted once (many folds of few lanes, e.g. 4 rows on 256 channels: 576 folds a unit)."""
    f = F % rf
    last_whole = rf - 1 if K % AR == 0 else rf - 2
    if f > last_whole:
        return 1
    k = last_whole - f + 1
    # the offset (f AR + j) // cg stays put while no lane crosses a multiple of cg
    a = f * AR
    k = min(k, ((a // cg + 1) * cg - a - AR) // AR + 1)
    # d = u // cg for u = kappa - s_next: the same d and no read in fb's fold (which needs
    # u mod cg >= cg - w, w fb's lanes) while u stays in [q cg, (q + 1) cg - w)
    u0 = _fold_start(F, rf, K, AR) - _fold_start(fb + 1, rf, K, AR)
    q = u0 // cg
    if q < RS:
        w = _fold_start(fb + 1, rf, K, AR) - _fold_start(fb, rf, K, AR)
        k = min(k, ((q + 1) * cg - w - u0 - AR) // AR + 1)
    return max(k, 1)


@njit(cache=True)
def _count_rows(Q, gt, shift, runs, nr, AR, M, P, t0, t1, tb):
    """New slots in rows [t0, t1) of a fold: per lane j the pixels m = tau - AR - j with back >
    d, less (eq > 0) those with back == eq whose read (pixel m + shift, lane jp, row
    m + shift + AR + jp in the boundary's fold) comes after the boundary slot (tb, jb). Lane j
    counts pixels [max(0, t0 - AR - j), min(M, t1 - AR - j)), so a run of lanes [j0, j1) sums
    gt over pixels shifted by one per lane: four terms of _q per run and distance."""
    n = 0
    y0 = t0 - AR
    y1 = t1 - AR
    for i in range(nr):
        j0 = runs[0, i]
        j1 = runs[1, i]
        o = runs[2, i]
        d = runs[3, i]
        n += (_q(Q, gt, o, d, y1 - j0 + 1, P, M) - _q(Q, gt, o, d, y1 - j1 + 1, P, M)
              - _q(Q, gt, o, d, y0 - j0 + 1, P, M) + _q(Q, gt, o, d, y0 - j1 + 1, P, M))
        eq = runs[4, i]
        if eq > 0:
            # after (tb, jb): m + shift + jp > tb - AR, or equal with jp > jb; the bound on
            # m is y - j for every lane of the run (jp - j is fixed), and lane j counts
            # [max(0, y - j), min(M, y1 - j)) when y < y1, nothing otherwise
            y = max(y0, tb - AR - runs[5, i] + (0 if runs[6, i] else 1) - shift[o, eq])
            if y < y1:
                n -= ((_q(Q, gt, o, eq - 1, y1 - j0 + 1, P, M)
                       - _q(Q, gt, o, eq, y1 - j0 + 1, P, M))
                      - (_q(Q, gt, o, eq - 1, y1 - j1 + 1, P, M)
                         - _q(Q, gt, o, eq, y1 - j1 + 1, P, M))
                      - (_q(Q, gt, o, eq - 1, y - j0 + 1, P, M)
                         - _q(Q, gt, o, eq, y - j0 + 1, P, M))
                      + (_q(Q, gt, o, eq - 1, y - j1 + 1, P, M)
                         - _q(Q, gt, o, eq, y - j1 + 1, P, M)))
    return n


@njit(cache=True, inline="always")
def _is_new(back, occ, o, d, eq, jp, m, AR, P, tb, jb):
    """Whether slot (pixel m) of a lane with offset o, d, eq and eq's lane jp (_lane_params)
    reads a new word."""
    m1 = m % P
    bk = back[o, m1]
    if bk == 0:
        return False
    if bk <= d:
        return False
    if bk == eq:
        r = occ[o, m1] + m - m1 + AR + jp
        return not (r > tb or (r == tb and jp > jb))
    return True


@njit(cache=True)
def _epochs_ws(folds, im2col, E, rows_fold, budget):
    """(ok, epoch boundaries, words recorded since the last, row of the last boundary or -1):
    calc_epochs._epochs for the ifmap of a weight-stationary layer with cg >= AR; ok False
    where the tables do not apply, or when the scan would take more than ``budget`` lane
    visits (many short epochs on many lanes: there the stored unit's block scan is cheaper;
    the work so far is projected over the units at each unit's end)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if im2col[8] < AR:
        return _epochs_ws_narrow(folds, im2col, E, rows_fold, budget)
    P = _sample_period(folds, im2col)
    if P < M:
        f1, i1 = _first_sample(folds, im2col, P)
        ok, RS, back, occ, shift, gt = _ws_tables(f1, i1)
    else:
        ok, RS, back, occ, shift, gt = _ws_tables(folds, im2col)
    if not ok or E < 1:
        return False, 0, 0, -1
    cg = K // RS
    # the fold in hand's lanes as runs (_fold_runs); one array, as every array argument of
    # a call costs a reference count
    runs = np.zeros((8, 8), dtype=np.int64)
    Q = _lane_sums(gt)
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
            ru = min(AR, K - F % rf * AR)
            t_end = M + AR + ru - 1     # rows past it hold no lane
            nr = _fold_runs(F, fb, rf, K, AR, cg, RS, ru, jb, runs)
            ops += 4 * nr
            t0 = AR
            found = False
            if F == fb:
                # the boundary's own row, lanes after it (every earlier read is before it)
                t0 = tb + 1
                for i in range(nr):
                    o = runs[2, i]
                    for j in range(max(runs[0, i], jb + 1), runs[1, i]):
                        m = tb - AR - j
                        if 0 <= m < M and back[o, m % P] > 0:
                            cnt += 1
                            if cnt == E:
                                found = True
                                jb = j
                                break
                    if found:
                        break
            if not found:
                # the rest of the fold at once, then the row where the epoch ends
                need = E - cnt
                n = _count_rows(Q, gt, shift, runs, nr, AR, M, P, t0, t_end, tb)
                if n < need:
                    # the next folds with the same count at once, up to the epoch's fold
                    i = 1
                    if F != fb:
                        i = _same_folds(F, fb, rf, K, AR, cg, RS)
                        if n > 0:
                            i = min(i, (need - 1) // n)
                    cnt += i * n
                    F += i
                    if F % rf == 0 and ops * nunits // (g * cf + F // rf) > budget:
                        return False, 0, 0, -1
                    continue
                _search_start(st, t0, t_end, need, n, rate)
                a, b = _search_next(st)
                while b >= 0:
                    _search_feed(st, _count_rows(Q, gt, shift, runs, nr, AR, M, P, a, b, tb))
                    ops += 4 * nr
                    a, b = _search_next(st)
                _, t, got, rate = _search_result(st)
                cnt += got
                done = False
                for i in range(nr):
                    o, d, eq = runs[2, i], runs[3, i], runs[4, i]
                    for j in range(runs[0, i], runs[1, i]):
                        m = t - AR - j
                        if 0 <= m < M and _is_new(back, occ, o, d, eq, runs[5, i] + j, m, AR, P,
                                                  tb, jb):
                            cnt += 1
                            if cnt == E:
                                jb = j
                                done = True
                                break
                    if done:
                        break
                tb = t
            # a boundary at (F, tb, jb)
            nsh += 1
            cnt = 0
            fb = F
            row = ((g * cf + F // rf) * rf + F % rf) * rows_fold + tb
    return True, nsh, cnt, row


# --- fewer channels per group than array rows (a network's first conv) --------------------
#
# A fold then holds several offsets of one channel, and it reads a word once per offset whose
# pixel reaches it, in the order of the rows those reads land on, not of the offsets. That
# order depends on the channel only through which offsets share a fold, so the channels fall
# into classes with one table each. Per (class, offset, pixel) the latest earlier read of the
# word is a window-element distance b * cg back (b < 0: a later offset of the same fold read
# it on an earlier row) and a pixel a fixed shift away per (offset, b); per (class, offset)
# the few distinct b, ranked, give prefix counts over pixels per rank.

_MAX_RANKS = 32                 # distinct back distances per (class, offset) kept in tables


@njit(cache=True)
def _channel_classes(cg, RS, AR):
    """(class per channel, a channel per class, classes): channels whose offsets fall into
    the same folds read their words in the same order."""
    cls = np.full(cg, -1, dtype=np.int64)
    reps = np.zeros(cg, dtype=np.int64)
    ncls = 0
    for c in range(cg):
        for q in range(ncls):
            c2 = reps[q]
            same = True
            for o in range(RS):
                if (o * cg + c) // AR != (o * cg + c2) // AR:
                    same = False
                    break
            if same:
                cls[c] = q
                break
        if cls[c] < 0:
            cls[c] = ncls
            reps[ncls] = c
            ncls += 1
    return cls, reps, ncls


@njit(cache=True)
def _narrow_tables(folds, im2col):
    """(ok, offsets RS, class per channel, rank[class*RS + o, m] (-1: no read), ranks per
    (class, offset), their b and pixel shift, first prefix row per (class, offset), prefix
    rows pre[row + i, m]: pixels before m with rank >= i). ok False where this path does
    not apply."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    cg = goff
    e1 = np.zeros(1, dtype=np.int64)
    e2 = np.zeros((1, 1), dtype=np.int64)
    r8 = np.zeros((1, 1), dtype=np.int8)
    p32 = np.zeros((1, 1), dtype=np.int32)
    if df != 1 or cg < 1 or cg >= AR or K % cg != 0:
        return False, 0, e1, r8, e1, e2, e2, e1, p32
    RS = K // cg
    ok, pbf, wof, inside = _framed_layout(folds, im2col)
    C = G * goff
    if not ok:
        return False, 0, e1, r8, e1, e2, e2, e1, p32
    for k in range(K):
        k0 = (k // cg) * cg
        if wof[k] != wof[k0] + (k - k0) or wof[k0] % C != 0:
            return False, 0, e1, r8, e1, e2, e2, e1, p32
    cls, reps, ncls = _channel_classes(cg, RS, AR)
    # memory bounded like the other tables, before any is made: the per-word arrays below are
    # 24 bytes a framed word (ResNet-50's conv1 at batch 32: 5 M words, 120 MB; the streamed
    # scan, calc_stream.py, then takes it within the batch target of issue 14)
    if ncls * RS * (M + 1) > _TABLE_ENTRIES or inside.shape[0] > _TABLE_ENTRIES:
        return False, 0, e1, r8, e1, e2, e2, e1, p32
    rank = np.full((ncls * RS, M), -1, dtype=np.int8)
    nv = np.zeros(ncls * RS, dtype=np.int64)
    vals = np.zeros((ncls * RS, _MAX_RANKS), dtype=np.int64)
    shf = np.zeros((ncls * RS, _MAX_RANKS), dtype=np.int64)
    # per framed word (all channels: no division by C on the way, ~40 cycles each)
    nloc = inside.shape[0]
    last_el = np.full(nloc, -1, dtype=np.int64)
    last_pix = np.zeros(nloc, dtype=np.int64)
    first = np.zeros(nloc, dtype=np.int64)
    for q in range(ncls):
        c = reps[q]
        last_el[:] = -1
        # one lap over the unit in stream order (fold, row, lane); a word's first read of
        # the lap follows its last one of the previous lap (the unit is re-read), noted after
        for f in range(rf):
            o_lo = max(0, (f * AR - c + cg - 1) // cg)
            o_hi = min(RS - 1, (min((f + 1) * AR, K) - 1 - c) // cg)
            if o_lo > o_hi:
                continue
            # lane of offset o: o cg + c - f AR; its pixel on row tau: tau - AR - lane
            d0 = AR + c - f * AR
            for tau in range(d0 + o_lo * cg, M + d0 + o_hi * cg):
                oa = max(o_lo, (tau - d0 - M) // cg + 1)
                ob = min(o_hi, (tau - d0) // cg)
                for o in range(oa, ob + 1):
                    m = tau - d0 - o * cg
                    a = pbf[m] + wof[o * cg] + c
                    if inside[a] == 0:
                        continue
                    loc = a
                    el = o * cg + c
                    if last_el[loc] < 0:
                        first[loc] = (q * RS + o) * M + m
                    else:
                        # the read b back (b cg window elements), its pixel sh away: one
                        # rank per b of (oc), in order of discovery (sorted below); the
                        # shift must be fixed per b, as the counts rely on it
                        dist = el - last_el[loc]
                        sh = last_pix[loc] - m
                        oc = q * RS + o
                        b = dist // cg
                        if b == 0 or b < -RS or dist != b * cg:
                            return False, 0, e1, r8, e1, e2, e2, e1, p32
                        i = 0
                        while i < nv[oc] and vals[oc, i] != b:
                            i += 1
                        if i == nv[oc]:
                            if i == _MAX_RANKS // 2:
                                return False, 0, e1, r8, e1, e2, e2, e1, p32
                            vals[oc, i] = b
                            shf[oc, i] = sh
                            nv[oc] += 1
                        elif shf[oc, i] != sh:
                            return False, 0, e1, r8, e1, e2, e2, e1, p32
                        rank[oc, m] = i
                    last_el[loc] = el
                    last_pix[loc] = m
        for loc in range(nloc):
            if last_el[loc] >= 0:
                oc, m = first[loc] // M, first[loc] % M
                dist = (oc - q * RS) * cg + c + K - last_el[loc]
                sh = last_pix[loc] - m
                b = dist // cg
                if b == 0 or b > 2 * RS or dist != b * cg:
                    return False, 0, e1, r8, e1, e2, e2, e1, p32
                i = 0
                while i < nv[oc] and vals[oc, i] != b:
                    i += 1
                if i == nv[oc]:
                    if i == _MAX_RANKS // 2:
                        return False, 0, e1, r8, e1, e2, e2, e1, p32
                    vals[oc, i] = b
                    shf[oc, i] = sh
                    nv[oc] += 1
                elif shf[oc, i] != sh:
                    return False, 0, e1, r8, e1, e2, e2, e1, p32
                rank[oc, m] = i
    # rank the b of each (class, offset) ascending
    rows = 0
    base = np.zeros(ncls * RS, dtype=np.int64)
    perm = np.zeros(_MAX_RANKS, dtype=np.int8)
    for oc in range(ncls * RS):
        n = nv[oc]
        base[oc] = rows
        rows += max(n, 1)
    if rows * (M + 1) > _TABLE_ENTRIES:
        return False, 0, e1, r8, e1, e2, e2, e1, p32
    pre = np.empty((rows, M + 1), dtype=np.int32)
    for oc in range(ncls * RS):
        n = nv[oc]
        for i in range(n):
            r = 0
            for i2 in range(n):
                r += vals[oc, i2] < vals[oc, i]
            perm[i] = r
        for i in range(n):
            vals[oc, _MAX_RANKS - 1 - perm[i]] = vals[oc, i]
            shf[oc, _MAX_RANKS - 1 - perm[i]] = shf[oc, i]
        for i in range(n):
            vals[oc, i] = vals[oc, _MAX_RANKS - 1 - i]
            shf[oc, i] = shf[oc, _MAX_RANKS - 1 - i]
        rk = rank[oc]
        for m in range(M):
            if rk[m] >= 0:
                rk[m] = perm[rk[m]]
        r0 = base[oc]
        if n == 0:
            pre[r0, :] = 0
        for i in range(n):
            pr = pre[r0 + i]
            acc = 0
            pr[0] = 0
            for m in range(M):
                acc += rk[m] >= i
                pr[m + 1] = acc
    return True, RS, cls, rank, nv, vals, shf, base, pre


@njit(cache=True, inline="always")
def _narrow_lanes(F, fb, rf, K, AR, cg, RS, ru, cls, nv, vals, lane):
    """Per lane j of fold F, for a boundary in fold fb: its (class, offset) row, the first
    rank whose read lies in fb's fold or before (ranks below: hits, in a later fold), the
    first rank whose read lies before fb's fold (new), and the lane's element less fb's
    first (a read b back in fb's fold is on lane that - b cg)."""
    s_next = _fold_start(fb + 1, rf, K, AR)
    s_b = _fold_start(fb, rf, K, AR)
    k0 = _fold_start(F, rf, K, AR)
    f = F % rf
    for j in range(ru):
        k = f * AR + j
        kappa = k0 + j
        oc = cls[k % cg] * RS + k // cg
        # read b back at element kappa - b cg: new iff before s_b, hit iff at s_next or after
        dn = (kappa - s_b) // cg
        dh = (kappa - s_next) // cg
        n = nv[oc]
        i_lo = 0
        while i_lo < n and vals[oc, i_lo] <= dh:
            i_lo += 1
        i_new = i_lo
        while i_new < n and vals[oc, i_new] <= dn:
            i_new += 1
        lane[0, j] = oc
        lane[1, j] = i_lo
        lane[2, j] = i_new
        lane[3, j] = kappa - s_b


@njit(cache=True)
def _narrow_count(pre, base, nv, vals, shf, lane, ru, AR, cg, M, P, t0, t1, tb, jb):
    """New slots in rows [t0, t1) of a fold: per lane the pixels whose read lies before the
    boundary's fold, plus those whose read lies in it on a slot up to the boundary (tb, jb):
    a bound on the pixel per rank."""
    n = 0
    for j in range(ru):
        ma = max(0, t0 - AR - j)
        mb = min(M, t1 - AR - j)
        if ma >= mb:
            continue
        oc = lane[0, j]
        nvo = nv[oc]
        r0 = base[oc]
        i_new = lane[2, j]
        if i_new < nvo:
            n += _pre(pre, r0 + i_new, mb, P) - _pre(pre, r0 + i_new, ma, P)
        for i in range(lane[1, j], i_new):
            jp = lane[3, j] - vals[oc, i] * cg
            # the read on row m + shift + AR + jp: new iff up to (tb, jb)
            hi = min(mb, tb - AR - jp - shf[oc, i] + (1 if jp <= jb else 0))
            if hi > ma:
                n += _pre(pre, r0 + i, hi, P) - _pre(pre, r0 + i, ma, P)
                if i + 1 < nvo:
                    n -= _pre(pre, r0 + i + 1, hi, P) - _pre(pre, r0 + i + 1, ma, P)
    return n


@njit(cache=True)
def _narrow_is_new(rank, vals, shf, lane, m, j, AR, cg, P, tb, jb):
    """Whether slot (pixel m, lane j) of the fold _narrow_lanes described reads a new word."""
    oc = lane[0, j]
    r = rank[oc, m % P]
    if r < 0 or r < lane[1, j]:
        return False
    if r >= lane[2, j]:
        return True
    jp = lane[3, j] - vals[oc, r] * cg
    return m < tb - AR - jp - shf[oc, r] + (1 if jp <= jb else 0)


@njit(cache=True)
def _epochs_ws_narrow(folds, im2col, E, rows_fold, budget):
    """_epochs_ws for cg < AR: the same search over folds, rows and lanes, with the counts of
    _narrow_tables (ops: lane visits times the ranks a count reads)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    cg = im2col[8]
    if E < 1 or cg < 1:
        return False, 0, 0, -1
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    if K % cg != 0 or M < 1:
        return False, 0, 0, -1
    # decided before the build, from estimates in lane visits (~5 ns; measured on ResNet's
    # 7x7 stride-2 conv on 128 / 256 rows): the tables ~7 ns per (class, offset, pixel);
    # an epoch ~60 visits per lane (~13 counts of ~3 ranks), about twice a unit's words
    # over E epochs per unit (a word is new again after each boundary)
    P = _sample_period(folds, im2col)
    ops0 = 3 * _channel_classes(cg, K // cg, AR)[2] * (K // cg) * P // 2
    samples = pb.max() // max(1, H * W * G * goff) + 1
    epochs = 2 * G * cf * (samples * H * W * goff) // E + 1
    if ops0 + epochs * 60 * AR > budget:
        return False, 0, 0, -1
    if P < M:
        f1, i1 = _first_sample(folds, im2col, P)
        ok, RS, cls, rank, nv, vals, shf, base, pre = _narrow_tables(f1, i1)
    else:
        ok, RS, cls, rank, nv, vals, shf, base, pre = _narrow_tables(folds, im2col)
    if not ok:
        return False, 0, 0, -1
    lane = np.zeros((4, AR), dtype=np.int64)
    nsh = 0
    cnt = 0
    row = -1
    ops = ops0
    rate = 0.0
    st = _search_state()
    nunits = G * cf
    for g in range(G):
        fb, tb, jb = -1, _NO_BOUNDARY, 0
        F = 0
        nf = cf * rf
        while F < nf:
            if ops > budget:
                return False, 0, 0, -1
            ru = min(AR, K - F % rf * AR)
            t_end = M + AR + ru - 1
            _narrow_lanes(F, fb, rf, K, AR, cg, RS, ru, cls, nv, vals, lane)
            ops += ru
            t0 = AR
            found = False
            if F == fb:
                t0 = tb + 1
                for j in range(jb + 1, ru):
                    m = tb - AR - j
                    if 0 <= m < M and _narrow_is_new(rank, vals, shf, lane, m, j, AR, cg,
                                                     P, tb, jb):
                        cnt += 1
                        if cnt == E:
                            found = True
                            jb = j
                            break
            if not found:
                need = E - cnt
                n = _narrow_count(pre, base, nv, vals, shf, lane, ru, AR, cg, M, P, t0, t_end,
                                  tb, jb)
                ops += 3 * ru
                if n < need:
                    cnt += n
                    F += 1
                    if F % rf == 0 and (ops - ops0) * nunits // (g * cf + F // rf) + ops0 > budget:
                        return False, 0, 0, -1
                    continue
                _search_start(st, t0, t_end, need, n, rate)
                a, b = _search_next(st)
                while b >= 0:
                    _search_feed(st, _narrow_count(pre, base, nv, vals, shf, lane, ru, AR, cg, M,
                                                   P, a, b, tb, jb))
                    ops += 3 * ru
                    a, b = _search_next(st)
                _, t, got, rate = _search_result(st)
                cnt += got
                for j in range(ru):
                    m = t - AR - j
                    if 0 <= m < M and _narrow_is_new(rank, vals, shf, lane, m, j, AR, cg,
                                                     P, tb, jb):
                        cnt += 1
                        if cnt == E:
                            jb = j
                            break
                tb = t
            nsh += 1
            cnt = 0
            fb = F
            row = ((g * cf + F // rf) * rf + F % rf) * rows_fold + tb
    return True, nsh, cnt, row
