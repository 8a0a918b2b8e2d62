"""Output folders never destroy what accelsim did not write (accelsim/common/fsio.py): a user's files
beside the outputs survive every command that writes a folder, a rerun replaces only the
entries listed in the folder's manifest, and `.`, a file, a folder holding the working directory
or a non-empty folder accelsim did not write are refused (exit 2, one line, nothing moved)
unless --force, which still removes none of the user's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from accelsim.cli import main
from accelsim.common.errors import InputError
from accelsim.common.fsio import MANIFEST, atomic_dir, check_out_dir, safe_name

SIM = ["simulate", "--arch", "edge-npu", "--workload", "resnet56"]


def tree(folder: Path) -> dict:
    """Every file under ``folder`` -> its bytes (folders implied)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def user_folder(path: Path) -> dict:
    path.mkdir(parents=True)
    (path / "notes.txt").write_text("my notes\n")
    (path / "data").mkdir()
    (path / "data" / "keep.csv").write_text("a,b\n1,2\n")
    (path / "layers.csv").write_text("my own layers.csv, same name as an output\n")
    return tree(path)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_refuses_a_folder_it_did_not_write_and_moves_nothing(tmp_path, capsys):
    r = tmp_path / "r"
    before = user_folder(r)
    code, _, err = run(capsys, *SIM, "--out", r)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "notes.txt" in err and "--force" in err
    assert tree(r) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no sibling temporaries


def test_force_writes_beside_the_users_files_and_removes_none(tmp_path, capsys):
    r = tmp_path / "r"
    before = user_folder(r)
    assert run(capsys, *SIM, "--out", r, "--force")[0] == 0
    after = tree(r)
    for name in ("notes.txt", "data/keep.csv"):
        assert after[name] == before[name]
    # layers.csv is accelsim's output name: --force replaces it, and says so in the manifest
    assert after["layers.csv"] != before["layers.csv"]
    assert json.loads(after[MANIFEST])["entries"] == ["layers.csv", "summary.json"]
    # a rerun without --force is accepted now? No: notes.txt and data/ are still not accelsim's
    assert run(capsys, *SIM, "--out", r)[0] == 2
    assert tree(r) == after


@pytest.mark.parametrize("cmd,outputs", [
    (SIM, ["layers.csv", "summary.json"]),
    (["codesign", "--arch", "edge-npu", "--network", "resnet56", "--lanes", "16",
      "--trees", "separable", "--modes", "two_pass"], ["answer.json", "candidates.csv"]),
    (["speedup", "--arch", "edge-npu", "--networks", "resnet56", "--variants", "A",
      "--no-plots"], None),
])
def test_rerun_replaces_only_its_own_entries(tmp_path, capsys, cmd, outputs):
    r = tmp_path / "r"
    code = run(capsys, *cmd, "--out", r)[0]
    assert code in (0, 1)  # codesign: 1 when no candidate meets the target
    first = tree(r)
    manifest = json.loads(first[MANIFEST])["entries"]
    on_disk = sorted(p.name for p in r.iterdir() if p.name != MANIFEST)
    assert manifest == on_disk
    if outputs:
        assert manifest == outputs
    # the user adds files to accelsim's folder afterwards: a rerun keeps them, byte for byte
    (r / "mine.txt").write_text("mine\n")
    (r / "sub").mkdir()
    (r / "sub" / "x.bin").write_bytes(b"\x00\x01")
    # an old output accelsim no longer writes is its own, listed: the rerun removes it
    (r / "stale.csv").write_text("old\n")
    (r / MANIFEST).write_text(json.dumps({"written_by": "accelsim",
                                          "entries": manifest + ["stale.csv"]}))
    assert run(capsys, *cmd, "--out", r, "--force")[0] == code
    again = tree(r)
    assert again["mine.txt"] == b"mine\n" and again["sub/x.bin"] == b"\x00\x01"
    assert "stale.csv" not in again
    for name, data in first.items():  # same inputs, byte-identical outputs
        assert again[name] == data, name
    assert not [p for p in r.iterdir() if p.name.startswith((".accelsim-new.", ".accelsim-old."))]


