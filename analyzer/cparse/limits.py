"""What the analysis may walk: text left out of the parse
(``analyzer.neutralize.oversized``) or syntax nested deeper than
``MAX_NESTING_DEPTH`` puts a function (or a declaration) beyond it."""

from __future__ import annotations

import re

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
    (the macro's filter, the lists it walks). Found once per file."""
    got = pf.__dict__.get("_deep_heads")
    if got is None:
        got = []
        for loop in captures("(while_statement) @loop", pf.root).get("loop", []):
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
        pf.__dict__["_deep_heads"] = got
    return got
