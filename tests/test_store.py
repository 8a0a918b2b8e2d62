"""The results store: no duplicates, deterministic read order, refusal to overwrite, damaged
files rejected untouched."""

from __future__ import annotations

import sqlite3

import pytest

from accelsim.common.errors import InputError
from accelsim.explore.store import FORMAT, Store, check_store, read_results, read_rows

META = {"spec": '{"axes":["rows"]}', "accelsim_version": "test"}


def rows(n, start=0):
    return [(f"k{i:03d}", i, {"values": {"rows": i}, "network": "n", "variant": "regular",
                              "batch": 1}, {"latency_ms": i * 0.5, "total_cycles": i})
            for i in range(start, n)]


def test_add_is_idempotent_and_read_is_sorted(tmp_path):
    db = tmp_path / "r.db"
    s = Store.create(db, META)
    assert s.add(list(reversed(rows(5)))) == 5
    assert s.add(rows(8, 3)) == 3  # k003, k004 already there: kept, not duplicated
    s.close()
    meta, got = read_rows(db)
    assert meta["format"] == FORMAT and meta["spec"] == META["spec"]
    assert [r[1] for r in got] == list(range(8))
    assert got == [(k, i, p, m) for k, i, p, m in rows(8)]
    df = read_results(db)
    assert list(df["rows"]) == list(range(8)) and list(df["total_cycles"]) == list(range(8))
    assert not (tmp_path / "r.db-wal").exists()  # closed store is one self-contained file


def test_create_refuses_existing_and_resume_checks_spec(tmp_path):
    db = tmp_path / "r.db"
    Store.create(db, META).close()
    before = db.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        Store.create(db, META)
    with pytest.raises(InputError, match="different sweep spec"):
        Store.open_resume(db, {**META, "spec": "{}"})
    assert db.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"hello", b"SQLite format 3\x00" + b"\x00" * 84])
def test_damaged_or_foreign_files_are_rejected_untouched(tmp_path, content):
    db = tmp_path / "r.db"
    db.write_bytes(content)
    with pytest.raises(InputError) as ei:
        Store.open_resume(db, META)
    assert str(db) in str(ei.value)
    assert db.read_bytes() == content


def test_foreign_sqlite_database_is_rejected(tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    with con:
        con.execute("CREATE TABLE t(x)")
    con.close()
    before = db.read_bytes()
    with pytest.raises(InputError, match="missing tables"):
        check_store(db)
    assert db.read_bytes() == before
