"""A fused (sumpool, structured conv) pair at cycle level: the pool unit makes pooled values in its
production order, a finite staging buffer holds them until the array's last read, and the array
stalls whenever a demand row needs a value not yet made (docs/poolunit.md, "Cycle level").

The model is a max-plus system of earliest times, solved in one pass over items and demand rows
(never cycle by cycle):

- reader, word j of the order's read sequence: r_j = max(r_{j-1}, r_{j-P} + 1, p_{q(j)} + 1),
  q(j) = the last item whose need lies more than the line-buffer lookahead LB behind word j;
- unit, item i: p_i = max(p_{i-1}, p_{i-lanes} + 1, r_{need'(i)}, a free staging slot);
- array, demand row t: a_t = max(a_{t-1} + 1, p_i + depth for the items first used in row t).

Only rows holding a value's *first* use can wait (later reads find it staged), so the array side
is a sorted list of first-use events, and a_t = t + (the largest lateness of an event up to t).
A used item holds a slot from its issue to the end of the cycle of its last use; slots free in
last-use order, which is static, so the held items are a window of the used items sorted by
last-use row. The buffer deadlocks when it
is full of items whose last use lies at or after a row that waits for an item not yet made.

The array's demand is SCALE-Sim's ifmap demand matrix of the conv over the pooled map, the same
rows and lanes the systolic and memory engines count (``_slot_row`` gives them in closed form;
tests/test_poolsched.py checks them against SCALE-Sim's own demand matrices).

The package, one module per concept: ``demand`` (the array's first/last uses), ``reads`` (the
unit's read sequence and each item's need), ``items`` (a pair's prepared production sequence),
``schedule`` (the recurrences), ``stream`` (the demand order past one block of samples: the
batch as shifted copies of its first block, merged while the recurrences run, so memory does
not grow with the batch); this module is the entry (``cosim_pair``, ``staging_min_words``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from accelsim.common.errors import require
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer
from accelsim.workload.layer_spec import nameless

from . import demand as _demand_mod
from . import dtypes as _dtypes_mod
from . import items as _items_mod
from .items import _prepare
from .schedule import _peak, _schedule
from .stream import _Block
from .stream import schedule_streamed as _schedule_streamed

_NONE = -1


@dataclass(frozen=True)
class PairSchedule:
    """The cycle-level outcome of one fused pair (all counts for the whole batch)."""

    order: str                   # production order simulated
    deadlock: bool               # the staging buffer deadlocked (fused_cycles is then -1)
    compute_cycles: int          # the conv's stall-free cycles, SCALE-Sim's count (T - 1)
    fused_cycles: int            # cycle of the last demand row (= compute_cycles if never late)
    array_wait_cycles: int       # cycles the array stalled on the unit
    staging_peak_words: int      # most pooled values staged at once
    items_made: int              # pooled values made (refold: made again per fold)
    items_staged: int            # made values the array reads (each enters the staging buffer)
    values_used: int             # distinct pooled values the array reads
    pooled_values: int           # all pooled values of the batch
    input_words_read: int        # words the unit reads from ifmap SRAM
    staging_reads: int           # operand reads the array serves from the staging buffer
    first_demand_row: int        # first demand row that reads a pooled value


def cosim_pair(pool: Layer, conv: Layer, arch: Arch, batch: int = 1,
               order: str | None = None, staging_words: int | None | str = "arch"
               ) -> PairSchedule:
    """The fused pair (``pool`` feeding ``conv``) on ``arch`` at cycle level. ``order`` and
    ``staging_words`` override the arch's pool unit (the co-design search and the fallbacks use
    them); None words = an unbounded buffer."""
    require(arch.pool is not None, "architecture has no pool unit", source=arch.source or
            arch.name, field="pool", value=None)
    require(pool.op == "sumpool" and conv.is_gemm and conv.in_shape == pool.out_shape,
            "not a (sumpool, conv) pair", source=f"layer '{conv.name}'", field="in_shape",
            value=conv.in_shape)
    order = order or arch.pool.order
    if staging_words == "arch":
        staging_words = arch.pool.staging_words(arch.word_bits)
    from accelsim.engine.pooldepth import pipeline_depth
    return _cosim(nameless(pool), nameless(conv), arch.rows, arch.cols,
                  arch.dataflow, batch, order, staging_words, arch.pool.lanes,
                  arch.pool.input_words_per_cycle, pipeline_depth(pool, arch))


# first/last use of every pooled value of a conv on one array: two arrays of its pooled map,
# read only while a pair's items are prepared (``_prepare`` keeps what the schedule needs; refold
# reads it right after)

def clear_caches() -> None:
    """Forget every prepared pair and cached schedule (benchmarks start cold)."""
    _items_mod._items_cache.clear()
    _demand_mod._demand.cache_clear()
    _cosim.cache_clear()


@lru_cache(maxsize=16384)
def _cosim(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
           order: str, staging_words: int | None, lanes: int, ports: int,
           depth: int) -> PairSchedule:
    it = _prepare(pool, conv, rows, cols, dataflow, batch, order)
    slots = -1 if staging_words is None else int(staging_words)
    if isinstance(it, _Block):
        s = _cosim_streamed(it, order, slots, lanes, ports, depth)
        if s is not None:
            return s
        # a bound of the streamed rings failed (never seen): the prepared path, uncached
        it = _items_mod._prepare_demand(pool, conv, rows, cols, dataflow, batch)
    # issue cycles in int32 while they fit (half the schedule's largest array at a large
    # batch), checked as they are made: a run that outgrows it is redone in int64
    for p_dtype, p_max in ((np.int32, _dtypes_mod._INT32_LIMIT - 1),
                           (np.int64, np.iinfo(np.int64).max)):
        dead, p, ev_off, done = _schedule(it.need, it.used, it.ev_row, it.ev_item,
                                          it.lr_sorted, it.lookahead, ports, lanes, depth,
                                          slots, np.zeros(it.need.size, p_dtype), p_max)
        if done >= 0:
            break
        del p, ev_off
    common = dict(order=order, compute_cycles=it.compute, items_made=int(it.need.size),
                  items_staged=int(it.lr_sorted.size), values_used=it.values_used,
                  pooled_values=it.pooled, input_words_read=it.words, staging_reads=it.reads,
                  first_demand_row=int(it.ev_row[0]) if it.ev_row.size else -1)
    if dead:
        return PairSchedule(deadlock=True, fused_cycles=-1, array_wait_cycles=-1,
                            staging_peak_words=int(slots), **common)
    wait = int(ev_off[-1]) if ev_off.size else 0
    return PairSchedule(deadlock=False, fused_cycles=it.compute + wait, array_wait_cycles=wait,
                        staging_peak_words=int(_peak(p, it.used, it.lr_sorted, it.ev_row,
                                                     ev_off)),
                        **common)


def _cosim_streamed(blk: _Block, order: str, slots: int, lanes: int, ports: int,
                    depth: int) -> PairSchedule | None:
    """``_cosim`` on a pair streamed from its first block of samples (``stream``): the same
    outcome, memory bounded by the block (None: the stream's ring bound failed, run the
    prepared path)."""
    out = _schedule_streamed(blk, blk.lookahead, ports, lanes, depth, slots)
    if out is None:
        return None
    dead, wait, peak, first_row = out
    common = dict(order=order, compute_cycles=blk.compute, items_made=blk.items,
                  items_staged=blk.items, values_used=blk.items, pooled_values=blk.pooled,
                  input_words_read=blk.words, staging_reads=blk.reads,
                  first_demand_row=int(first_row))
    if dead:
        return PairSchedule(deadlock=True, fused_cycles=-1, array_wait_cycles=-1,
                            staging_peak_words=int(slots), **common)
    return PairSchedule(deadlock=False, fused_cycles=blk.compute + int(wait),
                        array_wait_cycles=int(wait), staging_peak_words=int(peak), **common)


def staging_min_words(pool: Layer, conv: Layer, arch: Arch, batch: int = 1,
                      order: str | None = None, tolerance: float = 0.01) -> int:
    """The smallest staging buffer (words) whose cycles are within ``tolerance`` of the unbounded
    buffer's, by bisection (cycles never rise as the buffer grows; a deadlock counts as
    infinitely slow). The unbounded run's peak always qualifies."""
    unb = cosim_pair(pool, conv, arch, batch, order, None)
    limit = unb.fused_cycles * (1 + tolerance)
    lo, hi = 0, max(1, unb.staging_peak_words)     # lo fails (0 words), hi qualifies
    while hi - lo > 1:
        mid = (lo + hi) // 2
        s = cosim_pair(pool, conv, arch, batch, order, mid)
        if not s.deadlock and s.fused_cycles <= limit:
            hi = mid
        else:
            lo = mid
    return hi


__all__ = ["PairSchedule", "cosim_pair", "staging_min_words"]
