"""Recipes: which (c, n) each layer of a network uses in its structured variant. Recipes are data
(workloads/recipes/<network>_<variant>.yaml), checked against the network they name.

Schema::

    network: resnet50
    variant: A
    description: one line
    rules:                      # first matching rule wins; a rule that matches no layer is an error
      - match: "*.fc[12]"       # glob over layer names
        skip: true              # leave these dense
      - match: "layer*"
        kind: conv3x3           # conv3x3 | conv1x1 | depthwise | conv | linear | any
        c: C/2                  # an integer, or C, C/2, 3*C/4 ... of the per-group input channels
        n: 2                    # an integer <= N, or N, N-1 ...; per axis min(n, N_axis)
    layers:                     # optional explicit overrides; a missing layer is an error
      fc: {c: 256}

Layers not matched by any rule stay dense. ``structure`` turns a regular network (a Workload or a
torch model) into its structured twin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accelsim.common.errors import InputError, require
from accelsim.workload.layer import Layer, Workload
from accelsim.workload.layer_rules import KINDS, layer_kind, read_rules  # noqa: F401 (re-exported)

RECIPE_DIR = Path(__file__).resolve().parents[1] / "workloads" / "recipes"
if not RECIPE_DIR.is_dir():  # editable install: accelsim.workloads maps to the repo's workloads/
    RECIPE_DIR = Path(__file__).resolve().parents[2] / "workloads" / "recipes"
VARIANTS = ("regular", "A", "B")


@dataclass(frozen=True)
class Recipe:
    network: str
    variant: str
    choices: tuple[tuple[str, int, int], ...]   # (layer name, c, n), resolved
    description: str = ""
    source: str = ""

    def get(self, name: str):
        for lname, c, n in self.choices:
            if lname == name:
                return c, n
        return None


def _resolve_c(expr, cg: int, src: str, field: str) -> int:
    if isinstance(expr, bool):
        raise InputError("c must be an integer or C, C/k", source=src, field=field, value=expr)
    if isinstance(expr, int):
        return expr
    s = str(expr).replace(" ", "")
    if s == "C":
        return cg
    num, _, den = s.partition("/")
    mult = num[:-2] if num.endswith("*C") else ("1" if num == "C" else "")
    if mult.isdigit() and den.isdigit() and int(den) >= 1:
        return max(1, int(mult) * cg // int(den))
    raise InputError("c must be an integer or C, C/k, j*C/k", source=src, field=field,
                     value=expr)


def _resolve_n(expr, layer: Layer, src: str, field: str) -> int:
    N = max(layer.kernel)
    if isinstance(expr, int) and not isinstance(expr, bool):
        return expr
    s = str(expr).replace(" ", "")
    if s == "N":
        return N
    if s.startswith("N-") and s[2:].isdigit():
        return max(1, N - int(s[2:]))
    raise InputError("n must be an integer or N, N-k", source=src, field=field, value=expr)


def _check(layer: Layer, c: int, n: int, src: str, field: str) -> None:
    cg = layer.in_shape[0] // layer.groups
    require(c >= 1, "c must be >= 1", source=src, field=f"{field}.c", value=c)
    require(c <= cg, f"c > C ({cg} channels per group in {layer.name})", source=src,
            field=f"{field}.c", value=c)
    require(isinstance(n, int) and n >= 1, "n must be an integer >= 1", source=src,
            field=f"{field}.n", value=n)
    require(n <= max(layer.kernel), f"n > N ({layer.kernel[0]}x{layer.kernel[1]} in "
            f"{layer.name})", source=src, field=f"{field}.n", value=n)


def resolve_recipe(data: dict, regular: Workload, src: str) -> Recipe:
    require(isinstance(data, dict), "recipe must be a mapping", source=src)
    unknown = sorted(set(data) - {"network", "variant", "description", "rules", "layers"})
    require(not unknown, "unknown key", source=src, field=unknown[0] if unknown else None,
            value=data.get(unknown[0]) if unknown else None)
    require(data.get("network", regular.network) == regular.network,
            f"recipe is for another network than {regular.network}", source=src,
            field="network", value=data.get("network"))
    targets = [l for l in regular if l.is_gemm]

    def choose(l: Layer, given: dict, f: str) -> tuple[int, int]:
        c = _resolve_c(given.get("c", "C"), l.in_shape[0] // l.groups, src, f"{f}.c")
        n = _resolve_n(given.get("n", "N"), l, src, f"{f}.n")
        _check(l, c, n, src, f)
        return c, n

    chosen = read_rules(data, targets, ("c", "n"), choose, src,
                        "that a recipe structures (conv/linear)")
    # a choice that keeps the full kernel (c = C/g and n = N) is the dense layer itself
    choices = tuple((l.name, *chosen[l.name]) for l in targets if l.name in chosen
                    and chosen[l.name] != (l.in_shape[0] // l.groups, max(l.kernel)))
    for key in ("description", "variant"):
        require(isinstance(data.get(key, ""), (str, int)) and not isinstance(data.get(key), bool),
                "must be a string", source=src, field=key, value=data.get(key))
    return Recipe(data.get("network", regular.network), str(data.get("variant", Path(src).stem)),
                  choices,
                  data.get("description", ""), src)


def load_recipe(network: str, variant: str, regular: Workload) -> Recipe:
    """The shipped recipe of ``network``'s variant A or B, resolved against its regular workload
    (the caller loads that: workload.networks imports this module, never the reverse)."""
    require(variant in ("A", "B"), "unknown variant; expected one of regular, A, B",
            field="variant", value=variant)
    path = RECIPE_DIR / f"{network}_{variant}.yaml"
    require(path.is_file(), "no recipe for this network and variant", field="recipe",
            value=f"{network}:{variant}")
    return load_recipe_file(path, regular)


def load_recipe_file(path, regular: Workload) -> Recipe:
    from accelsim.common.yamlio import load_yaml

    path = Path(path)
    return resolve_recipe(load_yaml(path, "recipe file"), regular, str(path))


def structure_layer(layer: Layer, c: int, n: int) -> tuple[Layer, Layer]:
    """A conv/linear layer as (sumpool, small conv), design.md section 2."""
    C, H, W = layer.in_shape
    g = layer.groups
    if layer.op == "linear":
        pool = Layer(f"{layer.name}.sumpool", "sumpool", (C, 1, 1), (c, 1, 1),
                     pool_channels=C - c + 1, c=c, n=1)
        small = Layer(layer.name, "linear", (c, 1, 1), layer.out_shape, c=c, n=1, bias=layer.bias)
        return pool, small
    nh, nw = min(n, layer.kernel[0]), min(n, layer.kernel[1])
    bh, bw = layer.kernel[0] - nh + 1, layer.kernel[1] - nw + 1
    hp, wp = layer.padded_hw
    pool = Layer(f"{layer.name}.sumpool", "sumpool", layer.in_shape,
                 (g * c, hp - bh + 1, wp - bw + 1), (bh, bw), (1, 1), layer.padding, groups=g,
                 pool_channels=C // g - c + 1, c=c, n=n)
    small = Layer(layer.name, "conv2d", pool.out_shape, layer.out_shape, (nh, nw), layer.stride,
                  (0, 0), groups=g, c=c, n=n, bias=layer.bias)
    return pool, small


def structure(net, recipe: Recipe):
    """The structured twin of a regular Workload or torch model."""
    if isinstance(net, Workload):
        layers = []
        for l in net:
            choice = recipe.get(l.name)
            layers.extend(structure_layer(l, *choice) if choice else (l,))
        return Workload(net.network, recipe.variant, tuple(layers), net.input_shape)
    import copy

    from torch import nn

    from accelsim.workload.structured import StructuredConv2d, StructuredLinear

    net = copy.deepcopy(net)   # a twin: the caller's model stays as it was
    modules = dict(net.named_modules())
    for name, c, n in recipe.choices:
        m = modules.get(name)
        require(m is not None, "no such module in the model", source=recipe.source,
                field="layer", value=name)
        new = (StructuredLinear.from_dense(m, c) if isinstance(m, nn.Linear)
               else StructuredConv2d.from_dense(m, c, n))
        parent, _, attr = name.rpartition(".")
        setattr(modules[parent] if parent else net, attr, new)
    return net
