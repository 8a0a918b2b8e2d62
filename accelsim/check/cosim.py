"""Functional co-simulation: run real float64 tensors through the modelled schedule and compare
every output with torch (docs/poolunit.md).

- Pool unit, in its tree's adder order (check/pool_trees.py: direct, separable, running).
  Without a pool unit the sumpool runs on the array as ``poolunit.sumpool_as_conv``.
- MAC array, in the engine's fold order for its dataflow (mapping.py): for each row fold and
  column fold, every PE accumulates its products in the order the streamed dimension arrives;
  in ws/is, partial sums of successive row folds are added in the ofmap buffer. numpy is
  vectorized over one fold (and over groups, which are independent GEMMs: batching them changes
  no PE's addition order), never per MAC.
- References: torch's structured forward (sum-pool, then F.conv2d with alpha) and the dense
  equivalent conv with ``StructuredConv2d.dense_weight()``.

Every add and multiply the co-simulation performs is counted and checked against the closed
forms of workload/op_counts.py and the pool unit's traffic counts (engine/poolunit.pool_traffic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.hardware.arch import Arch
from accelsim.engine.poolunit import pool_traffic, sumpool_as_conv, sumpool_as_conv_weight
from accelsim.common.errors import require
from accelsim.workload.layer import (Layer, Workload, accumulate_adds, macs, running_linebuf_reads,
                       sumpool_adds)
from accelsim.check.pool_trees import Counter, pad_hw, pool_direct, pool_running, pool_separable

# float64 sums of a few thousand N(0,1) products agree with torch to ~1e-13; 1e-9 (relative to
# the output's magnitude) leaves room for any summation order while catching any wrong term
TOL = 1e-9


@dataclass
class CosimReport:
    name: str
    kind: str                      # structured | gemm | sumpool
    max_abs_error: float
    scale: float                   # max |reference|, the error's yardstick
    count_errors: list = field(default_factory=list)
    pool_max_abs_error: float | None = None   # the pooled map alone against torch's sum-pool

    @property
    def passed(self) -> bool:
        return self.max_abs_error <= TOL * max(1.0, self.scale) and not self.count_errors


# ---- MAC array ---------------------------------------------------------------------------
def im2col(x: np.ndarray, kernel, stride, padding, groups: int) -> np.ndarray:
    """(groups, B*E*F, (C/g)*R*S): rows are output pixels, columns the window in torch's weight
    order (channel, kernel row, kernel column)."""
    from numpy.lib.stride_tricks import sliding_window_view as swv

    B, C, _, _ = x.shape
    (R, S), (sh, sw) = kernel, stride
    xp = pad_hw(x, padding)
    xp = xp.reshape(B, groups, C // groups, *xp.shape[2:])
    win = swv(xp, (R, S), axis=(3, 4))[:, :, :, ::sh, ::sw]  # B, g, cg, E, F, R, S
    E, F = win.shape[3:5]
    return win.transpose(1, 0, 3, 4, 2, 5, 6).reshape(groups, B * E * F, -1), (E, F)


def array_gemm(A: np.ndarray, Wt: np.ndarray, arch: Arch, cnt: Counter) -> np.ndarray:
    """out[g] = A[g] @ Wt[g] computed fold by fold in the dataflow's order (mapping.py table).
    A: (G, M, K) ifmap operand, Wt: (G, K, N) filter operand."""
    G, M, K = A.shape
    N = Wt.shape[2]
    AR, AC = arch.rows, arch.cols
    out = np.empty((G, M, N))
    if arch.dataflow == "os":
        # rows hold M, columns hold N, K streams in: each PE accumulates its own output
        for m0 in range(0, M, AR):
            for n0 in range(0, N, AC):
                a, b = A[:, m0:m0 + AR, :], Wt[:, :, n0:n0 + AC]
                acc = a[:, :, 0, None] * b[:, None, 0, :]
                cnt.mults += acc.size
                for t in range(1, K):
                    acc = acc + a[:, :, t, None] * b[:, None, t, :]
                    cnt.mults += acc.size
                    cnt.adds += acc.size
                out[:, m0:m0 + AR, n0:n0 + AC] = acc
        return out
    # ws: rows hold K, columns N, M streams; is: rows hold K, columns M, N streams. Either way a
    # column's partial sum runs down the fold's rows in K order, and successive row folds are
    # added to the ofmap buffer's partial sums.
    col_dim = N if arch.dataflow == "ws" else M
    for k0 in range(0, K, AR):
        k1 = min(K, k0 + AR)
        for c0 in range(0, col_dim, AC):
            cs = slice(c0, c0 + AC)
            a = A if arch.dataflow == "ws" else A[:, cs, :]
            b = Wt[:, :, cs] if arch.dataflow == "ws" else Wt
            psum = a[:, :, k0, None] * b[:, None, k0, :]
            cnt.mults += psum.size
            for k in range(k0 + 1, k1):
                psum = psum + a[:, :, k, None] * b[:, None, k, :]
                cnt.mults += psum.size
                cnt.adds += psum.size
            dst = (slice(None), slice(None), cs) if arch.dataflow == "ws" else (
                slice(None), cs, slice(None))
            if k0 == 0:
                out[dst] = psum
            else:
                out[dst] = out[dst] + psum
                cnt.adds += psum.size
    return out


def conv_on_array(x: np.ndarray, weight: np.ndarray, layer: Layer, arch: Arch,
                  cnt: Counter) -> np.ndarray:
    g = layer.groups
    A, (E, F) = im2col(x, layer.kernel, layer.stride, layer.padding, g)
    require((E, F) == tuple(layer.out_shape[1:]), "output size is not torch's floor rule "
            "(a SCALE-Sim topology row?); co-simulation compares with torch",
            source=f"layer '{layer.name}'", field="out_shape", value=layer.out_shape)
    cout = weight.shape[0]
    Wt = weight.reshape(g, cout // g, -1).transpose(0, 2, 1)
    out = array_gemm(A, Wt, arch, cnt)                   # g, B*E*F, N
    B = x.shape[0]
    return out.reshape(g, B, E, F, cout // g).transpose(1, 0, 4, 2, 3).reshape(B, cout, E, F)


# ---- layer-level checks ------------------------------------------------------------------
def _check_counts(got: dict, want: dict) -> list[str]:
    return [f"{k}: executed {got[k]} != model {want[k]}" for k in want if got[k] != want[k]]


def run_sumpool(x: np.ndarray, layer: Layer, arch: Arch) -> tuple[np.ndarray, list[str]]:
    """The sumpool on this machine (pool unit or array), with its count checks."""
    B = x.shape[0]
    cnt = Counter()
    if arch.pool is None:
        conv = sumpool_as_conv(layer)
        out = conv_on_array(x, sumpool_as_conv_weight(layer), conv, arch, cnt)
        want = {"mults": B * macs(conv), "adds": B * accumulate_adds(conv)}
        return out, _check_counts(vars(cnt), want)
    tree = arch.pool.tree
    run = {"direct": pool_direct, "separable": pool_separable, "running": pool_running}[tree]
    out = run(x, layer, cnt)
    t = pool_traffic(layer, tree, B)
    want = {"adds": B * sumpool_adds(layer, tree), "sram_reads": t["pool_sram_reads"],
            "linebuf_reads": t["linebuf_reads"], "linebuf_writes": t["linebuf_writes"]}
    if tree == "running":
        # the running tree streams and buffers as the separable one (SRAM reads, writes); only
        # its line-buffer reads differ, and they have their own closed form
        want["linebuf_reads"] = B * running_linebuf_reads(layer)
    return out, _check_counts(vars(cnt), want)


def _err(a: np.ndarray, ref) -> tuple[float, float]:
    r = ref.detach().numpy()
    require(a.shape == r.shape, "shape mismatch", field="shape", value=(a.shape, r.shape))
    return float(np.max(np.abs(a - r))), float(np.max(np.abs(r)))


def cosim_structured(pool: Layer, conv: Layer, arch: Arch, batch: int = 1,
                     seed: int = 0) -> CosimReport:
    """A (sumpool, structured conv) pair against torch's structured and dense forwards."""
    import torch
    import torch.nn.functional as F

    from accelsim.workload.structured import StructuredConv2d, sumpool as torch_sumpool

    src = f"layer '{conv.name}'"
    require(pool.op == "sumpool" and conv.is_gemm and conv.structured,
            "not a (sumpool, structured conv) pair", source=src, field="op", value=conv.op)
    require(conv.in_shape == pool.out_shape and conv.padding == (0, 0),
            "conv does not consume the sumpool's output", source=src, field="in_shape",
            value=conv.in_shape)
    rng = np.random.default_rng(seed)
    C, H, W = pool.in_shape
    g = pool.groups
    c = C // g - pool.pool_channels + 1
    nh, nw = conv.kernel
    Nk = (nh + pool.kernel[0] - 1, nw + pool.kernel[1] - 1)
    cout = conv.out_shape[0]
    x = rng.standard_normal((batch, C, H, W))
    alpha = rng.standard_normal((cout, c, nh, nw))

    pooled, errors = run_sumpool(x, pool, arch)
    cnt = Counter()
    y = conv_on_array(pooled, alpha, conv, arch, cnt)
    errors += _check_counts(vars(cnt), {"mults": batch * macs(conv),
                                        "adds": batch * accumulate_adds(conv)})

    m = StructuredConv2d(C, cout, Nk, c, (nh, nw), conv.stride, pool.padding, g).double()
    with torch.no_grad():
        m.alpha.copy_(torch.from_numpy(alpha))
        xt = torch.from_numpy(x)
        ph, pw = pool.padding
        ref_pool = torch_sumpool(F.pad(xt, (pw, pw, ph, ph)), pool.pool_channels, pool.kernel, g)
        ref_struct = m(xt)
        ref_dense = F.conv2d(xt, m.dense_weight(), None, conv.stride, pool.padding, 1, g)
    e = [_err(pooled, ref_pool), _err(y, ref_struct), _err(y, ref_dense)]
    return CosimReport(conv.name, "structured", max(a for a, _ in e), max(s for _, s in e), errors,
                       pool_max_abs_error=e[0][0])


