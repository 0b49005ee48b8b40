"""The command line: output shapes, exit statuses, and bad input answered with
one line and status 2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES

from analyzer.cli import main

LEGACY = FIXTURES / "legacy" / "tree"
SEED_FIX = FIXTURES / "legacy" / "patches" / "0001-seed-fix.patch"
MASK = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


FINDING_KEYS = {"rule", "severity", "field", "message", "location", "fingerprint", "trace"}


def _assert_finding_shape(f: dict) -> None:
    assert set(f) == FINDING_KEYS
    assert f["rule"] == "role-mismatch" and f["severity"] in ("error", "warning")
    assert set(f["location"]) == {"file", "line", "column", "function"}
    assert isinstance(f["location"]["line"], int) and isinstance(f["location"]["column"], int)
    assert f["trace"] and all({"file", "line", "function", "kind", "text"} <= set(t) for t in f["trace"])


def test_scan_json_shape_and_exit_1(capsys):
    status, out, _ = run(capsys, "scan", "--tree", str(LEGACY), "--format", "json")
    data = json.loads(out)
    assert status == 1
    assert set(data) == {"version", "files", "findings"} and data["version"] == 1
    assert data["files"] == ["arch/x86/kvm/mmu.c", "arch/x86/kvm/paging_tmpl.h"]
    (f,) = data["findings"]
    _assert_finding_shape(f)
    # located at the cause: kvm_mmu_get_page's direct-page filter
    assert (f["field"], f["location"]["function"]) == ("cr4_pae", "kvm_mmu_get_page")


def test_scan_clean_tree_exits_0(capsys):
    status, out, _ = run(capsys, "scan", "--tree", str(FIXTURES / "modern" / "tree"))
    assert status == 0 and out.splitlines() == ["0 role mismatches in 3 files",
                                                "total: 0 errors, 0 warnings"]


def test_check_json_shape(capsys):
    status, out, _ = run(capsys, "check", str(MASK), "--tree", str(LEGACY), "--format", "json")
    data = json.loads(out)
    assert status == 1
    assert set(data) == {"version", "patches", "summary"}
    (p,) = data["patches"]
    assert p["status"] == "analyzed" and "reason" not in p
    assert p["files"] == ["arch/x86/kvm/mmu.c"]
    assert [f["field"] for f in p["introduced"]] == ["nxe"]
    assert [f["field"] for f in p["persisting"]] == ["cr4_pae"]
    for f in p["introduced"] + p["persisting"]:
        _assert_finding_shape(f)
    assert data["summary"] == {"introduced": 1, "fixed": 0, "persisting": 1}


def test_check_text_is_compiler_style(capsys):
    status, out, _ = run(capsys, "check", str(MASK), "--tree", str(LEGACY))
    lines = out.splitlines()
    assert status == 1
    first = next(line for line in lines if "nxe" in line and line.startswith("arch/"))
    path, line, col, rest = first.split(":", 3)
    assert path == "arch/x86/kvm/mmu.c" and line.isdigit() and col.isdigit()
    assert rest.startswith(" warning: role field 'nxe'") and rest.endswith("[role-mismatch]")
    assert any(line.strip().startswith("stored side:") for line in lines)
    assert lines[-2:] == ["summary: 1 introduced, 0 fixed, 1 persisting",
                          "total: 0 errors, 1 warnings"]


def test_fingerprint_ignores_line_numbers(capsys):
    # the same finding before and after a patch that moves it keeps its id
    _, out, _ = run(capsys, "check", str(FIXTURES / "legacy/patches/0007-benign-comments-whitespace.patch"),
                    "--tree", str(LEGACY), "--format", "json")
    (p,) = json.loads(out)["patches"]
    _, out2, _ = run(capsys, "scan", "--tree", str(LEGACY), "--format", "json")
    (before,) = json.loads(out2)["findings"]
    (after,) = p["persisting"]
    assert after["location"]["line"] != before["location"]["line"]
    assert after["fingerprint"] == before["fingerprint"]


def test_stdin_patch(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SEED_FIX.read_bytes())))
    status, out, _ = run(capsys, "check", "-", "--tree", str(LEGACY))
    assert status == 0 and "1 fixed" in out


def test_tree_is_never_written(tmp_path, capsys):
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in LEGACY.rglob("*") if p.is_file()}
    run(capsys, "check", str(MASK), str(SEED_FIX), "--tree", str(LEGACY))
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in LEGACY.rglob("*") if p.is_file()}
    assert before == after


@pytest.mark.parametrize(("args", "needle"), [
    (["check", "missing.patch", "--tree", str(LEGACY)], "missing.patch: no such file"),
    (["check", str(LEGACY), "--tree", str(LEGACY)], "is a directory"),
    (["scan", "--tree", "/nonexistent/tree"], "not a directory"),
    (["scan", "--tree", str(FIXTURES)], "no KVM MMU sources"),
    (["scan", "/bin/sh"], "binary file"),
])
def test_bad_input_is_one_line_and_status_2(capsys, args, needle):
    status, _out, err = run(capsys, *args)
    assert status == 2
    assert err.count("\n") == 1 and needle in err and err.startswith("mmu-role-lint: ")
    assert "Traceback" not in err


def test_no_diff_in_input(tmp_path, capsys):
    p = tmp_path / "note.txt"
    p.write_text("Just some words, no diff here.\n")
    status, _, err = run(capsys, "check", str(p), "--tree", str(LEGACY))
    assert status == 2 and "no diff" in err and err.count("\n") == 1


def test_patch_that_does_not_apply(tmp_path, capsys):
    # the mask patch, with a context line this tree does not have
    mask = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"
    other = tmp_path / "other.patch"
    head, hunks = mask.read_text().split("\n@@", 1)
    context = next(line for line in hunks.splitlines()[1:] if line.startswith(" ") and line.strip())
    other.write_text(head + "\n@@" + hunks.replace(context + "\n", " /* not in this tree */\n", 1))
    status, out, err = run(capsys, "check", str(other), "--tree", str(LEGACY), "--format", "json")
    (p,) = json.loads(out)["patches"]
    assert status == 2
    assert p["status"] == "error" and "arch/x86/kvm/mmu.c" in p["reason"] and "@@" in p["reason"]
    # the report says why, and so does one line on stderr
    assert err.count("\n") == 1 and "no patch could be analyzed" in err and "@@" in err


def test_check_verbose_says_what_was_parsed_and_reused(capsys):
    status, _, err = run(capsys, "check", str(SEED_FIX), "--tree", str(LEGACY), "-v")
    assert status == 0
    assert "patch 1: analyzed: parsed arch/x86/kvm/mmu.c;" in err
    assert "0 ERROR nodes in role-flow functions" in err
    reused, sites = map(int, re.search(r"(\d+) of (\d+) sites reused", err).groups())
    assert sites > 0 and reused <= sites


def test_tree_without_mmu_sources_and_mmu_patch(tmp_path, capsys):
    (tmp_path / "arch/x86/kvm").mkdir(parents=True)
    status, _, err = run(capsys, "check", str(SEED_FIX), "--tree", str(tmp_path))
    assert status == 2 and "no KVM MMU sources" in err


def test_patch_touching_no_role_code_is_skipped_without_parsing(tmp_path, capsys, monkeypatch):
    (tmp_path / "README").write_text("hello\n")
    patch = tmp_path / "p.diff"
    patch.write_text("--- a/README\n+++ b/README\n@@ -1 +1 @@\n-hello\n+hello world\n")
    import analyzer.analysis

    def boom(*a, **k):
        raise AssertionError("C was parsed")

    monkeypatch.setattr(analyzer.analysis, "analyze", boom)
    status, out, _ = run(capsys, "check", str(patch), "--tree", str(tmp_path), "--format", "json")
    (p,) = json.loads(out)["patches"]
    assert status == 0 and p["status"] == "skipped" and p["reason"] == "no role code touched"


def test_python_dash_m_entry_point():
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "analyzer", "scan", "--tree", str(LEGACY)],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 1 and "[role-mismatch]" in proc.stdout


def test_verbose_reports_parse_quality(capsys):
    status, _, err = run(capsys, "scan", "--tree", str(LEGACY), "-v")
    assert status == 1
    assert "0 in role-flow functions" in err and "compare sites" in err


def test_unknown_notes_only_on_request_and_never_in_the_exit_status(capsys, tmp_path):
    tree = tmp_path / "tree"
    import shutil

    shutil.copytree(LEGACY, tree)
    mmu = tree / "arch/x86/kvm/mmu.c"
    text = mmu.read_text()
    # every page gets its smm from another expression than the lookups
    # compute (is_smm(vcpu)): equal or not, the analysis cannot tell
    assert text.count("\trole.access = access;\n") == 1
    text = text.replace("\trole.access = access;\n", "\trole.access = access;\n\trole.smm = smm_of(vcpu);\n")
    mmu.write_text(text)
    plain_status, out, _ = run(capsys, "scan", "--tree", str(tree), "--format", "json")
    plain = json.loads(out)["findings"]
    status, out, _ = run(capsys, "scan", "--tree", str(tree), "--format", "json", "--unknown")
    asked = json.loads(out)["findings"]
    notes = [f for f in asked if f["severity"] == "note"]
    assert all(f["severity"] != "note" for f in plain)
    assert notes and {f["rule"] for f in notes} == {"role-mismatch-unknown"}
    assert "smm" in {f["field"] for f in notes}
    # the notes change nothing else, and never the exit status
    assert [f for f in asked if f["severity"] != "note"] == plain
    assert status == plain_status


@pytest.mark.parametrize(("data", "needle"), [
    # D4: read as a rename of mmu.c to "ar", this "fixed" cr4_pae with exit 0
    (b"diff --git a/arch/x86/kvm/mmu.c b/ar\n",
     "<stdin>: the patch is cut short at line 1: the file header "
     "'diff --git a/arch/x86/kvm/mmu.c b/ar' ends before its changes"),
    # a header claiming 3 lines where 6 follow: the removal of cr4_pae was dropped
    (SEED_FIX.read_bytes().replace(b"@@ -288,7 +287,6 @@", b"@@ -288,3 +287,3 @@"),
     "hunk @@ -288,3 +287,3 @@ claims 3 old and 3 new lines (line 37), but the change line "
     "after them (line 41) belongs to it too"),
    # ten digits: the hunk was taken for noise and dropped
    (SEED_FIX.read_bytes().replace(b"@@ -288,7 +287,6 @@", b"@@ -288,7000000000 +287,6 @@"),
     "has impossible line numbers"),
])
def test_corrupt_patches_are_one_line_and_status_2(capsys, monkeypatch, data, needle):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, out, err = run(capsys, "check", "-", "--tree", str(LEGACY))
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("mmu-role-lint: ") and needle in err, err


class _Left(Exception):
    """``os._exit`` called: the status it was given."""


def _console(monkeypatch, writes: str, status: int, fail: type[BaseException] | None = None):
    """``cli.run`` with a main that leaves ``writes`` in a buffered stdout
    (whose flush raises ``fail``, when given) and returns ``status``: what
    was in the buffer when ``os._exit`` was called, and the status."""
    import io

    from analyzer import cli

    raw = io.BytesIO()

    class Stream(io.TextIOWrapper):
        def flush(self) -> None:
            if fail is not None:
                raise fail()
            super().flush()

    out = Stream(raw, encoding="utf-8", write_through=False)
    monkeypatch.setattr(sys, "stdout", out)

    def fake_main() -> int:
        out.write(writes)
        return status

    def leave(code: int) -> None:
        raise _Left(code, raw.getvalue())

    monkeypatch.setattr(cli, "main", fake_main)
    monkeypatch.setattr(os, "_exit", leave)
    with pytest.raises(_Left) as left:
        cli.run()
    return left.value.args


def test_console_script_flushes_what_main_wrote_then_leaves_with_its_status(monkeypatch):
    code, flushed = _console(monkeypatch, "x.c:1: error: report\n" * 1000, 1)
    assert code == 1 and flushed == b"x.c:1: error: report\n" * 1000


def test_console_script_reader_gone_is_status_0_as_in_main(monkeypatch):
    code, _ = _console(monkeypatch, "report\n", 1, BrokenPipeError)
    assert code == 0


def test_console_script_unwritable_stdout_is_a_failure(monkeypatch):
    code, _ = _console(monkeypatch, "report\n", 0, OSError)
    assert code == 1


def test_console_script_is_run_and_python_m_analyzer_goes_through_it():
    """Both ways of running the tool leave through ``run`` (no interpreter
    teardown), and a report written to a pipe arrives whole."""
    text = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 'mmu-role-lint = "analyzer.cli:run"' in text
    got = subprocess.run([sys.executable, "-m", "analyzer", "scan", "--format", "json",
                          "--tree", str(LEGACY)], capture_output=True, text=True, check=False)
    assert got.returncode == 1 and json.loads(got.stdout)["findings"]
