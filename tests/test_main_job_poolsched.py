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

from accelsim.engine.poolsched import demand as _demand_mod
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


def test_fused_first_touch_equals_the_numpy_path():
    rng = np.random.default_rng(14)
    r = random.Random(14)
    for _ in range(300):
        pool, _, _, batch = _random_case(r)
        pg = _pool_geom(pool, batch)
        V = pg.B * pg.Ho * pg.Wo * pg.c_tot
        # a random production order over a random subset of the pooled values (unmade ones
        # keep the max int, as in the engine)
        used = rng.random(V) < rng.uniform(0.2, 1.0)
        n = int(used.sum())
        iov = np.full(V, np.iinfo(np.int64).max, np.int64)
        iov[np.flatnonzero(used)] = rng.permutation(n)
        want, want_words = _first_touch_need(iov, n, pg)
        got, got_words = _first_touch_need_fused(iov, n, pg)
        assert got_words == want_words and got.dtype == want.dtype and (got == want).all()
