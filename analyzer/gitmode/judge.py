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
from analyzer.progress import Progress
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


# a range with at least this many commits that touch role code is judged
# from both ends at once, the later end in a child process (analyzer.beside)
APART_MIN = 12


def judge_commits(repo: Repo, commits: list[Commit], analyses: Analyses | None = None,
                  progress: Progress | None = None) -> CheckReport:
    """Each commit against its first parent. ``progress``: told how many
    commits are judged (``analyzer.progress``: a count on a terminal)."""
    analyses = analyses or Analyses(repo)
    prefetch_changes(repo, commits)
    done = progress.update if progress is not None else None
    try:
        results = _from_both_ends(repo, commits, analyses, _worth_two(repo, commits), done)
    finally:
        if progress is not None:
            progress.close()
    return CheckReport(patches=results, tree=str(repo.top))


def _worth_two(repo: Repo, commits: list[Commit]) -> bool:
    """Whether the range has enough role-touching commits (``APART_MIN``)
    for a second process to pay. What a commit touches is known from
    ``prefetch_changes``; a commit it did not read counts as touching."""
    from analyzer.beside import can_fork

    if len(commits) < APART_MIN or not can_fork():
        return False
    touching = 0
    for c in commits:
        rows = repo.changes.get((c.sha, c.parents[0])) if len(c.parents) == 1 else None
        touching += rows is None or any(is_role_path(p) for r in rows for p in r[1:])
    return touching >= APART_MIN


def _from_both_ends(repo: Repo, commits: list[Commit], analyses: Analyses, two: bool,
                    done: Callable[[int], None] | None) -> list[PatchResult]:
    """The commits judged from the first on here and, when ``two``, from
    the last back in a child (``beside.from_both_ends``), with its own
    analyses: going back, a commit's tree after is the tree before of the
    commit judged last, and its tree before is analyzed from that."""
    from analyzer.beside import from_both_ends

    mine = Analyses(repo, analyses.keep)  # the child's (a copy of it, there)

    def back() -> Callable[[int], PatchResult]:
        return lambda i: _judge_commit(repo, commits[i], mine)

    def tell(done: list[int]) -> tuple[int, dict[int, list[str]]]:
        return mine.computed, {i: commits[i].parents for i in done}

    results, told = from_both_ends(len(commits), lambda i: _judge_commit(repo, commits[i], analyses),
                                   back, tell, done=done, apart=two)
    if told is not None:
        computed, parents = told
        analyses.computed += computed
        for i, p in parents.items():
            commits[i].parents = p  # as restore_parents left them in the child
    return results


def _judge_commit(repo: Repo, c: Commit, analyses: Analyses) -> PatchResult:
    restore_parents(repo, c)
    res = PatchResult(subject=c.title, status="analyzed")
    if len(c.parents) > 1:
        res.status, res.reason = "skipped", "merge commit"
        return res
    res.files, touched = commit_changes(repo, c)
    parent = c.parents[0] if c.parents else None
    _judge(res, analyses, touched, lambda p=parent: tree_entries(repo, p),
           lambda: tree_entries(repo, c.sha))
    return res


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
