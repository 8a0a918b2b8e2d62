"""The pool-unit model: counts against executed co-simulation, monotonicity, bounds, placement."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim.arch import Arch, PoolUnit, load_arch
from accelsim.cli import main
from accelsim.cosim import Counter, pool_direct, pool_separable
from accelsim.engine.operands import unique_ifmap_words
from accelsim.engine.poolunit import fuse_structured, pipeline_depth, simulate_sumpool
from accelsim.errors import InputError
from accelsim.simulate import simulate, simulate_gemm
from accelsim.workload import Layer, Workload, output_elems, sumpool_adds

# ---- the lead's tests (committed in 99a3d57), kept below mine ----
import math  # noqa: E402

from accelsim.engine.poolunit import pool_traffic  # noqa: E402
from accelsim.networks import load_workload  # noqa: E402
from accelsim.recipe import structure_layer  # noqa: E402
from accelsim.workload import input_elems, torch_out_hw, weight_count  # noqa: E402
from accelsim.zoo import NETWORKS  # noqa: E402


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
        arch = _arch(lanes=lanes, mode=mode)
        p, c = fuse_structured(simulate_sumpool(pool, arch), simulate_gemm(conv, arch), arch)
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
    assert df["pool_adds"].iloc[0] == sumpool_adds(pool, "separable")
    bare = simulate(wl, arch.with_(pool=None))
    assert bare["engine"].iloc[0] == "array-as-pool"
    # without a unit the all-ones conv multiplies every (C/g)*bh*bw tap of every pooled value
    assert bare["mults"].iloc[0] == output_elems(pool) * 16 * 4


@pytest.mark.parametrize("field, value", [("lanes", 0), ("lanes", -3), ("tree", "ripple"),
                                          ("mode", "sideways"), ("input_words_per_cycle", 0),
                                          ("pipeline_depth", 0)])
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
@given(structured_pair(), st.sampled_from(["direct", "separable"]), st.integers(1, 64),
       st.integers(1, 3))
def test_pool_unit_adds_closed_form_and_lane_monotonicity(pair, tree, lanes, batch):
    pool, _ = pair
    arch = load_arch("edge-npu")
    arch = arch.with_(pool=PoolUnit(lanes=lanes, tree=tree, mode="fused"))
    r = simulate_sumpool(pool, arch, batch)
    assert r["pool_adds"] == batch * sumpool_adds(pool, tree)
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
                assert pair >= row["pool_outputs"] / arch.pool.lanes
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
        wide = arch.with_(pool=PoolUnit(lanes=arch.pool.lanes * 2, tree=arch.pool.tree,
                                        mode=arch.pool.mode,
                                        input_words_per_cycle=arch.pool.input_words_per_cycle))
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
    from accelsim.energy import load_table

    path = tmp_path / "e.yaml"
    path.write_text("mult_pj: {8: -1.0}\n")
    with pytest.raises(InputError, match="mult_pj"):
        load_table(str(path))
    path.write_text("mult_pj: {8: 0.4}\n")
    arch = load_arch("edge-npu")
    df1 = simulate(load_workload("resnet56"), arch)
    df2 = simulate(load_workload("resnet56"), arch.with_(energy=str(path)))
    assert df2["energy_mac_pj"].sum() > df1["energy_mac_pj"].sum()
