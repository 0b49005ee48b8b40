"""JSON output, version 1 (README, "JSON output"): scripts and CI rely on it."""

from __future__ import annotations

import json

from analyzer.results import CheckReport, Origin, ScanReport

VERSION = 1


def scan(report: ScanReport) -> str:
    out: dict = {"version": VERSION, "files": report.files,
                 "findings": [f.as_dict() for f in report.findings]}
    if report.not_analyzed:
        out["not_analyzed"] = [n.as_dict() for n in report.not_analyzed]
    return json.dumps(out, indent=2) + "\n"


def with_origin(finding: dict, origin: Origin | None) -> dict:
    """A fixed finding with ``introduced_by`` (``--fixes``), and the reason
    when there is no commit to name."""
    if origin is not None:
        finding["introduced_by"] = origin.as_dict()
        if origin.commit is None:
            finding["introduced_by_reason"] = origin.reason
    return finding


def check(report: CheckReport) -> str:
    patches = []
    for p in report.patches:
        entry: dict = {"subject": p.subject, "status": p.status}
        if p.status != "analyzed":
            entry["reason"] = p.reason
        entry["files"] = p.files
        entry["introduced"] = [f.as_dict() for f in p.delta.introduced]
        entry["fixed"] = [with_origin(f.as_dict(), p.origins.get(f.fingerprint))
                          for f in p.delta.fixed]
        entry["persisting"] = [f.as_dict() for f in p.delta.persisting]
        if p.repaired:
            entry["repaired"] = True
            entry["repair_reason"] = p.repair_reason
        if p.notes:
            entry["notes"] = p.notes
        if p.warnings:
            entry["warnings"] = p.warnings
        patches.append(entry)
    return json.dumps({"version": VERSION, "patches": patches, "summary": report.totals()},
                      indent=2) + "\n"
