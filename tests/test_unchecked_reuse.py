"""role-unchecked-reuse: a function that keeps an existing page for a
(gfn, role) key must compare the page with every part of the key its
callers can make differ. Snippets in the shape of the 5.18+ shadow MMU,
the fixture patches' findings in every output format, and Debian's real
6.1 and 6.12 (the 2026 kvm_mmu_get_child_sp() use-after-free)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import kernels
import pytest
from helpers import FIXTURES, analyze_c, decided, unified_diff
from sarif_schema import sarif_of

from analyzer.analysis import analyze
from analyzer.cli import main
from analyzer.patch import apply_patch, read_patches
from analyzer.runner import run_check
from analyzer.sources import patched_image, tree_image
from analyzer.terms import CompareCond

RULE = "role-unchecked-reuse"

# A hash lookup, a make, a get-or-make, a child role derived from the
# parent and the function under test: kvm_mmu_get_child_sp() in miniature.
SHADOW = """
#define for_each_sp(_sp, _list) hlist_for_each_entry(_sp, _list, hash_link)

static const union kvm_mmu_page_role MASK_NAME = { MASK };

static struct kvm_mmu_page *find_page(struct hlist_head *list, gfn_t gfn,
				      union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp;

	for_each_sp(sp, list) {
		if (sp->gfn != gfn)
			continue;
		if (sp->role.word != role.word)
			continue;
		return sp;
	}
	return NULL;
}

static struct kvm_mmu_page *alloc_page(struct hlist_head *list, gfn_t gfn,
				       union kvm_mmu_page_role role)
{
	struct kvm_mmu_page *sp = page_alloc();

	sp->gfn = gfn;
	sp->role = role;
	hlist_add_head(&sp->hash_link, list);
	return sp;
}

static struct kvm_mmu_page *get_page(struct kvm_vcpu *vcpu, gfn_t gfn,
				     union kvm_mmu_page_role role)
{
	struct hlist_head *list = &vcpu->kvm->arch.mmu_page_hash[gfn & 63];
	struct kvm_mmu_page *sp = find_page(list, gfn, role);

	if (!sp)
		sp = alloc_page(list, gfn, role);
	return sp;
}

static union kvm_mmu_page_role child_role(u64 *sptep, int direct, unsigned access)
{
	struct kvm_mmu_page *parent = sptep_to_sp(sptep);
	union kvm_mmu_page_role role = parent->role;

	role.level--;
	role.direct = direct;
	role.access = access;
	return role;
}

static struct kvm_mmu_page *get_child(struct kvm_vcpu *vcpu, u64 *sptep, gfn_t gfn,
				      int direct, unsigned access)
{
	union kvm_mmu_page_role role = child_role(sptep, direct, access);

	if (CHECK)
		return NULL;

	return get_page(vcpu, gfn, role);
}

