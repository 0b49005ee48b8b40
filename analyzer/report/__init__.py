"""Output formats: one module each; ``FORMATS`` maps a name to its module.
Each module has ``scan(report) -> str`` and ``check(report) -> str``.

Modules are imported on first use (``analyzer.lazy``): building the command
line must not pay for SARIF or the graph library."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import cast

from analyzer.lazy import LazyMap

FORMATS = cast(Mapping[str, ModuleType], LazyMap({
    "text": "analyzer.report.text",
    "json": "analyzer.report.json_report",
    "sarif": "analyzer.report.sarif",
    "github": "analyzer.report.github",
    "b4": "analyzer.report.b4",
}))
