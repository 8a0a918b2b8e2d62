"""Plots for the speedup report (matplotlib, Agg), each as PNG and SVG.

Deterministic bytes: a fixed SVG hash salt, no date/software metadata. Every bar and point carries
an SVG id (``gid``) naming its series and label, so a test (or a reader) can find the data in the
SVG: ``<series>__<network>_<variant>`` for bars, ``<category>__<layer>`` for per-layer bars.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "accelsim"
plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, faster, searchable
COLORS = {"array": "#4C72B0", "pool": "#DD8452", "vector": "#55A868", "stall": "#C44E52",
          "ideal": "#999999", "realized": "#4C72B0", "measured": "#8172B3"}
CAT_LABEL = {"array": "MAC array", "pool": "pool unit", "vector": "vector unit",
             "stall": "memory stalls"}
ENERGY_PARTS = ("mac", "pool", "vector", "sram_ifmap", "sram_filter", "sram_ofmap", "dram")


def gid(*parts) -> str:
    """An XML-id-safe name for a plotted element."""
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(p)) for p in parts)


def save(fig, folder: Path, stem: str) -> list[str]:
    fig.savefig(folder / f"{stem}.png", dpi=100, metadata={"Software": None})
    fig.savefig(folder / f"{stem}.svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [f"{stem}.png", f"{stem}.svg"]


def _bars(ax, xs, heights, width, series, labels, color, bottom=None, label=None):
    bars = ax.bar(xs, heights, width, bottom=bottom, color=color, label=label)
    for patch, lab in zip(bars.patches, labels):
        patch.set_gid(gid(series, lab))
    return bars


def speedup_plot(rows, folder: Path, stem: str = "speedup") -> list[str]:
    """Ideal vs realized (and measured, when present) speedup per network, one panel per arch."""
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    measured = "measured_speedup" in rows[0]
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.9 * len(archs)), squeeze=False)
    w = 0.27 if measured else 0.4
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch and r["variant"] != "regular"]
        labels = [f"{r['network']}:{r['variant']}" for r in rs]
        x = list(range(len(rs)))
        ids = [f"{arch}_{lab}" for lab in labels]
        series = [("ideal", "ideal (MAC ratio)", "ideal_speedup"),
                  ("realized", "realized (cycle ratio)", "realized_speedup")]
        if measured:
            series.append(("measured", "measured (torch, this CPU)", "measured_speedup"))
        for i, (key, lab, col) in enumerate(series):
            off = (i - (len(series) - 1) / 2) * w
            _bars(ax, [v + off for v in x], [r[col] for r in rs], w, key, ids, COLORS[key],
                  label=lab)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("speedup over regular (x)")
        ax.set_title(f"{arch}: ideal vs realized speedup of the structured variants")
        top = max(max(r[col] for r in rs) for _, _, col in series)
        ax.set_ylim(0, top * 1.3)  # headroom for the legend
        ax.legend(fontsize=8, loc="upper center", ncol=len(series))
    fig.tight_layout()
    return save(fig, folder, stem)


def cycle_breakdown_plot(rows, folder: Path, stem: str = "cycle_breakdown") -> list[str]:
    """Network cycles by unit (MAC array / pool unit / vector / stalls), regular vs A vs B."""
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.9 * len(archs)), squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        labels = [f"{r['network']}:{r['variant']}" for r in rs]
        ids = [f"{arch}_{lab}" for lab in labels]
        bottom = [0.0] * len(rs)
        for cat in ("array", "pool", "vector", "stall"):
            vals = [r[f"cycles_{cat}"] / 1e6 for r in rs]
            _bars(ax, range(len(rs)), vals, 0.8, cat, ids, COLORS[cat], bottom=bottom,
                  label=CAT_LABEL[cat])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_yscale("log")
        ax.set_xticks(range(len(rs)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("cycles (millions, log)")
        ax.set_title(f"{arch}: network cycles by unit")
        ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    return save(fig, folder, stem)


def layer_breakdown_plot(frames, arch_name: str, network: str, folder: Path,
                         stem: str) -> list[str]:
    """Per-layer cycles of one network on one arch, regular beside each structured variant,
    stacked by unit. ``frames``: [(variant, simulate DataFrame)]. A structured conv's sumpool row
    is drawn on its conv's position (``m.sumpool`` -> ``m``)."""
    from .report import layer_cycle_parts

    fig, axes = plt.subplots(len(frames), 1, figsize=(12, 2.6 * len(frames)), squeeze=False,
                             sharex=True, sharey=True)
    order: list[str] = []
    for _, df in frames:
        for name in df["layer"]:
            base = name.removesuffix(".sumpool")
            if base not in order:
                order.append(base)
    pos = {n: i for i, n in enumerate(order)}
    for ax, (variant, df) in zip(axes[:, 0], frames):
        parts = layer_cycle_parts(df)
        base = df["layer"].str.removesuffix(".sumpool")
        bottom = [0.0] * len(order)
        for cat in ("array", "pool", "vector", "stall"):
            vals = [0.0] * len(order)
            for b, v in zip(base, parts[f"cycles_{cat}"]):
                vals[pos[b]] += v / 1e3
            # zero-height bars (most layers use one unit) are left out: they cost drawing time
            nz = [i for i, v in enumerate(vals) if v > 0]
            if not nz:
                continue
            _bars(ax, nz, [vals[i] for i in nz], 0.85, f"{variant}_{cat}",
                  [order[i] for i in nz], COLORS[cat], bottom=[bottom[i] for i in nz],
                  label=CAT_LABEL[cat])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel("cycles (thousands)")
        ax.set_title(f"{network}:{variant} on {arch_name}: cycles per layer "
                     f"(total {int(df['total_cycles'].sum()):,})", fontsize=10)
        ax.legend(fontsize=7, ncol=4, loc="upper right")
    step = max(1, -(-len(order) // 50))
    axes[-1, 0].set_xticks(range(0, len(order), step), order[::step], rotation=90, fontsize=5)
    axes[-1, 0].set_xlabel("layer (network order; a structured conv includes its sum-pool)")
    fig.tight_layout()
    return save(fig, folder, stem)


def energy_plot(rows, folder: Path, stem: str = "energy_breakdown") -> list[str]:
    """Energy by component (MAC, pool, vector, each SRAM, DRAM) per network and variant."""
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.9 * len(archs)), squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        ids = [f"{arch}_{r['network']}:{r['variant']}" for r in rs]
        bottom = [0.0] * len(rs)
        for i, p in enumerate(ENERGY_PARTS):
            vals = [r.get(f"energy_{p}_uj", 0.0) for r in rs]
            _bars(ax, range(len(rs)), vals, 0.8, f"energy_{p}", ids, cmap(i), bottom=bottom,
                  label=p.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(rs)), [f"{r['network']}:{r['variant']}" for r in rs],
                      rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("energy (uJ per inference)")
        ax.set_title(f"{arch}: energy by component")
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    return save(fig, folder, stem)


def roofline_points(df):
    """(MACs per DRAM byte, achieved MACs per cycle) of each conv/linear row with DRAM traffic."""
    g = df[(df["engine"] == "array") & (df["macs"] > 0) & (df["dram_bytes"] > 0)]
    return (g["layer"].tolist(), (g["macs"] / g["dram_bytes"]).tolist(),
            (g["macs"] / g["total_cycles"]).tolist())


def roofline_plot(layer_frames, arch, folder: Path, stem: str) -> list[str]:
    """Each conv/linear layer at (MACs per DRAM byte, achieved MACs per cycle) under the compute
    roof (one MAC per PE per cycle) and the bandwidth roof (DRAM bytes per cycle x intensity)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7.5, 5))
    lo, hi = 1e9, 1e-9
    for label, df in layer_frames:
        names, inten, perf = roofline_points(df)
        if not names:
            continue
        pts = ax.scatter(inten, perf, s=14, label=label, alpha=0.75)
        pts.set_gid(gid("roofline", label))
        lo, hi = min(lo, min(inten)), max(hi, max(inten))
    bw_bytes = arch.dram_bw_words_per_cycle * arch.word_bytes
    xs = np.logspace(np.log10(min(lo, 1.0) / 2), np.log10(max(hi, arch.pes / bw_bytes) * 2), 200)
    roof, = ax.plot(xs, np.minimum(arch.pes, xs * bw_bytes), color="black", lw=1.2,
                    label=f"roof: {arch.pes} MACs/cycle, {bw_bytes:g} B/cycle DRAM")
    roof.set_gid("roof")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    ax.set_ylabel("achieved MACs per cycle")
    mode = "" if arch.bandwidth_mode == "user" else " (calc mode: DRAM roof not enforced)"
    ax.set_title(f"roofline on {arch.name}{mode}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save(fig, folder, stem)
