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
    C, H, W = layer.in_shape
    _, E, F = layer.out_shape
    R, S = layer.kernel
    sh, sw = layer.stride
    ph, pw = layer.padding
    g = layer.groups
    cg = C // g
    m = np.arange(batch * E * F, dtype=np.int64)
    b, pix = np.divmod(m, E * F)
    oy, ox = np.divmod(pix, F)
    row_base = oy * sh - ph
    col_base = ox * sw - pw
    pix_base = b * (H * W * C) + (row_base * W + col_base) * C
    k = np.arange(R * S * cg, dtype=np.int64)
    rs, c = np.divmod(k, cg)
    r, s = np.divmod(rs, S)
    win_off = (r * W + s) * C + c
    return IfmapAddressing(H, W, row_base, col_base, pix_base, r, s, win_off, cg,
                           batch * H * W * C)


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


__all__ = ["IfmapAddressing", "ifmap_addressing", "unique_ifmap_words", "filter_space"]
