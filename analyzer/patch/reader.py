"""Read patches in the shapes they arrive in: plain unified diffs, ``git
format-patch`` mails, mbox series (``git format-patch --stdout``, ``b4 am``)
and text copied from web mail archives.

The input is cut into mails first (mbox ``From <sha> <date>`` lines); each
mail is decoded with the standard ``email`` package (RFC 2047 subjects,
quoted-printable and base64 bodies, attachments) and its body is read as a
diff. Hunk bodies are read by their header's line counts, like ``git apply``
does, so commit messages, diffstats, RFC notes and signatures around the diff
never leak into hunks. A hunk whose lines do not fit its counts is read again
leniently and the patch is marked ``damaged`` so the applier can repair it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message

from unidiff.constants import (
    DEV_NULL,
    RE_BINARY_DIFF,
    RE_HUNK_HEADER,
    RE_SOURCE_FILENAME,
    RE_TARGET_FILENAME,
)

from analyzer.encoding import decode, encode
from analyzer.patch.model import FilePatch, Hunk, Patch, PatchError

# An mbox separator: git writes "From <sha> Mon Sep 17 00:00:00 2001",
# b4 writes "From git@z Thu Jan  1 00:00:00 1970".
_MBOX_FROM = re.compile(r"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ", re.MULTILINE)
_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:[ \t]|$)")
_GIT_SHOW = re.compile(r"^commit [0-9a-f]{7,64}\b")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]|re:)\s*", re.IGNORECASE)
# git's a/ b/ prefixes, their mnemonic variants (c/ i/ o/ w/) and --no-index 1/ 2/.
_GIT_PREFIX = re.compile(r"^[abciow12]/")
# More digits than any real line number: such a header is noise, not a hunk.
_MAX_DIGITS = 9
_SIGNATURES = ("-- ", "--")
_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass
class _Text:
    """One mail or text chunk, reduced to what the diff reader needs."""

    subject: str = ""
    author: str = ""
    date: str = ""
    body: list[str] = field(default_factory=list)
    message: str = ""


def read_patches(data: bytes | str, *, source: str = "<input>") -> list[Patch]:
    """Read every patch in ``data``, one per mail, in input order.

    Mails without a diff (cover letters) are skipped with a note on the first
    patch. Raises PatchError when nothing in the input is a usable diff."""
    chunks = _split_mails(_decode(data))
    patches: list[Patch] = []
    skipped: list[str] = []
    for number, chunk in enumerate(chunks, 1):
        where = source if len(chunks) == 1 else f"{source}, mail {number}"
        text = _read_chunk(chunk)
        patch = _build_patch(text, where)
        if patch is None:
            skipped.append(text.subject or f"mail {number}")
        else:
            patches.append(patch)
    if not patches:
        raise PatchError(
            f"cannot read patches: no diff found in {source}; "
            "pass a unified diff, a git format-patch mail or an mbox"
        )
    _reject_binary_only(patches, source)
    if skipped:
        patches[0].notes.append(
            f"skipped {len(skipped)} mail(s) without a diff: {'; '.join(skipped)}"
        )
    return patches


def _reject_binary_only(patches: list[Patch], source: str) -> None:
    """An input whose only changes are binary gives the analyzer nothing to
    read; say so instead of silently reporting no findings."""
    files = [f for p in patches for f in p.files]
    if files and all(f.binary for f in files):
        names = ", ".join(dict.fromkeys(f.path for f in files))
        raise PatchError(
            f"cannot read patches: {source} holds only binary diffs ({names}); "
            "pass a text diff of the sources"
        )


def _decode(data: bytes | str) -> str:
    """Bytes that are not UTF-8 keep their bytes (``analyzer.encoding``), so
    that diff lines read like the tree they were made from."""
    return data if isinstance(data, str) else decode(data)


def _lines(text: str) -> list[str]:
    """Split on LF only (str.splitlines would also split on form feeds and
    other separators that may sit inside a source line) and drop CRs before
    the LF, so CRLF mails read like LF ones."""
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [part.rstrip("\r") for part in parts]


def _split_mails(text: str) -> list[str]:
    starts = [m.start() for m in _MBOX_FROM.finditer(text)]
    if not starts:
        return [text]
    chunks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    head = text[: starts[0]]
    return [head, *chunks] if head.strip() else chunks


def _read_chunk(chunk: str) -> _Text:
    lines = _lines(chunk)
    if _looks_like_mail(lines):
        return _read_mail(chunk)
    return _read_text(lines)


def _looks_like_mail(lines: list[str]) -> bool:
    """True when the chunk opens with an RFC 822 header block naming From or
    Subject (after an optional mbox From_ line)."""
    names: set[str] = set()
    start = 1 if lines and lines[0].startswith("From ") and not lines[0].startswith("From:") else 0
    for line in lines[start:]:
        if not line:
            break
        match = _HEADER.match(line)
        if match:
            names.add(match.group(1).lower())
        elif not (names and line[0] in " \t"):
            return False
    return bool(names & {"from", "subject"})


def _read_mail(chunk: str) -> _Text:
    msg = message_from_bytes(encode(chunk))
    text = _Text(
        subject=_header_text(msg.get("Subject")),
        author=_header_text(msg.get("From")),
        date=_header_text(msg.get("Date")),
        body=_lines(_body_text(msg)),
    )
    _apply_in_body_headers(text)
    text.subject = _clean_subject(text.subject)
    text.message = _message(text.body)
    return text


def _header_text(value: object) -> str:
    """Decode RFC 2047 words and unfold; a header the email package cannot
    decode is kept as written rather than failing the whole input."""
    if value is None:
        return ""
    raw = re.sub(r"\r?\n[ \t]+", " ", str(value))
    try:
        return str(make_header(decode_header(raw)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return raw


def _body_text(msg: Message) -> str:
    """The text of every part that can hold a patch, decoded from its
    transfer encoding and charset."""
    texts = []
    for part in msg.walk():
        if part.is_multipart() or not (part is msg or _may_hold_patch(part)):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(_decode_payload(payload, part.get_content_charset()))
    return "\n".join(texts)


def _may_hold_patch(part: Message) -> bool:
    ctype = part.get_content_type()
    return (
        (ctype.startswith("text/") and ctype != "text/html") or "patch" in ctype or "diff" in ctype
    )




def _decode_payload(payload: bytes, charset: str | None) -> str:
    """A part in UTF-8 (what git format-patch declares), ASCII or no charset
    is read byte for byte like the tree (``git am`` applies the bytes as
    sent), so a Latin-1 line in it still matches its file. A part in another
    charset was converted by the mailer, so it is decoded from that charset."""
    try:
        name = codecs.lookup(charset or "utf-8").name
    except LookupError:
        name = "utf-8"
    if name in ("utf-8", "ascii"):
        return decode(payload)
    return payload.decode(name, "replace")


def _apply_in_body_headers(text: _Text) -> None:
    """git format-patch puts the real author (and git am honours a new
    subject) in ``From:``/``Subject:`` lines opening the body."""
    body = text.body
    count = 0
    while count < len(body) and (match := _HEADER.match(body[count])):
        name = match.group(1).lower()
        if name not in ("from", "subject", "date"):
            break
        value = body[count][match.end() :].strip()
        setattr(text, {"from": "author"}.get(name, name), value)
        count += 1
    if count and (count == len(body) or not body[count].strip()):
        text.body = body[count:]


def _clean_subject(subject: str) -> str:
    """Drop ``[PATCH v2 3/7]``-style prefixes (and ``Re:``) the way git am
    does, and collapse the whitespace left by folding."""
    subject = " ".join(subject.split())
    while True:
        cleaned = _SUBJECT_PREFIX.sub("", subject, count=1)
        if cleaned == subject:
            return subject
        subject = cleaned


# What diff tools print before a file's ---/+++ lines: never a subject.
_DIFF_TOOL_LINES = ("diff ", "Index: ", "Only in ", "====", "Binary files ")


def _read_text(lines: list[str]) -> _Text:
    """A chunk that is not a mail: a plain diff, ``git show`` output, or a
    web-archive copy (a title line, ``From:``/``Date:`` lines, the body)."""
    text = _Text(body=lines)
    pre = lines[: _diff_start(lines)]
    k = 0
    while k < len(pre) and (not pre[k].strip() or _MBOX_FROM.match(pre[k])):
        k += 1
    if k < len(pre) and _GIT_SHOW.match(pre[k]):
        k = _read_header_lines(pre, k + 1, text)
        message = [line.strip() for line in pre[k:]]
        while message and not message[0]:
            message.pop(0)
        text.subject = message.pop(0) if message else ""
        text.message = _message(message)
    elif k < len(pre):
        if not _HEADER.match(pre[k]) and not pre[k].startswith(_DIFF_TOOL_LINES):
            text.subject = pre[k]
            k += 1
        while k < len(pre) and not pre[k].strip():
            k += 1
        text.message = _message(pre[_read_header_lines(pre, k, text) :])
    text.subject = _clean_subject(text.subject)
    return text


def _read_header_lines(lines: list[str], k: int, text: _Text) -> int:
    """Take ``From:``/``Author:``/``Date:``/``Subject:`` lines starting at
    ``k`` into ``text``; return the index after them."""
    while k < len(lines) and (match := _HEADER.match(lines[k])):
        name, value = match.group(1).lower(), lines[k][match.end() :].strip()
        if name in ("from", "author"):
            text.author = value
        elif name in ("date", "subject"):
            setattr(text, name, value)
        k += 1
    return k


def _message(body: list[str]) -> str:
    """The commit message: the body before the ``---`` line or the diff."""
    end = min(_diff_start(body), body.index("---") if "---" in body else len(body))
    return "\n".join(body[:end]).strip()


def _diff_start(lines: list[str]) -> int:
    return next((i for i in range(len(lines)) if _file_header(lines, i)), len(lines))


def _file_header(lines: list[str], i: int) -> bool:
    line = lines[i]
    return (
        line.startswith("diff --git ") or _minus_plus(lines, i) or bool(RE_BINARY_DIFF.match(line))
    )


def _minus_plus(lines: list[str], i: int) -> bool:
    """A ``--- old`` line followed by a ``+++ new`` line."""
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _minus_plus_names(lines: list[str], i: int) -> tuple[str, str]:
    return _name(lines[i], RE_SOURCE_FILENAME), _name(lines[i + 1], RE_TARGET_FILENAME)


def _build_patch(text: _Text, where: str) -> Patch | None:
    diff = _DiffReader(text.body, where)
    diff.read()
    if not diff.files:
        return None
    notes = diff.notes + [f"binary diff of {f.path} ignored" for f in diff.files if f.binary]
    if diff.damaged:
        notes.append("hunks read leniently: the text looks copied from a web archive")
    return Patch(
        subject=text.subject,
        files=diff.files,
        damaged=diff.damaged,
        notes=notes,
        author=text.author,
        date=text.date,
        message=text.message,
        source=where,
    )


class _DiffReader:
    """Walks the lines of one mail body and collects its file patches."""

    def __init__(self, lines: list[str], where: str) -> None:
        self.lines = lines
        self.where = where
        self.files: list[FilePatch] = []
        self.notes: list[str] = []
        self.damaged = False

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
            elif _minus_plus(lines, i):
                current = self._new_file(*_minus_plus_names(lines, i))
                i += 2
            elif (binary := RE_BINARY_DIFF.match(line)) is not None:
                current = self._new_file(
                    binary.group("source_filename"), binary.group("target_filename")
                )
                current.binary = True
                i += 1
            elif current is not None and not current.binary and hunk_match and _sane(hunk_match):
                i = self._hunk(current, i, hunk_match)
            else:
                i += 1

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
        binary = False
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
            elif _minus_plus(lines, j):
                old, new = _minus_plus_names(lines, j)
                j += 2
                break
            else:
                break
            j += 1
        fp = FilePatch(*self._section_paths(old, new, fields), binary=binary)
        fp.copied = "copy from " in fields
        self.files.append(fp)
        return fp, j

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
        src_start, src_len, dst_start, dst_len, section = match.groups()
        hunk = Hunk(
            int(src_start),
            1 if src_len is None else int(src_len),
            int(dst_start),
            1 if dst_len is None else int(dst_len),
            section or "",
        )
        end = _read_strict(self.lines, i + 1, hunk)
        if end is None:
            end = _read_lenient(self.lines, i + 1, hunk)
            self.damaged = hunk.damaged = True
            self._note_counts(fp, hunk)
        fp.hunks.append(hunk)
        return end

    def _note_counts(self, fp: FilePatch, hunk: Hunk) -> None:
        old = sum(op != "+" for op, _ in hunk.lines)
        new = sum(op != "-" for op, _ in hunk.lines)
        if (old, new) != (hunk.src_len, hunk.dst_len):
            self.notes.append(
                f"{fp.path}: hunk {hunk.header} has {old} old and {new} new lines "
                f"where its header says {hunk.src_len} and {hunk.dst_len}"
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


def _read_strict(lines: list[str], i: int, hunk: Hunk) -> int | None:
    """Read a hunk body by its header counts, as git apply does; None when a
    line is not a diff line or the text ends first."""
    need_old, need_new = hunk.src_len, hunk.dst_len
    body: list[tuple[str, str]] = []
    marked: set[int] = set()
    while need_old > 0 or need_new > 0 or (i < len(lines) and lines[i].startswith("\\")):
        if i >= len(lines):
            return None
        line = lines[i]
        op = line[:1] or " "  # an empty line is an empty context line
        i += 1
        if op == "\\":
            marked.add(len(body) - 1)
            continue
        if op not in " -+":
            return None
        need_old -= op != "+"
        need_new -= op != "-"
        if need_old < 0 or need_new < 0:
            return None
        body.append((op, line[1:]))
    _set_body(hunk, body, marked)
    return i


def _read_lenient(lines: list[str], i: int, hunk: Hunk) -> int:
    """Read a damaged hunk: ``+``/``-`` lines are changes, anything else is
    context; the hunk ends at the next hunk or file header, the ``-- ``
    signature or the end of text. Where the header counts are reached, the
    rest (trailing prose or blank lines) is dropped."""
    start = i
    while i < len(lines) and not _ends_damaged_hunk(lines, i):
        i += 1
    # A web archive puts a space after the +/- marker. A line like
    # "++sp->root_count;" or "-EINVAL);" is then context whose indentation
    # was lost; prefer that reading when it meets the header counts.
    # Only when no line kept a context marker: then indentation was stripped.
    web_copy = not any(line.startswith(" ") for line in lines[start:i])
    for strict in ((True, False) if web_copy else (False,)):
        body, marked = _damaged_body(lines[start:i], strict)
        if not strict or _counts_met(body, hunk.src_len, hunk.dst_len):
            break
    keep = _fit_counts(body, hunk.src_len, hunk.dst_len)
    _set_body(hunk, body[:keep], {m for m in marked if m < keep})
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


def _counts_met(body: list[tuple[str, str]], src_len: int, dst_len: int) -> bool:
    old = new = 0
    for op, _ in body:
        old += op != "+"
        new += op != "-"
        if (old, new) == (src_len, dst_len):
            return True
    return False


def _ends_damaged_hunk(lines: list[str], i: int) -> bool:
    line = lines[i]
    return (
        line in _SIGNATURES
        or line.startswith("diff --git ")
        or bool(RE_HUNK_HEADER.match(line))
        or _minus_plus(lines, i)
    )


def _fit_counts(body: list[tuple[str, str]], src_len: int, dst_len: int) -> int:
    """How many lines of a leniently read body to keep: up to where the
    header counts are first met, else all but trailing blank lines that
    overshoot them."""
    old = new = 0
    if src_len == dst_len == 0:
        return 0
    for k, (op, _) in enumerate(body):
        old += op != "+"
        new += op != "-"
        if (old, new) == (src_len, dst_len):
            return k + 1
    keep = len(body)
    while keep and body[keep - 1] == (" ", "") and (old > src_len or new > dst_len):
        keep -= 1
        old, new = old - 1, new - 1
    return keep


def _set_body(hunk: Hunk, body: list[tuple[str, str]], marked: set[int]) -> None:
    """A no-newline marker counts for a side only when it follows that
    side's last line (the only place a marker can mean anything)."""
    hunk.lines = body
    last_old = max((k for k, (op, _) in enumerate(body) if op != "+"), default=None)
    last_new = max((k for k, (op, _) in enumerate(body) if op != "-"), default=None)
    hunk.old_no_newline = last_old is not None and last_old in marked
    hunk.new_no_newline = last_new is not None and last_new in marked


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
