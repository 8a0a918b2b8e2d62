HELP = "run a what-if sweep (a YAML spec) into a resumable results store"


def add_arguments(p):
    p.add_argument("spec", help="sweep spec YAML (docs/sweeps.md)")
    p.add_argument("--out", required=True, help="results store (an SQLite file) to create")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    p.add_argument("--dask", metavar="SCHEDULER_ADDRESS|local",
                   help="run on a Dask cluster: a scheduler address, or 'local' for a "
                        "LocalCluster of --workers processes")
    p.add_argument("--resume", action="store_true",
                   help="continue an existing store: compute only the missing points")
    p.add_argument("--chunk", type=int, help="points per task (default: automatic)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")


def run(args) -> int:
    import sys

    from accelsim.common.errors import require
    from accelsim.explore.sweep import SweepIncomplete, load_spec, run_sweep

    require(1 <= args.workers <= 1024, "must be in 1..1024", field="--workers", value=args.workers)
    require(args.chunk is None or args.chunk >= 1, "must be >= 1", field="--chunk",
            value=args.chunk)
    spec = load_spec(args.spec)
    try:
        stats = run_sweep(spec, args.out, workers=args.workers, dask=args.dask,
                          resume=args.resume, chunk=args.chunk,
                          progress=not (args.no_progress or args.quiet))
    except SweepIncomplete as exc:
        print(f"accelsim sweep: {exc}; rerun with --resume", file=sys.stderr)
        return 1
    if args.json:
        from accelsim.common.fsio import dumps_json

        print(dumps_json({"name": spec.name, "out": str(args.out), **stats}), end="")
        return 0
    print(f"{spec.name}: {stats['points']} points, {stats['already']} already in {args.out}, "
          f"{stats['computed']} computed" + (f" at fidelity {spec.fidelity}"
                                             if spec.fidelity != "exact" else ""))
    if "confirm" in stats:
        c = stats["confirm"]
        print(f"confirmed exactly: {c['points']} points (Pareto front and sample); the fast "
              "tier's relative error on them, median / p95 / max:")
        for m in ("total_cycles", "latency_ms", "dram_bytes", "energy_uj"):
            if m in c["error"]:
                e = c["error"][m]
                print(f"  {m:<13} {e['median']:.2%} / {e['p95']:.2%} / {e['max']:.2%}")
    return 0
