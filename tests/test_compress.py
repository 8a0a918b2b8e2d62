"""Compression methods: every torch transform computes the dense conv its factors define (built
here by brute force, float64, 1e-10), reproduces the original at full rank, the closed-form
workloads equal the traces of the transformed models, the matched budget lands within 2 % (MACs
counted by torch's FlopCounterMode), and bad specs fail with one line."""

import copy
import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from accelsim.cli import main
from accelsim.workload.compress import (METHODS, Spec, compress_model, cp_factors, load_spec_file,
                               match_budget, prune_chains, spec_to_yaml, spec_workload)
from accelsim.common.errors import InputError
from accelsim.workload.networks import load_workload
from accelsim.workload.trace import trace
from accelsim.workload.zoo import build_model, input_shape

TOL = 1e-10


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: torch's thread pool costs more than it saves on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def _conv(cin=6, cout=5, k=(3, 3), stride=1, padding=1, bias=True, seed=0):
    torch.manual_seed(seed)
    return nn.Conv2d(cin, cout, k, stride, padding, bias=bias).double()


def _spec(method, p):
    return Spec("toy", method, (("m", tuple(sorted(p.items()))),))


def _apply(conv, method, p):
    model = nn.Sequential()
    model.add_module("m", copy.deepcopy(conv))
    return compress_model(model, _spec(method, p)).m


# ---- brute-force dense reconstructions from each module's own factors -----------------------
def _dense_small(mod, conv):
    w = mod.conv.weight
    full = torch.zeros_like(conv.weight)
    full[:, :, mod.oh:mod.oh + w.shape[2], mod.ow:mod.ow + w.shape[3]] = w
    return full, mod.conv.bias


def _dense_seq(mod, conv):
    """Compose the factor convs channel by channel (explicit loops, no einsum)."""
    K, C, kh, kw = conv.weight.shape
    convs = list(mod)
    W = torch.zeros(K, C, kh, kw, dtype=torch.float64)
    if len(convs) == 2 and convs[0].groups == 1:           # 1x1 SVD
        a, b = convs[0].weight[:, :, 0, 0], convs[1].weight[:, :, 0, 0]
        for k, c in itertools.product(range(K), range(C)):
            W[k, c, 0, 0] = sum(b[k, r] * a[r, c] for r in range(a.shape[0]))
    elif len(convs) == 2:                                   # depthwise-separable
        d, p = convs[0].weight, convs[1].weight[:, :, 0, 0]
        m = d.shape[0] // C
        for k, c in itertools.product(range(K), range(C)):
            W[k, c] = sum(p[k, c * m + j] * d[c * m + j, 0] for j in range(m))
    elif len(convs) == 3:                                   # Tucker-2
        a, g, b = convs[0].weight[:, :, 0, 0], convs[1].weight, convs[2].weight[:, :, 0, 0]
        for k, c in itertools.product(range(K), range(C)):
            W[k, c] = sum(b[k, s] * g[s, r] * a[r, c] for s in range(g.shape[0])
                          for r in range(g.shape[1]))
    else:                                                   # CP
        a, h, v, b = (convs[0].weight[:, :, 0, 0], convs[1].weight[:, 0, :, 0],
                      convs[2].weight[:, 0, 0, :], convs[3].weight[:, :, 0, 0])
        for r in range(a.shape[0]):
            W += b[:, r, None, None, None] * a[r, None, :, None, None] * \
                torch.outer(h[r], v[r])[None, None]
    return W, convs[-1].bias


CASES = [  # (kernel, stride, padding)
    ((3, 3), 1, 1), ((3, 3), 2, 1), ((5, 5), 1, 2), ((3, 3), 2, 0), ((1, 1), 2, 0),
]


