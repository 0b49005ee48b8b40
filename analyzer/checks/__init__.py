"""Checks: each module holds one rule; ``RULES`` maps rule ids to modules."""

from analyzer.checks import role_mismatch

RULES = {role_mismatch.RULE: role_mismatch}
