"""Functions of kernel C text, found by its layout: no parser.

Kernel style opens a function body with ``{`` alone at the start of a line
and closes it with ``}`` alone at the start of a line; the lines above the
``{`` name the function. That is enough to know, cheaply and for files the
analysis does not parse (``x86.c`` is 13,000 lines), which functions a file
defines, what each calls, which ``vcpu->arch`` members it writes and reads,
and whether it invalidates a cached MMU role (``...cpu_role.ext.valid = 0``,
``...root_role.word = 0``, ``...root_role.invalid = 1``).
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate

from analyzer.record import field, record

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
_NAME = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_ASSIGN = re.compile(r"(?<![=!<>+\-*/%&|^])(\|=|&=|\+=|-=|\^=|<<=|>>=|=)(?!=)")
_ARCH_MEMBER = re.compile(r"(?:->|\.)arch\.(\w+)")
_WRITING_CALL = re.compile(r"\b(memcpy|memset|copy_from_user|swap|memcpy_and_pad|bitmap_\w+|"
                           r"__set_bit|set_bit|__clear_bit|clear_bit|__assign_bit|assign_bit)\s*\(")
# calls that write their first argument, except these, which write any
_WRITES_ANY_ARG = ("swap", "__set_bit", "set_bit", "__clear_bit", "clear_bit", "__assign_bit",
                   "assign_bit")
_HEAD_END = re.compile(r"[{}]|\belse\b|\)\s*(?=[A-Za-z_*(])")
_NOT_CALLS = frozenset({
    "if", "for", "while", "switch", "return", "sizeof", "typeof", "__typeof__", "defined",
    "likely", "unlikely", "do",
})


def strip_comments(text: str) -> str:
    """Comments and string literals blanked, same length and lines."""
    return _STRING.sub(_blanked, _COMMENT.sub(_blanked, text))


def _blanked(m: re.Match) -> str:
    lexeme = m.group(0)
    if "\n" not in lexeme:
        return " " * len(lexeme)
    return "\n".join(" " * len(part) for part in lexeme.split("\n"))


@record
class Write:
    """A statement that writes a ``vcpu->arch`` member."""

    member: str
    line: int
    text: str


@record
class TextFunction:
    name: str
    file: str
    line: int  # of the name
    end_line: int
    calls: set[str] = field(default_factory=set)
    call_lines: dict[str, int] = field(default_factory=dict)  # callee -> first line calling it
    writes: list[Write] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)  # vcpu->arch members read
    invalidates: list[tuple[int, str]] = field(default_factory=list)  # (line, statement)


def _invalidation(slots: tuple[str, ...]) -> re.Pattern:
    names = "|".join(re.escape(s) for s in slots) or "mmu_role|cpu_role|root_role"
    return re.compile(
        rf"(?:\.|->)(?:{names})\s*\.\s*(?:ext\s*\.\s*valid\s*=\s*0|word\s*=\s*0|as_u64\s*=\s*0"
        rf"|invalid\s*=\s*(?:1|true))\b")


class TextFile:
    """One C file read by layout: its functions' spans found at once, each
    function read (calls, writes, invalidations) when first asked for."""

    def __init__(self, path: str, text: str, slots: tuple[str, ...] = ()) -> None:
        self.path = path
        self.raw = Lines(text)
        self.clean = strip_comments(text)
        self.inval = _invalidation(slots)
        # the offset each line starts at (one past the last line: the end),
        # 8 bytes each (x86.c has 14,000 lines)
        self.starts = _starts(self.clean)
        self.spans = _spans(self.clean, self.starts)  # (name, name line, "{" index, "}" index)
        self._read: dict[int, TextFunction] = {}

    def body(self, k: int) -> str:
        _name, _line, brace, end = self.spans[k]
        return self.clean[self.starts[brace + 1]:self.starts[end]]

    def function(self, k: int) -> TextFunction:
        """The ``k``-th function, read."""
        got = self._read.get(k)
        if got is None:
            name, line, brace, end = self.spans[k]
            got = self._read[k] = TextFunction(name, self.path, line, end + 1)
            _read_body(got, self.body(k), self.starts[brace + 1], self.starts, self.raw, self.inval)
        return got

    def containing(self, needle: str) -> list[TextFunction]:
        """The functions whose body has ``needle`` in it, read."""
        if needle not in self.clean:
            return []
        return [self.function(k) for k in range(len(self.spans)) if needle in self.body(k)]


_PLUS_ONE = (1).__add__


def _starts(text: str) -> array:
    """The offset each line of ``text`` starts at, and one past the end."""
    return array("q", accumulate(map(_PLUS_ONE, map(len, text.split("\n"))), initial=0))


class Lines:
    """The lines of a text, as ``text.split("\\n")`` gives them, each cut
    from the text when asked for: not a string per line kept for the few a
    message shows."""

    __slots__ = ("_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = _starts(text)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self.text[self._starts[i]:self._starts[i + 1] - 1]


def _spans(clean: str, starts: Sequence[int]) -> list[tuple[str, int, int, int]]:
    """Each function's (name, name line, "{" line index, "}" line index):
    a "{" alone on its line (trailing blanks aside), the lines above it back
    to a blank line or one that ends a statement, a block or a directive
    naming the function, and the first "}" alone after it, unless a line
    starting with "{" comes first (a missing close: not a function we can
    read). Lines are found with ``str.find``: on x86.c a loop over its
    13,000 lines took twice as long."""
    spans: list[tuple[str, int, int, int]] = []
    lines = clean.split("\n")
    text = "\n" + clean  # a line starts after each "\n": offsets shift by one
    pos = 0  # the next "{" line starts at this offset of ``clean`` or later
    while True:
        at = text.find("\n{", pos)
        if at < 0:
            return spans
        i = bisect.bisect_right(starts, at) - 1
        pos = at + 1
        if lines[i].rstrip() != "{":
            continue
        end = _close(text, lines, starts, i)
        if end is None:
            continue
        head_start = i
        while head_start > 0:
            prev = lines[head_start - 1].rstrip()
            if not prev.strip() or prev.endswith((";", "}", "{")) or prev.lstrip().startswith("#"):
                break
            head_start -= 1
        head = "\n".join(lines[head_start:i])
        name = _NAME.search(head)
        if name is None:
            continue
        spans.append((name.group(1), head_start + 1 + head.count("\n", 0, name.start()), i, end))
        pos = starts[end + 1]


def _close(text: str, lines: list[str], starts: Sequence[int], i: int) -> int | None:
    """The index of the first line after line ``i`` that is "}" alone, or
    None when a line starting with "{" comes first or none is."""
    after = starts[i + 1] if i + 1 < len(lines) else len(text)
    opens = text.find("\n{", after)
    at = after
    while True:
        close = text.find("\n}", at)
        if close < 0 or 0 <= opens < close:
            return None
        end = bisect.bisect_right(starts, close) - 1
        if lines[end].rstrip() == "}":
            return end
        at = close + 1


@lru_cache(maxsize=4)
def text_file(path: str, text: str, slots: tuple[str, ...] = ()) -> TextFile:
    """The TextFile of a text, made once: in git mode every commit's
    analysis reads the same context files (x86.c, cpuid.c), and what a
    TextFile holds, read on demand, is a function of the text alone."""
    return TextFile(path, text, slots)


def functions(path: str, text: str, slots: tuple[str, ...] = ()) -> list[TextFunction]:
    """The functions a kernel C file defines, in order, each read."""
    tf = text_file(path, text, slots)
    return [tf.function(k) for k in range(len(tf.spans))]


def _read_body(fn: TextFunction, body: str, origin: int, starts: Sequence[int], raw: Lines,
               inval: re.Pattern) -> None:
    def line_at(pos: int) -> int:  # pos: offset in the body
        return bisect.bisect_right(starts, origin + pos)

    for m in _CALL.finditer(body):
        name = m.group(1)
        if name not in _NOT_CALLS and name not in fn.calls:
            fn.calls.add(name)
            fn.call_lines[name] = line_at(m.start())
    if "arch." not in body and "_role" not in body:
        return
    fn.reads.update(_ARCH_MEMBER.findall(body))
    pos = 0
    for chunk in body.split(";"):
        if "arch." in chunk or "_role" in chunk:  # a write or an invalidation can be here
            _statement(fn, chunk, pos, line_at, raw, inval)
        pos += len(chunk) + 1


def _statement(fn: TextFunction, chunk: str, pos: int, line_at, raw: Lines,
               inval: re.Pattern) -> None:
    # the statement after the last brace or control head: `if (x) { y = 1` -> `y = 1`
    cut = 0
    for m in _HEAD_END.finditer(chunk):
        closes = m.group(0).startswith(")")
        if not closes or chunk.count("(", 0, m.start()) <= chunk.count(")", 0, m.start() + 1):
            cut = m.end()
    tail = chunk[cut:]
    lead = len(tail) - len(tail.lstrip())
    line = line_at(pos + cut + lead)
    text = " ".join(tail.split())
    m = _ASSIGN.search(text)
    if m is not None:
        for member in _ARCH_MEMBER.findall(text[:m.start()]):
            fn.writes.append(Write(member, line, _shown(raw, line, text)))
    for cm in _WRITING_CALL.finditer(text):
        args = text[cm.end():].split(",")
        for t in args if cm.group(1) in _WRITES_ANY_ARG else args[:1]:
            for member in _ARCH_MEMBER.findall(t):
                fn.writes.append(Write(member, line, _shown(raw, line, text)))
    if inval.search(text):
        fn.invalidates.append((line, text))


def _shown(raw: Lines, line: int, fallback: str) -> str:
    got = raw[line - 1].strip() if 0 < line <= len(raw) else ""
    return got if got and ("=" in got or "(" in got) else fallback


# a line that starts a definition in kernel style: at column 0, the name and
# its "(" with no ";" before (calls are indented; prototypes end in ";")
_DEFINITION = re.compile(r"^[A-Za-z_][^;=(\n]*?\b([A-Za-z_]\w*)\s*\([^;\n]*$", re.M)


@lru_cache(maxsize=64)
def defined_names(text: str) -> frozenset[str]:
    """Names of the functions a file may define, from the lines that start
    a definition in kernel style (a superset: a prototype split over lines
    is one too); once per text: git mode reads the same files commit after
    commit."""
    return frozenset(_DEFINITION.findall(text))

