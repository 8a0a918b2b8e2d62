"""The main job simulates networks that share layer shapes in one task (speedup._clusters,
issue 14 item 5): the groups, and the same files whatever the grouping and the workers."""

import contextlib
import io

from accelsim.cli import main
from accelsim.cli import speedup as _speedup

NETS = ["resnet18", "resnet34", "resnet56", "mobilenetv2", "efficientnet_b0"]
VARIANTS = ["regular", "A", "B"]


def test_clusters_join_networks_that_share_layers_within_the_cap():
    big = _speedup._clusters(NETS, VARIANTS, cap=float("inf"))
    assert big == [["resnet18", "resnet34"], ["resnet56"], ["mobilenetv2", "efficientnet_b0"]]
    # every network once, in its order, whatever the cap; a cap below any pair: no group
    for cap in (0, 1e7, 1e8, float("inf")):
        got = _speedup._clusters(NETS, VARIANTS, cap=cap)
        assert sorted(n for g in got for n in g) == sorted(NETS)
        assert all(g == sorted(g, key=NETS.index) for g in got)
    assert _speedup._clusters(NETS, VARIANTS, cap=0) == [[n] for n in NETS]


def _run(tmp_path, name, extra):
    out = tmp_path / name
    args = ["speedup", "--arch", "scalesim-eyeriss", "edge-npu", "--networks", "resnet56",
            "resnet18", "resnet34", "--variants", "A", "--detail-network", "resnet34",
            "--out", str(out)] + extra
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    return {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()
            and p.name not in ("report.html", ".accelsim-manifest.json")}


def test_grouped_runs_write_the_same_files(tmp_path, monkeypatch):
    one = _run(tmp_path, "one", ["--jobs", "1"])
    # every network of an arch in one task: the detail network's figures from inside a group
    monkeypatch.setattr(_speedup, "_clusters", lambda nets, *a, **k: [list(nets)])
    grouped = _run(tmp_path, "grouped", ["--jobs", "2"])
    assert grouped == one and any(k.endswith(".png") for k in one)
