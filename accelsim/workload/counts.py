"""Operation counts of a network variant: params, MACs, multiplies, additions by kind.

Params come from the torch model (they include batch-norm and biases, as published counts do);
every other count is a closed form of accelsim.workload.layer, summed over layers.
"""

from __future__ import annotations

from accelsim.workload.layer import (Workload, accumulate_adds, comparisons, elementwise_adds,
                       elementwise_mults, macs, sumpool_adds, weight_count)


def layer_counts(layer) -> dict:
    is_pool = layer.op == "sumpool"
    return {
        "layer": layer.name, "op": layer.op,
        "weights": weight_count(layer), "macs": macs(layer),
        "mults": macs(layer) + elementwise_mults(layer),
        "mac_adds": accumulate_adds(layer),
        "pool_adds_direct": sumpool_adds(layer, "direct") if is_pool else 0,
        "pool_adds_separable": sumpool_adds(layer, "separable") if is_pool else 0,
        "pool_adds_running": sumpool_adds(layer, "running") if is_pool else 0,
        "vector_adds": elementwise_adds(layer), "comparisons": comparisons(layer),
    }


def network_counts(wl: Workload, params: int) -> dict:
    rows = [layer_counts(l) for l in wl]
    tot = {k: sum(r[k] for r in rows) for k in rows[0] if k not in ("layer", "op")}
    return {"network": wl.network, "variant": wl.variant, "layers": len(wl), "params": params,
            **tot,
            "adds_direct": tot["mac_adds"] + tot["pool_adds_direct"] + tot["vector_adds"],
            "adds_separable": tot["mac_adds"] + tot["pool_adds_separable"] + tot["vector_adds"],
            "adds_running": tot["mac_adds"] + tot["pool_adds_running"] + tot["vector_adds"],
            "per_layer": rows}
