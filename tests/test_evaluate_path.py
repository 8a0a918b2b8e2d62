"""One evaluation path (issue 13): the derived and energy columns are computed once, on a table
(a dict of numpy arrays); simulate's DataFrame and a sweep's memoized evaluation are two ends of
the same steps. The sweep package keeps every name the single sweep.py module had."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from accelsim.common.errors import InputError
from accelsim.evaluate import columns
from accelsim.evaluate.simulate import evaluate, layer_table, simulate
from accelsim.hardware.arch import Arch, PoolUnit
from accelsim.workload.layer import Layer, Workload

ROOT = Path(__file__).resolve().parents[1]


def _workload() -> Workload:
    # every engine: a conv, a (sumpool, structured conv) pair, a max-pool and an add (vector)
    return Workload("toy", "A", (
        Layer("c1", "conv2d", (8, 10, 10), (8, 10, 10), (3, 3), padding=(1, 1)),
        Layer("c2.sumpool", "sumpool", (8, 10, 10), (6, 9, 9), (2, 2), pool_channels=3, c=6,
              n=1),
        Layer("c2", "conv2d", (6, 9, 9), (16, 9, 9), (1, 1), c=6, n=1),
        Layer("mp", "maxpool", (16, 9, 9), (16, 4, 4), (2, 2), (2, 2)),
        Layer("fc", "linear", (256, 1, 1), (10, 1, 1), (1, 1)),
    ), (8, 10, 10))


_ARCHS = [
    Arch("a", 8, 8, "ws", 4, 2, 2, word_bits=16, clock_mhz=400.0,
         pool=PoolUnit(lanes=4, tree="separable", mode="fused", staging_kb=None)),
    Arch("b", 16, 4, "os", 1, 1, 1, bandwidth_mode="user", dram_bw_words_per_cycle=2.0,
         stall_model="overlap"),
]


@pytest.mark.parametrize("arch", _ARCHS, ids=lambda a: a.name)
def test_simulate_is_the_table_as_a_dataframe(arch):
    wl = _workload()
    table = layer_table(wl, arch, 2)
    df = simulate(wl, arch, 2)
    assert list(df.columns) == list(table)
    for c, v in table.items():
        assert isinstance(v, np.ndarray) and len(v) == len(wl.layers), c
        assert df[c].tolist() == v.tolist(), c
    # the memoized path: the same table without the engines' extra columns
    memo = layer_table(wl, arch, 2, memo=True)
    assert set(memo) < set(table) and set(columns.COLUMNS) <= set(memo)
    for c, v in memo.items():
        assert v.tolist() == table[c].tolist(), c
    # summarize reads a table and a DataFrame alike
    s = columns.summarize(df, arch)
    assert columns.summarize(table, arch) == s == evaluate(wl, arch, 2)
    assert s["layers"] == len(wl.layers)


@pytest.mark.parametrize("arch", _ARCHS, ids=lambda a: a.name)
def test_derived_and_energy_columns_against_their_definitions(arch):
    """Bytes, latency and DRAM energy from the counts and the energy table's YAML, read here."""
    t = layer_table(_workload(), arch, 1)
    wb = arch.word_bits // 8
    dram_words = t["dram_ifmap_reads"] + t["dram_filter_reads"] + t["dram_ofmap_writes"]
    assert (t["dram_bytes"] == dram_words * wb).all()
    assert t["latency_us"].tolist() == pytest.approx(
        (t["total_cycles"] / arch.clock_mhz).tolist())
    table = yaml.safe_load((ROOT / "accelsim/hardware/data/horowitz45.yaml").read_text())
    pj_per_word = table["dram_64bit_pj"] * arch.word_bits / 64
    assert t["energy_dram_pj"].tolist() == pytest.approx((dram_words * pj_per_word).tolist())
    parts = [k for k in t if k.startswith("energy_") and k != "energy_pj"]
    assert len(parts) == 7
    for i in range(len(t["energy_pj"])):
        assert t["energy_pj"][i] == pytest.approx(math.fsum(t[k][i] for k in parts), rel=1e-12)
    assert t["energy_vector_pj"][3] > 0   # the max-pool's comparisons
    # the sum-pool: on the pool unit (its adds, line buffers, staging) or, without one, on the array
    assert (t["energy_pool_pj"][1] > 0) == (arch.pool is not None) != (t["energy_mac_pj"][1] > 0)


def test_the_older_names_take_a_table_or_a_dataframe():
    import accelsim.hardware.energy as energy
    from accelsim.evaluate.layers import engine_rows
    from accelsim.evaluate.simulate import _frame, table_frame

    arch = _ARCHS[0]
    rows = engine_rows(_workload(), arch, 1)
    want = table_frame(rows, arch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = energy.add_energy_columns
    assert old is columns.add_energy_columns
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    df = old(columns.finish_columns(_frame(rows), arch), arch)
    assert list(df.columns) == list(want.columns) and df.equals(want)
    tab = old(columns.finish_columns(columns.columns_from_rows(rows), arch), arch)
    assert isinstance(tab, dict) and all(tab[c].tolist() == want[c].tolist() for c in tab)
    with pytest.raises(AttributeError):
        energy.no_such_name  # noqa: B018


def test_no_dataframe_imitation_left():
    from accelsim.evaluate import fastpath, rows

    assert not hasattr(fastpath, "Frame") and not hasattr(fastpath, "Col")
    assert fastpath.evaluate is evaluate and fastpath.clear_caches is rows.clear_caches
    with pytest.raises(InputError, match="buffer"):
        layer_table(_workload(), _ARCHS[0], memo=True, buffer_search=True)


# every public and private name the single-module accelsim/explore/sweep.py defined
_OLD_SWEEP_NAMES = """EVALUATORS AXIS_NAMES TOY_METRICS canon Constraint _exact Spec _is_file _file_sha _num
_count_check _axis_values _range_values _random_values _parse_constraint metric_names load_spec
_arch_dict point_key points load_point_workload _arch evaluate_point toy_evaluate evaluate_chunk
SweepIncomplete store_meta run_sweep DASK_CONNECT_TIMEOUT_S feasible spec_constraints _pool_desc
codesign_pool""".split()


def test_sweep_package_keeps_the_modules_names_and_small_files():
    import accelsim.explore.sweep as sweep

    public = [n for n in _OLD_SWEEP_NAMES if not n.startswith("_")]
    assert [n for n in public if not hasattr(sweep, n)] == []
    assert sorted(public) == sorted(sweep.__all__)
    for p in Path(sweep.__file__).parent.glob("*.py"):
        assert len(p.read_text().splitlines()) <= 400, p.name
