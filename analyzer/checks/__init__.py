"""Checks: each module holds one rule; ``RULES`` maps rule ids to modules.

``RULE_IDS`` lists every rule a finding can carry, each documented in
``rules/<id>.md`` (read by ``rule_doc``: ``explain`` prints it, SARIF embeds it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzer.checks import role_mismatch
from analyzer.ruledata import rule_file

RULES = {role_mismatch.RULE: role_mismatch}

# Reported by analyzer/suppress.py about a suppression comment, not by a check.
SUPPRESSION_WITHOUT_REASON = "suppression-without-reason"

RULE_IDS = [*RULES, SUPPRESSION_WITHOUT_REASON]


@dataclass
class RuleDoc:
    """A rule's page: front matter (id, name, short, severity...) and body."""

    meta: dict[str, str]
    body: str  # everything after the front matter, from the first section
    sections: dict[str, str] = field(default_factory=dict)  # "What it does" -> markdown

    @property
    def default_level(self) -> str:
        """The first word of ``severity:``: error or warning."""
        return self.meta.get("severity", "warning").split()[0]


def rule_doc(rule_id: str) -> RuleDoc:
    """``rules/<rule_id>.md``; the caller checks ``rule_id in RULE_IDS``."""
    text = rule_file(f"{rule_id}.md").read_text()
    _, front, body = text.split("---\n", 2)
    meta = dict(line.split(": ", 1) for line in front.splitlines() if ": " in line)
    body = body.strip("\n") + "\n"
    sections: dict[str, str] = {}
    title, fenced = None, False
    for line in body.splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if line.startswith("## ") and not fenced:
            title = line[3:].strip()
            sections[title] = ""
        elif title is not None:
            sections[title] += line
    return RuleDoc(meta, body, {k: v.strip("\n") for k, v in sections.items()})
