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
    p.add_argument("--jobs", type=int, default=0,
                   help="worker processes for the simulations and plots (default 0: one per "
                        "core this process may use, at most 8; 1: all in this process); the "
                        "files are the same bytes whatever the number")
    p.add_argument("--measure", action="store_true",
                   help="also time the torch models on this CPU (accelsim measure) and add the "
                        "measured speedup (slow: minutes for every network)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes with --measure")


# more workers than this cost more than they save: each fills its own engine memos
MAX_JOBS = 8


class _Phases:
    """Wall and CPU seconds of each phase of a run (``-v`` prints them on stderr; the bench job
    bench/bench_main_job.py reads them). CPU counts this process and, for the phases run in
    workers, the CPU the workers report for their tasks (a figure drawn while the last
    simulations run counts under plots)."""

    def __init__(self):
        import time

        self.clock, self.cpu = time.perf_counter, time.process_time
        # everything before run(): interpreter start-up and imports (CPU only: no wall clock
        # reaches back to the process start)
        self.rows = [("start-up (before run)", None, self.cpu(), None)]
        self.t, self.c, self.workers = self.clock(), self.cpu(), {}

    def add_worker_cpu(self, pid: int, cpu_s: float) -> None:
        self.workers[pid] = self.workers.get(pid, 0.0) + cpu_s

    def mark(self, name: str) -> None:
        t, c = self.clock(), self.cpu()
        # the busiest worker's CPU: what the phase takes on idle cores, whatever the load now
        busiest = max(self.workers.values()) if self.workers else None
        self.rows.append((name, t - self.t, c - self.c + sum(self.workers.values()), busiest))
        self.t, self.c, self.workers = t, c, {}

    def text(self) -> str:
        wall = sum(w for _, w, _, _ in self.rows if w is not None)
        cpu = sum(c for _, _, c, _ in self.rows)
        lines = [f"phase {name}: wall {'-' if w is None else f'{w:.2f}'} s, cpu {c:.2f} s"
                 + ("" if b is None else f", busiest worker cpu {b:.2f} s")
                 for name, w, c, b in self.rows]
        return "\n".join(lines + [f"phase total (run): wall {wall:.2f} s, cpu {cpu:.2f} s"])


def _jobs(requested: int, tasks: int) -> int:
    """Worker processes: ``requested``, or one per usable core (at most MAX_JOBS); never more
    than there are tasks; 1 (no workers) where processes cannot be forked."""
    import multiprocessing
    import os

    if requested == 1 or tasks < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if requested:
        return min(requested, tasks)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS, tasks))


def _work(workloads) -> int:
    """A rough cost of simulating these workloads, only to start the long ones first: the
    activation elements every layer reads and writes (the memory walks and the pool unit's
    scans grow with them)."""
    from math import prod

    return sum(prod(layer.in_shape) + prod(layer.out_shape) for wl in workloads for layer in wl)


def _clusters(networks, variants, cap: float, link: float = 0.25) -> list[list[str]]:
    """The networks in groups simulated by one task each (per arch): the engines memoize per
    process, so networks sharing layer shapes (the ResNets' blocks, MobileNetV2's and
    EfficientNet-B0's inverted residuals) simulate a shared layer once instead of once per
    worker. Two networks link when the distinct conv/linear and sum-pool shapes they share hold
    at least ``link`` of the smaller one's work (``_work``'s measure); linked networks join,
    strongest links first, while a group's work stays within ``cap`` (so that the groups still
    spread over the workers). Groups keep the networks' order and come in it."""
    from dataclasses import fields
    from math import prod

    from accelsim.workload.layer import Layer
    from accelsim.workload.networks import load_workload

    # a layer's fields but its name key its shape: the engines' memos ignore names
    shape_fields = [f.name for f in fields(Layer) if f.name != "name"]
    shapes = {}
    for n in networks:
        shapes[n] = {tuple(getattr(layer, f) for f in shape_fields):
                     prod(layer.in_shape) + prod(layer.out_shape)
                     for v in variants for layer in load_workload(f"{n}:{v}")
                     if layer.is_gemm or layer.op == "sumpool"}
    work = {n: sum(w.values()) for n, w in shapes.items()}
    links = []
    for i, a in enumerate(networks):
        for b in networks[i + 1:]:
            shared = sum(w for k, w in shapes[a].items() if k in shapes[b])
            if shared >= link * min(work[a], work[b]) > 0:
                links.append((-shared / min(work[a], work[b]), a, b))
    group = {n: [n] for n in networks}
    for _, a, b in sorted(links):
        ga, gb = group[a], group[b]
        if ga is not gb and sum(work[n] for n in ga + gb) <= cap:
            ga += gb
            for n in gb:
                group[n] = ga
    out, seen = [], set()
    for n in networks:
        if id(group[n]) not in seen:
            seen.add(id(group[n]))
            out.append(sorted(group[n], key=networks.index))
    return out


