"""Plots for the speedup report (matplotlib, Agg): 200 dpi PNG, SVG where asked.

Colours: the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
and the cividis map for the heatmap. Deterministic bytes: a fixed SVG hash salt, no
date/software metadata. Every bar and point carries an SVG id (``gid``) naming its series and
label, so a test (or a reader) can find the data in the SVG: ``<series>__<arch>_<net>_<variant>``
for bars, ``<variant>_<unit>__<layer>`` for per-layer bars. Each plot function returns the file
names it wrote; ``CAPTIONS`` says how to read each plot (the HTML report shows them).

This module draws the summary figures (heatmap, speedup, cycle and energy breakdowns); the
per-layer and roofline figures are in ``layer_plots``, the shared matplotlib helpers in
``plotkit``, formats, palette and captions in ``figures``. Every name stays importable from
here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from accelsim.report.figures import (  # noqa: F401  (importable from here, as before the split)
    CAPTIONS, CAT_LABEL, COLORS, DPI, ENERGY_MARKERS, ENERGY_PARTS, FORMATS, OKABE_ITO, PALETTE,
    caption, gid, parse_formats)
from accelsim.report.layer_plots import (  # noqa: F401
    layer_breakdown_plot, roofline_plot, roofline_points)
from accelsim.report.plotkit import _bars, _order, _structured, _top_legend, plt, save  # noqa: F401


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
