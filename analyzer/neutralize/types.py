"""Type names passed to macros, joined into one identifier."""

from __future__ import annotations

import re

from analyzer.neutralize.lexis import _NOT_A_LOOP, _Tok, _words
from analyzer.neutralize.structure import _Chars, _match_parens

_TYPE_KEYWORDS = _words(
    """
    struct union enum unsigned signed long short int char const volatile void float
    double _Bool
    """
)


def _join_type_arguments(text: str, toks: list[_Tok], inside: list[bool]) -> str:
    pairs = _match_parens(toks)
    chars = _Chars(text)
    for k, t in enumerate(toks):
        if not (t.text == "(" and t.kind == "p" and inside[k] and k in pairs and k > 0):
            continue
        callee = toks[k - 1]
        if callee.kind != "id" or callee.text in _NOT_A_LOOP:
            continue
        arg_start = k + 1
        depth = 0
        for j in range(k + 1, pairs[k] + 1):
            u = toks[j]
            if u.kind == "p" and u.text in ("(", "[", "{"):
                depth += 1
            elif u.kind == "p" and u.text in (")", "]", "}") and j != pairs[k]:
                depth -= 1
            elif depth == 0 and (j == pairs[k] or u.text == ","):
                _join_if_type(chars, text, toks, arg_start, j - 1)
                arg_start = j + 1
    return chars.result()


def _join_if_type(chars: _Chars, text: str, toks: list[_Tok], first: int, last: int) -> None:
    words = toks[first : last + 1]
    if len(words) < 2 or words[0].kind != "id":
        return
    if not all(w.kind == "id" or w.text == "*" for w in words):
        return
    if not any(w.text in _TYPE_KEYWORDS for w in words):
        return
    start, end = words[0].start, words[-1].end
    span = text[start:end]
    if not span.isascii() or not re.fullmatch(r"[\w* \t]+", span):
        return  # a comment or a line break inside: leave it
    chars.put(start, re.sub(r"[^\w]", "_", span))
