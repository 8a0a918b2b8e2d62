"""The torch side of the methods: each transform of a conv module (float64-fitted from the
dense weights, or shapes only), ``compress_model`` applying a spec to a model in place, and
``dense_reconstruction``, the dense conv a transformed module computes (the reference of the
float64 checks)."""

from __future__ import annotations

from accelsim.common.errors import InputError
from accelsim.workload.compress.prune import _new_conv, _pair, _set, _setmod, prune_model
from accelsim.workload.compress.spec import Spec
from accelsim.workload.recipe import Recipe

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
