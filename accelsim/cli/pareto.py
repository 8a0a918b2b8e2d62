HELP = "the Pareto front of a sweep's results (minimize x and y): a table and a plot"


def add_arguments(p):
    p.add_argument("results", help="results store written by 'accelsim sweep'")
    p.add_argument("--x", default="latency_ms", help="metric on x (minimized)")
    p.add_argument("--y", default="energy_uj", help="metric on y (minimized)")
    p.add_argument("--color", help="metric that colours the points")
    p.add_argument("--all", action="store_true",
                   help="ignore the spec's constraints (default: only feasible points)")
    p.add_argument("--out", help="folder for front.csv, pareto.png, pareto.svg")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write (its other files "
                        "stay)")


def run(args) -> int:
    import json

    import pandas as pd

    from ..errors import InputError, require
    from ..fsio import atomic_dir, check_out_dir
    from ..pareto import pareto_front, plot_front
    from ..store import read_results, read_rows
    from ..sweep import feasible, spec_constraints

    if args.out:
        check_out_dir(args.out, args.force)
    meta, _ = read_rows(args.results)
    df = read_results(args.results)
    require(len(df) > 0, "results store has no rows", source=args.results)
    for flag, m in (("--x", args.x), ("--y", args.y), ("--color", args.color)):
        if m is not None and (m not in df.columns or m in ("key", "idx")
                              or not pd.api.types.is_numeric_dtype(df[m])
                              or pd.api.types.is_bool_dtype(df[m])):
            raise InputError("unknown metric; expected a numeric column of the store",
                             source=args.results, field=flag, value=m)
    cons = () if args.all else spec_constraints(meta)
    if cons:
        df = df[[feasible(r, cons) for r in df.to_dict("records")]].reset_index(drop=True)
    require(len(df) > 0, "no point meets the spec's constraints (use --all)",
            source=args.results)
    idx = pareto_front(df[args.x].tolist(), df[args.y].tolist(), df["idx"].tolist())
    front = df.iloc[idx].reset_index(drop=True)
    axes = json.loads(meta.get("spec", "{}")).get("axes", [])
    show = (["idx", "network", "variant", "batch"] + axes + [args.x, args.y]
            + ([args.color] if args.color else []))
    show = list(dict.fromkeys(c for c in show if c in front.columns))
    print(f"{len(front)} of {len(df)} points on the front (minimize {args.x}, {args.y})"
          + (f"; constraints: {', '.join(map(str, cons))}" if cons else ""))
    print(front[show].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if args.out:
        from pathlib import Path

        with atomic_dir(args.out, force=args.force) as tmp:
            front.to_csv(Path(tmp) / "front.csv", index=False, float_format="%.9g")
            plot_front(df, front, args.x, args.y, args.color,
                       f"Pareto front: {len(front)} of {len(df)} points", Path(tmp))
        print(f"wrote {args.out}/front.csv, pareto.png, pareto.svg")
    return 0
