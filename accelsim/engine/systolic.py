"""The systolic MAC array: cycles and utilizations of one GEMM layer, SCALE-Sim v2.0.2-exact.

SCALE-Sim builds, per fold, demand matrices (one row per cycle) padded with fill/drain gaps and
skewed by the array's diagonal, then concatenates the folds. Their shapes depend only on the
array size and the mapping, never on addresses, so every compute-report quantity is a closed
form over folds (NOTES sections 3.2-3.4); nothing here builds a matrix or loops over cycles.

Rows of one fold's demand matrix (AR x AC array, T streamed operands):

- os: T + AR + AC - 2   -- T operand rows, skewed by AR - 1 (ifmap) and AC - 1 (filter); the
  ofmap leaves as the last operands enter (v2 has no separate AR-cycle output drain).
- ws, is: 2*AR + AC + T - 2 -- AR rows to preload the stationary operand, T streamed rows,
  AC - 1 for the partial sums to drain, AR - 1 of skew.

Reported total (stall-free) = folds * rows_per_fold - SCALESIM_OFF_BY_ONE. SCALE-Sim reports
the 0-based index of its last demand row, one less than the number of rows (its issue #125, a
4x4 example: 9 reported, 10 expected). accelsim keeps the -1 so that every layer matches
SCALE-Sim's COMPUTE_REPORT bit for bit; ``true_cycles`` gives the row count.

Utilizations, as SCALE-Sim averages them (means over folds, not ratios of sums):
- mapping efficiency = mean_f used_rows_f * used_cols_f / (AR * AC);
- compute util = mean_f used_f * T / (AR * AC * util_rows_f), where util_rows_f is the
  rows + cols - 1 of the demand block SCALE-Sim measures (the unskewed ofmap block in os,
  the stationary-operand block in ws/is: one more AC - 1 than the cycles of the fold);
- overall util = MACs / (total cycles * AR * AC), total cycles with SCALE-Sim's -1 and stalls.
Every fold has the same row count, so the means reduce to sum(used) / folds with
sum(used) = Sr * Sc over one group's folds (each mapped element sits in exactly one fold).

SRAM access counts (the operand slots the array consumes, SCALE-Sim's per-fold slice sums,
including the -1 "outside the ifmap" slots and the os ofmap writes' extra AR + AC per fold of
its issue #166) are also here, since they follow from the same fold shapes; the memory engine
owns DRAM traffic and stalls.

Extensions beyond SCALE-Sim (parity is judged at batch 1): batch multiplies M (the ofmap pixels
of all samples share the array's rows/cols like extra pixels), and grouped/depthwise convs run as
``groups`` independent GEMMs one after another (folds multiply); SCALE-Sim has neither (its
depthwise support splits a layer whose name contains "DP" into C layers, which is the same
thing for groups = C).
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.engine.mapping import GemmMapping

# SCALE-Sim reports the last demand row's index, not the row count (its issue #125).
SCALESIM_OFF_BY_ONE = 1


@dataclass(frozen=True)
class ComputeCounts:
    compute_cycles: int          # stall-free cycles as SCALE-Sim reports them (incl. its -1)
    cycles_per_fold: int         # demand rows of one fold
    folds: int                   # groups * row_folds * col_folds
    mapping_efficiency: float    # percent, mean over folds
    compute_util: float          # percent, mean over folds
    ifmap_sram_reads: int        # words (operand slots, SCALE-Sim's count)
    filter_sram_reads: int
    ofmap_sram_writes: int

    @property
    def true_cycles(self) -> int:
        """Demand rows of the whole layer: the cycles an RTL array would take."""
        return self.compute_cycles + SCALESIM_OFF_BY_ONE


def cycles_per_fold(mp: GemmMapping) -> int:
    ar, ac, t = mp.array_rows, mp.array_cols, mp.T
    if mp.dataflow == "os":
        return t + ar + ac - 2
    return 2 * ar + ac + t - 2


def util_rows_per_fold(mp: GemmMapping) -> int:
    """SCALE-Sim's per-fold denominator of compute utilization (rows + cols - 1 of the demand
    block it measures: the unskewed ofmap block in os, the stationary-operand block in ws/is)."""
    ar, ac, t = mp.array_rows, mp.array_cols, mp.T
    if mp.dataflow == "os":
        return t + ar + ac - 2
    return 2 * ar + 2 * ac + t - 3


# kept for callers of the first version's name
util_cycles_per_fold = util_rows_per_fold


def sram_accesses(mp: GemmMapping) -> tuple[int, int, int]:
    """(ifmap reads, filter reads, ofmap writes) in words, SCALE-Sim's slice sums.

    The streamed operand is re-read once per fold of the other array dimension; the stationary
    one is read once; os adds SCALE-Sim's (AR + AC) per fold to the ofmap writes (#166)."""
    ar, ac = mp.array_rows, mp.array_cols
    rf, cf, g = mp.row_folds, mp.col_folds, mp.groups
    M, N, K = mp.M, mp.N, mp.K
    if mp.dataflow == "os":
        ifmap, filt, ofmap = M * K * cf, K * N * rf, M * N + (ar + ac) * rf * cf
    elif mp.dataflow == "ws":
        ifmap, filt, ofmap = M * K * cf, K * N, M * N * rf
    else:
        ifmap, filt, ofmap = M * K, K * N * cf, M * N * rf
    return g * ifmap, g * filt, g * ofmap


def simulate_compute(mp: GemmMapping) -> ComputeCounts:
    ar, ac = mp.array_rows, mp.array_cols
    folds_per_group = mp.row_folds * mp.col_folds
    used = mp.Sr * mp.Sc
    mapping_eff = 100.0 * used / (folds_per_group * ar * ac)
    compute_util = 100.0 * used * mp.T / (folds_per_group * ar * ac * util_rows_per_fold(mp))
    per_fold = cycles_per_fold(mp)
    ifmap, filt, ofmap = sram_accesses(mp)
    return ComputeCounts(mp.folds * per_fold - SCALESIM_OFF_BY_ONE, per_fold, mp.folds,
                         mapping_eff, compute_util, ifmap, filt, ofmap)


def overall_util(mults: int, total_cycles: int, pes: int) -> float:
    """SCALE-Sim's Overall Util %: useful MACs over PE-cycles of the reported total."""
    return 100.0 * mults / (total_cycles * pes) if total_cycles > 0 else 0.0


__all__ = ["ComputeCounts", "SCALESIM_OFF_BY_ONE", "cycles_per_fold", "util_rows_per_fold",
           "sram_accesses", "simulate_compute", "overall_util"]
