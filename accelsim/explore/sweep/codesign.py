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


def codesign_pool(base: Arch, network: str, variants, pools, target: float, batch: int = 1):
    """Evaluate every (variant, pool unit) on ``base`` and pick the cheapest pool unit (smallest
    ``area_pool_um2``; then fewest cycles, then candidate order) whose realized speedup is at
    least ``target`` x the ideal one. Ideal = regular MACs / structured MACs; realized = regular
    cycles / structured cycles, both on the candidate arch (the regular network has no sum-pool,
    so its cycles do not depend on the pool unit). Returns (answer dict or None, table)."""
    import pandas as pd

    from accelsim.evaluate.simulate import evaluate

    regular = evaluate(load_point_workload(network, "regular"), base, batch)
    recs = []
    for v in variants:
        wl = load_point_workload(network, v)
        for i, pool in enumerate(pools):
            arch = base.with_(pool=pool)
            s = evaluate(wl, arch, batch)
            ideal = regular["macs"] / s["macs"]
            realized = regular["total_cycles"] / s["total_cycles"]
            recs.append({
                "variant": v if not _is_file(v) else Path(v).name, "candidate": i,
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
    table = pd.DataFrame(recs).sort_values(
        ["area_pool_um2", "total_cycles", "variant", "candidate"], kind="stable"
    ).reset_index(drop=True)
    ok = table[table["meets_target"]]
    answer = None
    if len(ok):
        answer = {k: (v.item() if hasattr(v, "item") else v) for k, v in ok.iloc[0].items()}
    return answer, table
