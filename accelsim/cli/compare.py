HELP = ("compression methods side by side on the same hardware: structured, small kernels, "
        "channel pruning, low-rank (Tucker-2, CP), depthwise-separable")

DEFAULT_ARCHS = "tpu-v1,edge-npu,scalesim-32x32-os"


def add_arguments(p):
    from accelsim.workload.compress import METHODS

    p.add_argument("network", help="a shipped network, or a comma list of them")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma list of %(default)s (aliases: depthwise-separable, tucker2, cp)")
    p.add_argument("--match", metavar="macs=X|params=X",
                   help="pick each method's per-layer parameter so the network's MACs (or "
                        "conv/linear weights) are X times fewer, within 2%%")
    p.add_argument("--arch", default=DEFAULT_ARCHS,
                   help="comma list of presets or arch files (default: %(default)s)")
    p.add_argument("--spec", action="append", default=[], metavar="METHOD=FILE.yaml",
                   help="a per-layer spec for one method (overrides --match for it); for "
                        "structured, a recipe file")
    p.add_argument("--variant", default="A",
                   help="the shipped recipe structured uses without --match or --spec "
                        "(default A)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--per-layer-gain", action="store_true",
                   help="structured: each layer's realized saving (regular cycles / sum-pool + "
                        "small-conv cycles) on every arch, beside its ideal (MAC ratio)")
    p.add_argument("--hardware-aware", type=float, metavar="THRESHOLD",
                   help="also write per arch a recipe that structures only the layers of recipe "
                        "--variant whose realized saving exceeds THRESHOLD, and simulate it "
                        "beside that recipe (implies --per-layer-gain)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--out", "-o", "--output", dest="out", help="output folder (CSV, MD, TeX, plots, the specs used); "
                                 "without it only the table is printed")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty folder accelsim did not write")
    p.add_argument("--no-plots", action="store_true", help="tables only")


# (column, header, format, scale)
COLUMNS = [
    ("arch", "arch", "{}", 1), ("network", "network", "{}", 1), ("variant", "method", "{}", 1),
    ("params", "params (M)", "{:.3f}", 1e6), ("macs", "MACs (G)", "{:.3f}", 1e9),
    ("adds", "adds (G)", "{:.3f}", 1e9), ("cycles", "cycles (M)", "{:.3f}", 1e6),
    ("energy_uj", "energy (uJ)", "{:.1f}", 1),
    ("ideal_speedup", "ideal x", "{:.2f}", 1), ("realized_speedup", "realized x", "{:.2f}", 1),
    ("realized_over_ideal", "realized/ideal", "{:.0%}", 1),
    ("share_array", "lost: array", "{:.0%}", 1), ("share_pool", "lost: pool", "{:.0%}", 1),
    ("share_vector", "lost: vector", "{:.0%}", 1), ("share_stall", "lost: stalls", "{:.0%}", 1),
    ("budget", "budget", "{}", 1),
]
GAIN_COLUMNS = [("layer", "layer", "{}", 1), ("c", "c", "{}", 1), ("n", "n", "{}", 1),
                ("regular_cycles", "regular cyc", "{}", 1),
                ("structured_cycles", "structured cyc", "{}", 1),
                ("ideal_gain", "ideal x", "{:.2f}", 1),
                ("realized_gain", "realized x", "{:.2f}", 1),
                ("mark", "mark", "{}", 1)]


def _parse_match(text):
    from accelsim.common.errors import require

    metric, eq, val = (text or "").partition("=")
    try:
        target = float(val)
    except ValueError:
        target = None
    require(bool(eq) and metric in ("macs", "params") and target is not None
            and target == target and 1.0 < target < 1e6,
            "expected macs=X or params=X with a reduction X > 1", field="--match", value=text)
    return metric, target


def _parse_specs(items, methods):
    from pathlib import Path

    from accelsim.workload.compress import method_name
    from accelsim.common.errors import require

    out = {}
    for it in items:
        m, eq, path = it.partition("=")
        require(bool(eq) and bool(path), "expected METHOD=FILE.yaml", field="--spec", value=it)
        m = method_name(m)
        require(m in methods, "method is not in --methods", field="--spec", value=it)
        require(Path(path).is_file(), "no such file", source=path, field="--spec", value=it)
        out[m] = path
    return out


