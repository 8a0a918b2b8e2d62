"""Plots for the speedup report (matplotlib, Agg). PNG and SVG, deterministic bytes: fixed SVG
hash salt and no date metadata."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "accelsim"
COLORS = {"array": "#4C72B0", "pool": "#DD8452", "vector": "#55A868", "stall": "#C44E52"}


def save(fig, folder: Path, stem: str) -> list[str]:
    fig.savefig(folder / f"{stem}.png", dpi=110, metadata={"Software": None})
    fig.savefig(folder / f"{stem}.svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [f"{stem}.png", f"{stem}.svg"]


def speedup_plot(rows, folder: Path) -> list[str]:
    """Ideal vs realized speedup per network, one panel per arch."""
    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.8 * len(archs)), squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch and r["variant"] != "regular"]
        labels = [f"{r['network']}:{r['variant']}" for r in rs]
        x = range(len(rs))
        ax.bar([i - 0.2 for i in x], [r["ideal_speedup"] for r in rs], 0.4, label="ideal (MACs)",
               color="#999999")
        ax.bar([i + 0.2 for i in x], [r["realized_speedup"] for r in rs], 0.4,
               label="realized (cycles)", color=COLORS["array"])
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(list(x), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("speedup (x)")
        ax.set_title(f"{arch}: ideal vs realized speedup of structured variants")
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return save(fig, folder, "speedup")


def cycle_breakdown_plot(rows, folder: Path) -> list[str]:
    """Cycles by unit (MAC array / pool unit / vector / stalls), regular vs A vs B."""
    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.8 * len(archs)), squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        labels = [f"{r['network']}:{r['variant']}" for r in rs]
        bottom = [0.0] * len(rs)
        for cat in ("array", "pool", "vector", "stall"):
            vals = [r[f"cycles_{cat}"] / 1e6 for r in rs]
            ax.bar(range(len(rs)), vals, bottom=bottom, label=cat, color=COLORS[cat])
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(rs)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("cycles (M)")
        ax.set_title(f"{arch}: cycles by unit")
        ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    return save(fig, folder, "cycle_breakdown")


def energy_plot(rows, folder: Path) -> list[str]:
    parts = ["energy_mac_uj", "energy_pool_uj", "energy_vector_uj", "energy_sram_ifmap_uj",
             "energy_sram_filter_uj", "energy_sram_ofmap_uj", "energy_dram_uj"]
    archs = sorted({r["arch"] for r in rows})
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 2.8 * len(archs)), squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        bottom = [0.0] * len(rs)
        for p in parts:
            vals = [r.get(p, 0.0) for r in rs]
            ax.bar(range(len(rs)), vals, bottom=bottom,
                   label=p.removeprefix("energy_").removesuffix("_uj"))
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(rs)), [f"{r['network']}:{r['variant']}" for r in rs],
                      rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("energy (uJ)")
        ax.set_title(f"{arch}: energy by component")
        ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    return save(fig, folder, "energy_breakdown")


def roofline_plot(layer_frames, arch, folder: Path, stem: str) -> list[str]:
    """Each GEMM layer at (MACs per DRAM byte, achieved MACs per cycle) under the compute roof
    (all PEs) and the bandwidth roof (DRAM words per cycle x intensity)."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 5))
    for label, df in layer_frames:
        g = df[df["engine"] == "array"]
        inten = g["macs"] / g["dram_bytes"].clip(lower=1)
        perf = g["macs"] / g["total_cycles"].clip(lower=1)
        ax.scatter(inten, perf, s=12, label=label, alpha=0.7)
    xs = np.logspace(-1, 4, 200)
    bw_bytes = arch.dram_bw_words_per_cycle * arch.word_bytes
    ax.plot(xs, np.minimum(arch.pes, xs * bw_bytes), color="black", lw=1.2,
            label=f"roof: {arch.pes} PEs, {bw_bytes:g} B/cycle")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs / DRAM byte)")
    ax.set_ylabel("achieved MACs / cycle")
    ax.set_title(f"roofline on {arch.name}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, folder, stem)
