"""``check``: what patches introduce, fix and leave in place."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

from analyzer.commands.common import add_output_options, emit_report, read_input, tree_arg
from analyzer.errors import UserError

NAME = "check"
HELP = "report the role mismatches patches introduce, fix and keep"


def add_arguments(sp: argparse.ArgumentParser) -> None:
    add_output_options(sp)
    sp.add_argument("patches", nargs="+", metavar="PATCH",
                    help="patch, mail or mbox file; - for standard input")


def run(args: argparse.Namespace) -> int:
    from analyzer.patch import read_patches
    from analyzer.runner import role_file_patches, run_check
    from analyzer.sources import tree_image

    patches = []
    for name in args.patches:
        patches.extend(read_patches(read_input(name), source=name if name != "-" else "<stdin>"))
    tree = tree_arg(args.tree)
    base = None  # the tree is read only when some patch touches role code
    if any(role_file_patches(p) for p in patches):
        with contextlib.suppress(UserError):  # run_check says which patch needed it
            base = tree_image(tree)
    start = time.perf_counter()
    report = run_check(patches, tree, base)
    if args.verbose:
        for i, p in enumerate(report.patches, 1):
            print(f"mmu-role-lint: patch {i}: {p.status}" + (f": {p.work}" if p.work else ""),
                  file=sys.stderr)
        print(f"mmu-role-lint: {time.perf_counter() - start:.2f}s", file=sys.stderr)
    emit_report(args, report, "check")
    status = report.exit_status()
    if status == 2:
        print(f"mmu-role-lint: no patch could be analyzed: {report.patches[0].reason}",
              file=sys.stderr)
    return status
