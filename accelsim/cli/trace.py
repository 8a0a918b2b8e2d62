HELP = "write a network variant's layer trace as a workload CSV"


def add_arguments(p):
    p.add_argument("network", help="network[:variant], or a workload/SCALE-Sim topology CSV or "
                                   "an ONNX file")
    p.add_argument("--variants", "--variant", dest="variant", default=None,
                   help="regular, A or B (default: the :variant suffix, else regular)")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B (overrides --variant)")
    p.add_argument("-o", "--out", "--output", dest="output", required=True,
                   help="CSV file to write")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.add_argument("--format", choices=("accelsim", "scalesim"), default="accelsim",
                   help="accelsim: the lossless workload CSV (docs/architecture.md); scalesim: "
                        "a SCALE-Sim 2.0.2 topology of the conv/linear layers (sum-pools as "
                        "all-ones convs; element-wise layers left out; accelsim/report/export.py)")


def run(args) -> int:
    from accelsim.workload.networks import load_variant, parse_spec
    from accelsim.workload.layer import write_workload_csv

    from pathlib import Path

    from accelsim.common.errors import require

    require(not Path(args.output).is_dir(), "is a folder; expected a CSV file name",
            field="--output", value=args.output)
    if args.network.lower().endswith((".csv", ".onnx")):
        from accelsim.api import load_workload

        require(args.variant is None, "a file workload has no shipped variants; use --recipe",
                field="--variant", value=args.variant)
        wl = load_workload(args.network, recipe=args.recipe)
    else:
        net, variant = parse_spec(args.network)
        if args.variant is not None:
            require(":" not in args.network, "give the variant once: NETWORK:VARIANT or "
                    "--variant", field="--variant", value=args.variant)
            net, variant = parse_spec(f"{net}:{args.variant}")
        wl = load_variant(net, args.recipe or variant)
    if getattr(args, "format", "accelsim") == "scalesim":
        from accelsim.report.export import scalesim_topology
        from accelsim.common.fsio import write_text_atomic

        text, skipped = scalesim_topology(wl)
        write_text_atomic(args.output, text)
        if args.json:
            from accelsim.common.fsio import dumps_json

            print(dumps_json({"out": args.output, "format": "scalesim", "network": wl.network,
                              "variant": wl.variant, "rows": text.count("\n") - 1,
                              "skipped": skipped}), end="")
            return 0
        print(f"{args.output}: SCALE-Sim topology, {text.count(chr(10)) - 1} rows; "
              f"{len(skipped)} element-wise layers left out (SCALE-Sim has no vector unit)")
        return 0
    write_workload_csv(wl, args.output)
    if args.json:
        from accelsim.common.fsio import dumps_json

        print(dumps_json({"out": args.output, "format": "accelsim", "network": wl.network,
                          "variant": wl.variant, "layers": len(wl)}), end="")
        return 0
    print(f"{args.output}: {len(wl)} layers")
    return 0
