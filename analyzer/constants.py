"""The integer value of the tree's own object-like macros.

``#define ACC_ALL (ACC_EXEC_MASK | ACC_WRITE_MASK | ACC_USER_MASK)`` in an
analyzed file or header is a plain constant: once its names are expanded
(``ACC_WRITE_MASK`` -> ``PT_WRITABLE_MASK`` -> ``(1ULL << PT_WRITABLE_SHIFT)``)
it is an integer expression, evaluated here. A name defined twice with
different bodies (``paging_tmpl.h`` is read once per guest page-table type),
or whose body is not an integer expression of such names, has no value: the
analysis keeps it as a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?![(\w])[ \t]*((?:[^\n]*\\\n)*[^\n]*)",
                     re.M)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|[()~!|&^+\-*/%]))")
# casts a constant's definition may carry: (u64), (unsigned long long), ...
_CAST = re.compile(r"\(\s*(?:(?:unsigned|signed|long|int|short|char|const)\s*)+\)|"
                   r"\(\s*(?:u8|u16|u32|u64|s8|s16|s32|s64|__u64|__u32|gfn_t|gpa_t|hpa_t)\s*\)")
MAX_DEPTH = 16


def definitions(texts: Iterable[str]) -> dict[str, str | None]:
    """Object-like macro name -> body text (None when defined differently twice)."""
    out: dict[str, str | None] = {}
    for text in texts:
        for name, body in _defines(text):
            if name in out and out[name] != body:
                out[name] = None
            else:
                out[name] = body
    return out


@lru_cache(maxsize=128)
def _defines(text: str) -> tuple[tuple[str, str], ...]:
    """One text's (name, body) definitions, in order, once per text: in git
    mode every commit's image holds the same files."""
    if "#" not in text:
        return ()
    return tuple((m.group(1), " ".join(_COMMENT.sub(" ", m.group(2).replace("\\\n", " ")).split()))
                 for m in _DEFINE.finditer(text))


def defines_alike(old: str, new: str) -> bool:
    """Whether two texts define the same object-like macros alike, in the
    same order: a tree whose only change is from one to the other has the
    same ``macro_values``."""
    return _defines(old) == _defines(new)


def macro_values(texts: Iterable[str]) -> dict[str, int]:
    """Every object-like macro of the texts whose body evaluates to an integer."""
    return dict(_macro_values(tuple(texts)))


@lru_cache(maxsize=4)
def _macro_values(texts: tuple[str, ...]) -> dict[str, int]:
    """``macro_values``, once per list of texts: in git mode most commits
    leave every header and source as it was (the same strings)."""
    return _evaluated(tuple(definitions(texts).items()))


@lru_cache(maxsize=4)
def _evaluated(items: tuple[tuple[str, str | None], ...]) -> dict[str, int]:
    """The values of a set of definitions, once per set: a commit that edits
    a file's code and none of its macros evaluates nothing again."""
    defs = dict(items)
    out: dict[str, int] = {}
    for name in defs:
        value = _value(name, defs, out, 0)
        if value is not None:
            out[name] = value
    return out


def evaluate(text: str, values: dict[str, int]) -> int | None:
    """An integer expression of numbers and known macro names, else None."""
    return _Expr(text, lambda n: values.get(n)).parse()


def _value(name: str, defs: dict[str, str | None], done: dict[str, int], depth: int) -> int | None:
    if name in done:
        return done[name]
    body = defs.get(name)
    if not body or depth > MAX_DEPTH:
        return None
    got = _Expr(body, lambda n: _value(n, defs, done, depth + 1)).parse()
    if got is not None:
        done[name] = got
    return got


class _Expr:
    """A recursive-descent reader of C integer constant expressions (the
    operators role constants use: | & ^ << >> + - * / % ~ ! and parentheses)."""

    BINARY = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%"))

    def __init__(self, text: str, lookup) -> None:
        self.tokens: list[tuple[str, object]] = []
        self.ok = True
        text = _CAST.sub(" ", text)
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None:
                self.ok = False
                break
            pos = m.end()
            if m.group(1):
                self.tokens.append(("num", int(m.group(1), 0)))
            elif m.group(2):
                self.tokens.append(("name", m.group(2)))
            else:
                self.tokens.append(("op", m.group(3)))
        self.lookup = lookup
        self.i = 0

    def parse(self) -> int | None:
        if not self.ok or not self.tokens:
            return None
        try:
            value = self.binary(0)
        except (ValueError, ZeroDivisionError, IndexError, RecursionError):
            return None
        return value if self.i == len(self.tokens) else None

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def binary(self, level: int) -> int:
        if level == len(self.BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in self.BINARY[level]:
            self.i += 1
            right = self.binary(level + 1)
            left = _apply(str(tok[1]), left, right)
        return left

    def unary(self) -> int:
        tok = self.peek()
        if tok is None:
            raise ValueError("end")
        self.i += 1
        kind, val = tok
        if kind == "num":
            return int(val)  # type: ignore[call-overload]
        if kind == "name":
            got = self.lookup(val)
            if got is None:
                raise ValueError(f"unknown {val}")
            return got
        if val == "(":
            inner = self.binary(0)
            if self.peek() != ("op", ")"):
                raise ValueError("unbalanced")
            self.i += 1
            return inner
        if val == "~":
            return ~self.unary() & 0xFFFFFFFFFFFFFFFF
        if val == "!":
            return int(not self.unary())
        if val == "-":
            return -self.unary()
        if val == "+":
            return self.unary()
        raise ValueError(f"unexpected {val}")


def _apply(op: str, a: int, b: int) -> int:
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    if op == "&":
        return a & b
    if op == "<<":
        if not 0 <= b < 64:
            raise ValueError("shift")
        return (a << b) & 0xFFFFFFFFFFFFFFFF
    if op == ">>":
        if not 0 <= b < 64:
            raise ValueError("shift")
        return a >> b
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return int(a / b)
    return a % b
