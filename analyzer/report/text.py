"""Compiler-style text: ``file:line:col: error|warning: message [rule]``,
then the trace of the finding, one step per line, grouped by side."""

from __future__ import annotations

from analyzer.checks import ROLE_MISMATCH, ROLE_UNCHECKED_REUSE
from analyzer.findings import Finding
from analyzer.results import CheckReport, Origin, ScanReport


def finding_lines(f: Finding, *, label: str = "", trace: bool = True) -> list[str]:
    sev = f.severity if not label else "note"
    prefix = f"{label}: " if label else ""
    lines = [f"{f.file}:{f.line}:{f.column}: {sev}: {prefix}{f.message} [{f.rule}]"]
    lines.append(f"  in {f.function}(), field '{f.field}'")
    if f.suppressed is not None:
        lines.append(f"  note: suppressed ({f.suppressed})")
    if trace:
        side = None
        for step in f.trace:
            if step.side != side:
                side = step.side
                lines.append(f"  {side} side:")
            lines.append(f"    {step.file}:{step.line}: {step.function}: {step.kind}: {step.text}")
    return lines


def origin_text(origin: Origin) -> str:
    """The commit that introduced a fixed finding, as a ``Fixes:`` tag, or
    why there is none."""
    return origin.tag if origin.commit is not None else f"no Fixes: tag: {origin.reason}"


def suppressed_note(findings: list[Finding]) -> str:
    n = sum(1 for f in findings if f.suppressed is not None)
    return f" ({n} suppressed)" if n else ""


def scan(report: ScanReport) -> str:
    out: list[str] = []
    for f in report.findings:
        out.extend(finding_lines(f))
    mismatches = [f for f in report.findings if f.rule == ROLE_MISMATCH]
    n = len(mismatches)
    counted = f"{n} role mismatch{'es' if n != 1 else ''}" + suppressed_note(mismatches)
    reuses = [f for f in report.findings if f.rule == ROLE_UNCHECKED_REUSE]
    if reuses:
        counted += (f", {len(reuses)} unchecked reuse{'s' if len(reuses) != 1 else ''}"
                    + suppressed_note(reuses))
    notes = sum(1 for f in report.findings if f.severity == "note")
    others = len(report.findings) - n - len(reuses) - notes
    if others:
        counted += f", {others} other finding{'s' if others != 1 else ''}"
    if notes:
        counted += f", {notes} undecided (--unknown)"
    out.append(f"{counted} in {len(report.files)} file{'s' if len(report.files) != 1 else ''}")
    return "\n".join(out) + "\n"


def check(report: CheckReport) -> str:
    out: list[str] = []
    total = len(report.patches)
    for i, p in enumerate(report.patches, 1):
        head = f"patch {i}/{total}: {p.subject or '(no subject)'}"
        if p.status != "analyzed":
            head += f" [{p.status}: {p.reason}]"
        out.append(head)
        if p.repaired:
            out.append(f"  note: patch repaired: {p.repair_reason}")
        for note in p.notes:
            out.append(f"  note: {note}")
        for f in p.delta.introduced:
            out.extend(finding_lines(f))
        for f in p.delta.fixed:
            out.extend(finding_lines(f, label="fixed", trace=False))
            if f.fingerprint in p.origins:
                origin = p.origins[f.fingerprint]
                lead = "introduced by: " if origin.commit is not None else ""
                out.append(f"  {lead}{origin_text(origin)}")
        for f in p.delta.persisting:
            out.extend(finding_lines(f, label="persisting", trace=False))
        out.extend(f"  warning: {w}" for w in p.warnings)
        if p.status == "analyzed":
            d = p.delta
            out.append(f"  {len(d.introduced)} introduced, {len(d.fixed)} fixed, "
                       f"{len(d.persisting)} persisting")
    t = report.totals()
    introduced = suppressed_note([f for p in report.patches for f in p.delta.introduced])
    out.append(f"summary: {t['introduced']} introduced{introduced}, {t['fixed']} fixed, "
               f"{t['persisting']} persisting")
    return "\n".join(out) + "\n"
