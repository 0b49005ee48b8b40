"""Rewrite kernel idioms the C grammar cannot see into plain C of the same size.

``neutralize(text)`` returns text of exactly the same length, with every
newline at the same offset, so lines and columns found in the parse of the
result are those of the original. Five rewrites, each a blanking (spaces) or
a same-length replacement:

1. Attribute macros listed in ``rules/idioms.toml`` (``__always_inline``,
   ``__read_mostly``, ``__must_hold(&kvm->mmu_lock)``, ...) are blanked
   wherever they appear in code, with their balanced ``(...)``.
2. Unknown attribute macros are found structurally outside function bodies:
   a lowercase ``__name`` (optionally with a balanced ``(...)``) sitting in a
   declaration between type/name tokens (``static __hot_path int f(...)``,
   ``int f(void) __locks(x);``, ``u64 *p __cached;``). A ``__name(...)``
   that is the declarator of a function (``static void __f(int x) {``) is
   never touched.
3. Iterator macros used as loops are found structurally inside function
   bodies: an ``IDENT(balanced args)`` in statement position whose ``)`` is
   followed by ``{`` or by a statement (not by ``;``) becomes ``while (1)``
   padded with spaces; newlines inside the arguments stay
   (``analyzer.cparse.loop_macro_head`` gives the call back).
4. Type names passed to macros inside function bodies
   (``container_of(p, struct kvm_arch, nx_once)``, ``list_first_entry(h,
   struct kvm_mmu_page, link)``): an argument made only of type words and
   ``*`` with a keyword among them has its gaps and ``*`` turned into ``_``,
   so it parses as one identifier spanning the whole type
   (``struct_kvm_mmu_page``).
5. A storage class before a declaration macro inside a function body
   (``static DEFINE_RATELIMIT_STATE(rs, 5 * HZ, 10);``) is blanked, so the
   macro parses as a call statement.

Comments, strings, character literals and preprocessor lines (``#define``
bodies and their ``\\`` continuations) are never rewritten. A rewrite whose
span holds a non-ASCII character is skipped, so the UTF-8 byte length stays
equal as well (tree-sitter byte offsets line up with the original).

Before these rewrites, text whose cost is out of proportion is left out of the
parse (``oversized``): a line longer than ``MAX_LINE_LENGTH`` characters and
the inside of a top-level ``{...}`` block longer than ``MAX_BODY_LENGTH``
become spaces. What the rest of the file needs stays: newlines, comments that
reach outside them, the heads and line continuations of directives, and the
braces of a line that do not pair within it. The function holding them is
reported as not analyzed.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from analyzer.errors import UserError
from analyzer.neutralize.attributes import _blank_listed_attributes, _blank_unknown_attributes
from analyzer.neutralize.declarations import _blank_storage_before_macros
from analyzer.neutralize.lexis import LOOP_REPLACEMENTS, _newlines, _skeleton, _Tok, _tokens
from analyzer.neutralize.loops import _rewrite_loop_macros
from analyzer.neutralize.oversized import (
    MAX_BODY_LENGTH,
    MAX_LINE_LENGTH,
    Oversized,
    _stub,
    oversized,
)
from analyzer.neutralize.structure import _in_function
from analyzer.neutralize.types import _join_type_arguments
from analyzer.ruledata import rule_file

__all__ = ["IDIOMS_PATH", "LOOP_REPLACEMENTS", "MAX_BODY_LENGTH", "MAX_LINE_LENGTH", "Oversized",
           "load_attribute_macros", "neutralize", "neutralize_edit", "oversized"]

IDIOMS_PATH = rule_file("idioms.toml")


@lru_cache(maxsize=8)
def load_attribute_macros(path: Path = IDIOMS_PATH) -> frozenset[str]:
    """The ``attribute_macros`` list of an idioms TOML file."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(
            f"idioms file {path} is missing; run from a source checkout that has rules/idioms.toml"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: not valid TOML ({err}); fix the file") from None
    names = data.get("attribute_macros", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path}: attribute_macros must be a list of strings")
    return frozenset(names)


