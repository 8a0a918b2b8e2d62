HELP = "export a network variant as ONNX, or a sweep store as Parquet"


def add_arguments(p):
    p.add_argument("source", metavar="NETWORK|STORE.db",
                   help="a shipped network (resnet18, resnet18:A) for ONNX, or a sweep results "
                        "store (an SQLite .db from accelsim sweep) for Parquet")
    p.add_argument("--variants", "--variant", dest="variant", default=None,
                   help="regular, A or B (default: the NETWORK:VARIANT suffix, else regular)")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="a recipe file of your own instead of the shipped A/B")
    p.add_argument("-o", "--out", "--output", dest="out", required=True,
                   help="file to write: model.onnx, or table.parquet")
    p.add_argument("--parquet", action="store_true",
                   help="the store as one Parquet table (a row per design point, every metric "
                        "a column); implied by a .db source")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args) -> int:
    from pathlib import Path

    from accelsim.common.errors import require
    from accelsim.common.fsio import dumps_json

    out = Path(args.out)
    require(not out.is_dir(), "is a folder; expected a file name", field="--out", value=args.out)
    src = args.source
    if args.parquet or src.lower().endswith((".db", ".sqlite")):
        require(args.variant is None and args.recipe is None,
                "a store has no variants: --variant/--recipe are for a network", field="--variant",
                value=args.variant or args.recipe)
        require(Path(src).is_file(), "no such results store", source=src)
        require(out.suffix.lower() == ".parquet", "a Parquet file name ends in .parquet",
                field="--out", value=args.out)
        from accelsim.report.export import store_parquet
        from accelsim.explore.store import check_store

        check_store(src)
        rows = store_parquet(src, out)
        info = {"format": "parquet", "source": src, "out": str(out), "rows": rows}
    else:
        require(out.suffix.lower() == ".onnx", "an ONNX file name ends in .onnx", field="--out",
                value=args.out)
        from accelsim.workload.networks import parse_spec, variant_model
        from accelsim.workload.zoo import input_shape

        net, variant = parse_spec(src)
        if args.variant is not None:
            require(":" not in src, "give the variant once: NETWORK:VARIANT or --variant",
                    field="--variant", value=args.variant)
            net, variant = parse_spec(f"{net}:{args.variant}")
        if args.recipe:
            require(Path(args.recipe).is_file(), "no such recipe file", source=args.recipe)
            variant = args.recipe
        from accelsim.report.export import export_onnx

        export_onnx(variant_model(net, variant), input_shape(net), out)
        info = {"format": "onnx", "network": net, "variant": variant, "out": str(out),
                "input_shape": list(input_shape(net))}
    if args.json:
        print(dumps_json(info), end="")
    else:
        print(f"wrote {out} ({info['format']})")
    return 0
