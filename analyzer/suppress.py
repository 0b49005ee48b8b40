"""Inline suppression of accepted findings (rules/suppression-without-reason.md).

A comment ``/* mmu-role-lint: ignore RULE[:FIELD] -- reason */`` (or the same
after ``//``) on the line of a site of a finding, or on the line just above
it, marks the finding as suppressed with that reason. The sites of a finding
are its comparison and the store, override and mask steps of its trace. A
comment that names no rule and field of the finding, or sits at no site of
it, is ignored. A matching comment without a reason suppresses nothing and is
reported itself (``suppression-without-reason``, a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from analyzer.checks import SUPPRESSION_WITHOUT_REASON
from analyzer.findings import Finding, merge_findings
from analyzer.terms import Step

COMMENT = re.compile(
    r"(?P<open>/\*|//)\s*mmu-role-lint:\s*ignore\s+(?P<rule>[A-Za-z][\w-]*)(?::(?P<field>\w+))?"
    r"(?P<rest>.*?)(?:\*/|$)")
# The trace steps where a comment may accept a finding, beside its comparison:
# where one path forces or keeps the field's value, or (role-incomplete) where
# the skipped code reads the state or stores what it computed. Not a producer's
# definition (``role.base.cr4_pae = !!is_pae(vcpu)``): it computes the field
# for every role built from it, so it is not where this mismatch is accepted.
SUPPRESSIBLE_KINDS = ("store", "override", "mask", "read")
ADD_REASON = " -- why the mismatch is accepted"


@dataclass(frozen=True)
class Comment:
    file: str
    line: int
    column: int  # 1-based, in characters
    rule: str
    field: str | None
    reason: str

    @property
    def target(self) -> str:
        return f"{self.rule}:{self.field}" if self.field else self.rule

    def matches(self, f: Finding) -> bool:
        return self.rule == f.rule and self.field in (None, f.field)


def comments_in_line(file: str, number: int, text: str) -> list[Comment]:
    out = []
    for m in COMMENT.finditer(text):
        rest = m["rest"]
        reason = rest.split("--", 1)[1].strip() if "--" in rest else ""
        out.append(Comment(file, number, m.start("open") + 1, m["rule"], m["field"], reason))
    return out


def _sites(f: Finding) -> list[tuple[str, int, str]]:
    """(file, line, function) of the comparison and the store/override/mask/read steps."""
    sites = [(f.file, f.line, f.function)]
    sites += [(t.file, t.line, t.function) for t in f.trace if t.kind in SUPPRESSIBLE_KINDS]
    return list(dict.fromkeys(sites))


def _unexplained(c: Comment, f: Finding, function: str) -> Finding:
    msg = (f"suppression of {c.target} gives no reason, so {f.key} stays reported: "
           f"add '{ADD_REASON}' before the end of the comment")
    here = Step(f.file, f.line, f.column, f.function, "compare", f"{f.key}: {f.message}")
    return Finding(SUPPRESSION_WITHOUT_REASON, "warning", c.field or f.field, msg, c.file, c.line,
                   c.column, function, related=[here])


def apply_suppressions(findings: list[Finding], files: dict[str, str]) -> list[Finding]:
    """The findings with ``suppressed`` set where a comment with a reason
    accepts them, plus one ``suppression-without-reason`` finding per matching
    comment without a reason."""
    lines: dict[str, list[str]] = {}

    def near(file: str, line: int) -> list[Comment]:
        if file not in lines:
            lines[file] = files[file].split("\n") if file in files else []
        text = lines[file]
        return [c for n in (line, line - 1) if 0 < n <= len(text)
                for c in comments_in_line(file, n, text[n - 1])]

    out: list[Finding] = []
    unexplained: dict[tuple[str, int, int], Finding] = {}
    for f in findings:
        reason = None
        for file, line, function in _sites(f):
            for c in near(file, line):
                if not c.matches(f):
                    continue
                if c.reason:
                    reason = reason or c.reason
                else:
                    unexplained.setdefault((c.file, c.line, c.column), _unexplained(c, f, function))
        out.append(replace(f, suppressed=reason) if reason else f)
    return merge_findings(out + list(unexplained.values()))
