"""``mmu-role-lint git``: each commit of a range judged against its first
parent, read from git objects only; ``--staged`` for the index.

The repositories are built here from ``fixtures/legacy/tree``. The helpers
at the top are shared with test_hook.py and test_b4.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import FIXTURES

from analyzer.cli import main

LEGACY = FIXTURES / "legacy" / "tree"
PATCHES = FIXTURES / "legacy" / "patches"
MASK = PATCHES / "0009-mask-drops-nxe.patch"  # introduces nxe
COMMENTS = PATCHES / "0007-benign-comments-whitespace.patch"  # role code, nothing introduced
GUEST = PATCHES / "0010-two-constants.patch"  # introduces guest_mode

IDENTITY = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


@pytest.fixture(autouse=True)
def git_env(monkeypatch, tmp_path_factory):
    """Git as on a bare CI machine: an identity, no user or system config,
    and nothing inherited from a hook that might be running pytest."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    for name, value in IDENTITY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path_factory.getbasetemp() / "no-gitconfig"))


def git(repo: Path, *args: str, check: bool = True, data: str | None = None
        ) -> subprocess.CompletedProcess:
    out = subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid",
                          *args], cwd=repo, input=data, capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {out.stderr}")
    return out


def new_repo(where: Path) -> Path:
    """The legacy tree and a README, committed as "initial import" on main."""
    shutil.copytree(LEGACY, where)
    (where / "README").write_text("a kernel, in miniature\n")
    git(where, "-c", "init.defaultBranch=main", "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "initial import")
    return where


def commit_readme(repo: Path, line: str, message: str = "README: one more line") -> None:
    with open(repo / "README", "a") as f:
        f.write(line + "\n")
    git(repo, "commit", "-q", "-a", "-m", message)


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def judged(capsys, repo: Path, *args: str) -> tuple[int, list[dict]]:
    status, out, _ = run(capsys, "git", "--tree", str(repo), "--format", "json", *args)
    return status, json.loads(out)["patches"]


def fields(findings: list[dict]) -> list[str]:
    return [f["field"] for f in findings]


@pytest.fixture
def series(tmp_path) -> Path:
    """main: import, 0009 (nxe), README, revert of 0009, merge of "side"
    (a docs commit forked from the import). Branch "side" is left in place."""
    repo = new_repo(tmp_path / "linux")
    git(repo, "branch", "side")
    git(repo, "am", "-q", str(MASK))
    commit_readme(repo, "more")
    git(repo, "revert", "--no-edit", "HEAD~1")
    git(repo, "checkout", "-q", "side")
    (repo / "Documentation").mkdir()
    (repo / "Documentation" / "side.txt").write_text("side\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs: a side note")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "side")
    return repo


def test_each_commit_is_judged_in_order(capsys, series):
    status, patches = judged(capsys, series, "side..main")
    assert status == 1
    assert [(p["status"], p.get("reason")) for p in patches] == [
        ("analyzed", None), ("skipped", "no role code touched"),
        ("analyzed", None), ("skipped", "merge commit")]
    assert [fields(p["introduced"]) for p in patches] == [["nxe"], [], [], []]
    assert [fields(p["fixed"]) for p in patches] == [[], [], ["nxe"], []]
    assert fields(patches[0]["persisting"]) == ["cr4_pae"]
    short = git(series, "rev-parse", "--short", "HEAD~3").stdout.strip()
    assert patches[0]["subject"] == f"{short} x86/kvm/mmu: stop keeping nxe in the cached context role"
    assert patches[0]["files"] == ["arch/x86/kvm/mmu.c"] and patches[1]["files"] == ["README"]
    assert patches[2]["subject"].split(" ", 1)[1].startswith('Revert "x86/kvm/mmu: stop keeping nxe')


def test_dirty_working_tree_changes_nothing(capsys, series):
    before = judged(capsys, series, "side..main")
    git(series, "apply", str(GUEST))  # would introduce guest_mode, if anything read the tree
    (series / "arch/x86/kvm/mmu.c").write_text((series / "arch/x86/kvm/mmu.c").read_text()
                                               .replace(".cr4_pae = 1,", ""))
    assert git(series, "status", "--porcelain").stdout.strip()
    assert judged(capsys, series, "side..main") == before


