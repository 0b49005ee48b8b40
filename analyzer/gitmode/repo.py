"""A git repository, driven through the ``git`` command, and its commits
as records."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from analyzer.errors import UserError
from analyzer.record import record


@record
class Commit:
    sha: str
    short: str
    parents: list[str]
    subject: str

    @property
    def title(self) -> str:
        return f"{self.short} {self.subject}"


class Repo:
    """A git repository, driven through the ``git`` command."""

    def __init__(self, where: Path) -> None:
        # (path, blob id) -> text, of the image read last (``trees.read_blobs``):
        # in a series, the next commit's image differs from it in a file or two
        self.texts: dict[tuple[str, str], str] = {}
        # (commit id, parent id) -> what the commit changed, read ahead for a
        # whole range (``trees.prefetch_changes``)
        self.changes: dict[tuple[str, str], list[list[str]]] = {}
        # commit id -> (parent id, (path, new mode, new blob) of what it
        # changed), read ahead; commit id -> path -> blob of every file that
        # could be in its image (``trees.tree_entries``)
        self.made: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
        self.entries: dict[str, dict[str, str]] = {}
        self.where = where
        top = self._try("rev-parse", "--show-toplevel")
        self.bare = False
        if top is None:
            if self._try("rev-parse", "--git-dir") is None:
                raise UserError(f"{where}: not in a git repository; run it inside a kernel "
                                "checkout or pass --tree with one")
            self.top = where  # a bare repository (commits only, no index), or inside .git
            self.bare = self._try("rev-parse", "--is-bare-repository") == "true"
        else:
            self.top = Path(top)

    @staticmethod
    def _run(args: tuple[str, ...], cwd: Path, data: bytes | None = None
             ) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                                  check=False)
        except FileNotFoundError:
            raise UserError("git: command not found; install git") from None

    def _try(self, *args: str) -> str | None:
        """git's one-line answer, decoded as a file name, or None when git fails."""
        out = self._run(args, self.where)
        return os.fsdecode(out.stdout).rstrip("\n") if out.returncode == 0 else None

    def git(self, *args: str, data: bytes | None = None) -> bytes:
        """Run git at the top of the tree; a failure becomes a one-line UserError."""
        out = self._run(args, self.top, data)
        if out.returncode != 0:
            msg = out.stderr.decode(errors="replace").strip().splitlines()
            first = next((m for m in msg if m.startswith(("fatal:", "error:"))), msg[0] if msg else "")
            name = next((a for a in args if not a.startswith("-")), "")
            raise UserError(f"git {name}: {first or f'exit status {out.returncode}'}")
        return out.stdout

    def verify(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None."""
        return self._try("rev-parse", "--verify", "-q", f"{rev}^{{commit}}")

    def shallow(self) -> bool:
        return self._try("rev-parse", "--is-shallow-repository") == "true"

    def has(self, obj: str) -> bool:
        """Is the object ``obj`` names in the repository?"""
        return self._try("cat-file", "-e", obj) is not None

    def empty_tree(self) -> str:
        return self.git("hash-object", "-t", "tree", "--stdin", data=b"").decode().strip()


def open_repo(tree: str | None) -> Repo:
    where = Path(tree) if tree else Path.cwd()
    if not where.is_dir():
        raise UserError(f"{tree}: not a directory; pass --tree with the top of a kernel checkout")
    return Repo(where)
