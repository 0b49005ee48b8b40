"""``check``: what patches introduce, fix and leave in place."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from analyzer.commands.common import (
    add_output_options,
    emit_report,
    read_input,
    revisions_last,
    say,
    tree_arg,
)
from analyzer.errors import UserError

if TYPE_CHECKING:
    from analyzer.results import CheckReport


def add_arguments(sp: argparse.ArgumentParser) -> None:
    add_output_options(sp)
    sp.add_argument("patches", nargs="*", metavar="PATCH",
                    help="patch, mail or mbox file; - for standard input")
    sp.add_argument("-g", "--git", action="store_true",
                    help="take the PATCH arguments as git revisions, as checkpatch's --git "
                         "does: check -g REV is mmu-role-lint git REV")
    sp.add_argument("--fixes", action="store_true",
                    help="name the commit of HEAD's history that introduced each fixed finding, "
                         "and check the patches' Fixes: tags against it (in a git work tree)")


def prepare_argv(sp: argparse.ArgumentParser, tokens: list[str]) -> list[str]:
    """With ``-g``, the arguments are revisions, taken as ``git`` takes them."""
    head = tokens[:tokens.index("--")] if "--" in tokens else tokens
    return revisions_last(sp, tokens) if "-g" in head or "--git" in head else tokens


def verbose_report(report: CheckReport, elapsed: float) -> None:
    """Per patch, what analyzing it took; then the time of the whole check."""
    for i, p in enumerate(report.patches, 1):
        line = f"mmu-role-lint: patch {i}: {p.status}"
        if p.work is not None:
            w = p.work
            line += (f": parsed {', '.join(w.parsed) or 'nothing'}; "
                     f"{w.reused} of {w.sites} sites reused; "
                     f"{w.flow_errors} ERROR nodes in role-flow functions")
        say(line)
    say(f"mmu-role-lint: {elapsed:.2f}s")


def skipped_at_once(args: argparse.Namespace, inputs: list[bytes]) -> CheckReport | None:
    """The report of input that certainly touches no role file, read from
    its raw bytes (commands/untouched.py): every patch skipped, without the
    patch reader, the email package or the tree. None when unsure."""
    from analyzer.commands.untouched import untouched

    found = untouched(inputs)
    if found is None:
        return None
    if args.tree is not None:
        tree_arg(args.tree)  # a --tree that is no directory is still an error
    from analyzer.results import CheckReport, PatchResult

    return CheckReport([PatchResult(subject, "skipped", "no role code touched", files)
                        for subject, files in found], tree=args.tree or "")


def run(args: argparse.Namespace) -> int:
    if args.git:
        from analyzer.commands import git

        args.revs, args.staged, args.commit_of = args.patches, False, None
        return git.run(args)
    if not args.patches:
        raise UserError("check: give at least one PATCH (a file, or - for standard input), "
                        "or -g REV for commits")
    inputs = [read_input(name) for name in args.patches]
    start = time.perf_counter()
    report = None if args.fixes else skipped_at_once(args, inputs)
    if report is not None:
        if args.verbose:
            verbose_report(report, time.perf_counter() - start)
        return emit_report(args, report, "check")
    from analyzer.patch import read_patches
    from analyzer.runner import run_check

    patches = []
    for name, data in zip(args.patches, inputs, strict=True):
        patches.extend(read_patches(data, source=name if name != "-" else "<stdin>"))
    tree = tree_arg(args.tree)
    report = run_check(patches, tree)
    if args.fixes:
        from analyzer.history import annotate_check

        annotate_check(tree, report, patches)
    if args.verbose:
        verbose_report(report, time.perf_counter() - start)
    return emit_report(args, report, "check")
