"""The command line a kernel developer expects (issue 12): checkpatch's
options and summary, git revisions as git takes them, misspelled options
answered with the nearest one, help that names each command's exit
statuses, and a series whose later patches were not analyzed said loudly."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from test_git import GUEST, LEGACY, MASK, PATCHES, git, git_env, new_repo

from analyzer.cli import main, parser
from analyzer.commands import COMMANDS

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

SEED_FIX = PATCHES / "0001-seed-fix.patch"


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        status = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def check(capsys, *args: str) -> tuple[int, str, str]:
    return run(capsys, "check", *args, "--tree", str(LEGACY))


# -- checkpatch habits -------------------------------------------------------

def test_total_counts_errors_and_warnings_apart(capsys):
    """checkpatch's last line, in its words: the findings that count."""
    _, out, _ = check(capsys, str(MASK), str(GUEST))  # a warning (nxe), an error (guest_mode)
    assert out.splitlines()[-1] == "total: 1 errors, 1 warnings"
    _, out, _ = run(capsys, "scan", "--tree", str(LEGACY))
    assert out.splitlines()[-1] == "total: 0 errors, 1 warnings"


def test_terse_is_one_line_per_finding(capsys):
    status, out, _ = check(capsys, "--terse", str(MASK))
    full = check(capsys, str(MASK))[1]
    lines = out.splitlines()
    assert status == 1
    findings = [line for line in lines if line.startswith("arch/")]
    assert len(findings) == 2 and all(line.endswith("[role-mismatch]") for line in findings)
    assert [line for line in lines if line.startswith(" ")] == ["  1 introduced, 0 fixed, 1 persisting"]
    assert "  lookup side:" in full  # what --terse leaves out


def test_quiet_prints_only_what_counts(capsys):
    status, out, err = check(capsys, "-q", str(MASK))
    assert status == 1 and err == ""
    assert out.splitlines()[0].startswith("arch/x86/kvm/mmu.c:322:2: warning: role field 'nxe'")
    assert "summary:" not in out and "total:" not in out and "patch 1/1" not in out
    assert "persisting" not in out  # only the introduced finding
    status, out, _ = check(capsys, "--quiet", "--terse", str(MASK))
    assert status == 1 and len(out.splitlines()) == 1
    status, out, _ = check(capsys, "-q", str(SEED_FIX))  # a fix: nothing counts
    assert status == 0 and out == ""


@pytest.mark.parametrize(("target", "status", "shown"), [
    ("role-mismatch:nxe", 0, ["cr4_pae"]), ("role-mismatch", 0, []),
    ("role-mismatch:cr4_pae", 1, ["nxe"]),  # nxe is introduced, cr4_pae persisting
])
def test_ignore_leaves_findings_out_of_report_and_status(capsys, target, status, shown):
    got, out, _ = check(capsys, "--format", "json", "--ignore", target, str(MASK))
    (patch,) = json.loads(out)["patches"]
    assert got == status
    assert [f["field"] for kind in ("introduced", "persisting") for f in patch[kind]] == shown


def test_ignore_is_repeatable_and_works_for_scan(capsys):
    status, out, _ = run(capsys, "scan", "--tree", str(LEGACY), "--ignore", "role-mismatch:nxe",
                         "--ignore", "role-mismatch:cr4_pae")
    assert status == 0 and out.startswith("0 role mismatches in 2 files")


@pytest.mark.parametrize(("target", "hint"), [
    ("role_mismatch", "no rule 'role_mismatch'; did you mean role-mismatch?"),
    ("role-mismatch:efer-nx", "no role field 'efer-nx'; did you mean efer_nx?"),
])
def test_ignore_names_are_checked_like_suppressions(capsys, target, hint):
    status, out, err = check(capsys, "--ignore", target, str(MASK))
    assert status == 2 and out == "" and hint in err and "Traceback" not in err


