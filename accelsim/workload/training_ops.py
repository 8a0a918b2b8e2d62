"""The ops of a training step beyond the forward pass, built from the layers: the backward
pass (backward-data and backward-weight GEMMs, the vector-unit backward ops, a sum-pool's
backward on the pool unit) and the words kept for it (docs/training.md). Each piece is a
``StepOp``: a ``Layer`` the engines already know plus the engine batch it runs at, the part of
the step it belongs to and the network layer it comes from. ``evaluate/training.py`` runs them.

Per conv/linear layer of B samples, channels first, C -> K channels, kernel R x S, stride s,
padding p, g groups, input H x W, output E x F:

  forward          the layer:                     M = B*E*F,       K = (C/g)*R*S,   N = K/g
  backward-data    dX as the transposed conv, split by stride phase (a, b) in s_h x s_w into
                   stride-1 convs over dY with the taps r = a + p (mod s):
                                                  M = B*H_a*W_b,   K = (K/g)*R_a*S_b, N = C/g
  backward-weight  dW as a conv of the input (batch B as channels) with dY as the kernel, per
                   kernel-tap phase: M = (C/g)*R_a*S_b, K = B*E*F, N = K/g

Stride-1 layers have one phase (dX is one conv with padding R-1-p); MACs of the dX phases add
up to E*F*R*S per channel pair (the forward count, as torch counts), those of dW to the forward
count exactly. The first layer's dX is not computed (the image needs no gradient).

Non-GEMM backward ops run on the vector unit (ReLU mask, max/avg-pool, global-pool, SE scale,
the residual fan-out sum, bias sums); a structured layer's sum-pool backward is a sum-pool of
its gradient with the flipped (the same all-ones) window and channel padding bc-1 on the pool
unit (``sumpool_backward_layer``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from accelsim.common.errors import require
from accelsim.workload.layer import Layer, Workload, input_elems, macs, output_elems, weight_count

PARTS = ("forward", "backward_data", "backward_weight", "regularizer", "optimizer",
         "activations")
# ops whose backward is modelled, per mode: a sum-pool only exists in a structured trace
_BACKWARD_OPS = {"conv2d", "linear", "maxpool", "avgpool", "add", "mul", "act", "gap"}


@dataclass(frozen=True)
class StepOp:
    """One piece of a training step: ``layer`` run by its engine at ``batch`` samples."""

    name: str
    part: str
    layer: Layer
    batch: int
    gemm: str = ""          # fwd | dx | dw | reg for MAC-array GEMMs, "" otherwise
    source: str = ""        # the network layer it belongs to
    extra: tuple = ()       # (column, value) pairs added to the engine's row (DRAM traffic)


# ---- backward GEMMs ---------------------------------------------------------------------
def _phases(size_in: int, size_out: int, kernel: int, stride: int, pad: int):
    """Stride phases of a transposed conv along one axis: (H_a, R_a, d_a, a) for each input
    residue a with at least one tap. Input position y = a + s*t receives dY[t + d - j] * w[r0 +
    s*j], j < R_a, with r0 = (a + p) mod s and d = (a + p - r0) / s."""
    out = []
    for a in range(stride):
        h_a = len(range(a, size_in, stride))
        r0 = (a + pad) % stride
        r_a = len(range(r0, kernel, stride))
        if h_a and r_a:
            out.append((h_a, r_a, (a + pad - r0) // stride, a))
    return out


def _phase_extent(h_a: int, r_a: int, d: int, size_out: int) -> tuple[int, int]:
    """(input extent, symmetric padding) of one phase conv over dY: symmetric zero padding when
    the phase needs the same border on both sides, else the window extent as its input."""
    left = r_a - 1 - d
    right = h_a - 1 + d - (size_out - 1)
    if left == right and left >= 0:
        return size_out, left
    return h_a + r_a - 1, 0


def dx_ops(layer: Layer, batch: int) -> list[StepOp]:
    """Backward-data GEMMs of a conv/linear layer (one per stride phase with taps)."""
    C, H, W = layer.in_shape
    K, E, F = layer.out_shape
    if layer.op == "linear":
        return [StepOp(f"{layer.name}.dx", "backward_data",
                       Layer(f"{layer.name}.dx", "linear", (K, 1, 1), (C, 1, 1)), batch, "dx",
                       layer.name)]
    (R, S), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    ops = []
    for h_a, r_a, dh, a in _phases(H, E, R, sh, ph):
        for w_b, s_b, dw, b in _phases(W, F, S, sw, pw):
            eh, qh = _phase_extent(h_a, r_a, dh, E)
            ew, qw = _phase_extent(w_b, s_b, dw, F)
            if (qh > 0 and ew != F) or (qw > 0 and eh != E):
                # one axis padded, the other given as its window extent: both as extents
                eh, qh, ew, qw = h_a + r_a - 1, 0, w_b + s_b - 1, 0
            tag = "" if sh == sw == 1 else f"[{a},{b}]"
            name = f"{layer.name}.dx{tag}"
            ops.append(StepOp(name, "backward_data",
                              Layer(name, "conv2d", (K, eh, ew), (C, h_a, w_b), (r_a, s_b),
                                    (1, 1), (qh, qw), groups=layer.groups),
                              batch, "dx", layer.name))
    return ops


def _batch_chunks(batch: int, per_sample: int) -> list[int]:
    """Split ``batch`` so that a dW kernel (dY of a chunk) stays within MAX_TENSOR_ELEMS: the
    chunks' partial dW are summed (the GEMM's K split in parts)."""
    from accelsim.common.errors import MAX_TENSOR_ELEMS

    parts = max(1, -(-batch * per_sample // MAX_TENSOR_ELEMS))
    base, rem = divmod(batch, parts)
    return [base + (1 if i < rem else 0) for i in range(parts)]


def dw_ops(layer: Layer, batch: int) -> list[StepOp]:
    """Backward-weight GEMMs: a conv of the layer's input (the B samples as input channels,
    each of the C/g channels of a group as one engine sample) with dY as a K x B x E x F kernel,
    one conv per kernel-tap phase (r = a + s*j) so that every conv has stride 1; a batch whose
    dY exceeds one operand's size limit is split, and the partial dW are summed."""
    C, H, W = layer.in_shape
    K, E, F = layer.out_shape
    g = layer.groups
    if layer.op == "linear":
        lay = Layer(f"{layer.name}.dw", "conv2d", (batch, 1, 1), (K, 1, 1))
        return [StepOp(lay.name, "backward_weight", lay, C, "dw", layer.name)]
    (R, S), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    chunks = _batch_chunks(batch, K * E * F)
    ops = []
    for ci, bc in enumerate(chunks):
        tag = f"#{ci}" if len(chunks) > 1 else ""
        if sh == sw == 1:
            name = f"{layer.name}.dw{tag}"
            lay = Layer(name, "conv2d", (g * bc, H, W), (K, R, S), (E, F), (1, 1), (ph, pw),
                        groups=g)
            ops.append(StepOp(name, "backward_weight", lay, C // g, "dw", layer.name))
            continue
        for a in range(min(sh, R)):
            r_a = len(range(a, R, sh))
            for b in range(min(sw, S)):
                s_b = len(range(b, S, sw))
                name = f"{layer.name}.dw[{a},{b}]{tag}"
                lay = Layer(name, "conv2d", (g * bc, E + r_a - 1, F + s_b - 1), (K, r_a, s_b),
                            (E, F), (1, 1), (0, 0), groups=g)
                ops.append(StepOp(name, "backward_weight", lay, C // g, "dw", layer.name))
    if len(chunks) > 1:
        nw = weight_count(replace(layer, bias=False))
        ops += _vec_count(f"{layer.name}.dw_sum", "add", (len(chunks) - 1) * nw, layer.name,
                          "backward_weight")
    return ops


def gemm_mkn(op: StepOp) -> tuple[int, int, int, int]:
    """(M, K, N, groups) of a GEMM step op, engine batch folded into M."""
    from accelsim.workload.layer import gemm_dims

    m, n, k, g = gemm_dims(op.layer)
    return (m * op.batch, k, n, g)


def gemm_macs(op: StepOp) -> int:
    return op.batch * macs(op.layer)


# ---- sum-pool backward (direct mode) ----------------------------------------------------
def sumpool_backward_layer(fwd: Layer) -> Layer:
    """The gradient of a sumpool as a sumpool of dS with the same all-ones window: per group
    the c pooled channels padded with bc-1 zero channels on each side (given as input channels:
    the Layer has no channel padding), spatially padded by bh-1-p (cropped when negative), so
    the output is the C x H x W input gradient."""
    require(fwd.op == "sumpool", "not a sumpool layer", field="op", value=fwd.op)
    C, H, W = fwd.in_shape
    ctot, Ho, Wo = fwd.out_shape
    g, bc = fwd.groups, fwd.pool_channels
    c = ctot // g
    sizes, pads = [], []
    for so, k, p in ((Ho, fwd.kernel[0], fwd.padding[0]), (Wo, fwd.kernel[1], fwd.padding[1])):
        q = k - 1 - p
        sizes.append(so if q >= 0 else so + 2 * q)
        pads.append(max(q, 0))
    return Layer(f"{fwd.name}.bwd", "sumpool", (g * (c + 2 * (bc - 1)), *sizes), (C, H, W),
                 fwd.kernel, (1, 1), tuple(pads), groups=g, pool_channels=bc)


def apply_sumpool_backward(grad, bwd: Layer):
    """dX from dS (float tensor B x g*c x Ho x Wo) exactly as ``bwd`` describes it."""
    import torch.nn.functional as F

    from accelsim.workload.structured import sumpool

    b, ctot, ho, wo = grad.shape
    g = bwd.groups
    c = ctot // g
    cin = bwd.in_shape[0] // g
    pc = (cin - c) // 2
    x = grad.reshape(b, g, c, ho, wo)
    x = F.pad(x, (0, 0, 0, 0, pc, pc)).reshape(b, g * cin, ho, wo)
    crop = [(ho - bwd.in_shape[1]) // 2, (wo - bwd.in_shape[2]) // 2]
    x = x[:, :, crop[0]:ho - crop[0], crop[1]:wo - crop[1]]
    qh, qw = bwd.padding
    x = F.pad(x, (qw, qw, qh, qh))
    return sumpool(x, bwd.pool_channels, bwd.kernel, g)


# ---- the vector-unit backward ops ----------------------------------------------------------
def _vec(name: str, op: str, shape, source: str, batch: int, part: str = "backward_data",
         out=None) -> StepOp:
    shape = tuple(shape)
    return StepOp(name, part, Layer(name, op, shape, tuple(out or shape)), batch, "", source)


def _vec_count(name: str, op: str, count: int, source: str, part: str) -> list[StepOp]:
    """``count`` element operations of kind ``op`` on the vector unit as one or two rows of a
    Layer of at most 2^20 elements times an engine batch (an operand's size limit is per
    sample)."""
    unit = 1 << 20
    q, r = divmod(count, unit)
    ops = []
    if q:
        ops.append(StepOp(name, part, Layer(name, op, (unit, 1, 1), (unit, 1, 1)), q, "",
                          source))
    if r:
        nm = f"{name}+" if q else name
        ops.append(StepOp(nm, part, Layer(nm, op, (r, 1, 1), (r, 1, 1)), 1, "", source))
    return ops


def _fanout_shape(layers: tuple[Layer, ...], i: int) -> tuple[int, int, int]:
    """The tensor whose gradient the residual add at ``i`` makes two of (they are summed where
    it fanned out): the add's own shape for an identity shortcut, the projection's input when
    the add follows two GEMMs of its shape (the branch's last conv, then the shortcut conv)."""
    gemms = [l for l in layers[:i] if l.op != "sumpool"][-2:]
    add = layers[i]
    if (len(gemms) == 2 and all(l.is_gemm and l.out_shape == add.out_shape for l in gemms)):
        shortcut = gemms[1]
        j = layers.index(shortcut)
        if j > 0 and layers[j - 1].op == "sumpool" and layers[j - 1].name.startswith(
                shortcut.name):
            shortcut = layers[j - 1]
        return shortcut.in_shape
    return add.out_shape


def backward_ops(wl: Workload, batch: int, mode: str) -> list[StepOp]:
    """Backward pass of ``wl`` (reverse layer order): dX and dW GEMMs, vector-unit ops, and in
    ``direct`` mode the sum-pools' backward on the pool unit."""
    layers = wl.layers
    # the layers that read the network input need no input gradient
    first = {0} | ({1} if layers and layers[0].op == "sumpool" else set())
    ops: list[StepOp] = []
    for i in range(len(layers) - 1, -1, -1):
        l = layers[i]
        if l.op == "sumpool":
            require(mode == "direct", f"op 'sumpool' has no backward model in mode '{mode}' "
                    "(dense training of an already structured trace); train it with --mode "
                    "direct or give the dense network and --variant", source=wl.network,
                    field="layer", value=l.name)
            if i not in first:
                bl = sumpool_backward_layer(l)
                ops.append(StepOp(bl.name, "backward_data", bl, batch, "", l.name))
            continue
        require(l.op in _BACKWARD_OPS, "op has no backward model", source=wl.network,
                field=l.name, value=l.op)
        if l.is_gemm:
            if i not in first:
                ops += dx_ops(l, batch)
            ops += dw_ops(l, batch)
            if l.bias:
                ops.append(StepOp(f"{l.name}.dbias", "backward_weight",
                                  Layer(f"{l.name}.dbias", "gap", l.out_shape,
                                        (l.out_shape[0], 1, 1), l.out_shape[1:]),
                                  batch, "", l.name))
        elif l.op == "act":
            ops.append(_vec(f"{l.name}.bwd", "add", l.out_shape, l.name, batch))
        elif l.op == "maxpool":
            ops.append(_vec(f"{l.name}.bwd", "add", l.out_shape, l.name, batch))
        elif l.op == "avgpool":
            ops.append(StepOp(f"{l.name}.bwd", "backward_data", replace(l, name=f"{l.name}.bwd"),
                              batch, "", l.name))
        elif l.op == "gap":
            ops.append(_vec(f"{l.name}.bwd", "mul", l.in_shape, l.name, batch))
        elif l.op == "mul":
            ops.append(_vec(f"{l.name}.bwd", "mul", l.out_shape, l.name, batch))
            ops.append(_vec(f"{l.name}.bwd_scale", "mul", l.out_shape, l.name, batch))
            ops.append(StepOp(f"{l.name}.bwd_scale_sum", "backward_data",
                              Layer(f"{l.name}.bwd_scale_sum", "gap", l.out_shape,
                                    (l.out_shape[0], 1, 1), l.out_shape[1:]), batch, "", l.name))
        elif l.op == "add":
            ops.append(_vec(f"{l.name}.bwd", "add", _fanout_shape(layers, i), l.name, batch))
    return ops


def activation_words(wl: Workload, batch: int, word_bits: int) -> int:
    """Words kept from the forward pass for the backward: every GEMM's input (its dW needs it;
    for a structured conv that is the pooled map, the weight-free sum-pool keeps nothing),
    a 1-bit mask per activation output, a max-pool index per output, both SE operands."""
    words = 0
    mask_bits = 0
    for l in wl.layers:
        if l.is_gemm:
            words += input_elems(l)
        elif l.op == "act":
            mask_bits += output_elems(l)
        elif l.op == "maxpool":
            words += output_elems(l)
        elif l.op == "mul":
            words += output_elems(l) + l.out_shape[0]
    return batch * words + math.ceil(batch * mask_bits / word_bits)
