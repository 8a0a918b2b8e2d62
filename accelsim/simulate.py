"""The whole evaluation as one readable list of steps (after ZigZag's api.py):

    for each layer:  map it onto the array -> run its engine(s) -> one row of counts
    then:            account for the pool unit's placement on (sumpool, conv) pairs
                     -> derive bytes and latency -> add energy by component

``simulate(workload, arch, batch)`` returns a pandas DataFrame, one row per layer, units in the
column names. It holds no state: same inputs, same numbers.
"""

from __future__ import annotations

from .arch import Arch
from .engine import memory, poolunit, systolic, vector
from .mapping import map_layer
from .result import COLUMNS, finish_columns, summarize
from .workload import Layer, Workload, accumulate_adds, macs


def simulate_gemm(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    """A conv/linear layer on the systolic array with its SRAM/DRAM traffic."""
    mp = map_layer(layer, arch, batch)
    comp = systolic.simulate_compute(mp)
    mem = memory.simulate_memory(layer, arch, mp, comp.compute_cycles)
    n_macs = batch * macs(layer)
    return {
        "engine": "array", "M": mp.M, "N": mp.N, "K": mp.K, "folds": mp.folds,
        "macs": n_macs, "mults": n_macs, "mults_array": n_macs,
        "mac_adds": batch * accumulate_adds(layer), "adds": batch * accumulate_adds(layer),
        "compute_cycles": comp.compute_cycles, "stall_cycles": mem.stall_cycles,
        "total_cycles": comp.compute_cycles + mem.stall_cycles,
        "compute_util": comp.compute_util, "mapping_efficiency": comp.mapping_efficiency,
        "ifmap_sram_reads": comp.ifmap_sram_reads, "filter_sram_reads": comp.filter_sram_reads,
        "ofmap_sram_writes": comp.ofmap_sram_writes,
        "dram_ifmap_reads": mem.dram_ifmap_reads, "dram_filter_reads": mem.dram_filter_reads,
        "dram_ofmap_writes": mem.dram_ofmap_writes,
        "bound": "memory" if mem.stall_cycles > 0 else "array",
    }


def simulate_layer(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    if layer.is_gemm:
        row = simulate_gemm(layer, arch, batch)
    elif layer.op == "sumpool" and arch.pool is None:
        # no pool unit: the sum-pool is an all-ones conv on the MAC array; its multiplies are
        # real work for that machine, but they are not the network's MACs
        row = simulate_gemm(poolunit.sumpool_as_conv(layer), arch, batch)
        row.update(engine="array-as-pool", macs=0, pool_adds=0)
    elif layer.op == "sumpool":
        row = {"engine": "pool", **poolunit.simulate_sumpool(layer, arch, batch)}
        row["adds"] = row["pool_adds"]
    else:
        row = {"engine": "vector", **vector.simulate_vector(layer, arch, batch)}
    return {"layer": layer.name, "op": layer.op, **row}


def simulate(workload: Workload, arch: Arch, batch: int = 1):
    import pandas as pd

    rows = [simulate_layer(layer, arch, batch) for layer in workload]
    if arch.pool is not None:
        for i, layer in enumerate(workload.layers[:-1]):
            nxt = workload.layers[i + 1]
            if layer.op == "sumpool" and nxt.is_gemm and nxt.structured:
                rows[i], rows[i + 1] = poolunit.fuse_structured(rows[i], rows[i + 1], arch)
    df = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = "" if col in ("bound", "engine") else 0
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]].copy()
    num = [c for c in df.columns if c not in ("layer", "op", "engine", "bound")]
    df[num] = df[num].fillna(0)
    df["bound"] = df["bound"].fillna("")
    int_cols = [c for c in num if c not in ("compute_util", "mapping_efficiency")]
    df[int_cols] = df[int_cols].astype("int64")
    df = finish_columns(df, arch)
    from .energy import add_energy_columns

    return add_energy_columns(df, arch)


__all__ = ["simulate", "simulate_layer", "simulate_gemm", "summarize"]
