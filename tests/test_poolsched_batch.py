"""The pool unit's streamed schedule at batch > 1 (engine/poolsched/stream.py): a demand-order
pair prepared for its first block of samples alone and run as shifted copies of it merged by
first-use key gives the prepared path's PairSchedule field for field, and the plain per-cycle
reference's figures, on random layers of every dataflow at batch 2..9. The cases are drawn so
that array sides exceed a sample's output pixels (a demand row's lanes then straddle a sample
boundary, so samples interleave inside a fold), blocks of several samples with a partial last
copy, deadlocks, waits, finite and unbounded buffers, lanes of one and unlimited, and the
rings' growth (started at 2 entries) all occur."""

import random
import sys
from pathlib import Path

import pytest

import accelsim.engine.poolsched as poolsched
from accelsim.engine.poolsched import dtypes as _dtypes_mod
from accelsim.engine.poolsched import items as _items_mod
from accelsim.engine.poolsched import stream as _stream

sys.path.insert(0, str(Path(__file__).resolve().parent))
from poolref import simulate_pair  # noqa: E402
from test_poolsched import _arch, _mismatch, _pair, _words_kb  # noqa: E402


SIDES = (1, 2, 3, 4, 6, 8, 12, 16, 25, 32, 40)


def _case(rng, df=None, sides=SIDES):
    g = rng.choice([1, 1, 2])
    C = g * rng.randint(1, 8)
    k, s, p = rng.randint(1, 3), rng.randint(1, 2), rng.randint(0, 1)
    H, W = rng.randint(max(1, k - 2 * p), 9), rng.randint(max(1, k - 2 * p), 9)
    N = g * rng.randint(1, 6)
    pool, conv = _pair(C, H, W, N, k, s, p, g, rng.randint(1, C // g), rng.randint(1, k))
    staging = None if rng.random() < 0.3 else rng.randint(1, 300)
    arch = _arch(rng.choice(sides), rng.choice(sides), df or rng.choice(["os", "ws", "is"]),
                 lanes=rng.choice([1, 2, 3, 8, 10 ** 6]), input_words_per_cycle=rng.randint(1, 9),
                 pipeline_depth=rng.randint(1, 5), order="demand",
                 staging_kb=_words_kb(staging), tree="separable")
    return pool, conv, arch, rng.randint(2, 9)


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
                          _stream._Block))
    return out


def _blocks(conv, arch):
    return _stream.block_samples(conv, arch.rows, arch.cols, arch.dataflow)


def test_streamed_equals_the_prepared_path_on_random_pairs(monkeypatch):
    monkeypatch.setattr(_stream, "_P_RING_START", 2)
    monkeypatch.setattr(_stream, "_BP_RING_START", 2)
    grown = []
    real_grow = _stream._grow
    monkeypatch.setattr(_stream, "_grow", lambda *a: grown.append(1) or real_grow(*a))
    rng = random.Random(1405)
    seen = {"dead": 0, "wait": 0, "straddle": 0, "unbounded": 0, "one lane": 0, "os": 0,
            "is": 0, "ws": 0, "block > 1": 0, "partial copy": 0}
    ran = []
    while min(seen.values()) < 100:
        pool, conv, arch, batch = _case(rng)
        s = _blocks(conv, arch)
        if batch <= s:
            continue
        want = _prepared(pool, conv, arch, batch, monkeypatch)
        got = _streamed(pool, conv, arch, batch, ran)
        assert got == want, (pool, conv, arch, batch)
        seen["dead"] += want.deadlock
        seen["wait"] += not want.deadlock and want.array_wait_cycles > 0
        seen["straddle"] += max(arch.rows, arch.cols) > conv.out_shape[1] * conv.out_shape[2]
        seen["unbounded"] += arch.pool.staging_kb is None
        seen["one lane"] += arch.pool.lanes == 1
        seen[arch.dataflow] += 1
        seen["block > 1"] += s > 1
        seen["partial copy"] += batch % s != 0
    assert all(ran) and len(ran) < 4000
    assert len(grown) >= 100


def test_streamed_equals_the_plain_reference(monkeypatch):
    rng = random.Random(1406)
    bad = []
    ran = []
    while len(ran) < 300:
        pool, conv, arch, batch = _case(rng, sides=SIDES[:7])
        batch = rng.randint(2, 4)
        if batch <= _blocks(conv, arch):
            continue
        ref = simulate_pair(pool, conv, arch, batch)
        got = _streamed(pool, conv, arch, batch, ran)
        diff = _mismatch(got, ref)
        if diff:
            bad.append(((pool, conv, arch, batch), diff))
    assert all(ran)
    assert not bad, bad[:3]


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_a_larger_pair_straddling_samples_in_every_fold(df, monkeypatch):
    # 5x5 output pixels per sample on a 64-wide side: a demand row's lanes span up to three
    # samples (ws), a pixel fold holds several samples and a block 64 of them (os, is);
    # several row and column folds, a buffer that holds part of the map
    pool, conv = _pair(12, 5, 5, 20, 3, 1, 1, 1, 4, 2)
    for staging in (None, 400, 2000):
        for lanes, ports in ((4, 3), (64, 64)):
            arch = _arch(64, 64, df, lanes=lanes, input_words_per_cycle=ports,
                         pipeline_depth=3, order="demand", staging_kb=_words_kb(staging),
                         tree="separable")
            for batch in (2, 7, 70):
                want = _prepared(pool, conv, arch, batch, monkeypatch)
                ran = []
                assert _streamed(pool, conv, arch, batch, ran) == want
                assert ran == [batch > _blocks(conv, arch)]


