"""Snapshot files: exactly what a user reads, committed under tests/snapshots/.

``assert_snapshot(name, text)`` compares ``text`` with
``tests/snapshots/NAME.snap``. A difference fails with a diff; a missing file
fails with the command that creates it. Files are written only when asked,
with ``MMU_ROLE_LINT_UPDATE_SNAPSHOTS=1`` (never when ``CI`` is set), in the
spirit of insta and ruff's ``.snap`` files; review them with ``git diff``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE_ENV = "MMU_ROLE_LINT_UPDATE_SNAPSHOTS"
UPDATE_COMMAND = (f"{UPDATE_ENV}=1 .venv/bin/python -m pytest -q -p no:cacheprovider "
                  "tests/test_snapshots.py, then review git diff tests/snapshots/")


def updating() -> bool:
    """Whether snapshots may be written: asked for, and not in CI."""
    asked = os.environ.get(UPDATE_ENV, "") not in ("", "0")
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    return asked and not ci


def snapshot_path(name: str) -> Path:
    return SNAPSHOTS / f"{name}.snap"


def assert_snapshot(name: str, text: str) -> None:
    path = snapshot_path(name)
    old = path.read_text() if path.is_file() else None
    if old == text:
        return
    if updating():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        return
    if old is None:
        pytest.fail(f"snapshot {path.relative_to(SNAPSHOTS.parent.parent)} is missing; "
                    f"create it with {UPDATE_COMMAND}", pytrace=False)
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True),
                                        text.splitlines(keepends=True),
                                        f"{name}.snap (committed)", f"{name}.snap (now)"))
    pytest.fail(f"snapshot {name} differs:\n{diff}\nif the change is intended: "
                f"{UPDATE_COMMAND}", pytrace=False)
