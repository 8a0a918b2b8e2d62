"""Result rows: the column order and units of a simulation, and the network summary.

Every count a table shows is a column here, computed once by the engines; reports only select,
sum and divide columns.
"""

from __future__ import annotations

COUNT_COLUMNS = [
    "macs", "mults", "mults_array", "adds", "mac_adds", "pool_adds", "vector_ops",
    "compute_cycles", "pool_cycles", "vector_cycles", "stall_cycles", "total_cycles",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "pool_sram_reads",
    "pool_sram_writes", "linebuf_reads", "linebuf_writes", "vector_sram_reads",
    "vector_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
]
COLUMNS = ["layer", "op", "engine", "M", "N", "K", "folds", *COUNT_COLUMNS, "compute_util",
           "mapping_efficiency", "bound"]


def finish_columns(df, arch):
    """Derived columns (bytes, latency), once, from the counts."""
    wb = arch.word_bytes
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
    """Network totals: latency is the sum of rows' total_cycles (layers run one after another)."""
    from .energy import arch_area_um2

    tot = {c: int(df[c].sum()) for c in COUNT_COLUMNS}
    cycles = tot["total_cycles"]
    out = {
        "arch": arch.name, "layers": int(len(df)), **tot,
        "sram_bytes": float(df["sram_bytes"].sum()), "dram_bytes": float(df["dram_bytes"].sum()),
        "overall_util": 100.0 * tot["mults_array"] / (cycles * arch.pes) if cycles else 0.0,
        "latency_ms": cycles / arch.clock_mhz / 1e3,
        "energy_uj": float(df["energy_pj"].sum()) / 1e6,
        **{k: float(df[k].sum()) / 1e6 for k in df.columns if k.startswith("energy_")
           and k != "energy_pj"},
    }
    out = {k.replace("_pj", "_uj") if k.startswith("energy_") else k: v for k, v in out.items()}
    out.update(arch_area_um2(arch))
    return out
