"""The sum-pooling unit: a dedicated adder tree in front of the MAC array (design.md section 3).

A structured conv is a weight-free sum-pool followed by a small conv (design.md section 2). The
unit produces ``lanes`` pooled values per cycle, reading its input from the ifmap SRAM through
``input_words_per_cycle`` ports:

- direct tree: every lane sums its whole bc*bh*bw window at once, so every pooled value reads its
  window again (no reuse between neighbouring windows) and costs window-1 adds;
- separable tree: channel, then height, then width running windows with line buffers between the
  stages; each input word is read from SRAM once, and the adds are the separable closed form.

Placement: ``fused`` streams pooled values straight into the array's ifmap operand path, so the
pair (sumpool, conv) takes as long as the slower of the two plus the tree's pipeline fill;
``two_pass`` writes the pooled map to ifmap SRAM first and the conv starts after it.
"""

from __future__ import annotations

import math

from ..arch import Arch
from ..mapping import ceil_div
from ..workload import Layer, input_elems, output_elems, sumpool_adds


def _log2c(x: int) -> int:
    return max(0, math.ceil(math.log2(x))) if x > 1 else 0


def pipeline_depth(layer: Layer, arch: Arch) -> int:
    """Adder-tree depth in cycles: one level per doubling of the reduced window, plus one
    line-buffer cycle between separable stages."""
    if arch.pool.pipeline_depth is not None:
        return arch.pool.pipeline_depth
    bc, (bh, bw) = layer.pool_channels, layer.kernel
    if arch.pool.tree == "direct":
        return max(1, _log2c(bc * bh * bw))
    return max(1, _log2c(bc) + _log2c(bh) + _log2c(bw) + 2)


def pool_traffic(layer: Layer, tree: str, batch: int) -> dict:
    """SRAM reads and line-buffer accesses of the pool unit for one sumpool layer."""
    c_tot, Ho, Wo = layer.out_shape
    Hp, Wp = layer.padded_hw
    bc, (bh, bw) = layer.pool_channels, layer.kernel
    outputs = batch * c_tot * Ho * Wo
    if tree == "direct":
        # each pooled value gathers its window; zero padding is generated, not read
        window_real = bc * bh * bw
        pad_frac = (layer.in_shape[1] * layer.in_shape[2]) / (Hp * Wp)
        return {"pool_sram_reads": int(round(outputs * window_real * pad_frac)),
                "linebuf_reads": 0, "linebuf_writes": 0}
    stage1 = batch * c_tot * Hp * Wp
    stage2 = batch * c_tot * Ho * Wp
    return {"pool_sram_reads": batch * input_elems(layer),
            "linebuf_writes": stage1 + stage2,
            "linebuf_reads": stage2 * bh + outputs * bw}


def simulate_sumpool(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    p = arch.pool
    outputs = batch * output_elems(layer)
    traffic = pool_traffic(layer, p.tree, batch)
    adder_cycles = ceil_div(outputs, p.lanes)
    port_cycles = ceil_div(traffic["pool_sram_reads"], p.input_words_per_cycle)
    depth = pipeline_depth(layer, arch)
    pool_cycles = max(adder_cycles, port_cycles) + depth
    two_pass = p.mode == "two_pass"
    return {
        "pool_cycles": pool_cycles,
        "total_cycles": pool_cycles,
        "pool_adds": batch * sumpool_adds(layer, p.tree),
        "pool_sram_writes": outputs if two_pass else 0,
        **traffic,
        "pool_depth": depth,
        "bound": "pool" if adder_cycles >= port_cycles else "memory",
        "dram_ifmap_reads": batch * input_elems(layer),
    }


def sumpool_as_conv(layer: Layer) -> Layer:
    """The sumpool as a conv with all-ones weights, for a machine without a pool unit: within
    each group, c outputs each see the group's C/g channels (zeros outside the channel window are
    still multiplied), bh x bw spatially, stride 1, the sumpool's padding."""
    return Layer(f"{layer.name}", "conv2d", layer.in_shape, layer.out_shape, layer.kernel,
                 (1, 1), layer.padding, groups=layer.groups, c=layer.c, n=layer.n)


def fuse_structured(pool_row: dict, conv_row: dict, arch: Arch) -> tuple[dict, dict]:
    """Account for the pool unit's placement on a (sumpool, conv) pair.

    The pool row's ``total_cycles`` becomes the cycles the pair spends beyond the conv alone, so
    a network's latency is still the sum of its rows' ``total_cycles``.
    """
    pool_row, conv_row = dict(pool_row), dict(conv_row)
    array_cycles = conv_row["total_cycles"]
    if arch.pool.mode == "fused":
        # pooled values never touch SRAM or DRAM: the array takes them from the tree
        conv_row["ifmap_sram_reads"] = 0
        conv_row["dram_ifmap_reads"] = 0
        pool_bound = pool_row["pool_cycles"] > array_cycles
        pool_row["total_cycles"] = max(0, pool_row["pool_cycles"] - array_cycles) + (
            pool_row["pool_depth"] if not pool_bound else 0)
        if pool_bound:
            bound = pool_row["bound"]  # the tree's adders or its SRAM ports
        else:
            bound = "memory" if conv_row.get("stall_cycles", 0) > 0 else "array"
    else:
        # two-pass: the pooled map sits in ifmap SRAM; the conv then reads it on chip
        conv_row["dram_ifmap_reads"] = 0
        bound = pool_row["bound"] if pool_row["pool_cycles"] > array_cycles else (
            "memory" if conv_row.get("stall_cycles", 0) > 0 else "array")
    pool_row["bound"] = conv_row["bound"] = bound
    return pool_row, conv_row
