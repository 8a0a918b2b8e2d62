"""SRAM/DRAM traffic and stalls of one GEMM layer.

DRAM model (analytical, per operand; deliberately not SCALE-Sim's, see docs/engine.md):
- compulsory traffic: every real ifmap word (padding is generated, never fetched), every weight,
  every output word once;
- re-fetch: an operand whose footprint exceeds the active half of its double-buffered SRAM is
  streamed from DRAM once per outer fold that re-reads it (os: ifmap once per column fold, filter
  once per row fold; ws: ifmap once per column fold; is: filter once per column fold); in ws/is a
  partial-sum ofmap that does not fit is written once per row fold;
- CALC mode (SCALE-Sim's): stall-free, reports the DRAM bandwidth the layer needs;
- USER mode: DRAM delivers ``dram_bw_words_per_cycle``; with double buffering, transfers overlap
  compute, so the layer takes max(compute, DRAM time) and the excess is stall cycles.
SCALE-Sim instead walks every demand address through 100 recency "sets", which re-fetches more
(ResNet-18 conv1 on 32x32 os: 326,046 ifmap words against 150,528 compulsory); the validation
report shows both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..arch import Arch
from ..mapping import GemmMapping
from ..workload import Layer, input_elems, output_elems, weight_count


@dataclass(frozen=True)
class MemoryCounts:
    dram_ifmap_reads: int       # words
    dram_filter_reads: int
    dram_ofmap_writes: int
    stall_cycles: int
    dram_bw_needed_words_per_cycle: float


def _refetch(footprint_words: int, sram_words: int, passes: int) -> int:
    # double-buffered: half the SRAM holds the working set while the other half fills
    return 1 if footprint_words <= sram_words // 2 else passes


def simulate_memory(layer: Layer, arch: Arch, mp: GemmMapping, compute_cycles: int) -> MemoryCounts:
    ifmap = mp.batch * input_elems(layer)
    filt = weight_count(layer) - (layer.filters if layer.bias else 0)
    ofmap = mp.batch * output_elems(layer)
    df = mp.dataflow
    if_passes = mp.col_folds if df in ("os", "ws") else 1
    f_passes = mp.row_folds if df == "os" else (mp.col_folds if df == "is" else 1)
    o_passes = mp.row_folds if df in ("ws", "is") else 1
    dram_if = ifmap * _refetch(ifmap, arch.sram_words("ifmap"), if_passes)
    dram_f = filt * _refetch(filt, arch.sram_words("filter"), f_passes)
    dram_o = ofmap * _refetch(ofmap, arch.sram_words("ofmap"), o_passes)
    total = dram_if + dram_f + dram_o
    cycles = max(compute_cycles, 1)
    stall = 0
    if arch.bandwidth_mode == "user":
        stall = max(0, math.ceil(total / arch.dram_bw_words_per_cycle) - cycles)
    return MemoryCounts(dram_if, dram_f, dram_o, stall, total / cycles)
