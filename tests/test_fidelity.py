"""Fidelity tiers on the one evaluation path (issue 14: search fast, confirm exact).

``fidelity: fast`` takes only the MAC array's DRAM traffic and stalls from the analytical tier
(engine/analytic/, docs/analytic.md); everything else must be the exact tier's to the last bit.
A fast sweep then re-evaluates its Pareto front, a seeded sample and their regular twins
exactly, into the same store under the exact tier's keys. Checked here against the exact path
itself (a different code path: the pandas frame), a brute-force Pareto front, and the relative
error recomputed from the stored rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.common.errors import InputError
from accelsim.evaluate.columns import COLUMNS, DERIVED_COLUMNS
from accelsim.evaluate.layers import fast_is_bounded
from accelsim.evaluate.simulate import simulate, summarize
from accelsim.explore.store import best_fidelity, read_results, read_rows
from accelsim.explore.sweep import load_spec, point_key, points, run_sweep
from accelsim.explore.sweep.codesign import codesign_pool
from accelsim.explore.sweep.points import _arch, canon, load_point_workload
from accelsim.hardware.arch import PoolUnit, load_arch
from accelsim.workload.networks import load_workload

# the columns the fast tier computes in closed form from the exact tier's own formulas
EXACT_IN_BOTH = ["macs", "mults", "adds", "mac_adds", "pool_adds", "vector_ops", "compute_cycles",
                 "pool_cycles", "vector_cycles", "ifmap_sram_reads", "filter_sram_reads",
                 "ofmap_sram_writes", "pool_sram_reads", "pool_sram_writes", "linebuf_reads",
                 "linebuf_writes", "compute_util", "mapping_efficiency", "M", "N", "K", "folds"]


@pytest.mark.parametrize("preset", ["scalesim-32x32-os", "edge-npu"])
def test_fast_equals_exact_where_the_tier_is_exact(preset):
    wl, arch = load_workload("resnet18:A"), load_arch(preset)
    exact, fast = simulate(wl, arch, 1), simulate(wl, arch, 1, fidelity="fast")
    # every column of the result table; SCALE-Sim's per-layer timing extras (start/stop
    # cycles, bandwidths of its reports) are the exact tier's alone
    assert [c for c in exact.columns if c in set(fast.columns)] == list(fast.columns)
    assert set(COLUMNS + DERIVED_COLUMNS) <= set(fast.columns)
    for c in EXACT_IN_BOTH:
        assert (fast[c] == exact[c]).all(), c
    off_array = ~exact["engine"].isin(["array", "array-as-pool"])
    shared = [c for c in fast.columns if c not in ("total_cycles", "latency_us", "overall_util")]
    assert fast.loc[off_array, shared].equals(exact.loc[off_array, shared])
    # the network's cycles within the whole-network bound docs/analytic.md states (0.12 %
    # measured on every preset), with margin; its DRAM words within 5 %
    s_e, s_f = summarize(exact, arch), summarize(fast, arch)
    assert abs(s_f["total_cycles"] - s_e["total_cycles"]) <= 0.01 * s_e["total_cycles"]
    assert abs(s_f["dram_bytes"] - s_e["dram_bytes"]) <= 0.05 * s_e["dram_bytes"]


def test_user_scalesim_arch_stays_exact():
    """SCALE-Sim's USER read buffer has no fast model: such an arch gets exact rows."""
    arch = load_arch("scalesim-32x32-os").with_(bandwidth_mode="user", stall_model="scalesim",
                                                dram_bw_words_per_cycle=10.0)
    assert not fast_is_bounded(arch)
    wl = load_workload("resnet18:regular")
    wl = type(wl)(wl.network, wl.variant, wl.layers[:6], wl.input_shape, wl.source)
    assert simulate(wl, arch, 1, fidelity="fast").equals(simulate(wl, arch, 1))


def test_unknown_fidelity_is_an_input_error():
    with pytest.raises(InputError, match="fidelity"):
        simulate(load_workload("resnet18:A"), load_arch("tpu-v1"), 1, fidelity="medium")


FAST = """
name: fasttry
base: edge-npu
fidelity: fast
confirm: {front: true, sample: 3, seed: 7}
axes:
  rows: [8, 32]
  ifmap_sram_kb: [16, 256]
networks: [resnet18]
variants: [regular, A]
objectives: [latency_ms, energy_uj]
"""


def _front(rows, objectives):
    """Brute force: a row is on the front when no other row is <= on every objective and < on
    one."""
    vals = [[m[o] for o in objectives] for *_, m in rows]
    return {rows[i][0] for i, v in enumerate(vals)
            if not any(all(w[j] <= v[j] for j in range(len(v))) and w != v for w in vals)}


