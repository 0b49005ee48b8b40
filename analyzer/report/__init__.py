"""Output formats: one module each; ``FORMATS`` maps a name to its module.
Each module has ``scan(report) -> str`` and ``check(report) -> str``.

Modules are imported on first use: building the command line must not pay
for SARIF or the graph library."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

_MODULES = {
    "text": "analyzer.report.text",
    "json": "analyzer.report.json_report",
    "sarif": "analyzer.report.sarif",
    "github": "analyzer.report.github",
    "b4": "analyzer.report.b4",
}


class _Formats(Mapping[str, ModuleType]):
    def __getitem__(self, name: str) -> ModuleType:
        return importlib.import_module(_MODULES[name])

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: Mapping[str, ModuleType] = _Formats()
