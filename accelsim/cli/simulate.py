HELP = "simulate a workload on an architecture, one row per layer"


def add_arguments(p):
    p.add_argument("--arch", required=True, help="preset name, arch YAML, or SCALE-Sim .cfg")
    p.add_argument("--workload", "--networks", "--network", dest="workload", required=True,
                   help="network[:variant] (e.g. resnet50:A), a workload CSV, or a SCALE-Sim "
                        "topology CSV")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="folder for layers.csv and summary.json (and traces/ with --trace)")
    p.add_argument("--variants", "--variant", dest="variant", default=None,
                   help="regular, A or B (the same as --workload NET:VARIANT)")
    p.add_argument("--recipe", metavar="FILE.yaml",
                   help="structure the (regular) workload with this recipe file")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write (its other files "
                        "stay)")
    p.add_argument("--batch", type=int, default=1, help="samples per run (default 1)")
    p.add_argument("--layers", nargs="*", metavar="LAYER",
                   help="only these layers, by name (space- or comma-separated; run in the "
                        "workload's order whatever order they are given in)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--format", choices=("accelsim", "scalesim"), default="accelsim",
                   help="scalesim: also write SCALE-Sim 2.0.2's COMPUTE_REPORT.csv, "
                        "BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv (its columns; the "
                        "MAC-array layers) to --out")
    p.add_argument("--fidelity", choices=("exact", "fast"), default="exact",
                   help="exact (default): SCALE-Sim's buffers walked exactly; fast: the array's "
                        "DRAM traffic and stalls from the analytical tier (compute cycles and "
                        "SRAM accesses still exact; error stated in docs/analytic.md)")
    p.add_argument("--pool-buffer-search", action="store_true",
                   help="also find each fused pair's smallest staging buffer within 1%% of the "
                        "unbounded buffer's cycles (column staging_min_words; slower)")
    p.add_argument("--trace", nargs="+", metavar="LAYER",
                   help="also write SCALE-Sim-style SRAM traces of these conv/linear layers to "
                        "DIR/traces/LAYER/{IFMAP,FILTER,OFMAP}_SRAM_TRACE.csv (needs --out)")


def _trace_layers(wl, arch, names, source):
    """The layers --trace names, each as the GEMM the array runs; errors name the layer."""
    from accelsim.common.errors import require
    from accelsim.evaluate.simulate import sumpool_as_array_conv

    by_name = {l.name: l for l in wl.layers}
    out = []
    for name in dict.fromkeys(names):
        require(name in by_name, "no such layer in the simulated workload", source=source,
                field="--trace", value=name)
        # the name becomes a folder: no separators, no '.'/'..'
        require(name not in (".", "..") and not any(ch in name for ch in "/\\\0"),
                "layer name cannot be a folder name", source=source, field="--trace",
                value=name)
        layer = by_name[name]
        if layer.op == "sumpool" and arch.pool is None:
            layer = sumpool_as_array_conv(layer)   # no pool unit: it runs on the array
        engine = "the pool unit" if layer.op == "sumpool" else "the vector unit"
        require(layer.is_gemm, f"{layer.op} layers run on {engine}, not on the MAC array: "
                "only conv/linear layers have SRAM traces", source=source, field="--trace",
                value=name)
        out.append(layer)
    return out


def run(args) -> int:
    from accelsim.hardware.arch import load_arch
    from accelsim.common.errors import check_batch, require
    from accelsim.common.fsio import atomic_dir, check_out_dir, dumps_json
    from accelsim.evaluate.simulate import simulate, summarize
    from accelsim.workload.layer import Workload, check_run_size, read_workload_csv

    check_batch(args.batch)
    require(getattr(args, "format", "accelsim") == "accelsim" or args.out,
            "--format scalesim writes report files: give --out DIR", field="--format",
            value=args.format)
    if args.out:
        check_out_dir(args.out, args.force)
    arch = load_arch(args.arch)
    if args.workload.lower().endswith(".csv"):
        from pathlib import Path

        require(Path(args.workload).is_file(), "no such file", source=args.workload)
        require(args.variant is None, "a file workload has no shipped variants; use --recipe",
                field="--variant", value=args.variant)
        wl = read_workload_csv(args.workload)
    else:
        from accelsim.api import load_workload  # network[:variant] (or .onnx)

        wl = load_workload(args.workload, variant=args.variant)
    if args.recipe:
        from pathlib import Path

        from accelsim.api import structure

        require(Path(args.recipe).is_file(), "no such recipe file", source=args.recipe)
        wl = structure(wl, args.recipe)   # its layer names must be the workload's
    if args.layers:
        from accelsim.common.names import split_list

        # the workload's order, whatever order they are named in: a sum-pool fuses with the
        # structured conv after it only in that order
        names = set(wl.layer(n).name for n in split_list(args.layers))
        keep = [l for l in wl.layers if l.name in names]
        wl = Workload(wl.network, wl.variant, tuple(keep), wl.input_shape, wl.source)
    check_run_size(wl, args.batch)
    traced = []
    if args.trace:
        require(args.out, "--trace writes files: give --out DIR", field="--trace",
                value=" ".join(args.trace))
        from accelsim.common.names import split_list

        traced = _trace_layers(wl, arch, split_list(args.trace), args.workload)
    df = simulate(wl, arch, args.batch, buffer_search=args.pool_buffer_search,
                  fidelity=args.fidelity)
    from accelsim.evaluate.layers import fast_is_bounded

    summary = {"network": wl.network, "variant": wl.variant, "batch": args.batch,
               **summarize(df, arch), "bandwidth_mode": arch.bandwidth_mode,
               # the tier that made the array's rows: fast has no model of SCALE-Sim's USER
               # read buffer, so those rows stay exact (docs/analytic.md)
               "fidelity": args.fidelity if fast_is_bounded(arch) else "exact",
               # the numbers depend on it: every summary says which one made them
               "stall_model": arch.stall_model if arch.bandwidth_mode == "user" else "none"}
    if args.out:
        with atomic_dir(args.out, force=args.force) as tmp:
            # fixed float format and key order: same inputs give byte-identical files
            df.to_csv(tmp / "layers.csv", index=False, float_format="%.10g", lineterminator="\n")
            (tmp / "summary.json").write_text(dumps_json(summary), encoding="utf-8")
            if getattr(args, "format", "accelsim") == "scalesim":
                from accelsim.report.export import scalesim_reports

                for fname, text in scalesim_reports(df).items():
                    (tmp / fname).write_text(text, encoding="utf-8")
            if traced:
                from accelsim.engine.sram_trace import write_sram_traces

                for layer in traced:
                    write_sram_traces(layer, arch, tmp / "traces" / layer.name, args.batch)
    if args.json:
        print(dumps_json(summary), end="")
        return 0
    cols = ["layer", "op", "total_cycles", "stall_cycles", "compute_util", "dram_bytes", "bound"]
    if (df["pool_schedule"] != "").any():
        cols += ["pool_schedule", "array_wait_cycles", "staging_peak_words"]
        if args.pool_buffer_search:
            cols.append("staging_min_words")
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"\n{wl.network}:{wl.variant} on {arch.name}: {summary['total_cycles']:,} cycles, "
          f"{summary['latency_ms']:.3f} ms, {summary['energy_uj']:.1f} uJ, "
          f"util {summary['overall_util']:.1f}%")
    return 0
