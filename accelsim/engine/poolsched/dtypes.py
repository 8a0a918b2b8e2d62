"""The integer width of a pair's arrays (demand.py, items.py and stream.py allocate by it)."""

from __future__ import annotations

import numpy as np

# int32 halves the arrays a pair prepares and holds: every index, row or word position whose
# bound lies below the limit is made int32 from its allocation on, the rest int64 (tests lower
# the limit to run the int64 fallback; the schedule's sums run in int64 either way)
_INT32_LIMIT = (1 << 31) - 1


def _dtype_below(bound: int):
    """int32 when every value in [-1, bound) fits with the int32 max free for a sentinel, else
    int64."""
    return np.int32 if bound < _INT32_LIMIT else np.int64
