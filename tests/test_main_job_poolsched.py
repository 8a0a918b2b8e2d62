"""The main job's pool-unit shortcuts (issue 14 item 5): the demand order's compiled item
preparation (poolsched.items._prepare_demand: the demand matrix walked in time order instead of
sorting first-use keys) and its fused first-touch need' give the very arrays of the numpy path
they replace (_prepare_generic, reads._first_touch_need), on random
pairs and on the shapes the shortcuts special-case (channel window of one, wide channel windows
over few pooled channels, all-padding windows, batch > 1, every dataflow). The numpy path itself
is checked against the brute-force reference in tests/test_poolsched.py."""

import random
import sys
from pathlib import Path

import numpy as np
import pytest

from accelsim.engine.poolsched import demand as _demand_mod
from accelsim.engine.poolsched import dtypes as _dtypes_mod
from accelsim.engine.poolsched import items as _items_mod
from accelsim.engine.poolsched.reads import (_first_touch_need, _first_touch_need_fused,
                                             _pool_geom)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_poolsched import _pair, _random_case  # noqa: E402


def _same_items(a, b):
    for f in a.__dataclass_fields__:
        x, y = getattr(a, f), getattr(b, f)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and (x == y).all(), f
        else:
            assert type(x) is type(y) and x == y, (f, x, y)


def _both(pool, conv, rows, cols, df, batch):
    _demand_mod._demand.cache_clear()
    ref = _items_mod._prepare_generic(pool, conv, rows, cols, df, batch, "demand")
    got = _items_mod._prepare_demand(pool, conv, rows, cols, df, batch)
    _same_items(ref, got)
    return got


def test_demand_items_equal_the_numpy_path_on_random_pairs():
    rng = random.Random(1403)
    seen = set()
    for _ in range(600):
        pool, conv, arch, batch = _random_case(rng)
        _both(pool, conv, arch.rows, arch.cols, arch.dataflow, batch)
        seen.add((arch.dataflow, pool.groups > 1, pool.pool_channels > 1, batch))
    assert len(seen) >= 20, sorted(seen)


def test_demand_items_on_wide_channel_windows_and_large_maps():
    # (C, H, W, N, k, s, p, g, c, n): bc = C/g - c + 1 channels per pooled value; c = 1 makes
    # the widest channel window, c = C/g a window of one (the copy shortcut)
    cases = [(64, 9, 9, 16, 3, 1, 1, 1, 1, 2), (64, 9, 9, 16, 3, 1, 1, 1, 64, 1),
             (48, 12, 10, 48, 3, 2, 1, 48, 1, 1), (96, 8, 8, 32, 3, 1, 0, 2, 5, 2),
             (17, 5, 7, 9, 1, 1, 0, 1, 3, 1), (8, 3, 3, 8, 3, 1, 1, 1, 2, 1)]
    for C, H, W, N, k, s, p, g, c, n in cases:
        pool, conv = _pair(C, H, W, N, k, s, p, g, c, n)
        for rows, cols, df in ((16, 16, "os"), (8, 32, "ws"), (32, 8, "is"), (3, 5, "ws")):
            for batch in (1, 2):
                _both(pool, conv, rows, cols, df, batch)


def _random_order(r, rng):
    """A random pair's pooled geometry and a random production order over a random subset of
    its pooled values (item_of_value; unmade ones keep the max int64, as in the engine)."""
    pool, _, _, batch = _random_case(r)
    pg = _pool_geom(pool, batch)
    V = pg.B * pg.Ho * pg.Wo * pg.c_tot
    used = rng.random(V) < rng.uniform(0.2, 1.0)
    n = int(used.sum())
    iov = np.full(V, np.iinfo(np.int64).max, np.int64)
    iov[np.flatnonzero(used)] = rng.permutation(n)
    return pg, used, n, iov


@pytest.mark.parametrize("dtype, seed, cases", [(np.int64, 14, 300), (np.int32, 15, 150)])
def test_fused_first_touch_equals_the_numpy_path(dtype, seed, cases):
    # the demand path reads item_of_value and writes need' in int64, or in int32 where the
    # bounds allow (the max int32 then marks an unmade value): the int64 numpy path's numbers
    rng = np.random.default_rng(seed)
    r = random.Random(seed)
    for _ in range(cases):
        pg, used, n, iov = _random_order(r, rng)
        want, want_words = _first_touch_need(iov, n, pg)
        if dtype is np.int32:
            iov32 = np.where(used, iov, np.iinfo(np.int32).max).astype(np.int32)
            got, got_words = _first_touch_need_fused(iov32, n, pg, np.int32)
        else:
            got, got_words = _first_touch_need_fused(iov, n, pg)
        assert got_words == want_words and got.dtype == dtype and (got == want).all()


def test_int64_fallback_gives_the_same_items_and_schedule(monkeypatch):
    # a pair's arrays are int32 when their bounds allow; with the limit forced below every
    # bound each falls back to int64 and both paths still agree, number for number
    from accelsim.engine.poolsched import _cosim, clear_caches
    rng = random.Random(1431)
    for _ in range(40):
        pool, conv, arch, batch = _random_case(rng)
        key = (arch.rows, arch.cols, arch.dataflow, batch)
        narrow = _both(pool, conv, *key)
        clear_caches()
        s32 = _cosim(pool, conv, *key, "demand", None, 2, 3, 4)
        monkeypatch.setattr(_dtypes_mod, "_INT32_LIMIT", 4)
        wide = _both(pool, conv, *key)
        clear_caches()
        s64 = _cosim(pool, conv, *key, "demand", None, 2, 3, 4)
        monkeypatch.undo()
        assert (wide.used == narrow.used).all()
        for f in ("need", "ev_row", "ev_item", "lr_sorted"):
            assert getattr(wide, f).dtype == np.int64, f
            assert (getattr(wide, f) == getattr(narrow, f)).all(), f
        assert narrow.need.dtype == np.int32 and narrow.lr_sorted.dtype == np.int32
        assert s32 == s64
        clear_caches()


def test_demand_rows_lie_below_the_row_bound():
    # the row dtype is chosen from folds x rows per fold: every last row and event lies below
    from accelsim.engine.poolsched.demand import _geometry
    rng = random.Random(1432)
    for _ in range(200):
        pool, conv, arch, batch = _random_case(rng)
        it = _items_mod._prepare_demand(pool, conv, arch.rows, arch.cols, arch.dataflow, batch)
        assert it.compute + 1 == _geometry(conv, arch.rows, arch.cols, arch.dataflow,
                                           batch)[0].folds * _geometry(
            conv, arch.rows, arch.cols, arch.dataflow, batch)[2]
        if it.lr_sorted.size:
            assert it.lr_sorted.max() <= it.compute and it.ev_row.max() <= it.compute
