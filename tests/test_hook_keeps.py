"""``install-hook`` never loses a hook: not one you edited, not yours when a
write fails half way (full disk, read-only directory); and the installed
hook lets commits through that touch no KVM MMU file when the tool is gone.

Read-only directories and full disks are simulated: the tests may run as
root, which writes into read-only directories anyway."""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

import pytest
from test_git import COMMENTS, MASK, git, git_env, new_repo
from test_git_shapes import one_line
from test_hook import FOREIGN, commit, head, install, write_hook

from analyzer.commands import hook as hook_mod

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine


@pytest.fixture
def repo(tmp_path) -> Path:
    return new_repo(tmp_path / "linux")


def hooks_of(repo: Path) -> Path:
    return repo / ".git" / "hooks"


def listing(hooks: Path) -> list[str]:
    return sorted(p.name for p in hooks.iterdir() if not p.name.endswith(".sample"))


# --- a hook you edited --------------------------------------------------------------


def test_edited_hook_is_refused_then_replaced_with_a_backup(capsys, repo):
    hook = hooks_of(repo) / "pre-commit"
    install(capsys, repo)
    edited = hook.read_text() + "echo 'my own addition' >&2\n"
    hook.write_text(edited)
    status, out, err = install(capsys, repo)
    assert status == 2 and not out
    assert "not as install-hook wrote it" in one_line(err) and "--force" in err
    assert "pre-commit.bak" in err
    assert hook.read_text() == edited and listing(hooks_of(repo)) == ["pre-commit"]
    # --force keeps the edited hook, under the name it said.
    status, out, _ = install(capsys, repo, "--force")
    assert status == 0 and "replaced" in out and "kept as pre-commit.bak" in out
    assert (hooks_of(repo) / "pre-commit.bak").read_text() == edited
    assert hook_mod.unedited(hook.read_bytes())
    # Edited again: the first backup stays, the second takes the next name.
    again = hook.read_text().replace("exit 0\n", "exit 0 # mine\n")
    hook.write_text(again)
    status, out, _ = install(capsys, repo, "--force")
    assert status == 0 and "kept as pre-commit.bak.1" in out
    assert (hooks_of(repo) / "pre-commit.bak").read_text() == edited
    assert (hooks_of(repo) / "pre-commit.bak.1").read_text() == again


def test_hook_of_an_older_version_needs_force(capsys, repo):
    hook = hooks_of(repo) / "pre-commit"
    old = "#!/bin/sh\n# mmu-role-lint-hook: 1\nmmu-role-lint git --staged\n"
    write_hook(hook, old)
    status, _, err = install(capsys, repo)
    assert status == 2 and "older version" in one_line(err)
    assert hook.read_text() == old


def test_unedited_hook_is_updated_when_the_tool_changes(capsys, repo, monkeypatch, tmp_path):
    hook = hooks_of(repo) / "pre-commit"
    monkeypatch.setattr(sys, "executable", str(tmp_path / "old-venv" / "python"))
    install(capsys, repo)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "new-venv" / "python"))
    status, out, _ = install(capsys, repo)  # another text, but the old one as written
    assert status == 0 and "updated" in out
    assert "new-venv" in hook.read_text() and listing(hooks_of(repo)) == ["pre-commit"]


def test_foreign_hook_is_replaced_only_with_force_and_kept(capsys, repo):
    hook = hooks_of(repo) / "pre-commit"
    write_hook(hook, FOREIGN)
    status, _, err = install(capsys, repo)
    assert status == 2 and "--force" in one_line(err) and hook.read_text() == FOREIGN
    status, out, _ = install(capsys, repo, "--force")
    assert status == 0 and "kept as pre-commit.bak" in out
    assert (hooks_of(repo) / "pre-commit.bak").read_text() == FOREIGN
    assert os.access(hooks_of(repo) / "pre-commit.bak", os.X_OK)
    assert listing(hooks_of(repo)) == ["pre-commit", "pre-commit.bak"]


# --- writes that fail half way --------------------------------------------------------


def fail_in(monkeypatch, where: Path, calls: dict[str, int]) -> None:
    """Make the named os calls fail for files directly in ``where``."""
    def inside(path) -> bool:
        return Path(os.fsdecode(path)).parent == where

    for name, code in calls.items():
        real = getattr(os, name)

        def failing(*args, _real=real, _code=code, _name=name, **kwargs):
            if _name == "write":
                target = Path(os.readlink(f"/proc/self/fd/{args[0]}"))
                hit = target.parent == where
            elif _name == "open":
                hit = inside(args[0]) and args[1] & os.O_CREAT
            else:
                hit = any(inside(a) for a in args[:2] if isinstance(a, (str, bytes, Path)))
            if hit:
                raise OSError(_code, os.strerror(_code))
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, failing)


@pytest.mark.parametrize("failure", [
    {"write": errno.ENOSPC},  # the disk is full
    {"replace": errno.EIO},  # the last step fails
])
def test_chain_that_cannot_write_leaves_the_hook_in_place(capsys, repo, monkeypatch, failure):
    hooks = hooks_of(repo)
    write_hook(hooks / "pre-commit", FOREIGN)
    before = listing(hooks)
    fail_in(monkeypatch, hooks, failure)
    status, out, err = install(capsys, repo, "--chain")
    monkeypatch.undo()
    assert status == 2 and not out
    assert "cannot write the hook" in one_line(err) and "nothing was changed" in err
    assert listing(hooks) == before  # no .local, no temporary file
    assert (hooks / "pre-commit").read_text() == FOREIGN
    assert os.access(hooks / "pre-commit", os.X_OK)


