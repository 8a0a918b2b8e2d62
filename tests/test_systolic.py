"""The systolic compute engine against SCALE-Sim v2.0.2 and against closed-form invariants.

tests/data/scalesim/ holds copies of SCALE-Sim 2.0.2's reports from
/work/shared/reference/scalesim/ (resnet18_32x32_os: Resnet18.csv on scale.cfg;
golden_alexnet_part_32x32_ws: SCALE-Sim's own regression output); the topologies and cfgs
are the copies in workloads/scalesim/.
"""

import csv
import math
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from accelsim.hardware.arch import Arch, load_arch
from accelsim.engine.systolic import SCALESIM_OFF_BY_ONE, overall_util, simulate_compute
from accelsim.engine.mapping import map_layer
from accelsim.workload.layer import Layer, macs, read_workload_csv, scalesim_out_hw

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scalesim"
TOPO = ROOT / "workloads" / "scalesim"


def _compute_report(folder):
    with open(folder / "COMPUTE_REPORT.csv") as fh:
        return [[c.strip() for c in row] for row in list(csv.reader(fh))[1:]]


def _check(layer, arch, row):
    """One COMPUTE_REPORT row: LayerID, Total Cycles, Stall Cycles, Overall Util %,
    Mapping Efficiency %, Compute Util %."""
    cc = simulate_compute(map_layer(layer, arch))
    assert cc.compute_cycles == int(float(row[1])), layer.name
    assert int(float(row[2])) == 0  # CALC mode: stall-free
    assert overall_util(macs(layer), cc.compute_cycles, arch.pes) == pytest.approx(
        float(row[3]), rel=1e-9)
    assert cc.mapping_efficiency == pytest.approx(float(row[4]), rel=1e-9)
    assert cc.compute_util == pytest.approx(float(row[5]), rel=1e-9)


def test_resnet18_32x32_os_equals_reference_report():
    wl = read_workload_csv(TOPO / "Resnet18.csv")
    arch = load_arch(TOPO / "scale.cfg")
    rows = _compute_report(DATA / "resnet18_32x32_os")
    assert len(rows) == len(wl) == 21
    for layer, row in zip(wl, rows):
        _check(layer, arch, row)
    # NOTES section 6: conv1 = 758 folds x 209 rows - 1, on SCALE-Sim's 110x110 ofmap
    conv1 = simulate_compute(map_layer(wl.layers[0], arch))
    assert wl.layers[0].out_shape[1:] == (110, 110)
    assert (conv1.folds, conv1.cycles_per_fold, conv1.compute_cycles) == (758, 209, 158421)


def test_alexnet_part_ws_equals_golden_report():
    wl = read_workload_csv(TOPO / "alexnet_part.csv")
    arch = load_arch(TOPO / "scale.cfg").with_(dataflow="ws")
    _check(wl.layers[0], arch, _compute_report(DATA / "golden_alexnet_part_32x32_ws")[0])


