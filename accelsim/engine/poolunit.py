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
``two_pass`` writes the pooled map to ifmap SRAM first and the conv starts after it
(see ``fuse_structured`` for the pair's cycles, traffic and stalls).
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
    return {
        "pool_cycles": pool_cycles,
        "total_cycles": pool_cycles,
        "pool_adds": batch * sumpool_adds(layer, p.tree),
        **traffic,
        "pool_depth": depth,
        "pool_outputs": outputs,
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

    Both modes write the pooled map into the array-side ifmap buffer, from which the array reads
    its operands as usual; ``fused`` overlaps the tree with the array (the pair takes the slower
    of the two, plus the tree's fill when the array is the slower), ``two_pass`` runs them one
    after the other. The pair's DRAM traffic is the pool unit's input, the conv's weights and
    outputs, and the pooled map only if it does not fit in half the ifmap SRAM. In user-bandwidth
    mode the pair stalls when that traffic takes longer than its compute.

    The pool row's ``total_cycles`` becomes the cycles the pair spends beyond the conv's own,
    so a network's latency is still the sum of its rows' ``total_cycles``.
    """
    pool_row, conv_row = dict(pool_row), dict(conv_row)
    pooled_words = pool_row["pool_outputs"]
    if pooled_words <= arch.sram_words("ifmap") // 2:
        conv_row["dram_ifmap_reads"] = 0
        pool_row["dram_ofmap_writes"] = 0
    else:
        pool_row["dram_ofmap_writes"] = pooled_words
    pool_row["pool_sram_writes"] = pooled_words
    compute = conv_row["compute_cycles"]
    fused = arch.pool.mode == "fused"
    busy = max(pool_row["pool_cycles"], compute) if fused else pool_row["pool_cycles"] + compute
    stall = 0
    if arch.bandwidth_mode == "user":
        words = (pool_row["dram_ifmap_reads"] + pool_row["dram_ofmap_writes"]
                 + conv_row["dram_ifmap_reads"] + conv_row["dram_filter_reads"]
                 + conv_row["dram_ofmap_writes"])
        stall = max(0, math.ceil(words / arch.dram_bw_words_per_cycle) - busy)
    conv_row["stall_cycles"] = stall
    conv_row["total_cycles"] = compute + stall
    pool_bound = pool_row["pool_cycles"] > compute
    if fused:
        pool_row["total_cycles"] = (pool_row["pool_cycles"] - compute if pool_bound
                                    else pool_row["pool_depth"])
    else:
        pool_row["total_cycles"] = pool_row["pool_cycles"]
    if stall > 0:
        bound = "memory"
    elif pool_bound or not fused and pool_row["pool_cycles"] > compute:
        bound = pool_row["bound"]  # the tree's adders ("pool") or its SRAM ports ("memory")
    else:
        bound = "array"
    pool_row["bound"] = conv_row["bound"] = bound
    return pool_row, conv_row
