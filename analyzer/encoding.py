"""How bytes become text: one decoding for tree files, git blobs and patches.

Kernel sources are UTF-8, but not all of them: names in comments may be
Latin-1, and file names may hold any byte. Every input is decoded as UTF-8
with ``surrogateescape``, so a byte that is not UTF-8 becomes one lone
surrogate (U+DC80-U+DCFF) and nothing is lost: a context line of a patch
reads exactly like the same line of the tree it was made from, whatever its
bytes. Whatever turns text back into bytes (hashing, tree-sitter, output)
uses ``encode``, which gives the original bytes back.
"""

from __future__ import annotations

import codecs

_ERRORS = "mmu-role-lint-surrogates"


def _keep_surrogates(err: UnicodeError) -> tuple[bytes, int]:
    """``surrogateescape`` for the surrogates ``decode`` makes, ``surrogatepass``
    for any other lone surrogate (only text handed in as ``str`` has those),
    one character at a time, so a character's bytes never depend on the rest."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    out = bytearray()
    for ch in err.object[err.start : err.end]:
        code = ord(ch)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else ch.encode("utf-8", "surrogatepass")
    return bytes(out), err.end


codecs.register_error(_ERRORS, _keep_surrogates)


def decode(data: bytes) -> str:
    """Text of ``data``; bytes that are not UTF-8 are kept as surrogates."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """The bytes ``decode`` read ``text`` from (any other lone surrogate is
    kept as its UTF-8 form)."""
    return text.encode("utf-8", _ERRORS)
