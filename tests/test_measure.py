"""measure: the timed models are the simulated workloads, the cumsum sum-pool is exact, rows are
consistent, bad options are InputErrors."""

import pytest
import torch

from accelsim.common.errors import InputError
from accelsim.check.measure import measure, timing_model, window_sum
from accelsim.workload.networks import load_workload
from accelsim.workload.structured import StructuredConv2d
from accelsim.workload.trace import trace
from accelsim.workload.layer import macs


def test_window_sum_equals_avg_pool_times_volume():
    x = torch.randn(2, 7, 9, 6, dtype=torch.float64)
    for dim, k in ((1, 1), (1, 4), (1, 7), (2, 3), (3, 6)):
        ref = torch.nn.functional.avg_pool3d(x.unsqueeze(1), tuple(
            k if d == dim else 1 for d in (1, 2, 3)), stride=1).squeeze(1) * k
        assert torch.allclose(window_sum(x, dim, k), ref, atol=1e-12)


def test_cumsum_conv_equals_structured_conv():
    torch.manual_seed(0)
    ref = StructuredConv2d(8, 6, 3, c=3, n=2, stride=2, padding=1, groups=2).double()
    model = timing_model("resnet56", "A", "cumsum")
    cls = type(next(m for m in model.modules() if isinstance(m, StructuredConv2d)))
    fast = cls(8, 6, 3, 3, 2, 2, 1, 2).double()
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(2, 8, 9, 11, dtype=torch.float64)
    assert torch.allclose(fast(x), ref(x), atol=1e-10)


@pytest.mark.parametrize("sumpool", ["cumsum", "avgpool3d"])
def test_timed_model_is_the_simulated_workload(sumpool):
    wl = load_workload("resnet56:B")
    got = trace(timing_model("resnet56", "B", sumpool), (3, 32, 32))
    key = lambda l: (l.op, l.in_shape, l.out_shape, l.kernel, l.groups, macs(l))
    assert [key(l) for l in got.layers] == [key(l) for l in wl.layers]


def test_measure_rows():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rows = measure(["resnet56"], ["A"], repeats=2, warmup=0, threads=1)
        # timed on the asked thread count, and the caller's setting is given back
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert all(r["threads"] == 1 for r in rows)
    assert [r["variant"] for r in rows] == ["regular", "A"]
    assert rows[0]["measured_speedup"] == 1.0
    assert rows[1]["measured_speedup"] == pytest.approx(
        rows[0]["measured_ms"] / rows[1]["measured_ms"])
    assert all(0 < r["measured_min_ms"] <= r["measured_ms"] for r in rows)


@pytest.mark.parametrize("kw", [{"device": "tpu"}, {"repeats": 0}, {"threads": 0},
                                {"sumpool": "fft"}])
def test_bad_options(kw):
    with pytest.raises(InputError):
        measure(["resnet56"], ["A"], **{"repeats": 1, "warmup": 0, **kw})
    with pytest.raises(InputError, match="resnet99"):
        measure(["resnet99"], ["A"], repeats=1)
