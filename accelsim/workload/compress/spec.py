"""Specs: a method with resolved per-layer parameters for one network, read from YAML (the
rules and overrides of workload/layer_rules.py), a method's default setting, and back to YAML."""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.common.errors import require
from accelsim.workload.compress.methods import (PARAM_KEYS, check_param, eligible, method_name,
                                                transform_workload)
from accelsim.workload.compress.prune import network_chains
from accelsim.workload.layer import Workload
from accelsim.workload.layer_rules import read_rules
from accelsim.workload.recipe import Recipe

@dataclass(frozen=True)
class Spec:
    """A method with resolved per-layer parameters for one network."""

    network: str
    method: str
    params: tuple[tuple[str, tuple], ...]   # (layer, sorted param items), network order
    source: str = ""
    recipe: Recipe | None = None            # structured: the recipe itself

    @property
    def assignment(self) -> dict:
        return {name: dict(items) for name, items in self.params}


def _freeze(assignment: dict, order) -> tuple:
    return tuple((n, tuple(sorted(assignment[n].items()))) for n in order if n in assignment)


def resolve_spec(data: dict, regular: Workload, src: str, method: str | None = None) -> Spec:
    require(isinstance(data, dict), "spec must be a mapping", source=src)
    method = method_name(data.get("method", method or ""))
    require(data.get("network", regular.network) == regular.network,
            f"spec is for another network than {regular.network}", source=src,
            field="network", value=data.get("network"))
    if method == "structured":
        from accelsim.workload.recipe import resolve_recipe

        rec = resolve_recipe({k: v for k, v in data.items() if k != "method"}, regular, src)
        return Spec(regular.network, method, _freeze(
            {n: {"c": c, "n": nn_} for n, c, nn_ in rec.choices}, [l.name for l in regular]),
            src, rec)
    unknown = sorted(set(data) - {"network", "method", "description", "rules", "layers"})
    require(not unknown, "unknown key", source=src, field=unknown[0] if unknown else None,
            value=data.get(unknown[0]) if unknown else None)
    chains = network_chains(regular.network) if method == "channel-prune" else ()
    targets = eligible(regular, method, chains)
    chosen = read_rules(data, targets, PARAM_KEYS[method],
                        lambda l, given, f: check_param(method, l, given, src, f), src,
                        f"that {method} applies to")
    return Spec(regular.network, method, _freeze(chosen, [l.name for l in regular]), src)


def load_spec_file(path, regular: Workload, method: str | None = None) -> Spec:
    from accelsim.common.yamlio import load_yaml

    return resolve_spec(load_yaml(path, "compression spec"), regular, str(path), method)


def default_spec(regular: Workload, method: str, variant: str = "A") -> Spec:
    """Each method's plain setting on every layer it applies to: structured is the shipped
    recipe ``variant``; small-kernel n = N - 1; prune keep 1/2; ranks C/2 (K/2); depthwise m=1."""
    method = method_name(method)
    if method == "structured":
        from accelsim.workload.recipe import load_recipe

        rec = load_recipe(regular.network, variant, regular)
        return Spec(regular.network, method, _freeze(
            {n: {"c": c, "n": nn_} for n, c, nn_ in rec.choices}, [l.name for l in regular]),
            rec.source, rec)
    chains = network_chains(regular.network) if method == "channel-prune" else ()
    chosen = {l.name: check_param(method, l, {}) for l in eligible(regular, method, chains)}
    return Spec(regular.network, method, _freeze(chosen, [l.name for l in regular]),
                f"default {method}")


def spec_to_yaml(spec: Spec, note: str = "") -> str:
    """A spec as YAML (``layers:`` overrides) that ``load_spec_file`` reads back; structured
    writes a recipe."""
    import yaml

    layers = {}
    for name, items in spec.params:
        d = dict(items)
        if "ranks" in d:
            d["ranks"] = list(d["ranks"])
        layers[name] = d
    data = {"network": spec.network, "method": spec.method}
    if note:
        data["description"] = note
    data["layers"] = layers
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def spec_workload(regular: Workload, spec: Spec) -> Workload:
    if spec.method == "structured" and spec.recipe is not None:
        from accelsim.workload.recipe import structure

        wl = structure(regular, spec.recipe)
        return Workload(wl.network, "structured", wl.layers, wl.input_shape)
    chains = network_chains(regular.network) if spec.method == "channel-prune" else ()
    return transform_workload(regular, spec.method, spec.assignment, chains)
