"""What-if sweeps: a YAML spec -> a list of design points -> evaluations appended to a store.

The spec (docs/sweeps.md) names a base arch, the axes to vary (Arch / PoolUnit field paths),
networks and variants, batch sizes, objectives and constraints. ``load_spec`` validates all of it
(every point's Arch included) before anything is written, so a bad spec leaves an existing store
untouched.

Each point has a stable key: sha256 of the canonical JSON of (every arch field, network, variant
and the recipe file's content hash when the variant is a file, batch, accelsim version). The
runner evaluates only the points whose key is not yet in the store, in chunks, serially, in a
process pool or on a Dask cluster, and the main process commits each finished chunk in one
transaction. An interrupted sweep (Ctrl-C, kill -9 of the main process, a lost worker) resumes
with ``resume=True`` and computes exactly the missing points.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import signal
import sys
import time
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

from accelsim import __version__
from accelsim.hardware.arch import Arch, PoolUnit, arch_from_dict, arch_to_dict, load_arch
from accelsim.common.errors import MAX_SWEEP_POINTS, InputError, check_batch, is_number, require

EVALUATORS = ("fast", "simulate", "toy")
_ARCH_AXES = {f.name for f in fields(Arch)} - {"name", "source", "pool"}
_POOL_AXES = {f"pool.{f.name}" for f in fields(PoolUnit)}
AXIS_NAMES = sorted(_ARCH_AXES | _POOL_AXES | {"pool"})
_SPEC_KEYS = {"name", "base", "axes", "networks", "variants", "batch", "objectives",
              "constraints", "sample", "evaluator", "description"}
_OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b, "==": lambda a, b: a == b}
TOY_METRICS = ("latency_ms", "energy_uj", "area_mm2", "total_cycles")


def canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float

    def holds(self, metrics: dict) -> bool:
        v = metrics.get(self.metric)
        return v is not None and _OPS[self.op](v, self.value)

    def __str__(self):
        return f"{self.metric} {self.op} {_exact(self.value)}"


def _exact(v: float) -> str:
    """The shortest text that reads back as exactly ``v`` (``:g`` keeps 6 digits, so
    ``total_cycles <= 10016625`` would become 1.00166e+07 and exclude the point it names)."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))


@dataclass(frozen=True)
class Spec:
    source: str
    name: str
    base: str
    axes: tuple[tuple[str, tuple], ...]          # (field path, values) in spec order
    networks: tuple[str, ...]
    variants: tuple[str, ...]                    # regular, A, B, or an absolute recipe path
    batches: tuple[int, ...]
    objectives: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    sample: tuple[int, int] | None               # (n, seed): a random subset of the grid
    evaluator: str = "fast"

    def to_json(self) -> dict:
        return {"name": self.name, "base": self.base, "axes": [a for a, _ in self.axes],
                "values": {a: list(v) for a, v in self.axes}, "networks": list(self.networks),
                "variants": list(self.variants), "batch": list(self.batches),
                "objectives": list(self.objectives),
                "constraints": [str(c) for c in self.constraints],
                "sample": list(self.sample) if self.sample else None,
                "evaluator": self.evaluator,
                "recipes": {v: _file_sha(v) for v in self.variants if _is_file(v)}}


# ---------------------------------------------------------------- spec parsing and validation

def _is_file(variant: str) -> bool:
    return variant.endswith((".yaml", ".yml"))


def _file_sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _count_check(n, src: str, field: str, value) -> None:
    """An axis (or a grid) may hold at most MAX_SWEEP_POINTS values: checked from its bounds,
    before a list is built."""
    require(n <= MAX_SWEEP_POINTS, f"expands to {n:,.0f} values, above the limit of "
            f"{MAX_SWEEP_POINTS:,} (docs/errors.md)", source=src, field=field, value=value)


