"""Declaration macros with a storage class inside function bodies
(``static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);``): the grammar cannot
take a storage class before a call, so the keyword is blanked and the macro
parses as the call statement it looks like."""

from __future__ import annotations

from analyzer.neutralize.lexis import _C_KEYWORDS, _Tok
from analyzer.neutralize.structure import _Chars

_STORAGE = frozenset({"static", "extern"})


def _blank_storage_before_macros(text: str, toks: list[_Tok], inside: list[bool]) -> str:
    chars = _Chars(text)
    for k in range(1, len(toks) - 3):
        t = toks[k]
        if not (inside[k] and t.kind == "id" and t.text in _STORAGE):
            continue
        if toks[k - 1].text not in (";", "{", "}"):
            continue  # not where a declaration starts
        name, opening = toks[k + 1], toks[k + 2]
        if name.kind != "id" or name.text in _C_KEYWORDS or opening.text != "(":
            continue
        close = _closing(toks, k + 2)
        if close is None or close + 1 >= len(toks) or toks[close + 1].text != ";":
            continue
        chars.blank(t.start, t.end)
    return chars.result()


def _closing(toks: list[_Tok], opening: int) -> int | None:
    """The index of the ")" closing the "(" at ``opening``, as
    ``_match_parens`` pairs them (storage classes in bodies are rare: a
    local walk costs less than pairing the whole file)."""
    depth = 0
    for j in range(opening, len(toks)):
        t = toks[j]
        if t.kind != "p":
            continue
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
            if depth == 0:
                return j
    return None
