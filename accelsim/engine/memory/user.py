"""USER mode with SCALE-Sim's stall model, event by event (docs/memory.md "Speed"): exact
against the plain walk (walk.py), which visits every address of every row.

Two facts split the walk. (1) A read buffer's misses do not depend on time: its window moves
only on a miss, by the prefetch sets, and the cycle its last prefetch arrives is the first
request cycle - 1 plus (lines + 1) per rotation so far (SCALE-Sim 2.0.2 never waits for the
request), so each operand's miss rows and rotation counts come from its address stream alone.
(2) Every demand row of a fold reads a contiguous stretch of one "run" of the prefetch matrix
in fetch order (a diagonal of a streamed operand, a stored row of a stationary one), and the
valid entries before each run are known (readbuf._run_before, closed form without padding):
a fold, or a row, whose runs' sets lie inside the active window hits without a look at its
words (the word's own entry is in the window). Only the other rows write out their entries
(up to the fold's last lane that can hold a word) and look at each word: its own entry's set,
and, where words repeat (ifmaps of overlapping windows), whether any entry of the word is in
the window: per-word counts of the window's entries, made when first needed and moved with
the window (the entries that leave and enter), or, once moving them has cost eight passes over
the matrix, per-address set lists (the plain walk's). The counts cover only the window's
entries in the queried word's group (groups read disjoint words), are made row by row of
the operand over whole runs (readbuf._add_band: no run written out, a pixel's window elements
touch consecutive words), and are cleared at once when a rotation keeps none of them.
A word that the window lacks rotates it at once to the first turn that reaches one of the
word's entries (found from the word's pixels, ranked in closed form without padding and by
counting the run's entries before it with padding, _turns_to_word), so the counts are not moved turn by turn through a long miss (the window
past the word: up to a whole lap of the sets) but only when a later word is looked up.
An operand whose active sets hold the whole matrix never misses and is never made. The write
buffer then runs from event to event (wbuf_events._write_events) with the miss rows as events.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_extent, _fold_rows, _lanes_in
from .calc import _request_rows
from .readbuf import (_add_band, _box_valid, _fetch_runs, _in_window, _lane_steps,
                      _prefetch_shape, _runs, _set_index_runs, _user_windows)
from .wbuf_events import NO_MISS, _cycle_of, _history, _push, _write_events


@njit(cache=True, inline="always")
def _covered(q0, q1, eps, ws, nl, nact):
    """Whether the sets of valid entries [q0, q1) all lie in the window of nact sets from ws."""
    lo = q0 // eps
    return (lo - ws) % nl + (q1 - 1) // eps - lo < nact


@njit(cache=True)
def _row_run(folds, ifmap, c, r, tau, T, L, diag, rows):
    """(run, first, end) entries of one group's prefetch matrix that row tau of fold (c, r)
    reads, as walk._read_row visits its lanes, up to the last that can hold a word (end =
    first: none). Streamed operands: the
    diagonal block * T + (tau - skew), from the lane after the later blocks' entries;
    stationary ones: stored row r*AR + AR-1-tau, all lanes."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    # lanes past the fold's last pixel / filter / window element hold no word: not read
    if diag:
        d = (c if (df == 0 and not ifmap) else r) * T + tau - (0 if df == 0 else AR)
        lo, hi = _lanes_in(folds, ifmap, tau, c, r)
        if hi < lo:
            return 0, 0, 0
        first = lo - max(0, d - rows + 1)
        return d, first, first + hi - lo + 1
    t = r * AR + AR - 1 - tau
    if tau >= AR or t >= T:
        return 0, 0, 0
    return c * T + t, 0, min(L, _fold_extent(folds, c, r)[0])


@njit(cache=True, inline="always")
def _fold_runs(folds, ifmap, c, r, T, L, diag):
    """The runs [first, end) of one group's prefetch matrix that hold fold (c, r)'s rows."""
    df, AR = folds.dataflow, folds.array_rows
    if diag:
        b = c if (df == 0 and not ifmap) else r
        return b * T, b * T + T + L - 1
    return c * T + min(T, r * AR), c * T + min(T, r * AR + AR)


