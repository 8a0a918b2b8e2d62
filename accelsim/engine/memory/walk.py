"""The plain walk: every row of every fold, every address through the three buffers. USER mode
runs here; CALC runs here for ifmap units too large for the CALC engine, and as the reference
the tests compare the CALC engine against."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _fold_extent, _fold_rows, _lanes, _ofmap_row_words, _slot_mk
from .readbuf import _in_window, _miss, _repeat_closed_form, _user_windows
from .writebuf import _finish, _seen, _wbuf_new, _write_row


@njit(cache=True, inline="always")
def _read_row(folds, im2col, ifmap, g, c, r, tau, cycle, user, buf, rd_bw,
              ws, we, npf, nact, pf_lines, acc, lpf, st, ep, cnt, E, nsh, lsh, b, rec, rm, D,
              rec_row):
    """One operand's slots of row ``tau`` of fold (g, c, r) at ``cycle`` through its read
    buffer: USER (``read_buffer``) rotates the window on a miss and the row waits for the
    prefetch; CALC stamps each word with its epoch and counts the epoch's new words (E per
    epoch; E = 0: one epoch). ``rec``: record the row (``rec_row``) of each valid slot in
    ``rm`` for _repeat_closed_form. Returns (any valid slot, service cycle) and the state."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
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
                ws, we, acc, lpf = _miss(a, buf.ptr, buf.set_ids, ws, we, npf, nact, buf.n_sets,
                                         acc, pf_lines * rd_bw, lpf, pf_lines)
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
    return anyv, served, ws, we, acc, lpf, ep, cnt, nsh, lsh, b, D


