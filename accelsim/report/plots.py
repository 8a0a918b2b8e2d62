"""Plots for the speedup report (matplotlib, Agg): 200 dpi PNG, SVG where asked.

Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
and the cividis map for the heatmap. Deterministic bytes: a fixed SVG hash salt, no
date/software metadata. Every bar and point carries an SVG id (``gid``) naming its series and
label, so a test (or a reader) can find the data in the SVG: ``<series>__<arch>_<net>_<variant>``
for bars, ``<variant>_<unit>__<layer>`` for per-layer bars. Each plot function returns the file
names it wrote; ``CAPTIONS`` says how to read each plot (the HTML report shows them).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "accelsim"
plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, faster, searchable
plt.rcParams["font.size"] = 9
DPI = 200
# Okabe & Ito (2008), "Color Universal Design": safe for deuteranopia, protanopia, tritanopia
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000")
PALETTE = {"array": "#0072B2", "pool": "#E69F00", "vector": "#009E73", "stall": "#D55E00",
           "ideal": "#BBBBBB", "realized": "#0072B2", "measured": "#CC79A7"}
COLORS = PALETTE  # older name, used by other commands' plots
CAT_LABEL = {"array": "MAC array", "pool": "pool unit", "vector": "vector unit",
             "stall": "memory stalls"}
ENERGY_PARTS = ("mac", "pool", "vector", "sram_ifmap", "sram_filter", "sram_ofmap", "dram")
ENERGY_MARKERS = ("o", "s", "D", "^", "v", "<", "X")
FORMATS = ("png", "svg")

CAPTIONS = {
    "realized_over_ideal": (
        "Share of the ideal speedup that each accelerator delivers (realized / ideal, colour and "
        "top number; the realized speedup below it). 100 % means the cycles fall as much as the "
        "MACs; above 100 %, structuring saved more than its MACs (e.g. DRAM stalls that vanish)."),
    "speedup": (
        "Speedup of each structured variant over its regular network. The wide grey bar is the "
        "ideal speedup (regular MACs / structured MACs), the same on every accelerator, so drawn "
        "once; the coloured bars inside it are the realized speedups (regular cycles / "
        "structured cycles), one per accelerator. A coloured bar reaching the top of the grey "
        "one realizes the whole saving; the black line is 1x (no gain)."),
    "cycle_breakdown": (
        "Cycles of each network normalized to its regular variant = 1 (linear axis), split by "
        "the unit that spends them. A structured bar's height is 1 / realized speedup; the "
        "black tick on it is 1 / ideal speedup, where the bar would end if the cycles fell as "
        "much as the MACs. The segments above the tick show where the gap is spent."),
    "energy_breakdown": (
        "Energy per inference of each component on a log axis, so small components stay "
        "visible: one marker per component, the black bar is the total. Read a component's "
        "share as its distance below the total (one decade = 10 %)."),
    "layers": (
        "Cycles per layer (horizontal bars, network order top to bottom), regular beside each "
        "structured variant on a shared axis, split by unit. A structured conv's sum-pool is "
        "added to its conv's bar."),
    "roofline": (
        "Each conv/linear layer at its arithmetic intensity (MACs per DRAM byte) and achieved "
        "MACs per cycle, under the roofs that bind on this accelerator (the DRAM roof only "
        "where DRAM bandwidth is enforced). The layers farthest below their roof are labelled."),
}


def caption(stem: str) -> str:
    for key in sorted(CAPTIONS, key=len, reverse=True):
        if stem == key or stem.startswith(key + "_"):
            return CAPTIONS[key]
    return ""


def parse_formats(text: str) -> tuple[str, ...]:
    from accelsim.common.errors import require

    fmts = tuple(dict.fromkeys(f.strip().lower() for f in str(text).split(",") if f.strip()))
    require(fmts and all(f in FORMATS for f in fmts), "expected a comma list of png, svg",
            field="--formats", value=text)
    return fmts


def gid(*parts) -> str:
    """An XML-id-safe name for a plotted element."""
    return "__".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(p)) for p in parts)


def save(fig, folder: Path, stem: str, formats=FORMATS, svg_sink: dict | None = None) -> list[str]:
    """Write the figure in ``formats``; with ``svg_sink`` also keep its SVG text there (for
    inlining in the HTML report) without writing a file unless svg is among ``formats``."""
    out = []
    if "png" in formats:
        fig.savefig(folder / f"{stem}.png", dpi=DPI, metadata={"Software": None})
        out.append(f"{stem}.png")
    if "svg" in formats or svg_sink is not None:
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        text = buf.getvalue()
        if "svg" in formats:
            (folder / f"{stem}.svg").write_text(text)
            out.append(f"{stem}.svg")
        if svg_sink is not None:
            svg_sink[stem] = text
    plt.close(fig)
    return out


def _bars(ax, xs, heights, width, series, labels, color, bottom=None, label=None, **kw):
    bars = ax.bar(xs, heights, width, bottom=bottom, color=color, label=label, **kw)
    for patch, lab in zip(bars.patches, labels):
        patch.set_gid(gid(series, lab))
    return bars


def _structured(rows):
    return [r for r in rows if r["variant"] != "regular"]


def _order(rows, key):
    return list(dict.fromkeys(key(r) for r in rows))


def heatmap_plot(rows, folder: Path, stem: str = "realized_over_ideal", formats=("png",),
                 svg_sink=None) -> list[str]:
    """realized/ideal as a heatmap: accelerators down, network:variant across."""
    import numpy as np

    rs = _structured(rows)
    archs = _order(rs, lambda r: r["arch"])
    cols = _order(rs, lambda r: (r["network"], r["variant"]))
    at = {(r["arch"], r["network"], r["variant"]): r for r in rs}
    val = np.full((len(archs), len(cols)), np.nan)
    for i, a in enumerate(archs):
        for j, (n, v) in enumerate(cols):
            if (a, n, v) in at:
                val[i, j] = at[(a, n, v)]["realized_over_ideal"]
    fig, ax = plt.subplots(figsize=(max(6.5, 2.2 + 0.62 * len(cols)),
                                    1.5 + 0.55 * len(archs)))
    vmax = max(1.2, float(np.nanmax(val)))
    im = ax.imshow(val, cmap="cividis", vmin=0, vmax=vmax, aspect="auto")
    for i, a in enumerate(archs):
        for j, (n, v) in enumerate(cols):
            r = at.get((a, n, v))
            if r is None:
                continue
            shade = im.cmap(im.norm(r["realized_over_ideal"]))
            light = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] > 0.55
            t = ax.text(j, i, f"{r['realized_over_ideal']:.0%}\n{r['realized_speedup']:.2f}x",
                        ha="center", va="center", fontsize=6.5,
                        color="black" if light else "white")
            t.set_gid(gid("cell", a, f"{n}_{v}"))
    ax.set_xticks(range(len(cols)), [f"{n}:{v}" for n, v in cols], rotation=40, ha="right")
    ax.set_yticks(range(len(archs)), archs)
    ax.tick_params(length=0)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.01)
    cb.set_label("realized / ideal")
    cb.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title("How much of the ideal (MAC-count) speedup each accelerator realizes")
    fig.tight_layout()
    return save(fig, folder, stem, formats, svg_sink)


def speedup_plot(rows, folder: Path, stem: str = "speedup", formats=("png",),
                 svg_sink=None) -> list[str]:
    """Ideal speedup once per network:variant (wide grey bar), the realized speedup of every arch
    inside it, and the measured one (diamond) when present."""
    rs = _structured(rows)
    archs = _order(rs, lambda r: r["arch"])
    cols = _order(rs, lambda r: (r["network"], r["variant"]))
    at = {(r["arch"], r["network"], r["variant"]): r for r in rs}
    fig, ax = plt.subplots(figsize=(max(7.0, 0.75 * len(cols) + 2), 4.2))
    group = 0.84
    w = group / len(archs)
    ideal = [next(at[(a, n, v)]["ideal_speedup"] for a in archs if (a, n, v) in at)
             for n, v in cols]
    _bars(ax, range(len(cols)), ideal, group + 0.06, "ideal", [f"{n}_{v}" for n, v in cols],
          PALETTE["ideal"], label="ideal (MAC ratio)", zorder=1)
    for k, a in enumerate(archs):
        xs, hs, labs = [], [], []
        for j, (n, v) in enumerate(cols):
            if (a, n, v) in at:
                xs.append(j - group / 2 + w * (k + 0.5))
                hs.append(at[(a, n, v)]["realized_speedup"])
                labs.append(f"{a}_{n}_{v}")
        _bars(ax, xs, hs, w * 0.92, "realized", labs, OKABE_ITO[k % len(OKABE_ITO)],
              label=f"realized: {a}", zorder=2)
    if "measured_speedup" in rs[0]:
        ms = [next(at[(a, n, v)]["measured_speedup"] for a in archs if (a, n, v) in at)
              for n, v in cols]
        pts = ax.scatter(range(len(cols)), ms, marker="D", s=22, color="black", zorder=3,
                         label="measured (torch, this CPU)")
        pts.set_gid("measured")
    ax.axhline(1.0, color="black", lw=0.8, zorder=2.5)
    ax.set_xticks(range(len(cols)), [f"{n}:{v}" for n, v in cols], rotation=35, ha="right")
    ax.set_xlim(-0.6, len(cols) - 0.4)
    ax.set_ylabel("speedup over the regular network (x)")
    ax.set_title("Ideal vs realized speedup of the structured variants")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return save(fig, folder, stem, formats, svg_sink)


def cycle_breakdown_plot(rows, folder: Path, stem: str = "cycle_breakdown", formats=("png",),
                         svg_sink=None) -> list[str]:
    """Each network's cycles normalized to its regular variant = 1, stacked by unit, one panel
    per arch; a black tick at 1/ideal on each structured bar."""
    archs = _order(rows, lambda r: r["arch"])
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 1.2 + 2.3 * len(archs)),
                             squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        reg = {r["network"]: r["cycles"] for r in rs if r["variant"] == "regular"}
        nets = _order(rs, lambda r: r["network"])
        xs, ticks, labels = {}, [], []
        x = 0.0
        for n in nets:
            mine = [r for r in rs if r["network"] == n]
            for r in mine:
                xs[(n, r["variant"])] = x
                x += 1
            ticks.append(x - (len(mine) + 1) / 2)
            labels.append(n)
            x += 0.8  # gap between networks
        ids = [f"{arch}_{r['network']}_{r['variant']}" for r in rs]
        pos = [xs[(r["network"], r["variant"])] for r in rs]
        bottom = [0.0] * len(rs)
        for cat in ("array", "pool", "vector", "stall"):
            vals = [r[f"cycles_{cat}"] / reg[r["network"]] for r in rs]
            _bars(ax, pos, vals, 0.85, cat, ids, PALETTE[cat], bottom=bottom,
                  label=CAT_LABEL[cat])
            bottom = [b + v for b, v in zip(bottom, vals)]
        st = [(p, 1 / r["ideal_speedup"]) for p, r in zip(pos, rs) if r["variant"] != "regular"]
        ln = ax.hlines([h for _, h in st], [p - 0.45 for p, _ in st], [p + 0.45 for p, _ in st],
                       color="black", lw=1.6, label="1 / ideal speedup", zorder=3)
        ln.set_gid(gid("ideal", arch))
        for p, r in zip(pos, rs):
            ax.text(p, -0.03, r["variant"] if r["variant"] != "regular" else "R",
                    ha="center", va="top", fontsize=6.5, transform=ax.get_xaxis_transform())
        ax.set_xticks(ticks, labels)
        ax.tick_params(axis="x", length=0, pad=12)
        ax.set_xlim(-0.7, x - 0.5)
        ax.set_ylabel("cycles / regular")
        ax.set_ylim(0, max(bottom) * 1.06)
        ax.set_title(f"{arch}", loc="left", fontsize=9, fontweight="bold")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    _top_legend(fig, axes[:, 0], 5, "cycles normalized to the regular network (R = regular)")
    return save(fig, folder, stem, formats, svg_sink)


def _top_legend(fig, axes, ncol: int, title: str, handles=None, labels=None) -> None:
    """Title and legend in a band above the panels (never over the data); the legend has
    every series of ``axes`` (a component may be missing from one arch's panel)."""
    if handles is None:
        handles, labels = [], []
        for a in axes:
            for h, lab in zip(*a.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.62 / h))  # before the band: it must not count it
    fig.suptitle(title, y=1 - 0.06 / h, va="top", fontsize=10)
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1 - 0.27 / h),
               ncol=ncol, frameon=False)