def test_chain_on_a_read_only_hooks_directory_is_one_line(capsys, repo, monkeypatch):
    hooks = hooks_of(repo)
    write_hook(hooks / "pre-commit", FOREIGN)
    denied = {name: errno.EACCES for name in ("open", "rename", "replace", "unlink", "mkdir")}
    fail_in(monkeypatch, hooks, denied)
    status, out, err = install(capsys, repo, "--chain")
    monkeypatch.undo()
    assert status == 2 and not out
    assert "Permission denied" in one_line(err)
    assert listing(hooks) == ["pre-commit"] and (hooks / "pre-commit").read_text() == FOREIGN


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_chain_on_a_really_read_only_hooks_directory(capsys, repo):
    hooks = hooks_of(repo)
    write_hook(hooks / "pre-commit", FOREIGN)
    hooks.chmod(0o555)
    try:
        status, _, err = install(capsys, repo, "--chain")
    finally:
        hooks.chmod(0o755)
    assert status == 2 and "Permission denied" in one_line(err)
    assert (hooks / "pre-commit").read_text() == FOREIGN


# --- the hook when the tool cannot run ----------------------------------------------------


def path_without_the_tool(tmp_path: Path) -> str:
    """PATH as it is, but with no mmu-role-lint on it."""
    dirs = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not (Path(d) / "mmu-role-lint").exists()]
    assert shutil.which("git", path=os.pathsep.join(dirs))
    return os.pathsep.join(dirs)


@pytest.fixture
def tool_gone(capsys, repo, tmp_path, monkeypatch) -> Path:
    """A pre-commit hook whose Python is gone, and no mmu-role-lint on PATH."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
    install(capsys, repo)
    monkeypatch.setenv("PATH", path_without_the_tool(tmp_path))
    return repo


def test_tool_gone_lets_other_commits_through(tool_gone):
    (tool_gone / "README").write_text("changed\n")
    git(tool_gone, "add", "README")
    before = head(tool_gone)
    done = commit(tool_gone)
    assert done.returncode == 0, done.stderr
    assert head(tool_gone) != before


def test_tool_gone_refuses_a_kvm_mmu_commit_and_says_why(tool_gone, tmp_path):
    git(tool_gone, "apply", "--index", str(COMMENTS))
    before = head(tool_gone)
    refused = commit(tool_gone)
    assert refused.returncode != 0 and head(tool_gone) == before
    assert f"{tmp_path / 'gone' / 'python'}, which installed this hook, is gone" in refused.stderr
    assert "it touches KVM MMU files and mmu-role-lint cannot run" in refused.stderr
    assert "fix the staged change" not in refused.stderr


def test_tool_that_crashes_is_named_a_crash(capsys, repo, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
    install(capsys, repo)
    bin_dir = tmp_path / "bin"
    write_hook(bin_dir / "mmu-role-lint", "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                                          "echo 'ImportError: no tree_sitter' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{path_without_the_tool(tmp_path)}")
    git(repo, "apply", "--index", str(MASK))
    refused = commit(repo)
    assert refused.returncode != 0
    assert "mmu-role-lint crashed (exit status 1)" in refused.stderr
    assert "ImportError: no tree_sitter" in refused.stderr


def test_pre_push_with_the_tool_gone_lets_other_commits_through(capsys, repo, tmp_path,
                                                                 monkeypatch):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "gone" / "python"))
    install(capsys, repo, "--pre-push")
    monkeypatch.setenv("PATH", path_without_the_tool(tmp_path))
    (repo / "README").write_text("docs\n")
    git(repo, "commit", "-q", "-a", "-m", "README: docs")
    done = git(repo, "push", "-q", "origin", "main", check=False)
    assert done.returncode == 0, done.stderr
    git(repo, "am", "-q", str(COMMENTS))
    refused = git(repo, "push", "-q", "origin", "main", check=False)
    assert refused.returncode != 0 and "mmu-role-lint cannot run" in refused.stderr


# --- names that are not UTF-8 --------------------------------------------------------------


def test_hook_in_a_directory_and_for_a_python_whose_names_are_not_utf8(capsysbinary, tmp_path,
                                                                       monkeypatch):
    from analyzer.cli import main

    repo = new_repo(tmp_path / os.fsdecode(b"caf\xe9"))
    python = tmp_path / os.fsdecode(b"venv-\xff") / "python"
    monkeypatch.setattr(sys, "executable", str(python))
    hook = hooks_of(repo) / "pre-commit"
    assert main(["install-hook", "--tree", str(repo)]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(os.fsencode(hook) + b": installed")  # the very bytes of the name
    assert os.fsencode(python) in hook.read_bytes()
    assert hook_mod.unedited(hook.read_bytes())
    assert main(["install-hook", "--tree", str(repo)]) == 0
    assert b"already installed" in capsysbinary.readouterr().out


@pytest.mark.parametrize("target", ["/dev/null", "missing"])
def test_hook_that_is_not_a_regular_file_is_left_alone(capsys, repo, target):
    hook = hooks_of(repo) / "pre-commit"
    hook.symlink_to(target)
    status, out, err = install(capsys, repo, "--chain")
    assert status == 2 and not out and "not a regular file" in one_line(err)
    assert hook.is_symlink() and os.readlink(hook) == target
    assert listing(hooks_of(repo)) == ["pre-commit"]
