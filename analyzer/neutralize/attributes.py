"""Attribute macros, listed (rules/idioms.toml) or found structurally, blanked."""

from __future__ import annotations

from analyzer.neutralize.lexis import (
    _ATTR_CANDIDATE_RE,
    _ATTR_OPENERS,
    _C_KEYWORDS,
    _GRAMMAR_DUNDER,
    _Tok,
)
from analyzer.neutralize.structure import _Chars, _match_parens, _span_is_safe
from analyzer.record import record


def _blank_listed_attributes(text: str, toks: list[_Tok], inside: list[bool],
                             names: frozenset[str]) -> str:
    pairs = _match_parens(toks)
    chars = _Chars(text)
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "id" and t.text in names:
            last = i
            if i + 1 < len(toks) and toks[i + 1].text == "(" and i + 1 in pairs:
                last = pairs[i + 1]
            if _span_is_safe(text, toks, i, last):
                chars.blank(t.start, toks[last].end)
                i = last
        i += 1
    return chars.result()


def _is_name(t: _Tok | None) -> bool:
    return t is not None and t.kind == "id" and t.text not in _C_KEYWORDS


@record(slots=True)
class _Attr:
    first: int  # token index of the __name
    last: int  # token index of its ")" (== first without arguments)


def _blank_unknown_attributes(text: str, toks: list[_Tok], inside_all: list[bool]) -> str:
    code_at = [k for k, t in enumerate(toks) if t.kind != "pp"]
    code = [toks[k] for k in code_at]  # directives never split a declaration
    pairs = _match_parens(code)
    inside = [inside_all[k] for k in code_at]
    chars = _Chars(text)

    def is_candidate(k: int) -> bool:
        t = code[k]
        return (
            t.kind == "id"
            and not inside[k]
            and bool(_ATTR_CANDIDATE_RE.match(t.text))
            and t.text not in _GRAMMAR_DUNDER
        )

    in_initializer = False
    k = 0
    while k < len(code):
        t = code[k]
        if t.kind == "p" and t.text in ("=", ";"):
            in_initializer = t.text == "="
        if in_initializer or not is_candidate(k):
            k += 1
            continue
        run: list[_Attr] = []
        m = k
        while m < len(code) and is_candidate(m):
            last = m
            if m + 1 < len(code) and code[m + 1].text == "(" and m + 1 in pairs:
                last = pairs[m + 1]
            run.append(_Attr(m, last))
            m = last + 1
        for attr in _attributes_in_run(code, pairs, run, k, m):
            span = text[code[attr.first].start : code[attr.last].end]
            if span.isascii():
                chars.blank(code[attr.first].start, code[attr.last].end)
        k = m
    return chars.result()


def _attributes_in_run(
    code: list[_Tok], pairs: dict[int, int], run: list[_Attr], start: int, stop: int
) -> list[_Attr]:
    """Which members of a run of ``__name[(...)]`` tokens (code[start:stop])
    are attributes, judged from the declaration tokens around the run."""
    if start == 0 or stop >= len(code):
        return []
    left, right = code[start - 1], code[stop]
    left2 = code[start - 2] if start >= 2 else None
    if left.kind == "p" and left.text not in ("*", ")", "]", ";", "{", "}", "(", ","):
        return []  # an operator: an expression, not a declaration
    if (right.kind == "id" and right.text not in _ATTR_OPENERS) or right.text == "*":
        return run  # prefix: "static __x int f(", "int __x *p", "f(int __x *p)"
    if right.text not in (";", "{", "=", ",", ")", "[", ":") and right.text not in _ATTR_OPENERS:
        return []
    if left.text in ("(", ","):
        return []  # "M(__a(x), __b)": macro arguments, not a declaration
    opener = pairs.get(start - 1)
    after_params = left.text == ")" and not (
        opener is not None and opener > 0 and code[opener - 1].text in _ATTR_OPENERS
    )
    if after_params or left.text == "]":
        return run  # suffix after a declarator: "f(void) __x;", "a[2] __x;"
    if run[0].last != run[0].first:
        return run[1:]  # "static void __f(int x) __x {": __f is the function
    if _is_name(left) and left2 is not None and (left2.text == "*" or _is_name(left2)):
        return run  # "u64 *p __x;", "foo_t p __x;": the declarator came first
    return run[1:]  # "int __x;", "foo_t __x;": __x is the declarator
