"""Operand address streams: the ifmap/filter word an array slot reads, per dataflow and fold
(SCALE-Sim's operand matrices, never materialized), and the folds that read any real word."""

from __future__ import annotations

import numpy as np
from numba import njit

DF_CODE = {"os": 0, "ws": 1, "is": 2}


# ---- address of one operand slot -------------------------------------------------------------
@njit(cache=True)
def _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    if m >= M or k >= K:
        return -1
    y = rb[m] + wr[k]
    x = cb[m] + wc[k]
    if y < 0 or y >= H or x < 0 or x >= W:
        return -1
    return pb[m] + wo[k] + g * goff


@njit(cache=True)
def _fa(k, n, g, N, K):
    if k >= K or n >= N:
        return -1
    return g * N * K + n * K + k


@njit(cache=True)
def _slot(df, ifmap, g, c, r, t, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Address of (time/row t, lane j) of an operand's fold block, -1 if idle or padding.
    Skewed streams: t = time step; stationary blocks: t = stored row (before SCALE-Sim's flip)."""
    if df == 0:
        if ifmap:
            return _ifa(r * AR + j, t, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
        return _fa(t, c * AC + j, g, N, K)
    if df == 1:
        if ifmap:
            return _ifa(t, r * AR + j, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
        return _fa(r * AR + t, c * AC + j, g, N, K)
    if ifmap:
        return _ifa(c * AC + j, r * AR + t, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
    return _fa(r * AR + j, t, g, N, K)


@njit(cache=True)
def _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Whether fold f (walk order) reads any real ifmap word."""
    if df == 0:
        T, L = K, AR
    elif df == 1:
        T, L = M, AR
    else:
        T, L = AR, AC
    g = f // (cf * rf)
    c = (f // rf) % cf
    r = f % rf
    for t in range(T):
        for j in range(L):
            if _slot(df, True, g, c, r, t, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo,
                     H, W, goff) >= 0:
                return True
    return False


@njit(cache=True)
def _ifmap_fold_span(df, G, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """[first, last] fold (in walk order) that reads any real ifmap word: a fold can be all
    padding (SCALE-Sim's extra ceil-rule pixel alone in the last row fold; with padding, an
    input-stationary fold whose window elements all fall outside the image)."""
    nf = G * cf * rf
    span = np.zeros(2, dtype=np.int64)
    for f in range(nf):
        if _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W,
                             goff):
            span[0] = f
            break
    for f in range(nf - 1, -1, -1):
        if _fold_reads_ifmap(f, df, rf, cf, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W,
                             goff):
            span[1] = f
            break
    return span


@njit(cache=True, inline="always")
def _lanes(df, ifmap, tau, AR, AC, M, N, K):
    """Lanes [lo, hi] of row tau of a fold (before validity), as the walk visits them."""
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
def _addr(df, ifmap, g, c, r, tau, j, AR, AC, M, N, K, rb, cb, pb, wr, wc, wo, H, W, goff):
    """Address read by lane j in row tau of fold (g, c, r), -1 if none (as in _walk_kernel)."""
    if ifmap:
        if df == 0:
            m, k = r * AR + j, tau - j
        elif df == 1:
            m, k = tau - AR - j, r * AR + j
        else:
            m, k = c * AC + j, r * AR + AR - 1 - tau
        if m >= M or k >= K:
            return -1
        y = rb[m] + wr[k]
        x = cb[m] + wc[k]
        if y < 0 or y >= H or x < 0 or x >= W:
            return -1
        return pb[m] + wo[k] + g * goff
    if df == 0:
        k, n = tau - j, c * AC + j
    elif df == 1:
        k, n = r * AR + AR - 1 - tau, c * AC + j
    else:
        k, n = r * AR + j, tau - AR - j
    if k >= K or n >= N:
        return -1
    return (g * N + n) * K + k


@njit(cache=True, inline="always")
def _lanes_in(df, ifmap, tau, c, r, AR, AC, M, N, K):
    """_lanes without the lanes past the last pixel / filter / window element of the fold."""
    lo, hi = _lanes(df, ifmap, tau, AR, AC, M, N, K)
    cu = min(AC, (N if df != 2 else M) - c * AC)
    ru = min(AR, (M if df == 0 else K) - r * AR)
    if (df == 2) == ifmap:
        return lo, min(hi, cu - 1)
    return lo, min(hi, ru - 1)
