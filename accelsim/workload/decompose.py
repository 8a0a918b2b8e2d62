"""Structure from a user's own weights: how far each trained conv/linear kernel is from the
structured subspace of each candidate (c, n), and the recipe with the largest MAC saving that
stays within a residual.

The residual of layer W for (c, n) is the paper's structural loss ||W - A A^+ W|| / ||W||
(accelsim.workload.structured.structural_loss, over all output channels at once). Known answers
(tests/test_decompose.py): a structured kernel has residual 0; a Gaussian kernel's residual is
sqrt(1 - c n^2 / (C N^2)) (the projection keeps c n^2 of C N^2 equally likely directions).

Weights are read with ``torch.load(weights_only=True)`` only (tensors and plain containers; a
pickled Python object is refused, never run), or as a TorchScript archive.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from accelsim.common.errors import InputError, require
from accelsim.workload.recipe import structure_layer
from accelsim.workload.layer import Layer, Workload, macs, sumpool_adds


def candidates(layer: Layer) -> list[tuple[int, int]]:
    """(c, n) to try: c in {C, 3C/4, C/2, C/4, C/8} of the per-group channels, n from N down
    to 1; the dense (C, N) itself excluded."""
    cg = layer.in_shape[0] // layer.groups
    N = max(layer.kernel)
    cs = sorted({max(1, cg * j // 8) for j in (8, 6, 4, 2, 1)}, reverse=True)
    return [(c, n) for c in cs for n in range(N, 0, -1) if (c, n) != (cg, N)]


def expected_shape(layer: Layer) -> tuple[int, ...]:
    K, C = layer.out_shape[0], layer.in_shape[0]
    if layer.op == "linear":
        return (K, C)
    return (K, C // layer.groups, *layer.kernel)


def load_weights(path) -> dict:
    """{name: tensor} from a state_dict file (optionally under 'state_dict' or 'model', and with
    DataParallel's 'module.' prefix) or a TorchScript archive."""
    import pickle

    import torch

    path = Path(path)
    src = str(path)
    require(path.is_file(), "no such weights file", source=src)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            scripted = any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())
        if scripted:
            try:
                return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
            except RuntimeError as exc:
                raise InputError(f"unreadable TorchScript archive: {str(exc).splitlines()[0]}",
                                 source=src) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower():
            raise InputError("holds pickled Python objects (a whole saved module?); accelsim "
                             "loads tensors only: save model.state_dict(), or a TorchScript "
                             "archive", source=src) from None
        raise InputError("not a torch weights file", source=src) from None
    except Exception as exc:  # arbitrary bytes fail anywhere inside torch's legacy reader
        text = " ".join(str(exc).split())[:120]
        raise InputError(f"not a torch weights file ({type(exc).__name__}: {text})",
                         source=src) from None
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    require(isinstance(obj, dict), "expected a state_dict (a mapping of names to tensors)",
            source=src, field="type", value=type(obj).__name__)
    out = {}
    for k, v in obj.items():
        if isinstance(k, str) and isinstance(v, torch.Tensor):
            out[k.removeprefix("module.")] = v
    return out


def layer_weights(weights: dict, regular: Workload, src: str) -> dict:
    """{layer: weight tensor} for every conv/linear layer of the network, each checked."""
    out = {}
    for l in regular:
        if not l.is_gemm:
            continue
        key = f"{l.name}.weight"
        require(key in weights, f"layer missing from the weights file (no '{key}')",
                source=src, field="layer", value=l.name)
        w = weights[key]
        require(tuple(w.shape) == expected_shape(l),
                f"shape does not match the network's {l.name} (expected "
                f"{list(expected_shape(l))})", source=src, field=key, value=list(w.shape))
        out[l.name] = w
    return out


def layer_rows(layer: Layer, weight) -> list[dict]:
    """Every candidate of one layer: residual, MACs and the saving."""
    from accelsim.workload.structured import structural_loss

    dense = macs(layer)
    rows = []
    for c, n in candidates(layer):
        pool, small = structure_layer(layer, c, n)
        m = macs(small)
        rows.append({"layer": layer.name, "c": c, "n": n,
                     "residual": structural_loss(weight, c, n), "macs": m,
                     "macs_saved": dense - m, "saving": 1 - m / dense,
                     "pool_adds": sumpool_adds(pool, "separable")})
    return rows


@dataclass(frozen=True)
class Choice:
    layer: str
    c: int
    n: int
    residual: float
    macs_saved: int


def choose_per_layer(rows: list[dict], max_residual: float) -> list[Choice]:
    """Per layer, the candidate with the largest MAC saving whose residual <= max_residual
    (ties: the smaller residual); layers with none stay dense."""
    best: dict[str, dict] = {}
    for r in rows:
        if r["residual"] <= max_residual:
            b = best.get(r["layer"])
            if b is None or (r["macs_saved"], -r["residual"]) > (b["macs_saved"], -b["residual"]):
                best[r["layer"]] = r
    order = list(dict.fromkeys(r["layer"] for r in rows))
    return [Choice(n, best[n]["c"], best[n]["n"], best[n]["residual"], best[n]["macs_saved"])
            for n in order if n in best]


def choose_budget(rows: list[dict], norms: dict, budget: float) -> list[Choice]:
    """Network-wide: the residual of all weights together, sqrt(sum_l r_l^2 ||W_l||^2 /
    sum_l ||W_l||^2), stays <= budget. Greedy: repeatedly take the layer move (to a candidate
    of larger saving) with the most MACs saved per unit of squared error added."""
    total = sum(v ** 2 for v in norms.values())
    allow = budget ** 2 * total
    by_layer: dict[str, list] = {}
    for r in rows:
        by_layer.setdefault(r["layer"], []).append(r)
    cur: dict[str, dict] = {}
    used = 0.0
    while True:
        best, best_rate = None, 0.0
        for name, rs in by_layer.items():
            now = cur.get(name)
            e0 = (now["residual"] * norms[name]) ** 2 if now else 0.0
            s0 = now["macs_saved"] if now else 0
            for r in rs:
                de = (r["residual"] * norms[name]) ** 2 - e0
                ds = r["macs_saved"] - s0
                if ds <= 0 or used + de > allow:
                    continue
                rate = ds / max(de, 1e-300)
                if best is None or rate > best_rate:
                    best, best_rate = (name, r, de), rate
        if best is None:
            break
        name, r, de = best
        cur[name] = r
        used += de
    order = list(by_layer)
    return [Choice(n, cur[n]["c"], cur[n]["n"], cur[n]["residual"], cur[n]["macs_saved"])
            for n in order if n in cur]


def recipe_yaml(network: str, choices: list[Choice], description: str) -> str:
    """A recipe (accelsim.workload.recipe schema, ``layers:`` overrides) that ``load_recipe_file``
    reads."""
    import yaml

    data = {"network": network, "variant": "decomposed", "description": description,
            "layers": {ch.layer: {"c": ch.c, "n": ch.n} for ch in choices}}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def decompose(weights: dict, regular: Workload, src: str) -> tuple[list[dict], dict]:
    """All candidate rows of every conv/linear layer, and each layer's ||W||."""
    import torch

    ws = layer_weights(weights, regular, src)
    rows, norms = [], {}
    for l in regular:
        if l.name in ws:
            w = ws[l.name].detach().to(torch.float64)
            norms[l.name] = float(torch.linalg.norm(w))
            rows += layer_rows(l, w)
    return rows, norms


__all__ = ["candidates", "expected_shape", "load_weights", "layer_weights", "layer_rows",
           "choose_per_layer", "choose_budget", "recipe_yaml", "decompose", "Choice"]
