"""The coupled schedule of a fused pair (the recurrences of ``accelsim.engine.poolsched``'s
docstring), solved in one pass over items and demand rows, and the staging buffer's peak."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _free_cycle(lr, ev_row, ev_off, kf):
    """(cycle a used item last read in row ``lr`` frees its slot, the last event at or before
    lr): lr + that event's lateness + 1. ``kf``, the last event found for an earlier (smaller)
    last row, only moves forward."""
    while kf + 1 < ev_row.shape[0] and ev_row[kf + 1] <= lr:
        kf += 1
    return lr + (ev_off[kf] if kf >= 0 else 0) + 1, kf


@njit(cache=True)
def _schedule(need, is_used, ev_row, ev_item, lr_sorted, lb, ports, lanes, depth, slots, p,
              p_max):
    """Solve the recurrences of the module docstring. ``need``: need'(i) per item (-1: none);
    ``is_used``: whether the array reads the item; events (row, max item first used there)
    sorted by row; ``lr_sorted``: the used items' last rows in ascending order (the last event
    at or before each found by a pointer that only moves forward); ``slots`` < 0: unbounded.
    Returns (deadlock, p, ev_off, events scheduled). ``p``: zeros, one per item, in the
    caller's dtype; an issue cycle above ``p_max`` (the dtype's limit) stops the run with -1
    events (the caller reruns in int64).

    Slots free in last-row order, and a held item never waits behind one not yet made: when a
    slot is freed at last row lr, every row <= lr is scheduled, and an item not yet made is
    first read after them. So the items to free are the static ascending list of last rows,
    walked by one pointer (no heap)."""
    n_items = need.shape[0]
    n_ev = ev_row.shape[0]
    ev_off = np.zeros(n_ev, np.int64)
    staged = 0       # used items issued
    sp = 0           # used items freed (a prefix of lr_sorted)
    e = 0
    off = 0
    prev_p = 0
    kf = -1          # the last event at or before lr_sorted[sp]
    # the reader as (cycle of its last read, words read in that cycle): with r monotone,
    # r_j >= r_{j-P} + 1 binds only when the last P words share a cycle. Words between two
    # changes of q(j) (the item the lookahead waits for) are read in one step.
    j = 0            # next word to read
    cc = 0
    used = 0
    q = -1
    for i in range(n_items):
        # demand rows whose first-use items are all made
        while e < n_ev and ev_item[e] < i:
            late = p[ev_item[e]] + depth - ev_row[e]
            if late > off:
                off = late
            ev_off[e] = off
            e += 1
        t = prev_p
        if i >= lanes and p[i - lanes] + 1 > t:
            t = p[i - lanes] + 1
        target = need[i]
        while j <= target:
            while q + 1 < i and need[q + 1] < j - lb:
                q += 1
            seg_end = target
            if q + 1 < i and need[q + 1] + lb < seg_end:
                seg_end = need[q + 1] + lb
            if q >= 0 and p[q] + 1 > cc:
                cc = p[q] + 1
                used = 0
            total = used + seg_end - j + 1
            cc += (total - 1) // ports
            used = (total - 1) % ports + 1
            j = seg_end + 1
        if target >= 0 and cc > t:
            t = cc
        if is_used[i]:
            if slots >= 0:
                while staged - sp >= slots:
                    lr = lr_sorted[sp]
                    if e < n_ev and ev_row[e] <= lr:
                        return True, p, ev_off, e   # its last use waits for this item: deadlock
                    free, kf = _free_cycle(lr, ev_row, ev_off, kf)
                    if free > t:
                        t = free
                    sp += 1
            staged += 1
        if t > p_max:
            return False, p, ev_off, -1
        p[i] = t
        prev_p = t
    while e < n_ev:
        late = p[ev_item[e]] + depth - ev_row[e]
        if late > off:
            off = late
        ev_off[e] = off
        e += 1
    return False, p, ev_off, e


@njit(cache=True)
def _freed_by(lr_sorted, ev_row, ev_off, f, kf, cycle):
    """Advance (f, kf) past the used items freed by ``cycle``: the item with the f-th last row
    frees at lr + the lateness of the last event kf at or before lr, + 1."""
    while f < lr_sorted.shape[0]:
        free, kf = _free_cycle(lr_sorted[f], ev_row, ev_off, kf)
        if free > cycle:
            break
        f += 1
    return f, kf


@njit(cache=True)
def _peak(p, used, lr_sorted, ev_row, ev_off):
    """Most used items staged at once: at each cycle's last issue, issued so far minus freed by
    then. An item frees the cycle after its last use, a_t + 1 = t + the lateness of the last
    event at or before t + 1; a_t rises with t, so frees come in last-row order, which
    ``_prepare`` sorted once (each last row's event found by a pointer)."""
    best = 0
    f = 0
    kf = -1
    issued = 0
    prev = -1
    for i in range(used.shape[0]):
        if not used[i]:
            continue
        t = p[i]
        if t != prev and issued > 0:
            f, kf = _freed_by(lr_sorted, ev_row, ev_off, f, kf, prev)
            if issued - f > best:
                best = issued - f
        issued += 1
        prev = t
    if issued > 0:
        f, kf = _freed_by(lr_sorted, ev_row, ev_off, f, kf, prev)
        if issued - f > best:
            best = issued - f
    return best
