"""The plain walk: every row of every fold, every address through the three buffers. USER mode
runs here; CALC runs here for ifmap units too large for the CALC engine, and as the reference
the tests compare the CALC engine against."""

from __future__ import annotations

import numpy as np
from numba import njit

from .readbuf import ACTIVE_SETS, _in_window, _miss, _repeat_closed_form
from .writebuf import _drain_rest, _write_row


# ---- the walk ----------------------------------------------------------------------------------
@njit(cache=True)
def _walk_kernel(df, AR, AC, M, N, K, G, rf, cf,
          rb, cb, pb, wr, wc, wo, H, W, goff, if_space, f_space,
          user, P_if, P_f, of_words, of_bw, nowalk_if, nowalk_f, if_span,
          dist_if, dist_f,           # positional args 28, 29 (tests flip them)
          # USER mode: per read buffer (ifmap, filter) its words, bw and set index
          if_words, f_words, rd_bw, if_nl, if_eps, if_ptr, if_sets, if_fetch_lines,
          f_nl, f_eps, f_ptr, f_sets, f_fetch_lines):
    res = np.zeros(32, dtype=np.int64)
    if df == 0:
        T = K
        rows_fold = K + AR + AC - 2
    else:
        T = M if df == 1 else N
        rows_fold = 2 * AR + AC + T - 2
    # skew prefixes of the streamed operands, and which operand is stationary (no skew)
    if df == 0:
        pre_if, L_if, T_if, stat_if = 0, AR, K, False
        pre_f, L_f, T_f, stat_f = 0, AC, K, False
    elif df == 1:
        pre_if, L_if, T_if, stat_if = AR, AR, M, False
        pre_f, L_f, T_f, stat_f = 0, AC, AR, True
    else:
        pre_if, L_if, T_if, stat_if = 0, AC, AR, True
        pre_f, L_f, T_f, stat_f = AR, AR, N, False

    # CALC state per read buffer: epoch stamps
    nkeys = G * rf * cf
    st_if = np.zeros(if_space if not user else 1, dtype=np.int32)
    st_f = np.zeros(f_space if not user else 1, dtype=np.int32)
    key_ep_if = np.full(nkeys, -1, dtype=np.int64)
    key_ep_f = np.full(nkeys, -1, dtype=np.int64)
    key_last_if = np.full(nkeys, -1, dtype=np.int64)
    key_last_f = np.full(nkeys, -1, dtype=np.int64)
    E_if = ACTIVE_SETS * P_if
    E_f = ACTIVE_SETS * P_f
    ep_if, cnt_if, nsh_if, lsh_if = 1, 0, 0, 0
    ep_f, cnt_f, nsh_f, lsh_f = 1, 0, 0, 0

    # USER state per read buffer
    A_if = (if_words + 1) // 2
    A_f = (f_words + 1) // 2
    pf_lines_if = -(-(if_words - A_if) // rd_bw) if user else 0
    pf_lines_f = -(-(f_words - A_f) // rd_bw) if user else 0
    nact_if = min(-(-A_if // if_eps), if_nl) if user else 0
    npf_if = min(-(-(if_words - A_if) // if_eps), if_nl - nact_if) if user else 0
    nact_f = min(-(-A_f // f_eps), f_nl) if user else 0
    npf_f = min(-(-(f_words - A_f) // f_eps), f_nl - nact_f) if user else 0
    ws_if, we_if, ws_f, we_f = 0, nact_if, 0, nact_f
    acc_if, acc_f = 0, 0
    lpf_if, lpf_f = 0, 0
    dstart_if, dstart_f = 0, 0

    # write buffer state
    S = of_words
    Aw = (S + 1) // 2
    D = S - Aw
    Ld = -(-D // of_bw)
    free = S
    line_idx = 0
    nlines = 0
    dsl = 0                       # first undrained line
    part_line = np.empty(16, dtype=np.int64)   # forced partial lines: index, valid words
    part_val = np.empty(16, dtype=np.int64)
    npart = 0
    ppos = 0
    drain_end = 0
    of_acc = 0
    of_dstart = 0
    of_dstop = 0
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
                cu = min(AC, (N if df != 2 else M) - c * AC)
                ru = min(AR, (M if df == 0 else K) - r * AR)
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
                        n0 = min(-(-A_if // rd_bw), if_fetch_lines)
                        acc_if += n0 * rd_bw
                        lpf_if = cycle - 1
                        dstart_if = cycle - n0
                        n0 = min(-(-A_f // rd_bw), f_fetch_lines)
                        acc_f += n0 * rd_bw
                        lpf_f = cycle - 1
                        dstart_f = cycle - n0
                    started = True
                    # ---------------- ifmap ----------------
                    if_out = cycle + 1
                    if stat_if:
                        lo, hi = (0, AC - 1) if tau < AR else (1, 0)
                    else:
                        lo = max(0, tau - pre_if - T_if + 1)
                        hi = min(L_if - 1, tau - pre_if)
                    anyv = False
                    if skip_if:
                        # same slice as when walked: only its last valid row can move the
                        # stop cycle (the start was set by the first fold)
                        anyv = tau == key_last_if[kif]
                    else:
                        for j in range(lo, hi + 1):
                            # address written out here: a call per slot costs 5x (measured)
                            if df == 0:
                                m, k = r * AR + j, tau - j
                            elif df == 1:
                                m, k = tau - pre_if - j, r * AR + j
                            else:
                                m, k = c * AC + j, r * AR + AR - 1 - tau
                            if m >= M or k >= K:
                                continue
                            y = rb[m] + wr[k]
                            x = cb[m] + wc[k]
                            if y < 0 or y >= H or x < 0 or x >= W:
                                continue
                            a = pb[m] + wo[k] + g * goff
                            anyv = True
                            if rec_if:
                                rm_if[D_if] = row0 + tau - scope0_if
                                D_if += 1
                            if user:
                                if not _in_window(a, if_ptr, if_sets, ws_if, we_if):
                                    ws_if, we_if, acc_if, lpf_if = _miss(
                                        a, if_ptr, if_sets, ws_if, we_if, npf_if, nact_if,
                                        if_nl, acc_if, pf_lines_if * rd_bw, lpf_if,
                                        pf_lines_if)
                                    if_out = lpf_if
                            elif st_if[a] != ep_if:
                                st_if[a] = ep_if
                                cnt_if += 1
                                if P_if > 0 and cnt_if == E_if:
                                    nsh_if += 1
                                    lsh_if = cycle
                                    b_if = D_if - 1
                                    ep_if += 1
                                    cnt_if = 0
                        if anyv:
                            lastv_if = tau
                    if anyv:
                        if first_if < 0:
                            first_if = if_out
                        last_if = if_out
                    # ---------------- filter ----------------
                    f_out = cycle + 1
                    if stat_f:
                        lo, hi = (0, AC - 1) if tau < AR else (1, 0)
                    else:
                        lo = max(0, tau - pre_f - T_f + 1)
                        hi = min(L_f - 1, tau - pre_f)
                    anyv = False
                    if skip_f:
                        anyv = tau == key_last_f[kf]
                    else:
                        for j in range(lo, hi + 1):
                            if df == 0:
                                k, n = tau - j, c * AC + j
                            elif df == 1:
                                k, n = r * AR + AR - 1 - tau, c * AC + j
                            else:
                                k, n = r * AR + j, tau - pre_f - j
                            if k >= K or n >= N:
                                continue
                            a = (g * N + n) * K + k
                            if rec_f:
                                rm_f[D_f] = row0 + tau - scope0_f
                                D_f += 1
                            anyv = True
                            if user:
                                if not _in_window(a, f_ptr, f_sets, ws_f, we_f):
                                    ws_f, we_f, acc_f, lpf_f = _miss(
                                        a, f_ptr, f_sets, ws_f, we_f, npf_f, nact_f, f_nl,
                                        acc_f, pf_lines_f * rd_bw, lpf_f, pf_lines_f)
                                    f_out = lpf_f
                            elif st_f[a] != ep_f:
                                st_f[a] = ep_f
                                cnt_f += 1
                                if P_f > 0 and cnt_f == E_f:
                                    nsh_f += 1
                                    lsh_f = cycle
                                    b_f = D_f - 1
                                    ep_f += 1
                                    cnt_f = 0
                        if anyv:
                            lastv_f = tau
                    if anyv:
                        if first_f < 0:
                            first_f = f_out
                        last_f = f_out
                    # ---------------- ofmap (write buffer) ----------------
                    if df == 0:
                        tp = tau - (K - 1)
                        lo = max(0, tp - AR + 1)
                        hi = min(cu - 1, tp - AR + ru)
                    else:
                        tp = tau - (2 * AR - 1)
                        lo = max(0, tp - T + 1)
                        hi = min(cu - 1, tp)
                    v = hi - lo + 1 if (tp >= 0 and hi >= lo) else 0
                    nv = v
                    (cur, free, drain_end, line_idx, nlines, npart, part_line, part_val, dsl,
                     ppos, of_acc, of_drained, of_dstart, of_dstop) = _write_row(
                        v, cycle, free, drain_end, line_idx, nlines, npart, part_line,
                        part_val, dsl, ppos, Aw, of_bw, Ld, of_acc, of_drained, of_dstart,
                        of_dstop)
                    of_out = cur
                    if nv > 0:
                        if first_of < 0:
                            first_of = of_out
                        last_of = of_out
                    st = max(if_out - cycle - 1, f_out - cycle - 1, of_out - cycle - 1)
                    stall += st
                # fold done: a slice walked without an epoch boundary is all hits next time
                if not user:
                    if nowalk_if and not edge_if:
                        pass
                    elif not skip_if:
                        key_last_if[kif] = lastv_if
                        key_ep_if[kif] = ep_if if ep_if == ep0_if else -1
                    if nowalk_f and not edge_f:
                        pass
                    elif not skip_f:
                        key_last_f[kf] = lastv_f
                        key_ep_f[kf] = ep_f if ep_f == ep0_f else -1
                row0 += rows_fold
    # drain what is left, back to back from the last row's service cycle
    of_acc, of_dstart, of_dstop = _drain_rest(of_out, line_idx, nlines, npart, part_line,
                                              part_val, dsl, Ld, of_bw, ppos, of_acc,
                                              of_drained, of_dstart, of_dstop)
    res[0] = of_out
    res[1] = stall
    res[2], res[3], res[4], res[5], res[6], res[7] = first_if, last_if, first_f, last_f, \
        first_of, last_of
    res[8], res[9], res[10] = of_acc, of_dstart, of_dstop
    if user:
        res[11], res[12], res[13] = acc_if, dstart_if, lpf_if
        res[14], res[15], res[16] = acc_f, dstart_f, lpf_f
    else:
        res[11], res[12], res[13], res[14] = nsh_if, lsh_if, cnt_if, first_if - 1
        res[15], res[16], res[17], res[18] = nsh_f, lsh_f, cnt_f, first_f - 1
    return res
