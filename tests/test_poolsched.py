"""The fused (sumpool, conv) co-simulation (engine/poolsched.cosim_pair) against an independent
brute-force per-cycle reference (tests/poolref.py), SCALE-Sim's own demand matrices, and known
answers derived by hand (issue 10, item 5)."""

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from accelsim.hardware.arch import Arch, PoolUnit
from accelsim.engine.poolsched import cosim_pair
from accelsim.workload.recipe import structure_layer
from accelsim.workload.layer import Layer, scalesim_out_hw, torch_out_hw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from poolref import demand_rows, simulate_pair  # noqa: E402

ORDERS = ("nhwc", "nchw", "demand", "refold")
COMPARED = ("deadlock", "fused_cycles", "compute_cycles", "array_wait_cycles", "items_made",
            "input_words_read")


def _arch(rows, cols, df, **pool):
    return Arch("t", rows, cols, df, 64, 64, 64, pool=PoolUnit(**pool))


def _words_kb(words):
    """staging_kb holding exactly ``words`` 8-bit words (1024 is a power of two: exact)."""
    return None if words is None else words / 1024


def _pair(C, H, W, N, k, s, p, g, c, n):
    E, F = torch_out_hw(H, W, k, s, p)
    conv = Layer("c", "conv2d", (C, H, W), (N, E, F), k, s, p, groups=g)
    return structure_layer(conv, c, n)


# ---- 1. the demand enumeration is SCALE-Sim's ---------------------------------------------------
def _scalesim_ifmap_demand(C, H, W, N, R, S, s, rows, cols, df):
    from scalesim.compute.operand_matrix import operand_matrix
    from scalesim.compute.systolic_compute_is import systolic_compute_is
    from scalesim.compute.systolic_compute_os import systolic_compute_os
    from scalesim.compute.systolic_compute_ws import systolic_compute_ws
    from scalesim.scale_config import scale_config
    from scalesim.topology_utils import topologies

    cfg = scale_config()
    cfg.set_arr_dims(rows, cols)
    cfg.set_dataflow(df)
    cfg.force_valid()
    topo = topologies()
    topo.append_topo_entry_from_list(["q", H, W, R, S, C, N, s, s])
    om = operand_matrix()
    om.set_params(cfg, topo, 0)
    om.create_operand_matrices()
    comp = {"os": systolic_compute_os, "ws": systolic_compute_ws,
            "is": systolic_compute_is}[df]()
    comp.set_params(cfg, om.ifmap_addr_matrix, om.ofmap_addr_matrix, om.filter_addr_matrix)
    comp.create_demand_matrices()
    return np.asarray(comp.get_ifmap_demand_mat()).astype(np.int64)


# (C, H, W, N, R, S, stride, array rows, array cols): partial row/column folds, several of each,
# R != S, stride 2 with (H - R) divisible by it so SCALE-Sim's ofmap size is torch's
SCALESIM_CONVS = [(3, 5, 5, 5, 3, 3, 2, 4, 3), (2, 4, 6, 3, 2, 2, 2, 3, 2),
                  (1, 3, 3, 1, 1, 1, 1, 2, 2), (4, 6, 6, 6, 3, 3, 1, 5, 4),
                  (2, 7, 5, 4, 3, 1, 2, 3, 5), (5, 3, 4, 2, 1, 2, 1, 1, 3)]


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_demand_rows_equal_scalesim_ifmap_demand(df):
    pytest.importorskip("scalesim")
    for C, H, W, N, R, S, s, rows, cols in SCALESIM_CONVS:
        E, F = torch_out_hw(H, W, (R, S), s, 0)
        assert (E, F) == scalesim_out_hw(H, W, (R, S), s)
        conv = Layer("q", "conv2d", (C, H, W), (N, E, F), (R, S), s)
        want = _scalesim_ifmap_demand(C, H, W, N, R, S, s, rows, cols, df)
        rows_read = demand_rows(conv, Arch("t", rows, cols, df, 64, 64, 64))
        got = np.full((len(rows_read), want.shape[1]), -1, dtype=np.int64)
        for t, row in enumerate(rows_read):
            for lane, v in row:
                got[t, lane] = v
        assert got.shape == want.shape, (df, C, H, W, N, R, S, s, rows, cols)
        assert np.array_equal(got, want), (df, C, H, W, N, R, S, s, rows, cols)


