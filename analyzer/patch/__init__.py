"""Patch input: read the shapes patches arrive in, repair web-archive damage,
and apply them in memory. Nothing here parses C.

The reader and the applier are imported on first use (``read_patches``,
``apply_patch``...), so that code needing only the records stays light."""

from __future__ import annotations

import importlib

from analyzer.patch.model import FilePatch, Hunk, Patch, PatchError

__all__ = [
    "Applied",
    "FilePatch",
    "Hunk",
    "Patch",
    "PatchError",
    "apply_patch",
    "read_patches",
    "render_patch",
]

_LAZY = {
    "read_patches": "reader",
    "Applied": "apply",
    "apply_patch": "apply",
    "render_patch": "apply",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"analyzer.patch.{_LAZY[name]}"), name)
    raise AttributeError(name)
