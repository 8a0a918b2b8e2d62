"""The CLI end to end (in process): counts, trace, simulate, presets, and bad input -> exit 2."""

import json

import pytest

from accelsim.cli import main
from accelsim.workload.layer import read_workload_csv


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_counts_resnet50_json(capsys):
    code, out, _ = run(capsys, "counts", "resnet50", "--json")
    d = json.loads(out)
    assert code == 0 and d["params"] == 25_557_032 and d["macs"] == 4_089_184_256


def test_counts_variant_prints_reduction_ratios(capsys):
    code, out, _ = run(capsys, "counts", "resnet18", "--variant", "A")
    assert code == 0 and "MACs reduction" in out and "2.05x" in out


def test_trace_round_trips(capsys, tmp_path):
    code, _, _ = run(capsys, "trace", "mobilenetv2", "--variant", "B", "-o", str(tmp_path / "t.csv"))
    from accelsim.workload.networks import load_workload

    assert code == 0
    assert read_workload_csv(tmp_path / "t.csv").layers == load_workload("mobilenetv2:B").layers


def test_simulate_writes_layers_and_summary(capsys, tmp_path):
    out = tmp_path / "sim"
    code, _, _ = run(capsys, "simulate", "--arch", "edge-npu", "--workload", "resnet56:A",
                     "--out", str(out))
    assert code == 0
    import pandas as pd

    df = pd.read_csv(out / "layers.csv")
    for col in ("layer", "total_cycles", "stall_cycles", "compute_util", "mapping_efficiency",
                "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes", "dram_ifmap_reads",
                "dram_filter_reads", "dram_ofmap_writes", "mults", "adds", "pool_cycles",
                "pool_adds", "pool_sram_reads", "bound", "energy_pj"):
        assert col in df.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["total_cycles"] == int(df["total_cycles"].sum())
    first = (out / "layers.csv").read_bytes()
    run(capsys, "simulate", "--arch", "edge-npu", "--workload", "resnet56:A", "--out", str(out))
    assert (out / "layers.csv").read_bytes() == first


@pytest.mark.parametrize("argv, needle", [
    (["counts", "resnet19"], "resnet19"),
    (["counts", "resnet18", "--variant", "C"], "'C'"),
    (["simulate", "--arch", "nope", "--workload", "resnet18"], "nope"),
    (["simulate", "--arch", "edge-npu", "--workload", "resnet18:Z"], "'Z'"),
])
def test_bad_input_exit_2_one_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_cfg_and_csv_exit_2(capsys, tmp_path):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("[architecture_presets]\nArrayHeight: 0\nArrayWidth: 8\nIfmapSramSzkB: 8\n"
                   "FilterSramSzkB: 8\nOfmapSramSzkB: 8\nIfmapOffset: 0\nFilterOffset: 1\n"
                   "OfmapOffset: 2\nBandwidth: 10\nDataflow: os\n")
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                    "Channels, Num Filter, Strides,\nL1, 8, 8, 3, 3, 4, 4, 1,\n")
    code, _, err = run(capsys, "simulate", "--arch", str(cfg), "--workload", str(topo))
    assert code == 2 and "rows" in err and "0" in err
    cfg.write_text(cfg.read_text().replace("ArrayHeight: 0\n", ""))
    code, _, err = run(capsys, "simulate", "--arch", str(cfg), "--workload", str(topo))
    assert code == 2 and "arrayheight" in err and "missing" in err
    cfg.write_text(cfg.read_text() + "ArrayHeight: 4\n")
    cfg.write_text(cfg.read_text().replace("Dataflow: os", "Dataflow: xs"))
    code, _, err = run(capsys, "simulate", "--arch", str(cfg), "--workload", str(topo))
    assert code == 2 and "dataflow" in err and "xs" in err
    topo.write_text(topo.read_text().replace("3, 3, 4", "9, 9, 4"))
    code, _, err = run(capsys, "simulate", "--arch", "edge-npu", "--workload", str(topo))
    assert code == 2 and "Filter Height" in err


def test_presets_lists_all(capsys):
    code, out, _ = run(capsys, "presets")
    for p in ("scalesim-32x32-os", "scalesim-google", "scalesim-eyeriss", "tpu-v1", "edge-npu"):
        assert p in out
