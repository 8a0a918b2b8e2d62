"""Formats other tools load: SCALE-Sim 2.0.2 topologies and reports, ONNX, Parquet.

SCALE-Sim topology (``scalesim_topology``): the layers SCALE-Sim can run, as its loader reads
them (first row a header it skips, rows ending with ',', a 9th value the stride width):

- conv/linear layers as convs; a linear layer is a 1x1 conv on a 1x1 map;
- a sum-pool as the all-ones conv a machine without a pool unit runs on its MAC array
  (``simulate.sumpool_as_array_conv``): SCALE-Sim has no pool unit;
- element-wise layers (activations, adds, max/avg pooling, ...) are left out: SCALE-Sim has no
  vector unit (``skipped`` lists them);
- SCALE-Sim has no padding and computes the ofmap as ceil((H - R + S) / S); the input written
  is the padded input cropped to the rows and columns the windows read, (E - 1) * S + R, so
  SCALE-Sim's ofmap is the layer's own E x F and its GEMM is the layer's;
- SCALE-Sim has no groups: a depthwise layer (one channel per group) is written with "DP" in
  its name and one filter per channel, which SCALE-Sim runs as one 1-channel layer per channel;
  another grouped layer is written as one row per group (``<name>.g<i>``). A name that
  contains "DP" but is not depthwise has it written as "Dp" so SCALE-Sim does not split it.
  SCALE-Sim's cycles over a grouped layer's rows are accelsim's minus (groups - 1): SCALE-Sim
  reports one cycle less than its demand rows per row it runs (its #125), accelsim once a layer.

SCALE-Sim reports (``scalesim_reports``): COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and
DETAILED_ACCESS_REPORT.csv with SCALE-Sim's columns, in its spelling and number format, one row
per layer that runs on the MAC array (conv, linear, sum-pools on an arch without a pool unit),
in workload order; the cycles and counts are the memory engine's, the same numbers
reports/validation/ checks against SCALE-Sim column by column.
"""

from __future__ import annotations

from accelsim.common.errors import require
from accelsim.workload.layer import Layer, Workload

TOPOLOGY_HEADER = ["Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
                   "Channels", "Num Filter", "Strides", "Stride Width"]

COMPUTE_COLUMNS = [("Total Cycles", "total_cycles"), ("Stall Cycles", "stall_cycles"),
                   ("Overall Util %", "overall_util"),
                   ("Mapping Efficiency %", "mapping_efficiency"),
                   ("Compute Util %", "compute_util")]
BANDWIDTH_COLUMNS = [("Avg IFMAP SRAM BW", "ifmap_sram_bw_words_per_cycle"),
                     ("Avg FILTER SRAM BW", "filter_sram_bw_words_per_cycle"),
                     ("Avg OFMAP SRAM BW", "ofmap_sram_bw_words_per_cycle"),
                     ("Avg IFMAP DRAM BW", "dram_ifmap_bw_words_per_cycle"),
                     ("Avg FILTER DRAM BW", "dram_filter_bw_words_per_cycle"),
                     ("Avg OFMAP DRAM BW", "dram_ofmap_bw_words_per_cycle")]
DETAIL_COLUMNS = [
    ("SRAM IFMAP Start Cycle", "ifmap_sram_start_cycle"),
    ("SRAM IFMAP Stop Cycle", "ifmap_sram_stop_cycle"), ("SRAM IFMAP Reads", "ifmap_sram_reads"),
    ("SRAM Filter Start Cycle", "filter_sram_start_cycle"),
    ("SRAM Filter Stop Cycle", "filter_sram_stop_cycle"),
    ("SRAM Filter Reads", "filter_sram_reads"),
    ("SRAM OFMAP Start Cycle", "ofmap_sram_start_cycle"),
    ("SRAM OFMAP Stop Cycle", "ofmap_sram_stop_cycle"),
    ("SRAM OFMAP Writes", "ofmap_sram_writes"),
    ("DRAM IFMAP Start Cycle", "dram_ifmap_start_cycle"),
    ("DRAM IFMAP Stop Cycle", "dram_ifmap_stop_cycle"), ("DRAM IFMAP Reads", "dram_ifmap_reads"),
    ("DRAM Filter Start Cycle", "dram_filter_start_cycle"),
    ("DRAM Filter Stop Cycle", "dram_filter_stop_cycle"),
    ("DRAM Filter Reads", "dram_filter_reads"),
    ("DRAM OFMAP Start Cycle", "dram_ofmap_start_cycle"),
    ("DRAM OFMAP Stop Cycle", "dram_ofmap_stop_cycle"),
    ("DRAM OFMAP Writes", "dram_ofmap_writes"),
]
# SCALE-Sim writes these as Python floats (start/stop cycles, bandwidths, percentages)
_FLOAT_FIELDS = {f for _, f in BANDWIDTH_COLUMNS} | {
    f for h, f in DETAIL_COLUMNS if "Cycle" in h} | {
    "overall_util", "mapping_efficiency", "compute_util"}