def test_show_types_is_accepted_and_changes_nothing(capsys):
    plain = check(capsys, str(MASK))
    assert check(capsys, "--show-types", str(MASK)) == plain
    assert "[role-mismatch]" in plain[1]
    help_text = parser()[1]["check"].format_help()
    assert "--show-types" in help_text and "[role-mismatch]" in help_text


def test_check_g_is_git(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    git(repo, "am", "-q", str(MASK))
    git(repo, "am", "-q", str(GUEST))
    as_git = run(capsys, "git", "HEAD~2..HEAD", "--tree", str(repo), "--format", "json")
    as_check = run(capsys, "check", "-g", "HEAD~2..HEAD", "--tree", str(repo), "--format", "json")
    assert as_check == as_git and as_git[0] == 1
    assert len(json.loads(as_git[1])["patches"]) == 2
    status, _, err = run(capsys, "check", "--tree", str(repo))
    assert status == 2 and "give at least one PATCH" in err


# -- git revisions as git takes them ------------------------------------------

def _subjects(out: str) -> list[str]:
    return [p["subject"].split(" ", 1)[1] for p in json.loads(out)["patches"]]


def test_revision_options_go_where_git_takes_them(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    git(repo, "am", "-q", str(MASK))
    git(repo, "am", "-q", str(GUEST))
    tree = ["--tree", str(repo), "--format", "json"]
    status, out, err = run(capsys, "git", "HEAD", "--not", "HEAD~1", *tree)
    assert status == 1 and err == ""
    assert _subjects(out) == ["x86/kvm/mmu: clear guest_mode in kvm_mmu_get_page()"]
    # options of ours between the revisions, and the old spelling with --
    assert run(capsys, "git", "HEAD", *tree, "--not", "HEAD~1") == (status, out, err)
    assert run(capsys, "git", *tree, "--", "HEAD", "--not", "HEAD~1") == (status, out, err)
    # the order is git's: --not flips the revisions after it
    status, out, err = run(capsys, "git", "--not", "HEAD~1", "HEAD", *tree)
    assert status == 0 and json.loads(out)["patches"] == [] and "no commits in" in err
    # no remote: every commit of HEAD, the root commit included
    status, out, _ = run(capsys, "git", "HEAD", "--not", "--remotes", *tree)
    assert status == 1 and _subjects(out)[0] == "initial import" and len(_subjects(out)) == 3


def test_after_double_dash_everything_is_a_revision(capsys, tmp_path):
    repo = new_repo(tmp_path / "linux")
    status, _, err = run(capsys, "git", "--tree", str(repo), "--", "--format")
    assert status == 2 and "--format" in err  # a bad revision, not our option


# -- misspelled options -------------------------------------------------------

def test_misspelled_option_gets_the_commands_usage_and_the_nearest(capsys):
    status, out, err = run(capsys, "scan", "--formt", "json", "--tree", str(LEGACY))
    assert status == 2 and out == ""
    assert err.startswith("usage: mmu-role-lint scan ")
    assert err.rstrip().endswith("did you mean --format?")


@pytest.mark.parametrize("cmd", [c.name for c in COMMANDS])
def test_no_command_takes_an_abbreviated_option(capsys, cmd):
    """argparse's prefix matching is off everywhere: --tre is not --tree."""
    sp = parser()[1][cmd]
    long_options = [o for a in sp._actions for o in a.option_strings
                    if o.startswith("--") and len(o) > 4 and o != "--help"]
    assert long_options or cmd == "explain"
    for option in long_options:
        status, _, err = run(capsys, cmd, option[:-1])
        assert status == 2, (cmd, option)
        assert f"unrecognized arguments: {option[:-1]}; did you mean {option}?" in err


def test_tre_is_not_tree(capsys):
    status, _, err = run(capsys, "scan", "--tre", str(LEGACY))
    assert status == 2 and "did you mean --tree?" in err


# -- help ---------------------------------------------------------------------

@pytest.mark.parametrize(("cmd", "statuses"), [
    ("scan", "012"), ("check", "012"), ("git", "012"), ("fixes", "02"),
    ("install-hook", "02"), ("graph", "02"), ("explain", "02"),
])
def test_help_names_the_commands_exit_statuses_and_the_cache(capsys, cmd, statuses):
    status, out, _ = run(capsys, cmd, "--help")
    text = " ".join(out.split())
    exits = text.split("exit status: ", 1)[1]
    named = "".join(d for d in "012" if f"{d} " in exits.split("environment:")[0].replace(";", " "))
    assert status == 0 and named == statuses
    assert "MMU_ROLE_LINT_CACHE" in text and "MMU_ROLE_LINT_NO_CACHE" in text


def test_top_help_lists_every_command(capsys):
    status, out, _ = run(capsys, "--help")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("    ")
              and not line.startswith("     ")]
    assert status == 0 and listed == [c.name for c in COMMANDS]


def test_only_the_command_that_runs_is_imported():
    code = ("import sys; from analyzer.cli import main; main(['explain']); "
            "print(sorted(m for m in sys.modules if m.startswith('analyzer.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines()[-1] == "['analyzer.commands.common', 'analyzer.commands.explain']"


# -- a series whose later patches were not analyzed ----------------------------

def test_patches_not_analyzed_cannot_be_missed(capsys):
    """The seed fix twice, then the mask patch: 2/3 is already applied (by
    1/3), 3/3 is not analyzed. Each says so on its own line, and so does the
    report's last line, stderr, and -q."""
    status, out, err = check(capsys, str(SEED_FIX), str(SEED_FIX), str(MASK))
    lines = out.splitlines()
    assert status == 0  # from patch 1, as the README says
    i = lines.index("patch 2/3: x86/kvm/mmu: compute cr4_pae only for the shadow MMU root role "
                    "[error: not analyzed]")
    assert lines[i + 1].startswith("  error: the patch is already applied")
    assert lines[i + 3] == "  error: an earlier patch of the series (patch 2/3) did not apply"
    assert lines[-1] == ("warning: 2 of 3 patches not analyzed (2/3, 3/3): the summary counts "
                         "the other patches only")
    assert err.startswith("mmu-role-lint: warning: 2 of 3 patches not analyzed; patch 2/3: ")
    _, quiet, _ = check(capsys, "-q", str(SEED_FIX), str(SEED_FIX), str(MASK))
    assert quiet.splitlines() == [line for line in lines if "not analyzed" in line
                                  or line.startswith("  error: ")]


def test_b4_says_which_patch_of_a_series_was_not_analyzed(capsys):
    status, out, err = check(capsys, "--format", "b4", str(SEED_FIX), str(SEED_FIX), str(MASK))
    assert status == 0 and err == ""
    assert out.splitlines() == [
        "WARNING: patch 2/3 NOT ANALYZED: x86/kvm/mmu: compute cr4_pae only for the shadow MMU "
        "root role: the patch is already applied: every hunk's new side is in the tree "
        "(arch/x86/kvm/mmu.c); to judge a commit of this tree, run mmu-role-lint git REV (git "
        "HEAD for the last one; b4 prep --check: git --commit-of -)",
        "WARNING: patch 3/3 NOT ANALYZED: x86/kvm/mmu: stop keeping nxe in the cached context "
        "role: an earlier patch of the series (patch 2/3) did not apply",
    ]


def test_already_applied_commit_points_at_git(capsys, tmp_path, monkeypatch):
    """checkpatch's habit, git format-patch -1 --stdout | check -, in the
    checkout whose HEAD the patch is."""
    repo = new_repo(tmp_path / "linux")
    git(repo, "am", "-q", str(MASK))
    mail = git(repo, "format-patch", "-1", "--stdout").stdout
    monkeypatch.chdir(repo)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(mail.encode())))
    status, out, err = run(capsys, "check", "-", "--format", "json")
    (p,) = json.loads(out)["patches"]
    assert status == 2 and p["status"] == "error"
    assert p["reason"].startswith("the patch is already applied") and "mmu-role-lint git" in p["reason"]
    assert "does not apply" not in p["reason"] and "already applied" in err
