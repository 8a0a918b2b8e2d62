"""Operand address streams: the ifmap/filter word an array slot reads, per dataflow and fold
(SCALE-Sim's operand matrices, never materialized), and the folds that read any real word.

The kernels take the layer's geometry as two records (plain namedtuples, which numba passes
as structs): ``Folds``, the GEMM on the array, and ``Im2col``, the ifmap addressing of
engine/operands.py. Inside a kernel they are unpacked into the short names of the formulas:

    df, AR, AC, M, N, K, G, rf, cf = folds    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

DF_CODE = {"os": 0, "ws": 1, "is": 2}

# the GEMM on the array (all counts): ifmap operand M x K, filter operand K x N, per group
Folds = namedtuple("Folds", (
    "dataflow",        # df: DF_CODE (0 os, 1 ws, 2 is)
    "array_rows",      # AR: PE rows
    "array_cols",      # AC: PE columns
    "pixels",          # M: output pixels of one group, x batch
    "filters",         # N: filters (output channels) of one group
    "window",          # K: window elements of one group, R*S*C/groups
    "groups",          # G: GEMMs run one after another through the same buffers
    "row_folds",       # rf
    "col_folds",       # cf
))
# the ifmap word of (pixel m, window element k): pix_base[m] + win_off[k] + g * group_words,
# or none where row_base[m] + win_row[k], col_base[m] + win_col[k] falls outside the image
Im2col = namedtuple("Im2col", (
    "row_base",        # rb (M,): top row of pixel m's window (< 0 in the padding)
    "col_base",        # cb (M,): its left column
    "pix_base",        # pb (M,): word address of (row_base, col_base, channel 0), incl. sample
    "win_row",         # wr (K,): row offset r of window element k
    "win_col",         # wc (K,): column offset s
    "win_off",         # wo (K,): word offset (r*W + s)*C + channel
    "height",          # H: image rows (words)
    "width",           # W: image columns
    "group_words",     # goff: address offset between groups (channels per group)
))


def geometry(mp, ad, df: int) -> tuple[Folds, Im2col]:
    """The two records of a mapping ``mp`` (GemmMapping) and its IfmapAddressing ``ad``."""
    folds = Folds(df, mp.array_rows, mp.array_cols, mp.M, mp.N, mp.K, mp.groups,
                  mp.row_folds, mp.col_folds)
    return folds, Im2col(ad.row_base, ad.col_base, ad.pix_base, ad.win_row, ad.win_col,
                         ad.win_off, ad.H, ad.W, ad.group_ifmap_offset)


# ---- address of one operand slot -------------------------------------------------------------
# A call per slot in a hot loop costs 5-20x the address written out (measured: an array argument
# is reference-counted at every call, inlined or not), so the per-slot loops (walk.py _read_row,
# calc_epochs.py _build_unit) write it out from _slot_mk (scalars only).
# (the pool unit's demand scans, engine/poolsched/demand.py, write it out too, with the
# pixel's bases hoisted out of the window loop: 2.2x on the networks with fused pairs)
@njit(cache=True)
def _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    if m >= M or k >= K:
        return -1
    y = rb[m] + wr[k]
    x = cb[m] + wc[k]
    if y < 0 or y >= H or x < 0 or x >= W:
        return -1
    return pb[m] + wo[k] + g * goff


@njit(cache=True, inline="always")
def _fa(k, n, g, N, K):
    if k >= K or n >= N:
        return -1
    return g * N * K + n * K + k


@njit(cache=True, inline="always")
def _ifmap_word(im2col, m, k, g, M, K):
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    return _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)


@njit(cache=True, inline="always")
def _fold_rows(folds):
    """(T, rows per fold): the streamed operand's time steps and SCALE-Sim's demand rows."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if df == 0:
        return K, K + AR + AC - 2
    T = M if df == 1 else N
    return T, 2 * AR + AC + T - 2


