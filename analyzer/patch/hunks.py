"""Hunk bodies, read by their header's line counts as ``git apply`` reads
them, and what is wrong when the lines do not fit the counts.

A body is read strictly first: exactly the lines the header claims, each
starting with ``' '``, ``'-'`` or ``'+'`` (an empty line is an empty context
line). When that fails, where the lines stop tells the cause:

* the text ends first: the patch is cut short (a truncated download or
  paste), an error;
* a line without a diff marker comes first: the text looks copied from a
  web archive, which drops the space that marks context lines. The hunk is
  read leniently up to the next header and must meet its counts that way;
  it is marked ``damaged`` for the applier to repair. If the lenient reading
  runs to the end of the text without meeting them, the patch is cut short;
  if it reaches the next header, the counts are wrong, an error.

A strict body whose counts are met while the very next line is a change
line too has counts that are wrong as well: git would silently drop that
line, and with it part of the change.
"""

from __future__ import annotations

from unidiff.constants import RE_HUNK_HEADER

from analyzer.patch.model import Hunk

CUT_SHORT = "cut short"
WRONG_COUNTS = "wrong counts"
MORE_LINES = "more lines"

SIGNATURES = ("-- ", "--")


class CountError(Exception):
    """The body does not fit the header. ``at`` is the index of the line
    that shows it (the last line, for a cut-short patch); ``old`` and
    ``new`` count the lines that were there."""

    def __init__(self, kind: str, at: int, old: int, new: int) -> None:
        super().__init__(kind)
        self.kind, self.at, self.old, self.new = kind, at, old, new


def read_body(lines: list[str], i: int, hunk: Hunk) -> int:
    """Fill ``hunk`` from ``lines[i:]``; return the index after its body.
    Raises CountError when the body does not fit the header's counts."""
    end, status = _read_strict(lines, i, hunk)
    if status == "ok":
        if _is_change_line(lines, end):
            raise CountError(MORE_LINES, end, *_counts(hunk.lines))
        return end
    if status == "end":
        old, new = _counts(_damaged_body(lines[i:], strict=False)[0])
        raise CountError(CUT_SHORT, len(lines) - 1, old, new)
    return _read_lenient(lines, i, hunk)


def file_or_hunk_header(lines: list[str], i: int) -> bool:
    line = lines[i]
    return line.startswith("diff --git ") or bool(RE_HUNK_HEADER.match(line)) or minus_plus(lines, i)


def minus_plus(lines: list[str], i: int) -> bool:
    """A ``--- old`` line followed by a ``+++ new`` line."""
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _counts(body: list[tuple[str, str]]) -> tuple[int, int]:
    return sum(op != "+" for op, _ in body), sum(op != "-" for op, _ in body)


def _is_change_line(lines: list[str], k: int) -> bool:
    """A ``+``/``-`` line that is no signature and no file header."""
    if k >= len(lines):
        return False
    line = lines[k]
    return line[:1] in ("+", "-") and line not in SIGNATURES and not line.startswith(("---", "+++"))


def _read_strict(lines: list[str], i: int, hunk: Hunk) -> tuple[int, str]:
    """Read a hunk body by its header counts, as git apply does. The status
    is "ok", "end" (the text ended first) or "bad" (a line that is not a
    diff line, or more lines of one side than the header claims)."""
    need_old, need_new = hunk.src_len, hunk.dst_len
    body: list[tuple[str, str]] = []
    add = body.append
    marked: set[int] = set()
    n = len(lines)
    while need_old > 0 or need_new > 0 or (i < n and lines[i].startswith("\\")):
        if i >= n:
            return i, "end"
        line = lines[i]
        op = line[:1] or " "  # an empty line is an empty context line
        if op == " ":
            need_old -= 1
            need_new -= 1
        elif op == "-":
            need_old -= 1
        elif op == "+":
            need_new -= 1
        elif op == "\\":
            marked.add(len(body) - 1)
            i += 1
            continue
        else:
            return i, "bad"
        if need_old < 0 or need_new < 0:
            return i, "bad"
        add((op, line[1:]))
        i += 1
    _set_body(hunk, body, marked)
    return i, "ok"


def _read_lenient(lines: list[str], i: int, hunk: Hunk) -> int:
    """Read a damaged hunk: ``+``/``-`` lines are changes, anything else is
    context; the hunk ends at the next hunk or file header, the ``-- ``
    signature or the end of text. Where the header counts are met, the rest
    (trailing prose or blank lines) is dropped."""
    start = i
    while i < len(lines) and not _ends_damaged_hunk(lines, i):
        i += 1
    # A web archive puts a space after the +/- marker. A line like
    # "++sp->root_count;" or "-EINVAL);" is then context whose indentation
    # was lost; prefer that reading when it meets the header counts.
    # Only when no line kept a context marker: then indentation was stripped.
    web_copy = not any(line.startswith(" ") for line in lines[start:i])
    for strict in (True, False) if web_copy else (False,):
        body, marked = _damaged_body(lines[start:i], strict)
        keep = _counts_met(body, hunk.src_len, hunk.dst_len)
        if keep is not None:
            break
    else:
        kind = CUT_SHORT if i == len(lines) else WRONG_COUNTS
        raise CountError(kind, len(lines) - 1 if kind == CUT_SHORT else start - 1, *_counts(body))
    _set_body(hunk, body[:keep], {m for m in marked if m < keep})
    hunk.damaged = True
    return i


def _damaged_body(lines: list[str], strict: bool) -> tuple[list[tuple[str, str]], set[int]]:
    body: list[tuple[str, str]] = []
    marked: set[int] = set()
    for line in lines:
        if line.startswith("\\"):
            marked.add(len(body) - 1)
        elif line[:1] in ("+", "-") and (not strict or line[1:2] in ("", " ", "\t")):
            body.append((line[0], line[1:]))
        else:
            body.append((" ", line[1:] if line.startswith(" ") else line))
    return body, marked


def _counts_met(body: list[tuple[str, str]], src_len: int, dst_len: int) -> int | None:
    """How many lines of ``body`` meet the counts exactly, or None."""
    old = new = 0
    if src_len == dst_len == 0:
        return 0
    for k, (op, _) in enumerate(body):
        old += op != "+"
        new += op != "-"
        if (old, new) == (src_len, dst_len):
            return k + 1
    return None


def _ends_damaged_hunk(lines: list[str], i: int) -> bool:
    return lines[i] in SIGNATURES or file_or_hunk_header(lines, i)


def _set_body(hunk: Hunk, body: list[tuple[str, str]], marked: set[int]) -> None:
    """A no-newline marker counts for a side only when it follows that
    side's last line (the only place a marker can mean anything)."""
    hunk.lines = body
    if not marked:  # the common case: no marker, nothing to place
        hunk.old_no_newline = hunk.new_no_newline = False
        return
    last_old = max((k for k, (op, _) in enumerate(body) if op != "+"), default=None)
    last_new = max((k for k, (op, _) in enumerate(body) if op != "-"), default=None)
    hunk.old_no_newline = last_old is not None and last_old in marked
    hunk.new_no_newline = last_new is not None and last_new in marked

