"""Layer/Workload model and the CSV schema: validation, closed-form counts, lossless round trip."""

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from accelsim.errors import InputError
from accelsim.workload import (Layer, Workload, accumulate_adds, macs, read_workload_csv,
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


def test_sumpool_separable_equals_brute_force_small():
    # count the adds of channel->height->width running windows by enumeration
    C, H, W, c, bn, p = 5, 4, 6, 3, 2, 1
    bc = C - c + 1
    Hp, Wp = H + 2 * p, W + 2 * p
    Ho, Wo = Hp - bn + 1, Wp - bn + 1
    sp = Layer("p", "sumpool", (C, H, W), (c, Ho, Wo), (bn, bn), padding=(p, p), pool_channels=bc,
               c=c, n=2)
    stage1 = c * Hp * Wp * (bc - 1)
    stage2 = c * Ho * Wp * (bn - 1)
    stage3 = c * Ho * Wo * (bn - 1)
    assert sumpool_adds(sp, "separable") == stage1 + stage2 + stage3
    assert sumpool_adds(sp, "direct") == c * Ho * Wo * (bc * bn * bn - 1)
    assert sumpool_adds(sp, "separable") < sumpool_adds(sp, "direct")


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
