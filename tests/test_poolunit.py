"""The pool-unit model: counts against executed co-simulation, monotonicity, bounds, placement."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim.hardware.arch import Arch, PoolUnit, load_arch
from accelsim.cli import main
from dataclasses import replace

from accelsim.check.cosim import Counter, pool_direct, pool_running, pool_separable
from accelsim.engine.operands import unique_ifmap_words
from accelsim.engine.poolunit import fuse_structured, pipeline_depth, simulate_sumpool
from accelsim.common.errors import InputError
from accelsim.evaluate.simulate import simulate, simulate_gemm
from accelsim.workload.layer import Layer, Workload, output_elems, sumpool_adds

# ---- the lead's tests (committed in 99a3d57), kept below mine ----
import math  # noqa: E402

from accelsim.engine.poolunit import pool_traffic  # noqa: E402
from accelsim.workload.networks import load_workload  # noqa: E402
from accelsim.workload.recipe import structure_layer  # noqa: E402
from accelsim.workload.layer import input_elems, torch_out_hw, weight_count  # noqa: E402
from accelsim.workload.zoo import NETWORKS  # noqa: E402


@st.composite
def sumpool_layer(draw):
    g = draw(st.sampled_from([1, 2, 4]))
    cg = draw(st.integers(1, 6))
    bc = draw(st.integers(1, cg))
    bh, bw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = draw(st.integers(0, 2))
    H = draw(st.integers(max(1, bh - 2 * p), 9))
    W = draw(st.integers(max(1, bw - 2 * p), 9))
    c = cg - bc + 1
    return Layer("p", "sumpool", (g * cg, H, W), (g * c, H + 2 * p - bh + 1, W + 2 * p - bw + 1),
                 (bh, bw), (1, 1), (p, p), groups=g, pool_channels=bc, c=c, n=2)


def _arch(**pool):
    return Arch("t", 8, 8, "os", 64, 64, 64, pool=PoolUnit(**pool))


@settings(max_examples=40, deadline=None)
@given(sumpool_layer(), st.sampled_from(["direct", "separable"]), st.integers(1, 3))
def test_model_counts_equal_executed_counts(layer, tree, batch):
    row = simulate_sumpool(layer, _arch(tree=tree), batch)
    cnt = Counter()
    x = np.zeros((batch, *layer.in_shape))
    (pool_direct if tree == "direct" else pool_separable)(x, layer, cnt)
    assert row["pool_adds"] == cnt.adds == batch * sumpool_adds(layer, tree)
    assert row["pool_sram_reads"] == cnt.sram_reads
    assert (row["linebuf_reads"], row["linebuf_writes"]) == (cnt.linebuf_reads,
                                                             cnt.linebuf_writes)
    assert row["mults"] == 0


@settings(max_examples=60, deadline=None)
@given(sumpool_layer(), st.sampled_from(["direct", "separable"]), st.integers(1, 64),
       st.integers(1, 64), st.integers(1, 2))
def test_cycles_bounds_and_monotone_in_lanes(layer, tree, lanes, ports, batch):
    arch = _arch(tree=tree, lanes=lanes, input_words_per_cycle=ports)
    row = simulate_sumpool(layer, arch, batch)
    outputs = batch * output_elems(layer)
    assert row["pool_cycles"] >= outputs / lanes
    assert row["pool_cycles"] >= row["pool_sram_reads"] / ports
    assert row["pool_cycles"] > pipeline_depth(layer, arch) >= 1
    more = simulate_sumpool(layer, _arch(tree=tree, lanes=lanes + 1, input_words_per_cycle=ports),
                            batch)
    wider = simulate_sumpool(layer, _arch(tree=tree, lanes=lanes, input_words_per_cycle=ports + 1),
                             batch)
    assert more["pool_cycles"] <= row["pool_cycles"]
    assert wider["pool_cycles"] <= row["pool_cycles"]
    assert (row["bound"] == "memory") == (row["stall_cycles"] > 0)


def test_input_bound_and_depth():
    layer = Layer("p", "sumpool", (64, 8, 8), (33, 9, 9), (2, 2), (1, 1), (1, 1),
                  pool_channels=32, c=33, n=2)
    direct = simulate_sumpool(layer, _arch(tree="direct", lanes=64, input_words_per_cycle=4))
    assert direct["bound"] == "memory" and direct["stall_cycles"] > 0
    # 32*2*2 = 128-input tree: 7 adder levels + the SRAM read
    assert direct["pool_depth"] == 8
    sep = simulate_sumpool(layer, _arch(tree="separable", lanes=1))
    assert sep["bound"] == "pool" and sep["stall_cycles"] == 0
    assert simulate_sumpool(layer, _arch(pipeline_depth=3))["pool_depth"] == 3


def _pair():
    pool = Layer("s", "sumpool", (16, 14, 14), (16, 15, 15), (2, 2), (1, 1), (1, 1),
                 pool_channels=1, c=16, n=2)
    conv = Layer("c", "conv2d", (16, 15, 15), (8, 14, 14), (2, 2), (1, 1), (0, 0), c=16, n=2)
    return pool, conv


@pytest.mark.parametrize("lanes, expect", [(1, "pool"), (256, "array")])
def test_fused_vs_two_pass(lanes, expect):
    pool, conv = _pair()
    out = {}
    for mode in ("fused", "two_pass"):
        arch = _arch(lanes=lanes, mode=mode, staging_kb=None)
        p, c = fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch,
                               pool, conv)
        assert p["pool_schedule"] == mode
        out[mode] = (p, c)
        assert p["bound"] == c["bound"] == expect
    (fp, fc), (tp, tc) = out["fused"], out["two_pass"]
    pool_alone = simulate_sumpool(pool, _arch(lanes=lanes))
    fused_total, two_total = fp["total_cycles"] + fc["total_cycles"], tp["total_cycles"] + tc[
        "total_cycles"]
    assert fused_total < two_total == pool_alone["pool_cycles"] + tc["compute_cycles"]
    assert fused_total >= max(pool_alone["pool_cycles"], fc["compute_cycles"])
    # fused: no pooled map in SRAM, the array's ifmap operands come from the unit
    assert fp["pool_sram_writes"] == 0 and fc["ifmap_sram_reads"] == 0
    assert fc["dram_ifmap_reads"] == 0
    assert tp["pool_sram_writes"] == output_elems(pool) and tc["ifmap_sram_reads"] > 0


def test_simulate_pipeline_and_no_pool_unit():
    pool, conv = _pair()
    wl = Workload("t", "A", (pool, conv), (16, 14, 14))
    arch = load_arch("edge-npu")
    df = simulate(wl, arch)
    assert list(df["engine"]) == ["pool", "array"]
    # the adds the separable stages actually perform (the 2x2 conv reads every pooled value,
    # so the demand order makes each once)
    cnt = Counter()
    pool_separable(np.zeros((1, *pool.in_shape)), pool, cnt)
    assert df["pool_adds"].iloc[0] == cnt.adds
    bare = simulate(wl, arch.with_(pool=None))
    assert bare["engine"].iloc[0] == "array-as-pool"
    # without a unit the all-ones conv multiplies every (C/g)*bh*bw tap of every pooled value
    assert bare["mults"].iloc[0] == output_elems(pool) * 16 * 4


@pytest.mark.parametrize("field, value", [("lanes", 0), ("lanes", -3), ("tree", "ripple"),
                                          ("mode", "sideways"), ("input_words_per_cycle", 0),
                                          ("pipeline_depth", 0), ("order", "zigzag"),
                                          ("on_deadlock", "retry"), ("staging_kb", 0),
                                          ("staging_kb", -8)])
def test_bad_pool_unit(field, value, tmp_path):
    with pytest.raises(InputError, match=f"pool.{field}"):
        _arch(**{field: value})
    y = tmp_path / "a.yaml"
    y.write_text(f"rows: 4\ncols: 4\ndataflow: os\nifmap_sram_kb: 8\nfilter_sram_kb: 8\n"
                 f"ofmap_sram_kb: 8\npool: {{{field}: {value}}}\n")
    assert main(["verify", "-w", "resnet18:A", "--arch", str(y)]) == 2


def test_sumpool_needs_a_pool_unit():
    pool, _ = _pair()
    with pytest.raises(InputError, match="pool"):
        simulate_sumpool(pool, Arch("t", 4, 4, "os", 8, 8, 8))


# ---- tests from 99a3d57 ----
@st.composite
def structured_pair(draw):
    dw = draw(st.booleans())
    C = draw(st.integers(2, 32))
    g = C if dw else 1
    N = draw(st.sampled_from([1, 3, 5])) if not dw else draw(st.sampled_from([3, 5]))
    s, p = draw(st.integers(1, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(N, 20))
    E, F = torch_out_hw(H, H, N, s, p)
    K = C if dw else draw(st.integers(1, 64))
    conv = Layer("x", "conv2d", (C, H, H), (K, E, F), (N, N), (s, s), (p, p), groups=g)
    c = 1 if dw else draw(st.integers(1, C))
    n = draw(st.integers(1, N))
    return structure_layer(conv, c, n)


@settings(max_examples=80, deadline=None)
@given(structured_pair(), st.sampled_from(["direct", "separable", "running"]),
       st.integers(1, 64), st.integers(1, 3))
def test_pool_unit_adds_closed_form_and_lane_monotonicity(pair, tree, lanes, batch):
    pool, _ = pair
    arch = load_arch("edge-npu")
    arch = arch.with_(pool=PoolUnit(lanes=lanes, tree=tree, mode="fused"))
    r = simulate_sumpool(pool, arch, batch)
    cnt = Counter()
    run = {"direct": pool_direct, "separable": pool_separable, "running": pool_running}[tree]
    run(np.zeros((batch, *pool.in_shape)), pool, cnt)
    assert r["pool_adds"] == cnt.adds
    assert r["pool_cycles"] >= math.ceil(batch * pool.out_shape[0] * pool.out_shape[1]
                                         * pool.out_shape[2] / lanes)
    more = simulate_sumpool(pool, arch.with_(pool=PoolUnit(lanes=lanes + 1, tree=tree)), batch)
    assert more["pool_cycles"] <= r["pool_cycles"]
    if tree == "separable":
        assert r["pool_sram_reads"] == batch * input_elems(pool)  # each input word read once
    assert r["pool_sram_reads"] <= batch * input_elems(pool) * pool.pool_channels * \
        pool.kernel[0] * pool.kernel[1]


@pytest.mark.parametrize("net", NETWORKS)
def test_network_invariants(net):
    arch = load_arch("edge-npu")
    for v in ("regular", "A", "B"):
        wl = load_workload(f"{net}:{v}")
        df = simulate(wl, arch)
        rows = [r for _, r in df.iterrows()]
        for i, (layer, row) in enumerate(zip(wl, rows)):
            # issue 4's bound on every layer: cycles >= MACs / PEs and >= pooled values / lanes
            # (a fused sum-pool overlaps its conv: the pair's cycles sit on the two rows)
            assert row["total_cycles"] >= row["macs"] / arch.pes
            if layer.op == "sumpool":
                pair = row["total_cycles"] + (rows[i + 1]["total_cycles"] if i + 1 < len(rows)
                                              else 0)
                # a fused pair makes (at least) every value the array reads, lanes per cycle;
                # a two-pass pair makes the whole map first
                made = (row["staging_writes"] if row["pool_schedule"] != "two_pass"
                        else row["pool_outputs"])
                assert pair >= made / arch.pool.lanes
                if row["pool_schedule"] != "two_pass":
                    assert row["staging_peak_words"] <= arch.pool.staging_words(arch.word_bits)
            if layer.is_gemm:
                assert row["compute_cycles"] + 1 >= row["macs"] / arch.pes
                compulsory = weight_count(layer) - (layer.filters if layer.bias else 0)
                assert row["dram_filter_reads"] >= compulsory
                assert row["dram_ofmap_writes"] >= layer.out_shape[0] * layer.out_shape[1] * \
                    layer.out_shape[2]
                if not layer.structured:
                    # compulsory = the input words some window touches (a strided 1x1 conv
                    # never reads the skipped pixels)
                    assert row["dram_ifmap_reads"] >= unique_ifmap_words(layer)
            if layer.op == "sumpool":
                assert row["pool_cycles"] >= row["pool_outputs"] / arch.pool.lanes
                assert row["dram_ifmap_reads"] >= input_elems(layer)
        # a pool unit with more lanes is never slower, and the totals add up
        wide = arch.with_(pool=replace(arch.pool, lanes=arch.pool.lanes * 2))
        assert simulate(wl, wide)["total_cycles"].sum() <= df["total_cycles"].sum()
        parts = [c for c in df.columns if c.startswith("energy_") and c != "energy_pj"]
        assert (df[parts].sum(axis=1) - df["energy_pj"]).abs().max() < 1e-6 * df["energy_pj"].max()


def test_no_pool_unit_runs_sumpool_on_the_array():
    wl = load_workload("resnet18:A")
    with_unit = simulate(wl, load_arch("edge-npu"))
    without = simulate(wl, load_arch("edge-npu").with_(pool=None))
    pools = without[without["op"] == "sumpool"]
    assert set(pools["engine"]) == {"array-as-pool"} and (pools["mults_array"] > 0).all()
    assert without["total_cycles"].sum() > with_unit["total_cycles"].sum()


def test_direct_tree_reads_more_than_separable():
    pool, _ = structure_layer(Layer("x", "conv2d", (64, 14, 14), (64, 14, 14), (3, 3),
                                    padding=(1, 1)), 32, 2)
    d, s = pool_traffic(pool, "direct", 1), pool_traffic(pool, "separable", 1)
    assert d["pool_sram_reads"] > s["pool_sram_reads"]


@pytest.mark.parametrize("pool, field", [
    (dict(lanes=0), "pool.lanes"), (dict(tree="ternary"), "pool.tree"),
    (dict(mode="three_pass"), "pool.mode")])
def test_bad_pool_unit_rejected(tmp_path, pool, field):
    import yaml

    base = yaml.safe_load(open(load_arch("edge-npu").source))
    base["pool"].update(pool)
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(base))
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        load_arch(path)


def test_negative_energy_rejected(tmp_path):
    from accelsim.hardware.energy import load_table

    path = tmp_path / "e.yaml"
    path.write_text("mult_pj: {8: -1.0}\n")
    with pytest.raises(InputError, match="mult_pj"):
        load_table(str(path))
    path.write_text("mult_pj: {8: 0.4}\n")
    arch = load_arch("edge-npu")
    df1 = simulate(load_workload("resnet56"), arch)
    df2 = simulate(load_workload("resnet56"), arch.with_(energy=str(path)))
    assert df2["energy_mac_pj"].sum() > df1["energy_mac_pj"].sum()


def _levels_executed(window: int) -> int:
    """Adder levels the co-simulation's pairwise tree actually runs over ``window`` inputs."""
    from accelsim.check.pool_trees import _tree_reduce

    levels = []

    class Count(Counter):
        def __setattr__(self, k, v):
            if k == "adds" and v:
                levels.append(v)
            super().__setattr__(k, v)
    _tree_reduce(np.ones((1, window)), Count())
    return len(levels)


