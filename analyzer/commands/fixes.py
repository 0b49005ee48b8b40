"""``fixes``: for each role mismatch a commit fixes, the commit that
introduced it, as a ``Fixes:`` tag ready to paste (analyzer/history.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from analyzer.commands.common import emit
from analyzer.errors import UserError


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("rev", nargs="?", default="HEAD", metavar="REV",
                    help="the fixing commit, judged against its first parent (default: HEAD)")
    sp.add_argument("--tree", metavar="DIR",
                    help="the git checkout (default: the one around the current directory)")
    sp.add_argument("--format", choices=["text", "json"], default="text",
                    help="output format (default: text)")
    sp.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    sp.add_argument("-v", "--verbose", action="store_true",
                    help="report the trees probed and the time taken on stderr")


def run(args: argparse.Namespace) -> int:
    from analyzer import gitmode
    from analyzer.history import History, annotate_git, fixed_findings

    start = time.perf_counter()
    repo = gitmode.open_repo(args.tree)
    sha = None if args.rev.startswith("-") else repo.verify(args.rev)
    if sha is None:
        raise UserError(f"{args.rev}: not a commit of {repo.top}; pass one revision, such as "
                        "HEAD or a commit id")
    if sha in History(repo).shallow():
        raise UserError(f"{args.rev}: its parent is not in this shallow clone, so what it fixes "
                        "cannot be told; deepen it (git fetch --deepen=1) and ask again")
    commit = gitmode.list_commits(repo, [sha])[0]
    analyses = gitmode.Analyses(repo)
    report = gitmode.judge_commits(repo, [commit], analyses)
    history = annotate_git(repo, report, analyses, [commit])
    res = report.patches[0]
    pairs = [(f, res.origins[f.fingerprint]) for f in fixed_findings(res)]
    if args.format == "json":
        out = {"version": 1, "commit": commit.sha,
               "fixes": [{"finding": f.as_dict(), "introduced_by": o.as_dict(),
                          **({"reason": o.reason} if o.commit is None else {})}
                         for f, o in pairs]}
        if res.status != "analyzed":
            out["skipped"] = res.reason
        if res.warnings:
            out["warnings"] = res.warnings
        emit(json.dumps(out, indent=2) + "\n", args.output)
    else:
        emit(text(commit, res, pairs), args.output)
    if args.verbose:
        print(f"mmu-role-lint: {len(pairs)} fixed, {history.probes} tree"
              f"{'s' if history.probes != 1 else ''} probed; "
              f"{time.perf_counter() - start:.2f}s", file=sys.stderr)
    return 0


def text(commit, res, pairs) -> str:
    """One ``Fixes:`` line per introducing commit, each followed by the
    findings it is for."""
    from analyzer.report.text import finding_lines, origin_text

    name = f'{commit.sha[:12]} ("{commit.subject}")'
    if res.status != "analyzed":
        return f"{name}: not judged: {res.reason}\n"
    if not pairs:
        return f"{name} fixes no role mismatch\n"
    groups: dict = {}
    for f, o in pairs:
        groups.setdefault(o, []).append(f)
    out = []
    for origin, findings in groups.items():
        out.append(origin_text(origin))
        for f in findings:
            out.extend(finding_lines(f, label="fixed", trace=False))
    out.extend(f"warning: {w}" for w in res.warnings)
    return "\n".join(out) + "\n"
