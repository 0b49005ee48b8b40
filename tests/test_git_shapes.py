"""``mmu-role-lint git`` in repositories of unusual shape: shallow clones,
bare repositories, gitlinks at role paths, file names that are not UTF-8,
and ranges that hold no commit. Each would otherwise give a wrong verdict,
a traceback, or silence."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES
from test_git import COMMENTS, MASK, fields, git, git_env, judged, new_repo, run

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

MODERN = FIXTURES / "modern" / "tree"
TDP_ROOT = FIXTURES / "modern" / "patches" / "0003-tdp-mmu-root.patch"  # introduces smm, ...


def one_line(err: str) -> str:
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- shallow history --------------------------------------------------------------


@pytest.fixture
def upstream(tmp_path) -> Path:
    """import (cr4_pae is there), then a role change that introduces nothing."""
    repo = new_repo(tmp_path / "upstream")
    git(repo, "am", "-q", str(COMMENTS))
    return repo


def shallow_clone(upstream: Path, where: Path, depth: int = 1) -> Path:
    git(where.parent, "clone", "-q", f"--depth={depth}", f"file://{upstream}", str(where))
    return where


def test_shallow_boundary_is_an_error_not_every_finding_introduced(capsys, upstream, tmp_path):
    clone = shallow_clone(upstream, tmp_path / "clone")
    short = git(clone, "rev-parse", "--short", "HEAD").stdout.strip()
    status, out, err = run(capsys, "git", "--tree", str(clone), "HEAD")
    assert status == 2 and not out
    assert f"commit {short} is the boundary of a shallow clone" in one_line(err)
    assert "fetch-depth: 2" in err and "git fetch --deepen=1" in err
    # The advice works: with one more commit of history, HEAD is judged.
    git(clone, "fetch", "-q", "--deepen=1")
    status, patches = judged(capsys, clone, "HEAD")
    assert status == 0 and fields(patches[0]["persisting"]) == ["cr4_pae"]
    assert patches[0]["introduced"] == []


def test_shallow_boundary_with_its_parent_at_hand_is_judged_against_it(capsys, upstream, tmp_path):
    clone = shallow_clone(upstream, tmp_path / "clone")
    parent = git(upstream, "rev-parse", "HEAD^").stdout.strip()
    git(clone, "fetch", "-q", "--depth=1", "origin", parent)  # HEAD stays the boundary
    assert git(clone, "rev-list", "--parents", "-n1", "HEAD").stdout.split()[1:] == []
    status, patches = judged(capsys, clone, "HEAD")
    assert status == 0 and patches[0]["introduced"] == []
    assert fields(patches[0]["persisting"]) == ["cr4_pae"]
    assert patches[0]["files"] == ["arch/x86/kvm/mmu.c"]  # the diff with the parent, not the tree


def test_root_commit_is_still_judged_against_the_empty_tree(capsys, upstream):
    status, patches = judged(capsys, upstream, "HEAD^")
    assert status == 1 and fields(patches[0]["introduced"]) == ["cr4_pae"]


def test_grafted_commit_is_judged_against_its_real_parent(capsys, upstream):
    git(upstream, "replace", "--graft", "HEAD")  # git now shows HEAD without parents
    assert git(upstream, "rev-list", "--parents", "-n1", "HEAD").stdout.split()[1:] == []
    status, patches = judged(capsys, upstream, "HEAD")
    assert status == 0 and fields(patches[0]["persisting"]) == ["cr4_pae"]


def test_default_range_of_a_fresh_clone_says_it_holds_no_commit(capsys, upstream, tmp_path):
    clone = shallow_clone(upstream, tmp_path / "clone")  # actions/checkout's default
    status, out, err = run(capsys, "git", "--tree", str(clone))
    assert status == 0 and "summary: 0 introduced" in out
    assert "no commits in origin/main..HEAD (the default range, @{upstream}..HEAD)" in one_line(err)
    assert "mmu-role-lint git HEAD" in err


# --- ranges that hold no commit ----------------------------------------------------------


def test_reversed_range_names_the_range_and_its_reverse(capsys, upstream):
    status, out, err = run(capsys, "git", "--tree", str(upstream), "HEAD..HEAD^")
    assert status == 0 and "patch" not in out
    assert "no commits in HEAD..HEAD^" in one_line(err)
    assert "is the range reversed? HEAD^..HEAD has 1 commit" in err
    status, _, err = run(capsys, "git", "--tree", str(upstream), "HEAD..HEAD")
    assert status == 0 and "no commits in HEAD..HEAD" in one_line(err)
    assert "reversed" not in err


def test_empty_range_in_b4_format_keeps_stderr_empty(capsys, upstream):
    status, _, err = run(capsys, "git", "--tree", str(upstream), "--format", "b4", "HEAD..HEAD^")
    assert status == 0 and err == ""


def test_range_with_commits_says_nothing_on_stderr(capsys, upstream):
    status, out, err = run(capsys, "git", "--tree", str(upstream), "HEAD^..HEAD")
    assert status == 0 and err == "" and "patch 1/1" in out


# --- bare repositories ---------------------------------------------------------------------


def test_staged_in_a_bare_repository_is_an_error(capsys, upstream, tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(upstream), str(bare))
    status, out, err = run(capsys, "git", "--tree", str(bare), "--staged")
    assert status == 2 and not out
    assert "bare repository has no index" in one_line(err)
    # Commits are there to judge.
    status, patches = judged(capsys, bare, "HEAD")
    assert status == 0 and fields(patches[0]["persisting"]) == ["cr4_pae"]


def test_staged_inside_the_git_directory_reads_its_index(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    git(repo, "apply", "--index", str(MASK))
    status, patches = judged(capsys, repo / ".git", "--staged")
    assert status == 1 and fields(patches[0]["introduced"]) == ["nxe"]


# --- gitlinks -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["arch/x86/kvm/mmu/sub.c", "arch/x86/kvm/mmu.c"])
def test_staged_gitlink_at_a_role_path_is_no_source(capsys, tmp_path, path):
    repo = new_repo(tmp_path / "linux")
    absent = "1234567890abcdef1234567890abcdef12345678"  # a submodule's commit: not here
    if path == "arch/x86/kvm/mmu.c":
        git(repo, "rm", "-q", "--cached", path)
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{absent},{path}")
    status, patches = judged(capsys, repo, "--staged")
    assert status == 0, patches
    (p,) = patches
    if path == "arch/x86/kvm/mmu.c":  # the source is gone: its finding with it
        assert fields(p["fixed"]) == ["cr4_pae"]
    else:  # the legacy layout stays: nothing changed
        assert p["introduced"] == [] and fields(p["persisting"]) == ["cr4_pae"]
    git(repo, "commit", "-q", "-m", "a submodule")
    assert judged(capsys, repo, "HEAD")[0] == status  # commit mode agrees


# --- names that are not UTF-8 ----------------------------------------------------------------


def test_repository_in_a_directory_whose_name_is_not_utf8(capsys, tmp_path):
    repo = new_repo(tmp_path / os.fsdecode(b"caf\xe9"))
    git(repo, "apply", "--index", str(MASK))
    status, patches = judged(capsys, repo, "--staged")
    assert status == 1 and fields(patches[0]["introduced"]) == ["nxe"]
    git(repo, "commit", "-q", "-m", "mask")
    status, patches = judged(capsys, repo, "HEAD")
    assert status == 1 and fields(patches[0]["introduced"]) == ["nxe"]


def test_staged_file_name_not_utf8_is_named_as_scan_names_it(capsys, tmp_path, monkeypatch):
    """The name is decoded as the file system's names are (surrogateescape),
    so git mode, scan and the reports agree on it. The cache is off: its
    keys are cache.py's to encode."""
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")
    repo = tmp_path / "linux"
    shutil.copytree(MODERN, repo)
    git(repo, "-c", "init.defaultBranch=main", "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import")
    git(repo, "apply", "--index", str(TDP_ROOT))
    odd = os.fsdecode(b"arch/x86/kvm/mmu/tdp\xe9.c")
    git(repo, "mv", "arch/x86/kvm/mmu/tdp_mmu.c", odd)
    assert (repo / odd).is_file()
    status, patches = judged(capsys, repo, "--staged")
    (p,) = patches
    assert status == 1 and p["introduced"] and p["files"] == [odd]
    traced = {step["file"] for f in p["introduced"] for step in f["trace"]}
    assert odd in traced
    git(repo, "commit", "-q", "-m", "tdp root")
    status, out, _ = run(capsys, "scan", "--tree", str(repo), "--format", "json")
    scanned = {step["file"] for f in json.loads(out)["findings"] for step in f["trace"]}
    assert status == 1 and odd in scanned
