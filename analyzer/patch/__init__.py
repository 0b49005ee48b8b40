"""Patch input: read the shapes patches arrive in, repair web-archive damage,
and apply them in memory. Nothing here parses C."""

from analyzer.patch.model import FilePatch, Hunk, Patch, PatchError

__all__ = ["FilePatch", "Hunk", "Patch", "PatchError"]
