"""The sweep's evaluation before the one evaluation path (kept for one release): ``evaluate`` is
``simulate.evaluate`` (steps 1-3 memoized by ``rows``, the same derived columns and summary as
``simulate``), ``clear_caches`` and ``layer_matrices`` are ``rows``'. The DataFrame imitation
(``Frame``, ``Col``) is gone: ``frame`` returns the numpy table (``simulate.layer_table``)."""

from __future__ import annotations

from accelsim.evaluate.rows import FLOAT_COLUMNS, INT_COLUMNS, TEXT_COLUMNS, clear_caches, \
    layer_matrices
from accelsim.evaluate.simulate import evaluate, layer_table


def frame(workload, arch, batch: int = 1) -> dict:
    """The table of ``evaluate``'s evaluation: one numpy array per column."""
    return layer_table(workload, arch, batch, memo=True)


__all__ = ["evaluate", "frame", "clear_caches", "layer_matrices", "INT_COLUMNS", "FLOAT_COLUMNS",
           "TEXT_COLUMNS"]
