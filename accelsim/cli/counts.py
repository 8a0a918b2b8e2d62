HELP = "params, MACs, multiplies and additions of a network variant (and reductions vs regular)"


def add_arguments(p):
    p.add_argument("network", help="network[:variant], or a workload/SCALE-Sim topology CSV or "
                                   "an ONNX file (params: its conv/linear weights)")
    p.add_argument("--variants", "--variant", dest="variant", default=None,
                   help="regular, A or B (default: the :variant suffix, else regular)")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B (overrides --variant)")
    p.add_argument("--json", action="store_true", help="machine-readable, stable key order")
    p.add_argument("--per-layer", action="store_true", help="one row per layer as well")


def run(args) -> int:
    from accelsim.workload.counts import network_counts
    from accelsim.common.errors import require
    from accelsim.workload.networks import load_variant, parse_spec, variant_model


    if args.network.lower().endswith((".csv", ".onnx")):
        from accelsim.api import load_workload

        require(args.variant is None, "a file workload has no shipped variants; use --recipe",
                field="--variant", value=args.variant)
        regular = load_workload(args.network)
        wl = load_workload(regular, recipe=args.recipe) if args.recipe else regular
        # no torch model behind a file: params are the layers' own weights and biases
        out = network_counts(wl, wl.weights)
        if args.recipe:
            reg = network_counts(regular, regular.weights)
            out["params_reduction"] = reg["params"] / out["params"]
            out["macs_reduction"] = reg["macs"] / out["macs"]
        return _print(out, args, f"{wl.network}:{wl.variant}", bool(args.recipe))
    net, variant = parse_spec(args.network)
    if args.variant is not None:
        require(":" not in args.network, "give the variant once: NETWORK:VARIANT or --variant",
                field="--variant", value=args.variant)
        net, variant = parse_spec(f"{net}:{args.variant}")
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
    return _print(out, args, f"{net}:{wl.variant}", variant != "regular")


def _print(out: dict, args, title: str, structured: bool) -> int:
    import json

    per_layer = out.pop("per_layer")
    if args.per_layer:
        out["per_layer"] = per_layer
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{title}  ({out['layers']} layers)")
    for k in ("params", "macs", "mults", "mac_adds", "pool_adds_direct", "pool_adds_separable",
              "pool_adds_running", "vector_adds", "adds_direct", "adds_separable", "adds_running"):
        print(f"  {k:<22}{out[k]:>18,}")
    if structured:
        print(f"  {'params reduction':<22}{out['params_reduction']:>17.2f}x")
        print(f"  {'MACs reduction':<22}{out['macs_reduction']:>17.2f}x")
    if args.per_layer:
        import pandas as pd

        print(pd.DataFrame(per_layer).to_string(index=False))
    return 0
