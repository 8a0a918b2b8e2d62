"""The systolic MAC array: cycles, utilizations and SRAM accesses of one GEMM layer.

Everything here is a closed form over folds, identical to SCALE-Sim v2.0.2's demand matrices
(NOTES sections 3.3-3.4) without building them:

- cycles of one fold: os  T + AR + AC - 2 (stream T, skew AR-1, drain AC-1);
                      ws/is  2*AR + AC + T - 2 (AR cycles of operand preload first).
- reported total: folds * per_fold - 1. SCALE-Sim reports the 0-based index of its last demand
  row, one less than the number of rows (its issue #125); kept for parity and documented.
- SRAM accesses count every operand slot the array consumes, padding slots included, exactly as
  SCALE-Sim sums its per-fold operand slices; the os ofmap write count carries SCALE-Sim's extra
  (AR + AC) per fold (its issue #166), also kept for parity.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..mapping import GemmMapping


@dataclass(frozen=True)
class ComputeCounts:
    compute_cycles: int          # as SCALE-Sim reports (stall-free)
    cycles_per_fold: int
    mapping_efficiency: float    # percent, mean over folds
    compute_util: float          # percent, mean over folds
    ifmap_sram_reads: int        # words
    filter_sram_reads: int
    ofmap_sram_writes: int


def cycles_per_fold(mp: GemmMapping) -> int:
    ar, ac, t = mp.array_rows, mp.array_cols, mp.T
    if mp.dataflow == "os":
        return t + ar + ac - 2
    return 2 * ar + ac + t - 2


def util_cycles_per_fold(mp: GemmMapping) -> int:
    """SCALE-Sim's per-fold denominator of compute utilization: the operand demand block's
    rows + cols - 1 (its ofmap block in os, its stationary-operand block in ws/is)."""
    ar, ac, t = mp.array_rows, mp.array_cols, mp.T
    if mp.dataflow == "os":
        return t + ar + ac - 2
    return 2 * ar + 2 * ac + t - 3


def simulate_compute(mp: GemmMapping) -> ComputeCounts:
    ar, ac = mp.array_rows, mp.array_cols
    g, rf, cf = mp.groups, mp.row_folds, mp.col_folds
    folds = mp.folds
    # used rows*cols summed over one group's folds is Sr*Sc (every mapped element once)
    used = mp.Sr * mp.Sc
    mapping_eff = 100.0 * used / (rf * cf * ar * ac)
    compute_util = 100.0 * used * mp.T / (rf * cf * ar * ac * util_cycles_per_fold(mp))
    M, N, K = mp.M, mp.N, mp.K
    if mp.dataflow == "os":
        ifmap, filt, ofmap = M * K * cf, K * N * rf, M * N + (ar + ac) * rf * cf
    elif mp.dataflow == "ws":
        ifmap, filt, ofmap = M * K * cf, K * N, M * N * rf
    else:
        ifmap, filt, ofmap = M * K, K * N * cf, M * N * rf
    per_fold = cycles_per_fold(mp)
    return ComputeCounts(folds * per_fold - 1, per_fold, mapping_eff, compute_util,
                         g * ifmap, g * filt, g * ofmap)
