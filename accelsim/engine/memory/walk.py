"""The plain walk: every row of every fold, every address through the three buffers. The
reference the tests compare the CALC engine (calc.py) and the USER engine (user.py) against;
CALC also runs here for ifmap units too large for the CALC engine."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_extent, _fold_rows, _lanes, _ofmap_row_words, _slot_mk
from .readbuf import _in_window, _miss, _repeat_closed_form, _user_windows
from .writebuf import _finish, _ofmap_row, _seen, _wbuf_state

# a read buffer's walk state, one int64 row per operand: USER window [ws, we), prefetch and
# active sets, DRAM lines per prefetch, words fetched, last prefetch's cycle, first fill's
# start; CALC epoch stamp, new words in the epoch, epoch words, boundaries, last boundary's
# cycle, stream position of the last boundary, positions recorded (_repeat_closed_form)
(R_WS, R_WE, R_NPF, R_NACT, R_LINES, R_ACC, R_LPF, R_DSTART, R_EP, R_CNT, R_E, R_NSH, R_LSH,
 R_B, R_D, R_NFIELDS) = range(16)


@njit(cache=True, inline="always")
def _read_row(folds, im2col, ifmap, g, c, r, tau, cycle, user, buf, rd_bw, rs, st, rec, rm,
              rec_row):
    """One operand's slots of row ``tau`` of fold (g, c, r) at ``cycle`` through its read
    buffer (state ``rs``, updated): USER (``read_buffer``) rotates the window on a miss and the
    row waits for the prefetch; CALC stamps each word with its epoch in ``st`` and counts the
    epoch's new words (E per epoch; E = 0: one epoch). ``rec``: record the row (``rec_row``)
    of each valid slot in ``rm`` for _repeat_closed_form. Returns (any valid slot, service
    cycle)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    ws, we, acc, lpf = rs[R_WS], rs[R_WE], rs[R_ACC], rs[R_LPF]
    ep, cnt, E, nsh, lsh = rs[R_EP], rs[R_CNT], rs[R_E], rs[R_NSH], rs[R_LSH]
    b, D = rs[R_B], rs[R_D]
    served = cycle + 1
    anyv = False
    lo, hi = _lanes(folds, ifmap, tau)
    for j in range(lo, hi + 1):
        u, v = _slot_mk(df, ifmap, c, r, tau, j, AR, AC)
        if ifmap:          # the address written out (see addresses.py)
            if u >= M or v >= K:
                continue
            y = rb[u] + wr[v]
            x = cb[u] + wc[v]
            if y < 0 or y >= H or x < 0 or x >= W:
                continue
            a = pb[u] + wo[v] + g * goff
        else:
            if u >= K or v >= N:
                continue
            a = (g * N + v) * K + u
        anyv = True
        if rec:
            rm[D] = rec_row
            D += 1
        if user:
            if not _in_window(a, buf.ptr, buf.set_ids, ws, we):
                ws, we, acc, lpf = _miss(a, buf.ptr, buf.set_ids, ws, we, rs[R_NPF],
                                         rs[R_NACT], buf.n_sets, acc, rs[R_LINES] * rd_bw, lpf,
                                         rs[R_LINES])
                served = lpf
        elif st[a] != ep:
            st[a] = ep
            cnt += 1
            if E > 0 and cnt == E:
                nsh += 1
                lsh = cycle
                b = D - 1
                ep += 1
                cnt = 0
    rs[R_WS], rs[R_WE], rs[R_ACC], rs[R_LPF] = ws, we, acc, lpf
    rs[R_EP], rs[R_CNT], rs[R_NSH], rs[R_LSH], rs[R_B], rs[R_D] = ep, cnt, nsh, lsh, b, D
    return anyv, served


