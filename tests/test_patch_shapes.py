"""``check`` end to end on every shape patches arrive in: web-archive copies
(the seed itself), mbox series, reversed and plain diffs, CRLF, standard
input, patches mixing MMU and other files, and trees found from the cwd."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import FIXTURES, expectations
from patchtools import damage_like_web_archive, require_seed

from analyzer.cli import main
from analyzer.patch import read_patches
from analyzer.runner import run_check

LEGACY = FIXTURES / "legacy" / "tree"
MODERN = FIXTURES / "modern" / "tree"
SERIES = FIXTURES / "legacy" / "series" / "nxe-series.mbox"


def check_json(capsys, *args: str) -> tuple[int, dict]:
    status = main(["check", *args, "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def keys(findings: list[dict]) -> list[str]:
    return sorted({f"{f['rule']}:{f['field']}" for f in findings})


def test_the_seed_as_copied_from_the_web_archive(capsys):
    status, data = check_json(capsys, str(require_seed()), "--tree", str(LEGACY))
    (p,) = data["patches"]
    assert status == 0
    assert p["subject"] == "x86/kvm/mmu: make mmu->prev_roots cache work for NPT case"
    assert p["status"] == "analyzed" and p["files"] == ["arch/x86/kvm/mmu.c"]
    assert p["repaired"] is True and "web archive" in p["repair_reason"]
    assert keys(p["fixed"]) == ["role-mismatch:cr4_pae"] and p["introduced"] == []


CLEAN = sorted(p for p in FIXTURES.glob("*/patches/*.patch") if not expectations(p).get("base"))


@pytest.mark.parametrize("patch", CLEAN, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_damaged_copy_gets_the_clean_verdict(patch: Path):
    tree = patch.parent.parent / "tree"
    clean = run_check(read_patches(patch.read_bytes()), tree).patches[0]
    damaged = run_check(read_patches(damage_like_web_archive(patch.read_text())), tree).patches[0]
    assert damaged.status == "analyzed" and damaged.repaired
    for kind in ("introduced", "fixed", "persisting"):
        assert sorted(f.fingerprint for f in getattr(damaged.delta, kind)) == sorted(
            f.fingerprint for f in getattr(clean.delta, kind)), kind


def test_mbox_series_reports_each_patch_and_the_fix(capsys):
    status, data = check_json(capsys, str(SERIES), "--tree", str(LEGACY))
    subjects = [p["subject"] for p in data["patches"]]
    assert subjects == [
        "x86/kvm/mmu: stop keeping nxe in the cached context role",
        "Documentation: kvm: add a note on shadow page roles",
        "x86/kvm/mmu: keep nxe in the base role mask",
    ]
    first, doc, fix = data["patches"]
    assert keys(first["introduced"]) == ["role-mismatch:nxe"]
    assert (doc["status"], doc["reason"]) == ("skipped", "no role code touched")
    assert keys(fix["fixed"]) == ["role-mismatch:nxe"] and fix["introduced"] == []
    assert first["introduced"][0]["fingerprint"] == fix["fixed"][0]["fingerprint"]
    assert data["summary"]["introduced"] == 1 and data["summary"]["fixed"] == 1
    assert status == 1


def test_series_stops_at_a_patch_that_does_not_apply(capsys, tmp_path):
    text = SERIES.read_text()
    # break the context of the last patch's hunk in mmu.c
    at = text.rindex(" \t.smep_andnot_wp = 1,\n")
    broken = text[:at] + " \t.smep_andnot_wp = 2,\n" + text[at + len(" \t.smep_andnot_wp = 1,\n"):]
    bad = tmp_path / "bad.mbox"
    bad.write_text(broken)
    status, data = check_json(capsys, str(bad), "--tree", str(LEGACY))
    statuses = [p["status"] for p in data["patches"]]
    assert statuses == ["analyzed", "skipped", "error"]
    reason = data["patches"][2]["reason"]
    assert "arch/x86/kvm/mmu.c" in reason and "@@" in reason and "does not apply" in reason
    assert status == 1  # the first patch was analyzed and introduced a finding


def test_files_outside_role_code_are_never_applied(capsys, tmp_path):
    # a hunk to a file the tree does not have: not role code, so not read
    patch = tmp_path / "doc.diff"
    patch.write_text("--- a/Documentation/missing.rst\n+++ b/Documentation/missing.rst\n"
                     "@@ -1 +1 @@\n-old\n+new\n")
    status, data = check_json(capsys, str(patch), "--tree", str(LEGACY))
    (p,) = data["patches"]
    assert status == 0 and (p["status"], p["reason"]) == ("skipped", "no role code touched")


def test_reversed_diff_reintroduces_the_bug(tmp_path, capsys):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    git = ["git", "-C", str(tree), "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    subprocess.run([*git, "apply", str(FIXTURES / "legacy/patches/0001-seed-fix.patch")], check=True)
    reverse = subprocess.run([*git, "diff", "-R"], check=True, capture_output=True, text=True).stdout
    assert "--- b/arch/x86/kvm/mmu.c" in reverse
    subprocess.run([*git, "commit", "-qam", "fixed"], check=True)
    patch = tmp_path / "reverse.diff"
    patch.write_text(reverse)
    status, data = check_json(capsys, str(patch), "--tree", str(tree))
    assert status == 1 and keys(data["patches"][0]["introduced"]) == ["role-mismatch:cr4_pae"]


def test_crlf_plain_diff_and_tree_from_cwd(tmp_path, capsys, monkeypatch):
    tree = tmp_path / "linux"
    shutil.copytree(LEGACY, tree)
    subprocess.run(["git", "-C", str(tree), "init", "-q"], check=True)
    (tree / "arch/x86/kvm/sub").mkdir()
    text = (FIXTURES / "legacy/patches/0009-mask-drops-nxe.patch").read_text()
    body = text[text.index("diff --git"):]
    plain = "\n".join(line for line in body.splitlines() if not line.startswith(("diff --git", "index ")))
    patch = tmp_path / "p.diff"
    patch.write_bytes(plain.replace("\n", "\r\n").encode())
    monkeypatch.chdir(tree / "arch/x86/kvm/sub")  # --tree omitted: the git work tree's top
    status, data = check_json(capsys, str(patch))
    assert status == 1 and keys(data["patches"][0]["introduced"]) == ["role-mismatch:nxe"]


def test_patch_mixing_mmu_and_other_files(tmp_path, capsys):
    text = (FIXTURES / "legacy/patches/0009-mask-drops-nxe.patch").read_text()
    extra = ("diff --git a/README b/README\nnew file mode 100644\n--- /dev/null\n+++ b/README\n"
             "@@ -0,0 +1 @@\n+hello\n"
             "diff --git a/logo.png b/logo.png\nnew file mode 100644\nBinary files /dev/null and b/logo.png differ\n")
    at = text.index("diff --git")
    patch = tmp_path / "mixed.patch"
    patch.write_text(text[:at] + extra + text[at:])
    status, data = check_json(capsys, str(patch), "--tree", str(LEGACY))
    (p,) = data["patches"]
    assert set(p["files"]) == {"README", "logo.png", "arch/x86/kvm/mmu.c"}
    assert any("logo.png" in n and "binary" in n.lower() for n in p.get("notes", []))
    assert keys(p["introduced"]) == ["role-mismatch:nxe"] and status == 1
