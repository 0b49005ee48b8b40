"""Patch input: read the shapes patches arrive in, repair web-archive damage,
and apply them in memory. Nothing here parses C."""

from analyzer.patch.apply import apply_patch, render_patch
from analyzer.patch.model import FilePatch, Hunk, Patch, PatchError
from analyzer.patch.reader import read_patches

__all__ = [
    "FilePatch",
    "Hunk",
    "Patch",
    "PatchError",
    "apply_patch",
    "read_patches",
    "render_patch",
]
