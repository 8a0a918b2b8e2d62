"""The CALC fast engine (engine/memory.py ``_calc_engine``: ofmap drain events, unit scans of
the read buffers' epochs) against the plain walk (``_walk_kernel`` with every shortcut off), on
random small layers with tiny SRAMs so that epochs slide many times and the ofmap buffer
drains often. Equality of all 32 results, never time."""

from __future__ import annotations

import random

import numpy as np
import pytest

import accelsim.engine.memory as mm
from accelsim.engine.mapping import map_layer
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _random_layers(seed: int, n: int):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        df = rng.choice(["os", "ws", "is"])
        R = rng.randint(1, 5)
        S = rng.choice([R, rng.randint(1, 5)])
        st, pad = rng.randint(1, 2), rng.randint(0, 2)
        H, W = rng.randint(max(R, S), 18), rng.randint(max(R, S), 18)
        C, N = rng.randint(1, 24), rng.randint(1, 40)
        g = rng.choice([1, 1, 1, 2, C])
        if C % g or N % g:
            g = 1
        E, F = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
        if E < 1 or F < 1:
            continue
        layer = Layer("x", "conv2d", (C, H, W), (N, E, F), (R, S), (st, st), (pad, pad),
                      groups=g)
        kb = [rng.choice([1, 2, 3, 4]) for _ in range(3)]
        arch = Arch("t", rng.randint(2, 12), rng.randint(2, 12), df, *kb)
        out.append((layer, arch, rng.choice([1, 1, 1, 2])))
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_calc_engine_equals_the_plain_walk(monkeypatch, seed):
    walk = mm._walk
    seen = {"of_drains": 0, "if_epochs": 0, "f_epochs": 0, "overlap_if": 0, "distinct_if": 0}

    def both(folds, im2col, bufs, paths):
        fast = walk(folds, im2col, bufs, paths)
        slow = walk(folds, im2col, bufs, paths._replace(dist_if=False, dist_f=False))
        assert list(fast) == list(slow)
        seen["of_drains"] += fast[10] > fast[9] + 2
        seen["if_epochs"] += fast[11] > 0
        seen["f_epochs"] += fast[15] > 0
        if fast[11] > 0:
            seen["distinct_if" if paths.dist_if else "overlap_if"] += 1
        return fast

    monkeypatch.setattr(mm, "_walk", both)
    for layer, arch, batch in _random_layers(seed, 120):
        mm.simulate_memory(layer, arch, map_layer(layer, arch, batch))
    # the cases the fast paths must get right were all exercised
    assert min(seen.values()) > 0, seen


def test_fallback_for_large_units_equals_the_engine(monkeypatch):
    """Ifmap units above _MAX_UNIT go to the walk kernel: same counts either way."""
    layers = _random_layers(3, 30)
    ref = [mm.simulate_memory(lay, a, map_layer(lay, a, b)) for lay, a, b in layers]
    monkeypatch.setattr(mm, "_MAX_UNIT", 0)
    assert ref == [mm.simulate_memory(lay, a, map_layer(lay, a, b)) for lay, a, b in layers]


