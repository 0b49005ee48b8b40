"""Inline suppression: ``/* mmu-role-lint: ignore RULE:FIELD -- reason */`` at a
site of a finding (its comparison, a store, override or mask step), on the
line or the line above. Suppressed findings are still reported, as such, and
do not count for the exit status; a suppression without a reason is reported
as ``suppression-without-reason``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES
from sarif_schema import sarif_of

from analyzer.cli import main
from analyzer.findings import Finding, TraceStep
from analyzer.suppress import apply_suppressions

LEGACY = FIXTURES / "legacy" / "tree"
MASK = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"
MMU = "arch/x86/kvm/mmu.c"
COMPARE = "new_role.word == page_header(root.hpa)->role.word"
OVERRIDE = "role.cr4_pae = 0;"
STORE = "sp->role = role;"
DEF = "role.base.cr4_pae = !!is_pae(vcpu);"
MARKER = "/* expect: role-mismatch:cr4_pae */"  # the line above COMPARE
REASON = "TDP roots are never looked up with a shadow role"
IGNORE = f"/* mmu-role-lint: ignore role-mismatch:cr4_pae -- {REASON} */"


def tree_with(tmp_path: Path, anchor: str, comment: str, *, above: bool = False) -> Path:
    """A copy of the legacy tree with ``comment`` at the end of the line
    holding ``anchor``, or on a new line just above it."""
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    path = tree / MMU
    lines = path.read_text().split("\n")
    (i,) = [i for i, line in enumerate(lines) if anchor in line]
    if above:
        lines.insert(i, "\t" + comment)
    else:
        lines[i] += " " + comment
    path.write_text("\n".join(lines))
    return tree


def run(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    return status, capsys.readouterr().out


def scan_json(capsys, tree: Path) -> tuple[int, list[dict]]:
    status, out = run(capsys, "scan", "--tree", str(tree), "--format", "json")
    return status, json.loads(out)["findings"]


def test_reason_above_the_comparison_suppresses(capsys, tmp_path):
    tree = tree_with(tmp_path, COMPARE, IGNORE, above=True)
    status, out = run(capsys, "scan", "--tree", str(tree))
    lines = out.splitlines()
    assert status == 0
    assert lines[1:3] == ["  in kvm_mmu_get_page(), field 'cr4_pae'",
                          f"  note: suppressed ({REASON})"]
    assert lines[-2:] == ["1 role mismatch (1 suppressed) in 2 files",
                          "total: 0 errors, 0 warnings"]


def test_json_adds_only_the_suppressed_key(capsys, tmp_path):
    _, (plain,) = scan_json(capsys, LEGACY)
    status, (suppressed,) = scan_json(capsys, tree_with(tmp_path, COMPARE, IGNORE))
    assert status == 0
    assert suppressed == {**plain, "suppressed": {"reason": REASON}}


def test_sarif_carries_an_in_source_suppression(tmp_path):
    status, log = sarif_of(tmp_path, "scan", "--tree", str(tree_with(tmp_path, COMPARE, IGNORE)))
    (result,) = log["runs"][0]["results"]
    assert status == 0
    assert result["suppressions"] == [{"kind": "inSource", "justification": REASON}]


def test_github_makes_a_suppressed_finding_a_notice(capsys, tmp_path):
    status, out = run(capsys, "scan", "--tree", str(tree_with(tmp_path, COMPARE, IGNORE)),
                      "--format", "github")
    assert status == 0
    assert out.startswith("::notice file=arch/x86/kvm/mmu.c,")
    assert "title=role-mismatch (cr4_pae) suppressed::" in out and f"suppressed: {REASON}" in out


@pytest.mark.parametrize(("anchor", "above", "comment"), [
    (OVERRIDE, False, IGNORE),
    (OVERRIDE, True, f"// mmu-role-lint: ignore role-mismatch -- {REASON}"),
    (STORE, True, IGNORE),
    (COMPARE, False, f"// mmu-role-lint:ignore role-mismatch:cr4_pae --{REASON}"),
])
def test_other_sites_and_spellings_suppress(capsys, tmp_path, anchor, above, comment):
    status, (f,) = scan_json(capsys, tree_with(tmp_path, anchor, comment, above=above))
    assert status == 0 and f["suppressed"] == {"reason": REASON}


@pytest.mark.parametrize(("anchor", "above", "comment"), [
    (COMPARE, False, f"/* mmu-role-lint: ignore role-mismatch:nxe -- {REASON} */"),
    (MARKER, True, IGNORE),  # two lines above the comparison
    (DEF, False, IGNORE),  # a producer, not a store, override or mask
])
def test_comment_matching_no_finding_is_ignored(capsys, tmp_path, anchor, above, comment):
    status, findings = scan_json(capsys, tree_with(tmp_path, anchor, comment, above=above))
    assert status == 1
    assert [(f["rule"], "suppressed" in f) for f in findings] == [("role-mismatch", False)]


@pytest.mark.parametrize("comment", [
    "/* mmu-role-lint: ignore role-mismatch:cr4_pae */",
    "/* mmu-role-lint: ignore role-mismatch:cr4_pae --   */",
    "// mmu-role-lint: ignore role-mismatch:cr4_pae because",
])
def test_missing_reason_is_itself_reported(capsys, tmp_path, comment):
    tree = tree_with(tmp_path, COMPARE, comment, above=True)
    status, findings = scan_json(capsys, tree)
    assert status == 1
    by_rule = {f["rule"]: f for f in findings}
    assert set(by_rule) == {"role-mismatch", "suppression-without-reason"}
    assert "suppressed" not in by_rule["role-mismatch"]
    w = by_rule["suppression-without-reason"]
    assert w["severity"] == "warning" and w["field"] == "cr4_pae"
    assert "add ' -- why the mismatch is accepted'" in w["message"]
    # the comment sits above the comparison, which the finding (located at
    # its cause) names as the lookup that misses
    line = next(i for i, text in enumerate((tree / MMU).read_text().split("\n"), 1)
                if COMPARE in text) - 1
    assert w["location"] == {"file": MMU, "line": line, "column": 2,
                             "function": "cached_root_available"}
    status, log = sarif_of(tmp_path, "scan", "--tree", str(tree))
    warning = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "suppression-without-reason")
    assert warning["level"] == "warning" and warning["suppressions"] == []


def test_check_with_a_suppressed_introduction_exits_0(capsys, tmp_path):
    comment = f"/* mmu-role-lint: ignore role-mismatch:nxe -- {REASON} */"
    tree = tree_with(tmp_path, COMPARE, comment)
    status, out = run(capsys, "check", str(MASK), "--tree", str(tree), "--format", "json")
    (patch,) = json.loads(out)["patches"]
    assert status == 0
    assert [(f["field"], f.get("suppressed")) for f in patch["introduced"]] == [
        ("nxe", {"reason": REASON})]
    status, out = run(capsys, "check", str(MASK), "--tree", str(tree))
    assert status == 0 and out.splitlines()[-2] == (
        "summary: 1 introduced (1 suppressed), 0 fixed, 1 persisting")


def _finding(field: str = "cr4_pae", kind: str = "override") -> Finding:
    step = TraceStep("a.c", 2, "get", kind, "role.x = 0", "stored")
    return Finding("role-mismatch", "warning", field, "m", "a.c", 5, 3, "cmp", [step])


def test_reason_ends_with_the_comment_and_input_is_left_alone():
    f = _finding()
    files = {"a.c": "\n\trole.x = 0; /* mmu-role-lint: ignore role-mismatch -- known */ x();\n"}
    (got,) = apply_suppressions([f], files)
    assert got.suppressed == "known" and f.suppressed is None
    (got,) = apply_suppressions([_finding(kind="def")], files)
    assert got.suppressed is None
    assert apply_suppressions([f], {}) == [f]


@pytest.mark.parametrize(("comment", "problem"), [
    (f"/* mmu-role-lint: ignore role_mismatch:cr4_pae -- {REASON} */",
     "no rule 'role_mismatch'; did you mean role-mismatch?"),
    (f"/* mmu-role-lint: ignore role-mismatch:efer-nx -- {REASON} */",
     "no role field 'efer-nx'; did you mean efer_nx?"),
    (f"// mmu-role-lint: ignore role-mismatches -- {REASON}",
     "no rule 'role-mismatches'; did you mean role-mismatch?"),
    (f"/* mmu-role-lint: ignore role-mismatch:base.cr4_pae -- {REASON} */",
     "no role field 'base.cr4_pae'; did you mean cr4_pae?"),
])
def test_unknown_rule_or_field_is_a_warning_naming_the_nearest(capsys, tmp_path, comment, problem):
    """A typo suppresses nothing: it is said where it is, like a missing reason."""
    tree = tree_with(tmp_path, COMPARE, comment, above=True)
    status, findings = scan_json(capsys, tree)
    by_rule = {f["rule"]: f for f in findings}
    assert status == 1 and set(by_rule) == {"role-mismatch", "suppression-unknown"}
    assert "suppressed" not in by_rule["role-mismatch"]
    w = by_rule["suppression-unknown"]
    assert w["severity"] == "warning" and w["message"].endswith(problem)
    compare = next(t["line"] for t in by_rule["role-mismatch"]["trace"] if t["kind"] == "compare")
    assert w["location"] == {"file": MMU, "line": compare - 1,
                             "column": 2, "function": "cached_root_available"}


def test_unknown_names_are_reported_away_from_any_finding(capsys, tmp_path):
    """Anywhere in the sources, not only at a finding's site."""
    tree = tree_with(tmp_path, DEF, f"/* mmu-role-lint: ignore role-mismatch:cr4_paee -- {REASON} */")
    _, findings = scan_json(capsys, tree)
    (w,) = [f for f in findings if f["rule"] == "suppression-unknown"]
    assert w["message"].endswith("did you mean cr4_pae?")
    assert w["location"]["function"] == "kvm_calc_mmu_role_common"


