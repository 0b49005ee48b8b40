"""Function definitions: their names, parameters and return types as
written; and the parse errors in each."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from functools import lru_cache

from analyzer.cparse.parser import Node, ParsedFile
from analyzer.encoding import encode
from analyzer.record import record
from analyzer.sequences import common_prefix


@record
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
        if body is None:
            continue
        # what a signature says is a function of its text and of what was
        # parsed of it: read once per text (git mode reads every commit's)
        key = (pf._raw[fn.start_byte:body.start_byte], pf.source[fn.start_byte:body.start_byte])
        sig = _SIGNATURES.get(key)
        if sig is None:
            sig = _signature(pf, fn)
            if len(_SIGNATURES) >= _SIGNATURES_KEPT:
                _SIGNATURES.clear()
            _SIGNATURES[key] = sig
        if sig is _NO_FUNCTION:
            continue
        name, return_type, params = sig
        out.append(FunctionDef(name=name, node=fn, body=body, start_line=fn.start_point.row + 1,
                               end_line=fn.end_point.row + 1, return_type_text=return_type,
                               params=list(params)))
    pf.__dict__["_functions"] = out
    return out


_SIGNATURES: dict[tuple[bytes, bytes], tuple] = {}  # (text, source) of a head -> what it declares
_SIGNATURES_KEPT = 8192
_NO_FUNCTION = ()


def _signature(pf: ParsedFile, fn: Node) -> tuple:
    """(name, return type text, parameters) a definition's head declares;
    ``_NO_FUNCTION`` when it declares no function."""
    fdecl, stars = _function_declarator(fn.child_by_field_name("declarator"))
    if fdecl is None:
        return _NO_FUNCTION
    name_node = fdecl.child_by_field_name("declarator")
    plist = fdecl.child_by_field_name("parameters")
    params: list[tuple[str, str]] = []
    if plist is not None:
        params = [p for c in plist.named_children if (p := _param(pf, c)) is not None]
    if params == [("void", "")]:
        params = []
    name = _squash(pf.text_of(name_node)) if name_node is not None else ""
    return (name, _return_type(pf, fn, stars), tuple(params))


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


# A string or character literal (kept as it is), or a comment; the code
# between them has its runs of blanks folded with ``_BLANKS``.
_LITERALS_AND_COMMENTS = re.compile(
    rb'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', re.S)
_BLANKS = re.compile(rb"\s+")


def code_of(data: bytes) -> bytes:
    """C source with each run of comments and blanks folded into one blank,
    string and character literals kept: equal for two texts that differ in
    nothing else. Only literals and comments are matched one by one; the
    code between them is folded by one substitution (on x86.c, 2.6x faster
    than a match per run of blanks)."""
    out: list[bytes] = []
    pos = 0
    folded = False  # the output ends with a folded blank
    fold = _BLANKS.sub
    for m in _LITERALS_AND_COMMENTS.finditer(data):
        start = m.start()
        if start > pos:
            folded = _append_code(out, fold(b" ", data[pos:start]), folded)
        lexeme = m.group()
        if lexeme[:1] in (b'"', b"'"):
            out.append(lexeme)
            folded = False
        elif not folded:
            out.append(b" ")
            folded = True
        pos = m.end()
    _append_code(out, fold(b" ", data[pos:]), folded)
    return b"".join(out)


def same_code(a: bytes, b: bytes) -> bool:
    """``code_of(a) == code_of(b)``, folding only the window where the two
    differ when that settles it: from a point before the first difference
    where both are in code (not in a comment or literal, and lexed alike up
    to it) to the first comment or literal both have at the same place of
    their common tail. Equal windows make equal texts; windows that differ
    (a code edit, or blanks that fold into a neighbour's) are settled by
    folding both whole. A comment edited in x86.c compares in a fraction of
    the time folding it takes."""
    if a == b:
        return True
    head = common_prefix(a, b)
    tail = common_prefix(a[::-1], b[::-1], min(len(a), len(b)) - head)
    starts_a, ends_a = _lexemes(a)
    starts_b, ends_b = _lexemes(b)
    # the lexemes ending at or before the head are the same in both
    start = head
    for starts, ends in ((starts_a, ends_a), (starts_b, ends_b)):
        i = bisect_right(ends, head)
        if i < len(starts):
            start = min(start, starts[i])
    # back over the blanks before it, to the end of a lexeme at most: a
    # comment added after blank lines folds into them, in both windows
    i = bisect_right(ends_a, start)
    floor = ends_a[i - 1] if i else 0
    while start > floor and a[start - 1:start].isspace():
        start -= 1
    shift = len(b) - len(a)
    end_a, end_b = len(a), len(b)
    for k in range(bisect_left(starts_a, len(a) - tail), len(starts_a)):
        j = bisect_left(starts_b, starts_a[k] + shift)
        if j < len(starts_b) and starts_b[j] == starts_a[k] + shift:
            # both in code here, with the same text after: lexed alike from here on
            end_a, end_b = starts_a[k], starts_b[j]
            break
    if code_of(a[start:end_a]) == code_of(b[start:end_b]):
        return True
    return _whole_code(a) == _whole_code(b)


@lru_cache(maxsize=8)
def _lexemes(data: bytes) -> tuple[list[int], list[int]]:
    """Where each literal and comment of ``data`` starts and ends."""
    spans = [m.span() for m in _LITERALS_AND_COMMENTS.finditer(data)]
    return [s for s, _ in spans], [e for _, e in spans]


@lru_cache(maxsize=8)
def _whole_code(data: bytes) -> bytes:
    return code_of(data)


def _append_code(out: list[bytes], code: bytes, folded: bool) -> bool:
    """Append folded code after a folded blank or not; whether the output
    ends with one now."""
    if folded and code[:1] == b" ":
        code = code[1:]
    if not code:
        return folded
    out.append(code)
    return code[-1:] == b" "


def code_digest(pf: ParsedFile, fd: FunctionDef) -> str:
    """A digest of a definition's code as parsed: equal when an edit changed
    only its comments or blanks (its facts are then the same, on moved
    lines). Once per definition text (git mode declares the same
    definitions in every commit), found by a digest of the text: the texts
    themselves are not kept (2 MB on bench's x8 tree)."""
    data = pf.source[fd.node.start_byte:fd.node.end_byte]
    key = hashlib.blake2b(data, digest_size=16).digest()
    got = _DIGESTS.get(key)
    if got is None:
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            del _DIGESTS[next(iter(_DIGESTS))]
        got = _DIGESTS[key] = hashlib.blake2b(code_of(data), digest_size=16).hexdigest()
    return got


# a digest of a definition's text -> ``code_digest``, oldest first
_DIGESTS: dict[bytes, str] = {}
_DIGESTS_KEPT = 4096
