"""The Python API: the same steps the CLI runs, as plain functions (docs/api.md).

    import accelsim as acc
    arch = acc.load_arch("tpu-v1")                      # preset, arch YAML or SCALE-Sim .cfg
    wl = acc.load_workload("resnet18", variant="A")     # zoo name, CSV, topology or ONNX
    df = acc.simulate(wl, arch)                         # one row per layer (pandas)
    acc.summarize(df, arch)["total_cycles"]

Every function validates its input the way the CLI does and raises ``accelsim.InputError``
(one line naming file, field and value) on bad input. Nothing here writes files except
``sweep``, which writes the results store it is given.
"""

from __future__ import annotations

import os
from pathlib import Path

from accelsim.hardware.arch import Arch
from accelsim.common.errors import InputError, require
from accelsim.workload.layer import Workload


def load_arch(spec: str | os.PathLike | Arch, **changes) -> Arch:
    """A preset name (``accelsim presets``), an arch YAML file (docs/arch.md) or a SCALE-Sim
    ``.cfg``; ``changes`` are Arch fields to override (``load_arch("tpu-v1", rows=128)``),
    which gives the arch a derived name (see ``Arch.with_``)."""
    from accelsim.hardware.arch import load_arch as _load

    arch = spec if isinstance(spec, Arch) else _load(spec)
    return arch.with_(**changes) if changes else arch


def load_workload(spec: str | os.PathLike | Workload, variant: str | None = None,
                  recipe: str | os.PathLike | None = None) -> Workload:
    """A workload: a zoo network (``"resnet18"``, ``"resnet18:A"``), a workload CSV, a SCALE-Sim
    topology CSV or an ONNX file. ``variant`` (regular, A or B) is the same as the ``:variant``
    suffix; ``recipe`` structures the loaded workload with a recipe YAML (docs/recipes.md)."""
    if isinstance(spec, Workload):
        wl = spec
    else:
        s = str(spec)
        if variant is not None:
            require(":" not in s, "give the variant once: as NET:VARIANT or as variant=",
                    field="variant", value=variant)
            require(not s.lower().endswith((".csv", ".onnx")),
                    "a file workload has no shipped variants; use recipe=FILE",
                    source=s, field="variant", value=variant)
            s = f"{s}:{variant}"
        from accelsim.workload.networks import load_workload as _load

        wl = _load(s)
    if recipe is not None:
        wl = structure(wl, recipe)
    return wl


def _resolve_recipe(recipe, regular: Workload | None, network: str | None):
    from accelsim.workload.recipe import VARIANTS, Recipe, load_recipe, load_recipe_file

    if isinstance(recipe, Recipe):
        return recipe
    s = str(recipe)
    if regular is None:
        require(network is not None, "structuring a torch model by a recipe name or file "
                "needs network= (the zoo network whose layer names the recipe uses)",
                field="network", value=None)
        from accelsim.workload.networks import load_workload as _load

        regular = _load(f"{network}:regular")
    if s in VARIANTS:
        require(s != "regular", "'regular' is the unstructured network, not a recipe",
                field="recipe", value=s)
        return load_recipe(regular.network, s, regular)
    require(Path(s).is_file(), "no such recipe file (or a variant A, B)", source=s)
    return load_recipe_file(s, regular)


def structure(net, recipe, network: str | None = None):
    """The structured twin of ``net``: a regular Workload (returns a Workload) or a torch model
    (returns a new model; ``net`` is never modified). ``recipe``: a ``Recipe``, a shipped
    variant name (A, B) or a recipe YAML path; for a torch model and a name or path, pass
    ``network=`` (the zoo network the recipe's layer names refer to)."""
    from accelsim.workload.recipe import structure as _structure

    if isinstance(net, Workload):
        require(net.variant == "regular", "structure a regular workload (this one is already "
                "structured)", field="variant", value=net.variant)
        return _structure(net, _resolve_recipe(recipe, net, None))
    return _structure(net, _resolve_recipe(recipe, None, network))


