"""The pool-unit co-design search: the cheapest pool unit that realizes a target share of a
structured network's ideal speedup on a base arch (``accelsim codesign``)."""

from __future__ import annotations

from pathlib import Path

from accelsim.explore.sweep.points import _is_file, load_point_workload
from accelsim.hardware.arch import Arch


def _pool_desc(pool) -> str:
    if pool is None:
        return "no pool unit (sum-pools on the MAC array)"
    desc = (f"{pool.lanes} lanes, {pool.tree} tree, {pool.mode}, "
            f"{pool.input_words_per_cycle} ports")
    if pool.mode == "fused":
        staging = "unbounded" if pool.staging_kb is None else f"{pool.staging_kb:g} KB"
        desc += f", {pool.order} order, {staging} staging"
    return desc


def _front(table) -> list[int]:
    """Row labels of ``table`` on the (area_pool_um2, total_cycles) front of each variant: the
    cheapest candidate meeting a target is always on its variant's front (one that dominates
    it meets the target too, and is as cheap with fewer cycles)."""
    from accelsim.explore.pareto import pareto_front_nd

    out = []
    for _, g in table.groupby("variant", sort=False):
        idx = pareto_front_nd([g["area_pool_um2"].tolist(), g["total_cycles"].tolist()],
                              list(range(len(g))))
        out += [g.index[i] for i in idx]
    return sorted(out)


def codesign_pool(base: Arch, network: str, variants, pools, target: float, batch: int = 1,
                  fidelity: str = "exact"):
    """Evaluate every (variant, pool unit) on ``base`` and pick the cheapest pool unit (smallest
    ``area_pool_um2``; then fewest cycles, then candidate order) whose realized speedup is at
    least ``target`` x the ideal one. Ideal = regular MACs / structured MACs; realized = regular
    cycles / structured cycles, both on the candidate arch (the regular network has no sum-pool,
    so its cycles do not depend on the pool unit). Returns (answer dict or None, table).

    ``fidelity="fast"``: every candidate with the analytical tier, then each variant's
    (area, cycles) front and the regular network again exactly; the answer is picked from the
    exactly evaluated rows only (column ``fidelity`` says which tier each row's numbers are)."""
    import pandas as pd

    table = _candidates(base, network, variants, pools, target, batch, fidelity)
    if fidelity == "fast":
        exact = _candidates(base, network, variants, pools, target, batch, "exact",
                            only=set(table.loc[_front(table), "key"]))
        table = table[~table["key"].isin(set(exact["key"]))]
        table = _ordered(pd.concat([table, exact], ignore_index=True))
    ok = table[table["meets_target"] & (table["fidelity"] == "exact")]
    answer = None
    if len(ok):
        answer = {k: (v.item() if hasattr(v, "item") else v) for k, v in ok.iloc[0].items()}
    return answer, table


def _ordered(table):
    return table.sort_values(["area_pool_um2", "total_cycles", "variant", "candidate"],
                             kind="stable").reset_index(drop=True)


def _candidates(base: Arch, network: str, variants, pools, target: float, batch: int,
                fidelity: str, only=None):
    """The table of (variant, pool unit) candidates at ``fidelity`` (``only``: these keys)."""
    import pandas as pd

    from accelsim.evaluate.simulate import evaluate

    regular = evaluate(load_point_workload(network, "regular"), base, batch, fidelity)
    recs = []
    for v in variants:
        wl = load_point_workload(network, v)
        for i, pool in enumerate(pools):
            key = f"{v}#{i}"
            if only is not None and key not in only:
                continue
            arch = base.with_(pool=pool)
            s = evaluate(wl, arch, batch, fidelity)
            ideal = regular["macs"] / s["macs"]
            realized = regular["total_cycles"] / s["total_cycles"]
            recs.append({
                "variant": v if not _is_file(v) else Path(v).name, "candidate": i, "key": key,
                "fidelity": fidelity,
                "pool_lanes": pool.lanes if pool else 0, "pool_tree": pool.tree if pool else "-",
                "pool_mode": pool.mode if pool else "-",
                "pool_ports": pool.input_words_per_cycle if pool else 0,
                "pool_order": pool.order if pool else "-",
                # none for no unit, a two-pass unit or an unbounded buffer (JSON has no NaN)
                "pool_staging_kb": (pool.staging_kb if pool and pool.mode == "fused"
                                    else None),
                "fused_pairs": s.get("fused_pairs", 0),
                "pool_desc": _pool_desc(pool),
                "area_pool_um2": s["area_pool_um2"], "area_mm2": s["area_mm2"],
                "total_cycles": s["total_cycles"], "latency_ms": s["latency_ms"],
                "energy_uj": s["energy_uj"], "ideal_speedup": ideal,
                "realized_speedup": realized, "realized_over_ideal": realized / ideal,
                "meets_target": realized >= target * ideal})
    return _ordered(pd.DataFrame(recs))
