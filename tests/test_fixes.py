"""``fixes`` and ``--fixes``: the commit that introduced what a fix fixes.

Each test builds a small history from the legacy fixture tree: a good state
first (the seed fix applied), then the producer change that brings the
cr4_pae mismatch in (0011, the seed fix reverted), unrelated commits (role
files and not), then the fix (0001)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from test_git import LEGACY, PATCHES, git, git_env, run

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

FIX = PATCHES / "0001-seed-fix.patch"
PRODUCER = PATCHES / "0011-revert-seed-fix.patch"
PRODUCER_SUBJECT = "x86/kvm/mmu: set cr4_pae in the common role producer"
FIX_SUBJECT = "x86/kvm/mmu: compute cr4_pae only for the shadow MMU root role"
MMU_C = "arch/x86/kvm/mmu.c"


class History:
    """A repository built commit by commit; ``sha[name]`` is each commit's id."""

    def __init__(self, where: Path, *, good: bool = True) -> None:
        self.top = where
        self.sha: dict[str, str] = {}
        shutil.copytree(LEGACY, where)
        (where / "README").write_text("a kernel, in miniature\n")
        git(where, "-c", "init.defaultBranch=main", "init", "-q")
        if good:
            git(where, "apply", str(FIX))
        self.commit("import", "initial import")

    def commit(self, name: str, subject: str, body: str = "") -> str:
        git(self.top, "add", "-A")
        git(self.top, "commit", "-q", "-m", subject, *(["-m", body] if body else []))
        self.sha[name] = git(self.top, "rev-parse", "HEAD").stdout.strip()
        return self.sha[name]

    def apply(self, name: str, patch: Path, subject: str, body: str = "",
              paths: dict[str, str] | None = None) -> str:
        """Commit a fixture patch, its paths renamed by ``paths``."""
        text = patch.read_text()
        for old, new in (paths or {}).items():
            text = text.replace(f"a/{old}", f"a/{new}").replace(f"b/{old}", f"b/{new}")
        git(self.top, "apply", "-", data=text)
        return self.commit(name, subject, body)

    def producer(self, **kw) -> str:
        return self.apply("producer", PRODUCER, PRODUCER_SUBJECT, **kw)

    def fix(self, body: str = "", **kw) -> str:
        return self.apply("fix", FIX, FIX_SUBJECT, body, **kw)

    def unrelated(self, n: int, mmu_c: str = MMU_C) -> None:
        """n commits that change the role code without changing a finding,
        each followed by one outside it."""
        for i in range(n):
            with open(self.top / mmu_c, "a") as f:
                f.write(f"/* note {i} */\n")
            self.commit(f"note{i}", f"x86/kvm/mmu: note {i}")
            with open(self.top / "README", "a") as f:
                f.write(f"line {i}\n")
            self.commit(f"readme{i}", f"README: line {i}")

    def move(self, moves: dict[str, str], subject: str) -> str:
        for old, new in moves.items():
            (self.top / new).parent.mkdir(parents=True, exist_ok=True)
            git(self.top, "mv", old, new)
        return self.commit("move", subject)


def fixes_json(capsys, repo: Path, *args: str) -> tuple[int, dict]:
    status, out, err = run(capsys, "fixes", "--tree", str(repo), "--format", "json", *args)
    assert err == ""
    return status, json.loads(out)


def introducers(doc: dict) -> list[str | None]:
    return [(f["introduced_by"] or {}).get("commit") for f in doc["fixes"]]


def test_fixes_names_the_producer_change(tmp_path, capsys):
    h = History(tmp_path / "repo")
    git(h.top, "commit", "-q", "--allow-empty", "-m", "unrelated before")
    h.producer()
    h.unrelated(4)
    h.fix()
    status, out, _ = run(capsys, "fixes", "--tree", str(h.top))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f'Fixes: {h.sha["producer"][:12]} ("{PRODUCER_SUBJECT}")'
    assert "fixed: role field 'cr4_pae'" in lines[1] and lines[1].startswith(f"{MMU_C}:")
    assert lines[2] == "  in kvm_mmu_get_page(), field 'cr4_pae'"
    assert len(lines) == 3

    status, doc = fixes_json(capsys, h.top, "HEAD")
    assert status == 0
    assert doc["version"] == 1 and doc["commit"] == h.sha["fix"]
    assert introducers(doc) == [h.sha["producer"]]
    fix = doc["fixes"][0]
    assert fix["introduced_by"]["subject"] == PRODUCER_SUBJECT
    assert fix["finding"]["field"] == "cr4_pae"
    assert fix["finding"]["location"]["function"] == "kvm_mmu_get_page"
    assert "reason" not in fix


