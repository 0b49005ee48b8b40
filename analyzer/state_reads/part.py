"""What every part of the interpreter is: a room of handlers that reaches
the interpreter, and through it the other parts, as ``ix``; its handler
of a node type is found by name (``IF_STATEMENT`` for ``if_statement``)
once per type."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analyzer.state_reads.interp import Interp


class Part:
    def __init__(self, ix: Interp) -> None:
        self.ix = ix
        self._handlers: dict[str, Callable | None] = {}

    def handler(self, node_type: str) -> Callable | None:
        """The function of the part's class for nodes of ``node_type``,
        called with the part first, or None. Not a bound method: one kept
        on the part would make a cycle of every part, and through ``ix``
        keep the interpreter's sources until the cyclic collector runs."""
        try:
            return self._handlers[node_type]
        except KeyError:
            got = self._handlers[node_type] = getattr(type(self), node_type.upper(), None)
            return got
