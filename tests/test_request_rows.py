"""The first / last row of a fold where an operand reads a real word (calc_epochs
``_fold_first_last``: the ifmap per lane from its first / last valid window element or pixel,
the filter in closed form) against the row-by-row scan of every lane (``_row_valid``), fold by
fold, on random layers: padding (folds and rows that read only padding), strides, groups and
depthwise layers, batch, partial edge folds, the three dataflows. Equality, never time."""

from __future__ import annotations

import random

import pytest
from numba import njit

from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import geometry
from accelsim.engine.memory.addresses import DF_CODE, _fold_coords, _fold_rows
from accelsim.engine.memory.calc import _request_rows
from accelsim.engine.memory.calc_epochs import _fold_first_last, _row_valid
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


@njit(cache=False)
def _scan_first_last(folds, im2col, ifmap, f, rows_fold):
    """Every row of the fold, every lane: (first, last) row with a real word, (-1, -1)."""
    g, c, r = _fold_coords(folds, f)
    first, last = -1, -1
    for tau in range(rows_fold):
        if _row_valid(folds, im2col, ifmap, g, c, r, tau, True) > 0:
            if first < 0:
                first = tau
            last = tau
    return first, last


def _layers(seed, n):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        df = rng.choice(["os", "ws", "is"])
        R = rng.randint(1, 5)
        S = rng.choice([R, rng.randint(1, 5)])
        st, pad = rng.randint(1, 3), rng.randint(0, 3)
        H, W = rng.randint(max(R, S), 16), rng.randint(max(R, S), 16)
        C, N = rng.randint(1, 20), rng.randint(1, 30)
        g = rng.choice([1, 1, 2, C])
        if C % g or N % g:
            g = 1
        E, F = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
        if E < 1 or F < 1:
            continue
        layer = Layer("x", "conv2d", (C, H, W), (N, E, F), (R, S), (st, st), (pad, pad),
                      groups=g)
        arch = Arch("t", rng.randint(1, 12), rng.randint(1, 12), df, 1, 1, 1)
        out.append((layer, arch, rng.choice([1, 1, 2])))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fold_first_last_equals_the_row_scan(seed):
    padded_folds = 0
    for layer, arch, batch in _layers(seed, 60):
        mp = map_layer(layer, arch, batch)
        folds, im2col = geometry(mp, ifmap_addressing(layer, batch), DF_CODE[mp.dataflow])
        T, rows_fold = _fold_rows(folds)
        nf = folds.groups * folds.col_folds * folds.row_folds
        for ifmap in (True, False):
            for f in range(nf):
                got = _fold_first_last(folds, im2col, ifmap, f, rows_fold)
                ref = _scan_first_last(folds, im2col, ifmap, f, rows_fold)
                assert tuple(got) == tuple(ref), (layer, arch, batch, ifmap, f)
                padded_folds += ifmap and ref[0] < 0
            # the operand's first / last request rows over the folds
            fa, la = _request_rows(folds, im2col, ifmap, False, 0, nf - 1, rows_fold)
            rows = [(f * rows_fold + a, f * rows_fold + b) for f in range(nf)
                    for a, b in [_scan_first_last(folds, im2col, ifmap, f, rows_fold)]
                    if a >= 0]
            assert (fa, la) == ((rows[0][0], rows[-1][1]) if rows else (-1, -1))
    assert padded_folds > 0      # folds that read only padding were met
