"""Every per-layer count a table shows (MACs, accumulate adds, sum-pool adds, element-wise
work, tensor sizes), each computed here, once, and reused by the engines and reports."""

from __future__ import annotations

from accelsim.common.errors import require
from accelsim.workload.layer_spec import POOL_TREES, Layer


def output_elems(layer: Layer) -> int:
    K, E, F = layer.out_shape
    return K * E * F


def input_elems(layer: Layer) -> int:
    C, H, W = layer.in_shape
    return C * H * W


def gemm_dims(layer: Layer) -> tuple[int, int, int, int]:
    """(M, N, K, groups) of the im2col GEMM per sample: M output pixels, N filters per group,
    K = (C/g)*R*S window elements per group."""
    require(layer.is_gemm, "not a GEMM layer", field="op", value=layer.op)
    Cin = layer.in_shape[0]
    Kout, E, F = layer.out_shape
    g = layer.groups
    return (E * F, Kout // g, (Cin // g) * layer.kernel[0] * layer.kernel[1], g)


def weight_count(layer: Layer) -> int:
    if not layer.is_gemm:
        return 0
    M, N, K, g = gemm_dims(layer)
    return g * N * K + (layer.filters if layer.bias else 0)


def macs(layer: Layer) -> int:
    """Multiply-accumulates of a conv/linear layer (per sample); 0 for other ops."""
    if not layer.is_gemm:
        return 0
    M, N, K, g = gemm_dims(layer)
    return g * M * N * K


def accumulate_adds(layer: Layer) -> int:
    """Additions that reduce the products of one output: (K_window - 1) per output (design.md
    section 2: Cout*(C*N^2 - 1) per output position), bias not counted."""
    if not layer.is_gemm:
        return 0
    M, N, K, g = gemm_dims(layer)
    return g * M * N * (K - 1)


def sumpool_adds(layer: Layer, tree: str) -> int:
    """Additions of a sum-pooling layer for a given adder-tree kind (design.md section 2).

    direct:    every pooled value is one adder tree over its whole window,
               c*Ho*Wo*(bc*bh*bw - 1).
    separable: channel, then height, then width running windows, each stage reusing nothing
               across outputs but sharing partial sums between stages,
               c*Hp*Wp*(bc-1) + c*Ho*Wp*(bh-1) + c*Ho*Wo*(bw-1).
    running:   the separable stages, but every line of a stage slides its window: the first
               output pays window-1 adds, each further one adds the entering value and
               subtracts the leaving one (2; a subtraction counts as an add); per line the
               cheaper of running and direct (``running_line_adds``). Lines: channel stage, per
               group and padded pixel, c = c_tot/g outputs of window bc; height stage, per pooled
               channel and padded column, Ho outputs of window bh; width stage, per pooled
               channel and output row, Wo outputs of window bw:
               g*Hp*Wp*L(bc, c) + c_tot*Wp*L(bh, Ho) + c_tot*Ho*L(bw, Wo).
    """
    require(layer.op == "sumpool", "not a sumpool layer", field="op", value=layer.op)
    require(tree in POOL_TREES, f"unknown adder tree kind; expected one of {POOL_TREES}",
            field="tree", value=tree)
    c_tot, Ho, Wo = layer.out_shape
    Hp, Wp = layer.padded_hw
    bc = layer.pool_channels
    bh, bw = layer.kernel
    if tree == "direct":
        return c_tot * Ho * Wo * (bc * bh * bw - 1)
    if tree == "running":
        g = layer.groups
        return (g * Hp * Wp * running_line_adds(bc, c_tot // g)
                + c_tot * Wp * running_line_adds(bh, Ho) + c_tot * Ho * running_line_adds(bw, Wo))
    return c_tot * Hp * Wp * (bc - 1) + c_tot * Ho * Wp * (bh - 1) + c_tot * Ho * Wo * (bw - 1)


def line_runs(window: int, outputs: int) -> bool:
    """Whether a line of the running tree slides its window (else it sums each window directly).

    Running costs window-1 + 2*(outputs-1) adds, direct outputs*(window-1); they differ by
    (outputs-1)*(window-3), so windows of 1 and 2 go direct, 3 ties and >= 4 runs. A tie runs:
    same adds, and a sliding line reads window + 2*(outputs-1) taps instead of outputs*window."""
    return window - 1 + 2 * (outputs - 1) <= outputs * (window - 1)


def running_line_adds(window: int, outputs: int) -> int:
    """Adds (subtractions included) of one line of the running tree (``line_runs``)."""
    if line_runs(window, outputs):
        return window - 1 + 2 * (outputs - 1)
    return outputs * (window - 1)


def running_line_reads(window: int, outputs: int) -> int:
    """Taps one line of the running tree reads: a sliding line reads its first window whole, then
    the entering and the leaving value per output; a direct line reads every window whole."""
    if line_runs(window, outputs):
        return window + 2 * (outputs - 1)
    return outputs * window


def running_linebuf_reads(layer: Layer) -> int:
    """Line-buffer reads of the running tree for one image (words).

    The channel stage works on the input words as they arrive from SRAM (each read once, as in
    the separable tree), so only the height stage (lines of Ho over line buffer 1) and the width
    stage (lines of Wo over line buffer 2) read line buffers; writes are the separable tree's,
    c_tot*Hp*Wp + c_tot*Ho*Wp (engine/poolunit.pool_traffic)."""
    require(layer.op == "sumpool", "not a sumpool layer", field="op", value=layer.op)
    c_tot, Ho, Wo = layer.out_shape
    _, Wp = layer.padded_hw
    bh, bw = layer.kernel
    return c_tot * Wp * running_line_reads(bh, Ho) + c_tot * Ho * running_line_reads(bw, Wo)


def elementwise_adds(layer: Layer) -> int:
    """Additions of non-GEMM, non-sumpool layers (vector unit work)."""
    K, E, F = layer.out_shape
    if layer.op == "add":
        return K * E * F
    if layer.op == "avgpool":
        return K * E * F * (layer.kernel[0] * layer.kernel[1] - 1)
    if layer.op == "gap":
        C, H, W = layer.in_shape
        return C * (H * W - 1)
    return 0


def elementwise_mults(layer: Layer) -> int:
    """Multiplies outside the MAC array: element-wise products (squeeze-and-excitation)."""
    if layer.op == "mul":
        return output_elems(layer)
    return 0


def comparisons(layer: Layer) -> int:
    if layer.op == "maxpool":
        K, E, F = layer.out_shape
        return K * E * F * (layer.kernel[0] * layer.kernel[1] - 1)
    return 0
