"""``--format b4``: b4's per-patch check protocol. b4 pipes one patch mail
to the command, run from the top of the tree; a stdout line containing
``ERROR:`` fails the patch, any other line (and anything on stderr) is
reported, and no output at all is a pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import expectations
from test_git import GUEST, LEGACY, MASK, PATCHES, git, git_env, new_repo, run

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

LINE = re.compile(r"^ERROR: arch/x86/kvm/mmu\.c:\d+: role-mismatch: role field '(\w+)' .+$")


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
        got = [LINE.match(line).group(1) for line in out.splitlines()]
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
