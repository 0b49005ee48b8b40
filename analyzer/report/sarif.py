"""SARIF 2.1.0 for code-scanning UIs and editors (README.md).

One run of the tool ``mmu-role-lint``, its rules documented from
``rules/<id>.md``. One result per finding: where the value diverges is its
location, the fingerprint its ``partialFingerprints["mmuRoleLint/v1"]``, the
comparisons that miss and the producer, store, override and mask sites its
``relatedLocations``, and the trace a
``codeFlow`` with one ``threadFlow`` per side. ``check`` reports the series of
patches against the tree before it: what the series introduces is ``new``,
what it keeps ``unchanged``, what it fixes ``absent``. Suppressed findings
carry an ``inSource`` suppression with the comment's reason.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import PurePosixPath
from urllib.parse import quote

from analyzer import __version__
from analyzer.checks import RULE_IDS
from analyzer.findings import Finding
from analyzer.results import SITE_KINDS, CheckReport, ScanReport, baseline_states
from analyzer.ruledata import rule_doc

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT_KEY = "mmuRoleLint/v1"
SRCROOT = "SRCROOT"
HOMEPAGE = "https://pypi.org/project/mmu-role-lint/"


def _homepage() -> str:
    try:
        urls = metadata.metadata("mmu-role-lint").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository"):
            return url.strip()
    return HOMEPAGE


def _plain(markdown: str) -> str:
    """Markdown as plain text: no fences, headings marks, backticks or bold."""
    lines = [ln for ln in markdown.splitlines() if not ln.startswith("```")]
    text = "\n".join(ln[3:] if ln.startswith("## ") else ln for ln in lines)
    return re.sub(r"`|\*\*", "", text)


def _rule(rule_id: str) -> dict:
    doc = rule_doc(rule_id)
    what = doc.sections.get("What it does", "")
    return {
        "id": rule_id,
        "name": doc.meta.get("name", rule_id),
        "shortDescription": {"text": doc.meta.get("short", rule_id)},
        "fullDescription": {"text": _plain(what), "markdown": what},
        "help": {"text": _plain(doc.body), "markdown": doc.body},
        "defaultConfiguration": {"level": doc.default_level},
        "properties": {"tags": ["kvm", "x86", "mmu"]},
    }


def _artifact(file: str) -> dict:
    path = PurePosixPath(file)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(file, errors="surrogateescape"), "uriBaseId": SRCROOT}


def _location(file: str, line: int, column: int, function: str, message: str = "") -> dict:
    region: dict = {"startLine": max(line, 1)}
    if column > 0:
        region["startColumn"] = column
    loc: dict = {"physicalLocation": {"artifactLocation": _artifact(file), "region": region}}
    if function:
        loc["logicalLocations"] = [{"name": function, "kind": "function"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _related(f: Finding) -> list[dict]:
    """Producer and store sites: the first step of each side, then the
    trace's store, def, override and mask steps."""
    sides = {(t.file, t.line, t.kind): t.side for t in f.trace}
    sites = [(s.file, s.line, s.col, s.function, s.kind, s.text) for s in f.related]
    sites += [(t.file, t.line, t.col, t.function, t.kind, t.text) for t in f.trace
              if t.kind in SITE_KINDS]
    out: list[dict] = []
    seen: set = set()
    for file, line, col, function, kind, text in sites:
        if (file, line, kind) in seen or line < 1:
            continue
        seen.add((file, line, kind))
        side = sides.get((file, line, kind))
        label = f"{side} side: {kind}: {text}" if side else f"{kind}: {text}"
        out.append({"id": len(out) + 1, **_location(file, line, col, function, label)})
    return out


def _code_flows(f: Finding) -> list[dict]:
    flows: dict[str, list[dict]] = {}
    for t in f.trace:
        if t.line < 1:
            continue
        loc = _location(t.file, t.line, t.col, t.function, f"{t.kind}: {t.text}")
        important = t.kind in SITE_KINDS or t.kind == "compare"
        flows.setdefault(t.side, []).append(
            {"location": loc, "kinds": [t.kind],
             "importance": "essential" if important else "important"})
    if not flows:
        return []
    threads = [{"id": side, "message": {"text": f"{side} side of {f.key} in {f.function}()"},
                "locations": locs} for side, locs in flows.items()]
    return [{"message": {"text": f"where each side's value of '{f.field}' comes from"},
             "threadFlows": threads}]


def _result(f: Finding, state: str = "", patch: str = "") -> dict:
    out: dict = {
        "ruleId": f.rule,
        "ruleIndex": RULE_IDS.index(f.rule),
        "level": f.severity,
        "message": {"text": f.message},
        "locations": [_location(f.file, f.line, f.column, f.function)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
    }
    related = _related(f)
    if related:
        out["relatedLocations"] = related
    flows = _code_flows(f)
    if flows:
        out["codeFlows"] = flows
    # an empty list says suppressions were looked for and none applies
    out["suppressions"] = ([{"kind": "inSource", "justification": f.suppressed}]
                           if f.suppressed is not None else [])
    if state:
        out["baselineState"] = state
    props: dict = {"field": f.field, "function": f.function}
    if patch:
        props["introducedBy" if state == "new" else "fixedBy"] = patch
    out["properties"] = props
    return out


def _log(results: list[dict], exit_status: int, notifications: list[dict]) -> str:
    invocation: dict = {
        "executionSuccessful": not any(n["level"] == "error" for n in notifications),
        "exitCode": exit_status,
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {"driver": {
            "name": "mmu-role-lint",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": _homepage(),
            "rules": [_rule(r) for r in RULE_IDS],
        }},
        "invocations": [invocation],
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "the top of the kernel tree"}}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def scan(report: ScanReport) -> str:
    notes = [{"level": "warning", "message": {"text": str(n)},
              "locations": [_location(n.file, n.line, 1, n.function)]}
             for n in report.not_analyzed]
    return _log([_result(f) for f in report.findings], report.exit_status(), notes)


def check(report: CheckReport) -> str:
    notes = []
    total = len(report.patches)
    for i, p in enumerate(report.patches, 1):
        head = f"patch {i}/{total} '{p.subject or '(no subject)'}'"
        if p.status != "analyzed":
            notes.append({"level": "error" if p.status == "error" else "note",
                          "message": {"text": f"{head}: {p.status}: {p.reason}"}})
        if p.repaired:
            notes.append({"level": "note", "message": {"text": f"{head}: repaired: {p.repair_reason}"}})
    results = [_result(r.finding, r.state, r.patch) for r in baseline_states(report)]
    return _log(results, report.exit_status(), notes)
