"""Structure from weights: known answers (a structured kernel has residual 0; a Gaussian one
sqrt(1 - c n^2 / (C N^2)); Sobel is exactly 2x2-structured), residuals against a brute-force
least-squares fit over the explicit composite kernels, the recipe writer, and bad weights."""

import itertools
import math

import pytest
import torch

from accelsim.cli import main
from accelsim.workload.decompose import choose_budget, choose_per_layer, decompose, layer_rows
from accelsim.workload.networks import load_workload
from accelsim.workload.recipe import load_recipe_file
from accelsim.workload.layer import Layer
from accelsim.workload.zoo import build_model


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _layer(C, K, N, groups=1):
    return Layer("x", "conv2d", (C * groups if groups > 1 else C, 8, 8), (K, 8, 8), (N, N),
                 padding=(N // 2, N // 2), groups=groups)


def brute_residual(w, c, n):
    """||W - A A^+ W|| / ||W|| with A's columns the all-ones blocks written out one by one and
    the fit by torch.linalg.lstsq (no Kronecker shortcut)."""
    K, C, N, _ = w.shape
    cols = []
    for k, i, j in itertools.product(range(c), range(n), range(n)):
        b = torch.zeros(C, N, N, dtype=torch.float64)
        b[k:k + C - c + 1, i:i + N - n + 1, j:j + N - n + 1] = 1
        cols.append(b.flatten())
    A = torch.stack(cols, 1)
    Y = w.reshape(K, -1).T.to(torch.float64)
    fit = A @ torch.linalg.lstsq(A, Y).solution
    return float(torch.linalg.norm(Y - fit) / torch.linalg.norm(Y))


def _row(rows, c, n):
    return next(r for r in rows if (r["c"], r["n"]) == (c, n))


def test_structured_kernel_has_residual_zero():
    from accelsim.workload.structured import StructuredConv2d

    torch.manual_seed(0)
    for c, n in ((4, 2), (6, 1), (2, 3), (8, 2)):
        m = StructuredConv2d(8, 5, 3, c, n).double()
        w = m.dense_weight().detach()
        rows = layer_rows(_layer(8, 5, 3), w)
        assert _row(rows, c, n)["residual"] < 1e-12
        # the other candidates are not exact (the subspaces are not nested), but each is the
        # least-squares fit
        r = max(rows, key=lambda r: r["residual"])
        assert r["residual"] == pytest.approx(brute_residual(w, r["c"], r["n"]), abs=1e-12)


@pytest.mark.parametrize("C,N,c,n", [(64, 3, 32, 2), (64, 3, 64, 2), (32, 3, 8, 1),
                                     (64, 1, 16, 1), (16, 5, 8, 3)])
def test_gaussian_kernel_mean_residual(C, N, c, n):
    g = torch.Generator().manual_seed(C * 100 + c)
    res = []
    for _ in range(4):
        w = torch.randn(64, C, N, N, generator=g, dtype=torch.float64)
        res.append(_row(layer_rows(_layer(C, 64, N), w), c, n)["residual"])
    expect = math.sqrt(1 - c * n * n / (C * N * N))
    assert abs(sum(res) / len(res) / expect - 1) <= 0.01


@pytest.mark.parametrize("c,n", [(2, 2), (1, 2), (3, 1), (4, 3), (1, 1)])
def test_residual_equals_brute_force_least_squares(c, n):
    torch.manual_seed(c * 10 + n)
    w = torch.randn(6, 4, 3, 3, dtype=torch.float64)
    if (c, n) == (4, 3):
        pytest.skip("the dense kernel itself is not a candidate")
    got = _row(layer_rows(_layer(4, 6, 3), w), c, n)["residual"]
    assert got == pytest.approx(brute_residual(w, c, n), abs=1e-12)


LAPLACIAN = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
SOBEL_X = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]


def test_hand_crafted_filters():
    """Sobel = [1,2,1]^T [1,0,-1]: [1,2,1] = [1,1,0] + [0,1,1] and [1,0,-1] = [1,1,0] - [0,1,1],
    so it is a 2x2-structured kernel (residual 0). The Laplacian is far from it: its residuals
    (docs/compression.md) equal the brute-force fit's."""
    sob = torch.tensor(SOBEL_X, dtype=torch.float64)[None, None]
    lap = torch.tensor(LAPLACIAN, dtype=torch.float64)[None, None]
    L = _layer(1, 1, 3)
    assert _row(layer_rows(L, sob), 1, 2)["residual"] < 1e-12
    assert _row(layer_rows(L, sob), 1, 1)["residual"] == pytest.approx(1.0)  # zero mean
    for n in (1, 2):
        got = _row(layer_rows(L, lap), 1, n)["residual"]
        assert got == pytest.approx(brute_residual(lap, 1, n), abs=1e-12)
        assert 0.5 < got <= 1.0


@pytest.fixture(scope="module")
def r56(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    sd = build_model("resnet56").state_dict()
    torch.save(sd, d / "r56.pt")
    return d, sd


def test_cli_recipe_meets_per_layer_residual(r56, tmp_path, capsys):
    d, sd = r56
    out = tmp_path / "out"
    assert main(["decompose", "--weights", str(d / "r56.pt"), "--network", "resnet56",
                 "--max-residual", "0.85", "--out", str(out)]) == 0
    capsys.readouterr()
    regular = load_workload("resnet56")
    rec = load_recipe_file(out / "recipe.yaml", regular)
    assert rec.choices
    for name, c, n in rec.choices:
        w = sd[f"{name}.weight"].to(torch.float64)
        if w.dim() == 2:
            w = w[:, :, None, None]
        assert brute_residual(w, c, n) <= 0.85 + 1e-9


def test_budget_mode_meets_network_residual(r56):
    d, sd = r56
    regular = load_workload("resnet56")
    rows, norms = decompose(sd, regular, "r56.pt")
    chosen = choose_budget(rows, norms, 0.5)
    assert chosen
    err = sum((ch.residual * norms[ch.layer]) ** 2 for ch in chosen)
    assert math.sqrt(err / sum(v * v for v in norms.values())) <= 0.5
    # a per-layer limit saves no more than the network-wide budget of the same value allows
    # for layers individually within it
    per = choose_per_layer(rows, 0.5)
    assert all(ch.residual <= 0.5 for ch in per)


@pytest.mark.parametrize("kind", ["missing", "shape", "pickled", "nofile", "notorch"])
def test_bad_weights_one_line_exit_2(r56, tmp_path, capsys, kind):
    d, sd = r56
    p = tmp_path / "w.pt"
    if kind == "missing":
        torch.save({k: v for k, v in sd.items() if k != "layer2.3.conv1.weight"}, p)
        needle = "layer2.3.conv1"
    elif kind == "shape":
        torch.save(dict(sd, **{"layer1.0.conv2.weight": torch.zeros(16, 16, 5, 5)}), p)
        needle = "layer1.0.conv2.weight"
    elif kind == "pickled":
        torch.save(build_model("resnet56"), p)
        needle = "state_dict"
    elif kind == "nofile":
        needle = "no such"
    else:
        p.write_text("hello")
        needle = "not a torch weights file"
    rc = main(["decompose", "--weights", str(p), "--network", "resnet56"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and needle in err and str(p) in err


def test_state_dict_under_a_key_and_dataparallel_prefix(r56, tmp_path, capsys):
    d, sd = r56
    p = tmp_path / "ck.pt"
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in sd.items()}}, p)
    assert main(["decompose", "--weights", str(p), "--network", "resnet56",
                 "--budget", "0.3"]) == 0
    assert "conv/linear layers structured" in capsys.readouterr().out


def test_torchscript_archive_is_read(r56, tmp_path, capsys):
    d, sd = r56
    p = tmp_path / "m.ts"
    torch.jit.trace(build_model("resnet56").eval(), torch.zeros(1, 3, 32, 32)).save(str(p))
    assert main(["decompose", "--weights", str(p), "--network", "resnet56",
                 "--max-residual", "0.5", "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    # the traced model holds the same seeded weights as the state_dict
    rec = load_recipe_file(tmp_path / "o" / "recipe.yaml", load_workload("resnet56"))
    rows, norms = decompose(sd, load_workload("resnet56"), "sd")
    assert {(n, c, k) for n, c, k in rec.choices} == {
        (ch.layer, ch.c, ch.n) for ch in choose_per_layer(rows, 0.5)}
