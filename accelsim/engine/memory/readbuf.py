"""The read buffers (ifmap, filter): SCALE-Sim's set/window model. USER mode: the prefetch
matrix in fetch order, its set index and the window rotation on a miss. CALC mode: the
closed form of the epochs of a stream that repeats one unit of distinct addresses."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .addresses import _window_extent


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
    "run_before",      # valid entries before each run of the prefetch matrix (USER engine)
))


def read_buffer(seq: np.ndarray, words: int, space: int, line_words: int) -> ReadBuffer:
    """The USER read buffer of ``words`` words over prefetch sequence ``seq`` (addresses in
    [0, space)), fetched in DRAM lines of ``line_words``, with its per-address set lists."""
    nl, eps, ptr, sets = _set_index(seq, words, space)
    return ReadBuffer(words, nl, eps, ptr, sets, -(-len(seq) // line_words),
                      np.zeros(1, dtype=np.int64))


def user_read_buffer(folds, im2col, ifmap: bool, words: int, line_words: int, n_valid: int,
                     box: bool) -> ReadBuffer:
    """The USER engine's read buffer (user.py) of an operand with ``n_valid`` valid entries:
    the valid entries before each run of its prefetch matrix (_run_before), none when the
    active sets hold the whole matrix (nothing ever misses). No per-address set lists."""
    eps = math.ceil(words / SETS)
    nl = n_valid // eps + 1
    nruns, per_group, L = _runs(folds, ifmap)
    lines = -(-folds.groups * per_group // line_words)
    empty = np.zeros(1, dtype=np.int64)
    if -(-((words + 1) // 2) // eps) >= nl:
        return ReadBuffer(words, nl, eps, empty, empty, lines, empty)
    return ReadBuffer(words, nl, eps, empty, empty, lines, _run_before(folds, im2col, ifmap, box))


def no_read_buffer(words: int) -> ReadBuffer:
    """CALC mode has no hashed sets: a placeholder of the same type."""
    empty = np.zeros(1, dtype=np.int64)
    return ReadBuffer(words, 1, 1, empty, empty, 1, empty)


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


@njit(cache=True, inline="always")
def _lane_steps(folds, ifmap):
    """(bu, bv, ju, jv, tu, tv): block b, row t, lane j of the prefetch matrix read entry
    (u, v) = (b * bu + j * ju + t * tu, b * bv + j * jv + t * tv) of ifmap (m, k) / filter
    (k, n); the block is a row fold (os ifmap, ws ifmap, is filter) or a column fold (os / ws
    filter, is ifmap); the stationary blocks store row t of the full K range."""
    df, AR, AC = folds.dataflow, folds.array_rows, folds.array_cols
    if ifmap:
        if df == 0:
            return AR, 0, 1, 0, 0, 1
        if df == 1:
            return 0, AR, 0, 1, 1, 0
        return AC, 0, 1, 0, 0, 1
    if df == 0 or df == 1:
        return 0, AC, 0, 1, 1, 0
    return AR, 0, 1, 0, 0, 1


@njit(cache=True)
def _fetch_runs(folds, im2col, ifmap, g, run0, run1, out, run_valid, first=0, count=-1):
    """Runs [run0, run1) of group g's prefetch matrix in fetch order into ``out`` (-1: no
    word). A run is one diagonal of a streamed operand (rows down, lanes up) or one stored row
    of a stationary one (lanes up); of each, the entries from ``first`` on (``count`` of them
    if >= 0). The valid entries of each run go to run_valid[run - run0]; returns the entries
    written."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    rows = nb * T
    bu, bv, ju, jv, tu, tv = _lane_steps(folds, ifmap)
    idx = 0
    for run in range(run0, run1):
        if diag:
            row = min(run, rows - 1)
            n = row - max(0, run - L + 1) + 1 - first
            j = run - row + first
            row -= first
        else:
            row, n, j = run, L - first, first
        if count >= 0:
            n = min(n, count)
        b = row // T
        t = row - b * T
        nv = 0
        for _ in range(n):
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
            nv += a >= 0
            idx += 1
            j += 1
            if diag:
                t -= 1
                if t < 0:
                    t = T - 1
                    b -= 1
        run_valid[run - run0] = nv
    return idx


