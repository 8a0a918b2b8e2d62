"""The systolic engine against SCALE-Sim v2.0.2: its committed reports, and live runs on tiny layers."""

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from accelsim.hardware.arch import Arch, load_arch
from accelsim.engine.systolic import simulate_compute
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer, macs, read_workload_csv, scalesim_out_hw

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scalesim"
TOPO = ROOT / "workloads" / "scalesim"


def _reports(folder):
    comp = list(csv.reader(open(folder / "COMPUTE_REPORT.csv")))[1:]
    acc = list(csv.reader(open(folder / "DETAILED_ACCESS_REPORT.csv")))[1:]
    return comp, acc


def _check(layer, arch, comp_row, acc_row):
    cc = simulate_compute(map_layer(layer, arch))
    assert cc.compute_cycles == int(comp_row[1])
    assert cc.mapping_efficiency == pytest.approx(float(comp_row[4]), rel=1e-9)
    assert cc.compute_util == pytest.approx(float(comp_row[5]), rel=1e-9)
    overall = 100.0 * macs(layer) / (cc.compute_cycles * arch.pes)
    assert overall == pytest.approx(float(comp_row[3]), rel=1e-9)
    assert cc.ifmap_sram_reads == int(float(acc_row[3]))
    assert cc.filter_sram_reads == int(float(acc_row[6]))
    assert cc.ofmap_sram_writes == int(float(acc_row[9]))


def test_resnet18_32x32_os_matches_committed_scalesim_report():
    wl = read_workload_csv(TOPO / "Resnet18.csv")
    arch = load_arch(TOPO / "scale.cfg")
    comp, acc = _reports(DATA / "resnet18_32x32_os")
    assert len(comp) == len(wl) == 21
    for layer, c, a in zip(wl, comp, acc):
        _check(layer, arch, c, a)


def test_alexnet_part_ws_matches_scalesim_golden_report():
    wl = read_workload_csv(TOPO / "alexnet_part.csv")
    arch = load_arch(TOPO / "scale.cfg").with_(dataflow="ws")
    comp, acc = _reports(DATA / "golden_alexnet_part_32x32_ws")
    _check(wl.layers[0], arch, comp[0], acc[0])


TINY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
L1, 12, 12, 3, 3, 5, 7, 1,
L2, 9, 9, 2, 2, 3, 11, 2,
L3, 8, 8, 1, 1, 20, 3, 1,
"""


@pytest.mark.parametrize("df, rows, cols", [("os", 4, 6), ("ws", 5, 3), ("is", 3, 4)])
def test_live_scalesim_tiny_layers(tmp_path, df, rows, cols):
    scalesim = pytest.importorskip("scalesim.scale_sim")
    cfg = (TOPO / "scale.cfg").read_text().replace("ArrayHeight:    32", f"ArrayHeight: {rows}")
    cfg = cfg.replace("ArrayWidth:     32", f"ArrayWidth: {cols}").replace("Dataflow : os",
                                                                         f"Dataflow : {df}")
    (tmp_path / "c.cfg").write_text(cfg)
    (tmp_path / "t.csv").write_text(TINY)
    sim = scalesim.scalesim(save_disk_space=True, verbose=False, config=str(tmp_path / "c.cfg"),
                            topology=str(tmp_path / "t.csv"))
    sim.run_scale(top_path=str(tmp_path / "out"))
    folder = next((tmp_path / "out").iterdir())
    comp, acc = _reports(folder)
    arch = load_arch(tmp_path / "c.cfg")
    assert (arch.rows, arch.cols, arch.dataflow) == (rows, cols, df)
    wl = read_workload_csv(tmp_path / "t.csv")
    for layer, c, a in zip(wl, comp, acc):
        _check(layer, arch, c, a)


def _mapping_efficiency_by_enumeration(M, N, K, rows, cols, df):
    """SCALE-Sim's mapping efficiency, folds enumerated one by one: the array's rows hold the
    os output pixels (M) or the ws/is window elements (K); its columns the os/ws filters (N)
    or the is output pixels (M); each fold uses min(rows, left) x min(cols, left) PEs, and the
    efficiency is the mean over folds of the used share."""
    sr, sc = {"os": (M, N), "ws": (K, N), "is": (K, M)}[df]
    used = [min(rows, sr - i) * min(cols, sc - j)
            for i in range(0, sr, rows) for j in range(0, sc, cols)]
    return 100.0 * sum(used) / (len(used) * rows * cols)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 5), st.integers(1, 64),
       st.integers(1, 40), st.integers(1, 2), st.integers(1, 48), st.integers(1, 48),
       st.sampled_from(["os", "ws", "is"]))
def test_closed_form_invariants(H, C, R, K, W, s, rows, cols, df):
    H, W = max(H, R), max(W, R)
    E, F = scalesim_out_hw(H, W, R, s)
    layer = Layer("l", "conv2d", (C, H, W), (K, E, F), (R, R), (s, s))
    arch = Arch("a", rows, cols, df, 64, 64, 64)
    cc = simulate_compute(map_layer(layer, arch))
    # no array does better than all PEs busy every cycle (SCALE-Sim reports one cycle less)
    assert cc.compute_cycles + 1 >= macs(layer) / arch.pes
    assert cc.mapping_efficiency == pytest.approx(
        _mapping_efficiency_by_enumeration(E * F, K, C * R * R, rows, cols, df), rel=1e-12)
    # a fold's compute utilization counts its fill and drain cycles too: never above mapping
    assert 0 < cc.compute_util <= cc.mapping_efficiency + 1e-9
    # a bigger array never needs more folds
    assert map_layer(layer, arch.with_(rows=rows + 1)).folds <= map_layer(layer, arch).folds
    assert map_layer(layer, arch.with_(cols=cols + 1)).folds <= map_layer(layer, arch).folds


def test_mapping_efficiency_hand_worked():
    """A 5x5 conv of 3 channels to 10 filters on 12x12 (8x8 outputs) on a 16x4 os array: 64
    pixels fill 4 row folds of 16 exactly; 10 filters take 3 column folds of 4, 4, 2 PEs wide:
    mean used share (4 + 4 + 2) / (3 * 4) = 83.33 %."""
    layer = Layer("l", "conv2d", (3, 12, 12), (10, 8, 8), (5, 5))
    cc = simulate_compute(map_layer(layer, Arch("a", 16, 4, "os", 64, 64, 64)))
    assert cc.mapping_efficiency == pytest.approx(100 * 10 / 12, rel=1e-12)
