"""Inline suppression of accepted findings (rules/suppression-without-reason.md).

A comment ``/* mmu-role-lint: ignore RULE[:FIELD] -- reason */`` (or the same
after ``//``) on the line of a site of a finding, or on the line just above
it, marks the finding as suppressed with that reason. The sites of a finding
are its location (the cause) and the comparison, store, override and mask
steps of its trace. A
comment that names no rule and field of the finding, or sits at no site of
it, is ignored. A matching comment without a reason suppresses nothing and is
reported itself (``suppression-without-reason``, a warning); so is, anywhere
in the sources, a comment naming a rule that does not exist or a field that
no role type has (``suppression-unknown``), with the nearest valid name.
The same names are checked for ``--ignore RULE[:FIELD]``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from analyzer.checks import RULE_IDS, SUPPRESSION_UNKNOWN, SUPPRESSION_WITHOUT_REASON
from analyzer.findings import Finding, merge_findings
from analyzer.record import record, replace
from analyzer.terms import Step

if TYPE_CHECKING:
    from analyzer.roles import RoleModel

MARK = "mmu-role-lint:"
# a name, with single dashes or dots inside (``role-mismatch``, ``efer_nx``):
# ``role-mismatch--why`` is the rule and a reason
NAME = r"[A-Za-z]\w*(?:[.-]\w+)*"
COMMENT = re.compile(
    rf"(?P<open>/\*|//)\s*mmu-role-lint:\s*ignore\s+(?P<rule>{NAME})(?::(?P<field>{NAME}))?"
    r"(?P<rest>.*?)(?:\*/|$)")
# The trace steps where a comment may accept a finding, beside its comparison:
# where one path forces or keeps the field's value, or (role-incomplete) where
# the skipped code reads the state or stores what it computed. Not a producer's
# definition (``role.base.cr4_pae = !!is_pae(vcpu)``): it computes the field
# for every role built from it, so it is not where this mismatch is accepted.
SUPPRESSIBLE_KINDS = ("compare", "store", "override", "mask", "read")
ADD_REASON = " -- why the mismatch is accepted"


@record(frozen=True)
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


def parse_target(text: str) -> tuple[str, str | None]:
    """``RULE[:FIELD]`` -> (rule, field or None)."""
    rule, _, field = text.partition(":")
    return rule, field or None


def _nearest(word: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(names)), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def unknown_rule(rule: str) -> str:
    """What is wrong with a rule name, "" when it is a rule."""
    if rule in RULE_IDS:
        return ""
    near = _nearest(rule, RULE_IDS) or f"; the rules are {', '.join(RULE_IDS)}"
    return f"no rule '{rule}'{near}"


def known_fields(model: RoleModel | None, findings: Iterable[Finding] = ()) -> set[str]:
    """Field names a suppression may give: every leaf of the role types (of
    ``model``, and of the defaults, which hold every release's), and the
    field of every finding reported."""
    names = _leaf_names(model) if model is not None else set()
    return _default_fields() | names | {f.field for f in findings if f.field}


def _leaf_names(model: RoleModel) -> set[str]:
    return {leaf.rsplit(".", 1)[-1] for t in model.types for leaf in model.leaves(t)}


@functools.cache
def _default_fields() -> frozenset[str]:
    from analyzer.roles import default_model

    return frozenset(_leaf_names(default_model()))


def unknown_field(field: str | None, fields: set[str]) -> str:
    """What is wrong with a field name, "" when it is one (or none is given)."""
    if field is None or field in fields:
        return ""
    return f"no role field '{field}'{_nearest(field, fields)}"


def _sites(f: Finding) -> list[tuple[str, int, str]]:
    """(file, line, function) of the location and the compare/store/override/mask/read steps."""
    sites = [(f.file, f.line, f.function)]
    sites += [(t.file, t.line, t.function) for t in f.trace if t.kind in SUPPRESSIBLE_KINDS]
    return list(dict.fromkeys(sites))


def _unexplained(c: Comment, f: Finding, function: str) -> Finding:
    msg = (f"suppression of {c.target} gives no reason, so {f.key} stays reported: "
           f"add '{ADD_REASON}' before the end of the comment")
    here = Step(f.file, f.line, f.column, f.function, "compare", f"{f.key}: {f.message}")
    return Finding(SUPPRESSION_WITHOUT_REASON, "warning", c.field or f.field, msg, c.file, c.line,
                   c.column, function, related=[here])


def _enclosing(functions: Mapping, file: str, line: int) -> str:
    return next((name for name, info in functions.items()
                 if info.file == file and info.line <= line <= (info.end_line or info.line)), "")


def _misnamed(files: dict[str, str], fields: set[str], functions: Mapping) -> list[Finding]:
    """A ``suppression-unknown`` warning for every comment, wherever it is,
    whose rule or field does not exist: it could never suppress anything."""
    out = []
    for file, text in files.items():
        if MARK not in text:
            continue
        for number, line in enumerate(text.split("\n"), 1):
            if MARK not in line:
                continue
            for c in comments_in_line(file, number, line):
                problem = unknown_rule(c.rule) or unknown_field(c.field, fields)
                if problem:
                    msg = f"suppression of {c.target} suppresses nothing: {problem}"
                    out.append(Finding(SUPPRESSION_UNKNOWN, "warning", c.field or "", msg, file,
                                       number, c.column, _enclosing(functions, file, number)))
    return out


def apply_suppressions(findings: list[Finding], files: dict[str, str],
                       model: RoleModel | None = None,
                       functions: Mapping | None = None) -> list[Finding]:
    """The findings with ``suppressed`` set where a comment with a reason
    accepts them, plus one ``suppression-without-reason`` finding per matching
    comment without a reason, and one ``suppression-unknown`` finding per
    comment naming a rule or field that does not exist (fields: of ``model``
    and the defaults; ``functions``, name -> FuncInfo, places the comment)."""
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
    misnamed = _misnamed(files, known_fields(model, findings), functions or {})
    return merge_findings(out + list(unexplained.values()) + misnamed)
