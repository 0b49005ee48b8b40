"""A content-addressed cache of analyses, outside the user's tree.

The analysis of an image depends only on its files' text and on this
program: the key hashes both (the text of each file; the version, and the
path, size and modification time of every module and rules/ file of the
package, as Python checks that a module's bytecode is current), so an edited
file or a new version of mmu-role-lint never reads a stale entry. Entries
live under ``$MMU_ROLE_LINT_CACHE`` (default
``$XDG_CACHE_HOME/mmu-role-lint`` or ``~/.cache/mmu-role-lint``) in
``analyses/``, ``findings/`` (an analysis's findings alone, what the base
of an edit analyzed from nothing is read for) and ``neutral/``;
``MMU_ROLE_LINT_NO_CACHE=1`` turns the cache off. A cache that cannot be
written is simply not used.

Anyone who can write the cache can plant an entry (keys are predictable),
so an entry is data that cannot execute (analyses are JSON, read by
``analyzer.store``), and reading one trusts nothing: only a regular file,
never through a symlink, never a FIFO, of at most 64 MiB
(``analyzer.filereader``), whose header names this format, its kind and its
key and carries the sha256 of the payload. Anything else is a miss; a broken
regular file of ours is removed, and the entry is written again.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer import __version__
from analyzer.encoding import decode, encode
from analyzer.errors import UserError
from analyzer.filereader import MAX_BYTES, read_bytes
from analyzer.neutralize import LOOP_REPLACEMENTS
from analyzer.ruledata import rules_dir

if TYPE_CHECKING:
    from analyzer.analysis import Analysis

FORMAT = 2  # bump when what is stored changes shape
_MAGIC = b"mmu-role-lint-cache"
_HEADER_MAX = 256


def cache_root() -> Path | None:
    if os.environ.get("MMU_ROLE_LINT_NO_CACHE", "").strip() not in ("", "0"):
        return None
    env = os.environ.get("MMU_ROLE_LINT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mmu-role-lint"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of this program: its modules and rule data."""
    return program_digest(Path(__file__).resolve().parent, rules_dir())


