"""The sweep spec (docs/sweeps.md): a YAML file -> a validated ``Spec``.

The spec names a base arch, the axes to vary (Arch / PoolUnit field paths; a list, a range
{start, stop, step|factor|num} or random values {low, high, n, seed} / {choice, n, seed}),
networks and variants, batch sizes, objectives and constraints. ``load_spec`` validates all of
it (every point's Arch included) before anything is written, so a bad spec leaves an existing
store untouched.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from accelsim.common.errors import MAX_SWEEP_POINTS, InputError, check_batch, is_number, require
from accelsim.explore.sweep.evaluators import EVALUATORS, metric_names
from accelsim.explore.sweep.points import _file_sha, _is_file, load_point_workload, points
from accelsim.hardware.arch import Arch, PoolUnit, load_arch

_ARCH_AXES = {f.name for f in fields(Arch)} - {"name", "source", "pool"}
_POOL_AXES = {f"pool.{f.name}" for f in fields(PoolUnit)}
AXIS_NAMES = sorted(_ARCH_AXES | _POOL_AXES | {"pool"})
_SPEC_KEYS = {"name", "base", "axes", "networks", "variants", "batch", "objectives",
              "constraints", "sample", "evaluator", "description", "fidelity", "confirm"}
FIDELITIES = ("exact", "fast")
# fidelity fast: what is re-evaluated exactly after the fast pass (docs/sweeps.md)
CONFIRM_DEFAULT = {"front": True, "sample": 50, "seed": 0}
_OPS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b, ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b, "==": lambda a, b: a == b}


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
    fidelity: str = "exact"                      # exact | fast (engine/analytic/)
    confirm: tuple[bool, int, int] | None = None  # fast: (front, sample n, seed) re-run exact

    def to_json(self) -> dict:
        # fidelity and confirm only when not exact: a store made before they existed keeps
        # the spec JSON it was made with, so --resume still matches it
        tier = {} if self.fidelity == "exact" else {
            "fidelity": self.fidelity, "confirm": list(self.confirm) if self.confirm else None}
        return {**tier, "name": self.name, "base": self.base, "axes": [a for a, _ in self.axes],
                "values": {a: list(v) for a, v in self.axes}, "networks": list(self.networks),
                "variants": list(self.variants), "batch": list(self.batches),
                "objectives": list(self.objectives),
                "constraints": [str(c) for c in self.constraints],
                "sample": list(self.sample) if self.sample else None,
                "evaluator": self.evaluator,
                "recipes": {v: _file_sha(v) for v in self.variants if _is_file(v)}}


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
    fidelity, confirm = _fidelity(d, evaluator, src)

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
                tuple(batches), tuple(objectives), constraints, sample, evaluator, fidelity,
                confirm)
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


def _fidelity(d: dict, evaluator: str, src: str) -> tuple[str, tuple[bool, int, int] | None]:
    """The spec's ``fidelity`` and, at fast, what is confirmed exactly afterwards."""
    fidelity = d.get("fidelity", "exact")
    require(fidelity in FIDELITIES, f"unknown fidelity; expected one of {FIDELITIES}",
            source=src, field="fidelity", value=fidelity)
    require(fidelity == "exact" or evaluator != "toy", "the toy evaluator has no fidelity tiers",
            source=src, field="fidelity", value=fidelity)
    raw = d.get("confirm")
    require(raw is None or fidelity == "fast", "confirm re-evaluates a fast sweep exactly; "
            "set fidelity: fast", source=src, field="confirm", value=raw)
    if fidelity == "exact":
        return fidelity, None
    c = {**CONFIRM_DEFAULT, **(raw if isinstance(raw, dict) else {})}
    require((raw is None or isinstance(raw, dict)) and set(c) == set(CONFIRM_DEFAULT)
            and isinstance(c["front"], bool)
            and all(isinstance(c[k], int) and not isinstance(c[k], bool) and c[k] >= 0
                    for k in ("sample", "seed"))
            and c["sample"] <= MAX_SWEEP_POINTS and c["seed"] < 2**63,
            f"confirm is {{front: true|false, sample: integer in 0..{MAX_SWEEP_POINTS:,}, "
            "seed: integer >= 0}", source=src, field="confirm", value=raw)
    return fidelity, (c["front"], c["sample"], c["seed"])


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
