"""``fidelity: fast``: a whole network with its conv/linear rows from the analytical tier
(engine/analytic/, docs/analytic.md) and every other row from the exact engines.

The non-GEMM rows (pool unit, vector unit, the fused pool/conv placement) are cheap and exact,
so they are reused as they are; only the array's layers, the expensive memory walk, change
tier. The rows then go through the same steps as ``simulate`` (derived columns, energy) and
``summarize``, so a fast summary has exactly the keys of an exact one.
"""

from __future__ import annotations

import numpy as np

from accelsim.engine import analytic, poolunit
from accelsim.evaluate.columns import columns_from_rows, summarize, with_derived
from accelsim.evaluate.layers import is_pool_pair, simulate_layer, sumpool_as_array_conv
from accelsim.evaluate.simulate import to_frame
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Workload, accumulate_adds, macs


def _array_layers(workload: Workload, arch: Arch):
    """(index, the layer the array runs) of every row the MAC array runs."""
    for i, layer in enumerate(workload.layers):
        if layer.is_gemm:
            yield i, layer
        elif layer.op == "sumpool" and arch.pool is None:
            yield i, sumpool_as_array_conv(layer)


def fast_is_bounded(arch: Arch) -> bool:
    """Whether the fast tier has a stated error bound on ``arch`` (all but USER mode with
    stall_model "scalesim", where fast_rows falls back to the exact engines)."""
    return not (arch.bandwidth_mode == "user" and arch.stall_model == "scalesim")


def fast_rows(workload: Workload, arch: Arch, batch: int = 1) -> list[dict]:
    """simulate's per-layer rows, the array's from one vectorized analytic call."""
    # SCALE-Sim's USER read buffer has no fast model (engine/analytic/): exact rows there
    arr = list(_array_layers(workload, arch)) if fast_is_bounded(arch) else []
    rows: list[dict | None] = [None] * len(workload.layers)
    if arr:
        r = analytic.evaluate(analytic.points([lay for _, lay in arr], arch, batch))
        for j, (i, lay) in enumerate(arr):
            orig = workload.layers[i]
            n_macs = batch * macs(lay)
            n_acc = batch * accumulate_adds(lay)
            row = {"layer": orig.name, "op": orig.op,
                   "engine": "array" if orig.is_gemm else "array-as-pool",
                   "macs": n_macs if orig.is_gemm else 0, "mults": n_macs,
                   "mults_array": n_macs, "mac_adds": n_acc, "adds": n_acc}
            for c in analytic.COLUMNS:
                if c != "macs":
                    v = r[c][j]
                    row[c] = float(v) if v.dtype.kind == "f" else int(v)
            row["bound"] = "memory" if row["stall_cycles"] > 0 else "array"
            rows[i] = row
    for i, layer in enumerate(workload.layers):
        if rows[i] is None:
            rows[i] = simulate_layer(layer, arch, batch)
    ls = workload.layers
    if arch.pool is not None:
        for i in range(len(ls) - 1):
            if is_pool_pair(ls[i], ls[i + 1]):
                rows[i], rows[i + 1] = poolunit.fuse_structured(
                    rows[i], rows[i + 1], arch, ls[i], ls[i + 1], batch, False)
    return rows


def fast_table(workload: Workload, arch: Arch, batch: int = 1) -> dict[str, np.ndarray]:
    """``layer_table`` with fidelity fast: one numpy array per column, derived and energy
    columns included."""
    return with_derived(columns_from_rows(fast_rows(workload, arch, batch)), arch)


def fast_simulate(workload: Workload, arch: Arch, batch: int = 1):
    """``simulate`` with fidelity fast: the same DataFrame columns."""
    return to_frame(fast_table(workload, arch, batch))


def fast_network(workload: Workload, arch: Arch, batch: int = 1) -> dict:
    """``evaluate`` (= summarize(simulate(...))) with fidelity fast: the same keys."""
    return summarize(fast_table(workload, arch, batch), arch)


def gemm_totals(workload: Workload, archs: list[Arch], batch: int = 1) -> dict:
    """The array's share of a network on many archs in one vectorized call (a search's inner
    loop): per arch, sums over the conv/linear layers of compute/stall/total cycles and the
    DRAM words, and ``bounded`` (False for USER "scalesim" archs: re-evaluate those exactly).
    Sum-pools run as array convs are not included."""
    layers = [lay for lay in workload.layers if lay.is_gemm]
    lf = [analytic.layer_fields(x) for x in layers]
    af = [analytic.arch_fields(a) for a in archs]
    L, A = len(layers), len(archs)
    p = {k: np.tile(np.array([d[k] for d in lf], dtype=np.int64), A) for k in lf[0]}
    for k in af[0]:
        p[k] = np.repeat(np.array([d[k] for d in af]), L)
    p["batch"] = np.full(L * A, batch, dtype=np.int64)
    r = analytic.evaluate(p)
    starts = np.arange(0, L * A, L)
    cols = ("compute_cycles", "stall_cycles", "total_cycles", "dram_ifmap_reads",
            "dram_filter_reads", "dram_ofmap_writes")
    out = {c: np.add.reduceat(r[c], starts) if L else np.zeros(A, dtype=np.int64)
           for c in cols}
    out["bounded"] = np.array([fast_is_bounded(a) for a in archs], dtype=bool)
    return out


__all__ = ["fast_is_bounded", "fast_rows", "fast_table", "fast_simulate", "fast_network",
           "gemm_totals"]
