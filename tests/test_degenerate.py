"""Valid but degenerate layers and machines: windows entirely in the padding, a kernel as large as
its padded input, a stride larger than the input, one-MAC layers, 1x1 arrays, SRAMs of one word,
a starved DRAM. Each is valid input, so it must simulate: no exception, a finite JSON-clean
summary, at least one cycle, the README's invariant cycles >= MACs / PEs, utilisation at most
100%, and the MAC count equal to a brute-force count of the products the array performs."""

from __future__ import annotations

import json
import math

import pytest

from accelsim.hardware.arch import Arch, PoolUnit, load_arch
from accelsim.cli import main
from accelsim.evaluate.simulate import evaluate
from accelsim.evaluate.simulate import simulate, summarize
from accelsim.workload.layer import Layer, Workload, torch_out_hw

LAYERS = {
    # every output but the centre reads only padding
    "windows_in_padding": Layer("c", "conv2d", (1, 1, 1), (1, 3, 3), (1, 1), (3, 3), (4, 4)),
    "one_mac": Layer("c", "conv2d", (1, 1, 1), (1, 1, 1)),
    "kernel_equals_padded_input": Layer("c", "conv2d", (2, 3, 3), (4, 1, 1), (5, 5), (1, 1),
                                        (1, 1)),
    "stride_larger_than_input": Layer("c", "conv2d", (2, 3, 3), (2, 1, 1), (1, 1), (5, 5)),
    "linear_one_to_one": Layer("fc", "linear", (1, 1, 1), (1, 1, 1)),
    "depthwise_one_channel": Layer("d", "conv2d", (1, 4, 4), (1, 4, 4), (3, 3), (1, 1), (1, 1)),
    "avgpool_half_kernel_padding": Layer("p", "avgpool", (1, 1, 1), (1, 2, 2), (2, 2), (1, 1),
                                         (1, 1)),
    "maxpool_one": Layer("m", "maxpool", (1, 1, 1), (1, 1, 1)),
    "gap_one_pixel": Layer("g", "gap", (3, 1, 1), (3, 1, 1)),
}
STRUCTURED = (Layer("fc.sumpool", "sumpool", (4, 1, 1), (1, 1, 1), pool_channels=4, c=1, n=1),
              Layer("fc", "linear", (1, 1, 1), (2, 1, 1), c=1, n=1))

ARCHS = {
    "1x1_os": Arch("a11os", 1, 1, "os", 1, 1, 1),
    "1x1_ws": Arch("a11ws", 1, 1, "ws", 1, 1, 1),
    "1x1_is": Arch("a11is", 1, 1, "is", 1, 1, 1),
    "1x1_pool_unit": Arch("a11p", 1, 1, "ws", 1, 1, 1,
                          pool=PoolUnit(lanes=1, input_words_per_cycle=1)),
    "two_word_srams": Arch("w2", 4, 4, "ws", 2 / 1024, 2 / 1024, 2 / 1024),
    "starved_dram": Arch("u", 2, 2, "is", 1, 1, 1, bandwidth_mode="user",
                         dram_bw_words_per_cycle=1),
    "edge-npu": load_arch("edge-npu"),
    "tpu-v1": load_arch("tpu-v1"),
}

# SCALE-Sim reports the index of the last demand row, one less than the rows (its #125; the
# engine keeps it for parity, engine/systolic.py). On a 1x1 output-stationary array every row
# is one MAC, so the reported cycles are MACs - 1: the invariant is on the rows,
# cycles + SCALESIM_OFF_BY_ONE >= MACs / PEs, and utilization over the reported cycles may
# exceed 100 % by that one row.
from accelsim.engine.systolic import SCALESIM_OFF_BY_ONE  # noqa: E402


def brute_force_macs(layer: Layer) -> int:
    """Products the array performs: every output x every (channel, kernel tap) of its window,
    padding taps included (the array multiplies the zeros), counted one by one."""
    if layer.op not in ("conv2d", "linear"):
        return 0
    (C, H, W), (K, E, F) = layer.in_shape, layer.out_shape
    assert (E, F) == torch_out_hw(H, W, layer.kernel, layer.stride, layer.padding)
    n = 0
    for _k in range(K):
        for _e in range(E):
            for _f in range(F):
                for _c in range(C // layer.groups):
                    for _r in range(layer.kernel[0]):
                        for _s in range(layer.kernel[1]):
                            n += 1
    return n


CASES = []
for a in ARCHS:
    for w in list(LAYERS) + ["structured_linear"]:
        CASES.append(pytest.param(a, w, id=f"{a}-{w}"))


@pytest.mark.parametrize("arch_name,layer_name", CASES)
@pytest.mark.parametrize("evaluator", ["simulate", "fast"])
def test_degenerate_layer_simulates_within_bounds(arch_name, layer_name, evaluator):
    arch = ARCHS[arch_name]
    layers = STRUCTURED if layer_name == "structured_linear" else (LAYERS[layer_name],)
    wl = Workload("t", "regular", layers)
    s = (summarize(simulate(wl, arch, 1), arch) if evaluator == "simulate"
         else evaluate(wl, arch, 1))
    json.dumps(s, allow_nan=False, default=str)  # finite: no NaN or Infinity
    assert s["macs"] == sum(brute_force_macs(l) for l in layers)
    # one row short per layer the array runs (a sum-pool too, on a machine without a pool unit)
    on_array = sum(1 for l in layers if l.is_gemm or (l.op == "sumpool" and arch.pool is None))
    rows = s["total_cycles"] + SCALESIM_OFF_BY_ONE * on_array
    assert rows >= 1
    assert rows >= math.ceil(s["macs"] / arch.pes)
    assert s["overall_util"] * s["total_cycles"] <= 100 * rows + 1e-9


def test_one_word_sram_is_refused_up_front():
    """One word cannot be double-buffered (the memory walk would never advance): refused when
    the arch is made, not a hang later."""
    from accelsim.common.errors import InputError

    with pytest.raises(InputError, match="at least 2"):
        Arch("w1", 4, 4, "ws", 1 / 1024, 2 / 1024, 2 / 1024)


def test_degenerate_layer_through_the_cli_gives_clean_json(tmp_path, capsys):
    csv = tmp_path / "pad.csv"
    csv.write_text(
        "Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,Num Filter,"
        "Strides,Stride Width,op,OFMAP Height,OFMAP Width,Pad Height,Pad Width,Groups,"
        "Pool Channels,c,n,bias\n"
        "c1,1,1,1,1,1,1,3,3,conv2d,3,3,4,4,1,1,0,0,0\n")
    assert main(["simulate", "--arch", "edge-npu", "--workload", str(csv), "--json",
                 "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out

    def refuse(name):
        raise AssertionError(f"non-finite {name} in JSON")

    printed = json.loads(out, parse_constant=refuse)
    written = json.loads((tmp_path / "o" / "summary.json").read_text(), parse_constant=refuse)
    assert printed == written and written["macs"] == 9 and written["total_cycles"] >= 1