@njit(cache=True)
def _walk_kernel(folds, im2col, if_space, f_space, user, E_if, E_f, of_words, of_bw,
                 nowalk_if, nowalk_f, if_span, dist_if, dist_f, rd_bw, if_buf, f_buf):
    """The 32 results of the walk (simulate_memory reads them). E_if / E_f: CALC epoch words
    (0: the operand never slides its window); if_buf / f_buf: USER read buffers (ReadBuffer),
    rd_bw their DRAM line (words); of_words / of_bw: the write buffer and its line."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    res = np.zeros(32, dtype=np.int64)
    T, rows_fold = _fold_rows(folds)

    # CALC state per read buffer: epoch stamps, and per fold slice the epoch it was walked in
    # (all hits when walked again in that epoch) and its last valid row
    nkeys = G * rf * cf
    st_if = np.zeros(if_space if not user else 1, dtype=np.int32)
    st_f = np.zeros(f_space if not user else 1, dtype=np.int32)
    key_ep_if = np.full(nkeys, -1, dtype=np.int64)
    key_ep_f = np.full(nkeys, -1, dtype=np.int64)
    key_last_if = np.full(nkeys, -1, dtype=np.int64)
    key_last_f = np.full(nkeys, -1, dtype=np.int64)
    ep_if, cnt_if, nsh_if, lsh_if = 1, 0, 0, 0
    ep_f, cnt_f, nsh_f, lsh_f = 1, 0, 0, 0

    # USER state per read buffer
    A_if, pf_lines_if, nact_if, npf_if = _user_windows(if_buf, rd_bw)
    A_f, pf_lines_f, nact_f, npf_f = _user_windows(f_buf, rd_bw)
    ws_if, we_if, ws_f, we_f = 0, nact_if, 0, nact_f
    acc_if = acc_f = lpf_if = lpf_f = dstart_if = dstart_f = 0

    # write buffer state (dsl: first undrained line; part_*: forced partial lines)
    Aw, Ld, free, part_line, part_val = _wbuf_new(of_words, of_bw)
    line_idx = nlines = dsl = npart = ppos = drain_end = of_acc = of_dstart = of_dstop = 0
    of_drained = False

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
    rm_if = np.zeros(M * K + 1 if rep_if else 1, dtype=np.int64)
    rm_f = np.zeros((K * AC + 1 if rep_f == 2 else K * N + 1) if rep_f else 1, dtype=np.int64)
    D_if, b_if, D_f, b_f = 0, -1, 0, -1
    rec_if, rec_f = False, False
    frz_if, frz_f = False, False
    scope0_if, scope0_f = 0, 0
    tgt_if, tgt_f = -1, -1
    stall = 0
    first_if, first_f, first_of = -1, -1, -1
    last_if, last_f, last_of = -1, -1, -1
    of_out = 0
    row0 = 0
    started = False
    for g in range(G):
        for c in range(cf):
            for r in range(rf):
                cu, ru = _fold_extent(folds, c, r)
                if df == 0:
                    kif, kf = g * rf * cf + r, g * rf * cf + c
                elif df == 1:
                    kif, kf = g * rf * cf + r, g * rf * cf + c * rf + r
                else:
                    kif, kf = g * rf * cf + c * rf + r, g * rf * cf + r
                # an operand smaller than one epoch is fetched once (closed form by the
                # caller); only its first and last folds are walked, for the SRAM start/stop
                fold = (g * cf + c) * rf + r
                edge_if = fold == if_span[0] or fold == if_span[1]
                edge_f = fold == 0 or fold == G * cf * rf - 1
                if rep_if:
                    if c == 0 and r == 0:
                        frz_if, rec_if, D_if, b_if, scope0_if = False, True, 0, -1, row0
                    elif c == 1 and r == 0:
                        rec_if = False
                        frz_if = True
                        if b_if >= 0:
                            kk, cnt_if, tgt_if = _repeat_closed_form(
                                D_if, b_if, cf, E_if, rf * rows_fold, rm_if, scope0_if)
                            nsh_if += kk
                            ep_if += kk
                if rep_f:
                    if (rep_f == 2 and r == 0) or (rep_f == 1 and c == 0 and r == 0):
                        frz_f, rec_f, D_f, b_f, scope0_f = False, True, 0, -1, row0
                    elif (rep_f == 2 and r == 1) or (rep_f == 1 and c == 1 and r == 0):
                        rec_f = False
                        frz_f = True
                        if b_f >= 0:
                            n_u = rf if rep_f == 2 else cf
                            u_rows = rows_fold if rep_f == 2 else rf * rows_fold
                            kk, cnt_f, tgt_f = _repeat_closed_form(
                                D_f, b_f, n_u, E_f, u_rows, rm_f, scope0_f)
                            nsh_f += kk
                            ep_f += kk
                skip_if = (not user) and (frz_if or key_ep_if[kif] == ep_if
                                          or (nowalk_if and not edge_if))
                skip_f = (not user) and (frz_f or key_ep_f[kf] == ep_f
                                         or (nowalk_f and not edge_f))
                ep0_if, ep0_f = ep_if, ep_f
                lastv_if, lastv_f = -1, -1
                for tau in range(rows_fold):
                    cycle = row0 + tau + stall
                    if row0 + tau == tgt_if:
                        lsh_if = cycle
                        tgt_if = -1
                    if row0 + tau == tgt_f:
                        lsh_f = cycle
                        tgt_f = -1
                    if user and not started:
                        # prefetch_active_buffer on the first request row
                        n0 = min(-(-A_if // rd_bw), if_buf.fetch_lines)
                        acc_if += n0 * rd_bw
                        lpf_if = cycle - 1
                        dstart_if = cycle - n0
                        n0 = min(-(-A_f // rd_bw), f_buf.fetch_lines)
                        acc_f += n0 * rd_bw
                        lpf_f = cycle - 1
                        dstart_f = cycle - n0
                    started = True
                    # a skipped slice is as when walked: only its last valid row can move the
                    # stop cycle (the start was set by the first fold)
                    if skip_if:
                        anyv, if_out = tau == key_last_if[kif], cycle + 1
                    else:
                        (anyv, if_out, ws_if, we_if, acc_if, lpf_if, ep_if, cnt_if, nsh_if,
                         lsh_if, b_if, D_if) = _read_row(
                            folds, im2col, True, g, c, r, tau, cycle, user, if_buf, rd_bw,
                            ws_if, we_if, npf_if, nact_if, pf_lines_if, acc_if, lpf_if, st_if,
                            ep_if, cnt_if, E_if, nsh_if, lsh_if, b_if, rec_if, rm_if, D_if,
                            row0 + tau - scope0_if)
                        if anyv:
                            lastv_if = tau
                    first_if, last_if = _seen(first_if, last_if, anyv, if_out)
                    if skip_f:
                        anyv, f_out = tau == key_last_f[kf], cycle + 1
                    else:
                        (anyv, f_out, ws_f, we_f, acc_f, lpf_f, ep_f, cnt_f, nsh_f,
                         lsh_f, b_f, D_f) = _read_row(
                            folds, im2col, False, g, c, r, tau, cycle, user, f_buf, rd_bw,
                            ws_f, we_f, npf_f, nact_f, pf_lines_f, acc_f, lpf_f, st_f,
                            ep_f, cnt_f, E_f, nsh_f, lsh_f, b_f, rec_f, rm_f, D_f,
                            row0 + tau - scope0_f)
                        if anyv:
                            lastv_f = tau
                    first_f, last_f = _seen(first_f, last_f, anyv, f_out)
                    # ---------------- ofmap (write buffer) ----------------
                    v = _ofmap_row_words(df, tau, cu, ru, AR, K, T)
                    (of_out, free, drain_end, line_idx, nlines, npart, part_line, part_val,
                     dsl, ppos, of_acc, of_drained, of_dstart, of_dstop) = _write_row(
                        v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                        part_val, dsl, ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart,
                        of_dstop)
                    first_of, last_of = _seen(first_of, last_of, v > 0, of_out)
                    stall += max(if_out - cycle - 1, f_out - cycle - 1, of_out - cycle - 1)
                # fold done: a slice walked without an epoch boundary is all hits next time
                if not user:
                    if not skip_if and not (nowalk_if and not edge_if):
                        key_last_if[kif] = lastv_if
                        key_ep_if[kif] = ep_if if ep_if == ep0_if else -1
                    if not skip_f and not (nowalk_f and not edge_f):
                        key_last_f[kf] = lastv_f
                        key_ep_f[kf] = ep_f if ep_f == ep0_f else -1
                row0 += rows_fold
    # drain what is left, back to back from the last row's service cycle
    _finish(res, of_out, stall, first_of, last_of, line_idx, nlines, npart, part_line, part_val,
            dsl, Ld, of_bw, ppos, of_acc, of_drained, of_dstart, of_dstop)
    res[2], res[3], res[4], res[5] = first_if, last_if, first_f, last_f
    if user:
        res[11], res[12], res[13] = acc_if, dstart_if, lpf_if
        res[14], res[15], res[16] = acc_f, dstart_f, lpf_f
    else:
        res[11], res[12], res[13], res[14] = nsh_if, lsh_if, cnt_if, first_if - 1
        res[15], res[16], res[17], res[18] = nsh_f, lsh_f, cnt_f, first_f - 1
    return res
