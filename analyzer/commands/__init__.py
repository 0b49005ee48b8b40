"""Subcommands of ``mmu-role-lint``: one module each, with

- ``NAME`` and ``HELP``,
- ``add_arguments(parser)``,
- ``run(args) -> int`` (exit status; raise ``UserError`` for bad input).

``COMMANDS`` lists them in the order ``--help`` shows them."""

from analyzer.commands import check, explain, fixes, git, graph, hook, scan

COMMANDS = [scan, check]
COMMANDS += [git, fixes, hook]
COMMANDS += [graph, explain]
