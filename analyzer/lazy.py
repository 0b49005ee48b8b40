"""Objects imported on first use: listing the output formats or the rules
must not pay for SARIF, the graph library or the analysis."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping


def load(ref: str) -> object:
    """What ``package.module`` or ``package.module:NAME`` names, imported now."""
    module, _, name = ref.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, name) if name else loaded


class LazyMap(Mapping[str, object]):
    """Name -> what a reference (as ``load`` reads it) names, imported when
    looked up."""

    def __init__(self, refs: dict[str, str]) -> None:
        self._refs = refs

    def __getitem__(self, name: str) -> object:
        return load(self._refs[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)
