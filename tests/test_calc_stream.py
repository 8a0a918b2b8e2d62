"""The streamed CALC epoch scan (engine/memory/calc_stream.py, used for ifmap units above
calc_epochs._STREAM_POSITIONS positions) against a brute-force read buffer written here (a set
of the epoch's words, cleared every E new words, over the explicit ifmap stream of every unit)
and against the stored-unit scan (calc_epochs._epochs), on random small convs, arrays and epochs.
Large units (batch >= 19 on ResNet-50) are covered by tests/test_exact_sample.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import addresses as A
from accelsim.engine.memory import calc_epochs as CE
from accelsim.engine.memory import calc_stream as CS
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _brute(folds, im, E, rows_fold, uf, n_u, nunits):
    """(boundaries, words since the last, row of the last boundary): the buffer word by word."""
    rb, cb, pb, wr, wc, wo, H, W, goff = im
    df, AR, AC, M, N, K, G, rf, cf = folds
    seen, cnt, nsh, row = set(), 0, 0, -1
    for u in range(nunits):
        g = u // n_u                       # units of a segment re-read one group's words
        for f in range(uf):
            c, r = (f // rf) % cf, f % rf
            for tau in range(rows_fold):
                lo, hi = A._lanes(folds, True, tau)
                for j in range(lo, hi + 1):
                    m, k = A._slot_mk(df, True, c, r, tau, j, AR, AC)
                    if m >= M or k >= K:
                        continue
                    y, x = rb[m] + wr[k], cb[m] + wc[k]
                    if not (0 <= y < H and 0 <= x < W):
                        continue
                    a = int(pb[m] + wo[k]) + g * int(goff)
                    if a in seen:
                        continue
                    seen.add(a)
                    cnt += 1
                    if cnt == E:
                        nsh, cnt, seen = nsh + 1, 0, set()
                        row = (u * uf + f) * rows_fold + tau
    return nsh, cnt, row


def _cases(n, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        C = rng.choice([1, 2, 3, 4, 8])
        H = rng.choice([4, 5, 7, 9])
        k = rng.choice([2, 3, 5])
        s = rng.choice([1, 1, 2])
        p = rng.choice([0, 1, 2])
        g = rng.choice([1, 1, C])
        n_f = g * rng.choice([1, 2, 3]) if g > 1 else rng.choice([2, 5, 9])
        E_out = (H + 2 * p - k) // s + 1
        if E_out < 1:
            continue
        layer = Layer("x", "conv2d", (C, H, H), (n_f, E_out, E_out), (k, k), (s, s), (p, p),
                      groups=g)
        arch = Arch("a", rng.choice([1, 2, 3, 4, 8]), rng.choice([1, 2, 3, 4, 8]),
                    rng.choice(["os", "ws", "is"]), 1, 1, 1)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, A.DF_CODE[mp.dataflow])
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L == 0:
            continue
        E = rng.choice([1, 2, 3, 7, 20, 64, 65, max(1, L // 3), L, L + 1])
        if folds.dataflow == 2:
            uf, n_u = folds.col_folds * folds.row_folds, 1
        else:
            uf, n_u = folds.row_folds, folds.col_folds
        nunits = folds.groups * folds.col_folds * folds.row_folds // uf
        out.append((folds, im, E, rows_fold, L, ad.space, uf, n_u, nunits, pm, pk))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_streamed_epochs_equal_brute_force_and_stored_scan(seed):
    for folds, im, E, rows_fold, L, space, uf, n_u, nunits, pm, pk in _cases(60, seed):
        got = tuple(int(v) for v in CS._epochs_streamed(folds, im, E, rows_fold, L, space, uf,
                                                        n_u, nunits))
        assert got == _brute(folds, im, E, rows_fold, uf, n_u, nunits), (folds, E)
        stored = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space)
        assert got == tuple(int(v) for v in stored), (folds, E)
        # the walk table's epoch stamps wrapping around every 1, 2 or 3 epochs (every 65535)
        for stamps in (1, 2, 3):
            wrapped = CS._epochs_streamed(folds, im, E, rows_fold, L, space, uf, n_u, nunits,
                                          stamps)
            assert tuple(int(v) for v in wrapped) == got, (folds, E, stamps)
        # weight stationary, a batch: the summary taken sample by sample, or in stream order
        rowwise = CS._epochs_streamed(folds, im, E, rows_fold, L, space, uf, n_u, nunits,
                                      CS._STAMPS, CS._NEAR, False)
        assert tuple(int(v) for v in rowwise) == got, (folds, E)
        # previous occurrences more than 1, 8 or 40 positions back counted as "far" (the
        # far-mask rule then decides most blocks; 2^14 in use, beyond these small streams)
        for near in (1, 8, 40):
            split = CS._epochs_streamed(folds, im, E, rows_fold, L, space, uf, n_u, nunits,
                                        CS._STAMPS, near)
            assert tuple(int(v) for v in split) == got, (folds, E, near)


def test_streamed_scan_holds_no_array_per_position():
    """Its tables are per ifmap word and per block of 64 positions (memory bounded by the
    ifmap, not the stream): the summary of a unit is 32 bytes per 64 positions."""
    folds, im, E, rows_fold, L, space, uf, n_u, nunits, pm, pk = _cases(1, 3)[0]
    tables = CS._summary(folds, im, uf, L, space, rows_fold, CS._NEAR)
    assert sum(t.nbytes for t in tables) == 32 * ((L + 63) // 64)


def test_samples_are_found_in_a_batch():
    layer = Layer("x", "conv2d", (3, 7, 7), (4, 4, 4), (3, 3), (2, 2), (1, 1))
    for batch in (1, 3):
        mp = map_layer(layer, Arch("a", 4, 4, "ws", 1, 1, 1), batch)
        folds, im = A.geometry(mp, ifmap_addressing(layer, batch), 1)
        n_s, ef, sw = CS._samples(folds, im)
        assert (n_s, ef) == ((batch, 16) if batch > 1 else (1, 16))
        if batch > 1:
            assert sw == 3 * 7 * 7
