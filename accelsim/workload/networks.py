"""Resolve a workload spec: ``network[:variant]`` (variant regular, A or B), a workload or
SCALE-Sim topology CSV, or an ONNX file. Traces are cached per process: tracing is torch-heavy
and reports ask for the same network many times."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from accelsim.common.errors import InputError, require
from accelsim.workload.recipe import VARIANTS
from accelsim.workload.layer import Workload, read_workload_csv

TRACE_DIR = Path(__file__).resolve().parents[1] / "workloads" / "traces"
if not TRACE_DIR.is_dir():
    TRACE_DIR = Path(__file__).resolve().parents[2] / "workloads" / "traces"


def list_networks() -> tuple[str, ...]:
    from accelsim.workload.zoo import NETWORKS

    return NETWORKS


def parse_spec(spec: str) -> tuple[str, str]:
    """``network[:variant]``, names case-insensitive with '-'/'_' alike (accelsim.common.names)."""
    from accelsim.common.names import resolve

    net, _, variant = spec.partition(":")
    variant = variant or "regular"
    net = resolve(net, list_networks(), field="network", what="network",
                  extra=" (or a .csv / .onnx file)")
    variant = resolve(variant, VARIANTS, field="variant", what="variant")
    return net, variant


@lru_cache(maxsize=64)
def _network_workload(net: str, variant: str) -> Workload:
    # the shipped regular trace (kept fresh by a test) avoids a torch import on the hot path
    regular = read_workload_csv(TRACE_DIR / f"{net}_regular.csv", network=net)
    if variant == "regular":
        return regular
    from accelsim.workload.recipe import structure

    return structure(regular, _shipped_recipe(net, variant))


@lru_cache(maxsize=32)
def _shipped_recipe(net: str, variant: str):
    from accelsim.workload.recipe import load_recipe

    return load_recipe(net, variant, _network_workload(net, "regular"))


def _recipe(net: str, variant: str):
    """The recipe of a shipped variant (A, B), or of a user's recipe YAML file (not cached:
    the file may change between calls)."""
    if variant in VARIANTS:
        return _shipped_recipe(net, variant)
    from accelsim.workload.recipe import load_recipe_file

    return load_recipe_file(variant, _network_workload(net, "regular"))


def load_workload(spec: str) -> Workload:
    p = Path(spec)
    if p.suffix.lower() == ".csv":
        require(p.is_file(), "no such file", source=spec)
        return read_workload_csv(p)
    if p.suffix.lower() == ".onnx":
        require(p.is_file(), "no such file", source=spec)
        try:
            from accelsim.workload.onnx_import import load_onnx
        except ImportError as exc:
            raise InputError(f"ONNX import unavailable: {exc}", source=spec) from None
        return load_onnx(p)
    return _network_workload(*parse_spec(spec))


def _net_variant(net: str, variant: str) -> tuple[str, str]:
    """(network, variant) with the names resolved; a recipe file path is kept as it is."""
    if str(variant).lower().endswith((".yaml", ".yml")):
        return parse_spec(net)[0], variant
    return parse_spec(f"{net.partition(':')[0]}:{variant}")


def load_variant(net: str, variant: str) -> Workload:
    """The workload of ``net`` as ``variant``: regular, A, B, or a path to a recipe YAML file."""
    net, variant = _net_variant(net, variant)
    if variant in VARIANTS:
        return _network_workload(net, variant)
    from accelsim.workload.recipe import structure

    return structure(_network_workload(net, "regular"), _recipe(net, variant))


def variant_model(net: str, variant: str = "regular"):
    """The torch model of a network variant: regular, or structured by its recipe (A, B, or a
    recipe YAML path) with every structured kernel the least-squares projection of the seeded
    dense one."""
    from accelsim.workload.recipe import structure
    from accelsim.workload.zoo import build_model

    net, variant = _net_variant(net, variant)
    if variant == "regular":
        return build_model(net)
    recipe = _recipe(net, variant)
    return structure(build_model(net), recipe)


# the name the first tests and reports use
structured_model = variant_model


def variant_params(net: str, variant: str) -> int:
    """Parameters of a variant without building the torch model: the published count with each
    structured layer's dense kernel replaced by its Cout*c*n^2 alpha (design.md section 2).
    tests/test_recipes.py checks it equals the structured torch model's parameter count."""
    from accelsim.workload.zoo import published_params

    regular = _network_workload(net, "regular")
    return published_params(net) - regular.weights + load_variant(net, variant).weights
