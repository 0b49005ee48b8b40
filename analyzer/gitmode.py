"""Commits and the index as pre- and post-images, for ``mmu-role-lint git``.

Everything is read from git objects (``rev-list``, ``diff-tree``,
``ls-tree``, ``cat-file --batch``), never from the working tree: a dirty
checkout does not change what a commit is judged to introduce. Each commit
is compared with its first parent; merges are skipped. Analyses are keyed by
the blob ids of the MMU files, so a linear series of N commits analyzes N+1
trees, and a commit that touches no role file is answered without parsing C.

Paths come from git's ``-z`` output as bytes and are decoded as file names
are (``os.fsdecode``: surrogateescape), so a name that is not UTF-8 is the
same string here as in ``scan``. Only regular files are read: symbolic links
and gitlinks (submodules) are not C source.

A commit git shows without parents is judged against the empty tree only
when it is a true root commit: the boundary of a shallow clone (or a
grafted commit) is judged against its real parent when that is here, and
is an error saying how to fetch it when it is not.
"""

from __future__ import annotations

import os
import subprocess
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.delta import compare
from analyzer.encoding import encode
from analyzer.errors import UserError
from analyzer.results import CheckReport, PatchResult
from analyzer.sources import (
    CONTEXT,
    HEADER,
    LEGACY_MMU,
    MMU_DIR,
    TMPL,
    Image,
    image_paths,
    is_role_path,
    layout,
    source_text,
    split_image,
)

if TYPE_CHECKING:
    from analyzer.analysis import Analysis

# Where role code can live; ``ls-tree`` and ``ls-files`` take these as path prefixes.
ROLE_PATHSPECS = [MMU_DIR, LEGACY_MMU, f"arch/x86/kvm/{TMPL}", "arch/x86/kvm/mmu.h", HEADER]
# What an image holds: the role code and the context files read beside it.
IMAGE_PATHSPECS = [*ROLE_PATHSPECS, *CONTEXT]
# How far back ``--commit-of`` looks for the commit a patch was made from.
SEARCH_DEPTH = 2000

REGULAR = ("100644", "100755", "100664")  # git file modes of regular files (100664: old trees)

Entries = tuple[tuple[str, str], ...]  # (path, blob id), in layout order


@dataclass
class Commit:
    sha: str
    short: str
    parents: list[str]
    subject: str

    @property
    def title(self) -> str:
        return f"{self.short} {self.subject}"


