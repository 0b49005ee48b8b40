"""A content-addressed cache of analyses, outside the user's tree.

The analysis of an image depends only on its files' text and on this
program: the key hashes both (every module and rules/ file of the package),
so an edited file or a new version of mmu-role-lint never reads a stale
entry. Entries live under ``$MMU_ROLE_LINT_CACHE`` (default
``$XDG_CACHE_HOME/mmu-role-lint`` or ``~/.cache/mmu-role-lint``) in
``analyses/``; ``MMU_ROLE_LINT_NO_CACHE=1`` turns the cache off. A broken or
unreadable entry is ignored and written again; a cache that cannot be
written is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path

from analyzer.encoding import decode, encode
from analyzer.ruledata import rules_dir

FORMAT = 1  # bump when what is stored changes shape


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
    h = hashlib.sha256(f"format {FORMAT}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted([*package.rglob("*.py"), *rules_dir().glob("*.toml")]):
        h.update(str(path.relative_to(path.parents[1])).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def image_key(files: dict[str, str], headers: dict[str, str]) -> str:
    h = hashlib.sha256(code_digest().encode())
    for group in (files, headers):
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


def _write(key: str, kind: str, data: bytes) -> None:
    """Write atomically (a reader never sees half an entry); give up quietly."""
    path = _path(key, kind)
    if path is None:
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
            tmp = fh.name
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def load(key: str, kind: str = "analyses"):
    path = _path(key, kind)
    if path is None:
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # a broken entry: forget it
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def store(key: str, value, kind: str = "analyses") -> None:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    _write(key, kind, data)


def load_text(key: str, kind: str = "neutral") -> str | None:
    path = _path(key, kind)
    if path is None:
        return None
    try:
        return decode(path.read_bytes())
    except OSError:
        return None


def store_text(key: str, text: str, kind: str = "neutral") -> None:
    _write(key, kind, encode(text))
