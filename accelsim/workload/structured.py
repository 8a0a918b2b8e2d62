"""Structured convolutions in torch (Bhalgat et al., NeurIPS 2020; design.md section 2).

A structured Cout x C x N x N kernel is a weighted sum of c*n*n all-ones blocks of size
(C-c+1) x (N-n+1) x (N-n+1):   W = sum_{k,i,j} alpha[:, k, i, j] * 1[k:k+C-c+1, i:i+N-n+1, j:j+N-n+1]
so conv(X, W) == conv(sumpool3d(pad(X)), alpha): a weight-free stride-1 sum-pool, then a small
Cout x c x n x n conv with the original stride and no padding.

Grouped convs pool within each group's channels (c is per group; depthwise has c = 1). For a
rectangular N_h x N_w kernel, n applies per axis as min(n, N_axis).
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

from accelsim.common.errors import require


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _band(size: int, m: int, dtype=torch.float64) -> torch.Tensor:
    """size x m matrix whose column k is the all-ones window [k, k + size - m] along one axis."""
    b = size - m + 1
    B = torch.zeros(size, m, dtype=dtype)
    for k in range(m):
        B[k:k + b, k] = 1.0
    return B


def composite_basis(channels: int, kernel, c: int, n, dtype=torch.float64) -> torch.Tensor:
    """A: (channels*N_h*N_w) x (c*n_h*n_w), column (k, i, j) = vec of the all-ones block at
    offset (k, i, j). Every structured kernel of one output channel is A @ vec(alpha).
    The blocks are products of one window per axis, so A is the Kronecker product of three band
    matrices (channel, height, width)."""
    (Nh, Nw), (nh, nw) = _pair(kernel), _pair(n)
    return torch.kron(torch.kron(_band(channels, c, dtype), _band(Nh, nh, dtype)),
                      _band(Nw, nw, dtype))


@lru_cache(maxsize=256)
def _band_pinv(size: int, m: int) -> torch.Tensor:
    """pinv of the band matrix, through the normal equations: the band matrix has full column
    rank (row k's first one sits in column max(0, k - size + m)), so pinv = (B^T B)^-1 B^T, and a
    Cholesky solve of the m x m Toeplitz Gram matrix is ~50x cheaper than an SVD at m = 1024.
    Cached: a network repeats the same few (channels, c) pairs. Callers must not mutate it."""
    if m == size:  # c = C or n = N: the identity, no pooling on this axis
        return torch.eye(size, dtype=torch.float64)
    B = _band(size, m)
    return torch.cholesky_solve(B.T.contiguous(), torch.linalg.cholesky(B.T @ B))


def _project(w: torch.Tensor, c: int, n) -> torch.Tensor:
    """alpha = A^+ vec(W) for every output channel of w (Cout x C x N_h x N_w, float64).
    pinv of a Kronecker product is the Kronecker product of the pinvs, so the least-squares
    solve is three small per-axis products instead of one (C N^2) x (c n^2) pseudo-inverse:
    this is what makes decomposing ResNet-50's 2048-channel layers cheap."""
    (nh, nw) = _pair(n)
    _, C, Nh, Nw = w.shape
    Pc, Ph, Pw = (_band_pinv(L, m) for L, m in ((C, c), (Nh, nh), (Nw, nw)))
    # one axis at a time (einsum over all three at once would cost c n^2 C N^2 per output)
    t = torch.einsum("ka,oabd->okbd", Pc, w)
    t = torch.einsum("ib,okbd->okid", Ph, t)
    return torch.einsum("jd,okid->okij", Pw, t)


def _expand(alpha: torch.Tensor, C: int, kernel) -> torch.Tensor:
    """The dense kernel A @ vec(alpha) per output channel (Cout x C x N_h x N_w)."""
    (Nh, Nw) = _pair(kernel)
    _, c, nh, nw = alpha.shape
    Bc, Bh, Bw = (_band(L, m, alpha.dtype) for L, m in ((C, c), (Nh, nh), (Nw, nw)))
    t = torch.einsum("dj,okij->okid", Bw, alpha)
    t = torch.einsum("bi,okid->okbd", Bh, t)
    return torch.einsum("ak,okbd->oabd", Bc, t)


def structural_loss(weight: torch.Tensor, c: int, n) -> float:
    """||W - A A^+ W|| / ||W||: how far a dense kernel is from the structured subspace
    (the paper's structural regularization loss). A 2-D weight is a linear layer (N = 1)."""
    w = weight.detach().to(torch.float64)
    if w.dim() == 2:
        w = w.reshape(*w.shape, 1, 1)
    kernel = tuple(w.shape[2:])
    n = _clip_n(n, kernel)
    resid = w - _expand(_project(w, c, n), w.shape[1], kernel)
    norm = torch.linalg.norm(w)
    return float(torch.linalg.norm(resid) / norm) if norm > 0 else 0.0


def _clip_n(n, kernel):
    (nh, nw), (Nh, Nw) = _pair(n), _pair(kernel)
    return (min(nh, Nh), min(nw, Nw))


def sumpool(x: torch.Tensor, channel_window: int, window, groups: int = 1) -> torch.Tensor:
    """Stride-1 sum over (channel_window within each group) x window, no padding.
    avg_pool3d times the window volume: the cheapest exact sum torch offers on CPU and GPU."""
    b, C, H, W = x.shape
    bh, bw = _pair(window)
    xg = x.reshape(b * groups, 1, C // groups, H, W)
    s = F.avg_pool3d(xg, (channel_window, bh, bw), stride=1) * (channel_window * bh * bw)
    return s.reshape(b, -1, s.shape[-2], s.shape[-1])


class StructuredConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, c, n, stride=1, padding=0,
                 groups=1, bias=False):
        super().__init__()
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding = _pair(stride), _pair(padding)
        require(groups >= 1 and in_channels % groups == 0 and out_channels % groups == 0,
                "channels must divide into groups", field="groups", value=groups)
        cg = in_channels // groups
        require(isinstance(c, int) and 1 <= c <= cg, f"c must be in 1..{cg} (C/groups)",
                field="c", value=c)
        nn_ = _pair(n)
        require(min(nn_) >= 1, "n must be >= 1", field="n", value=n)
        require(max(nn_) <= max(self.kernel_size), f"n must be <= N ({self.kernel_size})",
                field="n", value=n)
        self.c = c
        self.n = _clip_n(nn_, self.kernel_size)
        self.alpha = nn.Parameter(torch.randn(out_channels, c, *self.n) / (c * self.n[0]) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    @property
    def pool_window(self):
        """(channels, height, width) of the all-ones block: (C/g - c + 1, N - n + 1 per axis)."""
        cg = self.in_channels // self.groups
        return (cg - self.c + 1, self.kernel_size[0] - self.n[0] + 1,
                self.kernel_size[1] - self.n[1] + 1)

    def forward(self, x):
        ph, pw = self.padding
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph))
        bc, bh, bw = self.pool_window
        s = sumpool(x, bc, (bh, bw), self.groups)
        return F.conv2d(s, self.alpha, self.bias, self.stride, 0, 1, self.groups)

    def basis(self, dtype=torch.float64):
        return composite_basis(self.in_channels // self.groups, self.kernel_size, self.c, self.n,
                               dtype)

    def dense_weight(self) -> torch.Tensor:
        return _expand(self.alpha, self.in_channels // self.groups, self.kernel_size)

    def to_dense(self) -> nn.Conv2d:
        conv = nn.Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride,
                         self.padding, groups=self.groups, bias=self.bias is not None)
        conv = conv.to(self.alpha.dtype)
        with torch.no_grad():
            conv.weight.copy_(self.dense_weight())
            if self.bias is not None:
                conv.bias.copy_(self.bias)
        return conv

    @classmethod
    def from_dense(cls, conv: nn.Conv2d, c: int, n) -> "StructuredConv2d":
        """Least-squares projection of a trained kernel: alpha = A^+ vec(W)."""
        require(conv.dilation in (1, (1, 1)), "only dilation 1 is supported", field="dilation",
                value=conv.dilation)
        m = cls(conv.in_channels, conv.out_channels, conv.kernel_size, c, n, conv.stride,
                conv.padding, conv.groups, conv.bias is not None)
        dtype = conv.weight.dtype
        alpha = _project(conv.weight.detach().to(torch.float64), c, m.n)
        m = m.to(dtype)
        with torch.no_grad():
            m.alpha.copy_(alpha.reshape(m.alpha.shape).to(dtype))
            if conv.bias is not None:
                m.bias.copy_(conv.bias)
        return m

    def structural_loss(self, weight: torch.Tensor) -> float:
        return structural_loss(weight, self.c, self.n)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"c={self.c}, n={self.n}, stride={self.stride}, padding={self.padding}, "
                f"groups={self.groups}")


