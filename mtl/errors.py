"""The one exception type users of :mod:`mtl` need to catch.

Every problem caused by the user's input (a file, a column, a setting) raises a
subclass of :class:`MTLError` whose message is written for a person: it names the
file, column or row at fault and, where possible, says what to do. The CLI prints
that message on one line and exits with status 2; the app shows it in a banner.
"""

from __future__ import annotations

import re

_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def one_line(text: object) -> str:
    """``text`` with its line breaks folded into spaces: library messages (pyarrow's
    among them) may span lines, and the CLI promises one ``error:`` line."""
    return _LINE_BREAKS.sub(" ", str(text)).strip()


class MTLError(Exception):
    """Base class for user-facing errors. ``str(err)`` is the message to show, always
    on one line."""

    def __init__(self, message: object = "", *args):
        super().__init__(one_line(message), *args)


class DataError(MTLError):
    """The data cannot be read or is unusable for training (file, column or row named)."""

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row


class ConfigError(MTLError):
    """A setting is invalid: unknown task, architecture, weighting method or device, bad weights."""


class ModelFileError(MTLError):
    """A saved model directory is missing, incomplete or from an incompatible version."""