static void walk(struct kvm_vcpu *vcpu, u64 *sptep, gfn_t table_gfn, gfn_t gfn,
		 unsigned access)
{
	struct kvm_mmu_page *sp = get_child(vcpu, sptep, table_gfn, 0, access);

	if (sp)
		link_page(sptep, sp);
	sp = get_child(vcpu, sptep + 1, gfn, SECOND_DIRECT, ACC_ALL);
	if (sp)
		link_page(sptep + 1, sp);
}
"""

PRESENT = "spte_present(*sptep)"
GFN = "to_sp(*sptep)->gfn == gfn"
WORD = "to_sp(*sptep)->role.word == role.word"


def shadow(check: str, mask: str = ".smm = 1", second_direct: str = "1") -> str:
    return (SHADOW.replace("CHECK", check).replace("MASK_NAME", "key_mask").replace("MASK", mask)
            .replace("SECOND_DIRECT", second_direct))


def reuse(source: str) -> dict[str, str]:
    """field -> message of the role-unchecked-reuse findings."""
    return {f.field: f.message for f in analyze_c(source).findings if f.rule == RULE}


def test_keeping_any_present_page_reports_role_and_gfn():
    got = reuse(shadow(PRESENT))
    assert got == {
        "role": "an existing page is kept without comparing its role with the key's: "
                "direct and access vary between the callers of get_child",
        "gfn": "an existing page is kept without comparing its gfn with the key's: "
               "gfn varies between the callers of get_child",
    }


@pytest.mark.parametrize("check", [
    f"{PRESENT} && {GFN} && {WORD}",
    f"{PRESENT} && {WORD} && {GFN}",  # the order does not matter
    f"{WORD} && ({GFN} && {PRESENT})",
])
def test_comparing_gfn_and_role_word_is_clean(check):
    assert reuse(shadow(check)) == {}


def test_each_comparison_covers_its_own_part():
    assert set(reuse(shadow(f"{PRESENT} && {GFN}"))) == {"role"}
    assert set(reuse(shadow(f"{PRESENT} && {WORD}"))) == {"gfn"}


def test_comparing_some_fields_only_leaves_the_others_unchecked():
    got = reuse(shadow(f"{PRESENT} && {GFN} && to_sp(*sptep)->role.level == role.level"))
    assert got == {"role": "an existing page is kept after comparing only level of its role with "
                           "the key's: direct and access vary between the callers of get_child"}
    fields = f"{PRESENT} && {GFN} && to_sp(*sptep)->role.direct == role.direct"
    assert "only direct of its role" in reuse(shadow(fields))["role"]
    both = fields + " && to_sp(*sptep)->role.access == role.access"
    assert reuse(shadow(both)) == {}


def test_a_mask_covers_the_fields_it_keeps():
    masked = f"{PRESENT} && {GFN} && !((to_sp(*sptep)->role.word ^ role.word) & key_mask.word)"
    assert reuse(shadow(masked, ".direct = 1, .access = 7")) == {}
    assert "access varies" in reuse(shadow(masked, ".direct = 1"))["role"]


def test_a_comparison_that_holds_on_one_branch_only_covers_nothing():
    either = f"{PRESENT} && {GFN} && ({WORD} || force_reuse)"
    assert set(reuse(shadow(either))) == {"role"}


def test_a_comparison_with_another_role_is_not_with_the_key():
    parent = f"{PRESENT} && {GFN} && to_sp(*sptep)->role.word == sptep_to_sp(sptep)->role.word"
    assert set(reuse(shadow(parent))) == {"role"}
    other = f"{PRESENT} && {GFN} && to_sp(*sptep)->role.word == child_role(sptep, 1, access).word"
    assert set(reuse(shadow(other))) == {"role"}


def test_what_every_caller_passes_as_one_constant_does_not_vary():
    got = reuse(shadow(PRESENT, second_direct="0"))
    assert got["role"].endswith(": access varies between the callers of get_child")


def test_an_exit_when_the_slot_is_empty_is_no_reuse():
    assert reuse(shadow(f"!{PRESENT}")) == {}


def test_names_do_not_matter():
    source = shadow(PRESENT)
    for old, new in (("get_child", "fetch_one"), ("get_page", "obtain"), ("find_page", "lookup"),
                     ("alloc_page", "fresh"), ("child_role", "derive"), ("sptep", "slotp"),
                     ("gfn", "frame"), ("spte_present", "occupied")):
        source = re.sub(rf"\b{old}\b", new, source)
    got = reuse(source)
    assert set(got) == {"role", "frame"} and "vary between the callers of fetch_one" in got["role"]


SAFE = SHADOW.split("static struct kvm_mmu_page *get_child(")[0] + """
static struct kvm_mmu_page *get_same_child(struct kvm_vcpu *vcpu, u64 *sptep, GFN_PARAM)
{
	struct kvm_mmu_page *parent = sptep_to_sp(sptep);
	union kvm_mmu_page_role role = parent->role;

	role.level--;
	GFN_LINE
	if (spte_present(*sptep))
		return NULL;
	return get_page(vcpu, gfn, role);
}

