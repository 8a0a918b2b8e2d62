"""Names a user types (networks, variants, presets): case-insensitive, '-', '_' and ' ' alike,
and a "did you mean" for a near miss. ``EfficientNet-B0``, ``efficientnet_b0`` and
``efficientnetb0`` are one network; ``TPU_v1`` is the preset ``tpu-v1``; ``resnet18:a`` is
variant A."""

from __future__ import annotations

import difflib

from accelsim.common.errors import InputError


def fold(name: str) -> str:
    """The comparison form: lower case without '-', '_', ' '."""
    return "".join(ch for ch in str(name).lower() if ch not in "-_ ")


def resolve(value: str, choices, *, field: str, what: str, extra: str = "",
            source: str | None = None) -> str:
    """The one of ``choices`` that ``value`` names, or an InputError that lists them and
    suggests the closest."""
    choices = list(choices)
    if value in choices:
        return value
    folded = {fold(c): c for c in choices}
    hit = folded.get(fold(value))
    if hit is not None:
        return hit
    close = difflib.get_close_matches(fold(value), list(folded), n=1, cutoff=0.6)
    hint = f"did you mean '{folded[close[0]]}'? " if close else ""
    raise InputError(f"unknown {what}; {hint}expected one of {', '.join(choices)}{extra}",
                     source=source, field=field, value=value)


def split_list(values) -> list[str]:
    """A list flag's values, space- or comma-separated alike: ``--layers a b``, ``--layers a,b``
    and ``--layers a, b`` are the same two names, in the order given, each once."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = [p.strip() for v in values for p in str(v).split(",")]
    return list(dict.fromkeys(p for p in out if p))


def list_action(kind=str):
    """An argparse action for a list flag (use with ``nargs="+"``): values space- or
    comma-separated alike, each converted by ``kind``; a value that does not convert is a usage
    error naming the flag (one line, exit 2)."""
    import argparse

    class _List(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            out = []
            for v in split_list(values):
                try:
                    out.append(kind(v))
                except ValueError:
                    # parsing runs before the CLI's error guard: argparse's one-line exit 2
                    parser.error(f"argument {option_string}: {v!r} is not {kind.__name__} "
                                 "(a list: space- or comma-separated)")
            setattr(namespace, self.dest, out)

    return _List
