HELP = ("co-design: the cheapest pool unit (area) that realizes a target share of the ideal "
        "structured speedup of a network on a base arch")


def add_arguments(p):
    from accelsim.common.names import list_action

    p.add_argument("--arch", required=True, help="base arch: preset, YAML or .cfg")
    p.add_argument("--networks", "--network", dest="network", required=True,
                   help="network name (e.g. resnet50)")
    p.add_argument("--variants", "--variant", nargs="+", action=list_action(str), default=["A"],
                   help="structured variants to consider: A, B or recipe .yaml files (space- or "
                        "comma-separated)")
    p.add_argument("--target", type=float, default=0.9,
                   help="required realized/ideal speedup (default 0.9)")
    p.add_argument("--lanes", nargs="+", action=list_action(int),
                   default=[8, 16, 32, 64, 128, 256])
    p.add_argument("--trees", nargs="+", action=list_action(str),
                   default=["running", "separable", "direct"])
    p.add_argument("--modes", nargs="+", action=list_action(str), default=["fused", "two_pass"])
    p.add_argument("--orders", nargs="+", action=list_action(str), default=["demand", "nhwc"],
                   help="fused production orders to try (nhwc, nchw, demand, refold)")
    p.add_argument("--staging-kb", nargs="+", action=list_action(float),
                   default=[32, 64, 128, 256, 512],
                   help="fused staging-buffer sizes to try, KB (its area counts)")
    p.add_argument("--ports", nargs="+", action=list_action(int), default=None,
                   help="pool SRAM read ports (default: the base arch's, else 64)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--fidelity", choices=("exact", "fast"), default="exact",
                   help="exact (default); fast: every candidate with the analytical tier, then "
                        "each variant's (area, cycles) front exactly, the answer from those")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="folder for candidates.csv and answer.json")
    p.add_argument("--json", action="store_true",
                   help="print the answer (or the closest candidate) as JSON")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write (its other files "
                        "stay)")


def run(args) -> int:
    from accelsim.hardware.arch import PoolUnit, load_arch
    from accelsim.common.errors import check_batch, require
    from accelsim.common.fsio import atomic_dir, check_out_dir, dumps_json
    from accelsim.explore.sweep import codesign_pool, load_point_workload
    from accelsim.workload.networks import parse_spec

    require(0 < args.target <= 10, "must be in (0, 10]", field="--target", value=args.target)
    check_batch(args.batch)
    if args.out:
        check_out_dir(args.out, args.force)
    base = load_arch(args.arch)
    args.network = parse_spec(args.network)[0]  # validates (and spells) the name
    # the regular network has no sum-pool: its "speedup" over itself says nothing of a unit
    for v in args.variants:
        require(v.lower() != "regular", "the regular network is the baseline, not a variant to "
                "co-design for; use A, B or a recipe file", field="--variants", value=v)
    args.variants = [v if v.lower().endswith((".yaml", ".yml"))
                     else parse_spec(f"{args.network}:{v}")[1] for v in args.variants]
    ports = args.ports or [base.pool.input_words_per_cycle if base.pool else 64]
    # a two-pass unit has no staging buffer, so order and buffer size are fused-only axes
    on_deadlock = base.pool.on_deadlock if base.pool else "two_pass"
    fused = [dict(order=o, staging_kb=kb, on_deadlock=on_deadlock)
             for o in args.orders for kb in args.staging_kb]
    pools = [None] + [PoolUnit(lanes=l, tree=t, mode=m, input_words_per_cycle=p, **f)
                      for l in args.lanes for t in args.trees for m in args.modes for p in ports
                      for f in (fused if m == "fused" else [dict(staging_kb=None)])]
    for pool in pools[1:]:
        base.with_(pool=pool)  # validates lanes, tree, mode, ports (InputError naming the field)
    from accelsim.workload.layer import check_run_size

    for v in ["regular"] + list(args.variants):
        check_run_size(load_point_workload(args.network, v), args.batch)  # validates variant
    answer, table = codesign_pool(base, args.network, args.variants, pools, args.target,
                                  args.batch, args.fidelity)
    cols = ["variant", "pool_lanes", "pool_tree", "pool_mode", "pool_ports", "pool_order",
            "pool_staging_kb", "fused_pairs", "area_pool_um2",
            "area_mm2", "total_cycles", "ideal_speedup", "realized_speedup",
            "realized_over_ideal", "meets_target"] + (
                ["fidelity"] if args.fidelity != "exact" else [])
    closest = None
    if answer is None:
        best = table.sort_values(["realized_over_ideal"], ascending=False, kind="stable").iloc[0]
        closest = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    if args.json:
        print(dumps_json({"network": args.network, "arch": base.name, "target": args.target,
                          "answer": answer, "closest": closest}), end="")
    else:
        print(f"{args.network} on {base.name}, batch {args.batch}: candidates by pool area "
              f"(target realized/ideal >= {args.target:g})")
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        if answer is None:
            print(f"\nno candidate reaches {args.target:g} of the ideal speedup; the closest "
                  f"reaches {closest['realized_over_ideal']:.3f} (variant {closest['variant']}, "
                  f"{closest['pool_desc']})")
        else:
            print(f"\nanswer: variant {answer['variant']} with {answer['pool_desc']}: pool area "
                  f"{answer['area_pool_um2']:.0f} um^2, realized "
                  f"{answer['realized_speedup']:.3f}x of ideal {answer['ideal_speedup']:.3f}x "
                  f"({100 * answer['realized_over_ideal']:.1f}%)")
    if args.out:
        from pathlib import Path

        with atomic_dir(args.out, force=args.force) as tmp:
            table.to_csv(Path(tmp) / "candidates.csv", index=False, float_format="%.9g")
            (Path(tmp) / "answer.json").write_text(dumps_json(answer))
    # exit 1: the search ran, and nothing met the target (a script can tell it from success)
    return 0 if answer is not None else 1