def layer_gains(reg_df, str_df, spec) -> list[dict]:
    """Per structured layer: regular cycles, sum-pool + small-conv cycles, their ratio
    (realized) and the MAC ratio (ideal)."""
    reg = dict(zip(reg_df["layer"], zip(reg_df["total_cycles"], reg_df["macs"])))
    cyc: dict[str, int] = {}
    mac: dict[str, int] = {}
    for name, c, m in zip(str_df["layer"], str_df["total_cycles"], str_df["macs"]):
        base = name.removesuffix(".sumpool")
        cyc[base] = cyc.get(base, 0) + int(c)
        mac[base] = mac.get(base, 0) + int(m)
    rows = []
    for name, p in spec.assignment.items():
        rc, rm = reg[name]
        rows.append({"layer": name, "c": p["c"], "n": p["n"], "regular_cycles": int(rc),
                     "structured_cycles": cyc[name], "ideal_gain": rm / mac[name],
                     "realized_gain": rc / cyc[name]})
    return rows


def run(args) -> int:
    from pathlib import Path

    from accelsim.report import tables as report
    from accelsim.hardware.arch import load_arch
    from accelsim.workload.compress import (Spec, default_spec, load_spec_file, match_budget, method_name,
                            spec_to_yaml, spec_workload)
    from accelsim.common.errors import check_batch, require
    from accelsim.common.fsio import atomic_dir, check_out_dir, safe_name
    from accelsim.workload.networks import load_workload, parse_spec
    from accelsim.workload.recipe import Recipe
    from accelsim.workload.zoo import published_params

    # validate everything before any work or any write
    check_batch(args.batch)
    networks = [n for n in args.network.split(",") if n]
    require(bool(networks), "no network", field="network", value=args.network)
    for n in networks:
        parse_spec(n)
    methods = list(dict.fromkeys(method_name(m) for m in args.methods.split(",") if m))
    require(bool(methods), "no method", field="--methods", value=args.methods)
    archs = [load_arch(a) for a in args.arch.split(",") if a]
    require(bool(archs), "no arch", field="--arch", value=args.arch)
    names = [a.name for a in archs]
    require(len(set(names)) == len(names), "the same arch twice", field="--arch", value=names)
    metric, target = _parse_match(args.match) if args.match else (None, None)
    specs_in = _parse_specs(args.spec, methods)
    require(args.variant in ("A", "B"), "expected A or B", field="--variant", value=args.variant)
    if args.hardware_aware is not None:
        require(args.hardware_aware == args.hardware_aware and args.hardware_aware > 0,
                "the threshold is a realized per-layer saving > 0 (e.g. 1.2)",
                field="--hardware-aware", value=args.hardware_aware)
    gains_on = args.per_layer_gain or args.hardware_aware is not None
    out = check_out_dir(Path(args.out), args.force) if args.out else None

    # the workload of every (network, method): a spec file, the matched budget, or the default
    plans = []          # (net, method label, Spec, budget text, Workload)
    for net in networks:
        regular = load_workload(net)
        for m in methods:
            budget = "-"
            if m in specs_in:
                spec = load_spec_file(specs_in[m], regular, m)
                budget = f"spec {Path(specs_in[m]).name}"
            elif metric:
                res = match_budget(regular, m, metric, target)
                spec = res.spec
                budget = (f"{metric} {res.achieved:.3f}x" if res.feasible
                          else f"not reached: max {res.achieved:.2f}x")
            else:
                spec = default_spec(regular, m, args.variant)
                budget = "recipe " + args.variant if m == "structured" else "default"
            plans.append((net, m, spec, budget, spec_workload(regular, spec)))
        if gains_on:
            spec = default_spec(regular, "structured", args.variant)
            plans.append((net, f"structured-{args.variant}", spec, f"recipe {args.variant}",
                          spec_workload(regular, spec)))

    from accelsim.evaluate.simulate import simulate

    rows, gains, hw_specs = [], {}, {}
    for arch in archs:
        for net in networks:
            regular = load_workload(net)
            pub = published_params(net)
            reg_df = simulate(regular, arch, args.batch)
            rows.append(dict(report.summary_row(net, "regular", pub, reg_df, arch), budget="-"))
            for pnet, label, spec, budget, wl in plans:
                if pnet != net:
                    continue
                df = simulate(wl, arch, args.batch)
                params = pub - regular.weights + wl.weights
                rows.append(dict(report.summary_row(net, label, params, df, arch),
                                 budget=budget))
                if gains_on and label == f"structured-{args.variant}":
                    g = layer_gains(reg_df, df, spec)
                    thr = args.hardware_aware
                    for r in g:
                        r["mark"] = ("" if thr is None else
                                     "keep" if r["realized_gain"] > thr else "dense")
                    gains[(arch.name, net)] = g
                    if thr is not None:
                        keep = {r["layer"] for r in g if r["realized_gain"] > thr}
                        choices = tuple((n, p["c"], p["n"]) for n, p in spec.assignment.items()
                                        if n in keep)
                        hw = Spec(net, "structured", tuple(
                            (n, p) for n, p in spec.params if n in keep), "hardware-aware",
                            Recipe(net, f"{args.variant}-hw", choices, "", "hardware-aware"))
                        hw_specs[(arch.name, net)] = hw
                        hwl = spec_workload(regular, hw)
                        hdf = simulate(hwl, arch, args.batch)
                        rows.append(dict(report.summary_row(
                            net, f"structured-{args.variant}-hw", pub - regular.weights
                            + hwl.weights, hdf, arch),
                            budget=f"realized > {thr:g} on {arch.name}"))
    rows = report.add_speedups(rows)
    methods_rows = [r for r in rows if r["variant"] != "regular"]
    summary = best_methods(methods_rows, matched=bool(metric))
    table = report.to_markdown(rows, COLUMNS)
    if args.json:
        from accelsim.report.export import jsonable
        from accelsim.common.fsio import dumps_json

        print(dumps_json(jsonable({"rows": rows, "summary": summary})), end="")
    else:
        print(table)
        print(summary)
    if out is None:
        return 0

    with atomic_dir(out, force=args.force) as tmp:
        note = (f"Batch {args.batch}. ideal = regular MACs / method MACs, realized = regular "
                "cycles / method cycles (as reports/speedup.md); the lost shares and "
                "realized/ideal sum to 1. " + (f"Matched budget: {metric} {target:g}x within "
                                              "2 %." if metric else ""))
        (tmp / "compare.csv").write_text(report.to_csv(rows))
        (tmp / "compare.md").write_text(f"# Compression methods on the same hardware\n\n{note}"
                                        f"\n\n{summary}\n\n{table}")
        (tmp / "compare.tex").write_text(report.to_latex(rows, COLUMNS))
        (tmp / "specs").mkdir()
        for net, label, spec, budget, _ in plans:
            (tmp / "specs" / f"{net}_{safe_name(label)}.yaml").write_text(
                spec_to_yaml(spec, budget))
        for (an, net), g in gains.items():
            stem = tmp / "gain" / f"{safe_name(an)}__{net}"
            stem.parent.mkdir(exist_ok=True)
            stem.with_suffix(".md").write_text(report.to_markdown(g, GAIN_COLUMNS))
            stem.with_suffix(".csv").write_text(report.to_csv(g, [c for c, *_ in GAIN_COLUMNS]))
        for (an, net), hw in hw_specs.items():
            (tmp / "gain" / f"{safe_name(an)}__{net}_hw_recipe.yaml").write_text(
                _recipe_yaml(hw, args.hardware_aware, an))
        if not args.no_plots:
            from accelsim.report import plots

            compare_plot(plots, rows, tmp)
    print(f"wrote {out}/: compare.csv .md .tex, specs/" + ("" if args.no_plots else
                                                            ", compare.png .svg")
          + (", gain/" if gains else ""))
    return 0


