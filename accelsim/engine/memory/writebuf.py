"""The ofmap write buffer (SCALE-Sim's write_buffer): lines, drains and the stall of a row
that writes into a full buffer; shared by the walk, the CALC engine and the SRAM traces."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_rows, _ofmap_row_words


@njit(cache=True, inline="always")
def _wbuf_new(of_words, of_bw):
    """An empty write buffer of ``of_words`` words drained in lines of ``of_bw``: (the half
    that starts a drain, lines per drain, free words, and the forced partial lines' index and
    valid words, grown as needed)."""
    half = (of_words + 1) // 2
    return (half, -(-(of_words - half) // of_bw), of_words, np.empty(16, dtype=np.int64),
            np.empty(16, dtype=np.int64))


@njit(cache=True, inline="always")
def _seen(first, last, hit, cycle):
    """(first, last) service cycle of a buffer after a row that did or did not (hit) use it."""
    if hit:
        return (cycle if first < 0 else first), cycle
    return first, last


@njit(cache=True)
def _close_line(line_idx, nlines, npart, part_line, part_val):
    """A drain closes the current partial line (line_idx words of of_bw): it leaves as a line of
    its own, and its fill is remembered, because SCALE-Sim's empty_drain_buf subtracts the empty
    slots only of the last line of a drain chunk (docs/memory.md). The caller sets line_idx = 0."""
    if line_idx != 0:
        if npart == part_line.shape[0]:
            part_line = np.concatenate((part_line, np.empty_like(part_line)))
            part_val = np.concatenate((part_val, np.empty_like(part_val)))
        part_line[npart] = nlines
        part_val[npart] = line_idx
        npart += 1
        nlines += 1
    return nlines, npart, part_line, part_val


@njit(cache=True)
def _drain_chunk(cyc, dsl, Ld, nlines, of_bw, part_line, part_val, npart, ppos, of_acc,
                 of_drained, of_dstart):
    """The next drain, of at most Ld lines from line dsl, starting at cycle ``cyc``: every line
    counts of_bw words except a partial line that ends the chunk. Returns (end line, lines,
    words, ppos) and the drained words, whether any drain ran, the first drain's start cycle
    and this drain's last cycle."""
    e = min(dsl + Ld, nlines)
    nd = e - dsl
    data = nd * of_bw
    while ppos < npart and part_line[ppos] < e - 1:
        ppos += 1
    if ppos < npart and part_line[ppos] == e - 1:
        data -= of_bw - part_val[ppos]
    if not of_drained:
        of_dstart = cyc
    return e, nd, data, ppos, of_acc + data, True, of_dstart, cyc + nd - 1


@njit(cache=True, inline="always")
def _write_row(v, cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl,
               ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart, of_dstop):
    """A row's ``v`` ofmap words into the write buffer (SCALE-Sim's write_buffer.service_writes),
    requested at cycle ``cur``, in batches between events: a write that passes half full starts
    a drain of Ld lines; a write that finds the buffer full during a drain waits for its end (a
    line boundary has no side effect but its count). Returns the row's service cycle and the
    buffer state after it, with the drained words and the first/last drain cycle so far."""
    while v > 0:
        if cur < drain_end:
            n1 = max(1, free)          # the write that leaves no free word
        else:
            n1 = max(1, free - Aw + 1)  # the write that passes half full
        event = v >= n1
        if not event:
            n1 = v
        free -= n1
        line_idx += n1
        nlines += line_idx // of_bw
        line_idx = line_idx % of_bw
        v -= n1
        if not event:
            break
        if cur < drain_end:
            cur = drain_end            # stall until the drain ends
            continue
        nlines, npart, part_line, part_val = _close_line(line_idx, nlines, npart, part_line,
                                                         part_val)
        line_idx = 0
        e, nd, data, ppos, of_acc, of_drained, of_dstart, of_dstop = _drain_chunk(
            cur, dsl, Ld, nlines, of_bw, part_line, part_val, npart, ppos, of_acc, of_drained,
            of_dstart)
        free += data
        dsl = e
        drain_end = cur + nd - 1
    return (cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl, ppos,
            of_acc, of_drained, of_dstart, of_dstop)


