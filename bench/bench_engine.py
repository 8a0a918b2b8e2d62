"""Engine speed: accelsim against SCALE-Sim v2.0.2 on the same layers, then accelsim alone.

    .venv/bin/python bench/bench_engine.py [--no-scalesim] [--layers Conv3_s Conv4_s Conv5_s FC]

1. SCALE-Sim (Python API, no traces, CALC) and accelsim on the same ResNet-18 layers of
   SCALE-Sim's Resnet18.csv on its scale.cfg (32x32 os), in one run; checks that total cycles,
   stalls and every SRAM/DRAM count agree and prints the wall-time ratio (target >= 1000x).
   ``--layers all`` runs the whole topology (SCALE-Sim: ~5 min).
2. accelsim on ResNet-50 (regular and structured A) on every preset, in-process: the first call
   (loads numba's cached kernels) and the median of later calls (target < 0.3 s), each from
   cold engine memos (``rows.clear_caches``: no layer result is reused between calls), with
   peak Python heap (tracemalloc) and process RSS (target < 300 MB).
3. The whole zoo x presets.

Prints figures only; speed is never asserted in a test. Run it alone: the SCALE-Sim part takes
~1-2 s per default layer on this machine.
"""

from __future__ import annotations

import argparse
import csv
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPO = ROOT / "workloads" / "scalesim"


def _scalesim(layers_csv: Path, cfg: Path) -> tuple[float, list[int]]:
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                       topology=str(layers_csv))
        sim.run_scale(top_path=out)
        wall = time.perf_counter() - t0
        d = next(Path(out).iterdir())
        reports = {f: [[float(x) for x in r[1:] if x.strip()] for r in
                       list(csv.reader(open(d / f)))[1:] if r]
                   for f in {f for f, _ in _SS_COLS}}
        n = len(reports["COMPUTE_REPORT.csv"])
        counts = [[int(reports[f][i][c]) for f, c in _SS_COLS] for i in range(n)]
    return wall, counts


def _time(fn, repeat: int) -> tuple[float, float]:
    """(first call, median of the next ``repeat``), every call from cold engine memos."""
    from accelsim.evaluate.rows import clear_caches

    clear_caches()
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        clear_caches()
        t0 = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t0)
    return cold, statistics.median(warm)


COMPARED = ["total_cycles", "stall_cycles", "ifmap_sram_reads", "filter_sram_reads",
            "ofmap_sram_writes", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"]
# SCALE-Sim report columns, in COMPARED's order: (report, column index after the layer id)
_SS_COLS = [("COMPUTE_REPORT.csv", 0), ("COMPUTE_REPORT.csv", 1),
            ("DETAILED_ACCESS_REPORT.csv", 2), ("DETAILED_ACCESS_REPORT.csv", 5),
            ("DETAILED_ACCESS_REPORT.csv", 8), ("DETAILED_ACCESS_REPORT.csv", 11),
            ("DETAILED_ACCESS_REPORT.csv", 14), ("DETAILED_ACCESS_REPORT.csv", 17)]


def bench_vs_scalesim(names: list[str]) -> None:
    from accelsim.hardware.arch import load_arch
    from accelsim.evaluate.simulate import simulate
    from accelsim.workload.layer import Workload, read_workload_csv

    full = read_workload_csv(TOPO / "Resnet18.csv")
    lines = (TOPO / "Resnet18.csv").read_text().splitlines()
    if names == ["all"]:
        names = [layer.name for layer in full]
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split(",")[0].strip() in names]
    with tempfile.TemporaryDirectory() as tmp:
        topo = Path(tmp) / "layers.csv"
        topo.write_text("\n".join(keep) + "\n")
        ss_wall, ss_cycles = _scalesim(topo, TOPO / "scale.cfg")
    arch = load_arch(TOPO / "scale.cfg")
    wl = Workload("resnet18-part", "regular", tuple(full.layer(n) for n in names))
    df = simulate(wl, arch)
    ok = df[COMPARED].values.tolist() == ss_cycles
    # the engines alone (map + systolic + memory), without the DataFrame assembly
    from accelsim.evaluate.simulate import simulate_layer

    _, eng = _time(lambda: [simulate_layer(l, arch) for l in wl], 50)
    _, whole = _time(lambda: simulate(wl, arch), 20)
    cyc = sum(r[0] for r in ss_cycles)
    print(f"[1] SCALE-Sim 2.0.2 vs accelsim on ResNet-18 {', '.join(names)} (32x32 os, CALC), "
          f"{cyc:,} cycles; cycles, stalls, SRAM and DRAM counts equal: {ok}")
    print(f"    SCALE-Sim API (no traces) {ss_wall:8.3f} s  ({cyc / ss_wall:,.0f} cycles/s)")
    print(f"    accelsim engines          {eng * 1e3:8.3f} ms  ratio {ss_wall / eng:,.0f}x")
    print(f"    accelsim simulate()       {whole * 1e3:8.3f} ms  ratio {ss_wall / whole:,.0f}x "
          "(incl. DataFrame + energy columns)")


def bench_resnet50() -> None:
    from accelsim.hardware.arch import load_arch
    from accelsim.workload.networks import load_workload
    from accelsim.evaluate.simulate import simulate

    t0 = time.perf_counter()
    import pandas  # noqa: F401  (simulate's DataFrame; imported once per process)

    import accelsim.hardware.energy  # noqa: F401
    print(f"[2] imports (pandas, energy tables) {time.perf_counter() - t0:.3f} s")
    from accelsim.hardware.arch import list_presets

    for preset in list_presets():
        arch = load_arch(preset)
        for spec in ("resnet50", "resnet50:A"):
            wl = load_workload(spec)
            tracemalloc.start()
            cold, warm = _time(lambda: simulate(wl, arch), 5)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"[2] {spec:<11} {len(wl):4d} layers on {arch.name:<18}: first call "
                  f"{cold:.3f} s, then {warm:.3f} s (target < 0.3 s); peak heap "
                  f"{peak / 2**20:.1f} MB, process max RSS {rss:.0f} MB (target < 300 MB)")


def bench_zoo() -> None:
    try:
        from accelsim.workload.networks import list_networks, load_workload
    except ImportError:
        print("[3] accelsim.workload.networks not available: zoo x presets skipped")
        return
    from accelsim.hardware.arch import list_presets, load_arch
    from accelsim.evaluate.simulate import simulate

    archs = [load_arch(p) for p in list_presets()]
    wls = [load_workload(f"{n}:{v}") for n in list_networks() for v in ("regular", "A", "B")]
    from accelsim.evaluate.rows import clear_caches

    clear_caches()
    t0 = time.perf_counter()
    for wl in wls:
        for a in archs:
            simulate(wl, a)
    wall = time.perf_counter() - t0
    n = len(wls) * len(archs)
    print(f"[3] zoo x presets: {len(wls)} workloads x {len(archs)} presets = {n} runs in "
          f"{wall:.2f} s ({wall / n * 1e3:.1f} ms per run)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-scalesim", action="store_true", help="skip the SCALE-Sim comparison")
    ap.add_argument("--layers", nargs="+", default=["Conv3_s", "Conv4_s", "Conv5_s", "FC"],
                    help="ResNet-18 layers (names in Resnet18.csv) to run on both simulators, "
                         "or 'all'")
    ap.add_argument("--no-zoo", action="store_true")
    args = ap.parse_args(argv)
    # accelsim alone first: the process's max RSS is then accelsim's, not SCALE-Sim's
    bench_resnet50()
    if not args.no_scalesim:
        bench_vs_scalesim(args.layers)
    if not args.no_zoo:
        bench_zoo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
