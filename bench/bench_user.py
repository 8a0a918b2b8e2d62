"""USER bandwidth mode with SCALE-Sim's stall model: SCALE-Sim 2.0.2 and accelsim side by side.

    .venv/bin/python bench/bench_user.py [--cases os32 ws256 ws256-dw os32-mnv] [--repeat 20]

Each case runs the same layers of one of SCALE-Sim's topologies on one of its shipped configs,
switched to ``InterfaceBandwidth: USER`` at the config's own Bandwidth (10 words/cycle),
through SCALE-Sim's Python API (no traces) and through accelsim (the .cfg read by
``load_arch``: USER mode gets ``stall_model: scalesim``); it checks that every COMPUTE_REPORT
and DETAILED_ACCESS_REPORT number agrees (total and stall cycles; SRAM/DRAM accesses and
start/stop cycles of the six buffers) and prints the wall times and their ratio (issue 14's
target: >= 1,000x). accelsim is timed as the median of repeated in-process calls after a first
(numba-cache loading) call: the engines alone (map + systolic + memory per layer) and
``simulate()`` (with the DataFrame and energy columns).

Cases (every one stalls on DRAM):
- os32: scale.cfg (32x32 os, 64 kB each), ResNet-18 Conv3_s, Conv4_s, Conv5_s, FC;
- ws256: google.cfg (256x256 ws, 6 MB ifmap/filter), YOLO-tiny Conv7 (the filters stall);
- ws256-dw: google.cfg, MobileNet Conv2 (3x3 windows over 32 channels: the ifmap words repeat
  in the prefetch matrix);
- os32-mnv: scale.cfg, the same MobileNet Conv2: the small window rotates on far more rows
  than on google.cfg, accelsim's slowest USER case.

Prints figures only; speed is never asserted in a test. SCALE-Sim takes 5-25 s, 40 s-4 min,
14-50 s and about 45 s for the four cases on this 2-core machine (idle to loaded).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

from accelsim.report.export import DETAIL_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
TOPO = ROOT / "workloads" / "scalesim"
# SCALE-Sim's DETAILED_ACCESS_REPORT columns in order (after the layer id): the package's own
# list, the one `accelsim simulate --format scalesim` writes
DETAIL = [field for _, field in DETAIL_COLUMNS]
COLUMNS = ["total_cycles", "stall_cycles"] + DETAIL


def _user_cfg(name: str, folder: Path) -> Path:
    """SCALE-Sim's shipped cfg ``name`` with InterfaceBandwidth USER (its Bandwidth kept)."""
    text = (TOPO / f"{name}.cfg").read_text()
    lines = [("InterfaceBandwidth: USER" if ln.strip().startswith("InterfaceBandwidth") else ln)
             for ln in text.splitlines()]
    path = folder / f"{name}_user.cfg"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(path: Path) -> list[list[int]]:
    return [[int(float(x)) for x in r[1:] if x.strip()] for r in
            list(csv.reader(path.open()))[1:] if r]


def run_scalesim(topo: Path, cfg: Path) -> tuple[float, list[list[int]]]:
    """SCALE-Sim 2.0.2 through its Python API: (wall s, per layer COLUMNS)."""
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg), topology=str(topo))
        sim.run_scale(top_path=out)
        wall = time.perf_counter() - t0
        d = next(Path(out).iterdir())
        comp = _rows(d / "COMPUTE_REPORT.csv")
        det = _rows(d / "DETAILED_ACCESS_REPORT.csv")
    return wall, [c[:2] + r[:18] for c, r in zip(comp, det)]


def run_accelsim(topo_name: str, names: list[str], cfg: Path, repeat: int):
    """accelsim on the same layers: (engines s, simulate() s, per layer COLUMNS, arch)."""
    from accelsim.evaluate.simulate import simulate, simulate_layer
    from accelsim.hardware.arch import load_arch
    from accelsim.workload.layer import Workload, read_workload_csv

    full = read_workload_csv(TOPO / f"{topo_name}.csv")
    wl = Workload(f"{topo_name}-part", "regular", tuple(full.layer(n) for n in names))
    arch = load_arch(cfg)
    df = simulate(wl, arch)                     # first call: numba's cached kernels load
    counts = df[COLUMNS].astype(int).values.tolist()

    def median(fn):
        from accelsim.evaluate.rows import clear_caches

        times = []
        for _ in range(repeat):
            clear_caches()                      # no layer result reused between calls
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    eng = median(lambda: [simulate_layer(layer, arch) for layer in wl])
    whole = median(lambda: simulate(wl, arch))
    return eng, whole, counts, arch


# case -> (SCALE-Sim config, topology, layers)
CASES = {
    "os32": ("scale", "Resnet18", ["Conv3_s", "Conv4_s", "Conv5_s", "FC"]),
    "ws256": ("google", "yolo_tiny", ["Conv7"]),
    "ws256-dw": ("google", "mobilenet", ["Conv2"]),
    # the same overlapping-window layer on the 32x32 os array: its window rotates far more often
    "os32-mnv": ("scale", "mobilenet", ["Conv2"]),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--repeat", type=int, default=20, help="accelsim timing calls (median)")
    args = ap.parse_args(argv)
    all_equal = True
    for case in args.cases:
        name, topo_name, layers = CASES[case]
        lines = (TOPO / f"{topo_name}.csv").read_text().splitlines()
        keep = [lines[0]] + [ln for ln in lines[1:] if ln.split(",")[0].strip() in layers]
        with tempfile.TemporaryDirectory() as tmp:
            topo = Path(tmp) / "layers.csv"
            topo.write_text("\n".join(keep) + "\n")
            cfg = _user_cfg(name, Path(tmp))
            eng, whole, ours, arch = run_accelsim(topo_name, layers, cfg, args.repeat)
            ss_wall, theirs = run_scalesim(topo, cfg)
            equal = ours == theirs
            all_equal &= equal
            cyc = sum(r[0] for r in theirs)
            stall = sum(r[1] for r in theirs)
            print(f"[{case}] {name}.cfg {arch.rows}x{arch.cols} {arch.dataflow}, USER "
                  f"{arch.dram_bw_words_per_cycle:g} words/cycle, stall model "
                  f"{arch.stall_model}; {topo_name} {', '.join(layers)}: {cyc:,} cycles, "
                  f"{stall:,} of them stalls")
            print(f"    SCALE-Sim 2.0.2 API (no traces) {ss_wall:9.3f} s")
            print(f"    accelsim engines                {eng * 1e3:9.3f} ms  ratio "
                  f"{ss_wall / eng:,.0f}x")
            print(f"    accelsim simulate()             {whole * 1e3:9.3f} ms  ratio "
                  f"{ss_wall / whole:,.0f}x (incl. DataFrame + energy columns)")
            print(f"    every count equal (total, stall, 18 DETAILED_ACCESS columns per layer): "
                  f"{equal}")
            if not equal:
                for n, a, b in zip(layers, ours, theirs):
                    if a != b:
                        print(f"      {n}: " + ", ".join(f"{c} {x} vs {y}" for c, x, y in
                                                    zip(COLUMNS, a, b) if x != y))
    print(f"every count equal: {all_equal}")
    return 0 if all_equal else 1


if __name__ == "__main__":
    sys.exit(main())
