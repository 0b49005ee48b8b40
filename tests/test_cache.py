"""The analysis cache: a warm run answers what a cold one does, broken
entries are ignored, nothing is written into the tree, and the neutralized
text of an edited file is rebuilt from the old one exactly."""

from __future__ import annotations

import json
import random
import shutil

import pytest
from helpers import FIXTURES

from analyzer import cache
from analyzer.cli import main
from analyzer.neutralize import neutralize, neutralize_edit

LEGACY = FIXTURES / "legacy" / "tree"
MASK = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MMU_ROLE_LINT_NO_CACHE", raising=False)
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _run(capsys, *args):
    status = main([*args, "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def test_warm_run_answers_like_a_cold_one(cache_dir, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    cold = _run(capsys, "check", str(MASK), "--tree", str(tree))
    assert list((cache_dir / "analyses").rglob("*")), "the base tree's analysis was stored"
    warm = _run(capsys, "check", str(MASK), "--tree", str(tree))
    assert warm == cold and cold[0] == 1
    # nothing of the cache lands in the tree
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == sorted(
        p.relative_to(LEGACY) for p in LEGACY.rglob("*"))


def test_an_edited_file_is_not_answered_from_the_cache(cache_dir, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    assert _run(capsys, "scan", "--tree", str(tree))[0] == 1
    mmu = tree / "arch/x86/kvm/mmu.c"
    mmu.write_text(mmu.read_text().replace("\tif (role.direct)\n\t\trole.cr4_pae = 0;\n", ""))
    status, data = _run(capsys, "scan", "--tree", str(tree))
    assert status == 0 and data["findings"] == []


def test_broken_entries_are_ignored(cache_dir, capsys):
    first = _run(capsys, "scan", "--tree", str(LEGACY))
    for entry in (cache_dir / "analyses").rglob("*"):
        if entry.is_file():
            entry.write_bytes(b"not a pickle")
    for entry in (cache_dir / "neutral").rglob("*"):
        if entry.is_file():
            entry.write_text("short")
    assert _run(capsys, "scan", "--tree", str(LEGACY)) == first


def test_no_cache_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")
    _run(capsys, "scan", "--tree", str(LEGACY))
    assert not (tmp_path / "cache").exists()
    assert cache.cache_root() is None


def test_key_changes_with_any_file_and_with_the_program(monkeypatch):
    files = {"a.c": "int x;\n"}
    key = cache.image_key(files, {})
    assert cache.image_key({"a.c": "int y;\n"}, {}) != key
    assert cache.image_key(files, {"h.h": ""}) != key
    cache.code_digest.cache_clear()
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    try:
        assert cache.image_key(files, {}) != key
    finally:
        cache.code_digest.cache_clear()


@pytest.mark.parametrize("seed", range(3))
def test_neutralize_edit_equals_neutralizing_the_whole_file(seed):
    old = (LEGACY / "arch/x86/kvm/mmu.c").read_text()
    old_neutral = neutralize(old)
    lines = old.splitlines(keepends=True)
    rng = random.Random(seed)
    for _ in range(60):
        edited = list(lines)
        k = rng.randrange(len(edited))
        choice = rng.choice(["delete", "duplicate", "loop", "attribute", "brace"])
        if choice == "delete":
            del edited[k]
        elif choice == "duplicate":
            edited.insert(k, edited[k])
        elif choice == "loop":
            edited.insert(k, "\tfor_each_thing(a, b) {\n\t\tx();\n\t}\n")
        elif choice == "attribute":
            edited.insert(k, "static __always_inline int g(void) { return 1; }\n")
        else:
            edited.insert(k, "{\n")  # unbalanced: must fall back, still exact
        new = "".join(edited)
        assert neutralize_edit(old, old_neutral, new) == neutralize(new)
