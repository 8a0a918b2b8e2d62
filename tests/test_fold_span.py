"""The folds that read a real ifmap word (addresses._fold_reads_ifmap, which tests one window
element per run of channels) against the slot-by-slot definition (_slot on every (row, lane) of
the fold's block), on random layers with padding, strides, groups and all-padding folds."""

from __future__ import annotations

import random

import pytest

from accelsim.engine.mapping import map_layer
from accelsim.engine.memory.addresses import (DF_CODE, _fold_coords, _fold_reads_ifmap,
                                              _ifmap_fold_span, _slot, geometry)
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _reads_slot_by_slot(folds, im2col, f) -> bool:
    df, AR, AC = folds.dataflow, folds.array_rows, folds.array_cols
    T, L = {0: (folds.window, AR), 1: (folds.pixels, AR), 2: (AR, AC)}[df]
    g, c, r = _fold_coords(folds, f)
    return any(_slot(folds, im2col, True, g, c, r, t, j) >= 0
               for t in range(T) for j in range(L))


@pytest.mark.parametrize("seed", [3, 4])
def test_fold_reads_ifmap_equals_the_slot_definition(seed):
    rng = random.Random(seed)
    empty = checked = 0
    while checked < 60:
        df = rng.choice(["os", "ws", "is"])
        R, S = rng.randint(1, 5), rng.randint(1, 5)
        # padding up to the kernel and stride up to 3: windows entirely in the padding, so
        # folds that read nothing exist (the case the per-run test must not miss or invent)
        st, pad = rng.randint(1, 3), rng.randint(0, 4)
        H, W = rng.randint(1, 9), rng.randint(1, 9)
        C = rng.randint(1, 6)
        g = rng.choice([1, 1, C])
        N = g * rng.randint(1, 3)
        E, F = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
        if E < 1 or F < 1:
            continue
        layer = Layer("x", "conv2d", (C, H, W), (N, E, F), (R, S), (st, st), (pad, pad), groups=g)
        arch = Arch("t", rng.randint(1, 9), rng.randint(1, 9), df, 4, 4, 4)
        batch = rng.choice([1, 2])
        mp = map_layer(layer, arch, batch)
        folds, im2col = geometry(mp, ifmap_addressing(layer, batch), DF_CODE[df])
        nf = folds.groups * folds.col_folds * folds.row_folds
        want = [_reads_slot_by_slot(folds, im2col, f) for f in range(nf)]
        got = [bool(_fold_reads_ifmap(folds, im2col, f)) for f in range(nf)]
        assert got == want, (layer, arch, batch)
        if any(want):
            span = list(_ifmap_fold_span(folds, im2col))
            assert span == [want.index(True), nf - 1 - want[::-1].index(True)]
        empty += want.count(False)
        checked += 1
    assert empty > 0          # the draw reached all-padding folds
