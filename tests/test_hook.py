"""``mmu-role-lint install-hook``: the hooks really run under ``git commit``
and ``git push``; a hook that is not ours is never lost."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_git import COMMENTS, MASK, git, git_env, new_repo, run

from analyzer.commands.hook import MARKER

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

FOREIGN = """#!/bin/sh
echo "foreign hook ran" >&2
touch "$(git rev-parse --git-dir)/foreign-ran"
exit 0
"""


def install(capsys, repo: Path, *args: str) -> tuple[int, str, str]:
    return run(capsys, "install-hook", "--tree", str(repo), *args)


def write_hook(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def commit(repo: Path, message: str = "a change") -> subprocess.CompletedProcess:
    return git(repo, "commit", "-q", "-m", message, check=False)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    return new_repo(tmp_path / "linux")


def test_fresh_repository_gets_an_executable_hook(capsys, repo):
    status, out, _ = install(capsys, repo)
    hook = repo / ".git" / "hooks" / "pre-commit"
    assert status == 0 and str(hook) in out and "installed" in out
    assert hook.stat().st_mode & stat.S_IXUSR
    text = hook.read_text()
    assert MARKER in text and "git --staged" in text
    assert os.path.abspath(sys.executable) in text  # the installing Python first
    assert "command -v mmu-role-lint" in text  # then PATH


def test_commit_with_a_staged_mismatch_is_refused(capsys, repo):
    install(capsys, repo)
    before = head(repo)
    git(repo, "apply", "--index", str(MASK))
    refused = commit(repo, "x86/kvm/mmu: drop nxe from the mask")
    assert refused.returncode != 0 and head(repo) == before
    assert "role field 'nxe'" in refused.stderr + refused.stdout
    assert "commit refused" in refused.stderr
    git(repo, "reset", "-q", "--hard")
    git(repo, "apply", "--index", str(COMMENTS))  # role code, nothing introduced
    done = commit(repo, "x86/kvm/mmu: comments")
    assert done.returncode == 0, done.stderr
    assert head(repo) != before


def test_foreign_hook_is_kept_unless_chain(capsys, repo):
    hook = repo / ".git" / "hooks" / "pre-commit"
    write_hook(hook, FOREIGN)
    status, out, err = install(capsys, repo)
    assert status == 2 and not out and len(err.splitlines()) == 1
    assert "--chain" in err and "mmu-role-lint git --staged || exit $?" in err
    assert hook.read_text() == FOREIGN


def test_chain_runs_the_foreign_hook_first(capsys, repo):
    hook = repo / ".git" / "hooks" / "pre-commit"
    write_hook(hook, FOREIGN)
    status, out, _ = install(capsys, repo, "--chain")
    local = hook.with_name("pre-commit.local")
    assert status == 0 and "pre-commit.local" in out
    assert local.read_text() == FOREIGN and MARKER in hook.read_text()
    # Both pass: the foreign hook ran, the commit is made.
    (repo / "README").write_text("changed\n")
    git(repo, "add", "README")
    done = commit(repo)
    assert done.returncode == 0, done.stderr
    assert (repo / ".git" / "foreign-ran").exists() and "foreign hook ran" in done.stderr
    # The foreign hook fails: its status blocks the commit.
    write_hook(local, "#!/bin/sh\necho 'foreign hook says no' >&2\nexit 3\n")
    (repo / "README").write_text("changed again\n")
    git(repo, "add", "README")
    before = head(repo)
    refused = commit(repo)
    assert refused.returncode != 0 and head(repo) == before
    assert "foreign hook says no" in refused.stderr
    # The foreign hook passes but ours finds a mismatch: still refused.
    write_hook(local, FOREIGN)
    git(repo, "apply", "--index", str(MASK))
    refused = commit(repo)
    assert refused.returncode != 0 and "role field 'nxe'" in refused.stderr


def test_core_hooks_path_is_honoured(capsys, repo):
    git(repo, "config", "core.hooksPath", ".githooks")
    status, _, _ = install(capsys, repo)
    assert status == 0
    assert (repo / ".githooks" / "pre-commit").is_file()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    git(repo, "apply", "--index", str(MASK))
    refused = commit(repo)
    assert refused.returncode != 0 and "role field 'nxe'" in refused.stderr


def test_reinstall_is_idempotent(capsys, repo):
    hook = repo / ".git" / "hooks" / "pre-commit"
    install(capsys, repo)
    first = hook.read_text()
    status, out, _ = install(capsys, repo)
    assert status == 0 and "already installed" in out
    assert hook.read_text() == first
    assert sorted(p.name for p in hook.parent.iterdir() if not p.name.endswith(".sample")) == \
        ["pre-commit"]
    # Chained, then installed again without --chain: the chain stays.
    hook.unlink()
    write_hook(hook, FOREIGN)
    install(capsys, repo, "--chain")
    chained = hook.read_text()
    status, out, _ = install(capsys, repo)
    assert status == 0 and hook.read_text() == chained and "\"$0.local\"" in chained
    assert hook.with_name("pre-commit.local").read_text() == FOREIGN


def test_hook_falls_back_to_the_tool_on_path(capsys, repo, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
    install(capsys, repo)
    bin_dir = tmp_path / "bin"
    log = tmp_path / "called"
    write_hook(bin_dir / "mmu-role-lint", f'#!/bin/sh\necho "$@" > "{log}"\nexit 0\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    git(repo, "apply", "--index", str(COMMENTS))  # a KVM MMU change: the tool is run
    assert commit(repo).returncode == 0
    assert log.read_text().split() == ["git", "--staged"]


def test_pre_push_checks_the_pushed_commits(capsys, repo, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    status, _, _ = install(capsys, repo, "--pre-push")
    assert status == 0 and (repo / ".git" / "hooks" / "pre-push").is_file()
    remote_main = git(remote, "rev-parse", "main").stdout

    def push(*args: str) -> subprocess.CompletedProcess:
        return git(repo, "push", "-q", "origin", *args, check=False)

    # An update of main with a mismatch: refused, the remote keeps its main.
    git(repo, "am", "-q", str(MASK))
    refused = push("main")
    assert refused.returncode != 0 and "role field 'nxe'" in refused.stderr
    assert git(remote, "rev-parse", "main").stdout == remote_main
    # A new branch carrying the same commit: refused too.
    refused = push("HEAD:refs/heads/topic")
    assert refused.returncode != 0 and "role field 'nxe'" in refused.stderr
    # A new branch with clean commits only, then its deletion: both pass.
    git(repo, "checkout", "-q", "-b", "docs", "origin/main")
    (repo / "README").write_text("docs\n")
    git(repo, "commit", "-q", "-a", "-m", "README: docs")
    done = push("docs")
    assert done.returncode == 0, done.stderr
    done = push(":docs")
    assert done.returncode == 0, done.stderr
