"""User-facing errors.

Every bad input (a malformed file, an out-of-range size, an unknown name) raises ``InputError``.
The CLI turns it into one line on stderr and exit code 2, never a traceback, so that scripts
driving accelsim can tell "you gave me something wrong" (2) from "accelsim broke" (1).
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message names the source (file), the field and the offending value."""

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 value: object = None):
        parts = []
        if source:
            parts.append(str(source))
        if field is not None:
            parts.append(f"field '{field}' = {value!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.source, self.field, self.value = source, field, value


def require(cond: bool, message: str, *, source: str | None = None, field: str | None = None,
            value: object = None) -> None:
    """Raise ``InputError`` unless ``cond`` holds."""
    if not cond:
        raise InputError(message, source=source, field=field, value=value)
