HELP = ("one training step per mode and batch: forward, backward-data, backward-weight, the "
        "structural regularizer and the optimizer (CSV, MD, TeX, plots)")

# the table: every column of accelsim.evaluate.training.train_rows, in this order
CSV_COLUMNS = [
    "arch", "network", "variant", "mode", "batch", "params", "macs", "cycles", "latency_ms",
    "energy_uj", "dram_bytes", "cycles_forward", "cycles_backward_data",
    "cycles_backward_weight", "cycles_regularizer", "cycles_optimizer", "cycles_activations",
    "energy_forward_uj", "energy_backward_data_uj", "energy_backward_weight_uj",
    "energy_regularizer_uj", "energy_optimizer_uj", "energy_activations_uj", "reg_share",
    "reg_energy_share", "step_vs_regular", "energy_vs_regular",
]
MD_COLUMNS = [
    ("arch", "arch", "{}", 1), ("network", "network", "{}", 1), ("variant", "variant", "{}", 1),
    ("mode", "mode", "{}", 1), ("batch", "batch", "{}", 1),
    ("cycles", "step (Mcyc)", "{:.2f}", 1e6), ("latency_ms", "latency (ms)", "{:.2f}", 1),
    ("energy_uj", "energy (mJ)", "{:.2f}", 1e3),
    ("cycles_forward", "fwd (Mcyc)", "{:.2f}", 1e6),
    ("cycles_backward_data", "bwd-data (Mcyc)", "{:.2f}", 1e6),
    ("cycles_backward_weight", "bwd-weight (Mcyc)", "{:.2f}", 1e6),
    ("cycles_regularizer", "regularizer (Mcyc)", "{:.3f}", 1e6),
    ("cycles_optimizer", "optimizer (Mcyc)", "{:.3f}", 1e6),
    ("cycles_activations", "act. spill (Mcyc)", "{:.3f}", 1e6),
    ("reg_share", "reg. share", "{:.1%}", 1),
    ("step_vs_regular", "step / regular", "{:.3f}", 1),
    ("energy_vs_regular", "energy / regular", "{:.3f}", 1),
]
KERNEL_COLUMNS = ["arch", "kernel", "batch", "cycles", "cycles_regularizer", "reg_share"]


def _arch_batches(spec: str, batches: list[int]) -> tuple[str, list[int]]:
    """``ARCH@8,32`` -> (ARCH, [8, 32]); a plain ARCH runs at ``batches``."""
    name, at, tail = spec.rpartition("@")
    if at and tail and all(t.strip().isdigit() for t in tail.split(",")):
        return name, _ints(tail, "--arch")
    return spec, batches


def _ints(text: str, field: str) -> list[int]:
    from accelsim.common.errors import InputError, check_batch

    out = []
    for tok in text.split(","):
        tok = tok.strip()
        try:
            v = int(tok)
        except ValueError:
            raise InputError("expected a comma list of integers", field=field,
                             value=tok) from None
        out.append(check_batch(v, field=field))
    return out


