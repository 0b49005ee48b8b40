"""The file sections of one diff body: ``diff --git`` headers and their
extended lines, traditional ``---``/``+++`` pairs, binary markers, file
names (git's quoting, ``-p1`` prefixes, paths kept inside the tree) and the
hunks of each section (read by ``hunks``).

Input that is corrupt (a header cut short, hunk counts that do not fit)
raises PatchError with the input line where it shows.
"""

from __future__ import annotations

import re

from unidiff.constants import (
    DEV_NULL,
    RE_BINARY_DIFF,
    RE_HUNK_HEADER,
    RE_SOURCE_FILENAME,
    RE_TARGET_FILENAME,
)

from analyzer.encoding import decode, encode
from analyzer.patch.hunks import CUT_SHORT, MORE_LINES, CountError, minus_plus, read_body
from analyzer.patch.model import FilePatch, Hunk, PatchError

# git's a/ b/ prefixes, their mnemonic variants (c/ i/ o/ w/) and --no-index 1/ 2/.
_GIT_PREFIX = re.compile(r"^[abciow12]/")
# More digits than any real line number: such a header is corrupt.
_MAX_DIGITS = 9
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _minus_plus_names(lines: list[str], i: int) -> tuple[str, str]:
    return _name(lines[i], RE_SOURCE_FILENAME), _name(lines[i + 1], RE_TARGET_FILENAME)