static void prefetch(struct kvm_vcpu *vcpu, u64 *sptep, gfn_t hint)
{
	struct kvm_mmu_page *sp = get_same_child(vcpu, sptep, hint);

	if (sp)
		link_page(sptep, sp);
}
"""


def test_a_key_derived_from_the_parent_alone_needs_no_comparison():
    derived = SAFE.replace("GFN_PARAM", "gfn_t hint").replace(
        "GFN_LINE", "gfn_t gfn = parent->gfn + spte_index(sptep);")
    assert reuse(derived.replace("MASK_NAME", "key_mask").replace("MASK", ".smm = 1")) == {}
    # the same reuse with a gfn its caller chooses
    chosen = SAFE.replace("GFN_PARAM", "gfn_t gfn").replace("GFN_LINE", "")
    assert set(reuse(chosen.replace("MASK_NAME", "key_mask").replace("MASK", ".smm = 1"))) == {"gfn"}


def test_the_trace_shows_the_key_and_the_early_return():
    source = shadow(PRESENT)
    (f,) = [f for f in analyze_c(source).findings if f.rule == RULE and f.field == "role"]
    lines = source.split("\n")
    assert lines[f.line - 1].strip() == "return NULL;" and f.function == "get_child"
    steps = [(t.side, t.kind, t.text) for t in f.trace]
    assert steps == [
        ("key", "override", "role.direct = direct"),
        ("key", "override", "role.access = access"),
        ("key", "call", "child_role(sptep, direct, access)"),
        ("key", "call", "get_page(vcpu, gfn, role)"),
        ("reuse", "return", "return NULL;"),
    ]
    assert f.severity == "error"


def test_the_facts_name_the_compare_sites_of_conditions():
    result = analyze_c(shadow(f"{PRESENT} && {WORD}"))
    exits = [e for e in result.facts.exits if e.func == "get_child"]
    assert [e.text for e in exits] == ["NULL", "get_page(vcpu,gfn,role)"]
    call = next(c for c in result.facts.calls if c.caller == "get_child" and c.callee == "get_page")
    assert exits[1].call == call.id and exits[0].call == -1
    cmp = next(c for c in result.facts.compares if c.func == "get_child")
    conds = exits[0].cond.parts
    assert CompareCond(f"{WORD}".replace(" ", ""), cmp.id, True) in conds


# ---- the fixtures, through the command line ----------------------------------

MODERN = FIXTURES / "modern" / "tree"
UNCHECKED = FIXTURES / "modern" / "patches" / "0010-child-sp-unchecked-reuse.patch"
LEVEL_ONLY = FIXTURES / "modern" / "patches" / "0011-child-sp-level-only.patch"


def patched_tree(tmp_path: Path, patch: Path, tree: Path = MODERN) -> Path:
    """A copy of ``tree`` with ``patch`` applied."""
    out = tmp_path / "tree"
    shutil.copytree(tree, out)
    (p,) = read_patches(patch.read_bytes())
    for path, text in apply_patch(p, lambda path: (out / path).read_text()).files.items():
        (out / path).write_text(text)
    return out


def test_scan_reports_it_as_an_error_and_exits_1(tmp_path, capsys):
    tree = patched_tree(tmp_path, UNCHECKED)
    assert main(["scan", "--tree", str(tree)]) == 1
    out = capsys.readouterr().out
    assert out.endswith("0 role mismatches, 2 unchecked reuses in 3 files\ntotal: 2 errors, 0 warnings\n")
    assert ("arch/x86/kvm/mmu/mmu.c:162:3: error: an existing page is kept without comparing "
            "its role with the key's: direct and access vary between the callers of "
            "kvm_mmu_get_child_sp [role-unchecked-reuse]") in out
    assert "  key side:\n    arch/x86/kvm/mmu/mmu.c:145: kvm_mmu_child_role: override: " \
           "role.access = access\n" in out


def test_check_reports_it_in_every_format(tmp_path, capsys):
    argv = ["check", str(UNCHECKED), "--tree", str(MODERN)]
    assert main([*argv, "--format", "json"]) == 1
    (patch,) = json.loads(capsys.readouterr().out)["patches"]
    got = {f["field"]: f for f in patch["introduced"]}
    assert set(got) == {"role", "gfn"} and {f["rule"] for f in got.values()} == {RULE}
    assert {f["severity"] for f in got.values()} == {"error"}
    assert [t["side"] for t in got["gfn"]["trace"]] == ["key", "key", "reuse"]
    assert got["role"]["location"]["function"] == "kvm_mmu_get_child_sp"

    status, log = sarif_of(tmp_path, *argv)
    (run,) = log["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert status == 1 and RULE in rules
    results = run["results"]
    assert {(r["ruleId"], r["properties"]["field"], r["baselineState"]) for r in results} == {
        (RULE, "role", "new"), (RULE, "gfn", "new")}
    assert all(rules[r["ruleIndex"]] == RULE and r["level"] == "error" for r in results)
    flows = results[0]["codeFlows"][0]["threadFlows"]
    assert [t["id"] for t in flows] == ["key", "reuse"]

    assert main([*argv, "--format", "github"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split(" ", 1)[0] for line in lines) == ["::error", "::error"]
    assert all(f"title={RULE} (" in line for line in lines)

    assert main([*argv, "--format", "b4"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(
        line.startswith("ERROR: arch/x86/kvm/mmu/mmu.c:162: role-unchecked-reuse: ") for line in lines)


def test_a_partial_check_names_what_it_compares(capsys):
    assert main(["check", str(LEVEL_ONLY), "--tree", str(MODERN), "--format", "json"]) == 1
    (patch,) = json.loads(capsys.readouterr().out)["patches"]
    (f,) = patch["introduced"]
    assert f["field"] == "role" and f["message"] == (
        "an existing page is kept after comparing only level of its role with the key's: "
        "direct and access vary between the callers of kvm_mmu_get_child_sp")
    assert [(t["kind"], t["text"]) for t in f["trace"] if t["side"] == "reuse"] == [
        ("load", "spte_to_child_sp(*sptep)->role.level"), ("return", "return NULL;")]


def test_fixing_it_is_fixed(tmp_path, capsys):
    tree = patched_tree(tmp_path, UNCHECKED)
    reverse = tmp_path / "fix.diff"
    path = "arch/x86/kvm/mmu/mmu.c"
    reverse.write_text(unified_diff(path, (tree / path).read_text(), (MODERN / path).read_text()))
    assert main(["check", str(reverse), "--tree", str(tree), "--format", "json"]) == 0
    (patch,) = json.loads(capsys.readouterr().out)["patches"]
    assert sorted(f["field"] for f in patch["fixed"]) == ["gfn", "role"] and patch["introduced"] == []


def test_a_reason_at_the_early_return_suppresses_it(tmp_path, capsys):
    tree = patched_tree(tmp_path, UNCHECKED)
    path = tree / "arch/x86/kvm/mmu/mmu.c"
    text = path.read_text()
    reason = "every present child here was made by this function"
    path.write_text(text.replace("\t\treturn NULL;\n\n\trole = kvm_mmu_child_role",
                                 f"\t\treturn NULL; /* mmu-role-lint: ignore {RULE}:role -- {reason} */"
                                 "\n\n\trole = kvm_mmu_child_role"))
    assert main(["scan", "--tree", str(tree), "--format", "json"]) == 1  # gfn still counts
    found = {f["field"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert found["role"]["suppressed"] == {"reason": reason} and "suppressed" not in found["gfn"]
    path.write_text(path.read_text().replace(f"{RULE}:role", RULE))
    assert main(["scan", "--tree", str(tree)]) == 0
    assert "2 unchecked reuses (2 suppressed)" in capsys.readouterr().out


def test_explain_prints_the_rule_page(capsys):
    assert main(["explain", f"{RULE}:gfn"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{RULE} (RoleUncheckedReuse): ")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead",
                    "## When a reuse is safe", "## How the rule decides", "## References"):
        assert section in out


def test_an_incremental_analysis_equals_a_full_one():
    base = tree_image(MODERN)
    (p,) = read_patches(UNCHECKED.read_bytes())
    changes = apply_patch(p, lambda path: base.files.get(path)).files
    after = patched_image(base, changes, lambda path: None)
    incremental = analyze(after, base=analyze(base), base_image=base)
    full = analyze(after)
    assert incremental.parsed == ["arch/x86/kvm/mmu/mmu.c"]
    assert [f.as_dict() for f in incremental.findings] == [f.as_dict() for f in full.findings]
    assert {f.field for f in full.findings if f.rule == RULE} == {"role", "gfn"}


# ---- Debian's kernels ----------------------------------------------------------

MMU = "arch/x86/kvm/mmu/mmu.c"
ROLE_CMP = " &&\n\t    spte_to_child_sp(*sptep)->role.word == role.word)"
GFN_CMP = " &&\n\t    spte_to_child_sp(*sptep)->gfn == gfn"


def _child_sp(tree: Path) -> str:
    text = (tree / MMU).read_text()
    start = text.index("static struct kvm_mmu_page *kvm_mmu_get_child_sp(")
    return text[start:text.index("\n}\n", start)]


def _fixed_release(tree: Path) -> str:
    body = _child_sp(tree)
    if ROLE_CMP not in body or GFN_CMP not in body:
        pytest.skip(f"{(tree / '.version').read_text().strip()} compares no gfn and role in "
                    "kvm_mmu_get_child_sp (a release before the fix)")
    return body


def _check(tree: Path, edits: list[tuple[str, str]], base: Path | None = None):
    """Check, against ``base`` (default ``tree``), the diff that makes
    ``tree``'s MMU file into the edited one."""
    base = base or tree
    text = (tree / MMU).read_text()
    mutated = text
    for old, new in edits:
        assert mutated.count(old) == 1, old
        mutated = mutated.replace(old, new)
    diff = unified_diff(MMU, (base / MMU).read_text(), mutated)
    (res,) = run_check(read_patches(f"Subject: [PATCH] edit\n\n---\n{diff}"), base, tree_image(base)).patches
    assert res.status == "analyzed", res.reason
    return res


