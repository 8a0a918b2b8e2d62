HELP = "params, MACs, multiplies and additions of a network variant (and reductions vs regular)"


def add_arguments(p):
    p.add_argument("network")
    p.add_argument("--variant", default="regular", help="regular, A or B")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B (overrides --variant)")
    p.add_argument("--json", action="store_true", help="machine-readable, stable key order")
    p.add_argument("--per-layer", action="store_true", help="one row per layer as well")


def run(args) -> int:
    import json

    from ..counts import network_counts
    from ..networks import load_variant, parse_spec, variant_model

    net, variant = parse_spec(f"{args.network}:{args.variant}")
    if args.recipe:
        variant = args.recipe
    wl = load_variant(net, variant)
    # params from the torch model: they include batch-norm and biases, like published counts
    params = sum(p.numel() for p in variant_model(net, variant).parameters())
    out = network_counts(wl, params)
    if variant != "regular":
        reg = network_counts(load_variant(net, "regular"), sum(
            p.numel() for p in variant_model(net, "regular").parameters()))
        out["params_reduction"] = reg["params"] / out["params"]
        out["macs_reduction"] = reg["macs"] / out["macs"]
    per_layer = out.pop("per_layer")
    if args.per_layer:
        out["per_layer"] = per_layer
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{net}:{wl.variant}  ({out['layers']} layers)")
    for k in ("params", "macs", "mults", "mac_adds", "pool_adds_direct", "pool_adds_separable",
              "pool_adds_running", "vector_adds", "adds_direct", "adds_separable", "adds_running"):
        print(f"  {k:<22}{out[k]:>18,}")
    if variant != "regular":
        print(f"  {'params reduction':<22}{out['params_reduction']:>17.2f}x")
        print(f"  {'MACs reduction':<22}{out['macs_reduction']:>17.2f}x")
    if args.per_layer:
        import pandas as pd

        print(pd.DataFrame(per_layer).to_string(index=False))
    return 0
