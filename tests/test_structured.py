"""Structured layers against torch: forward == dense equivalent, exact decomposition, loss."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from accelsim.common.errors import InputError
from accelsim.workload.structured import (StructuredConv2d, StructuredLinear, composite_basis,
                                 structural_loss)


def loop_basis(C, N, c, n):
    """The composite kernels written out one all-ones block at a time (design.md section 2),
    independent of the Kronecker form the module uses."""
    (Nh, Nw), (nh, nw) = N, n
    A = torch.zeros(C, Nh, Nw, c, nh, nw)
    for k in range(c):
        for i in range(nh):
            for j in range(nw):
                A[k:k + C - c + 1, i:i + Nh - nh + 1, j:j + Nw - nw + 1, k, i, j] = 1.0
    return A.reshape(C * Nh * Nw, c * nh * nw)

torch.set_default_dtype(torch.float64)


@st.composite
def conv_case(draw):
    depthwise = draw(st.booleans())
    g = draw(st.integers(1, 4)) if not depthwise else None
    cg = 1 if depthwise else draw(st.integers(1, 5))
    groups = draw(st.integers(2, 6)) if depthwise else g
    C = cg * groups
    Cout = groups * draw(st.integers(1, 3))
    Nh, Nw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    c = draw(st.integers(1, cg))
    n = draw(st.integers(1, max(Nh, Nw)))
    s, p = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    H = draw(st.integers(max(Nh, 1), 9))
    W = draw(st.integers(max(Nw, 1), 9))
    return C, Cout, (Nh, Nw), c, n, s, p, groups, H, W


@settings(max_examples=60, deadline=None)
@given(conv_case(), st.integers(0, 2**31 - 1))
def test_forward_equals_dense_conv_and_sumpool_identity(case, seed):
    C, Cout, N, c, n, s, p, g, H, W = case
    torch.manual_seed(seed)
    m = StructuredConv2d(C, Cout, N, c, n, s, p, g, bias=True)
    with torch.no_grad():
        m.bias.normal_()
    x = torch.randn(2, C, H, W)
    dense = m.to_dense()
    assert (m(x) - dense(x)).abs().max() <= 1e-10
    # independent check of conv(X, W) == conv(sumpool3d(pad(X)), alpha) with avg_pool3d
    bc, bh, bw = m.pool_window
    xp = F.pad(x, (p, p, p, p)).reshape(2 * g, 1, C // g, H + 2 * p, W + 2 * p)
    S = F.avg_pool3d(xp, (bc, bh, bw), 1) * (bc * bh * bw)
    S = S.reshape(2, -1, S.shape[-2], S.shape[-1])
    ref = F.conv2d(S, m.alpha, m.bias, s, 0, 1, g)
    assert (ref - F.conv2d(x, dense.weight, m.bias, s, p, 1, g)).abs().max() <= 1e-10


@settings(max_examples=30, deadline=None)
@given(conv_case(), st.integers(0, 2**31 - 1))
def test_structured_kernel_decomposes_exactly(case, seed):
    C, Cout, N, c, n, s, p, g, H, W = case
    torch.manual_seed(seed)
    m = StructuredConv2d(C, Cout, N, c, n, s, p, g)
    back = StructuredConv2d.from_dense(m.to_dense(), c, n)
    assert (back.alpha - m.alpha).abs().max() <= 1e-9
    assert structural_loss(m.to_dense().weight, c, n) <= 1e-12


def test_random_kernel_has_positive_loss_and_projection_is_least_squares():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 4, 3, padding=1)
    loss = structural_loss(conv.weight, 4, 2)
    assert loss > 0.1
    m = StructuredConv2d.from_dense(conv, 4, 2)
    resid = (m.to_dense().weight - conv.weight).detach().reshape(4, -1)
    # the residual is orthogonal to every composite kernel (normal equations)
    A = loop_basis(8, (3, 3), 4, (2, 2))
    assert (composite_basis(8, 3, 4, 2) - A).abs().max() == 0
    assert (resid @ A).abs().max() <= 1e-8
    assert m.structural_loss(conv.weight) == pytest.approx(loss)
    assert float(torch.linalg.norm(resid) / torch.linalg.norm(conv.weight.detach())) == pytest.approx(loss)


def test_rectangular_and_wide_projection_matches_explicit_pinv():
    # alpha = A^+ vec(W) with A built block by block, on a rectangular kernel (n clipped per axis)
    # and on a wide 1x1 layer where the module uses its cached per-axis solve
    torch.manual_seed(3)
    for C, Cout, N, c, n in ((6, 4, (3, 2), 3, 2), (300, 3, (1, 1), 120, 1)):
        conv = torch.nn.Conv2d(C, Cout, N)
        m = StructuredConv2d.from_dense(conv, c, n)
        nn_ = (min(n, N[0]), min(n, N[1]))
        assert m.n == nn_ and m.alpha.shape == (Cout, c, *nn_)
        A = loop_basis(C, N, c, nn_)
        ref = (torch.linalg.pinv(A) @ conv.weight.detach().reshape(Cout, -1).T).T
        assert (m.alpha.detach().reshape(Cout, -1) - ref).abs().max() <= 1e-9


def test_linear_equals_dense():
    torch.manual_seed(1)
    lin = torch.nn.Linear(12, 5)
    m = StructuredLinear.from_dense(lin, 7)
    x = torch.randn(3, 12)
    assert (m(x) - m.to_dense()(x)).abs().max() <= 1e-10
    m2 = StructuredLinear(12, 5, 7)
    assert StructuredLinear.from_dense(m2.to_dense(), 7).alpha.sub(m2.alpha).abs().max() < 1e-9
    assert m2.structural_loss(m2.to_dense().weight) <= 1e-12
    assert m.structural_loss(lin.weight) > 0.1
    # the dense weight of feature window k is the all-ones band [k, k + C - c]
    assert (m2.to_dense().weight - m2.alpha @ loop_basis(12, (1, 1), 7, (1, 1)).T).abs().max() < 1e-12
    with pytest.raises(InputError, match="field 'c' = 13"):
        StructuredLinear(12, 5, 13)


@pytest.mark.parametrize("kw, field", [(dict(c=9), "c"), (dict(c=0), "c"), (dict(n=4), "n"),
                                       (dict(n=0), "n"), (dict(groups=4, c=3), "c")])
def test_bad_c_n_rejected(kw, field):
    args = dict(in_channels=8, out_channels=4, kernel_size=3, c=4, n=2)
    args.update(kw)
    with pytest.raises(InputError, match=f"field '{field}'"):
        StructuredConv2d(**args)
