"""role-incomplete: state a reconfiguration skipped on an equal role reads,
which the role does not record (rules/role-incomplete.md).

The test of the rule itself (statesym.determines), the text reader of
writers (kvmtext), the fixture trees of both layouts (their patches are
judged by test_fixtures.py from their trailers; here: what the findings
say), the context files missing, suppression, and the real fixes replayed
as edits on Debian's 6.1 and 6.12."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, decided
from sarif_schema import sarif_of

from analyzer.analysis import analyze
from analyzer.cli import main
from analyzer.kvmtext import Lines, functions
from analyzer.patch import apply_patch, read_patches
from analyzer.runner import run_check
from analyzer.sources import patched_image, tree_image
from analyzer.state_sources import _uses
from analyzer.statesym import TRUE, Invariant, Names, and_, determines, evaluate, op, satisfiable

LEGACY = FIXTURES / "incomplete-legacy"
MODERN = FIXTURES / "incomplete-modern"
LMA = ("a", "arch.efer", "EFER_LMA")
PKE = ("a", "arch.cr4", "X86_CR4_PKE")
LA57 = ("a", "arch.cr4", "X86_CR4_LA57")
PG = ("a", "arch.cr0", "X86_CR0_PG")
MAXPHYADDR = ("a", "arch.maxphyaddr", None)
INVARIANTS = [Invariant("EFER_LMA", ["X86_CR0_PG"])]


def ite(c, a, b):
    return ("op", "?:", c, a, b)


# ---- the test: determined by the role ----------------------------------------


def test_a_conjunction_does_not_record_its_parts():
    assert not determines([op("&&", LMA, PKE)], LMA, TRUE, Names())


def test_a_level_of_4_or_5_records_long_mode():
    level = ite(LMA, ite(LA57, ("n", "PT64_ROOT_5LEVEL"), ("n", "PT64_ROOT_4LEVEL")),
                ("n", "PT32E_ROOT_LEVEL"))
    assert determines([level], LMA, TRUE, Names())
    # and LA57 only where it is read in long mode
    assert determines([level], LA57, LMA, Names())
    assert not determines([level], LA57, TRUE, Names())


def test_a_field_set_only_with_paging_records_its_state_with_paging():
    lma_field = ite(PG, LMA, ("c", 0))
    assert not determines([lma_field], LMA, TRUE, Names())
    assert determines([lma_field], LMA, PG, Names())
    # EFER.LMA without CR0.PG is no state: the invariant covers the rest
    assert determines([lma_field], LMA, TRUE, Names(), INVARIANTS)


def test_a_number_is_recorded_by_itself_not_by_a_comparison():
    level = ite(and_(op("==", ("h", "max_tdp_level"), ("c", 5)), op("<=", MAXPHYADDR, ("c", 48))),
                ("c", 4), ("h", "max_tdp_level"))
    assert not determines([level], MAXPHYADDR, TRUE, Names())
    assert determines([level, MAXPHYADDR], MAXPHYADDR, TRUE, Names())


def test_a_read_that_cannot_happen_needs_no_record():
    never = and_(op("!!", ("h", "tdp_enabled")), op("!", op("!!", ("h", "tdp_enabled"))))
    assert not satisfiable(never, Names())
    assert determines([], ("a", "call:kvm_find_cpuid_entry(1)", None), never, Names())
    assert not determines([], ("a", "call:kvm_find_cpuid_entry(1)", None), TRUE, Names())


def test_a_sym_evaluates_to_a_number_or_to_the_term_it_cannot_compute():
    x, p, q = ("a", "arch.x", None), ("h", "p"), ("h", "q")
    assert evaluate(ite(x, ("c", 1), ("c", 2)), {x: 0}, Names()) == 2
    assert evaluate(ite(p, ("c", 1), ("c", 2)), {}, Names()) == ("?:", ("free", p), 1, 2)
    assert evaluate(and_(p, q), {p: 1}, Names()) == ("&&", (1, ("free", q)))
    assert evaluate(and_(p, q), {p: 0}, Names()) == 0
    assert evaluate(("op", "||", p, q), {p: 0, q: 3}, Names()) == 1
    assert evaluate(("op", "||", p, q), {q: 3}, Names()) == ("||", (("free", p), 3))
    assert evaluate(("op", "&", p, ("c", 0)), {}, Names()) == 0
    assert evaluate(("op", "/", ("c", 1), ("c", 0)), {}, Names()) == ("/", (1, 0))
    assert evaluate(("op", "!", ("op", "<<", ("c", 1), x)), {x: 70}, Names()) == 1
    assert evaluate(("op", "call:f", x), {x: 2}, Names()) == ("call:f", (2,))
    names = Names({"KNOWN": 7})
    assert evaluate(("op", "+", ("n", "B"), ("n", "A")), {}, names) == 2 * 1_000_003 + 7919
    assert (names.value("B"), names.value("A"), names.value("KNOWN")) == (1_000_003, 1_000_003 + 7919, 7)


# ---- accessors made by macros ------------------------------------------------------


@pytest.mark.parametrize("text", ["F(a);F(b);\nF(c);", "F(x\nF(y);\n", "\nF(1);\n F(2);\nF(3)\n;F(4);",
                                  "F(a\nF(b));\nF(c,\n d);", "", "G(F(1));\nFF(2);\nF(3);"])
def test_the_uses_of_a_generator_are_the_lines_that_start_with_it(text: str):
    expected = [(m.span(), m.group(1)) for m in re.finditer(r"^F\(([^)]*)\);", text, re.M)]
    assert [(m.span(), m.group(1)) for m in _uses("F", text)] == expected


# ---- writers, as text ------------------------------------------------------------


CPUID_C = """\
static void kvm_vcpu_after_set_cpuid(struct kvm_vcpu *vcpu)
{
	/* vcpu->arch.efer = 0; is a comment */
	vcpu->arch.maxphyaddr = cpuid_query_maxphyaddr(vcpu);
	bitmap_zero(vcpu->arch.governed_features.enabled, 4);
	if (x)
		__set_bit(3, vcpu->arch.cpu_caps);
	kvm_mmu_after_set_cpuid(vcpu);
}

