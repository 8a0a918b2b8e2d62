"""Compression methods side by side: each a transform of a torch model (float64-checked against
its dense reconstruction) and of a Workload (closed form, checked against the trace of the
transformed model), with per-layer YAML specs and a matched-budget mode.

Methods (``METHODS``) and their per-layer parameter:
  structured      (c, n)        sum-pool + small conv (accelsim.workload.recipe; today's recipes)
  small-kernel    n             N x N -> n x n dense conv (the input cropped so the output size
                                stays; the n x n kernel sits at offset (N - n) // 2 of the N x N)
  channel-prune   keep          keep this many output channels of a conv whose output feeds one
                                other conv (through batch-norm, activations and depthwise convs);
                                the consumer loses the same input channels (Li et al. 2017: the
                                filters of largest L1 norm stay)
  low-rank        ranks         Tucker-2: 1x1 C->r1, N x N r1->r2 core, 1x1 r2->K;
                                a 1x1 conv: rank-r SVD (1x1 C->r, 1x1 r->K)
  low-rank-cp     rank          CP / separable: 1x1 C->R, Nh x 1 and 1 x Nw depthwise, 1x1 R->K;
                                a 1x1 conv: rank-R SVD as above
  depthwise       mult          depthwise N x N (depth multiplier m) + pointwise 1x1

Which layers a method touches: every conv except the stem (the network's first conv), and only
those the method applies to (small-kernel and depthwise need N > 1; low-rank and depthwise need
an ungrouped conv; channel-prune needs a single-consumer chain). Linear layers stay dense, so
every method competes on the same layers (structured recipes may still name fc).

A spec (a YAML file; ``accelsim compare --out`` writes the ones it used to specs/) says per
layer what to apply::

    network: resnet18
    method: low-rank
    rules:                          # first match wins; a rule that matches nothing is an error
      - match: "layer4.*"
        skip: true
      - match: "layer*"
        kind: conv3x3               # as in recipes: conv3x3 conv1x1 depthwise conv any
        ranks: [0.5, 0.5]           # a float in (0, 1]: a fraction of the channels; an int: a count
    layers:                         # explicit overrides
      layer1.0.conv1: {ranks: [32, 32]}

Per-method keys: small-kernel ``n``; channel-prune ``keep`` (fraction in (0, 1] or a count);
low-rank ``ranks: [r1, r2]`` (or ``rank`` for both / a 1x1 conv); low-rank-cp ``rank``
(a fraction is of C); depthwise ``mult``. A structured spec is a recipe (accelsim.workload.recipe).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, replace
from functools import lru_cache

from accelsim.common.errors import InputError, require
from accelsim.workload.recipe import KINDS, Recipe, layer_kind, structure_layer
from accelsim.workload.layer import Layer, Workload, macs, weight_count

METHODS = ("structured", "small-kernel", "channel-prune", "low-rank", "low-rank-cp", "depthwise")
ALIASES = {"depthwise-separable": "depthwise", "tucker2": "low-rank", "cp": "low-rank-cp",
           "prune": "channel-prune"}
PARAM_KEYS = {"small-kernel": ("n",), "channel-prune": ("keep",), "low-rank": ("ranks", "rank"),
              "low-rank-cp": ("rank",), "depthwise": ("mult",)}
MATCH_TOL = 0.02            # the matched-budget acceptance: within 2 % of the target
_GRID = 32                  # fractions j/32 of the channels the matched search may pick


def method_name(name: str) -> str:
    m = ALIASES.get(name, name)
    require(m in METHODS, f"unknown method; expected one of {', '.join(METHODS)}",
            field="method", value=name)
    return m


# ---- which layers a method applies to ------------------------------------------------------
def _stem(wl: Workload) -> str:
    return next(l.name for l in wl if l.is_gemm)


def _is_dense_conv(l: Layer) -> bool:
    return l.op == "conv2d" and l.groups == 1


def eligible(wl: Workload, method: str, chains=None) -> list[Layer]:
    """The layers ``method`` may transform, in network order (the stem and linears excluded)."""
    stem = _stem(wl)
    convs = [l for l in wl if l.op == "conv2d" and l.name != stem]
    if method == "structured":
        return convs
    if method == "small-kernel":
        return [l for l in convs if max(l.kernel) > 1]
    if method in ("low-rank", "low-rank-cp"):
        return [l for l in convs if _is_dense_conv(l)]
    if method == "depthwise":
        return [l for l in convs if _is_dense_conv(l) and max(l.kernel) > 1]
    if method == "channel-prune":
        producers = {c.producer for c in (chains or ())}
        return [l for l in convs if l.name in producers]
    raise InputError("unknown method", field="method", value=method)


# ---- per-layer parameters: checked here, once ----------------------------------------------
def _count(expr, total: int, src: str, field: str) -> int:
    """A count from an int (as is) or a fraction in (0, 1] of ``total`` (rounded, at least 1)."""
    if isinstance(expr, bool) or not isinstance(expr, (int, float)):
        raise InputError("must be an integer count or a fraction in (0, 1]", source=src,
                         field=field, value=expr)
    if isinstance(expr, float):
        require(0.0 < expr <= 1.0, "a fraction must be in (0, 1]", source=src, field=field,
                value=expr)
        return max(1, round(expr * total))
    return expr


def check_param(method: str, l: Layer, p: dict, src: str = "", field: str = "") -> dict:
    """The parameter of ``method`` on layer ``l`` resolved to integers, or one clear error."""
    f = field or l.name
    C, K = l.in_shape[0], l.out_shape[0]
    kh, kw = l.kernel
    if method == "small-kernel":
        n = p.get("n", max(l.kernel) - 1)
        require(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= max(l.kernel),
                f"n must be an integer in 1..{max(l.kernel)} (the {kh}x{kw} kernel of {l.name})",
                source=src, field=f"{f}.n", value=n)
        return {"n": n}
    if method == "channel-prune":
        keep = p.get("keep", 0.5)
        if isinstance(keep, float):
            require(0.0 < keep <= 1.0, f"keep ratio must be in (0, 1] ({l.name})", source=src,
                    field=f"{f}.keep", value=keep)
        k = _count(keep, K, src, f"{f}.keep")
        require(1 <= k <= K, f"keep must be in 1..{K} output channels of {l.name}",
                source=src, field=f"{f}.keep", value=keep)
        return {"keep": k}
    if method == "low-rank":
        if max(l.kernel) == 1:
            r = p.get("rank", p.get("ranks", [0.5])[0] if isinstance(p.get("ranks"), list)
                      else 0.5)
            r = _count(r, min(C, K), src, f"{f}.rank")
            require(1 <= r <= min(C, K), f"rank must be in 1..{min(C, K)} = min(C, K) of "
                    f"{l.name}", source=src, field=f"{f}.rank", value=r)
            return {"rank": r}
        ranks = p.get("ranks", [p.get("rank", 0.5)] * 2)
        require(isinstance(ranks, (list, tuple)) and len(ranks) == 2,
                "ranks must be a list [r1, r2]", source=src, field=f"{f}.ranks", value=ranks)
        r1 = _count(ranks[0], C, src, f"{f}.ranks[0]")
        r2 = _count(ranks[1], K, src, f"{f}.ranks[1]")
        require(1 <= r1 <= C, f"rank r1 must be in 1..{C} input channels of {l.name}",
                source=src, field=f"{f}.ranks[0]", value=ranks[0])
        require(1 <= r2 <= K, f"rank r2 must be in 1..{K} output channels of {l.name}",
                source=src, field=f"{f}.ranks[1]", value=ranks[1])
        return {"ranks": (r1, r2)}
    if method == "low-rank-cp":
        r = _count(p.get("rank", 0.5), C, src, f"{f}.rank")
        top = min(C, K) if max(l.kernel) == 1 else C * kh * kw
        require(1 <= r <= top, f"rank must be in 1..{top} for {l.name} "
                f"({'min(C, K)' if max(l.kernel) == 1 else 'C*Nh*Nw'})", source=src,
                field=f"{f}.rank", value=r)
        return {"rank": r}
    if method == "depthwise":
        m = p.get("mult", 1)
        top = min(K, kh * kw)
        require(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= top,
                f"mult must be an integer in 1..{top} = min(K, Nh*Nw) for {l.name}",
                source=src, field=f"{f}.mult", value=m)
        return {"mult": m}
    if method == "structured":
        cg = C // l.groups
        c, n = p.get("c", cg), p.get("n", max(l.kernel))
        require(isinstance(c, int) and 1 <= c <= cg, f"c must be in 1..{cg} ({l.name})",
                source=src, field=f"{f}.c", value=c)
        require(isinstance(n, int) and 1 <= n <= max(l.kernel),
                f"n must be in 1..{max(l.kernel)} ({l.name})", source=src, field=f"{f}.n",
                value=n)
        return {"c": c, "n": n}
    raise InputError("unknown method", field="method", value=method)


# ---- the workload transforms (closed form) ---------------------------------------------------
def layer_transform(method: str, l: Layer, p: dict) -> tuple[Layer, ...]:
    """The layers that replace conv ``l`` under ``method`` with resolved parameter ``p``.
    Names follow the torch transforms (``name.0``, ``name.1``... for a Sequential; ``name.conv``
    for small-kernel; ``name.sumpool`` + ``name`` for structured), so the trace of the
    transformed model equals this workload."""
    C, H, W = l.in_shape
    K, E, F = l.out_shape
    kh, kw = l.kernel
    if method == "structured":
        return structure_layer(l, p["c"], p["n"])
    if method == "small-kernel":
        nh, nw = min(p["n"], kh), min(p["n"], kw)
        hp, wp = l.padded_hw
        return (Layer(f"{l.name}.conv", "conv2d", (C, hp - (kh - nh), wp - (kw - nw)),
                      l.out_shape, (nh, nw), l.stride, (0, 0), groups=l.groups, bias=l.bias),)
    if method in ("low-rank", "low-rank-cp") and (kh, kw) == (1, 1):
        r = p["rank"]
        return (Layer(f"{l.name}.0", "conv2d", l.in_shape, (r, E, F), (1, 1), l.stride,
                      l.padding),
                Layer(f"{l.name}.1", "conv2d", (r, E, F), l.out_shape, bias=l.bias))
    if method == "low-rank":
        r1, r2 = p["ranks"]
        return (Layer(f"{l.name}.0", "conv2d", l.in_shape, (r1, H, W)),
                Layer(f"{l.name}.1", "conv2d", (r1, H, W), (r2, E, F), l.kernel, l.stride,
                      l.padding),
                Layer(f"{l.name}.2", "conv2d", (r2, E, F), l.out_shape, bias=l.bias))
    if method == "low-rank-cp":
        R = p["rank"]
        return (Layer(f"{l.name}.0", "conv2d", l.in_shape, (R, H, W)),
                Layer(f"{l.name}.1", "conv2d", (R, H, W), (R, E, W), (kh, 1),
                      (l.stride[0], 1), (l.padding[0], 0), groups=R),
                Layer(f"{l.name}.2", "conv2d", (R, E, W), (R, E, F), (1, kw),
                      (1, l.stride[1]), (0, l.padding[1]), groups=R),
                Layer(f"{l.name}.3", "conv2d", (R, E, F), l.out_shape, bias=l.bias))
    if method == "depthwise":
        m = p["mult"]
        return (Layer(f"{l.name}.0", "conv2d", l.in_shape, (C * m, E, F), l.kernel, l.stride,
                      l.padding, groups=C),
                Layer(f"{l.name}.1", "conv2d", (C * m, E, F), l.out_shape, bias=l.bias))
    raise InputError("no layer transform for this method", field="method", value=method)


@dataclass(frozen=True)
class Chain:
    """A conv whose output reaches exactly one other conv through channel-wise modules only."""

    producer: str
    depthwise: tuple[str, ...]     # depthwise convs on the way (they keep the channel count)
    consumer: str
    followers: tuple[str, ...]     # batch-norms on the way (sliced with the producer)


def _prune_workload(wl: Workload, chains, keeps: dict) -> Workload:
    """Channel pruning on a workload: the producer's outputs, the depthwise convs and the
    activations between it and its consumer, and the consumer's inputs shrink to ``keep``."""
    new_out: dict[str, int] = {}
    new_in: dict[str, int] = {}
    idx = {l.name: i for i, l in enumerate(wl)}
    for ch in chains:
        if ch.producer not in keeps:
            continue
        k = keeps[ch.producer]
        old = wl.layer(ch.producer).out_shape[0]
        new_out[ch.producer] = k
        for d in ch.depthwise:
            new_in[d] = new_out[d] = k
        new_in[ch.consumer] = k
        # activations between producer and consumer carry the pruned tensor
        for l in wl.layers[idx[ch.producer] + 1:idx[ch.consumer]]:
            if l.op == "act" and l.in_shape[0] == old:
                new_in[l.name] = new_out[l.name] = k
    layers = []
    for l in wl:
        if l.name not in new_in and l.name not in new_out:
            layers.append(l)
            continue
        ins = (new_in.get(l.name, l.in_shape[0]), *l.in_shape[1:])
        outs = (new_out.get(l.name, l.out_shape[0]), *l.out_shape[1:])
        groups = ins[0] if l.op == "conv2d" and l.groups > 1 else l.groups
        layers.append(replace(l, in_shape=ins, out_shape=outs, groups=groups))
    return Workload(wl.network, "channel-prune", tuple(layers), wl.input_shape)


