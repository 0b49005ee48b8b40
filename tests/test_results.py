"""Results are a leaf of the flow: reports read them and never change them,
and no output format imports the runner or another format."""

from __future__ import annotations

import ast
from pathlib import Path

from analyzer.delta import Delta
from analyzer.findings import Finding
from analyzer.results import CheckReport, PatchResult, ScanReport

PACKAGE = Path(__file__).resolve().parent.parent / "analyzer"


def _finding(field: str, severity: str) -> Finding:
    return Finding("role-mismatch", severity, field, "m", "a.c", 1, 1, "f")


def test_a_severity_view_leaves_the_report_as_it_was():
    warn, note = _finding("nxe", "warning"), _finding("level", "note")
    scan = ScanReport(["a.c"], [warn, note])
    assert scan.at_least("warning").findings == [warn]
    assert scan.at_least("note").findings == [warn, note]
    assert scan.findings == [warn, note]

    check = CheckReport([PatchResult("p", "analyzed", delta=Delta([note, warn], [note], [note]))])
    (p,) = check.at_least("warning").patches
    assert (p.delta.introduced, p.delta.fixed, p.delta.persisting) == ([warn], [], [])
    assert p.subject == "p" and p.status == "analyzed"
    kept = check.patches[0].delta
    assert (kept.introduced, kept.fixed, kept.persisting) == ([note, warn], [note], [note])


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("analyzer")}


def test_results_import_only_finding_records():
    # (and the record decorator its classes are made with)
    assert _imports(PACKAGE / "results.py") <= {"analyzer.delta", "analyzer.findings",
                                                "analyzer.record"}


def test_formats_import_neither_the_runner_nor_each_other():
    for path in (PACKAGE / "report").glob("*.py"):
        bad = {m for m in _imports(path)
               if m == "analyzer.runner" or m.startswith("analyzer.report.")}
        assert not bad, (path.name, bad)