class StructuredLinear(nn.Module):
    """A Cout x C linear layer as a sum of c all-ones feature windows of width C - c + 1."""

    def __init__(self, in_features, out_features, c, bias=True):
        super().__init__()
        require(isinstance(c, int) and 1 <= c <= in_features, f"c must be in 1..{in_features}",
                field="c", value=c)
        self.in_features, self.out_features, self.c = in_features, out_features, c
        self.alpha = nn.Parameter(torch.randn(out_features, c) / c ** 0.5)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def basis(self, dtype=torch.float64):
        return composite_basis(self.in_features, (1, 1), self.c, 1, dtype)

    def forward(self, x):
        w = self.in_features - self.c + 1
        s = F.avg_pool1d(x.unsqueeze(1), w, stride=1).squeeze(1) * w
        return F.linear(s, self.alpha, self.bias)

    def to_dense(self) -> nn.Linear:
        lin = nn.Linear(self.in_features, self.out_features, self.bias is not None)
        lin = lin.to(self.alpha.dtype)
        with torch.no_grad():
            lin.weight.copy_(self.alpha @ _band(self.in_features, self.c, self.alpha.dtype).T)
            if self.bias is not None:
                lin.bias.copy_(self.bias)
        return lin

    @classmethod
    def from_dense(cls, lin: nn.Linear, c: int, n=1) -> "StructuredLinear":
        m = cls(lin.in_features, lin.out_features, c, lin.bias is not None).to(lin.weight.dtype)
        w = lin.weight.detach().to(torch.float64)
        alpha = _project(w.reshape(*w.shape, 1, 1), c, 1).reshape(w.shape[0], c)
        with torch.no_grad():
            m.alpha.copy_(alpha.to(lin.weight.dtype))
            if lin.bias is not None:
                m.bias.copy_(lin.bias)
        return m

    def structural_loss(self, weight: torch.Tensor) -> float:
        return structural_loss(weight, self.c, 1)
