"""The analysis on Debian's real 6.1 and 6.12 KVM sources.

Tests hold on whichever point release apt serves (tests/kernels.py; the
pytest header names it). Scans must find the comparison sites every release
of the series has, exactly the role comparisons written in that release's
source (an oracle independent of the analyzer), the stores and producers
listed here, and report no finding; mutations of the 6.12 sources (made here, in memory, as unified
diffs) must be reported as introduced with the right field, and benign edits
must not be."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from pathlib import Path

import kernels
import pytest

from analyzer.analysis import analyze
from analyzer.patch import read_patches
from analyzer.runner import run_check
from analyzer.sources import tree_image

pytestmark = pytest.mark.real_kernel

# Comparison sites every point release of the series has. Backports add or
# remove others (kvm_mmu_get_child_sp gained its role comparison in a 2026
# stable fix): those are judged from the release's own source, below.
COMPARES_6_1 = Counter({
    "kvm_mmu_find_shadow_page": 1, "is_root_usable": 1,
    "init_kvm_tdp_mmu": 2, "shadow_mmu_init_context": 2, "kvm_init_shadow_ept_mmu": 1,
    "init_kvm_nested_mmu": 1, "kvm_tdp_mmu_get_vcpu_root_hpa": 1, "FNAME(sync_page)": 1,
})
COMPARES_6_12 = Counter({
    "kvm_sync_page_check": 1, "kvm_mmu_find_shadow_page": 1,
    "is_root_usable": 1, "init_kvm_tdp_mmu": 2, "shadow_mmu_init_context": 2,
    "kvm_init_shadow_ept_mmu": 1, "init_kvm_nested_mmu": 1, "kvm_tdp_mmu_alloc_root": 2,
})
STORES = {
    ("kvm_mmu_alloc_shadow_page", "role"), ("tdp_mmu_init_sp", "role"),
    ("init_kvm_tdp_mmu", "cpu_role"), ("init_kvm_tdp_mmu", "root_role"),
    ("shadow_mmu_init_context", "cpu_role"), ("shadow_mmu_init_context", "root_role"),
    ("kvm_init_shadow_ept_mmu", "cpu_role"), ("kvm_init_shadow_ept_mmu", "root_role"),
    ("init_kvm_nested_mmu", "cpu_role"),
}
PRODUCERS = {"kvm_mmu_child_role", "kvm_calc_cpu_role", "kvm_calc_tdp_mmu_root_page_role",
             "kvm_calc_shadow_ept_root_page_role"}

# An oracle independent of the analyzer: a line that tests a role word
# (``.word`` / ``.as_u64``) with ==, != or ^, outside comments.
_ROLE_WORD = r"(?:\.|->)(?:word|as_u64)\b"
_TEXTUAL_COMPARE = re.compile(
    rf"{_ROLE_WORD}\s*(?:==|!=|\^)|(?:==|!=|\^)\s*[^;&|]*?{_ROLE_WORD}")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def textual_compares(tree: Path, files: list[str]) -> set[tuple[str, int]]:
    """(file, line) of every role-word comparison written in the source."""
    out = set()
    for path in files:
        text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()),
                            (tree / path).read_text(errors="replace"))
        out |= {(path, n) for n, line in enumerate(text.splitlines(), 1)
                if _TEXTUAL_COMPARE.search(line)}
    return out


@pytest.fixture(scope="module")
def scan_6_12(linux_6_12: Path):
    return analyze(tree_image(linux_6_12))


@pytest.fixture(scope="module")
def scan_6_1(linux_6_1: Path):
    return analyze(tree_image(linux_6_1))


@pytest.mark.parametrize(("which", "compares"), [("6.1", COMPARES_6_1), ("6.12", COMPARES_6_12)])
def test_scan_finds_sites_and_no_mismatch(which, compares, request):
    tree = request.getfixturevalue("linux_6_1" if which == "6.1" else "linux_6_12")
    result = request.getfixturevalue("scan_6_1" if which == "6.1" else "scan_6_12")
    version = (tree / ".version").read_text().split()[-1]
    facts = result.facts
    found = Counter(c.func for c in facts.compares)
    # every site the series always has is found ...
    assert compares - found == Counter(), f"{version}: sites not found"
    # ... and every site found is a role comparison written in this release's source,
    # and every one written there is found
    sites = {(c.step.file, c.step.line): c.func for c in facts.compares}
    assert set(sites) == textual_compares(tree, result.files), version
    for func, n in sorted((found - compares).items()):
        kernels.NOTES.append(f"{version} also compares roles in {func} ({n} site(s), "
                             "found in its source: a backport)")
    assert {(s.func, s.slot) for s in facts.stores if s.value is not None} == STORES
    assert {n for n, f in facts.functions.items() if f.returns_role} == PRODUCERS
    # no role mismatch; what role-unchecked-reuse reports depends on the point
    # release (6.1.176 lacks the 2026 role check): tests/test_unchecked_reuse.py
    # judges it from the release's own source
    assert [f for f in result.findings
            if f.severity != "note" and f.rule == "role-mismatch"] == []
    assert result.role_flow_errors() == {}
    assert "arch/x86/kvm/mmu/tdp_mmu.c" in result.files


def _check(tree: Path, path: str, old: str, new: str, count: int = 1):
    """Check a patch that replaces ``old`` by ``new`` in one file."""
    text = (tree / path).read_text()
    assert text.count(old) == count, f"mutation anchor not found once in {path}: {old!r}"
    mutated = text.replace(old, new)
    diff = "".join(difflib.unified_diff(
        text.splitlines(keepends=True), mutated.splitlines(keepends=True),
        fromfile=f"a/{path}", tofile=f"b/{path}"))
    patches = read_patches(f"Subject: [PATCH] mutation\n\n---\n{diff}")
    (res,) = run_check(patches, tree, tree_image(tree)).patches
    assert res.status == "analyzed", res.reason
    return res


MMU = "arch/x86/kvm/mmu/mmu.c"
TDP = "arch/x86/kvm/mmu/tdp_mmu.c"

MUTATIONS = {
    # the seed's shape in root allocation: forced when direct, computed on lookup
    "root-alloc-guarded": (MMU, "\trole.quadrant = quadrant;\n",
                           "\trole.quadrant = quadrant;\n\tif (role.direct)\n\t\trole.guest_mode = 0;\n",
                           "guest_mode"),
    # two constants: the stored shadow page has efer_nx 0, TDP roots look up 1
    "shadow-page-alloc": (MMU, "\tsp->gfn = gfn;\n\tsp->role = role;\n",
                          "\tsp->gfn = gfn;\n\trole.efer_nx = 0;\n\tsp->role = role;\n", "efer_nx"),
    # the TDP MMU root allocator stores a role that differs from the one it looks up
    "tdp-mmu-root": (TDP, "\ttdp_mmu_init_sp(root, NULL, 0, role);\n",
                     "\trole.smm = 0;\n\ttdp_mmu_init_sp(root, NULL, 0, role);\n", "smm"),
    # a mask on the stored context role drops a field the fresh role carries
    "mask-on-store": (MMU, "\tcontext->root_role.word = root_role.word;\n\tcontext->page_fault = kvm_tdp_page_fault;",
                      "\tcontext->root_role.word = root_role.word & tdp_root_mask.word;\n\tcontext->page_fault = kvm_tdp_page_fault;",
                      "cr0_wp"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_is_introduced(name: str, linux_6_12: Path):
    path, old, new, field = MUTATIONS[name]
    if name == "mask-on-store":
        # declare the mask (every field but cr0_wp) before its first use
        anchor = "static void init_kvm_tdp_mmu("
        text = (linux_6_12 / path).read_text()
        assert anchor in text
        decl = ("static const union kvm_mmu_page_role tdp_root_mask = {\n"
                "\t.level = 0xf, .has_4_byte_gpte = 1, .quadrant = 3, .direct = 1,\n"
                "\t.access = 7, .invalid = 1, .efer_nx = 1, .smep_andnot_wp = 1,\n"
                "\t.smap_andnot_wp = 1, .ad_disabled = 1, .guest_mode = 1,\n"
                "\t.passthrough = 1, .smm = 0xff,\n};\n\n")
        res = _check_two(linux_6_12, path, [(anchor, decl + anchor), (old, new)])
    else:
        res = _check(linux_6_12, path, old, new)
    assert {f.field for f in res.delta.introduced if f.severity != "note"} == {field}
    assert [f for f in res.delta.fixed if f.severity != "note"] == []


def _check_two(tree: Path, path: str, edits):
    text = (tree / path).read_text()
    mutated = text
    for old, new in edits:
        assert mutated.count(old) == 1, old
        mutated = mutated.replace(old, new)
    diff = "".join(difflib.unified_diff(
        text.splitlines(keepends=True), mutated.splitlines(keepends=True),
        fromfile=f"a/{path}", tofile=f"b/{path}"))
    (res,) = run_check(read_patches(diff), tree, tree_image(tree)).patches
    assert res.status == "analyzed", res.reason
    return res


BENIGN = {
    "true-vs-1": (MMU, "\trole.cr0_wp = true;\n\trole.efer_nx = true;\n",
                  "\trole.cr0_wp = 1;\n\trole.efer_nx = 1;\n"),
    "reorder": (MMU, "\trole.cr0_wp = true;\n\trole.efer_nx = true;\n",
                "\trole.efer_nx = true;\n\trole.cr0_wp = true;\n"),
    "rename-local": (TDP, "\tunion kvm_mmu_page_role role = mmu->root_role;\n",
                     "\tunion kvm_mmu_page_role want = mmu->root_role;\n\tunion kvm_mmu_page_role role = want;\n"),
    "producer-feeds-both": (MMU, "\trole.base.smm = is_smm(vcpu);\n",
                            "\trole.base.smm = is_smm(vcpu) ? 1 : 0;\n"),
    "comment": (MMU, "\trole.quadrant = quadrant;\n",
                "\t/* which quarter of a 32-bit guest table */\n\trole.quadrant = quadrant;\n"),
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_edit_is_clean(name: str, linux_6_12: Path):
    path, old, new = BENIGN[name]
    res = _check(linux_6_12, path, old, new)
    counted = [f for d in (res.delta.introduced, res.delta.fixed, res.delta.persisting)
               for f in d if f.severity != "note"]
    assert counted == []


@pytest.mark.parametrize("name", sorted({**MUTATIONS, **BENIGN}))
def test_incremental_analysis_equals_a_full_one(name: str, linux_6_12: Path, scan_6_12):
    """After an edit, reused facts and reused comparison results must give
    exactly what analyzing the edited tree from scratch gives."""
    from analyzer.sources import patched_image

    spec = {**MUTATIONS, **BENIGN}[name]
    path, old, new = spec[0], spec[1], spec[2]
    before_image = tree_image(linux_6_12)
    text = before_image.files[path]
    after_image = patched_image(before_image, {path: text.replace(old, new)}, lambda p: None)
    incremental = analyze(after_image, base=scan_6_12, base_image=before_image)
    full = analyze(after_image)
    assert [f.as_dict() for f in incremental.findings] == [f.as_dict() for f in full.findings]
    assert incremental.parsed == [path]


HOST = "arch/x86/include/asm/kvm_host.h"
NEW_FIELD = ("\t\tunsigned passthrough:1;\n\t\tunsigned :5;",
             "\t\tunsigned passthrough:1;\n\t\tunsigned is_mirror:1;\n\t\tunsigned :4;")


@pytest.mark.parametrize(("where", "old", "new", "introduced"), [
    # the producer sets the new field: both paths agree
    (MMU, "\trole.has_4_byte_gpte = false;\n",
     "\trole.has_4_byte_gpte = false;\n\trole.is_mirror = 0;\n", set()),
    # the TDP MMU stores roots with it set, lookups compute it clear
    (TDP, "\ttdp_mmu_init_sp(root, NULL, 0, role);\n",
     "\trole.is_mirror = 1;\n\ttdp_mmu_init_sp(root, NULL, 0, role);\n", {"is_mirror"}),
])
def test_a_field_the_patch_adds_to_the_role_is_followed(linux_6_12: Path, where, old, new, introduced):
    edits = {HOST: [NEW_FIELD], where: [(old, new)]}
    diff = ""
    for path, changes in edits.items():
        text = (linux_6_12 / path).read_text()
        mutated = text
        for a, b in changes:
            assert mutated.count(a) == 1, a
            mutated = mutated.replace(a, b)
        diff += "".join(difflib.unified_diff(
            text.splitlines(keepends=True), mutated.splitlines(keepends=True),
            fromfile=f"a/{path}", tofile=f"b/{path}"))
    (res,) = run_check(read_patches(diff), linux_6_12, tree_image(linux_6_12)).patches
    assert res.status == "analyzed"
    assert {f.field for f in res.delta.introduced if f.severity != "note"} == introduced
    assert [f for f in res.delta.fixed if f.severity != "note"] == []
