"""Workload: an ordered list of layers, each a frozen dataclass, and its CSV form.

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

Every count a table shows (MACs, accumulate adds, sum-pool adds, tensor sizes) is computed by a
function here, once, and reused by the engines and reports.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterator

from accelsim.common.errors import MAX_BATCH_ELEMS, MAX_LAYERS, MAX_TENSOR_ELEMS, InputError, require
from accelsim.common.fsio import write_text_atomic

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


def check_run_size(wl: "Workload", batch: int, field: str = "--batch",
                   source: str | None = None) -> None:
    """Refuse, before any allocation, a run whose largest operand times the batch exceeds
    MAX_BATCH_ELEMS (docs/errors.md)."""
    big = max(wl.layers, key=largest_operand, default=None)
    if big is None:
        return
    n = largest_operand(big) * batch
    require(n <= MAX_BATCH_ELEMS, f"layer '{big.name}' at this batch has an operand of {n:,} "
            f"elements, above the limit of {MAX_BATCH_ELEMS:,} (docs/errors.md); use a smaller "
            "batch", source=source or wl.source or wl.network, field=field, value=batch)


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


# ---- counts: one formula, one place ----------------------------------------------------
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


# ---- the workload -----------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    """An ordered list of layers of one network variant."""

    network: str
    variant: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int] = (3, 224, 224)
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "layers", tuple(self.layers))
        names = [l.name for l in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        require(not dup, "layer names must be unique", source=self.source or self.network,
                field="Layer name", value=sorted(dup)[0] if dup else None)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise InputError("no such layer", source=self.network, field="layer", value=name)

    @property
    def macs(self) -> int:
        return sum(macs(l) for l in self.layers)

    @property
    def weights(self) -> int:
        return sum(weight_count(l) for l in self.layers)


# ---- CSV --------------------------------------------------------------------------------
# The first eight columns are SCALE-Sim's topology columns, in its order and spelling; the
# rest make the schema lossless for every op here. SCALE-Sim itself cannot load this file (it
# skips only one header line, and every op is not a conv): ``accelsim trace --format scalesim``
# writes a topology it runs (accelsim/report/export.py).
# IFMAP Height/Width are the *unpadded* input; padding is its own column (SCALE-Sim has none).
SCALESIM_COLUMNS = ["Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                    "Channels", "Num Filter", "Strides"]
EXTRA_COLUMNS = ["Stride Width", "op", "OFMAP Height", "OFMAP Width", "Pad Height", "Pad Width",
                 "Groups", "Pool Channels", "c", "n", "bias"]
CSV_COLUMNS = SCALESIM_COLUMNS + EXTRA_COLUMNS


def layer_to_row(layer: Layer) -> list[str]:
    C, H, W = layer.in_shape
    K, E, F = layer.out_shape
    return [layer.name, str(H), str(W), str(layer.kernel[0]), str(layer.kernel[1]), str(C),
            str(K), str(layer.stride[0]), str(layer.stride[1]), layer.op, str(E), str(F),
            str(layer.padding[0]), str(layer.padding[1]), str(layer.groups),
            str(layer.pool_channels), str(layer.c), str(layer.n), "1" if layer.bias else "0"]


def workload_to_csv(wl: Workload) -> str:
    buf = io.StringIO()
    buf.write(f"# accelsim workload: network={wl.network} variant={wl.variant} "
              f"input={'x'.join(map(str, wl.input_shape))}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for layer in wl.layers:
        w.writerow(layer_to_row(layer))
    return buf.getvalue()


def write_workload_csv(wl: Workload, path: str | Path) -> None:
    write_text_atomic(path, workload_to_csv(wl))


def _int_cell(value: str, source: str, field: str) -> int:
    v = value.strip()
    try:
        f = float(v)
    except ValueError:
        raise InputError("not a number", source=source, field=field, value=v) from None
    if not f.is_integer():
        raise InputError("not an integer", source=source, field=field, value=v)
    return int(f)


def read_workload_csv(path: str | Path, network: str | None = None,
                      variant: str = "regular") -> Workload:
    """Read a workload CSV: accelsim's schema, or a SCALE-Sim topology file as it is.

    A SCALE-Sim file (no ``op`` column) is read the way SCALE-Sim reads it: every row a conv
    with no padding, ofmap ceil((H - R + S)/S), one stride for both axes unless a second
    stride column is present.
    """
    from accelsim.common.fsio import read_text_input

    path = Path(path)
    src = str(path)
    text = read_text_input(path, "workload CSV")
    meta = {}
    lines = []
    # line ends kept: a quoted cell may span lines, and its newline is part of its text
    for line in text.splitlines(keepends=True):
        if line.startswith("#"):
            for tok in line[1:].split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    meta[k] = v
            continue
        if line.strip():
            lines.append(line)
    require(bool(lines), "empty workload file", source=src)
    require(len(lines) <= MAX_LAYERS + 1, f"more than {MAX_LAYERS:,} layers (docs/errors.md)",
            source=src, field="rows", value=len(lines) - 1)
    try:
        rows = list(csv.reader(lines))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", source=src) from None
    header = [h.strip() for h in rows[0]]
    accelsim_schema = "op" in header
    if not accelsim_schema:
        # SCALE-Sim skips its first row whatever it says (any header spelling); a first row of
        # numbers would be a layer it silently drops, so that is refused
        first = [c.strip() for c in rows[0][1:8]]
        require(not (len(first) == 7 and all(c.lstrip("-").isdigit() for c in first)),
                "the first row is skipped as the header (as SCALE-Sim does), but it holds a "
                "layer: add a header row", source=src, field="header", value=",".join(rows[0]))
    if accelsim_schema:
        missing = [h for h in CSV_COLUMNS if h not in header]
        require(not missing, f"header lacks column(s) {', '.join(missing)} of the accelsim "
                "schema", source=src, field="header", value=",".join(header))
    layers = []
    seen: dict[str, int] = {}   # SCALE-Sim topology: times each name was given
    for i, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        rsrc = f"{src}:{i}"
        name = cells[0]
        if accelsim_schema:
            require(len(cells) >= len(CSV_COLUMNS),
                    f"expected {len(CSV_COLUMNS)} columns, got {len(cells)}", source=rsrc,
                    field="row", value=",".join(cells))
            get = {h: cells[header.index(h)] for h in CSV_COLUMNS}
            num = {h: _int_cell(get[h], rsrc, h) for h in CSV_COLUMNS
                   if h not in ("Layer name", "op")}
            op = get["op"]
            require(op in OPS, f"unknown layer type; expected one of {', '.join(OPS)}",
                    source=rsrc, field="op", value=op)
            layers.append(_make_layer(rsrc, name=name, op=op,
                                      in_shape=(num["Channels"], num["IFMAP Height"],
                                                num["IFMAP Width"]),
                                      out_shape=(num["Num Filter"], num["OFMAP Height"],
                                                 num["OFMAP Width"]),
                                      kernel=(num["Filter Height"], num["Filter Width"]),
                                      stride=(num["Strides"], num["Stride Width"]),
                                      padding=(num["Pad Height"], num["Pad Width"]),
                                      groups=num["Groups"], pool_channels=num["Pool Channels"],
                                      c=num["c"], n=num["n"], bias=bool(num["bias"])))
        else:
            # SCALE-Sim drops a row's last field (its rows end with a trailing comma); a row of
            # exactly 8 values without one, which SCALE-Sim cannot run, is read as 8 values
            if cells[-1] == "" or len(cells) > 8:
                cells = cells[:-1]
            vals = [c for c in cells[1:8]]
            require(len(vals) == 7 and all(v != "" for v in vals),
                    "expected 8 SCALE-Sim columns (Layer name, IFMAP Height, IFMAP Width, "
                    "Filter Height, Filter Width, Channels, Num Filter, Strides)", source=rsrc,
                    field="row", value=",".join(cells))
            nums = [_int_cell(v, rsrc, SCALESIM_COLUMNS[j + 1]) for j, v in enumerate(vals)]
            H, W, R, S, C, K, sh = nums
            sw = sh
            if len(cells) > 8 and cells[8] != "":
                # a 9th value is the stride width, whatever the header says (SCALE-Sim 2.0.2)
                sw = _int_cell(cells[8], rsrc, "Stride Width")
            for fld, v in (("IFMAP Height", H), ("IFMAP Width", W), ("Filter Height", R),
                           ("Filter Width", S), ("Channels", C), ("Num Filter", K),
                           ("Strides", sh)):
                require(v >= 1, "must be >= 1", source=rsrc, field=fld, value=v)
            require(R <= H, f"filter is larger than its ifmap ({R} > {H})", source=rsrc,
                    field="Filter Height", value=R)
            require(S <= W, f"filter is larger than its ifmap ({S} > {W})", source=rsrc,
                    field="Filter Width", value=S)
            E, F = scalesim_out_hw(H, W, (R, S), (sh, sw))
            # SCALE-Sim runs a layer whose name contains "DP" (depthwise) as one 1-channel layer
            # per input channel, each with all K filters, named <name>Channel_<i>; it accepts a
            # name twice, which accelsim keeps apart as <name>~2, <name>~3 ... (same order)
            split = [(f"{name}Channel_{i}", 1) for i in range(C)] if "DP" in name \
                else [(name, C)]
            require(len(layers) + len(split) <= MAX_LAYERS, f"more than {MAX_LAYERS:,} layers "
                    "(docs/errors.md)", source=rsrc, field="Channels", value=C)
            for lname, ch in split:
                seen[lname] = seen.get(lname, 0) + 1
                if seen[lname] > 1:
                    lname = f"{lname}~{seen[lname]}"
                layers.append(_make_layer(rsrc, name=lname, op="conv2d", in_shape=(ch, H, W),
                                          out_shape=(K, E, F), kernel=(R, S), stride=(sh, sw)))
    require(bool(layers), "no layers in workload file", source=src)
    inp = meta.get("input")
    input_shape = layers[0].in_shape
    if inp:
        dims = inp.split("x")
        require(len(dims) == 3 and all(d.isdigit() and 1 <= int(d) <= MAX_TENSOR_ELEMS
                                       for d in dims),
                "expected C x H x W, e.g. input=3x224x224", source=src, field="# input",
                value=inp)
        input_shape = tuple(int(d) for d in dims)
    return Workload(network=network or meta.get("network") or path.stem,
                    variant=meta.get("variant", variant), layers=tuple(layers),
                    input_shape=input_shape, source=src)


def _make_layer(source: str, **kw) -> Layer:
    # a file's layer needs a name (Layer itself allows "" for the engines' memo keys)
    name = kw.get("name")
    require(isinstance(name, str) and name.strip() != "", "layer name must be non-empty",
            source=source, field="Layer name", value=name)
    try:
        return Layer(**kw)
    except InputError as exc:
        # re-label the error with the file and line it came from
        raise InputError(str(exc).split(": ", 1)[-1], source=source) from None


def layer_dict(layer: Layer) -> dict:
    return asdict(layer)


__all__ = [
    "Layer", "Workload", "OPS", "POOL_TREES", "torch_out_hw", "scalesim_out_hw", "validate_layer",
    "output_elems", "input_elems", "gemm_dims", "weight_count", "macs", "accumulate_adds",
    "sumpool_adds", "line_runs", "running_line_adds", "running_line_reads",
    "running_linebuf_reads", "elementwise_adds", "elementwise_mults", "comparisons", "workload_to_csv", "write_workload_csv",
    "read_workload_csv", "layer_to_row", "replace", "field",
]
