"""Where the mails of an mbox start, and whether a mail's body is encoded:
read by ``check``'s raw-bytes answer (``commands.untouched``) and by the
patch reader alike.

Both are questions about line starts, asked of inputs as long as a
release's diff (47,700 lines): a multi-line regular expression tries every
offset, so the lines that can match are found with ``str.find`` first and
only those are matched (11 ms against 0.3 ms on that diff)."""

from __future__ import annotations

import re

# multi-line: "^" then also matches where ``match(text, at)`` starts a line
MBOX_FROM = re.compile(r"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ", re.MULTILINE)
_ENCODED = re.compile(rb"^content-transfer-encoding:\s*(?:base64|quoted-printable)",
                      re.IGNORECASE | re.MULTILINE)
_ENCODED_NAME = b"content-transfer-encoding:"


def mail_starts(text: str) -> list[int]:
    """The offsets of the lines that start a mail (``From <sender> <day> ``)."""
    return [at for at in _line_starts(text, "From ") if MBOX_FROM.match(text, at)]


def encoded(data: bytes) -> bool:
    """Whether a line of ``data`` declares a base64 or quoted-printable body."""
    lowered = data.lower()
    return any(_ENCODED.match(data, at) for at in _line_starts(lowered, _ENCODED_NAME))


def _line_starts(text: str | bytes, prefix) -> list[int]:
    """The offsets of the lines of ``text`` (str or bytes) that start with ``prefix``."""
    newline = "\n" if isinstance(text, str) else b"\n"
    out = [0] if text.startswith(prefix) else []
    at = text.find(newline + prefix)
    while at >= 0:
        out.append(at + 1)
        at = text.find(newline + prefix, at + 1)
    return out
