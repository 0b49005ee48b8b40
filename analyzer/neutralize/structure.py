"""Where tokens sit: matching parentheses, function bodies, safe spans, and the rewrites a pass collects."""

from __future__ import annotations

import re

from analyzer.neutralize.lexis import _PP_NAME_RE, _spaces, _Tok


def _after_directive(head: re.Match | None, state, saved: list):
    """The brace state after a directive (``head`` matches _PP_NAME_RE):
    each #elif/#else restarts from the state at its #if, and #endif keeps
    the first branch's. ``state`` must not be changed in place."""
    word = head.group(1) if head else ""
    if word.startswith("if"):
        saved.append((state, None))
    elif word.startswith("el") and saved:
        at_if, first = saved[-1]
        saved[-1] = (at_if, first if first is not None else state)
        return at_if
    elif word == "endif" and saved:
        _, first = saved.pop()
        if first is not None:
            return first
    return state




def _match_parens(toks: list[_Tok]) -> dict[int, int]:
    """Index of "(" -> index of its ")" (and back), over code tokens."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for i, t in enumerate(toks):
        if t.kind != "p":
            continue
        if t.text == "(":
            stack.append(i)
        elif t.text == ")" and stack:
            j = stack.pop()
            pairs[j] = i
            pairs[i] = j
    return pairs


def _in_function(toks: list[_Tok]) -> list[bool]:
    """For each token, whether it lies inside a function body.

    A "{" at file scope right after ")" opens a function body. Preprocessor
    conditionals are followed branch by branch: each #elif/#else restarts
    from the brace state at its #if, and #endif keeps the first branch's."""
    inside: list[bool] = []
    braces: list[bool] = []  # True for a function body
    saved: list = []
    prev: _Tok | None = None
    for t in toks:
        if t.kind == "pp":
            braces = list(_after_directive(_PP_NAME_RE.match(t.text), tuple(braces), saved))
            inside.append(any(braces))
            continue
        if t.text == "{" and t.kind == "p":
            braces.append(not braces and prev is not None and prev.text == ")")
            inside.append(any(braces))
        elif t.text == "}" and t.kind == "p":
            inside.append(any(braces))
            if braces:
                braces.pop()
        else:
            inside.append(any(braces))
        prev = t
    return inside


def _span_is_safe(text: str, toks: list[_Tok], first: int, last: int) -> bool:
    """A token range may be rewritten: no directive inside, ASCII only."""
    if any(toks[k].kind == "pp" for k in range(first, last + 1)):
        return False
    return text[toks[first].start : toks[last].end].isascii()


class _Chars:
    """A text a pass rewrites: the rewrites (which never overlap) are
    collected and applied at the end, so a pass that rewrites little costs
    little even on a huge text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.edits: list[tuple[int, str]] = []

    def put(self, start: int, piece: str) -> None:
        self.edits.append((start, piece))

    def blank(self, start: int, end: int, replacement: str = "") -> None:
        """Spaces over [start, end), newlines kept, after ``replacement``."""
        self.put(start, replacement + _spaces(self.text[start + len(replacement):end]))

    def result(self) -> str:
        out: list[str] = []
        pos = 0
        for start, piece in sorted(self.edits):
            assert start >= pos, "overlapping rewrites"
            out += (self.text[pos:start], piece)
            pos = start + len(piece)
        out.append(self.text[pos:])
        return "".join(out)
