"""The pool unit's input side of a fused pair: which input words each pooled value (item) needs
before it can be made, in each production order's read sequence (raster NHWC / NCHW, first
touch for ``demand``, per fold for ``refold``), and the reader's line-buffer lookahead."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from accelsim.workload.layer import Layer


@dataclass(frozen=True)
class _PoolGeom:
    B: int
    C: int           # input channels
    H: int
    W: int
    ph: int
    pw: int
    bh: int
    bw: int
    bc: int
    G: int           # sumpool groups
    cpg: int         # pooled channels per group
    c_tot: int
    Ho: int
    Wo: int


def _pool_geom(pool: Layer, batch: int) -> _PoolGeom:
    C, H, W = pool.in_shape
    c_tot, Ho, Wo = pool.out_shape
    return _PoolGeom(batch, C, H, W, pool.padding[0], pool.padding[1], pool.kernel[0],
                     pool.kernel[1], pool.pool_channels, pool.groups, c_tot // pool.groups,
                     c_tot, Ho, Wo)


def _value_coords(v: np.ndarray, pg: _PoolGeom):
    """(b, y, x, ch) of pooled values by NHWC address."""
    b, rest = np.divmod(v, pg.Ho * pg.Wo * pg.c_tot)
    pix, ch = np.divmod(rest, pg.c_tot)
    y, x = np.divmod(pix, pg.Wo)
    return b, y, x, ch


def _window_last(v: np.ndarray, pg: _PoolGeom):
    """The last real input row, column and channel of each value's window, and whether the window
    holds any real word (a window entirely in the padding needs nothing)."""
    b, y, x, ch = _value_coords(v, pg)
    gi, k = np.divmod(ch, pg.cpg)
    y0, x0 = y - pg.ph, x - pg.pw
    y1 = np.minimum(pg.H - 1, y0 + pg.bh - 1)
    x1 = np.minimum(pg.W - 1, x0 + pg.bw - 1)
    real = (y1 >= np.maximum(y0, 0)) & (x1 >= np.maximum(x0, 0))
    c1 = gi * (pg.C // pg.G) + k + pg.bc - 1
    return b, y1, x1, c1, real


def _need_raster(values: np.ndarray, pg: _PoolGeom, order: str) -> np.ndarray:
    """need(i) of items in a raster read sequence (every input word once): the position of the
    window's last word, NHWC (b, y, x, c) or NCHW (b, c, y, x); -1 for an all-padding window."""
    b, y1, x1, c1, real = _window_last(values, pg)
    hwc = pg.H * pg.W * pg.C
    if order == "nhwc":
        pos = b * hwc + (y1 * pg.W + x1) * pg.C + c1
    else:
        pos = b * hwc + c1 * (pg.H * pg.W) + y1 * pg.W + x1
    return np.where(real, pos, -1)


def _axis_min(a: np.ndarray, axis: int, n_out: int, shift: int, w: int) -> np.ndarray:
    if w == 1:
        # a window of one (a structured conv whose n equals its kernel pools no rows or
        # columns): the minimum is the shifted value, the max int outside the axis
        n = a.shape[axis]
        out = np.full(a.shape[:axis] + (n_out,) + a.shape[axis + 1:], np.iinfo(np.int64).max,
                      a.dtype)
        lo, hi = max(0, -shift), min(n_out, n - shift)
        if hi > lo:
            src = [slice(None)] * a.ndim
            dst = [slice(None)] * a.ndim
            src[axis], dst[axis] = slice(lo + shift, hi + shift), slice(lo, hi)
            out[tuple(dst)] = a[tuple(src)]
        return out
    moved = np.ascontiguousarray(np.moveaxis(a, axis, -1))
    lines = int(np.prod(moved.shape[:-1]))
    flat = _channel_min(moved.ravel(), lines, moved.shape[-1], n_out, shift, w,
                        np.iinfo(np.int64).max)
    return np.moveaxis(flat.reshape(*moved.shape[:-1], n_out), -1, axis)


