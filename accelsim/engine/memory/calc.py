"""CALC mode, fast engine (docs/memory.md "Speed"): exact against the plain walk (walk.py)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_rows
from .calc_epochs import _epochs, _fold_first_last, _valid_prefix
# the write buffer event to event (wbuf_events.py; the USER engine runs it too)
from .wbuf_events import _cycle_of, _ofmap_events  # noqa: F401

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


# stream positions are int32 (calc_stream.py: two units' worth): only a unit past 2^29 slots
# (batch ~290 on ResNet-50's conv1) goes to _walk_kernel; below it the engine's cost is linear
# in the unit (issue 14: the old 2^25 limit sent batch >= 19 on ResNet-50's early layers to a
# walk whose cost grows with the column folds)
_MAX_UNIT = 1 << 29


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
