"""Standard streams that fail or are closed, and ``-o -``: one line on
stderr (when there is a stderr) and status 2, never a traceback."""

from __future__ import annotations

import io
import sys

import pytest
from helpers import FIXTURES, run_cli

from analyzer.cli import main

LEGACY = FIXTURES / "legacy" / "tree"
SEED_FIX = FIXTURES / "legacy" / "patches" / "0001-seed-fix.patch"


def _one_line(stderr: bytes, needle: str) -> None:
    text = stderr.decode()
    assert text.count("\n") == 1 and text.startswith("mmu-role-lint: "), text
    assert needle in text, text
    assert "Traceback" not in text and "Exception ignored" not in text


def test_stdout_on_a_full_disk_is_one_line_and_status_2():
    done = run_cli("scan", "--tree", str(LEGACY), redirect=">/dev/full")
    assert done.returncode == 2
    _one_line(done.stderr, "cannot write the report to standard output (No space left on device)")


def test_closed_stdout_is_one_line_and_status_2():
    done = run_cli("scan", "--tree", str(LEGACY), redirect=">&-")
    assert done.returncode == 2
    _one_line(done.stderr, "standard output is closed; pass -o FILE")


def test_closed_stdin_is_one_line_and_status_2():
    done = run_cli("check", "-", "--tree", str(LEGACY), redirect="<&-")
    assert done.returncode == 2 and done.stdout == b""
    _one_line(done.stderr, "standard input is closed")


def test_closed_stderr_does_not_send_the_error_to_stdout():
    """print(file=None) writes to stdout: the report stream must stay clean."""
    done = run_cli("check", "missing.patch", "--tree", str(LEGACY), redirect="2>&-")
    assert (done.returncode, done.stdout) == (2, b"")


def test_closed_stdout_with_output_to_a_file_still_works(tmp_path):
    report = tmp_path / "report.txt"
    done = run_cli("scan", "--tree", str(LEGACY), "-o", str(report), redirect=">&-")
    assert done.returncode == 1 and done.stderr == b""
    assert "1 role mismatch in 2 files" in report.read_text()


def test_dash_output_is_standard_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status = main(["check", str(SEED_FIX), "--tree", str(LEGACY), "-o", "-"])
    assert status == 0 and "1 fixed" in capsys.readouterr().out
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_output_file_gets_exactly_what_stdout_would(tmp_path, capsys, fmt):
    main(["scan", "--tree", str(LEGACY), "--format", fmt])
    printed = capsys.readouterr().out
    main(["scan", "--tree", str(LEGACY), "--format", fmt, "-o", str(tmp_path / "r")])
    assert (tmp_path / "r").read_text() == printed and capsys.readouterr().out == ""


def test_an_error_line_with_a_non_utf8_byte_reaches_a_strict_stderr(monkeypatch):
    from analyzer.commands.common import say

    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(raw, encoding="utf-8", errors="strict"))
    say("mmu-role-lint: arch/x86/kvm/mmu/x\udce9.c: no such file")
    assert raw.getvalue() == b"mmu-role-lint: arch/x86/kvm/mmu/x\\xe9.c: no such file\n"
