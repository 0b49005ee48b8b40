"""Output formats: one module each; ``FORMATS`` maps a name to its module.
Each module has ``scan(report) -> str`` and ``check(report) -> str``."""

from analyzer.report import json_report, text

FORMATS = {"text": text, "json": json_report}
