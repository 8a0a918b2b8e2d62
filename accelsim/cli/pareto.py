HELP = ("the Pareto front of a sweep's results over every objective of its spec (or those "
        "named): a table and the 2-D projections")


def add_arguments(p):
    p.add_argument("results", help="results store written by 'accelsim sweep'")
    p.add_argument("--objectives",
                   help="comma list of metrics (default: the spec's objectives); speedups are "
                        "maximized, the rest minimized")
    p.add_argument("--x", help="with --y: a 2-objective front of these two metrics")
    p.add_argument("--y", help="see --x")
    p.add_argument("--color", help="one more metric shown in the table")
    p.add_argument("--formats", default="png", help="plot formats, comma list of png,svg")
    p.add_argument("--all", action="store_true",
                   help="ignore the spec's constraints (default: only feasible points)")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="folder for front.csv and pareto.png (.svg)")
    p.add_argument("--json", action="store_true", help="print the front's points as JSON")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write (its other files "
                        "stay)")


def run(args) -> int:
    import json

    import pandas as pd

    from accelsim.common.errors import InputError, require
    from accelsim.common.fsio import atomic_dir, check_out_dir
    from accelsim.explore.pareto import pareto_front_nd, signed_columns
    from accelsim.report.pareto_plot import plot_projections
    from accelsim.explore.store import best_fidelity, read_results, read_rows
    from accelsim.explore.sweep import feasible, spec_constraints

    if args.out:
        check_out_dir(args.out, args.force)
    meta, _ = read_rows(args.results)
    df = best_fidelity(read_results(args.results))
    require(len(df) > 0, "results store has no rows", source=args.results)
    from accelsim.report.figures import parse_formats

    formats = parse_formats(args.formats)
    spec = json.loads(meta.get("spec", "{}"))
    if args.objectives:
        objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    elif args.x or args.y:
        objectives = [args.x or "latency_ms", args.y or "energy_uj"]
    else:
        objectives = list(spec.get("objectives") or ["latency_ms", "energy_uj", "area_mm2"])
    require(len(set(objectives)) == len(objectives) and objectives,
            "objectives must be distinct metric names", field="--objectives", value=objectives)
    named = ([("--x", args.x), ("--y", args.y)] if args.x or args.y else []) + [
        ("--objectives", o) for o in objectives] + [("--color", args.color)]
    for flag, m in named:
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
    idx = pareto_front_nd(signed_columns(df, objectives), df["idx"].tolist())
    front = df.iloc[idx].reset_index(drop=True)
    axes = spec.get("axes", [])
    extra = [c for c in ("speedup_over_regular",) if c in front.columns]
    show = (["idx", "network", "variant", "batch"] + axes + objectives + extra
            + ([args.color] if args.color else []))
    show = list(dict.fromkeys(c for c in show if c in front.columns))
    from accelsim.explore.pareto import MAXIMIZE

    goals = ", ".join(("maximize " if o in MAXIMIZE else "") + o for o in objectives)
    if args.json:
        from accelsim.common.fsio import dumps_json

        recs = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                for r in front[show].to_dict("records")]
        print(dumps_json({"objectives": objectives, "points": len(df), "front": recs}), end="")
    else:
        print(f"{len(front)} of {len(df)} points on the {len(objectives)}-objective front "
              f"(minimize {goals})"
              + (f"; constraints: {', '.join(map(str, cons))}" if cons else ""))
        print(front[show].to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if args.out:
        from pathlib import Path

        with atomic_dir(args.out, force=args.force) as tmp:
            front.to_csv(Path(tmp) / "front.csv", index=False, float_format="%.9g")
            on = set(idx)
            written = plot_projections(
                df, [i in on for i in range(len(df))], objectives,
                f"Pareto front over {', '.join(objectives)}: {len(front)} of {len(df)} "
                f"feasible points (solid: on the front; faded: dominated)", Path(tmp), formats)
        if not args.json:
            print(f"wrote {args.out}/front.csv, " + ", ".join(written))
    return 0
