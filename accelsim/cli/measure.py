HELP = "time the torch models regular vs structured on this machine (measured vs simulated speedup)"


def add_arguments(p):
    p.add_argument("--networks", nargs="+", help="default: every shipped network")
    p.add_argument("--variants", "--variant", nargs="+", default=["A", "B"],
                   help="space- or comma-separated (default A B)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes; the median is reported")
    p.add_argument("--warmup", type=int, default=2, help="untimed passes first")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--sumpool", default="cumsum",
                   help="sum-pool program: cumsum (separable running sums, default) or "
                        "avgpool3d (StructuredConv2d's avg_pool3d x volume)")
    p.add_argument("--arch", default="scalesim-32x32-os",
                   help="simulated speedup on this preset/arch file, printed beside the measured")
    p.add_argument("--out", "-o", "--output", dest="out",
                   help="write the rows as CSV to this file")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--train", action="store_true",
                   help="time one training step per mode instead (forward, loss, backward, "
                        "SGD momentum; on the CPU, and on CUDA too when present), beside the "
                        "simulated step ratio on --arch (docs/training.md)")
    p.add_argument("--modes", default="regular,regularized,direct",
                   help="with --train: comma list of training modes")
    p.add_argument("--train-batch", type=int, default=8, help="with --train: batch (>= 2)")


def run(args) -> int:
    import sys

    from accelsim.hardware.arch import load_arch
    from accelsim.common.fsio import write_text_atomic
    from accelsim.check.measure import measure, to_csv
    from accelsim.workload.networks import load_workload
    from accelsim.evaluate.columns import summarize
    from accelsim.evaluate.simulate import simulate
    from accelsim.workload.zoo import NETWORKS

    from accelsim.common.errors import check_batch, require

    check_batch(args.batch)
    for flag, v, lo in (("--repeats", args.repeats, 1), ("--warmup", args.warmup, 0),
                        ("--threads", args.threads, 1)):
        require(lo <= v <= 10_000, f"must be in {lo}..10000", field=flag, value=v)
    if args.out:
        from pathlib import Path

        require(not Path(args.out).is_dir(), "is a folder; expected a CSV file name",
                field="--out", value=args.out)
    arch = load_arch(args.arch)
    if args.train:
        return _run_train(args, arch)
    from tqdm import tqdm

    from accelsim.common.names import split_list
    from accelsim.workload.networks import parse_spec

    # every name checked before minutes of timing; one network at a time behind a progress bar
    # (stderr, shown on a terminal only)
    networks = [parse_spec(n)[0] for n in split_list(args.networks)] or list(NETWORKS)
    variants = [parse_spec(f"{networks[0]}:{v}")[1] for v in split_list(args.variants)]
    rows = []
    bar_off = True if args.quiet else (False if args.verbose else None)  # None: a terminal
    for net in tqdm(networks, unit="net", disable=bar_off, leave=False, file=sys.stderr):
        rows += measure([net], variants, repeats=args.repeats, warmup=args.warmup,
                        batch=args.batch, device=args.device, threads=args.threads,
                        sumpool=args.sumpool)
    cycles = {}
    for r in rows:
        wl = load_workload(f"{r['network']}:{r['variant']}")
        s = summarize(simulate(wl, arch, args.batch), arch)
        cycles[(r["network"], r["variant"])] = s["total_cycles"]
        r["macs"] = s["macs"]
    for r in rows:
        reg = (r["network"], "regular")
        r["ideal_speedup"] = next(x["macs"] for x in rows if (x["network"], x["variant"]) == reg) \
            / r["macs"]
        r["simulated_arch"] = arch.name
        r["simulated_speedup"] = cycles[reg] / cycles[(r["network"], r["variant"])]
    if args.out:
        write_text_atomic(args.out, to_csv(rows))
    if args.json:
        from accelsim.common.fsio import dumps_json

        print(dumps_json(rows), end="")
        return 0
    print(f"# torch {args.device}, {args.threads} thread(s), sum-pool {args.sumpool}, batch {args.batch}, median of "
          f"{args.repeats} after {args.warmup} warm-up; simulated on {arch.name}")
    print(f"{'network':16} {'variant':8} {'ms':>9} {'measured x':>10} {'ideal x':>8} "
          f"{'simulated x':>11}")
    for r in rows:
        print(f"{r['network']:16} {r['variant']:8} {r['measured_ms']:9.2f} "
              f"{r['measured_speedup']:10.2f} {r['ideal_speedup']:8.2f} "
              f"{r['simulated_speedup']:11.2f}")
    return 0


def _run_train(args, arch) -> int:
    """measure --train: measured step time per mode (median), its ratio to the regular step,
    and the simulated ratio (accelsim.evaluate.training) on ``arch`` at the same batch."""
    import torch

    from accelsim.common.fsio import write_text_atomic
    from accelsim.check.measure import measure_train, to_csv
    from accelsim.evaluate.training import train_rows

    from accelsim.common.names import split_list

    modes = [m for m in args.modes.split(",") if m]
    variant = next((v for v in split_list(args.variants) if v != "regular"), "regular")
    networks = args.networks or ["resnet56"]
    devices = [args.device]
    if args.device == "cpu" and torch.cuda.is_available():
        devices.append("cuda")
    rows = []
    for dev in devices:
        rows += measure_train(networks, variant, modes, batch=args.train_batch,
                              repeats=args.repeats, warmup=args.warmup, device=dev,
                              threads=args.threads, sumpool=args.sumpool)
    sim = {}
    for net in networks:
        for r in train_rows(net, variant, ["regular"] + [m for m in modes if m != "regular"],
                            [args.train_batch], [arch]):
            sim[(net, r["mode"])] = r["step_vs_regular"]
    for r in rows:
        r["simulated_arch"] = arch.name
        r["simulated_vs_regular"] = sim[(r["network"], r["mode"])]
    print(f"# one training step (SGD momentum), torch {', '.join(devices)}, {args.threads} "
          f"thread(s), batch {args.train_batch}, variant {variant}, median of {args.repeats} "
          f"after {args.warmup} warm-up; simulated on {arch.name}")
    print(f"{'network':16} {'mode':12} {'device':6} {'ms':>10} {'measured / regular':>18} "
          f"{'simulated / regular':>19}")
    for r in rows:
        print(f"{r['network']:16} {r['mode']:12} {r['device']:6} {r['measured_ms']:10.1f} "
              f"{r['measured_vs_regular']:18.3f} {r['simulated_vs_regular']:19.3f}")
    if args.out:
        write_text_atomic(args.out, to_csv(rows))
    return 0
