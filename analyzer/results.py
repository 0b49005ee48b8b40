"""What a scan or a check found, as the reports read it: a leaf of the flow
(it imports only finding records), so that the runner, git mode and every
output format can share it without importing each other.

Reports never change these records: a format is given a view
(``report.at_least(severity)``) that leaves out what was not asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.delta import Delta
from analyzer.record import field, record, replace

if TYPE_CHECKING:  # a report of skipped patches loads no finding machinery (terms)
    from analyzer.findings import Finding

# The trace steps that reports name as a finding's sites: where a value of the
# field is made (a producer's definition), forced (an override, a mask) or
# kept (a store); for role-incomplete, where the state is read and written.
# SARIF relatedLocations and GitHub annotations list them.
SITE_KINDS = ("store", "def", "override", "mask", "read", "writer")


def unsuppressed(findings: list[Finding]) -> list[Finding]:
    """The findings that decide the exit status: all but the suppressed ones
    and the notes (what the analysis could not decide)."""
    return [f for f in findings if f.suppressed is None and f.severity != "note"]


def severity_counts(findings: list[Finding]) -> tuple[int, int]:
    """(errors, warnings) among the findings that count (checkpatch's
    ``total: N errors, M warnings``)."""
    counted = unsuppressed(findings)
    return (sum(1 for f in counted if f.severity == "error"),
            sum(1 for f in counted if f.severity == "warning"))


def _ignored(findings: list[Finding], targets: list[tuple[str, str | None]]) -> list[Finding]:
    return [f for f in findings
            if not any(f.rule == rule and field in (None, f.field) for rule, field in targets)]


def _at_least(findings: list[Finding], severity: str) -> list[Finding]:
    if not findings:
        return findings  # (skipped patches: findings.py, and terms, stay unloaded)
    from analyzer.findings import SEVERITY_RANK

    rank = SEVERITY_RANK[severity]
    return [f for f in findings if SEVERITY_RANK[f.severity] >= rank]


ABBREV = 12  # the kernel's Fixes: tags abbreviate commit ids to 12 hex digits


def fixes_tag(sha: str, subject: str) -> str:
    """``Fixes: 0123456789ab ("subject")``, ready to paste."""
    return f'Fixes: {sha[:ABBREV]} ("{subject}")'


@record(frozen=True)
class Origin:
    """Where a finding came from (``fixes``, ``--fixes``): the commit that
    introduced it, or why there is none to name."""

    commit: str | None = None  # full id
    subject: str = ""
    reason: str = ""  # when commit is None

    @property
    def tag(self) -> str:
        return fixes_tag(self.commit or "", self.subject)

    def as_dict(self) -> dict | None:
        return None if self.commit is None else {"commit": self.commit, "subject": self.subject}


@record
class PatchWork:
    """What analyzing one patch took (``check -v`` shows it)."""

    parsed: list[str]  # the files parsed again
    reused: int  # sites (of every check) whose findings were reused
    sites: int  # sites of every check after the patch
    flow_errors: int  # ERROR nodes in role-flow functions after the patch


@record
class PatchResult:
    subject: str
    status: str  # analyzed | skipped | error
    reason: str = ""
    files: list[str] = field(default_factory=list)
    delta: Delta = field(default_factory=Delta)
    repaired: bool = False
    repair_reason: str = ""
    notes: list[str] = field(default_factory=list)
    work: PatchWork | None = None  # set when the patch was analyzed
    # with --fixes: fingerprint of a fixed finding -> the commit that introduced it
    origins: dict[str, Origin] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # with --fixes: on the Fixes: trailers


@record
class CheckReport:
    patches: list[PatchResult]
    tree: str = ""

    def totals(self) -> dict[str, int]:
        return {
            "introduced": sum(len(p.delta.introduced) for p in self.patches),
            "fixed": sum(len(p.delta.fixed) for p in self.patches),
            "persisting": sum(len(p.delta.persisting) for p in self.patches if p.status == "analyzed"),
        }

    def exit_status(self) -> int:
        if self.patches and all(p.status == "error" for p in self.patches):
            return 2
        return 1 if any(unsuppressed(p.delta.introduced) for p in self.patches) else 0

    def at_least(self, severity: str) -> CheckReport:
        """A view with only the findings of ``severity`` or above."""
        def keep(d: Delta) -> Delta:
            return Delta(_at_least(d.introduced, severity), _at_least(d.fixed, severity),
                         _at_least(d.persisting, severity))

        return replace(self, patches=[replace(p, delta=keep(p.delta)) for p in self.patches])

    def ignoring(self, targets: list[tuple[str, str | None]]) -> CheckReport:
        """A view without the findings of ``--ignore RULE[:FIELD]``."""
        def keep(d: Delta) -> Delta:
            return Delta(_ignored(d.introduced, targets), _ignored(d.fixed, targets),
                         _ignored(d.persisting, targets))

        return replace(self, patches=[replace(p, delta=keep(p.delta)) for p in self.patches])

    def not_analyzed(self) -> list[int]:
        """The numbers (from 1) of the patches that could not be analyzed."""
        return [k for k, p in enumerate(self.patches, 1) if p.status == "error"]

    def all_findings(self) -> list[Finding]:
        return [f for p in self.patches for d in (p.delta.introduced, p.delta.fixed,
                                                  p.delta.persisting) for f in d]


@record
class ScanReport:
    files: list[str]
    findings: list[Finding]
    analysis: object = None  # the Analysis (``scan -v`` reads it)
    not_analyzed: list = field(default_factory=list)  # NotAnalyzed: what the limits left out

    def exit_status(self) -> int:
        return 1 if unsuppressed(self.findings) else 0

    def at_least(self, severity: str) -> ScanReport:
        """A view with only the findings of ``severity`` or above."""
        return replace(self, findings=_at_least(self.findings, severity))

    def all_findings(self) -> list[Finding]:
        return self.findings

    def ignoring(self, targets: list[tuple[str, str | None]]) -> ScanReport:
        """A view without the findings of ``--ignore RULE[:FIELD]``."""
        return replace(self, findings=_ignored(self.findings, targets))


@record
class SeriesResult:
    """A finding's state after a whole series, against the tree before it."""

    state: str  # new | unchanged | absent
    finding: Finding  # its latest version
    patch: str = ""  # the patch that introduced (new) or fixed (absent) it


STATE_ORDER = {"new": 0, "unchanged": 1, "absent": 2}


def baseline_states(report: CheckReport) -> list[SeriesResult]:
    """Each analyzed patch names every finding present before or after it, so
    the first patch naming a finding tells whether the tree had it before the
    series, and the last one whether the series leaves it."""
    first: dict[str, tuple[str, str]] = {}
    last: dict[str, tuple[str, Finding, str]] = {}
    for p in report.patches:
        if p.status != "analyzed":
            continue
        for kind in ("introduced", "fixed", "persisting"):
            for f in getattr(p.delta, kind):
                first.setdefault(f.fingerprint, (kind, p.subject))
                last[f.fingerprint] = (kind, f, p.subject)
    out = []
    for fp, (first_kind, first_patch) in first.items():
        last_kind, finding, last_patch = last[fp]
        if first_kind == "introduced":
            out.append(SeriesResult("new", finding, first_patch))
        elif last_kind == "fixed":
            out.append(SeriesResult("absent", finding, last_patch))
        else:
            out.append(SeriesResult("unchanged", finding))
    return sorted(out, key=lambda r: STATE_ORDER[r.state])
