"""User-facing errors.

Every bad input (a malformed file, an out-of-range size, an unknown name) raises ``InputError``.
The CLI turns it into one line on stderr and exit code 2, never a traceback, so that scripts
driving accelsim can tell "you gave me something wrong" (2) from "accelsim broke" (1).
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the source (file), the field and the offending value."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 value: object = None):
        parts = []
        if source:
            parts.append(str(source))
        if field is not None:
            parts.append(f"field '{field}' = {value!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.source, self.field, self.value = source, field, value


def require(cond: bool, message: str, *, source: str | None = None, field: str | None = None,
            value: object = None) -> None:
    """Raise ``InputError`` unless ``cond`` holds."""
    if not cond:
        raise InputError(message, source=source, field=field, value=value)


# ---- resource limits, checked up front (docs/errors.md) ---------------------------------
# Each is far above any real use and far below what would exhaust memory or time: an input
# beyond one is refused with one line before anything is allocated.
MAX_YAML_BYTES = 4 * 1024 * 1024        # a YAML file (arch, recipe, sweep spec, energy table)
MAX_YAML_NODES = 200_000                # its nodes with every alias expanded
MAX_TEXT_BYTES = 64 * 1024 * 1024       # a workload CSV or a .cfg
MAX_SWEEP_POINTS = 1_000_000            # design points one sweep spec expands to
MAX_BATCH = 1_000_000                   # samples per run
# elements of one operand (ifmap, filter or ofmap) of one layer, per sample, and times the
# batch: the engines hold arrays proportional to the latter (measured: the fast evaluator about
# 22 bytes per element, simulate 70 or more), so 2**28 stays within a few GB
MAX_TENSOR_ELEMS = 1 << 27
MAX_BATCH_ELEMS = 1 << 28
MAX_ARRAY_DIM = 1 << 16                 # rows or cols of the MAC array
MAX_WORD_BITS = 64                      # word width
MAX_LANES = 1 << 20                     # vector lanes, pool-unit lanes and ports
MAX_SRAM_KB = float(1 << 30)            # one SRAM (1 TiB)
MAX_OFFSET = 1 << 48                    # SRAM trace address offsets
MIN_CLOCK_MHZ, MAX_CLOCK_MHZ = 1e-3, 1e6
MAX_DRAM_BW = 1e9                       # words per cycle
MAX_LAYERS = 100_000                    # layers of one workload


def is_int(v) -> bool:
    """An integer in the Python sense, not a bool (YAML ``true`` is not 1 here)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A finite int or float, not a bool."""
    import math

    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and (isinstance(v, int) or math.isfinite(v)))


def check_batch(batch, field: str = "--batch", source: str | None = None) -> int:
    require(is_int(batch) and 1 <= batch <= MAX_BATCH,
            f"must be an integer in 1..{MAX_BATCH:,}", source=source, field=field, value=batch)
    return batch
