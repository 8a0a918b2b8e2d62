"""The whole evaluation as one readable list of steps (after ZigZag's api.py):

    for each layer:
        conv/linear  -> map onto the array (mapping.map_layer)
                     -> compute cycles and utilizations (engine.systolic)
                     -> SRAM/DRAM traffic and stalls (engine.memory)
        sumpool      -> the pool unit (engine.poolunit), or, with no pool unit, an all-ones
                        conv run on the array exactly like any other conv
        other ops    -> the vector unit (engine.vector)
    then:
        (sumpool, structured conv) pairs -> the pool unit's placement (poolunit.fuse_structured)
        -> bytes and latency (result.finish_columns) -> energy by component (energy)

``simulate(workload, arch, batch)`` returns a pandas DataFrame, one row per layer, units in the
column names (result.COLUMNS). It holds no state: same inputs, same numbers, same column order.
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import lru_cache

from accelsim.hardware import energy
from accelsim.hardware.arch import Arch
from accelsim.engine import memory, poolunit, systolic, vector
from accelsim.common.errors import InputError, require
from accelsim.engine.mapping import map_layer
from accelsim.evaluate.columns import COLUMNS, FLOAT_COLUMNS, TEXT_COLUMNS, finish_columns, summarize
from accelsim.workload.layer import Layer, Workload, accumulate_adds, macs


def simulate_gemm(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    """A conv/linear layer on the systolic array with its SRAM/DRAM traffic."""
    # the engines read the layer's shape, never its name: a network's repeated blocks, and the
    # dense layers a structured variant shares with its regular network, are simulated once
    # per process (Layer and Arch are frozen, so they key the memo; the result is a fresh dict)
    try:
        return dict(_gemm_row(replace(layer, name=""), _gemm_arch(arch), batch))
    except InputError:
        _gemm_row.__wrapped__(layer, arch, batch)   # the same error, naming this arch
        raise


def _gemm_arch(arch: Arch) -> Arch:
    """``arch`` with every field the GEMM engines (mapping, systolic, memory) never read set to
    its default, so design points that differ only in clock, pool unit, vector unit, energy
    table or (in CALC mode) DRAM bandwidth share one engine run. A test checks the row of the
    projection equals the row of the arch itself."""
    user = arch.bandwidth_mode == "user"
    return replace(arch, name="", source="", clock_mhz=1000.0, vector_lanes=16, pool=None,
                   energy="horowitz45",
                   dram_bw_words_per_cycle=arch.dram_bw_words_per_cycle if user else 10.0,
                   stall_model=arch.stall_model if user else "scalesim")


@lru_cache(maxsize=16384)
def _gemm_row(layer: Layer, arch: Arch, batch: int) -> tuple:
    mp = map_layer(layer, arch, batch)
    comp = systolic.simulate_compute(mp)
    n_macs = batch * macs(layer)
    n_acc = batch * accumulate_adds(layer)
    row = {
        "engine": "array", "M": mp.M, "N": mp.N, "K": mp.K, "groups": mp.groups,
        "row_folds": mp.row_folds, "col_folds": mp.col_folds, "folds": mp.folds,
        "macs": n_macs, "mults": n_macs, "mults_array": n_macs,
        "mac_adds": n_acc, "adds": n_acc, "compute_cycles": comp.compute_cycles,
        "compute_util": comp.compute_util, "mapping_efficiency": comp.mapping_efficiency,
    }
    # SRAM/DRAM traffic, stalls and SCALE-Sim's Total Cycles (its last ofmap service cycle:
    # stall-free cycles + stalls) from the memory engine; a shallow copy, since asdict
    # deep-copies, which dominated sweep time (bench/bench_sweep.py)
    mem = memory.simulate_memory(layer, arch, mp)
    row.update((f.name, getattr(mem, f.name)) for f in fields(mem))
    row["bound"] = "memory" if row["stall_cycles"] > 0 else "array"
    return tuple(row.items())


def sumpool_as_array_conv(layer: Layer) -> Layer:
    """A sumpool as the conv a machine without a pool unit runs on its MAC array.

    Output k of a group sums channels k..k+bc-1 of that group over a bh x bw window, so it is a
    grouped conv (the sumpool's groups, stride 1, its padding) whose c outputs per group each
    hold a 0/1 kernel over all C/g channels of the group: the array cannot skip the zeros, so it
    spends (C/g)*bh*bw MACs per pooled value. c and n are cleared: this conv is the dense
    stand-in, not a structured layer."""
    require(layer.op == "sumpool", "not a sumpool layer", source=f"layer '{layer.name}'",
            field="op", value=layer.op)
    return Layer(layer.name, "conv2d", layer.in_shape, layer.out_shape, layer.kernel, (1, 1),
                 layer.padding, groups=layer.groups)


def simulate_layer(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    if layer.is_gemm:
        row = simulate_gemm(layer, arch, batch)
    elif layer.op == "sumpool" and arch.pool is None:
        # no pool unit: the multiplies by one are real work for that machine but not the
        # network's MACs, so ``macs`` stays 0 while ``mults``/``mults_array`` count them
        row = simulate_gemm(sumpool_as_array_conv(layer), arch, batch)
        row.update(engine="array-as-pool", macs=0)
    elif layer.op == "sumpool":
        row = {"engine": "pool", **poolunit.simulate_sumpool(layer, arch, batch)}
        row.setdefault("adds", row.get("pool_adds", 0))
    else:
        row = {"engine": "vector", **vector.simulate_vector(layer, arch, batch)}
    return {"layer": layer.name, "op": layer.op, **row}


def _pool_pairs(workload: Workload):
    """Indices i where layer i is a sumpool whose output feeds structured conv i + 1."""
    ls = workload.layers
    for i in range(len(ls) - 1):
        a, b = ls[i], ls[i + 1]
        if a.op == "sumpool" and b.is_gemm and b.structured:
            yield i


def _frame(rows: list[dict]):
    """Rows -> DataFrame, built column by column in one go (COLUMNS first, then the engines'
    own columns in first-seen order). A count an engine does not report for a row is 0."""
    import numpy as np
    import pandas as pd

    extra = list(dict.fromkeys(k for r in rows for k in r if k not in COLUMNS))
    data = {}
    for col in COLUMNS + extra:
        vals = [r.get(col) for r in rows]
        if col in TEXT_COLUMNS:
            data[col] = [v if v is not None else "" for v in vals]
        elif col in FLOAT_COLUMNS:
            data[col] = np.array([v or 0.0 for v in vals], dtype=np.float64)
        elif col in COLUMNS or all(isinstance(v, (int, np.integer)) or v is None for v in vals):
            data[col] = np.array([v or 0 for v in vals], dtype=np.int64)
        else:
            data[col] = np.array([v or 0.0 for v in vals], dtype=np.float64)
    return pd.DataFrame(data)


def simulate(workload: Workload, arch: Arch, batch: int = 1, buffer_search: bool = False):
    """One row per layer of ``workload`` on ``arch`` at ``batch`` samples (result.COLUMNS).
    ``buffer_search``: also find each fused pair's smallest staging buffer within 1 % of the
    unbounded buffer's cycles (``staging_min_words``; a bisection of co-simulations)."""
    require(isinstance(batch, int) and batch >= 1, "batch must be an integer >= 1",
            field="batch", value=batch)
    # 1. every layer on its engine
    rows = [simulate_layer(layer, arch, batch) for layer in workload]
    # 2. the pool unit's placement on (sumpool, structured conv) pairs
    if arch.pool is not None:
        for i in _pool_pairs(workload):
            rows[i], rows[i + 1] = poolunit.fuse_structured(
                rows[i], rows[i + 1], arch, workload.layers[i], workload.layers[i + 1], batch,
                buffer_search)
    # 3. bytes, latency and per-row utilization, then energy by component
    return energy.add_energy_columns(finish_columns(_frame(rows), arch), arch)


__all__ = ["simulate", "simulate_layer", "simulate_gemm", "sumpool_as_array_conv", "summarize"]
