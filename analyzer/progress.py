"""A count of long work on stderr, rewritten in place.

``git`` over a long range judges commit after commit for seconds or
minutes; on a terminal it says how far it is (``mmu-role-lint: 12/50
commits judged``), one line rewritten with a carriage return and cleared
when the work ends, so the report that follows starts on a clean line.
Nothing is written when stderr is not a terminal (a pipe, a file, CI, b4,
a hook's captured output) or before the work has run for ``DELAY`` seconds:
short work says nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

DELAY = 1.0  # seconds of work before the count is shown


class Progress:
    def __init__(self, total: int, what: str, stream: TextIO | None = None,
                 delay: float = DELAY) -> None:
        self.total = total
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.monotonic()
        self.delay = delay
        self.shown = False
        try:
            self.on = total > 1 and self.stream.isatty()
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            self.on = False

    def update(self, done: int) -> None:
        """``done`` of ``total`` finished."""
        if not self.on or time.monotonic() - self.start < self.delay:
            return
        self._write(f"\rmmu-role-lint: {done}/{self.total} {self.what}")
        self.shown = True

    def close(self) -> None:
        """Clear the line, if one was written."""
        if self.shown:
            self._write("\r\033[K")
            self.shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a terminal gone: the count is not worth an error
            self.on = False
