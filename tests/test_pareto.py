"""Pareto fronts against a brute-force O(n^2) check, and the pareto CLI."""

from __future__ import annotations

import csv

from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.pareto import dominated_brute, pareto_front
from accelsim.sweep import load_spec, run_sweep

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
    assert (out / "pareto.svg").read_text().lstrip().startswith("<?xml")
    rows = list(csv.DictReader((out / "front.csv").open()))
    assert rows and all(float(r["area_mm2"]) <= 2.5 for r in rows)
    xs = [float(r["latency_ms"]) for r in rows]
    assert xs == sorted(xs)
    # every feasible point not on the front is dominated by a front point
    from accelsim.store import read_results

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
