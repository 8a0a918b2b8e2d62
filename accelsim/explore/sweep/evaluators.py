"""Evaluators: one design point -> every number of its summary. ``fast`` is the exact model with
memoized engine rows (evaluate.simulate.evaluate), ``simulate`` the same numbers through the
pandas DataFrame (the reference path), ``toy`` a closed form for testing the sweep machinery.
"""

from __future__ import annotations

import os
import signal
import time
from functools import lru_cache

from accelsim.explore.sweep.points import _arch, _num, canon, load_point_workload
from accelsim.hardware.arch import Arch, PoolUnit

EVALUATORS = ("fast", "simulate", "toy")
TOY_METRICS = ("latency_ms", "energy_uj", "area_mm2", "total_cycles")


@lru_cache(maxsize=4)
def metric_names(evaluator: str = "fast") -> frozenset:
    """The numbers one evaluation reports (the keys of ``summarize``), from a one-layer run."""
    from accelsim.explore.store import TWIN_METRIC

    if evaluator == "toy":
        return frozenset(TOY_METRICS + (TWIN_METRIC,))
    from accelsim.evaluate.simulate import evaluate
    from accelsim.workload.layer import Layer, Workload

    wl = Workload("probe", "regular", (Layer("probe", "conv2d", (4, 4, 4), (4, 4, 4)),))
    arch = Arch("probe", 4, 4, "os", 1, 1, 1, pool=PoolUnit())
    return frozenset([k for k, v in evaluate(wl, arch).items() if _num(v)]
                     + [TWIN_METRIC])


def evaluate_point(point: dict, evaluator: str = "fast") -> dict:
    """Every number of one point's summary (``result.summarize``), numbers only."""
    if evaluator == "toy":
        return toy_evaluate(point)
    arch = _arch(canon(point["arch"]))
    wl = load_point_workload(point["network"], point["variant"])
    fidelity = point.get("fidelity", "exact")
    if evaluator == "simulate":
        from accelsim.evaluate.simulate import simulate, summarize

        s = summarize(simulate(wl, arch, point["batch"], fidelity=fidelity), arch)
    else:
        from accelsim.evaluate.simulate import evaluate

        s = evaluate(wl, arch, point["batch"], fidelity)
    return {k: v for k, v in s.items() if _num(v)}


def toy_evaluate(point: dict) -> dict:
    """A closed-form stand-in for the simulator, for testing the sweep machinery (resume, kill,
    Dask) quickly. ACCELSIM_TOY_DELAY_S slows each point; ACCELSIM_TOY_KILL_AT=<idx> with
    ACCELSIM_TOY_KILL_MARK=<file> makes the worker evaluating that point SIGKILL itself once."""
    delay = float(os.environ.get("ACCELSIM_TOY_DELAY_S", "0") or 0)
    if delay:
        time.sleep(delay)
    kill_at, mark = os.environ.get("ACCELSIM_TOY_KILL_AT"), os.environ.get("ACCELSIM_TOY_KILL_MARK")
    if kill_at is not None and mark and int(kill_at) == point["idx"]:
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os.kill(os.getpid(), signal.SIGKILL)
        except FileExistsError:
            pass
    a = point["arch"]
    pes = a["rows"] * a["cols"]
    cycles = 10_000_000 // pes + 1000 * point["batch"] + int(1e6 / a["ifmap_sram_kb"])
    return {"latency_ms": cycles / a["clock_mhz"] / 1e3, "energy_uj": pes * 0.01 + cycles * 1e-3,
            "area_mm2": pes * 0.001 + a["ifmap_sram_kb"] * 0.002, "total_cycles": cycles}


def evaluate_chunk(points_: list[dict], evaluator: str) -> list[tuple]:
    out = []
    for p in points_:
        rec = {k: p[k] for k in ("values", "arch", "network", "variant", "batch")}
        if p.get("fidelity", "exact") != "exact":
            rec["fidelity"] = p["fidelity"]
        out.append((p["key"], p["idx"], rec, evaluate_point(p, evaluator)))
    return out
