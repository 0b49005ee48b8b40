"""b4's per-patch check protocol (``b4.prep-perpatch-check-cmd``,
``b4.am-perpatch-check-cmd``): b4 pipes one patch mail to the command and
reads its output line by line. A line containing ``ERROR:`` fails the
patch, any other line is a warning, no output at all is a pass.

So: one ``ERROR: file:line: rule: message`` line per introduced finding
(suppressed ones excepted, as for the exit status), a ``WARNING:`` line for
a patch that could not be analyzed or (``--fixes``) whose ``Fixes:`` tag
names the wrong commit, and nothing else: fixed and persisting findings are
not the patch's fault."""

from __future__ import annotations

from analyzer.findings import Finding
from analyzer.results import CheckReport, ScanReport, unsuppressed


def error_line(f: Finding) -> str:
    message = " ".join(f.message.split())
    return f"ERROR: {f.file}:{f.line}: {f.rule}: {message}"


def check(report: CheckReport) -> str:
    out: list[str] = []
    total = len(report.patches)
    for i, p in enumerate(report.patches, 1):
        if p.status == "error":
            number = f"patch {i}/{total} " if total > 1 else ""
            out.append(f"WARNING: {number}NOT ANALYZED: {p.subject or '(no subject)'}: "
                       f"{' '.join(p.reason.split())}")
        out.extend(error_line(f) for f in unsuppressed(p.delta.introduced))
        out.extend(f"WARNING: {p.subject or '(no subject)'}: {w}" for w in p.warnings)
    return "".join(line + "\n" for line in out)


def scan(report: ScanReport) -> str:
    return "".join(error_line(f) + "\n" for f in unsuppressed(report.findings))