@pytest.mark.parametrize("tree", ["direct", "separable", "running"])
@pytest.mark.parametrize("bc, bh, bw", [(1, 2, 2), (5, 2, 2), (3, 3, 1), (9, 1, 1), (17, 3, 3)])
def test_derived_pipeline_depth_is_the_fast_units_latency(tree, bc, bh, bw):
    """A unit that is never short of lanes, ports or buffer delays the array by exactly its
    pipeline depth when the array's first row reads a pooled value (os): the depth derived from
    the tree is the latency the pair pays. The depth is derived here from the adder levels the
    co-simulation executes (direct: one tree over the window; separable: a tree per stage and a
    line-buffer cycle between stages; running: an add and a subtract per sliding stage), plus
    the SRAM read."""
    C, H, W = bc + 1, 4, 4
    pool = Layer("s", "sumpool", (C, H, W), (2, H - bh + 1, W - bw + 1), (bh, bw),
                 pool_channels=bc, c=2, n=1)
    conv = Layer("c", "conv2d", pool.out_shape, (3, *pool.out_shape[1:]), (1, 1), c=2, n=1)
    if tree == "direct":
        depth = 1 + _levels_executed(bc * bh * bw)
    elif tree == "separable":
        depth = 1 + sum(_levels_executed(w) for w in (bc, bh, bw)) + 2
    else:
        depth = 1 + 2 * sum(w > 1 for w in (bc, bh, bw)) + 2
    arch = Arch("t", 4, 4, "os", 64, 64, 64,
                pool=PoolUnit(lanes=10**6, input_words_per_cycle=10**6, tree=tree,
                              order="nhwc", staging_kb=None))
    p, c = fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch,
                           pool, conv)
    assert p["array_wait_cycles"] == depth
    assert p["fused_cycles"] == c["compute_cycles"] + depth


