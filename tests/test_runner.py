"""One way into a check: run_check(patches, tree) reads the tree's MMU
sources itself, once, and only when a patch touches role code; what each
analysis took comes back as a record, which the command formats for -v."""

from __future__ import annotations

import shutil

from helpers import FIXTURES

import analyzer.runner
from analyzer.cli import main
from analyzer.patch import read_patches
from analyzer.runner import run_check

LEGACY = FIXTURES / "legacy" / "tree"
SERIES = FIXTURES / "legacy" / "series" / "nxe-series.mbox"
SEED_FIX = FIXTURES / "legacy" / "patches" / "0001-seed-fix.patch"


def _counting(monkeypatch) -> list:
    calls = []
    real = analyzer.runner.mmu_image

    def counted(tree):
        calls.append(tree)
        return real(tree)

    monkeypatch.setattr(analyzer.runner, "mmu_image", counted)
    return calls


def test_the_tree_is_read_once_for_a_series(monkeypatch):
    calls = _counting(monkeypatch)
    report = run_check(read_patches(SERIES.read_bytes()), LEGACY)
    assert [p.status for p in report.patches] == ["analyzed", "skipped", "analyzed"]
    assert calls == [LEGACY]
    assert report.patches[1].work is None  # skipped


def test_what_an_analysis_took_is_a_record():
    (p,) = run_check(read_patches(SEED_FIX.read_bytes()), LEGACY).patches
    assert p.work.parsed == ["arch/x86/kvm/mmu.c"] and p.work.flow_errors == 0
    # every check's sites: the tree's 6 compare markers and the others' sites
    assert p.work.sites > 6 and 0 <= p.work.reused <= p.work.sites


def test_a_series_touching_no_role_code_reads_no_tree(monkeypatch, tmp_path):
    calls = _counting(monkeypatch)
    patch = b"--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hello\n+hello world\n"
    (tmp_path / "README").write_text("hello\n")
    (p,) = run_check(read_patches(patch), tmp_path).patches
    assert p.status == "skipped" and calls == []


def test_a_tree_that_cannot_be_read_says_why(tmp_path, capsys):
    # not "no KVM MMU sources": the tree has them, one cannot be read as C
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    (tree / "arch/x86/kvm/mmu.c").write_bytes(b"\0\1\2")
    status = main(["check", str(SEED_FIX), "--tree", str(tree)])
    err = capsys.readouterr().err
    assert status == 2
    assert err == "mmu-role-lint: arch/x86/kvm/mmu.c: binary file, not C source\n"