def _axis_values(name: str, raw, src: str) -> tuple:
    field = f"axes.{name}"
    if isinstance(raw, list):
        _count_check(len(raw), src, field, f"a list of {len(raw)}")
        vals = raw
    elif isinstance(raw, dict) and "random" in raw:
        vals = _random_values(raw["random"], src, field)
    elif isinstance(raw, dict) and {"start", "stop"} <= set(raw):
        vals = _range_values(raw, src, field)
    elif isinstance(raw, dict) and "choice" in raw:
        vals = _random_values(raw, src, field)
    else:
        vals = [raw] if raw is not None and not isinstance(raw, dict) else None
        require(vals is not None, "an axis is a list, a range {start, stop, step|factor|num}, "
                "or {random: {low, high, n, seed}}", source=src, field=field, value=raw)
    require(len(vals) > 0, "axis has no values", source=src, field=field, value=raw)
    return tuple(vals)


def _range_values(r: dict, src: str, field: str) -> list:
    start, stop = r["start"], r["stop"]
    require(is_number(start) and is_number(stop) and start <= stop,
            "range needs finite numbers start <= stop", source=src, field=field, value=r)
    is_int = isinstance(start, int) and isinstance(stop, int)
    if "step" in r:
        step = r["step"]
        require(is_number(step) and step > 0, "step must be a finite number > 0", source=src,
                field=f"{field}.step", value=step)
        span = (stop - start) / step
        _count_check(span + 1 if math.isfinite(span) else math.inf, src, field, r)
        n = int(math.floor(span + 1e-9)) + 1
        vals = [start + i * step for i in range(n)]
        return [int(v) for v in vals] if is_int and isinstance(step, int) else [
            round(float(v), 12) for v in vals]
    if "factor" in r:  # a log range: start, start*f, start*f^2 ... <= stop
        f = r["factor"]
        require(is_number(f) and f > 1 and start > 0, "factor must be > 1 (and start > 0)",
                source=src, field=f"{field}.factor", value=f)
        steps = math.log(stop / start) / math.log(f) if stop > start else 0.0
        _count_check(steps + 1 if math.isfinite(steps) else math.inf, src, field, r)
        vals, v = [], start
        while v <= stop * (1 + 1e-12):
            vals.append(v)
            v = v * f
        return [int(round(v)) if is_int and isinstance(f, int) else round(float(v), 12)
                for v in vals]
    if "num" in r:
        n = r["num"]
        require(isinstance(n, int) and not isinstance(n, bool) and n >= 1,
                "num must be an integer >= 1", source=src, field=f"{field}.num", value=n)
        _count_check(n, src, field, r)
        log = bool(r.get("log", False))
        require(not log or start > 0, "a log range needs start > 0", source=src,
                field=f"{field}.start", value=start)
        import numpy as np

        vals = (np.geomspace if log else np.linspace)(start, stop, n)
        return ([int(round(v)) for v in vals] if is_int else [round(float(v), 12) for v in vals])
    raise InputError("range needs step, factor or num", source=src, field=field, value=r)


def _random_values(r, src: str, field: str) -> list:
    import numpy as np

    require(isinstance(r, dict), "random needs {low, high, n, seed} or {choice, n, seed}",
            source=src, field=field, value=r)
    n, seed = r.get("n"), r.get("seed", 0)
    require(isinstance(n, int) and not isinstance(n, bool) and n >= 1,
            "n must be an integer >= 1", source=src, field=f"{field}.n", value=n)
    _count_check(n, src, field, r)
    require(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**63,
            "seed must be an integer in 0..2**63-1", source=src, field=f"{field}.seed",
            value=seed)
    rng = np.random.default_rng(seed)
    if "choice" in r:
        ch = r["choice"]
        require(isinstance(ch, list) and ch, "choice must be a non-empty list", source=src,
                field=f"{field}.choice", value=ch)
        return [ch[int(i)] for i in rng.integers(0, len(ch), n)]
    lo, hi = r.get("low"), r.get("high")
    require(is_number(lo) and is_number(hi) and lo <= hi,
            "random needs finite numbers low <= high", source=src, field=field, value=r)
    if r.get("log"):
        require(lo > 0, "a log sample needs low > 0", source=src, field=f"{field}.low", value=lo)
        vals = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    else:
        vals = rng.uniform(lo, hi, n)
    if isinstance(lo, int) and isinstance(hi, int):
        return [int(min(hi, max(lo, round(v)))) for v in vals]
    return [round(float(v), 9) for v in vals]