@njit(cache=True)
def _walk_kernel(folds, im2col, bufs, paths, E_if, E_f, if_buf, f_buf):
    """The 32 results of the walk (simulate_memory reads them). bufs, paths: memory.Buffers
    and memory.FastPaths; E_if / E_f: CALC epoch words (0: the operand never slides its
    window); if_buf / f_buf: USER read buffers (ReadBuffer)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    user, if_space, f_space = bufs.user, bufs.if_space, bufs.f_space
    of_words, of_bw, rd_bw = bufs.of_words, bufs.of_bw, bufs.rd_bw
    nowalk_if, nowalk_f, if_span = paths.nowalk_if, paths.nowalk_f, paths.if_span
    dist_if, dist_f = paths.dist_if, paths.dist_f
    res = np.zeros(32, dtype=np.int64)
    T, rows_fold = _fold_rows(folds)
    bufs = (if_buf, f_buf)
    nowalk = (nowalk_if, nowalk_f)

    # per read buffer (row 0 ifmap, 1 filter): its state; CALC epoch stamps, and per fold
    # slice the epoch it was walked in (all hits when walked again in that epoch) and its last
    # valid row
    rs = np.zeros((2, R_NFIELDS), dtype=np.int64)
    stamps = (np.zeros(if_space if not user else 1, dtype=np.int32),
              np.zeros(f_space if not user else 1, dtype=np.int32))
    nkeys = G * rf * cf
    key_ep = np.full((2, nkeys), -1, dtype=np.int64)
    key_last = np.full((2, nkeys), -1, dtype=np.int64)
    for op in range(2):
        A, lines, nact, npf = _user_windows(bufs[op], rd_bw)
        rs[op, R_WE], rs[op, R_NPF], rs[op, R_NACT], rs[op, R_LINES] = nact, npf, nact, lines
        rs[op, R_EP], rs[op, R_B] = 1, -1
    rs[0, R_E], rs[1, R_E] = E_if, E_f

    # write buffer
    wb, part_line, part_val = _wbuf_state(of_words, of_bw)

    # Repeated units of distinct addresses (CALC): os/ws ifmap with non-overlapping windows and
    # is filter repeat one unit per column fold (scope = group); the os filter repeats one fold
    # per row fold (scope = column fold). Unit 0 is walked, recording the row of each valid
    # element; the rest follows in closed form (_repeat_closed_form).
    rep_if = 1 if (dist_if and not user and not nowalk_if and df != 2 and cf >= 2) else 0
    rep_f = 0
    if dist_f and not user and not nowalk_f:
        if df == 0 and rf >= 2:
            rep_f = 2
        elif df == 2 and cf >= 2:
            rep_f = 1
    rms = (np.zeros(M * K + 1 if rep_if else 1, dtype=np.int64),
           np.zeros((K * AC + 1 if rep_f == 2 else K * N + 1) if rep_f else 1, dtype=np.int64))
    rec = np.zeros(2, dtype=np.bool_)
    frz = np.zeros(2, dtype=np.bool_)
    skip = np.zeros(2, dtype=np.bool_)
    scope0 = np.zeros(2, dtype=np.int64)
    tgt = np.full(2, -1, dtype=np.int64)
    first = np.full(2, -1, dtype=np.int64)
    last = np.full(2, -1, dtype=np.int64)
    lastv = np.full(2, -1, dtype=np.int64)
    ep0 = np.zeros(2, dtype=np.int64)
    keys = np.zeros(2, dtype=np.int64)
    edge = np.zeros(2, dtype=np.bool_)
    stall = 0
    of_out = 0
    row0 = 0
    started = False
    for g in range(G):
        for c in range(cf):
            for r in range(rf):
                cu, ru = _fold_extent(folds, c, r)
                base = g * rf * cf
                if df == 0:
                    keys[0], keys[1] = base + r, base + c
                elif df == 1:
                    keys[0], keys[1] = base + r, base + c * rf + r
                else:
                    keys[0], keys[1] = base + c * rf + r, base + r
                # an operand smaller than one epoch is fetched once (closed form by the
                # caller); only its first and last folds are walked, for the SRAM start/stop
                fold = (g * cf + c) * rf + r
                edge[0] = fold == if_span[0] or fold == if_span[1]
                edge[1] = fold == 0 or fold == G * cf * rf - 1
                # unit starts and ends (op, repeat kind, start?, end?, units, rows per unit)
                for op in range(2):
                    rep = rep_if if op == 0 else rep_f
                    if rep == 0:
                        continue
                    if rep == 2:
                        begin, end, n_u, u_rows = r == 0, r == 1, rf, rows_fold
                    else:
                        begin, end, n_u, u_rows = (c == 0 and r == 0, c == 1 and r == 0, cf,
                                                   rf * rows_fold)
                    if begin:
                        frz[op], rec[op], rs[op, R_D], rs[op, R_B] = False, True, 0, -1
                        scope0[op] = row0
                    elif end:
                        rec[op] = False
                        frz[op] = True
                        if rs[op, R_B] >= 0:
                            kk, rs[op, R_CNT], tgt[op] = _repeat_closed_form(
                                rs[op, R_D], rs[op, R_B], n_u, rs[op, R_E], u_rows, rms[op],
                                scope0[op])
                            rs[op, R_NSH] += kk
                            rs[op, R_EP] += kk
                for op in range(2):
                    skip[op] = (not user) and (frz[op] or key_ep[op, keys[op]] == rs[op, R_EP]
                                               or (nowalk[op] and not edge[op]))
                    ep0[op] = rs[op, R_EP]
                    lastv[op] = -1
                for tau in range(rows_fold):
                    cycle = row0 + tau + stall
                    if user and not started:
                        # prefetch_active_buffer on the first request row
                        for op in range(2):
                            n0 = min(-(-((bufs[op].words + 1) // 2) // rd_bw),
                                     bufs[op].fetch_lines)
                            rs[op, R_ACC] += n0 * rd_bw
                            rs[op, R_LPF] = cycle - 1
                            rs[op, R_DSTART] = cycle - n0
                    started = True
                    wait = -(1 << 62)
                    for op in range(2):
                        if row0 + tau == tgt[op]:
                            rs[op, R_LSH] = cycle
                            tgt[op] = -1
                        # a skipped slice is as when walked: only its last valid row can move
                        # the stop cycle (the start was set by the first fold)
                        if skip[op]:
                            anyv, out = tau == key_last[op, keys[op]], cycle + 1
                        else:
                            anyv, out = _read_row(folds, im2col, op == 0, g, c, r, tau, cycle,
                                                  user, bufs[op], rd_bw, rs[op], stamps[op],
                                                  rec[op], rms[op], row0 + tau - scope0[op])
                            if anyv:
                                lastv[op] = tau
                        first[op], last[op] = _seen(first[op], last[op], anyv, out)
                        wait = max(wait, out - cycle - 1)
                    # ---------------- ofmap (write buffer) ----------------
                    v = _ofmap_row_words(df, tau, cu, ru, AR, K, T)
                    of_out, part_line, part_val = _ofmap_row(wb, part_line, part_val, v, cycle)
                    stall += max(wait, of_out - cycle - 1)
                # fold done: a slice walked without an epoch boundary is all hits next time
                if not user:
                    for op in range(2):
                        if not skip[op] and not (nowalk[op] and not edge[op]):
                            key_last[op, keys[op]] = lastv[op]
                            key_ep[op, keys[op]] = (rs[op, R_EP] if rs[op, R_EP] == ep0[op]
                                                    else -1)
                row0 += rows_fold
    # drain what is left, back to back from the last row's service cycle
    _finish(res, wb, part_line, part_val, of_out, stall)
    res[2], res[3], res[4], res[5] = first[0], last[0], first[1], last[1]
    for op in range(2):
        at = 11 if op == 0 else (14 if user else 15)
        if user:
            res[at], res[at + 1], res[at + 2] = rs[op, R_ACC], rs[op, R_DSTART], rs[op, R_LPF]
        else:
            res[at], res[at + 1], res[at + 2] = rs[op, R_NSH], rs[op, R_LSH], rs[op, R_CNT]
            res[at + 3] = first[op] - 1
    return res
