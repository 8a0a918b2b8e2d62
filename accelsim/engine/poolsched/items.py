"""A fused pair's production sequence in one order, ready for the schedule: items, their
need'(i), last uses and first-use events, prepared once per (pair, array, order) and held under
a byte budget."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from accelsim.engine.memory import DF_CODE
from accelsim.workload.layer import Layer

from .demand import _demand, _events, _geometry, _scan_demand_order, _scan_fold
from .dtypes import _dtype_below
from .reads import (_first_touch_need, _first_touch_need_fused, _lookahead_words, _need_raster,
                    _pool_geom, _refold_need, _value_coords)
from .stream import _prepare_block, streams


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
    used: np.ndarray         # whether the array reads the item (bool: it takes a slot)
    ev_row: np.ndarray       # first-use events: rows ...
    ev_item: np.ndarray      # ... and the largest item first used there
    lr_sorted: np.ndarray    # last rows of the used items, sorted (the order slots free in)
    words: int               # read-sequence length
    values_used: int
    pooled: int
    reads: int               # the array's operand reads (served from the staging buffer)
    compute: int             # the conv's compute cycles (T - 1)
    lookahead: int

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.need, self.used, self.ev_row, self.ev_item,
                                      self.lr_sorted))


# a pair's items are a few arrays of its pooled values: keep the most recent pairs of batch 1
# up to a byte budget (ResNet-50's 22 distinct pairs fit), so a sweep over the pool unit
# prepares each once; a pair of a larger batch is kept only while it is the most recent
_ITEMS_BUDGET_BYTES = 160 << 20
_items_cache: "OrderedDict[tuple, _Items]" = OrderedDict()
_items_bytes = 0   # the held pairs' nbytes


def _dtypes(mp, rpf: int, pooled: int, items: int, input_words: int, words: int):
    """(item, row, need) dtypes of a pair: items and events index the items (at most the
    pooled values, or refold's repeats), rows lie below the conv's demand rows (folds x rows
    per fold), need' below the words read (at most the input's words, or refold's rereads)."""
    return (_dtype_below(max(pooled, items)), _dtype_below(mp.folds * rpf),
            _dtype_below(max(input_words, words)))


def _prepare(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
             order: str):
    """The pair's prepared production sequence (``_Items``, or its first block of samples,
    ``stream._Block``, where ``stream.streams``), from the byte-budgeted cache."""
    global _items_bytes
    key = (pool, conv, rows, cols, dataflow, batch, order)
    if not _items_cache:   # emptied from outside (clear_caches)
        _items_bytes = 0
    hit = _items_cache.pop(key, None)
    if hit is None:
        # the held pairs count against the budget while a new one is prepared (its own peak
        # comes on top): make room first for a pair of this map's size, 9 bytes a pooled
        # value at int32, so a large batch never holds the previous pair's arrays alongside
        # the next one's preparation
        c, h, w = conv.in_shape
        # past one sample a pair is held only while it is the most recent (what a buffer
        # search's bisection asks again): the schedule, not the preparation, is the cost
        # there (a streamed pair prepares one block of samples), and pairs held alongside
        # would make the memory grow with the batch up to the budget
        room = _ITEMS_BUDGET_BYTES - 9 * batch * c * h * w if batch == 1 else 0
        while _items_cache and _items_bytes > room:
            _items_bytes -= _items_cache.popitem(last=False)[1].nbytes
        hit = _prepare_items(*key)
        _items_bytes += hit.nbytes
    _items_cache[key] = hit
    # a running total: summing every held pair per call cost more than a cache hit saves
    while len(_items_cache) > 1 and (_items_bytes > _ITEMS_BUDGET_BYTES or batch > 1):
        _items_bytes -= _items_cache.popitem(last=False)[1].nbytes
    return hit


def _prepare_items(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str, batch: int,
                   order: str) -> _Items:
    if streams(conv, rows, cols, dataflow, order, batch):
        return _prepare_block(pool, conv, rows, cols, dataflow, batch)
    if order == "demand":
        return _prepare_demand(pool, conv, rows, cols, dataflow, batch)
    return _prepare_generic(pool, conv, rows, cols, dataflow, batch, order)


def _prepare_generic(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str,
                     batch: int, order: str) -> _Items:
    """Any order's items in numpy passes (the demand order's reference: ``_prepare_demand``
    makes the same arrays faster)."""
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
    # the values alone are sorted, so any sort gives the same array; the stable one (radix or
    # timsort) is 3x faster than the default on these runs of ascending last rows
    lr_sorted = np.sort(last_row[last_row >= 0], kind="stable")
    item_t, row_t, need_t = _dtypes(mp, rpf, V, last_row.size, pg.B * pg.C * pg.H * pg.W,
                                    int(words))
    if batch > 1:
        # as the items cache: past batch 1 the conv's first/last uses (a pooled map's worth
        # each) are not held for the next pair
        _demand.cache_clear()
    return _Items(need.astype(need_t), last_row >= 0, ev_row.astype(row_t),
                  ev_item.astype(item_t), lr_sorted.astype(row_t), int(words), int(used.sum()),
                  V, int(reads), mp.folds * rpf - 1, _lookahead_words(pg, order))


def _prepare_demand(pool: Layer, conv: Layer, rows: int, cols: int, dataflow: str,
                    batch: int) -> _Items:
    """``_prepare_items`` for the demand order (the presets' order) in compiled passes: the
    demand matrix walked in time order gives the used values by first use, their last rows,
    the events and the items at once (no sort of first-use keys), then need' in one pass per
    axis. The same arrays as the generic path (a test compares them on random pairs)."""
    pg = _pool_geom(pool, batch)
    mp, ia, rpf, reads = _geometry(conv, rows, cols, dataflow, batch)
    V = ia.space
    n_rows = mp.folds * rpf        # every demand row lies below it
    item_t, row_t, need_t = _dtypes(mp, rpf, V, 0, pg.B * pg.C * pg.H * pg.W, 0)
    # each output allocated once in its final dtype (no int64 copy held beside it); events
    # are one per demand row at most
    big = np.iinfo(item_t).max
    item_of_value = np.full(V, big, item_t)
    last_row = np.empty(V, row_t)
    ev_row = np.empty(min(V, n_rows), row_t)
    ev_item = np.empty(min(V, n_rows), item_t)
    n, ne = _scan_demand_order(
        DF_CODE[dataflow], rows, cols, mp.M, mp.K, mp.groups, mp.row_folds, mp.col_folds, rpf,
        ia.row_base, ia.col_base, ia.pix_base, ia.win_row, ia.win_col, ia.win_off, ia.H, ia.W,
        ia.group_ifmap_offset, item_of_value, last_row, ev_row, ev_item, big,
        np.empty(0, np.int64))
    ev_row, ev_item = ev_row[:ne].copy(), ev_item[:ne].copy()
    if n < V:
        last_row = last_row[:n].copy()
    need, words = _first_touch_need_fused(item_of_value, n, pg, need_t)
    del item_of_value
    # every item is a used value, so every last row counts, and the last rows by item are
    # needed no more once sorted (sorted in place: no second array of them)
    last_row.sort(kind="stable")
    return _Items(need, np.ones(n, np.bool_), ev_row, ev_item, last_row, int(words), int(n), V,
                  int(reads), n_rows - 1, _lookahead_words(pg, "demand"))