void kvm_mmu_after_set_cpuid(struct kvm_vcpu *vcpu)
{
	vcpu->arch.root_mmu.cpu_role.ext.valid = 0;
	vcpu->arch.guest_mmu.root_role.invalid = 1;
	kvm_mmu_reset_context(vcpu);
}
"""


def test_text_functions_name_writes_calls_and_invalidations():
    after, mmu = functions("cpuid.c", CPUID_C, ("cpu_role", "root_role"))
    assert (after.name, after.line, after.end_line) == ("kvm_vcpu_after_set_cpuid", 1, 9)
    assert [(w.member, w.line) for w in after.writes] == [
        ("maxphyaddr", 4), ("governed_features", 5), ("cpu_caps", 7)]
    assert {"cpuid_query_maxphyaddr", "kvm_mmu_after_set_cpuid"} <= after.calls
    assert after.invalidates == [] and "efer" not in after.reads
    assert [line for line, _ in mmu.invalidates] == [13, 14]
    # a write is shown as its line reads in the file, comments and all
    assert after.writes[0].text == CPUID_C.split("\n")[3].strip()


@pytest.mark.parametrize("text", ["a\nbb\n\nccc", "", "x\n", "\n\n", "one line"])
def test_the_lines_of_a_text_file_are_its_split_lines(text: str):
    lines = Lines(text)
    assert len(lines) == len(text.split("\n"))
    assert [lines[i] for i in range(len(lines))] == text.split("\n")
    with pytest.raises(IndexError):
        lines[len(lines)]


# ---- the fixture trees -------------------------------------------------------------


def _incomplete(findings) -> list:
    return [f for f in decided(findings) if f.rule == "role-incomplete"]


@pytest.mark.parametrize("tree", [LEGACY, MODERN], ids=["legacy", "modern"])
def test_fixture_trees_are_clean(tree: Path):
    result = analyze(tree_image(tree / "tree"))
    assert decided(result.findings) == []
    # the two comparing functions were looked at
    assert len({c.func for c in result.facts.compares}) == 2


def _check(tree: Path, patch: Path):
    (res,) = run_check(read_patches(patch.read_bytes()), tree).patches
    assert res.status == "analyzed", res.reason
    return res


def test_a_new_read_shows_the_comparison_the_read_the_store_and_the_writer():
    res = _check(LEGACY / "tree", LEGACY / "patches" / "0002-read-unrecorded-cr0-bit.patch")
    (f,) = _incomplete(res.delta.introduced)
    assert (f.field, f.function, f.severity) == ("X86_CR0_CD", "init_kvm_tdp_mmu", "warning")
    assert "vcpu->arch.cr0 & X86_CR0_CD" in f.message and "'pkru_mask'" in f.message
    assert "kvm_set_cr0() writes it without invalidating the cached role" in f.message
    kinds = [(t.kind, t.function) for t in f.trace]
    assert kinds[0] == ("compare", "init_kvm_tdp_mmu")
    assert ("read", "init_kvm_tdp_mmu") in kinds and ("store", "init_kvm_tdp_mmu") in kinds
    assert kinds.index(("read", "init_kvm_tdp_mmu")) < kinds.index(("store", "init_kvm_tdp_mmu"))
    writer = [t for t in f.trace if t.side == "writer"]
    assert [(t.kind, t.file) for t in writer] == [("writer", "arch/x86/kvm/x86.c"),
                                                  ("call", "arch/x86/kvm/x86.c")]
    assert "kvm_mmu_reset_context" in writer[1].text


def test_dropping_the_invalidation_names_each_state_at_each_comparison():
    res = _check(MODERN / "tree", MODERN / "patches" / "0001-drop-cpuid-invalidation.patch")
    got = sorted((f.field, f.function) for f in _incomplete(res.delta.introduced))
    assert got == [("guest_cpuid_has", "init_kvm_tdp_mmu"), ("guest_cpuid_has", "shadow_mmu_init_context"),
                   ("reserved_gpa_bits", "init_kvm_tdp_mmu"),
                   ("reserved_gpa_bits", "shadow_mmu_init_context")]
    gbpages = next(f for f in res.delta.introduced if f.field == "guest_cpuid_has")
    # the shadow comparison is reached from the caller that computes the roles
    assert "kvm_set_cpuid() writes it" in gbpages.message


def test_the_shadow_mmu_records_long_mode_in_its_level(tmp_path):
    """Dropping ext.efer_lma leaves EFER.LMA unrecorded with TDP (base.level
    is the TDP level), not for the shadow MMU, whose level is 3, 4 or 5."""
    res = _check(LEGACY / "tree", LEGACY / "patches" / "0006-drop-efer-lma.patch")
    assert [(f.field, f.function) for f in _incomplete(res.delta.introduced)] == [
        ("is_long_mode", "init_kvm_tdp_mmu")]


def _copy(tree: Path, tmp_path: Path, drop: tuple[str, ...] = ()) -> Path:
    out = tmp_path / "tree"
    shutil.copytree(tree, out)
    for rel in drop:
        (out / rel).unlink()
    return out


def test_a_patch_changes_the_context_files_with_the_role_files(tmp_path):
    """Renaming the invalidating function in mmu.c and at its call in
    cpuid.c keeps every writer invalidating (fixture 0007, clean); with the
    cpuid.c hunk not applying, the context is the tree's, and says so."""
    text = (LEGACY / "patches" / "0007-rename-invalidation.patch").read_text()
    broken = tmp_path / "broken.patch"
    broken.write_text(text.replace(" int kvm_update_cpuid(struct kvm_vcpu *vcpu)",
                                   " int kvm_update_the_cpuid(struct kvm_vcpu *vcpu)"))
    res = _check(LEGACY / "tree", broken)
    assert any(n.startswith("context not applied (arch/x86/kvm/cpuid.c") for n in res.notes), res.notes
    assert {f.field for f in _incomplete(res.delta.introduced)} == {"guest_cpuid_has"}


