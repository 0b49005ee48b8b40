"""Reading input files: regular files only, up to a size cap, and files of
the tree never through a symbolic link.

Anything else is one line saying why: a device or FIFO named on the command
line would be read without end or block forever, and a symlink in a tree
(say ``mmu.c -> /etc/passwd``) would read a file outside it into a report.
Git mode never follows symlinks either (it skips mode 120000 entries), so a
checkout scans like its commit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from analyzer.errors import UserError

MIB = 1024 * 1024
MAX_BYTES = 64 * MIB  # per file and for standard input: far above any patch series or MMU source

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)
_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def too_big(shown: str, size: int | None = None) -> UserError:
    got = f" ({size / MIB:.0f} MiB)" if size is not None else ""
    return UserError(f"{shown}: larger than the {MAX_BYTES // MIB} MiB mmu-role-lint reads{got}; "
                     "pass a smaller file (split a long series into parts)")


def read_bytes(path: Path, shown: str, wanted: str = "a file", *, follow: bool = True) -> bytes:
    """A regular file's bytes, or one line saying why they cannot be read.
    With ``follow=False`` a symlink is refused even as the last component."""
    try:
        before = os.stat(path, follow_symlinks=follow)
        if stat.S_ISREG(before.st_mode):
            fd = os.open(path, _FLAGS | (0 if follow else os.O_NOFOLLOW))
        else:
            fd = None
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file") from None
    except OSError as err:
        raise UserError(f"{shown}: cannot read ({err.strerror})") from None
    if fd is None:
        raise UserError(f"{shown}: is {kind_of(before.st_mode)}, not a regular file; pass {wanted}")
    with os.fdopen(fd, "rb") as fh:
        try:
            now = os.fstat(fd)  # what was opened, in case the path changed since
            if not stat.S_ISREG(now.st_mode):
                raise UserError(f"{shown}: is {kind_of(now.st_mode)}, not a regular file; pass {wanted}")
            if now.st_size > MAX_BYTES:
                raise too_big(shown, now.st_size)
            data = fh.read(MAX_BYTES + 1)
        except OSError as err:
            raise UserError(f"{shown}: cannot read ({err.strerror})") from None
    if len(data) > MAX_BYTES:
        raise too_big(shown)
    return data


def symlink_in(tree: Path, rel: str) -> str | None:
    """The first component of ``rel`` under ``tree`` that is a symbolic
    link, or None (also when the path does not exist)."""
    parts = rel.split("/")
    for k in range(1, len(parts) + 1):
        try:
            mode = os.lstat(tree.joinpath(*parts[:k])).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return "/".join(parts[:k])
    return None


def tree_file(tree: Path, rel: str) -> bytes | None:
    """The bytes of ``tree/rel`` when it is a regular file reached without a
    symlink; None when it is not there (or only through a symlink)."""
    if symlink_in(tree, rel) is not None:
        return None
    path = tree / rel
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if not stat.S_ISREG(mode):
        return None
    return read_bytes(path, rel, "a C source", follow=False)
