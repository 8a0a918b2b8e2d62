"""Pareto fronts against a brute-force O(n^2) check, and the pareto CLI."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.explore.pareto import pareto_front, pareto_front_nd
from accelsim.explore.sweep import load_spec, run_sweep



def dominated_brute(xs, ys, i) -> bool:
    """O(n) reference: is point i dominated by any other point?"""
    return any(xs[q] <= xs[i] and ys[q] <= ys[i] and (xs[q] < xs[i] or ys[q] < ys[i])
               for q in range(len(xs)) if q != i)


# few distinct values, so ties in x, in y and in both are common
vals = st.integers(0, 6).map(float)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(vals, vals), max_size=40))
def test_front_equals_brute_force(pts):
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    front = pareto_front(xs, ys)
    brute = [i for i in range(len(pts)) if not dominated_brute(xs, ys, i)]
    assert sorted(front) == brute
    # deterministic order: by (x, y, key)
    assert front == sorted(front, key=lambda i: (xs[i], ys[i], i))
    # a front is a staircase: x non-decreasing, y non-increasing
    for a, b in zip(front, front[1:]):
        assert xs[a] <= xs[b] and ys[a] >= ys[b]


def test_front_ignores_nan_and_orders_ties_by_key():
    nan = float("nan")
    xs = [1.0, 1.0, 2.0, nan, 0.5]
    ys = [3.0, 3.0, 1.0, 0.0, 9.0]
    assert pareto_front(xs, ys, keys=[5, 2, 0, 1, 7]) == [4, 1, 0, 2]


TOY = """
name: toy
evaluator: toy
base: scalesim-32x32-os
axes:
  rows: [8, 16, 32, 64]
  cols: [8, 16, 32]
  ifmap_sram_kb: [64, 128, 256]
