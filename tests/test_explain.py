"""``mmu-role-lint explain``: the rule pages are the rule files themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.checks import RULE_IDS
from analyzer.cli import main
from analyzer.ruledata import rule_file

TEMPLATE = ["What it does", "Why is this bad?", "Example", "Use instead"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def front_and_body(rule: str) -> tuple[dict[str, str], str]:
    text = rule_file(f"{rule}.md").read_text()
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return dict(line.split(": ", 1) for line in front.splitlines()), body.strip("\n") + "\n"


@pytest.mark.parametrize("rule", RULE_IDS)
def test_page_is_the_rule_file(capsys, rule):
    meta, body = front_and_body(rule)
    status, out, _ = run(capsys, rule)
    head = (f"{rule} ({meta['name']}): {meta['short']}\n"
            f"severity: {meta['severity']}\nconfidence: {meta['confidence']}\n\n")
    assert status == 0 and out == head + body


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_files_follow_the_section_template(rule):
    meta, body = front_and_body(rule)
    assert meta["id"] == rule
    sections = re.findall(r"^## (.+)$", body, re.M)
    assert sections[: len(TEMPLATE)] == TEMPLATE


def test_without_rule_lists_rules_with_short_descriptions(capsys):
    status, out, _ = run(capsys)
    lines = out.splitlines()
    assert status == 0 and len(lines) == len(RULE_IDS) == 6
    for rule, line in zip(RULE_IDS, lines, strict=True):
        rule_id, short = line.split(None, 1)
        assert (rule_id, short) == (rule, front_and_body(rule)[0]["short"])


def test_finding_key_names_its_rule(capsys):
    assert run(capsys, "role-mismatch:cr4_pae")[1] == run(capsys, "role-mismatch")[1]


def test_unknown_rule_names_the_known_ones(capsys):
    status, out, err = run(capsys, "role-mismatches")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "'role-mismatches'" in err and all(r in err for r in RULE_IDS)


def test_readme_rule_table_lists_every_rule_with_its_severity():
    """The README's table of rules is SARIF's tool.driver.rules: every rule
    a finding can carry, in that order, with its page's severity."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = text.split("\n## The rules\n", 1)[1].split("\n\n| rule |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[2:]]
    assert [rule.strip().strip("`") for rule, _ in rows] == RULE_IDS
    for (rule, severity), rid in zip(rows, RULE_IDS, strict=True):
        page = front_and_body(rid)[0]["severity"]
        assert [s for s in ("error", "warning", "note") if s in page] == [
            s for s in ("error", "warning", "note") if s in severity], rule