@njit(cache=True)
def _add_band(folds, im2col, ifmap, g, run0, run1, pres, sign, box):
    """pres[a] += sign for every valid entry of whole runs [run0, run1) of group g's prefetch
    matrix (_fetch_runs' entries, counted in any order): row by row of the stacked blocks, the
    row's lanes in the band (diagonal run = row + lane; a stored row is its own run), so no
    run is written out, no entry is counted in fetch order, and a row's lanes (consecutive
    window elements: channels) touch consecutive words. ``box``: no padding (every entry
    inside the operand holds a word)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    bu, bv, ju, jv, tu, tv = _lane_steps(folds, ifmap)
    base = g * goff if ifmap else g * N * K
    r0, r1 = (max(0, run0 - L + 1), min(nb * T, run1)) if diag else (run0, run1)
    R, S = _window_extent(im2col, K) if (ifmap and not box) else (0, 0)
    for row in range(r0, r1):
        b = row // T
        t = row - b * T
        j0, j1 = (max(0, run0 - row), min(L, run1 - row)) if diag else (0, L)
        u0, v0 = b * bu + t * tu, b * bv + t * tv
        # one index is fixed along a row's lanes, the other steps by one: its end cuts j1
        if ju == 0:
            if u0 >= (M if ifmap else K):
                continue
            j1 = min(j1, (K if ifmap else N) - v0)
        else:
            if v0 >= (K if ifmap else N):
                continue
            j1 = min(j1, (M if ifmap else K) - u0)
        if not ifmap:
            for j in range(j0, j1):
                pres[base + (v0 + j * jv) * K + u0 + j * ju] += sign
        elif ju == 0:          # a pixel's window elements
            y0, x0, p0 = rb[u0], cb[u0], pb[u0] + base
            # a pixel whose whole window lies inside the image (all but the border pixels)
            # needs no test per element: with padding, the tests cost 4x the count
            if box or (y0 >= 0 and y0 + R <= H and x0 >= 0 and x0 + S <= W):
                for v in range(v0 + j0, v0 + j1):
                    pres[p0 + wo[v]] += sign
                continue
            for v in range(v0 + j0, v0 + j1):
                y, x = y0 + wr[v], x0 + wc[v]
                if 0 <= y < H and 0 <= x < W:
                    pres[p0 + wo[v]] += sign
        else:                  # a window element's pixels
            y0, x0, p0 = wr[v0], wc[v0], wo[v0] + base
            if box:
                for u in range(u0 + j0, u0 + j1):
                    pres[pb[u] + p0] += sign
                continue
            for u in range(u0 + j0, u0 + j1):
                y, x = rb[u] + y0, cb[u] + x0
                if 0 <= y < H and 0 <= x < W:
                    pres[pb[u] + p0] += sign


@njit(cache=True, inline="always")
def _runs(folds, ifmap):
    """(runs per group, entries per group, entries per run at most) of an operand's prefetch
    matrix."""
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    return (nb * T + L if diag else nb * T), nb * T * L, L


@njit(cache=True)
def _fetch_sequence(folds, im2col, ifmap):
    """The prefetch matrix's entries in fetch order (-1: no word), G * blocks * rows * lanes."""
    nruns, per_group, L = _runs(folds, ifmap)
    out = np.empty(folds.groups * per_group, dtype=np.int64)
    rv = np.empty(nruns, dtype=np.int64)
    for g in range(folds.groups):
        _fetch_runs(folds, im2col, ifmap, g, 0, nruns, out[g * per_group:], rv)
    return out


@njit(cache=True)
def _set_pass(seq, eps, last, at, sets, q):
    """Each (address, set) of a piece of the fetch sequence once, in order (``q``: valid
    entries before it; ``last``: each address's last set so far): counted in at[a], or, when
    ``sets`` is given, stored at sets[at[a]] (at[a] advanced). Returns the valid entries."""
    store = sets.shape[0] > 0
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


@njit(cache=True, inline="always")
def _run_len(folds, ifmap, run):
    """Entries of run ``run`` of one group's prefetch matrix."""
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    if not diag:
        return L
    return min(run, nb * T - 1) - max(0, run - L + 1) + 1


