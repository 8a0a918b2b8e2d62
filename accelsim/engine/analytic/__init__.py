"""The fold-level analytical ("fast") tier: one conv/linear layer on the array, vectorized over
design points (docs/analytic.md).

The exact tier (engine/systolic.py + engine/memory/) walks SCALE-Sim's buffers address by
address. This tier evaluates the same model from a handful of numbers per point:

- compute cycles, utilizations and SRAM accesses: the closed forms of engine/systolic.py,
  called on numpy arrays (one formula, one place), so they are exact;
- filter DRAM reads (CALC): the filter stream is a sequence of units of distinct words
  (os: a column fold's filters re-read by every row fold; is: a group's filters re-read by
  every column fold; ws: every word once), and SCALE-Sim's read buffer over such a stream is
  a closed form per unit (memory/readbuf.py's _repeat_closed_form): exact;
- ifmap DRAM reads (CALC): exact below one epoch (the operand's distinct words); above it, a
  pass over a group's ifmap (re-read per column fold in os/ws) costs its distinct words D
  plus one re-fetch per reuse interval (two consecutive uses of a word) that an epoch
  boundary cuts. Boundaries fall every E new words, so an interval of d stream slots, q new
  words per slot, is cut with probability min(1, d*q/E); q = reads / slots is a fixed point
  (re-fetches fill epochs too). The intervals come from the grid of a word's uses
  (horizontal and vertical window overlap), their slot distances from the dataflow's fold
  shape (inside a fold or across folds), all in closed form; a single pass with few
  boundaries places them. An estimate: bench/bench_fast_tier.py measures its error;
- ofmap DRAM writes: every word the array writes to the ofmap SRAM goes out once (os: M*N,
  ws/is: M*N per row fold); SCALE-Sim's partial-line quirk (+ < 1 %) is not modelled;
- stalls: CALC mode's read buffers never stall and its write buffer drains one array row per
  cycle, so stall = 0 (the exact tier's stalls in CALC need an ofmap SRAM of a few array rows);
  USER "overlap": the exact rule, max(0, ceil(DRAM words / bw) - stall-free cycles), on the
  estimated words; USER "scalesim" is NOT modelled: SCALE-Sim's prefetch windows re-fetch up
  to the whole prefetch ring per miss (10-1000x the demanded words on some layers), which no
  fold-level count follows. Those points get the overlap rule as a stand-in and
  ``bounded = False``: evaluate them with the exact tier (docs/analytic.md).

Points are a dict of equal-length int64/float64 numpy arrays (``POINT_FIELDS``); ``points()``
builds one from (Layer, Arch) lists. ``evaluate(points)`` returns a dict of arrays named as
simulate_gemm's row columns.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from accelsim.engine import systolic
from accelsim.engine.analytic.dram import _memory_kernel
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer

DATAFLOWS = ("os", "ws", "is")
# the fields of one design point, all int64 but dram_bw (float64)
POINT_FIELDS = (
    "C", "H", "W",            # ifmap channels, rows, cols (one sample)
    "filters", "E", "F",      # ofmap channels, rows, cols
    "R", "S",                 # kernel rows, cols
    "stride_h", "stride_w", "pad_h", "pad_w", "groups",
    "batch",
    "rows", "cols",           # the array
    "dataflow",               # index into DATAFLOWS
    "ifmap_words", "filter_words", "ofmap_words",   # SRAM capacities (Arch.sram_words)
    "user",                   # 1: USER bandwidth mode
    "overlap",                # 1: USER mode with stall_model "overlap"
    "dram_bw",                # words/cycle (USER mode)
)

# the columns evaluate() returns (simulate_gemm's names)
COLUMNS = ("M", "N", "K", "groups", "row_folds", "col_folds", "folds", "macs",
           "compute_cycles", "compute_util", "mapping_efficiency",
           "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
           "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
           "stall_cycles", "total_cycles")


def layer_fields(layer: Layer) -> dict:
    """A conv/linear layer's point fields (a linear layer is a 1x1 conv on a 1x1 image)."""
    C, H, W = layer.in_shape
    Ko, E, F = layer.out_shape
    return dict(C=C, H=H, W=W, filters=Ko, E=E, F=F, R=layer.kernel[0], S=layer.kernel[1],
                stride_h=layer.stride[0], stride_w=layer.stride[1], pad_h=layer.padding[0],
                pad_w=layer.padding[1], groups=layer.groups)


def arch_fields(arch) -> dict:
    """The fields of an Arch that the GEMM engines read."""
    return dict(rows=arch.rows, cols=arch.cols, dataflow=DATAFLOWS.index(arch.dataflow),
                ifmap_words=arch.sram_words("ifmap"), filter_words=arch.sram_words("filter"),
                ofmap_words=arch.sram_words("ofmap"), user=int(arch.bandwidth_mode == "user"),
                overlap=int(arch.stall_model == "overlap"),
                dram_bw=float(arch.dram_bw_words_per_cycle))