@njit(cache=True)
def _add_range(folds, im2col, ifmap, before, q_lo, q_hi, pres, sign, buf, nv, box):
    """pres[a] += sign for every valid entry q_lo <= q < q_hi of the prefetch matrix: the whole
    runs inside the range row by row (readbuf._add_band), a run cut by either end entry by
    entry (``before``: valid entries before each run; ``box``: no padding)."""
    nruns, per_group, L = _runs(folds, ifmap)
    q_hi = min(q_hi, before[-1])
    if q_lo >= q_hi:
        return
    k = np.searchsorted(before, q_lo, side="right") - 1     # the run holding q_lo
    k_end = np.searchsorted(before, q_hi, side="right") - 1  # runs below end by q_hi
    while before[k] < q_hi:
        g, run = divmod(k, nruns)
        if before[k] >= q_lo and k < k_end:
            end = min(k_end, g * nruns + nruns)       # whole runs, within one group
            _add_band(folds, im2col, ifmap, g, run, end - g * nruns, pres, sign, box)
            k = end
            continue
        q = before[k]
        for i in range(_fetch_runs(folds, im2col, ifmap, g, run, run + 1, buf, nv)):
            if buf[i] >= 0:
                if q_lo <= q < q_hi:
                    pres[buf[i]] += sign
                q += 1
        k += 1


@njit(cache=True, inline="always")
def _window_range(before, nruns, g, ws, nact, eps, nl):
    """The valid entries the window at set ``ws`` holds of group g's stretch of the prefetch
    matrix, as two ranges (lo0, hi0, lo1, hi1) in ascending order (empty: lo >= hi). Groups
    read disjoint words, so for a word of group g the window's other entries do not count."""
    g0, g1 = before[g * nruns], before[(g + 1) * nruns]
    tail = ws + nact - nl           # sets the window wraps past the last one
    return (max(0, g0), min(max(0, tail) * eps, g1), max(ws * eps, g0),
            min(min(nl, ws + nact) * eps, g1))


@njit(cache=True)
def _add_outside(folds, im2col, ifmap, before, lo, hi, other, pres, sign, buf, nv, box):
    """_add_range over [lo, hi) less the two ascending disjoint ranges ``other``; returns the
    entries it spans."""
    moved = 0
    cur = lo
    for p in range(2):
        o_lo, o_hi = other[2 * p], other[2 * p + 1]
        if o_lo >= o_hi or o_hi <= cur:
            continue
        if o_lo >= hi:
            break
        if o_lo > cur:
            _add_range(folds, im2col, ifmap, before, cur, o_lo, pres, sign, buf, nv, box)
            moved += o_lo - cur
        cur = o_hi
        if cur >= hi:
            return moved
    if cur < hi:
        _add_range(folds, im2col, ifmap, before, cur, hi, pres, sign, buf, nv, box)
        moved += hi - cur
    return moved


@njit(cache=True)
def _sync(folds, im2col, ifmap, before, pres, old, new, buf, nv, box):
    """Move the word counts ``pres`` from the entries of ranges ``old`` to those of ``new``
    (each two ascending disjoint ranges, _window_range): the entries that leave and enter;
    when none stays and clearing is cheaper than the leaving entries, all counts are zeroed
    (they count exactly ``old``). Returns the entries counted or cleared."""
    n_old = n_kept = 0
    for p in range(2):
        n_old += max(0, old[2 * p + 1] - old[2 * p])
        for p2 in range(2):
            n_kept += max(0, min(old[2 * p + 1], new[2 * p2 + 1]) - max(old[2 * p], new[2 * p2]))
    moved = 0
    if n_kept == 0 and 4 * n_old > pres.shape[0]:
        pres[:] = 0
        moved += pres.shape[0] // 4
    else:
        for p in range(2):
            moved += _add_outside(folds, im2col, ifmap, before, old[2 * p], old[2 * p + 1], new,
                                  pres, -1, buf, nv, box)
    for p in range(2):
        moved += _add_outside(folds, im2col, ifmap, before, new[2 * p], new[2 * p + 1], old,
                              pres, 1, buf, nv, box)
    return moved


