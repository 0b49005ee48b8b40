"""Introduced, fixed and persisting findings between two analyses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analyzer.record import field, record

if TYPE_CHECKING:
    from analyzer.findings import Finding


@record
class Delta:
    introduced: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)  # as they were before
    persisting: list[Finding] = field(default_factory=list)  # as they are after


def compare(before: list[Finding], after: list[Finding]) -> Delta:
    """Match findings by fingerprint (rule, field, function), never by line."""
    old = {f.fingerprint: f for f in before}
    new = {f.fingerprint: f for f in after}
    return Delta(
        introduced=[f for k, f in new.items() if k not in old],
        fixed=[f for k, f in old.items() if k not in new],
        persisting=[f for k, f in new.items() if k in old],
    )
