"""The simulate pipeline and the presets/simulate CLI."""

import csv
import json
from pathlib import Path

import pytest

from accelsim.hardware.arch import load_arch, list_presets
from accelsim.cli import main
from accelsim.evaluate.columns import COLUMNS, summarize
from accelsim.evaluate.simulate import simulate, sumpool_as_array_conv
from accelsim.workload.layer import Layer, Workload, macs, read_workload_csv

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scalesim"
TOPO = ROOT / "workloads" / "scalesim"


def _report(name):
    with open(DATA / "resnet18_32x32_os" / name) as fh:
        return [[c.strip() for c in r] for r in list(csv.reader(fh))[1:]]


def test_resnet18_rows_equal_scalesim_reports():
    wl = read_workload_csv(TOPO / "Resnet18.csv")
    arch = load_arch(TOPO / "scale.cfg")
    df = simulate(wl, arch)
    assert list(df.columns[:len(COLUMNS)]) == COLUMNS
    comp, acc = _report("COMPUTE_REPORT.csv"), _report("DETAILED_ACCESS_REPORT.csv")
    assert [int(float(r[1])) for r in comp] == df["total_cycles"].tolist()
    assert [int(float(r[2])) for r in comp] == df["stall_cycles"].tolist()
    assert df["overall_util"].tolist() == pytest.approx([float(r[3]) for r in comp], rel=1e-9)
    assert df["mapping_efficiency"].tolist() == pytest.approx([float(r[4]) for r in comp])
    assert df["compute_util"].tolist() == pytest.approx([float(r[5]) for r in comp])
    # SRAM columns of DETAILED_ACCESS_REPORT: IFMAP reads, FILTER reads, OFMAP writes
    assert df["ifmap_sram_reads"].tolist() == [int(float(r[3])) for r in acc]
    assert df["filter_sram_reads"].tolist() == [int(float(r[6])) for r in acc]
    assert df["ofmap_sram_writes"].tolist() == [int(float(r[9])) for r in acc]
    assert int(df["macs"].sum()) == wl.macs
    assert (df["dram_bytes"] == df["dram_ifmap_reads"] + df["dram_filter_reads"]
            + df["dram_ofmap_writes"]).all()  # 1-byte words
    s = summarize(df, arch)
    assert s["total_cycles"] == 1_718_353  # NOTES section 6
    assert s["latency_ms"] == pytest.approx(1_718_353 / arch.clock_mhz / 1e3)


def _structured_pair():
    # sumpool over a 3-channel x 2x2 window (c = 8 - 3 + 1 = 6 pooled channels), then the
    # small 1x1 conv of a structured layer
    sp = Layer("sp", "sumpool", (8, 6, 6), (6, 5, 5), (2, 2), pool_channels=3, c=6, n=1)
    conv = Layer("conv", "conv2d", (6, 5, 5), (16, 5, 5), (1, 1), c=6, n=1)
    return Workload("toy", "A", (sp, conv), (8, 6, 6))


def test_sumpool_without_pool_unit_runs_as_all_ones_conv_on_the_array():
    wl = _structured_pair()
    arch = load_arch("scalesim-32x32-os")
    assert arch.pool is None
    df = simulate(wl, arch, batch=2)
    row = df.iloc[0]
    assert row["engine"] == "array-as-pool" and row["macs"] == 0
    # 6 pooled channels x 5x5 pixels, each a MAC over all 8 channels x 2x2 (zeros included)
    assert row["mults_array"] == 2 * 6 * 25 * 8 * 4
    as_conv = simulate(Workload("c", "r", (sumpool_as_array_conv(wl.layers[0]),)), arch, 2)
    assert row["total_cycles"] == as_conv.iloc[0]["total_cycles"]
    assert df.iloc[1]["macs"] == 2 * macs(wl.layers[1])


def test_pool_unit_rows_and_batch():
    wl = _structured_pair()
    arch = load_arch("edge-npu")
    one, two = simulate(wl, arch, 1), simulate(wl, arch, 2)
    assert one.iloc[0]["engine"] == "pool" and one.iloc[0]["pool_adds"] > 0
    assert one.iloc[0]["mults_array"] == 0
    assert two["mults"].sum() == 2 * one["mults"].sum()
    assert two["total_cycles"].sum() >= one["total_cycles"].sum()
    with pytest.raises(Exception, match="batch"):
        simulate(wl, arch, 0)