@pytest.mark.parametrize("kernel,stride,padding", CASES)
@pytest.mark.parametrize("method,p", [
    ("small-kernel", {"n": 2}), ("small-kernel", {"n": 1}), ("low-rank", {"ranks": (3, 2)}),
    ("low-rank", {"rank": 2}), ("low-rank-cp", {"rank": 4}), ("low-rank-cp", {"rank": 2}),
    ("depthwise", {"mult": 1}), ("depthwise", {"mult": 2}),
])
def test_transform_forward_equals_its_dense_reconstruction(kernel, stride, padding, method, p):
    one = kernel == (1, 1)
    if one and method in ("small-kernel", "depthwise"):
        pytest.skip("the method needs N > 1")
    if method == "low-rank" and one != ("rank" in p):
        pytest.skip("a 1x1 conv takes one rank (SVD), an N x N conv two (Tucker-2)")
    conv = _conv(k=kernel, stride=stride, padding=padding)
    mod = _apply(conv, method, p)
    W, b = _dense_small(mod, conv) if method == "small-kernel" else _dense_seq(mod, conv)
    torch.manual_seed(1)
    x = torch.randn(2, 6, 11, 9, dtype=torch.float64)
    with torch.no_grad():
        y = mod(x)
        ref = F.conv2d(x, W, b, conv.stride, conv.padding)
    assert y.shape == conv(x).shape
    assert _rel(y, ref) <= TOL


@pytest.mark.parametrize("kernel,stride,padding", CASES)
@pytest.mark.parametrize("method", ["small-kernel", "low-rank", "low-rank-cp", "depthwise"])
def test_full_rank_reproduces_the_original(kernel, stride, padding, method):
    conv = _conv(k=kernel, stride=stride, padding=padding)
    K, C, kh, kw = conv.weight.shape
    if (kh, kw) == (1, 1) and method in ("small-kernel", "depthwise"):
        pytest.skip("the method needs N > 1")
    p = {"small-kernel": {"n": kh},
         "low-rank": {"rank": min(C, K)} if kh == 1 else {"ranks": (C, K)},
         "low-rank-cp": {"rank": min(C, K) if kh == 1 else C * kh * kw},
         "depthwise": {"mult": min(K, kh * kw)}}[method]
    mod = _apply(conv, method, p)
    torch.manual_seed(2)
    x = torch.randn(2, 6, 10, 12, dtype=torch.float64)
    with torch.no_grad():
        assert _rel(mod(x), conv(x)) <= TOL


def test_cp_als_fits_a_low_rank_kernel():
    """A kernel that is exactly CP rank 3 is recovered by ALS at rank 3 (residual ~0), and the
    fit error never grows with the rank."""
    g = torch.Generator().manual_seed(0)
    A, B, H, V = (torch.randn(s, 3, generator=g, dtype=torch.float64) for s in (7, 5, 3, 3))
    w = torch.einsum("kr,cr,hr,wr->kchw", A, B, H, V)
    errs = []
    for r in (1, 2, 3):
        f = cp_factors(w, r, iters=300)
        errs.append(float(torch.linalg.norm(w - torch.einsum("kr,cr,hr,wr->kchw", *f))
                          / torch.linalg.norm(w)))
    assert errs[2] < 1e-6
    assert errs[0] >= errs[1] - 1e-9 >= errs[2] - 2e-9


# ---- channel pruning on real networks --------------------------------------------------------
def _zero_dropped_inputs(model, pruned, chains):
    """The original model with each consumer's input channels that pruning dropped set to 0:
    the dense network the pruned one must equal."""
    ref = copy.deepcopy(model)
    for ch in chains:
        kept = pruned.get_submodule(ch.producer).out_channels
        orig = model.get_submodule(ch.producer)
        norms = orig.weight.detach().abs().flatten(1).sum(1).tolist()
        keep = set(sorted(range(len(norms)), key=lambda i: (-norms[i], i))[:kept])
        drop = [i for i in range(orig.out_channels) if i not in keep]
        with torch.no_grad():
            ref.get_submodule(ch.consumer).weight[:, drop] = 0
    return ref