def _parse_constraint(raw, src: str, metrics: set[str]) -> Constraint:
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|<|>)\s*([-+0-9.eE]+)\s*",
                     str(raw))
    require(m is not None, "a constraint reads 'metric <=|<|>=|>|== number'", source=src,
            field="constraints", value=raw)
    try:
        value = float(m.group(3))
    except ValueError:
        raise InputError("not a number", source=src, field="constraints", value=raw) from None
    require(math.isfinite(value), "not a finite number", source=src, field="constraints",
            value=raw)
    require(m.group(1) in metrics, f"unknown metric; expected one of {sorted(metrics)}",
            source=src, field="constraints", value=m.group(1))
    return Constraint(m.group(1), m.group(2), value)


@lru_cache(maxsize=4)
def metric_names(evaluator: str = "fast") -> frozenset:
    """The numbers one evaluation reports (the keys of ``summarize``), from a one-layer run."""
    from accelsim.explore.store import TWIN_METRIC

    if evaluator == "toy":
        return frozenset(TOY_METRICS + (TWIN_METRIC,))
    from accelsim.evaluate import fastpath
    from accelsim.workload.layer import Layer, Workload

    wl = Workload("probe", "regular", (Layer("probe", "conv2d", (4, 4, 4), (4, 4, 4)),))
    arch = Arch("probe", 4, 4, "os", 1, 1, 1, pool=PoolUnit())
    return frozenset([k for k, v in fastpath.evaluate(wl, arch).items() if _num(v)]
                     + [TWIN_METRIC])