def transform_workload(wl: Workload, method: str, assignment: dict, chains=()) -> Workload:
    """The workload of ``wl`` with ``assignment`` {layer: resolved param} applied."""
    if method == "channel-prune":
        return _prune_workload(wl, chains, {k: v["keep"] for k, v in assignment.items()})
    layers = []
    for l in wl:
        p = assignment.get(l.name)
        layers.extend(layer_transform(method, l, p) if p is not None else (l,))
    return Workload(wl.network, method, tuple(layers), wl.input_shape)


# ---- prune chains from the model's graph ----------------------------------------------------
_CHANNELWISE = ("BatchNorm2d", "ReLU", "ReLU6", "SiLU", "Hardswish", "Sigmoid", "GELU",
                "LeakyReLU", "Tanh", "Identity", "Dropout")


def prune_chains(model) -> tuple[Chain, ...]:
    """Every conv (not the first) whose only consumer, through batch-norms, activations and
    depthwise convs that have no other user, is one ungrouped conv: the channels it can drop."""
    import torch.fx as fx
    from torch import nn

    from accelsim.workload.trace import _structured_types

    sconv, slin = _structured_types()

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, sconv + slin) or super().is_leaf_module(m, qualname)

    graph = _Tracer().trace(model)
    mods = dict(model.named_modules())
    convs = [n for n in graph.nodes if n.op == "call_module"
             and type(mods[n.target]) is nn.Conv2d]
    out = []
    for node in convs[1:]:
        m = mods[node.target]
        if m.groups != 1:
            continue
        dws, follow, cur = [], [], node
        consumer = None
        while len(cur.users) == 1:
            nxt = next(iter(cur.users))
            if nxt.op != "call_module":
                break
            nm = mods[nxt.target]
            if type(nm) is nn.Conv2d:
                if nm.groups > 1 and nm.groups == nm.in_channels == nm.out_channels:
                    dws.append(nxt.target)
                    cur = nxt
                    continue
                if nm.groups == 1:
                    consumer = nxt.target
                break
            if type(nm).__name__ not in _CHANNELWISE:
                break
            if isinstance(nm, nn.BatchNorm2d):
                follow.append(nxt.target)
            cur = nxt
        if consumer is not None:
            out.append(Chain(node.target, tuple(dws), consumer, tuple(follow)))
    return tuple(out)


