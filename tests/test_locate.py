"""calc_epochs._locate without its stored row table (the path a distinct or closed-form operand
takes to find its last epoch boundary's row): every valid position of a group's stream, from
fold 0, against the stream walked lane by lane (addresses._addr), for both operands of every
dataflow, with padding, strides, the ceil rule's extra pixel, groups, partial folds and
stationary blocks (ws filter, is ifmap) counted by rows."""

from __future__ import annotations

import random

import numpy as np
import pytest

from accelsim.common.errors import InputError
from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import addresses as A
from accelsim.engine.memory import calc_epochs as CE
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer


def _layer(rng):
    C = rng.choice([1, 2, 3, 5, 8])
    H, W = rng.randint(2, 9), rng.randint(2, 9)
    R, S = rng.choice([1, 2, 3]), rng.choice([1, 2, 3])
    st, pad = rng.choice([1, 2]), rng.choice([0, 0, 1, 2])
    g = rng.choice([1, 1, C])
    E0, F0 = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
    if E0 < 1 or F0 < 1:
        return None
    try:
        return Layer("x", "conv2d", (C, H, W), (g * rng.randint(1, 3), E0 + rng.choice([0, 1]),
                     F0), (R, S), (st, st), (pad, pad), groups=g)
    except InputError:
        return None


@pytest.mark.parametrize("seed", [5, 6])
def test_locate_equals_the_walked_stream(seed):
    rng = random.Random(seed)
    seen = {"os": 0, "ws": 0, "is": 0, "padded_is": 0, "partial_row_fold": 0}
    n = 0
    while n < 45:
        layer = _layer(rng)
        if layer is None:
            continue
        df = ("os", "ws", "is")[n % 3]
        arch = Arch("a", rng.randint(1, 6), rng.randint(1, 6), df, 1, 1, 1)
        mp = map_layer(layer, arch, rng.choice([1, 2]))
        folds, im = A.geometry(mp, ifmap_addressing(layer, mp.batch), A.DF_CODE[df])
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        none = np.zeros(1, dtype=np.int32)
        cf, rf = folds.col_folds, folds.row_folds
        for ifmap in (True, False):
            rows = []                  # the row of every valid position of group 0's folds
            for f in range(cf * rf):
                c, r = (f // rf) % cf, f % rf
                for tau in range(rows_fold):
                    lo, hi = A._lanes(folds, ifmap, tau)
                    for j in range(lo, hi + 1):
                        if A._addr(folds, im, ifmap, 0, c, r, tau, j) >= 0:
                            rows.append(f * rows_fold + tau)
            for q in range(len(rows)):
                assert CE._locate(folds, im, ifmap, 0, q, none, rows_fold, pm, pk) == rows[q]
            if ifmap and df == "is" and len(rows) < mp.M * mp.K:
                seen["padded_is"] += 1
        seen[df] += 1
        seen["partial_row_fold"] += folds.window % folds.array_rows != 0
        n += 1
    assert min(seen.values()) > 0, seen
