"""SARIF 2.1.0 output: valid against the official schema (every log here goes
through ``sarif_of``), the rule documented from its rule file, one result per
finding with fingerprint, related sites and one thread flow per side, and
baseline states for check."""

from __future__ import annotations

import json
import re

import sarif_schema
from helpers import FIXTURES
from sarif_schema import sarif_of

from analyzer import __version__
from analyzer.cli import main
from analyzer.delta import Delta
from analyzer.findings import Finding
from analyzer.results import CheckReport, PatchResult, baseline_states
from analyzer.ruledata import rule_file

LEGACY = FIXTURES / "legacy" / "tree"
PATCHES = FIXTURES / "legacy" / "patches"
SEED_FIX = PATCHES / "0001-seed-fix.patch"
MASK = PATCHES / "0009-mask-drops-nxe.patch"
MMU_C = LEGACY / "arch" / "x86" / "kvm" / "mmu.c"


def json_findings(capsys, *argv: str) -> list[dict]:
    main([*argv, "--format", "json"])
    return json.loads(capsys.readouterr().out)["findings"]


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(MMU_C.read_text().split("\n"), 1) if text in line)


def region(loc: dict) -> tuple[str, int]:
    phys = loc["physicalLocation"]
    return phys["artifactLocation"]["uri"], phys["region"]["startLine"]


def test_scan_log_has_driver_rules_and_one_result(tmp_path, capsys):
    status, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    (expected,) = json_findings(capsys, "scan", "--tree", str(LEGACY))
    assert status == 1 and log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mmu-role-lint" and driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == [
        "role-mismatch", "role-mismatch-unknown", "role-unchecked-reuse", "role-incomplete",
        "suppression-without-reason", "suppression-unknown"]
    (result,) = run["results"]
    assert result["ruleId"] == "role-mismatch" and result["level"] == expected["severity"]
    assert driver["rules"][result["ruleIndex"]]["id"] == "role-mismatch"
    assert result["message"]["text"] == expected["message"]
    (loc,) = result["locations"]
    phys = loc["physicalLocation"]
    assert phys["artifactLocation"] == {"uri": "arch/x86/kvm/mmu.c", "uriBaseId": "SRCROOT"}
    assert phys["region"] == {"startLine": expected["location"]["line"],
                              "startColumn": expected["location"]["column"]}
    assert loc["logicalLocations"] == [{"name": "kvm_mmu_get_page", "kind": "function"}]
    assert result["partialFingerprints"] == {"mmuRoleLint/v1": expected["fingerprint"]}
    assert "baselineState" not in result and result["suppressions"] == []


def test_rule_descriptions_come_from_the_rule_file(tmp_path):
    _, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    text = rule_file("role-mismatch.md").read_text()
    short = re.search(r"^short: (.*)$", text, re.M).group(1)
    what = text.split("## What it does\n", 1)[1].split("\n## ", 1)[0].strip()
    assert rule["name"] == "RoleMismatch"
    assert rule["shortDescription"]["text"] == short
    assert rule["fullDescription"]["markdown"] == what
    assert rule["help"]["markdown"] == text.split("\n---\n", 1)[1].strip() + "\n"
    for section in ("Why is this bad?", "Example", "Use instead"):
        assert f"## {section}" in rule["help"]["markdown"] and section in rule["help"]["text"]
    assert "`" not in rule["fullDescription"]["text"]


def test_code_flows_have_one_thread_per_side_in_trace_order(tmp_path, capsys):
    _, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    (expected,) = json_findings(capsys, "scan", "--tree", str(LEGACY))
    (flow,) = log["runs"][0]["results"][0]["codeFlows"]
    threads = {t["id"]: t["locations"] for t in flow["threadFlows"]}
    # the cause is on the stored side: its thread comes first
    assert list(threads) == ["stored", "lookup"]
    for side, locations in threads.items():
        steps = [t for t in expected["trace"] if t["side"] == side]
        got = [(region(tfl["location"])[1], tfl["kinds"], tfl["location"]["message"]["text"])
               for tfl in locations]
        assert got == [(t["line"], [t["kind"]], f"{t['kind']}: {t['text']}") for t in steps]
    assert threads["lookup"][0]["location"]["logicalLocations"][0]["name"] == "kvm_calc_mmu_role_common"
    assert threads["stored"][0]["kinds"] == ["override"]
    assert threads["stored"][0]["importance"] == "essential"