@lru_cache(maxsize=16)
def network_chains(net: str) -> tuple[Chain, ...]:
    """The prune chains of a shipped network (its model built on the meta device: no weights)."""
    import torch

    from accelsim.workload.zoo import build_model

    with torch.device("meta"):
        model = build_model(net)
    return prune_chains(model)


# ---- specs -----------------------------------------------------------------------------------
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
    by_name = {l.name: l for l in targets}
    keys = PARAM_KEYS[method]
    chosen: dict[str, dict] = {}
    decided: set[str] = set()
    rules = data.get("rules") or []
    require(isinstance(rules, list), "rules must be a list", source=src, field="rules",
            value=rules)
    for i, rule in enumerate(rules):
        f = f"rules[{i}]"
        require(isinstance(rule, dict) and "match" in rule, "a rule needs 'match'", source=src,
                field=f, value=rule)
        bad = sorted(set(rule) - {"match", "kind", "skip", *keys})
        require(not bad, f"unknown key in rule (a {method} rule takes {', '.join(keys)})",
                source=src, field=f"{f}.{bad[0]}" if bad else f,
                value=rule.get(bad[0]) if bad else None)
        kind = rule.get("kind", "any")
        require(kind in KINDS, f"unknown layer kind; expected one of {KINDS}", source=src,
                field=f"{f}.kind", value=kind)
        hits = [l for l in targets if fnmatch.fnmatchcase(l.name, str(rule["match"]))
                and (kind in ("any", "conv") or layer_kind(l) == kind)]
        require(bool(hits), f"rule matches no layer that {method} applies to", source=src,
                field=f"{f}.match", value=rule["match"])
        for l in hits:
            if l.name in decided:
                continue
            decided.add(l.name)
            if not rule.get("skip"):
                chosen[l.name] = check_param(method, l, {k: rule[k] for k in keys if k in rule},
                                             src, f)
    layers = data.get("layers") or {}
    require(isinstance(layers, dict), "layers must be a mapping", source=src, field="layers",
            value=layers)
    for name, spec in layers.items():
        f = f"layers.{name}"
        require(name in by_name, f"no layer of the network that {method} applies to",
                source=src, field="layers", value=name)
        require(isinstance(spec, dict), "override must be a mapping", source=src, field=f,
                value=spec)
        bad = sorted(set(spec) - set(keys))
        require(not bad, f"unknown key (a {method} layer takes {', '.join(keys)})", source=src,
                field=f"{f}.{bad[0]}" if bad else f, value=spec.get(bad[0]) if bad else None)
        chosen[name] = check_param(method, by_name[name], spec, src, f)
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


