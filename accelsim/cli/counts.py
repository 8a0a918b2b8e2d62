HELP = "params, MACs, multiplies and additions of a network variant (and reductions vs regular)"


def add_arguments(p):
    p.add_argument("network")
    p.add_argument("--variant", default="regular", help="regular, A or B")
    p.add_argument("--json", action="store_true")
    p.add_argument("--per-layer", action="store_true")


def run(args) -> int:
    import json

    from ..counts import network_counts
    from ..networks import load_workload, parse_spec, structured_model

    net, variant = parse_spec(f"{args.network}:{args.variant}")
    wl = load_workload(f"{net}:{variant}")
    params = sum(p.numel() for p in structured_model(net, variant).parameters())
    out = network_counts(wl, params)
    if variant != "regular":
        reg = network_counts(load_workload(net), sum(
            p.numel() for p in structured_model(net, "regular").parameters()))
        out["params_reduction"] = reg["params"] / out["params"]
        out["macs_reduction"] = reg["macs"] / out["macs"]
    if not args.per_layer:
        out.pop("per_layer")
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{net}:{variant}  ({out['layers']} layers)")
    for k in ("params", "macs", "mults", "mac_adds", "pool_adds_direct", "pool_adds_separable",
              "vector_adds", "adds_direct", "adds_separable"):
        print(f"  {k:<22}{out[k]:>18,}")
    if variant != "regular":
        print(f"  {'params reduction':<22}{out['params_reduction']:>17.2f}x")
        print(f"  {'MACs reduction':<22}{out['macs_reduction']:>17.2f}x")
    if args.per_layer:
        import pandas as pd

        print(pd.DataFrame(out["per_layer"]).to_string(index=False))
    return 0