# tiny layers: stride 2 with odd H - R (ofmap one larger than torch's), a layer larger than the
# array on both axes, a 1x1 layer, a rectangular kernel/ifmap
TINY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
S2odd, 9, 9, 2, 2, 3, 11, 2,
Big, 12, 12, 3, 3, 5, 13, 1,
Pw, 6, 6, 1, 1, 20, 3, 1,
Rect, 7, 10, 3, 2, 2, 5, 2,
"""


@pytest.mark.parametrize("df, rows, cols", [("os", 4, 6), ("ws", 5, 3), ("is", 3, 4),
                                            ("os", 7, 2), ("ws", 2, 7), ("is", 8, 8)])
def test_live_scalesim_tiny_layers(tmp_path, df, rows, cols):
    scalesim = pytest.importorskip("scalesim.scale_sim")
    cfg = (TOPO / "scale.cfg").read_text()
    cfg = cfg.replace("ArrayHeight:    32", f"ArrayHeight: {rows}")
    cfg = cfg.replace("ArrayWidth:     32", f"ArrayWidth: {cols}")
    cfg = cfg.replace("Dataflow : os", f"Dataflow : {df}")
    (tmp_path / "c.cfg").write_text(cfg)
    (tmp_path / "t.csv").write_text(TINY)
    sim = scalesim.scalesim(save_disk_space=True, verbose=False, config=str(tmp_path / "c.cfg"),
                            topology=str(tmp_path / "t.csv"))
    sim.run_scale(top_path=str(tmp_path / "out"))
    rows_ = _compute_report(next((tmp_path / "out").iterdir()))
    arch = load_arch(tmp_path / "c.cfg")
    assert (arch.rows, arch.cols, arch.dataflow) == (rows, cols, df)
    wl = read_workload_csv(tmp_path / "t.csv")
    assert wl.layer("S2odd").out_shape[1:] == (5, 5)  # torch would give 4x4
    assert len(rows_) == len(wl)
    for layer, row in zip(wl, rows_):
        _check(layer, arch, row)


def test_off_by_one_is_explicit():
    layer = Layer("l", "conv2d", (1, 4, 4), (4, 1, 1), (4, 4))
    cc = simulate_compute(map_layer(layer, Arch("a", 4, 4, "os", 1, 1, 1)))
    # one fold, T = 16 streamed, 4 + 4 - 2 skew/drain rows: 22 rows, SCALE-Sim reports 21
    assert cc.true_cycles == 22 and cc.compute_cycles == 22 - SCALESIM_OFF_BY_ONE


def _layer(H, W, C, K, R, S, s, groups=1):
    H, W = max(H, R), max(W, S)
    E, F = scalesim_out_hw(H, W, (R, S), (s, s))
    return Layer("l", "conv2d", (C * groups, H, W), (K * groups, E, F), (R, S), (s, s),
                 groups=groups)


dims = dict(H=st.integers(1, 30), W=st.integers(1, 30), C=st.integers(1, 12),
            K=st.integers(1, 70), R=st.integers(1, 5), S=st.integers(1, 5),
            s=st.integers(1, 3), rows=st.integers(1, 40), cols=st.integers(1, 40),
            df=st.sampled_from(["os", "ws", "is"]))


@settings(max_examples=80, deadline=None)
@given(**dims)
def test_closed_form_invariants(H, W, C, K, R, S, s, rows, cols, df):
    layer = _layer(H, W, C, K, R, S, s)
    arch = Arch("a", rows, cols, df, 64, 64, 64)
    mp = map_layer(layer, arch)
    cc = simulate_compute(mp)
    # no array beats every PE busy every cycle
    assert cc.true_cycles >= macs(layer) / arch.pes
    assert 0 < cc.mapping_efficiency <= 100 and 0 < cc.compute_util <= 100
    # overall util on the demand rows (without SCALE-Sim's -1) is at most 100 %
    assert 0 < overall_util(macs(layer), cc.true_cycles, arch.pes) <= 100 + 1e-9
    # the folds tile the streamed GEMM exactly
    assert mp.row_folds == math.ceil(mp.Sr / rows) and mp.col_folds == math.ceil(mp.Sc / cols)
    assert sorted((mp.Sr, mp.Sc, mp.T)) == sorted((mp.M, mp.N, mp.K))
    # more rows or more columns never increase the folds or the cycles
    for bigger in (arch.with_(rows=rows + 1), arch.with_(cols=cols + 1)):
        mb = map_layer(layer, bigger)
        assert mb.folds <= mp.folds
        assert mb.row_folds <= mp.row_folds and mb.col_folds <= mp.col_folds


@settings(max_examples=40, deadline=None)
@given(**dims, g=st.integers(2, 6), batch=st.integers(2, 4))
def test_groups_and_batch_extensions(H, W, C, K, R, S, s, rows, cols, df, g, batch):
    arch = Arch("a", rows, cols, df, 64, 64, 64)
    grouped = _layer(H, W, C, K, R, S, s, groups=g)
    one = _layer(H, W, C, K, R, S, s)
    cg, c1 = simulate_compute(map_layer(grouped, arch)), simulate_compute(map_layer(one, arch))
    # g independent GEMMs back to back: g times the rows of one (one -1 for the whole layer)
    assert cg.true_cycles == g * c1.true_cycles
    assert cg.mapping_efficiency == pytest.approx(c1.mapping_efficiency)
    assert cg.ifmap_sram_reads == g * c1.ifmap_sram_reads
    # batch stacks output pixels into M: same as one layer with batch x the ofmap pixels
    mb = map_layer(one, arch, batch)
    assert mb.M == batch * map_layer(one, arch).M and (mb.N, mb.K) == (
        map_layer(one, arch).N, map_layer(one, arch).K)
