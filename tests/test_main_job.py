"""The main job's speed work (issue 14 item 5) changes no byte: simulations and plots in forked
workers give the files one process gives; SVG is written only where asked; a report without
plots never imports matplotlib; the phase split (-v) names every phase."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accelsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
# two networks given lightest first: the workers start the heavier (resnet18) first, so the
# results come back out of order and must be put back in the tasks' order
SMALL = ["speedup", "--arch", "scalesim-eyeriss", "--networks", "resnet56", "resnet18",
         "--variants", "A", "--detail-network", "resnet18"]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def phases(err: str) -> dict[str, str]:
    return dict(re.findall(r"^phase (.+?): (wall .*)$", err.replace("\r", "\n"), re.M))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same report three ways: in this process with PNG and SVG files, in two workers with
    the default (PNG), in two workers with SVG only; each run's folder, files and stderr."""
    import contextlib
    import io

    out = {}
    for name, extra in (("one", ["--jobs", "1", "--formats", "png,svg"]),
                        ("png", ["--jobs", "2"]), ("svg", ["--jobs", "2", "--formats", "svg"])):
        folder = tmp_path_factory.mktemp(name) / "rep"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(SMALL + extra + ["-v", "--out", str(folder)]) == 0
        out[name] = (folder, files(folder), err.getvalue())
    return out


def test_workers_write_the_same_bytes(runs):
    (f1, one, _) = runs["one"]
    for name, ext in (("png", ".png"), ("svg", ".svg")):
        f2, two, _ = runs[name]
        # only the formats asked for: the default writes no SVG, svg alone no PNG
        assert sorted(two) == sorted(k for k in one if not k.endswith((".png", ".svg"))
                                     or k.endswith(ext))
        assert sum(k.endswith(ext) for k in two) == 6
        for k in two:
            if k == "report.html":  # its footer names the --out folder
                assert two[k].replace(str(f2).encode(), str(f1).encode()) == one[k]
            elif k == ".accelsim-manifest.json":  # lists the files written: other formats
                assert set(json.loads(two[k])["entries"]) < set(json.loads(one[k])["entries"])
            else:
                assert two[k] == one[k], (name, k)
    # every figure inline in the page, in the order one process puts them
    page = one["report.html"].decode()
    assert re.findall(r'<figure id="fig-([^"]+)"', page) == [
        "realized_over_ideal", "speedup", "cycle_breakdown", "energy_breakdown",
        "layers_scalesim-eyeriss_resnet18", "roofline_scalesim-eyeriss_resnet18"]
    # and the rows in the order of --networks, not the order the workers finished in
    csv_rows = one["speedup.csv"].decode().splitlines()[1:]
    assert [r.split(",")[1] for r in csv_rows] == ["resnet56"] * 2 + ["resnet18"] * 2


def test_phase_split_names_every_phase(runs):
    names = ["start-up (before run)", "checks (arguments, workloads)", "simulate", "tables",
             "plots", "html and move into place", "total (run)"]
    for name in runs:
        got = phases(runs[name][2])
        assert list(got) == names, got
        # the workers' CPU is reported where they did the work, and only there
        busy = [n for n, v in got.items() if "busiest worker" in v]
        assert busy == ([] if name == "one" else ["simulate", "plots"])
        walls = {n: float(re.match(r"wall (\S+) s", v).group(1)) for n, v in got.items()
                 if not v.startswith("wall -")}
        total = walls.pop("total (run)")
        assert sum(walls.values()) == pytest.approx(total, abs=0.05)


def test_no_plots_never_imports_matplotlib(tmp_path):
    code = ("import sys\nfrom accelsim.cli import main\n"
            f"rc = main({SMALL + ['--no-plots', '--jobs', '1', '--out', str(tmp_path / 'r')]!r})\n"
            "print(rc, 'matplotlib' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[-2:] == ["0", "False"]
    assert not list((tmp_path / "r").glob("*.png"))
    assert "<figure" not in (tmp_path / "r" / "report.html").read_text()


def test_bad_jobs_is_one_line(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(SMALL + ["--jobs", "-1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "--jobs" in err and len(err.splitlines()) == 1 and not out.exists()


def test_split_plot_modules_keep_the_old_names():
    from accelsim.report import layer_plots, plots

    for name in ("layer_breakdown_plot", "roofline_plot", "roofline_points"):
        assert getattr(plots, name) is getattr(layer_plots, name)
    for name in ("save", "gid", "caption", "parse_formats", "CAPTIONS", "PALETTE", "COLORS",
                 "OKABE_ITO", "DPI", "FORMATS", "plt", "_bars", "heatmap_plot", "speedup_plot",
                 "cycle_breakdown_plot", "energy_plot"):
        assert hasattr(plots, name), name



from accelsim.cli import speedup as _speedup  # noqa: E402

REAL = _speedup._simulate_net


def _raise_on_resnet18(arch, net, *rest):  # module level: the workers unpickle it by name
    from accelsim.common.errors import InputError

    if net == "resnet18":
        raise InputError("boom", field="--networks", value=net)
    return REAL(arch, net, *rest)


def _exit_on_resnet18(arch, net, *rest):
    import os

    if net == "resnet18":
        os._exit(3)  # a worker killed (for memory, say)
    return REAL(arch, net, *rest)


@pytest.mark.parametrize("fn, rc", [(_raise_on_resnet18, 2), (_exit_on_resnet18, 1)])
def test_a_failing_worker_fails_the_run_and_leaves_nothing(tmp_path, capsys, monkeypatch,
                                                           fn, rc):
    # the workers fork after the patch, so they run the failing function
    monkeypatch.setattr(_speedup, "_simulate_net", fn)
    out = tmp_path / "r"
    assert main(SMALL + ["--no-plots", "--jobs", "2", "--out", str(out)]) == rc
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("boom" in err[0] if rc == 2 else "accelsim speedup" in err[0])
    assert not out.exists() and list(tmp_path.iterdir()) == []