def _keys(findings) -> list[str]:
    return sorted(f.key for f in decided(findings))


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_a_fixed_release_reports_nothing(series, request):
    tree = request.getfixturevalue("linux_6_1" if series == "6.1" else "linux_6_12")
    body = _child_sp(tree)
    result = analyze(tree_image(tree))
    got = [f for f in result.findings if f.rule == RULE]
    # the oracle is the release's own source: what kvm_mmu_get_child_sp compares
    compared = {"gfn": r"spte_to_child_sp\(\*sptep\)->gfn\s*==\s*gfn\b",
                "role": r"spte_to_child_sp\(\*sptep\)->role\.word\s*==\s*role\.word\b"}
    want = sorted(part for part, pattern in compared.items() if not re.search(pattern, body))
    assert sorted(f.field for f in got) == want
    assert all(f.function == "kvm_mmu_get_child_sp" for f in got)


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", ["6.1", "6.12"])
@pytest.mark.parametrize(("edit", "introduced"), [
    ("drop-role", [f"{RULE}:role"]),
    ("drop-gfn", [f"{RULE}:gfn"]),
    ("swap", []),
])
def test_edits_of_kvm_mmu_get_child_sp(series, edit, introduced, request):
    tree = request.getfixturevalue("linux_6_1" if series == "6.1" else "linux_6_12")
    _fixed_release(tree)
    edits = {
        "drop-role": [(ROLE_CMP, ")")],
        "drop-gfn": [(GFN_CMP, "")],
        "swap": [(GFN_CMP + ROLE_CMP, " &&\n\t    spte_to_child_sp(*sptep)->role.word == role.word"
                  + GFN_CMP + ")")],
    }[edit]
    res = _check(tree, edits)
    assert _keys(res.delta.introduced) == introduced
    assert _keys(res.delta.fixed) == []
    if edit == "drop-role":
        (f,) = res.delta.introduced
        assert f.message.endswith("direct and access vary between the callers of kvm_mmu_get_child_sp")
        assert [t.kind for t in f.trace][-1] == "return" and f.trace[-1].text == "return ERR_PTR(-EEXIST);"


