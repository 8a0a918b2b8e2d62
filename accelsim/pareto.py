"""Pareto fronts of sweep results (minimize both objectives).

A point is on the front when no other point is at least as good on both objectives and strictly
better on one. Points with identical (x, y) do not dominate each other, so all of them are on
the front when one is; the front is listed by (x, y, key), so ties come out in a fixed order.
"""

from __future__ import annotations

import math


def pareto_front(xs, ys, keys=None) -> list[int]:
    """Indices of the non-dominated points, ordered by (x, y, key). NaN points are ignored.

    O(n log n): sort by x, then keep, for each distinct x, the points at that x's lowest y when
    that y is strictly below every lower x's best y."""
    n = len(xs)
    keys = list(keys) if keys is not None else list(range(n))
    idx = [i for i in range(n) if not (math.isnan(xs[i]) or math.isnan(ys[i]))]
    idx.sort(key=lambda i: (xs[i], ys[i], keys[i]))
    front, best = [], math.inf
    j = 0
    while j < len(idx):
        k = j
        while k < len(idx) and xs[idx[k]] == xs[idx[j]]:
            k += 1
        ymin = ys[idx[j]]  # sorted by y within one x
        if ymin < best:
            front.extend(i for i in idx[j:k] if ys[i] == ymin)
            best = ymin
        j = k
    return front


def dominated_brute(xs, ys, i) -> bool:
    """O(n) reference: is point i dominated by any other point?"""
    return any(xs[q] <= xs[i] and ys[q] <= ys[i] and (xs[q] < xs[i] or ys[q] < ys[i])
               for q in range(len(xs)) if q != i)


def plot_front(df, front_df, x: str, y: str, color: str | None, title: str, out_dir) -> list:
    """All points (grey, or coloured by ``color``) with the front drawn as a staircase; PNG and
    SVG, deterministic (no timestamps in the SVG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "accelsim"
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    if color:
        sc = ax.scatter(df[x], df[y], c=df[color], s=14, cmap="viridis", alpha=0.8,
                        label="points")
        fig.colorbar(sc, ax=ax, label=color)
    else:
        ax.scatter(df[x], df[y], s=14, color="0.6", label="points")
    ax.step(front_df[x], front_df[y], where="post", color="C3", lw=1.5)
    ax.scatter(front_df[x], front_df[y], s=30, facecolors="none", edgecolors="C3",
               label=f"Pareto front ({len(front_df)})")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        p = out_dir / f"pareto.{ext}"
        fig.savefig(p, metadata={"Date": None} if ext == "svg" else {"Software": None})
        paths.append(p)
    plt.close(fig)
    return paths
