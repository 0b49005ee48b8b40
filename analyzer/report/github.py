"""GitHub Actions workflow commands: one annotation per finding.

``::error file=F,line=L,col=C,title=role-mismatch (FIELD)::message``, or
``::warning`` for a warning. ``check`` annotates what the series of patches
introduces; what it fixes is a ``::notice``, what it keeps is not repeated,
and a patch that could not be analyzed is an ``::error`` without a file.
Suppressed findings are notices. Messages escape ``%``, CR and LF; property
values also ``:`` and ``,`` (the runner's rules for workflow commands).
"""

from __future__ import annotations

from analyzer.findings import Finding
from analyzer.results import SITE_KINDS, CheckReport, ScanReport, baseline_states


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **props: object) -> str:
    params = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items())
    return f"::{kind}{' ' + params if params else ''}::{escape_data(message)}"


def annotation(f: Finding, kind: str = "", state: str = "", extra: str = "") -> str:
    """``kind`` defaults to the severity, or ``notice`` when suppressed."""
    title = f"{f.rule} ({f.field})" if f.field else f.rule
    if f.suppressed is not None:
        kind, state, extra = "notice", "suppressed", f"suppressed: {f.suppressed}"
    lines = [f.message, f"in {f.function}(), field '{f.field}'"]
    lines += [f"{t.side} side: {t.file}:{t.line}: {t.function}: {t.kind}: {t.text}"
              for t in f.trace if t.kind in SITE_KINDS]
    if extra:
        lines.append(extra)
    kind = kind or {"note": "notice"}.get(f.severity, f.severity)
    return command(kind, "\n".join(lines), file=f.file, line=f.line, col=f.column,
                   title=f"{title} {state}" if state else title)


def scan(report: ScanReport) -> str:
    out = [command("warning", str(n), file=n.file, line=n.line, title="mmu-role-lint: not analyzed")
           for n in report.not_analyzed]
    return "".join(line + "\n" for line in out + [annotation(f) for f in report.findings])


def check(report: CheckReport) -> str:
    out = []
    total = len(report.patches)
    for i, p in enumerate(report.patches, 1):
        if p.status == "error":
            out.append(command("error", f"patch {i}/{total} '{p.subject}' was not analyzed: {p.reason}",
                               title="mmu-role-lint"))
    for r in baseline_states(report):
        if r.state == "new":
            out.append(annotation(r.finding, extra=f"introduced by '{r.patch}'"))
        elif r.state == "absent":
            out.append(annotation(r.finding, "notice", "fixed", f"fixed by '{r.patch}'"))
    return "".join(line + "\n" for line in out)