def test_fields_come_from_the_trees_role_types(capsys, tmp_path):
    """A field the tree's union declares (a patch may add one) is a field,
    though the defaults do not know it; one of the defaults only is too."""
    comment = "/* mmu-role-lint: ignore role-mismatch:{} -- " + REASON + " */"
    tree = tree_with(tmp_path, COMPARE, comment.format("brand_new_bit"), above=True)
    header = tree / "arch/x86/include/asm/kvm_host.h"
    header.write_text(header.read_text().replace("\t\tunsigned smm:8;",
                                                 "\t\tunsigned brand_new_bit:1;\n\t\tunsigned smm:7;"))
    _, findings = scan_json(capsys, tree)
    assert [f["rule"] for f in findings] == ["role-mismatch"]
    _, findings = scan_json(capsys, tree_with(tmp_path / "b", COMPARE, comment.format("is_mirror")))
    assert [f["rule"] for f in findings] == ["role-mismatch"]


def test_suppressed_finding_is_a_note_without_its_trace(capsys, tmp_path):
    status, out = run(capsys, "scan", "--tree", str(tree_with(tmp_path, COMPARE, IGNORE)))
    lines = out.splitlines()
    assert status == 0
    assert lines[0].startswith(f"{MMU}:91:3: note: suppressed: role field 'cr4_pae' ")
    assert "error:" not in out and "warning:" not in out
    assert not any(line.strip().endswith("side:") for line in lines)  # no trace
    assert lines[1:3] == ["  in kvm_mmu_get_page(), field 'cr4_pae'",
                          f"  note: suppressed ({REASON})"]


def test_patch_count_and_summary_agree_on_suppressed(capsys, tmp_path):
    tree = tree_with(tmp_path, COMPARE, f"/* mmu-role-lint: ignore role-mismatch -- {REASON} */")
    status, out = run(capsys, "check", str(MASK), "--tree", str(tree))
    lines = out.splitlines()
    (count,) = [line for line in lines if line.startswith("  ") and " introduced" in line]
    (summary,) = [line for line in lines if line.startswith("summary: ")]
    assert status == 0 and summary == "summary:" + count[1:]
    assert count == "  1 introduced (1 suppressed), 0 fixed, 1 persisting (1 suppressed)"
