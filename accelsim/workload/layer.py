"""The layer and the workload, by the path every caller knows: ``accelsim.workload.layer``.

The code lives in three modules, one concept each; this module re-exports their names, so
``from accelsim.workload.layer import Layer, macs, read_workload_csv`` keeps working:

- ``layer_spec``   the ``Layer`` dataclass, its op kinds, its validation and the output-size
                   rules of torch and SCALE-Sim;
- ``op_counts``    every per-layer count (MACs, accumulate adds, sum-pool adds, element-wise
                   work, tensor sizes): one formula, one place;
- ``workload_csv`` the ``Workload`` (an ordered list of layers), the size check of a run, and
                   the CSV schema (read and write).
"""

from __future__ import annotations

from dataclasses import field, replace  # noqa: F401  (re-exported, as before the split)

from accelsim.workload.layer_spec import (OPS, POOL_TREES, Layer, largest_operand,  # noqa: F401
                                          scalesim_out_hw, torch_out_hw, validate_layer)
from accelsim.workload.op_counts import (accumulate_adds, comparisons,  # noqa: F401
                                         elementwise_adds, elementwise_mults, gemm_dims,
                                         input_elems, line_runs, macs, output_elems,
                                         running_line_adds, running_line_reads,
                                         running_linebuf_reads, sumpool_adds, weight_count)
from accelsim.workload.workload_csv import (CSV_COLUMNS, EXTRA_COLUMNS,  # noqa: F401
                                            SCALESIM_COLUMNS, Workload, check_run_size,
                                            layer_dict, layer_to_row, read_workload_csv,
                                            workload_to_csv, write_workload_csv)

__all__ = [
    "Layer", "Workload", "OPS", "POOL_TREES", "torch_out_hw", "scalesim_out_hw", "validate_layer",
    "output_elems", "input_elems", "gemm_dims", "weight_count", "macs", "accumulate_adds",
    "sumpool_adds", "line_runs", "running_line_adds", "running_line_reads",
    "running_linebuf_reads", "elementwise_adds", "elementwise_mults", "comparisons", "workload_to_csv", "write_workload_csv",
    "read_workload_csv", "layer_to_row", "replace", "field",
]
