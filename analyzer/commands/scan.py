"""``scan``: every role mismatch in a tree's MMU sources."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from analyzer.commands.common import add_output_options, emit_report, say, tree_arg, tree_notes
from analyzer.errors import UserError


def add_arguments(sp: argparse.ArgumentParser) -> None:
    add_output_options(sp)
    sp.add_argument("files", nargs="*", metavar="FILE", help="files to analyze (default: find them)")


def verbose_report(analysis, elapsed: float) -> None:
    errs = analysis.role_flow_errors()
    facts = analysis.facts
    flow = sum(1 for f in facts.functions.values() if f.role_flow)
    total_err = sum(sum(v.values()) for v in analysis.parse_errors.values())
    left = sum(1 for f in facts.functions.values() if f.not_analyzed)
    say(f"mmu-role-lint: {len(analysis.files)} files, {len(facts.functions)} functions, "
        f"{flow} in role flow, {left} not analyzed; role types from {analysis.model.source}: "
        f"{', '.join(sorted(analysis.model.types))}")
    say(f"mmu-role-lint: parse: {total_err} ERROR/MISSING nodes in all, "
        f"{sum(errs.values())} in role-flow functions"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(errs.items()))})" if errs else ""))
    say(f"mmu-role-lint: {len(facts.compares)} compare sites, "
        f"{sum(1 for s in facts.stores if s.value is not None)} role stores, "
        f"{sum(1 for f in facts.functions.values() if f.returns_role)} producers; "
        f"{elapsed:.2f}s")


def run(args: argparse.Namespace) -> int:
    from analyzer.runner import run_scan
    from analyzer.sources import files_image, tree_image

    start = time.perf_counter()
    if args.files:
        tree = Path(args.tree) if args.tree else None
        if tree is not None and not tree.is_dir():
            raise UserError(f"{args.tree}: not a directory; pass --tree with the top of a kernel tree")
        image = files_image(args.files, tree)
    else:
        image = tree_image(tree_arg(args.tree))
    tree_notes(args, image.notes)
    report = run_scan(image)
    if args.verbose:
        verbose_report(report.analysis, time.perf_counter() - start)
    return emit_report(args, report, "scan")