@njit(cache=True, inline="always")
def _fold_extent(folds, c, r):
    """(columns, rows) of the array that fold (c, r) uses: the last folds may be partial."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    return min(AC, (N if df != 2 else M) - c * AC), min(AR, (M if df == 0 else K) - r * AR)


@njit(cache=True, inline="always")
def _ofmap_row_words(df, tau, cu, ru, AR, K, T):
    """Ofmap words row tau of a fold of cu x ru array columns x rows writes (its output skew)."""
    if df == 0:
        tp = tau - (K - 1)
        lo = max(0, tp - AR + 1)
        hi = min(cu - 1, tp - AR + ru)
    else:
        tp = tau - (2 * AR - 1)
        lo = max(0, tp - T + 1)
        hi = min(cu - 1, tp)
    return hi - lo + 1 if (tp >= 0 and hi >= lo) else 0


@njit(cache=True, inline="always")
def _fold_coords(folds, f):
    """(group, column fold, row fold) of fold f in walk order."""
    rf, cf = folds.row_folds, folds.col_folds
    return f // (cf * rf), (f // rf) % cf, f % rf


@njit(cache=True)
def _slot(folds, im2col, ifmap, g, c, r, t, j):
    """Address of (time/row t, lane j) of an operand's fold block, -1 if idle or padding.
    Skewed streams: t = time step; stationary blocks: t = stored row (before SCALE-Sim's flip)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if df == 0:
        if ifmap:
            return _ifmap_word(im2col, r * AR + j, t, g, M, K)
        return _fa(t, c * AC + j, g, N, K)
    if df == 1:
        if ifmap:
            return _ifmap_word(im2col, t, r * AR + j, g, M, K)
        return _fa(r * AR + t, c * AC + j, g, N, K)
    if ifmap:
        return _ifmap_word(im2col, c * AC + j, r * AR + t, g, M, K)
    return _fa(r * AR + j, t, g, N, K)


@njit(cache=True)
def _fold_reads_ifmap(folds, im2col, f):
    """Whether fold f (walk order) reads any real ifmap word. A slot's validity depends only on
    its pixel's window base and its element's (row, column) offset, which is constant over each
    run of ``goff`` channels (k = (r*S + s)*cg + channel, operands.py): test one element per
    run against the fold's pixels, not every slot (an all-padding fold of an os layer with a
    4,608-element window was 4,608 x AR slot tests)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    g, c, r = _fold_coords(folds, f)
    if df == 0:
        m0, m1, k0, k1 = r * AR, min(M, r * AR + AR), 0, K
    elif df == 1:
        m0, m1, k0, k1 = 0, M, r * AR, min(K, r * AR + AR)
    else:
        m0, m1, k0, k1 = c * AC, min(M, c * AC + AC), r * AR, min(K, r * AR + AR)
    k = k0
    while k < k1:
        for m in range(m0, m1):
            y = rb[m] + wr[k]
            x = cb[m] + wc[k]
            if 0 <= y < H and 0 <= x < W:
                return True
        k = (k // goff + 1) * goff
    return False


@njit(cache=True)
def _ifmap_fold_span(folds, im2col):
    """[first, last] fold (in walk order) that reads any real ifmap word: a fold can be all
    padding (SCALE-Sim's extra ceil-rule pixel alone in the last row fold; with padding, an
    input-stationary fold whose window elements all fall outside the image)."""
    nf = folds.groups * folds.col_folds * folds.row_folds
    span = np.zeros(2, dtype=np.int64)
    for f in range(nf):
        if _fold_reads_ifmap(folds, im2col, f):
            span[0] = f
            break
    for f in range(nf - 1, -1, -1):
        if _fold_reads_ifmap(folds, im2col, f):
            span[1] = f
            break
    return span


@njit(cache=True, inline="always")
def _window_extent(im2col, K):
    """(rows, columns) of the window offsets that K window elements use."""
    wr, wc = im2col[3], im2col[4]
    R = 0
    S = 0
    for k in range(K):
        R = max(R, wr[k] + 1)
        S = max(S, wc[k] + 1)
    return R, S


@njit(cache=True, inline="always")
def _offset_counts(im2col, m0, m1, R, S, cnt, pm):
    """Per window offset (r, s), how many of pixels m0 .. m1-1 it keeps inside the image; with a
    ``pm`` of more than m1 entries also pm[m + 1] = pm[m] + cnt summed over pixel m's inside
    offsets (the valid window elements per pixel, when cnt counts elements per offset)."""
    rb, cb, H, W = im2col[0], im2col[1], im2col[6], im2col[7]
    per_rs = np.zeros((R, S), dtype=np.int64)
    prefix = pm.shape[0] > m1
    for m in range(m0, m1):
        t = 0
        for r in range(R):
            y = rb[m] + r
            if y < 0 or y >= H:
                continue
            for s in range(S):
                x = cb[m] + s
                if x < 0 or x >= W:
                    continue
                t += cnt[r, s]
                per_rs[r, s] += 1
        if prefix:
            pm[m + 1] = pm[m] + t
    return per_rs


@njit(cache=True, inline="always")
def _lanes(folds, ifmap, tau):
    """Lanes [lo, hi] of row tau of a fold (before validity), as the walk visits them."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    if df == 0:
        if ifmap:
            return max(0, tau - K + 1), min(AR - 1, tau)
        return max(0, tau - K + 1), min(AC - 1, tau)
    if df == 1:
        if ifmap:
            return max(0, tau - AR - M + 1), min(AR - 1, tau - AR)
        return (0, AC - 1) if tau < AR else (1, 0)
    if ifmap:
        return (0, AC - 1) if tau < AR else (1, 0)
    return max(0, tau - AR - N + 1), min(AR - 1, tau - AR)


@njit(cache=True, inline="always")
def _slot_mk(df, ifmap, c, r, tau, j, AR, AC):
    """The (row, column) of the operand matrix that lane j of row tau of fold (c, r) reads:
    ifmap (pixel m, window element k), filter (window element k, filter n); may lie past its
    end (then no word)."""
    if ifmap:
        if df == 0:
            return r * AR + j, tau - j
        if df == 1:
            return tau - AR - j, r * AR + j
        return c * AC + j, r * AR + AR - 1 - tau
    if df == 0:
        return tau - j, c * AC + j
    if df == 1:
        return r * AR + AR - 1 - tau, c * AC + j
    return r * AR + j, tau - AR - j


@njit(cache=True, inline="always")
def _addr(folds, im2col, ifmap, g, c, r, tau, j):
    """Address read by lane j in row tau of fold (g, c, r), -1 if none (as in _walk_kernel)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    u, v = _slot_mk(df, ifmap, c, r, tau, j, AR, AC)
    if ifmap:
        rb, cb, pb, wr, wc, wo, H, W, goff = im2col
        return _ifa(u, v, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
    return _fa(u, v, g, N, K)


@njit(cache=True, inline="always")
def _lanes_in(folds, ifmap, tau, c, r):
    """_lanes without the lanes past the last pixel / filter / window element of the fold."""
    lo, hi = _lanes(folds, ifmap, tau)
    cu, ru = _fold_extent(folds, c, r)
    if (folds.dataflow == 2) == ifmap:
        return lo, min(hi, cu - 1)
    return lo, min(hi, ru - 1)
