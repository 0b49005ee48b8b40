"""``--format b4``: b4's per-patch check protocol. b4 pipes one patch mail
to the command, run from the top of the tree; a stdout line containing
``ERROR:`` fails the patch, any other line (and anything on stderr) is
reported, and no output at all is a pass."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import expectations
from test_git import COMMENTS, GUEST, IDENTITY, LEGACY, MASK, PATCHES, git, git_env, new_repo, run

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

LINE = re.compile(r"^ERROR: arch/x86/kvm/mmu\.c:\d+: (?:role-mismatch: role field '(\w+)'|"
                  r"role-unchecked-reuse: an existing page is kept .*?comparing (?:only \w+ of )?its (\w+) )"
                  r".+$")


def as_b4_pipes_it(patch: Path) -> bytes:
    """The mail without its mbox ``From <sha>`` line, as b4 writes it."""
    return patch.read_bytes().split(b"\n", 1)[1]


def b4_check(cmd: list[str], cwd: Path, patch: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *cmd], cwd=cwd,
                          input=as_b4_pipes_it(patch), capture_output=True, check=False)


@pytest.fixture
def tree(tmp_path) -> Path:
    """The top of a kernel tree, as b4 runs the command (not a git checkout here)."""
    return shutil.copytree(LEGACY, tmp_path / "linux")


def test_introduced_finding_is_one_error_line(tree):
    done = b4_check(["check", "-", "--format", "b4"], tree, MASK)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 1 and done.stderr == b""  # b4 reads stderr as a failure
    assert len(lines) == 1 and LINE.match(lines[0]).group(1) == "nxe"


@pytest.mark.parametrize("name", ["0001-seed-fix", "0007-benign-comments-whitespace"])
def test_clean_patch_prints_nothing(tree, name):
    done = b4_check(["check", "-", "--format", "b4"], tree, PATCHES / f"{name}.patch")
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""


def test_one_error_line_per_introduced_finding(capsys):
    for patch in sorted(PATCHES.glob("*.patch")):
        want = expectations(patch)
        if "base" in want:
            continue
        status, out, err = run(capsys, "check", str(patch), "--tree", str(LEGACY), "--format", "b4")
        got = [next(g for g in LINE.match(line).groups() if g) for line in out.splitlines()]
        assert sorted(got) == sorted(f.split(":")[1] for f in want.get("introduced", [])), patch.name
        assert status == (1 if got else 0) and not err, patch.name


def test_patch_that_does_not_apply_is_a_warning_not_silence(capsys):
    status, out, err = run(capsys, "check", str(PATCHES / "0011-revert-seed-fix.patch"),
                           "--tree", str(LEGACY), "--format", "b4")
    (line,) = out.splitlines()
    assert status == 2  # as for check: no patch could be analyzed
    assert line.startswith("WARNING: NOT ANALYZED: ") and "ERROR:" not in line
    assert err == ""  # b4 counts every stderr line as a failed check


def test_prep_check_judges_the_committed_patch(tmp_path):
    """``b4 prep --check`` runs on the branch that already holds the series:
    ``git --commit-of -`` finds the commit by its patch-id."""
    repo = new_repo(tmp_path / "linux")
    git(repo, "am", "-q", str(MASK))
    git(repo, "am", "-q", str(GUEST))
    mail = tmp_path / "mail"
    for rev, field in (("HEAD~1", "nxe"), ("HEAD", "guest_mode")):
        mail.write_text("From x\n" + git(repo, "show", "--format=email", rev).stdout)
        done = b4_check(["git", "--commit-of", "-", "--format", "b4"], repo, mail)
        lines = done.stdout.decode().splitlines()
        assert done.returncode == 1 and done.stderr == b""
        assert len(lines) == 1 and LINE.match(lines[0]).group(1) == field


# -- b4 itself, on two-patch series in a temporary repository ------------------

def b4_env(tmp_path: Path) -> dict[str, str]:
    """b4 as a fresh user runs it: its cache and config under tmp_path, our
    Python first on PATH, no network (--offline-mode)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "XDG_"))}
    env.update(IDENTITY, HOME=str(home), XDG_CACHE_HOME=str(home / "cache"),
               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               GIT_CONFIG_NOSYSTEM="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    return env


def b4(env: dict[str, str], repo: Path, *args: str) -> str:
    done = subprocess.run([*B4, "--offline-mode", *args], cwd=repo, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


def per_patch(out: str) -> dict[str, list[str]]:
    """b4's check report: each patch's subject -> what our command said of
    it (b4 prints ``● SHA: SUBJECT`` or ``[PATCH n/m] SUBJECT``, then one
    ``● python: LINE`` per line of ours)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        head = re.match(r"^(?:● [0-9a-f]+: |  \[PATCH[^\]]*\] )(.*)$", line)
        said = re.match(r"^\s+● python\S*: (.*)$", line)
        if head:
            current = blocks.setdefault(head.group(1), [])
        elif said:
            current.append(said.group(1))
    return blocks


B4 = [sys.executable, "-m", "b4.command"]
needs_b4 = pytest.mark.skipif(
    importlib.util.find_spec("b4") is None and os.environ.get("CI") != "true",
    reason="b4 is not installed (pip install b4); with CI=true this fails instead")

CHECK = f"{sys.executable} -m analyzer"


@needs_b4
def test_b4_prep_check_runs_us_per_patch(tmp_path):
    """b4 prep --check on a two-patch prep branch: the patch that introduces
    a mismatch fails, the benign one passes."""
    repo = new_repo(tmp_path / "linux")
    env = b4_env(tmp_path)
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.invalid")
    git(repo, "config", "b4.prep-perpatch-check-cmd", f"{CHECK} git --commit-of - --format b4")
    b4(env, repo, "prep", "-n", "two")
    git(repo, "am", "-q", str(MASK))
    git(repo, "am", "-q", str(COMMENTS))
    out = b4(env, repo, "prep", "--check", "--no-cache")
    blocks = per_patch(out)
    assert list(blocks) == ["x86/kvm/mmu: stop keeping nxe in the cached context role",
                            "x86/kvm/mmu: document how page roles are built and matched"]
    (verdict,) = blocks["x86/kvm/mmu: stop keeping nxe in the cached context role"]
    assert verdict.startswith("ERROR: arch/x86/kvm/mmu.c:322: role-mismatch: role field 'nxe'")
    assert blocks["x86/kvm/mmu: document how page roles are built and matched"] == []  # passed
    assert "Success: 1, Warning: 0, Error: 1" in out


@needs_b4
def test_b4_am_check_warns_for_a_patch_it_cannot_judge(tmp_path):
    """b4 am --check judges each patch of a series alone against the tree: the
    second one here (a revert of the first) reads as already applied, which
    is a warning (a stdout WARNING: line), not a failure (a stderr line)."""
    repo = new_repo(tmp_path / "linux")
    env = b4_env(tmp_path)
    git(repo, "checkout", "-q", "-b", "series")
    git(repo, "am", "-q", str(PATCHES / "0001-seed-fix.patch"))
    git(repo, "am", "-q", str(PATCHES / "0011-revert-seed-fix.patch"))
    mbox = tmp_path / "series.mbox"
    mbox.write_text(git(repo, "format-patch", "--thread", "--stdout", "main").stdout)
    git(repo, "checkout", "-q", "main")
    git(repo, "config", "b4.am-perpatch-check-cmd", f"{CHECK} check - --format b4")
    out = b4(env, repo, "am", "-m", str(mbox), "--check", "-o", str(tmp_path / "out"))
    fix, revert = per_patch(out).values()
    assert fix == ["passed all checks"]
    (verdict,) = revert
    assert verdict.startswith("WARNING: NOT ANALYZED: Revert ") and "already applied" in verdict