class DiffReader:
    """Walks the lines of one mail body and collects its file patches.
    ``first_line`` is the input line number of ``lines[0]`` (None when the
    body was transfer-decoded), for the messages of corrupt input."""

    def __init__(self, lines: list[str], where: str, first_line: int | None = 1) -> None:
        self.lines = lines
        self.where = where
        self.first_line = first_line
        self.files: list[FilePatch] = []
        self.damaged = False
        self._header_changes: set[int] = set()  # ids of sections changing a mode

    def read(self) -> None:
        """File headers open a file section; hunk headers inside a section
        belong to it; everything else (message, diffstat, signature, binary
        data) is skipped."""
        lines, i = self.lines, 0
        current: FilePatch | None = None
        while i < len(lines):
            line = lines[i]
            hunk_match = RE_HUNK_HEADER.match(line)
            if line.startswith("diff --git "):
                current, i = self._git_section(i)
            elif minus_plus(lines, i):
                current = self._new_file(*_minus_plus_names(lines, i))
                i += 2
            elif (binary := RE_BINARY_DIFF.match(line)) is not None:
                current = self._new_file(
                    binary.group("source_filename"), binary.group("target_filename")
                )
                current.binary = True
                i += 1
            elif current is not None and not current.binary and hunk_match:
                i = self._hunk(current, i, hunk_match)
            else:
                i += 1
        if current is not None and self._no_change(current):
            raise PatchError(
                f"{self.where}: the patch is cut short {self._at(len(lines) - 1)}: the file "
                f"header of {current.path} ends before any change; fetch the whole patch again"
            )

    def _at(self, k: int) -> str:
        return "at its end" if self.first_line is None else f"at line {self.first_line + k}"

    def _line(self, k: int) -> str:
        return "" if self.first_line is None else f" (line {self.first_line + k})"

    def _no_change(self, fp: FilePatch) -> bool:
        """A section that changes nothing: what is left of a file header
        when the text stops right after it."""
        return not (fp.hunks or fp.binary or fp.old_path != fp.new_path
                    or id(fp) in self._header_changes)

    def _new_file(self, old: str | None, new: str | None) -> FilePatch:
        """A file section opened by a traditional ``---``/``+++`` pair or a
        bare ``Binary files`` line (no ``diff --git``)."""
        fp = FilePatch(*self._checked(*_traditional(*_strip_prefixes(old, new))))
        self.files.append(fp)
        return fp

    def _checked(self, old: str | None, new: str | None) -> tuple[str | None, str | None]:
        for path in (old, new):
            if path is not None:
                _check_path(path, self.where)
        if old is None and new is None:
            raise PatchError(
                f"{self.where}: a file header names /dev/null on both sides; fix the --- and +++ lines"
            )
        return old, new

    def _git_section(self, i: int) -> tuple[FilePatch, int]:
        """``diff --git`` and its extended header lines, up to the first
        hunk (or the binary marker, or whatever ends the header)."""
        lines = self.lines
        old, new = _git_names(lines[i][len("diff --git ") :])
        fields: dict[str, str] = {}
        binary = named = False
        j = i + 1
        while j < len(lines):
            line = lines[j]
            key = next((k for k in _GIT_HEADER_KEYS if line.startswith(k)), None)
            if key is not None:
                fields[key] = line[len(key) :]
            elif line.startswith("Binary files ") or line == "GIT binary patch":
                binary = True
                j += 1
                break
            elif minus_plus(lines, j):
                old, new = _minus_plus_names(lines, j)
                named = True
                j += 2
                break
            else:
                break
            j += 1
        if not named and not binary:
            self._check_git_names(i, j, old, new, fields)
        fp = FilePatch(*self._section_paths(old, new, fields), binary=binary)
        fp.copied = "copy from " in fields
        if fields.keys() & {"old mode ", "new mode ", "new file mode ", "deleted file mode "}:
            self._header_changes.add(id(fp))
        self.files.append(fp)
        return fp, j

    def _check_git_names(self, i: int, j: int, old: str, new: str, fields: dict[str, str]) -> None:
        """Without ---/+++ lines or rename/copy lines, both names of the
        ``diff --git`` line are the file's: when they differ, the line is
        cut short or corrupt (git apply: "lacks filename information")."""
        if fields.keys() & {"rename from ", "rename to ", "copy from ", "copy to "}:
            return
        stripped_old, stripped_new = _strip_prefixes(old, new)
        if stripped_old == stripped_new:
            return
        header = self.lines[i]
        if all(not line.strip() for line in self.lines[j:]):
            raise PatchError(
                f"{self.where}: the patch is cut short {self._at(len(self.lines) - 1)}: the file "
                f"header {header!r} ends before its changes; fetch the whole patch again"
            )
        raise PatchError(
            f"{self.where}: the file header {header!r}{self._line(i)} names two different files "
            "but says neither rename nor copy; is the patch corrupt?"
        )

    def _section_paths(
        self, old: str | None, new: str | None, fields: dict[str, str]
    ) -> tuple[str | None, str | None]:
        old, new = _strip_prefixes(old, new)
        renamed_from = fields.get("rename from ", fields.get("copy from "))
        renamed_to = fields.get("rename to ", fields.get("copy to "))
        if renamed_from is not None:
            old = _unquote(renamed_from)
        if renamed_to is not None:
            new = _unquote(renamed_to)
        if "new file mode " in fields:
            old = None
        if "deleted file mode " in fields:
            new = None
        return self._checked(old, new)

    def _hunk(self, fp: FilePatch, i: int, match: re.Match[str]) -> int:
        if not _sane(match):
            raise PatchError(
                f"{self.where}: {fp.path}: the hunk header {self.lines[i][:60]!r}{self._line(i)} "
                "has impossible line numbers; is the patch corrupt?"
            )
        src_start, src_len, dst_start, dst_len, section = match.groups()
        hunk = Hunk(
            int(src_start),
            1 if src_len is None else int(src_len),
            int(dst_start),
            1 if dst_len is None else int(dst_len),
            section or "",
        )
        try:
            end = read_body(self.lines, i + 1, hunk)
        except CountError as err:
            raise self._count_error(fp, hunk, i, err) from None
        self.damaged = self.damaged or hunk.damaged
        fp.hunks.append(hunk)
        return end

    def _count_error(self, fp: FilePatch, hunk: Hunk, i: int, err: CountError) -> PatchError:
        claims = (f"{fp.path}: hunk {hunk.header} claims {hunk.src_len} old and "
                  f"{hunk.dst_len} new lines")
        if err.kind == CUT_SHORT:
            return PatchError(
                f"{self.where}: the patch is cut short {self._at(err.at)}: {claims}, "
                f"{err.old} and {err.new} present; fetch the whole patch again"
            )
        if err.kind == MORE_LINES:
            found = f"the change line after them{self._line(err.at)} belongs to it too"
        else:
            found = f"{err.old} and {err.new} come before the next header"
        return PatchError(
            f"{self.where}: {claims}{self._line(i)}, but {found}: its line counts are wrong "
            "(was the patch edited by hand?)"
        )