def _recipe_yaml(spec, thr, arch_name) -> str:
    import yaml

    data = {"network": spec.network, "variant": spec.recipe.variant,
            "description": f"hardware-aware: the layers whose realized saving on {arch_name} "
                           f"exceeds {thr:g}",
            "layers": {n: {"c": p["c"], "n": p["n"]} for n, p in spec.assignment.items()}}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def best_methods(rows, matched: bool = False) -> str:
    """Per arch, the methods ranked by how much of their ideal speedup they keep: realized/ideal
    on each network (with a matched budget, '-' where the budget was not reached), the mean
    over the networks, and the best method among those that met the budget on every one."""
    nets = list(dict.fromkeys(r["network"] for r in rows))
    lines = []
    for arch in dict.fromkeys(r["arch"] for r in rows):
        by: dict[str, dict] = {}
        for r in rows:
            if r["arch"] != arch:
                continue
            ok = (r["budget"].startswith(("macs ", "params ")) if matched
                  else not r["budget"].startswith("not reached"))
            by.setdefault(r["variant"], {})
            if ok:
                by[r["variant"]][r["network"]] = r["realized_over_ideal"]
        full = {m: v for m, v in by.items() if len(v) == len(nets)}
        ranked = sorted(by.items(), key=lambda kv: (len(kv[1]) < len(nets),
                                                    -sum(kv[1].values()) / max(1, len(kv[1])),
                                                    kv[0]))
        parts = []
        for m, v in ranked:
            if not v:
                continue
            per = "/".join(f"{v[n]:.0%}" if n in v else "-" for n in nets)
            mean = f", mean {sum(v.values()) / len(v):.0%}" if v else ""
            parts.append(f"{m} {per}{mean}")
        best = (max(full, key=lambda m: (sum(full[m].values()), m)) if full else None)
        lines.append(f"- **{arch}** (realized/ideal on {'/'.join(nets)}): " + "; ".join(parts)
                     + (f". Best on every network: **{best}**" if best else ""))
    return "\n".join(lines) + "\n"


