"""The ofmap write buffer (SCALE-Sim's write_buffer): lines, drains and the stall of a row
that writes into a full buffer; shared by the walk, the CALC engine and the SRAM traces."""

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


@njit(cache=True, inline="always")
def _finish(res, of_out, stall, first_of, last_of, line_idx, nlines, npart, part_line, part_val,
            dsl, Ld, of_bw, ppos, of_acc, of_drained, of_dstart, of_dstop):
    """The walk's write-buffer results into ``res``: total cycles (the last row's service),
    stalls, the ofmap SRAM first/last cycle and the final drain's DRAM words and cycles."""
    of_acc, of_dstart, of_dstop = _drain_rest(of_out, line_idx, nlines, npart, part_line,
                                              part_val, dsl, Ld, of_bw, ppos, of_acc,
                                              of_drained, of_dstart, of_dstop)
    res[0], res[1], res[6], res[7] = of_out, stall, first_of, last_of
    res[8], res[9], res[10] = of_acc, of_dstart, of_dstop
