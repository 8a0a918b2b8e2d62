"""The fused pair at a batch with memory bounded by a few samples (docs/poolunit.md, "Limit"):
the demand order prepared for one block of samples and streamed.

Why one block describes the batch. Every dataflow's demand rows repeat with the output pixel m
(including the sample) at a fixed period once the pixel shift is a whole number of the folds
that walk the pixels:
- ws: a row fold streams every pixel through row AR + lane + m, so sample b reads sample 0's
  slots E*F rows later in the same lanes (a block is one sample);
- os: row fold r holds pixels r*AR .. r*AR + AR - 1 on the lanes, so s samples later, with
  s*E*F a multiple of AR (s = AR / gcd(E*F, AR)), the same slots come s*E*F/AR row folds of
  rows per fold later (a block is s samples);
- is: likewise with column folds of AC pixels, s*E*F/AC column folds of rf*rows per fold.
So block copy b's values have first-use keys (row*LW + lane) of block 0's plus b times a key
shift, last rows plus b times a row shift, and, since a pool window never spans two samples,
touch first the same input words (the first toucher of a word is the covering value with the
smallest key, and the shift keeps the order within a sample). The batch's production sequence
is the merge of the copies by key (rows of neighbouring samples interleave where a row's lanes
straddle a sample boundary), and the order slots free in is the merge of the copies' sorted
last rows; a last, partial copy skips the samples past the batch. Both merges run as heaps of
one cursor per copy while the recurrences of ``schedule._schedule`` are solved item by item,
with their state carried in rings: the issue cycles and need' from the reader's lookahead item
q (or item i - lanes) on, the lateness only where it rises (a step function of the row, read by
the slot frees), and the last rows between the peak's free pointer and the schedule's. Nothing
of the batch's size is allocated; a block is at most AR (os) or AC (is) samples, and those of
small maps (s > 1 needs E*F not a multiple of the array side).

Pairs whose batch is one block or less keep the prepared arrays of ``items``
(tests/test_poolsched_batch.py compares the two paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np
from numba import njit

from accelsim.engine.memory import DF_CODE
from accelsim.workload.layer import Layer

from .demand import _fold_geometry, _geometry, _scan_demand_order
from .dtypes import _dtype_below
from .reads import _first_touch_need_fused, _lookahead_words, _pool_geom


@dataclass(frozen=True)
class _Block:
    """The first block of samples of a demand-order pair, in the batch's fold geometry: its
    items' first-use keys (ascending) and need' within the block, its items' last rows
    (ascending), each entry's sample within the block, and the shifts that make copy b of it."""

    key: np.ndarray          # int64 first-use key row*LW + lane per item, ascending
    need: np.ndarray         # need'(i) within the block (words first touched by items <= i) - 1
    key_sample: np.ndarray   # the sample within the block of each item (empty: no partial copy)
    lr_sorted: np.ndarray    # last rows of the block's items, ascending
    lr_sample: np.ndarray    # ... and their samples within the block (likewise)
    samples: int             # samples a block holds (s)
    batch: int
    items: int               # items of the batch
    key_shift: int           # key of copy b = block 0's + b * key_shift
    row_shift: int           # rows likewise
    lanes_wide: int          # LW = max(rows, cols): key // LW is the row
    words: int               # input words the batch reads
    pooled: int              # pooled values of the batch
    reads: int               # the array's operand reads of the batch
    compute: int             # the conv's compute cycles (T - 1) at the batch
    lookahead: int

    @property
    def copies(self) -> int:
        return -(-self.batch // self.samples)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.key, self.need, self.key_sample, self.lr_sorted,
                                      self.lr_sample))


def block_samples(conv: Layer, rows: int, cols: int, dataflow: str) -> int:
    """Samples in a block: the fewest whose pixels fill whole pixel folds (ws: 1)."""
    _, E, F = conv.out_shape
    side = {"ws": 1, "os": rows, "is": cols}[dataflow]
    return side // gcd(E * F, side)


def streams(conv: Layer, rows: int, cols: int, dataflow: str, order: str, batch: int) -> bool:
    """Whether the pair runs streamed: the demand order (the presets' order) over more than one
    block of samples."""
    return order == "demand" and batch > block_samples(conv, rows, cols, dataflow)


