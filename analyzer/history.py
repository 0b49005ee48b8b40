"""The commit that introduced a finding: what a fix's ``Fixes:`` tag names.

A finding is present at a commit when the analysis of that commit's role
files has its fingerprint. Starting from a commit that has it (a fix's
first parent, or HEAD for a patch not committed yet), the first-parent
commits that touched the role files are listed newest first (``git log
--first-parent -- ROLE_PATHSPECS``) and searched: galloping back from the
newest (1, 2, 4, 8... commits) to the first one that lacks the finding, then
bisecting between the two. Presence is taken to be monotone between the
introducing commit and the start; galloping makes a recent exception (a fix
reverted, then fixed again) name the newest introduction. The bound found
is verified on the real parent (it lacks the finding, the commit has it;
when it does not, the search goes on from that parent). Each probe is
``analyze_cached`` of one tree's role files, so probing a tree again costs
a cache hit.

Renames: when the oldest commit that touched the role files moved them
there from other paths (git's rename detection, ``diff-tree -M``), the
older trees are analyzed with the old files under the new names, so the
commit named is the one whose change made the values differ, never the
move. A finding with no introducing commit in the history available
(present at a root commit, at the boundary of a shallow clone, or since
the role files first appear) has an ``Origin`` without a commit and a
reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.errors import UserError
from analyzer.gitmode import (
    IMAGE_PATHSPECS,
    REGULAR,
    ROLE_PATHSPECS,
    Analyses,
    Commit,
    Entries,
    Repo,
    ls_records,
    name_status,
    tree_entries,
)
from analyzer.results import ABBREV, CheckReport, Origin, PatchResult
from analyzer.sources import image_paths, is_role_path, layout

if TYPE_CHECKING:
    from analyzer.findings import Finding
    from analyzer.patch import Patch

# A ``Fixes:`` trailer: at least 7 hex digits, then anything (the subject).
FIXES_TRAILER = re.compile(r"^\s*Fixes:\s*([0-9a-fA-F]{7,40})\b", re.M | re.I)


def fixes_trailers(message: str) -> list[str]:
    """The commit ids (as written) of a message's ``Fixes:`` lines."""
    return FIXES_TRAILER.findall(message)


