"""SCALE-Sim 2.0.2 compatibility both ways, checked against SCALE-Sim itself (it runs here):

- a topology reads as SCALE-Sim reads it: a "DP" layer is one 1-channel layer per input channel,
  a name may repeat, the first row is skipped whatever it says, a 9th value is the stride width
  even under an 8-column header (one SCALE-Sim run on one file holding all four);
- ``accelsim simulate --format scalesim`` writes SCALE-Sim's three reports with its columns and
  its numbers (compared cell by cell with that run);
- ``accelsim trace NET --format scalesim`` writes a topology SCALE-Sim loads and runs, with the
  same cycles accelsim gives the traced layers.
"""

import csv
from pathlib import Path

import pytest

from accelsim.hardware.arch import load_arch
from accelsim.cli import main
from accelsim.evaluate.simulate import simulate
from accelsim.workload.layer import read_workload_csv

scalesim = pytest.importorskip("scalesim.scale_sim")

ROOT = Path(__file__).resolve().parents[1]
CFG = (ROOT / "workloads" / "scalesim" / "scale.cfg").read_text()
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")

# an odd header (SCALE-Sim skips row 1 whatever it holds), 8 header columns, a 9th value (stride
# width 1 under stride height 2), a depthwise "DP" layer of 3 channels, a name given twice
TOPOLOGY = """whatever,this,header,says
s21, 9, 9, 3, 3, 2, 4, 2, 1,
convDP, 6, 6, 3, 3, 3, 4, 1,
dup, 5, 5, 2, 2, 3, 5, 1,
dup, 7, 7, 3, 3, 2, 6, 2,
"""


def _cfg(tmp_path, rows, cols, df):
    text = CFG.replace("ArrayHeight:    32", f"ArrayHeight: {rows}")
    text = text.replace("ArrayWidth:     32", f"ArrayWidth: {cols}")
    text = text.replace("Dataflow : os", f"Dataflow : {df}")
    p = tmp_path / "c.cfg"
    p.write_text(text)
    return p


def _run_scalesim(tmp_path, cfg: Path, topo: Path) -> Path:
    sim = scalesim.scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                            topology=str(topo))
    sim.run_scale(top_path=str(tmp_path / "ss"))
    return next((tmp_path / "ss").iterdir())


def _report(path: Path) -> tuple[list[str], list[list[float]]]:
    rows = [[c.strip() for c in r] for r in csv.reader(path.open())]
    return rows[0], [[float(c) for c in r if c != ""] for r in rows[1:]]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ss")
    cfg = _cfg(tmp, 4, 6, "os")
    topo = tmp / "t.csv"
    topo.write_text(TOPOLOGY)
    return tmp, cfg, topo, _run_scalesim(tmp, cfg, topo)


def test_topology_reads_as_scalesim_reads_it(ran):
    tmp, cfg, topo, ss = ran
    wl = read_workload_csv(topo)
    names = [l.name for l in wl.layers]
    # DP: one layer per input channel, 1 channel each, every filter kept; the name twice
    assert names == ["s21", "convDPChannel_0", "convDPChannel_1", "convDPChannel_2", "dup",
                     "dup~2"]
    assert all(wl.layers[i].in_shape[0] == 1 and wl.layers[i].out_shape[0] == 4
               for i in (1, 2, 3))
    assert wl.layer("s21").stride == (2, 1)
    _, compute = _report(ss / "COMPUTE_REPORT.csv")
    assert len(compute) == len(wl.layers)
    df = simulate(wl, load_arch(cfg))
    # Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %
    for (_, total, stall, overall, mapping, comp), (_, r) in zip(compute, df.iterrows()):
        assert (r["total_cycles"], r["stall_cycles"]) == (total, stall), r["layer"]
        assert r["overall_util"] == pytest.approx(overall, rel=1e-9)
        assert r["mapping_efficiency"] == pytest.approx(mapping, rel=1e-9)
        assert r["compute_util"] == pytest.approx(comp, rel=1e-9)