def load_spec(path: str | os.PathLike) -> Spec:
    from accelsim.common.yamlio import load_yaml

    src = str(path)
    p = Path(path)
    require(p.is_file(), "no such sweep spec", source=src)
    d = load_yaml(p, "sweep spec")
    require(isinstance(d, dict), "a sweep spec is a mapping", source=src)
    unknown = sorted(set(d) - _SPEC_KEYS)
    require(not unknown, f"unknown key; expected some of {sorted(_SPEC_KEYS)}", source=src,
            field=unknown[0] if unknown else None, value=d.get(unknown[0]) if unknown else None)
    require("base" in d, "missing key (a preset name or an arch file)", source=src,
            field="base", value=None)
    require(isinstance(d["base"], str) and d["base"].strip() != "",
            "a preset name or an arch file path", source=src, field="base", value=d["base"])
    base = d["base"]
    if base.endswith((".yaml", ".yml", ".cfg")) and not Path(base).is_absolute():
        base = str((p.parent / base).resolve())
    load_arch(base)  # validates
    evaluator = d.get("evaluator", "fast")
    require(evaluator in EVALUATORS, f"unknown evaluator; expected one of {EVALUATORS}",
            source=src, field="evaluator", value=evaluator)

    axes_raw = d.get("axes") or {}
    require(isinstance(axes_raw, dict), "axes is a mapping of field path -> values",
            source=src, field="axes", value=axes_raw)
    axes = []
    for name, raw in axes_raw.items():
        require(name in AXIS_NAMES, f"unknown parameter; expected one of {AXIS_NAMES}",
                source=src, field=f"axes.{name}", value=raw)
        axes.append((name, _axis_values(name, raw, src)))

    from accelsim.workload.networks import list_networks
    from accelsim.workload.recipe import VARIANTS

    nets = d.get("networks")
    nets = [nets] if isinstance(nets, str) else nets
    require(isinstance(nets, list) and nets, "networks must be a non-empty list", source=src,
            field="networks", value=nets)
    for n in nets:
        require(isinstance(n, str) and n in list_networks(), f"unknown network; expected one of {list_networks()}",
                source=src, field="networks", value=n)
    variants = d.get("variants", ["regular"])
    variants = [variants] if isinstance(variants, str) else variants
    require(isinstance(variants, list) and variants, "variants must be a non-empty list",
            source=src, field="variants", value=variants)
    vs = []
    for v in variants:
        require(isinstance(v, str), "a variant is regular, A, B or a recipe .yaml path",
                source=src, field="variants", value=v)
        if _is_file(v):
            f = Path(v) if Path(v).is_absolute() else (p.parent / v).resolve()
            require(f.is_file(), "no such recipe file", source=src, field="variants", value=v)
            vs.append(str(f))
        else:
            require(v in VARIANTS, f"unknown variant; expected one of {VARIANTS} or a recipe "
                    ".yaml", source=src, field="variants", value=v)
            vs.append(v)
    batch = d.get("batch", 1)
    batches = batch if isinstance(batch, list) else [batch]
    require(batches, "batch has no values", source=src, field="batch", value=batch)
    _count_check(len(batches), src, "batch", f"a list of {len(batches)}")
    for b in batches:
        check_batch(b, field="batch", source=src)

    known = metric_names(evaluator)
    objectives = d.get("objectives", ["latency_ms", "energy_uj", "area_mm2"])
    require(isinstance(objectives, list) and objectives, "objectives must be a non-empty list",
            source=src, field="objectives", value=objectives)
    for o in objectives:
        require(isinstance(o, str) and o in known, f"unknown metric; expected one of {sorted(known)}", source=src,
                field="objectives", value=o)
    cons_raw = d.get("constraints") or []
    require(isinstance(cons_raw, list), "constraints must be a list", source=src,
            field="constraints", value=cons_raw)
    constraints = tuple(_parse_constraint(c, src, known) for c in cons_raw)
    sample = d.get("sample")
    if sample is not None:
        require(isinstance(sample, dict) and set(sample) <= {"n", "seed"}
                and isinstance(sample.get("n"), int) and not isinstance(sample["n"], bool)
                and 1 <= sample["n"] <= MAX_SWEEP_POINTS
                and isinstance(sample.get("seed", 0), int)
                and 0 <= sample.get("seed", 0) < 2**63,
                f"sample is {{n: integer in 1..{MAX_SWEEP_POINTS:,}, seed: integer >= 0}}",
                source=src, field="sample", value=sample)
        sample = (sample["n"], sample.get("seed", 0))
    name = d.get("name", p.stem)
    require(isinstance(name, (str, int)) and not isinstance(name, bool), "must be a string",
            source=src, field="name", value=name)
    grid = math.prod(len(v) for _, v in axes) * len(nets) * len(vs) * len(batches)
    _count_check(grid, src, "axes", "the grid of axes x networks x variants x batch")
    spec = Spec(src, str(name), base, tuple(axes), tuple(nets), tuple(vs),
                tuple(batches), tuple(objectives), constraints, sample, evaluator)
    pts = points(spec)  # builds and validates every point's Arch
    from accelsim.hardware.energy import load_table
    from accelsim.workload.layer import check_run_size

    for table in sorted({p["arch"]["energy"] for p in pts}):
        try:  # an energy table that does not load is a spec error, not a failed point
            load_table(table)
        except InputError as exc:
            raise InputError(f"{exc} (an energy value of the spec)", source=src) from None
    for n in spec.networks:  # a recipe that does not fit a network is a spec error
        for v in spec.variants:
            check_run_size(load_point_workload(n, v), max(spec.batches), field="batch",
                           source=src)
    return spec


# ---------------------------------------------------------------------------- points