def cosim_gemm(layer: Layer, arch: Arch, batch: int = 1, seed: int = 0) -> CosimReport:
    """A regular conv/linear layer on the array against F.conv2d."""
    import torch
    import torch.nn.functional as F

    require(layer.is_gemm, "not a conv/linear layer", source=f"layer '{layer.name}'",
            field="op", value=layer.op)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *layer.in_shape))
    w = rng.standard_normal((layer.filters, layer.channels // layer.groups, *layer.kernel))
    cnt = Counter()
    y = conv_on_array(x, w, layer, arch, cnt)
    errors = _check_counts(vars(cnt), {"mults": batch * macs(layer),
                                       "adds": batch * accumulate_adds(layer)})
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, layer.stride, layer.padding,
                   1, layer.groups)
    err, scale = _err(y, ref)
    return CosimReport(layer.name, "gemm", err, scale, errors)


def structured_pairs(workload: Workload) -> list[tuple[Layer, Layer]]:
    ls = workload.layers
    return [(a, b) for a, b in zip(ls, ls[1:])
            if a.op == "sumpool" and b.is_gemm and b.structured and b.in_shape == a.out_shape]


def verify_workload(workload: Workload, arch: Arch, layers: list[str] | None = None,
                    limit: int | None = 3, batch: int = 1, seed: int = 0):
    """An iterator of CosimReports, one per checked unit: named layers (a sumpool or structured
    conv name selects its pair; a regular conv/linear runs alone), else the first ``limit`` structured
    pairs (all with limit=None), else, for a workload with none, its first ``limit`` GEMMs."""
    pairs = structured_pairs(workload)
    by_name = {}
    for p, cv in pairs:
        by_name[p.name] = by_name[cv.name] = (p, cv)
    if layers:
        units = []
        for name in layers:
            lyr = workload.layer(name)  # InputError naming the layer if absent
            unit = by_name.get(name)
            if unit is None:
                require(lyr.is_gemm, "only conv/linear layers and structured pairs can be "
                        "co-simulated", source=workload.network, field="layer", value=name)
                unit = (lyr,)
            if unit not in units:
                units.append(unit)
    elif pairs:
        units = pairs[:limit] if limit else pairs
    else:
        gemms = [(l,) for l in workload if l.is_gemm]
        units = gemms[:limit] if limit else gemms
    # units are chosen (and bad names rejected) before any co-simulation starts
    return (cosim_structured(u[0], u[1], arch, batch, seed + i) if len(u) == 2
            else cosim_gemm(u[0], arch, batch, seed + i) for i, u in enumerate(units))


__all__ = ["TOL", "CosimReport", "Counter", "pool_direct", "pool_separable", "pool_running",
           "array_gemm",
           "conv_on_array", "im2col", "run_sumpool", "cosim_structured", "cosim_gemm",
           "structured_pairs", "verify_workload"]