def _mini_mobilenet():
    """MobileNetV2's blocks at a few shapes (the full network's first float64 forward costs
    seconds of kernel set-up per shape on a CPU)."""
    from accelsim.workloads.mobilenetv2 import InvertedResidual, conv_bn_act

    torch.manual_seed(0)
    return nn.Sequential(conv_bn_act(3, 16, 3, 2), InvertedResidual(16, 24, 2, 6),
                         InvertedResidual(24, 24, 1, 6), InvertedResidual(24, 32, 2, 6),
                         conv_bn_act(32, 64, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(64, 10))


@pytest.mark.parametrize("net,size", [("resnet56", 32), ("mini-mobilenetv2", 32)])
def test_channel_prune_equals_dense_with_dropped_inputs_zeroed(net, size):
    model = (build_model(net) if net == "resnet56" else _mini_mobilenet()).double().eval()
    # batch-norm statistics that are not the identity, so a mis-sliced one shows
    torch.manual_seed(3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    chains = prune_chains(model)
    assert len(chains) >= 4 and (net == "resnet56" or any(c.depthwise for c in chains))
    spec = Spec(net, "channel-prune", tuple(
        (c.producer, (("keep", max(1, model.get_submodule(c.producer).out_channels * 3 // 8)),))
        for c in chains))
    pruned = compress_model(copy.deepcopy(model), spec).eval()
    ref = _zero_dropped_inputs(model, pruned, chains).eval()
    x = torch.randn(2, 3, size, size, dtype=torch.float64)
    with torch.no_grad():
        assert _rel(pruned(x), ref(x)) <= 1e-9
    full = Spec(net, "channel-prune", tuple(
        (c.producer, (("keep", model.get_submodule(c.producer).out_channels),)) for c in chains))
    with torch.no_grad():
        assert _rel(compress_model(copy.deepcopy(model), full).eval()(x), model(x)) <= TOL


def test_prune_chains_follow_the_data_flow():
    """ResNet-18: conv1 -> conv2 inside each basic block (8 blocks), never across a residual
    add; MobileNetV2: each expansion 1x1 through its depthwise conv to the projection."""
    r18 = prune_chains(build_model("resnet18"))
    assert sorted((c.producer, c.consumer) for c in r18) == sorted(
        (f"layer{i}.{j}.conv1", f"layer{i}.{j}.conv2") for i in range(1, 5) for j in (0, 1))
    mb = {c.producer: c for c in prune_chains(build_model("mobilenetv2"))}
    c = mb["features.2.conv.0.0"]
    assert c.depthwise == ("features.2.conv.1.0",) and c.consumer == "features.2.conv.2.0"


# ---- closed-form workloads against the traces of the transformed models ----------------------
def _fields(wl):
    return [(l.name, l.op, l.in_shape, l.out_shape, l.kernel, l.stride, l.padding, l.groups)
            for l in wl]


@pytest.mark.parametrize("net", ["resnet18", "resnet50", "mobilenetv2"])
def test_workload_transform_equals_trace_of_transformed_model(net):
    regular = load_workload(net)
    for method in METHODS:
        spec = match_budget(regular, method, "macs", 2.0).spec
        with torch.device("meta"):
            model = compress_model(build_model(net), spec, fit=False)
        assert _fields(spec_workload(regular, spec)) == _fields(
            trace(model, input_shape(net), net)), method


# ---- matched budget ---------------------------------------------------------------------------
def _torch_macs(model, net):
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"), FlopCounterMode(display=False) as fc:
        model(torch.zeros(1, *input_shape(net), device="meta"))
    return fc.get_total_flops() // 2


FEASIBLE = {"resnet18": METHODS, "resnet50": ("structured", "channel-prune", "low-rank",
                                             "low-rank-cp"),
            "mobilenetv2": ("structured", "channel-prune", "low-rank", "low-rank-cp")}


@pytest.mark.parametrize("net,target", [(n, 2.0) for n in FEASIBLE] + [("resnet18", 3.0)])
def test_matched_macs_within_2_percent_counted_by_torch(net, target):
    with torch.device("meta"):
        dense = _torch_macs(build_model(net), net)
    regular = load_workload(net)
    for method in FEASIBLE[net]:
        res = match_budget(regular, method, "macs", target)
        with torch.device("meta"):
            model = compress_model(build_model(net), res.spec, fit=False)
        got = dense / _torch_macs(model, net)
        assert res.feasible, (method, res.achieved)
        assert abs(got / target - 1) <= 0.02, (method, got)


def test_matched_params_within_2_percent_counted_by_torch():
    net = "resnet18"
    regular = load_workload(net)

    def conv_params(model):
        return sum(m.weight.numel() for m in model.modules()
                   if isinstance(m, (nn.Conv2d, nn.Linear)))

    with torch.device("meta"):
        dense = conv_params(build_model(net))
    for method in ("structured", "channel-prune", "low-rank", "low-rank-cp", "depthwise"):
        res = match_budget(regular, method, "params", 2.0)
        with torch.device("meta"):
            model = compress_model(build_model(net), res.spec, fit=False)
        if method == "structured":   # a structured conv's weights are its alpha
            got = dense / sum(p.numel() for n, p in model.named_parameters()
                              if n.endswith(("weight", "alpha")) and p.dim() > 1)
        else:
            got = dense / conv_params(model)
        assert abs(got / 2.0 - 1) <= 0.02, (method, got)


def test_unreachable_budget_is_marked_with_the_methods_maximum():
    """Small kernels cannot halve ResNet-50 (its 3x3 convs hold 45 % of the MACs; all of them
    at 1x1 keep 1 - 0.45 * 8/9 of the MACs, ~1.67x): the result says so."""
    regular = load_workload("resnet50")
    res = match_budget(regular, "small-kernel", "macs", 2.0)
    assert not res.feasible
    convs = [l for l in regular if l.op == "conv2d"][1:]
    k3 = sum(l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * l.in_shape[0] * 9
             for l in convs if l.kernel == (3, 3))
    total = sum(l.out_shape[0] * l.out_shape[1] * l.out_shape[2] * l.in_shape[0]
                * l.kernel[0] * l.kernel[1] // l.groups for l in regular if l.op == "conv2d") \
        + sum(l.in_shape[0] * l.out_shape[0] for l in regular if l.op == "linear")
    assert res.achieved == pytest.approx(total / (total - k3 * 8 / 9), rel=1e-9)


# ---- specs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_spec_yaml_round_trips(tmp_path, method):
    regular = load_workload("resnet18")
    spec = match_budget(regular, method, "macs", 2.0).spec
    p = tmp_path / "s.yaml"
    p.write_text(spec_to_yaml(spec))
    back = load_spec_file(p, regular)
    assert back.method == method and back.params == spec.params


def test_spec_rules_fractions_and_skip(tmp_path):
    regular = load_workload("resnet18")
    p = tmp_path / "s.yaml"
    p.write_text("network: resnet18\nmethod: low-rank\nrules:\n  - match: 'layer4.*'\n"
                 "    skip: true\n  - match: 'layer*'\n    kind: conv3x3\n    ranks: [0.5, 16]\n"
                 "layers:\n  layer1.0.conv1: {ranks: [8, 8]}\n")
    a = load_spec_file(p, regular).assignment
    assert a["layer1.0.conv1"] == {"ranks": (8, 8)}
    assert a["layer3.0.conv2"] == {"ranks": (128, 16)}      # C = 256 -> 0.5 C = 128
    assert not any(n.startswith("layer4") for n in a)
    assert "conv1" not in a                                  # the stem stays dense


BAD = [
    ("low-rank", "layers:\n  layer1.0.conv1: {ranks: [65, 8]}\n", "layer1.0.conv1", "65"),
    ("low-rank-cp", "layers:\n  layer2.0.conv1: {rank: 100000}\n", "layer2.0.conv1", "100000"),
    ("channel-prune", "rules:\n  - match: 'layer*'\n    keep: 1.5\n", "keep", "1.5"),
    ("channel-prune", "rules:\n  - match: 'layer*'\n    keep: 0.0\n", "keep", "0.0"),
    ("small-kernel", "layers:\n  layer1.0.conv1: {n: 4}\n", "layer1.0.conv1", "4"),
    ("depthwise", "rules:\n  - match: 'nothing*'\n", "match", "nothing*"),
    ("low-rank", "layers:\n  fc: {rank: 2}\n", "layers", "fc"),
]


@pytest.mark.parametrize("method,body,field,value", BAD)
def test_bad_spec_one_line_exit_2(tmp_path, capsys, method, body, field, value):
    p = tmp_path / "bad.yaml"
    p.write_text(f"network: resnet18\nmethod: {method}\n{body}")
    rc = main(["compare", "resnet18", "--methods", method, "--spec", f"{method}={p}",
               "--arch", "tpu-v1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err
    assert str(p) in err and field in err and value in err


@pytest.mark.parametrize("argv", [
    ["--match", "macs=0.5"], ["--match", "flops=2"], ["--methods", "magic"],
    ["--arch", "tpu-v1,tpu-v1"],
])
def test_bad_compare_arguments_exit_2(capsys, argv):
    assert main(["compare", "resnet56", *argv]) == 2
    assert "\n" not in capsys.readouterr().err.strip()


def test_check_param_rejects_rank_above_channels():
    from accelsim.workload.compress import check_param

    l = load_workload("resnet18").layer("layer1.0.conv1")
    with pytest.raises(InputError, match="rank r1 must be in 1..64"):
        check_param("low-rank", l, {"ranks": [65, 4]})


# ---- the compare command ------------------------------------------------------------------------
def test_compare_report_definitions_and_determinism(tmp_path, capsys):
    import csv

    argv = ["compare", "resnet56", "--match", "macs=2.0", "--arch", "scalesim-32x32-os",
            "--methods", "structured,small-kernel,channel-prune,low-rank",
            "--hardware-aware", "1.2", "--no-plots"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    for f in ("compare.csv", "compare.md", "compare.tex"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    rows = list(csv.DictReader((tmp_path / "a" / "compare.csv").open()))
    reg = next(r for r in rows if r["variant"] == "regular")
    for r in rows:
        ideal = float(reg["macs"]) / float(r["macs"])
        realized = float(reg["cycles"]) / float(r["cycles"])
        assert float(r["ideal_speedup"]) == pytest.approx(ideal, rel=1e-5)
        assert float(r["realized_speedup"]) == pytest.approx(realized, rel=1e-5)
        shares = sum(float(r[f"share_{k}"]) for k in ("array", "pool", "vector", "stall"))
        assert shares + float(r["realized_over_ideal"]) == pytest.approx(1.0, abs=1e-5)
        if r["variant"] in ("structured", "small-kernel", "channel-prune", "low-rank"):
            assert abs(ideal / 2.0 - 1) <= 0.02
    # the hardware-aware recipe keeps exactly the layers whose realized gain beats 1.2
    gain = list(csv.DictReader((tmp_path / "a" / "gain" / "scalesim-32x32-os__resnet56.csv")
                               .open()))
    from accelsim.workload.recipe import load_recipe_file

    rec = load_recipe_file(tmp_path / "a" / "gain" /
                           "scalesim-32x32-os__resnet56_hw_recipe.yaml", load_workload("resnet56"))
    assert {n for n, _, _ in rec.choices} == {g["layer"] for g in gain
                                              if float(g["realized_gain"]) > 1.2}
    assert any(r["variant"] == "structured-A-hw" for r in rows)


def test_shape_only_structured_transform_leaves_projection_cache_alone():
    """A meta-device (shape-only) structured transform must not leave meta tensors in the
    process-wide pseudo-inverse cache that later least-squares projections read."""
    from accelsim.workload.structured import structural_loss

    regular = load_workload("resnet18")
    spec = match_budget(regular, "structured", "macs", 2.0).spec
    with torch.device("meta"):
        compress_model(build_model("resnet18"), spec, fit=False)
    torch.manual_seed(0)
    w = torch.randn(64, 64, 3, 3, dtype=torch.float64)
    got = structural_loss(w, 64, 2)
    assert 0.0 < got < 1.0 and abs(got - (1 - 64 * 4 / (64 * 9)) ** 0.5) < 0.05
