"""The ofmap write buffer (SCALE-Sim's write_buffer): lines, drains and the stall of a row
that writes into a full buffer; shared by the walk, the SRAM traces and the event-to-event
walk of the CALC and USER engines (wbuf_events.py)."""

from __future__ import annotations

import numpy as np
from numba import njit


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
def _room(part_line, part_val, n):
    """The forced partial lines' arrays with room for n entries (regrown by doubling)."""
    if n <= part_line.shape[0]:
        return part_line, part_val
    size = max(n, 2 * part_line.shape[0])
    pl = np.empty(size, dtype=np.int64)
    pv = np.empty(size, dtype=np.int64)
    pl[:part_line.shape[0]] = part_line
    pv[:part_val.shape[0]] = part_val
    return pl, pv


@njit(cache=True, inline="always")
def _partial(part_line, part_val, npart, nlines, line_idx):
    """A drain closes the current partial line (line_idx words of of_bw): it leaves as a line of
    its own, and its fill is remembered, because SCALE-Sim's empty_drain_buf subtracts the empty
    slots only of the last line of a drain chunk (docs/memory.md). Returns (lines, partial
    lines); the arrays must have room; the caller sets line_idx = 0."""
    if line_idx != 0:
        part_line[npart] = nlines
        part_val[npart] = line_idx
        return nlines + 1, npart + 1
    return nlines, npart


@njit(cache=True)
def _close_line(line_idx, nlines, npart, part_line, part_val):
    """_partial, regrowing the arrays as needed."""
    part_line, part_val = _room(part_line, part_val, npart + 1)
    nlines, npart = _partial(part_line, part_val, npart, nlines, line_idx)
    return nlines, npart, part_line, part_val


@njit(cache=True, inline="always")
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
def _write_row_in(st, part_line, part_val, v, cur):
    """A row's ``v`` ofmap words into the write buffer (SCALE-Sim's write_buffer.service_writes),
    requested at cycle ``cur``, in batches between events: a write that passes half full starts
    a drain of Ld lines; a write that finds the buffer full during a drain waits for its end (a
    line boundary has no side effect but its count). ``st``: the buffer's state record (below,
    updated), the partial-line arrays must have room for v more. Returns the row's service
    cycle. Arrays are only indexed here, never regrown: a loop that regrows an array pays its
    reference count at every iteration."""
    free, drain_end, line_idx, nlines = st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES]
    Aw, of_bw, Ld = st[W_HALF], st[W_LINE], st[W_LD]
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
        nlines, npart = _partial(part_line, part_val, st[W_NPART], nlines, line_idx)
        st[W_NPART] = npart
        line_idx = 0
        e, nd, data, st[W_PPOS], st[W_ACC], drained, st[W_DSTART], st[W_DSTOP] = _drain_chunk(
            cur, st[W_DSL], Ld, nlines, of_bw, part_line, part_val, npart, st[W_PPOS],
            st[W_ACC], st[W_DRAINED] != 0, st[W_DSTART])
        st[W_DRAINED] = drained
        free += data
        st[W_DSL] = e
        drain_end = cur + nd - 1
    st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES] = free, drain_end, line_idx, nlines
    return cur


@njit(cache=True)
def _write_row(v, cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl,
               ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart, of_dstop):
    """_write_row_in on flat arguments (the SRAM traces, engine/sram_trace.py). Returns the
    row's service cycle and the buffer state after it, with the drained words and the
    first/last drain cycle so far."""
    part_line, part_val = _room(part_line, part_val, npart + v + 1)
    st = np.zeros(W_NFIELDS, dtype=np.int64)
    st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES] = free, drain_end, line_idx, nlines
    st[W_NPART], st[W_DSL], st[W_PPOS], st[W_HALF], st[W_LINE], st[W_LD] = (npart, dsl, ppos, Aw,
                                                                          of_bw, Ld)
    st[W_ACC], st[W_DRAINED], st[W_DSTART], st[W_DSTOP] = of_acc, of_drained, of_dstart, of_dstop
    cur = _write_row_in(st, part_line, part_val, v, cur)
    return (cur, st[W_FREE], st[W_DRAIN_END], st[W_LINE_IDX], st[W_NLINES], st[W_NPART],
            part_line, part_val, st[W_DSL], st[W_PPOS], st[W_ACC], st[W_DRAINED] != 0,
            st[W_DSTART], st[W_DSTOP])


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
    """A row's ``v`` ofmap words requested at ``cycle`` (_write_row_in on the state record; the
    ofmap SRAM's first/last service cycle follow). Returns (service cycle, part_line, part_val)."""
    part_line, part_val = _room(part_line, part_val, st[W_NPART] + v + 1)
    of_out = _write_row_in(st, part_line, part_val, v, cycle)
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
