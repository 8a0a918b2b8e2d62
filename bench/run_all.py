"""Regenerate every committed benchmark output in bench/results/ with one command.

    .venv/bin/python bench/run_all.py                  # everything (~10 min on 2 cores)
    .venv/bin/python bench/run_all.py --only sweep     # some of: engine_resnet18, engine_layers,
                                                       # engine_presets, sweep, poolunit,
                                                       # engine_user, fast_tier, batch,
                                                       # main_job, mutations

Each benchmark runs alone, one after another, and its output is written verbatim (atomically)
to bench/results/<name>.md under a header with the exact command, the date (UTC), the git
commit, the versions, and the machine's load average before and after the run: figures taken
while other jobs share the cores are slower than on an idle machine, so ratios measured side by
side in one run (accelsim vs SCALE-Sim on the same layers) are the numbers to quote. The README's
"How fast it is" quotes these files; bench/results/README.md says which figure comes from where.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
PY = sys.executable

# name -> (argv after the interpreter, what it measures)
JOBS = {
    "engine_resnet18": (["bench/bench_engine.py", "--layers", "all"],
                        "SCALE-Sim 2.0.2 vs accelsim on SCALE-Sim's whole Resnet18.csv (32x32 os, "
                        "CALC) in one run, counts compared; ResNet-50 per preset; zoo x presets"),
    "engine_layers": (["bench/bench_engine.py", "--no-zoo"],
                      "SCALE-Sim 2.0.2 vs accelsim on four ResNet-18 layers (Conv3_s, Conv4_s, "
                      "Conv5_s, FC) in one run; ResNet-50 per preset"),
    "engine_presets": (["bench/bench_engine.py", "--no-scalesim"],
                       "accelsim alone: ResNet-50 (regular, A) per preset from cold engine "
                       "memos, and the zoo x presets"),
    "engine_user": (["bench/bench_user.py"],
                    "SCALE-Sim 2.0.2 vs accelsim in USER bandwidth mode with SCALE-Sim's stall "
                    "model, side by side on the same stalling layers: 32x32 os (ResNet-18 "
                    "Conv3_s, Conv4_s, Conv5_s, FC), 256x256 ws google.cfg (YOLO-tiny Conv7; "
                    "MobileNet Conv2, whose ifmap words repeat), every count compared"),
    "sweep": (["bench/bench_sweep.py"],
              "fast path vs simulate on random ResNet-50 design points, the process sweep "
              "runner, and the 14,400-point co-design grid (sweeps/codesign_grid.yaml)"),
    "poolunit": (["bench/poolunit_report.py", "--out", "-"],
                 "the pool unit at cycle level vs the previous closed form on tpu-v1 and "
                 "edge-npu (which pairs fuse, the buffer each needs, speedups before and after), "
                 "and ResNet-50 A's whole-network time in a fresh process"),
    "fast_tier": (["bench/bench_fast_tier.py"],
                  "the fold-level analytical (fast) tier against the exact tier on 10,000 "
                  "random (layer, arch) points (relative error per column), and its "
                  "throughput (new geometry at every point; whole ResNet-50)"),
    "batch": (["bench/bench_batch.py"],
              "ResNet-50 at batch 1 vs 32 on scalesim-eyeriss in fresh processes (CPU time "
              "ratio, peak RSS), and the exact tier's layer evaluations per second with a new "
              "geometry at every point, with its time split"),
    "main_job": (["bench/bench_main_job.py"],
                 "the README main job (accelsim speedup --out DIR) end to end in fresh "
                 "processes: cold (no .pyc, no numba cache), warm, warm with --jobs 1; the "
                 "phase split"),
    "mutations": (["bench/mutate.py"],
                  "each engine mutation of bench/mutate.py against its target tests (HEAD copy)"),
}


def _versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for mod in ("numpy", "numba", "pandas", "torch", "scalesim"):
        try:
            from importlib.metadata import version

            out.append(f"{mod} {version(mod)}")
        except Exception:  # a missing optional package is simply not listed
            pass
    return ", ".join(out)


def _commit() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "accelsim", "bench", ":!bench/results"], capture_output=True,
                               text=True).stdout
        return rev + (" (working tree differs in accelsim/ or bench/)" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_job(name: str) -> int:
    argv, what = JOBS[name]
    load0 = os.getloadavg()
    start = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    p = subprocess.run([PY, *argv], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    cmd = " ".join([".venv/bin/python", *argv])
    text = "\n".join([
        f"# {name}: {what}", "",
        f"- command: `{cmd}` (from the project root; regenerate all with "
        f"`.venv/bin/python bench/run_all.py`)",
        f"- date: {start:%Y-%m-%d %H:%M} UTC, {wall:.0f} s wall, exit status {p.returncode}",
        f"- commit: {_commit()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {_versions()}",
        f"- load average (1 min) before / after: {load0[0]:.1f} / {load1[0]:.1f} (the "
        "benchmark itself keeps up to 2 cores busy; above that, other jobs shared the machine "
        "and absolute times are pessimistic). Side-by-side ratios from one run are the robust "
        "figures.", "",
        "```", p.stdout.rstrip(), *(["", "stderr:", p.stderr.rstrip()] if p.returncode else []),
        "```", ""])
    sys.path.insert(0, str(ROOT))
    from accelsim.common.fsio import write_text_atomic

    OUT.mkdir(parents=True, exist_ok=True)
    write_text_atomic(OUT / f"{name}.md", text)
    print(f"{name}: exit {p.returncode}, {wall:.0f} s -> bench/results/{name}.md", flush=True)
    return p.returncode


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=list(JOBS), help="run only these")
    args = ap.parse_args(argv)
    codes = [run_job(n) for n in (args.only or list(JOBS))]
    return 0 if not any(codes) else 1


if __name__ == "__main__":
    sys.exit(main())
