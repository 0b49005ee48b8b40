"""What is read from disk: only regular files, up to a size cap, and tree
files never through a symbolic link (the rule git mode has: it skips
symlinks), each refusal one line, status 2, never a hang."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest
from helpers import FIXTURES, run_cli

from analyzer import filereader
from analyzer.cli import main

LEGACY = FIXTURES / "legacy" / "tree"
MODERN = FIXTURES / "modern" / "tree"
SEED_FIX = FIXTURES / "legacy" / "patches" / "0001-seed-fix.patch"
MMU = "arch/x86/kvm/mmu.c"
TDP = "arch/x86/kvm/mmu/tdp_mmu.c"


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line(err: str, needle: str) -> None:
    assert err.count("\n") == 1 and err.startswith("mmu-role-lint: "), err
    assert needle in err, err


# --- devices, FIFOs, sizes ----------------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (["check", "/dev/zero", "--tree", str(LEGACY)], "/dev/zero: is a character device, not a regular file"),
    (["check", "/dev/null", "--tree", str(LEGACY)], "/dev/null: is a character device"),
    (["scan", "/dev/zero"], "/dev/zero: is a character device"),
])
def test_devices_are_refused_before_reading(args, needle):
    """In a child process with little memory: the old code read /dev/zero
    until memory ran out."""
    done = run_cli(*args)
    assert done.returncode == 2
    _one_line(done.stderr.decode(), needle)


@pytest.mark.parametrize("command", [["scan"], ["check", "--tree", str(LEGACY)]])
def test_a_fifo_is_refused_instead_of_blocking(tmp_path, command):
    """In a child process: the old code blocked in open() for ever."""
    fifo = tmp_path / "fifo.c"
    os.mkfifo(fifo)
    done = run_cli(*command, str(fifo))
    assert done.returncode == 2
    _one_line(done.stderr.decode(), f"{fifo}: is a FIFO, not a regular file")


def test_standard_input_from_a_device_stops_at_the_cap():
    done = run_cli("check", "-", "--tree", str(LEGACY), redirect="</dev/zero")
    assert done.returncode == 2
    _one_line(done.stderr.decode(), "standard input: larger than the 64 MiB mmu-role-lint reads")


def test_a_file_above_the_cap_is_refused_naming_cap_and_file(tmp_path, capsys):
    big = tmp_path / "huge.patch"
    with big.open("wb") as fh:  # sparse: nothing is written, and nothing is read
        fh.truncate(filereader.MAX_BYTES + 1)
    status, _, err = run(capsys, "check", str(big), "--tree", str(LEGACY))
    assert status == 2
    _one_line(err, f"{big}: larger than the 64 MiB mmu-role-lint reads")


def test_standard_input_above_the_cap_is_refused(capsys, monkeypatch):
    import io

    monkeypatch.setattr(filereader, "MAX_BYTES", 1000)
    data = SEED_FIX.read_bytes()
    assert len(data) > 1000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    status, _, err = run(capsys, "check", "-", "--tree", str(LEGACY))
    assert status == 2
    _one_line(err, "standard input: larger than the")


def test_a_tree_source_above_the_cap_is_refused(tmp_path, capsys, monkeypatch):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    monkeypatch.setattr(filereader, "MAX_BYTES", (tree / MMU).stat().st_size - 1)
    status, _, err = run(capsys, "scan", "--tree", str(tree))
    assert status == 2
    _one_line(err, f"{MMU}: larger than")


# --- symbolic links in the tree -------------------------------------------------------


@pytest.fixture
def outside(tmp_path):
    """A file outside the tree, which a symlink in the tree points at."""
    secret = tmp_path / "outside" / "secret.c"
    secret.parent.mkdir()
    secret.write_text((LEGACY / MMU).read_text())
    return secret


def _linked_tree(tmp_path, fixture, rel: str, target):
    """A copy of a fixture tree in which ``rel`` is a symlink to ``target``."""
    tree = tmp_path / "tree"
    shutil.copytree(fixture, tree)
    (tree / rel).unlink()
    (tree / rel).symlink_to(target)
    return tree


def test_a_symlinked_legacy_mmu_c_is_not_followed(tmp_path, capsys, outside):
    tree = _linked_tree(tmp_path, LEGACY, MMU, outside)
    status, out, err = run(capsys, "scan", "--tree", str(tree))
    assert status == 2 and out == ""
    _one_line(err, f"no KVM MMU sources (looked for arch/x86/kvm/mmu/*.c and {MMU}); "
                   f"{MMU}: skipped: a symbolic link (to {outside})")


def test_check_says_the_tree_file_is_a_symlink(tmp_path, capsys, outside):
    tree = _linked_tree(tmp_path, LEGACY, MMU, outside)
    status, _, err = run(capsys, "check", str(SEED_FIX), "--tree", str(tree))
    assert status == 2
    _one_line(err, f"{MMU}: skipped: a symbolic link")


def test_a_symlinked_modern_source_is_skipped_with_a_note(tmp_path, capsys, outside):
    tree = _linked_tree(tmp_path, MODERN, TDP, outside)
    status, out, err = run(capsys, "scan", "--tree", str(tree), "--format", "json")
    assert status == 0
    assert TDP not in json.loads(out)["files"] and len(json.loads(out)["files"]) == 2
    _one_line(err, f"note: {TDP}: skipped: a symbolic link (to {outside}); "
                   "mmu-role-lint reads no tree file through a symlink")


def test_a_symlinked_directory_on_the_way_is_not_followed(tmp_path, capsys):
    real = tmp_path / "elsewhere"
    shutil.copytree(LEGACY / "arch/x86/kvm", real)
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    shutil.rmtree(tree / "arch/x86/kvm")
    (tree / "arch/x86/kvm").symlink_to(real)
    status, _, err = run(capsys, "scan", "--tree", str(tree))
    assert status == 2
    _one_line(err, "arch/x86/kvm: skipped: a symbolic link")


def test_b4_format_keeps_the_note_off_stderr(tmp_path, capsys, outside):
    tree = _linked_tree(tmp_path, MODERN, TDP, outside)
    status, _, err = run(capsys, "scan", "--tree", str(tree), "--format", "b4")
    assert (status, err) == (0, "")


def test_a_file_named_on_the_command_line_is_read_through_its_symlink(tmp_path, capsys):
    """The user chose it; the rule is about what the tool finds by itself."""
    link = tmp_path / "mmu.c"
    link.symlink_to(LEGACY / MMU)
    status, out, _ = run(capsys, "scan", str(link), "--tree", str(LEGACY))
    assert status == 1 and "cr4_pae" in out


def test_check_reports_a_skipped_symlink_among_the_patch_notes(tmp_path, capsys, outside):
    tree = _linked_tree(tmp_path, MODERN, TDP, outside)
    patch = FIXTURES / "modern" / "patches" / "0004-mask-on-store.patch"
    status, out, err = run(capsys, "check", str(patch), "--tree", str(tree), "--format", "json")
    (result,) = json.loads(out)["patches"]
    assert (status, err) == (1, "") and result["status"] == "analyzed"
    assert f"{TDP}: skipped: a symbolic link (to {outside}); mmu-role-lint reads no tree file " \
           "through a symlink" in result["notes"]
