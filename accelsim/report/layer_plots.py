"""Per-layer figures of one network on one arch: cycles per layer by unit, and the roofline."""

from __future__ import annotations

from pathlib import Path

from accelsim.report.figures import ENERGY_MARKERS, OKABE_ITO, PALETTE, CAT_LABEL, gid
from accelsim.report.plotkit import _top_legend, plt, save


def layer_breakdown_plot(frames, arch_name: str, network: str, folder: Path, stem: str,
                         formats=("png",), svg_sink=None) -> list[str]:
    """Per-layer cycles of one network on one arch as horizontal bars (layers top to bottom in
    network order), one panel per variant on a shared x axis, stacked by unit. ``frames``:
    [(variant, simulate DataFrame)]. A structured conv's sumpool row is drawn on its conv's bar
    (``m.sumpool`` -> ``m``)."""
    from accelsim.report.tables import layer_cycle_parts

    order: list[str] = []
    for _, df in frames:
        for name in df["layer"]:
            base = name.removesuffix(".sumpool")
            if base not in order:
                order.append(base)
    pos = {n: i for i, n in enumerate(order)}
    fig, axes = plt.subplots(1, len(frames), figsize=(3.2 + 3.0 * len(frames),
                                                       1.4 + 0.14 * len(order)),
                             squeeze=False, sharey=True, sharex=True)
    for ax, (variant, df) in zip(axes[0], frames):
        parts = layer_cycle_parts(df)
        base = df["layer"].str.removesuffix(".sumpool")
        left = [0.0] * len(order)
        for cat in ("array", "pool", "vector", "stall"):
            vals = [0.0] * len(order)
            for b, v in zip(base, parts[f"cycles_{cat}"]):
                vals[pos[b]] += v / 1e3
            # zero-width bars (most layers use one unit) are left out: they cost drawing time
            nz = [i for i, v in enumerate(vals) if v > 0]
            if nz:
                bars = ax.barh(nz, [vals[i] for i in nz], 0.8, left=[left[i] for i in nz],
                               color=PALETTE[cat], label=CAT_LABEL[cat])
                for patch, i in zip(bars.patches, nz):
                    patch.set_gid(gid(f"{variant}_{cat}", order[i]))
            left = [a + v for a, v in zip(left, vals)]
        ax.set_title(f"{variant}: {int(df['total_cycles'].sum()):,} cycles", fontsize=9)
        ax.set_xlabel("cycles (thousands)")
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0, 0].set_yticks(range(len(order)), order, fontsize=6.5)
    axes[0, 0].set_ylim(len(order) - 0.4, -0.6)  # first layer on top
    handles, labs = [], []
    for ax in axes[0]:  # a unit may appear in one variant only
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labs:
                handles.append(h)
                labs.append(lab)
    _top_legend(fig, None, 4, f"{network} on {arch_name}: cycles per layer", handles, labs)
    return save(fig, folder, stem, formats, svg_sink)


def roofline_points(df):
    """(MACs per DRAM byte, achieved MACs per cycle) of each conv/linear row with DRAM traffic."""
    g = df[(df["engine"] == "array") & (df["macs"] > 0) & (df["dram_bytes"] > 0)]
    return (g["layer"].tolist(), (g["macs"] / g["dram_bytes"]).tolist(),
            (g["macs"] / g["total_cycles"]).tolist())


def roofline_plot(layer_frames, arch, folder: Path, stem: str, formats=("png",),
                  svg_sink=None, labelled: int = 5) -> list[str]:
    """Each conv/linear layer at (MACs per DRAM byte, achieved MACs per cycle) under the compute
    roof (one MAC per PE per cycle) and, where DRAM bandwidth is enforced (``bandwidth_mode:
    user``), the bandwidth roof; the ``labelled`` layers farthest below their roof are named."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(7.5, 5))
    bw_bytes = arch.dram_bw_words_per_cycle * arch.word_bytes
    enforced = arch.bandwidth_mode == "user"
    lo, hi, far = 1e9, 1e-9, []
    for k, (label, df) in enumerate(layer_frames):
        names, inten, perf = roofline_points(df)
        if not names:
            continue
        pts = ax.scatter(inten, perf, s=16, label=label, alpha=0.8,
                         marker=ENERGY_MARKERS[k % len(ENERGY_MARKERS)],
                         color=OKABE_ITO[k % len(OKABE_ITO)])
        pts.set_gid(gid("roofline", label))
        lo, hi = min(lo, min(inten)), max(hi, max(inten))
        for n, i, p in zip(names, inten, perf):
            roof = min(arch.pes, i * bw_bytes) if enforced else arch.pes
            far.append((roof / p, n, i, p))
    xs = np.logspace(np.log10(min(lo, 1.0) / 2), np.log10(max(hi, arch.pes / bw_bytes) * 2), 200)
    if enforced:
        roof, = ax.plot(xs, np.minimum(arch.pes, xs * bw_bytes), color="black", lw=1.2,
                        label=f"roofs: {arch.pes} MACs/cycle, {bw_bytes:g} B/cycle DRAM")
    else:
        roof, = ax.plot(xs, np.full_like(xs, arch.pes), color="black", lw=1.2,
                        label=f"compute roof: {arch.pes} MACs/cycle")
    roof.set_gid("roof")
    named: list[str] = []  # one label per layer (its variants sit close together)
    for _, name, i, p in sorted(far, reverse=True):
        if name in named or len(named) == labelled:
            continue
        ax.annotate(name, (i, p), xytext=(5, 7 - 9 * (len(named) % 3)),
                    textcoords="offset points", fontsize=6.5,
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "0.4"})
        named.append(name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (MACs per DRAM byte)")
    ax.set_ylabel("achieved MACs per cycle")
    mode = "" if enforced else " (DRAM bandwidth not enforced: compute roof only)"
    ax.set_title(f"roofline on {arch.name}{mode}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.25, which="major")
    fig.tight_layout()
    return save(fig, folder, stem, formats, svg_sink)
