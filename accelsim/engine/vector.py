"""The vector unit: element-wise adds and products, activations, pooling, global average pool.

``vector_lanes`` elements per cycle; operands come from and go back to on-chip SRAM (these ops
sit on the producing layer's output path, as on most NPUs, so they add no DRAM traffic).
"""

from __future__ import annotations

from accelsim.hardware.arch import Arch
from accelsim.engine.mapping import ceil_div
from accelsim.workload.layer import Layer, comparisons, elementwise_adds, elementwise_mults, input_elems, output_elems


def vector_work(layer: Layer) -> tuple[int, int]:
    """(element operations, SRAM words read) per sample."""
    out = output_elems(layer)
    if layer.op in ("add", "mul"):
        second = layer.out_shape[0] if layer.op == "mul" else out  # SE scale is C x 1 x 1
        return out, out + second
    if layer.op == "act":
        return out, out
    if layer.op in ("maxpool", "avgpool"):
        win = layer.kernel[0] * layer.kernel[1]
        return out * win, out * win
    if layer.op == "gap":
        return input_elems(layer), input_elems(layer)
    return 0, 0


def simulate_vector(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    ops, reads = vector_work(layer)
    cycles = ceil_div(batch * ops, arch.vector_lanes) if ops else 0
    return {
        "vector_cycles": cycles,
        "total_cycles": cycles,
        "vector_ops": batch * ops,
        "adds": batch * elementwise_adds(layer),
        "mults": batch * elementwise_mults(layer),
        "comparisons": batch * comparisons(layer),
        "vector_sram_reads": batch * reads,
        "vector_sram_writes": batch * output_elems(layer),
        "bound": "vector",
    }
