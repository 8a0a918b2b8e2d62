"""training: every training GEMM against torch autograd (shapes from the tensors autograd
uses, MACs from torch's own flop formulas), the dX/dW stride phases and the sum-pool backward
against autograd's gradients, the regularizer's projection against the dense A A^+, its
gradient against autograd, its operation counts against the Cholesky factor, and the step's
bookkeeping, CLI and errors."""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode, conv_backward_flop, conv_flop
from torch.utils._python_dispatch import TorchDispatchMode

from accelsim.hardware.arch import load_arch
from accelsim.common.errors import InputError
from accelsim.workload.recipe import structure_layer
from accelsim.evaluate.simulate import simulate
from accelsim.workload.structured import StructuredConv2d, composite_basis
from accelsim.evaluate.training import (
    AXIS_METHODS, _band_counts, apply_sumpool_backward, axis_method, dw_ops, dx_ops, gemm_macs,
    gemm_mkn, project, regularizer_grad, simulate_training, summarize_training,
    sumpool_backward_layer, train_rows, training_step)
from accelsim.workload.layer import Layer
from accelsim.workload.zoo import build_model, input_shape

aten = torch.ops.aten
ARCH = load_arch("scalesim-32x32-os")


# ---- GEMMs against torch autograd -------------------------------------------------------
class _Record(TorchDispatchMode):
    """The conv and matmul calls of a forward + backward, with their tensor shapes."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (aten.convolution.default, aten.convolution_backward.default,
                    aten.mm.default, aten.addmm.default):
            shapes = [list(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
            res = out if isinstance(out, tuple) else (out,)
            self.calls.append((func, shapes, [list(r.shape) if isinstance(r, torch.Tensor)
                                              else None for r in res]))
        return out


def _torch_gemms(net: str, batch: int):
    """Per conv/linear, in forward order: {fwd, dx, dw} -> (M, K, N, groups, MACs) as torch's
    tensors and flop formulas give them (MACs = flops / 2), plus FlopCounterMode's total."""
    model = build_model(net).to("meta").train()
    x = torch.randn(batch, *input_shape(net), device="meta")
    with _Record() as rec, FlopCounterMode(display=False) as fc:
        model(x).sum().backward()
    fwd, bwd, mms = [], [], []
    for func, a, out in rec.calls:
        if func is aten.convolution.default:
            xs, ws, groups = a[0], a[1], a[8]
            B, _, _, _ = xs
            E, Fw = out[0][2:]
            macs = conv_flop(xs, ws, None, a[3], a[4], a[5], a[6], out_val=out[0]) // 2
            fwd.append({"fwd": (B * E * Fw, ws[1] * ws[2] * ws[3], ws[0] // groups, groups,
                                macs)})
        elif func is aten.convolution_backward.default:
            go, xs, ws, groups, mask = a[0], a[1], a[2], a[9], a[10]
            B, C, H, W = xs
            _, K, E, Fw = go
            d = {}
            args = (go, xs, ws, None, a[4], a[5], a[6], a[7], a[8], groups)
            if mask[0]:
                d["dx"] = (B * H * W, (K // groups) * ws[2] * ws[3], C // groups, groups,
                           conv_backward_flop(*args, [True, False, False], out_val=out) // 2)
            # torch's dW formula ignores groups (g times the real count; fixed upstream in
            # pytorch/pytorch#183405): the real count is its count / g
            torch_dw = conv_backward_flop(*args, [False, True, False], out_val=out) // 2
            d["dw"] = ((C // groups) * ws[2] * ws[3], B * E * Fw, K // groups, groups,
                       torch_dw // groups, torch_dw)
            bwd.append(d)
        else:
            mms.append((func, a))
    # the one linear layer (fc / classifier): addmm forward, then dX and dW mms
    (f0, a0), *back = mms
    B, C = a0[1]
    K = a0[2][1]
    lin = {"fwd": (B, C, K, 1, B * C * K), "dx": None, "dw": None}
    for _, a in back:
        m_, k_ = a[0]
        n_ = a[1][1]
        if (m_, k_, n_) == (B, K, C):
            lin["dx"] = (B, K, C, 1, B * K * C)
        elif sorted((m_, k_, n_)) == sorted((K, B, C)):
            lin["dw"] = (C, B, K, 1, B * K * C)
    total = fc.get_total_flops() // 2
    return fwd, bwd[::-1], lin, total


@pytest.mark.parametrize("net", ["resnet18", "resnet50", "mobilenetv2", "resnet56"])
def test_every_training_gemm_equals_torch_autograd(net):
    """Full input size (meta tensors: shapes only, no arithmetic), batch 2."""
    batch = 2
    t_fwd, t_bwd, t_lin, t_total = _torch_gemms(net, batch)
    step = training_step(net, "regular", "regular", batch, ARCH)
    gemms = step.gemms()
    convs = [l for l in step.forward if l.op == "conv2d"]
    assert len(convs) == len(t_fwd) == len(t_bwd)
    ours_total = 0
    torch_total = 0
    for layer, tf, tb in zip(convs, t_fwd, t_bwd):
        mine = {k: [o for o in gemms if o.source == layer.name and o.gemm == k]
                for k in ("fwd", "dx", "dw")}
        # forward: one GEMM, the same (M, K, N, g) and MACs
        (fo,) = mine["fwd"]
        assert (*gemm_mkn(fo), gemm_macs(fo)) == tf["fwd"], layer.name
        # dX: only where autograd computes it (not for the image); per stride phase N = C/g,
        # and the phases' MACs add up to torch's count; stride 1 is the one transposed conv
        assert bool(mine["dx"]) == ("dx" in tb), layer.name
        if mine["dx"]:
            M, K, N, g, tm = tb["dx"]
            assert sum(gemm_macs(o) for o in mine["dx"]) == tm, layer.name
            assert all(gemm_mkn(o)[2:] == (N, g) for o in mine["dx"])
            if layer.stride == (1, 1):
                assert [gemm_mkn(o) for o in mine["dx"]] == [(M, K, N, g)]
        # dW: per kernel-tap phase N = K/g and K = B*E*F; the phases' M add up to (C/g)*R*S
        M, K, N, g, tm, torch_count = tb["dw"]
        assert sum(gemm_macs(o) for o in mine["dw"]) == tm, layer.name
        assert all(gemm_mkn(o)[1:] == (K, N, g) for o in mine["dw"])
        assert sum(gemm_mkn(o)[0] for o in mine["dw"]) == M
        ours_total += sum(gemm_macs(o) for k in mine for o in mine[k])
        torch_total += tf["fwd"][4] + tb.get("dx", (0,) * 5)[4] + torch_count
    (lin,) = [l for l in step.forward if l.op == "linear"]
    for k in ("fwd", "dx", "dw"):
        (o,) = [o for o in gemms if o.source == lin.name and o.gemm == k]
        assert (*gemm_mkn(o), gemm_macs(o)) == t_lin[k], k
        ours_total += gemm_macs(o)
        torch_total += t_lin[k][4]
    # the per-op formulas cover everything FlopCounterMode counted in the whole step
    assert torch_total == t_total


def test_grouped_dw_count_against_torch_on_split_groups():
    """The grouped dW count (torch's formula over-counts it g times) against torch counting
    the same layer as g separate ungrouped convs."""
    C, K, g, B = 12, 6, 3, 2
    layer = Layer("l", "conv2d", (C, 9, 9), (K, 5, 5), (3, 3), (2, 2), (1, 1), groups=g)
    mine = sum(gemm_macs(o) for o in dw_ops(layer, B))
    convs = [torch.nn.Conv2d(C // g, K // g, 3, 2, 1, bias=False) for _ in range(g)]
    x = torch.randn(B, C, 9, 9)
    outs = [cv(xi) for cv, xi in zip(convs, x.split(C // g, 1))]
    with FlopCounterMode(display=False) as fc:
        torch.cat(outs, 1).sum().backward()
    assert mine == fc.get_total_flops() // 2


# ---- the phase decomposition computes the gradients -------------------------------------
@pytest.mark.parametrize("R,s,p,H", [(3, 1, 1, 7), (3, 2, 1, 8), (1, 2, 0, 8), (7, 2, 3, 12),
                                     (5, 3, 2, 10), (3, 2, 1, 7)])
def test_dx_phases_are_the_transposed_conv(R, s, p, H):
    """Each dX phase Layer, run as the stride-1 conv it describes on dY, gives autograd's
    input gradient at its rows/cols; phases with no taps are the zero rows."""
    torch.manual_seed(0)
    C, K, B, g = 4, 6, 2, 2
    x = torch.randn(B, C, H, H, dtype=torch.float64, requires_grad=True)
    w = torch.randn(K, C // g, R, R, dtype=torch.float64)
    y = F.conv2d(x, w, stride=s, padding=p, groups=g)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    E = y.shape[-1]
    layer = Layer("l", "conv2d", (C, H, H), (K, E, E), (R, R), (s, s), (p, p), groups=g)
    got = torch.zeros_like(x)
    for op in dx_ops(layer, B):
        lay = op.layer
        a, b = (0, 0) if s == 1 else map(int, op.name.split("[")[1].rstrip("]").split(","))
        r0, c0 = (a + p) % s, (b + p) % s
        left = [len(range(r0, R, s)) - 1 - (a + p - r0) // s,
                len(range(c0, R, s)) - 1 - (b + p - c0) // s]
        sub = w[:, :, r0::s, c0::s].flip(2, 3)
        # (g, K/g, C/g, ...) -> (C, K/g, ...): the transposed kernel per group
        sub = sub.reshape(g, K // g, C // g, *sub.shape[2:]).transpose(1, 2).reshape(
            C, K // g, *sub.shape[2:])
        assert tuple(sub.shape[2:]) == lay.kernel
        if lay.padding != (0, 0):
            inp = F.pad(gy, (lay.padding[1],) * 2 + (lay.padding[0],) * 2)
            assert lay.padding == tuple(left)
        else:  # the window extent of dY, zero-filled outside it
            inp = F.pad(gy, (left[1], lay.in_shape[2], left[0], lay.in_shape[1]))
            inp = inp[:, :, :lay.in_shape[1], :lay.in_shape[2]]
        out = F.conv2d(inp, sub, groups=g)
        assert tuple(out.shape[1:]) == lay.out_shape
        got[:, :, a::s, b::s] = out
    assert torch.allclose(got, x.grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize("R,s,p,H", [(3, 1, 1, 7), (3, 2, 1, 8), (7, 2, 3, 12), (5, 3, 2, 10)])
def test_dw_phases_are_the_weight_gradient(R, s, p, H):
    torch.manual_seed(1)
    C, K, B = 3, 5, 2
    x = torch.randn(B, C, H, H, dtype=torch.float64)
    w = torch.randn(K, C, R, R, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, w, stride=s, padding=p)
    gy = torch.randn_like(y)
    (y * gy).sum().backward()
    E = y.shape[-1]
    layer = Layer("l", "conv2d", (C, H, H), (K, E, E), (R, R), (s, s), (p, p))
    got = torch.zeros_like(w)
    xp = F.pad(x, (p, p, p, p))
    for op in dw_ops(layer, B):
        lay = op.layer
        assert lay.kernel == (E, E) and op.batch == C
        a, b = (0, 0) if s == 1 else map(int, op.name.split("[")[1].split("]")[0].split(","))
        if s == 1:
            inp = x.transpose(0, 1)
            out = F.conv2d(inp, gy.transpose(0, 1), padding=lay.padding)
        else:
            inp = xp[:, :, a::s, b::s][:, :, :lay.in_shape[1], :lay.in_shape[2]]
            inp = F.pad(inp, (0, lay.in_shape[2] - inp.shape[3], 0,
                              lay.in_shape[1] - inp.shape[2])).transpose(0, 1)
            out = F.conv2d(inp, gy.transpose(0, 1))
        assert tuple(out.shape[1:]) == lay.out_shape
        got[:, :, a::s, b::s] = out.transpose(0, 1)
    assert torch.allclose(got, w.grad, atol=1e-10, rtol=0)


# ---- the sum-pool backward ----------------------------------------------------------------
@pytest.mark.parametrize("C,K,N,c,n,s,p,g", [(8, 5, 3, 5, 2, 2, 1, 1), (8, 4, 3, 8, 2, 1, 1, 1),
                                             (6, 6, 3, 1, 2, 1, 1, 6), (8, 6, 1, 3, 1, 1, 0, 1),
                                             (8, 4, 5, 2, 3, 1, 2, 2), (6, 3, 3, 4, 3, 2, 1, 1),
                                             (4, 4, 3, 2, 1, 1, 0, 1)])
def test_sumpool_backward_equals_autograd(C, K, N, c, n, s, p, g):
    """dX of a StructuredConv2d through autograd equals the flipped-window sum-pool Layer
    applied to the pooled map's gradient (float64, 1e-10)."""
    torch.manual_seed(2)
    H = 9
    m = StructuredConv2d(C, K, N, c, n, s, p, g).double()
    dense = Layer("l", "conv2d", (C, H, H), (K, (H + 2 * p - N) // s + 1,
                                             (H + 2 * p - N) // s + 1), (N, N), (s, s), (p, p),
                  groups=g)
    pool, _ = structure_layer(dense, c, n)
    x = torch.randn(2, C, H, H, dtype=torch.float64, requires_grad=True)
    bc, bh, bw = m.pool_window
    from accelsim.workload.structured import sumpool
    S = sumpool(F.pad(x, (p, p, p, p)), bc, (bh, bw), g)
    S.retain_grad()
    y = F.conv2d(S, m.alpha, None, m.stride, 0, 1, g)
    assert torch.allclose(y, m(x), atol=1e-12)
    (y * torch.randn_like(y)).sum().backward()
    bwd = sumpool_backward_layer(pool)
    assert bwd.out_shape == (C, H, H)
    got = apply_sumpool_backward(S.grad, bwd)
    assert got.shape == x.shape
    assert torch.allclose(got, x.grad, atol=1e-10, rtol=0)


# ---- the regularizer -------------------------------------------------------------------
CASES = [(6, 3, 3, 2), (8, 3, 4, 2), (8, 5, 8, 3), (5, 3, 1, 1), (16, 3, 9, 2), (7, 1, 3, 1),
         (12, 7, 5, 6)]


def _dense_projection(w, c, n):
    A = composite_basis(w.shape[1], tuple(w.shape[2:]), c, (min(n, w.shape[2]),
                                                            min(n, w.shape[3])))
    P = A @ torch.linalg.pinv(A)
    return (w.reshape(w.shape[0], -1) @ P.T).reshape(w.shape)


@pytest.mark.parametrize("C,N,c,n", CASES)
@pytest.mark.parametrize("method", [None, "dense", "complement", "factored"])
def test_projection_equals_dense_pinv(C, N, c, n, method):
    torch.manual_seed(3)
    w = torch.randn(4, C, N, N, dtype=torch.float64)
    meth = None if method is None else {"c": method, "h": method, "w": method}
    got = project(w, c, n, meth)
    assert torch.allclose(got, _dense_projection(w, c, n), atol=1e-10, rtol=0)


def test_projection_of_a_linear_weight():
    torch.manual_seed(4)
    w = torch.randn(5, 11, dtype=torch.float64)
    ref = _dense_projection(w.reshape(5, 11, 1, 1), 4, 1).reshape(5, 11)
    assert torch.allclose(project(w, 4, 1), ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("C,N,c,n", CASES[:4])
def test_regularizer_gradient_needs_no_second_projection(C, N, c, n):
    """The closed-form gradient equals autograd through the dense A A^+ (float64)."""
    torch.manual_seed(5)
    w = torch.randn(3, C, N, N, dtype=torch.float64, requires_grad=True)
    loss = torch.linalg.norm(w - _dense_projection(w, c, n)) / torch.linalg.norm(w)
    loss.backward()
    val, grad = regularizer_grad(w.detach(), c, n)
    assert abs(float(val) - float(loss.detach())) < 1e-12
    assert torch.allclose(grad, w.grad, atol=1e-10, rtol=0)


@pytest.mark.parametrize("L,m", [(3, 2), (3, 1), (64, 32), (64, 63), (256, 128), (9, 4)])
def test_axis_counts_against_the_cholesky_factor(L, m):
    """The factored solve's MACs are the off-diagonal non-zeros of the Gram matrix's Cholesky
    factor, twice (forward and backward substitution); the chosen method is the cheapest."""
    from accelsim.workload.structured import _band

    B = _band(L, m)
    chol = torch.linalg.cholesky(B.T @ B)
    off = int((chol.tril(-1).abs() > 1e-12).sum())
    counts = _band_counts(L, m)
    assert counts["factored"]["macs"] == 2 * off
    assert counts["dense"]["macs"] == L * L
    ops = {k: 2 * v["macs"] + v["mults"] + v["adds"] for k, v in counts.items()}
    assert ops[axis_method(L, m)] == min(ops.values())
    assert axis_method(L, m) in AXIS_METHODS


# ---- the step --------------------------------------------------------------------------
def test_forward_part_is_the_inference_run_and_parts_add_up():
    step = training_step("resnet56", "A", "direct", 2, load_arch("edge-npu"))
    df = simulate_training(step, load_arch("edge-npu"))
    inf = simulate(step.forward, load_arch("edge-npu"), 2)
    fwd = df[df["part"] == "forward"]
    assert list(fwd["total_cycles"]) == list(inf["total_cycles"])
    assert list(fwd["energy_pj"]) == pytest.approx(list(inf["energy_pj"]))
    s = summarize_training(df, load_arch("edge-npu"))
    assert s["cycles"] == sum(s[f"cycles_{p}"] for p in ("forward", "backward_data",
                                                         "backward_weight", "regularizer",
                                                         "optimizer", "activations"))
    # sum-pool backward on the pool unit, one per structured layer but the stem
    n_pool = sum(1 for l in step.forward if l.op == "sumpool")
    assert sum(1 for o in step.ops if o.layer.op == "sumpool") == n_pool


def test_regularizer_work_is_batch_independent_and_its_share_falls():
    rows = train_rows("resnet56", "A", ["regular", "regularized"], [1, 4], [ARCH])
    reg = [r for r in rows if r["mode"] == "regularized"]
    assert reg[0]["cycles_regularizer"] == reg[1]["cycles_regularizer"] > 0
    assert reg[0]["reg_share"] > reg[1]["reg_share"]
    plain = [r for r in rows if r["mode"] == "regular"]
    for p, r in zip(plain, reg):
        assert r["cycles"] - p["cycles"] == r["cycles_regularizer"]
        assert p["step_vs_regular"] == 1.0


@pytest.mark.parametrize("kw,msg", [
    ({"batch": 0}, "batch"),
    ({"mode": "regularized"}, "needs a structured variant"),
    ({"mode": "direct"}, "needs a structured variant"),
    ({"mode": "sgd"}, "unknown training mode"),
])
def test_bad_input(kw, msg):
    args = {"spec": "resnet56", "variant": "regular", "mode": "regular", "batch": 1, **kw}
    with pytest.raises(InputError, match=msg):
        training_step(**args)


def test_a_structured_trace_has_no_dense_backward(tmp_path):
    from accelsim.workload.networks import load_workload
    from accelsim.workload.layer import write_workload_csv

    p = tmp_path / "s.csv"
    write_workload_csv(load_workload("resnet56:A"), p)
    with pytest.raises(InputError, match="no backward model in mode 'regular'"):
        training_step(str(p), "regular", "regular", 1)
    # trained as it is, it is the direct mode of resnet56:A
    got = training_step(str(p), "regular", "direct", 2)
    ref = training_step("resnet56", "A", "direct", 2)
    assert [(o.name, o.layer, o.batch) for o in got.ops] == \
        [(o.name, o.layer, o.batch) for o in ref.ops]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "accelsim", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_cli_writes_tables_and_plots_deterministically(tmp_path):
    args = ["train", "resnet56", "--variant", "A", "--mode", "regular,regularized,direct",
            "--batch", "1,2", "--arch", "scalesim-32x32-os", "--kernel-batches", "1"]
    r1 = _cli(*args, "--out", str(tmp_path / "a"))
    assert r1.returncode == 0, r1.stderr
    r2 = _cli(*args, "--out", str(tmp_path / "b"))
    assert r2.returncode == 0, r2.stderr
    for f in ("training.csv", "training.md", "training.tex", "kernels.csv",
              "overhead_batch.svg", "overhead_kernel.svg"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "overhead_batch.png").stat().st_size > 0
    # the Python API returns the same table
    from accelsim.report.tables import to_csv
    from accelsim.cli.train import CSV_COLUMNS

    rows = train_rows("resnet56", "A", ["regular", "regularized", "direct"], [1, 2], [ARCH])
    assert to_csv(rows, CSV_COLUMNS) == (tmp_path / "a" / "training.csv").read_text()


@pytest.mark.parametrize("args,field", [
    (["resnet56", "--variant", "A", "--batch", "0"], "--batch"),
    (["resnet56", "--mode", "regularized"], "--mode"),
    (["resnet56", "--variant", "A", "--mode", "fast"], "--mode"),
    (["resnet56", "--variant", "A", "--batch", "x"], "--batch"),
    (["resnet56", "--variant", "A", "--arch", "edge-npu@0"], "--arch"),
])
def test_cli_bad_input_one_line_exit_2(tmp_path, args, field):
    r = _cli("train", *args, "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in r.stderr


# ---- measure --train ----------------------------------------------------------------------
def test_measure_train_times_every_mode_and_the_penalty_gradient_is_exact():
    from accelsim.check.measure import measure_train, train_model

    rows = measure_train(["resnet56"], "A", ["regular", "regularized", "direct"], batch=2,
                         repeats=1, warmup=0)
    assert [r["mode"] for r in rows] == ["regular", "regularized", "direct"]
    assert rows[0]["measured_vs_regular"] == 1.0
    assert all(r["measured_ms"] > 0 and r["threads"] == 1 for r in rows)
    # the timed penalty's gradient (closed form) is autograd's through the dense A A^+
    model, penalty = train_model("resnet56", "A", "regularized")
    model = model.double()
    penalty().backward()
    w = model.layer2[1].conv1.weight
    ref = w.detach().clone().requires_grad_(True)
    loss = torch.linalg.norm(ref - _dense_projection(ref, 32, 2)) / torch.linalg.norm(ref)
    loss.backward()
    assert torch.allclose(w.grad, ref.grad, atol=1e-10, rtol=0)


def test_measure_train_bad_input():
    from accelsim.check.measure import measure_train, train_model

    with pytest.raises(InputError, match="batch"):
        measure_train(["resnet56"], "A", ["regular"], batch=1)
    with pytest.raises(InputError, match="needs a structured variant"):
        train_model("resnet56", "regular", "direct")


@pytest.mark.parametrize("net,mode", [("resnet18", "regular"), ("resnet50", "regular"),
                                      ("resnet50", "direct")])
def test_residual_fanout_sum_is_over_the_block_input(net, mode):
    """The gradient sum of a residual block's fan-out covers the block input: the tensor the
    block's first conv reads (the projection's input in downsample blocks)."""
    step = training_step(net, "A", mode, 1, ARCH)
    layers = {l.name: l for l in step.forward}
    adds = [o for o in step.ops if o.name.endswith(".add.bwd")]
    assert len(adds) == sum(1 for l in step.forward if l.op == "add") > 0
    for o in adds:
        block = o.source.rsplit(".", 1)[0]
        first = layers.get(f"{block}.conv1.sumpool") or layers[f"{block}.conv1"]
        assert o.layer.in_shape == first.in_shape, o.name
