HELP = "write a network variant's layer trace as a workload CSV"


def add_arguments(p):
    p.add_argument("network")
    p.add_argument("--variant", default="regular", help="regular, A or B")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B (overrides --variant)")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")


def run(args) -> int:
    from ..networks import load_variant, parse_spec
    from ..workload import write_workload_csv

    from pathlib import Path

    from ..errors import require

    require(not Path(args.output).is_dir(), "is a folder; expected a CSV file name",
            field="--output", value=args.output)
    net, variant = parse_spec(f"{args.network}:{args.variant}")
    wl = load_variant(net, args.recipe or variant)
    write_workload_csv(wl, args.output)
    print(f"{args.output}: {len(wl)} layers")
    return 0