class History:
    """Probes of one repository's history; presence is remembered per set
    of role files, so a tree met again (by another fix, or because the files
    did not change) is not analyzed again."""

    def __init__(self, repo: Repo, analyses: Analyses | None = None) -> None:
        self.repo = repo
        self.analyses = analyses or Analyses(repo)
        self.prints: dict[Entries, frozenset[str]] = {}
        self.subjects: dict[str, str] = {}
        self.lists: dict[tuple, list[str]] = {}  # (start, renames) -> touching commits
        self.probes = 0  # trees analyzed (or read from the cache) for the search
        self._shallow: frozenset[str] | None = None

    # --- presence ------------------------------------------------------------

    def entries(self, sha: str, renames: dict[str, str] | None = None) -> Entries:
        """The role files of a commit; with ``renames`` (old path -> role
        path), the files at the old paths stand for the role files."""
        if not renames:
            return tree_entries(self.repo, sha)
        out = self.repo.git("ls-tree", "-r", "-z", sha, "--", *IMAGE_PATHSPECS, *sorted(renames))
        blobs = {path: blob for (mode, kind, blob), path in ls_records(out)
                 if kind == "blob" and mode in REGULAR and path not in renames.values()}
        blobs.update((renames[path], blob) for (mode, kind, blob), path in ls_records(out)
                     if kind == "blob" and mode in REGULAR and path in renames)
        return tuple((p, blobs[p]) for p in image_paths(blobs))

    def fingerprints(self, entries: Entries) -> frozenset[str]:
        if entries not in self.prints:
            if not layout(p for p, _ in entries)[0]:
                self.prints[entries] = frozenset()
            else:
                self.probes += 1
                found = self.analyses.of(entries).findings
                self.prints[entries] = frozenset(f.fingerprint for f in found)
        return self.prints[entries]

    def has(self, sha: str, fingerprint: str, renames: dict[str, str] | None = None) -> bool:
        return fingerprint in self.fingerprints(self.entries(sha, renames))

    # --- commits -------------------------------------------------------------

    def show(self, sha: str, fmt: str) -> str:
        """One commit's ``--format`` (``rev-list``: no log configuration applies)."""
        out = self.repo.git("rev-list", "-n1", f"--format={fmt}", sha, "--")
        return out.decode(errors="replace").partition("\n")[2].rstrip("\n")

    def subject(self, sha: str) -> str:
        if sha not in self.subjects:
            self.subjects[sha] = self.show(sha, "%s")
        return self.subjects[sha]

    def named(self, sha: str) -> str:
        return f'{sha[:ABBREV]} ("{self.subject(sha)}")'

    def touching(self, start: str, renames: dict[str, str]) -> list[str]:
        """The first-parent commits from ``start`` back that changed the role
        files (or the files they were renamed from), newest first."""
        key = (start, tuple(sorted(renames.items())))
        if key in self.lists:
            return self.lists[key]
        out = self.repo.git("rev-list", "--first-parent", "--format=%H%x00%s", start, "--",
                            *ROLE_PATHSPECS, *sorted(renames))
        commits = self.lists[key] = []
        for line in out.decode(errors="replace").splitlines():
            if "\0" not in line:  # rev-list's "commit SHA" lines
                continue
            sha, _, subject = line.partition("\0")
            self.subjects.setdefault(sha, subject)
            commits.append(sha)
        return commits

    def shallow(self) -> frozenset[str]:
        """The commits whose parents this clone does not have."""
        if self._shallow is None:
            where = Path(self.repo.git("rev-parse", "--git-path", "shallow").decode().strip())
            if not where.is_absolute():
                where = self.repo.top / where
            try:
                self._shallow = frozenset(where.read_text().split())
            except OSError:
                self._shallow = frozenset()
        return self._shallow

    def first_parent(self, sha: str) -> tuple[str | None, str]:
        """(the first parent, "") or (None, why the history ends here)."""
        if sha in self.shallow():
            return None, (f"older than the history available: the clone is shallow at "
                          f"{self.named(sha)}, which already has it; deepen it (git fetch "
                          "--deepen=N, or --unshallow) and ask again")
        parents = self.show(sha, "%P").split()
        if not parents:
            return None, (f"older than the history available: the root commit "
                          f"{self.named(sha)} already has it")
        return parents[0], ""

    def moved_into(self, parent: str, sha: str, renames: dict[str, str]) -> dict[str, str]:
        """``renames`` extended by the files ``sha`` moved into the tracked
        paths (the role paths and the old paths of ``renames``)."""
        out = self.repo.git("diff-tree", "-r", "-M", "-z", "--name-status", "--no-commit-id",
                            parent, sha)
        found = dict(renames)
        for row in name_status(out):
            if not row[0].startswith("R"):
                continue
            old, new = row[1], row[2]
            tracked = is_role_path(new) or new in renames
            if tracked and not (is_role_path(old) or old in renames):
                found.pop(new, None)
                found[old] = renames.get(new, new)
        return found

    # --- the search ----------------------------------------------------------------

    def origin(self, fingerprint: str, start: str) -> Origin:
        """The commit on ``start``'s first-parent history that introduced
        the finding ``start`` has."""
        renames: dict[str, str] = {}
        while True:
            commits = self.touching(start, renames)
            if not commits or not self.has(commits[0], fingerprint, renames):
                return Origin(reason=f"not found in the history of {start[:ABBREV]}")
            lo, hi = 0, len(commits)  # commits[lo] has it; commits[hi] (if any) does not
            probe = 1  # gallop back from the newest, 1, 2, 4, 8... commits, then bisect
            while probe < hi:
                if not self.has(commits[probe], fingerprint, renames):
                    hi = probe
                    break
                lo, probe = probe, probe * 2
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if self.has(commits[mid], fingerprint, renames):
                    lo = mid
                else:
                    hi = mid
            found = commits[lo]
            parent, why = self.first_parent(found)
            if parent is None:
                return Origin(reason=why)
            if hi == len(commits):  # the role files arrive here: moved from elsewhere?
                renames = self.moved_into(parent, found, renames)
                if not layout(p for p, _ in self.entries(parent, renames))[0]:
                    return Origin(reason=f"present since the MMU sources first appear, in "
                                         f"{self.named(found)}: no earlier version to compare")
            if not self.has(parent, fingerprint, renames):  # the bound holds
                return Origin(found, self.subject(found))
            start = parent  # not monotone, or moved: search on from the parent

    # --- Fixes: trailers ---------------------------------------------------------

    def check_trailers(self, message: str, base: str, origins: list[tuple[Finding, Origin]]
                       ) -> list[str]:
        """Warnings for the ``Fixes:`` trailers of a change applied on
        ``base`` that name a commit which introduced none of the findings
        it fixes, or no ancestor of ``base``."""
        known = [(f, o) for f, o in origins if o.commit is not None]
        trailers = fixes_trailers(message)
        if not known or not trailers:
            return []
        resolved = {t: self.repo.verify(t) for t in trailers}
        named = {sha for sha in resolved.values() if sha is not None}
        missing = [(f, o) for f, o in known if o.commit not in named] or known
        right = "; ".join(f"'{f.field}' in {f.function}() was introduced by {o.tag}"
                          for f, o in missing)
        warnings = []
        for text, sha in resolved.items():
            if sha is not None and any(o.commit == sha for _, o in known):
                continue
            if sha is None:
                what = f"Fixes: {text} names no commit of this repository"
            elif not self.is_ancestor(sha, base):
                what = f"Fixes: {self.named(sha)} is not an ancestor of this change"
            else:
                what = f"Fixes: {self.named(sha)} did not introduce what this fixes"
            warnings.append(f"{what}: {right}")
        return warnings

    def is_ancestor(self, sha: str, base: str) -> bool:
        try:
            return self.repo.git("merge-base", sha, base).decode().strip() == sha
        except UserError:  # no common ancestor
            return False