def compare_plot(plots, rows, folder) -> list[str]:
    """Ideal vs realized speedup per network and method, one panel per arch (bars carry SVG
    ids ``ideal__<arch>_<network>:<method>``); a hatched bar marks a budget not reached."""
    plt = plots.plt
    archs = list(dict.fromkeys(r["arch"] for r in rows))
    fig, axes = plt.subplots(len(archs), 1, figsize=(12, 3.1 * len(archs)), squeeze=False)
    w = 0.4
    for ax, arch in zip(axes[:, 0], archs):
        rs = [r for r in rows if r["arch"] == arch and r["variant"] != "regular"]
        labels = [f"{r['network']}:{r['variant']}" for r in rs]
        ids = [f"{arch}_{lab}" for lab in labels]
        x = list(range(len(rs)))
        for i, (key, lab, col) in enumerate((("ideal", "ideal (MAC ratio)", "ideal_speedup"),
                                             ("realized", "realized (cycle ratio)",
                                              "realized_speedup"))):
            bars = plots._bars(ax, [v + (i - 0.5) * w for v in x], [r[col] for r in rs], w,
                               key, ids, plots.COLORS[key], label=lab)
            for b, r in zip(bars.patches, rs):
                if r["budget"].startswith("not reached"):
                    b.set_hatch("//")
        for v, r in zip(x, rs):
            ax.text(v + w / 2, r["realized_speedup"], f"{r['realized_over_ideal']:.0%}",
                    ha="center", va="bottom", fontsize=6)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=7)
        ax.set_ylabel("speedup over regular (x)")
        ax.set_title(f"{arch}: ideal vs realized speedup per compression method "
                     "(label: realized/ideal; hatched: budget not reached)", fontsize=10)
        ax.set_ylim(0, max(max(r["ideal_speedup"], r["realized_speedup"]) for r in rs) * 1.3)
        ax.legend(fontsize=8, loc="upper right", ncol=2)
    fig.tight_layout()
    return plots.save(fig, folder, "compare")
