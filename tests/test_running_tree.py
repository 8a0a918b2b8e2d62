"""The running-sum (sliding-window) pool tree: closed forms against an explicit line-by-line
enumeration, against the adds and line-buffer reads the co-simulation performs, and its outputs
against torch (float64 to 1e-10 relative, int64 exactly)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from hypothesis import given, settings, strategies as st

from accelsim.hardware.arch import PRESET_DIR, Arch, PoolUnit
from accelsim.cli import main
from accelsim.check.cosim import Counter, cosim_structured, pool_running, run_sumpool
from accelsim.workload.counts import layer_counts
from accelsim.engine.poolunit import pool_traffic
from accelsim.workload.layer import Layer, running_linebuf_reads, sumpool_adds


# ---- an independent reference: walk every line of every stage ------------------------------
def line_cost(window: int, outputs: int) -> tuple[int, int]:
    """(adds, taps read) of one line: both ways walked output by output; the unit takes the one
    with fewer adds, and on a tie the one that reads fewer taps."""
    slide = [(window - 1, window) if i == 0 else (2, 2) for i in range(outputs)]
    direct = [(window - 1, window) for _ in range(outputs)]
    costs = [(sum(a for a, _ in way), sum(r for _, r in way)) for way in (slide, direct)]
    return min(costs)


def enumerate_running(layer: Layer) -> dict:
    """Adds and line-buffer traffic of the running tree for one image, line by line."""
    C, H, W = layer.in_shape
    g, bc, (bh, bw), (ph, pw) = layer.groups, layer.pool_channels, layer.kernel, layer.padding
    Hp, Wp = H + 2 * ph, W + 2 * pw
    c = C // g - bc + 1
    Ho, Wo = Hp - bh + 1, Wp - bw + 1
    assert layer.out_shape == (g * c, Ho, Wo)
    adds = reads = writes = 0
    for _group in range(g):                 # channel stage: SRAM words, no line-buffer reads
        for _y in range(Hp):
            for _x in range(Wp):
                adds += line_cost(bc, c)[0]
                writes += c                 # into line buffer 1
    for _ch in range(g * c):                # height stage over line buffer 1
        for _x in range(Wp):
            a, r = line_cost(bh, Ho)
            adds, reads, writes = adds + a, reads + r, writes + Ho   # into line buffer 2
    for _ch in range(g * c):                # width stage over line buffer 2
        for _y in range(Ho):
            a, r = line_cost(bw, Wo)
            adds, reads = adds + a, reads + r
    return {"adds": adds, "linebuf_reads": reads, "linebuf_writes": writes,
            "sram_reads": C * H * W}


def make_pool(C, H, W, g, bc, bh, bw, ph, pw) -> Layer:
    c = C // g - bc + 1
    return Layer("p", "sumpool", (C, H, W), (g * c, H + 2 * ph - bh + 1, W + 2 * pw - bw + 1),
                 (bh, bw), (1, 1), (ph, pw), groups=g, pool_channels=bc, c=c, n=1)


@st.composite
def pool_layers(draw, max_c=9, max_hw=8):
    kind = draw(st.sampled_from(["dense", "grouped", "depthwise"]))
    if kind == "depthwise":
        g = draw(st.integers(1, 5))
        cg = 1
    else:
        g = 1 if kind == "dense" else draw(st.integers(2, 3))
        cg = draw(st.integers(1, max_c))
    bc = draw(st.integers(1, cg))
    bh, bw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, bh - 2 * ph), max_hw))
    W = draw(st.integers(max(1, bw - 2 * pw), max_hw))
    return make_pool(g * cg, H, W, g, bc, bh, bw, ph, pw)


# hand-picked corners: bc = 1, windows of 1 and 2 (direct lines), window 3 (a tie), one-output
# lines, depthwise, padding wider than the input
CORNERS = [
    make_pool(4, 5, 5, 1, 1, 1, 1, 0, 0),
    make_pool(4, 5, 5, 1, 1, 2, 2, 1, 1),
    make_pool(6, 4, 7, 1, 2, 2, 1, 0, 2),
    make_pool(6, 6, 6, 1, 3, 3, 3, 1, 1),
    make_pool(8, 3, 3, 1, 8, 3, 3, 0, 0),
    make_pool(5, 7, 6, 5, 1, 4, 5, 2, 0),
    make_pool(12, 6, 5, 3, 3, 5, 4, 1, 2),
    make_pool(3, 1, 1, 1, 2, 3, 3, 1, 1),
]


def torch_sumpool(x: np.ndarray, layer: Layer) -> np.ndarray:
    """avg_pool3d over (channel-in-group, height, width) times the window volume, float64."""
    B, C, H, W = x.shape
    g, bc, (bh, bw), (ph, pw) = layer.groups, layer.pool_channels, layer.kernel, layer.padding
    xp = F.pad(torch.from_numpy(x), (pw, pw, ph, ph)).reshape(B * g, 1, C // g, H + 2 * ph,
                                                              W + 2 * pw)
    y = F.avg_pool3d(xp, (bc, bh, bw), stride=1) * (bc * bh * bw)
    return y.reshape(B, -1, *y.shape[-2:]).numpy()


def torch_int_sumpool(x: np.ndarray, layer: Layer) -> np.ndarray:
    """The same box sum in int64 with torch's unfold (exact)."""
    B, C, H, W = x.shape
    g, bc, (bh, bw), (ph, pw) = layer.groups, layer.pool_channels, layer.kernel, layer.padding
    t = torch.from_numpy(np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))))
    t = t.reshape(B, g, C // g, *t.shape[2:])
    s = t.unfold(2, bc, 1).unfold(3, bh, 1).unfold(4, bw, 1).sum((-1, -2, -3))
    assert s.dtype == torch.int64
    return s.reshape(B, -1, *s.shape[-2:]).numpy()


# ---- closed forms -------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(pool_layers(max_c=40, max_hw=20))
def test_closed_form_equals_line_enumeration(layer):
    ref = enumerate_running(layer)
    assert sumpool_adds(layer, "running") == ref["adds"]
    assert running_linebuf_reads(layer) == ref["linebuf_reads"]
    assert layer_counts(layer)["pool_adds_running"] == ref["adds"]
    # the running tree streams and buffers as the separable one: same SRAM reads and writes
    t = pool_traffic(layer, "separable")
    assert t["linebuf_writes"] == ref["linebuf_writes"]
    assert t["pool_sram_reads"] == ref["sram_reads"]


@pytest.mark.parametrize("layer", CORNERS, ids=range(len(CORNERS)))
def test_closed_form_corners(layer):
    ref = enumerate_running(layer)
    assert sumpool_adds(layer, "running") == ref["adds"]
    assert running_linebuf_reads(layer) == ref["linebuf_reads"]


@settings(max_examples=200, deadline=None)
@given(pool_layers(max_c=40, max_hw=20))
def test_running_never_costs_more_than_separable(layer):
    # every separable line is a direct line, and the running tree takes the cheaper per line
    assert sumpool_adds(layer, "running") <= sumpool_adds(layer, "separable")
    assert running_linebuf_reads(layer) <= pool_traffic(layer, "separable")["linebuf_reads"]


def test_windows_of_one_and_two_are_direct():
    # bc = 1 and 2x2 spatial windows: no line is long-windowed enough to slide, so the running
    # tree spends exactly the separable tree's adds
    layer = make_pool(16, 9, 9, 1, 1, 2, 2, 1, 1)
    assert sumpool_adds(layer, "running") == sumpool_adds(layer, "separable")
    # all windows 1: nothing to add
    assert sumpool_adds(make_pool(4, 5, 5, 1, 1, 1, 1, 0, 0), "running") == 0


def test_design_md_example():
    # design.md section 2: ResNet-18 layer3 3x3 conv, 256 channels 14x14, c = 128, n = 2, pad 1:
    # 14.8 M adds direct, 4.25 M separable, ~0.16 M running
    layer = make_pool(256, 14, 14, 1, 129, 2, 2, 1, 1)
    assert round(sumpool_adds(layer, "direct") / 1e6, 1) == 14.8
    assert round(sumpool_adds(layer, "separable") / 1e6, 2) == 4.25
    assert round(sumpool_adds(layer, "running") / 1e6, 2) == 0.16
    assert sumpool_adds(layer, "running") == enumerate_running(layer)["adds"]


# ---- co-simulation ------------------------------------------------------------------------
def _check_executed(layer: Layer, x: np.ndarray) -> Counter:
    cnt = Counter()
    out = pool_running(x, layer, cnt)
    ref = enumerate_running(layer)
    B = x.shape[0]
    assert vars(cnt) == {"adds": B * ref["adds"], "mults": 0, "sram_reads": B * ref["sram_reads"],
                         "linebuf_reads": B * ref["linebuf_reads"],
                         "linebuf_writes": B * ref["linebuf_writes"]}
    return out


@settings(max_examples=80, deadline=None)
@given(pool_layers(), st.integers(1, 2), st.integers(0, 2**16))
def test_cosim_float64_matches_torch_and_counts(layer, batch, seed):
    x = np.random.default_rng(seed).standard_normal((batch, *layer.in_shape))
    out = _check_executed(layer, x)
    ref = torch_sumpool(x, layer)
    assert out.shape == ref.shape and out.dtype == np.float64
    assert np.max(np.abs(out - ref)) <= 1e-10 * max(1.0, np.max(np.abs(ref)))


@settings(max_examples=80, deadline=None)
@given(pool_layers(), st.integers(1, 2), st.integers(0, 2**16))
def test_cosim_int64_is_exact(layer, batch, seed):
    # magnitudes near 2**52: float64 would round the window sums; int64 must not
    x = np.random.default_rng(seed).integers(-2**52, 2**52, (batch, *layer.in_shape))
    out = _check_executed(layer, x)
    assert out.dtype == np.int64
    assert np.array_equal(out, torch_int_sumpool(x, layer))


@pytest.mark.parametrize("layer", CORNERS, ids=range(len(CORNERS)))
def test_cosim_corners(layer):
    rng = np.random.default_rng(7)
    x = rng.integers(-1000, 1000, (2, *layer.in_shape))
    assert np.array_equal(_check_executed(layer, x), torch_int_sumpool(x, layer))
    xf = rng.standard_normal((2, *layer.in_shape))
    ref = torch_sumpool(xf, layer)
    assert np.max(np.abs(_check_executed(layer, xf) - ref)) <= 1e-10 * max(1.0, np.abs(ref).max())


def test_run_sumpool_dispatches_running_and_checks_counts():
    layer = make_pool(12, 6, 5, 3, 3, 5, 4, 1, 2)
    arch = Arch("t", 4, 4, "os", 64, 64, 64, pool=PoolUnit(tree="running"))
    x = np.random.default_rng(3).standard_normal((2, *layer.in_shape))
    out, errors = run_sumpool(x, layer, arch)
    assert errors == []
    assert np.max(np.abs(out - torch_sumpool(x, layer))) <= 1e-10 * np.abs(out).max()


def test_design_example_executed():
    # the design.md layer, run: the adds actually performed are the ~0.16 M of the closed form
    layer = make_pool(256, 14, 14, 1, 129, 2, 2, 1, 1)
    x = np.random.default_rng(0).standard_normal((1, *layer.in_shape))
    cnt = Counter()
    out = pool_running(x, layer, cnt)
    assert cnt.adds == 157_312 == sumpool_adds(layer, "running")
    ref = torch_sumpool(x, layer)
    assert np.max(np.abs(out - ref)) <= 1e-10 * np.abs(ref).max()


def test_structured_pair_reports_pool_error():
    pool = make_pool(8, 6, 6, 1, 5, 3, 3, 1, 1)
    conv = Layer("q", "conv2d", (4, 6, 6), (3, 4, 4), (3, 3), (1, 1), (0, 0), c=4, n=3)
    arch = Arch("t", 3, 4, "ws", 64, 64, 64, pool=PoolUnit(tree="running"))
    r = cosim_structured(pool, conv, arch, batch=2, seed=5)
    assert r.passed and r.count_errors == []
    assert r.pool_max_abs_error is not None and r.pool_max_abs_error <= 1e-10 * r.scale


def test_verify_cli_running_tree(tmp_path, capsys):
    d = yaml.safe_load((PRESET_DIR / "edge-npu.yaml").read_text())
    d["pool"]["tree"] = "running"
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(d))
    # resnet50:A's first pair pools 33 of 64 channels: its channel lines slide
    assert main(["verify", "-w", "resnet50:A", "--limit", "1", "--arch", str(p)]) == 0
    out = capsys.readouterr().out
    assert "running pool unit" in out and "1/1 passed" in out