def test_related_locations_are_the_producer_and_store_sites(tmp_path):
    _, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    related = log["runs"][0]["results"][0]["relatedLocations"]
    sites = {(region(r)[1], r["message"]["text"]) for r in related}
    assert (line_of("role.base.cr4_pae = !!is_pae(vcpu)"),
            "lookup side: def: role.base.cr4_pae = !!is_pae(vcpu)") in sites
    assert (line_of("role.cr4_pae = 0;"), "stored side: override: role.cr4_pae = 0") in sites
    assert (line_of("sp->role = role;"), "stored side: store: sp->role = role") in sites
    # the comparison that misses is a related location too
    assert (line_of("new_role.word == page_header(root.hpa)->role.word"),
            "lookup side: compare: new_role.word == page_header(root.hpa)->role.word") in sites
    assert [r["id"] for r in related] == list(range(1, len(related) + 1))
    store = next(r for r in related if "store:" in r["message"]["text"])
    assert store["physicalLocation"]["region"]["startColumn"] >= 1


def test_check_marks_introduced_new_and_kept_unchanged(tmp_path):
    status, log = sarif_of(tmp_path, "check", str(MASK), "--tree", str(LEGACY))
    run = log["runs"][0]
    states = {r["properties"]["field"]: r["baselineState"] for r in run["results"]}
    assert status == 1 and states == {"nxe": "new", "cr4_pae": "unchanged"}
    new = next(r for r in run["results"] if r["baselineState"] == "new")
    assert new["properties"]["introducedBy"] == "x86/kvm/mmu: stop keeping nxe in the cached context role"
    assert {t["id"] for t in new["codeFlows"][0]["threadFlows"]} == {"lookup", "stored"}
    assert run["invocations"] == [{"executionSuccessful": True, "exitCode": 1}]


def test_check_series_reports_a_fix_as_absent(tmp_path):
    status, log = sarif_of(tmp_path, "check", str(MASK), str(SEED_FIX), "--tree", str(LEGACY))
    states = {r["properties"]["field"]: r["baselineState"] for r in log["runs"][0]["results"]}
    assert status == 1 and states == {"nxe": "new", "cr4_pae": "absent"}
    absent = next(r for r in log["runs"][0]["results"] if r["baselineState"] == "absent")
    assert "fixedBy" in absent["properties"]


def test_check_patch_that_does_not_apply_is_an_error_notification(tmp_path):
    status, log = sarif_of(tmp_path, "check", str(SEED_FIX), str(SEED_FIX), "--tree", str(LEGACY))
    (invocation,) = log["runs"][0]["invocations"]
    assert status == 0 and invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"].startswith("patch 2/2 ")


def _finding(field: str) -> Finding:
    return Finding("role-mismatch", "warning", field, "m", "a.c", 1, 1, "f")


def test_series_states_follow_first_and_last_patch():
    kept, transient, fixed = _finding("kept"), _finding("transient"), _finding("fixed")
    report = CheckReport([
        PatchResult("p1", "analyzed", delta=Delta(introduced=[transient], persisting=[kept, fixed])),
        PatchResult("p2", "skipped"),
        PatchResult("p3", "analyzed", delta=Delta(fixed=[transient, fixed], persisting=[kept])),
    ])
    got = {r.finding.field: (r.state, r.patch) for r in baseline_states(report)}
    assert got == {"transient": ("new", "p1"), "kept": ("unchanged", ""), "fixed": ("absent", "p3")}


sarif_validator = sarif_schema.sarif_validator


def test_the_schema_check_is_real(tmp_path, sarif_validator):
    _, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    log["runs"][0]["results"][0]["baselineState"] = "fixed"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(sarif_validator.iter_errors(log))) == 2


def test_every_trace_location_has_the_column_of_its_own_step(tmp_path):
    # two calls on one line (kvm_mmu_new_cr3) and the guard steps each point
    # at their own expression, not at another step of the same line
    _, log = sarif_of(tmp_path, "scan", "--tree", str(LEGACY))
    lines = MMU_C.read_text().split("\n")
    checked = 0
    for thread in log["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"]:
        for tfl in thread["locations"]:
            loc = tfl["location"]
            kind, text = loc["message"]["text"].split(": ", 1)
            if kind not in ("def", "override", "mask", "store", "call", "guard"):
                continue
            text = text.removeprefix("guard value from: ")
            _, line = region(loc)
            col = loc["physicalLocation"]["region"]["startColumn"]
            assert lines[line - 1][col - 1:].startswith(text.split("(")[0]), (line, col, text)
            checked += 1
    assert checked >= 8