def test_without_the_context_files_the_verdict_says_what_it_assumes(tmp_path):
    tree = _copy(LEGACY / "tree", tmp_path, ("arch/x86/kvm/cpuid.c", "arch/x86/kvm/x86.c"))
    res = _check(tree, LEGACY / "patches" / "0002-read-unrecorded-cr0-bit.patch")
    (f,) = _incomplete(res.delta.introduced)
    assert "cpuid.c and x86.c not read: this assumes no writer invalidates the cached role" in f.message
    assert [t for t in f.trace if t.side == "writer"] == []


def test_an_accessor_the_files_do_not_define_is_not_followed(tmp_path):
    """Without x86.h and kvm_cache_regs.h nothing says what is_long_mode()
    reads: dropping ext.efer_lma is then not reported."""
    tree = _copy(LEGACY / "tree", tmp_path, ("arch/x86/kvm/x86.h", "arch/x86/kvm/kvm_cache_regs.h"))
    res = _check(tree, LEGACY / "patches" / "0006-drop-efer-lma.patch")
    assert _incomplete(res.delta.introduced) == []


def _scan_json(capsys, tree: Path) -> tuple[int, list[dict]]:
    status = main(["scan", "--tree", str(tree), "--format", "json"])
    return status, json.loads(capsys.readouterr().out)["findings"]


