"""The fast evaluation path for sweeps: the same numbers as ``simulate`` + ``summarize``, faster.

``simulate`` spends most of its time building a pandas DataFrame (tens of ms for ResNet-50); the
engines themselves take a few ms. A sweep evaluates thousands of points that share most of their
per-layer work, so this path

- caches each layer's engine row per process, keyed by (layer, batch, the arch fields that
  layer's engine may read): a GEMM row every field but the clock, the energy table, the pool
  unit and the vector unit; a sum-pool or vector row every field but the clock and the energy
  table (those two enter only the derived columns, recomputed at every evaluation). Sweeping the
  clock, the energy table, the pool unit or the vector lanes therefore re-runs no GEMM engine;
- keeps the rows as one int64 and one float64 matrix (layers x columns) instead of a DataFrame;
- calls the very same ``result.finish_columns``, ``energy.add_energy_columns`` and
  ``result.summarize`` on a small column table (``Frame``), so every derived number comes from
  the one place that defines it.

Nothing here re-derives a count: the engine rows are ``simulate.simulate_layer``'s and the pair
accounting is ``poolunit.fuse_structured``'s.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from accelsim.evaluate import columns as result
from accelsim.hardware.arch import Arch
from accelsim.engine import poolunit
from accelsim.evaluate.columns import COLUMNS, finish_columns, summarize
from accelsim.evaluate.simulate import simulate_layer
from accelsim.workload.layer import Workload

_row_cache: dict = {}
_pair_cache: dict = {}
_CACHE_LIMIT = 200_000


# simulate's frame before the derived columns, split by type (layer and op are the workload's)
FLOAT_COLUMNS = list(result.FLOAT_COLUMNS)
INT_COLUMNS = [c for c in COLUMNS if c not in result.TEXT_COLUMNS and c not in FLOAT_COLUMNS]
TEXT_COLUMNS = [c for c in result.TEXT_COLUMNS if c not in ("layer", "op")]


class Col(np.ndarray):
    """A numpy column with the two pandas Series methods the result code uses on counts."""

    def clip(self, lower=None, upper=None, **kw):
        return np.clip(np.asarray(self), lower, upper).view(Col)

    def fillna(self, value):
        a = np.asarray(self)
        if a.dtype.kind == "f":
            a = np.where(np.isnan(a), value, a)
        return a.view(Col)


class Frame:
    """Just enough of a DataFrame (``df[col]``, ``df[col] = v``, ``df[[cols]].sum(axis=1)``,
    ``copy``, ``columns``, ``len``) for ``finish_columns``, ``add_energy_columns`` and
    ``summarize`` to run unchanged on numpy columns."""

    def __init__(self, cols: dict, n: int):
        self._cols = cols
        self._n = n

    def __getitem__(self, key):
        if isinstance(key, (list, tuple)):
            return np.column_stack([self._cols[k] for k in key]).view(Col)
        return self._cols[key]

    def __setitem__(self, key, value):
        self._cols[key] = np.asarray(value).view(Col)

    def __contains__(self, key):
        return key in self._cols

    def __len__(self):
        return self._n

    @property
    def columns(self):
        return list(self._cols)

    def copy(self):
        return Frame(dict(self._cols), self._n)


# Arch fields no engine row reads: the clock and the energy table enter only the derived columns
# (latency, energy, area), which are recomputed at every evaluation.
_NOT_READ_BY_ENGINES = {"name", "source", "clock_mhz", "energy"}
# ... and, in addition, fields a GEMM row does not read (the pool unit and the vector unit)
_NOT_READ_BY_GEMM = _NOT_READ_BY_ENGINES | {"pool", "vector_lanes"}
_GEMM_FIELDS = tuple(f.name for f in fields(Arch) if f.name not in _NOT_READ_BY_GEMM)
_OTHER_FIELDS = tuple(f.name for f in fields(Arch) if f.name not in _NOT_READ_BY_ENGINES)


def _gemm_key(arch: Arch) -> tuple:
    # what simulate_gemm (mapping, systolic, memory) may read from the arch
    return ("g",) + tuple(getattr(arch, f) for f in _GEMM_FIELDS)


def _engine_key(layer, arch: Arch, gkey: tuple, okey: list) -> tuple:
    if layer.is_gemm or (layer.op == "sumpool" and arch.pool is None):
        return gkey
    # sum-pools and vector ops: keyed on every field an engine may read (the pool unit, the
    # vector lanes, the buffers), so a sweep of the clock or the energy table reuses them
    if not okey:
        okey.append(("o",) + tuple(getattr(arch, f) for f in _OTHER_FIELDS))
    return okey[0]


def _vectors(row: dict) -> tuple[np.ndarray, np.ndarray, tuple]:
    get = row.get
    ints = np.array([get(c) or 0 for c in INT_COLUMNS], dtype=np.int64)
    floats = np.array([get(c) or 0.0 for c in FLOAT_COLUMNS], dtype=np.float64)
    text = tuple(get(c) if get(c) is not None else "" for c in TEXT_COLUMNS)
    return ints, floats, text


def _row(layer, arch: Arch, batch: int, ekey: tuple):
    key = (layer, batch, ekey)
    hit = _row_cache.get(key)
    if hit is None:
        if len(_row_cache) > _CACHE_LIMIT:
            _row_cache.clear()
        row = simulate_layer(layer, arch, batch)
        hit = (row, *_vectors(row))
        _row_cache[key] = hit
    return hit


def _pair_key(arch: Arch, gkey: tuple) -> tuple:
    # what fuse_structured may read beyond the two rows: the pool unit and the buffers/DRAM
    return (gkey, arch.pool)


def layer_matrices(workload: Workload, arch: Arch, batch: int = 1):
    """(int64 matrix, float64 matrix, text tuples), one row per layer, columns INT_COLUMNS,
    FLOAT_COLUMNS, TEXT_COLUMNS: ``simulate``'s result.COLUMNS before the derived ones."""
    gkey, okey = _gemm_key(arch), []
    layers = workload.layers
    hits = [_row(l, arch, batch, _engine_key(l, arch, gkey, okey)) for l in layers]
    ints = [h[1] for h in hits]
    floats = [h[2] for h in hits]
    texts = [h[3] for h in hits]
    if arch.pool is not None:
        pkey = None
        for i in range(len(layers) - 1):
            layer, nxt = layers[i], layers[i + 1]
            if layer.op == "sumpool" and nxt.is_gemm and nxt.structured:
                pkey = pkey or _pair_key(arch, gkey)
                key = (layer, nxt, batch, pkey)
                fused = _pair_cache.get(key)
                if fused is None:
                    if len(_pair_cache) > _CACHE_LIMIT:
                        _pair_cache.clear()
                    a, b = poolunit.fuse_structured(hits[i][0], hits[i + 1][0], arch, layer,
                                                    nxt, batch)
                    fused = (_vectors(a), _vectors(b))
                    _pair_cache[key] = fused
                (ints[i], floats[i], texts[i]), (ints[i + 1], floats[i + 1], texts[i + 1]) = fused
    return np.array(ints), np.array(floats), texts