@njit(cache=True)
def _pixel_index(im2col, M):
    """The output pixel of each window position, for _turns_to_word: (inv, C, rows, cols),
    inv[(sample * rows + window top row - min) * cols + window left column - min] = pixel m
    (-1: none). Keyed by the window's corner, not its first word's address, so that padding
    (corners outside the image, whose linear addresses alias other pixels') keeps it unique.
    C: the ifmap's channels (the address stride of one image column)."""
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    K = wo.shape[0]
    # element goff is window offset (0, 1) (word offset C) or, with one column, (1, 0) (W*C)
    C = goff
    if K > goff:
        C = wo[goff] if wc[goff] == 1 else wo[goff] // W
    rmin, rmax, cmin, cmax = rb[0], rb[0], cb[0], cb[0]
    for m in range(M):
        rmin, rmax = min(rmin, rb[m]), max(rmax, rb[m])
        cmin, cmax = min(cmin, cb[m]), max(cmax, cb[m])
    rows, cols = rmax - rmin + 1, cmax - cmin + 1
    hwc = H * W * C
    samples = 1
    if M > 0:
        samples = (pb[M - 1] - (rb[M - 1] * W + cb[M - 1]) * C) // hwc + 1
    inv = np.full(samples * rows * cols, -1, dtype=np.int64)
    for m in range(M):
        b = (pb[m] - (rb[m] * W + cb[m]) * C) // hwc
        inv[(b * rows + rb[m] - rmin) * cols + cb[m] - cmin] = m
    return inv, C, rows, cols, rmin, cmin


@njit(cache=True, inline="always")
def _entry_rank(folds, im2col, before, g, m, k, box, scratch, scratch_n):
    """The valid entries before ifmap entry (pixel m, window element k) of group g in the
    prefetch matrix: its block, lane and row, as readbuf._lane_steps lays them out, and its
    place in its run (a diagonal's entries go rows down, lanes up, from the lane after the
    rows below the matrix); the valid entries of the run before it in closed form without
    padding (readbuf._box_valid), else counted (at most a run: lanes)."""
    nb, T, L, diag = _prefetch_shape(folds, True)
    P, Q = (m, k) if folds.dataflow != 1 else (k, m)   # lanes step pixels (os, is) or elements
    b = P // L
    j = P - b * L
    run = b * T + Q
    off = j
    if diag:
        run += j
        off = j - max(0, run - nb * T + 1)
    if box:
        inside = _box_valid(folds, True, run, off)
    else:
        inside = 0
        if off > 0:
            _fetch_runs(folds, im2col, True, g, run, run + 1, scratch, scratch_n, 0, off)
            inside = scratch_n[0]
    return before[g * (nb * T + L if diag else nb * T) + run] + inside