def _arch_dict(base: dict, values: dict, src: str, idx: int) -> dict:
    d = json.loads(json.dumps(base))
    if "pool" in values:
        v = values["pool"]
        if v in (None, "none", False):
            d["pool"] = None
        else:
            require(isinstance(v, dict), "pool is null/none or a mapping of PoolUnit fields",
                    source=src, field="axes.pool", value=v)
            d["pool"] = {**asdict(PoolUnit()), **v}
    for k, v in values.items():
        if k.startswith("pool."):
            if d["pool"] is None:
                if "pool" in values:
                    continue  # this point has no pool unit: its pool.* axes do not apply
                d["pool"] = asdict(PoolUnit())
            d["pool"][k[5:]] = v
        elif k != "pool":
            d[k] = v
    try:
        arch = arch_from_dict(d, f"{src}: point {idx}")
    except InputError as exc:
        raise InputError(f"{exc} (values {canon(values)})") from None
    return arch_to_dict(arch)


def point_key(arch: dict, network: str, variant: str, batch: int) -> str:
    rec = {"arch": arch, "network": network, "batch": batch, "version": __version__,
           "variant": variant if not _is_file(variant) else {"recipe": _file_sha(variant)}}
    return hashlib.sha256(canon(rec).encode()).hexdigest()


def points(spec: Spec) -> list[dict]:
    """Every design point, in a fixed order: axes (spec order, last varies fastest), then
    network, variant, batch; ``sample`` keeps a seeded random subset in that order. A point that
    repeats an earlier one (same key) is dropped."""
    base = arch_to_dict(load_arch(spec.base))
    names = [a for a, _ in spec.axes]
    grid = list(itertools.product(*[v for _, v in spec.axes]))
    combos = list(itertools.product(range(len(grid)), spec.networks, spec.variants,
                                    spec.batches))
    if spec.sample and spec.sample[0] < len(combos):
        import numpy as np

        pick = np.random.default_rng(spec.sample[1]).choice(len(combos), spec.sample[0],
                                                            replace=False)
        combos = [combos[i] for i in sorted(int(i) for i in pick)]
    arch_cache: dict = {}
    out, seen = [], set()
    for gi, net, var, b in combos:
        values = dict(zip(names, grid[gi]))
        if gi not in arch_cache:
            arch_cache[gi] = _arch_dict(base, values, spec.source, len(out))
        arch = arch_cache[gi]
        key = point_key(arch, net, var, b)
        if key in seen:
            continue
        seen.add(key)
        out.append({"idx": len(out), "key": key, "values": values, "arch": arch,
                    "network": net, "variant": var, "batch": b})
    return out


# ---------------------------------------------------------------------------- evaluation

@lru_cache(maxsize=256)
def load_point_workload(network: str, variant: str):
    from accelsim.workload.networks import load_workload

    if not _is_file(variant):
        return load_workload(f"{network}:{variant}")
    from accelsim.workload.recipe import load_recipe_file, structure

    regular = load_workload(f"{network}:regular")
    return structure(regular, load_recipe_file(variant, regular))


@lru_cache(maxsize=4096)
def _arch(arch_json: str) -> Arch:
    return arch_from_dict(json.loads(arch_json), "sweep point")


def evaluate_point(point: dict, evaluator: str = "fast") -> dict:
    """Every number of one point's summary (``result.summarize``), numbers only."""
    if evaluator == "toy":
        return toy_evaluate(point)
    arch = _arch(canon(point["arch"]))
    wl = load_point_workload(point["network"], point["variant"])
    if evaluator == "simulate":
        from accelsim.evaluate.simulate import simulate, summarize

        s = summarize(simulate(wl, arch, point["batch"]), arch)
    else:
        from accelsim.evaluate.fastpath import evaluate

        s = evaluate(wl, arch, point["batch"])
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
        out.append((p["key"], p["idx"], rec, evaluate_point(p, evaluator)))
    return out


# ---------------------------------------------------------------------------- runner

class SweepIncomplete(RuntimeError):
    """Workers were lost more often than allowed; the store holds what finished."""


def store_meta(spec: Spec) -> dict:
    return {"spec": canon(spec.to_json()), "accelsim_version": __version__}


