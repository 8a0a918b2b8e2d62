"""Atomic outputs: a folder's own entries (its manifest) are replaced as a whole or not at all,
and entries other commands own (reports/validation/) survive a regeneration (tests/test_outdir.py
has the user-file cases)."""

import pytest

from accelsim.common.fsio import MANIFEST, atomic_dir, write_text_atomic


def test_atomic_dir_replaces_own_entries_and_keeps_owned_entries(tmp_path):
    out = tmp_path / "reports"
    with atomic_dir(out) as tmp:
        (tmp / "stale.csv").write_text("old\n")
    (out / "validation").mkdir()
    (out / "validation" / "SUMMARY.md").write_text("exact\n")
    with atomic_dir(out, keep=("validation", "absent")) as tmp:
        (tmp / "speedup.csv").write_text("new\n")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "speedup.csv", "validation"]
    assert (out / "validation" / "SUMMARY.md").read_text() == "exact\n"
    assert not list(tmp_path.glob(".reports*"))          # no temporary left behind


def test_atomic_dir_failure_leaves_old_content(tmp_path):
    out = tmp_path / "reports"
    with atomic_dir(out) as tmp:
        (tmp / "speedup.csv").write_text("old\n")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(RuntimeError):
        with atomic_dir(out, keep=("validation",)) as tmp:
            (tmp / "speedup.csv").write_text("half")
            raise RuntimeError("interrupted")
    assert (out / "speedup.csv").read_text() == "old\n"
    assert sorted(p.name for p in out.iterdir()) == before
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
