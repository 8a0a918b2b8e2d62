"""``fidelity: fast``: a whole network with its conv/linear rows from the analytical tier
(engine/analytic/, docs/analytic.md) and every other row from the exact engines. The fidelity
is a parameter of the one evaluation path (layers.engine_rows, simulate.layer_table); the
names here are that path at fidelity "fast", plus ``gemm_totals``, a search's inner loop over
many archs at once.

The non-GEMM rows (pool unit, vector unit, the fused pool/conv placement) are cheap and exact,
so they are reused as they are; only the array's layers, the expensive memory walk, change
tier. The rows then go through the same steps as ``simulate`` (derived columns, energy) and
``summarize``, so a fast summary has exactly the keys of an exact one.
"""

from __future__ import annotations

import numpy as np

from accelsim.engine import analytic
from accelsim.evaluate.layers import engine_rows, fast_is_bounded
from accelsim.evaluate.simulate import evaluate, layer_table, simulate
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Workload


def fast_rows(workload: Workload, arch: Arch, batch: int = 1) -> list[dict]:
    """simulate's per-layer rows, the array's from one vectorized analytic call."""
    return engine_rows(workload, arch, batch, fidelity="fast")


def fast_table(workload: Workload, arch: Arch, batch: int = 1) -> dict[str, np.ndarray]:
    """``layer_table`` with fidelity fast: one numpy array per column, derived and energy
    columns included."""
    return layer_table(workload, arch, batch, fidelity="fast")


def fast_simulate(workload: Workload, arch: Arch, batch: int = 1):
    """``simulate`` with fidelity fast: the same DataFrame columns."""
    return simulate(workload, arch, batch, fidelity="fast")


def fast_network(workload: Workload, arch: Arch, batch: int = 1) -> dict:
    """``evaluate`` (= summarize(simulate(...))) with fidelity fast: the same keys."""
    return evaluate(workload, arch, batch, fidelity="fast")


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
