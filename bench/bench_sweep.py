"""Sweep speed: a sweep's evaluation (``accelsim.evaluate.simulate.evaluate``: memoized engine rows,
the numpy table, no DataFrame) against ``simulate`` + ``summarize`` on the same random ResNet-50
design points, in one run.

    .venv/bin/python bench/bench_sweep.py [--points 2000] [--check 150] [--workers 2]
                                          [--network resnet50:regular]

1. ``simulate`` + ``summarize`` on the first --check points (the reference path), timed.
2. ``evaluate`` on the same points from cold caches; every summary number must be
   equal (==, same type) to the reference, else the script exits 1.
3. ``evaluate`` on all --points points, serially from cold caches, with the time split
   between the engines (cache misses: mapping, systolic, memory, pool, vector) and the rest
   (the column table, derived columns, energy, summary).
4. The same points through ``accelsim.explore.sweep``'s process runner (--workers processes, results
   into a fresh store), as a sweep runs them: full-network evaluations per minute.
5. A real grid spec (--spec, default sweeps/codesign_grid.yaml: 14,400 ResNet-50 evaluations,
   array shape x DRAM bandwidth x clock x pool unit x vector lanes) through ``accelsim sweep``'s
   runner from cold caches, then a seeded sample of its stored rows recomputed with
   ``simulate`` + ``summarize`` and compared number by number.
   Target (issue 6): >= 10,000 ResNet-50 evaluations per minute on a 2-core machine.

Every point is a distinct architecture (random array shape, dataflow, SRAM sizes, word width,
clock, DRAM interface, pool unit), so the GEMM layers' caches start cold at each point; only
layers whose engine reads few fields (vector ops: vector_lanes) are reused across points.
Prints figures only; speed is never asserted in a test.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def random_points(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        d = {
            "rows": rng.choice([8, 16, 32, 48, 64, 96, 128, 192, 256]),
            "cols": rng.choice([8, 16, 32, 48, 64, 96, 128, 192, 256]),
            "dataflow": rng.choice(["os", "ws", "is"]),
            "ifmap_sram_kb": rng.choice([32, 64, 128, 256, 512, 1024, 4096]),
            "filter_sram_kb": rng.choice([32, 64, 128, 256, 512, 1024]),
            "ofmap_sram_kb": rng.choice([32, 64, 128, 256, 512]),
            "word_bits": rng.choice([8, 16]),
            "clock_mhz": rng.choice([500.0, 700.0, 1000.0]),
            "bandwidth_mode": rng.choice(["calc", "user"]),
            "dram_bw_words_per_cycle": rng.choice([4.0, 16.0, 48.0]),
            "vector_lanes": rng.choice([16, 64, 256]),
            "pool": rng.choice([None, {"lanes": rng.choice([8, 32, 128]),
                                       "tree": rng.choice(["direct", "separable"]),
                                       "mode": rng.choice(["fused", "two_pass"])}]),
        }
        key = repr(sorted(d.items()))
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--check", type=int, default=150)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--network", default="resnet50:regular")
    ap.add_argument("--spec", default=str(ROOT / "sweeps" / "codesign_grid.yaml"),
                    help="grid spec for step 5 ('' to skip)")
    ap.add_argument("--spec-check", type=int, default=40,
                    help="stored rows of the grid sweep recomputed with simulate")
    ap.add_argument("--only-spec", action="store_true", help="run step 5 only")
    args = ap.parse_args()
    if args.only_spec:
        return grid_sweep(args.spec, args.workers, args.spec_check)

    from dataclasses import replace

    from accelsim.evaluate.rows import clear_caches
    from accelsim.evaluate.simulate import evaluate

    from accelsim.hardware.arch import PoolUnit, load_arch
    from accelsim.workload.networks import load_workload
    from accelsim.evaluate.simulate import simulate, summarize

    base = load_arch("tpu-v1")
    pts = random_points(args.points)
    archs = [replace(base, name=f"p{i}", **{**d, "pool": PoolUnit(**d["pool"]) if d["pool"]
                                              else None}) for i, d in enumerate(pts)]
    wl = load_workload(args.network)
    k = min(args.check, len(archs))
    import os

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(figures scale down with other jobs' load)")
    print(f"{args.network}: {len(wl.layers)} layers ({sum(l.is_gemm for l in wl.layers)} "
          f"GEMM); {len(archs)} random design points; reference on the first {k}")

    t0 = time.perf_counter()
    ref = [summarize(simulate(wl, a), a) for a in archs[:k]]
    t_sim = time.perf_counter() - t0
    clear_caches()
    t0 = time.perf_counter()
    fast = [evaluate(wl, a) for a in archs[:k]]
    t_fast_k = time.perf_counter() - t0
    bad = [(i, key) for i, (r, f) in enumerate(zip(ref, fast)) for key in r
           if f.get(key) != r[key] or type(f.get(key)) is not type(r[key])]
    bad += [(i, "keys") for i, (r, f) in enumerate(zip(ref, fast)) if r.keys() != f.keys()]
    n_numbers = sum(len(r) for r in ref)
    print(f"simulate+summarize : {t_sim / k * 1e3:8.2f} ms/point  "
          f"{60 * k / t_sim:10,.0f} evaluations/min (1 core)")
    print(f"evaluate (cold)    : {t_fast_k / k * 1e3:8.2f} ms/point  "
          f"{60 * k / t_fast_k:10,.0f} evaluations/min (1 core)   "
          f"agreement: {n_numbers - len(bad)}/{n_numbers} numbers equal")
    if bad:
        print(f"MISMATCH at {bad[:10]}")
        return 1

    # serial, all points, cold caches: where the time goes
    import accelsim.evaluate.rows as fp

    clear_caches()
    engine_s = 0.0
    orig = fp.simulate_layer

    def timed(*a, **kw):
        nonlocal engine_s
        t = time.perf_counter()
        try:
            return orig(*a, **kw)
        finally:
            engine_s += time.perf_counter() - t

    fp.simulate_layer = timed
    t0 = time.perf_counter()
    for a in archs:
        evaluate(wl, a)
    t_all = time.perf_counter() - t0
    fp.simulate_layer = orig
    print(f"evaluate serial    : {t_all / len(archs) * 1e3:8.2f} ms/point  "
          f"{60 * len(archs) / t_all:10,.0f} evaluations/min (1 core); time in engines "
          f"(cache misses) {100 * engine_s / t_all:.0f}%, column table + energy + summary "
          f"{100 * (t_all - engine_s) / t_all:.0f}%")

    # the sweep runner itself: points -> worker processes -> store
    from accelsim.explore import sweep

    spec_pts = []
    for i, (a, d) in enumerate(zip(archs, pts)):
        from accelsim.hardware.arch import arch_to_dict

        ad = arch_to_dict(a)
        net, _, var = args.network.partition(":")
        spec_pts.append({"idx": i, "key": sweep.point_key(ad, net, var or "regular", 1),
                         "values": d, "arch": ad, "network": net, "variant": var or "regular",
                         "batch": 1})
    spec = sweep.Spec("bench", "bench", "tpu-v1", (), (net,), (var or "regular",), (1,),
                      ("latency_ms",), (), None, "fast")
    with tempfile.TemporaryDirectory() as tmp:
        clear_caches()
        t0 = time.perf_counter()
        stats = sweep.run_sweep(spec, Path(tmp) / "r.db", workers=args.workers,
                                progress=False, pts=spec_pts)
        t_run = time.perf_counter() - t0
        from accelsim.explore.store import read_rows

        _, rows = read_rows(Path(tmp) / "r.db")
    same = all(rows[i][3] == {kk: v for kk, v in ref[i].items() if not isinstance(v, str)}
               for i in range(k))
    print(f"sweep runner       : {stats['computed']} points, {args.workers} workers, "
          f"{t_run:.2f} s incl. pool start and store writes -> "
          f"{60 * stats['computed'] / t_run:,.0f} evaluations/min "
          f"(target 10,000); stored numbers equal the reference: {same}")
    # a pool-unit / clock sweep on one array (sweeps/pool_lanes.yaml style): GEMM rows are
    # reused across points, only sum-pools, pairs, energy and the summary are recomputed
    rng = random.Random(1)
    wl_a = load_workload(args.network.split(":")[0] + ":A")
    pool_archs = list({replace(base, clock_mhz=rng.choice([500.0, 700.0, 1000.0]),
                               pool=PoolUnit(lanes=rng.choice([8, 16, 32, 64, 128, 256]),
                                             tree=rng.choice(["direct", "separable"]),
                                             mode=rng.choice(["fused", "two_pass"]),
                                             input_words_per_cycle=rng.choice([64, 256])))
                       for _ in range(400)})
    pool_archs.sort(key=repr)
    kk = min(k, len(pool_archs), 40)
    ref_p = [summarize(simulate(wl_a, a), a) for a in pool_archs[:kk]]
    clear_caches()
    t0 = time.perf_counter()
    fast_p = [evaluate(wl_a, a) for a in pool_archs]
    t_p = time.perf_counter() - t0
    ok_p = all(f == r for f, r in zip(fast_p, ref_p))
    print(f"pool-unit sweep    : {len(pool_archs)} points of {wl_a.network}:A on one array: "
          f"{t_p / len(pool_archs) * 1e3:.2f} ms/point, "
          f"{60 * len(pool_archs) / t_p:,.0f} evaluations/min (1 core); "
          f"first {kk} equal to simulate: {ok_p}")
    ok_g = grid_sweep(args.spec, args.workers, args.spec_check) == 0 if args.spec else True
    return 0 if same and ok_p and ok_g else 1


def grid_sweep(spec_path: str, workers: int, n_check: int) -> int:
    """Step 5: a whole grid spec through the sweep runner, then a sample against simulate."""
    from accelsim.evaluate.rows import clear_caches
    from accelsim.evaluate.simulate import simulate, summarize
    from accelsim.explore import sweep
    from accelsim.explore.store import read_derived, read_rows

    spec = sweep.load_spec(spec_path)
    n = len(sweep.points(spec))
    with tempfile.TemporaryDirectory() as tmp:
        clear_caches()
        t0 = time.perf_counter()
        stats = sweep.run_sweep(spec, Path(tmp) / "grid.db", workers=workers, progress=False)
        t_run = time.perf_counter() - t0
        _, rows = read_rows(Path(tmp) / "grid.db")
        derived = read_derived(Path(tmp) / "grid.db")
    keys = [r[0] for r in rows]
    rng = random.Random(7)
    sample = rng.sample(rows, min(n_check, len(rows)))
    t0 = time.perf_counter()
    bad = []
    for key, _, point, metrics in sample:
        arch = sweep._arch(sweep.canon(point["arch"]))
        wl = sweep.load_point_workload(point["network"], point["variant"])
        ref = {k: v for k, v in summarize(simulate(wl, arch, point["batch"]), arch).items()
               if sweep._num(v)}
        # the store's speedup over the point's regular twin (same arch, the derived table),
        # recomputed here
        speedup = derived.get(key, {}).get("speedup_over_regular")
        twin = summarize(simulate(sweep.load_point_workload(point["network"], "regular"), arch,
                                  point["batch"]), arch)
        if ref != metrics or speedup != twin["total_cycles"] / ref["total_cycles"]:
            bad.append(key[:12])
    t_sim = time.perf_counter() - t0
    print(f"grid sweep         : {Path(spec_path).name}: {n} points, {stats['computed']} "
          f"computed by {workers} workers in {t_run:.2f} s (incl. pool start, cold caches, "
          f"store writes) -> {60 * stats['computed'] / t_run:,.0f} evaluations/min "
          f"(target 10,000); rows {len(rows)}, unique keys {len(set(keys))}")
    print(f"                     simulate+summarize on {len(sample)} sampled points: "
          f"{t_sim / max(1, len(sample)) * 1e3:.1f} ms/point; every number equal: {not bad}"
          + (f" (differ: {bad[:5]})" if bad else ""))
    return 0 if not bad and len(rows) == n == len(set(keys)) else 1


if __name__ == "__main__":
    sys.exit(main())