def neutralize(text: str, attribute_macros: Iterable[str] | None = None) -> str:
    """Return ``text`` with kernel idioms rewritten (see the module doc).
    ``attribute_macros`` defaults to the list in rules/idioms.toml."""
    names = load_attribute_macros() if attribute_macros is None else frozenset(attribute_macros)
    regions = oversized(text)
    out = _stub(text, regions) if regions else text
    # Tokenize once: each pass only blanks or overwrites whole token runs, so
    # the next pass sees the same tokens minus those it rewrote.
    toks = _tokens(out)
    inside = _in_function(toks)
    for rewrite in (_blank_listed_attributes, _blank_unknown_attributes,
                    _rewrite_loop_macros, _join_type_arguments, _blank_storage_before_macros):
        if rewrite is _blank_listed_attributes:
            new = rewrite(out, toks, inside, names)
        else:
            new = rewrite(out, toks, inside)
        if new != out:
            toks, inside = _surviving(toks, inside, out, new)
            out = new
    assert len(out) == len(text), "neutralize changed the text length"
    assert _newlines(out) == _newlines(text), "neutralize moved a newline"
    return out


_CHUNK = 2048


def _surviving(toks: list[_Tok], inside: list[bool], old: str, new: str):
    """Tokens a pass left untouched (a rewritten token is gone or replaced).
    Passes touch few places: only the tokens of chunks that differ are
    compared; the runs between them are kept by slicing."""
    dirty = [k for k in range(0, len(old), _CHUNK) if old[k:k + _CHUNK] != new[k:k + _CHUNK]]
    starts = [t.start for t in toks]
    keep_t: list[_Tok] = []
    keep_i: list[bool] = []
    done = 0
    for k in dirty:
        lo = max(done, bisect.bisect_left(starts, k) - 1)
        hi = bisect.bisect_left(starts, k + _CHUNK)
        keep_t += toks[done:lo]
        keep_i += inside[done:lo]
        for j in range(lo, hi):
            t = toks[j]
            if old[t.start:t.end] == new[t.start:t.end]:
                keep_t.append(t)
                keep_i.append(inside[j])
        done = max(done, hi)
    keep_t += toks[done:]
    keep_i += inside[done:]
    return keep_t, keep_i



_TOP_END = "\n}\n"  # a closing brace at column 0: the end of a function
_PP_LINE = re.compile(r"^[ \t]*#[ \t]*(if|el|endif)", re.M)


def neutralize_edit(old: str, old_neutral: str, new: str) -> str:
    """``neutralize(new)``, reusing ``old_neutral`` = ``neutralize(old)`` for
    the text an edit left alone: only the top-level items around the edited
    span are neutralized again. Falls back to the whole file when the span
    holds preprocessor conditionals (their brace states reach across)."""
    if len(old_neutral) != len(old):
        return neutralize(new)
    limit = min(len(old), len(new))
    a = _common(lambda n: old[:n] == new[:n], limit)
    b = _common(lambda n: old[len(old) - n:] == new[len(new) - n:], limit - a)
    start = new.rfind(_TOP_END, 0, a)
    start = 0 if start < 0 else start + len(_TOP_END)
    end = new.find(_TOP_END, max(start, len(new) - b - len(_TOP_END)))
    end = len(new) if end < 0 else end + len(_TOP_END)
    old_end = end - len(new) + len(old)
    if old_end < start or _PP_LINE.search(new, start, end) or _PP_LINE.search(old, start, old_end):
        return neutralize(new)
    if not (_balanced(old[start:old_end]) and _balanced(new[start:end])):
        return neutralize(new)  # the edit moves braces: the rest may change too
    return old_neutral[:start] + neutralize(new[start:end]) + old_neutral[old_end:]


def _common(same, limit: int) -> int:
    """The largest n <= limit with same(n), by bisection (slices compare in C)."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if same(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _balanced(text: str) -> bool:
    """Braces of code (not of comments, strings or directives) balance."""
    depth = 0
    for m in _skeleton(text):
        if m.lastgroup == "brace":
            depth += 1 if text[m.start()] == "{" else -1
            if depth < 0:
                return False
    return depth == 0