def test_fixes_of_an_older_commit_searches_its_own_history(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.unrelated(2)
    h.producer()
    h.unrelated(1)
    h.fix()
    h.unrelated(2)
    status, doc = fixes_json(capsys, h.top, h.sha["fix"][:10])
    assert status == 0 and doc["commit"] == h.sha["fix"]
    assert introducers(doc) == [h.sha["producer"]]


def test_a_commit_that_fixes_nothing(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(1)
    status, out, _ = run(capsys, "fixes", "--tree", str(h.top))
    assert status == 0
    assert out == f'{h.sha["readme0"][:12]} ("README: line 0"): not judged: no role code touched\n'
    status, out, _ = run(capsys, "fixes", "--tree", str(h.top), "HEAD~1")
    assert status == 0
    assert out == f'{h.sha["note0"][:12]} ("x86/kvm/mmu: note 0") fixes no role mismatch\n'
    status, doc = fixes_json(capsys, h.top, "HEAD~1")
    assert status == 0 and doc == {"version": 1, "commit": h.sha["note0"], "fixes": []}


def test_rename_of_the_role_files_still_names_the_producer(tmp_path, capsys):
    """5.5 moved mmu.c and paging_tmpl.h into arch/x86/kvm/mmu/; both
    layouts are role paths, and the move changes no finding."""
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(2)
    h.move({MMU_C: "arch/x86/kvm/mmu/mmu.c",
            "arch/x86/kvm/paging_tmpl.h": "arch/x86/kvm/mmu/paging_tmpl.h"},
           "KVM: x86/mmu: move mmu.c and paging_tmpl.h into mmu/")
    h.unrelated(2, mmu_c="arch/x86/kvm/mmu/mmu.c")
    h.fix(paths={MMU_C: "arch/x86/kvm/mmu/mmu.c"})
    status, doc = fixes_json(capsys, h.top)
    assert status == 0
    assert introducers(doc) == [h.sha["producer"]]
    assert doc["fixes"][0]["finding"]["location"]["file"] == "arch/x86/kvm/mmu/mmu.c"


OLD_PATHS = {"arch/x86/kvm/mmu.c": "drivers/kvm/mmu.c",
             "arch/x86/kvm/paging_tmpl.h": "drivers/kvm/paging_tmpl.h",
             "arch/x86/kvm/mmu.h": "drivers/kvm/mmu.h",
             "arch/x86/include/asm/kvm_host.h": "include/asm-x86/kvm_host.h"}


def old_layout(h: History) -> None:
    """Move the import's files to paths outside the role paths (as in
    2.6.24, before KVM moved under arch/x86) and make that the import."""
    for new, old in OLD_PATHS.items():
        (h.top / old).parent.mkdir(parents=True, exist_ok=True)
        git(h.top, "mv", new, old)
    git(h.top, "commit", "-q", "--amend", "-m", "initial import, old layout")


def test_move_into_the_role_paths_names_the_change_not_the_move(tmp_path, capsys):
    """The role files come into the role paths by a rename: the trees
    before it are analyzed with the old files under the new names, so the
    producer change made at the old paths is named, not the move."""
    h = History(tmp_path / "repo")
    old_layout(h)
    h.producer(paths={MMU_C: OLD_PATHS[MMU_C]})
    h.unrelated(2, mmu_c=OLD_PATHS[MMU_C])
    h.move({old: new for new, old in OLD_PATHS.items()}, "KVM: move to arch/x86")
    h.unrelated(1)
    h.fix()
    status, doc = fixes_json(capsys, h.top)
    assert status == 0
    assert introducers(doc) == [h.sha["producer"]]


def test_files_created_with_the_finding_have_no_earlier_version(tmp_path, capsys):
    """Without a rename to follow, a finding present since the role files
    first appear has no commit to name."""
    h = History(tmp_path / "repo", good=False)
    old_layout(h)
    git(h.top, "rm", "-rq", "drivers", "include")
    h.commit("drop", "drop the old KVM")
    shutil.copytree(LEGACY, h.top, dirs_exist_ok=True)
    h.commit("new", "KVM: a new MMU, written from scratch")
    h.fix()
    status, doc = fixes_json(capsys, h.top)
    assert status == 0 and introducers(doc) == [None]
    reason = doc["fixes"][0]["reason"]
    assert reason.startswith("present since the MMU sources first appear, in "
                             f'{h.sha["new"][:12]} ("KVM: a new MMU')


def test_finding_present_at_the_root_commit(tmp_path, capsys):
    h = History(tmp_path / "repo", good=False)
    h.unrelated(3)
    h.fix()
    status, doc = fixes_json(capsys, h.top)
    assert status == 0 and introducers(doc) == [None]
    assert doc["fixes"][0]["introduced_by"] is None
    assert doc["fixes"][0]["reason"] == (f'older than the history available: the root commit '
                                         f'{h.sha["import"][:12]} ("initial import") already has it')
    status, out, _ = run(capsys, "fixes", "--tree", str(h.top))
    assert status == 0
    assert out.splitlines()[0] == f"no Fixes: tag: {doc['fixes'][0]['reason']}"
    assert "fixed: role field 'cr4_pae'" in out.splitlines()[1]


def test_shallow_clone_says_the_finding_is_older(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(3)
    h.fix()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "3", f"file://{h.top}", str(clone))
    status, doc = fixes_json(capsys, clone)
    assert status == 0 and introducers(doc) == [None]
    boundary = h.sha["note2"]  # HEAD~2: the oldest commit of the clone
    assert doc["fixes"][0]["reason"].startswith(
        f'older than the history available: the clone is shallow at {boundary[:12]} '
        f'("x86/kvm/mmu: note 2"), which already has it; deepen it')
    # the boundary itself cannot be judged: its parent is missing
    status, out, err = run(capsys, "fixes", "--tree", str(clone), "HEAD~2")
    assert status == 2 and out == ""
    assert err == ("mmu-role-lint: HEAD~2: its parent is not in this shallow clone, so what "
                   "it fixes cannot be told; deepen it (git fetch --deepen=1) and ask again\n")
    # the same question in the full history has an answer
    status, doc = fixes_json(capsys, h.top)
    assert introducers(doc) == [h.sha["producer"]]


def test_wrong_fixes_trailer_gets_a_warning_naming_the_right_commit(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(2)
    wrong = h.sha["note1"]
    h.fix(body=f'Fixes: {wrong[:12]} ("x86/kvm/mmu: note 1")')
    right = f'Fixes: {h.sha["producer"][:12]} ("{PRODUCER_SUBJECT}")'
    warning = (f'Fixes: {wrong[:12]} ("x86/kvm/mmu: note 1") did not introduce what this '
               f"fixes: 'cr4_pae' in kvm_mmu_get_page() was introduced by {right}")

    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--fixes")
    assert status == 0
    lines = out.splitlines()
    assert f"  introduced by: {right}" in lines
    assert f"  warning: {warning}" in lines

    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--fixes", "--format", "b4")
    assert out == f'WARNING: {h.sha["fix"][:7]} {FIX_SUBJECT}: {warning}\n'

    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--fixes",
                         "--format", "json")
    patch = json.loads(out)["patches"][0]
    assert patch["warnings"] == [warning]
    assert patch["fixed"][0]["introduced_by"] == {"commit": h.sha["producer"],
                                                  "subject": PRODUCER_SUBJECT}

    # fixes REV checks the commit's own trailers too
    status, out, _ = run(capsys, "fixes", "--tree", str(h.top))
    assert out.splitlines()[0] == right
    assert out.splitlines()[-1] == f"warning: {warning}"

    # without --fixes nothing of this is shown
    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--format", "json")
    patch = json.loads(out)["patches"][0]
    assert "warnings" not in patch and "introduced_by" not in patch["fixed"][0]


def test_fixes_trailer_naming_a_commit_off_the_history(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    git(h.top, "checkout", "-q", "-b", "side")
    h.unrelated(1)
    git(h.top, "checkout", "-q", "main")
    side = h.sha["note0"]
    h.fix(body=f"Fixes: {side[:12]} (\"x86/kvm/mmu: note 0\")\nFixes: 0123456789ab (\"gone\")")
    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--fixes",
                         "--format", "json")
    assert status == 0
    warnings = json.loads(out)["patches"][0]["warnings"]
    right = f"'cr4_pae' in kvm_mmu_get_page() was introduced by Fixes: {h.sha['producer'][:12]}"
    assert warnings[0].startswith(f'Fixes: {side[:12]} ("x86/kvm/mmu: note 0") is not an '
                                  f"ancestor of this change: {right}")
    assert warnings[1].startswith(f"Fixes: 0123456789ab names no commit of this repository: {right}")
    assert len(warnings) == 2


def test_right_fixes_trailer_gets_no_warning(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(1)
    h.fix(body=f'Fixes: {h.sha["producer"][:12]} ("{PRODUCER_SUBJECT}")')
    status, out, _ = run(capsys, "git", "--tree", str(h.top), "HEAD", "--fixes", "--format", "b4")
    assert status == 0 and out == ""


def test_git_range_fixes_each_commit_from_its_parent(tmp_path, capsys):
    """A fix reverted, then made again: the second fix names the revert
    (the newest introduction), the first the producer change."""
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(1)
    h.fix()
    h.apply("again", PRODUCER, "Revert the fix")
    h.unrelated(1)
    h.apply("fix2", FIX, "fix it again")
    status, out, _ = run(capsys, "git", "--tree", str(h.top), f"{h.sha['import']}..HEAD",
                         "--fixes", "--format", "json")
    assert status == 1  # the revert introduces it again
    got = {p["subject"]: [f["introduced_by"]["commit"] for f in p["fixed"]]
           for p in json.loads(out)["patches"] if p["fixed"]}
    assert got == {f"{h.sha['fix'][:7]} {FIX_SUBJECT}": [h.sha["producer"]],
                   f"{h.sha['fix2'][:7]} fix it again": [h.sha["again"]]}


def test_check_patch_fixes_in_a_work_tree(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.producer()
    h.unrelated(2)
    status, out, _ = run(capsys, "check", str(FIX), "--tree", str(h.top), "--fixes",
                         "--format", "json")
    assert status == 0
    fixed = json.loads(out)["patches"][0]["fixed"]
    assert [f["introduced_by"] for f in fixed] == [{"commit": h.sha["producer"],
                                                    "subject": PRODUCER_SUBJECT}]
    # the patch mail's own Fixes: lines are checked against HEAD's history
    mail = tmp_path / "fix.patch"
    mail.write_text(FIX.read_text().replace(
        "Signed-off-by:", f"Fixes: {h.sha['note1'][:12]} (\"x86/kvm/mmu: note 1\")\nSigned-off-by:"))
    status, out, _ = run(capsys, "check", str(mail), "--tree", str(h.top), "--fixes")
    assert f"  introduced by: Fixes: {h.sha['producer'][:12]} (\"{PRODUCER_SUBJECT}\")" in out
    assert f"  warning: Fixes: {h.sha['note1'][:12]} (\"x86/kvm/mmu: note 1\") did not introduce" in out


def test_check_fixes_of_what_the_series_or_the_work_tree_introduced(tmp_path, capsys):
    h = History(tmp_path / "repo")
    h.unrelated(1)
    status, out, _ = run(capsys, "check", str(PRODUCER), str(FIX), "--tree", str(h.top),
                         "--fixes", "--format", "json")
    fixed = json.loads(out)["patches"][1]["fixed"]
    assert [f["introduced_by"] for f in fixed] == [None]
    assert fixed[0]["introduced_by_reason"] == (
        'introduced by patch 1/2 of this series (Revert "x86/kvm/mmu: compute cr4_pae only '
        'for the shadow MMU root role")')
    git(h.top, "apply", str(PRODUCER))  # in the work tree, not committed
    status, out, _ = run(capsys, "check", str(FIX), "--tree", str(h.top), "--fixes")
    assert status == 0
    assert f"  no Fixes: tag: not in HEAD ({h.sha['readme0'][:12]}): introduced by changes " \
           "not committed" in out.splitlines()


def test_bad_input_is_one_line(tmp_path, capsys):
    h = History(tmp_path / "repo")
    status, out, err = run(capsys, "fixes", "--tree", str(h.top), "no-such-rev")
    assert status == 2 and out == ""
    assert err == (f"mmu-role-lint: no-such-rev: not a commit of {h.top}; pass one revision, "
                   "such as HEAD or a commit id\n")
    plain = tmp_path / "plain"
    plain.mkdir()
    status, out, err = run(capsys, "fixes", "--tree", str(plain))
    assert status == 2 and len(err.splitlines()) == 1 and "not in a git repository" in err
    outer = tmp_path / "outer"  # a kernel tree inside a bigger repository
    shutil.copytree(LEGACY, outer / "linux")
    git(outer, "init", "-q")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "import")
    status, out, err = run(capsys, "check", str(FIX), "--tree", str(outer / "linux"), "--fixes")
    assert status == 2 and out == ""
    assert err == (f"mmu-role-lint: {outer / 'linux'}: not the top of its git work tree "
                   f"({outer}); --fixes needs a kernel tree at the top of a git repository\n")
