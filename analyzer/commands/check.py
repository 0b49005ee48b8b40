"""``check``: what patches introduce, fix and leave in place."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from analyzer.commands.common import add_output_options, emit_report, read_input, say, tree_arg

if TYPE_CHECKING:
    from analyzer.results import CheckReport

NAME = "check"
HELP = "report the role mismatches patches introduce, fix and keep"


def add_arguments(sp: argparse.ArgumentParser) -> None:
    add_output_options(sp)
    sp.add_argument("patches", nargs="+", metavar="PATCH",
                    help="patch, mail or mbox file; - for standard input")
    sp.add_argument("--fixes", action="store_true",
                    help="name the commit of HEAD's history that introduced each fixed finding, "
                         "and check the patches' Fixes: tags against it (in a git work tree)")


def verbose_report(report: CheckReport, elapsed: float) -> None:
    """Per patch, what analyzing it took; then the time of the whole check."""
    for i, p in enumerate(report.patches, 1):
        line = f"mmu-role-lint: patch {i}: {p.status}"
        if p.work is not None:
            w = p.work
            line += (f": parsed {', '.join(w.parsed) or 'nothing'}; "
                     f"{w.reused} of {w.compares} comparison sites reused; "
                     f"{w.flow_errors} ERROR nodes in role-flow functions")
        say(line)
    say(f"mmu-role-lint: {elapsed:.2f}s")


def run(args: argparse.Namespace) -> int:
    from analyzer.patch import read_patches
    from analyzer.runner import run_check

    patches = []
    for name in args.patches:
        patches.extend(read_patches(read_input(name), source=name if name != "-" else "<stdin>"))
    tree = tree_arg(args.tree)
    start = time.perf_counter()
    report = run_check(patches, tree)
    if args.fixes:
        from analyzer.history import annotate_check

        annotate_check(tree, report, patches)
    if args.verbose:
        verbose_report(report, time.perf_counter() - start)
    emit_report(args, report, "check")
    status = report.exit_status()
    if status == 2:
        say(f"mmu-role-lint: no patch could be analyzed: {report.patches[0].reason}")
    return status
