"""The README's main job, `accelsim speedup --out reports`, end to end in fresh processes.

    .venv/bin/python bench/bench_main_job.py [--warm 2] [--no-cold] [--no-serial]

Runs on a copy of accelsim/ in a temporary folder (its own __pycache__, so nothing here touches
the numba cache of the working tree, and other jobs editing the tree cannot make a warm run
compile): first cold (no .pyc, no numba cache: what the README's fresh-machine command pays once),
then ``--warm`` times warm (the target: < 10 s on 2 idle cores), then once warm with ``--jobs 1``
(everything in one process) for comparison. Each run writes to its own temporary --out.

For each run: wall, CPU (user + sys of the process and its workers), and the critical-path CPU:
start-up CPU plus, per phase, the busiest worker's CPU (or this process's where no worker ran),
which is what the run would take on idle cores whatever else shares them now (a figure drawn
while the last simulations run counts under plots, so this over-counts a little). The phase split
(from `accelsim speedup -v`) of the fastest warm run follows, then a check that every run wrote
the same speedup.csv and that it equals the committed reports/speedup.csv.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE = re.compile(r"^phase (.+?): wall (\S+) s, cpu ([\d.]+) s"
                   r"(?:, busiest worker cpu ([\d.]+) s)?$")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(pkg_root: Path, out: Path, jobs: int | None) -> dict:
    """One `accelsim speedup --out OUT -v` in a fresh interpreter importing accelsim from
    ``pkg_root``; its wall, CPU and phases."""
    env = dict(os.environ, PYTHONPATH=str(pkg_root))
    for k in ("NUMBA_CACHE_DIR", "PYTHONDONTWRITEBYTECODE"):  # caches beside the copy's sources
        env.pop(k, None)
    argv = [sys.executable, "-m", "accelsim", "speedup", "--out", str(out), "-v"]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    c0, t0 = _children_cpu(), time.perf_counter()
    p = subprocess.run(argv, cwd=pkg_root, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if p.returncode:
        sys.exit(f"bench_main_job: {' '.join(argv)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    phases = []
    for line in re.split(r"[\r\n]", p.stderr):
        m = PHASE.match(line.strip())
        if m:
            name, w, c, b = m.groups()
            phases.append((name, None if w == "-" else float(w), float(c),
                           None if b is None else float(b)))
    parts = [(n, w, c, b) for n, w, c, b in phases if not n.startswith("total")]
    critical = sum(c if b is None else b for _, _, c, b in parts)
    return {"wall": wall, "cpu": cpu, "critical": critical, "phases": phases,
            "csv": (out / "speedup.csv").read_bytes()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=2, help="warm runs (default 2)")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold run")
    ap.add_argument("--no-serial", action="store_true", help="skip the --jobs 1 run")
    args = ap.parse_args(argv)

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print("main job: accelsim speedup --out DIR (README), fresh process per run, accelsim/ "
          f"copied to a temporary folder; {cores} usable cores, load average (1 min) "
          f"{os.getloadavg()[0]:.1f} at start", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="accelsim-mainjob-") as tmp:
        tmp = Path(tmp)
        for part in ("accelsim", "workloads"):  # the package and its shipped traces, recipes
            shutil.copytree(ROOT / part, tmp / "pkg" / part, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.nbi", "*.nbc"))
        # the copy starts cold: without the cold run, a warm-up run (not reported) compiles
        runs = [("cold", None)] if not args.no_cold else [("warm-up", None)]
        runs += [("warm", None)] * args.warm
        runs += [] if args.no_serial else [("warm, --jobs 1", 1)]
        for k, (label, jobs) in enumerate(runs):
            r = run_once(tmp / "pkg", tmp / f"out{k}", jobs)
            r["label"] = label
            if label != "warm-up":
                results.append(r)
    print()
    print("| run | wall s | CPU s (user+sys, all processes) | critical-path CPU s |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['label']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['critical']:.1f} |")
    warm = [r for r in results if r["label"] == "warm"]
    if warm:
        best = min(warm, key=lambda r: r["critical"])
        print("\nphase split of the warm run with the shortest critical path "
              "(wall under the load at the time; CPU of all processes; busiest worker):\n")
        print("| phase | wall s | CPU s | busiest worker CPU s |")
        print("|---|---:|---:|---:|")
        for name, w, c, b in best["phases"]:
            print(f"| {name} | {'-' if w is None else f'{w:.2f}'} | {c:.2f} | "
                  f"{'-' if b is None else f'{b:.2f}'} |")
    same = len({r["csv"] for r in results}) == 1
    committed = ROOT / "reports" / "speedup.csv"
    equal = committed.exists() and results and results[0]["csv"] == committed.read_bytes()
    print(f"\nspeedup.csv the same bytes in every run: {'yes' if same else 'NO'}; equal to the "
          f"committed reports/speedup.csv: {'yes' if equal else 'no'}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