# ---- SCALE-Sim topology ----------------------------------------------------------------------
def _scalesim_rows(layer: Layer) -> list[list]:
    """The topology rows of one conv/linear layer (see the module docstring)."""
    C, _, _ = layer.in_shape
    K, E, F = layer.out_shape
    g = layer.groups
    if layer.op == "linear":
        return [[layer.name.replace("DP", "Dp"), 1, 1, 1, 1, C, K, 1, 1]]
    R, S = layer.kernel
    sh, sw = layer.stride
    H, W = (E - 1) * sh + R, (F - 1) * sw + S   # the rows/cols the windows read
    if g == 1:
        return [[layer.name.replace("DP", "Dp"), H, W, R, S, C, K, sh, sw]]
    if C // g == 1:   # depthwise: SCALE-Sim's DP rows, one 1-channel layer per channel
        return [[f"{layer.name.replace('DP', 'Dp')}_DP", H, W, R, S, C, K // g, sh, sw]]
    return [[f"{layer.name.replace('DP', 'Dp')}.g{i}", H, W, R, S, C // g, K // g, sh, sw]
            for i in range(g)]


def scalesim_topology(wl: Workload) -> tuple[str, list[str]]:
    """(topology CSV text, names of the layers left out); see the module docstring."""
    from accelsim.evaluate.simulate import sumpool_as_array_conv

    lines = [",".join(TOPOLOGY_HEADER) + ","]
    skipped = []
    for layer in wl.layers:
        if layer.op == "sumpool":
            layer = sumpool_as_array_conv(layer)
        if not layer.is_gemm:
            skipped.append(layer.name)
            continue
        for row in _scalesim_rows(layer):
            require("," not in row[0] and "\n" not in row[0],
                    "a SCALE-Sim topology name cannot hold ',' or a line break",
                    source=wl.source or wl.network, field="Layer name", value=row[0])
            lines.append(",".join(str(v) for v in row) + ",")
    require(len(lines) > 1, "no conv/linear layer to write: SCALE-Sim runs only those",
            source=wl.source or wl.network, field="layers", value=len(wl.layers))
    return "\n".join(lines) + "\n", skipped


# ---- SCALE-Sim reports -----------------------------------------------------------------------
def _cell(field: str, v) -> str:
    return repr(float(v)) if field in _FLOAT_FIELDS else str(int(v))


def scalesim_reports(df) -> dict[str, str]:
    """{file name: CSV text} of SCALE-Sim's three reports for the MAC-array rows of a
    ``simulate`` frame (SCALE-Sim's spelling: ``LayerID, Col, ...,`` and a trailing comma)."""
    gemm = df[df["engine"].isin(["array", "array-as-pool"])].reset_index(drop=True)
    out = {}
    for fname, cols in (("COMPUTE_REPORT.csv", COMPUTE_COLUMNS),
                        ("BANDWIDTH_REPORT.csv", BANDWIDTH_COLUMNS),
                        ("DETAILED_ACCESS_REPORT.csv", DETAIL_COLUMNS)):
        lines = ["LayerID, " + ", ".join(h for h, _ in cols) + ","]
        for i, row in gemm.iterrows():
            lines.append(", ".join([str(i)] + [_cell(f, row[f]) for _, f in cols]) + ",")
        out[fname] = "\n".join(lines) + "\n"
    return out


# ---- ONNX ------------------------------------------------------------------------------------
# A structured layer's sum-pool is one explicit node, ``ai.accelsim::SumPool``, whose attributes
# say what it is (kernel_shape = [channel window, bh, bw] within each of ``group`` groups, pads,
# and the structured layer's c, n). The model carries the op's definition as an ONNX function of
# standard ops (pad, reshape to groups, AveragePool over channel x bh x bw, times the window
# volume, reshape back), so any ONNX runtime runs the file as it is, and accelsim's importer
# reads the node back as the sumpool layer (accelsim/workload/onnx_import.py).
SUMPOOL_DOMAIN = "ai.accelsim"
ONNX_OPSET = 17


def _sumpool_function():
    """The FunctionProto of SumPool; the body's shapes come from plumbing attributes (ONNX
    functions cannot compute a Constant from attributes other than by reference)."""
    from onnx import AttributeProto, helper

    def const(out, attr, kind):
        node = helper.make_node("Constant", [], [out])
        a = AttributeProto()
        a.name, a.ref_attr_name, a.type = kind, attr, (
            AttributeProto.INTS if kind == "value_ints" else AttributeProto.FLOAT)
        node.attribute.append(a)
        return node

    def pool():
        node = helper.make_node("AveragePool", ["g"], ["a"])
        a = AttributeProto()
        a.name, a.ref_attr_name, a.type = "kernel_shape", "kernel_shape", AttributeProto.INTS
        node.attribute.append(a)
        return node

    body = [
        const("pads8", "onnx_pads", "value_ints"),
        helper.make_node("Pad", ["X", "pads8"], ["p"]),
        const("gshape", "grouped_shape", "value_ints"),
        helper.make_node("Reshape", ["p", "gshape"], ["g"]),
        pool(),
        const("vol", "volume", "value_float"),
        helper.make_node("CastLike", ["vol", "a"], ["volc"]),
        helper.make_node("Mul", ["a", "volc"], ["s"]),
        const("oshape", "out_shape", "value_ints"),
        helper.make_node("Reshape", ["s", "oshape"], ["Y"]),
    ]
    return helper.make_function(
        SUMPOOL_DOMAIN, "SumPool", ["X"], ["Y"], body,
        [helper.make_opsetid("", ONNX_OPSET)],
        attributes=["kernel_shape", "group", "pads", "c", "n", "onnx_pads", "grouped_shape",
                    "volume", "out_shape"])


_SUMPOOL_OP = None


def _sumpool_op():
    """``torch.ops.accelsim.sumpool`` (pad, then the stride-1 sum-pool), registered once per
    process with its ONNX symbolic: the TorchScript exporter records a custom op with its output
    shape, where an autograd.Function's node breaks its graph passes."""
    global _SUMPOOL_OP
    if _SUMPOOL_OP is not None:
        return _SUMPOOL_OP
    import torch
    from torch.onnx import symbolic_helper

    from accelsim.workload.structured import sumpool

    @torch.library.custom_op("accelsim::sumpool", mutates_args=(), schema=(
        "(Tensor x, int bc, int bh, int bw, int groups, int ph, int pw, int c, int n, int C, "
        "int H, int W) -> Tensor"))
    def op(x, bc, bh, bw, groups, ph, pw, c, n, C, H, W):
        if ph or pw:
            x = torch.nn.functional.pad(x, (pw, pw, ph, ph))
        return sumpool(x, bc, (bh, bw), groups)

    @op.register_fake
    def _(x, bc, bh, bw, groups, ph, pw, c, n, C, H, W):
        b, _, H, W = x.shape
        return x.new_empty(b, groups * c, H + 2 * ph - bh + 1, W + 2 * pw - bw + 1)

    # C, H, W: the input's per-sample shape, recorded before the export (the exporter does not
    # always know a value's shape when it translates the node)
    @symbolic_helper.parse_args("v", "i", "i", "i", "i", "i", "i", "i", "i", "i", "i", "i")
    def symbolic(g, x, bc, bh, bw, groups, ph, pw, c, n, C, H, W):
        hp, wp = H + 2 * ph, W + 2 * pw
        ho, wo = hp - bh + 1, wp - bw + 1
        return g.op(f"{SUMPOOL_DOMAIN}::SumPool", x, kernel_shape_i=[bc, bh, bw],
                    group_i=groups, pads_i=[ph, pw, ph, pw], c_i=c, n_i=n,
                    onnx_pads_i=[0, 0, ph, pw, 0, 0, ph, pw],
                    grouped_shape_i=[-1, 1, C // groups, hp, wp],
                    volume_f=float(bc * bh * bw), out_shape_i=[-1, groups * c, ho, wo])

    torch.onnx.register_custom_op_symbolic("accelsim::sumpool", symbolic, ONNX_OPSET)
    _SUMPOOL_OP = torch.ops.accelsim.sumpool
    return _SUMPOOL_OP


def _export_modules(model, input_shape):
    """A copy of ``model`` whose structured modules call the sumpool op (same module paths, so
    the exported node names are the layer names)."""
    import copy

    import torch
    import torch.nn.functional as F
    from torch import nn

    from accelsim.workload.structured import StructuredConv2d, StructuredLinear

    fn = _sumpool_op()

    class Conv(nn.Module):
        def __init__(self, m, shape):
            super().__init__()
            self.m, self.shape = m, shape

        def forward(self, x):
            m = self.m
            bc, bh, bw = m.pool_window
            s = fn(x, bc, bh, bw, m.groups, *m.padding, m.c, m.n[0], *self.shape)
            return F.conv2d(s, m.alpha, m.bias, m.stride, 0, 1, m.groups)

    class Linear(nn.Module):
        def __init__(self, m, shape):
            super().__init__()
            self.m = m

        def forward(self, x):
            m = self.m
            s = fn(x.reshape(x.shape[0], -1, 1, 1), m.in_features - m.c + 1, 1, 1, 1, 0, 0,
                   m.c, 1, m.in_features, 1, 1)
            return F.linear(torch.flatten(s, 1), m.alpha, m.bias)

    model = copy.deepcopy(model)
    shapes, hooks = {}, []
    for name, m in model.named_modules():
        if isinstance(m, (StructuredConv2d, StructuredLinear)):
            def record(mod, args, name=name):   # returns None: the inputs stay as they are
                shapes.setdefault(name, tuple(args[0].shape[1:]))

            hooks.append(m.register_forward_pre_hook(record))
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    for name, m in list(model.named_modules()):
        if isinstance(m, (StructuredConv2d, StructuredLinear)):
            parent, _, attr = name.rpartition(".")
            wrap = (Conv if isinstance(m, StructuredConv2d) else Linear)(m, shapes[name])
            setattr(model.get_submodule(parent) if parent else model, attr, wrap)
    return model


def export_onnx(model, input_shape, path) -> None:
    """``model`` (regular or structured torch model, eval mode) as an ONNX file at ``path``,
    batch 1, sum-pools as ``ai.accelsim::SumPool`` nodes (see above); written atomically."""
    import copy
    import io
    import warnings

    import onnx
    import torch

    from accelsim.common.fsio import write_bytes_atomic

    # ONNX runtimes execute float32 convs: export a float32 copy (the caller's model is left as
    # it is), with the export's own modules built in float32 whatever torch's default dtype
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    buf = io.BytesIO()
    try:
        m = _export_modules(copy.deepcopy(model).float().eval(), input_shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the TorchScript exporter: the dynamo one needs onnxscript; BatchNorm folds into
            # the preceding conv at inference (eval mode), as trace and the importer count it
            torch.onnx.export(m, (torch.zeros(1, *input_shape),), buf, dynamo=False,
                              opset_version=ONNX_OPSET, input_names=["input"],
                              output_names=["output"], custom_opsets={SUMPOOL_DOMAIN: 1})
    finally:
        torch.set_default_dtype(prev)
    proto = onnx.load_from_string(buf.getvalue())
    if any(n.domain == SUMPOOL_DOMAIN for n in proto.graph.node):
        proto.functions.append(_sumpool_function())
    proto.producer_name = "accelsim"
    write_bytes_atomic(path, proto.SerializeToString())


# ---- Parquet ---------------------------------------------------------------------------------
def store_parquet(db, path) -> int:
    """The sweep store ``db`` as one Parquet table at ``path``: a row per design point (key,
    idx, network, variant, batch, each axis), every metric a typed column. Returns the rows."""
    import io

    from accelsim.common.fsio import write_bytes_atomic
    from accelsim.explore.store import read_results

    df = read_results(db)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    write_bytes_atomic(path, buf.getvalue())
    return len(df)


# ---- JSON ------------------------------------------------------------------------------------
def jsonable(obj):
    """``obj`` with numpy scalars as Python numbers, tuples as lists and a non-finite float as
    null (JSON has no NaN), for the CLI's ``--json``."""
    import math

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
