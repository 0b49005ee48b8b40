"""Iterator macros used as loop heads, rewritten to ``while (1)``."""

from __future__ import annotations

from analyzer.neutralize.lexis import _NOT_A_LOOP, _STMT_KEYWORDS, LOOP_REPLACEMENTS, _Tok
from analyzer.neutralize.structure import _Chars, _match_parens, _span_is_safe


def _rewrite_loop_macros(text: str, toks: list[_Tok], inside: list[bool]) -> str:
    pairs = _match_parens(toks)
    chars = _Chars(text)
    control_close: set[int] = set()  # ")" ending an if/for/while/switch head
    ternary = 0
    prev: int | None = None  # index of the previous code token
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.kind == "pp":
            k += 1
            continue
        if t.kind == "p":
            if (
                t.text == "("
                and prev is not None
                and toks[prev].text in ("if", "for", "while", "switch")
            ):
                if k in pairs:
                    control_close.add(pairs[k])
            elif t.text == "?":
                ternary += 1
            elif t.text in (";", "{", "}"):
                ternary = 0
        end = None
        if inside[k] and t.kind == "id" and _statement_position(toks, prev, control_close, ternary):
            end = _loop_macro_end(text, toks, pairs, k)
        if end is not None:
            _rewrite_one(chars, text, toks[k].start, toks[end].end)
            control_close.add(end)
            prev = end
            k = end + 1
            continue
        if t.kind == "p" and t.text == ":" and ternary:
            ternary -= 1
        prev = k
        k += 1
    return chars.result()


def _statement_position(
    toks: list[_Tok], prev: int | None, control_close: set[int], ternary: int
) -> bool:
    if prev is None:
        return False
    p = toks[prev]
    if p.kind == "p":
        if p.text in (";", "{", "}"):
            return True
        if p.text == ")":
            return prev in control_close
        if p.text == ":":
            return ternary == 0
        return False
    return p.kind == "id" and p.text in ("else", "do")


def _loop_macro_end(text: str, toks: list[_Tok], pairs: dict[int, int], k: int) -> int | None:
    """Index of the ")" closing ``IDENT(args)`` at k when it is used as a loop
    head, else None."""
    if toks[k].text in _NOT_A_LOOP or k + 1 >= len(toks) or toks[k + 1].text != "(":
        return None
    close = pairs.get(k + 1)
    if close is None or close + 1 >= len(toks):
        return None
    nxt = toks[close + 1]
    if nxt.kind == "pp":
        return None
    same_line = "\n" not in text[toks[close].end : nxt.start]
    if nxt.text == "{":
        pass
    elif nxt.kind == "id":
        after = toks[close + 2] if close + 2 < len(toks) else None
        if same_line and nxt.text not in _STMT_KEYWORDS and (after is None or after.text != "("):
            return None  # "TYPE(x) name;" is a declaration, not a loop
        if nxt.text in _NOT_A_LOOP - _STMT_KEYWORDS - {"sizeof", "typeof"}:
            return None
    elif nxt.text in ("*", "++", "--") and not same_line:
        pass
    else:
        return None
    if not _span_is_safe(text, toks, k, close):
        return None
    return close


def _rewrite_one(chars: _Chars, text: str, start: int, end: int) -> None:
    first_line = text.find("\n", start, end)
    room = (first_line if first_line != -1 else end) - start
    for replacement in LOOP_REPLACEMENTS:
        if len(replacement) <= room:
            chars.blank(start, end, replacement)
            return
