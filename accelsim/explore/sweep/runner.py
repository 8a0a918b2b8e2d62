"""Running a sweep: the points a store does not hold yet, evaluated in chunks (serially, in a
process pool, or on a Dask cluster through ``dask_runner``), each finished chunk committed by
the main process in one transaction.

An interrupted sweep (Ctrl-C, kill -9 of the main process, a lost worker) resumes with
``resume=True`` and computes exactly the missing points. Process-pool workers die with the main
process and leave Ctrl-C to it; a round in which workers were lost is followed by another over
the points still missing, at most ``restarts`` times.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import closing
from pathlib import Path

from accelsim import __version__
from accelsim.common.errors import require
from accelsim.explore.sweep import dask_runner
from accelsim.explore.sweep.evaluators import evaluate_chunk
from accelsim.explore.sweep.points import canon, points
from accelsim.explore.sweep.spec import Spec


class SweepIncomplete(RuntimeError):
    """Workers were lost more often than allowed; the store holds what finished."""


def store_meta(spec: Spec) -> dict:
    return {"spec": canon(spec.to_json()), "accelsim_version": __version__}


def _chunks(todo: list, size: int) -> list[list]:
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def run_sweep(spec: Spec, out: str | os.PathLike, *, workers: int = 1, dask: str | None = None,
              resume: bool = False, chunk: int | None = None, progress: bool = True,
              restarts: int = 2, pts: list[dict] | None = None) -> dict:
    """Evaluate every point of ``spec`` (or of ``pts``, a list of its points) missing from the
    store at ``out``; returns counts."""
    from accelsim.explore.store import Store, acquire_lock, check_store, release_lock

    pts_given = pts
    pts = points(spec) if pts is None else pts
    meta = store_meta(spec)
    # every check before the store exists: the lock (one writer), the store's state, then the
    # Dask scheduler; only then is a new store created
    lock = acquire_lock(out)
    dask_ = None
    try:
        if resume:
            check_store(out)
        else:
            require(not Path(out).exists(), "results store already exists; pass --resume to "
                    "continue it, or choose another --out", source=str(out))
        if dask is not None:
            dask_ = dask_runner.connect(dask, workers)
        store = (Store.open_resume(out, meta, lock) if resume
                 else Store.create(out, meta, lock))
    except BaseException:
        release_lock(out, lock)
        if dask_:
            dask_runner.close(*dask_)
        raise
    try:
        done = store.done_keys()
        todo = [p for p in pts if p["key"] not in done]
        stats = {"points": len(pts), "already": len(pts) - len(todo), "computed": 0,
                 "restarts": 0}
        if not todo:
            store.add_twin_speedups()  # a store from before the metric existed gains it
            if spec.confirm and pts_given is None:
                stats["confirm"] = _confirm(spec, store, pts, progress)
            return stats
        workers = max(1, int(workers))
        size = chunk or max(1, min(64, len(todo) // (workers * 8) or 1))
        bar = _progress(len(pts), len(pts) - len(todo), progress)
        try:
            if dask_:
                _run_rounds(store, todo, size, bar, stats, restarts,
                            dask_runner.round_of(dask_[0], spec.evaluator),
                            dask_runner.lost_worker(), "Dask workers were lost")
            elif workers > 1:
                _run_rounds(store, todo, size, bar, stats, restarts,
                            _process_round(workers, spec.evaluator), _broken_pool(),
                            "a worker process died")
            else:
                for c in _chunks(todo, size):
                    stats["computed"] += store.add(evaluate_chunk(c, spec.evaluator))
                    bar.update(len(c))
        finally:
            bar.close()
        store.add_twin_speedups()
        if spec.confirm and pts_given is None:
            stats["confirm"] = _confirm(spec, store, pts, progress)
        return stats
    finally:
        store.close()  # releases the lock
        if dask_:
            dask_runner.close(*dask_)


def confirm_points(spec: Spec, rows: list[tuple]) -> list[dict]:
    """The points of a fast sweep to evaluate again exactly: its Pareto front over the spec's
    objectives among the feasible points (when ``confirm.front``), a seeded random sample of
    ``confirm.sample`` points (the error report's), and the regular twin of each. ``rows``: the
    store's fast rows as (key, idx, point dict, metrics)."""
    import numpy as np

    from accelsim.explore.pareto import MAXIMIZE, pareto_front_nd
    from accelsim.explore.store import twin_key
    from accelsim.explore.sweep.spec import feasible

    front, n, seed = spec.confirm
    rows = sorted(rows, key=lambda r: (r[1], r[0]))
    chosen = set()
    if front:
        ok = [r for r in rows if feasible(r[3], spec.constraints)]
        cols = [[(-1 if o in MAXIMIZE else 1) * float(r[3].get(o, float("nan"))) for r in ok]
                for o in spec.objectives]
        chosen |= {ok[i][0] for i in pareto_front_nd(cols, [r[0] for r in ok])}
    if n:
        pick = np.random.default_rng(seed).choice(len(rows), min(n, len(rows)), replace=False)
        chosen |= {rows[int(i)][0] for i in pick}
    # with each chosen point its regular twin, so its speedup over regular is exact too
    twins = {twin_key(r[2]) for r in rows if r[0] in chosen}
    chosen |= {r[0] for r in rows if r[2]["variant"] == "regular" and twin_key(r[2]) in twins}
    return [r for r in rows if r[0] in chosen]


def _confirm(spec: Spec, store, pts: list[dict], progress: bool) -> dict:
    """A fast sweep's second pass: its front and sample evaluated exactly, into the same store
    under the exact tier's keys; returns how many, and the fast tier's relative error on them
    per metric."""
    from accelsim.explore.sweep.points import exact_twin

    by_key = {p["key"]: p for p in pts}
    metrics = store.metrics()
    fast_rows = [(k, p["idx"], p, metrics[k]) for k, p in by_key.items() if k in metrics]
    chosen = [(k, exact_twin(by_key[k])) for k, *_ in confirm_points(spec, fast_rows)]
    done = store.done_keys()
    missing = [e for _, e in chosen if e["key"] not in done]
    bar = _progress(len(chosen), len(chosen) - len(missing), progress)
    try:
        for c in _chunks(missing, 8):
            store.add(evaluate_chunk(c, spec.evaluator))
            bar.update(len(c))
    finally:
        bar.close()
    store.add_twin_speedups()
    metrics = store.metrics()
    pairs = [(metrics[k], metrics[e["key"]]) for k, e in chosen if e["key"] in metrics]
    return {"points": len(chosen), "error": fidelity_error(pairs)}


def fidelity_error(pairs: list[tuple[dict, dict]]) -> dict:
    """Per metric, over (fast, exact) metric pairs: median, p95 and max of the relative error
    |fast - exact| / max(1, |exact|), and the share of points where they are equal."""
    import numpy as np

    out = {}
    names = sorted({k for f, e in pairs for k in e if k in f})
    for k in names:
        f = np.array([float(a[k]) for a, b in pairs if k in a and k in b])
        e = np.array([float(b[k]) for a, b in pairs if k in a and k in b])
        rel = np.abs(f - e) / np.maximum(1.0, np.abs(e))
        out[k] = {"median": float(np.median(rel)), "p95": float(np.percentile(rel, 95)),
                  "max": float(rel.max()), "equal": float(np.mean(f == e))}
    return out


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread next to forked workers
    return tqdm(total=total, initial=initial, unit="pt", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _run_rounds(store, todo, size, bar, stats, restarts, round_, lost, what: str) -> None:
    """Rounds until every point is in: ``round_(chunks)`` yields (points, result getter) as
    chunks finish; a getter raising ``lost`` is a chunk whose worker died, which the next round
    computes again (at most ``restarts`` more rounds)."""
    while todo:
        failed = False
        # closed on any exit, so an interrupted round stops its workers at once
        with closing(round_(_chunks(todo, size))) as finished:
            for n, result in finished:
                try:
                    rows = result()
                except lost:
                    failed = True
                    continue
                stats["computed"] += store.add(rows)
                bar.update(n)
        done = store.done_keys()
        todo = [p for p in todo if p["key"] not in done]
        if failed and todo:
            if stats["restarts"] >= restarts:
                raise SweepIncomplete(f"{what}; {len(todo)} points missing")
            stats["restarts"] += 1
        elif not failed:
            break


def _broken_pool():
    from concurrent.futures.process import BrokenProcessPool

    return BrokenProcessPool


def _process_round(workers: int, evaluator: str):
    """A round on a fresh local process pool (a pool whose worker died cannot be reused)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None

    def round_(chunks):
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(os.getpid(),))
        finished = False
        try:
            futs = {pool.submit(evaluate_chunk, c, evaluator): len(c) for c in chunks}
            for f in as_completed(futs):
                yield futs[f], f.result
            finished = True
        finally:
            # Ctrl-C (or any error) stops the pool at once; a finished round waits for it
            pool.shutdown(wait=finished, cancel_futures=True)
    return round_


def _worker_init(parent_pid: int) -> None:
    """A process-pool worker dies with the sweep's main process (even a kill -9 of it alone),
    and leaves Ctrl-C to the main process, which stops the pool and keeps the store
    consistent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            _watch_parent(parent_pid)
    else:
        _watch_parent(parent_pid)
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    import threading

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
