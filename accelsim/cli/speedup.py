HELP = "speedup report: ideal vs realized speedup of structured variants (CSV, MD, TeX, plots, HTML)"

DEFAULT_ARCHS = ("scalesim-32x32-os", "scalesim-eyeriss", "tpu-v1", "edge-npu")


def add_arguments(p):
    from accelsim.common.names import list_action

    p.add_argument("--arch", "--archs", nargs="+", default=list(DEFAULT_ARCHS),
                   help="presets or arch files, space or comma list (default: %(default)s)")
    p.add_argument("--networks", "--network", nargs="+", action=list_action(),
                   help="default: every shipped network")
    p.add_argument("--variants", "--variant", nargs="+", default=["A", "B"],
                   action=list_action(), help="space or comma list (default A B)")
    p.add_argument("--json", action="store_true",
                   help="print the structured rows (ideal, realized, shares lost) as JSON")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--out", default="reports", help="output folder (replaced atomically)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write (its other files "
                        "stay)")
    p.add_argument("--detail-network",
                   help="network of the per-layer and roofline plots (default: the first)")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--formats", default="png",
                   help="plot files to write, comma list of png,svg (default png; report.html "
                        "inlines every plot as SVG either way)")
    p.add_argument("--measure", action="store_true",
                   help="also time the torch models on this CPU (accelsim measure) and add the "
                        "measured speedup (slow: minutes for every network)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes with --measure")


