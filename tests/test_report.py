"""The speedup report: its numbers are simulate's, outputs are deterministic, errors leave nothing."""

import csv
import os
import re
import xml.etree.ElementTree as ET

import pytest

from accelsim.hardware.arch import load_arch
from accelsim.cli import main
from accelsim.workload.networks import load_workload
from accelsim.evaluate.columns import summarize
from accelsim.evaluate.simulate import simulate

ARGS = ["speedup", "--arch", "edge-npu", "scalesim-eyeriss", "--networks", "resnet56",
        "--formats", "png,svg"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "rep"
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"  # the footer's date: 2023-11-14
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
        for k in ("mults", "mac_adds", "pool_adds"):
            assert int(r[k]) == s[k]


def test_table_equals_simulate_cli(report, capsys):
    import json

    r = next(x for x in rows(report) if (x["arch"], x["variant"]) == ("edge-npu", "B"))
    capsys.readouterr()
    assert main(["simulate", "--arch", "edge-npu", "--workload", "resnet56:B", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert int(r["cycles"]) == s["total_cycles"] and int(r["pool_adds"]) == s["pool_adds"]
    assert float(r["latency_ms"]) == pytest.approx(s["latency_ms"], rel=1e-5)


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


PLOTS = ("realized_over_ideal", "speedup", "cycle_breakdown", "energy_breakdown", "layers_edge-npu_resnet56",
         "roofline_edge-npu_resnet56", "layers_scalesim-eyeriss_resnet56",
         "roofline_scalesim-eyeriss_resnet56")


def test_outputs_exist_and_are_byte_identical(report, tmp_path):
    for stem in PLOTS:
        assert (report / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        ET.parse(report / f"{stem}.svg")  # well-formed XML
    tex = (report / "speedup.tex").read_text()
    assert "\\toprule" in tex and "\\bottomrule" in tex and tex.count("\\\\") == 1 + 6
    for f in ("layers/edge-npu__resnet56.md", "layers/edge-npu__resnet56.tex", "headline.md"):
        assert "resnet56" in (report / f).read_text() or f.endswith(".tex")
    for stem in PLOTS:  # 200 dpi: the pHYs chunk holds 200 / 0.0254 pixels per metre
        png = (report / f"{stem}.png").read_bytes()
        i = png.index(b"pHYs") + 4
        assert int.from_bytes(png[i:i + 4], "big") == round(200 / 0.0254), stem
    html = (report / "report.html").read_text()
    # every plot inline as SVG, in one self-contained file: nothing fetched from elsewhere
    assert html.count('<figure id="fig-') == len(PLOTS) and "resnet56" in html
    assert not re.search(r'(src|href)="(?!data:|#)', html) and "http" not in html.replace(
        "http://www.w3.org", "")
    assert "accelsim speedup --arch edge-npu scalesim-eyeriss" in html and "2023-11-14" in html
    again = tmp_path / "again"
    assert main(ARGS + ["--out", str(again)]) == 0
    files = sorted(p.relative_to(report) for p in report.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:
        if f.name == "report.html":  # its footer names the --out folder
            assert (again / f).read_text().replace(str(again), str(report)) == html
        else:
            assert (again / f).read_bytes() == (report / f).read_bytes(), f


def bar_height(svg: str, gid: str, axis: int = 1) -> float:
    """The extent of the element ``gid``'s path along y (axis 1) or x (axis 0), in SVG units."""
    m = re.search(r'<g id="%s">\s*<path d="([^"]+)"' % re.escape(gid), svg)
    assert m, gid
    vs = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))][axis::2]
    return max(vs) - min(vs)


def test_plots_show_the_table_data(report):
    rs = {(r["arch"], r["variant"]): r for r in rows(report)}
    svg = (report / "speedup.svg").read_text()
    for arch in ("edge-npu", "scalesim-eyeriss"):
        for v in ("A", "B"):
            r = rs[(arch, v)]
            h_ideal = bar_height(svg, f"ideal__resnet56_{v}")  # drawn once, not per arch
            h_real = bar_height(svg, f"realized__{arch}_resnet56_{v}")
            assert h_real / h_ideal == pytest.approx(
                float(r["realized_speedup"]) / float(r["ideal_speedup"]), rel=1e-3)
    # per-layer plot: stacked heights are the layer's cycles (shared y axis across variants)
    layers = list(csv.DictReader(open(report / "layers.csv")))
    lay = {(l["variant"], l["layer"]): l for l in layers if l["arch"] == "edge-npu"}
    svg = (report / "layers_edge-npu_resnet56.svg").read_text()
    ref = int(lay[("regular", "conv1")]["cycles_array"])
    h_ref = bar_height(svg, "regular_array__conv1", axis=0)  # horizontal bars: widths
    for v, name in (("regular", "layer3.0.conv1"), ("A", "layer1.0.conv2"),
                    ("B", "layer2.3.conv1")):
        got = bar_height(svg, f"{v}_array__{name}", axis=0) / h_ref * ref
        assert got == pytest.approx(int(lay[(v, name)]["cycles_array"]), rel=1e-3)
    # cycle breakdown, normalized to regular = 1: a structured unit's segment over the whole
    # regular bar is that unit's cycles over the regular network's cycles
    svg = (report / "cycle_breakdown.svg").read_text()
    reg = rs[("edge-npu", "regular")]
    h_reg = sum(bar_height(svg, f"{k}__edge-npu_resnet56_regular")
                for k in ("array", "vector", "stall") if int(reg[f"cycles_{k}"]) > 0)
    for k in ("array", "stall"):
        got = bar_height(svg, f"{k}__edge-npu_resnet56_B") / h_reg
        want = int(rs[("edge-npu", "B")][f"cycles_{k}"]) / int(reg["cycles"])
        assert got == pytest.approx(want, rel=2e-3, abs=2e-3)
    # energy plot: one marker series per component per arch, on a log axis, and the totals
    svg = (report / "energy_breakdown.svg").read_text()
    for part in ("mac", "pool", "dram", "sram_ifmap"):
        assert f'id="energy_{part}__edge-npu"' in svg
    assert 'id="energy_total__scalesim-eyeriss"' in svg
    # heatmap: each cell's realized/ideal, recomputed here from the raw cycles and MACs
    svg = (report / "realized_over_ideal.svg").read_text()
    for (arch, v), r in rs.items():
        if v == "regular":
            continue
        base = rs[(arch, "regular")]
        roi = (int(base["cycles"]) / int(r["cycles"])) / (int(base["macs"]) / int(r["macs"]))
        m = re.search(r'<g id="cell__%s__resnet56_%s">.*?<text[^>]*>([^<]+)<' % (arch, v), svg,
                      re.S)
        assert m and m.group(1).strip() == f"{roi:.0%}", (arch, v)
    # roofline: one point series per variant; the DRAM roof only where DRAM is enforced
    for arch, sloped in (("edge-npu", True), ("scalesim-eyeriss", False)):
        svg = (report / f"roofline_{arch}_resnet56.svg").read_text()
        assert all(f'id="roofline__resnet56_{v}"' in svg for v in ("regular", "A", "B"))
        m = re.search(r'<g id="roof">\s*<path d="([^"]+)"', svg)
        ys = {round(float(y), 2) for y in re.findall(r"-?\d+(?:\.\d+)?", m.group(1))[1::2]}
        assert (len(ys) > 1) == sloped, arch


def test_layer_table_sums_to_network(report):
    layers = list(csv.DictReader(open(report / "layers.csv")))
    for r in rows(report):
        mine = [l for l in layers if (l["arch"], l["variant"]) == (r["arch"], r["variant"])]
        for k in ("array", "pool", "vector", "stall"):
            assert sum(int(l[f"cycles_{k}"]) for l in mine) == int(r[f"cycles_{k}"])
        assert sum(int(l["total_cycles"]) for l in mine) == int(r["cycles"])
        assert sum(int(l["macs"]) for l in mine) == int(r["macs"])
        shares = sum(float(r[f"share_{k}"]) for k in ("array", "pool", "vector", "stall"))
        assert float(r["realized_over_ideal"]) + shares == pytest.approx(1.0, abs=1e-5)


def test_rerun_keeps_other_tools_subfolders(tmp_path):
    out = tmp_path / "rep"
    cmd = ["speedup", "--arch", "edge-npu", "--networks", "resnet56", "--variants", "A",
           "--no-plots", "--out", str(out)]
    assert main(cmd) == 0
    (out / "validation").mkdir()
    (out / "validation" / "v.csv").write_text("kept")
    (out / "speedup.csv").write_text("stale")
    assert main(cmd) == 0
    assert (out / "validation" / "v.csv").read_text() == "kept"
    assert (out / "speedup.csv").read_text().startswith("arch,network")


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


def test_html_summary_first_findings_and_tables(report):
    """The summary (heatmap, speedup figure, findings) comes before any table; the findings'
    numbers are the table's; tables sortable; every run has a per-layer section; the arch
    table lists every parameter of each preset used."""
    import html as H

    from accelsim.hardware.arch import arch_to_dict

    page = (report / "report.html").read_text()
    first_table = page.index("<table")
    assert page.index('id="fig-realized_over_ideal"') < page.index('id="fig-speedup"') \
        < first_table and page.index("Findings.") < first_table
    rs = [r for r in rows(report) if r["variant"] != "regular"]
    roi = sorted(float(r["realized_over_ideal"]) for r in rs)
    text = H.unescape(re.search(r"<b>Findings.</b>(.*?)</p>", page, re.S).group(1))
    assert f"between {roi[0]:.0%} and {roi[-1]:.0%}" in text and f"Over {len(rs)} " in text
    assert page.count('class="sortable"') >= 3
    for r in rows(report):
        assert f'data-run="{r["arch"]}|{r["network"]}|{r["variant"]}"' in page
    arch_html = page[page.index('id="arch-table"'):]
    for name in ("edge-npu", "scalesim-eyeriss"):
        for k, v in arch_to_dict(load_arch(name)).items():
            if not isinstance(v, dict) and k != "name":
                assert f">{k}<" in arch_html, k
    assert ">pool.lanes<" in arch_html and "none (sum-pools run on the MAC array)" in arch_html


def test_default_formats_png_only_and_bad_formats(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["speedup", "--arch", "scalesim-eyeriss", "--networks", "resnet56",
                 "--variants", "A", "--formats", "gif", "--out", str(out)]) == 2
    assert "--formats" in capsys.readouterr().err and not out.exists()
