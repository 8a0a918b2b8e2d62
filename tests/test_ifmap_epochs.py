"""The ifmap read buffer's epochs without the slot-by-slot build: the stored unit built from
the framed layout (calc_epochs._build_unit_framed: every slot addressed in the image framed by
its padding, the padding told by one table lookup) against the slot-by-slot build
(_build_unit), and the per-(offset, pixel) tables (ws_epochs.py: weight stationary; os_epochs.py:
output stationary; is_epochs.py: input stationary; array rows up to the channels) against the
stored-unit scan; both against a brute-force read buffer and the plain
walk, on random convs: stride 1 and 2, padding 0-3 (more than the kernel reaches, and
SCALE-Sim's ceil-rule extra pixel past the image), groups, channels below and above the array
rows, batch 1-3, every dataflow, epochs of 1 word to more than the stream. And the row of a
weight-stationary filter position (calc_epochs._locate) against the filter stream."""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

import numpy as np
import pytest

import accelsim.engine.memory as mm
from accelsim.common.errors import InputError
from accelsim.engine.mapping import map_layer
from accelsim.engine.memory import addresses as A
from accelsim.engine.memory import calc_epochs as CE
from accelsim.engine.memory import framed as FR
from accelsim.engine.memory import is_epochs as IS
from accelsim.engine.memory import os_epochs as OS
from accelsim.engine.memory import ws_epochs as WS
from accelsim.engine.operands import ifmap_addressing
from accelsim.hardware.arch import Arch
from accelsim.workload.layer import Layer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_calc_stream import _brute as _brute_units  # noqa: E402


def _layer(rng):
    """A random conv (None when its shape is not one SCALE-Sim accepts)."""
    C = rng.choice([1, 2, 3, 4, 8, 13, 16])
    H, W = rng.randint(3, 11), rng.randint(3, 11)
    R, S = rng.choice([1, 2, 3, 5]), rng.choice([1, 2, 3])
    st, pad = rng.choice([1, 1, 2]), rng.choice([0, 1, 1, 2, 3])
    g = rng.choice([1, 1, 1, 2, C])
    n_f = g * rng.randint(1, 3)
    if C % g:
        return None
    E0, F0 = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
    E_out, F_out = E0 + rng.choice([0, 0, 1]), F0 + rng.choice([0, 0, 1])  # ceil rule
    if E0 < 1 or F0 < 1:
        return None
    try:
        return Layer("x", "conv2d", (C, H, W), (n_f, E_out, F_out), (R, S), (st, st),
                     (pad, pad), groups=g)
    except InputError:
        return None


def _units(folds):
    """(folds per unit, units re-reading a segment's words, units): as calc_epochs._epochs."""
    if folds.dataflow == 2:
        uf, n_u = folds.col_folds * folds.row_folds, 1
    else:
        uf, n_u = folds.row_folds, folds.col_folds
    return uf, n_u, folds.groups * folds.col_folds * folds.row_folds // uf