@njit(cache=True)
def _box_valid(folds, ifmap, run, off):
    """Valid entries among the first ``off`` of run ``run`` when every slot inside the operand
    holds a word (filters; ifmaps without padding): lane j of block b is valid iff
    b * X + j < LIM (the blocked dimension's end), so in each block's stretch of a run the
    valid entries come first, in closed form."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    if ifmap:
        X, LIM = (AC, M) if df == 2 else (AR, M if df == 0 else K)
    else:
        X, LIM = (AC, N) if df != 2 else (AR, K)
    if not diag:
        return max(0, min(off, LIM - (run // T) * X))
    rows = nb * T
    hi, lo = min(run, rows - 1), max(0, run - L + 1)
    n = taken = 0
    for b in range(hi // T, lo // T - 1, -1):     # rows hi down to lo: lanes up
        if taken >= off:
            break
        r_hi = min(hi, b * T + T - 1)
        use = min(r_hi - max(lo, b * T) + 1, off - taken)
        n += max(0, min(use, LIM - b * X - (run - r_hi)))
        taken += use
    return n


@njit(cache=True)
def _run_before(folds, im2col, ifmap, box):
    """The valid entries before each run of the prefetch matrix (all groups: G * runs + 1).
    ``box``: _box_valid's closed form applies; else the runs are made in chunks and counted
    (the sequence is never held whole)."""
    nruns, per_group, L = _runs(folds, ifmap)
    G = folds.groups
    before = np.zeros(G * nruns + 1, dtype=np.int64)
    cnt = np.empty(nruns, dtype=np.int64)
    if box:
        for run in range(nruns):
            cnt[run] = _box_valid(folds, ifmap, run, _run_len(folds, ifmap, run))
    else:
        step = max(1, (1 << 16) // L)
        buf = np.empty(step * L, dtype=np.int64)
        for r0 in range(0, nruns, step):
            _fetch_runs(folds, im2col, ifmap, 0, r0, min(nruns, r0 + step), buf, cnt[r0:])
    # groups read disjoint addresses of the same layout: the same counts
    for g in range(G):
        for run in range(nruns):
            k = g * nruns + run
            before[k + 1] = before[k] + cnt[run]
    return before


@njit(cache=True)
def _set_index_runs(folds, im2col, ifmap, eps, space):
    """_set_index_kernel's per-address set lists (CSR: ptr, sets) over the prefetch matrix
    made in chunks of runs (the sequence is never held whole)."""
    nruns, per_group, L = _runs(folds, ifmap)
    step = max(1, (1 << 16) // L)
    buf = np.empty(step * L, dtype=np.int64)
    nv = np.empty(step, dtype=np.int64)
    last = np.empty(space, dtype=np.int64)
    cnt = np.zeros(space, dtype=np.int64)
    ptr = np.zeros(space + 1, dtype=np.int64)
    sets = np.zeros(0, dtype=np.int64)
    for pss in range(2):            # count, then store
        if pss == 1:
            ptr[1:] = np.cumsum(cnt)
            sets = np.empty(ptr[space], dtype=np.int64)
            cnt[:] = ptr[:space]
        last[:] = -1
        q = 0
        for g in range(folds.groups):
            for r0 in range(0, nruns, step):
                n = _fetch_runs(folds, im2col, ifmap, g, r0, min(nruns, r0 + step), buf, nv)
                q = _set_pass(buf[:n], eps, last, cnt, sets, q)
    return ptr, sets


def _set_index(seq: np.ndarray, words: int, space: int):
    """SCALE-Sim's hashed sets over the fetch sequence: consecutive ceil(words/100) valid
    entries per set (duplicates count), plus a final (possibly empty) set. Returns the set
    count and, per address, the sorted set ids that hold it (CSR)."""
    eps = math.ceil(words / SETS)
    nl, ptr, sets = _set_index_kernel(seq, eps, space)
    return nl, eps, ptr, sets


@njit(cache=True)
def _set_index_kernel(seq, eps, space):
    last = np.full(space, -1, dtype=np.int64)
    cnt = np.zeros(space, dtype=np.int64)
    q = _set_pass(seq, eps, last, cnt, np.zeros(0, dtype=np.int64), 0)
    ptr = np.zeros(space + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(cnt)
    sets = np.empty(ptr[space], dtype=np.int64)
    last[:] = -1
    _set_pass(seq, eps, last, ptr[:space].copy(), sets, 0)
    return q // eps + 1, ptr, sets


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
