"""``accelsim verify``: functional co-simulation of a workload's layers against torch."""

from __future__ import annotations

HELP = "run random float64 tensors through the modelled pool-unit and array schedule; compare with torch"


def add_arguments(p) -> None:
    p.add_argument("--workload", "-w", "--networks", "--network", dest="workload", required=True,
                   help="network[:variant] (e.g. resnet18:A) or a workload CSV")
    p.add_argument("--arch", "-a", default="edge-npu",
                   help="preset name, arch YAML or SCALE-Sim .cfg (default: edge-npu)")
    p.add_argument("--layers", nargs="+", metavar="NAME",
                   help="layers to check (a sumpool or structured conv name selects its pair)")
    p.add_argument("--all", action="store_true",
                   help="check every structured pair (default: the first --limit)")
    p.add_argument("--limit", type=int, default=3, help="pairs checked by default (default 3)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="structure the (regular) workload with this recipe file")


def run(args) -> int:
    from accelsim.hardware.arch import load_arch
    from accelsim.check.cosim import TOL, verify_workload
    from accelsim.common.errors import check_batch, require
    from accelsim.workload.networks import load_workload

    require(args.limit >= 1, "must be >= 1", field="--limit", value=args.limit)
    check_batch(args.batch)
    require(0 <= args.seed < 2**63, "must be an integer in 0..2**63-1", field="--seed",
            value=args.seed)
    arch = load_arch(args.arch)
    wl = load_workload(args.workload)
    if args.recipe:
        from pathlib import Path

        from accelsim.api import structure

        require(Path(args.recipe).is_file(), "no such recipe file", source=args.recipe)
        wl = structure(wl, args.recipe)
    from accelsim.workload.layer import check_run_size

    check_run_size(wl, args.batch)
    pool = (f"{arch.pool.tree} pool unit, {arch.pool.mode}" if arch.pool
            else "no pool unit (sumpool on the array)")
    from accelsim.common.names import split_list

    reports = verify_workload(wl, arch, split_list(args.layers) or None,
                              None if args.all else args.limit, args.batch, args.seed)
    if args.json:
        from accelsim.common.fsio import dumps_json

        reps = [{"name": r.name, "kind": r.kind, "passed": bool(r.passed),
                 "max_abs_error": float(r.max_abs_error), "scale": float(r.scale),
                 "count_errors": list(r.count_errors)} for r in reports]
        print(dumps_json({"network": wl.network, "variant": wl.variant, "arch": arch.name,
                          "batch": args.batch, "seed": args.seed, "tol": TOL,
                          "passed": sum(r["passed"] for r in reps), "checked": len(reps),
                          "reports": reps}), end="")
        return 0 if all(r["passed"] for r in reps) else 1
    print(f"verify {wl.network}:{wl.variant} on {arch.name} ({arch.rows}x{arch.cols} "
          f"{arch.dataflow}, {pool}), batch {args.batch}, seed {args.seed}, tol {TOL:g} x scale")
    failed = 0
    n = 0
    for r in reports:
        n += 1
        ok = r.passed
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {r.name:<40} {r.kind:<10} max abs err "
              f"{r.max_abs_error:.3e} (|ref| <= {r.scale:.3g})")
        for e in r.count_errors:
            print(f"      count mismatch: {e}")
    print(f"{n - failed}/{n} passed")
    return 1 if failed else 0
