"""Steps 1 and 2 memoized for sweeps: the same engine rows as ``layers.engine_rows``, cached per
process and handed on as a table (numpy columns) without building a dict per evaluation.

A sweep evaluates thousands of points that share most of their per-layer work, so each layer's
engine row is cached, keyed by (layer, batch, the arch fields that layer's engine may read): a
GEMM row every field but the clock, the energy table, the pool unit and the vector unit; a
sum-pool or vector row every field but the clock and the energy table (those two enter only the
derived columns, recomputed at every evaluation). Sweeping the clock, the energy table, the pool
unit or the vector lanes therefore re-runs no GEMM engine. A row is kept as one int64 and one
float64 vector; a network's table is those vectors stacked.

Nothing here derives a count: the rows are ``layers.simulate_layer``'s and the pair accounting
``poolunit.fuse_structured``'s. The table holds ``columns.COLUMNS`` (the engines' extra columns,
such as the SRAM start/stop cycles, are ``simulate``'s only).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from accelsim.engine import poolunit
from accelsim.evaluate import columns
from accelsim.evaluate.layers import is_pool_pair, simulate_layer
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Workload

# (layer id, batch, arch key id) -> (row, int64 vector, float64 vector, text)
_row_cache: dict = {}
# (sum-pool id, conv id, batch, (GEMM key, pool unit) id) -> both rows' vectors
_pair_cache: dict = {}
_ids: dict = {}           # Layer or arch key -> small int (_id)
_workloads: dict = {}     # id(workload) -> (workload, _plan)
_CACHE_LIMIT = 200_000

# the table's columns by type; layer and op come from the workload itself
FLOAT_COLUMNS = list(columns.FLOAT_COLUMNS)
INT_COLUMNS = [c for c in columns.COLUMNS if c not in columns.TEXT_COLUMNS
               and c not in FLOAT_COLUMNS]
TEXT_COLUMNS = [c for c in columns.TEXT_COLUMNS if c not in ("layer", "op")]

# Arch fields no engine row reads: the clock and the energy table enter only the derived columns
# (latency, energy, area), which are recomputed at every evaluation.
_NOT_READ_BY_ENGINES = {"name", "source", "clock_mhz", "energy"}
# ... and, in addition, fields a GEMM row does not read (the pool unit and the vector unit)
_NOT_READ_BY_GEMM = _NOT_READ_BY_ENGINES | {"pool", "vector_lanes"}
_GEMM_FIELDS = tuple(f.name for f in fields(Arch) if f.name not in _NOT_READ_BY_GEMM)
_OTHER_FIELDS = tuple(f.name for f in fields(Arch) if f.name not in _NOT_READ_BY_ENGINES)


def _vectors(row: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    get = row.get
    ints = np.array([get(c) or 0 for c in INT_COLUMNS], dtype=np.int64)
    floats = np.array([get(c) or 0.0 for c in FLOAT_COLUMNS], dtype=np.float64)
    text = tuple(get(c) if get(c) is not None else "" for c in TEXT_COLUMNS)
    return ints, floats, text


def _id(obj) -> int:
    """A small int per distinct layer or arch key: the per-layer lookups below hash ints, not a
    frozen Layer and a tuple of ~20 arch fields every time (most of a warm evaluation)."""
    i = _ids.get(obj)
    if i is None:
        i = _ids[obj] = len(_ids)
    return i


def _plan(workload: Workload) -> tuple:
    """(layer ids, GEMM rows, sum-pool rows, pool pairs (i, i + 1)) of ``workload``, once per
    workload object (kept alive here, so its id() is not reused while it is cached)."""
    hit = _workloads.get(id(workload))
    if hit is not None and hit[0] is workload:
        return hit[1]
    ls = workload.layers
    plan = (tuple(_id(l) for l in ls), tuple(l.is_gemm for l in ls),
            tuple(l.op == "sumpool" for l in ls),
            tuple(i for i in range(len(ls) - 1) if is_pool_pair(ls[i], ls[i + 1])))
    _workloads[id(workload)] = (workload, plan)
    return plan


def _row(layer, arch: Arch, batch: int, key: tuple):
    hit = _row_cache.get(key)
    if hit is None:
        row = simulate_layer(layer, arch, batch)
        hit = (row, *_vectors(row))
        _row_cache[key] = hit
    return hit


def layer_matrices(workload: Workload, arch: Arch, batch: int = 1):
    """(int64 matrix, float64 matrix, text tuples), one row per layer, columns INT_COLUMNS,
    FLOAT_COLUMNS, TEXT_COLUMNS: steps 1 and 2, memoized."""
    if max(len(_row_cache), len(_pair_cache), len(_ids)) > _CACHE_LIMIT:
        _forget()   # ids and the rows keyed by them go together
    lids, gemm, sumpool, pairs = _plan(workload)
    layers = workload.layers
    # what simulate_gemm (mapping, systolic, memory) may read from the arch; a sum-pool without
    # a pool unit runs on the array too
    gid = _id(("g",) + tuple(getattr(arch, f) for f in _GEMM_FIELDS))
    on_array = [g or (sp and arch.pool is None) for g, sp in zip(gemm, sumpool)]
    # sum-pools and vector ops: keyed on every field an engine may read (the pool unit, the
    # vector lanes, the buffers), so a sweep of the clock or the energy table reuses them
    oid = (_id(("o",) + tuple(getattr(arch, f) for f in _OTHER_FIELDS))
           if not all(on_array) else None)
    hits = [_row(l, arch, batch, (lid, batch, gid if a else oid))
            for l, lid, a in zip(layers, lids, on_array)]
    ints = [h[1] for h in hits]
    floats = [h[2] for h in hits]
    texts = [h[3] for h in hits]
    if arch.pool is not None and pairs:
        # what fuse_structured may read beyond the two rows: the pool unit and the buffers/DRAM
        pid = _id((gid, arch.pool))
        for i in pairs:
            key = (lids[i], lids[i + 1], batch, pid)
            fused = _pair_cache.get(key)
            if fused is None:
                a, b = poolunit.fuse_structured(hits[i][0], hits[i + 1][0], arch, layers[i],
                                                layers[i + 1], batch)
                fused = (_vectors(a), _vectors(b))
                _pair_cache[key] = fused
            (ints[i], floats[i], texts[i]), (ints[i + 1], floats[i + 1], texts[i + 1]) = fused
    return np.array(ints), np.array(floats), texts


def engine_columns(workload: Workload, arch: Arch, batch: int = 1) -> dict[str, np.ndarray]:
    """Steps 1-3, memoized: the table of ``columns.COLUMNS`` (one entry per layer)."""
    ints, floats, texts = layer_matrices(workload, arch, batch)
    n = ints.shape[0]
    by_name = {c: ints[:, j] for j, c in enumerate(INT_COLUMNS)}
    by_name.update({c: floats[:, j] for j, c in enumerate(FLOAT_COLUMNS)})
    tarr = np.empty((n, len(TEXT_COLUMNS)), dtype=object)
    if n:
        tarr[:] = texts
    by_name.update({c: tarr[:, j] for j, c in enumerate(TEXT_COLUMNS)})
    names = np.empty((2, n), dtype=object)
    names[0] = [l.name for l in workload.layers]
    names[1] = [l.op for l in workload.layers]
    by_name["layer"], by_name["op"] = names
    return {c: by_name[c] for c in columns.COLUMNS}


def _forget() -> None:
    for memo in (_row_cache, _pair_cache, _ids, _workloads):
        memo.clear()


def clear_caches() -> None:
    """Forget every memoized engine row, here and in the engines (benchmarks start cold)."""
    from accelsim.engine import memory as _memory
    from accelsim.engine import operands as _operands
    from accelsim.engine import poolsched as _poolsched
    from accelsim.evaluate import layers as _layers

    _forget()
    _poolsched.clear_caches()
    _layers._gemm_row.cache_clear()
    _layers._gemm_arch.cache_clear()
    _operands._covered.cache_clear()
    _operands._addressing_memo.cache_clear()
    _memory._calc_walk.cache_clear()
