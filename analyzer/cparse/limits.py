"""What the analysis may walk: text left out of the parse
(``analyzer.neutralize.oversized``) or syntax nested deeper than
``MAX_NESTING_DEPTH`` puts a function (or a declaration) beyond it."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections import OrderedDict

from analyzer.cparse.functions import functions
from analyzer.cparse.parser import Node, ParsedFile, captures
from analyzer.cparse.walk import loop_macro_head

# Syntax nesting the analysis may walk: the symbolic execution recurses about
# twice per level, and the terms it builds nest as deep. KVM's deepest
# function nests 37 levels (the MMU's, 18).
MAX_NESTING_DEPTH = 100


class BeyondLimits(Exception):
    """Raised by an analysis that meets text beyond the limits midway (the
    condition of a loop macro it reads): the function is left out."""


def left_out(pf: ParsedFile) -> list[tuple[int, str]]:
    """(line, why) of what the analysis leaves out outside functions: text
    left out of the parse, and declarations at file scope (role constants
    are executed) nested deeper than MAX_NESTING_DEPTH."""
    def meets(first: int, last: int, spans) -> bool:
        return any(a <= last and first <= b for a, b in spans)

    functions_at = [(f.start_line, f.end_line) for f in functions(pf)]
    out = [(r.first_line, r.reason) for r in pf.oversized
           if not meets(r.first_line, r.last_line, functions_at)]
    regions = [(r.first_line, r.last_line) for r in pf.oversized]
    for node in pf.root.named_children:
        first, last = node.start_point.row + 1, node.end_point.row + 1
        if node.type == "declaration" and not meets(first, last, regions) and beyond_limits(pf, node):
            out.append((first, f"a declaration nested more than {MAX_NESTING_DEPTH} levels deep"))
    return sorted(out)


def beyond_limits(pf: ParsedFile, node: Node) -> str | None:
    """Why the analysis must leave ``node`` (a function) out, else None: it
    holds text left out of the parse, or nests deeper than
    MAX_NESTING_DEPTH. Answered once per node."""
    memo = pf.__dict__.setdefault("_beyond", {})
    key = (node.start_byte, node.end_byte)
    if key not in memo:
        memo[key] = _beyond_limits(pf, node)
    return memo[key]


def _beyond_limits(pf: ParsedFile, node: Node) -> str | None:
    first, last = node.start_point.row + 1, node.end_point.row + 1
    for r in pf.oversized:
        if r.first_line <= last and first <= r.last_line:
            return r.reason
    for start, line in _deep_loop_heads(pf):
        if node.start_byte <= start < node.end_byte:
            return (f"the arguments of its loop macro on line {line} nest more than "
                    f"{MAX_NESTING_DEPTH} levels deep")
    cursor = node.walk()
    while True:
        if cursor.depth > MAX_NESTING_DEPTH:
            return f"its syntax nests more than {MAX_NESTING_DEPTH} levels deep"
        # below a subtree of n nodes lie at most n - 1 levels: go down only
        # where that could pass the limit
        if (cursor.node.descendant_count - 1 > MAX_NESTING_DEPTH - cursor.depth
                and cursor.goto_first_child()):
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return None


def _deep_loop_heads(pf: ParsedFile) -> list[tuple[int, int]]:
    """(start byte, line) of the iterator macros whose arguments nest deeper
    than MAX_NESTING_DEPTH: they are blanked for the parse but read as text
    (the macro's filter, the lists it walks). Found once per file; in a
    tree without errors, once per top-level definition's text (git mode
    parses a file again for every commit that edits one of them)."""
    got = pf.__dict__.get("_deep_heads")
    if got is None:
        got = pf.__dict__["_deep_heads"] = _heads_by_definition(pf)
    return got


# a top-level definition's text (its digest) -> its deep loop heads, as
# (byte, line) from its start: a definition parses alike wherever it lies
# in a tree without errors, so what its loops are is a function of its text
_HEADS: OrderedDict[bytes, tuple[tuple[int, int], ...]] = OrderedDict()
_HEADS_KEPT = 8192
_QUERY_WHOLE_FILE = 8  # definitions not known: more, and one query of the file is cheaper


def _heads_by_definition(pf: ParsedFile) -> list[tuple[int, int]]:
    if pf.root.has_error:
        return _heads_in(pf, pf.root)
    nodes = pf.root.named_children
    keys = [hashlib.blake2b(pf._raw[n.start_byte:n.end_byte] + b"\0"
                            + pf.source[n.start_byte:n.end_byte], digest_size=16).digest()
            for n in nodes]
    unknown = []
    for k, key in enumerate(keys):
        if key in _HEADS:
            continue
        # a deep head opens more than MAX_NESTING_DEPTH parentheses before
        # its body: a definition with no more than that holds none, and is
        # not queried (no definition of 6.12's mmu.c has that many)
        if pf._raw.count(b"(", nodes[k].start_byte, nodes[k].end_byte) <= MAX_NESTING_DEPTH:
            _remember(key, ())
        else:
            unknown.append(k)
    if len(unknown) > _QUERY_WHOLE_FILE:
        found = _heads_in(pf, pf.root)
        starts = [n.start_byte for n in nodes]
        mine: dict[int, list[tuple[int, int]]] = {k: [] for k in unknown}
        for start, line in found:
            k = bisect_right(starts, start) - 1
            if k < 0 or start >= nodes[k].end_byte:
                return found  # a loop outside every definition: the file's answer, not kept
            if k in mine:
                mine[k].append((start, line))
    else:
        mine = {k: _heads_in(pf, nodes[k]) for k in unknown}
    for k, heads in mine.items():
        node = nodes[k]
        _remember(keys[k], tuple((b - node.start_byte, line - node.start_point.row - 1)
                                 for b, line in heads))
    out = []
    for node, key in zip(nodes, keys, strict=True):
        rel = _HEADS[key]
        out += [(node.start_byte + b, node.start_point.row + 1 + line) for b, line in rel]
    return out


def _remember(key: bytes, heads: tuple[tuple[int, int], ...]) -> None:
    _HEADS[key] = heads
    _HEADS.move_to_end(key)
    while len(_HEADS) > _HEADS_KEPT:
        _HEADS.popitem(last=False)


def _heads_in(pf: ParsedFile, node: Node) -> list[tuple[int, int]]:
    """The deep loop heads under ``node``, in source order."""
    got = []
    for loop in captures("(while_statement) @loop", node).get("loop", []):
        body = loop.child_by_field_name("body")
        opened = pf._raw.count(b"(", loop.start_byte, body.start_byte if body else loop.end_byte)
        if opened <= MAX_NESTING_DEPTH:
            continue  # too few parentheses to nest that deep
        head = loop_macro_head(pf, loop) or ""
        depth = deepest = 0
        for paren in re.finditer(r"[()]", head):
            depth += 1 if paren.group() == "(" else -1
            deepest = max(deepest, depth)
        if deepest > MAX_NESTING_DEPTH:
            got.append((loop.start_byte, pf.line_of(loop)))
    return got
