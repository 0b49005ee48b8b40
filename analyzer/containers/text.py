"""Kernel C read as text: the list primitives of rules/containers.toml,
function-like macros, page structs, and the small text helpers of the
walk (casts and parentheses stripped, balanced arguments)."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from analyzer.cparse import Node, ParsedFile
from analyzer.ruledata import rule_file

IDENT = re.compile(r"[A-Za-z_]\w*$")
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(([^)]*)\)((?:[^\n]*\\\n)*[^\n]*)", re.M)
_CAST = re.compile(r"^\(\s*(?:const\s+)?(?:(?:struct|union)\s+\w+\s*\**|\w+\s*\*+)\s*\)\s*")


@lru_cache(maxsize=1)
def primitives() -> dict[str, list[str]]:
    with rule_file("containers.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return {k: list(v) for k, v in data.items() if isinstance(v, list)}


@lru_cache(maxsize=8192)
def matches(name: str, kind: str) -> bool:
    """Whether ``name`` is one of the primitives of ``kind`` (once per name:
    the walk asks it of every call and iterator it meets)."""
    return any(p.fullmatch(name) for p in _patterns(kind))


@lru_cache(maxsize=16)  # a few kinds
def _patterns(kind: str) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in primitives().get(kind, []))


def macros_of(text: str) -> dict[str, tuple[list[str], str]]:
    """Function-like macros of a file's text: name -> (parameters, body)."""
    return {name: (list(params), body) for name, params, body in _macros(text)}


@lru_cache(maxsize=128)
def _macros(text: str) -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """Once per text: in git mode every commit's image holds the same files."""
    return tuple((m.group(1), tuple(p.strip() for p in m.group(2).split(",") if p.strip()),
                  m.group(3).replace("\\\n", " ")) for m in _DEFINE.finditer(text))


# Each pattern starts with a literal, which the regex engine looks for
# first; the word before it is read back from the text (``_word_before``).
_STRUCT_PTR = re.compile(r"struct\s+(\w+)\s*\*")
_STRUCT_DECL = re.compile(r"struct\s+(\w+)\s*\*\s*(\w+)\s*[;=,)]")
_ADDRESS_ARG = re.compile(r"\(\s*&\s*(\w+)\s*->\s*\w+\s*,")
_WORD_BEFORE = re.compile(r"(\w+)\s*$")


def _starts_word(text: str, i: int) -> bool:
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")


def _word_before(text: str, i: int) -> str | None:
    """The identifier that ends just before ``text[i]``, blanks between."""
    m = _WORD_BEFORE.search(text, max(0, i - 200), i)
    return m.group(1) if m is not None and _starts_word(text, m.start(1)) else None


def context_alike(old: str, new: str, slots: set[str]) -> bool:
    """Whether ``macros_of`` and ``page_types_of`` read the same of a file's
    two texts: a tree whose only change is from one to the other has the
    same page context, given the same functions."""
    key = tuple(sorted(slots))
    return _macros(old) == _macros(new) and _pointer_facts(old, key) == _pointer_facts(new, key)


def page_types_of(texts: list[str], slots: set[str]) -> set[str]:
    """Struct types of the pointers that list primitives insert (``&sp->link``
    into a list head) and that hold a role slot: the page structs."""
    out: set[str] = set()
    decls: list[tuple[str, str]] = []  # (struct type, pointer name) declared
    written: set[str] = set()  # pointers whose role member is written
    inserted: set[str] = set()  # pointers whose member's address a list primitive takes
    key = tuple(sorted(slots))
    for text in texts:
        types, declared, writes, inserts = _pointer_facts(text, key)
        out.update(types)
        decls.extend(declared)
        written.update(writes)
        inserted.update(inserts)
    # keep the struct types declared as pointers whose role member is written
    types = {t for t, name in decls if name in written}
    out |= {t for t, name in decls if name in inserted and t in types}
    return {t for t in out if t in types}


@lru_cache(maxsize=128)
def _pointer_facts(text: str, slots: tuple[str, ...]) -> tuple[tuple, tuple, tuple, tuple]:
    """One text's part of ``page_types_of``, once per text: struct pointer
    types, (type, name) declarations, pointers whose slot is written, and
    those whose member's address a list primitive takes."""
    types = tuple(m.group(1) for m in _STRUCT_PTR.finditer(text) if _starts_word(text, m.start()))
    decls = tuple(m.groups() for m in _STRUCT_DECL.finditer(text) if _starts_word(text, m.start()))
    written = []
    if slots:
        assign = re.compile(r"->\s*(?:" + "|".join(map(re.escape, slots)) + r")\s*=[^=]")
        for m in assign.finditer(text):
            name = _word_before(text, m.start())
            if name is not None:
                written.append(name)
    inserted = []
    for m in _ADDRESS_ARG.finditer(text):
        fn = _word_before(text, m.start())
        if fn is not None and matches(fn, "insert"):
            inserted.append(m.group(1))
    return types, decls, tuple(written), tuple(inserted)


def strip(text: str) -> str:
    text = text.strip()
    while True:
        before = text
        text = text.lstrip("&*").strip()
        text = _CAST.sub("", text)
        if text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            text = text[1:-1].strip()
        if text == before:
            return text


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def member_names(pf: ParsedFile) -> frozenset[str]:
    """Names used as struct members in the file (``link`` in ``sp->link``)."""
    return _member_names(pf.text)


@lru_cache(maxsize=16)
def _member_names(text: str) -> frozenset[str]:
    """Once per text: git mode parses a file again in every commit that
    edits it, and most of its text stays."""
    return frozenset(_MEMBER.findall(text))


_MEMBER = re.compile(r"(?:->|\.)\s*([A-Za-z_]\w*)")


def chain_root(n: Node | None) -> Node | None:
    while n is not None and n.type in ("field_expression", "subscript_expression",
                                       "parenthesized_expression", "pointer_expression"):
        n = (n.child_by_field_name("argument") or n.child_by_field_name("array")
             or next((c for c in n.named_children), None))
    return n


def balanced_from(text: str, open_at: int) -> str | None:
    """The text inside the parentheses opening at ``open_at``."""
    depth = 0
    for k in range(open_at, len(text)):
        if text[k] == "(":
            depth += 1
        elif text[k] == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:k]
    return None


def call_key(text: str) -> str:
    """What tells one definition of a local from another in a page flow:
    the text of the value it is set from, without blanks, cut short (a
    step's text is cut at 160 characters), the same before and after an
    edit elsewhere in the function."""
    return re.sub(r"\s+", "", text)[:100]
