"""The ofmap write buffer event to event (memory/wbuf_events.py ``_write_events``: the layer's rows
in closed form over its fold shapes, runs of repeated folds / column folds / groups skipped
whole) against a plain row-by-row walk of the same buffer (here) and against ``_walk_kernel``
on real layers. Random geometries with tiny buffers (drains every few rows, stalls), lines
that do not divide the words, many identical folds, partial edge folds, groups, the three
dataflows, and forced rows (the USER engine's misses). Equality of every result, never time."""

from __future__ import annotations

import random

import numpy as np
import pytest
from numba import njit

from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import Buffers, FastPaths, geometry
from accelsim.engine.memory.addresses import (DF_CODE, Folds, _fold_extent, _fold_rows,
                                              _ifmap_fold_span, _ofmap_row_words)
from accelsim.engine.memory.readbuf import no_read_buffer
from accelsim.engine.memory.walk import _walk_kernel
from accelsim.engine.memory.wbuf_events import (E_NST, E_SKIPS, NO_MISS, _ofmap_events,
                                                _write_events, _write_walk)
from accelsim.engine.memory.writebuf import _finish, _ofmap_row, _wbuf_state
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer

# _walk_kernel's write-buffer results: total cycles, stalls, ofmap SRAM first/last cycle,
# ofmap DRAM words and first/last drain cycle
OF_FIELDS = [0, 1, 6, 7, 8, 9, 10]


@njit(cache=False)
def _plain(folds, of_words, of_bw, fr_row, fr_if, fr_f):
    """Every row of every fold through the buffer (_ofmap_row), forced rows waiting as in the
    engine: (results, stall history rows, cumulative stalls)."""
    df, AR, AC, M, N, K, G, rf, cf = folds
    T, R = _fold_rows(folds)
    wb, part_line, part_val = _wbuf_state(of_words, of_bw)
    n = G * cf * rf * R
    srow = np.zeros(n + 1, dtype=np.int64)
    scum = np.zeros(n + 1, dtype=np.int64)
    nst, stall, of_out, row0, fi = 0, 0, 0, 0, 0
    for g in range(G):
        for c in range(cf):
            for r in range(rf):
                cu, ru = _fold_extent(folds, c, r)
                for tau in range(R):
                    cycle = row0 + tau + stall
                    wait = 0
                    if fi < fr_row.shape[0] and fr_row[fi] == row0 + tau:
                        a_if, a_f = fr_if[fi], fr_f[fi]
                        if a_if != NO_MISS and a_f != NO_MISS:
                            wait = max(a_if, a_f) - cycle - 1
                        elif a_if != NO_MISS:
                            wait = max(0, a_if - cycle - 1)
                        elif a_f != NO_MISS:
                            wait = max(0, a_f - cycle - 1)
                        fi += 1
                    v = _ofmap_row_words(df, tau, cu, ru, AR, K, T)
                    of_out, part_line, part_val = _ofmap_row(wb, part_line, part_val, v, cycle)
                    st = max(wait, of_out - cycle - 1)
                    if st != 0:
                        stall += st
                        srow[nst] = row0 + tau
                        scum[nst] = stall
                        nst += 1
                row0 += R
    res = np.zeros(32, dtype=np.int64)
    _finish(res, wb, part_line, part_val, of_out, stall)
    return res, srow[:nst], scum[:nst]


