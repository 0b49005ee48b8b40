"""Subcommands of ``mmu-role-lint``: one module each, with

- ``add_arguments(parser)``,
- ``run(args) -> int`` (exit status; raise ``UserError`` for bad input),
- optionally ``prepare_argv(parser, tokens) -> tokens``, to reorder the
  command's own tokens before argparse reads them (git revisions).

``COMMANDS`` lists them in the order ``--help`` shows them, with what their
help says. A module is imported only when its command runs: importing them
all would load graph's subprocess and the hook's shlex for every command."""

from __future__ import annotations

import importlib
from types import ModuleType

from analyzer.record import record

CACHE_ENV = ("environment: MMU_ROLE_LINT_CACHE=DIR keeps the analysis cache in DIR "
             "(default $XDG_CACHE_HOME/mmu-role-lint, else ~/.cache/mmu-role-lint); "
             "MMU_ROLE_LINT_NO_CACHE=1 turns the cache off; MMU_ROLE_LINT_JOBS=1 keeps the "
             "analysis in one process (default: a second one where a second CPU is).")


@record(frozen=True)
class Command:
    name: str
    module: str  # under analyzer.commands
    help: str
    exit: str  # the exit statuses this command has
    env: str = CACHE_ENV  # what it reads from the environment

    def load(self) -> ModuleType:
        return importlib.import_module(f"analyzer.commands.{self.module}")

    @property
    def epilog(self) -> str:
        return f"exit status: {self.exit}\n\n{self.env}"


COMMANDS = [
    Command("scan", "scan", "report every role mismatch in a tree's MMU sources",
            "0 no role mismatch, or every one suppressed or ignored; 1 at least one; "
            "2 bad usage or input (one line on stderr)"),
    Command("check", "check", "report the role mismatches patches introduce, fix and keep",
            "0 no patch introduces an unsuppressed finding; 1 a patch does; 2 bad usage or "
            "input, or no patch could be analyzed (one line on stderr, none with --format b4)"),
    Command("git", "git",
            "report the role mismatches each commit of a range introduces, fixes and keeps",
            "0 no commit introduces an unsuppressed finding; 1 a commit does; 2 bad usage, a "
            "bad range, a directory outside git, a shallow clone's boundary, or no commit "
            "could be analyzed"),
    Command("fixes", "fixes",
            "name the commits that introduced the role mismatches a commit fixes (Fixes: tags)",
            "0 it named the commits, found a finding older than the history, or REV fixes "
            "nothing; 2 bad usage or input (a REV that is not a commit, a shallow clone's "
            "boundary, a directory outside git)"),
    Command("install-hook", "hook",
            "install a git hook that runs mmu-role-lint before each commit or push",
            "0 installed, updated or already installed; 2 bad usage, a hook that is not ours "
            "(see --chain, --force), or one that cannot be written",
            "environment: the hook runs mmu-role-lint git, which keeps its analysis cache in "
            "MMU_ROLE_LINT_CACHE (default $XDG_CACHE_HOME/mmu-role-lint, else "
            "~/.cache/mmu-role-lint); MMU_ROLE_LINT_NO_CACHE=1 turns it off."),
    Command("graph", "graph",
            "write the role-flow graph as DOT: whole, around a function, or along a finding",
            "0 written (also when dot is missing for --svg: a note says so); 2 bad usage or "
            "input (an unknown function or fingerprint)"),
    Command("explain", "explain", "print a rule's documentation (without RULE: list the rules)",
            "0 printed; 2 an unknown rule",
            "environment: it reads no tree, so MMU_ROLE_LINT_CACHE and MMU_ROLE_LINT_NO_CACHE "
            "do not matter here."),
]

BY_NAME = {cmd.name: cmd for cmd in COMMANDS}