# ---- matched budget --------------------------------------------------------------------------
def _cost(layers, metric: str) -> int:
    return sum((macs if metric == "macs" else weight_count)(l) for l in layers)


def _fractions(total: int) -> list[int]:
    return sorted({max(1, math.ceil(j * total / _GRID)) for j in range(1, _GRID + 1)},
                  reverse=True)


def _options(method: str, l: Layer) -> list[dict]:
    """Candidate parameters of ``method`` on ``l`` for the matched search (milder first)."""
    C, K = l.in_shape[0], l.out_shape[0]
    N = max(l.kernel)
    if method == "small-kernel":
        return [{"n": n} for n in range(N - 1, 0, -1)]
    if method == "depthwise":
        return [{"mult": m} for m in range(min(K, l.kernel[0] * l.kernel[1]), 0, -1)]
    if method == "low-rank":
        if N == 1:
            return [{"rank": r} for r in _fractions(min(C, K))]
        return [{"ranks": (math.ceil(j * C / _GRID), math.ceil(j * K / _GRID))}
                for j in range(_GRID, 0, -1)]
    if method == "low-rank-cp":
        # CP ranks beyond C still save MACs on a 3x3 (R(C + K) + R(Nh + Nw) per pixel)
        return [{"rank": r} for r in (_fractions(min(C, K)) if N == 1
                                      else _fractions(C * min(l.kernel)))]
    if method == "structured":
        cg = C // l.groups
        ns = [N, N - 1] if N > 1 else [1]
        return [{"c": c, "n": n} for n in ns for c in _fractions(cg)
                if (c, n) != (cg, N)]
    raise InputError("no options", field="method", value=method)


@dataclass(frozen=True)
class Matched:
    spec: Spec
    metric: str          # macs | params
    target: float        # the asked reduction (regular / method)
    achieved: float      # the reduction the chosen parameters give
    feasible: bool       # achieved within MATCH_TOL of target


