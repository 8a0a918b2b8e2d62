"""The bad-input corpus (tests/badinput/cases.txt, written by tests/badinput/make_corpus.py):
every case, over every input kind (arch YAML, SCALE-Sim .cfg, workload CSV, ONNX, recipe, sweep
spec, results store, command line) and every command, exits with code 2 and one line on stderr
holding the expected text, prints no traceback, and changes no file: its own temporary folder
(the working directory) stays empty, the shared fixtures and the repository stay as they were.
Runs in process, so the whole corpus takes seconds."""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
from pathlib import Path

import pytest

from accelsim.cli import main

HERE = Path(__file__).resolve().parent / "badinput"
REPO = Path(__file__).resolve().parents[1]
CASES = [tuple(line.split("\t")) for line in
         (HERE / "cases.txt").read_text(encoding="utf-8").splitlines()
         if line and not line.startswith("#")]


def _snapshot(root: Path, skip=("__pycache__", ".pytest_cache", ".venv", ".git",
                                "accelsim.egg-info", ".hypothesis")) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in skip for part in rel.parts):
            continue
        st = p.lstat()
        out[str(rel)] = (st.st_size, st.st_mtime_ns) if p.is_file() else "dir"
    return out


REPO_BEFORE = _snapshot(REPO)


def _onnx_models(d: Path) -> None:
    import numpy as np
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper

    vi = h.make_tensor_value_info
    x = vi("x", T.FLOAT, [1, 3, 8, 8])
    y = vi("y", T.FLOAT, None)
    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    w1 = numpy_helper.from_array(np.zeros((4, 3, 3), np.float32), "w1")

    def save(name, nodes, inputs, inits=()):
        g = h.make_graph(nodes, name, inputs, [y], initializer=list(inits))
        onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), d / f"{name}.onnx")

    (d / "garbage.onnx").write_bytes(b"\xff" * 64 + bytes(range(256)))
    (d / "text.onnx").write_text("this is not a model\n" * 4)
    relu = h.make_node("Relu", ["x"], ["y"], name="r")
    save("huge_input", [relu], [vi("x", T.FLOAT, [1, 1, 10**9, 1])])
    save("dynamic_input", [relu], [vi("x", T.FLOAT, ["N", "C", "H", "W"])])
    save("unsupported_op", [h.make_node("LRN", ["x"], ["y"], size=3, name="lrn")], [x])
    save("dilation", [h.make_node("Conv", ["x", "w"], ["y"], dilations=[2, 2],
                                  kernel_shape=[3, 3], name="c")], [x], [w])
    save("asymmetric_pads", [h.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 1, 1],
                                         kernel_shape=[3, 3], name="c")], [x], [w])
    save("pool_padding_over_half", [h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3],
                                                pads=[2, 2, 2, 2], name="mp")], [x])
    save("maxpool_no_kernel", [h.make_node("MaxPool", ["x"], ["y"], name="mp")], [x])
    save("conv1d", [h.make_node("Conv", ["x", "w1"], ["y"], kernel_shape=[3], name="c")],
         [vi("x", T.FLOAT, [1, 3, 8])], [w1])
    save("no_input", [h.make_node("Relu", ["w"], ["y"], name="r")], [], [w])
    save("matmul_dynamic_weight",
         [h.make_node("Flatten", ["x"], ["f"], name="fl"),
          h.make_node("MatMul", ["f", "wv"], ["y"], name="mm")],
         [x, vi("wv", T.FLOAT, [192, 10])])


def _stores(d: Path) -> None:
    from accelsim.explore.store import Store
    from accelsim.explore.sweep import load_spec, run_sweep, store_meta

    (d / "text.db").write_text("not a database\n")
    sqlite3.connect(d / "empty.db").close()
    spec_file = d / "other.yaml"
    spec_file.write_text("name: other\nbase: edge-npu\nnetworks: [resnet56]\nevaluator: toy\n"
                         "axes:\n  rows: [4, 8]\n")
    spec = load_spec(spec_file)
    run_sweep(spec, d / "good.db", progress=False)
    Store.create(d / "no_rows.db", store_meta(spec)).close()
    for name, sql in (("missing_keys", "UPDATE results SET point = '{}'"),
                      ("bad_spec", "UPDATE meta SET value = 'not json' WHERE name = 'spec'"),
                      ("bad_constraint", "UPDATE meta SET value = '%s' WHERE name = 'spec'"
                       % json.dumps({"axes": [], "constraints": ["latency_ms ~ 1"]}))):
        shutil.copy(d / "good.db", d / f"{name}.db")
        con = sqlite3.connect(d / f"{name}.db")
        with con:
            con.execute(sql)
        con.close()
    spec_file.unlink()
    (d / "foreign").mkdir()
    (d / "foreign" / "notes.txt").write_text("mine\n")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    onnx_dir = tmp_path_factory.mktemp("onnx")
    _onnx_models(onnx_dir)
    store_dir = tmp_path_factory.mktemp("stores")
    _stores(store_dir)
    energy_dir = tmp_path_factory.mktemp("energy")
    for f in (HERE / "arch").glob("energy_*.yaml"):
        (energy_dir / f.name).write_text(
            f.read_text().replace("ENERGY_DIR", str(HERE / "energy")))
    return {"{O}": str(onnx_dir), "{S}": str(store_dir), "{D}": str(HERE),
            "{E}": str(energy_dir)}