def _prepare_block(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str,
                   batch: int) -> _Block:
    """The first block's items by the demand matrix walked in time order over its pixels only,
    with the batch's folds and rows per fold (``items._prepare_demand`` on a block's
    arrays)."""

    s = block_samples(conv, rows, cols, dataflow)
    mp, rpf, reads = _fold_geometry(conv, rows, cols, dataflow, batch)
    _, ia0, _, _ = _geometry(conv, rows, cols, dataflow, s)
    pg0 = _pool_geom(pool, s)
    block_values = ia0.space
    pixels = ia0.pix_base.size
    # as the prepared path: each array in the narrowest dtype its bound allows (items below
    # the block's values, rows below the batch's demand rows, need' below the block's words)
    item_t, row_t = _dtype_below(block_values), _dtype_below(mp.folds * rpf)
    big = np.iinfo(item_t).max
    item_of_value = np.full(block_values, big, item_t)
    last_row = np.empty(block_values, row_t)
    no_events = np.zeros(0, np.int64)
    key = np.empty(block_values, np.int64)
    n, _ = _scan_demand_order(
        DF_CODE[dataflow], rows, cols, pixels, mp.K, mp.groups, mp.row_folds,
        mp.col_folds, rpf, ia0.row_base, ia0.col_base, ia0.pix_base, ia0.win_row, ia0.win_col,
        ia0.win_off, ia0.H, ia0.W, ia0.group_ifmap_offset, item_of_value, last_row, no_events,
        no_events, big, key)
    key = key[:n].copy()
    need, words = _first_touch_need_fused(item_of_value, n, pg0,
                                          _dtype_below(pg0.B * pg0.C * pg0.H * pg0.W))
    last_row = last_row[:n]
    if batch % s:
        # a partial last copy skips the samples past the batch: each entry's sample, and the
        # last rows sorted with theirs (packed as row * s + sample: ties in the row free
        # alike, so their order is free)
        values = np.flatnonzero(item_of_value != big)
        key_sample = np.empty(n, np.int32)
        key_sample[item_of_value[values]] = values // (block_values // s)
        del values, item_of_value
        packed = last_row.astype(np.int64) * s + key_sample
        packed.sort()
        lr = (packed // s).astype(row_t)
        lr_sample = (packed % s).astype(np.int32)
        del packed
    else:
        del item_of_value
        key_sample = lr_sample = np.zeros(0, np.int32)
        lr = last_row.copy()
        lr.sort(kind="stable")
    del last_row
    LW = max(rows, cols)
    if dataflow == "ws":
        row_shift = pixels
    elif dataflow == "os":
        row_shift = pixels // rows * rpf
    else:
        row_shift = pixels // cols * mp.row_folds * rpf
    # every sample reads the same words and makes the same items (the geometry repeats)
    assert n % s == 0 and words % s == 0
    pooled = batch * (block_values // s)
    return _Block(key, need, key_sample, lr, lr_sample, s, batch, n // s * batch,
                  row_shift * LW, row_shift, LW, words // s * batch, pooled, int(reads),
                  mp.folds * rpf - 1, _lookahead_words(pg0, "demand"))


# ---- the merges: a binary min-heap of (key, copy) over the copies' cursors --------------------
@njit(cache=True, inline="always")
def _sift_down(hk, hb, n, i):
    while True:
        c = 2 * i + 1
        if c >= n:
            return
        if c + 1 < n and hk[c + 1] < hk[c]:
            c += 1
        if hk[i] <= hk[c]:
            return
        hk[i], hk[c] = hk[c], hk[i]
        hb[i], hb[c] = hb[c], hb[i]
        i = c


@njit(cache=True, inline="always")
def _skip(smp, x, b, last, last_lim):
    """The first entry at or after x that copy b holds (copy ``last``, a partial one, only
    the samples below last_lim; -1: none is partial)."""
    if b == last:
        while x < smp.shape[0] and smp[x] >= last_lim:
            x += 1
    return x


@njit(cache=True)
def _heap_init(vals, smp, shift, copies, last, last_lim, hk, hb, cur):
    """Every copy's cursor on its first entry (copy b's = block 0's + b * shift: ascending in
    b, so already a heap); returns the heap size."""
    n = 0
    for b in range(copies):
        x = _skip(smp, 0, b, last, last_lim)
        if x < vals.shape[0]:
            hk[n] = vals[x] + b * shift
            hb[n] = b
            cur[b] = x
            n += 1
    return n


@njit(cache=True, inline="always")
def _heap_next(vals, smp, shift, last, last_lim, hk, hb, cur, n):
    """Advance the top copy's cursor past its entry; returns the new heap size."""
    b = hb[0]
    x = _skip(smp, cur[b] + 1, b, last, last_lim)
    cur[b] = x
    if x < vals.shape[0]:
        hk[0] = vals[x] + b * shift
    else:
        n -= 1
        hk[0], hb[0] = hk[n], hb[n]
    _sift_down(hk, hb, n, 0)
    return n




# ---- rings with absolute indices (capacity a power of two) -------------------------------------
# numba keeps an array that a loop may rebind alive by reference counts on every access (~0.1 us
# an item here), so the kernel never rebinds one: it returns when a ring is full, and the driver
# doubles the ring and resumes it from its state
@njit(cache=True)
def _grow(ring, lo, hi):
    """``ring`` holding indices [lo, hi) at index & (size - 1), copied into twice the size."""
    out = np.empty(2 * ring.shape[0], ring.dtype)
    m_old, m_new = ring.shape[0] - 1, out.shape[0] - 1
    for x in range(lo, hi):
        out[x & m_new] = ring[x & m_old]
    return out


@njit(cache=True, inline="always")
def _late_at(lr, bp_row, bp_off, kf, bp_n):
    """The array's lateness at row ``lr`` (the running maximum up to the last first-use event
    at or before it; 0 before any rise): ``kf``, the last rise found for an earlier row, only
    moves forward. Returns (lateness, kf)."""
    m = bp_row.shape[0] - 1
    while kf + 1 < bp_n and bp_row[(kf + 1) & m] <= lr:
        kf += 1
    return (bp_off[kf & m] if kf >= 0 else 0), kf


# the kernel's carried state, one int64 each (st[...])
(_I, _IHN, _LHN, _LR_GEN, _BP_N, _OFF, _OPEN_ROW, _FIRST_ROW, _WORDS, _STAGED, _SP, _KF_S, _F,
 _KF_P, _BEST, _PREV_P, _J, _CC, _USED, _Q, _P_LO, _BP_LO, _N_STATE) = range(23)

_DONE, _GROW_P, _GROW_BP, _DEAD, _LR_FULL = 0, 1, 2, 3, 4


@njit(cache=True)
def _run(key0, need0, ksmp, lr0, lsmp, N, last, last_lim, key_shift, row_shift, LW, lb,
         ports, lanes, depth, slots, st, ihk, ihb, icur, lhk, lhb, lcur, lr_ring, p_ring,
         n_ring, bp_row, bp_off):
    """``schedule._schedule`` and ``schedule._peak`` on the batch made of the first block's
    shifted copies (module docstring; N items; copy ``last`` partial, -1 none), from the state
    ``st`` on, until the end (_DONE), a deadlock (_DEAD), or a ring too small for the next item
    (_GROW_P, _GROW_BP: ``st`` holds the state before that item and the ring's live range;
    _LR_FULL: the last rows between the two free pointers outgrew their ring, which their bound
    rules out: the caller falls back).

    Item i's events and frees follow the prepared path's: the event of a row closes when the
    next item lies in a later row (its largest item is i - 1, which the prepared path processes
    at item i); the first event not processed is always the open one, the row of item i. A
    free at last row lr reads the lateness there, known once every event at or before lr is
    closed: the schedule frees only below the open row (else deadlock, as the prepared path
    decides), and the peak stops at the open row, since an item whose last row reaches it
    frees after item i issues (a_lr >= p_i + depth > the cycle it is asked about)."""
    i, ihn, lhn, lr_gen, bp_n = st[_I], st[_IHN], st[_LHN], st[_LR_GEN], st[_BP_N]
    off, open_row, first_row, words_seen = st[_OFF], st[_OPEN_ROW], st[_FIRST_ROW], st[_WORDS]
    staged, sp, kf_s, f, kf_p, best = st[_STAGED], st[_SP], st[_KF_S], st[_F], st[_KF_P], \
        st[_BEST]
    prev_p, j, cc, used, q = st[_PREV_P], st[_J], st[_CC], st[_USED], st[_Q]
    pm = p_ring.shape[0] - 1
    bm = bp_row.shape[0] - 1
    lm = lr_ring.shape[0] - 1
    status = _DONE
    while i < N:
        # the rings must hold items [lo, i] (q, item 0 while q = -1, the new item, and every
        # item from i - lanes on: a later item's lanes term reads it unless that item lies
        # past the last) and the rises the free pointers may still read, plus one
        lo = q if q > 0 else 0
        if lanes < N and i - lanes < lo:
            lo = i - lanes if i > lanes else 0
        bp_lo = kf_p if slots < 0 or kf_p < kf_s else kf_s
        if bp_lo < 0:
            bp_lo = 0
        if i - lo >= p_ring.shape[0]:
            st[_P_LO] = lo
            status = _GROW_P
            break
        if bp_n - bp_lo + 2 > bp_row.shape[0]:     # this item's rise and the last one
            st[_BP_LO] = bp_lo
            status = _GROW_BP
            break
        b = ihb[0]
        x = icur[b]
        row = ihk[0] // LW
        words_seen += need0[x] - (need0[x - 1] if x > 0 else -1)
        ihn = _heap_next(key0, ksmp, key_shift, last, last_lim, ihk, ihb, icur, ihn)
        target = words_seen - 1
        if i == 0:
            open_row = row
            first_row = row
        elif row != open_row:
            late = p_ring[(i - 1) & pm] + depth - open_row
            if late > off:
                off = late
                bp_row[bp_n & bm] = open_row
                bp_off[bp_n & bm] = off
                bp_n += 1
            open_row = row
        n_ring[i & pm] = target
        t = prev_p
        if i >= lanes and p_ring[(i - lanes) & pm] + 1 > t:
            t = p_ring[(i - lanes) & pm] + 1
        while j <= target:
            while q + 1 < i and n_ring[(q + 1) & pm] < j - lb:
                q += 1
            seg_end = target
            if q + 1 < i and n_ring[(q + 1) & pm] + lb < seg_end:
                seg_end = n_ring[(q + 1) & pm] + lb
            if q >= 0 and p_ring[q & pm] + 1 > cc:
                cc = p_ring[q & pm] + 1
                used = 0
            total = used + seg_end - j + 1
            cc += (total - 1) // ports
            used = (total - 1) % ports + 1
            j = seg_end + 1
        if target >= 0 and cc > t:
            t = cc
        if slots >= 0:
            while staged - sp >= slots:
                while lr_gen <= sp:
                    if lr_gen - f > lm:
                        return _LR_FULL
                    lr_ring[lr_gen & lm] = lhk[0]
                    lr_gen += 1
                    lhn = _heap_next(lr0, lsmp, row_shift, last, last_lim, lhk, lhb, lcur,
                                     lhn)
                lr = lr_ring[sp & lm]
                if open_row <= lr:
                    st[_FIRST_ROW] = first_row
                    return _DEAD      # its last use waits for item i
                late_lr, kf_s = _late_at(lr, bp_row, bp_off, kf_s, bp_n)
                if lr + late_lr + 1 > t:
                    t = lr + late_lr + 1
                sp += 1
        staged += 1
        # the peak: at each new issue cycle, the items issued minus those freed by the last
        if i > 0 and t != prev_p:
            while f < N:
                while lr_gen <= f:
                    if lr_gen - f > lm:
                        return _LR_FULL
                    lr_ring[lr_gen & lm] = lhk[0]
                    lr_gen += 1
                    lhn = _heap_next(lr0, lsmp, row_shift, last, last_lim, lhk, lhb, lcur,
                                     lhn)
                lr = lr_ring[f & lm]
                if lr >= open_row:
                    break
                late_lr, kf_p = _late_at(lr, bp_row, bp_off, kf_p, bp_n)
                if lr + late_lr + 1 > prev_p:
                    break
                f += 1
            if i - f > best:
                best = i - f
            # freed by an earlier cycle: the schedule frees them without a wait
            if sp < f:
                sp = f
            if kf_s < kf_p:
                kf_s = kf_p
        p_ring[i & pm] = t
        prev_p = t
        i += 1
    if status == _DONE and N > 0:
        late = p_ring[(N - 1) & pm] + depth - open_row
        if late > off:
            off = late
            bp_row[bp_n & bm] = open_row
            bp_off[bp_n & bm] = off
            bp_n += 1
        while f < N:
            while lr_gen <= f:
                if lr_gen - f > lm:
                    return _LR_FULL
                lr_ring[lr_gen & lm] = lhk[0]
                lr_gen += 1
                lhn = _heap_next(lr0, lsmp, row_shift, last, last_lim, lhk, lhb, lcur,
                                     lhn)
            lr = lr_ring[f & lm]
            late_lr, kf_p = _late_at(lr, bp_row, bp_off, kf_p, bp_n)
            if lr + late_lr + 1 > prev_p:
                break
            f += 1
        if N - f > best:
            best = N - f
    st[_I], st[_IHN], st[_LHN], st[_LR_GEN], st[_BP_N] = i, ihn, lhn, lr_gen, bp_n
    st[_OFF], st[_OPEN_ROW], st[_FIRST_ROW], st[_WORDS] = off, open_row, first_row, words_seen
    st[_STAGED], st[_SP], st[_KF_S], st[_F], st[_KF_P], st[_BEST] = staged, sp, kf_s, f, kf_p, \
        best
    st[_PREV_P], st[_J], st[_CC], st[_USED], st[_Q] = prev_p, j, cc, used, q
    return status


def _pow2_at_least(n: int) -> int:
    return 1 << max(1, int(n - 1).bit_length())


# the rings' first sizes (they double on request; tests start them at 2 to exercise that)
_P_RING_START = 1024
_BP_RING_START = 64


def schedule_streamed(blk: _Block, lb: int, ports: int, lanes: int, depth: int, slots: int):
    """(deadlock, wait cycles, peak staged items, first demand row or -1) of the batch made of
    the block's copies, or None when the last rows between the two free pointers outgrow their
    ring (bounded by the lanes: the caller then runs the prepared path). The rings start small
    and double on request."""
    copies = blk.copies
    last_lim = blk.batch - (copies - 1) * blk.samples
    last = copies - 1 if last_lim < blk.samples else -1
    n = blk.items
    st = np.zeros(_N_STATE, np.int64)
    st[_Q] = st[_KF_S] = st[_KF_P] = st[_OPEN_ROW] = st[_FIRST_ROW] = -1
    ihk, ihb, icur = (np.empty(copies, np.int64) for _ in range(3))
    lhk, lhb, lcur = (np.empty(copies, np.int64) for _ in range(3))
    st[_IHN] = _heap_init(blk.key, blk.key_sample, blk.key_shift, copies, last, last_lim, ihk,
                          ihb, icur)
    st[_LHN] = _heap_init(blk.lr_sorted, blk.lr_sample, blk.row_shift, copies, last, last_lim,
                          lhk, lhb, lcur)
    # the schedule frees at most one item an item (it held fewer than ``slots`` before), and
    # the peak's pointer passes every one of them but the last at the next new issue cycle,
    # which comes within ``lanes`` items: so at most lanes + 2 last rows lie between them
    lr_ring = np.empty(_pow2_at_least(min(lanes, n) + 8), np.int64)
    p_ring = np.empty(_pow2_at_least(_P_RING_START), np.int64)
    n_ring = np.empty(p_ring.size, np.int64)
    bp_row = np.empty(_pow2_at_least(_BP_RING_START), np.int64)
    bp_off = np.empty(bp_row.size, np.int64)
    while True:
        status = _run(blk.key, blk.need, blk.key_sample, blk.lr_sorted, blk.lr_sample, n,
                      last, last_lim, blk.key_shift, blk.row_shift, blk.lanes_wide, lb,
                      ports, lanes, depth, slots, st, ihk, ihb, icur, lhk, lhb, lcur, lr_ring,
                      p_ring, n_ring, bp_row, bp_off)
        if status == _GROW_P:
            lo, i = int(st[_P_LO]), int(st[_I])
            p_ring, n_ring = _grow(p_ring, lo, i), _grow(n_ring, lo, i)
        elif status == _GROW_BP:
            lo, hi = int(st[_BP_LO]), int(st[_BP_N])
            bp_row, bp_off = _grow(bp_row, lo, hi), _grow(bp_off, lo, hi)
        elif status == _LR_FULL:
            return None
        elif status == _DEAD:
            return True, 0, 0, int(st[_FIRST_ROW])
        else:
            return False, int(st[_OFF]), int(st[_BEST]), int(st[_FIRST_ROW])
