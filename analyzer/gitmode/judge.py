"""Judging commits and the index: each change's analyses before and
after, kept by the blob ids of their images so that a linear series
analyzes each tree once."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from analyzer.delta import compare
from analyzer.errors import UserError
from analyzer.gitmode.commits import restore_parents
from analyzer.gitmode.repo import Commit, Repo
from analyzer.gitmode.trees import (
    Entries,
    commit_changes,
    image_of,
    index_entries,
    prefetch_changes,
    staged_changes,
    tree_entries,
)
from analyzer.results import CheckReport, PatchResult
from analyzer.sources import LEGACY_MMU, MMU_DIR, Image, is_role_path, layout

if TYPE_CHECKING:
    from analyzer.analysis import Analysis


class Analyses:
    """Analyses of images, keyed by their blob ids: a commit's pre-image is
    usually the post-image of the commit before it."""

    def __init__(self, repo: Repo, keep: int = 4) -> None:
        self.repo = repo
        self.keep = keep
        self.cache: OrderedDict[Entries, tuple[Analysis, Image]] = OrderedDict()
        self.computed = 0

    def of(self, entries: Entries, base: Entries | None = None) -> Analysis:
        """The analysis of a tree; given the tree it was made from (a
        commit's parent), only what changed is analyzed again. A tree whose
        parent was not analyzed (a commit that touched no role file came
        between) is analyzed from the tree analyzed last, which differs
        from it in what those commits changed."""
        if entries in self.cache:
            self.cache.move_to_end(entries)
            return self.cache[entries][0]
        from analyzer.analysis import analyze, analyze_cached  # heavy: tree-sitter

        image = image_of(self.repo, entries)
        if base is None or base not in self.cache:
            base = next(reversed(self.cache), None)
        if base is not None:
            base_analysis, base_image = self.cache[base]
            result = analyze(image, base=base_analysis, base_image=base_image)
        else:
            result = analyze_cached(image)
        self.computed += 1
        self.cache[entries] = (result, image)
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return result


def _judge(res: PatchResult, analyses: Analyses, touched: list[str],
           before: Callable[[], Entries], after: Callable[[], Entries]) -> None:
    """Fill in ``res``; the images are listed only when role code changed."""
    if not any(is_role_path(p) for p in touched):
        res.status, res.reason = "skipped", "no role code touched"
        return
    old, new = before(), after()
    if not layout(p for p, _ in old)[0] and not layout(p for p, _ in new)[0]:
        res.status, res.reason = "skipped", (f"no KVM MMU sources (looked for {MMU_DIR}/*.c "
                                             f"and {LEGACY_MMU})")
        return
    before = analyses.of(old)  # first: the analysis after is made from it
    after = analyses.of(new, base=old)
    res.delta = compare(before.findings, after.findings)
    res.notes += [str(n) for n in after.not_analyzed(touched)]


# a range with at least this many commits that touch role code is judged in
# two halves at once, the later one in a child process (analyzer.beside)
APART_MIN = 12


def judge_commits(repo: Repo, commits: list[Commit], analyses: Analyses | None = None) -> CheckReport:
    analyses = analyses or Analyses(repo)
    prefetch_changes(repo, commits)
    split = _split(repo, commits)
    if split is None:
        results = _judge_all(repo, commits, analyses)
    else:
        from analyzer.beside import Beside

        first, later = commits[:split], commits[split:]

        def judge_later() -> tuple[list[PatchResult], int, list[list[str]]]:
            # the child's own analyses: its first tree is read from the
            # cache or analyzed whole, the rest from the one before
            mine = Analyses(repo, analyses.keep)
            got = _judge_all(repo, later, mine)
            return got, mine.computed, [c.parents for c in later]

        beside = Beside(judge_later)
        results = _judge_all(repo, first, analyses)
        got, computed, parents = beside.result()
        results += got
        analyses.computed += computed
        for c, p in zip(later, parents, strict=True):
            c.parents = p  # as restore_parents left them in the child
    return CheckReport(patches=results, tree=str(repo.top))


def _split(repo: Repo, commits: list[Commit]) -> int | None:
    """Where the later half of the range starts: the commit that leaves as
    many role-touching commits before it as from it on, when the range has
    enough of them for two processes to pay (``APART_MIN``), else None.
    What a commit touches is known from ``prefetch_changes``; a commit it
    did not read counts as touching role code."""
    from analyzer.beside import jobs

    if len(commits) < APART_MIN or jobs() < 2:
        return None
    touching = []
    for i, c in enumerate(commits):
        rows = repo.changes.get((c.sha, c.parents[0])) if len(c.parents) == 1 else None
        if rows is None or any(is_role_path(p) for r in rows for p in r[1:]):
            touching.append(i)
    if len(touching) < APART_MIN:
        return None
    return touching[len(touching) // 2]


def _judge_all(repo: Repo, commits: list[Commit], analyses: Analyses) -> list[PatchResult]:
    results = []
    for c in commits:
        restore_parents(repo, c)
        res = PatchResult(subject=c.title, status="analyzed")
        results.append(res)
        if len(c.parents) > 1:
            res.status, res.reason = "skipped", "merge commit"
            continue
        res.files, touched = commit_changes(repo, c)
        parent = c.parents[0] if c.parents else None
        _judge(res, analyses, touched, lambda p=parent: tree_entries(repo, p),
               lambda c=c: tree_entries(repo, c.sha))
    return results


def judge_staged(repo: Repo, analyses: Analyses | None = None) -> CheckReport:
    """The index against HEAD, as the next commit would be."""
    if repo.bare:
        raise UserError(f"{repo.top}: a bare repository has no index (nothing is staged "
                        "there); run git --staged in a checkout, or judge commits with "
                        "mmu-role-lint git RANGE")
    analyses = analyses or Analyses(repo)
    head = repo.verify("HEAD")
    res = PatchResult(subject="staged changes", status="analyzed")
    res.files, touched = staged_changes(repo, head)
    if touched:
        _judge(res, analyses, touched, lambda: tree_entries(repo, head),
               lambda: index_entries(repo))
    else:
        res.status, res.reason = "skipped", "no staged changes"
    return CheckReport(patches=[res], tree=str(repo.top))
