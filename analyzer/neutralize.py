"""Rewrite kernel idioms the C grammar cannot see into plain C of the same size.

``neutralize(text)`` returns text of exactly the same length, with every
newline at the same offset, so lines and columns found in the parse of the
result are those of the original. Four rewrites, each a blanking (spaces) or
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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from analyzer.errors import UserError
from analyzer.ruledata import rule_file

IDIOMS_PATH = rule_file("idioms.toml")

# Directives, comments and strings: what code characters never start inside.
_OPAQUE_TOKENS = r"""
     (?P<pp>^[ \t]*\#(?:/\*.*?\*/|//[^\n]*|\\\n|\\.|[^\n\\/]|/(?![*/]))*)
    |(?P<comment>/\*.*?(?:\*/|\Z)|//(?:\\\n|[^\n])*)
    |(?P<str>"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?)
"""
_TOKEN_RE = re.compile(
    _OPAQUE_TOKENS + r"""
    |(?P<id>[A-Za-z_]\w*)
    |(?P<num>\.?\d(?:[eEpP][+-]|[\w.])*)
    |(?P<ws>[ \t\r\f\v]*\n|[ \t\r\f\v]+)
    |(?P<p>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|\.\.\.|\#\#|.)
    """,
    re.MULTILINE | re.DOTALL | re.VERBOSE,
)

_PP_NAME_RE = re.compile(r"[ \t]*#[ \t]*(\w*)")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Keywords and grammar-known names: never a loop macro, never an attribute.
_C_KEYWORDS = _words(
    """
    auto break case char const continue default do double else enum extern float for
    goto if inline int long register restrict return short signed sizeof static
    struct switch typedef union unsigned void volatile while _Alignas _Alignof
    _Atomic _Bool _Complex _Generic _Noreturn _Static_assert _Thread_local alignas
    alignof bool constexpr defined nullptr offsetof static_assert thread_local
    typeof typeof_unqual asm
    """
)
_GRAMMAR_DUNDER = _words(
    """
    __alignof __alignof__ __asm __asm__ __attribute __attribute__ __based __cdecl
    __clrcall __declspec __except __extension__ __fastcall __finally __forceinline
    __inline __inline__ __leave __restrict __restrict__ __stdcall __thiscall
    __thread __try __unaligned __vectorcall __volatile__ __volatile __typeof
    __typeof__ __auto_type __label__ __int128 __func__ __FUNCTION__
    __PRETTY_FUNCTION__ __builtin_offsetof __builtin_va_arg __real__ __imag__
    __complex__ __signed__ __const
    """
)
_NOT_A_LOOP = _C_KEYWORDS | _GRAMMAR_DUNDER
_ATTR_CANDIDATE_RE = re.compile(r"__[a-z][a-z0-9_]*\Z")
_ATTR_OPENERS = frozenset({"__attribute__", "__attribute", "__declspec", "asm", "__asm__", "__asm"})
_LOOP_REPLACEMENTS = ("while (1)", "while(1)", "for(;;)")
# Statements that may follow a loop macro's ")" on the same line.
_STMT_KEYWORDS = frozenset(
    {"if", "for", "while", "do", "switch", "return", "break", "continue", "goto"}
)


@dataclass(slots=True)
class _Tok:
    kind: str  # "id", "num", "str", "p" (punctuator) or "pp" (directive line)
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    toks = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        toks.append(_Tok(kind or "p", m.group(), m.start(), m.end()))
    return toks


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
                    _rewrite_loop_macros, _join_type_arguments):
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


def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


# ------------------------------------------------------------ oversized text

# What one line, and one function body, may cost. Kernel lines stay under 200
# characters and the largest KVM function under 20,000; past these sizes the
# parse and the analysis cost hundreds of bytes of memory per character.
MAX_LINE_LENGTH = 10_000  # characters in one line
MAX_BODY_LENGTH = 250_000  # characters inside one top-level {...} block

_LONG_LINE_RE = re.compile(rf"^[^\n]{{{MAX_LINE_LENGTH + 1}}}", re.MULTILINE)
# braces and what hides them; "skip" passes over the rest a run at a time
_SKELETON_RE = re.compile(_OPAQUE_TOKENS + r"""|(?P<brace>[{}])|(?P<skip>[^\n/"'{}\#]+|[/\#]|\n)""",
                          re.MULTILINE | re.DOTALL | re.VERBOSE)


_CONTINUATION = re.compile(r"\\(?=\n)")


def _skeleton(text: str) -> Iterator[re.Match]:
    """The directives, comments, strings and braces of ``text``, in order."""
    for m in _SKELETON_RE.finditer(text):
        if m.lastgroup != "skip":
            yield m


def _spaces(text: str) -> str:
    """``text`` blanked, newlines kept."""
    return "\n".join(" " * len(part) for part in text.split("\n"))


@dataclass(frozen=True, slots=True)
class Oversized:
    """Text left out of the parse: characters [start, end) on lines
    first_line..last_line (1-based); kind "line" (a long line) or "body"
    (the inside of a long top-level block)."""

    start: int
    end: int
    first_line: int
    last_line: int
    kind: str

    @property
    def reason(self) -> str:
        size = self.end - self.start
        if self.kind == "line":
            return f"line {self.first_line} has {size:,} characters, more than {MAX_LINE_LENGTH:,}"
        return f"its body has {size:,} characters, more than {MAX_BODY_LENGTH:,}"


def oversized(text: str) -> list[Oversized]:
    """The lines longer than MAX_LINE_LENGTH and the top-level block bodies
    longer than MAX_BODY_LENGTH of ``text``, in order (a long line inside
    such a body is part of it)."""
    if len(text) <= MAX_LINE_LENGTH:
        return []
    spans: list[tuple[int, int, str]] = []
    if len(text) > MAX_BODY_LENGTH:
        spans = [(s, e, "body") for s, e in _top_blocks(text) if e - s > MAX_BODY_LENGTH]
    bodies = list(spans)
    k = 0
    for m in _LONG_LINE_RE.finditer(text):
        start = m.start()
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        while k < len(bodies) and bodies[k][1] <= start:
            k += 1
        if k == len(bodies) or start < bodies[k][0]:
            spans.append((start, end, "line"))
    spans.sort()
    out = []
    line, pos = 1, 0
    for start, end, kind in spans:
        line += text.count("\n", pos, start)
        last = line + text.count("\n", start, end)
        out.append(Oversized(start, end, line, last, kind))
        line, pos = last, end
    return out


def _top_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of the inside of each top-level {...} block, following
    preprocessor conditionals as ``_in_function`` does."""
    out = []
    depth = 0
    start = 0
    saved: list = []
    for m in _skeleton(text):
        kind = m.lastgroup
        if kind == "pp":
            depth = _after_directive(_PP_NAME_RE.match(text, m.start()), depth, saved)
        elif kind == "brace":
            if text[m.start()] == "{":
                if depth == 0:
                    start = m.end()
                depth += 1
            elif depth:
                depth -= 1
                if depth == 0:
                    out.append((start, m.start()))
    if depth:
        out.append((start, len(text)))
    return out


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


def _stub(text: str, regions: list[Oversized]) -> str:
    """``text`` with the regions blanked (see the module doc)."""
    pieces: list[str] = []
    pos = 0
    tokens = _skeleton(text)
    tok = next(tokens, None)
    for r in regions:
        pieces.append(text[pos:r.start])
        reaching = []  # the tokens that reach into the region, in order
        while tok is not None and tok.start() < r.end:
            if tok.end() > r.start:
                reaching.append(tok)
            if tok.end() > r.end:
                break  # it may reach into the next region as well
            tok = next(tokens, None)
        keep = sorted(_kept(text, r, reaching))
        at = r.start
        for start, piece in keep:
            pieces.append(_spaces(text[at:start]))
            pieces.append(piece)
            at = start + len(piece)
        pieces.append(_spaces(text[at:r.end]))
        pos = r.end
    pieces.append(text[pos:])
    return "".join(pieces)


def _kept(text: str, r: Oversized, tokens: list) -> list[tuple[int, str]]:
    """What stays of a region: (offset, text) pieces."""
    keep: list[tuple[int, str]] = []
    opened: list[int] = []  # braces of a long line that do not pair within it
    closed: list[int] = []
    for m in tokens:
        kind, start, end = m.lastgroup, m.start(), m.end()
        if kind == "brace":
            if r.kind == "body":
                continue  # they all pair within it
            if text[start] == "{":
                opened.append(start)
            elif opened:
                opened.pop()
            else:
                closed.append(start)
        elif kind == "pp":
            # its head (``#if`` gets the condition 0) and its line
            # continuations: the directive keeps its kind and its extent
            if start >= r.start:
                head = _PP_NAME_RE.match(text, start)
                room = "\n" not in text[head.end():head.end() + 2] and head.end() + 2 <= end
                condition = " 0" if head.group(1) in ("if", "elif") and room else ""
                keep.append((start, head.group() + condition))
            at = max(start, r.start)
            keep.extend((at + c.start(), "\\") for c in _CONTINUATION.finditer(text[at:min(end, r.end) + 1]))
        elif start < r.start or end > r.end:
            # a comment or string reaching out of the region: left as it is
            start, end = max(start, r.start), min(end, r.end)
            keep.append((start, text[start:end]))
    keep.extend((k, text[k]) for k in (*closed, *opened))
    return keep


# ---------------------------------------------------------------- structure


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


# --------------------------------------------------------------- attributes


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


@dataclass(slots=True)
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


# -------------------------------------------------------------- loop macros


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
    for replacement in _LOOP_REPLACEMENTS:
        if len(replacement) <= room:
            chars.blank(start, end, replacement)
            return


# ------------------------------------------------------------ type arguments

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
