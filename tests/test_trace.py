"""The fx tracer: ops, shapes and names of hand-built models, structured layers, bad input.
(Whole-network checks and shipped-trace freshness: test_zoo.py.)"""


import pytest
import torch
from torch import nn

from accelsim.common.errors import InputError
from accelsim.workload.trace import trace
from accelsim.workload.layer import read_workload_csv, write_workload_csv



class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.dw = nn.Conv2d(8, 8, (3, 5), padding=(1, 2), groups=8, bias=False)
        self.se = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        y = self.dw(x) + x
        s = torch.sigmoid(self.se(y.mean((2, 3), keepdim=True)))
        y = y * s
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


def test_tiny_model_ops_shapes_names(tmp_path):
    wl = trace(Tiny(), (3, 16, 16), "tiny")
    got = [(l.name, l.op, l.in_shape, l.out_shape) for l in wl]
    assert got == [
        ("conv", "conv2d", (3, 16, 16), (8, 16, 16)),
        ("relu", "act", (8, 16, 16), (8, 16, 16)),
        ("pool", "maxpool", (8, 16, 16), (8, 8, 8)),
        ("dw", "conv2d", (8, 8, 8), (8, 8, 8)),
        ("add", "add", (8, 8, 8), (8, 8, 8)),
        ("gap", "gap", (8, 8, 8), (8, 1, 1)),
        ("se", "conv2d", (8, 1, 1), (8, 1, 1)),
        ("sigmoid", "act", (8, 1, 1), (8, 1, 1)),
        ("mul", "mul", (8, 8, 8), (8, 8, 8)),
        ("gap_1", "gap", (8, 8, 8), (8, 1, 1)),
        ("fc", "linear", (8, 1, 1), (4, 1, 1)),
    ]
    dw = wl.layer("dw")
    assert dw.groups == 8 and dw.kernel == (3, 5) and dw.padding == (1, 2) and not dw.bias
    assert wl.layer("conv").bias
    write_workload_csv(wl, tmp_path / "tiny.csv")
    back = read_workload_csv(tmp_path / "tiny.csv")
    assert (back.layers, back.network, back.input_shape) == (wl.layers, "tiny", (3, 16, 16))


def test_unsupported_module_names_path_and_type():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2))

        def forward(self, x):
            return self.body(x)

    with pytest.raises(InputError, match=r"body\.1.*Upsample"):
        trace(Bad(), (3, 8, 8))


def test_block_naming_and_option_a_shortcut_is_not_a_layer():
    from accelsim.workloads.resnet import BasicBlock

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stage = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, 2, shortcut="A"))

        def forward(self, x):
            return self.stage(x)

    wl = trace(Net(), (8, 8, 8))
    # the shared relu is called twice per block: relu, relu_1; the residual add is <block>.add
    assert [(l.name, l.op, l.out_shape) for l in wl] == [
        ("stage.0.conv1", "conv2d", (8, 8, 8)), ("stage.0.relu", "act", (8, 8, 8)),
        ("stage.0.conv2", "conv2d", (8, 8, 8)), ("stage.0.add", "add", (8, 8, 8)),
        ("stage.0.relu_1", "act", (8, 8, 8)),
        ("stage.1.conv1", "conv2d", (16, 4, 4)), ("stage.1.relu", "act", (16, 4, 4)),
        ("stage.1.conv2", "conv2d", (16, 4, 4)), ("stage.1.add", "add", (16, 4, 4)),
        ("stage.1.relu_1", "act", (16, 4, 4)),
    ]


def test_structured_layers_become_sumpool_then_small_conv():
    from torch.utils.flop_counter import FlopCounterMode

    from accelsim.workload.structured import StructuredConv2d, StructuredLinear, sumpool

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = StructuredConv2d(8, 6, 3, c=3, n=2, stride=2, padding=1, groups=2)
            self.fc = StructuredLinear(6, 4, c=3)

        def forward(self, x):
            return self.fc(self.conv(x).mean((2, 3)))

    torch.manual_seed(0)
    model = Net().eval()
    wl = trace(model, (8, 9, 9), "s", "A")
    assert [(l.name, l.op) for l in wl] == [("conv.sumpool", "sumpool"), ("conv", "conv2d"),
                                            ("gap", "gap"), ("fc.sumpool", "sumpool"),
                                            ("fc", "linear")]
    x = torch.randn(1, 8, 9, 9)
    pooled = sumpool(nn.functional.pad(x, (1, 1, 1, 1)), 4 - 3 + 1, (2, 2), groups=2)
    pool, conv = wl.layer("conv.sumpool"), wl.layer("conv")
    assert pool.out_shape == tuple(pooled.shape[1:]) == conv.in_shape
    assert (pool.in_shape, pool.padding, pool.kernel, pool.groups, pool.pool_channels) == (
        (8, 9, 9), (1, 1), (2, 2), 2, 2)
    assert (conv.kernel, conv.stride, conv.padding, conv.groups, conv.c, conv.n) == (
        (2, 2), (2, 2), (0, 0), 2, 3, 2)
    assert conv.out_shape == tuple(model.conv(x).shape[1:])
    lp, lin = wl.layer("fc.sumpool"), wl.layer("fc")
    assert (lp.in_shape, lp.out_shape, lp.pool_channels, lin.in_shape, lin.out_shape) == (
        (6, 1, 1), (3, 1, 1), 4, (3, 1, 1), (4, 1, 1))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    # the MAC array's work (the small conv and linear) is what torch's counter sees as mm/conv
    assert wl.macs == counter.get_total_flops() // 2