def match_budget(regular: Workload, method: str, metric: str, target: float) -> Matched:
    """Per-layer parameters of ``method`` such that the network's MACs (or conv/linear weights)
    are ``target`` times fewer, within 2 %. Every layer first takes the mildest option that
    cuts its own cost by the same fraction (bisection on that fraction), then single layers
    step back to milder options while that brings the total closer. When even the strongest
    setting of every layer misses the target, that setting is returned, marked infeasible."""
    method = method_name(method)
    require(metric in ("macs", "params"), "match must be macs=X or params=X", field="--match",
            value=metric)
    require(target > 1.0, "the reduction must be > 1", field="--match", value=target)
    total = _cost(regular.layers, metric)
    goal = total / target
    order = [l.name for l in regular]
    if method == "channel-prune":
        return _match_prune(regular, metric, target, goal, total, order)
    units = []
    for l in eligible(regular, method):
        dense = _cost((l,), metric)
        opts = [(p, _cost(layer_transform(method, l, p), metric)) for p in _options(method, l)]
        opts = [(None, dense)] + sorted(opts, key=lambda o: -o[1])
        units.append((l.name, dense, opts))
    fixed = total - sum(d for _, d, _ in units)

    def pick(f):
        return [next((i for i, (_, c) in enumerate(o) if c <= f * d), len(o) - 1)
                for _, d, o in units]

    def cost(ch):
        return fixed + sum(units[u][2][i][1] for u, i in enumerate(ch))

    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cost(pick(mid)) <= goal else (lo, mid)
    ch = pick(lo)
    t = cost(ch)
    # local search: one layer one option milder or stronger, whichever brings the total
    # closest to the goal, until no single step helps
    while True:
        best = (abs(t - goal), None, 0, 0)
        for u, i in enumerate(ch):
            o = units[u][2]
            for j in (i - 1, i + 1):
                if 0 <= j < len(o):
                    d = o[j][1] - o[i][1]
                    if abs(t + d - goal) < best[0]:
                        best = (abs(t + d - goal), u, j, d)
        if best[1] is None:
            break
        ch[best[1]] = best[2]
        t += best[3]
    assignment = {units[u][0]: units[u][2][i][0] for u, i in enumerate(ch) if i > 0}
    spec = Spec(regular.network, method, _freeze(assignment, order), f"matched {metric}={target}")
    if method == "structured":
        spec = replace(spec, recipe=Recipe(regular.network, "structured", tuple(
            (n, p["c"], p["n"]) for n, p in spec.assignment.items()), spec.source,
            spec.source))
    achieved = total / _cost(spec_workload(regular, spec).layers, metric)
    return Matched(spec, metric, target, achieved, abs(achieved / target - 1) <= MATCH_TOL)


def _match_prune(regular, metric, target, goal, total, order) -> Matched:
    chains = network_chains(regular.network)
    prods = {l.name: l.out_shape[0] for l in eligible(regular, "channel-prune", chains)}

    def assign(rho):
        return {n: {"keep": max(1, min(K, round(rho * K)))} for n, K in prods.items()}

    def cost(rho):
        return _cost(transform_workload(regular, "channel-prune", assign(rho), chains).layers,
                     metric)

    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cost(mid) <= goal else (lo, mid)
    rho = min((lo, hi), key=lambda r: abs(cost(r) - goal))
    spec = Spec(regular.network, "channel-prune", _freeze(assign(rho), order),
                f"matched {metric}={target}")
    achieved = total / cost(rho)
    return Matched(spec, metric, target, achieved, abs(achieved / target - 1) <= MATCH_TOL)


# ---- torch transforms ------------------------------------------------------------------------
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _new_conv(cin, cout, kernel, stride=1, padding=0, groups=1, bias=False, like=None):
    from torch import nn

    conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=bias)
    if like is not None:
        conv = conv.to(device=like.device, dtype=like.dtype)
    return conv


def _set(t, value):
    import torch

    with torch.no_grad():
        t.copy_(value.to(t.dtype))


def _torch_small_kernel(conv, n: int, fit: bool):
    import torch.nn.functional as F
    from torch import nn

    class SmallKernelConv2d(nn.Module):
        """An n x n conv in place of an N x N one: the input padded by p - o before and
        p - (N - n - o) after (negative: cropped), o = (N - n) // 2, so the output size stays
        and the n x n kernel equals the N x N one zero outside [o, o + n)."""

        def __init__(self):
            super().__init__()
            (kh, kw), (ph, pw) = _pair(conv.kernel_size), _pair(conv.padding)
            self.nh, self.nw = min(n, kh), min(n, kw)
            self.oh, self.ow = (kh - self.nh) // 2, (kw - self.nw) // 2
            self.pads = (pw - self.ow, pw - (kw - self.nw - self.ow),
                         ph - self.oh, ph - (kh - self.nh - self.oh))
            self.conv = _new_conv(conv.in_channels, conv.out_channels, (self.nh, self.nw),
                                  conv.stride, 0, conv.groups, conv.bias is not None,
                                  like=conv.weight)

        def forward(self, x):
            return self.conv(F.pad(x, self.pads))

        def dense_weight(self):
            import torch

            w = self.conv.weight
            full = torch.zeros(*w.shape[:2], *_pair(conv.kernel_size), dtype=w.dtype,
                               device=w.device)
            full[:, :, self.oh:self.oh + self.nh, self.ow:self.ow + self.nw] = w
            return full

    m = SmallKernelConv2d()
    if fit:  # the least-squares n x n kernel under this placement is the N x N one's window
        _set(m.conv.weight, conv.weight[:, :, m.oh:m.oh + m.nh, m.ow:m.ow + m.nw])
        if conv.bias is not None:
            _set(m.conv.bias, conv.bias)
    return m


