"""``explain``: a rule's documentation, read from ``rules/<id>.md`` so that the
command and the documentation cannot drift apart; without a rule, the list
of rules with their short descriptions."""

from __future__ import annotations

import argparse

from analyzer.commands.common import emit
from analyzer.errors import UserError


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("rule", nargs="?", metavar="RULE",
                    help="a rule id such as role-mismatch (a finding's RULE:FIELD works too)")


def page(rule_id: str) -> str:
    """Title line, the other front-matter facts, then the sections as written."""
    from analyzer.ruledata import rule_doc

    doc = rule_doc(rule_id)
    head = [f"{rule_id} ({doc.meta.get('name', rule_id)}): {doc.meta.get('short', '')}"]
    head += [f"{key}: {doc.meta[key]}" for key in ("severity", "confidence") if key in doc.meta]
    return "\n".join(head) + "\n\n" + doc.body


def listing() -> str:
    from analyzer.checks import RULE_IDS
    from analyzer.ruledata import rule_doc

    width = max(len(r) for r in RULE_IDS)
    lines = [f"{r:<{width}}  {rule_doc(r).meta.get('short', '')}" for r in RULE_IDS]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from analyzer.checks import RULE_IDS

    if args.rule is None:
        emit(listing(), None)
        return 0
    rule = args.rule.split(":", 1)[0]
    if rule not in RULE_IDS:
        raise UserError(f"no rule '{args.rule}'; known rules: {', '.join(RULE_IDS)} "
                        "(mmu-role-lint explain lists them)")
    emit(page(rule), None)
    return 0
