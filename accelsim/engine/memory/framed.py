"""The ifmap addressed in the image framed by its padding (calc_epochs' stored unit and
ws_epochs' offset tables)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .addresses import _window_extent


@njit(cache=True)
def _framed_layout(folds, im2col):
    """The ifmap addressed in the image framed by its padding: per pixel a base pbf[m] and per
    window element an offset wof[k] with pbf[m] + wof[k] one word of the framed image per
    (sample, framed row, framed column, channel), and per framed word whether it lies inside
    the image. A padding slot then has an address too (a frame word), and its validity is one
    table lookup instead of four bounds tests on the slot's row and column. ``ok`` False when
    the addressing does not decompose as operands.ifmap_addressing's (sample, row, column,
    channel); real words map one to one to framed words inside the image either way, which
    is what makes the two builds' previous occurrences identical."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    rb, cb, pb, wr, wc, wo, H, W, goff = im2col
    C = G * goff                               # channels of the image (all groups)
    R, S = _window_extent(im2col, K)
    y0, y1 = min(0, rb.min()), max(H, rb.max() + R)
    x0, x1 = min(0, cb.min()), max(W, cb.max() + S)
    HF, WF = y1 - y0, x1 - x0
    sample_words = H * W * C
    pbf = np.empty(M, dtype=np.int64)
    wof = np.empty(K, dtype=np.int64)
    ok = sample_words > 0
    samples = 1
    for m in range(M):
        rest = pb[m] - (rb[m] * W + cb[m]) * C
        b = rest // sample_words if ok else 0
        if rest != b * sample_words or b < 0:
            ok = False
        samples = max(samples, b + 1)
        pbf[m] = ((b * HF + rb[m] - y0) * WF + cb[m] - x0) * C
    for k in range(K):
        ch = wo[k] - (wr[k] * W + wc[k]) * C
        if ch < 0 or ch >= goff:
            ok = False
        wof[k] = (wr[k] * WF + wc[k]) * C + ch
    words = samples * HF * WF * C
    if not ok or words >= np.iinfo(np.int32).max:    # pp holds -1 - word as int32
        return False, pbf, wof, np.zeros(1, dtype=np.uint8)
    inside = np.zeros(words, dtype=np.uint8)
    for b in range(samples):
        for y in range(H):
            w0 = ((b * HF + y - y0) * WF - x0) * C
            inside[w0:w0 + W * C] = 1
    return True, pbf, wof, inside