def _svd_1x1(conv, r: int, fit: bool):
    import torch
    from torch import nn

    a = _new_conv(conv.in_channels, r, 1, conv.stride, conv.padding, like=conv.weight)
    b = _new_conv(r, conv.out_channels, 1, bias=conv.bias is not None, like=conv.weight)
    if fit:
        w = conv.weight.detach().to(torch.float64).reshape(conv.out_channels, -1)
        U, S, Vh = torch.linalg.svd(w, full_matrices=False)
        _set(a.weight, Vh[:r].reshape(r, -1, 1, 1))
        _set(b.weight, (U[:, :r] * S[:r]).reshape(-1, r, 1, 1))
        if conv.bias is not None:
            _set(b.bias, conv.bias)
    return nn.Sequential(a, b)


def _torch_tucker2(conv, r1: int, r2: int, fit: bool):
    """HOSVD Tucker-2: U_in (C x r1), U_out (K x r2) the leading singular vectors of the input
    and output unfoldings, core = W x_out U_out^T x_in U_in^T. Full ranks: U square orthogonal,
    so the three convs reproduce W exactly."""
    import torch
    from torch import nn

    K, C = conv.out_channels, conv.in_channels
    a = _new_conv(C, r1, 1, like=conv.weight)
    core = _new_conv(r1, r2, conv.kernel_size, conv.stride, conv.padding, like=conv.weight)
    b = _new_conv(r2, K, 1, bias=conv.bias is not None, like=conv.weight)
    if fit:
        w = conv.weight.detach().to(torch.float64)
        U_out = torch.linalg.svd(w.reshape(K, -1), full_matrices=False)[0][:, :r2]
        U_in = torch.linalg.svd(w.transpose(0, 1).reshape(C, -1), full_matrices=False)[0][:, :r1]
        g = torch.einsum("kchw,kr,cs->rshw", w, U_out, U_in)
        _set(a.weight, U_in.T.reshape(r1, C, 1, 1))
        _set(core.weight, g)
        _set(b.weight, U_out.reshape(K, r2, 1, 1))
        if conv.bias is not None:
            _set(b.bias, conv.bias)
    return nn.Sequential(a, core, b)


def cp_factors(w, rank: int, iters: int = 200, seed: int = 0):
    """CP of a K x C x Nh x Nw kernel: W ~ sum_r A[:, r] o B[:, r] o H[:, r] o V[:, r].
    With rank >= C*Nh*Nw the exact one (a unit vector per (c, h, w) cell, A = W's columns, the
    rest zero); below it, alternating least squares from a seeded random start."""
    import torch

    K, C, Nh, Nw = w.shape
    full = C * Nh * Nw
    if rank >= full:
        A = torch.zeros(K, rank, dtype=w.dtype)
        B, H, V = (torch.zeros(s, rank, dtype=w.dtype) for s in (C, Nh, Nw))
        for j, (c, h, v) in enumerate((c, h, v) for c in range(C) for h in range(Nh)
                                      for v in range(Nw)):
            A[:, j], B[c, j], H[h, j], V[v, j] = w[:, c, h, v], 1.0, 1.0, 1.0
        return A, B, H, V
    g = torch.Generator().manual_seed(seed)
    A, B, H, V = (torch.randn(s, rank, generator=g, dtype=w.dtype) for s in (K, C, Nh, Nw))
    eye = 1e-12 * torch.eye(rank, dtype=w.dtype)

    def solve(mttkrp, *others):
        # X G = M with G the Hadamard product of the other factors' Gram matrices (symmetric
        # positive semi-definite; the tiny ridge keeps it invertible)
        G = others[0].T @ others[0]
        for f in others[1:]:
            G = G * (f.T @ f)
        return torch.linalg.solve(G + eye, mttkrp.T).T

    # the four unfoldings once; each update is then one matrix product with a Khatri-Rao
    # product (the rows of a mode's unfolding run over the other modes in order)
    unf = [w.permute(m, *[o for o in range(4) if o != m]).reshape(w.shape[m], -1)
           for m in range(4)]

    def kr(*fs):
        out = fs[0]
        for f in fs[1:]:
            out = (out[:, None, :] * f[None, :, :]).reshape(-1, rank)
        return out

    for _ in range(iters):
        A = solve(unf[0] @ kr(B, H, V), B, H, V)
        B = solve(unf[1] @ kr(A, H, V), A, H, V)
        H = solve(unf[2] @ kr(A, B, V), A, B, V)
        V = solve(unf[3] @ kr(A, B, H), A, B, H)
    return A, B, H, V


