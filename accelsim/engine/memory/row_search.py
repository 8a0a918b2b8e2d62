"""CALC mode: where in a fold an ifmap epoch ends, for the table paths (ws_epochs.py,
os_epochs.py, is_epochs.py), by interpolation instead of galloping and bisection.

The table paths count the new words over any range of a fold's rows (per lane prefix counts),
and an epoch ends on the row where the count from the epoch's first row reaches what the epoch
still needs. New words per row change slowly inside a fold (the same lanes, the same window
offsets, hits only near the boundary), so the row is predicted from the rate of the rows
counted so far and confirmed by one more count: about 3 counts an epoch where galloping and
bisection took 2 log2(rows) (12-20 on bench_batch's heavy points). A guard halves the bracket
after two guesses in a row that did not, so the worst case stays within 3x bisection.

The search is a small state machine and the caller does the counting (numba cannot cache a
kernel that takes another kernel as an argument, and each path counts with its own tables):

    _search_start(st, t0, t_end, need, c_end, rate)
    a, b = _search_next(st)
    while b >= 0:
        _search_feed(st, <new words in rows [a, b)>)
        a, b = _search_next(st)
    reached, t, got, rate = _search_result(st)
"""

from __future__ import annotations

import numpy as np
from numba import njit

# fields of the state array (float64: every count and row is far below 2^53)
_LO, _C_LO, _HI, _C_HI, _STEP, _SLOW, _RATE, _T_END, _NEED, _C_END, _G, _T0 = range(12)


@njit(cache=True)
def _search_state():
    """A state array for _search_start (one per epoch scan, reused for every epoch)."""
    return np.zeros(12, dtype=np.float64)


@njit(cache=True)
def _search_start(st, t0, t_end, need, c_end, rate):
    """Start the search for the smallest t1 in (t0, t_end] with need new words in rows
    [t0, t1). c_end: the new words in rows [t0, t_end) when the caller has them, else -1.
    rate: expected new words per row (<= 0: unknown, probe rows 1, 2, 4, ...)."""
    st[_LO] = t0
    st[_C_LO] = 0
    st[_HI] = -1
    st[_C_HI] = 0
    st[_STEP] = 1
    st[_SLOW] = 0
    st[_T_END] = t_end
    st[_NEED] = need
    st[_C_END] = c_end
    st[_T0] = t0
    if c_end >= 0 and rate <= 0.0 and t_end > t0:
        rate = c_end / (t_end - t0)
    st[_RATE] = rate
    if c_end >= 0 and c_end < need:
        # short: the whole range, nothing to count
        st[_LO] = t_end
        st[_C_LO] = c_end
        st[_HI] = -2


@njit(cache=True)
def _search_next(st):
    """(a, b): count the new words in rows [a, b) and _search_feed them; b < 0: done."""
    lo = np.int64(st[_LO])
    hi = np.int64(st[_HI])
    t_end = np.int64(st[_T_END])
    if hi == -2:
        return lo, -1
    if hi < 0:
        # not bracketed yet: aim a little past the predicted row, to bracket it with one count
        rate = st[_RATE]
        if rate > 0.0:
            g = lo + np.int64(min((st[_NEED] - st[_C_LO]) / rate * 1.125, 1e15)) + 2
        else:
            g = lo + np.int64(st[_STEP])
            st[_STEP] *= 2
        if g < t_end or st[_C_END] < 0:
            g = min(g, t_end)
            st[_G] = g
            return lo, g
        # past the range whose count the caller gave: bracketed by it
        hi = t_end
        st[_HI] = t_end
        st[_C_HI] = st[_C_END]
    w = hi - lo
    if w <= 1:
        return lo, -1
    if st[_SLOW] >= 2:
        g = lo + w // 2
        st[_SLOW] = -1          # marks a halving step (not counted as slow)
    else:
        c_lo = np.int64(st[_C_LO])
        dc = np.int64(st[_C_HI]) - c_lo
        g = lo + ((np.int64(st[_NEED]) - c_lo) * w + dc - 1) // dc
        if g >= hi:
            g = hi - 1
        if g <= lo:
            g = lo + 1
    st[_G] = g
    return lo, g


@njit(cache=True)
def _search_feed(st, n):
    """The new words in the rows _search_next asked for."""
    lo = st[_LO]
    g = st[_G]
    c = st[_C_LO] + n
    if st[_HI] < 0:
        if c >= st[_NEED]:
            st[_HI] = g
            st[_C_HI] = c
        elif g >= st[_T_END]:
            st[_LO] = g
            st[_C_LO] = c
            st[_HI] = -2            # short
        else:
            if n > 0:
                st[_RATE] = n / (g - lo)
            else:
                st[_RATE] = 0.0
                st[_STEP] = max(st[_STEP], 2 * (g - lo))
            st[_LO] = g
            st[_C_LO] = c
        return
    w = st[_HI] - lo
    if c >= st[_NEED]:
        st[_HI] = g
        st[_C_HI] = c
    else:
        st[_LO] = g
        st[_C_LO] = c
    if st[_SLOW] < 0:
        st[_SLOW] = 0
    elif 2 * (st[_HI] - st[_LO]) > w:
        st[_SLOW] += 1
    else:
        st[_SLOW] = 0


@njit(cache=True)
def _search_result(st):
    """(reached, t, got, rate): reached: the epoch ends on row t = t1 - 1, got = the new words
    in rows [t0, t) (the caller walks row t's lanes); else t = t_end and got = the new words
    of the whole range. rate: new words per row, for the next epoch's start."""
    if st[_HI] == -2:
        return False, np.int64(st[_LO]), np.int64(st[_C_LO]), st[_RATE]
    hi = np.int64(st[_HI])
    rate = st[_RATE]
    if hi > st[_T0]:
        rate = st[_NEED] / (hi - st[_T0])
    return True, hi - 1, np.int64(st[_C_LO]), rate
