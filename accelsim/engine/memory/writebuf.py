"""The ofmap write buffer (SCALE-Sim's write_buffer): lines, drains and the stall of a row
that writes into a full buffer; shared by the walk, the CALC engine and the SRAM traces."""

from __future__ import annotations

import numpy as np
from numba import njit


# ---- the ofmap write buffer (SCALE-Sim's write_buffer), shared by the walks and the traces --
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
def _drain_chunk(dsl, Ld, nlines, of_bw, part_line, part_val, npart, ppos):
    """The next drain, of at most Ld lines from line dsl: (end line, lines, words, ppos); every
    line counts of_bw words except a partial line that ends the chunk."""
    e = min(dsl + Ld, nlines)
    nd = e - dsl
    data = nd * of_bw
    while ppos < npart and part_line[ppos] < e - 1:
        ppos += 1
    if ppos < npart and part_line[ppos] == e - 1:
        data -= of_bw - part_val[ppos]
    return e, nd, data, ppos


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
        e, nd, data, ppos = _drain_chunk(dsl, Ld, nlines, of_bw, part_line, part_val, npart,
                                         ppos)
        of_acc += data
        if not of_drained:
            of_dstart = cur
            of_drained = True
        of_dstop = cur + nd - 1
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
        e, nd, data, ppos = _drain_chunk(dsl, Ld, nlines, of_bw, part_line, part_val, npart,
                                         ppos)
        of_acc += data
        if not of_drained:
            of_dstart = cyc
            of_drained = True
        of_dstop = cyc + nd - 1
        dsl = e
        cyc = cyc + nd
    return of_acc, of_dstart, of_dstop