networks: [resnet18]
constraints: ["area_mm2 <= 2.5"]
"""


def test_pareto_cli_table_plot_and_constraints(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(TOY)
    db = tmp_path / "r.db"
    run_sweep(load_spec(spec), db, progress=False)
    out = tmp_path / "front"
    assert main(["pareto", str(db), "--x", "latency_ms", "--y", "energy_uj", "--color",
                 "area_mm2", "--out", str(out)]) == 0
    assert (out / "pareto.png").stat().st_size > 1000
    assert not (out / "pareto.svg").exists()  # SVG only with --formats png,svg
    rows = list(csv.DictReader((out / "front.csv").open()))
    assert rows and all(float(r["area_mm2"]) <= 2.5 for r in rows)
    xs = [float(r["latency_ms"]) for r in rows]
    assert xs == sorted(xs)
    # every feasible point not on the front is dominated by a front point
    from accelsim.explore.store import read_results

    df = read_results(db)
    feas = df[df["area_mm2"] <= 2.5]
    front_keys = {r["key"] for r in rows}
    for r in feas.itertuples():
        if r.key not in front_keys:
            assert any(float(f["latency_ms"]) <= r.latency_ms and float(f["energy_uj"])
                       <= r.energy_uj for f in rows)
    # --all drops the constraint: the unconstrained front has the globally fastest point
    assert main(["pareto", str(db), "--all"]) == 0
    assert df["latency_ms"].min() < feas["latency_ms"].min()
    assert f"{df['latency_ms'].min():.6g}" in capsys.readouterr().out


def test_pareto_cli_bad_metric_exits_2(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(TOY)
    db = tmp_path / "r.db"
    run_sweep(load_spec(spec), db, progress=False)
    before = db.read_bytes()
    assert main(["pareto", str(db), "--x", "speed"]) == 2
    assert main(["pareto", str(tmp_path / "missing.db")]) == 2
    assert "speed" in capsys.readouterr().err
    assert db.read_bytes() == before


def brute_front(pts):
    """O(n^2 d) reference written out here: i is on the front unless some q is <= on every
    objective and < on one."""
    return [i for i, p in enumerate(pts)
            if not any(all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))
                       for q in pts)]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(
    lambda d: st.lists(st.tuples(*[vals] * d), max_size=40)))
def test_nd_front_equals_brute_force(pts):
    d = len(pts[0]) if pts else 2
    cols = [[p[k] for p in pts] for k in range(d)]
    front = pareto_front_nd(cols)
    assert sorted(front) == brute_front(pts)
    assert front == sorted(front, key=lambda i: (pts[i], i))


def test_nd_front_on_random_real_points_and_2d_agrees():
    import random

    rng = random.Random(7)
    for d in (2, 3, 5):
        pts = [tuple(rng.random() for _ in range(d)) for _ in range(300)]
        cols = [[p[k] for p in pts] for k in range(d)]
        assert sorted(pareto_front_nd(cols)) == brute_front(pts)
    xs, ys = cols[0], cols[1]
    assert pareto_front_nd([xs, ys]) == pareto_front(xs, ys)
    nan = float("nan")
    assert pareto_front_nd([[1.0, nan, 0.5], [1.0, 0.0, 2.0], [1.0, 0.0, 1.0]]) == [2, 0]


def test_pool_lanes_front_is_the_3_objective_front(tmp_path, capsys):
    """The shipped spec: the front printed and written is exactly the brute-force 3-D front of
    the feasible points (area_mm2 <= 80), and it is not the 2-D (latency, energy) front."""
    db = tmp_path / "pl.db"
    run_sweep(load_spec("sweeps/pool_lanes.yaml"), db, progress=False)
    out = tmp_path / "front"
    capsys.readouterr()
    assert main(["pareto", str(db), "--out", str(out), "--formats", "png,svg"]) == 0
    text = capsys.readouterr().out
    assert "3-objective front" in text and "area_mm2 <= 80" in text
    from accelsim.explore.store import read_results

    df = read_results(db)
    feas = df[df["area_mm2"] <= 80].reset_index(drop=True)
    objs = ["latency_ms", "energy_uj", "area_mm2"]
    pts = [tuple(r) for r in feas[objs].itertuples(index=False)]
    want = {feas["idx"][i] for i in brute_front(pts)}
    got = [int(r["idx"]) for r in csv.DictReader((out / "front.csv").open())]
    assert set(got) == want and len(got) == len(want)
    two_d = {feas["idx"][i] for i in brute_front([p[:2] for p in pts])}
    assert two_d != want
    # the plot marks front and dominated points, regular and structured apart
    svg = (out / "pareto.svg").read_text()
    for g in ("front__structured__latency_ms__energy_uj",
              "dominated__regular__energy_uj__area_mm2"):
        assert f'id="{g}"' in svg


def test_store_holds_speedup_over_regular_twin(tmp_path):
    """speedup_over_regular = the regular twin's cycles / the point's, the twin found here by
    the point's axis values (not by the arch JSON the store uses)."""
    db = tmp_path / "pl.db"
    run_sweep(load_spec("sweeps/pool_lanes.yaml"), db, progress=False)
    from accelsim.explore.store import read_results

    df = read_results(db)
    axes = ["pool.lanes", "pool.tree", "pool.mode"]
    reg = {tuple(r[a] for a in axes): r["total_cycles"]
           for r in df.to_dict("records") if r["variant"] == "regular"}
    n = 0
    for r in df.to_dict("records"):
        want = reg[tuple(r[a] for a in axes)] / r["total_cycles"]
        assert r["speedup_over_regular"] == want
        n += r["variant"] != "regular"
    assert n == 20 and (df[df["variant"] == "regular"]["speedup_over_regular"] == 1.0).all()
    # a maximized objective: the front over (speedup, area) holds the fastest structured point
    assert main(["pareto", str(db), "--objectives", "speedup_over_regular,area_mm2"]) == 0
    assert main(["pareto", str(db), "--objectives", "latency_ms,nope"]) == 2