def run(args) -> int:
    from pathlib import Path

    from accelsim.report import tables as report
    from accelsim.hardware.arch import load_arch
    from accelsim.common.errors import check_batch, require
    from accelsim.common.fsio import atomic_dir, check_out_dir, read_manifest
    from accelsim.workload.networks import load_workload, parse_spec
    from accelsim.workload.zoo import NETWORKS, published_params

    # validate everything before any work or any write
    check_batch(args.batch)
    from accelsim.report.plots import parse_formats

    formats = parse_formats(args.formats)
    # commas split, repeats kept: the same arch twice is refused below, not merged
    archs = [load_arch(a.strip()) for v in args.arch for a in v.split(",") if a.strip()]
    names = [a.name for a in archs]
    require(len(set(names)) == len(names), "the same arch twice", field="--arch", value=names)
    networks = [parse_spec(n)[0] for n in args.networks] if args.networks else list(NETWORKS)
    variants = ["regular"] + [v for v in (parse_spec(f"{networks[0]}:{x}")[1]
                                          for x in args.variants) if v != "regular"]
    from accelsim.workload.layer import check_run_size

    for n in networks:
        for v in variants:
            parse_spec(f"{n}:{v}")
            check_run_size(load_workload(f"{n}:{v}"), args.batch)
    detail = args.detail_network or networks[0]
    require(detail in networks, "must be one of --networks", field="--detail-network",
            value=detail)
    # sub-folders other tools write in reports/ (validation/, gpu/, measured/, compare/): any
    # folder the manifest does not list is theirs, kept as it is; loose files are the user's
    out = Path(args.out)
    owned = ("validation", "gpu", "measured")
    if out.is_dir():
        listed = set(read_manifest(out) or ())
        owned += tuple(sorted(e.name for e in out.iterdir()
                              if e.is_dir() and not e.name.startswith(".")
                              and e.name not in listed))
    out = check_out_dir(out, args.force, keep=owned)

    import sys

    from tqdm import tqdm

    from accelsim.evaluate.simulate import simulate

    rows, frames, layer_rows = [], {}, []
    # one tick per (arch, network); stderr, on a terminal only unless -v (-q: never)
    quiet, loud = getattr(args, "quiet", False), getattr(args, "verbose", False)
    bar = tqdm(total=len(archs) * len(networks), unit="net", leave=False, file=sys.stderr,
               disable=True if quiet else (False if loud else None))
    for arch in archs:
        for net in networks:
            bar.update(1)
            regular = load_workload(net)
            for v in variants:
                wl = load_workload(f"{net}:{v}")
                # params: the published dense count with each structured layer's weights
                # replaced by its alpha (Cout*c*n^2), the paper's closed form
                params = published_params(net) - regular.weights + wl.weights
                df = simulate(wl, arch, args.batch)
                frames[(arch.name, net, v)] = df
                rows.append(report.summary_row(net, v, params, df, arch))
                layer_rows += report.layer_rows(df, arch.name, net, v)
    bar.close()
    rows = report.add_speedups(rows)
    # which DRAM model each arch's stalls come from (docs/memory.md): a report names it
    stalls = "; ".join(f"{a.name}: " + (f"USER bandwidth, stall model {a.stall_model}"
                                         if a.bandwidth_mode == "user"
                                         else "CALC bandwidth, no DRAM stalls")
                       for a in archs)
    notes = f"Batch {args.batch}. DRAM: {stalls}."
    if args.measure:
        from accelsim.check.measure import measure

        measured = measure(networks, variants, repeats=args.repeats)
        rows = report.add_measured(rows, measured)
        m0 = measured[0]
        notes += (f" Measured: torch {m0['device']}, {m0['threads']} thread, sum-pool as "
                  f"{m0['sumpool']}, median of {m0['repeats']} forward passes after 2 warm-up.")
    structured = [r for r in rows if r["variant"] != "regular"]

    # other tools' sub-folders of --out (reports/validation/, gpu/, measured/) are not in the
    # manifest, so the rewrite leaves them as they are
    with atomic_dir(out, keep=owned, force=args.force) as tmp:
        (tmp / "speedup.csv").write_text(report.to_csv(rows))
        (tmp / "speedup.md").write_text(report.to_markdown(rows))
        (tmp / "speedup.tex").write_text(report.to_latex(rows))
        (tmp / "headline.md").write_text(report.to_markdown(structured, report.HEADLINE_COLUMNS))
        (tmp / "headline.tex").write_text(report.to_latex(structured, report.HEADLINE_COLUMNS))
        (tmp / "layers.csv").write_text(report.to_csv(layer_rows, report.LAYER_CSV_COLUMNS))
        (tmp / "layers").mkdir()
        for arch in archs:
            for net in networks:
                lr = [r for r in layer_rows if r["arch"] == arch.name and r["network"] == net]
                stem = tmp / "layers" / f"{arch.name}__{net}"
                stem.with_suffix(".md").write_text(
                    f"# {net} on {arch.name}, per layer\n\n"
                    + report.to_markdown(lr, report.LAYER_COLUMNS))
                stem.with_suffix(".tex").write_text(
                    report.to_latex(lr, report.LAYER_COLUMNS, group=("variant",)))
        svgs: dict = {}  # figure stem -> SVG text, inlined in report.html
        from accelsim.report import html

        if not args.no_plots:
            from accelsim.report import plots

            kw = {"formats": formats, "svg_sink": svgs}
            plots.heatmap_plot(rows, tmp, **kw)
            plots.speedup_plot(rows, tmp, **kw)
            plots.cycle_breakdown_plot(rows, tmp, **kw)
            plots.energy_plot(rows, tmp, **kw)
            for arch in archs:
                fr = [(v, frames[(arch.name, detail, v)]) for v in variants]
                plots.layer_breakdown_plot(fr, arch.name, detail, tmp,
                                           f"layers_{arch.name}_{detail}", **kw)
                plots.roofline_plot([(f"{detail}:{v}", df) for v, df in fr], arch, tmp,
                                    f"roofline_{arch.name}_{detail}", **kw)
        import shlex

        from accelsim import __version__

        command = shlex.join(["accelsim", "speedup", "--arch", *names, "--networks", *networks,
                              "--variants", ",".join(variants[1:]), "--batch", str(args.batch),
                              "--detail-network", detail, "--out", str(args.out)]
                             + (["--measure"] if args.measure else []))
        (tmp / "report.html").write_text(html.render(
            rows, layer_rows, archs, svgs, "accelsim speedup report", notes, command=command,
            version=__version__, date=html.report_date()))
    if args.json:
        from accelsim.common.fsio import dumps_json

        keep = ("arch", "network", "variant", "ideal_speedup", "realized_speedup",
                "realized_over_ideal", "share_array", "share_pool", "share_vector",
                "share_stall", "cycles", "energy_uj")
        print(dumps_json([{k: r[k] for k in keep} for r in structured]), end="")
        return 0
    print(report.to_markdown(structured, report.HEADLINE_COLUMNS))
    print(f"wrote {out}/: speedup.csv .md .tex, headline.md .tex, layers.csv, layers/, "
          f"report.html" + ("" if args.no_plots else f", plots ({', '.join(formats)})"))
    return 0