def _first_touch_need(item_of_value: np.ndarray, n_items: int, pg: _PoolGeom):
    """need'(i) for a first-touch read sequence (`demand`): word w is appended when the first
    item whose window holds it is made, so need'(i) = (words first touched by items <= i) - 1.
    An input word's first toucher is the minimum item index over the box of pooled values whose
    window covers it: a separable sliding-window minimum over channel, column and row."""
    big = np.iinfo(np.int64).max
    idx = item_of_value.reshape(pg.B, pg.Ho, pg.Wo, pg.G, pg.cpg)
    # channel: word channel cc (in its group) is covered by pooled channels cc-bc+1 .. cc
    t = _axis_min(idx, 4, pg.C // pg.G, -(pg.bc - 1), pg.bc)
    # column xx is covered by pooled columns xx+pw-bw+1 .. xx+pw; row likewise
    t = _axis_min(t, 2, pg.W, pg.pw - pg.bw + 1, pg.bw)
    t = _axis_min(t, 1, pg.H, pg.ph - pg.bh + 1, pg.bh)
    ft = t.ravel()
    ft = ft[ft != big]
    counts = np.bincount(ft, minlength=n_items)[:n_items]
    return np.cumsum(counts) - 1, int(ft.size)


@njit(cache=True)
def _channel_min(a, lines, n_in, n_out, shift, w, big):
    """out[line, o] = min(a[line, o+shift .. o+shift+w-1] clipped to the line), ``big`` where
    the window is empty: ``a`` is (lines, n_in) flattened, the result (lines, n_out) in ``a``'s
    dtype (a monotone deque per line, O(n) per line: channel windows reach 1,000 taps)."""
    out = np.empty(lines * n_out, a.dtype)
    dq = np.empty(n_in + 1, np.int64)
    for ln in range(lines):
        ib = ln * n_in
        ob = ln * n_out
        head = 0
        tail = 0
        nxt = 0
        for o in range(n_out):
            lo = max(0, o + shift)
            hi = min(n_in - 1, o + shift + w - 1)
            while nxt <= hi:
                while tail > head and a[ib + dq[tail - 1]] >= a[ib + nxt]:
                    tail -= 1
                dq[tail] = nxt
                tail += 1
                nxt += 1
            while tail > head and dq[head] < lo:
                head += 1
            out[ob + o] = a[ib + dq[head]] if tail > head and lo <= hi else big
    return out


@njit(cache=True)
def _outer_min(a, n_in, inner, n_out, shift, w, big):
    """The sliding minimum along an outer axis: ``a`` is (lines, n_in, inner) flattened, the
    result (lines, n_out, inner) in ``a``'s dtype; each output row is the elementwise minimum
    of the input rows of its clipped window (spatial windows are a few taps: no deque
    needed)."""
    lines = a.shape[0] // (n_in * inner)
    out = np.full(lines * n_out * inner, big, a.dtype)
    for ln in range(lines):
        for o in range(n_out):
            lo = max(0, o + shift)
            hi = min(n_in - 1, o + shift + w - 1)
            ob = (ln * n_out + o) * inner
            for x in range(lo, hi + 1):
                ib = (ln * n_in + x) * inner
                for c in range(inner):
                    if a[ib + c] < out[ob + c]:
                        out[ob + c] = a[ib + c]
    return out


@njit(cache=True)
def _outer_min_counts(a, n_in, inner, n_out, shift, w, big, counts):
    """``_outer_min`` with each output row counted into ``counts`` (per item, the words whose
    minimum it is) as soon as it is made, instead of the whole result held: the row pass's
    output is the input map, the largest array of the first-touch passes. Returns the words
    counted."""
    lines = a.shape[0] // (n_in * inner)
    row = np.empty(inner, a.dtype)
    words = 0
    for ln in range(lines):
        for o in range(n_out):
            lo = max(0, o + shift)
            hi = min(n_in - 1, o + shift + w - 1)
            row[:] = big
            for x in range(lo, hi + 1):
                ib = (ln * n_in + x) * inner
                for c in range(inner):
                    if a[ib + c] < row[c]:
                        row[c] = a[ib + c]
            for c in range(inner):
                if row[c] != big:
                    counts[row[c]] += 1
                    words += 1
    return words


@njit(cache=True)
def _first_touch_counts(item_of_value, B, Ho, Wo, G, cpg, cg, H, W, bc, bh, bw, ph, pw, big,
                        need):
    """need'(i) into ``need`` (zeros, one per item, in a dtype that holds the input's word
    count) from the first-touch counts (per item, how many input words it touches first: the
    minimum item over the box of pooled values whose window covers the word), by the separable
    minimum of ``_first_touch_need``: channel (a deque per line: channel windows reach 1,000
    taps), then column, then row (a few taps each), the row pass counted as it goes. Returns
    the words read. The minima keep ``item_of_value``'s dtype (``big``: an unused value).

    A pool window never spans two samples, so the passes run sample by sample: the channel and
    column minima are held for one sample at a time, not the batch."""
    per = Ho * Wo * G * cpg
    words = 0
    for b in range(B):
        a = item_of_value[b * per:(b + 1) * per]
        t1 = a
        if bc > 1 or cg != cpg:
            t1 = _channel_min(a, Ho * Wo * G, cpg, cg, -(bc - 1), bc, big)
        t2 = _outer_min(t1, Wo, G * cg, W, pw - bw + 1, bw, big)
        words += _outer_min_counts(t2, Ho, W * G * cg, H, ph - bh + 1, bh, big, need)
    # need'(i) = (words first touched by items <= i) - 1, summed in place
    run = 0
    for i in range(need.shape[0]):
        run += need[i]
        need[i] = run - 1
    return words


def _first_touch_need_fused(item_of_value: np.ndarray, n_items: int, pg: _PoolGeom,
                            need_dtype=np.int64):
    """``_first_touch_need`` in one compiled pass per axis (no axis moves, no copies between
    them, the input-sized row pass never held): the same need' (in ``need_dtype``, which must
    hold the input's word count) and word count (a test compares the two on random pairs).
    ``item_of_value`` is read in its own dtype, its max for an unused value."""
    need = np.zeros(n_items, need_dtype)
    words = _first_touch_counts(
        np.ascontiguousarray(item_of_value), pg.B, pg.Ho, pg.Wo, pg.G, pg.cpg, pg.C // pg.G,
        pg.H, pg.W, pg.bc, pg.bh, pg.bw, pg.ph, pg.pw, np.iinfo(item_of_value.dtype).max, need)
    return need, int(words)


@njit(cache=True)
def _refold_need(values, fold_first_item, fold_id, pg_arr, stamp_words):
    """need'(i) of refold items: per fold, each item appends the words of its window that the
    fold has not read yet (a stamp per input word: the fold's id). Returns need' and the words
    read."""
    B, C, H, W, ph, pw, bh, bw, bc, G, cpg, c_tot, Ho, Wo = pg_arr
    cg = C // G
    n = values.shape[0]
    need = np.empty(n, np.int64)
    pos = 0
    fold = 0
    best = -1
    for i in range(n):
        while fold + 1 < fold_first_item.shape[0] and fold_first_item[fold + 1] <= i:
            fold += 1
        v = values[i]
        b = v // (Ho * Wo * c_tot)
        rest = v - b * (Ho * Wo * c_tot)
        pix = rest // c_tot
        ch = rest - pix * c_tot
        y = pix // Wo
        x = pix - y * Wo
        gi = ch // cpg
        k = ch - gi * cpg
        for yy in range(max(0, y - ph), min(H, y - ph + bh)):
            for xx in range(max(0, x - pw), min(W, x - pw + bw)):
                w0 = b * (H * W * C) + (yy * W + xx) * C + gi * cg + k
                for cc in range(bc):
                    if stamp_words[w0 + cc] != fold_id[fold]:
                        stamp_words[w0 + cc] = fold_id[fold]
                        pos += 1
        if pos - 1 > best:
            best = pos - 1
        need[i] = best
    return need, pos


def _lookahead_words(pg: _PoolGeom, order: str) -> int:
    """Line-buffer lookahead of the reader (docs/poolunit.md): bh input rows of all channels, or
    for channel planes (nchw) bc-1 planes plus bh rows."""
    if order == "nchw":
        return (pg.bc - 1) * pg.H * pg.W + pg.bh * pg.W
    return pg.bh * pg.W * pg.C
