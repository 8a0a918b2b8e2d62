"""Layer/Workload model and the CSV schema: validation, closed-form counts, lossless round trip."""

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from accelsim.common.errors import InputError
from accelsim.workload.layer import (Layer, Workload, accumulate_adds, macs, read_workload_csv,
                               scalesim_out_hw, sumpool_adds, torch_out_hw, workload_to_csv,
                               write_workload_csv)

REF = Path(__file__).resolve().parents[1] / "workloads" / "scalesim"


def conv(name="c", C=8, H=10, W=10, K=4, R=3, s=1, p=1, g=1):
    E, F = torch_out_hw(H, W, R, s, p)
    return Layer(name, "conv2d", (C, H, W), (K, E, F), (R, R), (s, s), (p, p), groups=g)


def test_macs_and_adds_closed_form():
    l = conv(C=8, H=10, W=10, K=4, R=3, s=1, p=1)
    assert macs(l) == 4 * 10 * 10 * 8 * 9
    assert accumulate_adds(l) == 4 * 10 * 10 * (8 * 9 - 1)
    dw = conv(C=8, K=8, g=8)
    assert macs(dw) == 8 * 10 * 10 * 9


def test_sumpool_adds_match_design_example():
    # design.md section 2: ResNet-18 layer3 3x3 conv 256->256 at 14x14, c=128, n=2
    bc, bn = 256 - 128 + 1, 2
    sp = Layer("p", "sumpool", (256, 14, 14), (128, 15, 15), (bn, bn), padding=(1, 1),
               pool_channels=bc, c=128, n=2)
    assert sumpool_adds(sp, "direct") == 128 * 15 * 15 * (bc * 4 - 1)
    assert round(sumpool_adds(sp, "direct") / 1e6, 1) == 14.8
    assert round(sumpool_adds(sp, "separable") / 1e6, 2) == 4.25


class _Adder:
    """Counts every two-input addition it performs."""

    def __init__(self):
        self.adds = 0

    def sum(self, values):
        total = values[0]
        for v in values[1:]:
            total = total + v
            self.adds += 1
        return total


def _pool_by_enumeration(x, g, bc, bh, bw, p):
    """Sum-pool of x (nested lists, C x H x W) in plain Python, both ways: every window summed
    on its own (direct), and channel -> height -> width running windows (separable), counting
    the additions each performs. Returns (direct values, direct adds, separable values,
    separable adds)."""
    C, H, W = len(x), len(x[0]), len(x[0][0])
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    xp = [[[x[k][y - p[0]][v - p[1]] if 0 <= y - p[0] < H and 0 <= v - p[1] < W else 0
            for v in range(Wp)] for y in range(Hp)] for k in range(C)]
    cg = C // g
    outs = [(gi * cg + k) for gi in range(g) for k in range(cg - bc + 1)]   # first channel
    Ho, Wo = Hp - bh + 1, Wp - bw + 1
    direct = _Adder()
    dval = [[[direct.sum([xp[k0 + dk][y + dy][v + dx] for dk in range(bc) for dy in range(bh)
                          for dx in range(bw)]) for v in range(Wo)] for y in range(Ho)]
            for k0 in outs]
    sep = _Adder()
    chan = [[[sep.sum([xp[k0 + dk][y][v] for dk in range(bc)]) for v in range(Wp)]
             for y in range(Hp)] for k0 in outs]
    height = [[[sep.sum([ch[y + dy][v] for dy in range(bh)]) for v in range(Wp)]
               for y in range(Ho)] for ch in chan]
    sval = [[[sep.sum([hs[y][v + dx] for dx in range(bw)]) for v in range(Wo)]
             for y in range(Ho)] for hs in height]
    return dval, direct.adds, sval, sep.adds