def _energy_unit(values_uj) -> tuple[str, float]:
    top = max(values_uj) if values_uj else 1.0
    if top >= 1e4:
        return "mJ", 1e3
    if top >= 10:
        return "µJ", 1.0
    return "nJ", 1e-3


def energy_plot(rows, folder: Path, stem: str = "energy_breakdown", formats=("png",),
                svg_sink=None) -> list[str]:
    """Energy by component (MAC, pool, vector, each SRAM, DRAM) per network and variant, markers
    on a log axis, the total as a black bar; one panel per arch."""
    archs = _order(rows, lambda r: r["arch"])
    unit, scale = _energy_unit([r["energy_uj"] for r in rows])
    fig, axes = plt.subplots(len(archs), 1, figsize=(11, 1.2 + 2.6 * len(archs)),
                             squeeze=False)
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch]
        x = list(range(len(rs)))
        tot = ax.hlines([r["energy_uj"] / scale for r in rs], [v - 0.4 for v in x],
                        [v + 0.4 for v in x], color="black", lw=2, label="total")
        tot.set_gid(gid("energy_total", arch))
        for i, p in enumerate(ENERGY_PARTS):
            vals = [r.get(f"energy_{p}_uj", 0.0) / scale for r in rs]
            keep = [(v, e) for v, e in zip(x, vals) if e > 0]
            if not keep:
                continue
            pts = ax.scatter([v for v, _ in keep], [e for _, e in keep], s=16,
                             marker=ENERGY_MARKERS[i], color=OKABE_ITO[i], zorder=3,
                             edgecolors="0.25", linewidths=0.4, label=p.replace("_", " "))
            pts.set_gid(gid(f"energy_{p}", arch))
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{r['network']}:{r['variant']}" for r in rs], rotation=40,
                      ha="right", fontsize=7)
        ax.set_ylabel(f"energy ({unit}, log)")
        ax.set_title(arch, loc="left", fontsize=9, fontweight="bold")
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.set_axisbelow(True)
    _top_legend(fig, axes[:, 0], 8, f"energy per inference by component ({unit}, log axis)")
    return save(fig, folder, stem, formats, svg_sink)


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
