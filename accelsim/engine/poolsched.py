"""A fused (sumpool, structured conv) pair at cycle level: the pool unit makes pooled values in its
production order, a finite staging buffer holds them until the array's last read, and the array
stalls whenever a demand row needs a value not yet made (docs/poolunit.md, "Cycle level").

The model is a max-plus system of earliest times, solved in one pass over items and demand rows
(never cycle by cycle):

- reader, word j of the order's read sequence: r_j = max(r_{j-1}, r_{j-P} + 1, p_{q(j)} + 1),
  q(j) = the last item whose need lies more than the line-buffer lookahead LB behind word j;
- unit, item i: p_i = max(p_{i-1}, p_{i-lanes} + 1, r_{need'(i)}, a free staging slot);
- array, demand row t: a_t = max(a_{t-1} + 1, p_i + depth for the items first used in row t).

Only rows holding a value's *first* use can wait (later reads find it staged), so the array side
is a sorted list of first-use events, and a_t = t + (the largest lateness of an event up to t).
A used item holds a slot from its issue to the end of the cycle of its last use; slots free in
last-use order, which is static, so the held items are a window of the used items sorted by
last-use row. The buffer deadlocks when it
is full of items whose last use lies at or after a row that waits for an item not yet made.

The array's demand is SCALE-Sim's ifmap demand matrix of the conv over the pooled map, the same
rows and lanes the systolic and memory engines count (``_slot_row`` gives them in closed form;
tests/test_poolsched.py checks them against SCALE-Sim's own demand matrices).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numba import njit

from ..arch import Arch
from ..errors import require
from ..mapping import map_layer
from ..workload import Layer
# the conv's ifmap address of (pixel m, window element k), -1 in the padding: the memory
# engine's formula (one place)
from .memory import DF_CODE, _ifa
from .operands import ifmap_addressing
from .systolic import cycles_per_fold, sram_accesses

_NONE = -1


@dataclass(frozen=True)
class PairSchedule:
    """The cycle-level outcome of one fused pair (all counts for the whole batch)."""

    order: str                   # production order simulated
    deadlock: bool               # the staging buffer deadlocked (fused_cycles is then -1)
    compute_cycles: int          # the conv's stall-free cycles, SCALE-Sim's count (T - 1)
    fused_cycles: int            # cycle of the last demand row (= compute_cycles if never late)
    array_wait_cycles: int       # cycles the array stalled on the unit
    staging_peak_words: int      # most pooled values staged at once
    items_made: int              # pooled values made (refold: made again per fold)
    items_staged: int            # made values the array reads (each enters the staging buffer)
    values_used: int             # distinct pooled values the array reads
    pooled_values: int           # all pooled values of the batch
    input_words_read: int        # words the unit reads from ifmap SRAM
    staging_reads: int           # operand reads the array serves from the staging buffer
    first_demand_row: int        # first demand row that reads a pooled value


# ---- the array's demand: first and last use of every pooled value ---------------------------
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
def _scan_uses(df, AR, AC, M, K, G, rf, cf, rpf, rb, cb, pb, wr, wc, wo, H, W, goff, space):
    """Per pooled value (conv ifmap address): its first use as key row*LW + lane and its last
    use row; -1 when never read. os and ws read every (pixel, window) pair once per column fold
    in the same rows, so column fold 0 holds each value's first use and the last column fold,
    (cf - 1) folds-of-rows later, its last; is reads each pair once."""
    LW = max(AR, AC)
    first = np.full(space, -1, np.int64)
    last = np.full(space, -1, np.int64)
    later = (cf - 1) * rf * rpf if df != 2 else 0
    for g in range(G):
        gbase = g * cf * rf
        for m in range(M):
            for k in range(K):
                a = _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
                if a < 0:
                    continue
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
        for k in range(k0, k1):
            a = _ifa(m, k, g, M, K, rb, cb, pb, wr, wc, wo, H, W, goff)
            if a < 0:
                continue
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


# ---- the unit's input: which words each item needs, and the read sequence ------------------
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


@njit(cache=True)
def _sliding_min(a, n_out, shift, w):
    """out[:, o] = min(a[:, o+shift .. o+shift+w-1] clipped to the row), per row (monotone
    deque, O(n) per row)."""
    rows, n = a.shape
    out = np.empty((rows, n_out), a.dtype)
    dq = np.empty(n + 1, np.int64)
    for ri in range(rows):
        head = 0
        tail = 0
        nxt = 0
        for o in range(n_out):
            lo = max(0, o + shift)
            hi = min(n - 1, o + shift + w - 1)
            while nxt <= hi:
                while tail > head and a[ri, dq[tail - 1]] >= a[ri, nxt]:
                    tail -= 1
                dq[tail] = nxt
                tail += 1
                nxt += 1
            while tail > head and dq[head] < lo:
                head += 1
            out[ri, o] = a[ri, dq[head]] if tail > head and lo <= hi else np.iinfo(np.int64).max
    return out


def _axis_min(a: np.ndarray, axis: int, n_out: int, shift: int, w: int) -> np.ndarray:
    moved = np.ascontiguousarray(np.moveaxis(a, axis, -1))
    flat = _sliding_min(moved.reshape(-1, moved.shape[-1]), n_out, shift, w)
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


# ---- the coupled schedule --------------------------------------------------------------------
@njit(cache=True)
def _schedule(need, last_row, ev_row, ev_item, lr_sorted, ev_k_sorted, lb, ports, lanes, depth,
              slots):
    """Solve the recurrences of the module docstring. ``need``: need'(i) per item (-1: none);
    ``last_row``: last use per item (-1: unused); events (row, max item first used there) sorted
    by row; ``lr_sorted``/``ev_k_sorted``: the used items' last rows in ascending order and the
    last event at or before each; ``slots`` < 0: unbounded. Returns (deadlock, p, ev_off,
    events scheduled).

    Slots free in last-row order, and a held item never waits behind one not yet made: when a
    slot is freed at last row lr, every row <= lr is scheduled, and an item not yet made is
    first read after them. So the items to free are the static ascending list of last rows,
    walked by one pointer (no heap)."""
    n_items = need.shape[0]
    n_ev = ev_row.shape[0]
    p = np.zeros(n_items, np.int64)
    ev_off = np.zeros(n_ev, np.int64)
    staged = 0       # used items issued
    sp = 0           # used items freed (a prefix of lr_sorted)
    e = 0
    off = 0
    prev_p = 0
    # the reader as (cycle of its last read, words read in that cycle): with r monotone,
    # r_j >= r_{j-P} + 1 binds only when the last P words share a cycle. Words between two
    # changes of q(j) (the item the lookahead waits for) are read in one step.
    j = 0            # next word to read
    cc = 0
    used = 0
    q = -1
    for i in range(n_items):
        # demand rows whose first-use items are all made
        while e < n_ev and ev_item[e] < i:
            late = p[ev_item[e]] + depth - ev_row[e]
            if late > off:
                off = late
            ev_off[e] = off
            e += 1
        t = prev_p
        if i >= lanes and p[i - lanes] + 1 > t:
            t = p[i - lanes] + 1
        target = need[i]
        while j <= target:
            while q + 1 < i and need[q + 1] < j - lb:
                q += 1
            seg_end = target
            if q + 1 < i and need[q + 1] + lb < seg_end:
                seg_end = need[q + 1] + lb
            if q >= 0 and p[q] + 1 > cc:
                cc = p[q] + 1
                used = 0
            total = used + seg_end - j + 1
            cc += (total - 1) // ports
            used = (total - 1) % ports + 1
            j = seg_end + 1
        if target >= 0 and cc > t:
            t = cc
        if last_row[i] >= 0:
            if slots >= 0:
                while staged - sp >= slots:
                    lr = lr_sorted[sp]
                    if e < n_ev and ev_row[e] <= lr:
                        return True, p, ev_off, e   # its last use waits for this item: deadlock
                    k = ev_k_sorted[sp]
                    free = lr + (ev_off[k] if k >= 0 else 0) + 1
                    if free > t:
                        t = free
                    sp += 1
            staged += 1
        p[i] = t
        prev_p = t
    while e < n_ev:
        late = p[ev_item[e]] + depth - ev_row[e]
        if late > off:
            off = late
        ev_off[e] = off
        e += 1
    return False, p, ev_off, e


@njit(cache=True)
def _peak(p, last_row, lr_sorted, ev_k_sorted, ev_off):
    """Most used items staged at once: at each cycle's last issue, issued so far minus freed by
    then. An item frees the cycle after its last use, a_t + 1 = t + the lateness of the last
    event at or before t + 1; a_t rises with t, so frees come in last-row order, which
    ``_prepare`` sorted once (with each last row's event index)."""
    n = lr_sorted.shape[0]
    best = 0
    f = 0
    issued = 0
    prev = -1
    for i in range(last_row.shape[0]):
        if last_row[i] < 0:
            continue
        t = p[i]
        if t != prev and issued > 0:
            while f < n and lr_sorted[f] + (ev_off[ev_k_sorted[f]] if ev_k_sorted[f] >= 0
                                            else 0) + 1 <= prev:
                f += 1
            if issued - f > best:
                best = issued - f
        issued += 1
        prev = t
    if issued > 0:
        while f < n and lr_sorted[f] + (ev_off[ev_k_sorted[f]] if ev_k_sorted[f] >= 0
                                        else 0) + 1 <= prev:
            f += 1
        if issued - f > best:
            best = issued - f
    return best


def _events(first_row: np.ndarray, item: np.ndarray):
    """First-use events: per demand row holding first uses, the largest item first used there."""
    o = np.argsort(first_row, kind="stable")
    rows, items = first_row[o], item[o]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    return rows[starts].astype(np.int64), np.maximum.reduceat(items, starts).astype(np.int64)


def _lookahead_words(pg: _PoolGeom, order: str) -> int:
    """Line-buffer lookahead of the reader (docs/poolunit.md): bh input rows of all channels, or
    for channel planes (nchw) bc-1 planes plus bh rows."""
    if order == "nchw":
        return (pg.bc - 1) * pg.H * pg.W + pg.bh * pg.W
    return pg.bh * pg.W * pg.C


def cosim_pair(pool: Layer, conv: Layer, arch: Arch, batch: int = 1,
               order: str | None = None, staging_words: int | None | str = "arch"
               ) -> PairSchedule:
    """The fused pair (``pool`` feeding ``conv``) on ``arch`` at cycle level. ``order`` and
    ``staging_words`` override the arch's pool unit (the co-design search and the fallbacks use
    them); None words = an unbounded buffer."""
    require(arch.pool is not None, "architecture has no pool unit", source=arch.source or
            arch.name, field="pool", value=None)
    require(pool.op == "sumpool" and conv.is_gemm and conv.in_shape == pool.out_shape,
            "not a (sumpool, conv) pair", source=f"layer '{conv.name}'", field="in_shape",
            value=conv.in_shape)
    order = order or arch.pool.order
    if staging_words == "arch":
        staging_words = arch.pool.staging_words(arch.word_bits)
    from .poolunit import pipeline_depth
    return _cosim(replace(pool, name=""), replace(conv, name=""), arch.rows, arch.cols,
                  arch.dataflow, batch, order, staging_words, arch.pool.lanes,
                  arch.pool.input_words_per_cycle, pipeline_depth(pool, arch))


# first/last use of every pooled value of a conv on one array: two arrays of its pooled map,
# read only while a pair's items are prepared (``_prepare`` keeps what the schedule needs; refold
# reads it right after)
@lru_cache(maxsize=1)
def _demand(conv: Layer, rows: int, cols: int, dataflow: str, batch: int):
    """The conv's demand as first/last uses per pooled value (cached: every order, buffer and
    unit of a design sweep shares it)."""
    arch = Arch("", rows, cols, dataflow, 1, 1, 1)
    mp = map_layer(conv, arch, batch)
    ia = ifmap_addressing(conv, batch)
    rpf = cycles_per_fold(mp)
    df = DF_CODE[dataflow]
    first, last = _scan_uses(df, rows, cols, mp.M, mp.K, mp.groups, mp.row_folds,
                             mp.col_folds, rpf, ia.row_base, ia.col_base, ia.pix_base,
                             ia.win_row, ia.win_col, ia.win_off, ia.H, ia.W,
                             ia.group_ifmap_offset, ia.space)
    return mp, ia, rpf, first, last, sram_accesses(mp)[0]


def _refold_items(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int):
    """Items of the refold order (per fold, its values by first use in the fold), their first
    and last rows, need' and the words read. In os and ws every column fold repeats column fold
    0's reads (rows later by whole column folds), so one pass of row folds per group is scanned
    and its items, rows and read sequence are repeated cf times (a pass reads the same words)."""
    mp, ia, rpf, _, _, _ = _demand(conv, rows, cols, dataflow, batch)
    pg = _pool_geom(pool, batch)
    pg_arr = np.array([pg.B, pg.C, pg.H, pg.W, pg.ph, pg.pw, pg.bh, pg.bw, pg.bc, pg.G,
                       pg.cpg, pg.c_tot, pg.Ho, pg.Wo], np.int64)
    df = DF_CODE[dataflow]
    LW = max(rows, cols)
    rf, cf = mp.row_folds, mp.col_folds
    stamp = np.full(ia.space, -1, np.int64)
    wstamp = np.full(pg.B * pg.C * pg.H * pg.W, -1, np.int64)
    first = np.zeros(ia.space, np.int64)
    last = np.zeros(ia.space, np.int64)
    touched = np.empty(ia.space, np.int64)
    vals, firsts, lasts, needs = [], [], [], []
    n_items = 0
    words = 0
    scanned = rf * cf if df == 2 else rf     # folds scanned per group
    repeats = 1 if df == 2 else cf
    for g in range(mp.groups):
        pv, pf, pl, starts, ids = [], [], [], [], []
        n = 0
        for fold in range(scanned):
            nt = _scan_fold(df, g, fold, rows, cols, mp.M, mp.K, rf, cf, rpf, ia.row_base,
                            ia.col_base, ia.pix_base, ia.win_row, ia.win_col, ia.win_off, ia.H,
                            ia.W, ia.group_ifmap_offset, stamp, first, last, touched)
            v = touched[:nt].copy()
            v = v[np.argsort(first[v], kind="stable")]
            starts.append(n)
            ids.append(g * cf * rf + fold)
            pv.append(v)
            pf.append(first[v] // LW)
            pl.append(last[v])
            n += nt
        v = np.concatenate(pv) if pv else np.zeros(0, np.int64)
        need, w = _refold_need(v, np.array(starts, np.int64), np.array(ids, np.int64), pg_arr,
                               wstamp)
        fr = np.concatenate(pf) if pf else np.zeros(0, np.int64)
        lr = np.concatenate(pl) if pl else np.zeros(0, np.int64)
        for c in range(repeats):
            shift = c * rf * rpf
            vals.append(v)
            firsts.append(fr + shift)
            lasts.append(lr + shift)
            needs.append(np.where(need >= 0, need + words, -1))
            words += w
        n_items += repeats * n
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    need = cat(needs)
    return cat(vals), cat(firsts), cat(lasts), np.maximum.accumulate(need) if need.size \
        else need, words


@dataclass(frozen=True)
class _Items:
    """A pair's production sequence in one order, ready for ``_schedule``: it depends on the
    conv's demand, the array geometry and the order, never on lanes, ports, depth or buffer, so
    a design sweep over the unit prepares it once."""

    need: np.ndarray         # need'(i) per item
    last_row: np.ndarray     # last use per item (-1: unused)
    ev_row: np.ndarray       # first-use events: rows ...
    ev_item: np.ndarray      # ... and the largest item first used there
    lr_sorted: np.ndarray    # last rows of the used items, sorted (the order slots free in)
    ev_k_sorted: np.ndarray  # the last event at or before each of them (-1: none)
    words: int               # read-sequence length
    values_used: int
    pooled: int
    reads: int               # the array's operand reads (served from the staging buffer)
    compute: int             # the conv's compute cycles (T - 1)
    lookahead: int

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.need, self.last_row, self.ev_row, self.ev_item,
                                      self.lr_sorted, self.ev_k_sorted))


