"""The README's invariants on every layer of every network and variant, on every preset.

Each bound is derived here from the layer's shape, not from the engines' own counts:
- an array of P PEs does at most P multiplies per cycle: compute cycles >= array multiplies / P,
  with one cycle of slack for SCALE-Sim's reported total, one less than its demand rows (its
  #125; on a 1x1 array that -1 is the whole margin);
- DRAM moves at least the compulsory words: every filter word once, every output once, every
  input word some window touches once (padding is generated, never fetched);
- a pool unit of L lanes makes at most L pooled values per cycle; a vector unit of V lanes does
  at most V element operations per cycle;
- utilization never exceeds 100 %, every count is >= 0, energy is the sum of its parts, and the
  network's latency is the sum of its rows.
"""

from __future__ import annotations

import math

import pytest

from accelsim.hardware.arch import list_presets, load_arch
from accelsim.hardware.energy import ENERGY_PARTS
from accelsim.workload.networks import load_workload
from accelsim.evaluate.columns import COUNT_COLUMNS, summarize
from accelsim.evaluate.simulate import simulate, sumpool_as_array_conv
from accelsim.workload.layer import input_elems, output_elems
from accelsim.workload.zoo import NETWORKS

PRESETS = list_presets()
VARIANTS = ("regular", "A", "B")


def test_every_preset_is_checked():
    # the five presets the README lists; a new one joins the checks below automatically
    assert {"scalesim-32x32-os", "scalesim-google", "scalesim-eyeriss", "tpu-v1",
            "edge-npu"} <= set(PRESETS)


def _gemm_words(layer) -> tuple[int, int, int]:
    """(filter words, output words, touched input words) of a conv/linear, from its shape."""
    C, _, _ = layer.in_shape
    K = layer.out_shape[0]
    R, S = layer.kernel
    _, H, W = layer.in_shape
    _, E, F = layer.out_shape
    (sh, sw), (ph, pw) = layer.stride, layer.padding
    rows = {e * sh - ph + r for e in range(E) for r in range(R)} & set(range(H))
    cols = {f * sw - pw + q for f in range(F) for q in range(S)} & set(range(W))
    return K * (C // layer.groups) * R * S, output_elems(layer), C * len(rows) * len(cols)


def _check_network(wl, arch):
    df = simulate(wl, arch)
    assert len(df) == len(wl)
    assert (df[COUNT_COLUMNS] >= 0).all().all()
    rows = [r for _, r in df.iterrows()]
    fused_ifmap = arch.pool is not None
    gemm_rows = 0
    for i, (layer, row) in enumerate(zip(wl, rows)):
        where = (wl.network, wl.variant, arch.name, layer.name)
        # a fused sum-pool and its conv share their latency: check bounds on the pair's sum
        nxt = rows[i + 1]["total_cycles"] if i + 1 < len(rows) else 0
        pair_cycles = row["total_cycles"] + (nxt if layer.op == "sumpool" else 0)
        on_array = layer.is_gemm or (layer.op == "sumpool" and arch.pool is None)
        if on_array:
            gemm_rows += 1
            as_conv = layer if layer.is_gemm else sumpool_as_array_conv(layer)
            filt, outs, touched = _gemm_words(as_conv)
            assert row["compute_cycles"] + 1 >= row["mults_array"] / arch.pes, where
            assert row["mults_array"] == outs * filt // as_conv.out_shape[0], where
            assert row["dram_filter_reads"] >= filt, where
            assert row["dram_ofmap_writes"] >= outs, where
            # a structured conv behind a pool unit gets its input from the unit, not DRAM
            if not (fused_ifmap and layer.structured):
                assert row["dram_ifmap_reads"] >= touched, where
            assert row["total_cycles"] >= row["stall_cycles"] >= 0, where
            # utilization <= 100 % of the PE-cycles (plus SCALE-Sim's one reported cycle)
            prev = rows[i - 1]["total_cycles"] if i and wl.layers[i - 1].op == "sumpool" else 0
            assert row["mults_array"] <= (row["total_cycles"] + prev + 1) * arch.pes, where
        elif layer.op == "sumpool":
            assert row["dram_ifmap_reads"] >= input_elems(layer), where
            assert pair_cycles >= math.ceil(output_elems(layer) / arch.pool.lanes), where
            assert row["pool_cycles"] >= math.ceil(output_elems(layer) / arch.pool.lanes), where
        else:
            assert row["vector_cycles"] >= row["vector_ops"] / arch.vector_lanes, where
            assert row["dram_ifmap_reads"] == row["dram_filter_reads"] == 0, where
    # energy: every part >= 0 and the total is their sum
    assert (df[list(ENERGY_PARTS)] >= 0).all().all()
    assert (df[list(ENERGY_PARTS)].sum(axis=1) - df["energy_pj"]).abs().max() \
        <= 1e-9 * max(1.0, df["energy_pj"].abs().max())
    # the network: latency is the rows' sum, and no faster than all PEs busy
    s = summarize(df, arch)
    assert s["total_cycles"] == df["total_cycles"].sum()
    assert s["total_cycles"] + gemm_rows >= s["mults_array"] / arch.pes
    assert s["latency_ms"] == pytest.approx(s["total_cycles"] / arch.clock_mhz / 1e3)
    assert 0 <= s["overall_util"] <= 100.0 * (1 + gemm_rows / max(1, s["total_cycles"]))
    return s


@pytest.mark.parametrize("net", NETWORKS)
def test_invariants_on_every_preset_and_variant(net):
    for preset in PRESETS:
        arch = load_arch(preset)
        for v in VARIANTS:
            wl = load_workload(net if v == "regular" else f"{net}:{v}")
            s = _check_network(wl, arch)
            # the network's MACs do not depend on the machine
            assert s["macs"] == wl.macs


def test_one_by_one_array_margin():
    """On a 1x1 array every multiply takes its own cycle, so the array bound is tight up to
    SCALE-Sim's reported -1: compute cycles + 1 >= multiplies, and never far above."""
    arch = load_arch("scalesim-32x32-os").with_(rows=1, cols=1)
    wl = load_workload("resnet56")
    layers = [l for l in wl.layers if l.is_gemm][:3]
    from accelsim.workload.layer import Workload

    df = simulate(Workload("r56", "regular", tuple(layers), layers[0].in_shape), arch)
    for _, row in df.iterrows():
        assert row["compute_cycles"] + 1 >= row["mults_array"]
        assert row["compute_cycles"] + 1 <= 3 * row["mults_array"]