def fixed_findings(res: PatchResult) -> list[Finding]:
    """The findings a change fixes that have an origin to look for (not the
    notes of what the analysis cannot decide)."""
    return [f for f in res.delta.fixed if f.severity != "note"]


def annotate(report: CheckReport, history: History, bases: list[str | None],
             messages: list[str], *, series: bool = False) -> None:
    """Fill in the origins of every fixed finding of each analyzed change,
    and the warnings on its ``Fixes:`` trailers. ``bases[i]`` is the commit
    change i applies on (None: no commit). With ``series`` (patches not
    committed, all on one base), a finding an earlier patch introduced is
    said to come from it; a finding the base lacks came from changes not
    committed."""
    introduced: dict[str, int] = {}  # fingerprint -> the change of the series that last added it
    total = len(report.patches)
    for i, (res, base) in enumerate(zip(report.patches, bases, strict=True)):
        pairs = []
        for f in fixed_findings(res):
            if series and f.fingerprint in introduced:
                j = introduced[f.fingerprint]
                origin = Origin(reason=f"introduced by patch {j + 1}/{total} of this series "
                                       f"({report.patches[j].subject or 'no subject'})")
            elif base is None or not history.has(base, f.fingerprint):
                where = f"HEAD ({base[:ABBREV]})" if base else "HEAD"
                origin = Origin(reason=f"not in {where}: introduced by changes not committed")
            else:
                origin = history.origin(f.fingerprint, base)
            res.origins[f.fingerprint] = origin
            pairs.append((f, origin))
        if base is not None:
            res.warnings.extend(history.check_trailers(messages[i], base, pairs))
        for f in res.delta.introduced:
            introduced[f.fingerprint] = i
        for f in res.delta.fixed:
            introduced.pop(f.fingerprint, None)


def annotate_git(repo: Repo, report: CheckReport, analyses: Analyses,
                 commits: list[Commit] | None) -> History:
    """``git RANGE --fixes``: each commit's fixed findings searched from its
    first parent, its own ``Fixes:`` trailers checked; ``commits`` None is
    ``--staged``, searched from HEAD."""
    history = History(repo, analyses)
    if commits is None:
        head = repo.verify("HEAD")
        annotate(report, history, [head], [""])
        return history
    bases = [c.parents[0] if len(c.parents) == 1 else None for c in commits]
    messages = [history.show(c.sha, "%B") if fixed_findings(r) else ""
                for c, r in zip(commits, report.patches, strict=True)]
    annotate(report, history, bases, messages)
    return history


def annotate_check(tree: Path, report: CheckReport, patches: list[Patch]) -> History:
    """``check PATCH --fixes``: the fixed findings searched in the history
    of HEAD of the git work tree ``tree``; the patches' ``Fixes:`` trailers
    checked against it."""
    repo = Repo(tree)
    if repo.top.resolve() != tree.resolve():
        raise UserError(f"{tree}: not the top of its git work tree ({repo.top}); --fixes needs "
                        "a kernel tree at the top of a git repository")
    head = repo.verify("HEAD")
    if head is None:
        raise UserError(f"{tree}: no commits yet; --fixes searches the history of HEAD")
    history = History(repo)
    annotate(report, history, [head] * len(report.patches), [p.message for p in patches],
             series=True)
    return history
