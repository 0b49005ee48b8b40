"""Fixture trees and patches: every expectation written in them holds.

Patches carry ``Expect-*`` trailers (fixtures/README.md); C files carry
``/* expect: compare|store|producer */`` markers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, decided, expectations, markers

from analyzer.analysis import analyze
from analyzer.cli import main
from analyzer.patch import apply_patch, read_patches
from analyzer.runner import run_check
from analyzer.sources import tree_image

PATCHES = sorted(FIXTURES.glob("*/patches/*.patch"))


def _tree_for(patch: Path, tmp_path: Path) -> Path:
    """The fixture tree, or a copy with the Expect-Base patch applied."""
    tree = patch.parent.parent / "tree"
    bases = expectations(patch).get("base", [])
    if not bases:
        return tree
    copy = tmp_path / "tree"
    shutil.copytree(tree, copy)
    for base in bases:
        (p,) = read_patches((patch.parent / f"{base}.patch").read_bytes())

        def read(path: str) -> str | None:
            f = copy / path
            return f.read_text() if f.is_file() else None

        for path, text in apply_patch(p, read).files.items():
            if text is None:
                (copy / path).unlink()
            else:
                (copy / path).write_text(text)
    return copy


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_fixture_patch_verdict(patch: Path, tmp_path: Path) -> None:
    want = expectations(patch)
    tree = _tree_for(patch, tmp_path)
    report = run_check(read_patches(patch.read_bytes()), tree)
    (res,) = report.patches
    assert res.status == "analyzed"
    got = {
        "introduced": sorted({f.key for f in decided(res.delta.introduced)}),
        "fixed": sorted({f.key for f in decided(res.delta.fixed)}),
        "persisting": sorted({f.key for f in decided(res.delta.persisting)}),
    }
    for kind in ("introduced", "fixed", "persisting"):
        assert got[kind] == sorted(want.get(kind, [])), (kind, got)
    assert report.exit_status() == int(want["exit"][0])
    assert main(["check", str(patch), "--tree", str(tree), "--format", "json",
                 "-o", str(tmp_path / "out.json")]) == int(want["exit"][0])


@pytest.mark.parametrize("layout", ["legacy", "modern"])
def test_markers_match_sites(layout: str) -> None:
    tree = FIXTURES / layout / "tree"
    result = analyze(tree_image(tree))
    want = markers(tree)
    compares = {(c.step.file, c.step.line) for c in result.facts.compares}
    stores = {(s.step.file, s.step.line) for s in result.facts.stores if s.value is not None}
    producers = {(f.file, f.line) for f in result.facts.functions.values() if f.returns_role}
    assert compares == want["compare"]
    assert stores == want["store"]
    # a producer marker sits on (or just above) the line that names the function
    marked = {(f, line) for f, line in want["producer"]}
    assert {(f, line) for f, line in producers} <= marked | {(f, line - 1) for f, line in marked} | {
        (f, line + 1) for f, line in marked}
    assert len(producers) == len(marked)


def test_legacy_tree_reports_the_seed_bug_at_its_cause_naming_the_marked_lookup() -> None:
    """One finding, where the stored value diverges (the direct-page filter
    in kvm_mmu_get_page), naming the marked comparison as the lookup that
    misses and having it among its related locations."""
    tree = FIXTURES / "legacy" / "tree"
    result = analyze(tree_image(tree))
    expected = {(f, line) for f, line in markers(tree).get("role-mismatch:cr4_pae", set())}
    (f,) = decided(result.findings)
    assert f.field == "cr4_pae" and len(expected) == 1
    source = (tree / f.file).read_text().splitlines()
    assert source[f.line - 1].strip() == "role.cr4_pae = 0;"
    assert expected <= {(st.file, st.line) for st in f.related if st.kind == "compare"}
    assert "(cached_root_available)" in f.message


def test_modern_tree_is_clean() -> None:
    assert decided(analyze(tree_image(FIXTURES / "modern" / "tree")).findings) == []