def count_analyses(monkeypatch) -> list[bool]:
    """Whether each analysis made from now on had a base to start from."""
    import analyzer.analysis

    calls: list[bool] = []
    real = analyzer.analysis.analyze

    def counting(image, base=None, base_image=None):
        calls.append(base is not None)
        return real(image, base=base, base_image=base_image)

    monkeypatch.setattr(analyzer.analysis, "analyze", counting)
    return calls


def test_linear_series_parses_each_tree_once(capsys, series, monkeypatch):
    calls = count_analyses(monkeypatch)
    status, patches = judged(capsys, series, "side..main")
    analyzed = sum(1 for p in patches if p["status"] == "analyzed")
    assert status == 1 and analyzed == 2
    assert 0 < len(calls) <= analyzed + 1  # not 2 per commit
    # after the first tree, each commit is analyzed from its parent's analysis
    assert calls[1:] and all(calls[1:])


def test_a_blob_the_image_before_held_is_not_read_from_git_again(capsys, series, monkeypatch):
    # in a series the next commit's image differs from the last in a file
    # or two: only those blobs are asked of git cat-file
    from analyzer.gitmode.repo import Repo

    asked: list[list[str]] = []
    real = Repo.git

    def git_(self, *args, data=None):
        if args[:1] == ("cat-file",):
            asked.append(data.decode().split())
        return real(self, *args, data=data)

    monkeypatch.setattr(Repo, "git", git_)
    status, patches = judged(capsys, series, "side..main")
    assert status == 1 and [p["status"] for p in patches].count("analyzed") == 2
    first, *later = asked
    assert len(first) > 3  # the first image: every MMU file
    # then only what the nxe commit and its revert changed, mmu.c's blob
    assert later and all(len(shas) == 1 for shas in later)
    changed = git(series, "rev-parse", "HEAD~3:arch/x86/kvm/mmu.c").stdout.strip()
    assert [changed] in later


def test_what_each_commit_changed_is_read_with_one_git_process(capsys, series, monkeypatch):
    import analyzer.gitmode.judge as judge
    from analyzer.gitmode.repo import Repo

    git(series, "commit", "-q", "--allow-empty", "-m", "nothing changed")  # an empty diff too
    with monkeypatch.context() as one_by_one:
        one_by_one.setattr(judge, "prefetch_changes", lambda repo, commits: None)
        alone = judged(capsys, series, "side..main")  # a diff-tree for each commit
    runs: list[tuple[str, ...]] = []
    real = Repo._run

    def run_(args, cwd, data=None):
        runs.append(tuple(args))
        return real(args, cwd, data)

    monkeypatch.setattr(Repo, "_run", staticmethod(run_))
    assert judged(capsys, series, "side..main") == alone
    diffs = [a for a in runs if a[0] == "diff-tree"]
    assert len(diffs) == 1 and "--stdin" in diffs[0]
    patches = alone[1]
    assert patches[-1]["subject"].endswith("nothing changed") and patches[-1]["files"] == []


def test_each_commits_mmu_files_follow_from_its_parents_and_what_it_changed(tmp_path):
    # read ahead for a range, a commit's files are its parent's with its
    # changes applied: renames, deletions, additions, a symbolic link (no
    # source) and files outside the image, as ls-tree lists them
    from analyzer.gitmode import trees
    from analyzer.gitmode.commits import list_commits
    from analyzer.gitmode.repo import Repo

    repo = new_repo(tmp_path / "linux")
    mmu = repo / "arch/x86/kvm/mmu"
    mmu.mkdir(exist_ok=True)
    steps = [
        lambda: (mmu / "extra.c").write_text("int extra;\n"),
        lambda: git(repo, "mv", "arch/x86/kvm/mmu/extra.c", "arch/x86/kvm/mmu/renamed.c"),
        lambda: (mmu / "renamed.c").write_text("int renamed;\n"),
        lambda: (mmu / "link.c").symlink_to("renamed.c"),
        lambda: git(repo, "rm", "-q", "arch/x86/kvm/mmu/renamed.c"),
        lambda: (repo / "README").write_text("not an MMU file\n"),
    ]
    for n, step in enumerate(steps):
        step()
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"step {n}")
    ahead, alone = Repo(repo), Repo(repo)
    commits = list_commits(ahead, [f"HEAD~{len(steps)}..HEAD"])
    trees.prefetch_changes(ahead, commits)
    assert len(ahead.made) == len(steps)
    listed = []
    real = ahead.git
    ahead.git = lambda *args, data=None: listed.append(args[0]) or real(*args, data=data)
    for c in commits:
        for rev in (c.parents[0], c.sha):
            alone.entries.clear()
            assert trees.tree_entries(ahead, rev) == trees.tree_entries(alone, rev)
    assert listed == ["ls-tree"]  # the first parent's; the rest follow from it
    paths = [p for p, _ in trees.tree_entries(ahead, commits[3].sha)]
    assert "arch/x86/kvm/mmu/renamed.c" in paths and "arch/x86/kvm/mmu/link.c" not in paths


