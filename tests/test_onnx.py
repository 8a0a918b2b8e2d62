"""ONNX import: a shipped network exported by torch reads back as the same layers as the fx
tracer gives (ops, shapes, windows, MACs), and bad files are InputErrors."""

import warnings

import pytest
import torch
from torch import nn

from accelsim.workload import zoo
from accelsim.cli import main
from accelsim.common.errors import InputError
from accelsim.workload.networks import load_workload
from accelsim.workload.onnx_import import load_onnx
from accelsim.workload.trace import trace
from accelsim.workload.layer import macs

onnx = pytest.importorskip("onnx")


def export(model, shape, path):
    # the legacy (TorchScript) exporter: the default dynamo exporter needs onnxscript
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False)
    return path


def key(layer):
    return (layer.op, layer.in_shape, layer.out_shape, layer.kernel, layer.stride,
            layer.padding, layer.groups, macs(layer))


@pytest.fixture(scope="module")
def resnet56_onnx(tmp_path_factory):
    model = zoo.build_model("resnet56")
    path = export(model, zoo.input_shape("resnet56"), tmp_path_factory.mktemp("o") / "r56.onnx")
    return model, path


def test_resnet56_layer_by_layer_equals_trace(resnet56_onnx):
    model, path = resnet56_onnx
    ref = trace(model, zoo.input_shape("resnet56"), network="resnet56")
    got = load_onnx(path)
    assert [key(l) for l in got.layers] == [key(l) for l in ref.layers]
    assert [l.name for l in got.layers] == [l.name for l in ref.layers]
    assert got.macs == ref.macs and got.input_shape == (3, 32, 32)
    # the shipped trace is the same network: one more independent reference
    assert got.macs == load_workload("resnet56").macs


def test_depthwise_silu_se_and_matmul(tmp_path):
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.act = nn.SiLU()
            self.dw = nn.Conv2d(8, 8, (3, 5), padding=(1, 2), groups=8, bias=False)
            self.relu6 = nn.ReLU6()
            self.pool = nn.AvgPool2d(2)
            self.fc = nn.Linear(8, 5)

        def forward(self, x):
            x = self.act(self.conv(x))
            y = self.relu6(self.dw(x))
            s = torch.sigmoid(y.mean((2, 3), keepdim=True))
            y = self.pool(y * s)
            return self.fc(torch.flatten(y.mean((2, 3)), 1))

    m = M().eval()
    got = load_onnx(export(m, (3, 16, 20), tmp_path / "m.onnx"))
    ref = trace(m, (3, 16, 20))
    assert [key(l) for l in got.layers] == [key(l) for l in ref.layers]
    dw = next(l for l in got.layers if l.groups == 8)
    assert macs(dw) == 8 * 8 * 10 * 15  # C * R*S * E*F, depthwise


def test_load_workload_resolves_onnx_and_simulate_cli(resnet56_onnx, tmp_path, capsys):
    _, path = resnet56_onnx
    assert [key(l) for l in load_workload(str(path)).layers] == \
        [key(l) for l in load_workload("resnet56").layers]
    assert main(["simulate", "--arch", "edge-npu", "--workload", str(path), "--json"]) == 0


def test_bad_onnx_files(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a protobuf at all\xff" * 10)
    with pytest.raises(InputError, match="junk.onnx"):
        load_onnx(junk)
    with pytest.raises(InputError, match="no such file"):
        load_onnx(tmp_path / "missing.onnx")

    class Odd(nn.Module):
        def forward(self, x):
            return torch.floor(x)

    odd = export(Odd(), (3, 4, 4), tmp_path / "odd.onnx")
    with pytest.raises(InputError, match="Floor.*unsupported ONNX operator"):
        load_onnx(odd)