def _simulate_group(arch, nets, variants, batch: int, detail: str):
    """``_simulate_net`` for each of ``nets`` on one arch, in one process (their shared layers
    simulated once); the frames of ``detail`` only."""
    return [_simulate_net(arch, net, variants, batch, net == detail) for net in nets]


def _simulate_net(arch, net: str, variants, batch: int, keep_frames: bool):
    """Every variant of one network on one arch: (summary rows, layer rows, {variant: frame}
    when ``keep_frames``, (process id, CPU seconds)). Runs in a worker or in this process."""
    import os
    import time

    c0 = time.process_time()  # a worker's first task pays its imports: counted
    from accelsim.evaluate.simulate import layer_table, to_frame
    from accelsim.report import tables as report
    from accelsim.workload.networks import load_workload
    from accelsim.workload.zoo import published_params

    regular = load_workload(net)
    rows, layer_rows, frames = [], [], {}
    for v in variants:
        wl = load_workload(f"{net}:{v}")
        # params: the published dense count with each structured layer's weights replaced by
        # its alpha (Cout*c*n^2), the paper's closed form
        params = published_params(net) - regular.weights + wl.weights
        # simulate's table without its DataFrame (the tables read the arrays; building a frame
        # cost a fifth of a warm simulation): a frame only for the per-layer figures
        table = layer_table(wl, arch, batch)
        rows.append(report.summary_row(net, v, params, table, arch))
        layer_rows += report.layer_rows(table, arch.name, net, v)
        if keep_frames:
            frames[v] = to_frame(table)
    return rows, layer_rows, frames, (os.getpid(), time.process_time() - c0)


def _plot(kind: str, data, folder, stem: str, formats):
    """Draw one figure, write its files into ``folder`` and return (stem, SVG text, (process
    id, CPU seconds))."""
    import os
    import time

    c0 = time.process_time()
    from accelsim.report import plots

    sink: dict = {}
    kw = {"formats": formats, "svg_sink": sink}
    if kind == "layers":
        frames, arch, net = data
        plots.layer_breakdown_plot(frames, arch.name, net, folder, stem, **kw)
    elif kind == "roofline":
        frames, arch, net = data
        plots.roofline_plot([(f"{net}:{v}", df) for v, df in frames], arch, folder, stem, **kw)
    else:
        getattr(plots, f"{kind}_plot")(data, folder, stem, **kw)
    return stem, sink[stem], (os.getpid(), time.process_time() - c0)


class _Lazy:
    """A task of the one-job run: done in this process when its result is first asked for."""

    def __init__(self, fn, args):
        self.fn, self.args, self.done = fn, args, False

    def result(self):
        if not self.done:
            self.value, self.done = self.fn(*self.args), True
        return self.value


