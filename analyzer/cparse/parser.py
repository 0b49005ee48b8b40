"""tree-sitter-c behind one module: the only one that imports tree_sitter.
A ``ParsedFile`` is one parsed file; ``captures`` runs a query."""

from __future__ import annotations

from functools import lru_cache

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Range, Tree

from analyzer.encoding import encode
from analyzer.neutralize import Oversized, neutralize, oversized
from analyzer.record import field, record
from analyzer.sequences import common_prefix

__all__ = ["Node", "ParsedFile", "captures", "parse_c", "parse_lines"]


@lru_cache(maxsize=1)
def _language() -> Language:
    return Language(tree_sitter_c.language())


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(_language())


@record
class ParsedFile:
    """One parsed C file.

    ``text`` is the original text; ``source`` the neutralized UTF-8 bytes that
    were parsed (same length as ``text`` encoded, so spans line up);
    ``oversized`` the text neutralization left out of the parse."""

    path: str
    text: str
    source: bytes
    tree: Tree
    root: Node
    _raw: bytes = field(init=False, repr=False)
    oversized: list[Oversized] = field(default_factory=list)
    # (first, last) line when only those lines were parsed (``parse_lines``):
    # the tree holds the definitions there, nothing else of the file
    lines: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self._raw = encode(self.text)
        if len(self._raw) != len(self.source):
            raise ValueError(f"{self.path}: neutralized source length differs from the original")

    def fresh(self) -> ParsedFile:
        """The same parse, without the node objects walks of this one made."""
        return ParsedFile(self.path, self.text, self.source, self.tree, self.tree.root_node,
                          self.oversized, self.lines)

    def text_of(self, node: Node) -> str:
        """The node's text, taken from the original (not neutralized) source."""
        return self._raw[node.start_byte : node.end_byte].decode("utf-8", errors="replace")

    def line_of(self, node: Node) -> int:
        """1-based line of the node's first character."""
        return node.start_point.row + 1

    def col_of(self, node: Node) -> int:
        """1-based column of the node's first character, counted in characters
        (tree-sitter counts bytes; they differ only after non-ASCII text)."""
        start = node.start_byte
        prefix = self._raw[start - node.start_point.column : start]
        return len(prefix.decode("utf-8", errors="replace")) + 1


def parse_c(path: str, text: str, *, raw: bool = False, neutral: str | None = None,
            before: ParsedFile | None = None) -> ParsedFile:
    """Neutralize ``text`` and parse it as C. ``raw=True`` skips
    neutralization (for comparing against the grammar's bare view);
    ``neutral`` passes the neutralized text when it is already known;
    ``before``: the same file parsed before an edit, whose tree tree-sitter
    parses the edited source from, reusing what the edit left as it was
    (``reparse``)."""
    if neutral is None:
        neutral = text if raw else neutralize(text)
    source = encode(neutral)
    tree = reparse(before, source) if before is not None else None
    if tree is None:
        tree = _parser().parse(source)
    return ParsedFile(path=path, text=text, source=source, tree=tree, root=tree.root_node,
                      oversized=[] if raw else oversized(text))


def parse_lines(path: str, text: str, neutral: str, first: int, last: int) -> ParsedFile:
    """Lines ``first`` to ``last`` (1-based, whole) of ``text`` parsed alone,
    where they are in the file (tree-sitter's included ranges: every node
    has the byte span, row and column it has in a parse of the whole file).
    A function parsed so is the node of the whole file's tree, child for
    child (every function of mmu.c in 5.4.59, 5.10.89 and Debian's 6.1 and
    6.12, and of their tdp_mmu.c: tests/test_cparse.py): an edit inside one
    function is parsed in a fraction of the time of the file around it."""
    source = encode(neutral)
    start = _line_start(source, first)
    end = _line_start(source, last + 1)
    parser = Parser(_language(), included_ranges=[
        Range((first - 1, 0), _point(source, end), start, end)])
    tree = parser.parse(source)
    return ParsedFile(path=path, text=text, source=source, tree=tree, root=tree.root_node,
                      oversized=oversized(text), lines=(first, last))


def _line_start(source: bytes, line: int) -> int:
    """The byte offset where 1-based ``line`` starts (the end, past the last)."""
    at = 0
    for _ in range(line - 1):
        at = source.find(b"\n", at) + 1
        if at == 0:
            return len(source)
    return at


def reparse(before: ParsedFile, source: bytes) -> Tree | None:
    """``source`` parsed from ``before``'s tree, edited where the two
    sources differ (one span, from their common head to their common
    tail). None, for a fresh parse, when either tree has an error: what
    tree-sitter recovers from may differ between the two ways of parsing,
    a correct tree may not."""
    old = before.source
    if before.root.has_error:
        return None
    head = common_prefix(old, source)
    tail = common_prefix(old[head:][::-1], source[head:][::-1])
    tree = before.tree.copy()
    tree.edit(head, len(old) - tail, len(source) - tail,
              _point(old, head), _point(old, len(old) - tail), _point(source, len(source) - tail))
    got = _parser().parse(source, tree)
    return None if got.root_node.has_error else got


def _point(source: bytes, offset: int) -> tuple[int, int]:
    """tree-sitter's (row, byte column) of a byte offset."""
    row = source.count(b"\n", 0, offset)
    return row, offset - (source.rfind(b"\n", 0, offset) + 1)


@lru_cache(maxsize=128)
def _query(source: str) -> Query:
    return Query(_language(), source)


def captures(query_source: str, node: Node) -> dict[str, list[Node]]:
    """Run a tree-sitter query (compiled once per distinct text) under
    ``node``; returns capture name -> nodes in source order."""
    found = QueryCursor(_query(query_source)).captures(node)
    return {k: sorted(v, key=lambda n: n.start_byte) for k, v in found.items()}
