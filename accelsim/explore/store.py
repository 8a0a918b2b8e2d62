"""The sweep results store: one SQLite file, one row per design point, keyed by the point's hash.

Schema (docs/sweeps.md)::

    meta(name TEXT PRIMARY KEY, value TEXT)      -- format, accelsim version, spec (canonical JSON)
    results(key TEXT PRIMARY KEY,                -- sha256 of the point's canonical JSON
            idx INTEGER NOT NULL,                -- the point's index in the spec's point list
            point TEXT NOT NULL,                 -- the point (canonical JSON)
            metrics TEXT NOT NULL)               -- the evaluation (JSON, every summary number)
    derived(key, name, value)                    -- metrics across points, written when a sweep
                                                 -- ends: speedup_over_regular (its regular twin)

Why SQLite: a PRIMARY KEY makes a duplicate row impossible, WAL mode plus one transaction per
batch makes a kill -9 at any moment lose at most the batch in flight (never half a row), and one
file is easy to move. Only the sweep's main process writes; workers return results to it.

One writer at a time: a writer holds an exclusive ``flock`` on ``.<store>.lock`` beside the
store from before it checks the store until it closes it, so a second sweep on the same store
fails at once with one line (readers such as ``pareto`` take no lock). The lock dies with its
process, so a killed sweep never leaves a stale lock behind.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from accelsim.common.errors import InputError

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


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def acquire_lock(path: str | os.PathLike) -> int:
    """An exclusive, non-blocking lock for writing the store at ``path``: a file descriptor, or
    InputError when another process holds it."""
    import fcntl

    path = Path(path)
    lock = _lock_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError("is a file, not a folder", source=str(path.parent)) from None
    except OSError as exc:
        raise InputError(f"cannot create folder: {exc.strerror}", source=str(path.parent)) \
            from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"cannot create the store's lock file: {exc.strerror}",
                             source=str(lock)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError("another sweep is writing this results store; wait for it, or "
                             "choose another --out", source=str(path)) from None
        # the holder before us may have removed the file after we opened it: then our lock is
        # on a file no one else will see; take it again on the current one
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def release_lock(path: str | os.PathLike, fd: int | None) -> None:
    if fd is None:
        return
    try:
        os.unlink(_lock_path(Path(path)))  # while still held: no one can be waiting on it
    except OSError:
        pass
    os.close(fd)


TWIN_METRIC = "speedup_over_regular"
# metrics computed across points (a point and its regular twin), one row per (point, metric)
DERIVED_SCHEMA = ("CREATE TABLE IF NOT EXISTS derived(key TEXT NOT NULL, name TEXT NOT NULL, "
                  "value REAL NOT NULL, PRIMARY KEY (key, name))")


def read_derived(path: str | os.PathLike) -> dict[str, dict[str, float]]:
    """key -> {metric: value} of the ``derived`` table ({} for a store without one)."""
    try:
        con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        try:
            if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                               "name='derived'").fetchone():
                return {}
            out: dict[str, dict[str, float]] = {}
            for key, name, value in con.execute("SELECT key, name, value FROM derived"):
                out.setdefault(key, {})[str(name)] = float(value)
            return out
        finally:
            con.close()
    except (sqlite3.Error, TypeError, ValueError) as exc:
        raise InputError(f"damaged results store ({type(exc).__name__}: {exc})",
                         source=str(path)) from None


def twin_key(point: dict) -> str:
    """What a point shares with its regular twin: arch, network, batch and fidelity (a fast
    point's twin is fast, an exact one's exact)."""
    return _canon([point["arch"], point["network"], point["batch"],
                   point.get("fidelity", "exact")])


def twin_speedups(rows) -> dict[str, float]:
    """key -> regular twin's total_cycles / this point's total_cycles, for every point whose
    regular twin (same arch, network and batch, variant ``regular``) is in ``rows``
    ([(key, point, metrics)]); a regular point is its own twin (1.0). Cycles, not latency: the
    twin has the same clock, and cycles are integers, so the ratio is exact to the last bit."""
    twin = twin_key
    base = {twin(p): m.get("total_cycles") for _, p, m in rows if p["variant"] == "regular"}
    out = {}
    for key, p, m in rows:
        reg, cyc = base.get(twin(p)), m.get("total_cycles")
        if reg and cyc:
            out[key] = reg / cyc
    return out


@contextmanager
def _own_lock(path: Path, lock_fd: int | None):
    """The store's lock for opening it: ``lock_fd`` when the caller already holds it, else
    taken here, and then released again if the opening fails."""
    fd = lock_fd if lock_fd is not None else acquire_lock(path)
    try:
        yield fd
    except BaseException:
        if lock_fd is None:
            release_lock(path, fd)
        raise


class Store:
    """The writer side. ``create`` refuses an existing file; ``open_resume`` validates first.
    Both take the store's lock first (see the module docstring) and keep it until ``close``."""

    def __init__(self, path: Path, con: sqlite3.Connection, lock_fd: int | None = None):
        self.path, self.con, self.lock_fd = path, con, lock_fd

    @classmethod
    def create(cls, path: str | os.PathLike, meta: dict, lock_fd: int | None = None) -> "Store":
        path = Path(path)
        with _own_lock(path, lock_fd) as fd:
            if path.exists() or path.is_symlink():
                raise InputError("results store already exists; pass --resume to continue it, "
                                 "or choose another --out", source=str(path))
            # build the empty store beside it, then link it in: a crash never leaves a half-made
            # schema, and the link fails rather than replace a store someone else made
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            if tmp.exists():
                tmp.unlink()
            try:
                con = sqlite3.connect(tmp)
                with con:
                    con.execute("CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT)")
                    con.execute("CREATE TABLE results(key TEXT PRIMARY KEY, idx INTEGER NOT "
                                "NULL, point TEXT NOT NULL, metrics TEXT NOT NULL)")
                    con.executemany("INSERT INTO meta VALUES (?, ?)",
                                    sorted({"format": FORMAT, **meta}.items()))
                con.close()
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise
                except OSError as exc:
                    # no hard links on this file system: the lock already excludes every other
                    # accelsim writer, and the path was absent under it
                    import errno

                    if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP,
                                         errno.EMLINK):
                        raise
                    if path.exists():
                        raise FileExistsError from None
                    os.replace(tmp, path)
            except FileExistsError:
                raise InputError("results store already exists; pass --resume to continue "
                                 "it, or choose another --out", source=str(path)) from None
            except (OSError, sqlite3.Error) as exc:
                raise InputError(f"cannot create the results store: {exc}",
                                 source=str(path)) from None
            finally:
                if tmp.exists():
                    tmp.unlink()
            return cls._open(path, fd)

    @classmethod
    def open_resume(cls, path: str | os.PathLike, meta: dict,
                    lock_fd: int | None = None) -> "Store":
        path = Path(path)
        with _own_lock(path, lock_fd) as fd:
            old = check_store(path)
            for k in ("spec",):
                if old.get(k) != meta.get(k):
                    raise InputError("results store was made by a different sweep spec; resume "
                                     "with the same spec or choose another --out",
                                     source=str(path), field=k, value="(changed)")
            return cls._open(path, fd)

    @classmethod
    def _open(cls, path: Path, lock_fd: int | None = None) -> "Store":
        con = sqlite3.connect(path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return cls(path, con, lock_fd)

    def done_keys(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT key FROM results")}

    def metrics(self) -> dict[str, dict]:
        """key -> the metrics stored for it."""
        return {k: json.loads(m) for k, m in self.con.execute("SELECT key, metrics FROM results")}

    def add(self, rows: list[tuple[str, int, dict, dict]]) -> int:
        """Append (key, idx, point, metrics) rows in one transaction; a key already present is
        kept as it is (a point re-run after a lost worker gives the same numbers)."""
        with self.con:
            cur = self.con.executemany(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?)",
                [(k, i, _canon(p), _canon(m)) for k, i, p, m in rows])
        return cur.rowcount

    def add_twin_speedups(self) -> int:
        """Store each point's ``speedup_over_regular`` (see ``twin_speedups``) in the
        ``derived`` table; run once the points are in, since a point's twin may come later.
        A results row stays what its evaluation returned (metrics that need other points live
        beside it, and ``read_results`` joins them)."""
        rows = [(k, json.loads(p), json.loads(m)) for k, p, m in
                self.con.execute("SELECT key, point, metrics FROM results ORDER BY idx, key")]
        sp = twin_speedups(rows)
        with self.con:
            self.con.execute(DERIVED_SCHEMA)
            self.con.executemany("INSERT OR REPLACE INTO derived VALUES (?, ?, ?)",
                                 [(k, TWIN_METRIC, v) for k, v in sorted(sp.items())])
        return len(sp)

    def close(self) -> None:
        # leave WAL mode: the WAL is folded back and the store is one self-contained file again,
        # which read-only readers open without creating -wal/-shm files beside it
        try:
            self.con.execute("PRAGMA journal_mode=DELETE")
        finally:
            self.con.close()
            release_lock(self.path, self.lock_fd)
            self.lock_fd = None


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
        out = [(k, i, json.loads(p), json.loads(m)) for k, i, p, m in rows]
        _check_content(meta, out)
        return meta, out
    except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"damaged results store ({type(exc).__name__}: {exc})",
                         source=str(path)) from None


