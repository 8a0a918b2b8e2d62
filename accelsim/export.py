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

from .errors import require
from .workload import Layer, Workload

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
    from .simulate import sumpool_as_array_conv

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
