"""What users read, byte for byte: each case runs the command line as a user
types it (from the top of the repository) and compares standard output,
standard error and the exit status with tests/snapshots/NAME.snap.

A changed trace line, summary wording or SARIF property shows up here as a
diff. To accept an intended change: MMU_ROLE_LINT_UPDATE_SNAPSHOTS=1
.venv/bin/python -m pytest tests/test_snapshots.py, and review git diff.
``-v`` is left out: it reports timings."""

from __future__ import annotations

import json
import shlex

import pytest
from helpers import ROOT
from snapshot import SNAPSHOTS, assert_snapshot

from analyzer import __version__
from analyzer.cli import main

FORMATS = ("text", "json", "sarif", "github", "b4")

LEGACY = "fixtures/legacy/tree"
SEED_FIX = "fixtures/legacy/patches/0001-seed-fix.patch"
SERIES = "fixtures/legacy/series/nxe-series.mbox"
MODERN = "fixtures/modern/tree"
MODERN_CONSTANT = "fixtures/modern/patches/0002-shadow-page-alloc-constant.patch"
INCOMPLETE = "fixtures/incomplete-legacy/tree"
INCOMPLETE_CR0 = "fixtures/incomplete-legacy/patches/0002-read-unrecorded-cr0-bit.patch"

CASES: dict[str, list[str]] = {}
for fmt in FORMATS:
    CASES[f"scan-legacy-{fmt}"] = ["scan", "--tree", LEGACY, "--format", fmt]
    CASES[f"check-seed-fix-{fmt}"] = ["check", SEED_FIX, "--tree", LEGACY, "--format", fmt]
    CASES[f"check-modern-constant-{fmt}"] = ["check", MODERN_CONSTANT, "--tree", MODERN,
                                             "--format", fmt]
    CASES[f"check-incomplete-{fmt}"] = ["check", INCOMPLETE_CR0, "--tree", INCOMPLETE,
                                        "--format", fmt]
CASES |= {
    "scan-modern-text": ["scan", "--tree", MODERN],
    "scan-legacy-unknown-text": ["scan", "--tree", LEGACY, "--unknown"],
    "scan-legacy-unknown-json": ["scan", "--tree", LEGACY, "--unknown", "--format", "json"],
    "check-seed-fix-unknown-text": ["check", SEED_FIX, "--tree", LEGACY, "--unknown"],
    "check-seed-fix-unknown-github": ["check", SEED_FIX, "--tree", LEGACY, "--unknown",
                                      "--format", "github"],
    # a cover letter, a patch outside role code, a fix: notes, skipped, persisting
    "check-series-text": ["check", SERIES, "--tree", LEGACY],
    "check-series-sarif": ["check", SERIES, "--tree", LEGACY, "--format", "sarif"],
    # the patch is for the other layout: it does not apply, exit 2
    "check-wrong-tree-text": ["check", SEED_FIX, "--tree", MODERN],
    "check-wrong-tree-b4": ["check", SEED_FIX, "--tree", MODERN, "--format", "b4"],
    # a tree without MMU sources: one line on stderr, exit 2
    "check-no-mmu-sources": ["check", SEED_FIX, "--tree", "fixtures"],
}


def normalize(text: str) -> str:
    """Nothing machine- or release-specific: the checkout's path and the
    tool's version are placeholders."""
    text = text.replace(str(ROOT), "[ROOT]")
    return text.replace(f'"{__version__}"', '"[VERSION]"')


# The SARIF rule descriptions (rules/*.md, 20 kB) are kept in full in this
# snapshot only; the other SARIF snapshots name the rules, so that editing a
# rule page changes one snapshot, not every SARIF one.
RULES_IN_FULL = "scan-legacy-sarif"


def brief_rules(sarif: str) -> str:
    log = json.loads(sarif)
    assert json.dumps(log, indent=2) + "\n" == sarif  # re-dumping changes nothing else
    driver = log["runs"][0]["tool"]["driver"]
    driver["rules"] = [f"[{r['id']}: in full in {RULES_IN_FULL}.snap]" for r in driver["rules"]]
    return json.dumps(log, indent=2) + "\n"


def render(args: list[str], status: int, out: str, err: str) -> str:
    return (f"$ mmu-role-lint {shlex.join(args)}\n"
            f"exit status: {status}\n"
            f"----- stdout -----\n{normalize(out)}"
            f"----- stderr -----\n{normalize(err)}")


@pytest.mark.parametrize("name", list(CASES))
def test_output(name, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = CASES[name]
    status = main(list(args))
    out, err = capsys.readouterr()
    if name.endswith("-sarif") and name != RULES_IN_FULL:
        out = brief_rules(out)
    assert_snapshot(name, render(args, status, out, err))


def test_every_snapshot_has_a_case():
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.snap") if p.stem not in CASES)
    assert not stale, f"snapshots without a case in {__file__}; delete them: {stale}"