def _buggy(tmp_path: Path, comment: str = "") -> Path:
    """The legacy fixture tree with the CR0.CD read of patch 0002, and a
    comment above the read."""
    tree = _copy(LEGACY / "tree", tmp_path)
    mmu = tree / "arch/x86/kvm/mmu.c"
    (p,) = read_patches((LEGACY / "patches" / "0002-read-unrecorded-cr0-bit.patch").read_bytes())
    text = apply_patch(p, tree_image(tree).get).files["arch/x86/kvm/mmu.c"]
    if comment:
        text = text.replace("\tif (kvm_read_cr0_bits(vcpu, X86_CR0_CD))",
                            f"\t{comment}\n\tif (kvm_read_cr0_bits(vcpu, X86_CR0_CD))")
    mmu.write_text(text)
    return tree


def test_scan_reports_it_in_json_with_a_reconfiguration_and_a_writer_side(capsys, tmp_path):
    status, found = _scan_json(capsys, _buggy(tmp_path))
    (f,) = found
    assert status == 1 and f["rule"] == "role-incomplete" and f["field"] == "X86_CR0_CD"
    assert f["location"]["function"] == "init_kvm_tdp_mmu"
    assert {t["side"] for t in f["trace"]} == {"reconfiguration", "writer"}


def test_sarif_is_valid_with_one_thread_flow_per_side(tmp_path):
    status, log = sarif_of(tmp_path, "scan", "--tree", str(_buggy(tmp_path)))
    (result,) = log["runs"][0]["results"]
    assert status == 1 and result["ruleId"] == "role-incomplete" and result["level"] == "warning"
    assert [t["id"] for t in result["codeFlows"][0]["threadFlows"]] == ["reconfiguration", "writer"]


@pytest.mark.parametrize("where", ["read", "compare"])
def test_a_reason_at_the_read_or_the_comparison_suppresses(capsys, tmp_path, where):
    comment = "/* mmu-role-lint: ignore role-incomplete:X86_CR0_CD -- CD is fixed at boot here */"
    tree = _buggy(tmp_path, comment if where == "read" else "")
    if where == "compare":
        mmu = tree / "arch/x86/kvm/mmu.c"
        mmu.write_text(mmu.read_text().replace(
            "\tif (new_role.as_u64 == context->mmu_role.as_u64) /* expect: compare */\n\t\treturn;\n\n"
            "\tcontext->mmu_role.as_u64 = new_role.as_u64; /* expect: store */\n\tcontext->page_fault = tdp",
            f"\t{comment}\n\tif (new_role.as_u64 == context->mmu_role.as_u64) /* expect: compare */\n"
            "\t\treturn;\n\n\tcontext->mmu_role.as_u64 = new_role.as_u64; /* expect: store */\n"
            "\tcontext->page_fault = tdp", 1))
    status, found = _scan_json(capsys, tree)
    assert status == 0 and [f["suppressed"]["reason"] for f in found] == ["CD is fixed at boot here"]


def test_a_suppression_without_reason_is_reported(capsys, tmp_path):
    tree = _buggy(tmp_path, "/* mmu-role-lint: ignore role-incomplete:X86_CR0_CD */")
    status, found = _scan_json(capsys, tree)
    assert status == 1
    assert sorted(f["rule"] for f in found) == ["role-incomplete", "suppression-without-reason"]


MODERN_MMU = "arch/x86/kvm/mmu/mmu.c"
MODERN_TDP_END = "\treset_guest_paging_metadata(vcpu, context);\n}\n\nstatic void shadow_mmu_init_context("


