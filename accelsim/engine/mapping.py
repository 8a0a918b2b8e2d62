"""How a GEMM layer sits on the systolic array (SCALE-Sim's operand-matrix view, NOTES section 3.2).

A conv is an im2col GEMM: M output pixels (times batch), N filters, K = (C/g)*R*S window elements
per group; a grouped conv is ``groups`` independent GEMMs run one after another.

| dataflow | array rows hold (Sr) | array cols hold (Sc) | streamed (T) |
| os       | M                    | N                    | K            |
| ws       | K                    | N                    | M            |
| is       | K                    | M                    | N            |
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.hardware.arch import Arch
from accelsim.common.errors import require
from accelsim.workload.layer import Layer, gemm_dims


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class GemmMapping:
    dataflow: str
    M: int
    N: int
    K: int
    groups: int
    batch: int
    Sr: int
    Sc: int
    T: int
    row_folds: int
    col_folds: int
    array_rows: int
    array_cols: int

    @property
    def folds(self) -> int:
        """Folds of the whole layer: every group's GEMM is folded separately."""
        return self.groups * self.row_folds * self.col_folds


def map_layer(layer: Layer, arch: Arch, batch: int = 1) -> GemmMapping:
    """The GEMM view of a conv/linear layer on ``arch``'s array. Batch stacks the samples'
    output pixels into M (an extension: SCALE-Sim is batch 1)."""
    require(isinstance(batch, int) and batch >= 1, "batch must be an integer >= 1",
            field="batch", value=batch)
    m, n, k, g = gemm_dims(layer)
    m *= batch
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[arch.dataflow]
    return GemmMapping(arch.dataflow, m, n, k, g, batch, sr, sc, t, ceil_div(sr, arch.rows),
                       ceil_div(sc, arch.cols), arch.rows, arch.cols)
