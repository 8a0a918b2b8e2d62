HELP = ("structure from your weights: per layer and candidate (c, n) the residual "
        "||W - A A^+ W|| / ||W|| and the MAC saving, and a recipe within a residual")


def add_arguments(p):
    p.add_argument("--weights", required=True, metavar="MODEL.pt",
                   help="a state_dict (torch.save(model.state_dict())) or a TorchScript archive; "
                        "read with torch.load(weights_only=True), never unpickling objects")
    p.add_argument("--network", required=True, help="the shipped network the weights are for")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--max-residual", type=float, default=0.1, metavar="R",
                   help="per layer: the largest MAC saving with residual <= R (default 0.1)")
    g.add_argument("--budget", type=float, metavar="R",
                   help="network-wide: the residual of all weights together <= R")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="folder for decompose.csv, recipe.yaml, decompose.md")
    p.add_argument("--json", action="store_true", help="print the chosen layers as JSON")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write")


COLUMNS = [("layer", "layer", "{}", 1), ("c", "c", "{}", 1), ("n", "n", "{}", 1),
           ("residual", "residual", "{:.4f}", 1), ("macs", "MACs (M)", "{:.3f}", 1e6),
           ("saving", "MAC saving", "{:.0%}", 1), ("pool_adds", "pool adds (M, separable)",
                                                   "{:.3f}", 1e6)]


def run(args) -> int:
    from pathlib import Path

    from accelsim.report import tables as report
    from accelsim.workload.decompose import choose_budget, choose_per_layer, decompose, load_weights, recipe_yaml
    from accelsim.common.errors import require
    from accelsim.common.fsio import atomic_dir, check_out_dir
    from accelsim.workload.networks import load_workload, parse_spec

    net, _ = parse_spec(args.network)
    r = args.budget if args.budget is not None else args.max_residual
    require(r == r and 0.0 <= r <= 1.0, "a residual is in [0, 1]",
            field="--budget" if args.budget is not None else "--max-residual", value=r)
    out = check_out_dir(Path(args.out), args.force) if args.out else None
    regular = load_workload(net)
    weights = load_weights(args.weights)
    rows, norms = decompose(weights, regular, args.weights)
    if args.budget is not None:
        choices = choose_budget(rows, norms, r)
        how = f"network-wide residual <= {r:g}"
    else:
        choices = choose_per_layer(rows, r)
        how = f"per-layer residual <= {r:g}"
    total = regular.macs
    saved = sum(ch.macs_saved for ch in choices)
    picked = {(ch.layer, ch.c, ch.n) for ch in choices}
    chosen_rows = [x for x in rows if (x["layer"], x["c"], x["n"]) in picked]
    head = (f"{net} from {args.weights}: {len(choices)} of {len(norms)} conv/linear layers "
            f"structured ({how}); MACs {total / 1e9:.3f} G -> {(total - saved) / 1e9:.3f} G "
            f"({total / (total - saved):.2f}x fewer)")
    if args.json:
        from accelsim.report.export import jsonable
        from accelsim.common.fsio import dumps_json

        print(dumps_json(jsonable({"network": net, "weights": str(args.weights), "rule": how,
                                   "macs": total, "macs_after": total - saved,
                                   "layers": chosen_rows})), end="")
    else:
        print(head)
        print(report.to_markdown(chosen_rows, COLUMNS) if chosen_rows
              else "(no layer qualifies)")
    if out is None:
        return 0
    with atomic_dir(out, force=args.force) as tmp:
        (tmp / "decompose.csv").write_text(report.to_csv(rows, [c for c, *_ in COLUMNS]
                                                         + ["macs_saved"]))
        (tmp / "recipe.yaml").write_text(recipe_yaml(net, choices, head))
        (tmp / "decompose.md").write_text(
            f"# {head}\n\n## chosen\n\n" + (report.to_markdown(chosen_rows, COLUMNS)
                                           if chosen_rows else "(none)\n")
            + "\n## every candidate\n\n" + report.to_markdown(rows, COLUMNS))
    print(f"wrote {out}/: decompose.csv, decompose.md, recipe.yaml "
          f"(use it: accelsim counts {net} --recipe {out}/recipe.yaml)")
    return 0