def test_no_role_code_means_no_parsing(capsys, series, monkeypatch):
    import analyzer.analysis

    def refuse(image, base=None, base_image=None):
        raise AssertionError("C parsed for a commit that touches no role code")

    monkeypatch.setattr(analyzer.analysis, "analyze", refuse)
    status, patches = judged(capsys, series, "HEAD^2^!", "HEAD~2^!")
    assert status == 0
    assert [p["reason"] for p in patches] == ["no role code touched"] * 2


def test_default_range_is_upstream_else_last_commit(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    git(repo, "branch", "base")
    git(repo, "am", "-q", str(MASK))
    commit_readme(repo, "more")
    status, patches = judged(capsys, repo)  # HEAD^..HEAD: the README commit alone
    assert status == 0 and [p["reason"] for p in patches] == ["no role code touched"]
    git(repo, "branch", "--set-upstream-to=base")
    status, patches = judged(capsys, repo)  # base..HEAD
    assert status == 1 and [fields(p["introduced"]) for p in patches] == [["nxe"], []]


def test_one_revision_alone_is_that_commit(capsys, series):
    status, patches = judged(capsys, series, "main~3")
    assert status == 1 and len(patches) == 1 and fields(patches[0]["introduced"]) == ["nxe"]


def test_every_output_format_takes_the_report(capsys, series):
    from analyzer.report import FORMATS

    for name in FORMATS:
        status, out, err = run(capsys, "git", "--tree", str(series), "--format", name, "side..main")
        assert status == 1 and out and not err, name


@pytest.mark.parametrize("args", [["nope..HEAD"], ["--", "--output=x"]])
def test_bad_range_is_one_line_exit_2(capsys, series, args):
    status, out, err = run(capsys, "git", "--tree", str(series), *args)
    assert status == 2 and not out
    assert len(err.splitlines()) == 1 and ("range" in err or "revision" in err)


def test_not_a_repository_is_one_line_exit_2(capsys, tmp_path):
    status, out, err = run(capsys, "git", "--tree", str(tmp_path))
    assert status == 2 and not out
    assert len(err.splitlines()) == 1 and "not in a git repository" in err


# --- the index -------------------------------------------------------------------


def test_staged_mismatch_is_introduced(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    git(repo, "apply", "--index", str(MASK))
    status, patches = judged(capsys, repo, "--staged")
    assert status == 1
    (p,) = patches
    assert p["subject"] == "staged changes" and p["files"] == ["arch/x86/kvm/mmu.c"]
    assert fields(p["introduced"]) == ["nxe"] and fields(p["persisting"]) == ["cr4_pae"]


def test_staged_ignores_unstaged_edits(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    status, patches = judged(capsys, repo, "--staged")
    assert status == 0 and patches[0]["reason"] == "no staged changes"
    git(repo, "apply", "--cached", str(COMMENTS))  # staged: harmless role change
    git(repo, "apply", str(MASK))  # working tree only: the nxe mismatch
    status, patches = judged(capsys, repo, "--staged")
    assert status == 0
    assert patches[0]["status"] == "analyzed" and patches[0]["introduced"] == []
    git(repo, "reset", "-q", "--hard")
    (repo / "README").write_text("changed\n")
    git(repo, "add", "README")
    status, patches = judged(capsys, repo, "--staged")
    assert status == 0 and patches[0]["reason"] == "no role code touched"


def test_commit_of_finds_the_commit_a_mail_was_made_from(capsys, series, monkeypatch):
    import io
    import sys

    mail = git(series, "show", "--format=email", "main~3").stdout
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(mail.encode())))
    status, patches = judged(capsys, series, "--commit-of", "-")
    assert status == 1 and len(patches) == 1 and fields(patches[0]["introduced"]) == ["nxe"]
    status, _, err = run(capsys, "git", "--tree", str(series), "--commit-of", str(GUEST))
    assert status == 2 and "check -" in err and len(err.splitlines()) == 1


def test_a_tree_after_a_commit_outside_the_mmu_is_analyzed_from_the_last_one(capsys, tmp_path,
                                                                             monkeypatch):
    # x86.c is read beside the MMU sources, so a commit to it makes a tree
    # no analysis was made of; the commit after it is judged from the tree
    # analyzed last, not analyzed whole
    repo = new_repo(tmp_path / "linux")
    x86 = repo / "arch" / "x86" / "kvm" / "x86.c"
    x86.write_text("int kvm_arch_init(void)\n{\n\treturn 0;\n}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "KVM: x86: add x86.c")
    git(repo, "am", "-q", str(MASK))
    x86.write_text("/* vCPU entry points */\n" + x86.read_text())
    git(repo, "commit", "-q", "-a", "-m", "KVM: x86: comment x86.c")
    git(repo, "revert", "--no-edit", "HEAD~1")
    calls = count_analyses(monkeypatch)
    status, patches = judged(capsys, repo, "HEAD~3..HEAD")
    assert status == 1
    assert [p["status"] for p in patches] == ["analyzed", "skipped", "analyzed"]
    assert fields(patches[0]["introduced"]) == ["nxe"] and fields(patches[2]["fixed"]) == ["nxe"]
    assert calls[0] is False and len(calls) == 4 and all(calls[1:])


def _long_range(tmp_path, monkeypatch) -> Path:
    """Eight commits, six of them touching role code: the import, three
    notes, nxe introduced, a README line, nxe fixed, a last note."""
    import analyzer.gitmode.judge as judge

    monkeypatch.setattr(judge, "APART_MIN", 4)
    repo = new_repo(tmp_path / "linux")
    mmu = repo / "arch/x86/kvm/mmu.c"
    for i in range(3):
        mmu.write_text(mmu.read_text() + f"/* note {i} */\n")
        git(repo, "commit", "-q", "-a", "-m", f"x86/kvm/mmu: note {i}")
    git(repo, "am", "-q", str(MASK))  # nxe introduced
    commit_readme(repo, "more")
    git(repo, "revert", "--no-edit", "HEAD~1")  # and fixed
    mmu.write_text(mmu.read_text() + "/* last */\n")
    git(repo, "commit", "-q", "-a", "-m", "x86/kvm/mmu: last note")
    return repo


def test_a_long_range_is_judged_from_both_ends_alike(capsys, tmp_path, monkeypatch):
    """Past ``APART_MIN`` role-touching commits a child judges the range
    from its last commit back while the parent goes forward (analyzer.beside):
    the report is the one a single process makes, and the parent analyzes
    only some of the trees."""
    repo = _long_range(tmp_path, monkeypatch)
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "1")
    calls = count_analyses(monkeypatch)
    one = judged(capsys, repo, "HEAD~7..HEAD")
    alone = len(calls)
    calls.clear()
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "2")
    two = judged(capsys, repo, "HEAD~7..HEAD")
    assert one == two
    status, patches = two
    assert status == 1 and fields(patches[3]["introduced"]) == ["nxe"]
    assert fields(patches[5]["fixed"]) == ["nxe"]
    if hasattr(os, "fork"):
        assert 0 < len(calls) < alone  # the child made the others


def test_what_a_child_that_dies_left_is_judged_here(capsys, tmp_path, monkeypatch):
    """A child that claimed commits and died without answering: the parent
    judges them itself, in order, and the report is the same."""
    import analyzer.gitmode.judge as judge

    repo = _long_range(tmp_path, monkeypatch)
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "1")
    one = judged(capsys, repo, "HEAD~7..HEAD")
    parent, real = os.getpid(), judge._judge_commit
    done: list[str] = []

    def dies(repo_, c, analyses):
        if os.getpid() != parent:
            done.append(c.sha)
            if len(done) > 1:
                os._exit(3)  # the second commit it claimed
        return real(repo_, c, analyses)

    monkeypatch.setattr(judge, "_judge_commit", dies)
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "2")
    assert judged(capsys, repo, "HEAD~7..HEAD") == one
