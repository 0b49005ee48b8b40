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

``repo`` drives git, ``commits`` chooses the commits, ``trees`` reads what
changed and the images, ``judge`` judges them.
"""

from __future__ import annotations

from analyzer.gitmode.commits import (
    SEARCH_DEPTH,
    commits_of_patches,
    default_range,
    list_commits,
    no_commits,
    restore_parents,
    rev_args,
)
from analyzer.gitmode.judge import Analyses, judge_commits, judge_staged
from analyzer.gitmode.repo import Commit, Repo, open_repo
from analyzer.gitmode.trees import (
    IMAGE_PATHSPECS,
    REGULAR,
    ROLE_PATHSPECS,
    Entries,
    image_of,
    index_entries,
    ls_records,
    name_status,
    read_blobs,
    tree_entries,
)

__all__ = [
    "IMAGE_PATHSPECS",
    "REGULAR",
    "ROLE_PATHSPECS",
    "SEARCH_DEPTH",
    "Analyses",
    "Commit",
    "Entries",
    "Repo",
    "commits_of_patches",
    "default_range",
    "image_of",
    "index_entries",
    "judge_commits",
    "judge_staged",
    "list_commits",
    "ls_records",
    "name_status",
    "no_commits",
    "open_repo",
    "read_blobs",
    "restore_parents",
    "rev_args",
    "tree_entries",
]
