"""One training step on the accelerator: forward, backward-data, backward-weight, the structural
regularizer and the SGD-momentum update, as layers the existing engines run (docs/training.md).

Every piece is a ``StepOp``: a ``Layer`` the engines already know (``simulate.simulate_layer``)
plus the engine batch it runs at, the part of the step it belongs to and the network layer it
comes from. The forward pass is ``simulate.simulate`` of the workload itself (so it is the
inference result, pool-unit fusion included). Per conv/linear layer of B samples, channels
first, C -> K channels, kernel R x S, stride s, padding p, g groups, input H x W, output E x F:

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

The regularizer (mode ``regularized``): per structured layer and step, ``||W - P W|| / ||W||``
with P = A A^+ = P_c (x) P_h (x) P_w, a Kronecker product of per-axis projections onto the
span of all-ones windows; each axis is applied the cheapest exact way of three (dense P,
I - Q Q^T with Q the (L - m)-column null basis, or B (B^T B)^-1 B^T with window sums and a
banded Cholesky solve), and the gradient needs no second projection:
grad = r / (||r|| ||W||) - ||r|| W / ||W||^3 with r = W - P W (I - P is a symmetric
idempotent, so (I - P)^T r = r).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from accelsim.hardware.arch import Arch
from accelsim.common.errors import InputError, check_batch, require
from accelsim.workload.layer import Layer, Workload, input_elems, macs, output_elems, weight_count

MODES = ("regular", "regularized", "direct")
PARTS = ("forward", "backward_data", "backward_weight", "regularizer", "optimizer",
         "activations")
# ops whose backward is modelled, per mode: a sum-pool only exists in a structured trace
_BACKWARD_OPS = {"conv2d", "linear", "maxpool", "avgpool", "add", "mul", "act", "gap"}
AXIS_METHODS = ("identity", "dense", "complement", "factored")


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


# ---- the regularizer: P = A A^+ per axis --------------------------------------------------
def _band_counts(L: int, m: int) -> dict:
    """Operation counts of applying the projection onto the span of the m all-ones windows of
    width b = L - m + 1 to one length-L vector, for each exact method (docs/training.md)."""
    b = L - m + 1
    if m == L:
        return {"identity": {"macs": 0, "mults": 0, "adds": 0}}
    w = min(b, m) - 1                         # half-bandwidth of the Gram matrix B^T B
    solve = 2 * (w * m - w * (w + 1) // 2)    # banded forward + backward substitution
    return {
        "dense": {"macs": L * L, "mults": 0, "adds": 0},
        "complement": {"macs": 2 * L * (L - m), "mults": 0, "adds": L},
        # B^T: m window sums (direct, or running sums); solve; B: L sums of <= b values
        "factored": {"macs": solve, "mults": 2 * m,
                     "adds": min(m * (b - 1), L + m - 2) + min(m * b - L, L + m - 2)},
    }


def _ops(c: dict) -> int:
    return 2 * c["macs"] + c["mults"] + c["adds"]


@lru_cache(maxsize=4096)
def axis_method(L: int, m: int) -> str:
    """The cheapest exact method (fewest operations, a MAC counted as two) for one axis."""
    counts = _band_counts(L, m)
    return min(counts, key=lambda k: (_ops(counts[k]), AXIS_METHODS.index(k)))


def _layer_axes(layer: Layer, c: int, n: int) -> list[tuple[str, int, int]]:
    """(axis, L, m) of a dense kernel structured with (c, n): channels per group, height,
    width."""
    cg = layer.in_shape[0] // layer.groups
    if layer.op == "linear":
        return [("c", cg, c)]
    R, S = layer.kernel
    return [("c", cg, c), ("h", R, min(n, R)), ("w", S, min(n, S))]


def regularizer_counts(layer: Layer, c: int, n: int, arch: Arch | None = None) -> dict:
    """Operations of one layer's regularizer per step, axis by axis: the method (the fewest
    operations, or with ``arch`` the fewest cycles on that machine) and its counts."""
    nw = weight_count(replace(layer, bias=False))
    out = {"weights": nw, "axes": []}
    for axis, L, m in _layer_axes(layer, c, n):
        vecs = nw // L
        meth = axis_method(L, m) if arch is None else _axis_method_cycles(L, m, vecs, arch)
        cnt = _band_counts(L, m)[meth]
        out["axes"].append({"axis": axis, "L": L, "m": m, "method": meth, "vectors": vecs,
                            **{k: v * vecs for k, v in cnt.items()}})
    return out


def _axis_ops(name: str, axis: str, L: int, m: int, vecs: int, meth: str) -> list[StepOp]:
    """One axis of P applied to ``vecs`` vectors of length L: dense P and the complement's two
    thin GEMMs on the MAC array (a 1x1 conv over a vecs x 1 map), the factored form's window
    sums and banded solves on the vector unit."""
    c = _band_counts(L, m)[meth]
    tag = f"{name}.reg.P{axis}"
    ops = []

    def vec(t, op, count):
        ops.extend(_vec_count(f"{tag}.{t}", op, count, name, "regularizer"))

    def gemm(t, k, n_):
        lay = Layer(f"{tag}{t}", "conv2d", (k, vecs, 1), (n_, vecs, 1))
        ops.append(StepOp(lay.name, "regularizer", lay, 1, "reg", name))

    if meth == "dense":
        gemm("", L, L)
    elif meth == "complement":
        gemm(".Qt", L, L - m)
        gemm(".Q", L - m, L)
        vec("sub", "add", c["adds"] * vecs)
    elif meth == "factored":
        vec("solve_mul", "mul", (c["macs"] + c["mults"]) * vecs)
        vec("solve_add", "add", c["macs"] * vecs)
        vec("sums", "add", c["adds"] * vecs)
    return ops


@lru_cache(maxsize=4096)
def _axis_method_cycles(L: int, m: int, vecs: int, arch: Arch) -> str:
    """The exact method with the fewest cycles on ``arch`` (ties: fewer operations)."""
    from accelsim.evaluate.simulate import simulate_layer

    counts = _band_counts(L, m)

    def cycles(meth):
        return sum(simulate_layer(o.layer, arch, o.batch)["total_cycles"]
                   for o in _axis_ops("x", "a", L, m, vecs, meth))

    return min(counts, key=lambda k: (cycles(k), _ops(counts[k]), AXIS_METHODS.index(k)))


def regularizer_ops(layer: Layer, c: int, n: int, weights_on_chip: bool,
                    arch: Arch | None = None) -> list[StepOp]:
    """The regularizer's work for one dense layer the recipe structures with (c, n), per step
    whatever the batch: each axis of P by ``regularizer_counts``' method, then the residual,
    both norms and the gradient on the vector unit."""
    rc = regularizer_counts(layer, c, n, arch)
    nw = rc["weights"]
    name = layer.name
    ops: list[StepOp] = []
    for ax in rc["axes"]:
        ops += _axis_ops(name, ax["axis"], ax["L"], ax["m"], ax["vectors"], ax["method"])
    # r = W - PW; ||r||^2 and ||W||^2 (2 MACs per weight); dW += a*r + b*W (2 MACs per weight)
    ops += _vec_count(f"{name}.reg.residual", "add", nw, name, "regularizer")
    ops += _vec_count(f"{name}.reg.norms_grad_mul", "mul", 4 * nw, name, "regularizer")
    ops += _vec_count(f"{name}.reg.norms_grad_add", "add", 4 * nw, name, "regularizer")
    if not weights_on_chip:
        # W read for the projection, r written and read back for the gradient pass
        first = ops[0]
        ops[0] = replace(first, extra=first.extra + (("dram_filter_reads", 2 * nw),
                                                     ("dram_ofmap_writes", nw)))
    return ops


@lru_cache(maxsize=256)
def _axis_operator(L: int, m: int, meth: str):
    """The shape-only factors of one axis's projection (float64, cached: they depend on
    (L, m) alone, so a training loop builds them once): dense P, the null basis Q, or the
    band B with the Cholesky factor of B^T B. Callers must not mutate them."""
    import torch

    from accelsim.workload.structured import _band

    B = _band(L, m)
    if meth == "dense":
        return (B @ torch.linalg.pinv(B),)
    if meth == "complement":
        U, _, _ = torch.linalg.svd(B, full_matrices=True)
        return (U[:, m:].contiguous(),)
    if meth == "factored":
        return (B, torch.linalg.cholesky(B.T @ B))
    raise InputError("unknown projection method", field="method", value=meth)


def project(w, c: int, n, methods: dict | None = None):
    """P W = A A^+ W for a Cout x C x N_h x N_w (or Cout x C) tensor, one axis at a time, each
    by ``axis_method`` (or ``methods[axis]``): the computation the counts above describe."""
    import torch

    two_d = w.dim() == 2
    if two_d:
        w = w.reshape(*w.shape, 1, 1)
    _, C, Nh, Nw = w.shape
    nh, nw_ = (n, n) if not isinstance(n, (tuple, list)) else n
    out = w
    for dim, (axis, L, m) in zip((1, 2, 3), (("c", C, c), ("h", Nh, min(nh, Nh)),
                                             ("w", Nw, min(nw_, Nw)))):
        if m == L:
            continue
        meth = (methods or {}).get(axis) or axis_method(L, m)
        ops = [t.to(dtype=w.dtype, device=w.device) for t in _axis_operator(L, m, meth)]
        x = out.movedim(dim, -1)
        if meth == "dense":
            x = x @ ops[0].T
        elif meth == "complement":
            Q = ops[0]
            x = x - (x @ Q) @ Q.T
        else:
            B, chol = ops
            t = (x @ B).unsqueeze(-1)                      # B^T x: the m window sums
            y = torch.linalg.solve_triangular(chol, t, upper=False)
            y = torch.linalg.solve_triangular(chol.T, y, upper=True).squeeze(-1)
            x = y @ B.T                                    # B y: back to length L
        out = x.movedim(-1, dim)
    return out.reshape(out.shape[0], C) if two_d else out


def regularizer_grad(w, c: int, n, methods: dict | None = None):
    """(loss, dloss/dW) of ||W - PW|| / ||W|| without a second projection (see module doc)."""
    import torch

    r = w - project(w, c, n, methods)
    nr, nw = torch.linalg.norm(r), torch.linalg.norm(w)
    return nr / nw, r / (nr * nw) - nr * w / nw ** 3


# ---- the optimizer ------------------------------------------------------------------------
def optimizer_ops(params: int, arch: Arch) -> list[StepOp]:
    """SGD with momentum over ``params`` weights: v = mu*v + g, W = W - lr*v. It reads W, g and
    v and writes W and v; the three stay in DRAM when they do not fit in the filter SRAM."""
    out = []
    for tag, reads in (("momentum", 2 * params), ("update", params)):
        ops = _vec_count(f"optimizer.{tag}", "add", params, "", "optimizer")
        extra = (("mults", params),)
        if 3 * params > arch.sram_words("filter"):
            extra += (("dram_filter_reads", reads), ("dram_ofmap_writes", params))
        out += [replace(ops[0], extra=extra)] + ops[1:]
    return out


# ---- the whole step ------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingStep:
    network: str
    variant: str
    mode: str
    batch: int
    forward: Workload            # what the forward pass runs (dense, or structured in direct)
    ops: tuple[StepOp, ...]      # backward, regularizer and optimizer, in execution order
    params: int
    activation_words: int

    def gemms(self) -> list[StepOp]:
        fwd = [StepOp(l.name, "forward", l, self.batch, "fwd", l.name) for l in self.forward
               if l.is_gemm]
        return fwd + [o for o in self.ops if o.gemm]


def _variant_workloads(spec: str, variant: str) -> tuple[Workload, Workload | None]:
    """(dense workload, structured workload or None) of a spec and variant."""
    from pathlib import Path

    from accelsim.workload.networks import load_variant, load_workload

    dense = load_workload(spec)
    if variant == "regular":
        return dense, None
    if Path(spec).suffix.lower() in (".csv", ".onnx"):
        from accelsim.workload.recipe import load_recipe_file, structure

        require(Path(variant).suffix.lower() in (".yaml", ".yml"), "a workload file takes a "
                "recipe YAML as its variant (A/B are recipes of the shipped networks)",
                field="--variant", value=variant)
        return dense, structure(dense, load_recipe_file(variant, dense))
    return dense, load_variant(spec.partition(":")[0], variant)


def training_step(spec, variant: str = "regular", mode: str = "regular", batch: int = 1,
                  arch: Arch | None = None) -> TrainingStep:
    """The step of ``spec`` (a shipped network, a workload CSV/ONNX path, or a ``Workload``)
    trained in ``mode``; ``variant`` (A, B or a recipe YAML) names the structured twin."""
    check_batch(batch)
    require(mode in MODES, f"unknown training mode; expected one of {', '.join(MODES)}",
            field="--mode", value=mode)
    if isinstance(spec, Workload):
        dense, structured = spec, None
        if variant != "regular":
            from accelsim.workload.recipe import load_recipe_file, structure

            structured = structure(dense, load_recipe_file(variant, dense))
    else:
        dense, structured = _variant_workloads(spec, variant)
    if structured is None and mode == "direct" and any(l.op == "sumpool" for l in dense):
        structured = dense  # an already structured trace, trained as it is
    if mode != "regular":
        require(structured is not None, f"mode '{mode}' needs a structured variant "
                "(--variant A, B or a recipe YAML), not 'regular'", field="--mode", value=mode)
    if mode in ("regular", "regularized") and any(l.op == "sumpool" for l in dense):
        bad = next(l for l in dense if l.op == "sumpool")
        raise InputError(f"op 'sumpool' has no backward model in mode '{mode}' (dense training "
                         "of an already structured trace); train it with --mode direct or give "
                         "the dense network and --variant", source=dense.network,
                         field="layer", value=bad.name)
    from accelsim.hardware.arch import load_arch

    arch = arch or load_arch("scalesim-32x32-os")
    fwd = structured if mode == "direct" else dense
    ops = backward_ops(fwd, batch, mode)
    params = fwd.weights
    if mode == "regularized":
        on_chip = 3 * dense.weights <= arch.sram_words("filter")
        for l in structured:
            if l.is_gemm and l.structured:
                d = dense.layer(l.name)
                ops += regularizer_ops(d, l.c, l.n, on_chip, arch)
    ops += optimizer_ops(params, arch)
    return TrainingStep(dense.network, variant, mode, batch, fwd, tuple(ops), params,
                        activation_words(fwd, batch, arch.word_bits))


# ---- simulation ------------------------------------------------------------------------------
def _user_stall(row: dict, arch: Arch) -> dict:
    """Explicit DRAM traffic of a vector/regularizer row: in USER bandwidth mode the transfer
    time compute cannot hide is added as stall cycles (CALC mode is stall-free)."""
    if arch.bandwidth_mode != "user":
        return row
    words = row.get("dram_filter_reads", 0) + row.get("dram_ifmap_reads", 0) + \
        row.get("dram_ofmap_writes", 0)
    dram_cycles = math.ceil(words / arch.dram_bw_words_per_cycle)
    stall = max(0, dram_cycles - row.get("total_cycles", 0))
    if stall:
        row["stall_cycles"] = row.get("stall_cycles", 0) + stall
        row["total_cycles"] = row.get("total_cycles", 0) + stall
        row["bound"] = "memory"
    return row


def simulate_training(step: TrainingStep, arch: Arch):
    """One row per piece of the step (``part`` column first); forward rows are
    ``simulate.simulate`` of the forward workload, so they equal the inference result."""
    import pandas as pd

    from accelsim.hardware import energy
    from accelsim.evaluate.columns import finish_columns
    from accelsim.evaluate.simulate import _frame, simulate, simulate_layer

    fwd = simulate(step.forward, arch, step.batch)
    fwd.insert(0, "part", "forward")
    fwd.insert(1, "source", fwd["layer"])
    rows = []
    for op in step.ops:
        row = simulate_layer(op.layer, arch, op.batch)
        row["layer"] = op.name
        for k, v in op.extra:
            row[k] = row.get(k, 0) + v
        if op.extra:
            row = _user_stall(row, arch)
        rows.append(row)
    # activations kept for the backward: what the ifmap SRAM cannot hold goes out in the
    # forward pass and comes back in the backward pass
    spill = max(0, step.activation_words - arch.sram_words("ifmap"))
    rows.append(_user_stall({"layer": "activations", "op": "store", "engine": "dram",
                             "dram_ofmap_writes": spill, "dram_ifmap_reads": spill,
                             "total_cycles": 0, "bound": "memory"}, arch))
    back = energy.add_energy_columns(finish_columns(_frame(rows), arch), arch)
    back.insert(0, "part", [o.part for o in step.ops] + ["activations"])
    back.insert(1, "source", [o.source for o in step.ops] + [""])
    df = pd.concat([fwd, back], ignore_index=True)
    num = df.select_dtypes("number").columns
    df[num] = df[num].fillna(0)
    return df


def summarize_training(df, arch: Arch) -> dict:
    """Step totals and the split by part (cycles, energy)."""
    cycles = int(df["total_cycles"].sum())
    out = {"cycles": cycles, "latency_ms": cycles / arch.clock_mhz / 1e3,
           "energy_uj": float(df["energy_pj"].sum()) / 1e6,
           "macs": int(df["macs"].sum()), "dram_bytes": float(df["dram_bytes"].sum())}
    for p in PARTS:
        sel = df["part"] == p
        out[f"cycles_{p}"] = int(df.loc[sel, "total_cycles"].sum())
        out[f"energy_{p}_uj"] = float(df.loc[sel, "energy_pj"].sum()) / 1e6
    out["reg_share"] = out["cycles_regularizer"] / cycles if cycles else 0.0
    out["reg_energy_share"] = (out["energy_regularizer_uj"] / out["energy_uj"]
                               if out["energy_uj"] else 0.0)
    return out


def train_rows(spec: str, variant: str, modes, batches, archs) -> list[dict]:
    """The ``accelsim train`` table: one row per arch, mode and batch, with the step's cycles,
    latency, energy, the split by part, the regularizer's share of the step and every mode's
    step time relative to the regular step at the same batch."""
    for m in modes:
        require(m in MODES, f"unknown training mode; expected one of {', '.join(MODES)}",
                field="--mode", value=m)
    for b in batches:
        check_batch(b)
    rows = []
    for arch in archs:
        for b in batches:
            base = None
            for mode in ["regular"] + [m for m in modes if m != "regular"]:
                step = training_step(spec, variant, mode, b, arch)
                s = summarize_training(simulate_training(step, arch), arch)
                base = s if mode == "regular" else base
                if mode not in modes:
                    continue
                rows.append({"arch": arch.name, "network": step.network, "variant": variant,
                             "mode": mode, "batch": b, "params": step.params, **s,
                             "step_vs_regular": s["cycles"] / base["cycles"],
                             "energy_vs_regular": s["energy_uj"] / base["energy_uj"]})
    return rows


def kernel_rows(archs, batches, kernels=(3, 5, 7), channels: int = 256, hw: int = 14) -> list[dict]:
    """The regularizer's share of one layer's training step (C = K = ``channels``, ``hw`` x
    ``hw``, stride 1, same padding, recipe c = C/2, n = N-1) for each kernel size and batch."""
    rows = []
    for arch in archs:
        for N in kernels:
            dense = Layer(f"conv{N}x{N}", "conv2d", (channels, hw, hw), (channels, hw, hw),
                          (N, N), (1, 1), ((N - 1) // 2, (N - 1) // 2))
            wl = Workload(f"conv{N}x{N}", "regular", (dense,), dense.in_shape)
            for b in batches:
                step = training_step(wl, "regular", "regular", b, arch)
                reg = regularizer_ops(dense, channels // 2, N - 1,
                                      3 * wl.weights <= arch.sram_words("filter"), arch)
                # the lone layer is not the network's first: its dX counts
                ops = dx_ops(dense, b) + list(step.ops) + reg
                step = replace(step, ops=tuple(ops))
                s = summarize_training(simulate_training(step, arch), arch)
                rows.append({"arch": arch.name, "kernel": N, "batch": b, "cycles": s["cycles"],
                             "cycles_regularizer": s["cycles_regularizer"],
                             "reg_share": s["reg_share"]})
    return rows


__all__ = ["MODES", "PARTS", "StepOp", "TrainingStep", "training_step", "simulate_training",
           "summarize_training", "train_rows", "kernel_rows", "dx_ops", "dw_ops",
           "backward_ops", "gemm_mkn", "gemm_macs", "sumpool_backward_layer",
           "apply_sumpool_backward", "regularizer_counts", "regularizer_ops", "axis_method",
           "project", "regularizer_grad", "optimizer_ops", "activation_words"]
