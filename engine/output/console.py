"""Rich consoles for human formats.

On the process's own standard output or error a console is the terminal's (its width and
colours) when it is a terminal; piped, and on any other stream (a file, a test's buffer), it
is as wide as its content, so nothing wraps. Other streams get the text when the console is done.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console

# Piped output (a file, less, grep, a CI log) has no width to fit: it is laid out as wide as its
# content, so an id or a table row is never folded onto two lines, whatever COLUMNS says.
UNWRAPPED = 10_000


def is_terminal(stream: IO | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def output_width(stream: IO | None) -> int | None:
    """None (the terminal's own width) for a terminal; wide enough never to wrap otherwise."""
    return None if is_terminal(stream) else UNWRAPPED


@contextmanager
def console(stream: IO[bytes] | None, **kwargs) -> Iterator[Console]:
    """A Console printing to `stream` (None: standard error)."""
    # No emoji codes: a location such as rules/x.yaml:100:3 would print with a 💯 in it.
    settings = {"highlight": False, "soft_wrap": True, "emoji": False, **kwargs}
    if stream is None or stream is sys.stderr.buffer:
        sys.stderr.flush()
        yield Console(stderr=True, **{"width": output_width(sys.stderr), **settings})
        sys.stderr.flush()
    elif stream is sys.stdout.buffer:
        sys.stdout.flush()
        yield Console(**{"width": output_width(sys.stdout), **settings})
        sys.stdout.flush()
    else:
        buffer = io.StringIO()
        yield Console(file=buffer, **{"width": UNWRAPPED, **settings})
        stream.write(buffer.getvalue().encode("utf-8"))
