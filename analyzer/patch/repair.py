"""Rebuild hunks damaged by web mail archives from the pre-image they apply to.

Archives drop the leading whitespace of context lines and squeeze the tab
after ``+``/``-`` into one space (the seed). Neither ``git apply`` nor
``patch -l`` accepts that. Once a damaged hunk has been located ignoring
whitespace, its context and removed lines are taken from the file as they
really are, and each run of added lines is re-indented from one anchor:

1. a run that directly follows removed lines replaces them: its first line
   takes the indentation of the first (non-blank) removed line;
2. otherwise the nearest non-blank pre-image line after the run (context or
   removed) gives the indentation the run must end at;
3. at the end of a file, the nearest non-blank line before the run.

From the anchor, braces shift lines by whole tabs: an opening ``{`` indents
the lines after it one level more, a line starting with ``}`` sits one
level up from the block it closes, and the line after a brace-less
``if``/``else``/``for``/``while``/``switch`` head gets one more tab.
Comment continuation lines (``* ...``) get the kernel's extra space,
preprocessor lines (``#...``) start at column 0, blank lines stay empty, and
a line that still starts with a tab kept its indentation and is left alone.

Labels, ``case`` lines, heads split over several lines and continuation
lines of long expressions are not modelled: they take their anchor's depth.
The repair recovers the usual kernel-style change exactly and is always
reported (``Applied.repaired``), never silent.
"""

from __future__ import annotations

import re

from analyzer.patch.model import Hunk

TAB = "\t"
_CONTROL = re.compile(r"^(?:\}\s*)?(?:if|for|while|else|switch)\b")


def loose_key(text: str) -> str:
    """A line with every whitespace character removed: what survives a web
    archive copy."""
    return "".join(text.split())


def rebuild(hunk: Hunk, texts: list[str], pos: int) -> list[tuple[str, str]]:
    """The exact lines of ``hunk`` located at ``pos`` in the pre-image
    ``texts``: old-side lines copied from the file, added lines
    re-indented."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    removed: int | None = None  # first line of the removed block before the run
    k = pos
    for op, text in hunk.lines:
        if op == "+":
            run.append(text)
            continue
        if run:
            out += [("+", line) for line in _reindent(run, texts, k, removed)]
            run, removed = [], None
        if op == "-" and removed is None:
            removed = k
        elif op == " ":
            removed = None
        out.append((op, texts[k]))
        k += 1
    out += [("+", line) for line in _reindent(run, texts, k, removed)]
    return out


def _reindent(run: list[str], texts: list[str], at: int, removed: int | None) -> list[str]:
    """Indent a run of added lines that sits before pre-image line ``at``,
    right after the removed block starting at ``removed`` if any."""
    if not run:
        return []
    start = at if removed is None else removed
    replaced = next((i for i in range(start, at) if texts[i].strip()), None)
    if replaced is not None:
        # The replaced line may be a brace-less body: its block sits a tab left.
        before = _nonblank_before(texts, replaced)
        base = _shift(_indent_of(texts[replaced]), -_body_of(before))
        return _forward(run, base, _closes(run[0]), before)
    before = _nonblank_before(texts, at)
    following = next((i for i in range(at, len(texts)) if texts[i].strip()), None)
    if following is not None:
        return _backward(run, texts[following], before)
    opens, closes = _braces(before)
    return _forward(run, _indent_of(before), _closes(before) + opens - closes, before)


def _nonblank_before(texts: list[str], at: int) -> str:
    return next((texts[i] for i in range(at - 1, -1, -1) if texts[i].strip()), "")


def _forward(run: list[str], base: str, depth: int, before: str) -> list[str]:
    """Walk the run forwards; ``depth`` is the block depth (relative to
    ``base``) at the start of the first line, ``before`` the line before it."""
    out = []
    for idx, text in enumerate(run):
        extra = _body_of(run[idx - 1] if idx else before)
        out.append(_place(text, base, depth - _closes(text) + extra))
        opens, closes = _braces(text)
        depth += opens - closes
    return out


def _backward(run: list[str], anchor: str, before: str) -> list[str]:
    """Walk the run backwards from the line after it: that line's block
    depth is known, each line's braces tell the depth before it."""
    base = _indent_of(anchor)
    depth_after = _closes(anchor)
    out = [""] * len(run)
    for idx in range(len(run) - 1, -1, -1):
        opens, closes = _braces(run[idx])
        depth_before = depth_after - opens + closes
        extra = _body_of(run[idx - 1] if idx else before)
        out[idx] = _place(run[idx], base, depth_before - _closes(run[idx]) + extra)
        depth_after = depth_before
    return out


def _place(text: str, base: str, depth: int) -> str:
    if text.startswith(TAB):
        return text
    body = text.lstrip()
    if not body:
        return ""
    if body.startswith("#"):
        return body
    indent = _shift(base, depth)
    return indent + (" " + body if body.startswith("*") else body)


def _shift(base: str, depth: int) -> str:
    """``base`` moved ``depth`` levels right (tabs) or left (a tab or eight
    spaces at a time, never below column 0)."""
    if depth >= 0:
        return base + TAB * depth
    for _ in range(-depth):
        if base.endswith(TAB):
            base = base[:-1]
        else:
            base = base[:-8] if base.endswith(" " * 8) else base.rstrip(" ")
    return base


def _indent_of(line: str) -> str:
    """Leading whitespace, without the extra space of a ``* ...`` comment
    line (that space is added back per line)."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    return indent.rstrip(" ") if body.startswith("*") else indent


def _braces(text: str) -> tuple[int, int]:
    return text.count("{"), text.count("}")


def _closes(text: str) -> int:
    return 1 if text.lstrip().startswith("}") else 0


def _body_of(previous: str) -> int:
    """1 when ``previous`` is a brace-less control head, so the line after
    it is its single-statement body."""
    body = previous.strip()
    return int(bool(_CONTROL.match(body)) and not body.endswith(("{", ";")))
