"""Rebuild hunks damaged by web mail archives from the pre-image they apply to.

Archives drop the leading whitespace of context lines and squeeze the tab
after ``+``/``-`` into one space (the seed). Neither ``git apply`` nor
``patch -l`` accepts that. Once a damaged hunk has been located ignoring
whitespace, its context and removed lines are taken from the file as they
really are, and each added line is re-indented:

* a line that still starts with a tab kept its indentation and is left alone;
* otherwise the indentation comes from the nearest non-blank pre-image line
  after the run of added lines (context or removed), else the nearest one
  before it;
* braces inside the run shift it by whole tabs: walking from that anchor,
  an opening ``{`` indents the lines inside one level more, and a line that
  starts with ``}`` sits one level up from the block it closes;
* comment continuation lines (``* ...``) get the kernel's one extra space,
  preprocessor lines (``#...``) start at column 0, blank lines stay empty.

Labels, ``case`` lines and continuation lines of long expressions are not
modelled: they take their anchor's indentation. The repair is good enough to
recover exact kernel-style code in the usual patch and is always reported.
"""

from __future__ import annotations

from analyzer.patch.model import Hunk

TAB = "\t"


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
    k = pos
    for op, text in hunk.lines:
        if op == "+":
            run.append(text)
            continue
        out.extend(("+", line) for line in _reindent(run, texts, k))
        run = []
        out.append((op, texts[k]))
        k += 1
    out.extend(("+", line) for line in _reindent(run, texts, k))
    return out


def _reindent(run: list[str], texts: list[str], at: int) -> list[str]:
    """Indent a run of added lines that sits before pre-image line ``at``."""
    if not run:
        return []
    following = next((i for i in range(at, len(texts)) if texts[i].strip()), None)
    if following is not None:
        return _from_following(run, texts[following])
    previous = next((i for i in range(at - 1, -1, -1) if texts[i].strip()), None)
    return _from_previous(run, texts[previous] if previous is not None else "")


def _from_following(run: list[str], anchor: str) -> list[str]:
    """Walk the run backwards from the line after it: that line's block
    depth is known, each line's braces tell the depth before it."""
    base = _indent_of(anchor)
    depth_after = 1 if _closes(anchor) else 0
    out = [""] * len(run)
    for idx in range(len(run) - 1, -1, -1):
        opens, closes = _braces(run[idx])
        depth_before = depth_after - opens + closes
        out[idx] = _place(run[idx], base, depth_before - _closes(run[idx]))
        depth_after = depth_before
    return out


def _from_previous(run: list[str], anchor: str) -> list[str]:
    """Walk the run forwards from the line before it (used at the end of a
    file, where nothing follows)."""
    opens, closes = _braces(anchor)
    depth = int(_closes(anchor)) + opens - closes
    out = []
    for text in run:
        out.append(_place(text, _indent_of(anchor), depth - _closes(text)))
        opens, closes = _braces(text)
        depth += opens - closes
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
        base = (
            base[:-1]
            if base.endswith(TAB)
            else base[:-8]
            if base.endswith(" " * 8)
            else base.rstrip(" ")
        )
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
