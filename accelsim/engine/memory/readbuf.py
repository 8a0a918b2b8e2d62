"""The read buffers (ifmap, filter): SCALE-Sim's set/window model. USER mode: the prefetch
matrix in fetch order, its set index and the window rotation on a miss. CALC mode: the
closed form of the epochs of a stream that repeats one unit of distinct addresses."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .addresses import _fa, _ifmap_word, _slot

# SCALE-Sim constants (single_layer_sim.py / read_buffer_estimate_bw.py)
CALC_FILL_WORDS_PER_CYCLE = 10   # CALC mode: initial ifmap/filter fill bandwidth ("arbitrary")
SETS = 100                       # a read buffer is tracked as 100 sets
ACTIVE_SETS = 50                 # active_buf_frac 0.5

# a USER-mode read buffer: its SRAM and SCALE-Sim's hashed sets over its prefetch matrix
ReadBuffer = namedtuple("ReadBuffer", (
    "words",           # SRAM capacity (words)
    "n_sets",          # sets the prefetch matrix is cut into
    "set_words",       # prefetch-matrix entries per set, ceil(words / SETS)
    "ptr",             # the sets holding address a: set_ids[ptr[a]:ptr[a + 1]] (sorted)
    "set_ids",
    "fetch_lines",     # DRAM lines of the whole prefetch matrix (caps the first fill)
))


def read_buffer(seq: np.ndarray, words: int, space: int, line_words: int) -> ReadBuffer:
    """The USER read buffer of ``words`` words over prefetch sequence ``seq`` (addresses in
    [0, space)), fetched in DRAM lines of ``line_words``."""
    nl, eps, ptr, sets = _set_index(seq, words, space)
    return ReadBuffer(words, nl, eps, ptr, sets, -(-len(seq) // line_words))


def no_read_buffer(words: int) -> ReadBuffer:
    """CALC mode has no hashed sets: a placeholder of the same type."""
    empty = np.zeros(1, dtype=np.int64)
    return ReadBuffer(words, 1, 1, empty, empty, 1)


@njit(cache=True, inline="always")
def _user_windows(buf, line_words):
    """read_buffer.prepare_hashed_buffer's split: (active words, DRAM lines per prefetch,
    active sets, prefetch sets); the active half is ceil(words * active_buf_frac 0.5)."""
    words, nl, eps = buf.words, buf.n_sets, buf.set_words
    active = (words + 1) // 2
    nact = min(-(-active // eps), nl)
    return (active, -(-(words - active) // line_words), nact,
            min(-(-(words - active) // eps), nl - nact))


# ---- USER mode: SCALE-Sim's prefetch matrix (fetch order) ---------------------------------------
@njit(cache=True)
def _fetch_sequence(folds, im2col, ifmap):
    df, AR, AC, M, N, K, G, rf, cf = folds
    # (blocks, rows per block, lanes, diagonal-unrolled?) per dataflow and operand
    if df == 0:
        nb, T, L, diag = (rf, K, AR, True) if ifmap else (cf, K, AC, True)
    elif df == 1:
        nb, T, L, diag = (rf, M, AR, True) if ifmap else (cf, K, AC, False)
    else:
        nb, T, L, diag = (cf, K, AC, False) if ifmap else (rf, N, AR, True)
    rows = nb * T
    out = np.empty(G * rows * L, dtype=np.int64)
    idx = 0
    for g in range(G):
        if diag:
            for d in range(rows + L):
                hi = min(d, rows - 1)
                lo = max(0, d - L + 1)
                for row in range(hi, lo - 1, -1):
                    b = row // T
                    # the block is a row fold, except the os filter's (a column fold)
                    r, c = (0, b) if (df == 0 and not ifmap) else (b, 0)
                    out[idx] = _slot(folds, im2col, ifmap, g, c, r, row % T, d - row)
                    idx += 1
        else:
            for row in range(rows):
                b = row // T
                t = row % T
                for j in range(L):
                    # ws filter: block = column fold, rows = K; is ifmap: block = column fold,
                    # rows = K (stored row t of the full K range, not a row fold)
                    if df == 1:
                        a = _fa(t, b * AC + j, g, N, K)
                    else:
                        a = _ifmap_word(im2col, b * AC + j, t, g, M, K)
                    out[idx] = a
                    idx += 1
    return out


def _set_index(seq: np.ndarray, words: int, space: int):
    """SCALE-Sim's hashed sets over the fetch sequence: consecutive ceil(words/100) valid
    entries per set (duplicates count), plus a final (possibly empty) set. Returns the set
    count and, per address, the sorted set ids that hold it (CSR)."""
    eps = math.ceil(words / SETS)
    v = seq[seq >= 0]
    nl = len(v) // eps + 1
    key = np.unique(v * nl + np.arange(len(v), dtype=np.int64) // eps)
    addr, sets = np.divmod(key, nl)
    ptr = np.zeros(space + 1, dtype=np.int64)
    np.cumsum(np.bincount(addr, minlength=space), out=ptr[1:])
    return nl, eps, ptr, sets.astype(np.int64)


@njit(cache=True, inline="always")
def _in_window(a, ptr, sets, ws, we):
    for i in range(ptr[a], ptr[a + 1]):
        s = sets[i]
        if ws < we:
            if ws <= s < we:
                return True
        elif s >= ws or s < we:
            return True
    return False


@njit(cache=True)
def _miss(a, ptr, sets, ws, we, npf, nact, nl, acc, words_per_prefetch, lpf, lines):
    """USER mode: rotate the active window by the prefetch sets until it holds ``a``; each
    rotation fetches ``lines`` lines, the last arriving one cycle after the previous batch."""
    for _ in range(nl + 2):     # a window of >= half the sets covers every set in 2 turns
        ws = (ws + npf) % nl
        we = (ws + nact) % nl
        acc += words_per_prefetch
        lpf = lpf + lines + 1
        if _in_window(a, ptr, sets, ws, we):
            break
    return ws, we, acc, lpf


@njit(cache=True)
def _repeat_closed_form(D, b, n_units, E, unit_rows, rm, scope_row0):
    """Epoch boundaries over units 1..n-1 of a stream that repeats one unit of D distinct
    addresses, given that unit 0 had its last boundary at valid-element index b. After a
    boundary at global position P the next D positions are all new and then everything hits,
    so with E <= D boundaries fall every E positions; with E > D there is none.
    Returns (boundaries added, words in the epoch at the end, row of the last boundary or -1)."""
    total = n_units * D
    if E > D:
        return 0, D, -1
    k = (total - 1 - b) // E
    if k == 0:
        return 0, total - 1 - b, -1
    last = b + k * E
    return k, total - 1 - last, scope_row0 + (last // D) * unit_rows + rm[last % D]
