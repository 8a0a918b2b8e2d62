"""The main job's figures skip savefig's extra draw (plotkit._drop_placeholder_layout, issue 14
item 5): every figure of the report gives the same PNG and SVG bytes with the shortcut as
without it."""

import pytest

from accelsim.cli import speedup as _speedup
from accelsim.hardware.arch import load_arch
from accelsim.report import layer_plots, plotkit, plots
from accelsim.report import tables as report


@pytest.fixture(scope="module")
def data():
    rows, frames = [], {}
    for name in ("scalesim-eyeriss", "edge-npu"):   # CALC without a pool unit; USER, fused
        arch = load_arch(name)
        r, _, fr, _ = _speedup._simulate_net(arch, "resnet18", ["regular", "A", "B"], 1, True)
        rows += r
        frames[name] = (arch, [(v, fr[v]) for v in ("regular", "A", "B")])
    return report.add_speedups(rows), frames


def _draw(kind, data, folder):
    rows, frames = data
    sink: dict = {}
    kw = {"formats": ("png", "svg"), "svg_sink": sink}
    if kind in ("heatmap", "speedup", "cycle_breakdown", "energy"):
        getattr(plots, f"{kind}_plot")(rows, folder, kind, **kw)
    else:
        arch, fr = frames["edge-npu" if kind.endswith("npu") else "scalesim-eyeriss"]
        if kind.startswith("layers"):
            layer_plots.layer_breakdown_plot(fr, arch.name, "resnet18", folder, kind, **kw)
        else:
            layer_plots.roofline_plot([(f"resnet18:{v}", df) for v, df in fr], arch, folder,
                                      kind, **kw)
    return (folder / f"{kind}.png").read_bytes(), (folder / f"{kind}.svg").read_bytes(), sink


@pytest.mark.parametrize("kind", ["heatmap", "speedup", "cycle_breakdown", "energy",
                                  "layers_eyeriss", "layers_npu", "roofline_eyeriss",
                                  "roofline_npu"])
def test_no_extra_draw_gives_the_same_bytes(data, kind, tmp_path, monkeypatch):
    (tmp_path / "with").mkdir()
    (tmp_path / "without").mkdir()
    fast = _draw(kind, data, tmp_path / "with")
    monkeypatch.setattr(plotkit, "_drop_placeholder_layout", lambda fig: None)
    slow = _draw(kind, data, tmp_path / "without")
    assert fast == slow
