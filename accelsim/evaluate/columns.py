"""Result rows: the column order and units of a simulation, and the network summary.

Every count a table shows is a column here, computed once by the engines; reports only select,
sum and divide columns. Counts are per run (all ``batch`` samples), words unless the name says
bytes, cycles of the arch's clock.

Columns (simulate.simulate fills them; engine-specific extras follow in engine order):
  layer, op, engine         names; engine is array | array-as-pool | pool | vector
  M, N, K, groups           the GEMM per group (M = batch * output pixels), mapping.py
  row_folds, col_folds, folds
  macs                      the network's multiply-accumulates (0 for a sumpool run as a conv)
  mults, mults_array        all multiplies / those on the MAC array
  adds, mac_adds, pool_adds all additions / accumulate adds in the array / sum-pool adds
  vector_ops, comparisons   vector-unit element operations, maxpool comparisons
  compute_cycles            array cycles, stall-free, SCALE-Sim's count (incl. its -1)
  pool_cycles, vector_cycles
  stall_cycles              cycles waiting on DRAM (USER bandwidth mode)
  total_cycles              the row's share of the network's latency (rows run in sequence)
  *_sram_reads/_writes      scratchpad accesses, words
  linebuf_reads/_writes     the pool unit's line buffers, words
  staging_reads/_writes     the fused pair's staging buffer between unit and array, words
  fused_cycles              a pool row: the pair's cycles before DRAM stalls (cycle level)
  array_wait_cycles         a pool row: cycles the array stalled waiting for the unit
  staging_peak_words        a pool row: most pooled values staged at once
  staging_min_words         a pool row: smallest buffer within 1 % of unbounded (on request)
  dram_*_reads/_writes      off-chip words
  compute_util, mapping_efficiency, overall_util   percent, SCALE-Sim's definitions
  bound                     which unit limits the row: array | pool | vector | memory
  pool_schedule             a pool row: fused | refold | two_pass (what the pair ran as)
  derived: sram_bytes, dram_{ifmap,filter,ofmap}_bytes, dram_bytes, latency_us
  energy: energy_{mac,pool,vector,sram_ifmap,sram_filter,sram_ofmap,dram}_pj, energy_pj

The core speaks numpy: a table is a plain dict of equal-length numpy arrays, one per column, one
entry per layer (``columns_from_rows``). ``derived_columns`` and ``energy_columns`` compute the
derived columns from it once; ``summarize`` takes such a dict or ``simulate``'s DataFrame (any
mapping of column name -> column). ``finish_columns`` and ``add_energy_columns`` are the older
names, which also take a DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from accelsim.hardware.energy import ENERGY_PARTS, arch_area_um2, staging_pj_per_word, \
    unit_energies

TEXT_COLUMNS = ["layer", "op", "engine", "bound", "pool_schedule"]
SHAPE_COLUMNS = ["M", "N", "K", "groups", "row_folds", "col_folds", "folds"]
COUNT_COLUMNS = [
    "macs", "mults", "mults_array", "adds", "mac_adds", "pool_adds", "vector_ops", "comparisons",
    "compute_cycles", "pool_cycles", "vector_cycles", "stall_cycles", "total_cycles",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "pool_sram_reads",
    "pool_sram_writes", "linebuf_reads", "linebuf_writes", "vector_sram_reads",
    "vector_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
    "staging_reads", "staging_writes", "fused_cycles", "array_wait_cycles", "staging_peak_words",
    "staging_min_words",
]
FLOAT_COLUMNS = ["compute_util", "mapping_efficiency"]
COLUMNS = ["layer", "op", "engine", *SHAPE_COLUMNS, *COUNT_COLUMNS, *FLOAT_COLUMNS, "bound",
           "pool_schedule"]
DERIVED_COLUMNS = ["overall_util", "sram_bytes", "dram_ifmap_bytes", "dram_filter_bytes",
                   "dram_ofmap_bytes", "dram_bytes", "latency_us"]


def columns_from_rows(rows: list[dict]) -> dict[str, np.ndarray]:
    """Engine rows (one dict per layer) -> a table: COLUMNS first, then the engines' own columns
    in first-seen order. A count an engine does not report for a row is 0; an extra column of
    integers only is int64, any other float64; text columns are object arrays."""
    extra = list(dict.fromkeys(k for r in rows for k in r if k not in COLUMNS))
    cols = {}
    for col in COLUMNS + extra:
        vals = [r.get(col) for r in rows]
        if col in TEXT_COLUMNS:
            arr = np.empty(len(vals), dtype=object)
            arr[:] = [v if v is not None else "" for v in vals]
            cols[col] = arr
        elif col in FLOAT_COLUMNS:
            cols[col] = np.array([v or 0.0 for v in vals], dtype=np.float64)
        elif col in COLUMNS or all(isinstance(v, (int, np.integer)) or v is None for v in vals):
            cols[col] = np.array([v or 0 for v in vals], dtype=np.int64)
        else:
            cols[col] = np.array([v or 0.0 for v in vals], dtype=np.float64)
    return cols


def _col(cols: Mapping, name: str) -> np.ndarray:
    # a DataFrame's Series or a table's array, as the array (no copy)
    return np.asarray(cols[name])


def derived_columns(cols: Mapping, arch) -> dict[str, np.ndarray]:
    """Utilization, bytes and latency (DERIVED_COLUMNS, in that order) from the counts."""
    c = {k: _col(cols, k) for k in COUNT_COLUMNS}
    wb = arch.word_bytes
    # SCALE-Sim's Overall Util % (engine.systolic.overall_util), vectorized; 0 off the array
    cycles = c["total_cycles"].astype(np.float64)
    array_mults = c["mults_array"].astype(np.float64)
    out = {"overall_util": np.divide(100.0 * array_mults, cycles * arch.pes,
                                     out=np.zeros_like(cycles), where=cycles > 0)}
    out["sram_bytes"] = (c["ifmap_sram_reads"] + c["filter_sram_reads"] + c["ofmap_sram_writes"]
                         + c["pool_sram_reads"] + c["pool_sram_writes"] + c["vector_sram_reads"]
                         + c["vector_sram_writes"]) * wb
    out["dram_ifmap_bytes"] = c["dram_ifmap_reads"] * wb
    out["dram_filter_bytes"] = c["dram_filter_reads"] * wb
    out["dram_ofmap_bytes"] = c["dram_ofmap_writes"] * wb
    out["dram_bytes"] = out["dram_ifmap_bytes"] + out["dram_filter_bytes"] + out["dram_ofmap_bytes"]
    out["latency_us"] = c["total_cycles"] / arch.clock_mhz
    return out


def energy_columns(cols: Mapping, arch) -> dict[str, np.ndarray]:
    """Energy by component (pJ; ENERGY_PARTS, then their sum energy_pj): each count times its
    unit energy (hardware.energy.unit_energies)."""
    c = {k: _col(cols, k) for k in COUNT_COLUMNS}
    e = unit_energies(arch)
    out = {"energy_mac_pj": c["mults_array"] * e["mult"] + c["mac_adds"] * e["acc_add"]}
    out["energy_pool_pj"] = (c["pool_adds"] * e["pool_add"]
                             + (c["linebuf_reads"] + c["linebuf_writes"]) * e["linebuf"]
                             + (c["staging_reads"] + c["staging_writes"])
                             * staging_pj_per_word(cols, arch))
    # vector-unit arithmetic: every add/mult not done by the array or the pool unit (an array
    # running a sumpool as a conv reports its products in mults_array); a max-pool comparison
    # costs about an add
    out["energy_vector_pj"] = (np.clip(c["adds"] - c["mac_adds"] - c["pool_adds"], 0, None)
                               * e["add"]
                               + np.clip(c["mults"] - c["mults_array"], 0, None) * e["mult"])
    out["energy_vector_pj"] = out["energy_vector_pj"] + c["comparisons"] * e["add"]
    out["energy_sram_ifmap_pj"] = (c["ifmap_sram_reads"] + c["pool_sram_reads"]
                                   + c["pool_sram_writes"] + c["vector_sram_reads"]) \
        * e["sram_ifmap"]
    out["energy_sram_filter_pj"] = c["filter_sram_reads"] * e["sram_filter"]
    ofmap_words = c["ofmap_sram_writes"] + c["vector_sram_writes"]
    out["energy_sram_ofmap_pj"] = ofmap_words * e["sram_ofmap"]
    out["energy_dram_pj"] = (c["dram_ifmap_reads"] + c["dram_filter_reads"]
                             + c["dram_ofmap_writes"]) * e["dram"]
    # the parts added left to right per row, as a DataFrame's sum(axis=1) does
    out["energy_pj"] = np.column_stack([out[k] for k in ENERGY_PARTS]).sum(axis=1)
    return out


def with_derived(cols: dict, arch) -> dict[str, np.ndarray]:
    """The table with its derived columns, then its energy columns, appended."""
    cols = {**cols, **derived_columns(cols, arch)}
    return {**cols, **energy_columns(cols, arch)}


def to_frame(table: dict):
    """A table as a pandas DataFrame, columns in the same order (simulate's last step)."""
    import pandas as pd

    return pd.DataFrame(table)


def finish_columns(df, arch):
    """The derived columns added to ``df`` (a table or a DataFrame, in place), which is
    returned; ``derived_columns`` is the same without touching ``df``."""
    for k, v in derived_columns(df, arch).items():
        df[k] = v
    return df


def add_energy_columns(df, arch):
    """A copy of ``df`` (a table or a DataFrame) with the energy columns (``energy_columns``)."""
    out = df.copy()
    for k, v in energy_columns(df, arch).items():
        out[k] = v
    return out


def summarize(cols: Mapping, arch) -> dict:
    """Network totals of a table or of ``simulate``'s DataFrame. Latency is the sum of the rows'
    total_cycles (layers run one after another); overall utilization is the array's MACs over
    its PE-cycles of that latency."""
    tot = {c: int(_col(cols, c).sum()) for c in COUNT_COLUMNS}
    n_layers = len(_col(cols, "total_cycles"))
    # a buffer is as large as its largest need, not the sum over layers
    for c in ("staging_peak_words", "staging_min_words"):
        tot[c] = int(_col(cols, c).max()) if n_layers else 0
    sched = np.asarray(cols["pool_schedule"], dtype=object)
    tot["fused_pairs"] = int(np.isin(sched, ("fused", "refold")).sum())
    tot["two_pass_pairs"] = int((sched == "two_pass").sum())
    cycles = tot["total_cycles"]
    out = {
        "arch": arch.name, "layers": n_layers, **tot,
        "sram_bytes": float(_col(cols, "sram_bytes").sum()),
        "dram_bytes": float(_col(cols, "dram_bytes").sum()),
        "overall_util": 100.0 * tot["mults_array"] / (cycles * arch.pes) if cycles else 0.0,
        "latency_ms": cycles / arch.clock_mhz / 1e3,
    }
    if "energy_pj" in cols:
        out["energy_uj"] = float(_col(cols, "energy_pj").sum()) / 1e6
        for k in cols:
            if k.startswith("energy_") and k.endswith("_pj") and k != "energy_pj":
                out[k[:-3] + "_uj"] = float(_col(cols, k).sum()) / 1e6
        out.update(arch_area_um2(arch))
    return out