@pytest.mark.parametrize("C, H, W, g, c, bh, bw, p", [
    (5, 4, 6, 1, 3, 2, 2, (1, 1)),      # channel window 3, 2x2, padded
    (8, 5, 3, 2, 2, 3, 1, (0, 1)),      # two groups of 4 channels, 3x1 windows
    (3, 3, 3, 1, 3, 1, 1, (0, 0)),      # c = C, n = N: nothing to add
])
def test_sumpool_adds_equal_enumerated_windows(C, H, W, g, c, bh, bw, p):
    """The closed forms against the additions plain Python performs, window by window; both
    ways give the same pooled values (so the enumeration itself is right)."""
    import random

    rng = random.Random(C * 100 + H)
    x = [[[rng.randint(-9, 9) for _ in range(W)] for _ in range(H)] for _ in range(C)]
    bc = C // g - c + 1
    Ho, Wo = H + 2 * p[0] - bh + 1, W + 2 * p[1] - bw + 1
    sp = Layer("p", "sumpool", (C, H, W), (g * c, Ho, Wo), (bh, bw), padding=p, groups=g,
               pool_channels=bc, c=c, n=2)
    dval, dadds, sval, sadds = _pool_by_enumeration(x, g, bc, bh, bw, p)
    assert dval == sval
    assert sumpool_adds(sp, "direct") == dadds
    assert sumpool_adds(sp, "separable") == sadds
    assert sadds <= dadds


def test_scalesim_ofmap_rule_differs_at_odd_stride2():
    assert scalesim_out_hw(224, 224, 7, 2) == (110, 110)
    assert torch_out_hw(224, 224, 7, 2, 0) == (109, 109)


@pytest.mark.parametrize("bad, field", [
    (dict(op="conv3d"), "op"),
    (dict(kernel=(12, 12)), "kernel"),
    (dict(stride=(0, 1)), "stride"),
    (dict(in_shape=(0, 10, 10)), "in_shape"),
    (dict(groups=3), "groups"),
])
def test_bad_layers_raise_input_error_naming_field(bad, field):
    kw = dict(name="x", op="conv2d", in_shape=(8, 10, 10), out_shape=(4, 10, 10), kernel=(3, 3),
              padding=(0, 0))
    kw.update(bad)
    with pytest.raises(InputError, match=field):
        Layer(**kw)


layer_st = st.builds(
    lambda C, H, W, K, R, s, p, dw: conv("L", C=C if not dw else K, H=max(H, R), W=max(W, R),
                                         K=K, R=R, s=s, p=p, g=K if dw else 1),
    st.integers(1, 16), st.integers(1, 20), st.integers(1, 20), st.integers(1, 16),
    st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.booleans())


@settings(max_examples=40, deadline=None)
@given(st.lists(layer_st, min_size=1, max_size=5))
def test_csv_round_trip_is_lossless(tmp_path_factory, layers):
    layers = [Layer(**{**l.__dict__, "name": f"L{i}"}) for i, l in enumerate(layers)]
    wl = Workload("net", "A", tuple(layers), input_shape=(3, 32, 32))
    path = tmp_path_factory.mktemp("wl") / "w.csv"
    write_workload_csv(wl, path)
    back = read_workload_csv(path)
    assert back.layers == wl.layers
    assert (back.network, back.variant, back.input_shape) == ("net", "A", (3, 32, 32))
    assert workload_to_csv(back) == path.read_text()


def test_reads_scalesim_topology_as_is():
    wl = read_workload_csv(REF / "Resnet18.csv")
    assert len(wl) == 21
    conv1 = wl.layers[0]
    assert conv1.out_shape == (64, 110, 110)  # SCALE-Sim's ceil rule
    assert wl.layers[-1].name == "FC"


def test_malformed_csv_cell_names_file_line_and_field(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Strides,\nConv1, 224, 22x4, 3, 3, 3, 64, 1,\n")
    with pytest.raises(InputError) as ei:
        read_workload_csv(p)
    msg = str(ei.value)
    assert "t.csv:2" in msg and "IFMAP Width" in msg and "22x4" in msg


def test_filter_larger_than_ifmap_rejected(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Strides,\nConv1, 4, 4, 5, 5, 3, 64, 1,\n")
    with pytest.raises(InputError, match="Filter Height"):
        read_workload_csv(p)


def test_empty_layer_name_in_a_file_is_refused(tmp_path):
    """A layer read from a file needs a name (the engines' memo keys use '' internally)."""
    from accelsim.cli import main

    p = tmp_path / "t.csv"
    p.write_text("Layer name,IFMAP Height,IFMAP Width,Filter Height,Filter Width,Channels,"
                 "Num Filter,Strides\n ,8,8,3,3,4,4,1\n")
    assert main(["simulate", "--arch", "edge-npu", "--workload", str(p)]) == 2
