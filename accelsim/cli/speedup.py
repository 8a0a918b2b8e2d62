HELP = "speedup report: ideal vs realized speedup of structured variants (CSV, MD, TeX, plots, HTML)"

DEFAULT_ARCHS = ("scalesim-32x32-os", "scalesim-eyeriss", "tpu-v1", "edge-npu")


def add_arguments(p):
    p.add_argument("--arch", nargs="+", default=list(DEFAULT_ARCHS),
                   help="presets or arch files (default: %(default)s)")
    p.add_argument("--networks", nargs="+", help="default: every shipped network")
    p.add_argument("--variants", default="A,B", help="comma list (default A,B)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--out", default="reports", help="output folder (replaced atomically)")
    p.add_argument("--no-plots", action="store_true")


def run(args) -> int:
    from pathlib import Path

    from .. import html, plots, report
    from ..arch import load_arch
    from ..errors import require
    from ..fsio import atomic_dir
    from ..networks import load_workload, parse_spec
    from ..simulate import simulate
    from ..zoo import NETWORKS, published_params

    require(args.batch >= 1, "batch must be >= 1", field="--batch", value=args.batch)
    archs = [load_arch(a) for a in args.arch]
    networks = args.networks or list(NETWORKS)
    variants = ["regular"] + [v for v in args.variants.split(",") if v]
    for n in networks:
        for v in variants:
            parse_spec(f"{n}:{v}")
    rows, frames = [], {}
    for arch in archs:
        for net in networks:
            regular = load_workload(net)
            for v in variants:
                wl = load_workload(f"{net}:{v}")
                # params: the published dense count with each structured layer's weights
                # replaced by its alpha (Cout*c*n^2), the paper's closed form
                params = published_params(net) - regular.weights + wl.weights
                df = simulate(wl, arch, args.batch)
                frames[(arch.name, net, v)] = df
                rows.append(report.summary_row(net, v, params, df, arch))
    rows = report.add_speedups(rows)
    with atomic_dir(args.out) as tmp:
        (tmp / "speedup.csv").write_text(report.to_csv(rows))
        (tmp / "speedup.md").write_text(report.to_markdown(rows))
        (tmp / "speedup.tex").write_text(report.to_latex(rows))
        import pandas as pd

        layers = pd.concat([df.assign(arch=a, network=n, variant=v)
                            for (a, n, v), df in frames.items()], ignore_index=True)
        keep = ["arch", "network", "variant", "layer", "op", "engine", "macs", "total_cycles",
                "compute_cycles", "pool_cycles", "vector_cycles", "stall_cycles", "compute_util",
                "pool_adds", "dram_bytes", "energy_pj", "bound"]
        layers[keep].to_csv(tmp / "layers.csv", index=False, float_format="%.6g")
        svgs = []
        if not args.no_plots:
            files = plots.speedup_plot(rows, tmp) + plots.cycle_breakdown_plot(rows, tmp)
            files += plots.energy_plot(rows, tmp)
            arch0 = archs[-1]
            files += plots.roofline_plot(
                [(f"{networks[0]}:{v}", frames[(arch0.name, networks[0], v)]) for v in variants],
                arch0, tmp, "roofline")
            svgs = [f for f in files if f.endswith(".svg")]
        (tmp / "report.html").write_text(html.render(rows, tmp, svgs, "accelsim speedup report"))
    print(report.to_markdown([r for r in rows if r["variant"] != "regular"]))
    print(f"wrote {Path(args.out)}/: speedup.csv .md .tex, layers.csv, report.html"
          + ("" if args.no_plots else ", plots (PNG, SVG)"))
    return 0
