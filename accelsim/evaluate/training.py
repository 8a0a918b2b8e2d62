"""One training step on the accelerator: forward, backward-data, backward-weight, the structural
regularizer and the SGD-momentum update, as layers the existing engines run (docs/training.md).

The ops come from the workload side: ``workload/training_ops.py`` builds the backward pass
(``StepOp``, ``dx_ops``, ``dw_ops``, ``backward_ops`` ...) and ``workload/projection.py`` the
regularizer's projection; this module picks the regularizer's method per machine, adds the
optimizer, assembles the step and simulates it. The forward pass is ``simulate.simulate`` of
the workload itself (so it is the inference result, pool-unit fusion included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from accelsim.hardware.arch import Arch
from accelsim.common.errors import InputError, check_batch, require
from accelsim.workload.layer import Layer, Workload, weight_count
from accelsim.workload.projection import (AXIS_METHODS, _axis_ops, _band_counts,  # noqa: F401
                                          _layer_axes, _ops, axis_method, project,
                                          regularizer_grad)
from accelsim.workload.training_ops import (PARTS, StepOp, _vec_count,  # noqa: F401
                                            activation_words, apply_sumpool_backward,
                                            backward_ops, dw_ops, dx_ops, gemm_macs, gemm_mkn,
                                            sumpool_backward_layer)

MODES = ("regular", "regularized", "direct")


def regularizer_counts(layer: Layer, c: int, n: int, arch: Arch | None = None) -> dict:
    """Operations of one layer's regularizer per step, axis by axis: the method (the fewest
    operations, or with ``arch`` the fewest cycles on that machine) and its counts."""
    nw = weight_count(replace(layer, bias=False))
    out = {"weights": nw, "axes": []}
    for axis, L, m in _layer_axes(layer, c, n):
        vecs = nw // L
        meth = axis_method(L, m) if arch is None else _axis_method_cycles(L, m, vecs, arch)
        cnt = _band_counts(L, m)[meth]
        out["axes"].append({"axis": axis, "L": L, "m": m, "method": meth, "vectors": vecs,
                            **{k: v * vecs for k, v in cnt.items()}})
    return out


@lru_cache(maxsize=4096)
def _axis_method_cycles(L: int, m: int, vecs: int, arch: Arch) -> str:
    """The exact method with the fewest cycles on ``arch`` (ties: fewer operations)."""
    from accelsim.evaluate.simulate import simulate_layer

    counts = _band_counts(L, m)

    def cycles(meth):
        return sum(simulate_layer(o.layer, arch, o.batch)["total_cycles"]
                   for o in _axis_ops("x", "a", L, m, vecs, meth))

    return min(counts, key=lambda k: (cycles(k), _ops(counts[k]), AXIS_METHODS.index(k)))


def regularizer_ops(layer: Layer, c: int, n: int, weights_on_chip: bool,
                    arch: Arch | None = None) -> list[StepOp]:
    """The regularizer's work for one dense layer the recipe structures with (c, n), per step
    whatever the batch: each axis of P by ``regularizer_counts``' method, then the residual,
    both norms and the gradient on the vector unit."""
    rc = regularizer_counts(layer, c, n, arch)
    nw = rc["weights"]
    name = layer.name
    ops: list[StepOp] = []
    for ax in rc["axes"]:
        ops += _axis_ops(name, ax["axis"], ax["L"], ax["m"], ax["vectors"], ax["method"])
    # r = W - PW; ||r||^2 and ||W||^2 (2 MACs per weight); dW += a*r + b*W (2 MACs per weight)
    ops += _vec_count(f"{name}.reg.residual", "add", nw, name, "regularizer")
    ops += _vec_count(f"{name}.reg.norms_grad_mul", "mul", 4 * nw, name, "regularizer")
    ops += _vec_count(f"{name}.reg.norms_grad_add", "add", 4 * nw, name, "regularizer")
    if not weights_on_chip:
        # W read for the projection, r written and read back for the gradient pass
        first = ops[0]
        ops[0] = replace(first, extra=first.extra + (("dram_filter_reads", 2 * nw),
                                                     ("dram_ofmap_writes", nw)))
    return ops



# ---- the optimizer ------------------------------------------------------------------------
def optimizer_ops(params: int, arch: Arch) -> list[StepOp]:
    """SGD with momentum over ``params`` weights: v = mu*v + g, W = W - lr*v. It reads W, g and
    v and writes W and v; the three stay in DRAM when they do not fit in the filter SRAM."""
    out = []
    for tag, reads in (("momentum", 2 * params), ("update", params)):
        ops = _vec_count(f"optimizer.{tag}", "add", params, "", "optimizer")
        extra = (("mults", params),)
        if 3 * params > arch.sram_words("filter"):
            extra += (("dram_filter_reads", reads), ("dram_ofmap_writes", params))
        out += [replace(ops[0], extra=extra)] + ops[1:]
    return out


# ---- the whole step ------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingStep:
    network: str
    variant: str
    mode: str
    batch: int
    forward: Workload            # what the forward pass runs (dense, or structured in direct)
    ops: tuple[StepOp, ...]      # backward, regularizer and optimizer, in execution order
    params: int
    activation_words: int

    def gemms(self) -> list[StepOp]:
        fwd = [StepOp(l.name, "forward", l, self.batch, "fwd", l.name) for l in self.forward
               if l.is_gemm]
        return fwd + [o for o in self.ops if o.gemm]


def _variant_workloads(spec: str, variant: str) -> tuple[Workload, Workload | None]:
    """(dense workload, structured workload or None) of a spec and variant."""
    from pathlib import Path

    from accelsim.workload.networks import load_variant, load_workload

    dense = load_workload(spec)
    if variant == "regular":
        return dense, None
    if Path(spec).suffix.lower() in (".csv", ".onnx"):
        from accelsim.workload.recipe import load_recipe_file, structure

        require(Path(variant).suffix.lower() in (".yaml", ".yml"), "a workload file takes a "
                "recipe YAML as its variant (A/B are recipes of the shipped networks)",
                field="--variant", value=variant)
        return dense, structure(dense, load_recipe_file(variant, dense))
    return dense, load_variant(spec.partition(":")[0], variant)


def training_step(spec, variant: str = "regular", mode: str = "regular", batch: int = 1,
                  arch: Arch | None = None) -> TrainingStep:
    """The step of ``spec`` (a shipped network, a workload CSV/ONNX path, or a ``Workload``)
    trained in ``mode``; ``variant`` (A, B or a recipe YAML) names the structured twin."""
    check_batch(batch)
    require(mode in MODES, f"unknown training mode; expected one of {', '.join(MODES)}",
            field="--mode", value=mode)
    if isinstance(spec, Workload):
        dense, structured = spec, None
        if variant != "regular":
            from accelsim.workload.recipe import load_recipe_file, structure

            structured = structure(dense, load_recipe_file(variant, dense))
    else:
        dense, structured = _variant_workloads(spec, variant)
    if structured is None and mode == "direct" and any(l.op == "sumpool" for l in dense):
        structured = dense  # an already structured trace, trained as it is
    if mode != "regular":
        require(structured is not None, f"mode '{mode}' needs a structured variant "
                "(--variant A, B or a recipe YAML), not 'regular'", field="--mode", value=mode)
    if mode in ("regular", "regularized") and any(l.op == "sumpool" for l in dense):
        bad = next(l for l in dense if l.op == "sumpool")
        raise InputError(f"op 'sumpool' has no backward model in mode '{mode}' (dense training "
                         "of an already structured trace); train it with --mode direct or give "
                         "the dense network and --variant", source=dense.network,
                         field="layer", value=bad.name)
    from accelsim.hardware.arch import load_arch

    arch = arch or load_arch("scalesim-32x32-os")
    fwd = structured if mode == "direct" else dense
    ops = backward_ops(fwd, batch, mode)
    params = fwd.weights
    if mode == "regularized":
        on_chip = 3 * dense.weights <= arch.sram_words("filter")
        for l in structured:
            if l.is_gemm and l.structured:
                d = dense.layer(l.name)
                ops += regularizer_ops(d, l.c, l.n, on_chip, arch)
    ops += optimizer_ops(params, arch)
    return TrainingStep(dense.network, variant, mode, batch, fwd, tuple(ops), params,
                        activation_words(fwd, batch, arch.word_bits))


# ---- simulation ------------------------------------------------------------------------------
def _user_stall(row: dict, arch: Arch) -> dict:
    """Explicit DRAM traffic of a vector/regularizer row: in USER bandwidth mode the transfer
    time compute cannot hide is added as stall cycles (CALC mode is stall-free)."""
    if arch.bandwidth_mode != "user":
        return row
    words = row.get("dram_filter_reads", 0) + row.get("dram_ifmap_reads", 0) + \
        row.get("dram_ofmap_writes", 0)
    dram_cycles = math.ceil(words / arch.dram_bw_words_per_cycle)
    stall = max(0, dram_cycles - row.get("total_cycles", 0))
    if stall:
        row["stall_cycles"] = row.get("stall_cycles", 0) + stall
        row["total_cycles"] = row.get("total_cycles", 0) + stall
        row["bound"] = "memory"
    return row


def simulate_training(step: TrainingStep, arch: Arch):
    """One row per piece of the step (``part`` column first); forward rows are
    ``simulate.simulate`` of the forward workload, so they equal the inference result."""
    import pandas as pd

    from accelsim.evaluate.columns import add_energy_columns, finish_columns
    from accelsim.evaluate.simulate import _frame, simulate, simulate_layer

    fwd = simulate(step.forward, arch, step.batch)
    fwd.insert(0, "part", "forward")
    fwd.insert(1, "source", fwd["layer"])
    rows = []
    for op in step.ops:
        row = simulate_layer(op.layer, arch, op.batch)
        row["layer"] = op.name
        for k, v in op.extra:
            row[k] = row.get(k, 0) + v
        if op.extra:
            row = _user_stall(row, arch)
        rows.append(row)
    # activations kept for the backward: what the ifmap SRAM cannot hold goes out in the
    # forward pass and comes back in the backward pass
    spill = max(0, step.activation_words - arch.sram_words("ifmap"))
    rows.append(_user_stall({"layer": "activations", "op": "store", "engine": "dram",
                             "dram_ofmap_writes": spill, "dram_ifmap_reads": spill,
                             "total_cycles": 0, "bound": "memory"}, arch))
    back = add_energy_columns(finish_columns(_frame(rows), arch), arch)
    back.insert(0, "part", [o.part for o in step.ops] + ["activations"])
    back.insert(1, "source", [o.source for o in step.ops] + [""])
    df = pd.concat([fwd, back], ignore_index=True)
    num = df.select_dtypes("number").columns
    df[num] = df[num].fillna(0)
    return df


def summarize_training(df, arch: Arch) -> dict:
    """Step totals and the split by part (cycles, energy)."""
    cycles = int(df["total_cycles"].sum())
    out = {"cycles": cycles, "latency_ms": cycles / arch.clock_mhz / 1e3,
           "energy_uj": float(df["energy_pj"].sum()) / 1e6,
           "macs": int(df["macs"].sum()), "dram_bytes": float(df["dram_bytes"].sum())}
    for p in PARTS:
        sel = df["part"] == p
        out[f"cycles_{p}"] = int(df.loc[sel, "total_cycles"].sum())
        out[f"energy_{p}_uj"] = float(df.loc[sel, "energy_pj"].sum()) / 1e6
    out["reg_share"] = out["cycles_regularizer"] / cycles if cycles else 0.0
    out["reg_energy_share"] = (out["energy_regularizer_uj"] / out["energy_uj"]
                               if out["energy_uj"] else 0.0)
    return out


def train_rows(spec: str, variant: str, modes, batches, archs) -> list[dict]:
    """The ``accelsim train`` table: one row per arch, mode and batch, with the step's cycles,
    latency, energy, the split by part, the regularizer's share of the step and every mode's
    step time relative to the regular step at the same batch."""
    for m in modes:
        require(m in MODES, f"unknown training mode; expected one of {', '.join(MODES)}",
                field="--mode", value=m)
    for b in batches:
        check_batch(b)
    rows = []
    for arch in archs:
        for b in batches:
            base = None
            for mode in ["regular"] + [m for m in modes if m != "regular"]:
                step = training_step(spec, variant, mode, b, arch)
                s = summarize_training(simulate_training(step, arch), arch)
                base = s if mode == "regular" else base
                if mode not in modes:
                    continue
                rows.append({"arch": arch.name, "network": step.network, "variant": variant,
                             "mode": mode, "batch": b, "params": step.params, **s,
                             "step_vs_regular": s["cycles"] / base["cycles"],
                             "energy_vs_regular": s["energy_uj"] / base["energy_uj"]})
    return rows


def kernel_rows(archs, batches, kernels=(3, 5, 7), channels: int = 256, hw: int = 14) -> list[dict]:
    """The regularizer's share of one layer's training step (C = K = ``channels``, ``hw`` x
    ``hw``, stride 1, same padding, recipe c = C/2, n = N-1) for each kernel size and batch."""
    rows = []
    for arch in archs:
        for N in kernels:
            dense = Layer(f"conv{N}x{N}", "conv2d", (channels, hw, hw), (channels, hw, hw),
                          (N, N), (1, 1), ((N - 1) // 2, (N - 1) // 2))
            wl = Workload(f"conv{N}x{N}", "regular", (dense,), dense.in_shape)
            for b in batches:
                step = training_step(wl, "regular", "regular", b, arch)
                reg = regularizer_ops(dense, channels // 2, N - 1,
                                      3 * wl.weights <= arch.sram_words("filter"), arch)
                # the lone layer is not the network's first: its dX counts
                ops = dx_ops(dense, b) + list(step.ops) + reg
                step = replace(step, ops=tuple(ops))
                s = summarize_training(simulate_training(step, arch), arch)
                rows.append({"arch": arch.name, "kernel": N, "batch": b, "cycles": s["cycles"],
                             "cycles_regularizer": s["cycles_regularizer"],
                             "reg_share": s["reg_share"]})
    return rows


__all__ = ["MODES", "PARTS", "StepOp", "TrainingStep", "training_step", "simulate_training",
           "summarize_training", "train_rows", "kernel_rows", "dx_ops", "dw_ops",
           "backward_ops", "gemm_mkn", "gemm_macs", "sumpool_backward_layer",
           "apply_sumpool_backward", "regularizer_counts", "regularizer_ops", "axis_method",
           "project", "regularizer_grad", "optimizer_ops", "activation_words"]
