"""Reference networks: parameter counts equal the published ones, MACs equal an independent counter."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from accelsim import zoo
from accelsim.errors import InputError
from accelsim.trace import trace

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
    return name, model, trace(model, zoo.input_shape(name), name)


def test_params_equal_published(net):
    name, model, _ = net
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]
    assert zoo.published_params(name) == PUBLISHED_PARAMS[name]


def test_traced_macs_equal_torch_flop_counter(net):
    name, model, wl = net
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, *zoo.input_shape(name)))
    assert wl.macs == counter.get_total_flops() // 2
    if name in PUBLISHED_MACS:
        assert wl.macs == PUBLISHED_MACS[name]


def test_traced_weights_are_the_conv_and_linear_params(net):
    name, model, wl = net
    expected = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                   for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert wl.weights == expected


def test_unknown_network_lists_valid_names():
    with pytest.raises(InputError, match="resnet18"):
        zoo.build_model("resnet19")
