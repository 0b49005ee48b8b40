"""The syntax the interpreter walks: a tree-sitter node with what is asked
of it (its fields, named children, text, line and column) kept the first
time it is asked.

A helper such as ``rsvd_bits`` or ``kvm_read_cr4_bits`` is interpreted
hundreds of times for one tree (from every caller, on every chain); its
nodes are read from tree-sitter, and their texts decoded, once. A ``Syn``
belongs to one ``ParsedFile`` (``Sources.body`` keeps one per function
definition, for as long as the sources are kept): nothing here outlives
the tree it was read from.
"""

from __future__ import annotations

from analyzer.cparse import Node, ParsedFile
from analyzer.terms import Step

_MISSING = object()


class Syn:
    """One node. ``type`` as tree-sitter names it; ``field(name)``,
    ``fields(name)`` and ``named_children`` are ``Syn``s too, the same
    object each time (``child == value`` tells a node apart as tree-sitter
    does)."""

    __slots__ = ("_col", "_fields", "_flat", "_kids", "_line", "_lists", "_named", "_steps", "_text",
                 "node", "pf", "type")

    def __init__(self, pf: ParsedFile, node: Node) -> None:
        self.node = node
        self.pf = pf
        self.type: str = node.type
        self._named: list[Syn] | None = None
        self._fields: dict[str, Syn | None] = {}
        self._lists: dict[str, list[Syn]] = {}
        self._kids: dict[int, Syn] = {}
        self._text: str | None = None
        self._flat: str | None = None
        self._line = 0
        self._col = 0
        self._steps: dict[tuple[str, str], Step] = {}

    def _child(self, node: Node) -> Syn:
        got = self._kids.get(node.id)
        if got is None:
            got = self._kids[node.id] = Syn(self.pf, node)
        return got

    @property
    def named_children(self) -> list[Syn]:
        if self._named is None:
            self._named = [self._child(c) for c in self.node.named_children]
        return self._named

    def field(self, name: str) -> Syn | None:
        got = self._fields.get(name, _MISSING)
        if got is _MISSING:
            node = self.node.child_by_field_name(name)
            got = self._fields[name] = self._child(node) if node is not None else None
        return got  # type: ignore[return-value]

    def fields(self, name: str) -> list[Syn]:
        got = self._lists.get(name)
        if got is None:
            got = self._lists[name] = [self._child(c) for c in self.node.children_by_field_name(name)]
        return got

    @property
    def text(self) -> str:
        """As written (``ParsedFile.text_of``)."""
        if self._text is None:
            self._text = self.pf.text_of(self.node)
        return self._text

    @property
    def flat(self) -> str:
        """The text on one line, its whitespace collapsed."""
        if self._flat is None:
            self._flat = " ".join(self.text.split())
        return self._flat

    @property
    def line(self) -> int:
        """1-based, of its first character."""
        if not self._line:
            self._line = self.pf.line_of(self.node)
        return self._line

    @property
    def col(self) -> int:
        if not self._col:
            self._col = self.pf.col_of(self.node)
        return self._col

    @property
    def last_line(self) -> int:
        """1-based, of its last character."""
        return self.node.end_point.row + 1

    def step(self, function: str, kind: str) -> Step:
        """The step of this node in ``function``: its text, cut at 120
        characters."""
        key = (function, kind)
        got = self._steps.get(key)
        if got is None:
            shown = self.flat
            if len(shown) > 120:
                shown = shown[:117] + "..."
            got = self._steps[key] = Step(self.pf.path, self.line, self.col, function, kind, shown)
        return got
