"""The array's demand on a fused pair's pooled map: the first and last use of every pooled value
(SCALE-Sim's ifmap demand matrix of the conv over the pooled map, in closed form), per layer or
per fold (refold), and the first-use events the schedule waits on."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from accelsim.engine.mapping import map_layer
# the conv's ifmap address of (pixel m, window element k) is the memory engine's
# (memory/addresses.py _ifa), written out in the scans' loops with the pixel's bases hoisted
from accelsim.engine.memory import DF_CODE
from accelsim.engine.operands import ifmap_addressing
from accelsim.engine.systolic import cycles_per_fold, sram_accesses
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer

from .dtypes import _dtype_below


@njit(cache=True, inline="always")
def _slot_row(df, m, k, AR, AC, rf, rpf):
    """(fold within the group, demand row in the fold, ifmap lane) of the slot that reads
    operand (pixel m, window element k), SCALE-Sim's ifmap demand matrix in closed form:
    os: lane m mod AR of row fold m // AR, skewed by the lane (row j + k); ws: lane k mod AR of
    row fold k // AR, streamed after the AR preload rows (row AR + j + m); is: lane m mod AC of
    column fold m // AC, stationary rows loaded last element first (row AR - 1 - k mod AR).
    os and ws read the same slots in every column fold; this is column fold 0's."""
    if df == 0:
        r = m // AR
        j = m - r * AR
        return r, j + k, j
    if df == 1:
        r = k // AR
        j = k - r * AR
        return r, AR + j + m, j
    c = m // AC
    r = k // AR
    return c * rf + r, AR - 1 - (k - r * AR), m - c * AC


@njit(cache=True)
def _scan_uses(df, AR, AC, M, K, G, rf, cf, rpf, rb, cb, pb, wr, wc, wo, H, W, goff, first,
               last):
    """Per pooled value (conv ifmap address), into ``first`` and ``last`` (filled with -1 by
    the caller, in dtypes that hold the keys and rows): its first use as key row*LW + lane and
    its last use row; -1 when never read. os and ws read every (pixel, window) pair once per
    column fold in the same rows, so column fold 0 holds each value's first use and the last
    column fold, (cf - 1) folds-of-rows later, its last; is reads each pair once."""
    LW = max(AR, AC)
    later = (cf - 1) * rf * rpf if df != 2 else 0
    for g in range(G):
        gbase = g * cf * rf
        for m in range(M):
            # memory/addresses.py's _ifa with the pixel's bases hoisted: m < M and k < K hold
            # by the loops, and a call per (pixel, window) pair costs several times the
            # address itself (docs/memory.md, "Module map")
            ym, xm, am = rb[m], cb[m], pb[m] + g * goff
            for k in range(K):
                y, x = ym + wr[k], xm + wc[k]
                if y < 0 or y >= H or x < 0 or x >= W:
                    continue
                a = am + wo[k]
                f, tau, j = _slot_row(df, m, k, AR, AC, rf, rpf)
                t = (gbase + f) * rpf + tau
                key = t * LW + j
                if first[a] < 0 or key < first[a]:
                    first[a] = key
                if t + later > last[a]:
                    last[a] = t + later
    return first, last


@njit(cache=True)
def _scan_fold(df, g, fold, AR, AC, M, K, rf, cf, rpf, rb, cb, pb, wr, wc, wo, H, W, goff,
               stamp, first, last, touched):
    """The values fold ``fold`` of group g reads (refold), with their first key and last row in
    the fold (stamped with the fold's global number); returns how many (listed in
    ``touched``). In os/ws only column fold 0's folds are asked for (the others repeat them)."""
    LW = max(AR, AC)
    if df == 2:
        c, r = fold // rf, fold % rf
        m0, m1, k0, k1 = c * AC, min(M, c * AC + AC), r * AR, min(K, r * AR + AR)
    elif df == 0:
        r = fold
        m0, m1, k0, k1 = r * AR, min(M, r * AR + AR), 0, K
    else:
        r = fold
        m0, m1, k0, k1 = 0, M, r * AR, min(K, r * AR + AR)
    fstamp = g * cf * rf + fold
    base = fstamp * rpf
    nt = 0
    for m in range(m0, m1):
        ym, xm, am = rb[m], cb[m], pb[m] + g * goff      # as _scan_uses
        for k in range(k0, k1):
            y, x = ym + wr[k], xm + wc[k]
            if y < 0 or y >= H or x < 0 or x >= W:
                continue
            a = am + wo[k]
            _, tau, j = _slot_row(df, m, k, AR, AC, rf, rpf)
            t = base + tau
            key = t * LW + j
            if stamp[a] != fstamp:
                stamp[a] = fstamp
                first[a] = key
                last[a] = t
                touched[nt] = a
                nt += 1
            else:
                if key < first[a]:
                    first[a] = key
                if t > last[a]:
                    last[a] = t
    return nt



def _fold_geometry(conv: Layer, rows: int, cols: int, dataflow: str, batch: int):
    """The conv's mapping, rows per fold and ifmap operand reads on an array of ``rows`` x
    ``cols``."""
    mp = map_layer(conv, Arch("", rows, cols, dataflow, 1, 1, 1), batch)
    return mp, cycles_per_fold(mp), sram_accesses(mp)[0]


def _geometry(conv: Layer, rows: int, cols: int, dataflow: str, batch: int):
    """``_fold_geometry`` with the conv's ifmap addressing (what the scans read): (mapping,
    addressing, rows per fold, ifmap operand reads)."""
    mp, rpf, reads = _fold_geometry(conv, rows, cols, dataflow, batch)
    return mp, ifmap_addressing(conv, batch), rpf, reads


