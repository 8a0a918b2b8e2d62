"""The read buffers (ifmap, filter): SCALE-Sim's set/window model. USER mode: the prefetch
matrix in fetch order, its set index and the window rotation on a miss. CALC mode: the
closed form of the epochs of a stream that repeats one unit of distinct addresses."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit


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
    "seq",             # the prefetch matrix in fetch order (-1: no word)
    "before",          # valid entries of seq before each position (len(seq) + 1)
))


def read_buffer(seq: np.ndarray, words: int, space: int, line_words: int,
                index: bool = True) -> ReadBuffer:
    """The USER read buffer of ``words`` words over prefetch sequence ``seq`` (addresses in
    [0, space)), fetched in DRAM lines of ``line_words``. ``index=False``: no per-address set
    lists (the USER engine's operands of distinct addresses find their set from ``before``)."""
    before = np.zeros(len(seq) + 1, dtype=np.int64)
    np.cumsum(seq >= 0, out=before[1:])
    eps = math.ceil(words / SETS)
    if index:
        nl, eps, ptr, sets = _set_index(seq, words, space)
    else:
        nl, ptr, sets = int(before[-1]) // eps + 1, before[:1], before[:1]
    return ReadBuffer(words, nl, eps, ptr, sets, -(-len(seq) // line_words), seq, before)


def all_active_buffer(words: int, n_valid: int, n_entries: int, line_words: int):
    """The USER read buffer when its active sets hold the whole prefetch matrix (``n_valid``
    words in ``n_entries`` slots): nothing ever misses, so no sequence is built; else None."""
    eps = math.ceil(words / SETS)
    nl = n_valid // eps + 1
    if -(-((words + 1) // 2) // eps) < nl:
        return None
    empty = np.zeros(1, dtype=np.int64)
    return ReadBuffer(words, nl, eps, empty, empty, -(-n_entries // line_words), empty, empty)


def no_read_buffer(words: int) -> ReadBuffer:
    """CALC mode has no hashed sets: a placeholder of the same type."""
    empty = np.zeros(1, dtype=np.int64)
    return ReadBuffer(words, 1, 1, empty, empty, 1, empty, empty)


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
@njit(cache=True, inline="always")
def _prefetch_shape(folds, ifmap):
    """(blocks, rows per block, lanes, diagonal-unrolled?) of an operand's prefetch matrix: the
    blocks are row folds (os / ws ifmap, is filter) or column folds (os / ws filter, is ifmap)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if df == 0:
        return (rf, K, AR, True) if ifmap else (cf, K, AC, True)
    if df == 1:
        return (rf, M, AR, True) if ifmap else (cf, K, AC, False)
    return (cf, K, AC, False) if ifmap else (rf, N, AR, True)


@njit(cache=True)
def _fetch_sequence(folds, im2col, ifmap):
    """The prefetch matrix's entries in fetch order (-1: no word), G * blocks * rows * lanes."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    rows = nb * T
    # the lane's step in the operand matrix: block b, row t, lane j read entry (u, v) =
    # (b * bu + j * ju + t * tu, b * bv + j * jv + t * tv) of ifmap (m, k) / filter (k, n);
    # the block is a row fold (os ifmap, ws ifmap, is filter) or a column fold (os / ws
    # filter, is ifmap); the stationary blocks store row t of the full K range
    bu = bv = ju = jv = tu = tv = 0
    if ifmap:
        if df == 0:
            bu, ju, tv = AR, 1, 1
        elif df == 1:
            tu, bv, jv = 1, AR, 1
        else:
            bu, ju, tv = AC, 1, 1
    elif df == 0:
        tu, bv, jv = 1, AC, 1
    elif df == 1:
        tu, bv, jv = 1, AC, 1
    else:
        bu, ju, tv = AR, 1, 1
    out = np.empty(G * rows * L, dtype=np.int64)
    idx = 0
    for g in range(G):
        for d in range(rows + L if diag else rows * L):
            if diag:
                hi = min(d, rows - 1)
                lo = max(0, d - L + 1)
            else:
                hi = lo = d // L
            for row in range(hi, lo - 1, -1):
                b = row // T
                t = row % T
                j = d - row if diag else d % L
                u = b * bu + j * ju + t * tu
                v = b * bv + j * jv + t * tv
                a = -1
                if ifmap:      # the address written out (see addresses.py)
                    if u < M and v < K:
                        y = rb[u] + wr[v]
                        x = cb[u] + wc[v]
                        if 0 <= y < H and 0 <= x < W:
                            a = pb[u] + wo[v] + g * goff
                elif u < K and v < N:
                    a = (g * N + v) * K + u
                out[idx] = a
                idx += 1
    return out


@njit(cache=True)
def _set_pass(seq, eps, last, at, sets):
    """Each (address, set) of the fetch sequence once, in order: counted in at[a], or, when
    ``sets`` is given, stored at sets[at[a]] (at[a] advanced). Returns the valid entries."""
    last[:] = -1
    store = sets.shape[0] > 0
    q = 0
    for a in seq:
        if a >= 0:
            s = q // eps
            q += 1
            if last[a] != s:
                last[a] = s
                if store:
                    sets[at[a]] = s
                at[a] += 1
    return q


@njit(cache=True)
def _set_index_kernel(seq, eps, space):
    # an address's sets come in increasing order along the sequence: a counting sort by address
    # keeps them sorted, and a set repeated back to back is one entry
    last = np.empty(space, dtype=np.int64)
    ptr = np.zeros(space + 1, dtype=np.int64)
    q = _set_pass(seq, eps, last, ptr[1:], np.zeros(0, dtype=np.int64))
    for a in range(space):
        ptr[a + 1] += ptr[a]
    sets = np.empty(ptr[space], dtype=np.int64)
    _set_pass(seq, eps, last, ptr[:space].copy(), sets)
    return q // eps + 1, ptr, sets


def _set_index(seq: np.ndarray, words: int, space: int):
    """SCALE-Sim's hashed sets over the fetch sequence: consecutive ceil(words/100) valid
    entries per set (duplicates count), plus a final (possibly empty) set. Returns the set
    count and, per address, the sorted set ids that hold it (CSR)."""
    eps = math.ceil(words / SETS)
    nl, ptr, sets = _set_index_kernel(seq, eps, space)
    return nl, eps, ptr, sets


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