def test_block_sizes_and_what_streams():
    _, conv = _pair(8, 7, 7, 8, 3, 1, 1, 1, 2, 2)          # 7 x 7 output pixels
    arch = {df: _arch(32, 8, df, order="demand") for df in ("ws", "os", "is")}
    assert [_blocks(conv, arch[df]) for df in ("ws", "os", "is")] == [1, 32, 8]
    _, conv = _pair(8, 28, 28, 8, 3, 1, 1, 1, 2, 2)        # 784 = 49 x 16
    assert [_blocks(conv, arch[df]) for df in ("ws", "os", "is")] == [1, 2, 1]
    assert _stream.streams(conv, 32, 8, "os", "demand", 3)
    assert not _stream.streams(conv, 32, 8, "os", "demand", 2)
    assert not _stream.streams(conv, 32, 8, "ws", "nhwc", 4)
    assert not _stream.streams(conv, 32, 8, "ws", "demand", 1)


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


def test_int64_fallback_of_the_block_gives_the_same_schedule(monkeypatch):
    # need' and last rows past the int32 limit stay int64 (the limit lowered to force it)
    rng = random.Random(1407)
    done = 0
    while done < 60:
        pool, conv, arch, batch = _case(rng)
        if batch <= _blocks(conv, arch):
            continue
        want = _prepared(pool, conv, arch, batch, monkeypatch)
        with monkeypatch.context() as m:
            m.setattr(_dtypes_mod, "_INT32_LIMIT", 4)
            poolsched.clear_caches()
            got = poolsched.cosim_pair(pool, conv, arch, batch)
            (blk,) = _items_mod._items_cache.values()
        assert isinstance(blk, _stream._Block) and blk.lr_sorted.dtype == "int64"
        assert got == want
        done += 1


def test_the_cache_holds_one_pair_past_batch_one():
    pool, conv = _pair(16, 8, 8, 16, 3, 1, 1, 1, 4, 2)
    pool2, conv2 = _pair(8, 6, 6, 8, 1, 1, 0, 1, 2, 1)
    arch = _arch(16, 8, "os", lanes=4, input_words_per_cycle=4, pipeline_depth=2,
                 order="demand", staging_kb=None, tree="separable")
    poolsched.clear_caches()
    for batch in (1, 1):
        poolsched.cosim_pair(pool, conv, arch, batch)
        poolsched.cosim_pair(pool2, conv2, arch, batch)
    assert len(_items_mod._items_cache) == 2          # batch 1: both kept for a sweep
    poolsched.cosim_pair(pool, conv, arch, 3)
    poolsched.cosim_pair(pool, conv, arch, 3, staging_words=50)   # a bisection's next probe
    assert len(_items_mod._items_cache) == 1
    poolsched.cosim_pair(pool2, conv2, arch, 4)
    assert list(_items_mod._items_cache)[0][1].in_shape == conv2.in_shape
    assert len(_items_mod._items_cache) == 1
    poolsched.clear_caches()


def test_streamed_recurrences_with_a_short_lookahead(monkeypatch):
    # the reader's lookahead of 0..3 words moves its item q right behind item i, so the rings
    # hold only a few items and item i - lanes must be kept by the lanes term alone
    import numpy as np

    from accelsim.engine.poolsched.schedule import _peak, _schedule

    monkeypatch.setattr(_stream, "_P_RING_START", 2)
    monkeypatch.setattr(_stream, "_BP_RING_START", 2)
    rng = random.Random(1408)
    done = 0
    while done < 300:
        pool, conv, arch, batch = _case(rng)
        if batch <= _blocks(conv, arch):
            continue
        key = (pool, conv, arch.rows, arch.cols, arch.dataflow, batch)
        blk = _stream._prepare_block(*key)
        it = _items_mod._prepare_demand(*key)
        lb = rng.randint(0, 3)
        lanes, ports = rng.choice([1, 2, 3, 4, 5]), rng.randint(1, 4)
        depth = rng.randint(1, 4)
        slots = rng.choice([-1, rng.randint(1, 40)])
        dead, p, ev_off, _ = _schedule(it.need, it.used, it.ev_row, it.ev_item, it.lr_sorted,
                                       lb, ports, lanes, depth, slots,
                                       np.zeros(it.need.size, np.int64), 1 << 62)
        got = _stream.schedule_streamed(blk, lb, ports, lanes, depth, slots)
        assert got[0] == dead
        if not dead:
            wait = int(ev_off[-1]) if ev_off.size else 0
            peak = _peak(p, it.used, it.lr_sorted, it.ev_row, ev_off)
            assert got[1:3] == (wait, peak)
        done += 1


def test_buffer_search_streamed_equals_prepared(monkeypatch):
    # staging_min_words bisects over buffers, each probe a streamed run of the held block
    rng = random.Random(1409)
    done = 0
    while done < 40:
        pool, conv, arch, batch = _case(rng)
        if batch <= _blocks(conv, arch):
            continue
        poolsched.clear_caches()
        got = poolsched.staging_min_words(pool, conv, arch, batch)
        poolsched.clear_caches()
        with monkeypatch.context() as m:
            m.setattr(_items_mod, "streams", lambda *a: False)
            want = poolsched.staging_min_words(pool, conv, arch, batch)
        assert got == want
        done += 1
    poolsched.clear_caches()
