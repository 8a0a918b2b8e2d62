"""The ``accelsim`` command line: one subcommand per module in this package.

Each module ``accelsim/cli/<name>.py`` defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules import their heavy dependencies (torch, numba, pandas) inside
``run`` so that ``accelsim --help`` and fast commands stay fast.

Any ``InputError`` escaping a command becomes one line on stderr and exit code 2; anything else
unexpected becomes one line and a hint to report it, exit code 1 (``accelsim --debug ...`` shows
the traceback). A closed stdout pipe and Ctrl-C end quietly (Ctrl-C: exit code 130).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys

from accelsim.common.errors import InputError

# Order is the order ``accelsim --help`` lists them.
COMMANDS = ("networks", "counts", "trace", "presets", "simulate", "verify", "speedup",
            "measure", "sweep", "pareto", "codesign", "compare", "decompose", "train",
            "export")


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (the usage itself is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from accelsim import __version__

    parser = _Parser(
        prog="accelsim",
        description="Cycle-level simulator and cost model for DNN accelerators with a "
                    "sum-pooling unit (structured convolutions, Bhalgat et al. NeurIPS 2020).")
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an unexpected error, print the full traceback")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        # on every command: progress bars (stderr) off, or on even when stderr is not a terminal
        loud = p.add_mutually_exclusive_group()
        loud.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        loud.add_argument("-v", "--verbose", action="store_true",
                          help="progress bars even when stderr is not a terminal")
        p.set_defaults(_run=mod.run)
    return parser


def _quiet_stdout() -> None:
    """After a closed pipe (``accelsim presets | head``): point stdout at /dev/null so that the
    interpreter's final flush does not report the broken pipe once more."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit codes: 0 done, 1 accelsim failed (a bug, or a sweep left
    incomplete), 2 bad input (one line naming file, field and value), 130 interrupted."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser()
    except Exception as exc:  # a command module that fails to import: still one line
        if "--debug" in argv:
            raise
        _internal_error("accelsim", exc, argv)
        return 1
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    # what the command modules imported (numpy, pandas, numba, ...) lives as long as the
    # process: a full garbage collection that scans it again (~110 k objects, ~40 ms, about
    # once per 600 layer evaluations of a search) is wasted, so it goes to the permanent
    # generation, once per process (sweep workers forked from here inherit it)
    if gc.get_freeze_count() == 0:
        gc.freeze()
    name = f"accelsim {args.command}"
    try:
        rc = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the guard, not at exit
        return rc
    except InputError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # what a shell reports for a process ended by SIGPIPE
    except Exception as exc:  # the one place an unexpected error is caught
        if args.debug:
            raise
        _internal_error(name, exc, argv)
        return 1


def _internal_error(name: str, exc: BaseException, argv: list[str]) -> None:
    """One line for an unexpected error, with what to do about it."""
    import shlex

    what = type(exc).__name__
    text = " ".join(str(exc).split())[:300]
    rerun = " ".join(shlex.quote(a) for a in argv if a != "--debug")
    hint = ("out of memory; try a smaller input or batch" if isinstance(exc, MemoryError)
            else "this is a bug in accelsim: please report it with the output of "
                 f"'accelsim --debug {rerun}'")
    print(f"{name}: internal error: {what}{': ' + text if text else ''} ({hint})",
          file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
