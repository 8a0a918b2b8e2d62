"""Resolve a workload spec: ``network[:variant]`` (variant regular, A or B), a workload or
SCALE-Sim topology CSV, or an ONNX file. Traces are cached per process: tracing is torch-heavy
and reports ask for the same network many times."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import InputError, require
from .recipe import VARIANTS
from .workload import Workload, read_workload_csv

TRACE_DIR = Path(__file__).resolve().parent / "workloads" / "traces"
if not TRACE_DIR.is_dir():
    TRACE_DIR = Path(__file__).resolve().parents[1] / "workloads" / "traces"


def list_networks() -> tuple[str, ...]:
    from .zoo import NETWORKS

    return NETWORKS


def parse_spec(spec: str) -> tuple[str, str]:
    net, _, variant = spec.partition(":")
    variant = variant or "regular"
    require(net in list_networks(), f"unknown network; expected one of "
            f"{', '.join(list_networks())} (or a .csv / .onnx file)", field="network", value=net)
    require(variant in VARIANTS, f"unknown variant; expected one of {', '.join(VARIANTS)}",
            field="variant", value=variant)
    return net, variant


@lru_cache(maxsize=64)
def _network_workload(net: str, variant: str) -> Workload:
    # the shipped regular trace (kept fresh by a test) avoids a torch import on the hot path
    regular = read_workload_csv(TRACE_DIR / f"{net}_regular.csv", network=net)
    if variant == "regular":
        return regular
    from .recipe import load_recipe, structure

    return structure(regular, load_recipe(net, variant, regular))


def load_workload(spec: str) -> Workload:
    p = Path(spec)
    if p.suffix.lower() == ".csv":
        require(p.is_file(), "no such file", source=spec)
        return read_workload_csv(p)
    if p.suffix.lower() == ".onnx":
        require(p.is_file(), "no such file", source=spec)
        try:
            from .onnx_import import load_onnx
        except ImportError as exc:
            raise InputError(f"ONNX import unavailable: {exc}", source=spec) from None
        return load_onnx(p)
    return _network_workload(*parse_spec(spec))


def structured_model(net: str, variant: str):
    """The torch model of a network variant (regular, or structured by its recipe)."""
    from .recipe import load_recipe, structure
    from .zoo import build_model

    model = build_model(net)
    if variant == "regular":
        return model
    return structure(model, load_recipe(net, variant, _network_workload(net, "regular")))
