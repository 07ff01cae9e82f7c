"""Rich consoles for human formats.

On the process's own standard output or error a console is the terminal's (its width,
colours when it is a terminal, COLUMNS otherwise); on any other stream (a file, a test's
buffer) the text is collected and written when the console is done.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console


@contextmanager
def console(stream: IO[bytes] | None, **kwargs) -> Iterator[Console]:
    """A Console printing to `stream` (None: standard error)."""
    # No emoji codes: a location such as rules/x.yaml:100:3 would print with a 💯 in it.
    settings = {"highlight": False, "soft_wrap": True, "emoji": False, **kwargs}
    if stream is None or stream is sys.stderr.buffer:
        sys.stderr.flush()
        yield Console(stderr=True, **settings)
        sys.stderr.flush()
    elif stream is sys.stdout.buffer:
        sys.stdout.flush()
        yield Console(**settings)
        sys.stdout.flush()
    else:
        buffer = io.StringIO()
        yield Console(file=buffer, **settings)
        stream.write(buffer.getvalue().encode("utf-8"))