def _torch_cp(conv, R: int, fit: bool):
    import torch
    from torch import nn

    K, C = conv.out_channels, conv.in_channels
    (kh, kw), (sh, sw), (ph, pw) = (_pair(conv.kernel_size), _pair(conv.stride),
                                    _pair(conv.padding))
    a = _new_conv(C, R, 1, like=conv.weight)
    h = _new_conv(R, R, (kh, 1), (sh, 1), (ph, 0), groups=R, like=conv.weight)
    v = _new_conv(R, R, (1, kw), (1, sw), (0, pw), groups=R, like=conv.weight)
    b = _new_conv(R, K, 1, bias=conv.bias is not None, like=conv.weight)
    if fit:
        A, B, H, V = cp_factors(conv.weight.detach().to(torch.float64), R)
        _set(a.weight, B.T.reshape(R, C, 1, 1))
        _set(h.weight, H.T.reshape(R, 1, kh, 1))
        _set(v.weight, V.T.reshape(R, 1, 1, kw))
        _set(b.weight, A.reshape(K, R, 1, 1))
        if conv.bias is not None:
            _set(b.bias, conv.bias)
    return nn.Sequential(a, h, v, b)


def _torch_depthwise(conv, m: int, fit: bool):
    """Depthwise (C groups, m filters each) + pointwise: per input channel c, the K x N^2 slice
    W[:, c] is approximated by its rank-m SVD (exact at m = min(K, N^2))."""
    import torch
    from torch import nn

    K, C = conv.out_channels, conv.in_channels
    kh, kw = _pair(conv.kernel_size)
    d = _new_conv(C, C * m, conv.kernel_size, conv.stride, conv.padding, groups=C,
                  like=conv.weight)
    p = _new_conv(C * m, K, 1, bias=conv.bias is not None, like=conv.weight)
    if fit:
        w = conv.weight.detach().to(torch.float64)
        dw = torch.empty(C, m, kh * kw, dtype=torch.float64)
        pw = torch.empty(K, C, m, dtype=torch.float64)
        for c in range(C):
            U, S, Vh = torch.linalg.svd(w[:, c].reshape(K, -1), full_matrices=False)
            dw[c], pw[:, c] = Vh[:m], U[:, :m] * S[:m]
        _set(d.weight, dw.reshape(C * m, 1, kh, kw))
        _set(p.weight, pw.reshape(K, C * m, 1, 1))
        if conv.bias is not None:
            _set(p.bias, conv.bias)
    return nn.Sequential(d, p)


def _slice_conv(conv, out_idx=None, in_idx=None):
    """A copy of ``conv`` with only the output channels ``out_idx`` / inputs ``in_idx``
    (a depthwise conv keeps out_idx channels as its groups)."""
    w = conv.weight
    dw = conv.groups > 1
    if out_idx is not None:
        w = w[out_idx]
    if in_idx is not None and not dw:
        w = w[:, in_idx]
    cout = w.shape[0]
    cin = cout if dw else w.shape[1]
    new = _new_conv(cin, cout, conv.kernel_size, conv.stride, conv.padding,
                    groups=cout if dw else 1, bias=conv.bias is not None, like=conv.weight)
    if w.device.type != "meta":
        _set(new.weight, w.detach())
        if conv.bias is not None:
            _set(new.bias, conv.bias.detach()[out_idx] if out_idx is not None else conv.bias)
    return new


def _slice_bn(bn, idx):
    from torch import nn

    new = nn.BatchNorm2d(len(idx), bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    new = new.to(device=bn.weight.device if bn.affine else "cpu",
                 dtype=bn.weight.dtype if bn.affine else None)
    if new.weight is not None and bn.weight.device.type != "meta":
        for name in ("weight", "bias", "running_mean", "running_var"):
            src = getattr(bn, name)
            if src is not None:
                _set(getattr(new, name), src.detach()[idx])
    return new


def _setmod(model, name, mod):
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, mod)


def prune_model(model, keeps: dict, chains=None):
    """Channel pruning in place: for each chain whose producer is in ``keeps`` (a count), the
    producer keeps its filters of largest L1 norm in the unpruned model (ties: lower index),
    in index order."""
    import torch

    chains = [c for c in (prune_chains(model) if chains is None else chains)
              if c.producer in keeps]
    # the kept filters from the unpruned weights, before any conv loses input channels to
    # another chain (a conv can be one chain's consumer and the next one's producer)
    kept = {}
    for ch in chains:
        w = model.get_submodule(ch.producer).weight
        k = keeps[ch.producer]
        if w.device.type == "meta":
            kept[ch.producer] = torch.arange(k)
        else:
            norms = w.detach().abs().flatten(1).sum(1).tolist()
            order = sorted(range(len(norms)), key=lambda i: (-norms[i], i))
            kept[ch.producer] = torch.tensor(sorted(order[:k]))
    for ch in chains:
        idx = kept[ch.producer]
        prod = model.get_submodule(ch.producer)
        _setmod(model, ch.producer, _slice_conv(prod, out_idx=idx))
        for d in ch.depthwise:
            _setmod(model, d, _slice_conv(model.get_submodule(d), out_idx=idx))
        for b in ch.followers:
            _setmod(model, b, _slice_bn(model.get_submodule(b), idx))
        _setmod(model, ch.consumer, _slice_conv(model.get_submodule(ch.consumer), in_idx=idx))
    return model