@njit(cache=True)
def _drain_rest(cyc, line_idx, nlines, npart, part_line, part_val, dsl, Ld, of_bw, ppos,
                of_acc, of_drained, of_dstart, of_dstop):
    """After the last row, everything left drains back to back from cycle ``cyc``: the ofmap
    DRAM words and the drain's first/last cycle (of_acc, of_dstart, of_dstop)."""
    nlines, npart, part_line, part_val = _close_line(line_idx, nlines, npart, part_line,
                                                     part_val)
    while dsl < nlines:
        e, nd, data, ppos, of_acc, of_drained, of_dstart, of_dstop = _drain_chunk(
            cyc, dsl, Ld, nlines, of_bw, part_line, part_val, npart, ppos, of_acc, of_drained,
            of_dstart)
        dsl = e
        cyc = cyc + nd
    return of_acc, of_dstart, of_dstop


# ---- the write buffer as one state record ----------------------------------------------------
# The walks keep the buffer's scalars in one int64 array (indices below) and the forced partial
# lines in two growable arrays, so that a row is one call (_ofmap_row); _write_row keeps its
# flat arguments for the SRAM traces (engine/sram_trace.py).
(W_FREE, W_DRAIN_END, W_LINE_IDX, W_NLINES, W_NPART, W_DSL, W_PPOS, W_ACC, W_DRAINED, W_DSTART,
 W_DSTOP, W_HALF, W_LD, W_LINE, W_FIRST, W_LAST, W_NFIELDS) = range(17)


@njit(cache=True)
def _wbuf_state(of_words, of_bw):
    """An empty write buffer as (state, part_line, part_val); see _wbuf_new."""
    Aw, Ld, free, part_line, part_val = _wbuf_new(of_words, of_bw)
    st = np.zeros(W_NFIELDS, dtype=np.int64)
    st[W_FREE], st[W_HALF], st[W_LD], st[W_LINE] = free, Aw, Ld, of_bw
    st[W_FIRST] = st[W_LAST] = -1
    return st, part_line, part_val


@njit(cache=True, inline="always")
def _ofmap_row(st, part_line, part_val, v, cycle):
    """A row's ``v`` ofmap words requested at ``cycle`` (_write_row on the state record; the
    ofmap SRAM's first/last service cycle follow). Returns (service cycle, part_line, part_val)."""
    (of_out, st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES], st[W_NPART], part_line,
     part_val, st[W_DSL], st[W_PPOS], st[W_ACC], drained, st[W_DSTART], st[W_DSTOP]) = _write_row(
        v, cycle, st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES], st[W_NPART],
        part_line, part_val, st[W_DSL], st[W_PPOS], st[W_HALF], st[W_LINE], st[W_LD],
        st[W_ACC], st[W_DRAINED] != 0, st[W_DSTART], st[W_DSTOP])
    st[W_DRAINED] = drained
    st[W_FIRST], st[W_LAST] = _seen(st[W_FIRST], st[W_LAST], v > 0, of_out)
    return of_out, part_line, part_val


@njit(cache=True)
def _finish(res, st, part_line, part_val, of_out, stall):
    """The walk's write-buffer results into ``res``: total cycles (the last row's service),
    stalls, the ofmap SRAM first/last cycle and the final drain's DRAM words and cycles."""
    of_acc, of_dstart, of_dstop = _drain_rest(
        of_out, st[W_LINE_IDX], st[W_NLINES], st[W_NPART], part_line, part_val, st[W_DSL],
        st[W_LD], st[W_LINE], st[W_PPOS], st[W_ACC], st[W_DRAINED] != 0, st[W_DSTART],
        st[W_DSTOP])
    res[0], res[1], res[6], res[7] = of_out, stall, st[W_FIRST], st[W_LAST]
    res[8], res[9], res[10] = of_acc, of_dstart, of_dstop


# ---- the write buffer event to event (CALC engine and USER engine) ---------------------------
NO_MISS = -(1 << 62)             # a forced row where this read buffer did not miss


@njit(cache=True, inline="always")
def _history():
    """Two empty growable histories (rows, values) and their length, for _push."""
    return np.empty(16, dtype=np.int64), np.empty(16, dtype=np.int64), 0