def points(layers, archs, batch=1) -> dict:
    """Points from equal-length sequences of layers and archs (or one of each, broadcast);
    ``batch`` an int or a sequence. A helper for callers with objects; the hot path takes
    arrays."""
    layers = [layers] if isinstance(layers, Layer) else list(layers)
    archs = list(archs) if isinstance(archs, (list, tuple)) else [archs]
    n = max(len(layers), len(archs))
    lf = [layer_fields(x) for x in layers]
    af = [arch_fields(a) for a in archs]
    out = {}
    for k in lf[0]:
        out[k] = np.broadcast_to(np.array([d[k] for d in lf], dtype=np.int64), n).copy()
    for k in af[0]:
        dt = np.float64 if k == "dram_bw" else np.int64
        out[k] = np.broadcast_to(np.array([d[k] for d in af], dtype=dt), n).copy()
    out["batch"] = np.broadcast_to(np.asarray(batch, dtype=np.int64), n).copy()
    return out


def _mapping(p: dict, df: int):
    """engine/mapping.py's own map_layer (and workload.layer.gemm_dims) run on arrays, for the
    points of one dataflow: the layer and the arch are stand-ins whose fields are arrays (one
    formula, one place). Batch is folded into the ofmap rows (M = batch * E * F, as map_layer
    does), so map_layer sees batch 1; its ``batch`` field is not used here."""
    layer = SimpleNamespace(in_shape=(p["C"], p["H"], p["W"]),
                            out_shape=(p["filters"], p["batch"] * p["E"], p["F"]),
                            kernel=(p["R"], p["S"]), groups=p["groups"], op="conv2d",
                            is_gemm=True)
    arch = SimpleNamespace(dataflow=DATAFLOWS[df], rows=p["rows"], cols=p["cols"])
    return map_layer(layer, arch, 1)


_MAPPING_FIELDS = ("groups", "batch", "E", "F", "filters", "C", "H", "W", "R", "S", "rows",
                   "cols")


def _compute(p: dict) -> dict:
    """Mapping, compute cycles, utilizations and SRAM accesses: engine/systolic.py's closed
    forms on arrays, one call per dataflow."""
    n = len(p["rows"])
    out = {k: np.zeros(n, dtype=np.float64 if k in ("compute_util", "mapping_efficiency")
                       else np.int64) for k in COLUMNS}
    for df in range(3):
        sel = np.flatnonzero(p["dataflow"] == df)
        if not len(sel):
            continue
        mp = _mapping({k: p[k][sel] for k in _MAPPING_FIELDS}, df)
        comp = systolic.simulate_compute(mp)
        for k, v in (("M", mp.M), ("N", mp.N), ("K", mp.K), ("groups", mp.groups),
                     ("row_folds", mp.row_folds), ("col_folds", mp.col_folds),
                     ("folds", mp.folds), ("macs", mp.groups * mp.M * mp.N * mp.K),
                     ("compute_cycles", comp.compute_cycles),
                     ("compute_util", comp.compute_util),
                     ("mapping_efficiency", comp.mapping_efficiency),
                     ("ifmap_sram_reads", comp.ifmap_sram_reads),
                     ("filter_sram_reads", comp.filter_sram_reads),
                     ("ofmap_sram_writes", comp.ofmap_sram_writes)):
            out[k][sel] = v
    return out


def evaluate(p: dict) -> dict:
    """The fast tier on design points ``p`` (POINT_FIELDS arrays): simulate_gemm's columns
    (COLUMNS) as arrays, plus ``bounded`` (bool): False where the estimate has no stated
    error bound (USER mode with stall_model "scalesim"). compute_cycles, SRAM accesses, folds
    and utilizations are exact; filter DRAM reads exact (CALC, and USER "overlap", which reads
    the CALC walk's words); ifmap DRAM reads, ofmap writes, USER stalls and total cycles are
    estimates (docs/analytic.md states their error)."""
    p = {k: np.ascontiguousarray(p[k], dtype=np.float64 if k == "dram_bw" else np.int64)
         for k in POINT_FIELDS}
    out = _compute(p)
    n = len(p["rows"])
    d_if, d_f, d_of, stall = (np.empty(n) for _ in range(4))
    _memory_kernel(p["dataflow"], p["C"], p["H"], p["W"], p["E"], p["F"], p["R"], p["S"],
                   p["stride_h"], p["stride_w"], p["pad_h"], p["pad_w"], p["groups"],
                   p["batch"], p["rows"], p["cols"], out["N"], out["K"], out["M"],
                   out["row_folds"], out["col_folds"], p["ifmap_words"], p["filter_words"],
                   p["user"], p["dram_bw"], out["compute_cycles"], d_if, d_f, d_of, stall)
    out["dram_ifmap_reads"] = np.rint(d_if).astype(np.int64)
    out["dram_filter_reads"] = np.rint(d_f).astype(np.int64)
    out["dram_ofmap_writes"] = np.rint(d_of).astype(np.int64)
    out["stall_cycles"] = np.rint(stall).astype(np.int64)
    out["total_cycles"] = out["compute_cycles"] + out["stall_cycles"]
    # SCALE-Sim's USER read buffer (stall_model "scalesim") is not modelled: its DRAM reads
    # and stalls here carry no error bound; route these points to the exact tier
    out["bounded"] = ~((p["user"] != 0) & (p["overlap"] == 0))
    return out


__all__ = ["POINT_FIELDS", "COLUMNS", "DATAFLOWS", "points", "layer_fields", "arch_fields",
           "evaluate"]