# ---- 2. engine == brute force on random tiny cases -------------------------------------------
def _random_case(rng):
    kind = rng.choice(["dense", "grouped", "depthwise"])
    if kind == "dense":
        g, C = 1, rng.randint(1, 6)
    elif kind == "grouped":
        g, C = 2, 2 * rng.randint(1, 3)
    else:
        C = rng.randint(1, 6)
        g = C
    k, s, p = rng.randint(1, 3), rng.randint(1, 2), rng.randint(0, 1)
    H, W = rng.randint(max(1, k - 2 * p), 7), rng.randint(max(1, k - 2 * p), 7)
    N = g * rng.randint(1, max(1, 6 // g))
    pool, conv = _pair(C, H, W, N, k, s, p, g, rng.randint(1, C // g), rng.randint(1, k))
    staging = None if rng.random() < 0.3 else rng.randint(1, 60)
    arch = _arch(rng.randint(1, 5), rng.randint(1, 5), rng.choice(["os", "ws", "is"]),
                 lanes=rng.randint(1, 4), input_words_per_cycle=rng.randint(1, 6),
                 pipeline_depth=rng.randint(1, 4), order=rng.choice(ORDERS),
                 staging_kb=_words_kb(staging),
                 tree=rng.choice(["direct", "separable", "running"]))
    return pool, conv, arch, rng.randint(1, 2)


def _describe(pool, conv, arch, batch):
    return (f"pool={pool.in_shape}->{pool.out_shape} k={pool.kernel} pad={pool.padding} "
            f"bc={pool.pool_channels} g={pool.groups}; conv k={conv.kernel} s={conv.stride} "
            f"N={conv.out_shape[0]}; array {arch.rows}x{arch.cols} {arch.dataflow}; "
            f"{arch.pool}; batch={batch}")


def _mismatch(eng, ref):
    bad = [f for f in COMPARED if getattr(eng, f) != getattr(ref, f)]
    if not ref.deadlock and eng.staging_peak_words != ref.staging_peak_words:
        bad.append("staging_peak_words")
    return [(f, getattr(eng, f), getattr(ref, f)) for f in bad]


def test_engine_equals_brute_force_on_random_cases():
    rng = random.Random(20261203)
    cases = deadlocks = waits = 0
    seen = set()
    bad = []
    for _ in range(1200):
        pool, conv, arch, batch = _random_case(rng)
        ref = simulate_pair(pool, conv, arch, batch)
        eng = cosim_pair(pool, conv, arch, batch=batch)
        cases += 1
        deadlocks += ref.deadlock
        waits += (not ref.deadlock) and ref.array_wait_cycles > 0
        seen.add((arch.dataflow, arch.pool.order, pool.groups > 1, batch))
        diff = _mismatch(eng, ref)
        if diff:
            bad.append((_describe(pool, conv, arch, batch), diff))
    assert not bad, f"{len(bad)} of {cases} differ (field, engine, reference); first: {bad[:3]}"
    assert deadlocks >= 50 and waits >= 200, (deadlocks, waits)
    assert len(seen) == 3 * 4 * 2 * 2     # every dataflow x order x grouped x batch drawn


# ---- 3. known answers ---------------------------------------------------------------------------
BIG = 10 ** 6   # lanes/ports above any count of these layers


def _first_reading_row(conv, arch, batch):
    """t0 from the geometry: the first demand row whose lanes read anything (SCALE-Sim's skew:
    os reads (m=0, k=0) in row 0, ws after its AR weight-load rows, is reads the last window
    element of the first row fold first, row AR - 1 - (K - 1 - r*AR) of the fold)."""
    C, R, S = conv.in_shape[0], *conv.kernel
    K = C // conv.groups * R * S
    if arch.dataflow == "os":
        return 0
    if arch.dataflow == "ws":
        return arch.rows
    return max(0, arch.rows - K)


def test_fast_unit_gives_compute_plus_depth_when_the_line_buffer_holds_the_input():
    """A unit faster than anything (lanes, ports >= every count, unbounded buffer) makes every
    value in cycle 0 when its reader's lookahead (LB words) spans the whole input; the array
    then waits only for the adder pipeline before its first reading row t0."""
    rng = random.Random(7)
    checked = 0
    while checked < 150:
        pool, conv, arch, batch = _random_case(rng)
        C, H, W = pool.in_shape
        bh = pool.kernel[0]
        order = arch.pool.order
        lb = (pool.pool_channels - 1) * H * W + bh * W if order == "nchw" else bh * W * C
        if lb < batch * C * H * W:
            continue
        depth = arch.pool.pipeline_depth
        fast = replace(arch, pool=replace(arch.pool, lanes=BIG, input_words_per_cycle=BIG,
                                          staging_kb=None))
        s = cosim_pair(pool, conv, fast, batch=batch)
        t0 = _first_reading_row(conv, fast, batch)
        assert not s.deadlock
        assert s.fused_cycles == s.compute_cycles + max(0, depth - t0), _describe(
            pool, conv, fast, batch)
        checked += 1


def test_fast_unit_reader_lookahead_hand_case():
    """Where the lookahead binds, the fast unit makes LB + 1 values per cycle, not all at once.
    Pool 1x1 over a 1x4x1 input (LB = bh*W*C = 1 word), 1x1 conv with 2 filters, is array 1x4:
    cycle 0 reads words 0, 1 (word j needs j - LB <= need'(first unmade) = 0 .. 0+1), makes
    values 0, 1; cycle 1 reads 2, 3, makes 2, 3. The only reading row (t0 = AR - 1 = 0) reads all
    four: a_0 = 1 + D; then T - 1 more rows. T = 2AR + AC + N - 2 = 6."""
    pool, conv = _pair(1, 4, 1, 2, 1, 1, 0, 1, 1, 1)
    for depth in (1, 3):
        arch = _arch(1, 4, "is", lanes=BIG, input_words_per_cycle=BIG, pipeline_depth=depth,
                     order="nhwc", staging_kb=None)
        s = cosim_pair(pool, conv, arch)
        assert (s.compute_cycles, s.items_made, s.input_words_read) == (5, 4, 4)
        assert s.fused_cycles == 1 + depth + 5
        assert s.staging_peak_words == 4


def _single_fold_tail(df, AR, AC, M, N, K):
    """(rows T of the one fold, last row that reads a value), from SCALE-Sim's fold shapes."""
    if df == "os":      # lane j reads k = tau - j: lane M-1 reads k = K-1 last
        return K + AR + AC - 2, (K - 1) + (M - 1)
    if df == "ws":      # AR weight-load rows, then lane j reads m = tau - AR - j
        return 2 * AR + AC + M - 2, AR + (M - 1) + (K - 1)
    return 2 * AR + AC + N - 2, AR - 1   # is: window element 0 is read in row AR - 1


def test_slow_unit_gives_unit_time_plus_array_tail():
    """lanes = 1, one fold, a 1x1 conv (every pooled value read exactly once, in rows t0..t_last
    that each read at least one): value i is made in cycle i, so the end is
    max(T - 1, (n - 1) + D + (T - 1 - t_last)) with n = M*K values."""
    rng = random.Random(11)
    unit_bound = checked = 0
    while checked < 120:
        df = rng.choice(["os", "ws", "is"])
        AR, AC = rng.randint(1, 5), rng.randint(1, 5)
        C, H, W = rng.randint(1, 4), rng.randint(1, 5), rng.randint(1, 5)
        k, s, p = rng.randint(1, 3), rng.randint(1, 2), rng.randint(0, 1)
        if min(H, W) + 2 * p < k:
            continue
        N = rng.randint(1, 5)
        pool, conv = _pair(C, H, W, N, k, s, p, 1, rng.randint(1, C), 1)
        batch = rng.randint(1, 2)
        M = batch * conv.out_shape[1] * conv.out_shape[2]
        K = conv.in_shape[0]
        sr, sc = {"os": (M, N), "ws": (K, N), "is": (K, M)}[df]
        if sr > AR or sc > AC:
            continue
        depth = rng.randint(1, 4)
        T, t_last = _single_fold_tail(df, AR, AC, M, N, K)
        for order in ("demand", "refold"):   # one fold: refold makes each value once too
            arch = _arch(AR, AC, df, lanes=1, input_words_per_cycle=BIG, pipeline_depth=depth,
                         order=order, staging_kb=None)
            sch = cosim_pair(pool, conv, arch, batch=batch)
            assert (sch.compute_cycles, sch.items_made) == (T - 1, M * K)
            want = max(T - 1, (M * K - 1) + depth + (T - 1 - t_last))
            assert sch.fused_cycles == want, _describe(pool, conv, arch, batch)
        unit_bound += want > T - 1
        checked += 1
    assert unit_bound >= 40        # the unit, not the array, sets the end in many of them


def test_staging_deadlock_hand_case():
    """One staging word, os, two column folds, demand order: value 0 (pixel 0, k = 0) is read in
    both column folds, so it holds the only slot until the second fold; row 1 of the first fold
    needs value 1 (pixel 1 of the 1x2 map on lane 1, k = 0): never made."""
    pool, conv = _pair(1, 1, 2, 2, 1, 1, 0, 1, 1, 1)
    arch = _arch(2, 1, "os", lanes=1, input_words_per_cycle=1, pipeline_depth=1,
                 order="demand", staging_kb=_words_kb(1))
    s = cosim_pair(pool, conv, arch)
    assert s.deadlock and s.fused_cycles == -1 and s.array_wait_cycles == -1
    roomy = cosim_pair(pool, conv, replace(arch, pool=replace(arch.pool, staging_kb=_words_kb(2))))
    assert not roomy.deadlock and roomy.fused_cycles >= roomy.compute_cycles


def test_cycles_never_rise_with_more_buffer_lanes_or_ports():
    rng = random.Random(5)
    finished = 0
    for _ in range(250):
        pool, conv, arch, batch = _random_case(rng)
        base = cosim_pair(pool, conv, arch, batch=batch)
        pu = arch.pool
        words = pu.staging_words(arch.word_bits)
        bigger = [replace(pu, lanes=pu.lanes + rng.randint(1, 3)),
                  replace(pu, input_words_per_cycle=pu.input_words_per_cycle + rng.randint(1, 3)),
                  replace(pu, staging_kb=None if words is None or rng.random() < 0.3
                          else _words_kb(words + rng.randint(1, 20)))]
        for more in bigger:
            grown = cosim_pair(pool, conv, replace(arch, pool=more), batch=batch)
            if grown.deadlock:
                assert base.deadlock, _describe(pool, conv, replace(arch, pool=more), batch)
            elif not base.deadlock:
                assert grown.fused_cycles <= base.fused_cycles, _describe(pool, conv, arch, batch)
                finished += 1
    assert finished >= 300


def test_peak_staging_as_the_buffer_reproduces_the_unbounded_run():
    rng = random.Random(9)
    for _ in range(200):
        pool, conv, arch, batch = _random_case(rng)
        free = replace(arch, pool=replace(arch.pool, staging_kb=None))
        unbounded = cosim_pair(pool, conv, free, batch=batch)
        assert not unbounded.deadlock
        peak = unbounded.staging_peak_words
        tight = cosim_pair(pool, conv, replace(arch, pool=replace(arch.pool,
                                                                  staging_kb=_words_kb(peak))),
                           batch=batch)
        assert not tight.deadlock
        assert (tight.fused_cycles, tight.staging_peak_words) == (unbounded.fused_cycles, peak)
        if peak > 1:   # and one word less is never faster (it may deadlock)
            less = cosim_pair(pool, conv, replace(arch, pool=replace(
                arch.pool, staging_kb=_words_kb(peak - 1))), batch=batch)
            assert less.deadlock or less.fused_cycles >= unbounded.fused_cycles


def test_axis_min_against_brute_force():
    """The reader's separable sliding minimum (reads._axis_min, including its window-of-one
    shortcut) against the minimum over each clipped window written out here."""
    from accelsim.engine.poolsched.reads import _axis_min

    rng = np.random.default_rng(5)
    big = np.iinfo(np.int64).max
    for _ in range(400):
        a = rng.integers(0, 50, size=tuple(rng.integers(1, 5, size=rng.integers(1, 4))))
        axis = int(rng.integers(0, a.ndim))
        n, n_out = a.shape[axis], int(rng.integers(1, a.shape[axis] + 4))
        shift, w = int(rng.integers(-3, 3)), int(rng.integers(1, 4))
        got = _axis_min(a.astype(np.int64), axis, n_out, shift, w)
        moved = np.moveaxis(a, axis, -1)
        want = np.full(moved.shape[:-1] + (n_out,), big, np.int64)
        for o in range(n_out):
            lo, hi = max(0, o + shift), min(n - 1, o + shift + w - 1)
            if lo <= hi:
                want[..., o] = moved[..., lo:hi + 1].min(axis=-1)
        assert (got == np.moveaxis(want, -1, axis)).all()
