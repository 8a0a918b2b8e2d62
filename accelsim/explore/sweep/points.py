"""Design points: every combination of a spec's axes, networks, variants and batches, each with
its arch as a validated dict and a stable key.

A point's key is sha256 of the canonical JSON of (every arch field, network, variant and the
recipe file's content hash when the variant is a file, batch, accelsim version, and the fidelity
when it is not exact): a store knows which points it holds whatever order, process or machine
computed them, and holds a point at both fidelities side by side.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

from accelsim import __version__
from accelsim.common.errors import InputError, require
from accelsim.hardware.arch import Arch, PoolUnit, arch_from_dict, arch_to_dict, load_arch


def canon(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _is_file(variant: str) -> bool:
    return variant.endswith((".yaml", ".yml"))


def _file_sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


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


def point_key(arch: dict, network: str, variant: str, batch: int,
              fidelity: str = "exact") -> str:
    rec = {"arch": arch, "network": network, "batch": batch, "version": __version__,
           "variant": variant if not _is_file(variant) else {"recipe": _file_sha(variant)}}
    if fidelity != "exact":   # keys of exact points are those of stores made before tiers
        rec["fidelity"] = fidelity
    return hashlib.sha256(canon(rec).encode()).hexdigest()


def points(spec) -> list[dict]:
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
        key = point_key(arch, net, var, b, spec.fidelity)
        if key in seen:
            continue
        seen.add(key)
        out.append({"idx": len(out), "key": key, "values": values, "arch": arch,
                    "network": net, "variant": var, "batch": b, "fidelity": spec.fidelity})
    return out


def exact_twin(point: dict) -> dict:
    """``point`` at fidelity exact: same idx and fields, the exact tier's key."""
    return {**point, "fidelity": "exact",
            "key": point_key(point["arch"], point["network"], point["variant"],
                             point["batch"])}


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