@pytest.mark.parametrize("seed", [4, 5])
def test_below_one_epoch_shortcut_equals_the_full_walk(monkeypatch, seed):
    """An operand below one epoch is fetched once (closed form) and only its first and last
    reading folds are walked, for the SRAM start/stop cycles; with padding the first fold can
    read no real ifmap word (input-stationary blocks of border pixels), so the first reading
    fold is searched. Every field equals the full walk's."""
    walk = mm._walk
    seen = {"shortcut": 0, "first_fold_empty": 0}

    def full(folds, im2col, bufs, paths):
        if paths.nowalk_if or paths.nowalk_f:
            seen["shortcut"] += 1
            seen["first_fold_empty"] += bool(paths.nowalk_if and paths.if_span[0] > 0)
        # walk every fold
        return walk(folds, im2col, bufs, paths._replace(nowalk_if=False, nowalk_f=False))

    layers = []
    rng = random.Random(seed)
    for layer, arch, batch in _random_layers(seed, 120):
        kb = rng.choice([1, 4, 16])
        layers.append((layer, arch.with_(ifmap_sram_kb=kb, filter_sram_kb=kb), batch))
    ref = [mm.simulate_memory(lay, a, map_layer(lay, a, b)) for lay, a, b in layers]
    monkeypatch.setattr(mm, "_walk", full)
    assert ref == [mm.simulate_memory(lay, a, map_layer(lay, a, b)) for lay, a, b in layers]
    assert min(seen.values()) > 0, seen


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_windows_on_padding_only_read_no_ifmap_word(df):
    """A 1x1 stride-2 conv over a 1-row map padded by 1 samples padded rows 0 and 2, both
    padding (enumerated below): no ifmap word moves, so the DRAM ifmap span is empty and its
    bandwidth is 0 (this used to raise ZeroDivisionError in _bw)."""
    layer = Layer("x", "conv2d", (16, 1, 18), (37, 2, 10), (1, 1), (2, 2), (1, 1))
    Hp, Wp = 1 + 2, 18 + 2
    real = {(y, x) for y in range(1, 2) for x in range(1, 19)}
    touched = {(2 * e, 2 * f) for e in range(2) for f in range(10)}
    assert 2 * 1 < Hp and 2 * 9 < Wp and not (real & touched)
    arch = Arch("t", 9, 7, df, 3, 2, 4)
    mem = mm.simulate_memory(layer, arch, map_layer(layer, arch, 2))
    assert mem.dram_ifmap_reads == 0 and mem.dram_ifmap_bw_words_per_cycle == 0.0
    assert mem.dram_filter_reads >= 37 * 16 and mem.dram_ofmap_writes >= 2 * 37 * 2 * 10