def test_fast_sweep_confirms_front_sample_and_twins_exactly(tmp_path):
    (tmp_path / "s.yaml").write_text(FAST)
    spec = load_spec(tmp_path / "s.yaml")
    stats = run_sweep(spec, tmp_path / "r.db", progress=False)
    _, rows = read_rows(tmp_path / "r.db")
    fast = [r for r in rows if r[2].get("fidelity") == "fast"]
    exact = {r[1]: r for r in rows if "fidelity" not in r[2]}
    assert len(fast) == len(points(spec)) == 8
    # every point of the brute-force front is confirmed, and with it its regular twin
    front = _front(fast, spec.objectives)
    by_key = {r[0]: r for r in fast}
    assert front and all(by_key[k][1] in exact for k in front)
    for k in front:
        p = by_key[k][2]
        twin = [r for r in fast if r[2]["variant"] == "regular"
                and canon([r[2]["arch"], r[2]["batch"]]) == canon([p["arch"], p["batch"]])]
        assert twin and twin[0][1] in exact
    assert len(exact) == stats["confirm"]["points"] >= len(front)
    # an exact row is the exact tier's, through the DataFrame path, under the key an exact
    # sweep of the same point has (so exact stores made before the tiers still match)
    for idx, (key, _, p, m) in exact.items():
        arch = _arch(canon(p["arch"]))
        ref = summarize(simulate(load_point_workload(p["network"], p["variant"]), arch,
                                 p["batch"]), arch)
        assert m["total_cycles"] == ref["total_cycles"]
        assert m["dram_bytes"] == pytest.approx(ref["dram_bytes"], rel=1e-12)
        assert key == point_key(p["arch"], p["network"], p["variant"], p["batch"])
    # the error report is the stored rows' relative error
    fast_by_idx = {r[1]: r[3] for r in fast}
    rel = [abs(fast_by_idx[i]["total_cycles"] - m["total_cycles"]) / m["total_cycles"]
           for i, (*_, m) in exact.items()]
    e = stats["confirm"]["error"]["total_cycles"]
    assert e["max"] == pytest.approx(max(rel)) and e["median"] == pytest.approx(np.median(rel))
    # readers see one row per point, the exact one where it exists
    df = best_fidelity(read_results(tmp_path / "r.db"))
    assert sorted(df["idx"]) == list(range(8))
    assert set(df.loc[df["fidelity"] == "exact", "idx"]) == set(exact)
    # a resumed fast sweep computes nothing again and reports the same error
    again = run_sweep(spec, tmp_path / "r.db", resume=True, progress=False)
    assert again["computed"] == 0 and again["confirm"] == stats["confirm"]


def test_exact_specs_keep_their_keys_and_json(tmp_path):
    (tmp_path / "e.yaml").write_text(FAST.replace("fidelity: fast\n", "").replace(
        "confirm: {front: true, sample: 3, seed: 7}\n", ""))
    spec = load_spec(tmp_path / "e.yaml")
    assert "fidelity" not in spec.to_json() and "confirm" not in spec.to_json()
    for p in points(spec):
        assert p["key"] == point_key(p["arch"], p["network"], p["variant"], p["batch"])


@pytest.mark.parametrize("body, field", [
    ("fidelity: medium", "fidelity"),
    ("confirm: {front: true}", "confirm"),              # confirm needs fidelity fast
    ("fidelity: fast\nconfirm: {sample: -1}", "confirm"),
    ("fidelity: fast\nconfirm: {front: 1}", "confirm"),
    ("fidelity: fast\nconfirm: {depth: 3}", "confirm"),
    ("fidelity: fast\nevaluator: toy", "fidelity"),
])
def test_bad_fidelity_specs_name_the_field(tmp_path, body, field):
    p = tmp_path / "bad.yaml"
    p.write_text(f"base: tpu-v1\nnetworks: [resnet18]\n{body}\n")
    with pytest.raises(InputError) as exc:
        load_spec(p)
    assert exc.value.field == field and str(p) in str(exc.value)


def test_codesign_fast_answers_from_exact_rows():
    base = load_arch("edge-npu")
    pools = [None] + [PoolUnit(lanes=8, tree="running", mode="fused", order="demand",
                               staging_kb=kb) for kb in (64, 256)]
    exact, t_exact = codesign_pool(base, "resnet18", ["A"], pools, 0.9)
    fast, t_fast = codesign_pool(base, "resnet18", ["A"], pools, 0.9, fidelity="fast")
    assert fast is not None and fast["fidelity"] == "exact"
    assert {k: fast[k] for k in ("candidate", "total_cycles", "realized_speedup")} == \
        {k: exact[k] for k in ("candidate", "total_cycles", "realized_speedup")}
    assert set(t_fast["fidelity"]) <= {"fast", "exact"} and len(t_fast) == len(t_exact)
