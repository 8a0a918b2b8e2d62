"""report.html in a real browser: headless Chromium (Debian's `chromium`, which .ci/run
installs) over the DevTools protocol (bench/render_html.py). The page must load with no console
error, every figure must paint (ink where each figure is), and a table must sort when its header
is clicked. Each failure mode is shown to be caught by breaking a copy of the page.

Skipped, with the reason, only where no Chromium is installed. A screenshot of the page's top
goes to $ACCELSIM_SCREENSHOT_DIR (CI sets docs/) or the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from accelsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import render_html  # noqa: E402

pytestmark = pytest.mark.skipif(
    render_html.find_chromium() is None,
    reason="no Chromium on PATH: install Debian's 'chromium' package (.ci/run does) to run the "
           "real-browser report test")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "rep"
    assert main(["speedup", "--arch", "edge-npu", "--networks", "resnet56", "--variants", "A",
                 "--out", str(out)]) == 0
    assert not list(out.glob("*.svg"))  # default --formats png: SVG only inside the page
    return out / "report.html"


@pytest.fixture(scope="module")
def browser():
    b = render_html.Browser()
    yield b
    b.close()


def broken(page: Path, tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    text = page.read_text()
    assert old in text, old
    p = tmp_path / f"{name}.html"
    p.write_text(text.replace(old, new, count))
    return p


def test_report_loads_paints_and_sorts(page, browser, tmp_path):
    res = render_html.check_page(browser, page)
    assert res["errors"] == []
    figs = res["figures"]
    assert len(figs) == page.read_text().count("<figure ") == 6
    for f in figs:
        assert f["ok"] and f["width"] > 200 and f["height"] > 150, f
    ok, note = res["sort"]
    assert ok, note
    # the first run's per-layer table: one row per layer of resnet56 on edge-npu, regular
    import csv

    layers = [r for r in csv.DictReader(open(page.parent / "layers.csv"))
              if (r["arch"], r["variant"]) == ("edge-npu", "regular")]
    assert res["layers"] == len(layers) > 100
    folder = Path(os.environ.get("ACCELSIM_SCREENSHOT_DIR") or tmp_path)
    png = render_html.save_screenshot(browser, page, folder / "report_screenshot.png")
    share, colours = render_html.ink(png.read_bytes())
    assert share > 0.05 and colours > 100


def test_a_blank_figure_is_caught(page, browser, tmp_path):
    text = page.read_text()
    m = re.search(r'(<figure id="fig-speedup"><div class="plot">)(<svg.*?</svg>)', text, re.S)
    blank = '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"></svg>'
    p = broken(page, tmp_path, "blank", m.group(0), m.group(1) + blank)
    res = render_html.check_page(browser, p, checks=("figures",))
    bad = [f["id"] for f in res["figures"] if not f["ok"]]
    assert bad == ["fig-speedup"] and res["errors"] == []


def test_a_console_error_is_caught(page, browser, tmp_path):
    p = broken(page, tmp_path, "error", "<script>", "<script>undefinedFunction();</script><script>")
    res = render_html.check_page(browser, p, checks=())
    assert any("undefinedFunction" in e for e in res["errors"]), res["errors"]
    p = broken(page, tmp_path, "console", "<script>", "<script>console.error('bad');</script>"
               "<script>")
    assert any("bad" in e for e in render_html.check_page(browser, p, checks=())["errors"])


def test_a_table_that_does_not_sort_is_caught(page, browser, tmp_path):
    p = broken(page, tmp_path, "nosort", "document.querySelectorAll('table.sortable')"
               ".forEach(wire);", "")
    res = render_html.check_page(browser, p, checks=("sort",))
    assert not res["sort"][0] and res["errors"] == []