@njit(cache=True)
def _push(rows, vals, n, row, val):
    """Append (row, val) as entry n of two growable histories; returns them (maybe regrown)."""
    if n == rows.shape[0]:
        rows = np.concatenate((rows, np.empty_like(rows)))
        vals = np.concatenate((vals, np.empty_like(vals)))
    rows[n] = row
    vals[n] = val
    return rows, vals


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
    """CALC: the write buffer alone decides the stalls (_write_events with no read wait)."""
    none = np.zeros(0, dtype=np.int64)
    return _write_events(folds, of_words, of_bw, res, none, none, none)


@njit(cache=True)
def _write_events(folds, of_words, of_bw, res, fr_row, fr_if, fr_f):
    """The ofmap write buffer from event to event, its results into ``res`` (as _walk_kernel's),
    and the stall history, (rows, cumulative stalls, count), for _cycle_of. Events: a write that
    passes half full or fills the buffer during a drain, and the forced rows ``fr_row`` (sorted
    stall-free rows where a USER read buffer missed; fr_if / fr_f: the cycle its last prefetch
    arrives, or NO_MISS). Between events rows only subtract from the free count: per fold shape
    a prefix sum of the words written per row, the next event row by binary search."""
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
    wb, part_line, part_val = _wbuf_state(of_words, of_bw)
    srow, scum, nst = _history()
    stall = 0
    of_out = 0
    row0 = 0
    nfr = fr_row.shape[0]
    fi = 0
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
                    nxt = fr_row[fi] - row0 if fi < nfr else rows_fold
                    if nxt == t:
                        te = t          # a forced row: run it exactly
                    else:
                        if cycle < wb[W_DRAIN_END]:
                            lim = min(rows_fold, t + (wb[W_DRAIN_END] - cycle))
                            thr = 0
                        else:
                            lim = rows_fold
                            thr = wb[W_HALF] - 1
                        lim = min(lim, nxt)
                        tgt = Cp[t] + max(1, wb[W_FREE] - thr)
                        if Cp[lim] < tgt:
                            te = lim
                        else:
                            lo, hi = t + 1, lim   # smallest i in [t+1, lim] with Cp[i] >= tgt
                            while lo < hi:
                                mid = (lo + hi) // 2
                                if Cp[mid] >= tgt:
                                    hi = mid
                                else:
                                    lo = mid + 1
                            te = lo - 1
                        if te > t:
                            w = Cp[te] - Cp[t]
                            wb[W_FREE] -= w
                            li = wb[W_LINE_IDX] + w
                            wb[W_NLINES] += li // of_bw
                            wb[W_LINE_IDX] = li % of_bw
                            if fz >= 0:
                                a0 = max(t, fz)
                                b0 = min(te - 1, lz)
                                if a0 <= b0:
                                    if wb[W_FIRST] < 0:
                                        wb[W_FIRST] = row0 + a0 + stall
                                    wb[W_LAST] = row0 + b0 + stall
                            of_out = row0 + te - 1 + stall
                        if te >= lim:
                            t = lim
                            continue
                    # the event row, exactly as _walk_kernel
                    cycle = row0 + te + stall
                    wait = 0           # a read buffer that did not miss waits 0
                    if fi < nfr and fr_row[fi] == row0 + te:
                        a_if, a_f = fr_if[fi], fr_f[fi]
                        if a_if != NO_MISS and a_f != NO_MISS:
                            wait = max(a_if, a_f) - cycle - 1
                        elif a_if != NO_MISS:
                            wait = max(0, a_if - cycle - 1)
                        elif a_f != NO_MISS:
                            wait = max(0, a_f - cycle - 1)
                        fi += 1
                    of_out, part_line, part_val = _ofmap_row(wb, part_line, part_val,
                                                             Cp[te + 1] - Cp[te], cycle)
                    st = max(wait, of_out - cycle - 1)
                    if st != 0:
                        stall += st
                        srow, scum = _push(srow, scum, nst, row0 + te, stall)
                        nst += 1
                    t = te + 1
                row0 += rows_fold
    _finish(res, wb, part_line, part_val, of_out, stall)
    return srow, scum, nst