# first/last use of every pooled value of a conv on one array: two arrays of its pooled map,
# read only while a pair's items are prepared (``items._prepare`` keeps what the schedule needs;
# refold reads it right after; ``items._prepare_generic`` drops it past batch 1)
@lru_cache(maxsize=1)
def _demand(conv: Layer, rows: int, cols: int, dataflow: str, batch: int):
    """The conv's demand as first/last uses per pooled value (cached: every order, buffer and
    unit of a design sweep shares it), each in int32 where its bound allows."""

    mp, ia, rpf, reads = _geometry(conv, rows, cols, dataflow, batch)
    df = DF_CODE[dataflow]
    n_rows = mp.folds * rpf
    first = np.full(ia.space, -1, _dtype_below(n_rows * max(rows, cols)))
    last = np.full(ia.space, -1, _dtype_below(n_rows))
    _scan_uses(df, rows, cols, mp.M, mp.K, mp.groups, mp.row_folds, mp.col_folds, rpf,
               ia.row_base, ia.col_base, ia.pix_base, ia.win_row, ia.win_col, ia.win_off, ia.H,
               ia.W, ia.group_ifmap_offset, first, last)
    return mp, ia, rpf, first, last, reads



@njit(cache=True)
def _scan_demand_order(df, AR, AC, M, K, G, rf, cf, rpf, rb, cb, pb, wr, wc, wo, H, W, goff,
                       item_of_value, last_row, ev_row, ev_item, big, item_key):
    """The demand order's items straight from the demand matrix walked in time order (rows,
    then lanes: the order of SCALE-Sim's first-use keys row*LW + lane), each value taken at
    its first read: the used values' last rows by item, the first-use events (per row holding
    first uses, its largest item: the last of the row's run) and the item of every pooled
    value (``big`` for an unused one). The slots are ``_scan_uses``'s, by the inverse of
    ``_slot_row`` (os: lane j of row fold r is pixel r*AR + j, window element tau - j; ws:
    window element r*AR + j, pixel tau - AR - j; is: pixel c*AC + j of column fold c, the one
    window element r*AR + AR - 1 - tau of the row), so no sort of the keys is needed; os and ws
    walk column fold 0 and add the later folds' rows to the last uses. Equal to sorting
    ``_scan_uses``'s keys (tests/test_main_job_poolsched.py compares them).

    The caller allocates the outputs (``item_of_value`` filled with ``big``; ``last_row`` of
    one slot per pooled value, ``ev_row``/``ev_item`` of one per demand row at most) in the
    narrowest dtype their bounds allow, so the batch's pooled map is held once, at 4 bytes a
    value where it fits; returns (items, events) filled. ``item_key``, when not empty,
    receives each item's first-use key row*LW + lane (the streamed schedule merges samples by
    it); empty event arrays: no events (the streamed path finds them as it merges)."""
    later = (cf - 1) * rf * rpf if df != 2 else 0
    LW = max(AR, AC)
    keyed = item_key.shape[0] > 0
    evented = ev_row.shape[0] > 0
    n = 0
    ne = 0
    nf = rf if df != 2 else rf * cf
    for g in range(G):
        gb = g * goff
        for f in range(nf):
            t0 = (g * cf * rf + f) * rpf
            m0 = 0
            k0 = 0
            r = 0
            if df == 0:
                m0 = f * AR
                nl = min(AR, M - m0)
                tau_lo, tau_hi = 0, nl - 1 + K - 1
            elif df == 1:
                k0 = f * AR
                nl = min(AR, K - k0)
                tau_lo, tau_hi = AR, AR + nl - 1 + M - 1
            else:
                c = f // rf
                r = f - c * rf
                m0 = c * AC
                nl = min(AC, M - m0)
                tau_lo, tau_hi = AR - min(AR, K - r * AR), AR - 1
            if nl <= 0:
                continue   # a fold past the pixels scanned (the streamed path scans a block)
            for tau in range(tau_lo, tau_hi + 1):
                t = t0 + tau
                if df == 0:
                    jlo, jhi = max(0, tau - (K - 1)), min(nl - 1, tau)
                elif df == 1:
                    jlo, jhi = max(0, tau - AR - (M - 1)), min(nl - 1, tau - AR)
                else:
                    jlo, jhi = 0, nl - 1
                for j in range(jlo, jhi + 1):
                    if df == 0:
                        m, k = m0 + j, tau - j
                    elif df == 1:
                        m, k = tau - AR - j, k0 + j
                    else:
                        m, k = m0 + j, r * AR + (AR - 1 - tau)
                    y, x = rb[m] + wr[k], cb[m] + wc[k]
                    if y < 0 or y >= H or x < 0 or x >= W:
                        continue
                    a = pb[m] + gb + wo[k]
                    it = item_of_value[a]
                    if it == big:
                        it = n
                        item_of_value[a] = n
                        if not evented:
                            pass
                        elif ne > 0 and ev_row[ne - 1] == t:
                            ev_item[ne - 1] = n
                        else:
                            ev_row[ne] = t
                            ev_item[ne] = n
                            ne += 1
                        if keyed:
                            item_key[n] = t * LW + j
                        n += 1
                    last_row[it] = t + later   # rows ascend: the last write is the last use
    return n, ne


def _events(first_row: np.ndarray, item: np.ndarray):
    """First-use events: per demand row holding first uses, the largest item first used there."""
    if first_row.size > 1 and (first_row[1:] >= first_row[:-1]).all():
        # the demand order makes items by first use, so its rows come sorted: a stable sort
        # would return them as they are (the check costs a tenth of the sort)
        rows, items = first_row, item
    else:
        o = np.argsort(first_row, kind="stable")
        rows, items = first_row[o], item[o]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    return rows[starts].astype(np.int64), np.maximum.reduceat(items, starts).astype(np.int64)