@njit(cache=True)
def _turns_to_word(folds, im2col, pix, before, a, g, eps, nl, ws, nact, npf, box, scratch,
                   scratch_n):
    """Rotations of the window at set ``ws`` until it holds an entry of ifmap word ``a`` of
    group g, from the word's entries (m, k) (one per window offset whose pixel exists:
    _pixel_index; each entry's rank, _entry_rank) instead of moving the word counts turn by
    turn. The window at ``ws`` must hold none of them, and 1 <= npf <= nact: the windows then
    sweep the sets without a gap, so the first turn whose window reaches the word's first set
    past the current window holds it."""
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    inv, C, rows, cols, rmin, cmin = pix
    w = a - g * goff                     # group 0's word: (sample, row, column, channel)
    hwc = H * W * C
    b = w // hwc
    rest = w - b * hwc
    c = rest % C
    y = (rest // C) // W
    x = (rest // C) % W
    best = nl + 3
    for k in range(c, folds.window, goff):     # this channel's element at each offset
        y0 = y - wr[k] - rmin
        x0 = x - wc[k] - cmin
        if y0 < 0 or y0 >= rows or x0 < 0 or x0 >= cols:
            continue
        m = inv[(b * rows + y0) * cols + x0]
        if m < 0:
            continue
        q = _entry_rank(folds, im2col, before, g, m, k, box, scratch, scratch_n)
        d = (q // eps - ws) % nl
        best = min(best, (d - nact) // npf + 1)
    return best


@njit(cache=True)
def _misses(folds, im2col, ifmap, buf, distinct, box, space, nact, npf, jump_ok=True):
    """The stall-free rows where an operand's read buffer misses, the rotations done by the end
    of each, and the total. A word is in the window when its own entry's set is; when words
    repeat (not ``distinct``: ifmaps of overlapping windows) and the own entry is outside, the
    window's word counts decide (made when first needed, then moved with the window).
    ``box``: no padding (readbuf._box_valid counts a run's valid entries). ``jump_ok``
    False: every rotation turn by turn (the tests' reference for _turns_to_word)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    T_, rows_fold = _fold_rows(folds)
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    rows = nb * T
    bu, bv, ju, jv, tu, tv = _lane_steps(folds, ifmap)
    nruns, per_group, L = _runs(folds, ifmap)
    before = buf.run_before
    eps, nl = buf.set_words, buf.n_sets
    nv = np.empty(max(1, (1 << 14) // L), dtype=np.int64)
    chunk = np.empty(nv.shape[0] * L, dtype=np.int64)
    pres = np.zeros(space if not distinct else 0, dtype=np.int32)
    # pres counts the words of the entries the window at set ``synced`` holds in group
    # ``synced_g``'s stretch, the ranges ``counted`` (-1: none yet)
    synced = synced_g = -1
    counted = (0, 0, 0, 0)
    # moving the counts costs the entries that move; past the cost of the per-address set
    # lists, those are made and used instead: their two passes over the matrix cost about
    # four times a moved entry per entry (MobileNet Conv2 on 32x32 os: 40 ms for 3.5 M
    # entries; 42 us to move 33 k), so eight passes' worth of moves
    moved, budget = 0, 8 * folds.groups * per_group
    ptr, sets = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    out_row, out_rot, n = _history()
    # a word missing from the window: its rotations from its entries at once (_turns_to_word)
    jump = jump_ok and ifmap and not distinct and 1 <= npf <= nact
    pix = (np.zeros(0, dtype=np.int64), 1, 1, 1, 0, 0)
    scratch, scratch_n = np.empty(L, dtype=np.int64), np.empty(1, dtype=np.int64)
    ws = 0
    nrot = 0
    row0 = 0
    for g in range(folds.groups):
        gr = g * nruns
        for c in range(folds.col_folds):
            for r in range(folds.row_folds):
                f0, f1 = _fold_runs(folds, ifmap, c, r, T, L, diag)
                q0, q1 = before[gr + f0], before[gr + f1]
                if q1 == q0 or _covered(q0, q1, eps, ws, nl, nact):
                    row0 += rows_fold
                    continue
                for tau in range(rows_fold):
                    k, e0, e1 = _row_run(folds, ifmap, c, r, tau, T, L, diag, rows)
                    q0, q1 = before[gr + k], before[gr + k + 1]    # its whole run
                    if e1 == e0 or q1 == q0 or _covered(q0, q1, eps, ws, nl, nact):
                        continue
                    # the row's entries [e0, e1) of run k as readbuf._fetch_runs makes them,
                    # written out here (a call per row costs more than its 30-250 entries);
                    # the valid entries of the run before them in closed form (box), or
                    # counted from entry 0
                    i0 = e0 if box else 0
                    q = q0 + (_box_valid(folds, ifmap, k, e0) if box else 0)
                    rw, j = (min(k, rows - 1) - i0, 0) if diag else (k, i0)
                    if diag:
                        j = k - rw
                    b = rw // T
                    t = rw - b * T
                    n0 = nrot
                    # the window test of q's set, kept until q leaves the set or the window
                    # moves (q_set_end = -1: test again)
                    q_set_end, inwin = -1, False
                    for i in range(i0, e1):
                        u = b * bu + j * ju + t * tu
                        v = b * bv + j * jv + t * tv
                        j += 1
                        if diag:       # down the rows of the stacked blocks
                            t -= 1
                            if t < 0:
                                t = T - 1
                                b -= 1
                        a = -1
                        if ifmap:
                            if u < M and v < K:
                                y = rb[u] + wr[v]
                                x = cb[u] + wc[v]
                                if box or (0 <= y < H and 0 <= x < W):
                                    a = pb[u] + wo[v] + g * goff
                        elif u < K and v < N:
                            a = (g * N + v) * K + u
                        if a < 0:
                            continue
                        if i < e0:
                            q += 1
                            continue
                        if q >= q_set_end:
                            s_q = q // eps
                            q_set_end = (s_q + 1) * eps
                            inwin = (s_q - ws) % nl < nact
                        if inwin or (synced == ws and synced_g == g and not distinct
                                     and moved <= budget and pres[a] > 0):
                            q += 1          # own set in the window, or another entry of a
                            continue
                        r0 = nrot
                        for turn in range(nl + 3):     # as readbuf._miss: at most nl + 2 turns
                            if turn == 1 and jump:
                                if pix[0].shape[0] == 0:
                                    pix = _pixel_index(im2col, M)
                                i = _turns_to_word(folds, im2col, pix, before, a, g, eps, nl,
                                                   ws, nact, npf, box, scratch, scratch_n)
                                ws = (ws + i * npf) % nl
                                nrot += i
                                break
                            if turn > 0:
                                ws = (ws + npf) % nl
                                nrot += 1
                            if (q // eps - ws) % nl < nact:
                                break
                            if distinct:
                                continue
                            if moved > budget:
                                if ptr.shape[0] == 1:
                                    ptr, sets = _set_index_runs(folds, im2col, ifmap, eps, space)
                                if _in_window(a, ptr, sets, ws, (ws + nact) % nl):
                                    break
                                continue
                            if synced != ws or synced_g != g:
                                want = _window_range(before, nruns, g, ws, nact, eps, nl)
                                moved += _sync(folds, im2col, ifmap, before, pres, counted,
                                               want, chunk, nv, box)
                                synced, synced_g, counted = ws, g, want
                            if pres[a] > 0:
                                break
                        if nrot > r0:
                            q_set_end = -1
                        q += 1
                    if nrot > n0:
                        out_row, out_rot = _push(out_row, out_rot, n, row0 + tau, nrot)
                        n += 1
                row0 += rows_fold
    return out_row[:n], out_rot[:n], nrot


@njit(cache=True)
def _served(row, cycle, m_row, m_lpf):
    """A read buffer's service cycle of a row: its last prefetch's arrival if it missed there,
    else the request cycle + 1."""
    i = np.searchsorted(m_row, row)
    if i < m_row.shape[0] and m_row[i] == row:
        return m_lpf[i]
    return cycle + 1


@njit(cache=True)
def _user_engine(folds, im2col, of_words, of_bw, rd_bw, bufs, distinct, boxes, spaces):
    """USER mode (stall model scalesim): the same 32 results as _walk_kernel, see above.
    bufs: the ifmap and filter ReadBuffer (readbuf.user_read_buffer); distinct: per operand,
    every address occurs once; boxes: per operand, no padding (readbuf._box_valid); spaces:
    per operand, its address range."""
    res = np.zeros(32, dtype=np.int64)
    T, rows_fold = _fold_rows(folds)
    nfolds = folds.groups * folds.col_folds * folds.row_folds
    rows, lpfs, nrots = [], [], []
    for op in range(2):
        A, lines, nact, npf = _user_windows(bufs[op], rd_bw)
        if nact >= bufs[op].n_sets:      # the active sets hold everything: no miss
            m_row, m_rot, nrot = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
        else:
            m_row, m_rot, nrot = _misses(folds, im2col, op == 0, bufs[op], distinct[op],
                                         boxes[op], spaces[op], nact, npf)
        rows.append(m_row)
        lpfs.append(m_rot * (lines + 1) - 1)     # the first request is at cycle 0
        nrots.append(nrot)
    # the miss rows of both buffers, merged, as the write buffer's extra events
    fr_row = np.unique(np.concatenate((rows[0], rows[1])))
    fr = [np.full(fr_row.shape[0], NO_MISS, dtype=np.int64) for _ in range(2)]
    for op in range(2):
        fr[op][np.searchsorted(fr_row, rows[op])] = lpfs[op]
    srow, scum, nst = _write_events(folds, of_words, of_bw, res, fr_row, fr[0], fr[1])
    for op in range(2):
        A, lines, nact, npf = _user_windows(bufs[op], rd_bw)
        fa, la = _request_rows(folds, im2col, op == 0, False, 0, nfolds - 1, rows_fold)
        first = la_out = -1
        if fa >= 0:
            first = _served(fa, _cycle_of(fa, srow, scum, nst), rows[op], lpfs[op])
            la_out = _served(la, _cycle_of(la, srow, scum, nst), rows[op], lpfs[op])
        # prefetch_active_buffer on the first request row (cycle 0), then the rotations
        n0 = min(-(-A // rd_bw), bufs[op].fetch_lines)
        base = 2 if op == 0 else 4
        res[base], res[base + 1] = first, la_out
        base = 11 if op == 0 else 14
        res[base] = n0 * rd_bw + nrots[op] * lines * rd_bw
        res[base + 1] = -n0
        res[base + 2] = nrots[op] * (lines + 1) - 1
    return res
