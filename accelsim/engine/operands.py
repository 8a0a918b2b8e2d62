"""The im2col address structure of a conv/linear layer, as separable per-row/per-column vectors.

SCALE-Sim's operand matrices (NOTES section 3.1) are an M x K matrix of ifmap addresses, a K x N
matrix of filter addresses and an M x N matrix of ofmap addresses. They are never built here:
an ifmap address is a sum of a term that depends only on the output pixel m and a term that
depends only on the window element k, and it is valid (a real word in DRAM) when the window
element falls inside the image. So the whole matrix is described by six vectors of length M or K:

    y = row_base[m] + win_row[k],  x = col_base[m] + win_col[k]
    valid  <=>  0 <= y < H and 0 <= x < W
    address = pix_base[m] + win_off[k]           (NHWC order, channel fastest, as SCALE-Sim)

Padded positions (layer.padding, and SCALE-Sim's implicit bottom/right padding when its ceil
rule makes the ofmap one pixel larger) are not real addresses: they are never read from SRAM
or DRAM. Batch: sample b's pixels come after sample b-1's (m = b*E*F + pixel), its ifmap
words after sample b-1's. Groups: group g reads channels [g*C/g, (g+1)*C/g) of the same ifmap
and its own block of filters; its addresses are those of group 0 plus ``group_ifmap_offset*g``
(ifmap) or ``group_filter_offset*g`` (filter).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from accelsim.workload.layer import Layer, gemm_dims


@dataclass(frozen=True)
class IfmapAddressing:
    H: int
    W: int
    row_base: np.ndarray     # (M,) top row of the window in the unpadded image (may be < 0)
    col_base: np.ndarray     # (M,)
    pix_base: np.ndarray     # (M,) address of (row_base, col_base, channel 0) incl. sample offset
    win_row: np.ndarray      # (K,) r
    win_col: np.ndarray      # (K,) s
    win_off: np.ndarray      # (K,) (r*W + s)*C + c
    group_ifmap_offset: int  # channels per group
    space: int               # ifmap words of the whole batch (address range)


def ifmap_addressing(layer: Layer, batch: int = 1) -> IfmapAddressing:
    return _addressing(*_shape_key(layer), batch)


def _shape_key(layer: Layer) -> tuple:
    """The fields of ``layer`` its addressing depends on."""
    return layer.in_shape, layer.out_shape, layer.kernel, layer.stride, layer.padding, layer.groups


def _addressing(in_shape, out_shape, kernel, stride, padding, groups, batch) -> IfmapAddressing:
    C, H, W = in_shape
    _, E, F = out_shape
    cg = C // groups
    row_base, col_base, pix_base, r, s, win_off = _im2col_vectors(
        C, H, W, E, F, *kernel, *stride, *padding, cg, batch)
    return IfmapAddressing(H, W, row_base, col_base, pix_base, r, s, win_off, cg,
                           batch * H * W * C)


# a design search evaluates the same layers on many arrays: the memory engine takes each
# layer's vectors from a memo (~8 us a build, ~1 us a hit). Only layers of at most
# _MEMO_PIXELS output pixels (x batch) are kept, so a large batch does not pin its pixel
# vectors: at most 64 x 3 x 2**15 int64 words (48 MiB), a ResNet-50 at batch 1 ~2 MiB.
# Keyed by the shape, not the Layer: equal layers are often distinct objects (one nameless
# copy per name), and a Layer compares field by field in Python.
_MEMO_PIXELS = 2 ** 15
_addressing_memo = lru_cache(maxsize=64)(_addressing)


def ifmap_addressing_memo(layer: Layer, batch: int = 1) -> IfmapAddressing:
    """``ifmap_addressing``, memoized for layers of at most _MEMO_PIXELS pixels. The arrays are
    shared between callers: read them, never write them."""
    _, E, F = layer.out_shape
    if batch * E * F > _MEMO_PIXELS:
        return ifmap_addressing(layer, batch)
    return _addressing_memo(*_shape_key(layer), batch)


@njit(cache=True)
def _im2col_vectors(C, H, W, E, F, R, S, sh, sw, ph, pw, cg, batch):
    """The six vectors in one pass each (a design search builds them for every new layer:
    nine numpy calls cost ~30 us, a tenth of the Python around an exact evaluation)."""
    M, K = batch * E * F, R * S * cg
    row_base = np.empty(M, dtype=np.int64)
    col_base = np.empty(M, dtype=np.int64)
    pix_base = np.empty(M, dtype=np.int64)
    m = 0
    for b in range(batch):
        for oy in range(E):
            for ox in range(F):
                row_base[m] = oy * sh - ph
                col_base[m] = ox * sw - pw
                pix_base[m] = b * (H * W * C) + (row_base[m] * W + col_base[m]) * C
                m += 1
    win_row = np.empty(K, dtype=np.int64)
    win_col = np.empty(K, dtype=np.int64)
    win_off = np.empty(K, dtype=np.int64)
    k = 0
    for r in range(R):
        for s in range(S):
            for c in range(cg):
                win_row[k], win_col[k] = r, s
                win_off[k] = (r * W + s) * C + c
                k += 1
    return row_base, col_base, pix_base, win_row, win_col, win_off


def unique_ifmap_words(layer: Layer, batch: int = 1) -> int:
    """Distinct real ifmap words any window touches (rows covered x cols covered x C x batch)."""
    C, H, W = layer.in_shape
    _, E, F = layer.out_shape
    R, S = layer.kernel
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    return batch * C * _covered(E, sh, ph, R, H) * _covered(F, sw, pw, S, W)


@lru_cache(maxsize=4096)   # a few ints per entry; a design search asks the same axes again
def _covered(n_out: int, stride: int, pad: int, kern: int, size: int) -> int:
    """Image rows (or columns) of ``size`` that any of ``n_out`` windows of ``kern`` reads."""
    hit = np.zeros(size, dtype=bool)
    for r in range(kern):
        pos = np.arange(n_out) * stride - pad + r
        hit[pos[(pos >= 0) & (pos < size)]] = True
    return int(hit.sum())


def filter_space(layer: Layer) -> int:
    """Filter words of all groups (address range; bias is not part of the operand matrix)."""
    _, N, K, g = gemm_dims(layer)
    return g * N * K


__all__ = ["IfmapAddressing", "ifmap_addressing", "ifmap_addressing_memo", "unique_ifmap_words",
           "filter_space"]