class _Runner:
    """Runs tasks in forked workers (or here, with one job) in a chosen order (the long ones
    first) and hands the results back in the tasks' own order, so the outputs do not depend on
    who ran what or when. A worker that dies (killed for memory) fails the run with an error
    instead of leaving it waiting."""

    def __init__(self, jobs: int):
        import multiprocessing

        self.pool, self.jobs = None, jobs
        if jobs > 1 and not multiprocessing.current_process().daemon:  # daemons cannot fork
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
            # fork every worker now, while this process runs no other thread (a progress
            # bar's monitor or the pool's own manager start later)
            self.pool.submit(int).result()

    def _submit(self, fn, args):
        return _Lazy(fn, args) if self.pool is None else self.pool.submit(fn, *args)

    def run_sims(self, fn, sims, order, figs, ready, plotted: dict, on_sim=None) -> list:
        """``fn(*sim)`` for every sim, in ``order``; returns the results in the sims' order.
        ``ready(i, result)`` names the figures a finished sim lets start; while no sim is left
        to start, a free worker draws one of them (``_plot(*figs[k])``, its future in
        ``plotted[k]``), so the tail of the simulations, where one worker waits for the other,
        is not idle. With one job, the sims run here and the figures wait for ``start_rest``.
        ``on_sim(i)`` is called after sim i."""
        if self.pool is None:
            got = {}
            for i in order:
                got[i] = fn(*sims[i])
                ready(i, got[i])
                if on_sim:
                    on_sim(i)
            return [got[i] for i in range(len(sims))]
        from concurrent.futures import FIRST_COMPLETED, wait

        queue, drawable, running, got = list(order), [], {}, {}
        while queue or any(kind == "sim" for kind, _ in running.values()):
            # one task more than workers: a worker that finishes takes the queued one at once
            # instead of waiting for this process to hear of it and send the next
            while (len(running) < self.jobs + (1 if queue else 0)
                   and (queue or drawable)):
                if queue:
                    i = queue.pop(0)
                    running[self.pool.submit(fn, *sims[i])] = ("sim", i)
                else:
                    k = drawable.pop(0)
                    plotted[k] = self.pool.submit(_plot, *figs[k])
                    running[plotted[k]] = ("plot", k)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for f in finished:
                kind, i = running.pop(f)
                res = f.result()   # a worker's error ends the run here
                if kind == "sim":
                    got[i] = res
                    drawable += ready(i, res)
                    drawable.sort(key=lambda k: -PLOT_COST[figs[k][0]])
                    if on_sim:
                        on_sim(i)
        return [got[i] for i in range(len(sims))]

    def start_rest(self, fn, figs, plotted: dict, order) -> None:
        """Start ``fn(*figs[k])`` for each k in ``order`` (their futures in ``plotted``)."""
        for k in order:
            plotted[k] = self._submit(fn, figs[k])

    @staticmethod
    def wait_all(plotted: dict, n: int | None = None) -> list:
        """The results of tasks 0..n-1 of ``plotted`` in that order (n None: of every task
        started, in any order)."""
        keys = list(plotted) if n is None else range(n)
        return [plotted[k].result() for k in keys]

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if self.pool is None:
            return
        if exc_type is not None:
            # an error or Ctrl-C: the other tasks are moot, and a worker that caught the
            # same Ctrl-C would go on with the next task it had queued; end them now
            # (Python < 3.14 has no public call for it)
            for proc in list((getattr(self.pool, "_processes", None) or {}).values()):
                proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=exc_type is not None)


# the plots, in the order report.html shows them; they are started most expensive first
# (PLOT_COST: CPU seconds of the default report's figures, PNG and SVG, drawn one by one on the
# 2-core machine: energy 1.0, each per-layer 0.7, cycles 0.6, each roofline 0.3-0.6,
# heatmap 0.45, speedup 0.2). The summary figures need every simulation; the per-layer and
# roofline figures of an arch start as soon as its detail network is simulated, on a worker
# that no simulation waits for.
SUMMARY_PLOTS = (("heatmap", "realized_over_ideal"), ("speedup", "speedup"),
                 ("cycle_breakdown", "cycle_breakdown"), ("energy", "energy_breakdown"))
PLOT_COST = {"energy": 10, "layers": 7, "cycle_breakdown": 6, "roofline": 4, "heatmap": 4,
             "speedup": 2}


