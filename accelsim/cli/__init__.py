"""The ``accelsim`` command line: one subcommand per module in this package.

Each module ``accelsim/cli/<name>.py`` defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Modules import their heavy dependencies (torch, numba, pandas) inside
``run`` so that ``accelsim --help`` and fast commands stay fast.

Any ``InputError`` escaping a command becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import InputError

# Order is the order ``accelsim --help`` lists them.
COMMANDS = ("networks", "counts", "trace", "presets", "simulate", "verify", "speedup",
            "measure", "sweep", "pareto", "codesign")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="accelsim",
        description="Cycle-level simulator and cost model for DNN accelerators with a "
                    "sum-pooling unit (structured convolutions, Bhalgat et al. NeurIPS 2020).")
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"{__name__}.{name}")
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"accelsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"accelsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
