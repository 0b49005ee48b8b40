"""What a commit or the index changed, and its MMU files as an image,
read from git objects only (``diff-tree``, ``ls-tree``, ``ls-files``,
``cat-file --batch``)."""

from __future__ import annotations

import os
import re

from analyzer.errors import UserError
from analyzer.gitmode.repo import Commit, Repo
from analyzer.sources import (
    CONTEXT,
    HEADER,
    LEGACY_MMU,
    MMU_DIR,
    TMPL,
    Image,
    image_paths,
    source_text,
    split_image,
)

# Where role code can live; ``ls-tree`` and ``ls-files`` take these as path prefixes.
ROLE_PATHSPECS = [MMU_DIR, LEGACY_MMU, f"arch/x86/kvm/{TMPL}", "arch/x86/kvm/mmu.h", HEADER]
# What an image holds: the role code and the context files read beside it.
IMAGE_PATHSPECS = [*ROLE_PATHSPECS, *CONTEXT]

REGULAR = ("100644", "100755", "100664")  # git file modes of regular files (100664: old trees)

Entries = tuple[tuple[str, str], ...]  # (path, blob id), in layout order


def name_status(out: bytes) -> list[list[str]]:
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
    rows = repo.changes.pop((commit.sha, commit.parents[0]), None) if commit.parents else None
    if rows is None:
        base = commit.parents[0] if commit.parents else repo.empty_tree()  # see real_parents
        rows = name_status(repo.git("diff-tree", "-r", "-M", "-z", "--name-status", "--no-commit-id",
                                    base, commit.sha))
    return _changes(rows)


def prefetch_changes(repo: Repo, commits: list[Commit]) -> None:
    """What each commit with one parent changed, from one ``diff-tree
    --stdin --raw`` (not one git process a commit): the rows
    ``commit_changes`` gives, and the blobs each commit's files became, from
    which ``tree_entries`` makes a commit's MMU files from its parent's.
    Anything unexpected keeps nothing: each commit then asks on its own."""
    pairs = [(c.sha, c.parents[0]) for c in commits if len(c.parents) == 1]
    if len(pairs) < 2:
        return
    out = repo._run(("diff-tree", "--stdin", "--always", "-r", "-M", "-z", "--raw", "--no-abbrev"),
                    repo.top, "".join(f"{sha} {parent}\n" for sha, parent in pairs).encode())
    if out.returncode != 0:
        return
    tokens = os.fsdecode(out.stdout).split("\0")
    got: dict[tuple[str, str], list[list[str]]] = {}
    blobs: dict[str, tuple[str, list[tuple[str, str, str]]]] = {}
    i = 0
    for k, pair in enumerate(pairs):
        if i >= len(tokens) or tokens[i] != pair[0]:
            return  # not the output this reading expects
        i += 1
        after = pairs[k + 1][0] if k + 1 < len(pairs) else None
        rows, made = [], []
        while i < len(tokens) and tokens[i] and tokens[i] != after:
            meta = tokens[i].split()  # :old_mode new_mode old_blob new_blob status
            if len(meta) != 5 or not meta[0].startswith(":"):
                return
            status = meta[4]
            n = 2 if status[:1] in ("R", "C") else 1
            paths = tokens[i + 1:i + 1 + n]
            rows.append([status, *paths])
            if status[:1] == "R":
                made.append((paths[0], "", ""))  # gone from where it was
            made.append((paths[-1], meta[1], meta[3]) if status[:1] != "D" else (paths[-1], "", ""))
            i += 1 + n
        got[pair] = rows
        blobs[pair[0]] = (pair[1], made)
    repo.changes.update(got)
    repo.made.update(blobs)


def staged_changes(repo: Repo, head: str | None) -> tuple[list[str], list[str]]:
    out = repo.git("diff-index", "--cached", "-r", "-M", "-z", "--name-status",
                   head or repo.empty_tree(), "--")
    return _changes(name_status(out))


def _candidate(path: str) -> bool:
    if path.startswith(MMU_DIR + "/"):
        return "/" not in path[len(MMU_DIR) + 1:]
    return path in ROLE_PATHSPECS or path in CONTEXT


def _select(blobs: dict[str, str]) -> Entries:
    return tuple((p, blobs[p]) for p in image_paths(blobs))


def ls_records(out: bytes) -> list[tuple[list[str], str]]:
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
    got = repo.entries.get(rev)
    if got is not None:
        return _select(got)
    # back along the commits read ahead (``prefetch_changes``) to one whose
    # files are known; then forward, each commit's changes applied (to every
    # candidate file: which layout an image takes is chosen from them all)
    chain, at = [], rev
    while at not in repo.entries and at in repo.made and len(chain) < len(repo.made):
        chain.append(at)
        at = repo.made[at][0]
    if at in repo.entries and chain:
        blobs = dict(repo.entries[at])
        for sha in reversed(chain):
            for path, mode, blob in repo.made[sha][1]:
                if mode in REGULAR and _candidate(path):
                    blobs[path] = blob
                else:
                    blobs.pop(path, None)
            _remember(repo, sha, dict(blobs))
        return _select(blobs)
    out = repo.git("ls-tree", "-r", "-z", rev, "--", *IMAGE_PATHSPECS)
    blobs = {path: sha for (mode, _kind, sha), path in ls_records(out)
             if mode in REGULAR and _candidate(path)}
    if _FULL_ID.fullmatch(rev):  # a commit id names one tree for good; a ref may move
        _remember(repo, rev, blobs)
    return _select(blobs)


_FULL_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _remember(repo: Repo, rev: str, blobs: dict[str, str]) -> None:
    if len(repo.entries) >= 256:
        repo.entries.pop(next(iter(repo.entries)))  # the oldest
    repo.entries[rev] = blobs


def index_entries(repo: Repo) -> Entries:
    """The MMU files as staged in the index (regular files: as in a commit,
    a gitlink or a symbolic link at a role path is no source)."""
    out = repo.git("ls-files", "-s", "-z", "--", *IMAGE_PATHSPECS)
    blobs = {}
    for (mode, sha, stage), path in ls_records(out):
        if stage != "0":
            raise UserError(f"{path}: unmerged in the index; resolve the conflict and "
                            "git add it first")
        if mode in REGULAR and _candidate(path):
            blobs[path] = sha
    return _select(blobs)


def read_blobs(repo: Repo, entries: Entries) -> dict[str, str]:
    """path -> text, through one ``git cat-file --batch`` for the blobs the
    image read before this one did not hold (none: no git at all)."""
    if not entries:
        return {}
    known = repo.texts
    missing = [(path, sha) for path, sha in entries if (path, sha) not in known]
    read = {}
    if missing:
        out = repo.git("cat-file", "--batch", data="".join(f"{sha}\n" for _, sha in missing).encode())
        pos = 0
        for path, sha in missing:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            if len(header) != 3:
                raise UserError(f"{path}: git object {sha} missing; is the repository complete?")
            size = int(header[2])
            data = out[end + 1:end + 1 + size]
            pos = end + 1 + size + 1
            read[path, sha] = source_text(data, path)
    texts = {path: known[path, sha] if (path, sha) in known else read[path, sha]
             for path, sha in entries}
    # this image's texts only: the one after it is read against them
    repo.texts = {(path, sha): texts[path] for path, sha in entries}
    return texts


def image_of(repo: Repo, entries: Entries) -> Image:
    return split_image(read_blobs(repo, entries))
