"""Checks: ``RULES`` holds every rule a finding can carry, as records.

A ``Rule`` is its id, its page (``rules/<id>.md``, read by
``analyzer.ruledata.rule_doc``: ``explain`` prints it, SARIF embeds it) and
the ``Check`` that reports it, named as ``module:NAME`` and imported on
first use: reporting a patch that touches no role code must not load the
analysis. A check declares the sites it looks at (compare sites, call
sites, returns...) and finds what is wrong at one of them; the analysis
resolves each site once and keeps its findings for the next analysis to
reuse."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, cast

from analyzer.lazy import load
from analyzer.record import record
from analyzer.ruledata import RuleDoc, rule_doc

if TYPE_CHECKING:
    from analyzer.facts import Facts
    from analyzer.findings import Finding
    from analyzer.resolve import Resolver

ROLE_MISMATCH = "role-mismatch"
# What role-mismatch cannot decide; hidden unless asked for (--unknown).
ROLE_MISMATCH_UNKNOWN = "role-mismatch-unknown"
# A page kept for a key without comparing it with the key.
ROLE_UNCHECKED_REUSE = "role-unchecked-reuse"
# State a skipped reconfiguration reads that the compared role does not record.
ROLE_INCOMPLETE = "role-incomplete"
# Reported by analyzer/suppress.py about a suppression comment, not by a check.
SUPPRESSION_WITHOUT_REASON = "suppression-without-reason"
# Likewise: a suppression comment naming a rule or a field that does not exist.
SUPPRESSION_UNKNOWN = "suppression-unknown"


class Site(Protocol):
    """A place a check looks at (a ``Compare``, say), in one function."""

    @property
    def func(self) -> str: ...


@record(frozen=True)
class Check:
    """What a rule looks at and what it finds there."""

    sites: Callable[[Facts], Iterable[Site]]  # the sites of the image, in source order
    find: Callable[[Site, Facts, Resolver], list[Finding]]  # the findings at one site
    # the findings of every site -> one per cause (None: as they are)
    combine: Callable[[list[Finding]], list[Finding]] | None = None
    # whether a site's findings depend on the code of the functions it read,
    # not only on their facts (after an edit: ``incremental.same_facts``)
    reads_code: bool = True
    # whether its sites may be found in a child process while the others are
    # (analyzer.beside): their findings depend on no value the resolver
    # memoizes, only on call sites and the sources the facts hold
    beside: bool = False


@record(frozen=True)
class Rule:
    """A rule (bandit's ``@test_id``). ``check`` is "" for a rule another
    part reports."""

    id: str
    check: str = ""  # "module:NAME" of its Check

    @property
    def doc(self) -> RuleDoc:
        return rule_doc(self.id)

    def load(self) -> Check | None:
        return cast(Check, load(self.check)) if self.check else None


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule(ROLE_MISMATCH, "analyzer.checks.role_mismatch:CHECK"),
    Rule(ROLE_MISMATCH_UNKNOWN),  # reported by the role-mismatch check
    Rule(ROLE_UNCHECKED_REUSE, "analyzer.checks.role_unchecked_reuse:CHECK"),
    Rule(ROLE_INCOMPLETE, "analyzer.checks.role_incomplete:CHECK"),
    Rule(SUPPRESSION_WITHOUT_REASON),  # reported by analyzer/suppress.py
    Rule(SUPPRESSION_UNKNOWN),  # reported by analyzer/suppress.py
)}

RULE_IDS = list(RULES)


def checks() -> list[tuple[Rule, Check]]:
    """The rules that have a check, with it (imported now)."""
    out = []
    for rule in RULES.values():
        check = rule.load()
        if check is not None:
            out.append((rule, check))
    return out
