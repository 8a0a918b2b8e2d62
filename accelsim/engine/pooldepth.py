"""The sum-pool unit's pipeline depth: the cycles from a window's first word to its pooled value.

Its own module because both pool-unit models read it: the closed form (engine/poolunit.py) and
the cycle-level pair (engine/poolsched/), which poolunit itself calls.
"""

from __future__ import annotations

import math

from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _log2c(x: int) -> int:
    return math.ceil(math.log2(x)) if x > 1 else 0


def pipeline_depth(layer: Layer, arch: Arch) -> int:
    """Latency in cycles from a window's first word to its pooled value.

    direct: one cycle per adder level, ceil(log2(bc*bh*bw)), plus the SRAM read cycle;
    separable: each stage is its own tree (ceil(log2) levels of its window) and each line
    buffer between stages adds one write->read cycle, plus the SRAM read cycle."""
    if arch.pool.pipeline_depth is not None:
        return arch.pool.pipeline_depth
    bc, (bh, bw) = layer.pool_channels, layer.kernel
    if arch.pool.tree == "direct":
        return 1 + _log2c(bc * bh * bw)
    if arch.pool.tree == "running":
        # each sliding stage adds the entering value, then subtracts the leaving one
        return 1 + 2 * sum(w > 1 for w in (bc, bh, bw)) + 2
    return 1 + _log2c(bc) + _log2c(bh) + _log2c(bw) + 2
