"""Iterator macros that filter: the loop body of
``for_each_gfn_indirect_valid_sp`` only runs for the items the macro's
``if (COND) {} else`` lets through. ``loop_filters`` reads the macros of a
file; ``filter_conditions`` parses, for one function before it is executed,
the skip condition of each such loop with the macro's parameters replaced by
the loop's arguments, so that execution never calls the parser."""

from __future__ import annotations

import re

from analyzer.cparse import (
    BeyondLimits,
    FunctionDef,
    Node,
    ParsedFile,
    beyond_limits,
    captures,
    loop_macro_head,
    parse_c,
)
from analyzer.facts.syntax import balanced, split_args, walk

_SKIP_IF = re.compile(r"\bif\s*\((?P<cond>.*)\)\s*\{\s*\}\s*else\s*$", re.S)
_MACRO_HOLDERS = frozenset({"translation_unit", "preproc_if", "preproc_ifdef", "preproc_else",
                            "preproc_elif", "preproc_elifdef"})

# loop key (start and end byte) -> (the parsed snippet, its condition node)
FilterConditions = dict[tuple[int, int], tuple[ParsedFile, Node | None]]


def loop_filters(pf: ParsedFile) -> dict[str, tuple[tuple[str, ...], str]]:
    """Iterator macros whose definition ends ``if (COND) {} else``: the loop
    body only runs for items where COND is false (kvm's
    ``for_each_gfn_indirect_valid_sp`` skips direct pages that way)."""
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    stack = [pf.root]
    while stack:
        node = stack.pop()
        if node.type == "preproc_function_def":
            name = node.child_by_field_name("name")
            params = node.child_by_field_name("parameters")
            value = node.child_by_field_name("value")
            if name is None or params is None or value is None:
                continue
            body = re.sub(r"\\\n", " ", pf.text_of(value)).strip()
            m = _SKIP_IF.search(body)
            if m and balanced(m.group("cond")):
                names = tuple(p.strip() for p in pf.text_of(params).strip("()").split(",") if p.strip())
                out[pf.text_of(name)] = (names, m.group("cond"))
        elif node.type in _MACRO_HOLDERS:
            stack.extend(node.named_children)
    return out


def filter_conditions(pf: ParsedFile, fd: FunctionDef,
                      filters: dict[str, tuple[tuple[str, ...], str]]) -> FilterConditions:
    """The skip conditions of the filtering loops in one function, parsed."""
    out: FilterConditions = {}
    body = pf.text_of(fd.body) if filters else ""
    if not any(name in body for name in filters):
        return out  # no filtering macro named here: no query
    for node in captures("(while_statement) @loop", fd.body).get("loop", []):
        got = _skip_condition(pf, node, filters)
        if got is not None:
            out[(node.start_byte, node.end_byte)] = got
    return out


def _skip_condition(pf: ParsedFile, node: Node, filters) -> tuple[ParsedFile, Node | None] | None:
    head = loop_macro_head(pf, node)
    if head is None or "(" not in head:
        return None
    name = head[:head.index("(")].strip()
    spec = filters.get(name)
    if spec is None:
        return None
    params, cond = spec
    args = split_args(head[head.index("(") + 1:-1])
    if len(args) != len(params) or not params:
        return None
    table = dict(zip(params, args, strict=True))
    text = re.sub(r"\b(" + "|".join(map(re.escape, params)) + r")\b",
                  lambda m: f"({table[m.group(1)]})", cond)
    snippet = parse_c(f"<macro {name}>", f"void __f(void) {{ if ({text}) ; }}")
    if beyond_limits(snippet, snippet.root):
        raise BeyondLimits(f"the condition of its loop macro {name} is too large to analyze")
    ifs = [n for n in walk(snippet.root) if n.type == "if_statement"]
    if len(ifs) != 1 or snippet.root.has_error:
        return None
    return snippet, ifs[0].child_by_field_name("condition")
