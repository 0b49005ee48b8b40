"""Checks: each module holds one rule; ``RULES`` maps rule ids to modules.

``RULE_IDS`` lists every rule a finding can carry, each documented in
``rules/<id>.md`` (``analyzer.ruledata.rule_doc`` reads it: ``explain``
prints it, SARIF embeds it). The check modules are imported on first use:
reporting a patch that touches no role code must not load the analysis."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

ROLE_MISMATCH = "role-mismatch"
# What role-mismatch cannot decide; hidden unless asked for (--unknown).
ROLE_MISMATCH_UNKNOWN = "role-mismatch-unknown"
# Reported by analyzer/suppress.py about a suppression comment, not by a check.
SUPPRESSION_WITHOUT_REASON = "suppression-without-reason"

_MODULES = {ROLE_MISMATCH: "analyzer.checks.role_mismatch"}

RULE_IDS = [*_MODULES, ROLE_MISMATCH_UNKNOWN, SUPPRESSION_WITHOUT_REASON]


class _Rules(Mapping[str, ModuleType]):
    def __getitem__(self, rule: str) -> ModuleType:
        return importlib.import_module(_MODULES[rule])

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


RULES: Mapping[str, ModuleType] = _Rules()