def compress_model(model, spec: Spec, fit: bool = True):
    """``model`` (a torch module, changed in place) with ``spec`` applied. ``fit``: the new
    weights are the method's decomposition of the dense ones (False: shapes only, e.g. on the
    meta device)."""
    if spec.method == "structured":
        recipe = spec.recipe or Recipe(spec.network, "structured", tuple(
            (n, p["c"], p["n"]) for n, p in spec.assignment.items()))
        if fit:
            from accelsim.workload.recipe import structure

            return structure(model, recipe)
        # shapes only: no projection, whose cached per-axis pseudo-inverses
        # (structured._band_pinv) would be made on the ambient device (meta) and then served
        # to every later caller in the process
        from torch import nn

        from accelsim.workload.structured import StructuredConv2d, StructuredLinear

        for name, c, n in recipe.choices:
            m = model.get_submodule(name)
            new = (StructuredLinear(m.in_features, m.out_features, c, m.bias is not None)
                   if isinstance(m, nn.Linear) else
                   StructuredConv2d(m.in_channels, m.out_channels, m.kernel_size, c, n,
                                    m.stride, m.padding, m.groups, m.bias is not None))
            _setmod(model, name, new)
        return model
    if spec.method == "channel-prune":
        return prune_model(model, {n: p["keep"] for n, p in spec.assignment.items()})
    for name, p in spec.assignment.items():
        try:
            conv = model.get_submodule(name)
        except AttributeError:
            raise InputError("no such module in the model", source=spec.source, field="layer",
                             value=name) from None
        if spec.method == "small-kernel":
            new = _torch_small_kernel(conv, p["n"], fit)
        elif "rank" in p and max(_pair(conv.kernel_size)) == 1:
            new = _svd_1x1(conv, p["rank"], fit)
        elif spec.method == "low-rank":
            new = _torch_tucker2(conv, *p["ranks"], fit)
        elif spec.method == "low-rank-cp":
            new = _torch_cp(conv, p["rank"], fit)
        else:
            new = _torch_depthwise(conv, p["mult"], fit)
        _setmod(model, name, new)
    return model


def dense_reconstruction(module):
    """The dense N x N conv a transformed module computes (small-kernel, low-rank, CP,
    depthwise-separable), built from its factors: the reference of the float64 checks."""
    import torch
    from torch import nn

    if hasattr(module, "dense_weight"):
        w = module.dense_weight()
        conv0 = module.conv
        kern = tuple(w.shape[2:])
        out = nn.Conv2d(w.shape[1], w.shape[0], kern, conv0.stride,
                        (module.pads[2] + module.oh, module.pads[0] + module.ow),
                        bias=conv0.bias is not None).to(w.dtype)
        _set(out.weight, w)
        if conv0.bias is not None:
            _set(out.bias, conv0.bias)
        return out
    convs = list(module)
    first, last = convs[0], convs[-1]
    if len(convs) == 2 and first.groups == 1:          # 1x1 SVD
        w = torch.einsum("kr,rc->kc", last.weight[:, :, 0, 0], first.weight[:, :, 0, 0])
        w, kern, stride, pad = w[:, :, None, None], (1, 1), first.stride, first.padding
    elif len(convs) == 2:                               # depthwise-separable
        C = first.groups
        m = first.out_channels // C
        d = first.weight.reshape(C, m, *first.weight.shape[2:])
        p = last.weight[:, :, 0, 0].reshape(-1, C, m)
        w = torch.einsum("kcm,cmhw->kchw", p, d)
        kern, stride, pad = first.kernel_size, first.stride, first.padding
    elif len(convs) == 3:                               # Tucker-2
        core = convs[1]
        w = torch.einsum("ks,srhw,rc->kchw", last.weight[:, :, 0, 0], core.weight,
                         first.weight[:, :, 0, 0])
        kern, stride, pad = core.kernel_size, core.stride, core.padding
    else:                                               # CP
        h, v = convs[1], convs[2]
        w = torch.einsum("kr,rc,rh,rw->kchw", last.weight[:, :, 0, 0], first.weight[:, :, 0, 0],
                         h.weight[:, 0, :, 0], v.weight[:, 0, 0, :])
        kern = (h.kernel_size[0], v.kernel_size[1])
        stride, pad = (h.stride[0], v.stride[1]), (h.padding[0], v.padding[1])
    out = nn.Conv2d(w.shape[1], w.shape[0], kern, stride, pad,
                    bias=last.bias is not None).to(w.dtype)
    _set(out.weight, w)
    if last.bias is not None:
        _set(out.bias, last.bias)
    return out


__all__ = ["METHODS", "Spec", "Matched", "Chain", "method_name", "eligible", "check_param",
           "layer_transform", "transform_workload", "prune_chains", "network_chains",
           "resolve_spec", "load_spec_file", "default_spec", "spec_to_yaml", "spec_workload",
           "match_budget", "compress_model", "prune_model", "dense_reconstruction", "cp_factors"]
