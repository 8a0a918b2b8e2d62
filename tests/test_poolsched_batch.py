"""The pool unit's streamed schedule at batch > 1 (engine/poolsched/stream.py): a weight-
stationary demand-order pair prepared for sample 0 alone and run as B shifted copies merged by
first-use key gives the prepared path's PairSchedule field for field, and the plain per-cycle
reference's figures, on random layers at batch 2..5. The cases are drawn so that array rows
exceed a sample's output pixels (a demand row's lanes then straddle a sample boundary, so
samples interleave inside a fold), deadlocks, waits, finite and unbounded buffers, lanes of
one and unlimited, and the rings' growth (started at 2 entries) all occur."""

import random
import sys
from pathlib import Path

import pytest

import accelsim.engine.poolsched as poolsched
from accelsim.engine.poolsched import items as _items_mod
from accelsim.engine.poolsched import stream as _stream

sys.path.insert(0, str(Path(__file__).resolve().parent))
from poolref import simulate_pair  # noqa: E402
from test_poolsched import _arch, _mismatch, _pair, _words_kb  # noqa: E402


def _ws_case(rng, big_rows=40):
    g = rng.choice([1, 1, 2])
    C = g * rng.randint(1, 8)
    k, s, p = rng.randint(1, 3), rng.randint(1, 2), rng.randint(0, 1)
    H, W = rng.randint(max(1, k - 2 * p), 9), rng.randint(max(1, k - 2 * p), 9)
    N = g * rng.randint(1, 6)
    pool, conv = _pair(C, H, W, N, k, s, p, g, rng.randint(1, C // g), rng.randint(1, k))
    staging = None if rng.random() < 0.3 else rng.randint(1, 300)
    arch = _arch(rng.randint(1, big_rows), rng.randint(1, 12), "ws",
                 lanes=rng.choice([1, 2, 3, 8, 10 ** 6]), input_words_per_cycle=rng.randint(1, 9),
                 pipeline_depth=rng.randint(1, 5), order="demand",
                 staging_kb=_words_kb(staging), tree="separable")
    return pool, conv, arch, rng.randint(2, 5)


def _prepared(pool, conv, arch, batch, monkeypatch):
    """The pair through the prepared (whole-batch) path."""
    poolsched.clear_caches()
    with monkeypatch.context() as m:
        m.setattr(_items_mod, "streams", lambda *a: False)
        return poolsched.cosim_pair(pool, conv, arch, batch)


def _streamed(pool, conv, arch, batch, ran):
    poolsched.clear_caches()
    out = poolsched.cosim_pair(pool, conv, arch, batch)
    ran.append(isinstance(_items_mod._items_cache[next(iter(_items_mod._items_cache))],
                          _stream._Sample0))
    return out


def test_streamed_equals_the_prepared_path_on_random_ws_pairs(monkeypatch):
    monkeypatch.setattr(_stream, "_P_RING_START", 2)
    monkeypatch.setattr(_stream, "_BP_RING_START", 2)
    grown = []
    real_grow = _stream._grow
    monkeypatch.setattr(_stream, "_grow", lambda *a: grown.append(1) or real_grow(*a))
    rng = random.Random(1405)
    seen = {"dead": 0, "wait": 0, "straddle": 0, "unbounded": 0, "one lane": 0}
    ran = []
    for _ in range(1500):
        pool, conv, arch, batch = _ws_case(rng)
        want = _prepared(pool, conv, arch, batch, monkeypatch)
        got = _streamed(pool, conv, arch, batch, ran)
        assert got == want, (pool, conv, arch, batch)
        seen["dead"] += want.deadlock
        seen["wait"] += not want.deadlock and want.array_wait_cycles > 0
        seen["straddle"] += arch.rows > conv.out_shape[1] * conv.out_shape[2]
        seen["unbounded"] += arch.pool.staging_kb is None
        seen["one lane"] += arch.pool.lanes == 1
    assert all(ran)
    assert min(seen.values()) >= 100 and len(grown) >= 100, (seen, len(grown))


def test_streamed_equals_the_plain_reference(monkeypatch):
    rng = random.Random(1406)
    bad = []
    ran = []
    for _ in range(300):
        pool, conv, arch, batch = _ws_case(rng, big_rows=12)
        batch = rng.randint(2, 3)
        ref = simulate_pair(pool, conv, arch, batch)
        got = _streamed(pool, conv, arch, batch, ran)
        diff = _mismatch(got, ref)
        if diff:
            bad.append(((pool, conv, arch, batch), diff))
    assert all(ran)
    assert not bad, bad[:3]


def test_a_larger_pair_straddling_samples_in_every_fold(monkeypatch):
    # 5x5 output pixels per sample on 64 array rows: every demand row's lanes span up to three
    # samples; several row and column folds, a buffer that holds part of the map
    pool, conv = _pair(12, 5, 5, 20, 3, 1, 1, 1, 4, 2)
    for staging in (None, 400, 2000):
        for lanes, ports in ((4, 3), (64, 64)):
            arch = _arch(64, 8, "ws", lanes=lanes, input_words_per_cycle=ports,
                         pipeline_depth=3, order="demand", staging_kb=_words_kb(staging),
                         tree="separable")
            for batch in (2, 7):
                want = _prepared(pool, conv, arch, batch, monkeypatch)
                assert _streamed(pool, conv, arch, batch, []) == want


@pytest.mark.parametrize("df, order, batch", [("os", "demand", 4), ("is", "demand", 4),
                                              ("ws", "nhwc", 4), ("ws", "demand", 1)])
def test_other_pairs_keep_the_prepared_path(df, order, batch):
    assert not _stream.streams(df, order, batch)


def test_streamed_pair_holds_one_sample():
    # what the cache keeps for a streamed pair does not grow with the batch
    pool, conv = _pair(16, 8, 8, 16, 3, 1, 1, 1, 4, 2)
    arch = _arch(16, 8, "ws", lanes=4, input_words_per_cycle=4, pipeline_depth=2,
                 order="demand", staging_kb=None, tree="separable")
    held = []
    for batch in (2, 16):
        poolsched.clear_caches()
        poolsched.cosim_pair(pool, conv, arch, batch)
        (it,) = _items_mod._items_cache.values()
        held.append(it.nbytes)
    assert held[0] == held[1]
    poolsched.clear_caches()
