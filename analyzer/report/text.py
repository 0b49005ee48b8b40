"""Compiler-style text: ``file:line:col: error|warning: message [rule]``,
then the trace of the finding, one step per line, grouped by side.

A suppressed finding is a note, without its trace. ``terse`` keeps each
finding's first line only; ``quiet`` keeps only what counts (the findings
of the exit status) and the patches that could not be analyzed, as
checkpatch's ``--terse`` and ``-q``. The summary counts errors and warnings
apart, as checkpatch's ``total:`` line does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.checks import ROLE_MISMATCH, ROLE_UNCHECKED_REUSE
from analyzer.results import CheckReport, Origin, ScanReport, severity_counts, unsuppressed

if TYPE_CHECKING:
    from analyzer.findings import Finding


def finding_lines(f: Finding, *, label: str = "", trace: bool = True,
                  terse: bool = False) -> list[str]:
    if f.suppressed is not None:
        label = f"{label}, suppressed" if label else "suppressed"
    sev = "note" if label else f.severity
    prefix = f"{label}: " if label else ""
    lines = [f"{f.file}:{f.line}:{f.column}: {sev}: {prefix}{f.message} [{f.rule}]"]
    if terse:
        return lines
    lines.append(f"  in {f.function}(), field '{f.field}'")
    if f.suppressed is not None:
        lines.append(f"  note: suppressed ({f.suppressed})")
        return lines
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


def total_line(findings: list[Finding]) -> str:
    """checkpatch's ``total: N errors, M warnings`` (its words, plural
    always, so that scripts that read checkpatch read this)."""
    errors, warnings = severity_counts(findings)
    return f"total: {errors} errors, {warnings} warnings"


def scan(report: ScanReport, *, terse: bool = False, quiet: bool = False) -> str:
    out: list[str] = []
    for f in unsuppressed(report.findings) if quiet else report.findings:
        out.extend(finding_lines(f, terse=terse))
    if quiet:
        return "".join(line + "\n" for line in out)
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
    out.extend(f"note: {n}" for n in report.not_analyzed)
    out.append(f"{counted} in {len(report.files)} file{'s' if len(report.files) != 1 else ''}")
    out.append(total_line(report.findings))
    return "\n".join(out) + "\n"


def counts(introduced: list[Finding], fixed: list[Finding], persisting: list[Finding]) -> str:
    """``1 introduced (1 suppressed), 0 fixed, 0 persisting``: one wording
    for a patch's count line and the summary."""
    return (f"{len(introduced)} introduced{suppressed_note(introduced)}, "
            f"{len(fixed)} fixed{suppressed_note(fixed)}, "
            f"{len(persisting)} persisting{suppressed_note(persisting)}")


def not_analyzed_line(report: CheckReport) -> str:
    """The last line when a patch could not be analyzed: what the summary
    does not cover."""
    missed = report.not_analyzed()
    total = len(report.patches)
    which = ", ".join(f"{k}/{total}" for k in missed)
    if len(missed) == total:
        return f"error: no patch could be analyzed ({which})"
    return (f"warning: {len(missed)} of {total} patches not analyzed ({which}): "
            "the summary counts the other patches only")


def check(report: CheckReport, *, terse: bool = False, quiet: bool = False) -> str:
    out: list[str] = []
    total = len(report.patches)
    for i, p in enumerate(report.patches, 1):
        head = f"patch {i}/{total}: {p.subject or '(no subject)'}"
        if p.status == "error":
            out += [f"{head} [error: not analyzed]", f"  error: {p.reason}"]
            continue
        if quiet:
            for f in unsuppressed(p.delta.introduced):
                out.extend(finding_lines(f, terse=terse))
            continue
        out.append(head + (f" [{p.status}: {p.reason}]" if p.status != "analyzed" else ""))
        if p.repaired:
            out.append(f"  note: patch repaired: {p.repair_reason}")
        for note in p.notes:
            out.append(f"  note: {note}")
        for f in p.delta.introduced:
            out.extend(finding_lines(f, terse=terse))
        for f in p.delta.fixed:
            out.extend(finding_lines(f, label="fixed", trace=False, terse=terse))
            if f.fingerprint in p.origins and not terse:
                origin = p.origins[f.fingerprint]
                lead = "introduced by: " if origin.commit is not None else ""
                out.append(f"  {lead}{origin_text(origin)}")
        for f in p.delta.persisting:
            out.extend(finding_lines(f, label="persisting", trace=False, terse=terse))
        out.extend(f"  warning: {w}" for w in p.warnings)
        if p.status == "analyzed":
            out.append(f"  {counts(p.delta.introduced, p.delta.fixed, p.delta.persisting)}")
    if not quiet:
        analyzed = [p for p in report.patches if p.status == "analyzed"]
        out.append("summary: " + counts([f for p in report.patches for f in p.delta.introduced],
                                        [f for p in report.patches for f in p.delta.fixed],
                                        [f for p in analyzed for f in p.delta.persisting]))
        out.append(total_line([f for p in report.patches for f in p.delta.introduced]))
    if report.not_analyzed():
        out.append(not_analyzed_line(report))
    return "".join(line + "\n" for line in out)
