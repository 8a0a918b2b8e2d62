"""The pool unit at cycle level against the closed form it replaced, on the presets with a pool
unit (tpu-v1, edge-npu), and how fast the cycle-level model runs.

    .venv/bin/python bench/poolunit_report.py [--out bench/results/poolunit.md]

1. Per (preset, network): every fused pair's cycles under the previous closed form,
   max(pool steady state + array skew, array compute) + depth (an unbounded staging buffer and
   work spread evenly over the conv), against the cycle-level schedule with an unbounded buffer
   in demand order, and with the preset's own buffer and order: which pairs fuse, the buffer
   each needs (staging_peak_words unbounded, staging_min_words within 1 %).
2. Network realized speedups (regular cycles / structured cycles) before and after.
3. Speed: ResNet-50 A on each preset, whole network, the preset's finite buffer, in a fresh
   process (engine memos cold, numba's on-disk cache warm), median of 3 runs.

Prints Markdown and writes it to --out. Figures, not tests.
"""

from __future__ import annotations

import argparse
import datetime
import math
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRESETS = ("tpu-v1", "edge-npu")
NETWORKS = ("resnet18:A", "resnet18:B", "resnet50:A", "mobilenetv2:A", "resnet56:A")


def closed_form_pair(pool_row, conv_row, arch) -> int:
    """The previous model's fused pair (accelsim 0.1, poolunit.fuse_structured): the slower unit
    sets the pace, the other's pipeline is paid once."""
    steady = pool_row["pool_cycles"] - pool_row["pool_depth"]
    skew = arch.rows + arch.cols - 2
    return max(steady + skew, conv_row["compute_cycles"]) + pool_row["pool_depth"]


def _pair_stall(busy, pool_row, conv_row, arch) -> int:
    if arch.bandwidth_mode != "user":
        return 0
    words = (pool_row["dram_ifmap_reads"] + conv_row["dram_filter_reads"]
             + conv_row["dram_ofmap_writes"])
    return max(0, math.ceil(words / arch.dram_bw_words_per_cycle) - busy)


def pair_table(arch, net):
    from accelsim.workload.networks import load_workload
    from accelsim.evaluate.simulate import simulate

    wl = load_workload(net)
    unb = arch.with_(pool=replace(arch.pool, order="demand", staging_kb=None))
    d_unb = simulate(wl, unb, buffer_search=True)
    d_pre = simulate(wl, arch)
    rows = []
    old_total = int(d_unb["total_cycles"].sum())
    for i in range(len(d_unb) - 1):
        p, c = d_unb.iloc[i], d_unb.iloc[i + 1]
        if p["op"] != "sumpool" or p["pool_schedule"] == "":
            continue
        old = closed_form_pair(p, c, arch)
        old_pair = old + _pair_stall(old, p, c, arch)
        new_pair = int(p["total_cycles"] + c["total_cycles"])
        old_total += old_pair - new_pair
        pre = d_pre.iloc[i]
        rows.append({"layer": c["layer"], "compute": int(c["compute_cycles"]), "old": int(old),
                     "new": int(p["fused_cycles"]), "peak": int(p["staging_peak_words"]),
                     "min": int(p["staging_min_words"]), "preset": pre["pool_schedule"],
                     "preset_cycles": int(pre["fused_cycles"])})
    return rows, old_total, int(d_unb["total_cycles"].sum()), int(d_pre["total_cycles"].sum())


def speed_runs(preset: str, net: str = "resnet50:A", repeats: int = 3) -> float:
    code = ("import time; from accelsim.hardware.arch import load_arch; "
            "from accelsim.workload.networks import load_workload; from accelsim.evaluate.simulate import simulate; "
            f"a = load_arch('{preset}'); wl = load_workload('{net}'); t = time.perf_counter(); "
            "simulate(wl, a); print(time.perf_counter() - t)")
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "poolunit.md"),
                    help="where to write the Markdown ('-': print only, as bench/run_all.py "
                         "runs it)")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args()
    from accelsim.hardware.arch import load_arch
    from accelsim.workload.networks import load_workload
    from accelsim.evaluate.simulate import simulate

    lines = [f"# Pool unit at cycle level vs the closed form ({datetime.date.today()})", "",
             "Command: `.venv/bin/python bench/poolunit_report.py`. old = the previous closed "
             "form (unbounded buffer, work spread evenly); new = cycle level, demand order, "
             "unbounded buffer; peak / min = staging words the pair fills / needs within 1 % "
             "of unbounded; preset = what the preset's own buffer and order run "
             "(fused, refold or two_pass) and its pair cycles before DRAM stalls.", ""]
    summary = []
    for preset in PRESETS:
        arch = load_arch(preset)
        p = arch.pool
        lines += [f"## {preset}: {p.lanes} lanes, {p.tree}, order {p.order}, staging "
                  f"{p.staging_kb} KB, on deadlock {p.on_deadlock}", ""]
        for net in NETWORKS:
            rows, old_total, unb_total, pre_total = pair_table(arch, net)
            reg = int(simulate(load_workload(net.split(":")[0] + ":regular"), arch)
                      ["total_cycles"].sum())
            within = sum(abs(r["new"] - r["old"]) <= 0.01 * r["old"] for r in rows)
            fused = sum(r["preset"] != "two_pass" for r in rows)
            summary.append((preset, net, reg / old_total, reg / unb_total, reg / pre_total,
                            within, fused, len(rows)))
            lines += [f"### {net}: {within} of {len(rows)} pairs within 1 % of the closed form; "
                      f"{fused} of {len(rows)} fuse with the preset's buffer", "",
                      "| layer | compute | old | new | new/old | peak words | min words | "
                      "preset | preset cycles |", "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
            for r in rows:
                lines.append(f"| {r['layer']} | {r['compute']} | {r['old']} | {r['new']} | "
                             f"{r['new'] / r['old']:.3f} | {r['peak']} | {r['min']} | "
                             f"{r['preset']} | {r['preset_cycles']} |")
            lines.append("")
    lines += ["## Realized speedup (regular cycles / structured cycles)", "",
              "| preset | network | before (closed form) | cycle level, unbounded | "
              "cycle level, preset buffer | pairs within 1 % | pairs fused (preset) |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for preset, net, old, unb, pre, within, fused, n in summary:
        lines.append(f"| {preset} | {net} | {old:.3f} | {unb:.3f} | {pre:.3f} | "
                     f"{within}/{n} | {fused}/{n} |")
    if not args.no_speed:
        lines += ["", "## Speed: ResNet-50 A, whole network, preset buffer, fresh process "
                  "(median of 3)", ""]
        for preset in PRESETS:
            lines.append(f"- {preset}: {speed_runs(preset):.2f} s")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out != "-":
        from accelsim.common.fsio import write_text_atomic

        write_text_atomic(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
