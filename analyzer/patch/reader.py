"""Read patches in the shapes they arrive in: plain unified diffs, ``git
format-patch`` mails, mbox series (``git format-patch --stdout``, ``b4 am``)
and text copied from web mail archives.

The input is cut into mails first (mbox ``From <sha> <date>`` lines); a
mail that needs decoding is decoded with the standard ``email`` package
(RFC 2047 subjects, quoted-printable and base64 bodies, attachments), one
that needs none (what git format-patch writes) is read as that package
reads it without loading it (``_plain_mail``), and its body is read as a
diff (``sections``). Hunk bodies are read by their header's line counts, like
``git apply`` does (``hunks``), so commit messages, diffstats, RFC notes and
signatures around the diff never leak into hunks. A hunk whose context lines
lost their marker (a web-archive copy) is read again leniently and the patch
is marked ``damaged`` so the applier can repair it; a patch cut short, or
with counts that do not fit its lines, is refused.
"""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING

from unidiff.constants import RE_BINARY_DIFF

from analyzer.encoding import decode, encode
from analyzer.mbox import MBOX_FROM, mail_starts
from analyzer.patch.hunks import minus_plus
from analyzer.patch.model import Patch, PatchError
from analyzer.patch.sections import DiffReader
from analyzer.record import field, record

if TYPE_CHECKING:
    from email.message import Message

# An mbox separator: git writes "From <sha> Mon Sep 17 00:00:00 2001",
# b4 writes "From git@z Thu Jan  1 00:00:00 1970".
_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:[ \t]|$)")
_GIT_SHOW = re.compile(r"^commit [0-9a-f]{7,64}\b")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]|re:)\s*", re.IGNORECASE)


@record
class _Text:
    """One mail or text chunk, reduced to what the diff reader needs."""

    subject: str = ""
    author: str = ""
    date: str = ""
    body: list[str] = field(default_factory=list)
    message: str = ""
    # The input line number of body[0], None when the body was decoded from
    # a transfer encoding (its lines are not the input's).
    first_line: int | None = 1


def read_patches(data: bytes | str, *, source: str = "<input>") -> list[Patch]:
    """Read every patch in ``data``, one per mail, in input order.

    Mails without a diff (cover letters) are skipped with a note on the first
    patch. Raises PatchError when nothing in the input is a usable diff."""
    chunks = _split_mails(_decode(data))
    patches: list[Patch] = []
    skipped: list[str] = []
    for number, (chunk, line) in enumerate(chunks, 1):
        where = source if len(chunks) == 1 else f"{source}, mail {number}"
        text = _read_chunk(chunk, line)
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
    return [part.rstrip("\r") for part in parts] if "\r" in text else parts


def _split_mails(text: str) -> list[tuple[str, int]]:
    """The mails of an mbox (or the whole text), each with the input line
    number it starts at."""
    starts = mail_starts(text)
    if not starts:
        return [(text, 1)]
    bounds = zip(starts, [*starts[1:], len(text)], strict=True)
    chunks = [(text[a:b], text.count("\n", 0, a) + 1) for a, b in bounds]
    head = text[: starts[0]]
    return [(head, 1), *chunks] if head.strip() else chunks


def _read_chunk(chunk: str, line: int) -> _Text:
    lines = _lines(chunk)
    if _looks_like_mail(lines):
        return _read_mail(chunk, line)
    text = _read_text(lines)
    text.first_line = line
    return text


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


def _read_mail(chunk: str, line: int) -> _Text:
    text = _read_plain(chunk, line) or _read_mime(chunk, line)
    _apply_in_body_headers(text)
    text.subject = _clean_subject(text.subject)
    text.message = _message(text.body)
    return text


def _read_plain(chunk: str, line: int) -> _Text | None:
    """A mail that needs no decoding (``_plain_mail``), read as the
    ``email`` package reads it; None for any other."""
    plain = _plain_mail(chunk)
    if plain is None:
        return None
    headers, body, blank = plain
    return _Text(subject=_unfold(headers.get("subject", "")), author=_unfold(headers.get("from", "")),
                 date=_unfold(headers.get("date", "")), body=_lines(body),
                 first_line=line + blank + 1)


