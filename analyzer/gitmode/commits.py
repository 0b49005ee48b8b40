"""Which commits: the range named or the default one, each commit's real
parents, what to say when a range holds none; and the commits that patch
mails were made from (``--commit-of``, same patch-id)."""

from __future__ import annotations

from analyzer.encoding import encode
from analyzer.errors import UserError
from analyzer.gitmode.repo import Commit, Repo

# How far back ``--commit-of`` looks for the commit a patch was made from.
SEARCH_DEPTH = 2000


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


def parse_commits(out: bytes) -> list[Commit]:
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
    return parse_commits(out)


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


def _patch_ids(repo: Repo, diff: bytes) -> list[tuple[str, str]]:
    out = repo.git("patch-id", "--stable", data=diff).decode()
    return [tuple(line.split()[:2]) for line in out.splitlines() if line.strip()]  # type: ignore[misc]


def commits_of_patches(repo: Repo, data: bytes, source: str) -> list[Commit]:
    """The commits of HEAD's recent history that the patches in ``data``
    were made from (same patch-id), in the order of the patches."""
    from analyzer.patch import read_patches, render_patch

    patches = read_patches(data, source=source)
    recent = parse_commits(repo.git("rev-list", f"--max-count={SEARCH_DEPTH}", "--no-merges",
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