class Repo:
    """A git repository, driven through the ``git`` command."""

    def __init__(self, where: Path) -> None:
        self.where = where
        top = self._try("rev-parse", "--show-toplevel")
        self.bare = False
        if top is None:
            if self._try("rev-parse", "--git-dir") is None:
                raise UserError(f"{where}: not in a git repository; run it inside a kernel "
                                "checkout or pass --tree with one")
            self.top = where  # a bare repository (commits only, no index), or inside .git
            self.bare = self._try("rev-parse", "--is-bare-repository") == "true"
        else:
            self.top = Path(top)

    @staticmethod
    def _run(args: tuple[str, ...], cwd: Path, data: bytes | None = None
             ) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                                  check=False)
        except FileNotFoundError:
            raise UserError("git: command not found; install git") from None

    def _try(self, *args: str) -> str | None:
        """git's one-line answer, decoded as a file name, or None when git fails."""
        out = self._run(args, self.where)
        return os.fsdecode(out.stdout).rstrip("\n") if out.returncode == 0 else None

    def git(self, *args: str, data: bytes | None = None) -> bytes:
        """Run git at the top of the tree; a failure becomes a one-line UserError."""
        out = self._run(args, self.top, data)
        if out.returncode != 0:
            msg = out.stderr.decode(errors="replace").strip().splitlines()
            first = next((m for m in msg if m.startswith(("fatal:", "error:"))), msg[0] if msg else "")
            name = next((a for a in args if not a.startswith("-")), "")
            raise UserError(f"git {name}: {first or f'exit status {out.returncode}'}")
        return out.stdout

    def verify(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None."""
        return self._try("rev-parse", "--verify", "-q", f"{rev}^{{commit}}")

    def shallow(self) -> bool:
        return self._try("rev-parse", "--is-shallow-repository") == "true"

    def has(self, obj: str) -> bool:
        """Is the object ``obj`` names in the repository?"""
        return self._try("cat-file", "-e", obj) is not None

    def empty_tree(self) -> str:
        return self.git("hash-object", "-t", "tree", "--stdin", data=b"").decode().strip()


def open_repo(tree: str | None) -> Repo:
    where = Path(tree) if tree else Path.cwd()
    if not where.is_dir():
        raise UserError(f"{tree}: not a directory; pass --tree with the top of a kernel checkout")
    return Repo(where)


# --- which commits --------------------------------------------------------


def default_range(repo: Repo) -> list[str]:
    """``@{upstream}..HEAD`` when the branch has an upstream, else ``HEAD^..HEAD``."""
    if repo.verify("HEAD") is None:
        raise UserError("HEAD: no commits yet; commit first, or check the index with --staged")
    if repo.verify("@{upstream}") is not None:
        return ["@{upstream}..HEAD"]
    return ["HEAD^..HEAD"] if repo.verify("HEAD^") is not None else ["HEAD^!"]


# Options of ``git rev-list`` that select commits (the pre-push hook uses
# ``SHA --not --remotes``); no other option is passed through.
REV_OPTIONS = ("--not", "--all", "--branches", "--remotes", "--tags", "--exclude=", "--glob=")


def rev_args(revs: list[str]) -> list[str]:
    """One revision alone (``abc123``, ``v6.1``) means that commit, as in
    checkpatch's ``--git``; anything else is passed to ``git rev-list``."""
    for r in revs:
        if r.startswith("-") and not r.startswith(REV_OPTIONS):
            raise UserError(f"{r}: not a revision; pass a range such as origin/master..HEAD")
    if len(revs) == 1 and ".." not in revs[0] and not revs[0].startswith(("^", "-")) \
            and not revs[0].endswith(("^!", "^@")):
        return [f"{revs[0]}^!"]
    return revs


def _parse_commits(out: bytes) -> list[Commit]:
    commits = []
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("commit ") or "\0" not in line:
            continue
        sha, short, parents, subject = line.split("\0", 3)
        commits.append(Commit(sha, short, parents.split(), subject))
    return commits


FORMAT = "--format=%H%x00%h%x00%P%x00%s"


def list_commits(repo: Repo, revs: list[str]) -> list[Commit]:
    """The commits of the range, oldest first, parents before children."""
    args = rev_args(revs)
    try:
        out = repo.git("rev-list", "--reverse", "--topo-order", FORMAT, *args, "--")
    except UserError as err:
        raise UserError(f"{' '.join(revs)}: not a valid range in {repo.top} ({err}); "
                        "pass a range such as origin/master..HEAD") from None
    return _parse_commits(out)


def _object_parents(repo: Repo, sha: str) -> list[str]:
    """The parents the commit object itself names: a shallow clone's
    boundary and a grafted commit keep them, though git shows none."""
    out = repo.git("--no-replace-objects", "cat-file", "commit", sha)
    header = out.split(b"\n\n", 1)[0]
    return [line.split()[1].decode() for line in header.splitlines()
            if line.startswith(b"parent ")]


def restore_parents(repo: Repo, commit: Commit) -> None:
    """Give a commit git shows without parents the parents it really has;
    a true root commit keeps none (and is judged against the empty tree).
    A parent that is not in the repository is a UserError: judged against
    the empty tree, every finding of the tree would come out introduced."""
    if commit.parents:
        return
    parents = _object_parents(repo, commit.sha)
    if len(parents) == 1 and not repo.has(f"{parents[0]}^{{tree}}"):
        if repo.shallow():
            raise UserError(f"commit {commit.short} is the boundary of a shallow clone; its "
                            "parent is not available: fetch more history (git fetch "
                            "--deepen=1; in actions/checkout, fetch-depth: 2 for the last "
                            "commit, or 0 for all)")
        raise UserError(f"commit {commit.short}: git shows it without parents (a graft or a "
                        f"replace ref) and its parent {parents[0][:12]} is not in the "
                        "repository; fetch that commit, or judge later commits only")
    commit.parents = parents


def no_commits(repo: Repo, revs: list[str], default: bool) -> str:
    """What to say when ``revs`` selects no commit: the range used, and
    the likely reason (HEAD at its upstream, a reversed range)."""
    if default:  # @{upstream}..HEAD: the others always hold a commit
        upstream = repo._try("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}")
        return (f"no commits in {upstream}..HEAD (the default range, @{{upstream}}..HEAD): HEAD "
                "has no commit its upstream lacks, so nothing was checked; name the commits "
                "to judge, e.g. mmu-role-lint git HEAD for the last one")
    said = f"no commits in {' '.join(revs)}, so nothing was checked"
    if len(revs) == 1 and revs[0].count("..") == 1 and "..." not in revs[0]:
        old, new = (r or "HEAD" for r in revs[0].split(".."))
        back = repo._try("rev-list", "--count", f"{new}..{old}", "--")
        if back and back != "0":
            return (f"{said}; is the range reversed? {new}..{old} has {back} "
                    f"commit{'s' if back != '1' else ''}")
    return f"{said}; A..B means the commits of B that A lacks"


# --- what changed ---------------------------------------------------------


def _name_status(out: bytes) -> list[list[str]]:
    """``--name-status -z`` output: [status, path] or [status, old, new]."""
    tokens = os.fsdecode(out).split("\0")
    rows, i = [], 0
    while i < len(tokens) and tokens[i]:
        status = tokens[i]
        n = 2 if status[:1] in ("R", "C") else 1
        rows.append([status, *tokens[i + 1:i + 1 + n]])
        i += 1 + n
    return rows


def _changes(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """(the files as ``check`` lists them, every path touched)."""
    files = [r[-1] for r in rows]
    touched = [p for r in rows for p in r[1:]]
    return files, touched


def commit_changes(repo: Repo, commit: Commit) -> tuple[list[str], list[str]]:
    base = commit.parents[0] if commit.parents else repo.empty_tree()  # see real_parents
    out = repo.git("diff-tree", "-r", "-M", "-z", "--name-status", "--no-commit-id",
                   base, commit.sha)
    return _changes(_name_status(out))


def staged_changes(repo: Repo, head: str | None) -> tuple[list[str], list[str]]:
    out = repo.git("diff-index", "--cached", "-r", "-M", "-z", "--name-status",
                   head or repo.empty_tree(), "--")
    return _changes(_name_status(out))


# --- images from objects ------------------------------------------------------


def _candidate(path: str) -> bool:
    if path.startswith(MMU_DIR + "/"):
        return "/" not in path[len(MMU_DIR) + 1:]
    return path in ROLE_PATHSPECS or path in CONTEXT


def _select(blobs: dict[str, str]) -> Entries:
    return tuple((p, blobs[p]) for p in image_paths(blobs))


def _records(out: bytes) -> list[tuple[list[str], str]]:
    """``-z`` listings: (the fields before the tab, the path)."""
    records = []
    for item in os.fsdecode(out).split("\0"):
        if item:
            meta, path = item.split("\t", 1)
            records.append((meta.split(), path))
    return records


def tree_entries(repo: Repo, rev: str | None) -> Entries:
    """The MMU files of a commit's tree (none for ``None``, the empty tree)."""
    if rev is None:
        return ()
    out = repo.git("ls-tree", "-r", "-z", rev, "--", *IMAGE_PATHSPECS)
    return _select({path: sha for (mode, _kind, sha), path in _records(out)
                    if mode in REGULAR and _candidate(path)})


def index_entries(repo: Repo) -> Entries:
    """The MMU files as staged in the index (regular files: as in a commit,
    a gitlink or a symbolic link at a role path is no source)."""
    out = repo.git("ls-files", "-s", "-z", "--", *IMAGE_PATHSPECS)
    blobs = {}
    for (mode, sha, stage), path in _records(out):
        if stage != "0":
            raise UserError(f"{path}: unmerged in the index; resolve the conflict and "
                            "git add it first")
        if mode in REGULAR and _candidate(path):
            blobs[path] = sha
    return _select(blobs)


def read_blobs(repo: Repo, entries: Entries) -> dict[str, str]:
    """path -> text, through one ``git cat-file --batch``."""
    if not entries:
        return {}
    out = repo.git("cat-file", "--batch", data="".join(f"{sha}\n" for _, sha in entries).encode())
    texts, pos = {}, 0
    for path, sha in entries:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) != 3:
            raise UserError(f"{path}: git object {sha} missing; is the repository complete?")
        size = int(header[2])
        data = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
        texts[path] = source_text(data, path)
    return texts


def image_of(repo: Repo, entries: Entries) -> Image:
    return split_image(read_blobs(repo, entries))


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
        commit's parent), only what changed is analyzed again."""
        if entries in self.cache:
            self.cache.move_to_end(entries)
            return self.cache[entries][0]
        from analyzer.analysis import analyze, analyze_cached  # heavy: tree-sitter

        image = image_of(self.repo, entries)
        if base is not None and base in self.cache:
            base_analysis, base_image = self.cache[base]
            result = analyze(image, base=base_analysis, base_image=base_image)
        else:
            result = analyze_cached(image)
        self.computed += 1
        self.cache[entries] = (result, image)
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return result


# --- judging --------------------------------------------------------------------


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


def judge_commits(repo: Repo, commits: list[Commit], analyses: Analyses | None = None) -> CheckReport:
    analyses = analyses or Analyses(repo)
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
    return CheckReport(patches=results, tree=str(repo.top))


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


# --- the commit a patch mail was made from (b4 prep --check) ----------------------


def _patch_ids(repo: Repo, diff: bytes) -> list[tuple[str, str]]:
    out = repo.git("patch-id", "--stable", data=diff).decode()
    return [tuple(line.split()[:2]) for line in out.splitlines() if line.strip()]  # type: ignore[misc]


def commits_of_patches(repo: Repo, data: bytes, source: str) -> list[Commit]:
    """The commits of HEAD's recent history that the patches in ``data``
    were made from (same patch-id), in the order of the patches."""
    from analyzer.patch import read_patches, render_patch

    patches = read_patches(data, source=source)
    recent = _parse_commits(repo.git("rev-list", f"--max-count={SEARCH_DEPTH}", "--no-merges",
                                     FORMAT, "HEAD", "--"))
    found = []
    for patch in patches:
        want = _patch_ids(repo, encode(render_patch(patch)))
        if not want:
            raise UserError(f"{source}: {patch.subject or 'the patch'}: no diff to look for")
        norm = " ".join(patch.subject.split())
        by_subject = [c for c in recent if " ".join(c.subject.split()) == norm]
        for group in (by_subject, recent[:200]):
            if not group:
                continue
            log = repo.git("log", "--no-walk=unsorted", "-p", "--format=commit %H",
                           *(c.sha for c in group), "--")
            ids = {sha: pid for pid, sha in _patch_ids(repo, log)}
            match = next((c for c in group if ids.get(c.sha) == want[0][0]), None)
            if match is not None:
                found.append(match)
                break
        else:
            raise UserError(f"{source}: no commit among HEAD's last {SEARCH_DEPTH} has the "
                            f"changes of '{patch.subject}'; for a patch not committed yet, run "
                            "mmu-role-lint check - instead")
    return found
