"""Finding records: small, printable, comparable across patch versions."""

from __future__ import annotations

from analyzer.record import field, record
from analyzer.terms import Step  # in the module's namespace: analyzer.store reads the hints


@record
class TraceStep:
    """One step of a finding's trace, as the reports show it."""

    file: str
    line: int
    function: str
    kind: str
    text: str
    side: str
    col: int = 0  # 1-based, as in Finding.column; 0 when unknown

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "function": self.function,
                "kind": self.kind, "text": self.text, "side": self.side}


@record
class Finding:
    rule: str
    severity: str  # error | warning | note (role-mismatch-unknown, shown on request)
    field: str
    message: str
    file: str
    line: int
    column: int
    function: str
    trace: list[TraceStep] = field(default_factory=list)
    related: list[Step] = field(default_factory=list)
    graph_path: list[tuple] = field(default_factory=list)
    suppressed: str | None = None
    # what the finding is about, beside its rule and field, when not its
    # function: the text of the line that causes it (a function a patch
    # renames, or code it moves, keeps it)
    anchor: str = ""
    detail: str = ""  # the check's message record as JSON text, for combining findings

    @property
    def fingerprint(self) -> str:
        """Rule, field and the cause's text (else the function's name) only:
        moving code keeps it."""
        import hashlib

        key = f"{self.rule}|{self.field}|{self.anchor or self.function}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.field}"

    def as_dict(self) -> dict:
        out = {
            "rule": self.rule,
            "severity": self.severity,
            "field": self.field,
            "message": self.message,
            "location": {"file": self.file, "line": self.line, "column": self.column,
                         "function": self.function},
            "fingerprint": self.fingerprint,
            "trace": [t.as_dict() for t in self.trace],
        }
        if self.suppressed is not None:
            out["suppressed"] = {"reason": self.suppressed}
        return out


SEVERITY_RANK = {"error": 2, "warning": 1, "note": 0}


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per fingerprint: the most severe, then the first seen."""
    best: dict[str, Finding] = {}
    for f in findings:
        cur = best.get(f.fingerprint)
        if cur is None or SEVERITY_RANK[f.severity] > SEVERITY_RANK[cur.severity]:
            best[f.fingerprint] = f
    return sorted(best.values(), key=lambda f: (f.file, f.line, f.column, f.field))


@record(frozen=True)
class NotAnalyzed:
    """A function the analysis left out because it costs more than one
    function may (see README, "Limits"); ``function`` is "" for text outside
    any function."""

    file: str
    line: int
    function: str
    reason: str

    def __str__(self) -> str:
        what = f"{self.function}() not analyzed" if self.function else "not analyzed"
        return f"{self.file}:{self.line}: {what}: {self.reason}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "function": self.function,
                "reason": self.reason}
