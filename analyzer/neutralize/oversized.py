"""Text out of proportion to its cost, left out of the parse (see the package doc)."""

from __future__ import annotations

import re

from analyzer.neutralize.lexis import _CONTINUATION, _PP_NAME_RE, _skeleton, _spaces
from analyzer.neutralize.structure import _after_directive
from analyzer.record import record

# What one line, and one function body, may cost. Kernel lines stay under 200
# characters and the largest KVM function under 20,000; past these sizes the
# parse and the analysis cost hundreds of bytes of memory per character.
MAX_LINE_LENGTH = 10_000  # characters in one line
MAX_BODY_LENGTH = 250_000  # characters inside one top-level {...} block

_LONG_LINE_RE = re.compile(rf"^[^\n]{{{MAX_LINE_LENGTH + 1}}}", re.MULTILINE)


@record(frozen=True, slots=True)
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
