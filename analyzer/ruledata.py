"""Where the rules/ data lives: the rule documentation, role-type defaults
and kernel idioms. Installed, it is the ``analyzer.rules`` package data (see
pyproject.toml); in a source checkout, the top-level rules/ folder."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def rules_dir() -> Path:
    try:
        import analyzer.rules as installed  # mapped from rules/ by pyproject.toml
    except ImportError:
        installed = None
    if installed is not None and installed.__file__:
        return Path(installed.__file__).resolve().parent
    return Path(__file__).resolve().parent.parent / "rules"


def rule_file(name: str) -> Path:
    return rules_dir() / name
