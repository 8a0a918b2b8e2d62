"""The matched-budget mode: per-layer parameters of a method that make the network's MACs (or
weights) a given factor smaller, within MATCH_TOL."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from accelsim.common.errors import InputError, require
from accelsim.workload.compress.methods import (eligible, layer_transform, method_name,
                                                transform_workload)
from accelsim.workload.compress.prune import network_chains
from accelsim.workload.compress.spec import Spec, _freeze, spec_workload
from accelsim.workload.layer import Layer, Workload, macs, weight_count
from accelsim.workload.recipe import Recipe

MATCH_TOL = 0.02            # the matched-budget acceptance: within 2 % of the target
_GRID = 32                  # fractions j/32 of the channels the matched search may pick


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