@pytest.mark.parametrize("seed", [6, 7])
def test_user_engine_equals_the_plain_walk(monkeypatch, seed):
    """USER mode with SCALE-Sim's stall model: the event engine (memory/user.py: miss rows from
    the prefetch matrix's set ranges, the write buffer event to event) against the plain walk
    (every address of every row through the read buffers), all 32 results, on random small
    layers with 1-4 kB SRAMs and 1-10 words/cycle so that the windows rotate and rows stall;
    and the engine's per-address set lists (dist_if off) against its own-set path."""
    walk = mm._walk
    seen = {"if_rotations": 0, "f_rotations": 0, "stalls": 0, "all_active": 0,
            "distinct_if": 0, "overlap_if": 0}

    def both(folds, im2col, bufs, paths):
        fast = walk(folds, im2col, bufs, paths)
        slow = walk(folds, im2col, bufs, paths._replace(events=False))
        assert list(fast) == list(slow)
        assert list(walk(folds, im2col, bufs, paths._replace(dist_if=False))) == list(slow)
        # the first fill is ceil(active words / bw) lines: anything above is a rotation
        fill = [-(-((w + 1) // 2) // bufs.rd_bw) * bufs.rd_bw for w in (bufs.if_words,
                                                                          bufs.f_words)]
        seen["if_rotations"] += fast[11] > fill[0]
        seen["f_rotations"] += fast[14] > fill[1]
        seen["all_active"] += fast[11] <= fill[0] and fast[14] <= fill[1]
        seen["stalls"] += fast[1] > 0
        if fast[11] > fill[0]:
            seen["distinct_if" if paths.dist_if else "overlap_if"] += 1
        return fast

    monkeypatch.setattr(mm, "_walk", both)
    rng = random.Random(seed)
    for layer, arch, batch in _random_layers(seed, 80):
        arch = arch.with_(bandwidth_mode="user", stall_model="scalesim",
                          dram_bw_words_per_cycle=rng.choice([1, 2, 4, 8, 10]))
        mm.simulate_memory(layer, arch, map_layer(layer, arch, batch))
    assert min(seen.values()) > 0, seen


def _prefetch_reference(folds, im2col, ifmap):
    """SCALE-Sim's prefetch matrix in fetch order, written out here from the operand slots
    (memory.addresses._slot, one call per entry): per group the blocks' rows stacked, then
    diagonally unrolled (rows down, lanes up) for a streamed operand, row by row for a
    stationary one (ws filter, is ifmap)."""
    from accelsim.engine.memory.addresses import _fa, _ifmap_word, _slot

    df, AR, AC, M, N, K, G, rf, cf = folds
    if df == 0:
        nb, T, L, diag = (rf, K, AR, True) if ifmap else (cf, K, AC, True)
    elif df == 1:
        nb, T, L, diag = (rf, M, AR, True) if ifmap else (cf, K, AC, False)
    else:
        nb, T, L, diag = (cf, K, AC, False) if ifmap else (rf, N, AR, True)
    rows, out = nb * T, []
    for g in range(G):
        if diag:
            for d in range(rows + L):
                for row in range(min(d, rows - 1), max(0, d - L + 1) - 1, -1):
                    b = row // T
                    c, r = (b, 0) if (df == 0 and not ifmap) else (0, b)
                    out.append(_slot(folds, im2col, ifmap, g, c, r, row % T, d - row))
        else:
            for row in range(rows):
                b, t = divmod(row, T)
                for j in range(L):
                    out.append(_fa(t, b * AC + j, g, N, K) if df == 1
                               else _ifmap_word(im2col, b * AC + j, t, g, M, K))
    return np.array(out, dtype=np.int64)


def test_prefetch_matrix_sets_and_run_counts_equal_a_brute_force_reference():
    """The USER read buffers' inputs against references written here: the prefetch sequence
    (readbuf._fetch_sequence), its hashed sets (_set_index: np.unique over (address, set)
    pairs, SCALE-Sim's ceil(words/100) valid entries per set) and the valid entries before
    each run (_run_before: closed form without padding, counted with it)."""
    from accelsim.engine.memory import readbuf
    from accelsim.engine.memory.addresses import DF_CODE, geometry
    from accelsim.engine.operands import ifmap_addressing

    padded = closed = 0
    for layer, arch, batch in _random_layers(11, 40):
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
        for ifmap in (True, False):
            seq = _prefetch_reference(folds, im2col, ifmap)
            assert np.array_equal(readbuf._fetch_sequence(folds, im2col, ifmap), seq)
            space = ad.space if ifmap else mp.groups * mp.N * mp.K
            for words in (100, 357, 2048):
                nl, eps, ptr, sets = readbuf._set_index(seq, words, space)
                v = seq[seq >= 0]
                assert eps == -(-words // 100) and nl == len(v) // eps + 1
                key = np.unique(v * nl + np.arange(len(v)) // eps)
                assert np.array_equal(sets, key % nl)
                assert np.array_equal(np.diff(ptr), np.bincount(key // nl, minlength=space))
            # runs: diagonals of a streamed operand, stored rows of a stationary one
            nruns, per_group, L = readbuf._runs(folds, ifmap)
            lens = [readbuf._run_len(folds, ifmap, k) for k in range(nruns)]
            starts = np.concatenate(([0], np.cumsum(lens)))
            assert starts[-1] == per_group and len(seq) == mp.groups * per_group
            valid = np.concatenate(([0], np.cumsum(seq >= 0)))
            want = [valid[g * per_group + starts[k]] for g in range(mp.groups)
                    for k in range(nruns)] + [valid[-1]]
            box = not ifmap or int((seq >= 0).sum()) == mp.groups * mp.M * mp.K
            padded += not box
            closed += box
            assert list(readbuf._run_before(folds, im2col, ifmap, box)) == want
            assert list(readbuf._run_before(folds, im2col, ifmap, False)) == want
    assert padded > 0 and closed > 0