@pytest.mark.parametrize("statement", [
    # a function pointer builds no state
    "\tcontext->gva_to_gpa = kvm_read_cr0_bits(vcpu, X86_CR0_CD) ? paging64_gva_to_gpa : nonpaging_gva_to_gpa;\n",
    # nor does a WARN condition, even one that returns
    "\tif (WARN_ON_ONCE(kvm_read_cr0_bits(vcpu, X86_CR0_CD)))\n\t\treturn;\n",
    # a module parameter is no vCPU state
    "\tif (max_tdp_level == 5)\n\t\tcontext->pkru_mask = 0;\n",
], ids=["function-pointer", "warn", "host-wide"])
def test_what_builds_no_state_is_not_reported(statement: str):
    # before the last step, so that a return there would decide it
    res = _replay(MODERN / "tree", [(MODERN_TDP_END, statement + MODERN_TDP_END)], MODERN_MMU)
    assert _counted(res) == []


def test_git_reads_the_context_files_from_the_commits(tmp_path, monkeypatch):
    """The commits are judged from git objects: the writer in x86.c is found
    even when the work tree has lost the file."""
    import subprocess

    repo = _copy(MODERN / "tree", tmp_path)
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": str(tmp_path / "no-gitconfig")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "initial import")
    git("am", "-q", str(MODERN / "patches" / "0002-read-unrecorded-cr0-bit.patch"))
    (repo / "arch/x86/kvm/x86.c").unlink()
    out = tmp_path / "out.json"
    assert main(["git", "--tree", str(repo), "--format", "json", "-o", str(out)]) == 1
    (patch,) = json.loads(out.read_text())["patches"]
    (f,) = patch["introduced"]
    assert (f["rule"], f["field"]) == ("role-incomplete", "X86_CR0_CD")
    assert "kvm_set_cr0() writes it" in f["message"]


