"""`accelsim networks`, `counts` and `trace` in process: published counts, closed-form reductions,
CSV round trip, and bad input -> exit 2 with one stderr line."""

import json

import pytest

from accelsim.cli import main
from accelsim.workload.networks import load_workload
from accelsim.workload.layer import read_workload_csv
from accelsim.workload.zoo import NETWORKS, published_params


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_counts_resnet50_json_matches_published(capsys):
    code, out, _ = run(capsys, "counts", "resnet50", "--json")
    d = json.loads(out)
    # design.md section 5: published params and torchvision conv + linear MACs
    assert code == 0 and d["params"] == 25_557_032 and d["macs"] == 4_089_184_256
    assert list(d)[:4] == ["network", "variant", "layers", "params"]
    assert "per_layer" not in d and "params_reduction" not in d


def _torch_counts(model, input_shape):
    """(params, MACs, GEMM outputs) of a torch model, counted by torch: parameters, the flop
    counter's conv/linear flops / 2, and the output elements of every conv/linear module (each
    output reduces its products with one add fewer than it has products)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from accelsim.workload.structured import StructuredConv2d, StructuredLinear

    outputs = []
    gemm = (torch.nn.Conv2d, torch.nn.Linear, StructuredConv2d, StructuredLinear)
    hooks = [m.register_forward_hook(lambda m, i, o: outputs.append(o.numel()))
             for m in model.modules() if isinstance(m, gemm)]
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, sum(outputs)


def _executed_pool_adds(wl):
    """The additions the co-simulation performs when it runs every sum-pool of ``wl`` through
    each adder-tree kind (accelsim.check.cosim: pairwise trees, streamed line buffers)."""
    import numpy as np

    from accelsim.check import cosim

    adds = {}
    for tree, run in (("direct", cosim.pool_direct), ("separable", cosim.pool_separable),
                      ("running", cosim.pool_running)):
        cnt = cosim.Counter()
        for l in wl:
            if l.op == "sumpool":
                run(np.zeros((1, *l.in_shape)), l, cnt)
        adds[tree] = cnt.adds
    return adds


def test_counts_structured_json_reductions_and_adds(capsys):
    from accelsim.workload.networks import variant_model

    code, out, _ = run(capsys, "counts", "resnet56", "--variant", "B", "--json", "--per-layer")
    d = json.loads(out)
    wl = load_workload("resnet56:B")
    # torch counts the structured and the regular model itself
    params, flop_macs, gemm_outputs = _torch_counts(variant_model("resnet56", "B"), (3, 32, 32))
    reg_params, reg_macs, _ = _torch_counts(variant_model("resnet56"), (3, 32, 32))
    assert reg_params == published_params("resnet56") == 853_018
    assert code == 0 and d["params"] == params
    assert d["params_reduction"] == pytest.approx(853_018 / params)
    assert d["macs"] == flop_macs and d["mults"] == flop_macs
    assert d["macs_reduction"] == pytest.approx(reg_macs / flop_macs)
    assert d["mac_adds"] == flop_macs - gemm_outputs
    # sum-pool adds: what the co-simulation actually adds, per tree kind (B pools channels
    # too, c = 3C/4, so every stage of every tree does work)
    executed = _executed_pool_adds(wl)
    assert d["pool_adds_direct"] == executed["direct"] > 0
    assert d["pool_adds_separable"] == executed["separable"]
    assert d["pool_adds_running"] == executed["running"]
    # a separable tree never spends more adds than a direct one
    assert d["pool_adds_separable"] < d["pool_adds_direct"]
    assert [r["layer"] for r in d["per_layer"]] == [l.name for l in wl]


def test_counts_text_and_per_layer(capsys):
    code, out, _ = run(capsys, "counts", "resnet18", "--variant", "A", "--per-layer")
    # design.md section 2 anchor: ResNet-18 3x3 convs at c = C, n = 2 -> 2.09x params, 2.05x MACs
    assert code == 0 and "2.09x" in out and "2.05x" in out
    assert "layer4.1.conv2.sumpool" in out and "pool_adds_direct" in out


def test_networks_lists_every_network(capsys):
    code, out, _ = run(capsys, "networks")
    assert code == 0
    for n in NETWORKS:
        assert n in out and f"{published_params(n):,}" in out
    assert "3x240x240" in out and "3x32x32" in out


def test_trace_csv_round_trips(capsys, tmp_path):
    out = tmp_path / "r50B.csv"
    code, _, _ = run(capsys, "trace", "resnet50", "--variant", "B", "-o", str(out))
    assert code == 0
    assert read_workload_csv(out).layers == load_workload("resnet50:B").layers


def test_custom_recipe_file(capsys, tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("network: resnet56\nrules:\n  - match: 'layer3.*'\n    kind: conv3x3\n"
                      "    c: C/4\n    n: 2\n")
    out = tmp_path / "mine.csv"
    code, _, _ = run(capsys, "trace", "resnet56", "--recipe", str(recipe), "-o", str(out))
    wl = read_workload_csv(out)
    structured = [l for l in wl if l.op == "conv2d" and l.structured]
    assert code == 0 and structured
    reg = load_workload("resnet56")
    assert {l.name for l in structured} == {l.name for l in reg if l.name.startswith("layer3.")
                                            and l.op == "conv2d" and l.kernel == (3, 3)}
    assert all(l.c == reg.layer(l.name).in_shape[0] // 4 and l.kernel == (2, 2)
               for l in structured)
    code, txt, _ = run(capsys, "counts", "resnet56", "--recipe", str(recipe), "--json")
    # torch's flop counter on the model structured by the same recipe file
    from accelsim.workload.networks import variant_model

    _, flop_macs, _ = _torch_counts(variant_model("resnet56", str(recipe)), (3, 32, 32))
    assert code == 0 and json.loads(txt)["macs"] == flop_macs < load_workload("resnet56").macs


@pytest.mark.parametrize("argv, needles", [
    (["counts", "resnet19"], ["resnet19", "resnet18"]),
    (["counts", "resnet18", "--variant", "C"], ["'C'", "regular, A, B"]),
    (["trace", "mobilenetv3", "-o", "x.csv"], ["mobilenetv3"]),
])
def test_unknown_network_or_variant_exit_2(capsys, argv, needles):
    code, out, err = run(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for n in needles:
        assert n in err


@pytest.mark.parametrize("text, needles", [
    # c > C: layer1 of ResNet-18 has 64 channels
    ("rules:\n  - match: 'layer1.*'\n    kind: conv3x3\n    c: 65\n", ["rules[0].c", "65", "c > C"]),
    ("layers:\n  layer1.0.conv9: {c: 4}\n", ["layers", "layer1.0.conv9"]),
    ("rules:\n  - match: 'layer7.*'\n", ["rules[0].match", "layer7.*"]),
    ("rules:\n  - match: 'fc'\n    c: C/0\n", ["rules[0].c", "C/0"]),
    ("rules: [\n", ["malformed YAML"]),
])
def test_bad_recipe_file_exit_2(capsys, tmp_path, text, needles):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(text)
    code, _, err = run(capsys, "counts", "resnet18", "--recipe", str(recipe))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for n in ["bad.yaml", *needles]:
        assert n in err