def overhead_plots(rows, krows, folder) -> list[str]:
    """overhead_batch: the regularizer's share of the regularized step, and the direct step
    over the regular one, against batch; overhead_kernel: the share against kernel size."""
    import matplotlib.pyplot as plt

    from accelsim.report.plots import gid, save

    written = []
    series = list(dict.fromkeys((r["arch"], r["network"]) for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for (arch, net) in series:
        for ax, mode, col, scale in ((axes[0], "regularized", "reg_share", 100),
                                     (axes[1], "direct", "step_vs_regular", 1)):
            rs = [r for r in rows if (r["arch"], r["network"], r["mode"]) == (arch, net, mode)]
            if rs:
                (line,) = ax.plot([r["batch"] for r in rs], [r[col] * scale for r in rs],
                                  marker="o", label=f"{net} on {arch}")
                line.set_gid(gid(mode, arch, net))
    axes[0].set_title("regularizer's share of the regularized step")
    axes[0].set_ylabel("% of step cycles")
    axes[1].set_title("direct (structured) training step / regular step")
    axes[1].set_ylabel("cycle ratio")
    axes[1].axhline(1.0, color="black", lw=0.8)
    batches = sorted({r["batch"] for r in rows})
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.minorticks_off()
        ax.set_xlabel("batch size")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    written += save(fig, folder, "overhead_batch")
    if krows:
        fig, ax = plt.subplots(figsize=(6, 4))
        for arch in dict.fromkeys(r["arch"] for r in krows):
            for b in dict.fromkeys(r["batch"] for r in krows):
                rs = [r for r in krows if r["arch"] == arch and r["batch"] == b]
                (line,) = ax.plot([r["kernel"] for r in rs], [100 * r["reg_share"] for r in rs],
                                  marker="o", label=f"{arch}, batch {b}")
                line.set_gid(gid("kernel", arch, b))
        ax.set_xticks(sorted({r["kernel"] for r in krows}))
        ax.set_xlabel("kernel size N (256->256 channels, 14x14, c = C/2, n = N-1)")
        ax.set_ylabel("regularizer, % of the layer's step")
        ax.set_title("regularizer's share vs kernel size")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written += save(fig, folder, "overhead_kernel")
    return written


def add_arguments(p):
    p.add_argument("network", help="a shipped network, a workload CSV or an ONNX file")
    p.add_argument("--variant", default="regular",
                   help="structured variant: A, B or a recipe YAML (needed by regularized and "
                        "direct)")
    p.add_argument("--mode", default="regular,regularized,direct",
                   help="comma list of regular, regularized, direct (default: all three)")
    p.add_argument("--batch", default="8,32,256", help="comma list of batch sizes")
    p.add_argument("--arch", nargs="+", default=["tpu-v1"],
                   help="presets or arch files; ARCH@8,32 runs that arch at those batches "
                        "instead of --batch")
    p.add_argument("--networks", nargs="+",
                   help="more networks in the same table and plot (same variant)")
    p.add_argument("--kernel-batches", default="",
                   help="also the regularizer's share of one 256->256 14x14 layer with 3x3, "
                        "5x5, 7x7 kernels (c = C/2, n = N-1) at these batches (kernels.csv "
                        "and overhead_kernel plot; default: --batch)")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="output folder (tables and plots, replaced atomically)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.add_argument("--workers", type=int, default=1,
                   help="processes, one (network, arch) each (same table whatever the count)")


def _rows_for(task):
    from accelsim.hardware.arch import load_arch
    from accelsim.evaluate.training import train_rows

    net, variant, modes, batches, arch = task
    return train_rows(net, variant, modes, batches, [load_arch(arch)])


def run(args) -> int:
    from pathlib import Path

    from accelsim.report import tables as report
    from accelsim.hardware.arch import load_arch
    from accelsim.common.errors import require
    from accelsim.common.fsio import atomic_dir, check_out_dir
    from accelsim.evaluate.training import MODES, kernel_rows

    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    require(bool(modes), "no mode given", field="--mode", value=args.mode)
    for m in modes:
        require(m in MODES, f"unknown training mode; expected one of {', '.join(MODES)}",
                field="--mode", value=m)
    require(args.variant != "regular" or modes == ["regular"],
            f"modes {', '.join(m for m in modes if m != 'regular')} need a structured variant "
            "(--variant A, B or a recipe YAML)", field="--mode", value=args.mode)
    batches = _ints(args.batch, "--batch")
    kb = _ints(args.kernel_batches, "--kernel-batches") if args.kernel_batches else batches
    arch_batches = [_arch_batches(a, batches) for a in args.arch]
    archs = [load_arch(a) for a, _ in arch_batches]
    out = check_out_dir(Path(args.out), args.force) if args.out else None
    networks = [args.network] + list(args.networks or [])
    require(1 <= args.workers <= 64, "must be in 1..64", field="--workers", value=args.workers)
    tasks = [(net, args.variant, modes, b, a) for net in networks for a, b in arch_batches]
    if args.workers > 1 and len(tasks) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(args.workers, len(tasks))) as pool:
            parts = list(pool.map(_rows_for, tasks))
    else:
        parts = [_rows_for(t) for t in tasks]
    rows = [r for part in parts for r in part]
    krows = kernel_rows(archs, kb) if out and "regularized" in modes else []
    md = report.to_markdown(rows, MD_COLUMNS)
    if args.json:
        from accelsim.report.export import jsonable
        from accelsim.common.fsio import dumps_json

        print(dumps_json(jsonable(rows)), end="")
    else:
        print(md, end="")
    if out is None:
        return 0
    with atomic_dir(out, force=args.force) as tmp:
        (tmp / "training.csv").write_text(report.to_csv(rows, CSV_COLUMNS))
        (tmp / "training.md").write_text(
            f"# One training step: {', '.join(networks)} ({args.variant})\n\n"
            "Cycles, latency and energy of one step (forward, backward-data, backward-weight, "
            "regularizer, SGD-momentum optimizer, activation spill); `reg. share` is the "
            "regularizer's share of the regularized step; `step / regular` is the step's "
            "cycles over the regular step's at the same batch (docs/training.md).\n\n" + md)
        (tmp / "training.tex").write_text(report.to_latex(rows, MD_COLUMNS,
                                                          group=("arch", "network")))
        if krows:
            (tmp / "kernels.csv").write_text(report.to_csv(krows, KERNEL_COLUMNS))
        if not args.no_plots:
            overhead_plots(rows, krows, tmp)
    print(f"wrote {out}/: training.csv .md .tex" + (", kernels.csv" if krows else "")
          + ("" if args.no_plots else ", overhead plots (PNG, SVG)"))
    return 0