# a pair's items are a few arrays of its pooled values: keep the most recent pairs up to a byte
# budget (ResNet-50's 22 distinct pairs at batch 1 fit), so a sweep over the pool unit prepares
# each once, and a large batch keeps memory bounded instead of holding every pair
_ITEMS_BUDGET_BYTES = 160 << 20
_items_cache: "OrderedDict[tuple, _Items]" = OrderedDict()


def clear_caches() -> None:
    """Forget every prepared pair and cached schedule (benchmarks start cold)."""
    _items_cache.clear()
    _demand.cache_clear()
    _cosim.cache_clear()


def _narrow(a: np.ndarray) -> np.ndarray:
    """int32 when every value fits (halves the memory a prepared pair holds), else int64."""
    if a.size == 0 or (a.min() >= -(1 << 31) and a.max() < (1 << 31)):
        return np.ascontiguousarray(a, np.int32)
    return np.ascontiguousarray(a, np.int64)


def _prepare(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
             order: str) -> _Items:
    key = (pool, conv, rows, cols, dataflow, batch, order)
    hit = _items_cache.pop(key, None)
    if hit is None:
        hit = _prepare_items(*key)
    _items_cache[key] = hit
    total = sum(it.nbytes for it in _items_cache.values())
    while total > _ITEMS_BUDGET_BYTES and len(_items_cache) > 1:
        total -= _items_cache.popitem(last=False)[1].nbytes
    return hit


