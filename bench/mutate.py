"""Mutation check: small, meaningful changes to the engines, each of which some test must catch.

Each mutation replaces one exact snippet of one source file (the snippet must occur exactly once,
so a mutation that no longer applies is reported as stale, not silently skipped) in a copy of the
project: ``git archive HEAD`` (a clean clone; ``--worktree`` copies the working tree instead).
The copy's tests then run against the mutated package (``python -m pytest`` from the copy's root
imports the copy, not the installed one), first unmutated (they must pass), then once per
mutation, stopping at the first failure. A mutation is *caught* when pytest fails; it *survives*
when every test passes, which means no test checks what the mutated line decides.

    .venv/bin/python bench/mutate.py                      # every mutation, its target tests
    .venv/bin/python bench/mutate.py --full               # the whole suite per mutation (slow)
    .venv/bin/python bench/mutate.py --only energy-swap pool-depth
    .venv/bin/python bench/mutate.py --out bench/results/mutations.md

Exit status: 0 when every mutation is caught, 1 otherwise (2 for a stale mutation or a failing
baseline). docs/testing.md describes it; it is optional in CI (minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str                       # file under the project root
    edits: tuple                    # ((old, new), ...): each old occurs exactly once
    why: str                        # what the change breaks
    targets: tuple                  # test files expected to catch it (run first, or alone)


MUTATIONS = [
    Mutation("pool-depth", "accelsim/engine/pooldepth.py",
             (("+ _log2c(bw) + 2", "+ _log2c(bw) + 1"),),
             "separable pool unit pipeline depth one cycle short",
             ("tests/test_poolunit.py", "tests/test_poolsched.py")),
    Mutation("energy-swap", "accelsim/evaluate/columns.py",
             (('c["filter_sram_reads"] * e["sram_filter"]', 'c["filter_sram_reads"] * e["sram_ofmap"]'),
              ('ofmap_words * e["sram_ofmap"]', 'ofmap_words * e["sram_filter"]')),
             "filter and ofmap SRAM energies swapped in the energy columns",
             ("tests/test_energy.py",)),
    Mutation("acc-add-width", "accelsim/hardware/energy.py",
             (('"acc_add": _op(t, "add_pj", max(32, 2 * w))', '"acc_add": _op(t, "add_pj", w)'),),
             "MAC accumulator add charged at the word width, not >= 32 bits",
             ("tests/test_energy.py",)),
    Mutation("sumpool-channel-adds", "accelsim/workload/op_counts.py",
             (("c_tot * Hp * Wp * (bc - 1)", "c_tot * Hp * Wp * bc"),),
             "separable sum-pool channel stage counts one add too many per value",
             ("tests/test_workload.py", "tests/test_counts_cli.py")),
    Mutation("accumulate-adds", "accelsim/workload/op_counts.py",
             (("return g * M * N * (K - 1)", "return g * M * N * K"),),
             "accumulate adds count K instead of K - 1 per output",
             ("tests/test_counts_cli.py", "tests/test_energy.py")),
    Mutation("off-by-one", "accelsim/engine/systolic.py",
             (("SCALESIM_OFF_BY_ONE = 1", "SCALESIM_OFF_BY_ONE = 0"),),
             "drops SCALE-Sim's reported -1 (its #125)",
             ("tests/test_engine.py",)),
    Mutation("os-fold-rows", "accelsim/engine/systolic.py",
             (('if mp.dataflow == "os":\n        return t + ar + ac - 2\n    return 2 * ar + ac + t - 2',
               'if mp.dataflow == "os":\n        return t + ar + ac - 1\n    return 2 * ar + ac + t - 2'),),
             "one extra demand row per output-stationary fold",
             ("tests/test_engine.py",)),
    Mutation("os-ofmap-166", "accelsim/engine/systolic.py",
             (("M * N + (ar + ac) * rf * cf", "M * N + ar * rf * cf"),),
             "os ofmap writes lose SCALE-Sim's extra columns per fold (its #166)",
             ("tests/test_engine.py",)),
    Mutation("ws-mapping", "accelsim/engine/mapping.py",
             (('"ws": (k, n, m)', '"ws": (n, k, m)'),),
             "weight-stationary maps filters onto rows and window elements onto columns",
             ("tests/test_engine.py",)),
    Mutation("active-sets", "accelsim/engine/memory/readbuf.py",
             (("ACTIVE_SETS = 50 ", "ACTIVE_SETS = 40 "),),
             "read buffer slides its window after 40 of 100 sets, not SCALE-Sim's half",
             ("tests/test_memory.py",)),
    Mutation("calc-fill", "accelsim/engine/memory/readbuf.py",
             (("CALC_FILL_WORDS_PER_CYCLE = 10 ", "CALC_FILL_WORDS_PER_CYCLE = 8 "),),
             "CALC-mode initial fill at 8 words/cycle instead of SCALE-Sim's 10",
             ("tests/test_memory.py",)),
    Mutation("overlap-floor", "accelsim/engine/memory/__init__.py",
             (("stall = max(0, math.ceil(words / bw) - c.total_cycles)",
               "stall = max(0, math.floor(words / bw) - c.total_cycles)"),),
             "overlap stall model rounds the transfer time down (a fraction of a cycle lost)",
             ("tests/test_memory.py",)),
    Mutation("zero-span", "accelsim/engine/memory/__init__.py",
             (("return words / span if span > 0 else 0.0", "return words / span"),),
             "bandwidth of an operand that moves no word divides by zero",
             ("tests/test_memory_speedpaths.py",)),
    Mutation("stream-batch-starts", "accelsim/engine/memory/calc_stream.py",
             (("q += n_s * per_rs[wr[k], wc[k]]", "q += per_rs[wr[k], wc[k]]"),),
             "weight-stationary batch: a row fold's first stream position counts one sample",
             ("tests/test_calc_stream.py",)),
    Mutation("wbuf-skip-drained", "accelsim/engine/memory/wbuf_events.py",
             (("wb[W_ACC] += k * (wb[W_ACC] - q[L, Q_ACC])",
               "wb[W_ACC] += wb[W_ACC] - q[L, Q_ACC]"),),
             "write buffer: the words drained by skipped repeats counted once, not per repeat",
             ("tests/test_ofmap_events.py",)),
    Mutation("wbuf-skip-forced", "accelsim/engine/memory/wbuf_events.py",
             (("        k = min(k, (fr_row[fi] - x) // rows)\n", "        pass\n"),),
             "write buffer: a skip of repeated folds runs over a USER miss row",
             ("tests/test_ofmap_events.py", "tests/test_user_speed_paths.py")),
    Mutation("user-padded-rank", "accelsim/engine/memory/user.py",
             (("            inside = scratch_n[0]", "            inside = off"),),
             "USER jump with padding: an entry's rank counts the padding before it in its run",
             ("tests/test_user_speed_paths.py",)),
    Mutation("locate-stationary-rows", "accelsim/engine/memory/calc_epochs.py",
             (("            if hi >= lo and tau >= AR - ru:", "            if hi >= lo:"),),
             "last epoch boundary's row: a partial row fold's empty stored rows count words",
             ("tests/test_locate.py",)),
    Mutation("ws-batch-prefix", "accelsim/engine/memory/ws_epochs.py",
             (("g_p * P * (q * (q - 1) // 2)", "g_p * P * (q * (q + 1) // 2)"),),
             "ws tables at batch: a run's sum over later samples adds one sample's total too many",
             ("tests/test_ifmap_epochs.py",)),
    Mutation("ws-same-folds-eq", "accelsim/engine/memory/ws_epochs.py",
             (("k = min(k, ((q + 1) * cg - w - u0 - AR) // AR + 1)",
               "k = min(k, ((q + 1) * cg - u0 - AR) // AR + 1)"),),
             "ws: folds taken at once run into a fold with reads in the boundary's fold",
             ("tests/test_ifmap_epochs.py",)),
    Mutation("row-search-row", "accelsim/engine/memory/row_search.py",
             (("    return True, hi - 1, np.int64(st[_C_LO]), rate",
               "    return True, hi - 1, np.int64(st[_C_HI]), rate"),),
             "epoch search: the words before the boundary row counted with that row's",
             ("tests/test_row_search.py", "tests/test_ifmap_epochs.py")),
    Mutation("reuse-class-straddle", "accelsim/engine/memory/calc_epochs.py",
             (("        if cs[b, 3 * c + 1] < thr:\n", "        if cs[b, 3 * c + 1] <= thr:\n"),),
             "stored unit scan: a reuse class whose latest pp equals the epoch start counted new",
             ("tests/test_ifmap_epochs.py",)),
    Mutation("pool-block-os", "accelsim/engine/poolsched/stream.py",
             (('side = {"ws": 1, "os": rows, "is": cols}[dataflow]',
               'side = {"ws": 1, "os": 1, "is": cols}[dataflow]'),),
             "pool unit at batch: an os block of one sample, whose copies do not fill whole folds",
             ("tests/test_poolsched_batch.py",)),
    Mutation("vector-se-reads", "accelsim/engine/vector.py",
             (('second = layer.out_shape[0] if layer.op == "mul" else out',
               "second = out"),),
             "SE multiply reads a full tensor as its per-channel scale",
             ("tests/test_energy.py",)),
]


def _copy_project(dest: Path, worktree: bool) -> None:
    if worktree:
        shutil.copytree(ROOT, dest, dirs_exist_ok=True, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".pytest_cache", "__pycache__", ".hypothesis"))
        return
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True,
                         capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)


def _pytest(copy: Path, tests: list[str], timeout: int) -> tuple[bool, str, float]:
    """(passed, first failing test or '', seconds)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                            *tests], cwd=copy, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout} s", time.perf_counter() - t0
    secs = time.perf_counter() - t0
    failed = [l.split(" ", 1)[1].split(" - ")[0] for l in p.stdout.splitlines()
              if l.startswith(("FAILED ", "ERROR "))]
    if p.returncode == 0:
        return True, "", secs
    return False, (failed[0] if failed else p.stdout.strip().splitlines()[-1]), secs


