"""The fx tracer: ops, shapes and names of a hand-built model; shipped traces are not stale."""

from pathlib import Path

import pytest
import torch
from torch import nn

from accelsim import zoo
from accelsim.errors import InputError
from accelsim.trace import trace
from accelsim.workload import read_workload_csv, write_workload_csv

TRACES = Path(__file__).resolve().parents[1] / "workloads" / "traces"


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


def test_tiny_model_ops_shapes_names():
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


def test_unsupported_module_names_path_and_type():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2))

        def forward(self, x):
            return self.body(x)

    with pytest.raises(InputError, match=r"body\.1.*Upsample"):
        trace(Bad(), (3, 8, 8))


def test_residual_chain_shapes_resnet18():
    wl = trace(zoo.build_model("resnet18"), (3, 224, 224), "resnet18")
    names = [l.name for l in wl]
    assert "layer1.0.add" in names and "layer1.0.relu_1" in names
    # every conv's input channels equal its producer's output channels along the main path
    convs = [l for l in wl if l.op == "conv2d" and "downsample" not in l.name]
    for a, b in zip(convs, convs[1:]):
        assert b.in_shape[0] == a.out_shape[0]


@pytest.mark.parametrize("network", zoo.NETWORKS)
def test_shipped_trace_is_fresh_and_round_trips(network, tmp_path):
    from accelsim.workloads.make_traces import fresh_trace

    wl = fresh_trace(network)
    shipped = read_workload_csv(TRACES / f"{network}_regular.csv")
    assert shipped.layers == wl.layers
    assert shipped.input_shape == zoo.input_shape(network)
    write_workload_csv(wl, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_bytes() == (TRACES / f"{network}_regular.csv").read_bytes()
