HELP = "write a network variant's layer trace as a workload CSV"


def add_arguments(p):
    p.add_argument("network")
    p.add_argument("--variant", default="regular", help="regular, A or B")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B (overrides --variant)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    p.add_argument("--format", choices=("accelsim", "scalesim"), default="accelsim",
                   help="accelsim: the lossless workload CSV (docs/architecture.md); scalesim: "
                        "a SCALE-Sim 2.0.2 topology of the conv/linear layers (sum-pools as "
                        "all-ones convs; element-wise layers left out; accelsim/export.py)")


def run(args) -> int:
    from ..networks import load_variant, parse_spec
    from ..workload import write_workload_csv

    from pathlib import Path

    from ..errors import require

    require(not Path(args.output).is_dir(), "is a folder; expected a CSV file name",
            field="--output", value=args.output)
    net, variant = parse_spec(f"{args.network}:{args.variant}")
    wl = load_variant(net, args.recipe or variant)
    if getattr(args, "format", "accelsim") == "scalesim":
        from ..export import scalesim_topology
        from ..fsio import write_text_atomic

        text, skipped = scalesim_topology(wl)
        write_text_atomic(args.output, text)
        print(f"{args.output}: SCALE-Sim topology, {text.count(chr(10)) - 1} rows; "
              f"{len(skipped)} element-wise layers left out (SCALE-Sim has no vector unit)")
        return 0
    write_workload_csv(wl, args.output)
    print(f"{args.output}: {len(wl)} layers")
    return 0
