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
  costs O(1). _walk_kernel runs CALC for ifmap units above _MAX_UNIT slots with its own
  shortcuts (all-hit folds skipped, _repeat_closed_form), and is the tests' reference.

USER mode (``Bandwidth`` words/cycle; SCALE-Sim's ``read_buffer``): the prefetch matrix is cut
  into sets of ceil(words/100) entries; a window of active sets rotates by the prefetch sets on
  every miss, each rotation costs ceil(prefetch half / bw) lines of bw words and delivers its last
  line one cycle after the previous one ends, and the row waits for it. SCALE-Sim 2.0.2 adds that
  wait even when it is negative (``potential_stall_cycles``); copied, see docs/memory.md.
  USER runs in _user_engine (user.py), exact against _walk_kernel: the misses of each read
  buffer from its prefetch matrix's runs, walked word by word only where the window does not
  cover a row, then the write buffer event to event with the miss rows as events.

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
from collections import namedtuple
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from accelsim.common.errors import InputError
from accelsim.engine.mapping import GemmMapping
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer
from accelsim.workload.layer_spec import nameless
from ..operands import ifmap_addressing_memo, unique_ifmap_words
from ..systolic import sram_accesses
# DF_CODE stays importable from here: engine/poolsched/ uses it
from .addresses import DF_CODE, Folds, Im2col, _ifmap_fold_span, geometry  # noqa: F401
from .calc import _MAX_UNIT, _calc_engine
from .calc_epochs import _valid_prefix
from .readbuf import (ACTIVE_SETS, CALC_FILL_WORDS_PER_CYCLE, SETS, ReadBuffer,  # noqa: F401
                      _fetch_sequence, no_read_buffer, read_buffer, user_read_buffer)
from .user import _user_engine
from .walk import _walk_kernel


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


# the walk's buffers (words; user: USER mode with SCALE-Sim's stall model; P_*: CALC set size;
# of_bw / rd_bw: the write buffer's and the USER read buffers' DRAM line)
Buffers = namedtuple("Buffers", "user if_words f_words if_space f_space P_if P_f of_words of_bw "
                                "rd_bw")
# the walk's shortcuts, each of which a test can switch off to compare with the plain walk:
# nowalk_*: CALC operand below one epoch (closed form; if_span: first/last fold reading the
# ifmap); dist_*: every slot a distinct address (dist_f False: the plain walk for CALC);
# events: USER mode event by event (user.py; False: the plain walk)
FastPaths = namedtuple("FastPaths", "nowalk_if nowalk_f if_span dist_if dist_f events")


def _user_buffer(folds, im2col, ifmap: bool, bufs: Buffers, engine: bool):
    """A USER read buffer over the operand's prefetch matrix: for the event engine (user.py),
    with whether every slot inside the operand holds a word (no padding), or, with its
    per-address set lists, for the plain walk."""
    words, space = (bufs.if_words, bufs.if_space) if ifmap else (bufs.f_words, bufs.f_space)
    if not engine:
        return read_buffer(_fetch_sequence(folds, im2col, ifmap), words, space, bufs.rd_bw)
    n_valid, box = space, True       # every filter word once, none missing
    if ifmap:     # valid (pixel, window element) slots: each once in the prefetch matrix
        n_valid = int(_valid_prefix(folds, im2col)[0][-1])
        box = n_valid == folds.pixels * folds.window
        n_valid *= folds.groups
    return user_read_buffer(folds, im2col, ifmap, words, bufs.rd_bw, n_valid, box), box


def _walk(folds, im2col, bufs: Buffers, paths: FastPaths):
    """The walk's 32 results. CALC mode goes to _calc_engine (exact, docs/memory.md "Speed"),
    USER mode to _user_engine (exact, user.py), unless the tests switch that path off
    (paths.dist_f False for CALC, paths.events False for USER): then _walk_kernel walks every
    address, the plain reference the tests compare against.
    CALC fields of an operand below one epoch (nowalk) that the caller replaces by closed forms
    (boundaries, words in the last epoch) are returned as 0."""
    user = bufs.user
    nowalk_if, nowalk_f = paths.nowalk_if, paths.nowalk_f
    if user and paths.events:
        (if_buf, if_box), (f_buf, f_box) = (_user_buffer(folds, im2col, True, bufs, True),
                                            _user_buffer(folds, im2col, False, bufs, True))
        return _user_engine(folds, im2col, bufs.of_words, bufs.of_bw, bufs.rd_bw,
                            (if_buf, f_buf), (paths.dist_if, True), (if_box, f_box),
                            (bufs.if_space, bufs.f_space))
    E_if, E_f = ACTIVE_SETS * bufs.P_if, ACTIVE_SETS * bufs.P_f   # epoch: new words per slide
    fast = (not user and paths.dist_f
            and (nowalk_if or paths.dist_if or folds.pixels * folds.window <= _MAX_UNIT)
            and bufs.if_space < 2 ** 31)
    if fast:
        res = _calc_engine(folds, im2col, bufs.if_space, E_if, E_f, bufs.of_words, bufs.of_bw,
                           nowalk_if, nowalk_f, paths.if_span, paths.dist_if)
    else:
        if user:
            if_buf = _user_buffer(folds, im2col, True, bufs, False)
            f_buf = _user_buffer(folds, im2col, False, bufs, False)
        else:
            if_buf, f_buf = no_read_buffer(bufs.if_words), no_read_buffer(bufs.f_words)
        res = _walk_kernel(folds, im2col, bufs, paths, E_if, E_f, if_buf, f_buf)
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
    AC = mp.array_cols
    ad = ifmap_addressing_memo(layer, mp.batch)
    G = mp.groups
    N, K = mp.N, mp.K
    df = DF_CODE[mp.dataflow]
    if_words, f_words, of_words = (arch.sram_words("ifmap"), arch.sram_words("filter"),
                                   arch.sram_words("ofmap"))
    user = arch.bandwidth_mode == "user"
    if user and arch.stall_model == "overlap":
        return _overlap(layer, arch.with_(bandwidth_mode="calc"), mp,
                        arch.dram_bw_words_per_cycle)
    f_space = G * N * K
    folds, im2col = geometry(mp, ad, df)
    if user:
        rd_bw = of_bw = user_line_words(arch)
    else:
        rd_bw, of_bw = 1, AC     # CALC drains the ofmap at one array row per cycle
    P_if, P_f = if_words // SETS, f_words // SETS
    # operands below one epoch (E = 50*P new words) never slide the window: DRAM reads are
    # their unique words, no walk needed
    uniq_if, uniq_f = unique_ifmap_words(layer, mp.batch), f_space
    nowalk_if = (not user) and (P_if == 0 or uniq_if < ACTIVE_SETS * P_if)
    nowalk_f = (not user) and (P_f == 0 or uniq_f < ACTIVE_SETS * P_f)
    if_span = np.zeros(2, dtype=np.int64)
    if nowalk_if:
        if_span = _ifmap_fold_span(folds, im2col)
    # every valid ifmap slot is a distinct word when windows do not overlap
    dist_if = layer.kernel[0] <= layer.stride[0] and layer.kernel[1] <= layer.stride[1]
    res = _walk(folds, im2col,
                Buffers(user, if_words, f_words, ad.space, f_space, P_if, P_f, of_words, of_bw,
                        rd_bw),
                FastPaths(nowalk_if, nowalk_f, if_span, dist_if, True, True))
    res = res.tolist()      # Python ints
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
    c = _calc_walk(nameless(layer), calc_arch.with_(
        name="", source="", dram_bw_words_per_cycle=10.0, stall_model="scalesim"), mp)
    words = c.dram_ifmap_reads + c.dram_filter_reads + c.dram_ofmap_writes
    stall = max(0, math.ceil(words / bw) - c.total_cycles)
    total = c.total_cycles + stall
    return replace(c, stall_cycles=stall, total_cycles=total,
                   ifmap_sram_bw_words_per_cycle=c.ifmap_sram_reads / max(1, total),
                   filter_sram_bw_words_per_cycle=c.filter_sram_reads / max(1, total),
                   ofmap_sram_bw_words_per_cycle=c.ofmap_sram_writes / max(1, total))


__all__ = ["MemoryCounts", "simulate_memory"]
