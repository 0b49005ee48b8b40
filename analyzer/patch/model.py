"""The records every patch shape is read into."""

from __future__ import annotations

from analyzer.errors import UserError
from analyzer.record import field, record


class PatchError(UserError):
    """A patch that cannot be used (no diff in the input, a hunk that does not
    apply). The message names the file and hunk and says what to do."""


@record
class Hunk:
    """One ``@@ -a,b +c,d @@`` hunk. ``lines`` holds (op, text) with op one of
    ' ', '-', '+' and text without its line end."""

    src_start: int
    src_len: int
    dst_start: int
    dst_len: int
    section: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)
    # "\\ No newline at end of file" after the last old-side / new-side line.
    old_no_newline: bool = False
    new_no_newline: bool = False
    # Read leniently (web-archive damage or counts that did not match the
    # header): the applier matches it ignoring whitespace and re-indents it.
    damaged: bool = False

    @property
    def header(self) -> str:
        return f"@@ -{self.src_start},{self.src_len} +{self.dst_start},{self.dst_len} @@"


@record
class FilePatch:
    """Changes to one file. ``old_path`` is None for a new file, ``new_path``
    None for a deleted one; paths are relative to the tree top (prefix
    stripped like ``git apply -p1``)."""

    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False
    # ``copy from``/``copy to``: the old path stays in the tree.
    copied: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


@record
class Patch:
    """One patch of a series, as read: its subject and its file changes.

    ``damaged`` is set by the reader when the text looks copied from a web
    archive (context indentation lost); the applier then repairs it and says
    so in what it returns (``apply.Applied``), leaving this record as read."""

    subject: str
    files: list[FilePatch] = field(default_factory=list)
    damaged: bool = False
    notes: list[str] = field(default_factory=list)
    author: str = ""
    date: str = ""
    # The commit message body (without the subject, the ``---`` notes and
    # the diffstat), for tags such as ``Fixes:``.
    message: str = ""
    # Where the patch came from, e.g. ``series.mbox, mail 2``.
    source: str = ""

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]
