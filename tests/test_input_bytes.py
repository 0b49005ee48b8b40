"""Bytes that are not UTF-8, in file contents and in file names: tree files,
patches and git objects are read one way (``analyzer.encoding``), so a patch
git made from a tree applies to it whatever its bytes, and hashing, parsing
and every output format take such bytes without a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES
from patchtools import GitRepo

from analyzer.cli import main
from analyzer.encoding import decode, encode

LEGACY = FIXTURES / "legacy" / "tree"
MODERN = FIXTURES / "modern" / "tree"
MMU = "arch/x86/kvm/mmu.c"
NXE = b"\trole.base.nxe = !!is_nx(vcpu);\n"
CR4 = b"\trole.base.cr4_pae = !!is_pae(vcpu);\n"
SHADOW = (b"kvm_calc_shadow_mmu_root_page_role(struct kvm_vcpu *vcpu, bool base_only)\n{\n"
          b"\tunion kvm_mmu_role role = kvm_calc_mmu_role_common(vcpu, base_only);\n\n")
LATIN1 = b"\t/* Jos\xe9 M\xfcller's fix */\n"  # a Latin-1 name, as in real kernel comments
TDP = "arch/x86/kvm/mmu/tdp_mmu.c"
ODD = os.fsdecode(b"arch/x86/kvm/mmu/tdp_mm\xe9.c")  # a file name that is not UTF-8


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """The cache on: its keys hash the text, so surrogates must reach it."""
    monkeypatch.delenv("MMU_ROLE_LINT_NO_CACHE", raising=False)
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _repo_of(tmp_path: Path, tree: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(tree, repo.path, dirs_exist_ok=True)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "base")
    return repo


def _seed_fix(text: bytes) -> bytes:
    """The seed's fix: cr4_pae moves from the common producer to the shadow
    root role."""
    assert text.count(CR4) == 1 and text.count(SHADOW) == 1
    return text.replace(CR4, b"").replace(SHADOW, SHADOW + CR4 + b"\n")


SHAPES = {
    "diff": ("diff", "HEAD~1", "HEAD"),
    "mail": ("format-patch", "-1", "--stdout"),
    "utf-8 mail": ("format-patch", "-1", "--stdout", "--add-header=MIME-Version: 1.0",
                   "--add-header=Content-Type: text/plain; charset=UTF-8"),
}


def _latin1_seed_fix(tmp_path: Path, where: str, shape: str) -> tuple[GitRepo, Path]:
    """A repository whose mmu.c holds a Latin-1 line, in the base (``where``
    is "context") or only in the fix ("added"), and the fix as git writes
    it in ``shape``, with the base checked out."""
    repo = _repo_of(tmp_path, LEGACY)
    mmu = repo.path / MMU
    base = mmu.read_bytes()
    if where == "context":
        base = base.replace(NXE, NXE + LATIN1)
        repo.commit("a Latin-1 comment", {MMU: base})
    fixed = _seed_fix(base)
    if where == "added":
        fixed = fixed.replace(SHADOW + CR4, SHADOW + LATIN1 + CR4)
    repo.commit("x86/kvm/mmu: compute cr4_pae only for the shadow MMU root role", {MMU: fixed})
    patch = tmp_path / "fix.patch"
    patch.write_bytes(repo.git_bytes(*SHAPES[shape]))
    assert LATIN1 in patch.read_bytes(), "git writes the byte as it is"
    repo.git("checkout", "-q", "HEAD~1")
    return repo, patch


@pytest.mark.parametrize("shape", SHAPES)
def test_a_patch_git_made_from_a_latin1_tree_applies_to_it(tmp_path, capsys, cache_dir, shape):
    """D5: the Latin-1 byte sits in a context line of the fix."""
    repo, patch = _latin1_seed_fix(tmp_path, "context", shape)
    status, out, err = run(capsys, "check", str(patch), "--tree", str(repo.path), "--format", "json")
    (result,) = json.loads(out)["patches"]
    assert (status, err) == (0, "")
    assert result["status"] == "analyzed", result.get("reason")
    assert [f["field"] for f in result["fixed"]] == ["cr4_pae"] and not result["introduced"]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_non_utf8_byte_in_an_added_line_is_hashed_and_parsed(tmp_path, capsys, cache_dir, shape):
    """D2: the byte reaches the cache keys and tree-sitter, twice (the second
    run reads the cache)."""
    repo, patch = _latin1_seed_fix(tmp_path, "added", shape)
    for _ in range(2):
        status, out, err = run(capsys, "check", str(patch), "--tree", str(repo.path))
        assert (status, err) == (0, "")
        assert "0 introduced, 1 fixed, 0 persisting" in out
    assert list(cache_dir.rglob("*")), "the analyses were cached"


def test_a_latin1_tree_scans_like_its_utf8_twin(tmp_path, capsys, cache_dir):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    mmu = tree / MMU
    mmu.write_bytes(mmu.read_bytes().replace(NXE, NXE + LATIN1))
    latin1 = run(capsys, "scan", "--tree", str(tree), "--format", "json")
    mmu.write_bytes(mmu.read_bytes().replace(LATIN1, LATIN1.decode("latin-1").encode()))
    utf8 = run(capsys, "scan", "--tree", str(tree), "--format", "json")
    assert latin1 == utf8 and latin1[0] == 1


def _odd_name_repo(tmp_path: Path) -> tuple[GitRepo, Path]:
    """The modern tree with tdp_mmu.c under a name that is not UTF-8, and a
    patch to it (git quotes the name) that introduces three findings."""
    repo = _repo_of(tmp_path, MODERN)
    repo.git("mv", TDP, ODD)
    repo.git("commit", "-q", "-m", "rename")
    fixture = (FIXTURES / "modern" / "patches" / "0003-tdp-mmu-root.patch").read_bytes()
    quoted = b'"a/arch/x86/kvm/mmu/tdp_mm\\351.c" "b/arch/x86/kvm/mmu/tdp_mm\\351.c"'
    old = f"a/{TDP} b/{TDP}".encode()
    data = fixture.replace(old, quoted)
    data = data.replace(f"--- a/{TDP}".encode(), b'--- "a/arch/x86/kvm/mmu/tdp_mm\\351.c"')
    data = data.replace(f"+++ b/{TDP}".encode(), b'+++ "b/arch/x86/kvm/mmu/tdp_mm\\351.c"')
    patch = tmp_path / "odd.patch"
    patch.write_bytes(data)
    repo.git("apply", "--check", str(patch))  # git reads the name the same way
    return repo, patch


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "b4"])
def test_a_non_utf8_file_name_is_checked_and_reported(tmp_path, capsysbinary, cache_dir, fmt):
    """D7: the name reaches the cache keys and every report format."""
    repo, patch = _odd_name_repo(tmp_path)
    status = main(["check", str(patch), "--tree", str(repo.path), "--format", fmt])
    out, err = capsysbinary.readouterr()
    assert (status, err) == (1, b"")
    if fmt == "json":
        assert json.loads(out)["patches"][0]["files"] == [ODD]  # escaped: JSON stays ASCII
    elif fmt == "sarif":
        assert "arch/x86/kvm/mmu/tdp_mm%E9.c" in json.dumps(json.loads(out))  # a URI of the bytes
    elif fmt != "b4":
        assert b"tdp_mm\xe9.c" in out


def test_a_non_utf8_file_name_is_scanned_and_printed_as_its_bytes(tmp_path, capsysbinary, cache_dir):
    repo, patch = _odd_name_repo(tmp_path)
    repo.git("apply", str(patch))
    status = main(["scan", "--tree", str(repo.path)])
    out = capsysbinary.readouterr().out
    assert status == 1
    assert b"arch/x86/kvm/mmu/tdp_mm\xe9.c:" in out  # the name as the file system has it
    status = main(["scan", "--tree", str(repo.path), "--format", "json"])
    files = json.loads(capsysbinary.readouterr().out)["files"]
    assert status == 1 and ODD in files


@pytest.mark.parametrize("data", [bytes(range(256)), b"\xff\xfe\x80abc\xc3", "é".encode("latin-1")])
def test_decoding_keeps_every_byte(data: bytes) -> None:
    assert encode(decode(data)) == data