def frame(workload: Workload, arch: Arch, batch: int = 1) -> Frame:
    """The numeric columns of ``simulate(workload, arch, batch)`` as a ``Frame``."""
    from accelsim.hardware.energy import add_energy_columns

    ints, floats, texts = layer_matrices(workload, arch, batch)
    cols = {c: ints[:, j].view(Col) for j, c in enumerate(INT_COLUMNS)}
    cols.update({c: floats[:, j].view(Col) for j, c in enumerate(FLOAT_COLUMNS)})
    tarr = np.array(texts, dtype=object).reshape(len(texts), len(TEXT_COLUMNS))
    cols.update({c: tarr[:, j].view(Col) for j, c in enumerate(TEXT_COLUMNS)})
    f = finish_columns(Frame(cols, ints.shape[0]), arch)
    return add_energy_columns(f, arch)


def evaluate(workload: Workload, arch: Arch, batch: int = 1) -> dict:
    """``summarize(simulate(workload, arch, batch), arch)``, fast."""
    return summarize(frame(workload, arch, batch), arch)


def clear_caches() -> None:
    """Forget every memoized engine row, here and in ``simulate`` (benchmarks start cold)."""
    from accelsim.evaluate import simulate as _simulate
    from accelsim.engine import memory as _memory
    from accelsim.engine import poolsched as _poolsched

    _row_cache.clear()
    _poolsched.clear_caches()
    _pair_cache.clear()
    _simulate._gemm_row.cache_clear()
    _memory._calc_walk.cache_clear()