def debian_6_1(version: str, monkeypatch) -> Path:
    """Debian's linux-source-6.1 at ``version``, from the cache or downloaded
    (``apt-get download linux-source-6.1=VERSION``); the kernel_tree fixture
    is pinned for the whole session, so the pin is set here, for this call."""
    monkeypatch.setenv(kernels.pin_variable("6.1"), version)
    used = dict(kernels.USED)
    try:
        return kernels.kernel_tree("6.1")
    except (kernels.KernelUnavailable, kernels.KernelFetchError) as err:
        if kernels.in_ci():
            pytest.fail(f"CI needs Debian's linux-source-6.1 {version}: {err}")
        pytest.skip(f"Debian's linux-source-6.1 {version} unavailable: {err}")
    finally:
        monkeypatch.delenv(kernels.pin_variable("6.1"))
        kernels.USED.clear()
        kernels.USED.update(used)  # the summary names the releases of the fixtures


# 81ccda30b4e8 on 6.1.176 (which has 0cb2af2ea66a's gfn comparison already):
# compute the role before the check and compare it
REAL_FIX = [
    ("\tunion kvm_mmu_page_role role;\n\n\tif (is_shadow_present_pte(*sptep) && !is_large_pte(*sptep) &&\n"
     "\t    spte_to_child_sp(*sptep) && spte_to_child_sp(*sptep)->gfn == gfn)\n"
     "\t\treturn ERR_PTR(-EEXIST);\n\n\trole = kvm_mmu_child_role(sptep, direct, access);\n",
     "\tunion kvm_mmu_page_role role = kvm_mmu_child_role(sptep, direct, access);\n\n"
     "\tif (is_shadow_present_pte(*sptep) &&\n\t    !is_large_pte(*sptep) &&\n"
     "\t    spte_to_child_sp(*sptep) &&\n\t    spte_to_child_sp(*sptep)->gfn == gfn &&\n"
     "\t    spte_to_child_sp(*sptep)->role.word == role.word)\n\t\treturn ERR_PTR(-EEXIST);\n\n"),
]