def _prepare_items(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
                   order: str) -> _Items:
    pg = _pool_geom(pool, batch)
    mp, ia, rpf, first, last, reads = _demand(conv, rows, cols, dataflow, batch)
    LW = max(rows, cols)
    V = ia.space
    used = first >= 0
    if order == "refold":
        values, first_row, last_row, need, words = _refold_items(pool, conv, rows, cols,
                                                                 dataflow, batch)
    else:
        if order == "nhwc":
            values = np.arange(V, dtype=np.int64)
        elif order == "nchw":
            b, y, x, ch = _value_coords(np.arange(V, dtype=np.int64), pg)
            key = ((b * pg.c_tot + ch) * pg.Ho + y) * pg.Wo + x
            values = np.argsort(key, kind="stable").astype(np.int64)
        else:  # demand: every used value once, by (first-use row, lane)
            uv = np.flatnonzero(used)
            values = uv[np.argsort(first[uv], kind="stable")].astype(np.int64)
        if order == "demand":
            item_of_value = np.full(V, np.iinfo(np.int64).max, np.int64)
            item_of_value[values] = np.arange(values.size, dtype=np.int64)
            need, words = _first_touch_need(item_of_value, values.size, pg)
        else:
            need = np.maximum.accumulate(_need_raster(values, pg, order)) if values.size else \
                np.zeros(0, np.int64)
            words = pg.B * pg.C * pg.H * pg.W
        fv = first[values]
        first_row = np.where(fv >= 0, fv // LW, -1)
        last_row = last[values]
    item = np.arange(last_row.size, dtype=np.int64)
    sel = first_row >= 0
    ev_row, ev_item = _events(first_row[sel], item[sel]) if sel.any() else (
        np.zeros(0, np.int64), np.zeros(0, np.int64))
    lr_sorted = np.sort(last_row[last_row >= 0])
    ev_k = np.searchsorted(ev_row, lr_sorted, side="right") - 1
    return _Items(_narrow(need), _narrow(last_row), _narrow(ev_row), _narrow(ev_item),
                  _narrow(lr_sorted), _narrow(ev_k), int(words), int(used.sum()), V, int(reads),
                  mp.folds * rpf - 1, _lookahead_words(pg, order))


@lru_cache(maxsize=16384)
def _cosim(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
           order: str, staging_words: int | None, lanes: int, ports: int,
           depth: int) -> PairSchedule:
    it = _prepare(pool, conv, rows, cols, dataflow, batch, order)
    slots = -1 if staging_words is None else int(staging_words)
    dead, p, ev_off, _ = _schedule(it.need, it.last_row, it.ev_row, it.ev_item, it.lr_sorted,
                                   it.ev_k_sorted, it.lookahead, ports, lanes, depth, slots)
    common = dict(order=order, compute_cycles=it.compute, items_made=int(it.need.size),
                  items_staged=int((it.last_row >= 0).sum()), values_used=it.values_used,
                  pooled_values=it.pooled, input_words_read=it.words, staging_reads=it.reads,
                  first_demand_row=int(it.ev_row[0]) if it.ev_row.size else -1)
    if dead:
        return PairSchedule(deadlock=True, fused_cycles=-1, array_wait_cycles=-1,
                            staging_peak_words=int(slots), **common)
    wait = int(ev_off[-1]) if ev_off.size else 0
    return PairSchedule(deadlock=False, fused_cycles=it.compute + wait, array_wait_cycles=wait,
                        staging_peak_words=int(_peak(p, it.last_row, it.lr_sorted,
                                                     it.ev_k_sorted, ev_off)),
                        **common)


def staging_min_words(pool: Layer, conv: Layer, arch: Arch, batch: int = 1,
                      order: str | None = None, tolerance: float = 0.01) -> int:
    """The smallest staging buffer (words) whose cycles are within ``tolerance`` of the unbounded
    buffer's, by bisection (cycles never rise as the buffer grows; a deadlock counts as
    infinitely slow). The unbounded run's peak always qualifies."""
    unb = cosim_pair(pool, conv, arch, batch, order, None)
    limit = unb.fused_cycles * (1 + tolerance)
    lo, hi = 0, max(1, unb.staging_peak_words)     # lo fails (0 words), hi qualifies
    while hi - lo > 1:
        mid = (lo + hi) // 2
        s = cosim_pair(pool, conv, arch, batch, order, mid)
        if not s.deadlock and s.fused_cycles <= limit:
            hi = mid
        else:
            lo = mid
    return hi


__all__ = ["PairSchedule", "cosim_pair", "staging_min_words"]
