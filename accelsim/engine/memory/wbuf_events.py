"""The ofmap write buffer event to event, for the CALC engine (calc.py) and the USER engine
(user.py): the layer's rows as one profile over its fold shapes, rows between two events only
subtract from the free words (the next event row in closed form), and runs of folds, column
folds and groups that repeat the buffer's state are skipped whole. The buffer itself (a row's
writes, drains, partial lines, the state record) is writebuf.py's."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_rows, _ofmap_row_words
from .writebuf import (W_ACC, W_DRAIN_END, W_DSL, W_DSTOP, W_FIRST, W_FREE, W_HALF, W_LAST,
                       W_LINE, W_LINE_IDX, W_NLINES, W_NPART, W_PPOS, _finish, _room, _seen,
                       _wbuf_state, _write_row_in)


NO_MISS = -(1 << 62)             # a forced row where this read buffer did not miss


@njit(cache=True, inline="always")
def _history():
    """Two empty growable histories (rows, values) and their length, for _push."""
    return np.empty(16, dtype=np.int64), np.empty(16, dtype=np.int64), 0


@njit(cache=True)
def _push(rows, vals, n, row, val):
    """Append (row, val) as entry n of two growable histories; returns them (maybe regrown)."""
    if n == rows.shape[0]:
        rows = np.concatenate((rows, np.empty_like(rows)))
        vals = np.concatenate((vals, np.empty_like(vals)))
    rows[n] = row
    vals[n] = val
    return rows, vals


@njit(cache=True)
def _ofmap_profile(df, cu, ru, rows_fold, AR, K, T):
    """Prefix sums of the ofmap words written per row of a fold, and its first/last such row."""
    C = np.zeros(rows_fold + 1, dtype=np.int64)
    fz, lz = -1, -1
    for tau in range(rows_fold):
        v = _ofmap_row_words(df, tau, cu, ru, AR, K, T)
        C[tau + 1] = C[tau] + v
        if v > 0:
            if fz < 0:
                fz = tau
            lz = tau
    return C, fz, lz


@njit(cache=True)
def _cycle_of(row, srow, scum, nst):
    """Cycle of a (stall-free) row: the row plus the stalls of the rows before it."""
    lo, hi = 0, nst
    while lo < hi:
        mid = (lo + hi) // 2
        if srow[mid] < row:
            lo = mid + 1
        else:
            hi = mid
    return row + (scum[lo - 1] if lo > 0 else 0)


@njit(cache=True)
def _ofmap_events(folds, of_words, of_bw, res):
    """CALC: the write buffer alone decides the stalls (_write_events with no read wait)."""
    none = np.zeros(0, dtype=np.int64)
    return _write_events(folds, of_words, of_bw, res, none, none, none)


# ---- the layer's rows as one profile -----------------------------------------------------------
# The folds of a layer come in four shapes (full or last column fold x full or last row fold),
# laid out as groups of column folds of row folds: the words written before any row follow in
# closed form from the shapes' prefix sums ``P`` (one row each) and their totals, and the row
# where a word count is reached by division down to the fold, then bisection in its shape.
# ``lay``: the layout's scalars (rows per fold, row / column folds, words per full column fold
# and per group, the layer's rows, and the first row that writes a word).
L_R, L_RF, L_CF, L_WC, L_WG, L_ROWS, L_X0, L_NFIELDS = range(8)


@njit(cache=True, inline="always")
def _shape(c, r, cf, rf):
    """Which of the four fold shapes fold (c, r) has."""
    return (0 if c < cf - 1 else 2) + (0 if r < rf - 1 else 1)


@njit(cache=True)
def _fold_at(x, P, lay):
    """The fold holding (stall-free) row x: its first row, the ofmap words the rows before it
    write, its shape, group, column fold and row fold."""
    R, rf, cf = lay[L_R], lay[L_RF], lay[L_CF]
    f = x // R
    g = f // (cf * rf)
    c = (f // rf) % cf
    r = f % rf
    return (f * R, g * lay[L_WG] + c * lay[L_WC] + r * P[0 if c < cf - 1 else 2, R],
            _shape(c, r, cf, rf), g, c, r)


@njit(cache=True)
def _row_reaching(y, P, lay):
    """The first row x with the words before it >= y (y >= 1, at most the layer's words): the
    fold holding word y by division, then its row by bisection."""
    R, rf, cf = lay[L_R], lay[L_RF], lay[L_CF]
    rem = y - 1
    g = rem // lay[L_WG]
    rem -= g * lay[L_WG]
    c = min(rem // lay[L_WC], cf - 1)
    rem -= c * lay[L_WC]
    s0 = 0 if c < cf - 1 else 2
    r = min(rem // P[s0, R], rf - 1)
    rem -= r * P[s0, R]
    s = s0 + (1 if r == rf - 1 else 0)
    lo, hi = 1, R                # smallest tau with P[s, tau] > rem
    while lo < hi:
        mid = (lo + hi) // 2
        if P[s, mid] > rem:
            hi = mid
        else:
            lo = mid + 1
    return ((g * cf + c) * rf + r) * R + lo


@njit(cache=True)
def _last_word_row(x, lay, fzs, lzs):
    """The last row <= x that writes an ofmap word, -1 if none (every fold writes some)."""
    R, rf, cf = lay[L_R], lay[L_RF], lay[L_CF]
    f = x // R
    tau = x - f * R
    s = _shape((f // rf) % cf, f % rf, cf, rf)
    if tau >= fzs[s]:
        return f * R + min(tau, lzs[s])
    if f == 0:
        return -1
    f -= 1
    return f * R + lzs[_shape((f // rf) % cf, f % rf, cf, rf)]


# ---- repeated stretches in closed form -------------------------------------------------------
# From any row on, the buffer evolves as a function of its state relative to that row (free
# words, cycles left in the running drain, words in the open line, lines waiting to drain and
# where among them a forced partial line lies: the drain that ends on it counts only its
# words) and of the words the rows ahead write. Rows ahead repeat within a run: the row folds
# of a column fold but its last (period: one fold), the column folds of a group but its last
# (period: a column fold), the groups (period: a group). When the state after an event equals
# the state after an earlier event of the same run a whole number of periods before, the rows
# in between repeat until the run ends: they are skipped, moving every absolute counter
# (lines, drained words, cycles, stall history) by whole repeats. Per run level the earlier
# state is kept by Brent's method (after events 0, 1, 2, 4, 8, ... of the run).
(Q_STATE, Q_POWER, Q_COUNT, Q_X, Q_RUN, Q_FREE, Q_DRAIN_LEFT, Q_LINE_IDX, Q_WAITING, Q_NPEND,
 Q_STALL, Q_NST, Q_FI, Q_ACC, Q_NLINES, Q_DSTOP, Q_DRAIN_END, Q_LAST, Q_PEND) = range(19)
_MAX_PEND = 8                    # forced partial lines waiting to drain that a state may hold
Q_NFIELDS = Q_PEND + 2 * _MAX_PEND
_EMPTY, _HELD, _DONE = 0, 1, 2
# the event walk's own counters: the next row, stalls so far, the last row's service cycle,
# stall history entries, next forced row, the room it needs to go on (partial lines, history
# entries), and how many times it skipped repeats (the tests ask)
E_T, E_STALL, E_OUT, E_NST, E_FI, E_NEED_PART, E_NEED_HIST, E_SKIPS, E_NFIELDS = range(9)


@njit(cache=True)
def _same_state(q, L, wb, ev, part_line):
    """Whether the buffer's state relative to the walk's next row equals the one kept in row L
    of ``q`` (and no forced row was met since)."""
    if (wb[W_FREE] != q[L, Q_FREE] or wb[W_LINE_IDX] != q[L, Q_LINE_IDX]
            or wb[W_NLINES] - wb[W_DSL] != q[L, Q_WAITING] or ev[E_FI] != q[L, Q_FI]
            or max(0, wb[W_DRAIN_END] - ev[E_T] - ev[E_STALL]) != q[L, Q_DRAIN_LEFT]):
        return False
    n = 0
    for i in range(wb[W_PPOS], wb[W_NPART]):
        if part_line[i] >= wb[W_DSL]:
            if n == q[L, Q_NPEND] or part_line[i] - wb[W_DSL] != q[L, Q_PEND + n]:
                return False
            n += 1
    return n == q[L, Q_NPEND]


@njit(cache=True)
def _keep_state(q, L, wb, ev, part_line, part_val):
    """Keep the state at the walk's next row in row L of ``q``; False (nothing kept) if too
    many forced partial lines wait to drain."""
    n = 0
    for j in range(wb[W_PPOS], wb[W_NPART]):
        if part_line[j] >= wb[W_DSL]:
            if n == _MAX_PEND:
                return False
            q[L, Q_PEND + n] = part_line[j] - wb[W_DSL]
            q[L, Q_PEND + _MAX_PEND + n] = part_val[j]
            n += 1
    x = ev[E_T]
    q[L, Q_NPEND], q[L, Q_X], q[L, Q_COUNT] = n, x, 0
    q[L, Q_FREE], q[L, Q_LINE_IDX] = wb[W_FREE], wb[W_LINE_IDX]
    q[L, Q_WAITING] = wb[W_NLINES] - wb[W_DSL]
    q[L, Q_DRAIN_LEFT] = max(0, wb[W_DRAIN_END] - x - ev[E_STALL])
    q[L, Q_STALL], q[L, Q_NST], q[L, Q_FI] = ev[E_STALL], ev[E_NST], ev[E_FI]
    q[L, Q_ACC], q[L, Q_NLINES], q[L, Q_DSTOP] = wb[W_ACC], wb[W_NLINES], wb[W_DSTOP]
    q[L, Q_DRAIN_END], q[L, Q_LAST] = wb[W_DRAIN_END], wb[W_LAST]
    return True


@njit(cache=True)
def _skip_repeats(q, L, k, wb, ev, part_line, srow, scum):
    """Move the buffer, the walk and the stall history on by k more repeats of the rows since
    the state kept in row L of ``q`` (the history must have room)."""
    rows = ev[E_T] - q[L, Q_X]
    stalls = ev[E_STALL] - q[L, Q_STALL]
    cycles = rows + stalls
    lines = wb[W_NLINES] - q[L, Q_NLINES]
    wb[W_NLINES] += k * lines
    wb[W_DSL] += k * lines
    for i in range(wb[W_PPOS], wb[W_NPART]):   # the partial lines still read (_drain_chunk)
        part_line[i] += k * lines
    wb[W_ACC] += k * (wb[W_ACC] - q[L, Q_ACC])
    # a cycle the repeat moved (a drain's, the last write's) moves on; one it left stays
    if wb[W_DSTOP] != q[L, Q_DSTOP]:
        wb[W_DSTOP] += k * cycles
    if wb[W_DRAIN_END] != q[L, Q_DRAIN_END]:
        wb[W_DRAIN_END] += k * cycles
    if wb[W_LAST] != q[L, Q_LAST]:
        wb[W_LAST] += k * cycles
    n0, n1 = q[L, Q_NST], ev[E_NST]
    n = n1
    for m in range(1, k + 1):
        for j in range(n0, n1):
            srow[n] = srow[j] + m * rows
            scum[n] = scum[j] + m * stalls
            n += 1
    ev[E_NST] = n
    ev[E_T] += k * rows
    ev[E_STALL] += k * stalls
    ev[E_OUT] += k * cycles


@njit(cache=True)
def _try_skip(q, L, lv, wb, ev, part_line, srow, scum, fr_row):
    """The state after an event repeats the one kept in row L of ``q`` at a whole number of
    periods before, in the same run: skip whole repeats up to the run's end (``lv[L]`` =
    (period, block, periods per block)). Returns 0 if the state differs, 1 once skipped (or
    nothing left to skip), 2 if the history lacks room (ev[E_NEED_HIST] says how much;
    nothing changed)."""
    if not _same_state(q, L, wb, ev, part_line):
        return 0
    x = ev[E_T]
    rows = x - q[L, Q_X]
    k = (q[L, Q_RUN] + lv[L, 2] * lv[L, 0] - x) // rows
    fi = ev[E_FI]
    if fi < fr_row.shape[0]:       # no forced row inside the skipped rows
        k = min(k, (fr_row[fi] - x) // rows)
    if k > 0:
        need = ev[E_NST] + k * (ev[E_NST] - q[L, Q_NST])
        if need > srow.shape[0]:
            ev[E_NEED_HIST] = need
            return 2
        _skip_repeats(q, L, k, wb, ev, part_line, srow, scum)
    return 1


@njit(cache=True)
def _event_walk(wb, ev, q, lv, P, lay, fzs, lzs, part_line, part_val, srow, scum, fr_row,
                fr_if, fr_f):
    """The write buffer from the walk's next row on, event to event (see _write_events), until
    the layer's last row (True) or until the partial lines or the history lack room (False;
    ev says how much; the caller regrows them and calls again). The fold of the current row
    is kept (first row X, words before it B, shape s, its group / column / row fold), so that
    events within one fold cost no division."""
    R, rows, x0 = lay[L_R], lay[L_ROWS], lay[L_X0]
    rf, cf = lay[L_RF], lay[L_CF]
    nfr = fr_row.shape[0]
    half, of_bw = wb[W_HALF], wb[W_LINE]
    total = lay[L_WG] * (rows // (R * rf * cf))
    t, stall, of_out, nst, fi = ev[E_T], ev[E_STALL], ev[E_OUT], ev[E_NST], ev[E_FI]
    X, B, s, gc, cc, rc = _fold_at(min(t, rows - 1), P, lay)
    while t < rows:
        if t >= X + R:
            X, B, s, gc, cc, rc = _fold_at(t, P, lay)
        cycle = t + stall
        nxt = fr_row[fi] if fi < nfr else rows
        if nxt == t:
            te = t          # a forced row: run it exactly
        else:
            if cycle < wb[W_DRAIN_END]:
                lim = min(rows, t + (wb[W_DRAIN_END] - cycle))
                thr = 0
            else:
                lim = rows
                thr = half - 1
            lim = min(lim, nxt)
            Ct = B + P[s, t - X]
            tgt = Ct + max(1, wb[W_FREE] - thr)
            end = min(lim, X + R)      # reached in this fold before lim: bisection
            if tgt <= B + P[s, end - X]:
                lo, hi = t - X + 1, end - X
                y = tgt - B
                while lo < hi:
                    mid = (lo + hi) // 2
                    if P[s, mid] >= y:
                        hi = mid
                    else:
                        lo = mid + 1
                xr = X + lo
            elif lim <= X + R:
                xr = lim + 1
            elif tgt <= total:
                xr = _row_reaching(tgt, P, lay)
            else:
                xr = rows + 1
            te = min(lim, xr - 1)
            if te > t:
                if te <= X + R:
                    Ce = B + P[s, te - X]
                elif te < rows:
                    X, B, s, gc, cc, rc = _fold_at(te, P, lay)
                    Ce = B + P[s, te - X]
                else:
                    Ce = total
                w = Ce - Ct
                wb[W_FREE] -= w
                li = wb[W_LINE_IDX] + w
                wb[W_NLINES] += li // of_bw
                wb[W_LINE_IDX] = li % of_bw
                y = te - 1
                if X <= y < X + R and y - X >= fzs[s]:
                    lw = X + min(y - X, lzs[s])
                else:
                    lw = _last_word_row(y, lay, fzs, lzs)
                if lw >= t:
                    if wb[W_FIRST] < 0:
                        wb[W_FIRST] = x0 + stall
                    wb[W_LAST] = lw + stall
                of_out = te - 1 + stall
            if te >= lim:
                t = lim
                continue
        # the event row, exactly as _walk_kernel
        if te >= X + R:
            X, B, s, gc, cc, rc = _fold_at(te, P, lay)
        v = P[s, te - X + 1] - P[s, te - X]
        if wb[W_NPART] + v + 1 > part_line.shape[0] or nst == srow.shape[0]:
            ev[E_NEED_PART] = wb[W_NPART] + v + 1
            ev[E_NEED_HIST] = nst + 1
            ev[E_T], ev[E_STALL], ev[E_OUT], ev[E_NST], ev[E_FI] = te, stall, of_out, nst, fi
            return False
        cycle = te + stall
        wait = 0           # a read buffer that did not miss waits 0
        if fi < nfr and fr_row[fi] == te:
            a_if, a_f = fr_if[fi], fr_f[fi]
            if a_if != NO_MISS and a_f != NO_MISS:
                wait = max(a_if, a_f) - cycle - 1
            elif a_if != NO_MISS:
                wait = max(0, a_if - cycle - 1)
            elif a_f != NO_MISS:
                wait = max(0, a_f - cycle - 1)
            fi += 1
        of_out = _write_row_in(wb, part_line, part_val, v, cycle)
        wb[W_FIRST], wb[W_LAST] = _seen(wb[W_FIRST], wb[W_LAST], v > 0, of_out)
        st = max(wait, of_out - cycle - 1)
        if st != 0:
            stall += st
            srow[nst] = te
            scum[nst] = stall
            nst += 1
        t = te + 1
        if t >= rows:
            break
        if t >= X + R:
            X, B, s, gc, cc, rc = _fold_at(t, P, lay)
        # repeats: per run level (row folds, column folds, groups) whether row t lies in a
        # run, and Brent's kept state (a call only where a cheap test passes: calls with
        # arrays pay their reference counts)
        ev[E_T], ev[E_STALL], ev[E_OUT], ev[E_NST], ev[E_FI] = t, stall, of_out, nst, fi
        for L in range(3):
            if L == 0:
                inrun = rc < rf - 1
                run = X - rc * R
            elif L == 1:
                inrun = cc < cf - 1
                run = X - (cc * rf + rc) * R
            else:
                inrun = lv[2, 2] >= 2
                run = 0
            if not inrun or lv[L, 2] < 2:
                continue
            state = q[L, Q_STATE] if q[L, Q_RUN] == run else _EMPTY
            if state == _DONE:
                continue
            if state == _HELD:
                if (wb[W_FREE] == q[L, Q_FREE] and wb[W_LINE_IDX] == q[L, Q_LINE_IDX]
                        and (t - q[L, Q_X]) % lv[L, 0] == 0):
                    got = _try_skip(q, L, lv, wb, ev, part_line, srow, scum, fr_row)
                    if got == 2:
                        ev[E_NEED_PART] = 0
                        return False   # (tried again from this state with room)
                    if got == 1:
                        q[L, Q_STATE] = _DONE
                        ev[E_SKIPS] += 1
                        t, stall, of_out, nst = ev[E_T], ev[E_STALL], ev[E_OUT], ev[E_NST]
                        if t < rows:
                            X, B, s, gc, cc, rc = _fold_at(t, P, lay)
                        continue
                q[L, Q_COUNT] += 1
                if q[L, Q_COUNT] != q[L, Q_POWER]:
                    continue
            if _keep_state(q, L, wb, ev, part_line, part_val):
                q[L, Q_POWER] = 1 if state == _EMPTY else 2 * q[L, Q_POWER]
                q[L, Q_STATE], q[L, Q_RUN] = _HELD, run
            else:
                q[L, Q_STATE] = _EMPTY
    ev[E_T], ev[E_STALL], ev[E_OUT], ev[E_NST], ev[E_FI] = t, stall, of_out, nst, fi
    return True


@njit(cache=True)
def _write_walk(folds, of_words, of_bw, fr_row, fr_if, fr_f, repeats):
    """The ofmap write buffer from event to event over the layer: (buffer state, partial
    lines, stall history, walk counters ``ev``); ``repeats``: skip repeated runs (the tests
    switch it off). Events: a write that passes half full or fills the buffer during a drain,
    and the forced rows ``fr_row`` (sorted stall-free rows where a USER read buffer missed;
    fr_if / fr_f: the cycle its last prefetch arrives, or NO_MISS). Between events rows only
    subtract from the free count: the words written before a row in closed form over the
    layer's folds (_fold_at), the next event row by bisection in its fold (or _row_reaching),
    so that the cost grows with the events, not the folds; and runs that repeat are skipped
    whole (_try_skip)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    T, R = _fold_rows(folds)
    # the ofmap words per row of the four kinds of fold: full or last column / row fold
    cu_last = (N if df != 2 else M) - (cf - 1) * AC
    ru_last = M - (rf - 1) * AR if df == 0 else AR
    P = np.empty((4, R + 1), dtype=np.int64)
    fzs = np.empty(4, dtype=np.int64)
    lzs = np.empty(4, dtype=np.int64)
    for s in range(4):
        cu = AC if s < 2 else cu_last
        ru = AR if s % 2 == 0 else ru_last
        # a shape equal to one before (the array rows used matter only to os's output skew)
        same = -1
        for s2 in range(s):
            if (AC if s2 < 2 else cu_last) == cu and (df != 0 or (AR if s2 % 2 == 0
                                                                  else ru_last) == ru):
                same = s2
                break
        if same >= 0:
            P[s], fzs[s], lzs[s] = P[same], fzs[same], lzs[same]
        else:
            P[s], fzs[s], lzs[s] = _ofmap_profile(df, cu, ru, R, AR, K, T)
    lay = np.empty(L_NFIELDS, dtype=np.int64)
    Wc = (rf - 1) * P[0, R] + P[1, R]
    lay[L_R], lay[L_RF], lay[L_CF], lay[L_WC] = R, rf, cf, Wc
    lay[L_WG] = (cf - 1) * Wc + (rf - 1) * P[2, R] + P[3, R]
    lay[L_ROWS] = G * cf * rf * R
    lay[L_X0] = fzs[_shape(0, 0, cf, rf)]
    # the runs that repeat: (period, block, periods per block) of row folds, column folds, groups
    lv = np.array(((R, rf * R, rf - 1), (rf * R, cf * rf * R, cf - 1),
                   (cf * rf * R, lay[L_ROWS], G)), dtype=np.int64)
    if not repeats:
        lv[:, 2] = 0
    q = np.zeros((3, Q_NFIELDS), dtype=np.int64)
    q[:, Q_RUN] = -1
    wb, part_line, part_val = _wbuf_state(of_words, of_bw)
    srow, scum, nst = _history()
    ev = np.zeros(E_NFIELDS, dtype=np.int64)
    while not _event_walk(wb, ev, q, lv, P, lay, fzs, lzs, part_line, part_val, srow, scum,
                          fr_row, fr_if, fr_f):
        part_line, part_val = _room(part_line, part_val, ev[E_NEED_PART])
        srow, scum = _room(srow, scum, ev[E_NEED_HIST])
    return wb, part_line, part_val, srow, scum, ev


@njit(cache=True)
def _write_events(folds, of_words, of_bw, res, fr_row, fr_if, fr_f):
    """The ofmap write buffer from event to event (_write_walk), its results into ``res`` (as
    _walk_kernel's), and the stall history, (rows, cumulative stalls, count), for _cycle_of.
    fr_row, fr_if, fr_f: the forced rows (see _write_walk)."""
    wb, part_line, part_val, srow, scum, ev = _write_walk(folds, of_words, of_bw, fr_row, fr_if,
                                                          fr_f, True)
    _finish(res, wb, part_line, part_val, ev[E_OUT], ev[E_STALL])
    return srow, scum, ev[E_NST]