def program_digest(package: Path, rules: Path) -> str:
    """A digest of this version of the program and of the modules under
    ``package`` and the rule files in ``rules``: each one's path (from above
    ``package``), size and time of last modification, which is how Python
    decides whether a module's bytecode is current. An edit changes the
    digest, as it changes the code that runs; a copy that keeps the files'
    times keeps it, and a new install (pip gives its files the time of the
    install) starts a new set of entries. Reading and hashing every module
    instead cost a tenth of a warm check."""
    h = hashlib.sha256(f"format {FORMAT} version {__version__}".encode())
    top = len(str(package.parent)) + 1
    found: list[tuple[str, int, int]] = []
    _stat_files(str(package), ".py", top, found)
    _stat_files(str(rules), ".toml", len(str(rules.parent)) + 1, found, deep=False)
    for rel, size, mtime in sorted(found):
        h.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def _stat_files(folder: str, suffix: str, top: int, out: list, deep: bool = True) -> None:
    """(path after ``top`` characters, size, mtime_ns) of each file ending
    in ``suffix`` in ``folder``, and with ``deep`` in its subfolders (not
    __pycache__)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir():  # followed, as rglob did
                if deep and entry.name != "__pycache__":
                    _stat_files(entry.path, suffix, top, out)
            elif entry.name.endswith(suffix):
                st = entry.stat()
                out.append((entry.path[top:], st.st_size, st.st_mtime_ns))


def image_key(files: dict[str, str], headers: dict[str, str],
              context: dict[str, str] | None = None) -> str:
    h = hashlib.sha256(code_digest().encode())
    for group in (files, headers, context or {}):
        for path, text in group.items():
            h.update(b"\0" + encode(path) + b"\0")
            h.update(hashlib.sha256(encode(text)).digest())
        h.update(b"\1")
    return h.hexdigest()


def text_key(text: str) -> str:
    return hashlib.sha256(code_digest().encode() + encode(text)).hexdigest()


def _path(key: str, kind: str) -> Path | None:
    root = cache_root()
    return None if root is None else root / kind / key[:2] / key


def _header(key: str, kind: str, payload: bytes) -> bytes:
    digest = hashlib.sha256(payload).hexdigest()
    return b" ".join([_MAGIC, str(FORMAT).encode(), kind.encode(), key.encode(), digest.encode()]) + b"\n"


def _write(key: str, kind: str, payload: bytes) -> None:
    """Write atomically (a reader never sees half an entry); give up quietly."""
    path = _path(key, kind)
    if path is None or len(payload) > MAX_BYTES - _HEADER_MAX:
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
            tmp = fh.name
            fh.write(_header(key, kind, payload) + payload)
        os.replace(tmp, path)  # replaces a planted symlink or FIFO, not what it points to
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _read(key: str, kind: str) -> bytes | None:
    """The payload of an entry, or None: no entry, not a regular file (a
    symlink is not followed, a FIFO not opened), too large, or a header that
    does not match (another format, kind or key; a checksum that says the
    payload changed)."""
    path = _path(key, kind)
    if path is None:
        return None
    try:
        data = read_bytes(path, str(path), follow=False)
    except UserError:  # none, or no regular file, or too large
        _discard(key, kind)
        return None
    head, sep, payload = data.partition(b"\n")
    if not sep or len(head) > _HEADER_MAX or head + sep != _header(key, kind, payload):
        _discard(key, kind)
        return None
    return payload


def _discard(key: str, kind: str) -> None:
    """Remove a broken entry if it is a regular file of ours; anything else
    is left alone (the next store replaces it)."""
    path = _path(key, kind)
    if path is None:
        return
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid():
            path.unlink()


def load(key: str, kind: str = "analyses") -> Analysis | None:
    """The analysis stored under ``key``, or None (a miss)."""
    from analyzer.store import Malformed
    from analyzer.store import decode as decode_analysis

    payload = _read(key, kind)
    if payload is None:
        return None
    try:
        with _long_lived():
            return decode_analysis(payload)
    except Malformed:  # the checksum held: written by something else
        _discard(key, kind)
        return None


@contextlib.contextmanager
def _long_lived():
    """Objects made in this block live as long as the run (an analysis read
    back is the base of every check after it): the cyclic collector does not
    scan them while they are made, nor again after (``gc.freeze``). That is
    a tenth of a warm check."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def store(key: str, value: Analysis, kind: str = "analyses") -> None:
    from analyzer.store import encode as encode_analysis

    try:
        payload = encode_analysis(value)
    except (TypeError, ValueError, RecursionError):  # a value the format has no place for
        return
    _write(key, kind, payload)


def load_text(key: str, like: str, kind: str = "neutral") -> str | None:
    """The neutralized text stored under ``key`` for the text ``like``, or
    None when there is none or it cannot be a neutralization of ``like``."""
    payload = _read(key, kind)
    if payload is None:
        return None
    text = decode(payload)
    if not plausible_neutral(like, text):
        _discard(key, kind)
        return None
    return text


def store_text(key: str, text: str, kind: str = "neutral") -> None:
    _write(key, kind, encode(text))


def plausible_neutral(text: str, neutral: str) -> bool:
    """Could ``neutral`` be ``neutralize(text)``? Same length and lines, and
    every character that differs is one a rewrite writes (a blank, ``_``,
    a loop head) over an ASCII character that is not a newline."""
    if len(neutral) != len(text):
        return False
    lines, neutral_lines = text.split("\n"), neutral.split("\n")
    if len(lines) != len(neutral_lines):
        return False
    for a, b in zip(lines, neutral_lines, strict=True):
        if a != b and (len(a) != len(b) or any(
                x != y and (y not in _REWRITTEN or not x.isascii()) for x, y in zip(a, b, strict=True))):
            return False
    return True


# what a rewrite of neutralize writes: blanks, "_" joining a type's words, loop heads
_REWRITTEN = frozenset(" _" + "".join(LOOP_REPLACEMENTS))