def _chunks(todo: list, size: int) -> list[list]:
    return [todo[i:i + size] for i in range(0, len(todo), size)]


def run_sweep(spec: Spec, out: str | os.PathLike, *, workers: int = 1, dask: str | None = None,
              resume: bool = False, chunk: int | None = None, progress: bool = True,
              restarts: int = 2) -> dict:
    """Evaluate every point of ``spec`` missing from the store at ``out``; returns counts."""
    from accelsim.explore.store import Store, acquire_lock, check_store, release_lock

    pts = points(spec)
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
            dask_ = _dask_connect(dask, workers)
        store = (Store.open_resume(out, meta, lock) if resume
                 else Store.create(out, meta, lock))
    except BaseException:
        release_lock(out, lock)
        if dask_:
            _dask_close(*dask_)
        raise
    try:
        done = store.done_keys()
        todo = [p for p in pts if p["key"] not in done]
        stats = {"points": len(pts), "already": len(pts) - len(todo), "computed": 0,
                 "restarts": 0}
        if not todo:
            store.add_twin_speedups()  # a store from before the metric existed gains it
            return stats
        workers = max(1, int(workers))
        size = chunk or max(1, min(64, len(todo) // (workers * 8) or 1))
        bar = _progress(len(pts), len(pts) - len(todo), progress)
        try:
            if dask_:
                _run_dask(spec, store, todo, size, dask_[0], bar, stats, restarts)
            elif workers > 1:
                _run_processes(spec, store, todo, size, workers, bar, stats, restarts)
            else:
                for c in _chunks(todo, size):
                    stats["computed"] += store.add(evaluate_chunk(c, spec.evaluator))
                    bar.update(len(c))
        finally:
            bar.close()
        store.add_twin_speedups()
        return stats
    finally:
        store.close()  # releases the lock
        if dask_:
            _dask_close(*dask_)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread next to forked workers
    return tqdm(total=total, initial=initial, unit="pt", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _missing(store, todo: list) -> list:
    done = store.done_keys()
    return [p for p in todo if p["key"] not in done]


def _run_processes(spec, store, todo, size, workers, bar, stats, restarts) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None
    while todo:
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(os.getpid(),))
        broken = False
        try:
            futs = {pool.submit(evaluate_chunk, c, spec.evaluator): len(c)
                    for c in _chunks(todo, size)}
            for f in as_completed(futs):
                try:
                    rows = f.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                stats["computed"] += store.add(rows)
                bar.update(futs[f])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
        todo = _missing(store, todo)
        if broken and todo:
            if stats["restarts"] >= restarts:
                raise SweepIncomplete(f"a worker process died; {len(todo)} points missing")
            stats["restarts"] += 1
        elif not broken:
            break


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


DASK_CONNECT_TIMEOUT_S = 10


def _dask_connect(address: str, workers: int):
    """(client, cluster or None). Dask exchanges pickles with its scheduler and workers: use
    only a scheduler you trust (docs/errors.md)."""
    require(isinstance(address, str) and address.strip() != "",
            "a scheduler address (tcp://host:port) or 'local'", field="--dask", value=address)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError(f"Dask is not installed ({exc}); pip install distributed",
                         field="--dask", value=address) from None
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            return Client(cluster), cluster
        return Client(address, timeout=DASK_CONNECT_TIMEOUT_S), None
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        if cluster is not None:
            cluster.close()
        raise InputError(f"cannot reach the Dask scheduler within {DASK_CONNECT_TIMEOUT_S} s "
                         f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                         field="--dask", value=address) from None


def _dask_close(client, cluster) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


def _run_dask(spec, store, todo, size, client, bar, stats, restarts) -> None:
    from distributed import KilledWorker, as_completed

    while todo:
        futs = [client.submit(evaluate_chunk, c, spec.evaluator, pure=False)
                for c in _chunks(todo, size)]
        sizes = {f.key: len(c) for f, c in zip(futs, _chunks(todo, size))}
        failed = False
        for f in as_completed(futs):
            try:
                rows = f.result()
            except KilledWorker:  # the task's workers died too often; retried below
                failed = True
                continue
            stats["computed"] += store.add(rows)
            bar.update(sizes[f.key])
        todo = _missing(store, todo)
        if failed and todo:
            if stats["restarts"] >= restarts:
                raise SweepIncomplete(f"Dask workers were lost; {len(todo)} points missing")
            stats["restarts"] += 1
        elif not failed:
            break


# ---------------------------------------------------------------------------- reading back

def feasible(metrics: dict, constraints) -> bool:
    return all(c.holds(metrics) for c in constraints)


def spec_constraints(meta: dict) -> tuple[Constraint, ...]:
    """The constraints a store's spec declared (parsed back from its canonical JSON)."""
    spec = json.loads(meta.get("spec", "{}"))
    out = []
    for s in spec.get("constraints", []):
        m, op, v = s.split(" ")
        out.append(Constraint(m, op, float(v)))
    return tuple(out)


# ---------------------------------------------------------------------------- co-design

def _pool_desc(pool) -> str:
    if pool is None:
        return "no pool unit (sum-pools on the MAC array)"
    desc = (f"{pool.lanes} lanes, {pool.tree} tree, {pool.mode}, "
            f"{pool.input_words_per_cycle} ports")
    if pool.mode == "fused":
        staging = "unbounded" if pool.staging_kb is None else f"{pool.staging_kb:g} KB"
        desc += f", {pool.order} order, {staging} staging"
    return desc


def codesign_pool(base: Arch, network: str, variants, pools, target: float, batch: int = 1):
    """Evaluate every (variant, pool unit) on ``base`` and pick the cheapest pool unit (smallest
    ``area_pool_um2``; then fewest cycles, then candidate order) whose realized speedup is at
    least ``target`` x the ideal one. Ideal = regular MACs / structured MACs; realized = regular
    cycles / structured cycles, both on the candidate arch (the regular network has no sum-pool,
    so its cycles do not depend on the pool unit). Returns (answer dict or None, table)."""
    import pandas as pd

    from accelsim.evaluate.fastpath import evaluate

    regular = evaluate(load_point_workload(network, "regular"), base, batch)
    recs = []
    for v in variants:
        wl = load_point_workload(network, v)
        for i, pool in enumerate(pools):
            arch = base.with_(pool=pool)
            s = evaluate(wl, arch, batch)
            ideal = regular["macs"] / s["macs"]
            realized = regular["total_cycles"] / s["total_cycles"]
            recs.append({
                "variant": v if not _is_file(v) else Path(v).name, "candidate": i,
                "pool_lanes": pool.lanes if pool else 0, "pool_tree": pool.tree if pool else "-",
                "pool_mode": pool.mode if pool else "-",
                "pool_ports": pool.input_words_per_cycle if pool else 0,
                "pool_order": pool.order if pool else "-",
                # none for no unit, a two-pass unit or an unbounded buffer (JSON has no NaN)
                "pool_staging_kb": (pool.staging_kb if pool and pool.mode == "fused"
                                    else None),
                "fused_pairs": s.get("fused_pairs", 0),
                "pool_desc": _pool_desc(pool),
                "area_pool_um2": s["area_pool_um2"], "area_mm2": s["area_mm2"],
                "total_cycles": s["total_cycles"], "latency_ms": s["latency_ms"],
                "energy_uj": s["energy_uj"], "ideal_speedup": ideal,
                "realized_speedup": realized, "realized_over_ideal": realized / ideal,
                "meets_target": realized >= target * ideal})
    table = pd.DataFrame(recs).sort_values(
        ["area_pool_um2", "total_cycles", "variant", "candidate"], kind="stable"
    ).reset_index(drop=True)
    ok = table[table["meets_target"]]
    answer = None
    if len(ok):
        answer = {k: (v.item() if hasattr(v, "item") else v) for k, v in ok.iloc[0].items()}
    return answer, table