def test_out_dot_and_ancestors_of_the_working_folder_are_refused(tmp_path, capsys,
                                                                   monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for out in (".", str(work), str(tmp_path / "a"), "../b"):
        code, _, err = run(capsys, *SIM, "--out", out)
        assert code == 2 and "current folder" in err, (out, err)
    assert list(work.iterdir()) == [] and sorted(os.listdir(tmp_path / "a")) == ["b"]


def test_out_file_is_refused_and_kept(tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("precious\n")
    for cmd in (SIM, ["pareto", "nonexistent.db"], ["speedup", "--networks", "resnet56"]):
        code, _, err = run(capsys, *cmd, "--out", f, "--force")
        assert code == 2 and "not a folder" in err and len(err.strip().splitlines()) == 1
    assert f.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    # a path below a file: one line, nothing made
    code, _, err = run(capsys, *SIM, "--out", f / "sub")
    assert code == 2 and "results" in err
    # single-file outputs refuse a folder
    d = tmp_path / "adir"
    d.mkdir()
    assert run(capsys, "trace", "resnet56", "-o", d)[0] == 2
    assert list(d.iterdir()) == []


def test_unwritable_out_is_one_line(tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the folder read-only as os.access sees it
        real = os.access
        monkeypatch.setattr("accelsim.common.fsio.os.access",
                            lambda p, mode: False if Path(p) == ro else real(p, mode))
    ro.chmod(0o555)
    try:
        code, _, err = run(capsys, *SIM, "--out", ro / "r")
        assert code == 2 and "writable" in err and len(err.strip().splitlines()) == 1
    finally:
        ro.chmod(0o755)
    assert list(ro.iterdir()) == []


def test_failed_body_leaves_folder_as_it_was(tmp_path):
    r = tmp_path / "r"
    with atomic_dir(r) as tmp:
        (tmp / "a.csv").write_text("one\n")
    (r / "user.txt").write_text("u\n")
    before = tree(r)
    with pytest.raises(RuntimeError):
        with atomic_dir(r, force=True) as tmp:
            (tmp / "a.csv").write_text("two\n")
            raise RuntimeError("disk full")
    assert tree(r) == before
    assert not [p for p in r.iterdir() if p.name.startswith((".accelsim-new.", ".accelsim-old."))]


def test_new_folder_appears_whole_with_its_manifest(tmp_path):
    r = tmp_path / "new" / "deep"
    with atomic_dir(r) as tmp:
        (tmp / "x.csv").write_text("x\n")
        (tmp / "sub").mkdir()
    assert sorted(p.name for p in r.iterdir()) == [MANIFEST, "sub", "x.csv"]
    assert json.loads((r / MANIFEST).read_text())["entries"] == ["sub", "x.csv"]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["deep"]


def test_empty_folder_and_own_folder_need_no_force(tmp_path):
    empty = tmp_path / "e"
    empty.mkdir()
    assert check_out_dir(empty) == empty
    with atomic_dir(empty) as tmp:
        (tmp / "x").write_text("1")
    assert check_out_dir(empty) == empty
    (empty / "y").write_text("user")
    with pytest.raises(InputError, match="did not write"):
        check_out_dir(empty)


@pytest.mark.parametrize("name", ["../../x", "vendor/npu", "a\\b", "..", ".", "", "a\x00b",
                                  "tab\there", "x" * 201])
def test_derived_file_names_are_sanitized(name):
    with pytest.raises(InputError):
        safe_name(name)


def test_arch_name_cannot_write_outside_out(tmp_path, capsys):
    arch = tmp_path / "evil.yaml"
    arch.write_text("name: ../../escape\nrows: 8\ncols: 8\ndataflow: os\nifmap_sram_kb: 64\n"
                    "filter_sram_kb: 64\nofmap_sram_kb: 64\n")
    code, _, err = run(capsys, "speedup", "--arch", arch, "--networks", "resnet56",
                       "--no-plots", "--out", tmp_path / "rep")
    assert code == 2 and "'name'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.yaml"]


def test_speedup_keeps_other_tools_subfolders_but_refuses_loose_files(tmp_path, capsys):
    cmd = ["speedup", "--arch", "edge-npu", "--networks", "resnet56", "--variants", "A",
           "--no-plots", "--out"]
    rep = tmp_path / "rep"
    (rep / "compare").mkdir(parents=True)          # another tool's sub-folder
    (rep / "compare" / "table.csv").write_text("theirs\n")
    assert run(capsys, *cmd, rep)[0] == 0
    assert (rep / "compare" / "table.csv").read_text() == "theirs\n"
    assert "compare" not in json.loads((rep / MANIFEST).read_text())["entries"]
    (rep / "notes.txt").write_text("mine\n")       # a loose file is the user's
    before = tree(rep)
    code, _, err = run(capsys, *cmd, rep)
    assert code == 2 and "notes.txt" in err and tree(rep) == before
