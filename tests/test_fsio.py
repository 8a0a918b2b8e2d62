"""Atomic outputs: a folder is replaced as a whole or not at all, and entries other commands
own (reports/validation/) survive a regeneration."""

import pytest

from accelsim.fsio import atomic_dir, write_text_atomic


def test_atomic_dir_replaces_whole_and_keeps_owned_entries(tmp_path):
    out = tmp_path / "reports"
    (out / "validation").mkdir(parents=True)
    (out / "validation" / "SUMMARY.md").write_text("exact\n")
    (out / "stale.csv").write_text("old\n")
    with atomic_dir(out, keep=("validation", "absent")) as tmp:
        (tmp / "speedup.csv").write_text("new\n")
    assert sorted(p.name for p in out.iterdir()) == ["speedup.csv", "validation"]
    assert (out / "validation" / "SUMMARY.md").read_text() == "exact\n"
    assert not list(tmp_path.glob(".reports*"))          # no temporary left behind


def test_atomic_dir_failure_leaves_old_content(tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "speedup.csv").write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_dir(out, keep=("validation",)) as tmp:
            (tmp / "speedup.csv").write_text("half")
            raise RuntimeError("interrupted")
    assert (out / "speedup.csv").read_text() == "old\n"
    assert not list(tmp_path.glob(".reports*"))


def test_write_text_atomic_failure_keeps_file(tmp_path, monkeypatch):
    f = tmp_path / "a.csv"
    write_text_atomic(f, "one\n")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        write_text_atomic(f, "two\n")
    assert f.read_text() == "one\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]
