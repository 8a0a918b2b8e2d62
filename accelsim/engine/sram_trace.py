"""SRAM address traces of one GEMM layer: SCALE-Sim v2.0.2's IFMAP/FILTER/OFMAP_SRAM_TRACE.csv.

SCALE-Sim's ``double_buffered_scratchpad.service_memory_requests`` walks its three demand
matrices (one row per cycle, one column per array lane, -1 for an idle slot) and writes, per
operand, ``[service cycle | demand row]`` with ``np.savetxt(fmt='%i', delimiter=',')``. The
service cycle of row i is what that operand's buffer returns for the row, requested at cycle
``i + stalls so far``:

- ifmap / filter, CALC mode (``ReadBufferEstimateBw.service_reads``): request cycle + 1 (the hit
  latency; CALC reads never stall);
- ifmap / filter, USER mode (``read_buffer.service_reads``): request cycle + 1, or, when an
  address missed the active sets, the cycle the last prefetch it forced arrives;
- ofmap, both modes (``write_buffer.service_writes``): the request cycle plus any wait for a
  drain to free space.

and the stalls grow by ``max(the three waits)`` after every row (the memory engine's model,
docs/memory.md). The matrices are never built here: a numba kernel fills a block of rows from
the operand-address structure (engine/memory/addresses.py's ``_lanes`` / ``_addr``,
engine/operands.py), runs the buffers over it, and another formats the block as the same ASCII
``savetxt`` writes; the block is written and reused, so memory stays bounded by one block
whatever the layer's length.

Extensions (no SCALE-Sim counterpart, accelsim's own addressing): padded window positions are
-1 (the array makes the zeros, nothing is read); sample b's ifmap words and output pixels follow
sample b-1's; group g reads ifmap channels from g*C/g on (address + g*C/g), its filters from
g*N*K on, and writes output channel g*N + n (ofmap address m*(G*N) + g*N + n, NHWC). USER mode
with ``stall_model: overlap`` has no per-row schedule (its stall is one layer-level sum), so
its traces carry the CALC walk's service cycles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from accelsim.hardware.arch import Arch
from accelsim.common.errors import require
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer
# the memory engine's walk helpers, reused as they are (numba caches this module's kernels keyed
# on this file only: after changing a helper of engine/memory/ used here, clear
# accelsim/engine/__pycache__ so the copies compiled into _fill_block are rebuilt)
from accelsim.engine.memory import user_line_words
from accelsim.engine.memory.addresses import DF_CODE, _addr, _lanes, geometry
from accelsim.engine.memory.readbuf import _fetch_sequence, _in_window, _miss, _user_windows, read_buffer
from accelsim.engine.memory.writebuf import _write_row
from accelsim.engine.operands import ifmap_addressing
from accelsim.engine.systolic import cycles_per_fold

TRACE_FILES = ("IFMAP_SRAM_TRACE.csv", "FILTER_SRAM_TRACE.csv", "OFMAP_SRAM_TRACE.csv")
BLOCK_VALUES = 1 << 20          # trace values per block (~8 MB per operand as int64)
_MAX_CHARS = 21                 # '-' + 19 digits + ',' (or '\n') per value

# walk state (one int64 vector, carried from block to block)
_ROW, _STALL = 0, 1
_FREE, _LINE, _NLINES, _DSL, _NPART, _PPOS, _DRAIN_END = 2, 3, 4, 5, 6, 7, 8
_WS_IF, _WE_IF, _LPF_IF, _WS_F, _WE_F, _LPF_F = 9, 10, 11, 12, 13, 14
_NSTATE = 15


def lane_widths(df: int, AR: int, AC: int) -> tuple[int, int, int]:
    """Columns of the ifmap, filter and ofmap demand matrices (the asserts at the end of
    SCALE-Sim's ``create_demand_matrices``: is swaps the ifmap and filter widths)."""
    if df == 2:
        return AC, AR, AC
    return AR, AC, AC


@njit(cache=True, inline="always")
def _ofmap_addr(df, g, c, r, tau, j, AR, AC, M, N, K, G):
    """Output written by lane j in row tau of fold (g, c, r), -1 if none: SCALE-Sim's
    ``create_ofmap_demand_mat`` (os: the fold's ofmap block padded to AR x AC and flipped along
    the rows, after T-1 idle rows; ws/is: the whole column slice (is: transposed) after
    2*AR-1 idle rows; then ``skew_matrix``, lane j delayed j rows). Address = N*m + n
    (``calc_ofmap_elem_addr``), with groups m*(G*N) + g*N + n."""
    if df == 0:
        cu = min(AC, N - c * AC)
        ru = min(AR, M - r * AR)
        i = tau - (K - 1) - j          # row of the flipped block
        if i < 0 or i >= AR or j >= cu:
            return -1
        ml = AR - 1 - i
        if ml >= ru:
            return -1
        m, n = r * AR + ml, c * AC + j
    elif df == 1:
        cu = min(AC, N - c * AC)
        m = tau - (2 * AR - 1) - j
        if m < 0 or m >= M or j >= cu:
            return -1
        n = c * AC + j
    else:
        cu = min(AC, M - c * AC)
        n = tau - (2 * AR - 1) - j
        if n < 0 or n >= N or j >= cu:
            return -1
        m = c * AC + j
    return m * (G * N) + g * N + n


@njit(cache=True)
def _read_row(ifmap, out, i, off, cycle, user, ptr, sets, ws, we, npf, nact, nl, lpf, lines,
              folds, im2col, g, c, r, tau):
    """Row i of an operand's trace (its lanes' addresses + ``off``, -1 idle) and the cycle its
    read buffer serves it: CALC (``ReadBufferEstimateBw.service_reads``) the request + 1; USER
    (``read_buffer.service_reads``) an address outside the active sets prefetches until it is
    active, and the row is served when the last forced prefetch arrives. Returns (service
    cycle, window start, window end, last prefetch cycle)."""
    served = cycle + 1
    for j in range(out.shape[1] - 1):
        out[i, 1 + j] = -1
    lo, hi = _lanes(folds, ifmap, tau)
    for j in range(lo, hi + 1):
        a = _addr(folds, im2col, ifmap, g, c, r, tau, j)
        if a < 0:
            continue
        out[i, 1 + j] = a + off
        if user and not _in_window(a, ptr, sets, ws, we):
            ws, we, _, lpf = _miss(a, ptr, sets, ws, we, npf, nact, nl, 0, 0, lpf, lines)
            served = lpf
    out[i, 0] = served
    return served, ws, we, lpf


@njit(cache=True)
def _fill_block(folds, im2col, rows_fold, if_off, f_off, of_off, of_words, of_bw, user,
                if_ptr, if_sets, if_nl, if_nact, if_npf, if_lines,
                f_ptr, f_sets, f_nl, f_nact, f_npf, f_lines,
                st, part_line, part_val, out_if, out_f, out_of):
    """Rows st[_ROW] .. of the three trace matrices into out_* (as many as fit), running the
    buffers over them; returns (rows filled, part_line, part_val)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    total = G * cf * rf * rows_fold
    row0 = st[_ROW]
    n = min(out_if.shape[0], total - row0)
    stall = st[_STALL]
    # write buffer (write_buffer.py): S words, drain when fewer than Aw are free, Ld lines
    # of of_bw words per drain
    S = of_words
    Aw = (S + 1) // 2
    Ld = -(-(S - Aw) // of_bw)
    free, line_idx, nlines, dsl = st[_FREE], st[_LINE], st[_NLINES], st[_DSL]
    npart, ppos, drain_end = st[_NPART], st[_PPOS], st[_DRAIN_END]
    ws_if, we_if, lpf_if = st[_WS_IF], st[_WE_IF], st[_LPF_IF]
    ws_f, we_f, lpf_f = st[_WS_F], st[_WE_F], st[_LPF_F]
    wof = out_of.shape[1] - 1
    for i in range(n):
        R = row0 + i
        f = R // rows_fold
        tau = R - f * rows_fold
        g = f // (cf * rf)
        c = (f // rf) % cf
        r = f % rf
        cycle = R + stall
        if user and R == 0:
            # read_buffer.prefetch_active_buffer on the first request: the active sets arrive
            # by cycle -1 (its last line is requested at start - 2, one cycle of latency)
            lpf_if = cycle - 1
            lpf_f = cycle - 1
        # ---- ifmap, filter ----
        if_out, ws_if, we_if, lpf_if = _read_row(
            True, out_if, i, if_off, cycle, user, if_ptr, if_sets, ws_if, we_if, if_npf, if_nact,
            if_nl, lpf_if, if_lines, folds, im2col, g, c, r, tau)
        f_out, ws_f, we_f, lpf_f = _read_row(
            False, out_f, i, f_off, cycle, user, f_ptr, f_sets, ws_f, we_f, f_npf, f_nact, f_nl,
            lpf_f, f_lines, folds, im2col, g, c, r, tau)
        # ---- ofmap: addresses, then the row's words through the write buffer ----
        v = 0
        for j in range(wof):
            a = _ofmap_addr(df, g, c, r, tau, j, AR, AC, M, N, K, G)
            if a >= 0:
                out_of[i, 1 + j] = a + of_off
                v += 1
            else:
                out_of[i, 1 + j] = -1
        # write_buffer.service_writes (memory/writebuf.py's _write_row; the drained words are
        # counted in layers.csv, not here)
        (cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl, ppos,
         _, _, _, _) = _write_row(v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                                  part_val, dsl, ppos, Aw, of_bw, Ld, 0, False, 0, 0)
        out_of[i, 0] = cur
        # service_memory_requests: stall += max of the three waits (USER read waits may be < 0)
        stall += max(if_out - cycle - 1, f_out - cycle - 1, cur - cycle - 1)
    st[_ROW] = row0 + n
    st[_STALL] = stall
    st[_FREE], st[_LINE], st[_NLINES], st[_DSL] = free, line_idx, nlines, dsl
    st[_NPART], st[_PPOS], st[_DRAIN_END] = npart, ppos, drain_end
    st[_WS_IF], st[_WE_IF], st[_LPF_IF] = ws_if, we_if, lpf_if
    st[_WS_F], st[_WE_F], st[_LPF_F] = ws_f, we_f, lpf_f
    return n, part_line, part_val


@njit(cache=True)
def _csv_bytes(block, buf):
    """``block`` as np.savetxt(fmt='%i', delimiter=',') writes it, into ``buf``; returns the
    byte count."""
    p = 0
    digits = np.empty(20, dtype=np.uint8)
    for i in range(block.shape[0]):
        for j in range(block.shape[1]):
            if j > 0:
                buf[p] = 44                   # ','
                p += 1
            v = block[i, j]
            if v < 0:
                buf[p] = 45                   # '-'
                p += 1
                v = -v
            nd = 0
            while True:
                digits[nd] = 48 + v % 10
                nd += 1
                v //= 10
                if v == 0:
                    break
            for d in range(nd - 1, -1, -1):
                buf[p] = digits[d]
                p += 1
        buf[p] = 10                           # '\n'
        p += 1
    return p


def write_sram_traces(layer: Layer, arch: Arch, folder: str | Path, batch: int = 1) -> int:
    """Write ``folder``/{IFMAP,FILTER,OFMAP}_SRAM_TRACE.csv for a conv/linear layer on
    ``arch``, byte-identical to SCALE-Sim 2.0.2's for its topologies (batch 1, no padding, no
    groups) in CALC and USER mode. Returns the number of rows (cycles) of each file."""
    require(layer.is_gemm, "only conv/linear layers run on the MAC array and have SRAM traces",
            source=f"layer '{layer.name}'", field="op", value=layer.op)
    mp = map_layer(layer, arch, batch)
    ad = ifmap_addressing(layer, batch)
    folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
    df, AR, AC, M, N, K, G = folds[:7]
    user = arch.bandwidth_mode == "user" and arch.stall_model == "scalesim"
    empty = np.zeros(1, dtype=np.int64)
    rd = [(empty, empty, 1, 1, 0, 0), (empty, empty, 1, 1, 0, 0)]
    if user:
        of_bw = user_line_words(arch)
        for op, (which, space) in enumerate((("ifmap", ad.space), ("filter", G * N * K))):
            # read_buffer.prepare_hashed_buffer's sets and windows over the prefetch matrix;
            # read_buffer.new_prefetch: ceil(prefetch half / bw) lines per rotation
            buf = read_buffer(_fetch_sequence(folds, im2col, op == 0), arch.sram_words(which),
                              space, of_bw)
            _, pf_lines, nact, npf = _user_windows(buf, of_bw)
            rd[op] = (buf.ptr, buf.set_ids, buf.n_sets, nact, npf, pf_lines)
    else:
        of_bw = AC       # CALC: the ofmap drains one array row per cycle (single_layer_sim)
    wif, wf, wof = lane_widths(df, AR, AC)
    nrows = max(1, BLOCK_VALUES // (1 + max(wif, wf, wof)))
    outs = [np.empty((nrows, 1 + w), dtype=np.int64) for w in (wif, wf, wof)]
    buf = np.empty(nrows * (1 + max(wif, wf, wof)) * _MAX_CHARS, dtype=np.uint8)
    st = np.zeros(_NSTATE, dtype=np.int64)
    st[_FREE] = arch.sram_words("ofmap")
    st[_WE_IF], st[_WE_F] = rd[0][3], rd[1][3]           # active window = sets [0, nact)
    part_line = np.empty(16, dtype=np.int64)
    part_val = np.empty(16, dtype=np.int64)
    rows_fold = cycles_per_fold(mp)         # SCALE-Sim's demand rows per fold
    total = mp.folds * rows_fold
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / name, "wb") for name in TRACE_FILES]
    try:
        while st[_ROW] < total:
            n, part_line, part_val = _fill_block(
                folds, im2col, rows_fold, arch.ifmap_offset, arch.filter_offset, arch.ofmap_offset,
                arch.sram_words("ofmap"), of_bw, user, *rd[0], *rd[1], st, part_line, part_val,
                *outs)
            for fh, out in zip(handles, outs):
                fh.write(buf[:_csv_bytes(out[:n], buf)].tobytes())
    finally:
        for fh in handles:
            fh.close()
    return total


__all__ = ["TRACE_FILES", "write_sram_traces", "lane_widths"]
