"""CALC mode, fast engine (docs/memory.md "Speed"): exact against the plain walk (walk.py)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_rows, _ofmap_row_words
from .calc_epochs import _epochs, _fold_first_last, _valid_prefix
from .writebuf import _finish, _seen, _wbuf_new, _write_row

# ---- CALC mode, fast engine ----------------------------------------------------------------------
# The CALC walk (walk.py) splits into three independent parts, because in CALC mode the read buffers
# never stall (their wait is always 0): (1) the ofmap write buffer alone decides the stalls;
# (2) and (3) each read buffer's epochs depend only on its own address stream. The engine here
# runs (1) from drain event to drain event (rows between events only subtract from the free
# count, in closed form from a per-fold prefix sum of the words written per row), and (2)/(3)
# over the stream as "units" (a unit = the operand slices of a run of folds that every column /
# row fold re-reads): a stream position is new iff the previous occurrence of its address lies
# before the current epoch's start, so a unit is described once by the position of each
# element's previous occurrence (cyclically for the repeats) and scanned in blocks (a block
# whose min / max previous occurrence is after / before the epoch start is all hits / all new).
# Units of distinct addresses (filters; ifmaps of non-overlapping windows) are O(1) per unit.
# Stream positions are mapped back to rows only where a cycle is reported (first / last request,
# last epoch boundary), and rows to cycles through the stall history of (1).


_MAX_UNIT = 1 << 25              # larger non-distinct ifmap units fall back to _walk_kernel


@njit(cache=True)
def _ofmap_profile(df, cu, ru, rows_fold, AR, K, T):
    """Prefix sums of the ofmap words written per row of a fold, and its first/last such row."""
    C = np.zeros(rows_fold + 1, dtype=np.int64)
    fz, lz = -1, -1
    for tau in range(rows_fold):
        v = _ofmap_row_words(df, tau, cu, ru, AR, K, T)
        C[tau + 1] = C[tau] + v
        if v > 0:
            if fz < 0:
                fz = tau
            lz = tau
    return C, fz, lz


@njit(cache=True)
def _cycle_of(row, srow, scum, nst):
    """Cycle of a (stall-free) row: the row plus the stalls of the rows before it."""
    lo, hi = 0, nst
    while lo < hi:
        mid = (lo + hi) // 2
        if srow[mid] < row:
            lo = mid + 1
        else:
            hi = mid
    return row + (scum[lo - 1] if lo > 0 else 0)


@njit(cache=True)
def _ofmap_events(folds, of_words, of_bw, res):
    """(1) The write buffer alone, from drain event to drain event: its results into ``res``
    (as _walk_kernel's), and the stall history, (rows, cumulative stalls, count), for
    _cycle_of."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    T, rows_fold = _fold_rows(folds)
    # the ofmap words per row of the four kinds of fold: full or last column / row fold
    cu_last = (N if df != 2 else M) - (cf - 1) * AC
    ru_last = M - (rf - 1) * AR if df == 0 else AR
    profs = []
    fzs = np.empty(4, dtype=np.int64)
    lzs = np.empty(4, dtype=np.int64)
    for s in range(4):
        cu = AC if s < 2 else cu_last
        ru = AR if s % 2 == 0 else ru_last
        Cs, fz, lz = _ofmap_profile(df, cu, ru, rows_fold, AR, K, T)
        profs.append(Cs)
        fzs[s] = fz
        lzs[s] = lz
    Aw, Ld, free, part_line, part_val = _wbuf_new(of_words, of_bw)
    line_idx = nlines = dsl = npart = ppos = drain_end = of_acc = of_dstart = of_dstop = 0
    of_drained = False
    srow = np.empty(16, dtype=np.int64)
    scum = np.empty(16, dtype=np.int64)
    nst = 0
    stall = 0
    first_of, last_of = -1, -1
    of_out = 0
    row0 = 0
    for g in range(G):
        for c in range(cf):
            for r in range(rf):
                s = (0 if c < cf - 1 else 2) + (0 if r < rf - 1 else 1)
                Cp = profs[s]
                fz = fzs[s]
                lz = lzs[s]
                t = 0
                while t < rows_fold:
                    cycle = row0 + t + stall
                    if cycle < drain_end:
                        lim = min(rows_fold, t + (drain_end - cycle))
                        thr = 0
                    else:
                        lim = rows_fold
                        thr = Aw - 1
                    need = max(1, free - thr)
                    tgt = Cp[t] + need
                    if Cp[lim] < tgt:
                        te = lim
                    else:
                        lo, hi = t + 1, lim     # smallest i in [t+1, lim] with Cp[i] >= tgt
                        while lo < hi:
                            mid = (lo + hi) // 2
                            if Cp[mid] >= tgt:
                                hi = mid
                            else:
                                lo = mid + 1
                        te = lo - 1
                    if te > t:
                        w = Cp[te] - Cp[t]
                        free -= w
                        line_idx += w
                        nlines += line_idx // of_bw
                        line_idx = line_idx % of_bw
                        if fz >= 0:
                            a0 = max(t, fz)
                            b0 = min(te - 1, lz)
                            if a0 <= b0:
                                if first_of < 0:
                                    first_of = row0 + a0 + stall
                                last_of = row0 + b0 + stall
                        of_out = row0 + te - 1 + stall
                    if te >= lim:
                        t = lim
                        continue
                    # the event row, exactly as _walk_kernel
                    cycle = row0 + te + stall
                    v = Cp[te + 1] - Cp[te]
                    (of_out, free, drain_end, line_idx, nlines, npart, part_line, part_val,
                     dsl, ppos, of_acc, of_drained, of_dstart, of_dstop) = _write_row(
                        v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                        part_val, dsl, ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart,
                        of_dstop)
                    first_of, last_of = _seen(first_of, last_of, v > 0, of_out)
                    st = max(0, of_out - cycle - 1)
                    if st > 0:
                        stall += st
                        if nst == srow.shape[0]:
                            srow = np.concatenate((srow, np.empty_like(srow)))
                            scum = np.concatenate((scum, np.empty_like(scum)))
                        srow[nst] = row0 + te
                        scum[nst] = stall
                        nst += 1
                    t = te + 1
                row0 += rows_fold
    _finish(res, of_out, stall, first_of, last_of, line_idx, nlines, npart, part_line, part_val,
            dsl, Ld, of_bw, ppos, of_acc, of_drained, of_dstart, of_dstop)
    return srow, scum, nst


@njit(cache=True)
def _request_rows(folds, im2col, ifmap, nowalk, first_f, last_f, rows_fold):
    """(first, last) stall-free row an operand requests a real word in, -1 if none: from
    folds first_f .. last_f, or with ``nowalk`` from those two folds only (its span)."""
    fa = -1
    la = -1
    if nowalk:
        fl = _fold_first_last(folds, im2col, ifmap, first_f, rows_fold)
        if fl[0] >= 0:
            fa = first_f * rows_fold + fl[0]
        fl2 = _fold_first_last(folds, im2col, ifmap, last_f, rows_fold)
        if fl2[0] >= 0:
            if fa < 0:
                fa = last_f * rows_fold + fl2[0]
            la = last_f * rows_fold + fl2[1]
        elif fa >= 0:
            la = first_f * rows_fold + fl[1]
        return fa, la
    for f in range(first_f, last_f + 1):
        fl = _fold_first_last(folds, im2col, ifmap, f, rows_fold)
        if fl[0] >= 0:
            fa = f * rows_fold + fl[0]
            break
    for f in range(last_f, first_f - 1, -1):
        fl = _fold_first_last(folds, im2col, ifmap, f, rows_fold)
        if fl[0] >= 0:
            la = f * rows_fold + fl[1]
            break
    return fa, la


@njit(cache=True)
def _calc_engine(folds, im2col, if_space, E_if, E_f, of_words, of_bw, nowalk_if, nowalk_f,
                 if_span, dist_if):
    """CALC mode: the same 32 results as _walk_kernel (its CALC fields), see above. E_if /
    E_f: epoch words of the read buffers."""
    res = np.zeros(32, dtype=np.int64)
    T, rows_fold = _fold_rows(folds)
    nfolds = folds.groups * folds.col_folds * folds.row_folds
    srow, scum, nst = _ofmap_events(folds, of_words, of_bw, res)
    # ---------------- (2), (3) read buffers ----------------
    pm = np.zeros(1, dtype=np.int64)
    pk = pm
    if not nowalk_if:      # ifmap fold counts: only the epoch walk and its boundary need them
        pm, pk = _valid_prefix(folds, im2col)
    for op in range(2):
        ifmap = op == 0
        nowalk = nowalk_if if ifmap else nowalk_f
        # first / last request rows (see the flagged rows of _walk_kernel)
        first_f, last_f = (if_span[0], if_span[1]) if (ifmap and nowalk) else (0, nfolds - 1)
        fa, la = _request_rows(folds, im2col, ifmap, nowalk, first_f, last_f, rows_fold)
        first_req = _cycle_of(fa, srow, scum, nst) + 1 if fa >= 0 else -1
        last_req = _cycle_of(la, srow, scum, nst) + 1 if la >= 0 else -1
        nsh, cnt, lsh = 0, 0, 0
        if not nowalk:
            nsh, cnt, brow = _epochs(folds, im2col, ifmap, (not ifmap) or dist_if,
                                     E_if if ifmap else E_f, rows_fold, pm, pk, if_space)
            if brow >= 0:
                lsh = _cycle_of(brow, srow, scum, nst)
        if ifmap:
            res[2], res[3] = first_req, last_req
            res[11], res[12], res[13], res[14] = nsh, lsh, cnt, first_req - 1
        else:
            res[4], res[5] = first_req, last_req
            res[15], res[16], res[17], res[18] = nsh, lsh, cnt, first_req - 1
    return res
