"""Parse C with tree-sitter-c. The only module that imports tree_sitter.

Sources are neutralized first (see ``analyzer.neutralize``): kernel idioms the
C grammar cannot see are replaced by text of the same byte length, so node
byte spans, rows and columns are those of the original file. Text is always
read back from the ORIGINAL source (``ParsedFile.text_of``).

Other modules walk the returned ``Node`` objects themselves; for patterns
clearer as data, ``captures(query_source, node)`` runs a tree-sitter query.

The analysis walks a function recursively; ``beyond_limits`` says when a
function (or any node) is more than it may cost: text left out of the parse
(``analyzer.neutralize.oversized``) or syntax nested deeper than
``MAX_NESTING_DEPTH``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from analyzer.encoding import encode
from analyzer.neutralize import Oversized, neutralize, oversized

__all__ = [
    "MAX_NESTING_DEPTH",
    "BeyondLimits",
    "FunctionDef",
    "Node",
    "ParsedFile",
    "beyond_limits",
    "captures",
    "children_of_type",
    "descendants_of_type",
    "error_counts",
    "functions",
    "left_out",
    "loop_macro_head",
    "parse_c",
]


@lru_cache(maxsize=1)
def _language() -> Language:
    return Language(tree_sitter_c.language())


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(_language())


@dataclass
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

    def __post_init__(self) -> None:
        self._raw = encode(self.text)
        if len(self._raw) != len(self.source):
            raise ValueError(f"{self.path}: neutralized source length differs from the original")

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


def parse_c(path: str, text: str, *, raw: bool = False, neutral: str | None = None) -> ParsedFile:
    """Neutralize ``text`` and parse it as C. ``raw=True`` skips
    neutralization (for comparing against the grammar's bare view);
    ``neutral`` passes the neutralized text when it is already known."""
    if neutral is None:
        neutral = text if raw else neutralize(text)
    source = encode(neutral)
    tree = _parser().parse(source)
    return ParsedFile(path=path, text=text, source=source, tree=tree, root=tree.root_node,
                      oversized=[] if raw else oversized(text))


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


@dataclass
class FunctionDef:
    """A function definition. ``name`` is the declarator as written, so a
    paging_tmpl.h function is ``FNAME(fetch)``. ``params`` holds
    (type_text, name) pairs; type_text is the declaration minus the name,
    whitespace collapsed (``struct kvm_vcpu *``); ``(void)`` gives []; a
    variadic ``...`` gives ("...", "")."""

    name: str
    node: Node
    body: Node
    start_line: int
    end_line: int
    return_type_text: str
    params: list[tuple[str, str]]


_DECLARATOR_WRAPPERS = ("pointer_declarator", "attributed_declarator", "parenthesized_declarator")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _function_declarator(decl: Node | None) -> tuple[Node | None, int]:
    """Descend to the outermost function_declarator; count pointer levels."""
    stars = 0
    while decl is not None and decl.type != "function_declarator":
        if decl.type not in _DECLARATOR_WRAPPERS:
            return None, stars
        if decl.type == "pointer_declarator":
            stars += 1
        decl = decl.child_by_field_name("declarator") or (
            decl.named_children[0] if decl.named_children else None
        )
    return decl, stars


def _declared_name(decl: Node | None) -> Node | None:
    """The identifier a (parameter) declarator declares."""
    while decl is not None:
        if decl.type in ("identifier", "field_identifier", "type_identifier"):
            return decl
        inner = decl.child_by_field_name("declarator")
        if inner is None:
            inner = next((c for c in decl.named_children if c.type.endswith("declarator")), None)
        decl = inner
    return None


def _param(pf: ParsedFile, node: Node) -> tuple[str, str] | None:
    if node.type == "variadic_parameter":
        return ("...", "")
    if node.type not in ("parameter_declaration", "optional_parameter_declaration"):
        return None
    name = _declared_name(node.child_by_field_name("declarator"))
    text = pf.text_of(node)
    if name is None:
        return (_squash(text), "")
    cut_start = name.start_byte - node.start_byte
    cut_end = name.end_byte - node.start_byte
    raw = encode(text)
    rest = raw[:cut_start] + raw[cut_end:]
    return (_squash(rest.decode("utf-8", errors="replace")), pf.text_of(name))


def _return_type(pf: ParsedFile, fn: Node, stars: int) -> str:
    parts = [
        pf.text_of(c)
        for c in fn.children
        if c.type == "type_qualifier" or c == fn.child_by_field_name("type")
    ]
    text = _squash(" ".join(parts))
    return f"{text} {'*' * stars}" if stars else text


# Nodes that can hold a function definition: walking only these (not every
# expression of every body) keeps listing functions cheap.
_FUNCTION_HOLDERS = frozenset({
    "translation_unit", "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
    "preproc_elifdef", "linkage_specification", "declaration_list", "ERROR",
})


def _function_nodes(root: Node) -> list[Node]:
    out: list[Node] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type == "function_definition":
            out.append(n)
        elif n.type in _FUNCTION_HOLDERS:
            stack.extend(reversed(n.children))
    return out


def functions(pf: ParsedFile) -> list[FunctionDef]:
    """Every function definition in the file, in source order (including
    those inside preprocessor conditionals). Computed once per file."""
    cached = pf.__dict__.get("_functions")
    if cached is not None:
        return cached
    out: list[FunctionDef] = []
    for fn in _function_nodes(pf.root):
        body = fn.child_by_field_name("body")
        fdecl, stars = _function_declarator(fn.child_by_field_name("declarator"))
        if body is None or fdecl is None:
            continue
        name_node = fdecl.child_by_field_name("declarator")
        plist = fdecl.child_by_field_name("parameters")
        params: list[tuple[str, str]] = []
        if plist is not None:
            params = [p for c in plist.named_children if (p := _param(pf, c)) is not None]
        if params == [("void", "")]:
            params = []
        out.append(
            FunctionDef(
                name=_squash(pf.text_of(name_node)) if name_node is not None else "",
                node=fn,
                body=body,
                start_line=fn.start_point.row + 1,
                end_line=fn.end_point.row + 1,
                return_type_text=_return_type(pf, fn, stars),
                params=params,
            )
        )
    pf.__dict__["_functions"] = out
    return out


def error_counts(pf: ParsedFile) -> dict[str, int]:
    """Number of ERROR or MISSING nodes per function name (summed over
    same-named definitions); key "" counts those outside any function. Every
    function found is listed, with 0 when it parsed clean."""
    counts: dict[str, int] = {"": 0}
    spans: list[tuple[int, int, str]] = []
    if not pf.root.has_error:
        counts.update((f.name, 0) for f in functions(pf))
        return counts
    for f in functions(pf):
        counts.setdefault(f.name, 0)
        spans.append((f.node.start_byte, f.node.end_byte, f.name))
    for bad in _error_nodes(pf.root):
        owner = ""
        for start, end, name in spans:
            if start <= bad.start_byte and bad.end_byte <= end:
                owner = name
                break
        counts[owner] += 1
    return counts


def _error_nodes(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            yield n
        if n.has_error:
            stack.extend(reversed(n.children))


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


@lru_cache(maxsize=128)
def _query(source: str) -> Query:
    return Query(_language(), source)


def captures(query_source: str, node: Node) -> dict[str, list[Node]]:
    """Run a tree-sitter query (compiled once per distinct text) under
    ``node``; returns capture name -> nodes in source order."""
    found = QueryCursor(_query(query_source)).captures(node)
    return {k: sorted(v, key=lambda n: n.start_byte) for k, v in found.items()}