def test_corpus_is_large_and_covers_every_input_kind_and_command():
    assert len(CASES) >= 150
    kinds = {name.split("_")[0] for name, _, _ in CASES}
    assert kinds >= {"arch", "cfg", "csv", "onnx", "recipe", "sweep", "pareto", "cli"}
    commands = {shlex.split(cmd)[0] for _, _, cmd in CASES}
    assert commands >= {"simulate", "verify", "codesign", "speedup", "measure", "sweep",
                        "pareto", "counts", "trace"}


@pytest.mark.parametrize("name,expect,cmd", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(name, expect, cmd, folders, tmp_path,
                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    subst = {**folders, "{T}": str(tmp_path)}
    argv = []
    for arg in shlex.split(cmd):
        for k, v in subst.items():
            arg = arg.replace(k, v)
        argv.append(arg)
    shared = Path(folders["{S}"])
    before = _snapshot(shared)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in out + err, err
    assert code == 2, f"exit {code}; stderr: {err!r}; stdout tail: {out[-300:]!r}"
    assert len(lines) == 1, err
    assert expect in lines[0], lines[0]
    assert lines[0].startswith("accelsim"), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "wrote into its folder"
    assert _snapshot(shared) == before, "changed a shared fixture"


def test_zz_no_file_changed_outside_the_temporary_folders():
    """Last in this module: the corpus left the repository as it found it (no output written
    relative to a wrong folder, no corpus file rewritten)."""
    after = _snapshot(REPO)
    changed = sorted(k for k in set(after) | set(REPO_BEFORE)
                     if after.get(k) != REPO_BEFORE.get(k) and k.startswith("tests/badinput"))
    assert changed == []


# ---- the CLI's top-level guard -------------------------------------------------------------

def test_unexpected_error_is_one_line_exit_1_and_debug_shows_it(monkeypatch, capsys):
    def broken(args):
        return 1 // 0

    monkeypatch.setattr("accelsim.cli.presets.run", broken)
    assert main(["presets"]) == 1
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError" in err and "--debug presets" in err
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "presets"])


def test_memory_error_says_so(monkeypatch, capsys):
    def hungry(args):
        raise MemoryError()

    monkeypatch.setattr("accelsim.cli.presets.run", hungry)
    assert main(["presets"]) == 1
    err = capsys.readouterr().err
    assert "MemoryError" in err and "out of memory" in err and len(err.splitlines()) == 1


def test_closed_stdout_pipe_exits_quietly():
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "accelsim", "counts", "resnet50", "--json",
                          "--per-layer"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader is gone before the first write (like `| head -0`)
    err = p.stderr.read().decode()
    code = p.wait(timeout=120)
    assert err == "" and code in (0, 141), (code, err)


# ---- the strict YAML reader ----------------------------------------------------------------

def test_yaml_reader_refuses_duplicates_bombs_and_size_but_keeps_merge_keys(tmp_path):
    import time

    from accelsim.common.errors import MAX_YAML_BYTES, InputError
    from accelsim.common.yamlio import load_yaml, loads_yaml

    assert loads_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "t") == {
        "base": {"x": 1, "y": 2}, "d": {"x": 1, "y": 3}}  # a merge key may override
    with pytest.raises(InputError, match="'y' given twice"):
        loads_yaml("a:\n  b:\n    y: 1\n    y: 2\n", "t")
    # 10 levels of 10 aliases: 10**10 nodes expanded, refused in well under a second
    bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 11))
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="expands to more than"):
        loads_yaml(bomb, "t")
    assert time.perf_counter() - t0 < 2
    big = tmp_path / "big.yaml"
    big.write_text("k: " + "x" * (MAX_YAML_BYTES + 1) + "\n")
    with pytest.raises(InputError, match="larger than the limit"):
        load_yaml(big)
    assert loads_yaml("", "t") is None
