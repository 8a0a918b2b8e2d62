"""USER mode with SCALE-Sim's stall model, event by event (docs/memory.md "Speed"): exact
against the plain walk (walk.py), which visits every address of every row.

Two facts split the walk. (1) A read buffer's misses do not depend on time: its window moves
only on a miss, by the prefetch sets, and the cycle its last prefetch arrives is the first
request cycle - 1 plus (lines + 1) per rotation so far (SCALE-Sim 2.0.2 never waits for the
request), so each operand's miss rows and rotation counts come from its address stream alone.
(2) Every demand row of a fold reads a contiguous run of the prefetch matrix in fetch order
(one diagonal of a streamed operand, one row of a stationary one), so the sets of its own
entries are a range: a row, or a whole fold, whose range lies inside the active window hits
without a look at its addresses (a word may also sit in other sets: the range is enough, not
needed). Only the rows that are not covered walk their addresses. An operand whose active
sets hold the whole prefetch matrix never misses. The write buffer then runs from event to
event (writebuf._write_events) with the miss rows as extra events.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_rows, _lanes
from .calc import _request_rows
from .readbuf import _in_window, _miss, _prefetch_shape, _user_windows
from .writebuf import NO_MISS, _cycle_of, _history, _push, _write_events


@njit(cache=True)
def _diagonal_starts(rows, L):
    """Position in the fetch sequence of each diagonal of a rows x L matrix (diagonal-unrolled)."""
    E = np.zeros(rows + L + 1, dtype=np.int64)
    for d in range(rows + L):
        E[d + 1] = E[d] + min(d, rows - 1) - max(0, d - L + 1) + 1
    return E


@njit(cache=True, inline="always")
def _covered(q0, q1, eps, ws, nl, nact):
    """Whether the sets of valid entries [q0, q1) all lie in the window of nact sets from ws."""
    lo = q0 // eps
    return (lo - ws) % nl + (q1 - 1) // eps - lo < nact


@njit(cache=True)
def _row_run(folds, ifmap, c, r, tau, T, L, diag, E):
    """The run [p0, p1) of one group's fetch sequence that row tau of fold (c, r) reads, as
    walk._read_row visits its lanes (p0 = p1: none). Streamed operands: diagonal
    block * T + (tau - skew), lanes in order; stationary ones: stored row r*AR + AR-1-tau."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if diag:
        b = c if (df == 0 and not ifmap) else r
        d = b * T + tau - (0 if df == 0 else AR)
        lo, hi = _lanes(folds, ifmap, tau)
        if hi < lo:
            return 0, 0
        p0 = E[d] + lo - max(0, d - (E.shape[0] - L - 1) + 1)
        return p0, p0 + hi - lo + 1
    t = r * AR + AR - 1 - tau
    if tau >= AR or t >= T:
        return 0, 0
    return (c * T + t) * L, (c * T + t + 1) * L


@njit(cache=True, inline="always")
def _fold_run(folds, ifmap, c, r, T, L, diag, E):
    """A run of the fetch sequence that holds every row run of fold (c, r)."""
    df, AR = folds.dataflow, folds.array_rows
    if diag:
        b = c if (df == 0 and not ifmap) else r
        return E[b * T], E[b * T + T + L - 1]
    lo, hi = c * T + min(T, r * AR), c * T + min(T, r * AR + AR)
    return lo * L, hi * L


@njit(cache=True)
def _misses(folds, ifmap, buf, distinct, nact, npf):
    """The stall-free rows where an operand's read buffer misses, the rotations done by the end
    of each, and the total. ``distinct``: every address occurs once in the prefetch matrix, so
    its set is its own entry's (no set lists)."""
    T_, rows_fold = _fold_rows(folds)
    nb, T, L, diag = _prefetch_shape(folds, ifmap)
    rows = nb * T
    E = _diagonal_starts(rows, L) if diag else np.zeros(1, dtype=np.int64)
    seq, before, ptr, sets = buf.seq, buf.before, buf.ptr, buf.set_ids
    eps, nl = buf.set_words, buf.n_sets
    out_row, out_rot, n = _history()
    ws = 0
    nrot = 0
    row0 = 0
    for g in range(folds.groups):
        gb = g * rows * L
        for c in range(folds.col_folds):
            for r in range(folds.row_folds):
                f0, f1 = _fold_run(folds, ifmap, c, r, T, L, diag, E)
                q0, q1 = before[gb + f0], before[gb + f1]
                if q1 == q0 or _covered(q0, q1, eps, ws, nl, nact):
                    row0 += rows_fold
                    continue
                for tau in range(rows_fold):
                    p0, p1 = _row_run(folds, ifmap, c, r, tau, T, L, diag, E)
                    q0, q1 = before[gb + p0], before[gb + p1]
                    if q1 == q0 or _covered(q0, q1, eps, ws, nl, nact):
                        continue
                    n0 = nrot
                    for p in range(gb + p0, gb + p1):
                        if before[p + 1] == before[p]:
                            continue
                        if distinct:
                            s = before[p] // eps
                            if (s - ws) % nl >= nact:
                                for _ in range(nl + 2):      # as _miss
                                    ws = (ws + npf) % nl
                                    nrot += 1
                                    if (s - ws) % nl < nact:
                                        break
                        elif not _in_window(seq[p], ptr, sets, ws, (ws + nact) % nl):
                            ws, _, nrot, _ = _miss(seq[p], ptr, sets, ws, (ws + nact) % nl, npf,
                                                   nact, nl, nrot, 1, 0, 0)
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
def _user_engine(folds, im2col, of_words, of_bw, rd_bw, bufs, distinct):
    """USER mode (stall model scalesim): the same 32 results as _walk_kernel, see above.
    bufs: the ifmap and filter ReadBuffer; distinct: per operand, every address occurs once."""
    res = np.zeros(32, dtype=np.int64)
    T, rows_fold = _fold_rows(folds)
    nfolds = folds.groups * folds.col_folds * folds.row_folds
    rows, lpfs, nrots = [], [], []
    for op in range(2):
        A, lines, nact, npf = _user_windows(bufs[op], rd_bw)
        if nact >= bufs[op].n_sets:      # the active sets hold everything: no miss
            m_row, m_rot, nrot = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
        else:
            m_row, m_rot, nrot = _misses(folds, op == 0, bufs[op], distinct[op], nact, npf)
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
