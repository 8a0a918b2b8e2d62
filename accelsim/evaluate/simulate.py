"""The whole evaluation as one readable list of steps (after ZigZag's api.py):

    1. every layer on its engine (layers.simulate_layer):
         conv/linear -> mapping -> systolic (compute cycles) -> memory (SRAM/DRAM, stalls);
                        at fidelity "fast" the analytical tier instead (engine/analytic/), all
                        the network's array layers in one vectorized call
         sumpool     -> the pool unit, or, with none, an all-ones conv on the array
         other ops   -> the vector unit
    2. (sumpool, structured conv) pairs -> the pool unit's placement (poolunit.fuse_structured)
    3. the rows as a table: one numpy array per column (columns.columns_from_rows)
    4. utilization, bytes and latency (columns.derived_columns)
    5. energy by component (columns.energy_columns)
    6. simulate: the table as a pandas DataFrame, built once, at the end (columns.to_frame)
       evaluate: the network totals (columns.summarize), for sweeps: steps 1-3 memoized per
       process (rows.engine_columns), no DataFrame

``layer_table`` is steps 1-5; ``simulate`` and ``evaluate`` are the two ends. Neither holds
state: same inputs, same numbers, same column order (columns.COLUMNS, then the engines' extra
columns, then the derived and energy columns).
"""

from __future__ import annotations

import numpy as np

from accelsim.common.errors import require
from accelsim.evaluate import rows as _rows
from accelsim.evaluate.columns import columns_from_rows, summarize, to_frame, with_derived
from accelsim.evaluate.layers import (engine_rows, simulate_gemm, simulate_layer,
                                      sumpool_as_array_conv)
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Workload


def layer_table(workload: Workload, arch: Arch, batch: int = 1, *, buffer_search: bool = False,
                memo: bool = False, fidelity: str = "exact") -> dict[str, np.ndarray]:
    """Steps 1-5: one numpy array per column, one entry per layer. ``memo``: the engine rows from
    the per-process memo (a sweep's path; columns.COLUMNS only, no engine extras).
    ``buffer_search``: also find each fused pair's smallest staging buffer within 1 % of the
    unbounded buffer's cycles (``staging_min_words``; a bisection of co-simulations).
    ``fidelity``: "exact" or "fast" (layers.engine_rows; docs/analytic.md)."""
    require(isinstance(batch, int) and batch >= 1, "batch must be an integer >= 1",
            field="batch", value=batch)
    if memo and fidelity == "exact":
        require(not buffer_search, "the memoized path has no buffer search",
                field="buffer_search", value=buffer_search)
        table = _rows.engine_columns(workload, arch, batch)
    else:
        table = columns_from_rows(engine_rows(workload, arch, batch, buffer_search, fidelity))
    return with_derived(table, arch)


def simulate(workload: Workload, arch: Arch, batch: int = 1, buffer_search: bool = False,
             fidelity: str = "exact"):
    """One row per layer of ``workload`` on ``arch`` at ``batch`` samples: steps 1-6 (a pandas
    DataFrame, columns as ``layer_table``)."""
    return to_frame(layer_table(workload, arch, batch, buffer_search=buffer_search,
                                fidelity=fidelity))


def evaluate(workload: Workload, arch: Arch, batch: int = 1, fidelity: str = "exact") -> dict:
    """``summarize(simulate(workload, arch, batch, fidelity=...), arch)``, the same keys, values
    and types, without a DataFrame (a sweep's evaluation; the exact tier's engine rows
    memoized per process)."""
    return summarize(layer_table(workload, arch, batch, memo=True, fidelity=fidelity), arch)


def table_frame(rows: list[dict], arch: Arch):
    """Steps 3-6 on engine rows made elsewhere (a training step's backward rows): a DataFrame
    with the derived and energy columns."""
    return to_frame(with_derived(columns_from_rows(rows), arch))


def _frame(rows: list[dict]):
    # the rows as a DataFrame before the derived columns (steps 3 and 6; kept for callers from
    # before the numpy table; ``table_frame`` is steps 3-6 in one)
    return to_frame(columns_from_rows(rows))


__all__ = ["simulate", "evaluate", "layer_table", "to_frame", "table_frame", "simulate_layer",
           "simulate_gemm", "sumpool_as_array_conv", "engine_rows", "summarize"]
