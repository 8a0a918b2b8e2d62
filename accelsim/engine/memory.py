"""SRAM/DRAM accesses, DRAM bandwidth and stalls of one GEMM layer, SCALE-Sim v2.0.2-exact.

SCALE-Sim walks its demand matrices one row (= one cycle) at a time in Python and pushes every
address through three double-buffered scratchpads (NOTES section 4). This module re-derives
that model and runs it fold by fold over the operand-address structure (engine/operands.py),
in one numba kernel, without materializing any matrix:

CALC mode (stall-free; SCALE-Sim's ``ReadBufferEstimateBw``), ifmap and filter buffers:
  the buffer records unique addresses in first-use order in sets of P = floor(words/100); the
  active half holds 50 sets, E = 50*P words. Whenever E new words have been recorded, the window
  slides past them and *forgets every address seen so far* (its sets are dropped). So the DRAM
  reads are the distinct words of each "epoch" of E new words, summed over epochs: a word that
  comes back after an epoch boundary is fetched again (ResNet-18 conv1 on 32x32 os: 326,046
  ifmap reads for 150,528 unique words). Start/stop cycles follow from the first request and the
  last epoch boundary (the initial fill runs before cycle 0 at 10 words/cycle, so starts are
  negative). CALC runs in _calc_engine (docs/memory.md "Speed"), exact against the plain walk
  _walk_kernel: the ofmap buffer alone makes the stalls and is run drain event to drain event;
  each read buffer's epochs come from its stream described once per re-read unit (the previous
  occurrence of every position), scanned in blocks; an operand below one epoch is fetched once
  (closed form) and a unit of distinct addresses (filters, ifmaps of non-overlapping windows)
  costs O(1). _walk_kernel runs USER mode, and CALC for ifmap units above _MAX_UNIT slots
  with its own shortcuts (all-hit folds skipped, _repeat_closed_form).

USER mode (``Bandwidth`` words/cycle; SCALE-Sim's ``read_buffer``): the prefetch matrix is cut
  into sets of ceil(words/100) entries; a window of active sets rotates by the prefetch sets on
  every miss, each rotation costs ceil(prefetch half / bw) lines of bw words and delivers its last
  line one cycle after the previous one ends, and the row waits for it. SCALE-Sim 2.0.2 adds that
  wait even when it is negative (``potential_stall_cycles``); copied, see docs/memory.md.

Both modes: the ofmap write buffer (SCALE-Sim's ``write_buffer``) collects lines of bw words
  (CALC: bw = array columns) and drains ceil(half/bw) lines whenever more than half is occupied;
  a row stalls when it writes into a full buffer during a drain. A partial line forced out at a
  drain is counted as a full line when it is not the last line of a later drain (the "+31"
  DRAM OFMAP writes of ResNet-18 conv1); copied. Per row the stall is the max of the three
  buffers' waits; Total Cycles is the service cycle of the last ofmap row.

Extensions: padding (padded positions are no address), batch (ifmap words per sample), groups
(g GEMMs one after another through the same buffers, disjoint addresses), word_bits (counts in
words; SRAM capacity in words = kB*1024*8/word_bits; SCALE-Sim is 8-bit only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numba import njit

from ..arch import Arch
from ..errors import InputError
from ..mapping import GemmMapping
from ..workload import Layer
from .operands import ifmap_addressing, unique_ifmap_words

# SCALE-Sim constants (single_layer_sim.py / read_buffer_estimate_bw.py)
CALC_FILL_WORDS_PER_CYCLE = 10   # CALC mode: initial ifmap/filter fill bandwidth ("arbitrary")
SETS = 100                       # a read buffer is tracked as 100 sets
ACTIVE_SETS = 50                 # active_buf_frac 0.5
DF_CODE = {"os": 0, "ws": 1, "is": 2}


@dataclass(frozen=True)
class MemoryCounts:
    # SRAM accesses (words): the operand slots the array consumes, SCALE-Sim's counts
    ifmap_sram_reads: int
    filter_sram_reads: int
    ofmap_sram_writes: int
    # DRAM traffic (words)
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    # DETAILED_ACCESS_REPORT start/stop cycles
    ifmap_sram_start_cycle: int
    ifmap_sram_stop_cycle: int
    filter_sram_start_cycle: int
    filter_sram_stop_cycle: int
    ofmap_sram_start_cycle: int
    ofmap_sram_stop_cycle: int
    dram_ifmap_start_cycle: int
    dram_ifmap_stop_cycle: int
    dram_filter_start_cycle: int
    dram_filter_stop_cycle: int
    dram_ofmap_start_cycle: int
    dram_ofmap_stop_cycle: int
    # BANDWIDTH_REPORT (words/cycle): SRAM over total cycles, DRAM over its own start..stop span
    ifmap_sram_bw_words_per_cycle: float
    filter_sram_bw_words_per_cycle: float
    ofmap_sram_bw_words_per_cycle: float
    dram_ifmap_bw_words_per_cycle: float
    dram_filter_bw_words_per_cycle: float
    dram_ofmap_bw_words_per_cycle: float
    stall_cycles: int
    total_cycles: int            # stall-free cycles (SCALE-Sim's, incl. its -1) + stalls


# ---- address of one operand slot -------------------------------------------------------------
@njit(cache=True)
def _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    if m >= M or k >= K:
        return -1
    y = rb[m] + wr[k]
    x = cb[m] + wc[k]
    if y < 0 or y >= H or x < 0 or x >= W:
        return -1
    return pb[m] + wo[k] + g * goff


@njit(cache=True)
def _fa(k, n, g, N, K):
    if k >= K or n >= N:
        return -1
    return g * N * K + n * K + k


@njit(cache=True)
def _slot(df, ifmap, g, c, r, t, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Address of (time/row t, lane j) of an operand's fold block, -1 if idle or padding.
    Skewed streams: t = time step; stationary blocks: t = stored row (before SCALE-Sim's flip)."""
    if df == 0:
        if ifmap:
            return _ifa(r * AR + j, t, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
        return _fa(t, c * AC + j, g, N, K)
    if df == 1:
        if ifmap:
            return _ifa(t, r * AR + j, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
        return _fa(r * AR + t, c * AC + j, g, N, K)
    if ifmap:
        return _ifa(c * AC + j, r * AR + t, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
    return _fa(r * AR + j, t, g, N, K)


@njit(cache=True)
def _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Whether fold f (walk order) reads any real ifmap word."""
    if df == 0:
        T, L = K, AR
    elif df == 1:
        T, L = M, AR
    else:
        T, L = AR, AC
    g = f // (cf * rf)
    c = (f // rf) % cf
    r = f % rf
    for t in range(T):
        for j in range(L):
            if _slot(df, True, g, c, r, t, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo,
                     H, W, goff) >= 0:
                return True
    return False


@njit(cache=True)
def _ifmap_fold_span(df, G, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """[first, last] fold (in walk order) that reads any real ifmap word: a fold can be all
    padding (SCALE-Sim's extra ceil-rule pixel alone in the last row fold; with padding, an
    input-stationary fold whose window elements all fall outside the image)."""
    nf = G * cf * rf
    span = np.zeros(2, dtype=np.int64)
    for f in range(nf):
        if _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W,
                             goff):
            span[0] = f
            break
    for f in range(nf - 1, -1, -1):
        if _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W,
                             goff):
            span[1] = f
            break
    return span


# ---- USER mode: SCALE-Sim's prefetch matrix (fetch order) ---------------------------------------
@njit(cache=True)
def _fetch_sequence(df, ifmap, G, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    # (blocks, rows per block, lanes, diagonal-unrolled?) per dataflow and operand
    if df == 0:
        nb, T, L, diag = (rf, K, AR, True) if ifmap else (cf, K, AC, True)
    elif df == 1:
        nb, T, L, diag = (rf, M, AR, True) if ifmap else (cf, K, AC, False)
    else:
        nb, T, L, diag = (cf, K, AC, False) if ifmap else (rf, N, AR, True)
    rows = nb * T
    out = np.empty(G * rows * L, dtype=np.int64)
    idx = 0
    for g in range(G):
        if diag:
            for d in range(rows + L):
                hi = min(d, rows - 1)
                lo = max(0, d - L + 1)
                for row in range(hi, lo - 1, -1):
                    b = row // T
                    t = row % T
                    j = d - row
                    if df == 0:
                        r, c = (b, 0) if ifmap else (0, b)
                    elif df == 1:
                        r, c = b, 0
                    else:
                        r, c = b, 0
                    out[idx] = _slot(df, ifmap, g, c, r, t, j, AR, AC, M, N, K, rb, cb, pb,
                                     wr, wc, wo, H, W, goff)
                    idx += 1
        else:
            for row in range(rows):
                b = row // T
                t = row % T
                for j in range(L):
                    # ws filter: block = column fold, rows = K; is ifmap: block = column fold,
                    # rows = K (stored row t of the full K range, not a row fold)
                    if df == 1:
                        a = _fa(t, b * AC + j, g, N, K)
                    else:
                        a = _ifa(b * AC + j, t, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
                    out[idx] = a
                    idx += 1
    return out


def _set_index(seq: np.ndarray, words: int, space: int):
    """SCALE-Sim's hashed sets over the fetch sequence: consecutive ceil(words/100) valid
    entries per set (duplicates count), plus a final (possibly empty) set. Returns the set
    count and, per address, the sorted set ids that hold it (CSR)."""
    eps = math.ceil(words / SETS)
    v = seq[seq >= 0]
    nl = len(v) // eps + 1
    key = np.unique(v * nl + np.arange(len(v), dtype=np.int64) // eps)
    addr, sets = np.divmod(key, nl)
    ptr = np.zeros(space + 1, dtype=np.int64)
    np.cumsum(np.bincount(addr, minlength=space), out=ptr[1:])
    return nl, eps, ptr, sets.astype(np.int64)


@njit(cache=True, inline="always")
def _in_window(a, ptr, sets, ws, we):
    for i in range(ptr[a], ptr[a + 1]):
        s = sets[i]
        if ws < we:
            if ws <= s < we:
                return True
        elif s >= ws or s < we:
            return True
    return False


@njit(cache=True)
def _miss(a, ptr, sets, ws, we, npf, nact, nl, acc, words_per_prefetch, lpf, lines):
    """USER mode: rotate the active window by the prefetch sets until it holds ``a``; each
    rotation fetches ``lines`` lines, the last arriving one cycle after the previous batch."""
    for _ in range(nl + 2):     # a window of >= half the sets covers every set in 2 turns
        ws = (ws + npf) % nl
        we = (ws + nact) % nl
        acc += words_per_prefetch
        lpf = lpf + lines + 1
        if _in_window(a, ptr, sets, ws, we):
            break
    return ws, we, acc, lpf


@njit(cache=True)
def _repeat_closed_form(D, b, n_units, E, unit_rows, rm, scope_row0):
    """Epoch boundaries over units 1..n-1 of a stream that repeats one unit of D distinct
    addresses, given that unit 0 had its last boundary at valid-element index b. After a
    boundary at global position P the next D positions are all new and then everything hits,
    so with E <= D boundaries fall every E positions; with E > D there is none.
    Returns (boundaries added, words in the epoch at the end, row of the last boundary or -1)."""
    total = n_units * D
    if E > D:
        return 0, D, -1
    k = (total - 1 - b) // E
    if k == 0:
        return 0, total - 1 - b, -1
    last = b + k * E
    return k, total - 1 - last, scope_row0 + (last // D) * unit_rows + rm[last % D]


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


# ---- the walk ----------------------------------------------------------------------------------
@njit(cache=True)
def _walk_kernel(df, AR, AC, M, N, K, G, rf, cf,
          rb, cb, pb, wr, wc, wo, H, W, goff, if_space, f_space,
          user, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f, if_span,
          dist_if, dist_f,           # positional args 28, 29 (tests flip them)
          # USER mode: per read buffer (ifmap, filter) its words, bw and set index
          if_words, f_words, rd_bw, if_nl, if_eps, if_ptr, if_sets, if_fetch_lines,
          f_nl, f_eps, f_ptr, f_sets, f_fetch_lines):
    res = np.zeros(32, dtype=np.int64)
    if df == 0:
        T = K
        rows_fold = K + AR + AC - 2
    else:
        T = M if df == 1 else N
        rows_fold = 2 * AR + AC + T - 2
    # skew prefixes of the streamed operands, and which operand is stationary (no skew)
    if df == 0:
        pre_if, L_if, T_if, stat_if = 0, AR, K, False
        pre_f, L_f, T_f, stat_f = 0, AC, K, False
    elif df == 1:
        pre_if, L_if, T_if, stat_if = AR, AR, M, False
        pre_f, L_f, T_f, stat_f = 0, AC, AR, True
    else:
        pre_if, L_if, T_if, stat_if = 0, AC, AR, True
        pre_f, L_f, T_f, stat_f = AR, AR, N, False

    # CALC state per read buffer: epoch stamps
    nkeys = G * rf * cf
    st_if = np.zeros(if_space if not user else 1, dtype=np.int32)
    st_f = np.zeros(f_space if not user else 1, dtype=np.int32)
    key_ep_if = np.full(nkeys, -1, dtype=np.int64)
    key_ep_f = np.full(nkeys, -1, dtype=np.int64)
    key_last_if = np.full(nkeys, -1, dtype=np.int64)
    key_last_f = np.full(nkeys, -1, dtype=np.int64)
    E_if = ACTIVE_SETS * P_if
    E_f = ACTIVE_SETS * P_f
    ep_if, cnt_if, nsh_if, lsh_if = 1, 0, 0, 0
    ep_f, cnt_f, nsh_f, lsh_f = 1, 0, 0, 0

    # USER state per read buffer
    A_if = (if_words + 1) // 2
    A_f = (f_words + 1) // 2
    pf_lines_if = -(-(if_words - A_if) // rd_bw) if user else 0
    pf_lines_f = -(-(f_words - A_f) // rd_bw) if user else 0
    nact_if = min(-(-A_if // if_eps), if_nl) if user else 0
    npf_if = min(-(-(if_words - A_if) // if_eps), if_nl - nact_if) if user else 0
    nact_f = min(-(-A_f // f_eps), f_nl) if user else 0
    npf_f = min(-(-(f_words - A_f) // f_eps), f_nl - nact_f) if user else 0
    ws_if, we_if, ws_f, we_f = 0, nact_if, 0, nact_f
    acc_if, acc_f = 0, 0
    lpf_if, lpf_f = 0, 0
    dstart_if, dstart_f = 0, 0

    # write buffer state
    S = of_words
    Aw = (S + 1) // 2
    D = S - Aw
    Ld = -(-D // of_bw)
    free = S
    line_idx = 0
    nlines = 0
    dsl = 0                       # first undrained line
    part_line = np.empty(16, dtype=np.int64)   # forced partial lines: index, valid words
    part_val = np.empty(16, dtype=np.int64)
    npart = 0
    ppos = 0
    drain_end = 0
    of_acc = 0
    of_dstart = 0
    of_dstop = 0
    of_drained = False

    # Repeated units of distinct addresses (CALC): os/ws ifmap with non-overlapping windows and
    # is filter repeat one unit per column fold (scope = group); the os filter repeats one fold
    # per row fold (scope = column fold). Unit 0 is walked, recording the row of each valid
    # element; the rest follows in closed form (_repeat_closed_form).
    rep_if = 1 if (dist_if and not user and not nowalk_if and df != 2 and cf >= 2) else 0
    rep_f = 0
    if dist_f and not user and not nowalk_f:
        if df == 0 and rf >= 2:
            rep_f = 2
        elif df == 2 and cf >= 2:
            rep_f = 1
    rm_if = np.zeros(M * K + 1 if rep_if else 1, dtype=np.int64)
    rm_f = np.zeros((K * AC + 1 if rep_f == 2 else K * N + 1) if rep_f else 1, dtype=np.int64)
    D_if, b_if, D_f, b_f = 0, -1, 0, -1
    rec_if, rec_f = False, False
    frz_if, frz_f = False, False
    scope0_if, scope0_f = 0, 0
    tgt_if, tgt_f = -1, -1
    stall = 0
    first_if, first_f, first_of = -1, -1, -1
    last_if, last_f, last_of = -1, -1, -1
    of_out = 0
    row0 = 0
    started = False
    for g in range(G):
        for c in range(cf):
            for r in range(rf):
                cu = min(AC, (N if df != 2 else M) - c * AC)
                ru = min(AR, (M if df == 0 else K) - r * AR)
                if df == 0:
                    kif, kf = g * rf * cf + r, g * rf * cf + c
                elif df == 1:
                    kif, kf = g * rf * cf + r, g * rf * cf + c * rf + r
                else:
                    kif, kf = g * rf * cf + c * rf + r, g * rf * cf + r
                # an operand smaller than one epoch is fetched once (closed form by the
                # caller); only its first and last folds are walked, for the SRAM start/stop
                fold = (g * cf + c) * rf + r
                edge_if = fold == if_span[0] or fold == if_span[1]
                edge_f = fold == 0 or fold == G * cf * rf - 1
                if rep_if:
                    if c == 0 and r == 0:
                        frz_if, rec_if, D_if, b_if, scope0_if = False, True, 0, -1, row0
                    elif c == 1 and r == 0:
                        rec_if = False
                        frz_if = True
                        if b_if >= 0:
                            kk, cnt_if, tgt_if = _repeat_closed_form(
                                D_if, b_if, cf, E_if, rf * rows_fold, rm_if, scope0_if)
                            nsh_if += kk
                            ep_if += kk
                if rep_f:
                    if (rep_f == 2 and r == 0) or (rep_f == 1 and c == 0 and r == 0):
                        frz_f, rec_f, D_f, b_f, scope0_f = False, True, 0, -1, row0
                    elif (rep_f == 2 and r == 1) or (rep_f == 1 and c == 1 and r == 0):
                        rec_f = False
                        frz_f = True
                        if b_f >= 0:
                            n_u = rf if rep_f == 2 else cf
                            u_rows = rows_fold if rep_f == 2 else rf * rows_fold
                            kk, cnt_f, tgt_f = _repeat_closed_form(
                                D_f, b_f, n_u, E_f, u_rows, rm_f, scope0_f)
                            nsh_f += kk
                            ep_f += kk
                skip_if = (not user) and (frz_if or key_ep_if[kif] == ep_if
                                          or (nowalk_if and not edge_if))
                skip_f = (not user) and (frz_f or key_ep_f[kf] == ep_f
                                         or (nowalk_f and not edge_f))
                ep0_if, ep0_f = ep_if, ep_f
                lastv_if, lastv_f = -1, -1
                for tau in range(rows_fold):
                    cycle = row0 + tau + stall
                    if row0 + tau == tgt_if:
                        lsh_if = cycle
                        tgt_if = -1
                    if row0 + tau == tgt_f:
                        lsh_f = cycle
                        tgt_f = -1
                    if user and not started:
                        # prefetch_active_buffer on the first request row
                        n0 = min(-(-A_if // rd_bw), if_fetch_lines)
                        acc_if += n0 * rd_bw
                        lpf_if = cycle - 1
                        dstart_if = cycle - n0
                        n0 = min(-(-A_f // rd_bw), f_fetch_lines)
                        acc_f += n0 * rd_bw
                        lpf_f = cycle - 1
                        dstart_f = cycle - n0
                    started = True
                    # ---------------- ifmap ----------------
                    if_out = cycle + 1
                    if stat_if:
                        lo, hi = (0, AC - 1) if tau < AR else (1, 0)
                    else:
                        lo = max(0, tau - pre_if - T_if + 1)
                        hi = min(L_if - 1, tau - pre_if)
                    anyv = False
                    if skip_if:
                        # same slice as when walked: only its last valid row can move the
                        # stop cycle (the start was set by the first fold)
                        anyv = tau == key_last_if[kif]
                    else:
                        for j in range(lo, hi + 1):
                            # address written out here: a call per slot costs 5x (measured)
                            if df == 0:
                                m, k = r * AR + j, tau - j
                            elif df == 1:
                                m, k = tau - pre_if - j, r * AR + j
                            else:
                                m, k = c * AC + j, r * AR + AR - 1 - tau
                            if m >= M or k >= K:
                                continue
                            y = rb[m] + wr[k]
                            x = cb[m] + wc[k]
                            if y < 0 or y >= H or x < 0 or x >= W:
                                continue
                            a = pb[m] + wo[k] + g * goff
                            anyv = True
                            if rec_if:
                                rm_if[D_if] = row0 + tau - scope0_if
                                D_if += 1
                            if user:
                                if not _in_window(a, if_ptr, if_sets, ws_if, we_if):
                                    ws_if, we_if, acc_if, lpf_if = _miss(
                                        a, if_ptr, if_sets, ws_if, we_if, npf_if, nact_if,
                                        if_nl, acc_if, pf_lines_if * rd_bw, lpf_if,
                                        pf_lines_if)
                                    if_out = lpf_if
                            elif st_if[a] != ep_if:
                                st_if[a] = ep_if
                                cnt_if += 1
                                if P_if > 0 and cnt_if == E_if:
                                    nsh_if += 1
                                    lsh_if = cycle
                                    b_if = D_if - 1
                                    ep_if += 1
                                    cnt_if = 0
                        if anyv:
                            lastv_if = tau
                    if anyv:
                        if first_if < 0:
                            first_if = if_out
                        last_if = if_out
                    # ---------------- filter ----------------
                    f_out = cycle + 1
                    if stat_f:
                        lo, hi = (0, AC - 1) if tau < AR else (1, 0)
                    else:
                        lo = max(0, tau - pre_f - T_f + 1)
                        hi = min(L_f - 1, tau - pre_f)
                    anyv = False
                    if skip_f:
                        anyv = tau == key_last_f[kf]
                    else:
                        for j in range(lo, hi + 1):
                            if df == 0:
                                k, n = tau - j, c * AC + j
                            elif df == 1:
                                k, n = r * AR + AR - 1 - tau, c * AC + j
                            else:
                                k, n = r * AR + j, tau - pre_f - j
                            if k >= K or n >= N:
                                continue
                            a = (g * N + n) * K + k
                            if rec_f:
                                rm_f[D_f] = row0 + tau - scope0_f
                                D_f += 1
                            anyv = True
                            if user:
                                if not _in_window(a, f_ptr, f_sets, ws_f, we_f):
                                    ws_f, we_f, acc_f, lpf_f = _miss(
                                        a, f_ptr, f_sets, ws_f, we_f, npf_f, nact_f, f_nl,
                                        acc_f, pf_lines_f * rd_bw, lpf_f, pf_lines_f)
                                    f_out = lpf_f
                            elif st_f[a] != ep_f:
                                st_f[a] = ep_f
                                cnt_f += 1
                                if P_f > 0 and cnt_f == E_f:
                                    nsh_f += 1
                                    lsh_f = cycle
                                    b_f = D_f - 1
                                    ep_f += 1
                                    cnt_f = 0
                        if anyv:
                            lastv_f = tau
                    if anyv:
                        if first_f < 0:
                            first_f = f_out
                        last_f = f_out
                    # ---------------- ofmap (write buffer) ----------------
                    if df == 0:
                        tp = tau - (K - 1)
                        lo = max(0, tp - AR + 1)
                        hi = min(cu - 1, tp - AR + ru)
                    else:
                        tp = tau - (2 * AR - 1)
                        lo = max(0, tp - T + 1)
                        hi = min(cu - 1, tp)
                    v = hi - lo + 1 if (tp >= 0 and hi >= lo) else 0
                    nv = v
                    (cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl,
                     ppos, of_acc, of_drained, of_dstart, of_dstop) = _write_row(
                        v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                        part_val, dsl, ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart,
                        of_dstop)
                    of_out = cur
                    if nv > 0:
                        if first_of < 0:
                            first_of = of_out
                        last_of = of_out
                    st = max(if_out - cycle - 1, f_out - cycle - 1, of_out - cycle - 1)
                    stall += st
                # fold done: a slice walked without an epoch boundary is all hits next time
                if not user:
                    if nowalk_if and not edge_if:
                        pass
                    elif not skip_if:
                        key_last_if[kif] = lastv_if
                        key_ep_if[kif] = ep_if if ep_if == ep0_if else -1
                    if nowalk_f and not edge_f:
                        pass
                    elif not skip_f:
                        key_last_f[kf] = lastv_f
                        key_ep_f[kf] = ep_f if ep_f == ep0_f else -1
                row0 += rows_fold
    # drain what is left, back to back from the last row's service cycle
    of_acc, of_dstart, of_dstop = _drain_rest(of_out, line_idx, nlines, npart, part_line,
                                              part_val, dsl, Ld, of_bw, ppos, of_acc,
                                              of_drained, of_dstart, of_dstop)
    res[0] = of_out
    res[1] = stall
    res[2], res[3], res[4], res[5], res[6], res[7] = first_if, last_if, first_f, last_f, \
        first_of, last_of
    res[8], res[9], res[10] = of_acc, of_dstart, of_dstop
    if user:
        res[11], res[12], res[13] = acc_if, dstart_if, lpf_if
        res[14], res[15], res[16] = acc_f, dstart_f, lpf_f
    else:
        res[11], res[12], res[13], res[14] = nsh_if, lsh_if, cnt_if, first_if - 1
        res[15], res[16], res[17], res[18] = nsh_f, lsh_f, cnt_f, first_f - 1
    return res


# ---- CALC mode, fast engine ----------------------------------------------------------------------
# The CALC walk above splits into three independent parts, because in CALC mode the read buffers
# never stall (their wait is always 0): (1) the ofmap write buffer alone decides the stalls;
# (2) and (3) each read buffer's epochs depend only on its own address stream. The engine below
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

_BSH = 6                         # scan blocks of 64 stream positions
_MAX_UNIT = 1 << 25              # larger non-distinct ifmap units fall back to _walk_kernel


@njit(cache=True, inline="always")
def _lanes(df, ifmap, tau, AR, AC, M, N, K):
    """Lanes [lo, hi] of row tau of a fold (before validity), as the walk visits them."""
    if df == 0:
        if ifmap:
            return max(0, tau - K + 1), min(AR - 1, tau)
        return max(0, tau - K + 1), min(AC - 1, tau)
    if df == 1:
        if ifmap:
            return max(0, tau - AR - M + 1), min(AR - 1, tau - AR)
        return (0, AC - 1) if tau < AR else (1, 0)
    if ifmap:
        return (0, AC - 1) if tau < AR else (1, 0)
    return max(0, tau - AR - N + 1), min(AR - 1, tau - AR)


@njit(cache=True, inline="always")
def _addr(df, ifmap, g, c, r, tau, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Address read by lane j in row tau of fold (g, c, r), -1 if none (as in _walk_kernel)."""
    if ifmap:
        if df == 0:
            m, k = r * AR + j, tau - j
        elif df == 1:
            m, k = tau - AR - j, r * AR + j
        else:
            m, k = c * AC + j, r * AR + AR - 1 - tau
        if m >= M or k >= K:
            return -1
        y = rb[m] + wr[k]
        x = cb[m] + wc[k]
        if y < 0 or y >= H or x < 0 or x >= W:
            return -1
        return pb[m] + wo[k] + g * goff
    if df == 0:
        k, n = tau - j, c * AC + j
    elif df == 1:
        k, n = r * AR + AR - 1 - tau, c * AC + j
    else:
        k, n = r * AR + j, tau - AR - j
    if k >= K or n >= N:
        return -1
    return (g * N + n) * K + k


@njit(cache=True)
def _valid_prefix(M, K, rb, cb, wr, wc, H, W):
    """Prefix sums over m of the valid window elements of pixel m, and over k of the valid
    pixels of window element k (valid = inside the image)."""
    R = 0
    S = 0
    for k in range(K):
        R = max(R, wr[k] + 1)
        S = max(S, wc[k] + 1)
    cnt = np.zeros((R, S), dtype=np.int64)
    for k in range(K):
        cnt[wr[k], wc[k]] += 1
    per_rs = np.zeros((R, S), dtype=np.int64)
    pm = np.zeros(M + 1, dtype=np.int64)
    for m in range(M):
        t = 0
        for r in range(R):
            y = rb[m] + r
            if y < 0 or y >= H:
                continue
            for s in range(S):
                x = cb[m] + s
                if x < 0 or x >= W:
                    continue
                t += cnt[r, s]
                per_rs[r, s] += 1
        pm[m + 1] = pm[m] + t
    pk = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        pk[k + 1] = pk[k] + per_rs[wr[k], wc[k]]
    return pm, pk


@njit(cache=True)
def _fold_count(df, ifmap, g, c, r, AR, AC, M, N, K, rows_fold, pm, pk,
                rb, cb, pb, wr, wc, wo, H, W, goff):
    """Valid slots of an operand in fold (g, c, r)."""
    cu = min(AC, (N if df != 2 else M) - c * AC)
    ru = min(AR, (M if df == 0 else K) - r * AR)
    if ifmap:
        if df == 0:
            return pm[r * AR + ru] - pm[r * AR]
        if df == 1:
            return pk[r * AR + ru] - pk[r * AR]
        # is: the stationary block of pixels [c*AC, +cu) x window elements [r*AR, +ru). The
        # window index is k = (r*S + s)*cg + channel (operands.py), so validity changes only
        # every cg = goff elements: count whole runs of channels, not slots
        k0, k1 = r * AR, r * AR + ru
        n = 0
        for m in range(c * AC, c * AC + cu):
            k = k0
            while k < k1:
                run_end = min(k1, (k // goff + 1) * goff)
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if 0 <= y < H and 0 <= x < W:
                    n += run_end - k
                k = run_end
        return n
    if df == 0:
        return K * cu
    if df == 1:
        return ru * cu
    return ru * N


@njit(cache=True, inline="always")
def _lanes_in(df, ifmap, tau, c, r, AR, AC, M, N, K):
    """_lanes without the lanes past the last pixel / filter / window element of the fold."""
    lo, hi = _lanes(df, ifmap, tau, AR, AC, M, N, K)
    cu = min(AC, (N if df != 2 else M) - c * AC)
    ru = min(AR, (M if df == 0 else K) - r * AR)
    if (df == 2) == ifmap:
        return lo, min(hi, cu - 1)
    return lo, min(hi, ru - 1)


@njit(cache=True)
def _row_valid(df, ifmap, g, c, r, tau, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff,
               any_only):
    """Valid slots in row tau of fold (g, c, r) (with any_only: 1 if there is one)."""
    lo, hi = _lanes_in(df, ifmap, tau, c, r, AR, AC, M, N, K)
    n = 0
    for j in range(lo, hi + 1):
        if _addr(df, ifmap, g, c, r, tau, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo,
                 H, W, goff) >= 0:
            n += 1
            if any_only:
                break
    return n


@njit(cache=True)
def _fold_first_last(f, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K,
                     rb, cb, pb, wr, wc, wo, H, W, goff):
    """(first, last) row with a valid slot in fold f (walk order), (-1, -1) if none."""
    g = f // (cf * rf)
    c = (f // rf) % cf
    r = f % rf
    # rows that have lanes at all: a stationary block's AR rows, a stream's T + lanes - 1
    if (df == 1 and not ifmap) or (df == 2 and ifmap):
        t0, t1 = 0, AR - 1
    elif df == 0:
        t0, t1 = 0, K + (AR if ifmap else AC) - 2
    else:
        t0, t1 = AR, AR + (M if ifmap else N) + AR - 2
    t1 = min(t1, rows_fold - 1)
    first = -1
    for tau in range(t0, t1 + 1):
        if _row_valid(df, ifmap, g, c, r, tau, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo,
                      H, W, goff, True) > 0:
            first = tau
            break
    if first < 0:
        return -1, -1
    for tau in range(t1, first - 1, -1):
        if _row_valid(df, ifmap, g, c, r, tau, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo,
                      H, W, goff, True) > 0:
            return first, tau
    return first, first


@njit(cache=True)
def _locate(f0, q, rstart, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K, pm, pk,
            rb, cb, pb, wr, wc, wo, H, W, goff):
    """Row (stall-free, global) of valid stream position q counted from the start of fold f0.
    ``rstart`` (from _build_unit: the unit's valid positions before each of its rows) finds
    the row by bisection. Without it (a single entry) the folds are counted (closed forms, or
    runs of channels for an input-stationary ifmap), then the rows of the fold: by their lane
    counts where every slot of the fold is a real word, else slot by slot."""
    if rstart.shape[0] > 1:
        lo, hi = 0, rstart.shape[0] - 2       # the last row i with rstart[i] <= q
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if rstart[mid] <= q:
                lo = mid
            else:
                hi = mid - 1
        return f0 * rows_fold + lo
    f = f0
    while True:
        g = f // (cf * rf)
        c = (f // rf) % cf
        r = f % rf
        n = _fold_count(df, ifmap, g, c, r, AR, AC, M, N, K, rows_fold, pm, pk,
                        rb, cb, pb, wr, wc, wo, H, W, goff)
        if q < n:
            break
        q -= n
        f += 1
    cu = min(AC, (N if df != 2 else M) - c * AC)
    ru = min(AR, (M if df == 0 else K) - r * AR)
    if ifmap:
        slots = ru * K if df == 0 else (M * ru if df == 1 else cu * ru)
    else:
        slots = K * cu if df == 0 else (ru * cu if df == 1 else ru * N)
    # a streamed operand's lanes in a row are exactly its slots (_lanes bounds the streamed
    # index); a stationary block (ws filter, is ifmap) has at most AR rows to scan
    streamed = not ((df == 1 and not ifmap) or (df == 2 and ifmap))
    for tau in range(rows_fold):
        if n == slots and streamed:
            lo, hi = _lanes_in(df, ifmap, tau, c, r, AR, AC, M, N, K)
            n_row = max(0, hi - lo + 1)
        else:
            n_row = _row_valid(df, ifmap, g, c, r, tau, AR, AC, M, N, K, rb, cb, pb, wr, wc,
                               wo, H, W, goff, False)
        if q < n_row:
            return f * rows_fold + tau
        q -= n_row
    return -1


@njit(cache=True)
def _build_unit(df, uf, L, space, rf, cf, rows_fold, AR, AC, M, N, K,
                rb, cb, pb, wr, wc, wo, H, W, goff):
    """For the ifmap stream of unit 0 (folds 0..uf-1), per valid position q the position of
    the previous occurrence of its address: in the unit, or for its first occurrence
    (last occurrence in the unit) - L, i.e. in the previous repeat. Plus per-block min/max,
    and, for a streamed ifmap (os, ws), the valid positions before each row of the unit
    (every unit has the same row counts), so that _locate bisects instead of scanning."""
    last = np.full(space, -1, dtype=np.int32)
    rstart = np.zeros(uf * rows_fold + 1 if df != 2 else 1, dtype=np.int64)
    pp = np.empty(L, dtype=np.int32)
    fpos = np.empty(min(L, space), dtype=np.int32)
    faddr = np.empty(min(L, space), dtype=np.int32)
    nf = 0
    q = 0
    for f in range(uf):
        c = (f // rf) % cf
        r = f % rf
        for tau in range(rows_fold):
            if df != 2:
                rstart[f * rows_fold + tau] = q
            lo, hi = _lanes(df, True, tau, AR, AC, M, N, K)
            for j in range(lo, hi + 1):
                if df == 0:
                    m, k = r * AR + j, tau - j
                elif df == 1:
                    m, k = tau - AR - j, r * AR + j
                else:
                    m, k = c * AC + j, r * AR + AR - 1 - tau
                if m >= M or k >= K:
                    continue
                y = rb[m] + wr[k]
                x = cb[m] + wc[k]
                if y < 0 or y >= H or x < 0 or x >= W:
                    continue
                a = pb[m] + wo[k]
                p = last[a]
                if p < 0:
                    fpos[nf] = q
                    faddr[nf] = a
                    nf += 1
                pp[q] = p
                last[a] = q
                q += 1
    if df != 2:
        rstart[uf * rows_fold] = q
    for i in range(nf):
        pp[fpos[i]] = last[faddr[i]] - L
    nb = (L + (1 << _BSH) - 1) >> _BSH
    bmin = np.empty(nb, dtype=np.int32)
    bmax = np.empty(nb, dtype=np.int32)
    for b in range(nb):
        lo_ = b << _BSH
        hi_ = min(L, lo_ + (1 << _BSH))
        mn = pp[lo_]
        mx = pp[lo_]
        for i in range(lo_ + 1, hi_):
            v = pp[i]
            if v < mn:
                mn = v
            if v > mx:
                mx = v
        bmin[b] = mn
        bmax[b] = mx
    return pp, bmin, bmax, rstart


@njit(cache=True)
def _count_lt(pp, lo, hi, thr):
    n = 0
    for i in range(lo, hi):
        n += 1 if pp[i] < thr else 0
    return n


@njit(cache=True)
def _epochs(df, ifmap, distinct, E, G, rf, cf, rows_fold, AR, AC, M, N, K, pm, pk,
            rb, cb, pb, wr, wc, wo, H, W, goff, space):
    """CALC read buffer over the whole stream: (epoch boundaries, words recorded since the last
    one, row of the last boundary or -1)."""
    # units: runs of uf folds, n_u consecutive units (a segment) re-read the same addresses,
    # segments have disjoint addresses
    if ifmap:
        if df == 2:
            uf, n_u = cf * rf, 1
        else:
            uf, n_u = rf, cf
    else:
        if df == 0:
            uf, n_u = 1, rf
        elif df == 1:
            uf, n_u = cf * rf, 1
        else:
            uf, n_u = rf, cf
    nunits = G * cf * rf // uf
    if ifmap:
        L0 = pm[M]
    else:
        L0 = N * K
    pp = np.zeros(1, dtype=np.int32)
    bmin = pp
    bmax = pp
    rstart = np.zeros(1, dtype=np.int64)
    if not distinct:
        pp, bmin, bmax, rstart = _build_unit(df, uf, L0, space, rf, cf, rows_fold, AR, AC, M,
                                             N, K, rb, cb, pb, wr, wc, wo, H, W, goff)
    th = 0          # epoch start relative to the current unit's first position
    cnt = 0
    nsh = 0
    lu, lq = -1, -1
    for u in range(nunits):
        if not ifmap and df == 0:
            c = (u // rf) % cf
            L = K * min(AC, N - c * AC)
        else:
            L = L0
        first = u % n_u == 0
        if distinct:
            nnew = L if first else min(L, max(0, th + L))
            if cnt + nnew < E:
                cnt += nnew
            else:
                q1 = E - cnt - 1
                k = (L - 1 - q1) // E
                lu, lq = u, q1 + k * E
                nsh += 1 + k
                cnt = L - 1 - lq
                th = lq + 1
        else:
            thr = max(th, 0) if first else th
            q = 0
            while q < L:
                bi = q >> _BSH
                bend = min(L, (bi + 1) << _BSH)
                if q == (bi << _BSH):
                    if bmin[bi] >= thr:
                        q = bend
                        continue
                    if bmax[bi] < thr:
                        n = bend - q
                        if cnt + n < E:
                            cnt += n
                            q = bend
                            continue
                        q = q + (E - cnt) - 1
                        nsh += 1
                        lu, lq = u, q
                        cnt = 0
                        th = q + 1
                        thr = th
                        q += 1
                        continue
                    n = _count_lt(pp, q, bend, thr)
                    if cnt + n < E:
                        cnt += n
                        q = bend
                        continue
                while q < bend:
                    if pp[q] < thr:
                        cnt += 1
                        if cnt == E:
                            nsh += 1
                            lu, lq = u, q
                            cnt = 0
                            th = q + 1
                            thr = th
                            q += 1
                            break
                    q += 1
        th -= L
    row = -1
    if lu >= 0:
        row = _locate(lu * uf, lq, rstart, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K, pm,
                      pk, rb, cb, pb, wr, wc, wo, H, W, goff)
    return nsh, cnt, row


@njit(cache=True)
def _ofmap_profile(df, cu, ru, rows_fold, AR, K, T):
    """Prefix sums of the ofmap words written per row of a fold, and its first/last such row."""
    C = np.zeros(rows_fold + 1, dtype=np.int64)
    fz, lz = -1, -1
    for tau in range(rows_fold):
        if df == 0:
            tp = tau - (K - 1)
            lo = max(0, tp - AR + 1)
            hi = min(cu - 1, tp - AR + ru)
        else:
            tp = tau - (2 * AR - 1)
            lo = max(0, tp - T + 1)
            hi = min(cu - 1, tp)
        v = hi - lo + 1 if (tp >= 0 and hi >= lo) else 0
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
def _calc_engine(df, AR, AC, M, N, K, G, rf, cf, rb, cb, pb, wr, wc, wo, H, W, goff,
                 if_space, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f, if_span,
                 dist_if):
    """CALC mode: the same 32 results as _walk_kernel (its CALC fields), see above."""
    res = np.zeros(32, dtype=np.int64)
    if df == 0:
        T = K
        rows_fold = K + AR + AC - 2
    else:
        T = M if df == 1 else N
        rows_fold = 2 * AR + AC + T - 2
    nfolds = G * cf * rf
    # ---------------- (1) ofmap write buffer, event to event ----------------
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
    S = of_words
    Aw = (S + 1) // 2
    D = S - Aw
    Ld = -(-D // of_bw)
    free = S
    line_idx = 0
    nlines = 0
    dsl = 0
    part_line = np.empty(16, dtype=np.int64)
    part_val = np.empty(16, dtype=np.int64)
    npart = 0
    ppos = 0
    drain_end = 0
    of_acc = 0
    of_dstart = 0
    of_dstop = 0
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
                    nv = v
                    (cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl,
                     ppos, of_acc, of_drained, of_dstart, of_dstop) = _write_row(
                        v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                        part_val, dsl, ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart,
                        of_dstop)
                    of_out = cur
                    if nv > 0:
                        if first_of < 0:
                            first_of = of_out
                        last_of = of_out
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
    of_acc, of_dstart, of_dstop = _drain_rest(of_out, line_idx, nlines, npart, part_line,
                                              part_val, dsl, Ld, of_bw, ppos, of_acc,
                                              of_drained, of_dstart, of_dstop)
    res[0] = of_out
    res[1] = stall
    res[6], res[7] = first_of, last_of
    res[8], res[9], res[10] = of_acc, of_dstart, of_dstop
    # ---------------- (2), (3) read buffers ----------------
    pm = np.zeros(1, dtype=np.int64)
    pk = pm
    if not nowalk_if:      # ifmap fold counts: only the epoch walk and its boundary need them
        pm, pk = _valid_prefix(M, K, rb, cb, wr, wc, H, W)
    for op in range(2):
        ifmap = op == 0
        nowalk = nowalk_if if ifmap else nowalk_f
        P = P_if if ifmap else P_f
        # first / last request rows (see the flagged rows of _walk_kernel)
        first_f, last_f = (if_span[0], if_span[1]) if (ifmap and nowalk) else (0, nfolds - 1)
        fa = -1
        la = -1
        if nowalk:
            fl = _fold_first_last(first_f, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K,
                                  rb, cb, pb, wr, wc, wo, H, W, goff)
            if fl[0] >= 0:
                fa = first_f * rows_fold + fl[0]
            fl2 = _fold_first_last(last_f, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K,
                                   rb, cb, pb, wr, wc, wo, H, W, goff)
            if fl2[0] >= 0:
                if fa < 0:
                    fa = last_f * rows_fold + fl2[0]
                la = last_f * rows_fold + fl2[1]
            elif fa >= 0:
                la = first_f * rows_fold + fl[1]
        else:
            for f in range(nfolds):
                fl = _fold_first_last(f, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K,
                                      rb, cb, pb, wr, wc, wo, H, W, goff)
                if fl[0] >= 0:
                    fa = f * rows_fold + fl[0]
                    break
            for f in range(nfolds - 1, -1, -1):
                fl = _fold_first_last(f, df, ifmap, rf, cf, rows_fold, AR, AC, M, N, K,
                                      rb, cb, pb, wr, wc, wo, H, W, goff)
                if fl[0] >= 0:
                    la = f * rows_fold + fl[1]
                    break
        first_req = _cycle_of(fa, srow, scum, nst) + 1 if fa >= 0 else -1
        last_req = _cycle_of(la, srow, scum, nst) + 1 if la >= 0 else -1
        nsh, cnt, lsh = 0, 0, 0
        if not nowalk:
            nsh, cnt, brow = _epochs(df, ifmap, (not ifmap) or dist_if, ACTIVE_SETS * P, G, rf,
                                     cf, rows_fold, AR, AC, M, N, K, pm, pk, rb, cb, pb, wr,
                                     wc, wo, H, W, goff, if_space)
            if brow >= 0:
                lsh = _cycle_of(brow, srow, scum, nst)
        if ifmap:
            res[2], res[3] = first_req, last_req
            res[11], res[12], res[13], res[14] = nsh, lsh, cnt, first_req - 1
        else:
            res[4], res[5] = first_req, last_req
            res[15], res[16], res[17], res[18] = nsh, lsh, cnt, first_req - 1
    return res


def _walk(*args):
    """The walk's 32 results. CALC mode goes to _calc_engine (exact, docs/memory.md "Speed"),
    unless dist_f (positional arg 29) is False: then _walk_kernel walks every address, the
    plain reference the tests compare against. USER mode is always _walk_kernel.
    CALC fields of an operand below one epoch (nowalk) that the caller replaces by closed forms
    (boundaries, words in the last epoch) are returned as 0."""
    (df, AR, AC, M, N, K, G, rf, cf, rb, cb, pb, wr, wc, wo, H, W, goff, if_space, f_space,
     user, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f, if_span, dist_if, dist_f) = \
        args[:30]
    fast = (not user and dist_f
            and (nowalk_if or dist_if or M * K <= _MAX_UNIT) and if_space < 2 ** 31)
    if fast:
        res = _calc_engine(df, AR, AC, M, N, K, G, rf, cf, rb, cb, pb, wr, wc, wo, H, W, goff,
                           if_space, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f,
                           if_span, dist_if)
    else:
        res = _walk_kernel(*args)
    if not user:
        if nowalk_if:
            res[11] = res[12] = res[13] = 0
        if nowalk_f:
            res[15] = res[16] = res[17] = 0
    return res


def _calc_dram(nshift: int, last_shift: int, cnt: int, first_req: int, P: int):
    """(reads, start, stop) of a CALC read buffer from its epoch walk."""
    fill = CALC_FILL_WORDS_PER_CYCLE
    E = ACTIVE_SETS * P
    if nshift == 0:
        # the whole operand fits one epoch: one fill before cycle 0, ending at cycle -1
        nsets = -(-cnt // P) if P > 0 else 1
        return cnt, -math.ceil(nsets * P / fill), -1
    return nshift * E + cnt, first_req - math.ceil(E / fill), last_shift + 1


def _bw(words: int, start: int, stop: int) -> float:
    # an operand that moves no word has an empty span (start = stop + 1): a strided conv whose
    # windows sample only padding reads no ifmap word, so its bandwidth is 0, not 0 / 0
    span = stop - start + 1
    return words / span if span > 0 else 0.0


def user_line_words(arch: Arch) -> int:
    """The DRAM line of SCALE-Sim's USER-mode buffers: ``Bandwidth`` words per cycle, whole."""
    bw = arch.dram_bw_words_per_cycle
    if float(bw) != int(bw):
        raise InputError("USER bandwidth mode models DRAM lines of whole words per cycle",
                         source=arch.source or arch.name, field="dram_bw_words_per_cycle",
                         value=bw)
    return int(bw)


def simulate_memory(layer: Layer, arch: Arch, mapping: GemmMapping) -> MemoryCounts:
    """SRAM/DRAM accesses, start/stop cycles, bandwidths and stalls of a conv/linear layer."""
    mp = mapping
    AR, AC = mp.array_rows, mp.array_cols
    ad = ifmap_addressing(layer, mp.batch)
    G = mp.groups
    M, N, K = mp.M, mp.N, mp.K
    df = DF_CODE[mp.dataflow]
    if_words, f_words, of_words = (arch.sram_words("ifmap"), arch.sram_words("filter"),
                                   arch.sram_words("ofmap"))
    user = arch.bandwidth_mode == "user"
    if user and arch.stall_model == "overlap":
        return _overlap(layer, arch.with_(bandwidth_mode="calc"), mp,
                        arch.dram_bw_words_per_cycle)
    f_space = G * N * K
    if user:
        rd_bw = of_bw = user_line_words(arch)
        args = (df, G, mp.row_folds, mp.col_folds, AR, AC, M, N, K, ad.row_base, ad.col_base,
                ad.pix_base, ad.win_row, ad.win_col, ad.win_off, ad.H, ad.W,
                ad.group_ifmap_offset)
        seq_if = _fetch_sequence(df, True, *args[1:])
        seq_f = _fetch_sequence(df, False, *args[1:])
        if_nl, if_eps, if_ptr, if_sets = _set_index(seq_if, if_words, ad.space)
        f_nl, f_eps, f_ptr, f_sets = _set_index(seq_f, f_words, f_space)
        if_lines = -(-len(seq_if) // rd_bw)
        f_lines = -(-len(seq_f) // rd_bw)
    else:
        rd_bw, of_bw = 1, AC     # CALC drains the ofmap at one array row per cycle
        empty = np.zeros(1, dtype=np.int64)
        if_nl = if_eps = f_nl = f_eps = 1
        if_ptr = f_ptr = if_sets = f_sets = empty
        if_lines = f_lines = 1
    P_if, P_f = if_words // SETS, f_words // SETS
    # operands below one epoch (E = 50*P new words) never slide the window: DRAM reads are
    # their unique words, no walk needed
    uniq_if, uniq_f = unique_ifmap_words(layer, mp.batch), f_space
    nowalk_if = (not user) and (P_if == 0 or uniq_if < ACTIVE_SETS * P_if)
    nowalk_f = (not user) and (P_f == 0 or uniq_f < ACTIVE_SETS * P_f)
    if_span = np.zeros(2, dtype=np.int64)
    if nowalk_if:
        if_span = _ifmap_fold_span(df, G, mp.row_folds, mp.col_folds, AR, AC, M, N, K,
                                   ad.row_base, ad.col_base, ad.pix_base, ad.win_row,
                                   ad.win_col, ad.win_off, ad.H, ad.W, ad.group_ifmap_offset)
    # every valid ifmap slot is a distinct word when windows do not overlap
    dist_if = layer.kernel[0] <= layer.stride[0] and layer.kernel[1] <= layer.stride[1]
    res = _walk(df, AR, AC, M, N, K, G, mp.row_folds, mp.col_folds,
                ad.row_base, ad.col_base, ad.pix_base, ad.win_row, ad.win_col, ad.win_off,
                ad.H, ad.W, ad.group_ifmap_offset, ad.space, f_space,
                user, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f, if_span,
                dist_if, True,
                if_words, f_words, rd_bw, if_nl, if_eps, if_ptr, if_sets, if_lines,
                f_nl, f_eps, f_ptr, f_sets, f_lines)
    res = [int(x) for x in res]
    total, stall = res[0], res[1]
    if user:
        dif = (res[11], res[12], res[13])
        dfl = (res[14], res[15], res[16])
    else:
        if nowalk_if:
            res[11], res[13] = 0, uniq_if
        if nowalk_f:
            res[15], res[17] = 0, uniq_f
        dif = _calc_dram(res[11], res[12], res[13], res[14], P_if)
        dfl = _calc_dram(res[15], res[16], res[17], res[18], P_f)
    dof = (res[8], res[9], res[10])
    # SRAM slot counts: SCALE-Sim's per-fold slice sums (engine/systolic.py owns the formula)
    from .systolic import sram_accesses
    s_if, s_f, s_of = sram_accesses(mp)
    return MemoryCounts(
        s_if, s_f, s_of, dif[0], dfl[0], dof[0],
        res[2], res[3], res[4], res[5], res[6], res[7],
        dif[1], dif[2], dfl[1], dfl[2], dof[1], dof[2],
        # a one-MAC layer on a 1x1 os array reports 0 cycles (SCALE-Sim's -1): no rate, not a crash
        s_if / max(1, total), s_f / max(1, total), s_of / max(1, total),
        _bw(dif[0], dif[1], dif[2]), _bw(dfl[0], dfl[1], dfl[2]), _bw(dof[0], dof[1], dof[2]),
        stall, total)


@lru_cache(maxsize=4096)
def _calc_walk(layer: Layer, calc_arch: Arch, mp: GemmMapping) -> MemoryCounts:
    return simulate_memory(layer, calc_arch, mp)


def _overlap(layer: Layer, calc_arch: Arch, mp: GemmMapping, bw: float) -> MemoryCounts:
    """USER mode, stall model "overlap": the layer moves exactly the words SCALE-Sim's CALC walk
    says it moves, over one DRAM channel of `bw` words/cycle shared by the three buffers, and
    double buffering hides that transfer behind compute. Stalls are the transfer time the
    compute cannot hide: max(0, ceil(dram words / bw) - stall-free cycles). A lower bound on
    any real schedule with that traffic, and the bound SCALE-Sim's USER read buffers, which
    re-fetch whole prefetch windows on every miss, overshoot by 10-100x on large layers
    (docs/memory.md)."""
    # the CALC walk does not read the bandwidth: one walk serves a whole bandwidth sweep
    c = _calc_walk(replace(layer, name=""), calc_arch.with_(
        name="", source="", dram_bw_words_per_cycle=10.0, stall_model="scalesim"), mp)
    words = c.dram_ifmap_reads + c.dram_filter_reads + c.dram_ofmap_writes
    stall = max(0, math.ceil(words / bw) - c.total_cycles)
    total = c.total_cycles + stall
    return replace(c, stall_cycles=stall, total_cycles=total,
                   ifmap_sram_bw_words_per_cycle=c.ifmap_sram_reads / max(1, total),
                   filter_sram_bw_words_per_cycle=c.filter_sram_reads / max(1, total),
                   ofmap_sram_bw_words_per_cycle=c.ofmap_sram_writes / max(1, total))


__all__ = ["MemoryCounts", "simulate_memory"]
