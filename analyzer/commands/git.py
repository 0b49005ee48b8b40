"""``git``: judge commits (or the index) of a kernel checkout, each against
its first parent, reading git objects only, never the working tree."""

from __future__ import annotations

import argparse
import sys
import time

from analyzer.commands.common import add_output_options, emit_report, read_input, revisions_last
from analyzer.errors import UserError

# ``git HEAD --not --remotes``: revision options are revisions, in their order
prepare_argv = revisions_last


def add_arguments(sp: argparse.ArgumentParser) -> None:
    add_output_options(sp)
    sp.add_argument("revs", nargs="*", metavar="RANGE",
                    help="commits to judge, as git rev-list takes them, revision options "
                         "included (HEAD --not --remotes; after --, every word is a "
                         "revision); default: @{upstream}..HEAD, else HEAD^..HEAD; one "
                         "revision alone means that commit")
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--staged", action="store_true",
                      help="judge the index against HEAD (for a pre-commit hook)")
    what.add_argument("--commit-of", metavar="PATCH",
                      help="judge the commit of HEAD's history that PATCH (a mail, - for "
                           "standard input) was made from, as b4 prep --check pipes it")
    sp.add_argument("--fixes", action="store_true",
                    help="name the commit that introduced each fixed finding, and check the "
                         "commits' Fixes: tags against it")


def run(args: argparse.Namespace) -> int:
    from analyzer import gitmode

    if args.revs and (args.staged or args.commit_of):
        raise UserError("give either a RANGE, --staged or --commit-of, not several")
    start = time.perf_counter()
    repo = gitmode.open_repo(args.tree)
    analyses = gitmode.Analyses(repo)
    if args.staged:
        report = gitmode.judge_staged(repo, analyses)
    else:
        if args.commit_of:
            source = "<stdin>" if args.commit_of == "-" else args.commit_of
            commits = gitmode.commits_of_patches(repo, read_input(args.commit_of), source)
        else:
            revs = args.revs or gitmode.default_range(repo)
            commits = gitmode.list_commits(repo, revs)
            if not commits and args.format != "b4":  # b4 takes any stderr line as a failure
                print(f"mmu-role-lint: {gitmode.no_commits(repo, revs, not args.revs)}",
                      file=sys.stderr)
        from analyzer.progress import Progress

        # a count on a terminal for a long range (never in b4's format: b4
        # reads any stderr line as a failure)
        progress = Progress(len(commits), "commits judged") if args.format != "b4" else None
        report = gitmode.judge_commits(repo, commits, analyses, progress)
    if args.fixes:
        from analyzer.history import annotate_git

        annotate_git(repo, report, analyses, None if args.staged else commits)
    if args.verbose:
        analyzed = sum(1 for p in report.patches if p.status == "analyzed")
        print(f"mmu-role-lint: {len(report.patches)} change{'s' if len(report.patches) != 1 else ''}, "
              f"{analyzed} analyzed, {analyses.computed} tree{'s' if analyses.computed != 1 else ''} "
              f"parsed; {time.perf_counter() - start:.2f}s", file=sys.stderr)
    return emit_report(args, report, "check")