def test_deadlock_policies(tmp_path):
    """A one-word staging buffer cannot hold the values an os array re-reads in its second
    column fold: two_pass falls back, refold re-makes values per fold (more adds, fused), error
    refuses with the layer and arch named."""
    pool, conv = _pair()
    base = dict(lanes=4, staging_kb=1 / 1024, order="demand")
    rows = {}
    for policy in ("two_pass", "refold"):
        arch = Arch("t", 8, 4, "os", 64, 64, 64, pool=PoolUnit(on_deadlock=policy, **base))
        p, c = fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch,
                               pool, conv)
        rows[policy] = p
    assert rows["two_pass"]["pool_schedule"] == "two_pass"
    assert rows["refold"]["pool_schedule"] in ("refold", "two_pass")
    if rows["refold"]["pool_schedule"] == "refold":
        assert rows["refold"]["pool_adds"] > rows["two_pass"]["pool_adds"]
    arch = Arch("npu", 8, 4, "os", 64, 64, 64, pool=PoolUnit(on_deadlock="error", **base))
    with pytest.raises(InputError, match="deadlock.*'c'"):
        fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch, pool, conv)


def test_refold_makes_values_again_per_fold():
    """refold makes, in every fold, each pooled value that fold reads: on an 8x4 os array the
    2x2 conv's 196 pixels fall in 25 row folds of 8 pixels, each reading the 2x2 windows of its
    pixels, in 2 column folds. Pool adds are the tree's adds per value times values made."""
    pool, conv = _pair()
    arch = Arch("t", 8, 4, "os", 64, 64, 64,
                pool=PoolUnit(lanes=8, order="refold", staging_kb=None))
    p, _ = fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch,
                           pool, conv)
    made = 0
    for r in range(0, 196, 8):    # pixels of one row fold, windows enumerated
        pix = {(m // 14 + dy, m % 14 + dx) for m in range(r, min(196, r + 8))
               for dy in (0, 1) for dx in (0, 1)}
        made += 16 * len(pix)     # all 16 pooled channels of each window position
    made *= 2                     # both column folds read them again
    cnt = Counter()
    pool_separable(np.zeros((1, *pool.in_shape)), pool, cnt)
    assert p["pool_schedule"] == "fused"
    assert p["pool_adds"] == cnt.adds * made // output_elems(pool)
    assert p["staging_writes"] == made
    # a buffer of a few folds' working sets: refold fuses, demand order (which must keep every
    # value from the first column fold to the second) falls back to two passes
    small = replace(arch.pool, staging_kb=600 / 1024)
    for order, want in (("refold", "fused"), ("demand", "two_pass")):
        a = arch.with_(pool=replace(small, order=order))
        row = fuse_structured(simulate_sumpool(pool, a), simulate_gemm(conv, a), a, pool, conv)[0]
        assert row["pool_schedule"] == want
        if want == "fused":
            assert row["staging_peak_words"] <= 600
