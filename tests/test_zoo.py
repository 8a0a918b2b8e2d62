"""Reference networks: parameter counts equal the published ones, MACs equal an independent counter,
traced shapes chain, and the shipped traces are fresh. Each network is built and traced once."""

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from accelsim.workload import zoo
from accelsim.common.errors import InputError
from accelsim.workload.layer import read_workload_csv, write_workload_csv
from accelsim.workloads.make_traces import fresh_trace

TRACES = Path(__file__).resolve().parents[1] / "workloads" / "traces"

PUBLISHED_PARAMS = {  # design.md section 5
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032, "resnet56": 853_018,
    "mobilenetv2": 3_504_872, "efficientnet_b0": 5_288_548, "efficientnet_b1": 7_794_184,
}
PUBLISHED_MACS = {"resnet18": 1_814_073_344, "resnet50": 4_089_184_256,
                  "mobilenetv2": 300_774_272}


@pytest.fixture(scope="module", params=zoo.NETWORKS)
def net(request):
    name = request.param
    model = zoo.build_model(name)
    return name, model, fresh_trace(name, model)


def test_networks_listed_in_order():
    assert zoo.NETWORKS == tuple(PUBLISHED_PARAMS)


def test_params_equal_published(net):
    name, model, _ = net
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]
    assert zoo.published_params(name) == PUBLISHED_PARAMS[name]


def test_traced_macs_equal_torch_flop_counter(net):
    name, model, wl = net
    # the counter needs shapes only: run the same model with meta-device parameters (no arithmetic)
    meta = {k: torch.empty_like(v, device="meta")
            for k, v in (*model.named_parameters(), *model.named_buffers())}
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        torch.func.functional_call(model, meta,
                                   (torch.zeros(1, *zoo.input_shape(name), device="meta"),))
    assert wl.macs == counter.get_total_flops() // 2
    if name in PUBLISHED_MACS:
        assert wl.macs == PUBLISHED_MACS[name]


def test_traced_weights_are_the_conv_and_linear_params(net):
    name, model, wl = net
    expected = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                   for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert wl.weights == expected


def test_traced_shapes_chain(net):
    """Each layer reads what the layer before it wrote, except the two known side branches: a ResNet
    downsample conv reads its block's input (= the block's conv1 input) and an SE gate ``mul``
    scales the tensor its squeeze ``avgpool`` read."""
    name, _, wl = net
    layers = list(wl)
    assert layers[0].in_shape == zoo.input_shape(name)
    assert layers[-1].op == "linear" and layers[-1].out_shape[0] == (10 if name == "resnet56"
                                                                     else 1000)
    for prev, cur in zip(layers, layers[1:]):
        if cur.name.endswith(".downsample.0"):
            block = cur.name[: -len(".downsample.0")]
            assert cur.in_shape == wl.layer(f"{block}.conv1").in_shape
        elif cur.op == "mul":
            se = cur.name[: -len(".mul")]
            assert cur.in_shape == wl.layer(f"{se}.avgpool").in_shape == cur.out_shape
            assert prev.out_shape == (cur.in_shape[0], 1, 1)
        else:
            assert cur.in_shape == prev.out_shape, cur.name


def test_shipped_trace_is_fresh_and_round_trips(net, tmp_path):
    name, _, wl = net
    shipped = TRACES / f"{name}_regular.csv"
    back = read_workload_csv(shipped)
    assert back.layers == wl.layers
    assert back.input_shape == zoo.input_shape(name)
    assert (back.network, back.variant) == (name, "regular")
    write_workload_csv(wl, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == shipped.read_bytes()


def test_build_is_reproducible():
    a, b = zoo.build_model("resnet56"), zoo.build_model("resnet56")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))
    assert not torch.equal(a.fc.weight, zoo.build_model("resnet56", seed=1).fc.weight)


@pytest.mark.parametrize("call", [zoo.build_model, zoo.input_shape, zoo.published_params])
def test_unknown_network_lists_valid_names(call):
    with pytest.raises(InputError, match="resnet18.*efficientnet_b1"):
        call("resnet19")