def _apply(copy: Path, m: Mutation, pristine: Path) -> None:
    text = (pristine / m.path).read_text()
    for old, new in m.edits:
        n = text.count(old)
        if n != 1:
            raise LookupError(f"{m.name}: {old!r} occurs {n} times in {m.path} (stale mutation)")
        text = text.replace(old, new)
    (copy / m.path).write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="mutation names (default: all)")
    ap.add_argument("--full", action="store_true",
                    help="run the whole suite per mutation, not just its target tests")
    ap.add_argument("--worktree", action="store_true",
                    help="mutate a copy of the working tree instead of git HEAD")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per pytest run")
    ap.add_argument("--out", help="also write the table to this Markdown file")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    if args.list or not chosen:
        for m in MUTATIONS:
            print(f"{m.name:22s} {m.path:32s} {m.why}")
        return 0 if args.list else 2
    with tempfile.TemporaryDirectory(prefix="accelsim-mutate-") as tmp:
        copy, pristine = Path(tmp) / "copy", Path(tmp) / "pristine"
        copy.mkdir()
        pristine.mkdir()
        _copy_project(copy, args.worktree)
        _copy_project(pristine, args.worktree)
        stale = []
        for m in chosen:     # a mutation whose snippet is gone is reported, not run
            try:
                _apply(copy, m, pristine)
            except LookupError as exc:
                print(f"stale: {exc}", file=sys.stderr)
                stale.append(m)
            shutil.copy2(pristine / m.path, copy / m.path)
        chosen = [m for m in chosen if m not in stale]
        targets = sorted({t for m in chosen for t in m.targets if (copy / t).is_file()})
        ok, first, secs = _pytest(copy, [] if args.full else targets, args.timeout)
        print(f"baseline ({'whole suite' if args.full else ', '.join(targets)}): "
              f"{'pass' if ok else 'FAIL ' + first} in {secs:.0f} s", flush=True)
        if not ok:
            return 2
        rows = []
        for m in chosen:
            _apply(copy, m, pristine)
            tests = [] if args.full else [t for t in m.targets if (copy / t).is_file()]
            passed, first, secs = _pytest(copy, tests, args.timeout)
            shutil.copy2(pristine / m.path, copy / m.path)   # same bytes and mtime: numba's
            rows.append((m, not passed, first, secs))          # cache stays valid
            print(f"{m.name:22s} {'caught' if not passed else 'SURVIVED':9s} {secs:6.0f} s  "
                  f"{first}", flush=True)
    caught = sum(r[1] for r in rows)
    lines = [f"# Mutation check ({dt.date.today().isoformat()})", "",
             f"Command: `.venv/bin/python bench/mutate.py{' --full' if args.full else ''}"
             f"{' --worktree' if args.worktree else ''}` on a copy of "
             f"{'the working tree' if args.worktree else 'git HEAD'}; each mutation runs "
             f"{'the whole suite' if args.full else 'its target tests'} with `-x`. "
             f"{caught} of {len(rows)} caught.", "",
             "| mutation | file | change | caught | first failing test | s |",
             "|---|---|---|---|---|---:|"]
    for m, was_caught, first, secs in rows:
        lines.append(f"| {m.name} | `{m.path}` | {m.why} | {'yes' if was_caught else '**no**'} "
                     f"| {first.replace('|', '/') or '-'} | {secs:.0f} |")
    for m in stale:
        lines.append(f"| {m.name} | `{m.path}` | {m.why} | stale: snippet not found | - | - |")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        sys.path.insert(0, str(ROOT))
        from accelsim.common.fsio import write_text_atomic

        write_text_atomic(args.out, text)
    if stale:
        return 2
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
