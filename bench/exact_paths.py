"""Where the exact tier's memory kernel spends its time, by ifmap path, on bench_batch's kind of
points: random (ResNet-50 GEMM layer, arch) pairs, a new array/SRAM geometry at every point.

The kernel's arguments are recorded once per point (one `simulate_gemm` each), then every
point's kernel is timed alone (min of --repeats calls, so the figures are per call with warm
caches, not bench_batch's one-pass rate) and summed by class: light (no ifmap stream walk),
and heavy points by dataflow and by the ifmap path they take (os / ws / is table path, or
the stored unit), the 3-channel stem apart. Per table path it also prints the epochs and the
path's own time per epoch.

    .venv/bin/python bench/exact_paths.py                 # 600 points, seed 14
    PYTHONPATH=/tmp/old .venv/bin/python bench/exact_paths.py   # the same on another checkout

For a before/after figure, run it on a worktree of the older commit (`git worktree add /tmp/old
<commit>`, then PYTHONPATH as above) and on this one, alternately, on an idle machine: the
machine's speed drifts by up to 40 % within an hour, so only ratios from one sitting hold.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import warnings


def points(count: int, seed: int):
    """bench_batch's generator: a ResNet-50 GEMM layer on an arch of random rows, columns,
    dataflow and SRAMs, every arch a geometry no earlier point had."""
    from accelsim.hardware.arch import Arch
    from accelsim.workload.networks import load_workload

    rng = random.Random(seed)
    gemms = [layer for layer in load_workload("resnet50:regular").layers if layer.is_gemm]
    dims = [4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    seen, out = set(), []
    while len(out) < count:
        g = (rng.choice(dims), rng.choice(dims), rng.choice(["os", "ws", "is"]),
             rng.choice([8, 16, 32, 36, 64, 128, 256, 512, 1024]),
             rng.choice([8, 16, 32, 36, 64, 128, 256, 512]), rng.choice([4, 8, 16, 32, 64, 128]))
        if g not in seen:
            seen.add(g)
            out.append((rng.choice(gemms), Arch("p", *g)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=600)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from accelsim.engine import memory
    from accelsim.engine.memory import addresses, calc_epochs
    from accelsim.evaluate.simulate import simulate_gemm

    pts = points(args.points + 1, args.seed)
    simulate_gemm(*pts[0])                       # load the kernels
    kernel = memory._calc_engine
    calls = []
    memory._calc_engine = lambda *a: (calls.append(a), kernel(*a))[1]
    for layer, arch in pts[1:]:
        calls.append(layer)                      # marks the point the next call belongs to
        simulate_gemm(layer, arch, 1)
    memory._calc_engine = kernel

    warm = set()

    def best(fn, *a):
        if fn not in warm:                       # a kernel's first call loads it: not timed
            warm.add(fn)
            fn(*a)
        t = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            r = fn(*a)
            t = min(t, time.perf_counter() - t0)
        return t, r

    by_class = collections.defaultdict(lambda: [0, 0.0])
    by_path = collections.defaultdict(lambda: [0, 0.0, 0])
    tables = {1: calc_epochs._epochs_ws, 0: calc_epochs._epochs_os, 2: calc_epochs._epochs_is}
    budgets = {1: calc_epochs._ws_budget, 0: calc_epochs._os_budget, 2: calc_epochs._is_budget}
    layer = None
    for c in calls:
        if not isinstance(c, tuple):
            layer = c
            continue
        folds, im2col, E_if = c[0], c[1], int(c[3])
        t, _ = best(kernel, *c)
        heavy = not (c[7] or c[10])              # the ifmap stream is walked
        df = folds.dataflow
        stem = " stem" if layer.in_shape[0] == 3 else ""
        if not heavy:
            key = "light"
        else:
            _, rows_fold = addresses._fold_rows(folds)
            pm, _ = calc_epochs._valid_prefix(folds, im2col)
            uf = folds.col_folds * folds.row_folds if df == 2 else folds.row_folds
            nunits = folds.groups * folds.col_folds * folds.row_folds // uf
            tp, r = best(tables[df], folds, im2col, E_if, rows_fold,
                         budgets[df](int(pm[folds.pixels]), nunits))
            path = ["os", "ws", "is"][df] + (" table" if r[0] else " stored unit")
            key = "heavy " + path + stem
            if r[0]:
                p = by_path[path + stem]
                p[0] += 1
                p[1] += tp
                p[2] += int(r[1])
        by_class[key][0] += 1
        by_class[key][1] += t
    total = sum(v[1] for v in by_class.values())
    print(f"{args.points} points, seed {args.seed}, kernel min of {args.repeats} per point: "
          f"{total * 1e3:.1f} ms ({total / args.points * 1e3:.3f} ms a point)")
    for key, (n, t) in sorted(by_class.items()):
        print(f"  {key:<28} {n:4d} points {t * 1e3:8.1f} ms")
    print("table paths alone (epochs, path time per epoch):")
    for key, (n, t, e) in sorted(by_path.items()):
        print(f"  {key:<28} {n:4d} points {t * 1e3:8.1f} ms {e:7d} epochs "
              f"{t / max(1, e) * 1e6:7.2f} us/epoch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