def _folds(rng, long_runs=False):
    """A random GEMM on a random array: rf / cf as the mapping gives them (partial last folds
    when AR / AC do not divide); with ``long_runs`` many row or column folds of tiny folds."""
    df = rng.randrange(3)
    AR, AC = rng.randint(1, 9), rng.randint(1, 9)
    M, N, K = rng.randint(1, 70), rng.randint(1, 40), rng.randint(1, 30)
    if long_runs:
        AR, AC = rng.randint(1, 4), rng.randint(1, 4)
        K = rng.randint(1, 6)
        if rng.random() < 0.5:
            M = rng.randint(200, 900)
        else:
            N = rng.randint(100, 500)
    G = rng.choice([1, 1, 2, 3, 7])
    rf = -(-(M if df == 0 else K) // AR)
    cf = -(-(N if df != 2 else M) // AC)
    return Folds(df, AR, AC, M, N, K, G, rf, cf)


def _buffer(rng, AC):
    """(words, line): tiny to medium buffers, lines that need not divide a row's words (from
    2 words: a 1-word buffer drains 0 lines at a time, and its final drain never ends)."""
    words = rng.choice([2, 3, rng.randint(4, 12), rng.randint(12, 80), rng.randint(80, 600)])
    return words, rng.randint(1, AC + 4)


def _forced(rng, folds, p):
    """Random forced rows (a share p of the rows) with prefetch arrivals around them, some not
    missing (NO_MISS)."""
    T, R = _fold_rows(folds)
    n = folds.groups * folds.col_folds * folds.row_folds * R
    rows = np.array(sorted(x for x in range(n) if rng.random() < p), dtype=np.int64)

    def arrival(x):
        return NO_MISS if rng.random() < 0.3 else x + rng.randint(-4, 40)
    fr_if = np.array([arrival(x) for x in rows], dtype=np.int64)
    fr_f = np.array([arrival(x) for x in rows], dtype=np.int64)
    return rows, fr_if, fr_f


def _events(folds, of_words, of_bw, fr_row, fr_if, fr_f):
    res = np.zeros(32, dtype=np.int64)
    srow, scum, nst = _write_events(folds, of_words, of_bw, res, fr_row, fr_if, fr_f)
    return res, srow[:nst], scum[:nst]


def _assert_same(got, ref, where):
    res, srow, scum = got
    rres, rrow, rcum = ref
    assert [int(res[i]) for i in OF_FIELDS] == [int(rres[i]) for i in OF_FIELDS], where
    assert list(srow) == list(rrow) and list(scum) == list(rcum), where


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_events_equal_the_plain_walk(seed):
    rng = random.Random(seed)
    none = np.zeros(0, dtype=np.int64)
    stalls = 0
    for i in range(150):
        folds = _folds(rng, long_runs=i % 3 == 0)
        of_words, of_bw = _buffer(rng, folds.array_cols)
        ref = _plain(folds, of_words, of_bw, none, none, none)
        got = _events(folds, of_words, of_bw, none, none, none)
        _assert_same(got, ref, (folds, of_words, of_bw))
        res = np.zeros(32, dtype=np.int64)
        _ofmap_events(folds, of_words, of_bw, res)
        assert list(res) == list(got[0])
        stalls += len(ref[1]) > 0
    assert stalls > 10        # the buffers filled during drains, not only drained


@pytest.mark.parametrize("seed", [4, 5])
def test_forced_rows_equal_the_plain_walk(seed):
    """The USER engine's misses as forced rows: waits, stalls, and no repeat skipped across
    one."""
    rng = random.Random(seed)
    for i in range(120):
        folds = _folds(rng, long_runs=i % 2 == 0)
        of_words, of_bw = _buffer(rng, folds.array_cols)
        fr = _forced(rng, folds, rng.choice([0.0005, 0.01, 0.2]))
        ref = _plain(folds, of_words, of_bw, *fr)
        got = _events(folds, of_words, of_bw, *fr)
        _assert_same(got, ref, (folds, of_words, of_bw, len(fr[0])))


def test_repeats_are_skipped_and_change_nothing():
    """Long runs of identical folds: the walk skips repeats (ev[E_SKIPS]) and its state is the
    walk's without skipping, and the plain walk's."""
    rng = random.Random(6)
    none = np.zeros(0, dtype=np.int64)
    skipped = 0
    for _ in range(80):
        folds = _folds(rng, long_runs=True)
        of_words, of_bw = _buffer(rng, folds.array_cols)
        fast = _write_walk(folds, of_words, of_bw, none, none, none, True)
        slow = _write_walk(folds, of_words, of_bw, none, none, none, False)
        skipped += fast[5][E_SKIPS] > 0
        assert slow[5][E_SKIPS] == 0
        results = []
        for wb, part_line, part_val, srow, scum, ev in (fast, slow):
            res = np.zeros(32, dtype=np.int64)
            _finish(res, wb, part_line, part_val, ev[2], ev[1])
            results.append((res, srow[:ev[E_NST]], scum[:ev[E_NST]]))
        _assert_same(results[0], results[1], (folds, of_words, of_bw))
        _assert_same(results[0], _plain(folds, of_words, of_bw, none, none, none),
                     (folds, of_words, of_bw))
    assert skipped > 40


def _layers(seed, n):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        df = rng.choice(["os", "ws", "is"])
        R = rng.randint(1, 4)
        st, pad = rng.randint(1, 2), rng.randint(0, 1)
        H = rng.randint(R, 14)
        C, N = rng.randint(1, 12), rng.randint(1, 30)
        g = rng.choice([1, 1, 2, C])
        if C % g or N % g:
            g = 1
        E = (H + 2 * pad - R) // st + 1
        if E < 1:
            continue
        layer = Layer("x", "conv2d", (C, H, H), (N, E, E), (R, R), (st, st), (pad, pad),
                      groups=g)
        arch = Arch("t", rng.randint(1, 10), rng.randint(1, 10), df, 1, 1, 1)
        out.append((layer, arch, rng.choice([1, 1, 2])))
    return out


@pytest.mark.parametrize("seed", [7, 8])
def test_events_equal_the_walk_kernel(seed):
    """Real layers (padding, strides, groups, batch), the ofmap buffer sized and lined at
    random: the write-buffer fields equal _walk_kernel's."""
    rng = random.Random(seed)
    for layer, arch, batch in _layers(seed, 40):
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im2col = geometry(mp, ad, DF_CODE[mp.dataflow])
        of_words, of_bw = _buffer(rng, folds.array_cols)
        bufs = Buffers(False, 64, 64, ad.space, folds.groups * folds.filters * folds.window,
                       1, 1, of_words, of_bw, 1)
        paths = FastPaths(True, True, _ifmap_fold_span(folds, im2col), False, False, True)
        ref = _walk_kernel(folds, im2col, bufs, paths, 0, 0, no_read_buffer(64),
                           no_read_buffer(64))
        res = np.zeros(32, dtype=np.int64)
        _ofmap_events(folds, of_words, of_bw, res)
        assert [int(res[i]) for i in OF_FIELDS] == [int(ref[i]) for i in OF_FIELDS], \
            (layer, arch, batch, of_words, of_bw)
