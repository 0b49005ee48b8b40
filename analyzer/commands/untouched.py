"""``check``'s answer, from the raw bytes, for input that certainly touches
no role file: most patches a kernel developer checks (issue 16).

Reading a patch properly loads the email package and the patch reader; a
plain diff or a ``git format-patch`` mail whose body is not base64 or
quoted-printable shows every file it touches on its ``diff --git`` lines,
so when none of them can be a role path, each patch is skipped ("no role
code touched") without that machinery, and without the tree.

``untouched`` answers only when it is sure the reader would read the same
patches, subjects and files and leave no note: git-made sections with a
hunk each, hunks whose lines fit their counts (not cut short, not damaged
by a web archive), ASCII headers, no cover letter. Anything else is None,
and the reader decides (tests/test_untouched.py holds the two together)."""

from __future__ import annotations

import re

from analyzer.mbox import encoded, mail_starts

# Where a role path could be named: analyzer.sources.is_role_path accepts
# only paths that hold one of these.
ROLE_TOKENS = ("arch/x86/kvm/mmu", "paging_tmpl.h", "kvm_host.h")
# as analyzer.patch.reader splits an mbox and cleans a subject
_HEADER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):(?:[ \t]|$)")
_SUBJECT_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]|re:)\s*", re.IGNORECASE)
_GIT_FILE = re.compile(r"^diff --git a/(\S+) b/(\S+)$")
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
# a diff --git line naming a role path, found in the raw bytes: such input
# is the reader's at once, before it is decoded and split into lines (a
# release diff's megabytes)
_ROLE_DIFF = re.compile(rb"^diff --git [^\n]*(?:" + b"|".join(re.escape(t.encode()) for t in ROLE_TOKENS)
                        + b")", re.MULTILINE)
_IN_BODY = ("from", "subject", "date")  # what git am takes from the top of the body
# lines of a git file header that name no path, or name it as diff --git does
_GIT_HEADER = ("index ", "new file mode ", "deleted file mode ", "old mode ", "new mode ",
               "--- ", "+++ ")


def untouched(inputs: list[bytes]) -> list[tuple[str, list[str]]] | None:
    """(subject, files) of every patch in ``inputs``, in order, when none can
    touch a role file and the reader would read them the same; else None."""
    from analyzer.encoding import decode

    out: list[tuple[str, list[str]]] = []
    for data in inputs:
        if b"\0" in data or _ROLE_DIFF.search(data) or encoded(data):
            return None
        chunks = _mails(decode(data))
        if chunks is None:
            return None
        for chunk in chunks:
            patch = _patch(chunk)
            if patch is None:
                return None
            out.append(patch)
    return out


def _mails(text: str) -> list[str] | None:
    starts = mail_starts(text)
    if not starts:
        return [text]
    if text[: starts[0]].strip():
        return None  # text before the first mail: the reader reads it as one more chunk
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return [part.rstrip("\r") for part in parts] if "\r" in text else parts


def _patch(chunk: str) -> tuple[str, list[str]] | None:
    lines = _lines(chunk)
    start = 1 if lines and lines[0].startswith("From ") else 0
    if start < len(lines) and _HEADER.match(lines[start]):
        subject, body = _mail_head(lines, start)
        if subject is None:
            return None
    else:
        body = lines[start:]
        first = next((line for line in body if line.strip()), "")
        if not first.startswith("diff --git "):
            return None  # a title line, git show output: the reader knows them
        subject = ""
    files = _files(body)
    return None if not files else (subject, files)


def _mail_head(lines: list[str], start: int) -> tuple[str | None, list[str]]:
    """The cleaned subject and the body of a mail; subject None when the
    reader could read it otherwise: a header that is not ASCII or has
    encoded words, MIME parts, a subject or author in the body."""
    names: dict[str, str] = {}
    k, name = start, None
    while k < len(lines) and lines[k]:
        if not lines[k].isascii():
            return None, []
        match = _HEADER.match(lines[k])
        if match:
            name = match.group(1).lower()
            names[name] = lines[k][match.end():]
        elif name is not None and lines[k][0] in " \t":
            names[name] += " " + lines[k].strip()
        else:
            return None, []
        k += 1
    subject = names.get("subject")
    body = lines[k + 1:]
    lead = _HEADER.match(next((line for line in body if line.strip()), ""))
    if (subject is None or "=?" in subject or names.get("content-type", "").strip().lower()
            .startswith("multipart") or (lead and lead.group(1).lower() in _IN_BODY)):
        return None, []
    subject = " ".join(subject.split())
    while (cleaned := _SUBJECT_PREFIX.sub("", subject, count=1)) != subject:
        subject = cleaned
    return subject, body


def _files(body: list[str]) -> list[str] | None:
    """The paths of the git sections of a body, when every one is a plain
    change of one path with hunks that fit their counts; None otherwise."""
    files: list[str] = []
    hunks = 0  # hunks of the current section
    k = 0
    while k < len(body):
        line = body[k]
        if line.startswith("diff "):
            match = _GIT_FILE.match(line)
            if (match is None or match.group(1) != match.group(2) or not line.isascii()
                    or (files and not hunks)):
                return None  # a rename, a quoted name, a section without a hunk
            if any(token in line for token in ROLE_TOKENS):
                return None
            files.append(match.group(1))
            hunks = 0
            k += 1
            while k < len(body) and body[k].startswith(_GIT_HEADER):
                if body[k].startswith(("--- ", "+++ ")) and any(t in body[k] for t in ROLE_TOKENS):
                    return None
                k += 1
            continue
        hunk = _HUNK.match(line)
        if hunk is not None and files:
            k = _past_hunk(body, k + 1, int(hunk.group(1) or 1), int(hunk.group(2) or 1))
            if k < 0:
                return None
            hunks += 1
            continue
        if line.startswith(("--- ", "+++ ", "Binary files ", "GIT binary patch", "rename ",
                            "copy ", "Index: ", "*** ")) or (hunk is not None):
            return None  # a diff the reader reads some other way
        k += 1
    return files if files and hunks else None


def _past_hunk(body: list[str], k: int, old: int, new: int) -> int:
    """The index after a hunk body of ``old`` and ``new`` lines, -1 when the
    lines do not fit (cut short, damaged) or more change lines follow."""
    while old > 0 or new > 0:
        if k >= len(body):
            return -1
        op = body[k][:1]
        if op == " ":
            old, new = old - 1, new - 1
        elif op == "-":
            old -= 1
        elif op == "+":
            new -= 1
        elif op != "\\":
            return -1
        if old < 0 or new < 0:
            return -1
        k += 1
    while k < len(body) and body[k].startswith("\\"):
        k += 1
    after = body[k] if k < len(body) else ""
    if after[:1] in ("+", " ") or (after[:1] == "-" and after != "-- "
                                   and not after.startswith("--- ")):
        return -1  # more change lines than the counts say
    return k
