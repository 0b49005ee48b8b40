"""Helpers for the patch-input tests: throwaway git repositories that produce
real patches, the fixture C files, and web-archive damage."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "patches"
# the published founding patch: MMU_ROLE_LINT_SEED names it; the project's CI
# keeps it in a directory beside the checkout
SEED = Path(os.environ.get("MMU_ROLE_LINT_SEED")
            or Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_e9e3743810e1fbe5.txt")


def require_seed() -> Path:
    """The seed patch as published on the web archive (``SEED``). Missing,
    the test skips; under CI=true it fails, since CI has it and a skip there
    would hide a lost input."""
    import pytest
    from kernels import in_ci

    if SEED.is_file():
        return SEED
    if in_ci():
        pytest.fail(f"CI needs the seed patch at {SEED}")
    pytest.skip(f"no seed patch at {SEED}; set MMU_ROLE_LINT_SEED to the published patch")

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.org",
    "GIT_AUTHOR_DATE": "2019-02-22T11:46:22+0000",
    "GIT_COMMITTER_DATE": "2019-02-22T11:46:22+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def tree(files: dict[str, str]) -> Callable[[str], str | None]:
    """A pre-image reader over an in-memory tree."""
    return files.get


def unified_diff(path: str, pre: str, post: str, context: int = 3) -> str:
    """A git-style diff of two texts that end with a newline (or are
    empty), made by difflib rather than by the code under test."""
    assert pre.endswith("\n") or not pre, "difflib cannot mark a missing final newline"
    assert post.endswith("\n") or not post, "difflib cannot mark a missing final newline"
    # Lines with their ends, split on LF only (str.splitlines also splits on U+2028).
    old = [line + "\n" for line in pre.split("\n")[:-1]]
    new = [line + "\n" for line in post.split("\n")[:-1]]
    body = difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=context)
    return f"diff --git a/{path} b/{path}\n" + "".join(body)


def damage_like_web_archive(patch_text: str) -> str:
    """What a web mail archive does to a patch (see the seed): context lines
    lose all leading whitespace, including the space that marks them, and
    the indentation after ``+``/``-`` collapses to one space. Only hunk
    bodies are touched (found by the header counts); headers stay."""
    out = []
    old = new = 0
    for line in patch_text.split("\n"):
        if old > 0 or new > 0:
            op, rest = (line[:1] or " "), line[1:]
            old -= op != "+"
            new -= op != "-"
            if op == " ":
                line = rest.lstrip()
            elif rest.strip():
                line = op + " " + rest.lstrip()
            else:
                line = op
        elif match := _HUNK.match(line):
            old, new = (int(n) if n is not None else 1 for n in match.groups())
        out.append(line)
    return "\n".join(out)


class GitRepo:
    """A tiny repository in a temporary directory, to get patches exactly as
    git writes them and file contents exactly as git leaves them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **_GIT_ENV}
        done = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, capture_output=True, check=True
        )
        return done.stdout.decode("utf-8", "surrogateescape")

    def git_bytes(self, *args: str) -> bytes:
        env = {**os.environ, **_GIT_ENV}
        return subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, capture_output=True, check=True
        ).stdout

    def write(self, name: str, content: str | bytes) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode())

    def commit(self, message: str, files: dict[str, str | bytes | None]) -> str:
        """Write (or delete, for None) files and commit them; return the sha."""
        for name, content in files.items():
            if content is None:
                self.git("rm", "-q", name)
            else:
                self.write(name, content)
                self.git("add", name)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def show(self, rev: str, name: str) -> str | None:
        """The content of ``name`` at ``rev``, or None when it does not exist."""
        try:
            return self.git("show", f"{rev}:{name}")
        except subprocess.CalledProcessError:
            return None

    def reader(self, rev: str) -> Callable[[str], str | None]:
        return lambda name: self.show(rev, name)