def test_a_first_row_of_numbers_is_refused_not_dropped(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a, 9, 9, 3, 3, 2, 4, 2,\nb, 9, 9, 3, 3, 2, 4, 2,\n")
    assert main(["simulate", "--arch", "scalesim-32x32-os", "--workload", str(p)]) == 2


def test_simulate_format_scalesim_writes_scalesims_reports(ran, capsys):
    tmp, cfg, topo, ss = ran
    out = tmp / "ours"
    assert main(["simulate", "--arch", str(cfg), "--workload", str(topo), "--out", str(out),
                 "--format", "scalesim"]) == 0
    for name in REPORTS:
        theirs_head, theirs = _report(ss / name)
        ours_head, ours = _report(out / name)
        assert ours_head == theirs_head, name
        assert len(ours) == len(theirs), name
        for a, b in zip(ours, theirs):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9), name
    # SCALE-Sim's spelling: "LayerID, Total Cycles, ...," with the trailing comma
    assert (out / REPORTS[0]).read_text().splitlines()[0] == \
        (ss / REPORTS[0]).read_text().splitlines()[0]
    assert main(["simulate", "--arch", str(cfg), "--workload", str(topo),
                 "--format", "scalesim"]) == 2   # it writes files: needs --out


def test_trace_format_scalesim_runs_in_scalesim(tmp_path, capsys):
    from scalesim.topology_utils import topologies

    topo = tmp_path / "t.csv"
    assert main(["trace", "resnet18", "--format", "scalesim", "-o", str(topo)]) == 0
    from accelsim.workload.networks import load_workload

    wl = load_workload("resnet18")
    gemm = [l for l in wl.layers if l.is_gemm]
    # SCALE-Sim's own loader takes the whole file; its ofmap of every row is the layer's
    t = topologies()
    t.load_arrays(str(topo))
    t.topo_calc_hyperparams()
    assert t.num_layers == len(gemm) == 21
    for layer, (E, F) in zip(gemm, [(hp[0], hp[1]) for hp in t.layers_calculated_hyperparams]):
        assert (E, F) == layer.out_shape[1:], layer.name
    # and it runs: two of the rows (a strided 1x1 and the fc; the rest take minutes) on a 64x64
    # array, cycles equal to accelsim's for the traced torch layers
    keep = ("layer3.0.downsample.0", "fc")
    lines = topo.read_text().splitlines()
    sub = tmp_path / "sub.csv"
    sub.write_text("\n".join([lines[0]] + [l for l in lines if l.split(",")[0] in keep]) + "\n")
    cfg = _cfg(tmp_path, 64, 64, "os")
    ss = _run_scalesim(tmp_path, cfg, sub)
    _, compute = _report(ss / "COMPUTE_REPORT.csv")
    from accelsim.api import simulate as api_simulate

    df = api_simulate(wl, load_arch(cfg), layers=list(keep))
    assert [r[1] for r in compute] == list(df["total_cycles"])


def test_grouped_layers_export_as_dp_or_per_group_rows(tmp_path):
    """A depthwise layer becomes SCALE-Sim's DP rows, another grouped layer one row per group;
    SCALE-Sim's cycles over those rows are accelsim's minus (groups - 1): SCALE-Sim reports one
    cycle less than its demand rows per row it runs (its #125), accelsim once per layer."""
    from accelsim.report.export import scalesim_topology
    from accelsim.workload.layer import Layer, Workload

    wl = Workload("g", "regular", (
        Layer("dw", "conv2d", (4, 8, 8), (4, 8, 8), (3, 3), (1, 1), (1, 1), groups=4),
        Layer("gc", "conv2d", (4, 8, 8), (6, 4, 4), (3, 3), (2, 2), (1, 1), groups=2)),
        (4, 8, 8))
    text, skipped = scalesim_topology(wl)
    assert not skipped and [l.split(",")[0] for l in text.splitlines()[1:]] == \
        ["dw_DP", "gc.g0", "gc.g1"]
    topo = tmp_path / "t.csv"
    topo.write_text(text)
    cfg = _cfg(tmp_path, 4, 6, "os")
    _, compute = _report(_run_scalesim(tmp_path, cfg, topo) / "COMPUTE_REPORT.csv")
    assert len(compute) == 4 + 2
    df = simulate(wl, load_arch(cfg))
    assert sum(r[1] for r in compute[:4]) == df["total_cycles"][0] - 3
    assert sum(r[1] for r in compute[4:]) == df["total_cycles"][1] - 1
