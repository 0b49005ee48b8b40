"""The tokens neutralize works on: directives, comments, strings, names, numbers, punctuators."""

from __future__ import annotations

import re
from collections.abc import Iterator

from analyzer.record import record

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
LOOP_REPLACEMENTS = ("while (1)", "while(1)", "for(;;)")
# Statements that may follow a loop macro's ")" on the same line.
_STMT_KEYWORDS = frozenset(
    {"if", "for", "while", "do", "switch", "return", "break", "continue", "goto"}
)


@record(slots=True)
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



def _newlines(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


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
