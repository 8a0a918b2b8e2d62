"""A layer: the frozen ``Layer`` dataclass, its validation (every field and the cross-checks
between them) and the output-size rules of torch and SCALE-Sim.

Shapes are per sample, channels first: ``in_shape = (C, H, W)``, ``out_shape = (K, E, F)``.
Batch is not part of a layer; the engines take it as a run parameter.

Ops
---
conv2d   K x (C/g) x R x S kernel, stride, zero padding, groups (g = C is depthwise)
linear   K x C, stored as a 1x1 conv over a 1x1 map (in_shape = (C, 1, 1))
sumpool  the weight-free part of a structured conv (design.md section 2): pad by ``padding``,
         then a stride-1 all-ones window of ``pool_channels`` channels (within each group)
         x ``kernel`` spatially; ``out_shape = (c_total, Hp-R+1, Wp-S+1)``
maxpool, avgpool   spatial window ``kernel``, ``stride``, ``padding``
add      element-wise sum of two tensors of ``out_shape`` (residual connections)
mul      element-wise product, the second operand broadcast over space when it is C x 1 x 1
         (squeeze-and-excitation scaling in MobileNet/EfficientNet blocks)
act      element-wise activation (ReLU, ReLU6, SiLU, sigmoid...); the layer name says which
gap      global average pool: (C, H, W) -> (C, 1, 1)

"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from accelsim.common.errors import MAX_TENSOR_ELEMS, require

OPS = ("conv2d", "linear", "sumpool", "maxpool", "avgpool", "add", "mul", "act", "gap")
POOL_TREES = ("direct", "separable", "running")


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


@dataclass(frozen=True)
class Layer:
    """One layer of a workload. Frozen: derive a changed copy with ``dataclasses.replace``."""

    name: str
    op: str
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    # sumpool only: channel window (C/g - c + 1) inside each group
    pool_channels: int = 1
    # structured layers (sumpool and the small conv after it): the paper's c (per group) and n
    c: int = 0
    n: int = 0
    bias: bool = False

    def __post_init__(self):
        object.__setattr__(self, "in_shape", tuple(int(x) for x in self.in_shape))
        object.__setattr__(self, "out_shape", tuple(int(x) for x in self.out_shape))
        for f in ("kernel", "stride", "padding"):
            object.__setattr__(self, f, _pair(getattr(self, f)))
        validate_layer(self)

    # ---- shapes -------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return self.in_shape[0]

    @property
    def filters(self) -> int:
        return self.out_shape[0]

    @property
    def padded_hw(self) -> tuple[int, int]:
        return (self.in_shape[1] + 2 * self.padding[0], self.in_shape[2] + 2 * self.padding[1])

    @property
    def structured(self) -> bool:
        return self.c > 0

    @property
    def is_gemm(self) -> bool:
        """Runs on the MAC array as a GEMM (im2col)."""
        return self.op in ("conv2d", "linear")


@lru_cache(maxsize=16384)
def nameless(layer: Layer) -> Layer:
    """``layer`` named "": the key the engines' memos share between layers of equal shape. Made
    once per layer (a copy is validated on construction, which costs more than a memo hit)."""
    return replace(layer, name="")


def torch_out_hw(h: int, w: int, kernel, stride, padding) -> tuple[int, int]:
    """Output size of a convolution/pooling window as torch computes it (floor rule)."""
    (r, s), (sh, sw), (ph, pw) = _pair(kernel), _pair(stride), _pair(padding)
    return ((h + 2 * ph - r) // sh + 1, (w + 2 * pw - s) // sw + 1)


def scalesim_out_hw(h: int, w: int, kernel, stride) -> tuple[int, int]:
    """SCALE-Sim's ofmap size, ceil((H - R + S) / S): one larger than torch's when H - R is odd at
    stride 2 (the missing pixels read as implicit zero padding at the bottom/right edge)."""
    (r, s), (sh, sw) = _pair(kernel), _pair(stride)
    return (math.ceil((h - r + sh) / sh), math.ceil((w - s + sw) / sw))


def validate_layer(layer: Layer, source: str | None = None) -> None:
    src = source or f"layer '{layer.name}'"
    # a name is a CSV cell, a table row and (with --trace) a folder: printable text only. The
    # engines' memo keys strip names to "" (they read shapes only); the readers refuse an empty
    # name themselves
    require(isinstance(layer.name, str) and (layer.name == "" or layer.name.strip() != "")
            and all(ord(ch) >= 32 and ord(ch) != 127 for ch in layer.name),
            "layer name must be non-empty printable text (no NUL, newline or other control "
            "character)", source=src, field="Layer name", value=layer.name)
    for fname in ("groups", "pool_channels", "c", "n"):
        v = getattr(layer, fname)
        require(isinstance(v, int) and not isinstance(v, bool), "must be an integer",
                source=src, field=fname, value=v)
    require(layer.op in OPS, f"unknown layer type; expected one of {', '.join(OPS)}",
            source=src, field="op", value=layer.op)
    for fname in ("in_shape", "out_shape"):
        shape = getattr(layer, fname)
        require(len(shape) == 3, "shape must be (channels, height, width)", source=src,
                field=fname, value=shape)
        require(all(x >= 1 for x in shape), "sizes must be >= 1", source=src, field=fname,
                value=shape)
    require(all(x >= 1 for x in layer.kernel), "kernel sizes must be >= 1", source=src,
            field="kernel", value=layer.kernel)
    require(all(x >= 1 for x in layer.stride), "strides must be >= 1", source=src,
            field="stride", value=layer.stride)
    require(all(x >= 0 for x in layer.padding), "padding must be >= 0", source=src,
            field="padding", value=layer.padding)
    require(layer.groups >= 1, "groups must be >= 1", source=src, field="groups",
            value=layer.groups)
    C, H, W = layer.in_shape
    K = layer.out_shape[0]
    if layer.op in ("conv2d", "sumpool", "maxpool", "avgpool"):
        hp, wp = layer.padded_hw
        require(layer.kernel[0] <= hp and layer.kernel[1] <= wp,
                f"kernel {layer.kernel[0]}x{layer.kernel[1]} is larger than its padded input "
                f"{hp}x{wp}", source=src, field="kernel", value=layer.kernel)
    if layer.op in ("conv2d", "sumpool"):
        require(C % layer.groups == 0, f"channels {C} not divisible by groups", source=src,
                field="groups", value=layer.groups)
    if layer.op == "conv2d":
        require(K % layer.groups == 0, f"filters {K} not divisible by groups", source=src,
                field="groups", value=layer.groups)
    if layer.op == "sumpool":
        cg = C // layer.groups
        require(1 <= layer.pool_channels <= cg,
                f"channel window must be in 1..{cg} (C/groups)", source=src,
                field="pool_channels", value=layer.pool_channels)
    if layer.structured:
        require(layer.c >= 1, "c must be >= 1", source=src, field="c", value=layer.c)
        require(layer.n >= 1, "n must be >= 1", source=src, field="n", value=layer.n)
    _check_sizes(layer, src)
    _check_shapes(layer, src)


def _check_sizes(layer: Layer, src: str) -> None:
    """Each operand of one layer (per sample) within MAX_TENSOR_ELEMS (docs/errors.md): a
    larger one would exhaust memory or run for days before giving an answer."""
    (C, H, W), (K, E, F) = layer.in_shape, layer.out_shape
    R, S = layer.kernel
    weights = K * (C // max(1, layer.groups)) * R * S if layer.is_gemm else 0
    for what, n in (("in_shape", C * H * W), ("out_shape", K * E * F), ("kernel", weights)):
        require(n <= MAX_TENSOR_ELEMS, f"operand of {n:,} elements is larger than the limit "
                f"of {MAX_TENSOR_ELEMS:,} (docs/errors.md)", source=src, field=what,
                value=getattr(layer, what))
    for what in ("kernel", "stride", "padding"):
        v = getattr(layer, what)
        require(max(v) <= MAX_TENSOR_ELEMS, "larger than the limit of "
                f"{MAX_TENSOR_ELEMS:,}", source=src, field=what, value=v)


def largest_operand(layer: Layer) -> int:
    """Elements of the layer's largest operand (ifmap, filter or ofmap), per sample."""
    (C, H, W), (K, E, F) = layer.in_shape, layer.out_shape
    weights = K * (C // max(1, layer.groups)) * layer.kernel[0] * layer.kernel[1]
    return max(C * H * W, K * E * F, weights if layer.is_gemm else 0)



def _check_shapes(layer: Layer, src: str) -> None:
    """Cross-checks between fields: an OFMAP its input, kernel, stride and padding cannot give,
    a linear layer with a window, a pool window mostly in its padding, or a structured layer
    whose c and n disagree with its channels and kernel are bad input, not a layer to run."""
    (C, H, W), (K, E, F) = layer.in_shape, layer.out_shape
    op, g = layer.op, layer.groups
    if op == "linear":
        require(layer.kernel == (1, 1) and layer.stride == (1, 1) and layer.padding == (0, 0)
                and g == 1, "a linear layer has a 1x1 kernel, stride 1, no padding, 1 group",
                source=src, field="kernel", value=layer.kernel)
        require((H, W) == (1, 1) and (E, F) == (1, 1), "a linear layer maps C x 1 x 1 to "
                "K x 1 x 1", source=src, field="in_shape/out_shape",
                value=(layer.in_shape, layer.out_shape))
    if op in ("conv2d", "maxpool", "avgpool"):
        floor = torch_out_hw(H, W, layer.kernel, layer.stride, layer.padding)
        ceil = tuple(-(-(x + 2 * p - k) // s) + 1 for x, p, k, s in
                     zip((H, W), layer.padding, layer.kernel, layer.stride))
        require((E, F) in (floor, ceil), f"OFMAP {E}x{F} does not follow from input {H}x{W}, "
                f"kernel {layer.kernel[0]}x{layer.kernel[1]}, stride "
                f"{layer.stride[0]}x{layer.stride[1]}, padding "
                f"{layer.padding[0]}x{layer.padding[1]} (expected {floor[0]}x{floor[1]}"
                + (f" or {ceil[0]}x{ceil[1]}" if ceil != floor else "") + ")",
                source=src, field="out_shape", value=layer.out_shape)
    if op in ("maxpool", "avgpool"):
        require(K == C, "a pooling layer keeps its channels", source=src, field="out_shape",
                value=layer.out_shape)
        require(all(2 * p <= k for p, k in zip(layer.padding, layer.kernel)),
                "pool padding must be at most half the kernel (as torch requires)", source=src,
                field="padding", value=layer.padding)
    if op == "sumpool":
        hp, wp = layer.padded_hw
        want = (g * (C // g - layer.pool_channels + 1), hp - layer.kernel[0] + 1,
                wp - layer.kernel[1] + 1)
        require(layer.stride == (1, 1), "a sumpool window moves by 1", source=src,
                field="stride", value=layer.stride)
        require(layer.out_shape == want, "sumpool OFMAP must be (groups x (C/groups - "
                f"pool_channels + 1), Hp-R+1, Wp-S+1) = {want}", source=src,
                field="out_shape", value=layer.out_shape)
        require(not layer.structured or layer.c == C // g - layer.pool_channels + 1,
                f"c must be C/groups - pool_channels + 1 = {C // g - layer.pool_channels + 1}"
                " (c <= C)", source=src, field="c", value=layer.c)
    require(not (layer.c or layer.n) or op in ("conv2d", "linear", "sumpool"),
            f"c and n belong to structured conv, linear and sumpool layers, not to {op}",
            source=src, field="c", value=(layer.c, layer.n))
    if op in ("add", "mul", "act"):
        require(layer.in_shape == layer.out_shape, f"an element-wise {op} keeps its shape",
                source=src, field="out_shape", value=layer.out_shape)
    if op == "gap":
        require(layer.out_shape == (C, 1, 1), "a global average pool gives C x 1 x 1",
                source=src, field="out_shape", value=layer.out_shape)
    if layer.structured and op in ("conv2d", "linear"):
        require(layer.c == C // g, f"c must equal the channels per group of its input "
                f"({C // g}: the sumpool before it makes them; c <= C)", source=src,
                field="c", value=layer.c)
        n = 1 if op == "linear" else max(layer.kernel)
        require(layer.n == n, f"n must equal the larger side of its kernel ({n}; n <= N)",
                source=src, field="n", value=layer.n)