def simulate(workload, arch, batch: int = 1, *, layers=None, fidelity: str = "exact"):
    """One row per layer of ``workload`` on ``arch`` at ``batch`` (a pandas DataFrame, columns
    and units in docs/reports.md / ``accelsim.evaluate.columns``). ``workload`` and ``arch`` may also be
    given as what ``load_workload`` / ``load_arch`` take. ``layers``: only these layers, by name,
    in the workload's order. ``fidelity``: "exact" (default) or "fast", the analytical tier for
    the array's DRAM traffic and stalls (docs/analytic.md)."""
    from accelsim.common.errors import check_batch
    from accelsim.evaluate.simulate import simulate as _simulate
    from accelsim.workload.layer import check_run_size

    wl = load_workload(workload)
    a = load_arch(arch)
    check_batch(batch)
    if layers is not None:
        names = [layers] if isinstance(layers, str) else list(layers)
        for n in names:
            wl.layer(n)   # an unknown name is an InputError naming it
        keep = tuple(l for l in wl.layers if l.name in set(names))
        wl = Workload(wl.network, wl.variant, keep, wl.input_shape, wl.source)
    check_run_size(wl, batch)
    return _simulate(wl, a, batch, fidelity=fidelity)


def summarize(df, arch) -> dict:
    """Network totals of a ``simulate`` frame: cycles, latency_ms, energy_uj, bytes, utilization
    and the stall model the numbers were made with."""
    from accelsim.evaluate.columns import summarize as _summarize

    a = load_arch(arch)
    s = _summarize(df, a)
    s["bandwidth_mode"] = a.bandwidth_mode
    s["stall_model"] = a.stall_model if a.bandwidth_mode == "user" else "none"
    return s


def speedup_table(networks=("resnet18",), archs=("tpu-v1",), variants=("A", "B"),
                  batch: int = 1):
    """The speedup report's table as a DataFrame: one row per (arch, network, variant incl.
    regular) with ideal_speedup (MAC ratio), realized_speedup (cycle ratio), realized_over_ideal
    and the lost_* / share_* decomposition (docs/reports.md)."""
    import pandas as pd

    from accelsim.report import tables as report
    from accelsim.common.errors import check_batch
    from accelsim.evaluate.simulate import simulate as _simulate
    from accelsim.workload.zoo import published_params

    check_batch(batch)
    networks = [networks] if isinstance(networks, str) else list(networks)
    archs = [archs] if isinstance(archs, (str, Arch)) else list(archs)
    variants = [variants] if isinstance(variants, str) else list(variants)
    arch_objs = [load_arch(a) for a in archs]
    names = [a.name for a in arch_objs]
    require(len(set(names)) == len(names), "the same arch twice", field="archs", value=names)
    vs = ["regular"] + [v for v in variants if v != "regular"]
    rows = []
    for a in arch_objs:
        for net in networks:
            regular = load_workload(net)
            require(regular.variant == "regular" and ":" not in net,
                    "give a network name; variants go in variants=", field="networks",
                    value=net)
            for v in vs:
                wl = load_workload(net, variant=v)
                params = published_params(regular.network) - regular.weights + wl.weights
                rows.append(report.summary_row(regular.network, v, params,
                                               _simulate(wl, a, batch), a))
    return pd.DataFrame(report.add_speedups(rows))


def sweep(spec, out, *, workers: int = 1, resume: bool = False, progress: bool = False):
    """Run a sweep spec YAML (docs/sweeps.md) into the SQLite store ``out`` (``resume``:
    compute only missing points) and return the store as a DataFrame, one row per point with
    every metric as a column."""
    from accelsim.explore.store import read_results
    from accelsim.explore.sweep import load_spec, run_sweep

    require(isinstance(workers, int) and 1 <= workers <= 1024, "must be in 1..1024",
            field="workers", value=workers)
    run_sweep(load_spec(spec), out, workers=workers, resume=resume, progress=progress)
    return read_results(out)


__all__ = ["load_arch", "load_workload", "structure", "simulate", "summarize", "speedup_table",
           "sweep", "Arch", "Workload", "InputError"]