def test_explain_prints_the_page_with_its_caveats(capsys):
    assert main(["explain", "role-incomplete"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("role-incomplete (RoleIncomplete): ") and "## Caveats" in out


# ---- the real fixes, replayed as edits on Debian's 6.1 and 6.12 -------------------


MMU = "arch/x86/kvm/mmu/mmu.c"
TDP_END = "\treset_guest_paging_metadata(vcpu, context);\n\treset_tdp_shadow_zero_bits_mask(context);\n}\n"


def _after_tdp_return(statement: str) -> tuple[str, str]:
    """An edit that adds ``statement`` at the end of init_kvm_tdp_mmu(),
    after its early return."""
    return TDP_END, TDP_END[:-2] + statement + "}\n"


def _invalidation(text: str) -> tuple[str, str]:
    """The edit that drops the role invalidation from kvm_mmu_after_set_cpuid()."""
    body = text[text.index("void kvm_mmu_after_set_cpuid("):]
    body = body[:body.index("\n}\n")]
    lines = [ln + "\n" for ln in body.split("\n") if re.search(r"_role\.(ext\.valid|word|invalid) =", ln)]
    assert len(lines) == 6, lines
    block = "".join(lines)
    assert block in text
    return block, ""


def _replay(tree: Path, edits: list[tuple[str, str]], path: str = MMU):
    """Check the edits of one file as a patch, and that the incremental
    analysis after it is the full one."""
    text = (tree / path).read_text()
    mutated = text
    for old, new in edits:
        assert mutated.count(old) == 1, f"anchor not found once in {path}: {old!r}"
        mutated = mutated.replace(old, new)
    diff = "".join(difflib.unified_diff(text.splitlines(keepends=True), mutated.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))
    image = tree_image(tree)
    (res,) = run_check(read_patches(diff), tree, image).patches
    assert res.status == "analyzed", res.reason
    # the incremental analysis after the edit is the full one
    after = analyze(patched_image(image, {path: mutated}, lambda p: None))
    assert sorted((f.key, f.function) for f in _incomplete(after.findings)) == sorted(
        (f.key, f.function) for d in (res.delta.introduced, res.delta.persisting)
        for f in _incomplete(d))
    return res


def _counted(res) -> list:
    return [f for d in (res.delta.introduced, res.delta.fixed, res.delta.persisting)
            for f in _incomplete(d)]


REPLAYS = {
    # CR0.CD is in no role field; kvm_set_cr0() only resets the context
    "unrecorded-cr0-bit": ["\tif (kvm_read_cr0_bits(vcpu, X86_CR0_CD))\n\t\tcontext->pkru_mask = 0;\n"],
    # CR0.PG decides cpu_role (direct and level): the role records it
    "determined": ["\tif (!is_paging(vcpu))\n\t\tcontext->pkru_mask = 0;\n"],
    # the context's own role: no vCPU state
    "stored-role": ["\tif (!is_cr4_pke(context))\n\t\tcontext->pkru_mask = 0;\n"],
}


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_dropping_the_cpuid_invalidation_is_introduced(series: str, kernel_tree):
    """49c6f8756cdf undone: kvm_mmu_after_set_cpuid() without the role
    invalidation leaves the CPUID-derived reserved bits stale."""
    tree = kernel_tree(series)
    res = _replay(tree, [_invalidation((tree / MMU).read_text())])
    got = {(f.field, f.function) for f in _incomplete(res.delta.introduced)}
    fields = {field for field, _ in got}
    assert "reserved_gpa_bits" in fields and "guest_cpuid_is_amd_compatible" in fields
    assert {"init_kvm_tdp_mmu", "shadow_mmu_init_context", "init_kvm_nested_mmu",
            "kvm_init_shadow_ept_mmu"} == {func for _, func in got}
    if series == "6.1":
        # guest_can_use_gbpages() reads the guest's CPUID only without TDP
        assert ("guest_can_use_gbpages", "shadow_mmu_init_context") in got
        assert ("guest_can_use_gbpages", "init_kvm_tdp_mmu") not in got
    # every one of them is about CPUID
    assert fields <= {"reserved_gpa_bits", "guest_cpuid_is_amd_compatible", "guest_can_use_gbpages",
                      "guest_cpu_cap_has"}
    assert all("kvm_vcpu_after_set_cpuid() writes it" in f.message or "kvm_set_cpuid() writes it"
               in f.message for f in _incomplete(res.delta.introduced))


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", ["6.1", "6.12"])
@pytest.mark.parametrize("name", sorted(REPLAYS))
def test_a_new_read_after_the_early_return(series: str, name: str, kernel_tree):
    tree = kernel_tree(series)
    res = _replay(tree, [_after_tdp_return(REPLAYS[name][0])])
    if name == "unrecorded-cr0-bit":
        assert [(f.field, f.function) for f in _incomplete(res.delta.introduced)] == [
            ("X86_CR0_CD", "init_kvm_tdp_mmu")]
        assert _incomplete(res.delta.persisting) == []
    else:
        assert _counted(res) == []


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_a_reordering_after_the_early_return_is_clean(series: str, kernel_tree):
    tree = kernel_tree(series)
    res = _replay(tree, [(TDP_END, "\treset_tdp_shadow_zero_bits_mask(context);\n"
                                  "\treset_guest_paging_metadata(vcpu, context);\n}\n")])
    assert _counted(res) == []


@pytest.mark.real_kernel
def test_what_role_incomplete_parses_on_demand_is_parsed_once_per_text(monkeypatch, linux_6_12):
    """A header or a macro-generated function role-incomplete reads is
    parsed once however many analyses read it (git mode: commit after
    commit), each analysis getting its own copy without the node objects
    another walked; the findings are the same."""
    import analyzer.analysis as analysis_mod

    parses: list[str] = []
    real = analysis_mod._parse

    def counting(path, text, old=None):
        parses.append(path)
        return real(path, text, old)

    monkeypatch.setattr(analysis_mod, "_parse", counting)
    analysis_mod._parsed_once.cache_clear()
    text = "struct kvm_mmu_page_role r;\nstatic int f(int x)\n{\n\treturn x + 1;\n}\n"
    first = analysis_mod._parse_on_demand("arch/x86/kvm/mmu/once.h", text)
    second = analysis_mod._parse_on_demand("arch/x86/kvm/mmu/once.h", text)
    other = analysis_mod._parse_on_demand("arch/x86/kvm/mmu/once.h", text + "\n")
    assert parses == ["arch/x86/kvm/mmu/once.h"] * 2  # the same text once, the other once
    assert first is not second and first.tree is second.tree and first.root is not second.root
    assert other.tree is not first.tree
    image = tree_image(linux_6_12)
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "1")  # role-incomplete here, not in a child
    analysis_mod._parsed_once.cache_clear()
    found = [analyze(image) for _ in range(2)]
    assert found[0].findings == found[1].findings
    assert found[0].by_site == found[1].by_site
    asked = analysis_mod._parsed_once.cache_info()
    # the headers and BUILD_MMU_ROLE_ACCESSOR functions: the second analysis parsed none again
    assert asked.misses > 10 and asked.hits == asked.misses