def _cases(n, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        layer = _layer(rng)
        if layer is None:
            continue
        arch = Arch("a", rng.choice([1, 2, 3, 4, 8, 16]), rng.choice([1, 2, 3, 5, 8]),
                    rng.choice(["os", "ws", "is"]), 1, 1, 1)
        batch = rng.choice([1, 1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, A.DF_CODE[mp.dataflow])
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L == 0:
            continue
        out.append((folds, im, rows_fold, L, ad.space, pm, pk, rng))
    return out


def _brute(folds, im, E, rows_fold):
    """(boundaries, words since the last, row of the last boundary): the buffer word by word
    over the explicit ifmap stream (tests/test_calc_stream.py's, over this layer's units)."""
    return _brute_units(folds, im, E, rows_fold, *_units(folds))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_framed_build_equals_the_slot_build(seed):
    seen = {"os": 0, "ws": 0, "is": 0, "padded": 0, "channels >= rows": 0,
            "channels < rows": 0, "batch": 0, "groups": 0, "ceil pixel": 0, "last slot pad": 0}
    for folds, im, rows_fold, L, space, pm, pk, rng in _cases(80, seed):
        uf = _units(folds)[0]
        ok, pp, bmin, bmax, rstart = CE._build_unit_framed(folds, im, uf, L, rows_fold)
        assert ok
        ref = CE._build_unit(folds, im, uf, L, space, rows_fold)
        assert pp.shape[0] == L + 1              # an entry for a padding slot past the end
        for got, want in zip((pp[:L], bmin, bmax, rstart), ref):
            assert np.array_equal(got, want), folds
        rb, cb, pb, wr, wc, wo, H, W, goff = im
        seen[("os", "ws", "is")[folds.dataflow]] += 1
        seen["padded"] += bool(rb.min() < 0)
        seen["channels >= rows" if goff >= folds.array_rows else "channels < rows"] += 1
        seen["batch"] += bool(pb.max() >= H * W * goff * folds.groups)
        seen["groups"] += folds.groups > 1
        seen["ceil pixel"] += bool(rb.max() + wr.max() >= H or cb.max() + wc.max() >= W)
        # the stream's last slot a padding one: its entry lands past the last position
        seen["last slot pad"] += A._addr(folds, im, True, 0, 0, folds.row_folds - 1,
                                         rows_fold - 1, 0) < 0
    assert min(seen.values()) > 0, seen


@pytest.mark.parametrize("seed", [3, 4])
def test_epochs_from_the_framed_build_equal_brute_force(seed):
    for folds, im, rows_fold, L, space, pm, pk, rng in _cases(50, seed):
        for E in {1, 2, 7, 64, 65, max(1, L // 3), L, L + 1, rng.randint(1, 2 * L)}:
            got = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space)
            assert tuple(int(v) for v in got) == _brute(folds, im, E, rows_fold), (folds, E)


def test_an_addressing_the_frame_does_not_decompose_falls_back():
    """Word offsets that are not (row * W + column) * C + channel (a channel past the group's)
    : no framed layout, and _epochs scans the slot-by-slot build instead."""
    layer = Layer("x", "conv2d", (4, 6, 6), (2, 6, 6), (3, 3), (1, 1), (1, 1))
    mp = map_layer(layer, Arch("a", 4, 4, "ws", 1, 1, 1), 1)
    folds, im = A.geometry(mp, ifmap_addressing(layer, 1), 1)
    odd = im._replace(win_off=im.win_off * 3, group_words=1)
    _, rows_fold = A._fold_rows(folds)
    pm, pk = CE._valid_prefix(folds, odd)
    L = int(pm[folds.pixels])
    assert not FR._framed_layout(folds, odd)[0]
    assert not CE._build_unit_framed(folds, odd, folds.row_folds, L, rows_fold)[0]
    space = int(odd.pix_base.max() + odd.win_off.max()) + 1
    for E in (5, 40):
        got = CE._epochs(folds, odd, True, False, E, rows_fold, pm, pk, space)
        assert tuple(int(v) for v in got) == _brute(folds, odd, E, rows_fold)


@pytest.mark.parametrize("seed", [5])
def test_calc_engine_on_overlapping_windows_equals_the_plain_walk(monkeypatch, seed):
    """Whole layers, the engine (framed build) against _walk_kernel, where the ifmap epochs
    need the stream (windows overlap, more words than one epoch)."""
    walk = mm._walk
    walked = [0]

    def both(folds, im2col, bufs, paths):
        fast = walk(folds, im2col, bufs, paths)
        slow = walk(folds, im2col, bufs, paths._replace(dist_if=False, dist_f=False))
        assert list(fast) == list(slow)
        walked[0] += not (paths.nowalk_if or paths.dist_if)
        return fast

    monkeypatch.setattr(mm, "_walk", both)
    rng = random.Random(seed)
    n = 0
    while n < 40:
        layer = _layer(rng)
        if layer is None or layer.kernel == (1, 1):
            continue
        arch = Arch("t", rng.choice([2, 4, 8, 16]), rng.choice([2, 4, 8]),
                    rng.choice(["os", "ws", "is"]), 1, 1, 1)
        mm.simulate_memory(layer, arch, map_layer(layer, arch, rng.choice([1, 2])))
        n += 1
    assert walked[0] > 10


def _ws_cases(n, seed):
    """Weight-stationary layers with array rows up to the channels per group (ws_epochs'
    case): rows dividing the channels (one offset per fold) or not (two), one-row arrays,
    a partial last fold, groups, batch."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        layer = _layer(rng)
        if layer is None:
            continue
        cg = layer.in_shape[0] // layer.groups
        AR = rng.choice([a for a in (1, 2, 3, 4, 5, 8, 16) if a <= cg])
        arch = Arch("a", AR, rng.choice([1, 2, 3, 5]), "ws", 1, 1, 1)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, 1)
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L > 0:
            out.append((folds, im, rows_fold, L, ad.space, pm, pk, rng))
    return out


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_ws_offset_tables_equal_the_stored_unit_scan_and_brute_force(seed):
    seen = {"rows = channels": 0, "rows divide": 0, "rows do not divide": 0, "one row": 0,
            "partial fold": 0, "groups": 0, "batch": 0, "one sample's tables": 0, "stride 2": 0,
            "epoch past a lap": 0, "epoch of 1": 0, "no boundary": 0}
    for folds, im, rows_fold, L, space, pm, pk, rng in _ws_cases(60, seed):
        assert WS._ws_tables(folds, im)[0]
        for E in sorted({1, 2, 3, 7, 64, max(1, L // 3), L, L + 1, rng.randint(1, 2 * L)}):
            ok, nsh, cnt, row = WS._epochs_ws(folds, im, E, rows_fold, 1 << 60)
            assert ok
            ref = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space, False)
            assert (nsh, cnt, row) == tuple(int(v) for v in ref), (folds, E)
            if E in (1, 7, L + 1):
                assert (nsh, cnt, row) == _brute(folds, im, E, rows_fold), (folds, E)
            # the routed call takes the tables
            assert (nsh, cnt, row) == tuple(
                int(v) for v in CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space))
            seen["epoch past a lap"] += E > L // max(1, folds.row_folds)
            seen["epoch of 1"] += E == 1
            seen["no boundary"] += nsh == 0
        cg, AR = im.group_words, folds.array_rows
        seen["rows = channels" if cg == AR else ("rows divide" if cg % AR == 0
                                                 else "rows do not divide")] += 1
        seen["partial fold"] += folds.window % AR != 0
        seen["one row"] += folds.array_rows == 1
        seen["groups"] += folds.groups > 1
        seen["batch"] += bool(im.pix_base.max() >= im.height * im.width * im.group_words
                              * folds.groups)
        # a batch's tables are sample 0's, the counts repeated per sample
        seen["one sample's tables"] += WS._sample_period(folds, im) < folds.pixels
        seen["stride 2"] += bool(im.row_base[1] - im.row_base[0] == 2 or
                                 im.col_base[1] - im.col_base[0] == 2) if folds.pixels > 1 else 0
    assert min(seen.values()) > 0, seen


def test_ws_offset_tables_decline_other_layers():
    """More array rows than channels per group (a fold then reads a word twice), input
    stationary: no tables, and _epochs scans the stored unit."""
    layer = Layer("x", "conv2d", (6, 7, 7), (4, 7, 7), (3, 3), (1, 1), (1, 1))
    for AR, df in ((7, "ws"), (8, "ws"), (3, "is")):
        mp = map_layer(layer, Arch("a", AR, 4, df, 1, 1, 1), 1)
        folds, im = A.geometry(mp, ifmap_addressing(layer, 1), A.DF_CODE[df])
        assert not WS._ws_tables(folds, im)[0]
        _, rows_fold = A._fold_rows(folds)
        # weight stationary with more rows than channels: the narrow tables instead
        assert WS._epochs_ws(folds, im, 20, rows_fold, 1 << 60)[0] == (df == "ws")
    for AR in (3, 4, 6):
        mp = map_layer(layer, Arch("a", AR, 4, "ws", 1, 1, 1), 1)
        folds, im = A.geometry(mp, ifmap_addressing(layer, 1), 1)
        assert WS._ws_tables(folds, im)[0]



@pytest.mark.parametrize("seed", [1, 2])
def test_ws_fold_runs_give_every_lane_its_parameters(seed):
    """_fold_runs cuts a fold's lanes in closed form; every lane of every run must carry the
    offset, d, eq, eq's lane and side of jb that _lane_params gives it alone."""
    rng = random.Random(seed)
    for _ in range(3000):
        AR = rng.choice([1, 2, 3, 4, 5, 8, 16, 24])
        cg = rng.randint(AR, 3 * AR + 2)
        RS = rng.randint(1, 6)
        K = RS * cg
        rf = -(-K // AR)
        nf = rng.randint(1, 3) * rf
        F = rng.randint(0, nf - 1)
        fb = rng.randint(-1, F)
        jb = rng.randint(0, AR - 1)
        ru = min(AR, K - F % rf * AR)
        runs = np.zeros((8, 8), dtype=np.int64)
        nr = WS._fold_runs(F, fb, rf, K, AR, cg, RS, ru, jb, runs)
        assert runs[0, 0] == 0 and runs[1, nr - 1] == ru
        for i in range(nr):
            assert runs[0, i] < runs[1, i] and (i == 0 or runs[0, i] == runs[1, i - 1])
            for j in range(runs[0, i], runs[1, i]):
                o, d, eq, jp = WS._lane_params(F, fb, rf, K, AR, cg, RS, j)
                assert (o, d, eq) == tuple(runs[2:5, i]), (AR, cg, RS, F, fb, j)
                if eq:
                    assert (jp, jp > jb) == (runs[5, i] + j, bool(runs[6, i]))


def _narrow_layer(rng):
    """A random conv with few channels per group (fewer than most array rows), strides 1-3."""
    C = rng.choice([1, 2, 3, 4, 6])
    H, W = rng.randint(3, 11), rng.randint(3, 11)
    R, S = rng.choice([1, 2, 3, 5, 7]), rng.choice([1, 2, 3])
    st, pad = rng.choice([1, 2, 2, 3]), rng.choice([0, 1, 2, 3])
    g = rng.choice([1, 1, 1, 2, C])
    if C % g:
        return None
    E0, F0 = (H + 2 * pad - R) // st + 1, (W + 2 * pad - S) // st + 1
    if E0 < 1 or F0 < 1:
        return None
    try:
        return Layer("x", "conv2d", (C, H, W), (g * rng.randint(1, 3), E0 + rng.choice([0, 0, 1]),
                     F0 + rng.choice([0, 0, 1])), (R, S), (st, st), (pad, pad), groups=g)
    except InputError:
        return None


def _ws_narrow_cases(n, seed):
    """Weight-stationary layers with more array rows than channels per group (ws_epochs'
    narrow tables): a fold holds several offsets of a channel."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        layer = _narrow_layer(rng)
        if layer is None:
            continue
        cg = layer.in_shape[0] // layer.groups
        AR = rng.choice([a for a in (2, 3, 4, 5, 7, 8, 16, 32) if a > cg])
        arch = Arch("a", AR, rng.choice([1, 2, 3, 5]), "ws", 1, 1, 1)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, 1)
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L > 0:
            out.append((folds, im, rows_fold, L, ad.space, pm, pk, rng))
    return out


@pytest.mark.parametrize("seed", [16, 17, 18])
def test_ws_narrow_tables_equal_the_stored_unit_scan_and_brute_force(seed):
    seen = {"stride 1": 0, "stride 2": 0, "stride 3": 0, "padded": 0, "ceil pixel": 0,
            "groups": 0, "batch": 0, "one sample's tables": 0, "two channel classes": 0,
            "read reordered in a fold": 0,
            "several fold cuts": 0, "epoch of 1": 0, "no boundary": 0}
    for folds, im, rows_fold, L, space, pm, pk, rng in _ws_narrow_cases(60, seed):
        ok, RS, cls, rank, nv, vals, shf, base, pre = WS._narrow_tables(folds, im)
        assert ok
        for E in sorted({1, 2, 3, 7, 64, max(1, L // 3), L, L + 1, rng.randint(1, 2 * L)}):
            got = WS._epochs_ws_narrow(folds, im, E, rows_fold, 1 << 60)
            assert got[0]
            nsh, cnt, row = got[1:]
            ref = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space, False)
            assert (nsh, cnt, row) == tuple(int(v) for v in ref), (folds, E)
            if E in (1, 7, L + 1):
                assert (nsh, cnt, row) == _brute(folds, im, E, rows_fold), (folds, E)
            seen["epoch of 1"] += E == 1
            seen["no boundary"] += nsh == 0
        rb, cb, pb, wr, wc, wo, H, W, goff = im
        steps = np.r_[np.diff(rb), np.diff(cb)]
        st = int(steps[steps > 0].min()) if (steps > 0).any() else 1
        seen["stride %d" % st] += st <= 3
        seen["padded"] += bool(rb.min() < 0 or cb.min() < 0)
        seen["ceil pixel"] += bool(rb.max() + wr.max() >= H or cb.max() + wc.max() >= W)
        seen["groups"] += folds.groups > 1
        seen["batch"] += bool(pb.max() >= H * W * goff * folds.groups)
        seen["one sample's tables"] += WS._sample_period(folds, im) < folds.pixels
        seen["two channel classes"] += int(cls.max()) > 0
        seen["read reordered in a fold"] += any(vals[oc, i] < 0 for oc in range(len(nv))
                                                for i in range(nv[oc]))
        seen["several fold cuts"] += folds.row_folds > 2
    assert min(seen.values()) > 0, seen


def test_ws_narrow_tables_decline_past_their_budget():
    """The narrow path's estimate (tables + epochs) over the budget: declined before the
    build; the routed call then scans the stored unit, with the same result."""
    layer = Layer("x", "conv2d", (3, 9, 9), (4, 5, 5), (3, 3), (2, 2), (1, 1))
    mp = map_layer(layer, Arch("a", 8, 2, "ws", 1, 1, 1), 1)
    ad = ifmap_addressing(layer, 1)
    folds, im = A.geometry(mp, ad, 1)
    _, rows_fold = A._fold_rows(folds)
    assert WS._epochs_ws(folds, im, 5, rows_fold, 1 << 60)[0]
    for budget in (0, 100):
        assert not WS._epochs_ws(folds, im, 5, rows_fold, budget)[0]

def _os_cases(n, seed):
    """Output-stationary layers: array rows up to the channels per group (dividing them or
    not, one-row arrays) or past them (a word's reads in a fold by row o * cg + lane, not by
    offset), a partial last pixel fold."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        layer = _layer(rng)
        if layer is None:
            continue
        cg = layer.in_shape[0] // layer.groups
        AR = rng.randint(1, min(cg, 16)) if rng.random() < 0.6 else rng.randint(cg + 1, cg + 12)
        arch = Arch("a", AR, rng.choice([1, 2, 3, 5]), "os", 1, 1, 1)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, 0)
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L > 0:
            out.append((folds, im, rows_fold, L, ad.space, pm, pk, rng))
    return out


@pytest.mark.parametrize("seed", [9, 10, 11])
def test_os_offset_tables_equal_the_stored_unit_scan_and_brute_force(seed):
    seen = {"rows divide": 0, "rows do not divide": 0, "one row": 0, "groups": 0,
            "batch": 0, "partial fold": 0, "epoch of 1": 0, "no boundary": 0, "declined": 0,
            "rows > channels": 0}
    for folds, im, rows_fold, L, space, pm, pk, rng in _os_cases(60, seed):
        assert OS._os_tables(folds, im)[0]
        nunits = folds.groups * folds.col_folds
        for E in sorted({1, 2, 3, 7, 64, max(1, L // 3), L, L + 1, rng.randint(1, 2 * L)}):
            ok, nsh, cnt, row = OS._epochs_os(folds, im, E, rows_fold, 1 << 60)
            assert ok
            ref = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space, False)
            assert (nsh, cnt, row) == tuple(int(v) for v in ref), (folds, E)
            if E in (1, 7, L + 1):
                assert (nsh, cnt, row) == _brute(folds, im, E, rows_fold), (folds, E)
            # the routed call: the tables, or the stored unit past the budget
            routed = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space)
            assert (nsh, cnt, row) == tuple(int(v) for v in routed)
            seen["declined"] += not OS._epochs_os(folds, im, E, rows_fold,
                                                  CE._os_budget(L, nunits))[0]
            seen["epoch of 1"] += E == 1
            seen["no boundary"] += nsh == 0
        seen["rows divide" if im.group_words % folds.array_rows == 0
             else "rows do not divide"] += 1
        seen["one row"] += folds.array_rows == 1
        seen["rows > channels"] += folds.array_rows > im.group_words
        seen["groups"] += folds.groups > 1
        seen["batch"] += bool(im.pix_base.max() >= im.height * im.width * im.group_words
                              * folds.groups)
        seen["partial fold"] += folds.pixels % folds.array_rows != 0
    assert min(seen.values()) > 0, seen


def test_os_scan_past_its_budget_declines():
    """A budget of no lane-offset visits: the scan stops at once (the caller then builds the
    stored unit), at a fold end or at a unit's end by projection."""
    layer = Layer("x", "conv2d", (8, 9, 9), (4, 9, 9), (3, 3), (1, 1), (1, 1))
    mp = map_layer(layer, Arch("a", 4, 2, "os", 1, 1, 1), 1)
    folds, im = A.geometry(mp, ifmap_addressing(layer, 1), 0)
    _, rows_fold = A._fold_rows(folds)
    assert OS._epochs_os(folds, im, 50, rows_fold, 1 << 60)[0]
    for budget in (0, 100):
        assert not OS._epochs_os(folds, im, 50, rows_fold, budget)[0]


def test_os_offset_tables_decline_other_layers():
    """Another dataflow: no tables."""
    layer = Layer("x", "conv2d", (6, 7, 7), (4, 7, 7), (3, 3), (1, 1), (1, 1))
    for AR, df in ((4, "ws"), (3, "is")):
        mp = map_layer(layer, Arch("a", AR, 4, df, 1, 1, 1), 1)
        folds, im = A.geometry(mp, ifmap_addressing(layer, 1), A.DF_CODE[df])
        assert not OS._os_tables(folds, im)[0]


def _os_segment_stream(folds, im):
    """Group 0's segment of an output-stationary ifmap stream slot by slot (as the walk: folds,
    rows, lanes): per (fold, row, lane) its stream position and the position of its word's
    latest earlier read in the segment (-1: none; None: a padding slot), and per position
    its (fold, row, lane)."""
    rb, cb, pb, wr, wc, wo, H, W, goff = im
    df, AR, AC, M, N, K, G, rf, cf = folds
    rows_fold = A._fold_rows(folds)[1]
    slots, where, last = {}, [], {}
    for F in range(cf * rf):
        c, r = F // rf, F % rf
        for tau in range(rows_fold):
            lo, hi = A._lanes(folds, True, tau)
            for j in range(lo, hi + 1):
                m, k = A._slot_mk(df, True, c, r, tau, j, AR, AC)
                if m >= M or k >= K:
                    continue
                y, x = rb[m] + wr[k], cb[m] + wc[k]
                prev = None
                if 0 <= y < H and 0 <= x < W:
                    a = int(pb[m] + wo[k])
                    prev = last.get(a, -1)
                    last[a] = len(where)
                slots[F, tau, j] = (len(where), prev)
                where.append((F, tau, j))
    return slots, where


@pytest.mark.parametrize("seed", [19, 20])
def test_os_row_counts_equal_a_slot_by_slot_buffer(seed):
    """_count_rows and _is_new (one key per offset and pixel: the latest earlier read's row on
    one axis over the folds, and its lane) against the words a buffer emptied at a boundary
    slot reads again, slot by slot, over random row ranges and boundaries: ranges crossing
    window offsets, the boundary in the same fold (its row's later lanes read after it) or an
    earlier one or before the segment, strides 1-3, padding, batch, groups, partial folds,
    more array rows than channels; and a whole fold's total without a count (_fold_totals)."""
    rng = random.Random(seed)
    seen = {"crosses offsets": 0, "boundary same fold": 0, "boundary earlier fold": 0,
            "segment start": 0, "read on the boundary row, later lane": 0, "stride 3": 0,
            "padded": 0, "batch": 0, "groups": 0, "partial fold": 0, "rows == channels": 0,
            "rows > channels": 0, "fold total, reads on both sides of the boundary": 0}
    cases = 0
    while cases < 40:
        layer = (_narrow_layer if rng.random() < 0.5 else _layer)(rng)
        if layer is None:
            continue
        cg = layer.in_shape[0] // layer.groups
        AR = rng.randint(1, cg) if rng.random() < 0.6 else rng.randint(cg + 1, 3 * cg + 4)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, Arch("a", AR, rng.choice([1, 2, 3]), "os", 1, 1, 1), batch)
        folds, im = A.geometry(mp, ifmap_addressing(layer, batch), 0)
        df, AR, AC, M, N, K, G, rf, cf = folds
        if M * K * cf > 40000:
            continue
        ok, RS, key, hist = OS._os_tables(folds, im)
        assert ok
        cases += 1
        bits, rows_span = OS._lane_bits(AR), K + AR
        # a whole fold's new words without a count (_fold_totals), against the count
        d_small, d_big, d_max, big_fold = OS._fold_totals(key, hist, AR, M, rf, rows_span, bits)
        for r in range(rf):
            ru = min(AR, M - r * AR)
            for D in {d_small + 1, d_big - 1, d_max + 1, d_max + 2}:
                if D < 1 or not (D > d_max or d_small < D < d_big):
                    continue
                t_b = -D * rows_span + rng.randrange(rows_span)
                want = 0 if D > d_max else cg * int(big_fold[r])
                assert OS._count_rows(key, r, ru, AR, cg, K, 0, K + ru - 1, t_b,
                                      rng.randrange(ru), bits) == want
                seen["fold total, reads on both sides of the boundary"] += D < d_big
        slots, where = _os_segment_stream(folds, im)
        for _ in range(40):
            F = rng.randrange(cf * rf)
            r, ru = F % rf, min(AR, M - F % rf * AR)
            fb = rng.randrange(-1, F + 1)
            if fb < 0:
                B, tb, jb = -1, rows_span - 1, 0
            else:
                B, tb, jb = slots[rng.choice([s for s in slots if s[0] == fb])][0], 0, 0
                _, tb, jb = where[B]
            t0 = tb + 1 if fb == F else rng.randrange(K + ru - 1)
            if t0 >= K + ru - 1:
                continue
            t1 = rng.randrange(t0 + 1, K + ru)
            t_b = (fb - F) * rows_span + tb
            want = 0
            for (f, tau, j), (p, prev) in slots.items():
                if f == F and t0 <= tau < t1 and prev is not None:
                    new = prev <= B
                    want += new
                    m, k = r * AR + j, tau - j
                    assert bool(OS._is_new(key[k // cg, m], k % cg, t_b, jb, bits)) == new
                    if prev >= 0 and fb >= 0:
                        pf, ptau, pj = where[prev]
                        seen["read on the boundary row, later lane"] += (pf, ptau) == (fb, tb) \
                            and pj > jb
            assert OS._count_rows(key, r, ru, AR, cg, K, t0, t1, t_b, jb, bits) == want
            seen["crosses offsets"] += any((t0 - j) // cg != (t1 - 1 - j) // cg
                                           for j in range(ru))
            seen["boundary same fold"] += fb == F
            seen["boundary earlier fold"] += 0 <= fb < F
            seen["segment start"] += fb < 0
        seen["stride 3"] += layer.stride[0] == 3
        seen["padded"] += any(p is None for _, p in slots.values())
        seen["batch"] += batch > 1
        seen["groups"] += G > 1
        seen["partial fold"] += M % AR != 0
        seen["rows == channels"] += AR == cg
        seen["rows > channels"] += AR > cg
    assert min(seen.values()) > 0, seen


def test_filter_position_rows_of_weight_stationary_units():
    """calc_epochs._locate for a weight-stationary filter unit (whole column folds skipped at
    once) against the filter stream walked slot by slot, at every position of the unit."""
    rng = random.Random(12)
    n = 0
    while n < 12:
        layer = _layer(rng)
        if layer is None:
            continue
        mp = map_layer(layer, Arch("a", rng.choice([1, 2, 3, 4]), rng.choice([1, 2, 3]), "ws",
                                   1, 1, 1), 1)
        folds, im = A.geometry(mp, ifmap_addressing(layer, 1), 1)
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        one = np.zeros(1, dtype=np.int32)
        df, AR, AC, M, N, K, G, rf, cf = folds
        rows = []                          # the row of every filter position of group 0
        for f in range(cf * rf):
            c, r = (f // rf) % cf, f % rf
            for tau in range(rows_fold):
                lo, hi = A._lanes(folds, False, tau)
                for j in range(lo, hi + 1):
                    if A._addr(folds, im, False, 0, c, r, tau, j) >= 0:
                        rows.append(f * rows_fold + tau)
        assert len(rows) == N * K
        for q in range(len(rows)):
            assert CE._locate(folds, im, False, 0, q, one, rows_fold, pm, pk) == rows[q]
        n += 1


def _is_cases(n, seed):
    """Input-stationary layers (is_epochs' case): array rows up to the channels per group
    (dividing them or not), a multiple of them, or more and splitting an offset between folds;
    one-row arrays, a partial last row fold (elements) and column fold (pixels), groups,
    batch."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        layer = _layer(rng)
        if layer is None:
            continue
        cg = layer.in_shape[0] // layer.groups
        AR = rng.choice([rng.randint(1, min(cg, 16)), rng.randint(1, 32)])
        arch = Arch("a", AR, rng.choice([1, 2, 3, 5, 8]), "is", 1, 1, 1)
        batch = rng.choice([1, 2, 3])
        mp = map_layer(layer, arch, batch)
        ad = ifmap_addressing(layer, batch)
        folds, im = A.geometry(mp, ad, 2)
        _, rows_fold = A._fold_rows(folds)
        pm, pk = CE._valid_prefix(folds, im)
        L = int(pm[folds.pixels])
        if L > 0:
            out.append((folds, im, rows_fold, L, ad.space, pm, pk, rng))
    return out


@pytest.mark.parametrize("seed", [13, 14, 15])
def test_is_offset_tables_equal_the_stored_unit_scan_and_brute_force(seed):
    seen = {"rows = channels": 0, "rows divide": 0, "rows do not divide": 0, "one row": 0,
            "rows a multiple": 0, "rows split an offset": 0, "partial row fold": 0,
            "partial column fold": 0, "padded": 0, "groups": 0, "batch": 0, "stride 2": 0,
            "epoch of 1": 0, "several in a block": 0, "no boundary": 0, "declined": 0,
            "one-channel classes": 0}
    for folds, im, rows_fold, L, space, pm, pk, rng in _is_cases(60, seed):
        cg, AR = im.group_words, folds.array_rows
        if (cg if cg >= AR else math.gcd(cg, AR)) == 1:
            # channel classes of one channel: no tables, the routed call scans the stored unit
            assert not IS._is_tables(folds, im)[0]
            E = rng.randint(1, L)
            routed = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space)
            assert tuple(int(v) for v in routed) == _brute(folds, im, E, rows_fold)
            seen["one-channel classes"] += 1
            continue
        assert IS._is_tables(folds, im)[0]
        for E in sorted({1, 2, 3, 7, 64, max(1, L // 3), L, L + 1, rng.randint(1, 2 * L)}):
            ok, nsh, cnt, row = IS._epochs_is(folds, im, E, rows_fold, 1 << 60)
            assert ok
            ref = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space, False)
            assert (nsh, cnt, row) == tuple(int(v) for v in ref), (folds, E)
            if E in (1, 7, L + 1):
                assert (nsh, cnt, row) == _brute(folds, im, E, rows_fold), (folds, E)
            # the routed call: the tables, or the stored unit past the budget
            routed = CE._epochs(folds, im, True, False, E, rows_fold, pm, pk, space)
            assert (nsh, cnt, row) == tuple(int(v) for v in routed)
            seen["declined"] += not IS._epochs_is(folds, im, E, rows_fold,
                                                  CE._is_budget(L, folds.groups))[0]
            seen["epoch of 1"] += E == 1
            seen["several in a block"] += nsh > folds.groups * folds.col_folds
            seen["no boundary"] += nsh == 0
        if AR > cg:
            seen["rows a multiple" if AR % cg == 0 else "rows split an offset"] += 1
        else:
            seen["rows = channels" if cg == AR else ("rows divide" if cg % AR == 0
                                                     else "rows do not divide")] += 1
        seen["one row"] += AR == 1
        seen["partial row fold"] += folds.window % AR != 0
        seen["partial column fold"] += folds.pixels % folds.array_cols != 0
        seen["padded"] += bool(im.row_base.min() < 0)
        seen["groups"] += folds.groups > 1
        seen["batch"] += bool(im.pix_base.max() >= im.height * im.width * cg * folds.groups)
        seen["stride 2"] += bool(im.row_base[1] - im.row_base[0] == 2 or
                                 im.col_base[1] - im.col_base[0] == 2) if folds.pixels > 1 else 0
    assert min(seen.values()) > 0, seen


def test_is_scan_past_its_budget_declines():
    """A budget of no lane-offset visits: the scan stops at once (the caller then builds the
    stored unit), at a block's end or by projection."""
    layer = Layer("x", "conv2d", (8, 9, 9), (4, 9, 9), (3, 3), (1, 1), (1, 1))
    mp = map_layer(layer, Arch("a", 4, 8, "is", 1, 1, 1), 1)
    folds, im = A.geometry(mp, ifmap_addressing(layer, 1), 2)
    _, rows_fold = A._fold_rows(folds)
    assert IS._epochs_is(folds, im, 50, rows_fold, 1 << 60)[0]
    for budget in (0, 100):
        assert not IS._epochs_is(folds, im, 50, rows_fold, budget)[0]


def test_is_offset_tables_decline_other_layers():
    """Another dataflow, or word offsets that are not (row * W + column) * C + channel (no
    framed layout): no tables, and _epochs scans the stored unit."""
    layer = Layer("x", "conv2d", (6, 7, 7), (4, 7, 7), (3, 3), (1, 1), (1, 1))
    for AR, df in ((4, "os"), (4, "ws"), (4, "is")):
        mp = map_layer(layer, Arch("a", AR, 4, df, 1, 1, 1), 1)
        folds, im = A.geometry(mp, ifmap_addressing(layer, 1), A.DF_CODE[df])
        if df == "is":
            im = im._replace(win_off=im.win_off * 3, group_words=1)
        assert not IS._is_tables(folds, im)[0]
        _, rows_fold = A._fold_rows(folds)
        assert not IS._epochs_is(folds, im, 20, rows_fold, 1 << 60)[0]
        if df == "is":
            pm, pk = CE._valid_prefix(folds, im)
            space = int(im.pix_base.max() + im.win_off.max()) + 1
            got = CE._epochs(folds, im, True, False, 20, rows_fold, pm, pk, space)
            assert tuple(int(v) for v in got) == _brute(folds, im, 20, rows_fold)


@pytest.mark.parametrize("seed", [1, 2])
def test_reuse_classes_count_what_the_block_scan_counts(seed):
    """calc_epochs._reuse_classes / _classes_lt: per block the positions with pp < thr from
    the min / max / count of three reuse-distance classes, against counting the block, on
    previous-occurrence arrays that mix near, middle and far reuses (and first occurrences of
    a re-read unit, pp < 0) and thresholds everywhere; -1 only where a class straddles."""
    rng = np.random.default_rng(seed)
    L = 200_000
    q = np.arange(L)
    kind = rng.integers(0, 4, L)
    dist = np.where(kind == 0, rng.integers(1, 1 << 10, L),
                    np.where(kind == 1, rng.integers(1 << 10, 1 << 16, L),
                             rng.integers(1 << 16, 1 << 20, L)))
    pp = np.where(kind == 3, -rng.integers(1, L, L), q - dist).astype(np.int32)
    cs = CE._reuse_classes(pp, L)
    decided = straddled = 0
    for b in rng.integers(0, (L + 63) // 64, 3000):
        lo, hi = b * 64, min(L, b * 64 + 64)
        for thr in (int(rng.integers(-L, L)), lo - int(rng.integers(0, 1 << 17)), lo, hi):
            n = CE._classes_lt(cs, b, thr)
            ref = CE._count_lt(pp, lo, hi, thr)
            if n < 0:
                # a class whose pp lie on both sides of thr
                straddled += 1
                assert any(cs[b, 3 * c + 2] and cs[b, 3 * c] < thr <= cs[b, 3 * c + 1]
                           for c in range(3))
            else:
                decided += 1
                assert n == ref, (b, thr)
    assert decided > 1000 and straddled > 100