def _cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_simulate_writes_byte_identical_outputs(tmp_path, capsys):
    args = ["simulate", "--arch", str(TOPO / "scale.cfg"), "--workload",
            str(TOPO / "alexnet.csv")]
    assert _cli(args + ["--out", str(tmp_path / "a")], capsys)[0] == 0
    code, out, _ = _cli(args + ["--out", str(tmp_path / "b"), "--json"], capsys)
    assert code == 0
    for f in ("layers.csv", "summary.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    summary = json.loads(out)
    assert summary == json.loads((tmp_path / "a" / "summary.json").read_text())
    rows = list(csv.DictReader(open(tmp_path / "a" / "layers.csv")))
    assert summary["total_cycles"] == sum(int(r["total_cycles"]) for r in rows)
    code, _, _ = _cli(args + ["--out", str(tmp_path / "c"), "--layers", "Conv2"], capsys)
    assert code == 0 and len(list(csv.DictReader(open(tmp_path / "c" / "layers.csv")))) == 1


def test_cli_presets_lists_every_preset(capsys):
    code, out, _ = _cli(["presets"], capsys)
    assert code == 0
    for name in list_presets():
        assert name in out


CFG = (TOPO / "scale.cfg").read_text()
TOPO_HDR = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, " \
           "Num Filter, Strides,\n"


@pytest.mark.parametrize("what, cfg, topo, needle", [
    ("missing key", CFG.replace("ArrayWidth:     32\n", ""), None, "ArrayWidth"),
    ("zero dim", CFG.replace("ArrayHeight:    32", "ArrayHeight: 0"), None, "ArrayHeight"),
    ("negative dim", CFG.replace("ArrayWidth:     32", "ArrayWidth: -2"), None, "ArrayWidth"),
    ("unknown dataflow", CFG.replace("Dataflow : os", "Dataflow : xy"), None, "xy"),
    ("filter > ifmap", None, TOPO_HDR + "L, 4, 4, 5, 5, 3, 8, 1,\n", "Filter Height"),
    ("non-numeric", None, TOPO_HDR + "L, 4, four, 3, 3, 3, 8, 1,\n", "four"),
])
def test_cli_bad_inputs_exit_2_one_line(tmp_path, capsys, what, cfg, topo, needle):
    c = tmp_path / "a.cfg"
    c.write_text(cfg or CFG)
    t = tmp_path / "t.csv"
    t.write_text(topo or TOPO_HDR + "L, 8, 8, 3, 3, 3, 8, 1,\n")
    code, out, err = _cli(["simulate", "--arch", str(c), "--workload", str(t), "--out",
                           str(tmp_path / "o")], capsys)
    assert code == 2, what
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert needle in err
    assert not (tmp_path / "o").exists()


def test_cli_unknown_preset_exit_2(tmp_path, capsys):
    code, _, err = _cli(["simulate", "--arch", "tpu-v9", "--workload",
                         str(TOPO / "alexnet.csv")], capsys)
    assert code == 2 and "tpu-v9" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("mode", ["calc", "user"])
def test_gemm_memo_shares_rows_only_across_fields_the_engines_never_read(mode):
    """simulate_gemm memoizes on a projection of the arch: every field it drops (clock, pool
    unit, vector lanes, energy table, names, CALC-mode DRAM bandwidth) must leave the engine row
    unchanged, and a field it keeps (SRAM size) must change it."""
    from accelsim.hardware.arch import Arch, PoolUnit
    from accelsim.evaluate.layers import _gemm_row, simulate_gemm
    from accelsim.workload.layer import Layer

    layer = Layer("c", "conv2d", (24, 17, 17), (40, 15, 15), (3, 3))
    base = Arch("a", 8, 12, "ws", 2, 1, 1, bandwidth_mode=mode, dram_bw_words_per_cycle=4.0,
                stall_model="overlap")
    variants = [base.with_(name="b", clock_mhz=250.0, vector_lanes=64, energy="horowitz45",
                           pool=PoolUnit(lanes=8, tree="direct", mode="two_pass"))]
    if mode == "calc":
        variants.append(base.with_(dram_bw_words_per_cycle=77.0, stall_model="scalesim"))
    ref = dict(_gemm_row.__wrapped__(layer, base, 1))
    for a in variants:
        assert dict(_gemm_row.__wrapped__(layer, a, 1)) == ref
        assert simulate_gemm(layer, a) == ref
    other = dict(_gemm_row.__wrapped__(layer, base.with_(ifmap_sram_kb=64), 1))
    assert other != ref and simulate_gemm(layer, base.with_(ifmap_sram_kb=64)) == other
