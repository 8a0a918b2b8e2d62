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
"""

from __future__ import annotations

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


def finish_columns(df, arch):
    """Derived columns (utilization, bytes, latency), once, from the counts."""
    import numpy as np

    wb = arch.word_bytes
    # SCALE-Sim's Overall Util % (engine.systolic.overall_util), vectorized; 0 off the array
    cycles = np.asarray(df["total_cycles"], dtype=np.float64)
    array_mults = np.asarray(df["mults_array"], dtype=np.float64)
    df["overall_util"] = np.divide(100.0 * array_mults, cycles * arch.pes,
                                   out=np.zeros_like(cycles), where=cycles > 0)
    df["sram_bytes"] = (df["ifmap_sram_reads"] + df["filter_sram_reads"] + df["ofmap_sram_writes"]
                        + df["pool_sram_reads"] + df["pool_sram_writes"] + df["vector_sram_reads"]
                        + df["vector_sram_writes"]) * wb
    df["dram_ifmap_bytes"] = df["dram_ifmap_reads"] * wb
    df["dram_filter_bytes"] = df["dram_filter_reads"] * wb
    df["dram_ofmap_bytes"] = df["dram_ofmap_writes"] * wb
    df["dram_bytes"] = df["dram_ifmap_bytes"] + df["dram_filter_bytes"] + df["dram_ofmap_bytes"]
    df["latency_us"] = df["total_cycles"] / arch.clock_mhz
    return df


def summarize(df, arch) -> dict:
    """Network totals. Latency is the sum of the rows' total_cycles (layers run one after
    another); overall utilization is the array's MACs over its PE-cycles of that latency."""
    tot = {c: int(df[c].sum()) for c in COUNT_COLUMNS}
    # a buffer is as large as its largest need, not the sum over layers
    for c in ("staging_peak_words", "staging_min_words"):
        tot[c] = int(df[c].max()) if len(df) else 0
    import numpy as np

    sched = np.asarray(df["pool_schedule"], dtype=object)
    tot["fused_pairs"] = int(np.isin(sched, ("fused", "refold")).sum())
    tot["two_pass_pairs"] = int((sched == "two_pass").sum())
    cycles = tot["total_cycles"]
    out = {
        "arch": arch.name, "layers": int(len(df)), **tot,
        "sram_bytes": float(df["sram_bytes"].sum()), "dram_bytes": float(df["dram_bytes"].sum()),
        "overall_util": 100.0 * tot["mults_array"] / (cycles * arch.pes) if cycles else 0.0,
        "latency_ms": cycles / arch.clock_mhz / 1e3,
    }
    if "energy_pj" in df.columns:
        out["energy_uj"] = float(df["energy_pj"].sum()) / 1e6
        for k in df.columns:
            if k.startswith("energy_") and k.endswith("_pj") and k != "energy_pj":
                out[k[:-3] + "_uj"] = float(df[k].sum()) / 1e6
        from accelsim.hardware.energy import arch_area_um2

        out.update(arch_area_um2(arch))
    return out
