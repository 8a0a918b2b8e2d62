"""Steps 1 and 2 of the evaluation: every layer on its engine, then the pool unit's placement
on (sum-pool, structured conv) pairs. One dict of counts per layer (the engines' row records);
``columns.columns_from_rows`` turns them into the table the later steps read.

    conv/linear  -> map onto the array (engine.mapping.map_layer)
                 -> compute cycles and utilizations (engine.systolic)
                 -> SRAM/DRAM traffic and stalls (engine.memory)
    sumpool      -> the pool unit (engine.poolunit), or, with no pool unit, an all-ones conv run
                    on the array exactly like any other conv
    other ops    -> the vector unit (engine.vector)
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

from accelsim.common.errors import InputError, require
from accelsim.engine import memory, poolunit, systolic, vector
from accelsim.engine.mapping import map_layer
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer, Workload, accumulate_adds, macs
from accelsim.workload.layer_spec import nameless


def simulate_gemm(layer: Layer, arch: Arch, batch: int = 1) -> dict:
    """A conv/linear layer on the systolic array with its SRAM/DRAM traffic."""
    # the engines read the layer's shape, never its name: a network's repeated blocks, and the
    # dense layers a structured variant shares with its regular network, are simulated once
    # per process (Layer and Arch are frozen, so they key the memo; the result is a fresh dict)
    try:
        return _gemm_row(nameless(layer), _gemm_arch(arch), batch).copy()
    except InputError:
        _gemm_row.__wrapped__(layer, arch, batch)   # the same error, naming this arch
        raise


@lru_cache(maxsize=1024)   # a projection is validated on construction: once per arch
def _gemm_arch(arch: Arch) -> Arch:
    """``arch`` with every field the GEMM engines (mapping, systolic, memory) never read set to
    its default, so design points that differ only in clock, pool unit, vector unit, energy
    table or (in CALC mode) DRAM bandwidth share one engine run. A test checks the row of the
    projection equals the row of the arch itself."""
    user = arch.bandwidth_mode == "user"
    # every projected field takes its default or the arch's own value, both of which
    # validate_arch has accepted: set them on a copy instead of replace(), which would
    # validate again (~0.03 ms, a tenth of the Python around a new geometry's evaluation);
    # the copy is a bare instance given the arch's fields (copy.copy's pickle path: ~2 us)
    proj = object.__new__(Arch)
    proj.__dict__.update(vars(arch), name="", source="", clock_mhz=1000.0, vector_lanes=16,
                         pool=None, energy="horowitz45",
                         dram_bw_words_per_cycle=arch.dram_bw_words_per_cycle if user else 10.0,
                         stall_model=arch.stall_model if user else "scalesim")
    return proj


@lru_cache(maxsize=16384)
def _gemm_row(layer: Layer, arch: Arch, batch: int) -> MappingProxyType:
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
    # stall-free cycles + stalls) from the memory engine; a shallow copy (its fields in order),
    # since asdict deep-copies, which dominated sweep time (bench/bench_sweep.py)
    mem = memory.simulate_memory(layer, arch, mp)
    row.update(vars(mem))
    row["bound"] = "memory" if row["stall_cycles"] > 0 else "array"
    return MappingProxyType(row)     # read-only in the memo; callers get a copy


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
    """Step 1 for one layer: its engine's row (names first, then the counts)."""
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


def is_pool_pair(layer: Layer, nxt: Layer) -> bool:
    """A sumpool whose output feeds the structured conv after it: the pool unit's pair."""
    return layer.op == "sumpool" and nxt.is_gemm and nxt.structured


FIDELITIES = ("exact", "fast")


def fast_is_bounded(arch: Arch) -> bool:
    """Whether the fast tier has a stated error bound on ``arch``: every arch but USER mode with
    stall_model "scalesim", whose prefetch windows no fold-level count follows
    (docs/analytic.md); there the array's rows stay exact whatever the fidelity."""
    return not (arch.bandwidth_mode == "user" and arch.stall_model == "scalesim")


def _analytic_rows(workload: Workload, arch: Arch, batch: int) -> dict[int, dict]:
    """Step 1 at fidelity fast for the rows the MAC array runs (conv/linear, and sum-pools run
    as all-ones convs on a machine without a pool unit): one vectorized call of the analytical
    tier (engine/analytic/) for all of them. Names and counts as simulate_gemm's row."""
    from accelsim.engine import analytic

    array = [(i, lay if lay.is_gemm else sumpool_as_array_conv(lay))
             for i, lay in enumerate(workload.layers)
             if lay.is_gemm or (lay.op == "sumpool" and arch.pool is None)]
    if not array or not fast_is_bounded(arch):
        return {}
    r = analytic.evaluate(analytic.points([lay for _, lay in array], arch, batch))
    out = {}
    for j, (i, lay) in enumerate(array):
        orig = workload.layers[i]
        n_macs, n_acc = batch * macs(lay), batch * accumulate_adds(lay)
        row = {"layer": orig.name, "op": orig.op,
               "engine": "array" if orig.is_gemm else "array-as-pool",
               "macs": n_macs if orig.is_gemm else 0, "mults": n_macs, "mults_array": n_macs,
               "mac_adds": n_acc, "adds": n_acc}
        for c in analytic.COLUMNS:
            if c != "macs":
                v = r[c][j]
                row[c] = float(v) if v.dtype.kind == "f" else int(v)
        row["bound"] = "memory" if row["stall_cycles"] > 0 else "array"
        out[i] = row
    return out


def engine_rows(workload: Workload, arch: Arch, batch: int = 1,
                buffer_search: bool = False, fidelity: str = "exact") -> list[dict]:
    """Steps 1 and 2: one row per layer. ``buffer_search``: also find each fused pair's smallest
    staging buffer within 1 % of the unbounded buffer's cycles (``staging_min_words``).
    ``fidelity``: "exact" (SCALE-Sim's buffers walked exactly) or "fast" (the array's rows from
    the analytical tier, every other row exact; docs/analytic.md states the error)."""
    require(fidelity in FIDELITIES, f"unknown fidelity; expected one of {FIDELITIES}",
            field="fidelity", value=fidelity)
    fast = _analytic_rows(workload, arch, batch) if fidelity == "fast" else {}
    rows = [fast.get(i) or simulate_layer(layer, arch, batch)
            for i, layer in enumerate(workload.layers)]
    if arch.pool is not None:
        ls = workload.layers
        for i in range(len(ls) - 1):
            if is_pool_pair(ls[i], ls[i + 1]):
                rows[i], rows[i + 1] = poolunit.fuse_structured(
                    rows[i], rows[i + 1], arch, ls[i], ls[i + 1], batch, buffer_search)
    return rows
