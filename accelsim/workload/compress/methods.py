"""The methods, which layers each applies to, their per-layer parameters (checked here, once)
and their closed-form workload transforms (the layers that replace a conv)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from accelsim.common.errors import InputError, require
from accelsim.workload.layer import Layer, Workload
from accelsim.workload.recipe import structure_layer

METHODS = ("structured", "small-kernel", "channel-prune", "low-rank", "low-rank-cp", "depthwise")
ALIASES = {"depthwise-separable": "depthwise", "tucker2": "low-rank", "cp": "low-rank-cp",
           "prune": "channel-prune"}
PARAM_KEYS = {"small-kernel": ("n",), "channel-prune": ("keep",), "low-rank": ("ranks", "rank"),
              "low-rank-cp": ("rank",), "depthwise": ("mult",)}


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