_GIT_HEADER_KEYS = (
    "old mode ",
    "new mode ",
    "deleted file mode ",
    "new file mode ",
    "similarity index ",
    "dissimilarity index ",
    "rename from ",
    "rename to ",
    "copy from ",
    "copy to ",
    "index ",
)


def _sane(match: re.Match[str]) -> bool:
    return all(len(g) <= _MAX_DIGITS for g in match.groups()[:4] if g is not None)


def _name(line: str, pattern: re.Pattern[str]) -> str:
    match = pattern.match(line)
    return _unquote(match.group("filename")) if match else ""


def _strip_prefixes(old: str | None, new: str | None) -> tuple[str | None, str | None]:
    """Strip the first path component like ``git apply -p1`` when the names
    carry git prefixes (a/ b/, or b/ a/ for ``git diff -R``) or two
    different top directories (quilt's ``linux.orig/``); keep them when both
    sides start the same (``git diff --no-prefix``)."""
    old = None if old in (None, DEV_NULL) else old
    new = None if new in (None, DEV_NULL) else new
    present = [p for p in (old, new) if p is not None]
    if not present:
        return None, None
    git_style = all(_GIT_PREFIX.match(p) for p in present)
    if not git_style and len(present) == 2 and "/" in present[0] and "/" in present[1]:
        git_style = present[0].split("/", 1)[0] != present[1].split("/", 1)[0]
    if not git_style:
        return old, new
    return _drop_first(old), _drop_first(new)


def _traditional(old: str | None, new: str | None) -> tuple[str | None, str | None]:
    """A diff without ``diff --git`` cannot rename: like GNU patch and git
    apply, use one name for both sides, the shorter one (``x.c`` over
    ``x.c.orig``), unless a side is /dev/null."""
    if old is None or new is None:
        return old, new
    name = min(old, new, key=lambda p: (p.count("/"), len(p)))
    return name, name


def _drop_first(path: str | None) -> str | None:
    return None if path is None else path.split("/", 1)[-1]


def _check_path(path: str, where: str) -> None:
    """Paths are handed to a file reader: never let a patch name a file
    outside the tree."""
    parts = path.split("/")
    if path.startswith("/") or "\0" in path or any(part in ("", ".", "..") for part in parts):
        raise PatchError(
            f"{where}: unusable path {path!r} in a file header; "
            "a patch may only name files inside the tree, relative to its top"
        )


def _git_names(rest: str) -> tuple[str, str]:
    """Split the two names of a ``diff --git`` line. Quoted names are
    C-unquoted; unquoted names may hold spaces, so prefer the split where
    both sides name the same file (what git does)."""
    if rest.startswith('"'):
        first, tail = _take_quoted(rest)
        return first, _unquote(tail.strip())
    if ' "' in rest:
        first, second = rest.split(' "', 1)
        return first, _unquote('"' + second)
    spaces = [k for k, ch in enumerate(rest) if ch == " "]
    for k in spaces:
        a, b = rest[:k], rest[k + 1 :]
        if _drop_first(a) == _drop_first(b):
            return a, b
    if spaces:
        return rest[: spaces[-1]], rest[spaces[-1] + 1 :]
    return rest, rest


def _take_quoted(text: str) -> tuple[str, str]:
    """The C-quoted string opening ``text`` and the rest after it."""
    k = 1
    while k < len(text) and text[k] != '"':
        k += 2 if text[k] == "\\" else 1
    return _unquote(text[: k + 1]), text[k + 1 :]


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of names with special characters."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    out = bytearray()
    body, k = name[1:-1], 0
    while k < len(body):
        ch = body[k]
        if ch == "\\" and k + 1 < len(body):
            nxt = body[k + 1]
            if nxt in "0123" and re.fullmatch(r"[0-7]{3}", body[k + 1 : k + 4]):
                out.append(int(body[k + 1 : k + 4], 8))
                k += 4
                continue
            if nxt in _C_ESCAPES:
                out.append(_C_ESCAPES[nxt])
                k += 2
                continue
        out += encode(ch)
        k += 1
    return decode(bytes(out))
