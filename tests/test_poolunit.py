"""The sum-pooling unit and the whole-network invariants of the simulator."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from accelsim.arch import PoolUnit, load_arch
from accelsim.engine.poolunit import pool_traffic, simulate_sumpool
from accelsim.errors import InputError
from accelsim.networks import load_workload
from accelsim.recipe import structure_layer
from accelsim.simulate import simulate
from accelsim.workload import Layer, input_elems, sumpool_adds, torch_out_hw, weight_count
from accelsim.zoo import NETWORKS


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
        for layer, (_, row) in zip(wl, df.iterrows()):
            if layer.is_gemm:
                assert row["compute_cycles"] + 1 >= row["macs"] / arch.pes
                compulsory = weight_count(layer) - (layer.filters if layer.bias else 0)
                assert row["dram_filter_reads"] >= compulsory
                assert row["dram_ofmap_writes"] >= layer.out_shape[0] * layer.out_shape[1] * \
                    layer.out_shape[2]
                if not layer.structured:
                    assert row["dram_ifmap_reads"] >= input_elems(layer)
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
