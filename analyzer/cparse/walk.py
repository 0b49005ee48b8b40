"""Finding nodes: by type, and the iterator macro call a loop was made
from."""

from __future__ import annotations

from analyzer.cparse.parser import Node, ParsedFile


def loop_macro_head(pf: ParsedFile, node: Node) -> str | None:
    """For a ``while_statement`` that neutralization made from an iterator
    macro, the macro call as written (``for_each_valid_sp(kvm, sp, list)``);
    None for any other node. (Its ``condition`` child is a placeholder whose
    text means nothing.)"""
    start, end = node.start_byte, node.end_byte
    if node.type != "while_statement" or pf._raw.startswith(b"while", start):
        return None
    depth = 0
    for k in range(pf._raw.find(b"(", start, end), end):
        if pf._raw[k] == ord("("):
            depth += 1
        elif pf._raw[k] == ord(")"):
            depth -= 1
            if depth == 0:
                return pf._raw[start : k + 1].decode("utf-8", errors="replace")
    return None


def children_of_type(node: Node, *types: str) -> list[Node]:
    """Direct children whose type is one of ``types``."""
    return [c for c in node.children if c.type in types]


def descendants_of_type(node: Node, *types: str) -> list[Node]:
    """All descendants (node included) whose type is one of ``types``, in
    source order."""
    out: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            out.append(n)
        stack.extend(reversed(n.children))
    return out