def run(args) -> int:
    phases = _Phases()
    from pathlib import Path

    from accelsim.report import tables as report
    from accelsim.hardware.arch import load_arch
    from accelsim.common.errors import check_batch, require
    from accelsim.common.fsio import atomic_dir, check_out_dir, read_manifest
    from accelsim.report.figures import parse_formats
    from accelsim.workload.networks import load_workload, parse_spec
    from accelsim.workload.zoo import NETWORKS

    # validate everything before any work or any write
    check_batch(args.batch)
    require(args.jobs >= 0, "must be 0 (one per core) or a number of worker processes",
            field="--jobs", value=args.jobs)
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
    phases.mark("checks (arguments, workloads)")

    import sys

    from tqdm import tqdm

    sims = [(arch, net, variants, args.batch, net == detail) for arch in archs
            for net in networks]
    work = {n: _work(load_workload(f"{n}:{v}") for v in variants) for n in networks}
    jobs = _jobs(args.jobs, len(sims))
    # one task per (arch, group of networks sharing layers): a group's work at most an eighth
    # of the whole per worker, so the groups still spread over the workers
    clusters = _clusters(networks, variants, len(archs) * sum(work.values()) / (8 * jobs)
                         ) if jobs > 1 else [[n] for n in networks]
    groups = [(arch, c, variants, args.batch, detail) for arch in archs for c in clusters]
    # the long groups first, so that the workers finish together
    group_order = sorted(range(len(groups)),
                         key=lambda g: -sum(work[n] for n in groups[g][1]))
    nplots = 0 if args.no_plots else len(SUMMARY_PLOTS) + 2 * len(archs)
    import shlex

    from accelsim import __version__
    from accelsim.report import html

    command = shlex.join(["accelsim", "speedup", "--arch", *names, "--networks", *networks,
                          "--variants", ",".join(variants[1:]), "--batch", str(args.batch),
                          "--detail-network", detail, "--out", str(args.out)]
                         + (["--measure"] if args.measure else []))
    # other tools' sub-folders of --out (reports/validation/, gpu/, measured/) are not in the
    # manifest, so the rewrite leaves them as they are. The staging folder is made before the
    # workers fork (they draw into it) and outlives them: on an error they are ended before it
    # is removed.
    with atomic_dir(out, keep=owned, force=args.force) as tmp, \
            _Runner(_jobs(args.jobs, max(len(groups), nplots))) as runner:
        # one tick per (arch, network); stderr, on a terminal only unless -v (-q: never)
        quiet, loud = getattr(args, "quiet", False), getattr(args, "verbose", False)
        bar = tqdm(total=len(sims), unit="net", leave=False, file=sys.stderr,
                   disable=True if quiet else (False if loud else None))
        figs: list = []            # (kind, data, folder, stem, formats), in report order
        detail_figs: dict = {}     # arch name -> indices of its per-layer and roofline figures
        if not args.no_plots:
            figs = [(kind, None, tmp, stem, formats) for kind, stem in SUMMARY_PLOTS]
            for arch in archs:
                detail_figs[arch.name] = [len(figs), len(figs) + 1]
                figs += [("layers", None, tmp, f"layers_{arch.name}_{detail}", formats),
                         ("roofline", None, tmp, f"roofline_{arch.name}_{detail}", formats)]
        plotted: dict = {}         # figure index -> _plot's result

        def detail_ready(g: int, result) -> list:
            """The figures a finished group lets start: its arch's per-layer and roofline
            figures when it holds the detail network."""
            arch, nets = groups[g][0], groups[g][1]
            if detail not in nets or arch.name not in detail_figs:
                return []
            fr = [(v, result[nets.index(detail)][2][v]) for v in variants]
            for k in detail_figs[arch.name]:
                kind, _, folder, stem, fmts = figs[k]
                figs[k] = (kind, (fr, arch, detail), folder, stem, fmts)
            return detail_figs[arch.name]

        done = runner.run_sims(_simulate_group, groups, group_order, figs, detail_ready,
                               plotted, on_sim=lambda g: bar.update(len(groups[g][1])))
        bar.close()
        by_run = {(arch.name, net): res for (arch, nets, *_), results in zip(groups, done)
                  for net, res in zip(nets, results)}
        rows, layer_rows = [], []
        for arch, net, *_ in sims:   # in the order of --arch, then --networks
            r, lr, _, cpu = by_run[(arch.name, net)]
            rows += r
            layer_rows += lr
            if runner.pool is not None:  # else this process's own CPU counts it
                phases.add_worker_cpu(*cpu)
        rows = report.add_speedups(rows)
        phases.mark("simulate")
        # which DRAM model each arch's stalls come from (docs/memory.md): a report names it
        stalls = "; ".join(f"{a.name}: " + (f"USER bandwidth, stall model {a.stall_model}"
                                             if a.bandwidth_mode == "user"
                                             else "CALC bandwidth, no DRAM stalls")
                           for a in archs)
        notes = f"Batch {args.batch}. DRAM: {stalls}."
        if args.measure:  # nothing else runs while torch is timed
            runner.wait_all(plotted)
            from accelsim.check.measure import measure

            measured = measure(networks, variants, repeats=args.repeats)
            rows = report.add_measured(rows, measured)
            m0 = measured[0]
            notes += (f" Measured: torch {m0['device']}, {m0['threads']} thread, sum-pool as "
                      f"{m0['sumpool']}, median of {m0['repeats']} forward passes after 2 "
                      f"warm-up.")
            phases.mark("measure")
        structured = [r for r in rows if r["variant"] != "regular"]

        if not args.no_plots:
            # the workers draw the summary figures (the costly first) and the detail figures
            # not started yet while this process writes the tables and the page
            for k, (kind, data, folder, stem, fmts) in enumerate(figs[:len(SUMMARY_PLOTS)]):
                figs[k] = (kind, rows, folder, stem, fmts)
            runner.start_rest(_plot, figs, plotted,
                              sorted((k for k in range(len(figs)) if k not in plotted),
                                     key=lambda k: (k >= len(SUMMARY_PLOTS),
                                                    -PLOT_COST[figs[k][0]])))
        (tmp / "speedup.csv").write_text(report.to_csv(rows))
        (tmp / "speedup.md").write_text(report.to_markdown(rows))
        (tmp / "speedup.tex").write_text(report.to_latex(rows))
        (tmp / "headline.md").write_text(report.to_markdown(structured,
                                                            report.HEADLINE_COLUMNS))
        (tmp / "headline.tex").write_text(report.to_latex(structured,
                                                          report.HEADLINE_COLUMNS))
        (tmp / "layers.csv").write_text(report.to_csv(layer_rows, report.LAYER_CSV_COLUMNS))
        (tmp / "layers").mkdir()
        per_run: dict = {}      # (arch, network) -> its layer rows, in order
        for r in layer_rows:
            per_run.setdefault((r["arch"], r["network"]), []).append(r)
        for arch in archs:
            for net in networks:
                lr = per_run.get((arch.name, net), [])
                stem = tmp / "layers" / f"{arch.name}__{net}"
                stem.with_suffix(".md").write_text(
                    f"# {net} on {arch.name}, per layer\n\n"
                    + report.to_markdown(lr, report.LAYER_COLUMNS))
                stem.with_suffix(".tex").write_text(
                    report.to_latex(lr, report.LAYER_COLUMNS, group=("variant",)))
        page = html.render_parts(rows, layer_rows, archs, "accelsim speedup report", notes,
                                 command=command, version=__version__, date=html.report_date())
        phases.mark("tables")
        svgs: dict = {}  # figure stem -> SVG text, inlined in report.html, in display order
        for stem, svg, cpu in runner.wait_all(plotted, len(figs)):
            svgs[stem] = svg
            if runner.pool is not None:
                phases.add_worker_cpu(*cpu)
        if not args.no_plots:
            phases.mark("plots")
        (tmp / "report.html").write_text(page(svgs))
    phases.mark("html and move into place")
    if getattr(args, "verbose", False):
        print(phases.text(), file=sys.stderr)
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
