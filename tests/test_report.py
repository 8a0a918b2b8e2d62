"""The speedup report: its numbers are simulate's, outputs are deterministic, errors leave nothing."""

import csv
import os

import pytest

from accelsim.arch import load_arch
from accelsim.cli import main
from accelsim.networks import load_workload
from accelsim.result import summarize
from accelsim.simulate import simulate

ARGS = ["speedup", "--arch", "edge-npu", "scalesim-eyeriss", "--networks", "resnet56"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "rep"
    assert main(ARGS + ["--out", str(out)]) == 0
    return out


def rows(folder):
    return list(csv.DictReader(open(folder / "speedup.csv")))


def test_table_numbers_equal_simulate(report):
    for r in rows(report):
        arch = load_arch(r["arch"])
        wl = load_workload(f"{r['network']}:{r['variant']}")
        s = summarize(simulate(wl, arch), arch)
        assert int(r["cycles"]) == s["total_cycles"]
        assert int(r["macs"]) == s["macs"]
        assert float(r["energy_uj"]) == pytest.approx(s["energy_uj"], rel=1e-5)
        assert float(r["dram_bytes"]) == pytest.approx(s["dram_bytes"], rel=1e-5)


def test_speedups_and_loss_decomposition(report):
    rs = rows(report)
    for r in rs:
        reg = next(x for x in rs if x["arch"] == r["arch"] and x["variant"] == "regular")
        ideal = int(reg["macs"]) / int(r["macs"])
        assert float(r["ideal_speedup"]) == pytest.approx(ideal, rel=1e-5)
        assert float(r["realized_speedup"]) == pytest.approx(
            int(reg["cycles"]) / int(r["cycles"]), rel=1e-5)
        lost = sum(float(r[f"lost_{k}"]) for k in ("array", "pool", "vector", "stall"))
        assert lost == pytest.approx(int(r["cycles"]) - int(reg["cycles"]) / ideal,
                                     rel=1e-4, abs=1.0)


def test_outputs_exist_and_are_byte_identical(report, tmp_path):
    for f in ("speedup.csv", "speedup.md", "speedup.tex", "report.html", "speedup.png",
              "speedup.svg", "cycle_breakdown.png", "energy_breakdown.svg", "roofline.png"):
        assert (report / f).stat().st_size > 0
    assert (report / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "\\toprule" in (report / "speedup.tex").read_text()
    html = (report / "report.html").read_text()
    assert html.count("<svg") >= 4 and "resnet56" in html
    again = tmp_path / "again"
    assert main(ARGS + ["--out", str(again)]) == 0
    for f in ("speedup.csv", "speedup.md", "speedup.tex", "layers.csv", "speedup.svg"):
        assert (again / f).read_bytes() == (report / f).read_bytes(), f


def test_bad_input_leaves_no_partial_report(tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    assert main(["speedup", "--arch", "no-such-preset", "--out", str(out)]) == 2
    assert main(["speedup", "--networks", "resnet99", "--out", str(out)]) == 2
    assert os.listdir(tmp_path) == ["rep"] and os.listdir(out) == ["keep.txt"]
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    assert main(["speedup", "--networks", "resnet56", "--out", str(blocker / "x")]) == 2
    assert sorted(os.listdir(tmp_path)) == ["afile", "rep"]
    err = capsys.readouterr().err
    assert "no-such-preset" in err and "resnet99" in err and "afile" in err