def _read_mime(chunk: str, line: int) -> _Text:
    """A mail read with the standard ``email`` package."""
    from email import message_from_bytes  # only for mails: 10 ms a plain diff does not need

    msg = message_from_bytes(encode(chunk))
    return _Text(
        subject=_header_text(msg.get("Subject")),
        author=_header_text(msg.get("From")),
        date=_header_text(msg.get("Date")),
        body=_lines(_body_text(msg)),
        first_line=_body_line(chunk, msg, line),
    )


_PLAIN_TYPE = re.compile(r'text/plain(?:\s*;\s*charset\s*=\s*"?(?:utf-8|us-ascii)"?)?\s*', re.I)
_FIELD = re.compile(r"[\x21-\x39\x3b-\x7e]+")


def _plain_mail(chunk: str) -> tuple[dict[str, str], str, int] | None:
    """The headers (lower-case name -> value as the ``email`` package's
    compat32 policy gives it: the first of each name, continuation lines
    kept), the body and the index of the blank line before it, of a mail
    that needs no decoding: an ASCII header
    block with no encoded word nor CR, one text/plain part in UTF-8 or
    ASCII, no transfer encoding but 7bit or 8bit (what git format-patch
    writes). None for anything else, which the ``email`` package reads
    (its import alone costs a warm check a fortieth of its time)."""
    end = chunk.find("\n\n")
    if end < 0:
        return None
    block = chunk[:end]
    if not block.isascii() or "=?" in block or "\r" in block:
        return None
    lines = block.split("\n")
    if lines[0].startswith("From ") and not lines[0].startswith("From:"):
        lines = lines[1:]  # the mbox From_ line
    headers: dict[str, str] = {}
    name = ""
    first = False  # whether the header being read is the first of its name
    for text in lines:
        if text[:1] in (" ", "\t"):  # a continuation line
            if not name:
                return None
            if first:
                headers[name] += "\n" + text
            continue
        field, colon, value = text.partition(":")
        if not colon or _FIELD.fullmatch(field) is None:
            return None
        name = field.lower()
        first = name not in headers
        if first:
            headers[name] = value.lstrip(" \t")
    ctype = headers.get("content-type")
    if ctype is not None and _PLAIN_TYPE.fullmatch(ctype) is None:
        return None
    if headers.get("content-transfer-encoding", "7bit").strip().lower() not in ("7bit", "8bit"):
        return None
    return headers, chunk[end + 2:], block.count("\n") + 1


def _unfold(value: str) -> str:
    """A header's value on one line (all ``_header_text`` makes of a value
    with no encoded word)."""
    return _FOLD.sub(" ", value)


_FOLD = re.compile(r"\r?\n[ \t]+")


def _body_line(chunk: str, msg: Message, line: int) -> int | None:
    """The input line a mail's body starts at, when its lines are the
    input's (one part, not transfer-encoded)."""
    encoding = str(msg.get("Content-Transfer-Encoding", "")).strip().lower()
    if msg.is_multipart() or encoding not in ("", "7bit", "8bit", "binary"):
        return None
    lines = _lines(chunk)
    blank = next((k for k, text in enumerate(lines) if not text), len(lines))
    return line + blank + 1


def _header_text(value: object) -> str:
    """Decode RFC 2047 words and unfold; a header the email package cannot
    decode is kept as written rather than failing the whole input."""
    from email.errors import HeaderParseError
    from email.header import decode_header, make_header

    if value is None:
        return ""
    raw = _unfold(str(value))
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
        if text.first_line is not None:
            text.first_line += count


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
    while k < len(pre) and (not pre[k].strip() or MBOX_FROM.match(pre[k])):
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
        line.startswith("diff --git ") or minus_plus(lines, i) or bool(RE_BINARY_DIFF.match(line))
    )


def _build_patch(text: _Text, where: str) -> Patch | None:
    diff = DiffReader(text.body, where, text.first_line)
    diff.read()
    if not diff.files:
        return None
    notes = [f"binary diff of {f.path} ignored" for f in diff.files if f.binary]
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
