"""Functional co-simulation against torch (float64), and the verify CLI."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from accelsim.hardware.arch import Arch, PoolUnit
from accelsim.cli import main
from accelsim.check.cosim import TOL, cosim_gemm, cosim_structured, run_sumpool
from accelsim.engine.poolunit import sumpool_as_conv
from accelsim.workload.layer import Layer


@st.composite
def structured_pair(draw):
    depthwise = draw(st.booleans())
    C = draw(st.integers(1, 6))
    g = C if depthwise else 1
    c = 1 if depthwise else draw(st.integers(1, C))
    N = draw(st.integers(1, 3))
    n = draw(st.integers(1, N))
    s, p = draw(st.integers(1, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, N - 2 * p), 7))
    W = draw(st.integers(max(1, N - 2 * p), 7))
    cout = C if depthwise else draw(st.integers(1, 5))
    b = N - n + 1
    Hq, Wq = H + 2 * p - b + 1, W + 2 * p - b + 1
    pool = Layer("p", "sumpool", (C, H, W), (g * c, Hq, Wq), (b, b), (1, 1), (p, p), groups=g,
                 pool_channels=C // g - c + 1, c=c, n=n)
    conv = Layer("q", "conv2d", (g * c, Hq, Wq), (cout, (Hq - n) // s + 1, (Wq - n) // s + 1),
                 (n, n), (s, s), (0, 0), groups=g, c=c, n=n)
    return pool, conv


ARCHS = st.builds(lambda r, k, df, pool: Arch("t", r, k, df, 64, 64, 64, pool=pool),
                  st.integers(1, 5), st.integers(1, 5), st.sampled_from(["os", "ws", "is"]),
                  st.sampled_from([None, PoolUnit(tree="direct"), PoolUnit(tree="separable"),
                                   PoolUnit(tree="running")]))


@settings(max_examples=60, deadline=None)
@given(structured_pair(), ARCHS, st.integers(1, 2), st.integers(0, 2**16))
def test_cosim_matches_torch_and_closed_forms(pair, arch, batch, seed):
    # cosim_structured compares with torch's structured forward and the dense to_dense conv,
    # and checks every executed add/mult/access count against the model's closed forms
    r = cosim_structured(*pair, arch, batch, seed)
    assert r.count_errors == []
    assert r.max_abs_error <= TOL * max(1.0, r.scale)
    assert r.passed
    # the pooled map alone is reported too, whatever the tree's add/subtract order
    if arch.pool is not None:
        assert r.pool_max_abs_error <= TOL * max(1.0, r.scale)


@settings(max_examples=20, deadline=None)
@given(structured_pair(), st.sampled_from(["direct", "separable", "running"]))
def test_executed_pool_adds_equal_closed_form(pair, tree):
    pool, _ = pair
    arch = Arch("t", 4, 4, "os", 64, 64, 64, pool=PoolUnit(tree=tree))
    x = np.random.default_rng(1).standard_normal((2, *pool.in_shape))
    out, errors = run_sumpool(x, pool, arch)
    assert errors == []
    # independent of the model: a 3-D box sum by cumulative sums
    g, bc, (bh, bw) = pool.groups, pool.pool_channels, pool.kernel
    ph, pw = pool.padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    xg = xp.reshape(2, g, -1, *xp.shape[2:])
    cs = np.pad(xg.cumsum(2).cumsum(3).cumsum(4), ((0, 0), (0, 0), (1, 0), (1, 0), (1, 0)))
    c, Ho, Wo = out.shape[1] // g, out.shape[2], out.shape[3]
    k, i, j = np.arange(c)[:, None, None], np.arange(Ho)[None, :, None], np.arange(Wo)
    box = sum((-1) ** (a + b_ + d) * cs[:, :, k + a * bc, i + b_ * bh, j + d * bw]
              for a in (0, 1) for b_ in (0, 1) for d in (0, 1))
    assert np.allclose(out, -box.reshape(out.shape), atol=1e-9)


def test_sumpool_as_conv_is_exact_and_counts_dense_macs():
    pool = Layer("p", "sumpool", (6, 5, 5), (4, 6, 6), (2, 2), (1, 1), (1, 1), groups=2,
                 pool_channels=2, c=2, n=2)
    conv = sumpool_as_conv(pool)
    assert conv.op == "conv2d" and conv.groups == 2 and not conv.structured
    with_unit = Arch("t", 3, 3, "ws", 64, 64, 64, pool=PoolUnit())
    without = with_unit.with_(pool=None)
    x = np.random.default_rng(0).standard_normal((1, 6, 5, 5))
    a, ea = run_sumpool(x, pool, with_unit)
    b, eb = run_sumpool(x, pool, without)
    assert ea == [] and eb == []
    assert np.max(np.abs(a - b)) < 1e-12


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_regular_conv_and_linear_on_array(df):
    arch = Arch("t", 4, 3, df, 64, 64, 64)
    conv = Layer("g", "conv2d", (6, 9, 9), (4, 5, 5), (3, 3), (2, 2), (1, 1), groups=2)
    lin = Layer("fc", "linear", (10, 1, 1), (7, 1, 1))
    for layer in (conv, lin):
        r = cosim_gemm(layer, arch, batch=2, seed=3)
        assert r.passed, r


def test_verify_cli(capsys):
    assert main(["verify", "-w", "resnet18:A", "--limit", "1", "--arch", "scalesim-32x32-os"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "1/1 passed" in out
    assert main(["verify", "-w", "resnet18:A", "--layers", "nope"]) == 2
    assert main(["verify", "-w", "resnet18:A", "--limit", "0"]) == 2
    assert main(["verify", "-w", "nonet"]) == 2
