"""The USER engine's shortcuts (memory/user.py) against brute-force references: the window's
word counts (made row by row over whole runs, readbuf._add_band; restricted to one group's
stretch; moved between windows) against the prefetch sequence written out entry by entry,
and the engine's miss rows against the plain walk on layers whose overlapping windows repeat
ifmap words across many sets (the counts are made, moved and consulted). Equality only,
never time."""

from __future__ import annotations

import random

import numpy as np
import pytest

import accelsim.engine.memory as mm
from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import readbuf, user
from accelsim.engine.memory.addresses import DF_CODE, geometry
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _layer(rng, max_hw=14):
    """A random conv: strides, padding, groups (grouped and depthwise), kernels up to 5x5."""
    while True:
        R = rng.randint(1, 5)
        S = rng.choice([R, rng.randint(1, 5)])
        st, pad = rng.randint(1, 2), rng.choice([0, 0, 1, 2])
        H, W = rng.randint(max(R, S), max_hw), rng.randint(max(R, S), max_hw)
        C, N = rng.randint(1, 16), rng.randint(1, 24)
        g = rng.choice([1, 1, 2, C])
        if C % g or N % g:
            g = 1
        E, F = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
        if E >= 1 and F >= 1:
            return Layer("x", "conv2d", (C, H, W), (N, E, F), (R, S), (st, st), (pad, pad),
                         groups=g)


def _counts(valid, space, ranges):
    """Brute force: the word counts of the valid entries in the ranges (lo, hi, lo, hi)."""
    q = np.arange(len(valid))
    inside = np.zeros(len(valid), dtype=bool)
    for p in range(0, len(ranges), 2):
        inside |= (ranges[p] <= q) & (q < ranges[p + 1])
    return np.bincount(valid[inside], minlength=space).astype(np.int32)


