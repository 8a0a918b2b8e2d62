"""The sweep results store: one SQLite file, one row per design point, keyed by the point's hash.

Schema (docs/sweeps.md)::

    meta(name TEXT PRIMARY KEY, value TEXT)      -- format, accelsim version, spec (canonical JSON)
    results(key TEXT PRIMARY KEY,                -- sha256 of the point's canonical JSON
            idx INTEGER NOT NULL,                -- the point's index in the spec's point list
            point TEXT NOT NULL,                 -- the point (canonical JSON)
            metrics TEXT NOT NULL)               -- the evaluation (JSON, every summary number)

Why SQLite: a PRIMARY KEY makes a duplicate row impossible, WAL mode plus one transaction per
batch makes a kill -9 at any moment lose at most the batch in flight (never half a row), and one
file is easy to move. Only the sweep's main process writes; workers return results to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from .errors import InputError

FORMAT = "accelsim-sweep-store/1"


def _canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def check_store(path: str | os.PathLike) -> dict:
    """Open read-only and validate; return the meta table. A file that is not a store, or a
    damaged one, raises InputError and is not modified."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such results store", source=str(path))
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = con.execute("PRAGMA quick_check").fetchone()
            if not ok or ok[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {ok and ok[0]}")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"meta", "results"} <= tables:
                raise sqlite3.DatabaseError("missing tables meta/results")
            meta = dict(con.execute("SELECT name, value FROM meta"))
            cols = [r[1] for r in con.execute("PRAGMA table_info(results)")]
            if cols != ["key", "idx", "point", "metrics"]:
                raise sqlite3.DatabaseError(f"unexpected results columns {cols}")
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"not a readable accelsim results store ({exc})", source=str(path)) from None
    if meta.get("format") != FORMAT:
        raise InputError(f"unknown store format; expected {FORMAT}", source=str(path),
                         field="format", value=meta.get("format"))
    return meta


class Store:
    """The writer side. ``create`` refuses an existing file; ``open_resume`` validates first."""

    def __init__(self, path: Path, con: sqlite3.Connection):
        self.path, self.con = path, con

    @classmethod
    def create(cls, path: str | os.PathLike, meta: dict) -> "Store":
        path = Path(path)
        if path.exists():
            raise InputError("results store already exists; pass --resume to continue it, or "
                             "choose another --out", source=str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        # build the empty store beside it and rename: a crash never leaves a half-made schema
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        if tmp.exists():
            tmp.unlink()
        con = sqlite3.connect(tmp)
        with con:
            con.execute("CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT)")
            con.execute("CREATE TABLE results(key TEXT PRIMARY KEY, idx INTEGER NOT NULL, "
                        "point TEXT NOT NULL, metrics TEXT NOT NULL)")
            con.executemany("INSERT INTO meta VALUES (?, ?)",
                            sorted({"format": FORMAT, **meta}.items()))
        con.close()
        os.replace(tmp, path)
        return cls._open(path)

    @classmethod
    def open_resume(cls, path: str | os.PathLike, meta: dict) -> "Store":
        path = Path(path)
        old = check_store(path)
        for k in ("spec",):
            if old.get(k) != meta.get(k):
                raise InputError("results store was made by a different sweep spec; resume with "
                                 "the same spec or choose another --out", source=str(path),
                                 field=k, value="(changed)")
        return cls._open(path)

    @classmethod
    def _open(cls, path: Path) -> "Store":
        con = sqlite3.connect(path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return cls(path, con)

    def done_keys(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT key FROM results")}

    def add(self, rows: list[tuple[str, int, dict, dict]]) -> int:
        """Append (key, idx, point, metrics) rows in one transaction; a key already present is
        kept as it is (a point re-run after a lost worker gives the same numbers)."""
        with self.con:
            cur = self.con.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?)",
                [(k, i, _canon(p), _canon(m)) for k, i, p, m in rows])
        return cur.rowcount

    def close(self) -> None:
        # leave WAL mode: the WAL is folded back and the store is one self-contained file again,
        # which read-only readers open without creating -wal/-shm files beside it
        try:
            self.con.execute("PRAGMA journal_mode=DELETE")
        finally:
            self.con.close()


def read_rows(path: str | os.PathLike) -> tuple[dict, list[tuple[str, int, dict, dict]]]:
    """(meta, [(key, idx, point, metrics)]) sorted by (idx, key)."""
    meta = check_store(path)
    try:
        con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT key, idx, point, metrics FROM results "
                               "ORDER BY idx, key").fetchall()
        finally:
            con.close()
        return meta, [(k, i, json.loads(p), json.loads(m)) for k, i, p, m in rows]
    except (sqlite3.Error, ValueError) as exc:
        raise InputError(f"damaged results store ({exc})", source=str(path)) from None


def read_results(path: str | os.PathLike):
    """The store as a DataFrame: key, idx, the point's varied fields (network, variant, batch,
    each axis), then every metric; rows sorted by (idx, key)."""
    import pandas as pd

    meta, rows = read_rows(path)
    spec = json.loads(meta.get("spec", "{}"))
    axes = spec.get("axes", [])
    recs = []
    for key, idx, point, metrics in rows:
        rec = {"key": key, "idx": idx, "network": point["network"], "variant": point["variant"],
               "batch": point["batch"]}
        rec.update({a: point["values"].get(a) for a in axes})
        rec.update(metrics)
        recs.append(rec)
    return pd.DataFrame(recs)
