"""The Pareto plot of a sweep: every 2-D projection of an N-D front (explore.pareto computes the
front; this draws it)."""

from __future__ import annotations

from accelsim.explore.pareto import MAXIMIZE, label
from accelsim.report.plots import PALETTE, save


def plot_projections(df, on_front, objectives, title: str, out_dir, formats=("png",)) -> list:
    """Every 2-D projection of the objectives (one panel per pair): dominated points faded,
    front points solid; circles regular, triangles structured. The N-D front need not be a
    staircase in a projection, so front points are only marked, not joined."""
    import itertools

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(itertools.combinations(objectives, 2)) or [(objectives[0], objectives[0])]
    ncol = min(3, len(pairs))
    nrow = -(-len(pairs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.9 * nrow + 0.6), squeeze=False)
    structured = (df["variant"] != "regular").to_numpy() if "variant" in df else \
        [False] * len(df)
    front = list(on_front)
    for ax, (x, y) in zip(axes.flat, pairs):
        for is_front, alpha, size, color, lab in (
                (False, 0.25, 14, "0.55", "dominated"),
                (True, 0.95, 34, PALETTE["realized"], "on the front")):
            for is_struct, marker, kind in ((False, "o", "regular"), (True, "^", "structured")):
                sel = [f == is_front and s == is_struct for f, s in zip(front, structured)]
                if not any(sel):
                    continue
                sub = df[sel]
                pts = ax.scatter(sub[x], sub[y], s=size, marker=marker, alpha=alpha,
                                 color=color if not (is_front and is_struct)
                                 else PALETTE["pool"], edgecolors="none",
                                 label=f"{kind}, {lab}")
                pts.set_gid(f"{'front' if is_front else 'dominated'}__{kind}__{x}__{y}")
        ax.set_xlabel(label(x) + (" ↑ better" if x in MAXIMIZE else ""))
        ax.set_ylabel(label(y) + (" ↑ better" if y in MAXIMIZE else ""))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, out_dir, "pareto", formats)
