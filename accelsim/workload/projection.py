"""The structural regularizer's projection (mode ``regularized``, docs/training.md): per
structured layer and step, ``||W - P W|| / ||W||`` with P = A A^+ = P_c (x) P_h (x) P_w, a
Kronecker product of per-axis projections onto the span of all-ones windows; each axis is
applied the cheapest exact way of three (dense P, I - Q Q^T with Q the (L - m)-column null basis,
or B (B^T B)^-1 B^T with window sums and a banded Cholesky solve), and the gradient needs no
second projection: grad = r / (||r|| ||W||) - ||r|| W / ||W||^3 with r = W - P W (I - P is a
symmetric idempotent, so (I - P)^T r = r).

Here: each method's operation counts per axis (``_band_counts``), the cheapest method by
operations (``axis_method``), one axis as step ops (``_axis_ops``), and the torch computation
(``project``, ``regularizer_grad``). The choice by cycles on a machine, which runs the engines,
is in ``evaluate/training.py``.
"""

from __future__ import annotations

from functools import lru_cache

from accelsim.common.errors import InputError
from accelsim.workload.layer import Layer
from accelsim.workload.training_ops import StepOp, _vec_count

AXIS_METHODS = ("identity", "dense", "complement", "factored")


def _band_counts(L: int, m: int) -> dict:
    """Operation counts of applying the projection onto the span of the m all-ones windows of
    width b = L - m + 1 to one length-L vector, for each exact method (docs/training.md)."""
    b = L - m + 1
    if m == L:
        return {"identity": {"macs": 0, "mults": 0, "adds": 0}}
    w = min(b, m) - 1                         # half-bandwidth of the Gram matrix B^T B
    solve = 2 * (w * m - w * (w + 1) // 2)    # banded forward + backward substitution
    return {
        "dense": {"macs": L * L, "mults": 0, "adds": 0},
        "complement": {"macs": 2 * L * (L - m), "mults": 0, "adds": L},
        # B^T: m window sums (direct, or running sums); solve; B: L sums of <= b values
        "factored": {"macs": solve, "mults": 2 * m,
                     "adds": min(m * (b - 1), L + m - 2) + min(m * b - L, L + m - 2)},
    }


def _ops(c: dict) -> int:
    return 2 * c["macs"] + c["mults"] + c["adds"]


@lru_cache(maxsize=4096)
def axis_method(L: int, m: int) -> str:
    """The cheapest exact method (fewest operations, a MAC counted as two) for one axis."""
    counts = _band_counts(L, m)
    return min(counts, key=lambda k: (_ops(counts[k]), AXIS_METHODS.index(k)))


def _layer_axes(layer: Layer, c: int, n: int) -> list[tuple[str, int, int]]:
    """(axis, L, m) of a dense kernel structured with (c, n): channels per group, height,
    width."""
    cg = layer.in_shape[0] // layer.groups
    if layer.op == "linear":
        return [("c", cg, c)]
    R, S = layer.kernel
    return [("c", cg, c), ("h", R, min(n, R)), ("w", S, min(n, S))]



def _axis_ops(name: str, axis: str, L: int, m: int, vecs: int, meth: str) -> list[StepOp]:
    """One axis of P applied to ``vecs`` vectors of length L: dense P and the complement's two
    thin GEMMs on the MAC array (a 1x1 conv over a vecs x 1 map), the factored form's window
    sums and banded solves on the vector unit."""
    c = _band_counts(L, m)[meth]
    tag = f"{name}.reg.P{axis}"
    ops = []

    def vec(t, op, count):
        ops.extend(_vec_count(f"{tag}.{t}", op, count, name, "regularizer"))

    def gemm(t, k, n_):
        lay = Layer(f"{tag}{t}", "conv2d", (k, vecs, 1), (n_, vecs, 1))
        ops.append(StepOp(lay.name, "regularizer", lay, 1, "reg", name))

    if meth == "dense":
        gemm("", L, L)
    elif meth == "complement":
        gemm(".Qt", L, L - m)
        gemm(".Q", L - m, L)
        vec("sub", "add", c["adds"] * vecs)
    elif meth == "factored":
        vec("solve_mul", "mul", (c["macs"] + c["mults"]) * vecs)
        vec("solve_add", "add", c["macs"] * vecs)
        vec("sums", "add", c["adds"] * vecs)
    return ops



@lru_cache(maxsize=256)
def _axis_operator(L: int, m: int, meth: str):
    """The shape-only factors of one axis's projection (float64, cached: they depend on
    (L, m) alone, so a training loop builds them once): dense P, the null basis Q, or the
    band B with the Cholesky factor of B^T B. Callers must not mutate them."""
    import torch

    from accelsim.workload.structured import _band

    B = _band(L, m)
    if meth == "dense":
        return (B @ torch.linalg.pinv(B),)
    if meth == "complement":
        U, _, _ = torch.linalg.svd(B, full_matrices=True)
        return (U[:, m:].contiguous(),)
    if meth == "factored":
        return (B, torch.linalg.cholesky(B.T @ B))
    raise InputError("unknown projection method", field="method", value=meth)


def project(w, c: int, n, methods: dict | None = None):
    """P W = A A^+ W for a Cout x C x N_h x N_w (or Cout x C) tensor, one axis at a time, each
    by ``axis_method`` (or ``methods[axis]``): the computation the counts above describe."""
    import torch

    two_d = w.dim() == 2
    if two_d:
        w = w.reshape(*w.shape, 1, 1)
    _, C, Nh, Nw = w.shape
    nh, nw_ = (n, n) if not isinstance(n, (tuple, list)) else n
    out = w
    for dim, (axis, L, m) in zip((1, 2, 3), (("c", C, c), ("h", Nh, min(nh, Nh)),
                                             ("w", Nw, min(nw_, Nw)))):
        if m == L:
            continue
        meth = (methods or {}).get(axis) or axis_method(L, m)
        ops = [t.to(dtype=w.dtype, device=w.device) for t in _axis_operator(L, m, meth)]
        x = out.movedim(dim, -1)
        if meth == "dense":
            x = x @ ops[0].T
        elif meth == "complement":
            Q = ops[0]
            x = x - (x @ Q) @ Q.T
        else:
            B, chol = ops
            t = (x @ B).unsqueeze(-1)                      # B^T x: the m window sums
            y = torch.linalg.solve_triangular(chol, t, upper=False)
            y = torch.linalg.solve_triangular(chol.T, y, upper=True).squeeze(-1)
            x = y @ B.T                                    # B y: back to length L
        out = x.movedim(-1, dim)
    return out.reshape(out.shape[0], C) if two_d else out


def regularizer_grad(w, c: int, n, methods: dict | None = None):
    """(loss, dloss/dW) of ||W - PW|| / ||W|| without a second projection (see module doc)."""
    import torch

    r = w - project(w, c, n, methods)
    nr, nw = torch.linalg.norm(r), torch.linalg.norm(w)
    return nr / nw, r / (nr * nw) - nr * w / nw ** 3