@pytest.mark.parametrize("seed", [21, 22])
def test_window_counts_equal_the_sequence(seed):
    """The USER engine's window word counts against the prefetch sequence written out entry by
    entry, for both operands of every dataflow, padded or not, groups and batch:
    user._add_range (whole runs row by row, a cut run entry by entry) over random ranges;
    user._window_range, the window's entries within one group's stretch (wrapping windows);
    and user._sync from one such window to another (same group and not, overlapping and not,
    counts cleared at once when none stays)."""
    rng = random.Random(seed)
    cases = {"padded": 0, "wrap": 0, "groups": 0, "batch": 0, "box": 0, "cleared": 0}
    for _ in range(60):
        layer = _layer(rng)
        arch = Arch("t", rng.randint(2, 9), rng.randint(2, 9), rng.choice(["os", "ws", "is"]),
                    1, 1, 1)
        batch = rng.choice([1, 1, 2])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
        cases["padded"] += layer.padding[0] > 0
        cases["groups"] += mp.groups > 1
        cases["batch"] += batch > 1
        for ifmap in (True, False):
            seq = readbuf._fetch_sequence(folds, im2col, ifmap)
            valid = seq[seq >= 0]
            space = ad.space if ifmap else mp.groups * mp.N * mp.K
            before = readbuf._run_before(folds, im2col, ifmap, False)
            assert before[-1] == len(valid)
            box = len(valid) == mp.groups * (mp.M * mp.K if ifmap else mp.N * mp.K)
            cases["box"] += box and ifmap
            nruns, per_group, L = readbuf._runs(folds, ifmap)
            buf = np.empty(4 * L, dtype=np.int64)
            nv = np.empty(4, dtype=np.int64)
            for _ in range(4):
                lo = rng.randint(0, len(valid))
                hi = rng.randint(lo, len(valid) + 3)
                got = np.zeros(space, dtype=np.int32)
                user._add_range(folds, im2col, ifmap, before, lo, hi, got, 1, buf, nv, box)
                assert np.array_equal(got, _counts(valid, space, (lo, hi)))
            eps = rng.randint(1, max(1, len(valid) // 3 + 1))
            nl = len(valid) // eps + 1
            nact = rng.randint(1, nl)
            pres = np.zeros(space, dtype=np.int32)
            counted = (0, 0, 0, 0)
            for _ in range(6):
                g, ws = rng.randrange(mp.groups), rng.randrange(nl)
                want = user._window_range(before, nruns, g, ws, nact, eps, nl)
                # the window's sets, cyclic, within group g's stretch
                sets = np.arange(len(valid)) // eps
                q = np.arange(len(valid))
                mine = (((sets - ws) % nl) < nact) & (before[g * nruns] <= q) & (
                    q < before[(g + 1) * nruns])
                assert np.array_equal(_counts(valid, space, want),
                                      np.bincount(valid[mine], minlength=space))
                cases["wrap"] += ws + nact > nl and want[1] > want[0]
                kept = (_counts(valid, space, counted) * _counts(valid, space, want)).any()
                old_n = sum(max(0, counted[p + 1] - counted[p]) for p in (0, 2))
                cases["cleared"] += (not kept) and 4 * old_n > space
                user._sync(folds, im2col, ifmap, before, pres, counted, want, buf, nv, box)
                assert np.array_equal(pres, _counts(valid, space, want))
                counted = want
    assert min(cases.values()) > 0, cases


@pytest.mark.parametrize("seed", [23, 24, 25])
def test_engine_with_repeated_words_equals_the_plain_walk(monkeypatch, seed):
    """Overlapping windows (kernel > stride) on SRAMs from a tenth to about all of the ifmap
    prefetch matrix, so that rows run past the window and their words are looked up in the
    window's counts, which are made, moved with the window, or replaced by the per-address
    set lists: the event engine's 32 results equal the plain walk's."""
    walk = mm._walk
    seen = {"if_rotations": 0, "no_if_rotation": 0, "stalls": 0}

    def both(folds, im2col, bufs, paths):
        fast = walk(folds, im2col, bufs, paths)
        slow = walk(folds, im2col, bufs, paths._replace(events=False))
        assert list(fast) == list(slow)
        fill = -(-((bufs.if_words + 1) // 2) // bufs.rd_bw) * bufs.rd_bw
        seen["if_rotations" if fast[11] > fill else "no_if_rotation"] += 1
        seen["stalls"] += fast[1] > 0
        return fast

    monkeypatch.setattr(mm, "_walk", both)
    rng = random.Random(seed)
    n = 0
    while n < 40:
        layer = _layer(rng, 16)
        if layer.kernel[0] <= layer.stride[0] and layer.kernel[1] <= layer.stride[1]:
            continue                       # distinct words: not the path under test
        batch = rng.choice([1, 1, 2])
        arch = Arch("t", rng.randint(2, 12), rng.randint(2, 12),
                    rng.choice(["os", "ws", "is"]), 1, 1, 1)
        mp = map_layer(layer, arch, batch)
        entries = mp.groups * max(mp.M, mp.K) * (mp.K + mp.M)
        # kB such that the ifmap buffer holds from ~1/10 to ~all of the prefetch matrix
        kb = max(1, round(entries * rng.uniform(0.1, 1.2) / 1024))
        arch = arch.with_(ifmap_sram_kb=kb, filter_sram_kb=rng.choice([1, 2]),
                          ofmap_sram_kb=rng.choice([1, 2]), bandwidth_mode="user",
                          stall_model="scalesim",
                          dram_bw_words_per_cycle=rng.choice([1, 4, 10]))
        mm.simulate_memory(layer, arch, map_layer(layer, arch, batch))
        n += 1
    assert min(seen.values()) > 0, seen


def _overlapping(rng, max_hw=14, padded=False):
    """A random conv whose windows overlap (words repeat in the prefetch matrix), with or
    without padding."""
    while True:
        layer = _layer(rng, max_hw)
        if (layer.padding[0] > 0) == padded and layer.kernel[0] > layer.stride[0]:
            return layer


def _stream(rng, padded=False):
    """A random overlapping-window layer on a random small array: (dataflow, batch, mapping,
    addressing, folds, im2col, the prefetch sequence's valid entries, the valid entries
    before each run)."""
    layer = _overlapping(rng, padded=padded)
    df = rng.choice(["os", "ws", "is"])
    arch = Arch("t", rng.randint(2, 9), rng.randint(2, 9), df, 1, 1, 1)
    batch = rng.choice([1, 1, 2])
    mp = map_layer(layer, arch, batch)
    ad = ifmap_addressing(layer, batch)
    folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
    seq = readbuf._fetch_sequence(folds, im2col, True)
    return (df, batch, mp, ad, folds, im2col, seq[seq >= 0],
            readbuf._run_before(folds, im2col, True, not padded))


def _scratch(folds):
    L = readbuf._runs(folds, True)[2]
    return np.empty(L, dtype=np.int64), np.empty(1, dtype=np.int64)


def _inside(ad, m, k) -> bool:
    y, x = ad.row_base[m] + ad.win_row[k], ad.col_base[m] + ad.win_col[k]
    return 0 <= y < ad.H and 0 <= x < ad.W


@pytest.mark.parametrize("seed,padded", [(35, False), (36, False), (37, True), (38, True)])
def test_entry_rank_equals_the_sequence(seed, padded):
    """user._entry_rank of every valid (group, pixel, window element): the entry at that rank
    of the prefetch sequence holds its address, and the ranks are all distinct (every valid
    entry once), for every dataflow, groups and batch, arrays taller or wider than the operand
    (the tail diagonals past the last row included); without padding (the closed form) and
    with it (the run's entries counted)."""
    rng = random.Random(seed)
    cases = {"os": 0, "ws": 0, "is": 0, "groups": 0, "batch": 0}
    for _ in range(30):
        df, batch, mp, ad, folds, im2col, valid, before = _stream(rng, padded)
        scratch, scratch_n = _scratch(folds)
        ranks = []
        for g in range(mp.groups):
            for m in range(mp.M):
                for k in range(mp.K):
                    if not _inside(ad, m, k):
                        continue
                    q = user._entry_rank(folds, im2col, before, g, m, k, not padded, scratch,
                                         scratch_n)
                    assert valid[q] == ad.pix_base[m] + ad.win_off[k] + g * ad.group_ifmap_offset
                    ranks.append(q)
        assert sorted(ranks) == list(range(len(valid)))
        cases[df] += 1
        cases["groups"] += mp.groups > 1
        cases["batch"] += batch > 1
    assert min(cases.values()) > 0, cases


@pytest.mark.parametrize("seed,padded", [(31, False), (32, False), (39, True), (40, True)])
def test_turns_to_word_equal_the_rotation_loop(seed, padded):
    """user._turns_to_word (a missing word's rotations at once, from its entries) against
    rotating the window turn by turn over the prefetch sequence written out, for random words
    of every dataflow, groups and batch, with and without padding, random set sizes and
    windows with 1 <= prefetch sets <= active sets, from windows that hold none of the word's
    entries; many turns and windows that wrap past the last set included."""
    rng = random.Random(seed)
    cases = {"os": 0, "ws": 0, "is": 0, "groups": 0, "batch": 0, "many_turns": 0, "wrap": 0}
    for _ in range(40):
        df, batch, mp, ad, folds, im2col, valid, before = _stream(rng, padded)
        assert (len(valid) < mp.groups * mp.M * mp.K) == padded   # padding: missing entries
        nruns = readbuf._runs(folds, True)[0]
        pix = user._pixel_index(im2col, mp.M)
        scratch, scratch_n = _scratch(folds)
        for _ in range(10):
            eps = rng.randint(max(1, len(valid) // 300), max(1, len(valid) // 6))
            nl = len(valid) // eps + 1
            nact = rng.randint(1, nl - 1)
            npf = rng.randint(1, nact)
            q = rng.randrange(len(valid))
            a = valid[q]
            g = int(np.searchsorted(before, q, side="right") - 1) // nruns
            word_sets = np.unique(np.flatnonzero(valid == a) // eps)
            free = [ws for ws in range(nl) if not (((word_sets - ws) % nl) < nact).any()]
            if not free:
                continue
            ws0 = ws = rng.choice(free)
            turns = 0
            while True:
                ws = (ws + npf) % nl
                turns += 1
                if (((word_sets - ws) % nl) < nact).any():
                    break
            got = user._turns_to_word(folds, im2col, pix, before, a, g, eps, nl, ws0, nact,
                                      npf, not padded, scratch, scratch_n)
            assert got == turns
            cases[df] += 1
            cases["groups"] += mp.groups > 1
            cases["batch"] += batch > 1
            cases["many_turns"] += turns > 1
            cases["wrap"] += ws0 + turns * npf >= nl
    assert min(cases.values()) > 0, cases


@pytest.mark.parametrize("seed,padded", [(33, False), (34, False), (41, True), (42, True)])
def test_misses_with_rotations_at_once_equal_turn_by_turn(seed, padded):
    """The ifmap buffer's miss rows and rotations with a missing word's rotations made at once
    (user._turns_to_word) equal those rotated turn by turn, on layers with overlapping windows,
    with and without padding, and buffers from a tenth to half of the prefetch matrix, every
    dataflow; misses of many rotations (the window past the word's entries) included."""
    rng = random.Random(seed)
    seen = {"misses": 0, "many_turns": 0}
    n = 0
    while n < 30:
        layer = _overlapping(rng, 16, padded)
        batch = rng.choice([1, 1, 2])
        arch = Arch("t", rng.randint(2, 12), rng.randint(2, 12),
                    rng.choice(["os", "ws", "is"]), 1, 1, 1)
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
        seq = readbuf._fetch_sequence(folds, im2col, True)
        n_valid = int((seq >= 0).sum())
        box = not padded
        words = max(100, int(n_valid * rng.uniform(0.1, 0.5)))
        rd_bw = rng.choice([1, 4, 10])
        buf = readbuf.user_read_buffer(folds, im2col, True, words, rd_bw, n_valid, box)
        A, lines, nact, npf = readbuf._user_windows(buf, rd_bw)
        if nact >= buf.n_sets or not 1 <= npf <= nact:
            continue
        fast = user._misses(folds, im2col, True, buf, False, box, ad.space, nact, npf, True)
        slow = user._misses(folds, im2col, True, buf, False, box, ad.space, nact, npf, False)
        assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
        assert fast[2] == slow[2]
        seen["misses"] += len(fast[0]) > 0
        seen["many_turns"] += bool((np.diff(fast[1], prepend=0) > 1).any())
        n += 1
    assert min(seen.values()) > 0, seen
