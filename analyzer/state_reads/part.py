"""What every part of the interpreter is: a room of handlers that reaches
the interpreter, and through it the other parts, as ``ix``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.state_reads.interp import Interp


class Part:
    def __init__(self, ix: Interp) -> None:
        self.ix = ix
