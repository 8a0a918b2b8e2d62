"""Pareto fronts of sweep results over any number of objectives.

A point is on the front when no other point is at least as good on every objective and strictly
better on one. Points with identical objective vectors do not dominate each other, so all of them
are on the front when one is; the front is listed by (objective vector, key), so ties come out in
a fixed order. Objectives are minimized, except the speedup metrics (``MAXIMIZE``), which are
negated before the dominance test.
"""

from __future__ import annotations

import math

# metrics where more is better; every other objective is minimized
MAXIMIZE = frozenset({"speedup_over_regular", "ideal_speedup", "realized_speedup",
                      "realized_over_ideal", "utilization", "compute_util"})
# axis labels for the common metrics (others: the column name)
LABELS = {"latency_ms": "latency (ms)", "energy_uj": "energy (µJ per inference)",
          "area_mm2": "area (mm²)", "total_cycles": "cycles", "dram_bytes": "DRAM traffic (bytes)",
          "speedup_over_regular": "speedup over regular twin (×)", "edp": "energy × delay"}


def label(metric: str) -> str:
    return LABELS.get(metric, metric)


def pareto_front(xs, ys, keys=None) -> list[int]:
    """2-D front: indices of the non-dominated points, ordered by (x, y, key). NaN points are
    ignored.

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


def pareto_front_nd(columns, keys=None) -> list[int]:
    """N-D front (all minimized): ``columns`` is one sequence per objective, all of length n.
    Returns the indices of the non-dominated points ordered by (objective vector, key); a point
    with a NaN in any objective is ignored.

    Sort-filter: after a lexicographic sort a point can only be dominated by one before it, and
    a point dominated by a dominated point is dominated by that point's dominator, so each point
    is compared only with the front found so far (O(n·f·d), f the front size)."""
    import numpy as np

    cols = [np.asarray(c, dtype=float) for c in columns]
    n = len(cols[0]) if cols else 0
    keys = list(keys) if keys is not None else list(range(n))
    pts = np.stack(cols, axis=1) if cols else np.zeros((0, 0))
    ok = [i for i in range(n) if not np.isnan(pts[i]).any()]
    ok.sort(key=lambda i: (tuple(pts[i]), keys[i]))
    front: list[int] = []
    fpts = np.zeros((0, pts.shape[1]))
    for i in ok:
        p = pts[i]
        if len(front) and ((fpts <= p).all(axis=1) & (fpts < p).any(axis=1)).any():
            continue
        front.append(i)
        fpts = np.vstack([fpts, p])
    return front


def signed_columns(df, objectives) -> list:
    """The objective columns as minimized quantities (maximized metrics negated)."""
    return [(-df[o] if o in MAXIMIZE else df[o]).astype(float).tolist() for o in objectives]
