"""Sweep stores under faults: one writer at a time (a second sweep on the same store fails at once
with one line and never mixes its rows in), every check before the store exists, process-pool
workers that die with a killed main process, Ctrl-C that exits 130 with a consistent store, and
constraint values stored exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accelsim.cli import main
from accelsim.common.errors import InputError
from accelsim.explore.store import acquire_lock, check_store, read_rows, release_lock
from accelsim.explore.sweep import Constraint, load_spec, points, spec_constraints, store_meta

TOY = "base: edge-npu\nnetworks: [resnet56]\nevaluator: toy\n"


def spec_file(tmp_path: Path, name: str, rows: list[int], extra: str = "") -> Path:
    f = tmp_path / f"{name}.yaml"
    f.write_text(f"name: {name}\n{TOY}axes:\n  rows: {rows}\n  cols: [4, 8, 16, 32]\n{extra}")
    return f


def sweep_proc(spec: Path, out: Path, *args, delay: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "ACCELSIM_TOY_DELAY_S": str(delay)}
    return subprocess.Popen([sys.executable, "-m", "accelsim", "sweep", str(spec), "--out",
                             str(out), "--no-progress", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_lock_is_exclusive_and_leaves_nothing(tmp_path):
    db = tmp_path / "s.db"
    fd = acquire_lock(db)
    with pytest.raises(InputError, match="another sweep is writing"):
        acquire_lock(db)
    release_lock(db, fd)
    fd = acquire_lock(db)  # free again
    release_lock(db, fd)
    assert list(tmp_path.iterdir()) == []


def test_two_sweeps_on_one_new_store_one_wins_cleanly(tmp_path):
    a = spec_file(tmp_path, "one", [4, 8, 16])
    b = spec_file(tmp_path, "two", [2, 6, 10, 12])
    for trial in range(2):
        db = tmp_path / f"s{trial}.db"
        procs = [sweep_proc(a, db, delay=0.02), sweep_proc(b, db, delay=0.02)]
        res = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        codes = sorted(r[0] for r in res)
        assert codes == [0, 2], res
        winner, loser = (res[0], res[1]) if res[0][0] == 0 else (res[1], res[0])
        err = loser[2].strip().splitlines()
        assert len(err) == 1 and ("another sweep is writing" in err[0]
                                  or "already exists" in err[0]), loser[2]
        assert "Traceback" not in winner[2] + loser[2]
        spec = load_spec(a if winner is res[0] else b)
        meta, rows = read_rows(db)
        assert meta["spec"] == store_meta(spec)["spec"]
        assert sorted(k for k, *_ in rows) == sorted(p["key"] for p in points(spec))
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".s", "s"))) \
            == sorted(f"s{t}.db" for t in range(trial + 1))  # no lock or temporary left


def test_second_writer_on_a_running_sweep_fails_at_once(tmp_path):
    a = spec_file(tmp_path, "one", [4, 8, 16, 32])
    db = tmp_path / "s.db"
    first = sweep_proc(a, db, delay=0.25)
    try:
        deadline = time.time() + 60
        while not (tmp_path / ".s.db.lock").exists() or not db.exists():
            assert time.time() < deadline and first.poll() is None
            time.sleep(0.05)
        t0 = time.time()
        code = main(["sweep", str(a), "--out", str(db), "--resume", "--no-progress"])
        assert code == 2 and time.time() - t0 < 10
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    meta, rows = read_rows(db)
    assert len(rows) == len(points(load_spec(a)))


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_main_process_leaves_no_worker(tmp_path):
    a = spec_file(tmp_path, "one", [4, 8, 16, 32, 64])
    db = tmp_path / "s.db"
    p = sweep_proc(a, db, "--workers", "2", "--chunk", "1", delay=0.5)
    deadline = time.time() + 60
    workers: list[int] = []
    while len(workers) < 2:
        assert time.time() < deadline and p.poll() is None, p.communicate()
        workers = [c for c in _children(p.pid) if _alive(c)]
        time.sleep(0.1)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "orphan workers"
    # the store is consistent and the sweep resumes to completion
    assert main(["sweep", str(a), "--out", str(db), "--resume", "--no-progress"]) == 0
    assert len(read_rows(db)[1]) == len(points(load_spec(a)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals")
def test_ctrl_c_exits_130_quietly_with_a_consistent_store(tmp_path):
    a = spec_file(tmp_path, "one", [4, 8, 16, 32])
    db = tmp_path / "s.db"
    p = sweep_proc(a, db, "--workers", "2", "--chunk", "1", delay=0.3)
    deadline = time.time() + 60
    while not db.exists() or len(_children(p.pid)) < 2:
        assert time.time() < deadline and p.poll() is None
        time.sleep(0.1)
    time.sleep(0.5)
    os.kill(p.pid, signal.SIGINT)
    code = p.wait(timeout=30)
    out, err = p.communicate()
    assert code == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    check_store(db)  # readable, not damaged
    assert main(["sweep", str(a), "--out", str(db), "--resume", "--no-progress"]) == 0
    assert len(read_rows(db)[1]) == len(points(load_spec(a)))


def test_unreachable_dask_scheduler_creates_no_store(tmp_path, monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr("accelsim.explore.sweep.dask_runner.DASK_CONNECT_TIMEOUT_S", 1)
    a = spec_file(tmp_path, "one", [4])
    code = main(["sweep", str(a), "--out", str(tmp_path / "s.db"), "--dask",
                 "tcp://127.0.0.1:1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Dask scheduler" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.yaml"]


def test_constraint_values_are_stored_exactly(tmp_path, capsys):
    from accelsim.explore.sweep import toy_evaluate

    # the toy metric of one point, an 8-digit number ``:g`` would round to 6 digits
    probe = spec_file(tmp_path, "probe", [1])
    pt = points(load_spec(probe))[0]
    cycles = toy_evaluate(pt)["total_cycles"]
    assert f"{float(cycles):g}" != str(cycles)  # the case that used to fail
    a = spec_file(tmp_path, "c", [1, 8], extra=f"constraints: ['total_cycles <= {cycles}', "
                  "'latency_ms < 0.1234567891234']\n")
    spec = load_spec(a)
    cons = spec_constraints(store_meta(spec))
    assert cons == (Constraint("total_cycles", "<=", float(cycles)),
                    Constraint("latency_ms", "<", 0.1234567891234))
    db = tmp_path / "s.db"
    assert main(["sweep", str(a), "--out", str(db), "--no-progress"]) == 0
    meta, rows = read_rows(db)
    assert json.loads(meta["spec"])["constraints"][0] == f"total_cycles <= {cycles}"
    named = [m for _, _, p, m in rows if p["values"] == pt["values"]
             and p["network"] == pt["network"]]
    assert named and named[0]["total_cycles"] == cycles
    assert all(c.holds(named[0]) for c in cons[:1])  # the point the constraint names is feasible