@pytest.mark.real_kernel
def test_the_real_fix_on_6_1_176_is_fixed_role(monkeypatch):
    tree = debian_6_1("6.1.176-1", monkeypatch)
    assert [f.field for f in analyze(tree_image(tree)).findings if f.rule == RULE] == ["role"]
    res = _check(tree, REAL_FIX)
    assert _keys(res.delta.fixed) == [f"{RULE}:role"]
    assert _keys(res.delta.introduced) == [] and _keys(res.delta.persisting) == []


@pytest.mark.real_kernel
def test_debian_6_1_176_to_6_1_192_is_fixed_role(monkeypatch):
    old = debian_6_1("6.1.176-1", monkeypatch)
    new = debian_6_1("6.1.192-3", monkeypatch)
    diff = ""
    names = sorted({str(p.relative_to(t)) for t in (old, new) for p in (t / "arch/x86/kvm").rglob("*")
                    if p.is_file()} | {"arch/x86/include/asm/kvm_host.h"})
    for name in names:
        a, b = old / name, new / name
        text_a = a.read_text(errors="surrogateescape") if a.is_file() else ""
        text_b = b.read_text(errors="surrogateescape") if b.is_file() else ""
        diff += unified_diff(name, text_a, text_b)
    (res,) = run_check(read_patches(diff), old, tree_image(old)).patches
    assert res.status == "analyzed", res.reason
    assert _keys(res.delta.fixed) == [f"{RULE}:role"]
    assert _keys(res.delta.introduced) == []

