"""What a result depends on, and memoized answers that carry it.

A dependency is ``("fn", f)`` (the facts of function f), ``("callers", f)``
(the list of call sites of f), ``("slot", s)`` (the list of stores into
slot s) or ``CONTEXT`` (the context files read beside the sources, where
vCPU state is written). An analysis after a patch reuses a comparison's findings when none
of these changed.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

CONTEXT = ("context",)


class Deps:
    """The dependencies being collected, one set per tracked computation
    running, innermost last."""

    def __init__(self) -> None:
        self.stack: list[set] = []
        # each set of dependencies once: many results read the same facts,
        # and a memo keeps one set per result (13 MB on bench's x8 tree)
        self._sets: dict[frozenset, frozenset] = {}

    def frozen(self, deps) -> frozenset:
        """``frozenset(deps)``, the one already kept when there is one."""
        got = frozenset(deps)
        return self._sets.setdefault(got, got)

    def note(self, *deps) -> None:
        if self.stack:
            self.stack[-1].update(deps)

    def tracked(self, fn: Callable):
        """Run ``fn``; return its result and the facts it read."""
        self.stack.append(set())
        try:
            result = fn()
        finally:
            deps = self.stack.pop()
        self.note(*deps)
        return result, self.frozen(deps)

    def memo(self, table: dict, key, guard, compute: Callable):
        """Memoize ``compute()`` with what it read; ``guard`` answers a
        recursive call while the first one is still running."""
        if key in table:
            value, deps = table[key]
            self.note(*deps)
            return value
        table[key] = (guard, frozenset())
        value, deps = self.tracked(compute)
        table[key] = (value, deps)
        return value

    # Walks that follow calls into their callees as deep as the call graph
    # goes run as generators from an explicit stack (``drive``): a chain of
    # a thousand calls costs no Python recursion. A generator yields a
    # request ``(table, key, guard, make)`` for a value it needs, answered
    # as ``memo(table, key, guard, make)`` would, with ``make()`` a
    # generator in turn.

    def drive(self, gen: Generator):
        """Run ``gen`` and what it asks for; return its result."""
        stack: list = [(None, None, gen)]
        base = len(self.stack)
        send = None
        try:
            while True:
                table, key, top = stack[-1]
                try:
                    req = top.send(send)
                except StopIteration as done:
                    stack.pop()
                    if table is None:
                        return done.value
                    deps = self.frozen(self.stack.pop())
                    table[key] = (done.value, deps)
                    self.note(*deps)
                    send = done.value
                    continue
                table, key, guard, make = req
                if key in table:
                    send, deps = table[key]
                    self.note(*deps)
                    continue
                table[key] = (guard, frozenset())
                self.stack.append(set())
                stack.append((table, key, make()))
                send = None
        finally:
            del self.stack[base:]

    def ask(self, request: tuple):
        """The answer to one request, run by ``drive``."""
        return self.drive(_ask(request))


def _ask(request):
    return (yield request)