_CONSTRAINT_OPS = ("<=", "<", ">=", ">", "==")


def _check_content(meta: dict, rows) -> None:
    """What the readers (``read_results``, ``pareto``) rely on; a store edited by hand, or
    written by something else, fails here with ValueError/KeyError/TypeError."""
    import math

    spec = json.loads(meta.get("spec", "{}"))
    if not isinstance(spec, dict):
        raise TypeError("spec is not a JSON object")
    axes = spec.get("axes", [])
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        raise TypeError("spec axes is not a list of names")
    cons = spec.get("constraints", [])
    if not isinstance(cons, list):
        raise TypeError("spec constraints is not a list")
    for c in cons:
        metric, op, value = str(c).split(" ")
        if op not in _CONSTRAINT_OPS or not math.isfinite(float(value)):
            raise ValueError(f"constraint {c!r}")
    for key, idx, point, metrics in rows:
        if not isinstance(point, dict) or not isinstance(metrics, dict):
            raise TypeError(f"row {key}: point and metrics must be JSON objects")
        for k in ("network", "variant", "batch"):
            point[k]
        if not isinstance(point.get("values", {}), dict):
            raise TypeError(f"row {key}: point values must be a JSON object")


def read_results(path: str | os.PathLike):
    """The store as a DataFrame: key, idx, the point's varied fields (network, variant, batch,
    fidelity, each axis), then every metric; rows sorted by (idx, key). A fast sweep's store
    holds its confirmed points twice, fast and exact (``best_fidelity`` keeps one of each)."""
    import pandas as pd

    meta, rows = read_rows(path)
    derived = read_derived(path)
    spec = json.loads(meta.get("spec", "{}"))
    axes = spec.get("axes", [])
    recs = []
    for key, idx, point, metrics in rows:
        rec = {"key": key, "idx": idx, "network": point["network"], "variant": point["variant"],
               "batch": point["batch"], "fidelity": point.get("fidelity", "exact")}
        rec.update({a: point.get("values", {}).get(a) for a in axes})
        rec.update(metrics)
        rec.update(derived.get(key, {}))
        recs.append(rec)
    return pd.DataFrame(recs)


def best_fidelity(df):
    """One row per design point: its exact row where the store holds one, else its fast row
    (a fast sweep confirms its front and a sample exactly; readers such as ``accelsim pareto``
    use the exact numbers wherever they exist)."""
    if "fidelity" not in df.columns or (df["fidelity"] == "exact").all():
        return df
    exact_idx = set(df.loc[df["fidelity"] == "exact", "idx"])
    keep = (df["fidelity"] == "exact") | ~df["idx"].isin(exact_idx)
    return df[keep].reset_index(drop=True)
