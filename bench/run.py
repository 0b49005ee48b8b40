#!/usr/bin/env python3
"""Benchmark mmu-role-lint as a user installs it, side by side with
checkpatch.pl and spatch, interleaved round by round: the rows and targets
of issue 16.

    python bench/run.py [--runs N] [--python PATH] [--release-trees OLD NEW]
                        [--json FILE] [--markdown FILE] [--keep]

Run by hand, never by the test suite. Standard library only, plus the test
helper ``tests/kernels.py`` (which imports pytest) for the kernel sources.
The analyzer timed is a regular install: a throwaway venv in the work
directory with ``pip install`` of this checkout (not editable; pip writes
the bytecode), or the one --python names. Kernel files are extracted under
the cache ($MMU_ROLE_LINT_CACHE or ~/.cache/mmu-role-lint); the venv, the
patches, the release diff, the replicated tree and the git repository of (d)
are built in a temporary directory: nothing is written into this repository
unless --json/--markdown name a file in it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import hashlib
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
VERSION = "6.12"
MMU_C = "arch/x86/kvm/mmu/mmu.c"
TDP_MMU_C = "arch/x86/kvm/mmu/tdp_mmu.c"
X86_C = "arch/x86/kvm/x86.c"
DOC = "Documentation/virt/kvm/x86/mmu.rst"
# checkpatch.pl reads spelling.txt and const_structs.checkpatch from its own
# directory; .checkpatch.conf (cwd, $HOME, .scripts) and typedefs are optional
# and the kernel tree has none. The MMU documentation rides along for (d).
CHECKPATCH_FILES = ("scripts/checkpatch.pl", "scripts/spelling.txt",
                    "scripts/const_structs.checkpatch")
EXTRA_FILES = (DOC,)
D_COMMITS = 50
AUTHOR = ("Bench Mark", "bench@example.org")
# Issue 16's targets: (a), (a-first) and (r) as a ratio to the spatch
# listing, (b) to checkpatch.pl, (d) in commits/s, (x8) as a ratio to (x1),
# (e) the peak RSS of every analyzer row in MB.
TARGETS = {"a": 0.35, "a-first": 0.6, "b": 0.5, "r": 1.0, "d": 20.0, "x8": 9.0, "e": 120.0}
# The release diff of (r): the KVM sources and kvm_host.h between two trees.
RELEASE_TREES = (Path("/work/kernels/v5.4.59"), Path("/work/kernels/v5.10.89"))
RELEASE_PATHS = ("arch/x86/include/asm/kvm_host.h", "arch/x86/kvm")
COPIES = 8  # (x8): mmu.c's functions this many times
WORK_PREFIX = "mmu-role-lint-bench-"  # of the work directory (its venv/, with --keep)
# What `pip install` of the package needs from this checkout (pyproject.toml).
PACKAGE_FILES = ("pyproject.toml", "README.md", "analyzer", "rules")

# Lists every assignment to a role field in a file: role.f, role.base.f,
# x->role.f, x.root_role.base.f ... (any identifier ending in "role").
SPATCH_LISTING = """\
@r@
identifier rv =~ "role$";
identifier f, g;
expression X, E;
position p;
@@
(
 X->rv.g.f@p = E
|
 X.rv.g.f@p = E
|
 X->rv.f@p = E
|
 X.rv.f@p = E
|
 rv.g.f@p = E
|
 rv.f@p = E
)

@script:python@
p << r.p;
f << r.f;
@@
print("%s:%s: %s" % (p[0].file, p[0].line, f))
"""

PATCH_A_ANCHOR = "\trole.quadrant = quadrant;\n"
PATCH_A_INSERT = "\tif (role.direct)\n\t\trole.guest_mode = 0;\n"
PATCH_B_ANCHOR = "int kvm_arch_vcpu_ioctl_run(struct kvm_vcpu *vcpu)\n"
PATCH_B_INSERT = "/* Entry point of KVM_RUN: runs the vCPU until an exit to userspace. */\n"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# kernel sources


def import_kernels() -> ModuleType:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        return importlib.import_module("kernels")
    except ImportError as err:
        sys.exit(f"bench: cannot import tests/kernels.py ({err}); "
                 "install the test extras: pip install -e '.[test]'")
    finally:
        sys.path.remove(str(ROOT / "tests"))


def checkpatch_tree(kernels: ModuleType, cache: Path) -> Path:
    """<cache>/checkpatch-6.12 with scripts/checkpatch.pl and its data files
    (and the MMU documentation for (d)), unpacked once from the same .deb."""
    top = cache / f"checkpatch-{kernels.chosen_version(VERSION, cache)}"
    wanted = (*CHECKPATCH_FILES, *EXTRA_FILES)
    if all((top / f).is_file() for f in wanted):
        return top
    deb = kernels.deb_file(VERSION, cache)
    log(f"extracting {', '.join(wanted)} from {deb.name} (once)")
    if top.exists():
        shutil.rmtree(top)
    try:
        kernels.unpack(VERSION, deb, top, wanted)
    except kernels.KernelFetchError as err:
        sys.exit(f"bench: {err}")
    return top


# --------------------------------------------------------------------------
# patches


def replace_once(text: str, old: str, new: str, what: str) -> str:
    count = text.count(old)
    if count != 1:
        raise SystemExit(f"bench: {what}: expected exactly one {old!r}, found {count}")
    return text.replace(old, new)


def blob_id(data: str) -> str:
    raw = data.encode()
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def funcname(lines: list[str], before: int) -> str:
    """git's default hunk-header context: the last line above the hunk that
    starts with a letter, '_' or '$'."""
    for line in reversed(lines[:before]):
        if line[:1].isalpha() or line[:1] in "_$":
            return " " + line.rstrip("\n")[:80]
    return ""


def make_mail(path: str, old: str, new: str, subject: str, body: str, n: int = 0) -> str:
    """A `git format-patch`-style mail changing one file with one hunk."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    diff = list(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=3))
    hunks = [i for i, line in enumerate(diff) if line.startswith("@@")]
    if len(hunks) != 1:
        raise SystemExit(f"bench: patch to {path} has {len(hunks)} hunks, expected one")
    start = int(re.match(r"@@ -(\d+)", diff[hunks[0]]).group(1))  # type: ignore[union-attr]
    diff[hunks[0]] = diff[hunks[0]].rstrip("\n") + funcname(a, start + 2) + "\n"
    plus = sum(1 for line in diff[hunks[0] + 1:] if line.startswith("+"))
    minus = sum(1 for line in diff[hunks[0] + 1:] if line.startswith("-"))
    changes = [f"{plus} insertion{'s' if plus != 1 else ''}(+)"] if plus else []
    if minus:
        changes.append(f"{minus} deletion{'s' if minus != 1 else ''}(-)")
    date = dt.datetime(2025, 1, 6, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n)
    return (
        f"From {'0' * 40} Mon Sep 17 00:00:00 2001\n"
        f"From: {AUTHOR[0]} <{AUTHOR[1]}>\n"
        f"Date: {date.strftime('%a, %-d %b %Y %H:%M:%S +0000')}\n"
        f"Subject: [PATCH] {subject}\n\n"
        f"{body}\n\n"
        f"Signed-off-by: {AUTHOR[0]} <{AUTHOR[1]}>\n"
        "---\n"
        f" {path} | {plus + minus} {'+' * plus}{'-' * minus}\n"
        f" 1 file changed, {', '.join(changes)}\n\n"
        f"diff --git a/{path} b/{path}\n"
        f"index {blob_id(old)[:12]}..{blob_id(new)[:12]} 100644\n"
        + "".join(diff)
        + "-- \n2.39.5\n\n"
    )


def build_patches(tree: Path, work: Path) -> tuple[Path, Path]:
    mmu = (tree / MMU_C).read_text()
    new = replace_once(mmu, PATCH_A_ANCHOR, PATCH_A_ANCHOR + PATCH_A_INSERT, "patch (a)")
    patch_a = work / "a-role.patch"
    patch_a.write_text(make_mail(
        MMU_C, mmu, new, "KVM: x86/mmu: Clear guest_mode in direct roots",
        "Direct roots do not depend on the guest's paging mode, so do not let\n"
        "guest_mode split them."))
    x86 = (tree / X86_C).read_text()
    new = replace_once(x86, PATCH_B_ANCHOR, PATCH_B_INSERT + PATCH_B_ANCHOR, "patch (b)")
    patch_b = work / "b-no-mmu.patch"
    patch_b.write_text(make_mail(
        X86_C, x86, new, "KVM: x86: Document kvm_arch_vcpu_ioctl_run()",
        "Say in one line what the KVM_RUN entry point does."))
    return patch_a, patch_b


# --------------------------------------------------------------------------
# (d): a git repository with 50 commits of mutations


@dataclass
class Step:
    subject: str
    path: str
    edit: Callable[[str], str]
    kind: str  # "benign" (role code), "introduce", "fix", "other" (no MMU file)


def _ins(before: str, comment: str) -> Callable[[str], str]:
    return lambda t: replace_once(t, before, comment + before, comment.strip())


def _sub(old: str, new: str) -> Callable[[str], str]:
    return lambda t: replace_once(t, old, new, old.strip())


def _swap(first: str, second: str) -> Callable[[str], str]:
    return _sub(first + second, second + first)


def role_steps() -> list[Step]:
    m, t = MMU_C, TDP_MMU_C
    c = "KVM: x86/mmu: "
    return [
        Step(c + "Comment the child role", m, _ins(
            "\trole = parent_sp->role;\n\trole.level--;\n\trole.access = access;\n",
            "\t/* A child page starts from its parent's role. */\n"), "benign"),
        Step(c + "Set child direct before access", m, _swap(
            "\trole.access = access;\n", "\trole.direct = direct;\n"), "benign"),
        Step(c + "Comment the root role adjustments", m, _ins(
            "\trole.level = level;\n\trole.quadrant = quadrant;\n",
            "\t/* A root differs from the MMU's root role in level and quadrant only. */\n"),
            "benign"),
        Step(c + "Set guest_mode before smm in the CPU role", m, _swap(
            "\trole.base.smm = is_smm(vcpu);\n",
            "\trole.base.guest_mode = is_guest_mode(vcpu);\n"), "benign"),
        Step(c + "Comment the CR4 bits of the CPU role", m, _ins(
            "\trole.ext.cr4_smep = ____is_cr4_smep(regs);\n",
            "\t/* CR4 bits that change how guest page tables are walked. */\n"), "benign"),
        Step(c + "Set CR4.SMAP before CR4.SMEP", m, _swap(
            "\trole.ext.cr4_smep = ____is_cr4_smep(regs);\n",
            "\trole.ext.cr4_smap = ____is_cr4_smap(regs);\n"), "benign"),
        Step(c + "Use 1 for cr0_wp in the TDP root role", m, _sub(
            "\trole.cr0_wp = true;\n", "\trole.cr0_wp = 1;\n"), "benign"),
        Step(c + "Use 1 for efer_nx in the TDP root role", m, _sub(
            "\trole.efer_nx = true;\n", "\trole.efer_nx = 1;\n"), "benign"),
        Step(c + "Use 1 for direct in the TDP root role", m, _sub(
            "\trole.direct = true;\n", "\trole.direct = 1;\n"), "benign"),
        Step(c + "Use 0 for has_4_byte_gpte in the TDP root role", m, _sub(
            "\trole.has_4_byte_gpte = false;\n", "\trole.has_4_byte_gpte = 0;\n"), "benign"),
        Step(c + "Set guest_mode before smm in the TDP root role", m, _swap(
            "\trole.smm = cpu_role.base.smm;\n",
            "\trole.guest_mode = cpu_role.base.guest_mode;\n"), "benign"),
        Step(c + "Use 1 for guest_mode in the EPT role", m, _sub(
            "\trole.base.guest_mode = true;\n", "\trole.base.guest_mode = 1;\n"), "benign"),
        Step(c + "Use 0 for direct in the EPT role", m, _sub(
            "\trole.base.direct = false;\n", "\trole.base.direct = 0;\n"), "benign"),
        Step(c + "Set valid before execonly in the EPT role", m, _swap(
            "\trole.ext.execonly = execonly;\n", "\trole.ext.valid = 1;\n"), "benign"),
        Step(c + "Comment the NPT root level", m, _ins(
            "\troot_role.level = kvm_mmu_get_tdp_level(vcpu);\n\tif (root_role.level",
            "\t/* NPT roots use the host's TDP level, not the guest's. */\n"), "benign"),
        Step(c + "Use 1 for efer_nx in the shadow root role", m, _sub(
            "\troot_role.efer_nx = true;\n", "\troot_role.efer_nx = 1;\n"), "benign"),
        Step(c + "Comment the real-mode CPU role", m, _ins(
            "\t\trole.base.direct = 1;\n\t\treturn role;\n",
            "\t\t/* Paging is off: guest addresses are physical. */\n"), "benign"),
        Step(c + "Comment the TDP child role", t, _ins(
            "\trole = parent_sp->role;\n\trole.level--;\n\n",
            "\t/* A child page starts from its parent's role, one level down. */\n"),
            "benign"),
        Step(c + "Comment the TDP role store", t, _ins(
            "\tsp->role = role;\n", "\t/* The role is what lookups compare. */\n"), "benign"),
        Step(c + "Set ptep before gfn in tdp_mmu_init_sp()", t, _swap(
            "\tsp->gfn = gfn;\n", "\tsp->ptep = sptep;\n"), "benign"),
        Step(c + "Use 1 for tdp_mmu_page", t, _sub(
            "\tsp->tdp_mmu_page = true;\n", "\tsp->tdp_mmu_page = 1;\n"), "benign"),
        Step(c + "Use 1 to invalidate TDP roots", t, _sub(
            "\t\t\troot->role.invalid = true;\n", "\t\t\troot->role.invalid = 1;\n"),
            "benign"),
        Step(c + "Comment the new TDP root", t, _ins(
            "\troot = tdp_mmu_alloc_sp(vcpu);\n\ttdp_mmu_init_sp(root, NULL, 0, role);\n",
            "\t/* No usable root: make one with the MMU's root role. */\n"), "benign"),
    ]


def mismatch_pairs() -> list[tuple[Step, Step]]:
    """Commits that introduce a role mismatch, each with its later fix."""
    c = "KVM: x86/mmu: "
    pairs = [
        (MMU_C, "\trole.quadrant = quadrant;\n", PATCH_A_INSERT, "guest_mode in direct roots"),
        (TDP_MMU_C, "\troot = tdp_mmu_alloc_sp(vcpu);\n", "\trole.ad_disabled = 0;\n",
         "ad_disabled in new TDP roots"),
        (MMU_C, "\trole.quadrant = quadrant;\n", "\trole.smm = 0;\n", "smm in shadow roots"),
    ]
    out = []
    for path, anchor, lines, what in pairs:
        out.append((Step(c + f"Clear {what}", path, _sub(anchor, anchor + lines), "introduce"),
                    Step(c + f"Revert clearing {what}", path,
                         _sub(anchor + lines, anchor), "fix")))
    return out


def other_steps(tree: Path) -> list[Step]:
    """Commits that touch no MMU file: comments in x86.c, the documentation."""
    x86 = (tree / X86_C).read_text()
    names = re.findall(r"^(?:static )?(?:int|void|bool|long) (kvm_\w+)\(", x86, re.M)
    steps = []
    for name in names[:: max(1, len(names) // 15)][:15]:
        line = re.search(rf"^(?:static )?(?:int|void|bool|long) {name}\(", x86, re.M)
        assert line is not None
        head = x86[line.start():x86.index("\n", line.start()) + 1]
        steps.append(Step(f"KVM: x86: Document {name}()", X86_C, _ins(
            head, f"/* {name}(): comment added by the benchmark. */\n"), "other"))
    for n in range(1, 7):
        steps.append(Step(f"Documentation: KVM: x86/mmu: Add note {n}", DOC,
                          lambda t, n=n: t + f"\n.. Benchmark note {n}: wording only.\n",
                          "other"))
    return steps


def plan_commits(tree: Path) -> list[Step]:
    """50 steps: role-code edits and unrelated ones alternating, each mismatch
    introduced and fixed four commits later."""
    role, other, pairs = role_steps(), other_steps(tree), mismatch_pairs()
    plan: list[Step] = []
    while role or other:
        if role:
            plan.append(role.pop(0))
        if other:
            plan.append(other.pop(0))
    for at, (bad, fix) in zip((8, 24, 40), pairs, strict=True):
        plan.insert(at, bad)
        plan.insert(at + 4, fix)
    if len(plan) != D_COMMITS:
        raise SystemExit(f"bench: planned {len(plan)} commits, expected {D_COMMITS}")
    return plan


def git(repo: Path, *args: str, n: int = 0) -> str:
    date = f"2025-01-06T12:{n // 60:02d}:{n % 60:02d}+00:00"
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    cmd = ["git", "-c", f"user.name={AUTHOR[0]}", "-c", f"user.email={AUTHOR[1]}",
           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=master",
           "-c", f"core.hooksPath={os.devnull}", *args]
    result = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def build_repo(tree: Path, docs: Path, work: Path) -> tuple[Path, str, list[Step]]:
    repo = work / "linux"
    shutil.copytree(tree, repo)
    (repo / DOC).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(docs / DOC, repo / DOC)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Linux {VERSION} (KVM files of Debian's linux-source)")
    base = git(repo, "rev-parse", "HEAD")
    plan = plan_commits(tree)
    for n, step in enumerate(plan, 1):
        path = repo / step.path
        path.write_text(step.edit(path.read_text()))
        git(repo, "commit", "-q", "-a", "-m", step.subject, "-m",
            f"Benchmark commit {n} ({step.kind}).", "-m",
            f"Signed-off-by: {AUTHOR[0]} <{AUTHOR[1]}>", n=n)
    return repo, base, plan


# --------------------------------------------------------------------------
# the analyzer as a user installs it


def run_or_exit(cmd: list[str], what: str, **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(f"bench: {what} failed (exit {result.returncode}): {' '.join(cmd)}\n"
                 f"{(result.stderr or result.stdout).strip()}")
    return result


def install(work: Path) -> Path:
    """A throwaway venv in the work directory with `pip install` of this
    checkout as it is (not editable: pip copies the package and compiles its
    bytecode, as for a user). pip builds from a copy of the package files, so
    that no build/ or egg-info lands in the repository. Returns its python."""
    src = work / "src"
    src.mkdir()
    for name in PACKAGE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    venv = work / "venv"
    log(f"installing mmu-role-lint into {venv} (pip install, not editable)")
    run_or_exit([sys.executable, "-m", "venv", str(venv)], "python -m venv")
    python = venv / "bin" / "python"
    run_or_exit([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 str(src)], "pip install")
    return python


INSTALL_PROBE = """\
import importlib.metadata as md, pathlib, analyzer
top = pathlib.Path(analyzer.__file__).resolve().parent
print(top)
print(md.version("mmu-role-lint"))
print(sum(1 for _ in top.rglob("*.pyc")), sum(1 for _ in top.rglob("*.py")))
"""


def analyzer_command(python: Path, throwaway: bool) -> tuple[list[str], str]:
    """The command that runs the install of `python` (its `mmu-role-lint`
    script, else `python -m analyzer`) and a line saying what it is
    (``throwaway``: a venv the bench made, by `install` now or by an
    earlier run, kept)."""
    probe = run_or_exit([str(python), "-c", INSTALL_PROBE], f"importing analyzer with {python}",
                        cwd=tempfile.gettempdir())
    top, version, counts = probe.stdout.split("\n")[:3]
    pyc, py = counts.split()
    where = Path(top)
    regular = not where.is_relative_to(ROOT)
    if not regular:
        log(f"{python} imports analyzer from this checkout ({where}): not a regular install")
    script = python.parent / "mmu-role-lint"
    cmd = [str(script)] if script.is_file() else [str(python), "-m", "analyzer"]
    # the README shows this line: no path of this machine in it
    place = "in a throwaway venv" if throwaway else f"at {where}"
    desc = (f"mmu-role-lint {version} installed {place} ({pyc} .pyc for {py} .py)"
            + ("" if regular else ", NOT a regular install (editable or a checkout)"))
    return cmd, desc


# --------------------------------------------------------------------------
# (r): the release diff between two trees

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def release_diff(old: Path, new: Path, work: Path) -> tuple[Path | None, str]:
    """`git diff --no-index -M` of kvm_host.h and arch/x86/kvm between the
    trees OLD and NEW, with its paths made relative to the tree tops (as a
    diff between two checkouts of the kernel reads). None and why when a
    tree or one of the paths is missing."""
    for top in (old, new):
        missing = [p for p in RELEASE_PATHS if not (top / p).exists()]
        if missing:
            return None, f"{top / missing[0]} is missing"
    parent = Path(os.path.commonpath([old.resolve(), new.resolve()]))
    o, n = (str(t.resolve().relative_to(parent)) for t in (old, new))
    text = []
    for rel in RELEASE_PATHS:
        r = subprocess.run(["git", "diff", "--no-index", "--no-color", "--no-ext-diff", "-M",
                            "--src-prefix=a/", "--dst-prefix=b/", f"{o}/{rel}", f"{n}/{rel}"],
                           cwd=parent, env={**os.environ, **GIT_ENV}, capture_output=True,
                           text=True, check=False)
        if r.returncode not in (0, 1):
            sys.exit(f"bench: git diff --no-index {o}/{rel} {n}/{rel}: {r.stderr.strip()}")
        text.append(r.stdout)
    out, header = [], False
    for line in "".join(text).splitlines(keepends=True):
        if line.startswith("diff --git "):
            header = True
        elif line.startswith("@@"):
            header = False
        if header:
            for side in (o, n):
                line = line.replace(f" a/{side}/", " a/").replace(f" b/{side}/", " b/")
                line = line.replace(f"--- a/{side}/", "--- a/").replace(f"+++ b/{side}/", "+++ b/")
                for word in ("rename from ", "rename to ", "copy from ", "copy to "):
                    line = line.replace(f"{word}{side}/", word)
            if f"{o}/" in line or f"{n}/" in line:
                sys.exit(f"bench: release diff: cannot make this header line relative: {line!r}")
        out.append(line)
    path = work / "release.diff"
    path.write_text("".join(out))
    return path, f"{len(out)} lines, {sum(1 for x in out if x.startswith('diff --git '))} files"


# --------------------------------------------------------------------------
# (x8): mmu.c's functions replicated


def function_spans(lines: list[str]) -> list[tuple[str, int, int]]:
    """Kernel-style function definitions in a file: a body that opens with
    `{` alone at column 0 and closes with the next `}` alone at column 0,
    after a header that starts at column 0 (a return type on a line of its
    own included). (name, first line, end) for each, in file order."""
    spans = []
    i = 0
    while i < len(lines):
        if lines[i] != "{\n":
            i += 1
            continue
        start = i - 1
        while start > 0 and lines[start][:1] in (" ", "\t", "\n"):
            start -= 1
        while start > 0 and re.fullmatch(r"[A-Za-z_][\w \t*]*\n", lines[start - 1]):
            start -= 1
        end = lines.index("}\n", i) + 1
        name = re.search(r"(\w+)\s*\(", "".join(lines[start:i]))
        if name and re.match(r"[A-Za-z_]", lines[start]):
            spans.append((name.group(1), start, end))
        i = end
    return spans


def replicate(tree: Path, work: Path) -> tuple[Path, str]:
    """A copy of the tree whose mmu.c is the original followed by COPIES - 1
    copies of its function definitions, each copy with every function name
    the file defines suffixed `_x<k>` (calls and references too, not fields
    after `.` or `->`), so that the copies call each other and nothing
    clashes. Macros, types and variables stay single; the copies share them."""
    out = work / f"kvm-x{COPIES}"
    shutil.copytree(tree, out)
    text = (tree / MMU_C).read_text()
    lines = text.splitlines(keepends=True)
    spans = function_spans(lines)
    names = sorted({name for name, _, _ in spans}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(?<!->)(?<!struct )(" + "|".join(names) + r")\b")
    body = "".join("".join(lines[s:e]) + "\n" for _, s, e in spans)
    copies = [f"\n/* bench: copy {k} of the functions above, names suffixed _x{k} */\n\n"
              + pattern.sub(lambda m, k=k: f"{m.group(1)}_x{k}", body)
              for k in range(2, COPIES + 1)]
    (out / MMU_C).write_text(text + "".join(copies))
    return out, (f"{len(spans)} definitions of {len(names)} functions, "
                 f"{len(lines)} -> {len(lines) + sum(c.count(chr(10)) for c in copies)} lines")


SUMMARY = {"functions": r"(\d+) functions", "in role flow": r"(\d+) in role flow",
           "ERROR/MISSING": r"(\d+) ERROR/MISSING", "compare sites": r"(\d+) compare sites",
           "role stores": r"(\d+) role stores", "producers": r"(\d+) producers"}


def summary_counts(stderr: str) -> dict[str, int] | None:
    """The counts of `scan -v`'s summary lines, None if any is missing."""
    found = {k: re.search(p, stderr) for k, p in SUMMARY.items()}
    return None if None in found.values() else {
        k: int(m.group(1)) for k, m in found.items() if m is not None}


# --------------------------------------------------------------------------
# measuring


@dataclass
class Measure:
    key: str
    label: str  # shortened command for the tables
    argv: list[str]
    expect: tuple[int, ...]  # accepted exit statuses
    env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    failed: str = ""
    stderr: str = ""  # of the last run


# Fallback when GNU time is missing: fork from a small interpreter so the
# child's peak RSS is its own (see rss_wrapper).
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def rss_wrapper() -> tuple[list[str], str]:
    """The prefix that runs a command and writes its peak RSS (KB) to the file
    named next. Not os.wait4 on our own Popen child: Python starts children
    with vfork, and Linux keeps the RSS high-water mark of the mm a process
    leaves at exec, so the child would report this script's RSS whenever it
    is the larger (pytest comes in with tests/kernels.py)."""
    gnu = ["/usr/bin/time", "-f", "%M", "-o"]
    try:
        ok = subprocess.run([*gnu, os.devnull, "true"], capture_output=True,
                            check=False).returncode == 0
    except OSError:
        ok = False
    if ok:
        return gnu, "GNU time %M"
    return [sys.executable, "-S", "-c", LAUNCHER], "fork+wait4 from a small Python (floor ~7 MB)"


def run_once(m: Measure, work: Path, wrapper: list[str]) -> tuple[float, int, int, str]:
    """Seconds, peak RSS (KB) and exit status of one run. Every command goes
    through the same wrapper, so its cost (about a millisecond) is the same
    on both sides of each ratio."""
    env = {**os.environ, **m.env}
    # A user's environment: this sandbox sets PYTHONDONTWRITEBYTECODE, which a
    # regular install (bytecode compiled by pip) does not need anyway.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with (tempfile.NamedTemporaryFile(dir=work, mode="r") as rss,
          tempfile.TemporaryFile(dir=work) as err):
        start = time.perf_counter()
        status = subprocess.run([*wrapper, rss.name, *m.argv], cwd=work, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, check=False).returncode
        elapsed = time.perf_counter() - start
        last = (rss.read().strip().splitlines() or [""])[-1]
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return elapsed, int(last) if last.isdigit() else 0, status, stderr


def measure(m: Measure, work: Path, wrapper: list[str], record: bool) -> None:
    if m.failed:
        return
    elapsed, rss, status, m.stderr = run_once(m, work, wrapper)
    if status not in m.expect:
        m.failed = f"exit status {status}, expected {' or '.join(map(str, m.expect))}"
        print(f"\n!!! bench: {m.key} ({m.label}): UNEXPECTED {m.failed}; not timed from now on"
              f"\n!!! command: {' '.join(m.argv)}\n!!! stderr:\n{m.stderr.rstrip()}\n",
              file=sys.stderr, flush=True)
        return
    if record:
        m.times.append(elapsed)
        m.rss_kb.append(rss)


# --------------------------------------------------------------------------
# sanity checks (untimed): the inputs do what they claim


def analyzer_json(argv: list[str], work: Path) -> tuple[int, dict | None, str]:
    out = work / "sanity.json"
    result = subprocess.run([*argv, "--format", "json", "-o", str(out)], cwd=work,
                            capture_output=True, text=True, check=False)
    data = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    out.unlink(missing_ok=True)
    return result.returncode, data, result.stderr


def delta_counts(data: dict | None) -> str:
    patches = (data or {}).get("patches", [])
    return ", ".join(f"{sum(len(p.get(k, [])) for p in patches)} {k}"
                     for k in ("introduced", "fixed", "persisting"))


def sanity(py: list[str], inputs: dict[str, list[str]], work: Path, spatch: list[str],
           plan: list[Step]) -> dict[str, str]:
    """One untimed JSON run of (a), (b), (r) and (d), and of spatch."""
    notes: dict[str, str] = {}
    if "a" in inputs:
        status, data, err = analyzer_json([*py, *inputs["a"]], work)
        fields = sorted({f["field"] for p in (data or {}).get("patches", [])
                         for f in p.get("introduced", [])})
        notes["a"] = f"exit {status}, introduced fields {fields or 'none'}"
    if "b" in inputs:
        status, data, err = analyzer_json([*py, *inputs["b"]], work)
        st = [p.get("status") for p in (data or {}).get("patches", [])]
        notes["b"] = (f"exit {status}, patch status {st}"
                      + (f"; {err.strip()}" if status > 1 else ""))
    if "r" in inputs:
        status, data, err = analyzer_json([*py, *inputs["r"]], work)
        notes["r"] = (f"exit {status}, {delta_counts(data)}"
                      + (f"; {err.strip()}" if status > 1 else ""))
    spatch_out = subprocess.run(spatch, cwd=work, capture_output=True, text=True, check=False)
    notes["spatch"] = (f"exit {spatch_out.returncode}, "
                       f"{len(spatch_out.stdout.splitlines())} role field assignments listed")
    if "d" in inputs:
        status, data, err = analyzer_json([*py, *inputs["d"]], work)
        patches = (data or {}).get("patches", [])
        statuses: dict[str, int] = {}
        for p in patches:
            statuses[p.get("status", "?")] = statuses.get(p.get("status", "?"), 0) + 1
        got_in = [i for i, p in enumerate(patches, 1) if p.get("introduced")]
        got_fix = [i for i, p in enumerate(patches, 1) if p.get("fixed")]
        want_in = [i for i, s in enumerate(plan, 1) if s.kind == "introduce"]
        want_fix = [i for i, s in enumerate(plan, 1) if s.kind == "fix"]
        ok = got_in == want_in and got_fix == want_fix and len(patches) == len(plan)
        notes["d"] = (f"exit {status}, {len(patches)} commits {statuses}; introduced in "
                      f"#{got_in} (planned #{want_in}), fixed in #{got_fix} "
                      f"(planned #{want_fix})" + ("" if ok else "  <-- DIFFERS FROM PLAN")
                      + (f"; {err.strip()}" if status > 1 else ""))
    return notes


def replication_note(py: list[str], tree: Path, work: Path, x1: Measure, x8: Measure) -> str:
    """Whether the replicated tree holds COPIES times mmu.c: the `scan -v`
    counts of (x8) minus those of (x1) must be COPIES - 1 times the counts of
    mmu.c alone (scanned once more here, untimed). Reads the stderr of the
    warm-up runs of (x1) and (x8)."""
    one = subprocess.run([*py, "scan", "-v", "--tree", str(tree), MMU_C], cwd=work,
                         env={**os.environ, "MMU_ROLE_LINT_NO_CACHE": "1"},
                         capture_output=True, text=True, check=False)
    per_copy, c1, c8 = (summary_counts(s) for s in (one.stderr, x1.stderr, x8.stderr))
    if per_copy is None or c1 is None or c8 is None:
        return "cannot read the counts of `scan -v` (its summary lines changed?)"
    off = [k for k in SUMMARY if c8[k] - c1[k] != (COPIES - 1) * per_copy[k]]
    return (f"mmu.c alone {per_copy}; whole tree x1 {c1}, x{COPIES} {c8}: "
            + (f"x{COPIES} - x1 = {COPIES - 1} x mmu.c for every count" if not off
               else f"NOT {COPIES - 1} x mmu.c in {', '.join(off)}  <-- REPLICATION DIFFERS"))


# --------------------------------------------------------------------------
# report


def machine() -> dict[str, str]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    def out(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
        except OSError:
            return "?"
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else "?"
    head = out(["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "--no-optional-locks", "status", "--porcelain", "--", "analyzer"])
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model or platform.processor() or "?",
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "checkout": f"{head}{' + uncommitted changes in analyzer/' if dirty not in ('', '?') else ''}",
        "spatch": out(["spatch", "--version"]).split(" compiled")[0],
        "perl": out(["perl", "-e", "print $^V"]),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def stats(values: list[float]) -> tuple[float, float, float] | None:
    return (statistics.median(values), min(values), max(values)) if values else None


# (key, row, target text, baseline key, how the value is made and compared)
ROWS = (
    ("a", "(a)", "<= 0.35x spatch", "spatch"),
    ("a-first", "(a-first)", "<= 0.6x spatch", "spatch"),
    ("b", "(b)", "<= 0.5x checkpatch", "checkpatch"),
    ("r", "(r)", "<= 1.0x spatch", "spatch"),
    ("d", "(d)", f">= {TARGETS['d']:g} commits/s", None),
    ("x1", "(x1)", "baseline of (x8)", None),
    ("x8", "(x8)", f"<= {TARGETS['x8']:g}x (x1)", "x1"),
)
ANALYZER_ROWS = tuple(key for key, *_ in ROWS)


def build_rows(ms: dict[str, Measure], skipped: dict[str, str]) -> list[dict]:
    rows: list[dict] = []

    def secs(key: str) -> tuple[float, float, float] | None:
        return stats(ms[key].times) if key in ms and not ms[key].failed else None

    def why(key: str) -> str:
        if key in skipped:
            return f"skipped: {skipped[key]}"
        if key not in ms:
            return "not available"
        return f"FAILED: {ms[key].failed}" if ms[key].failed else "no data"

    def peak(key: str) -> float | None:
        m = ms.get(key)
        return max(m.rss_kb) / 1024 if m and m.rss_kb and not m.failed else None

    def row(key: str, name: str, target: str, s: tuple[float, float, float] | None,
            ok: bool | None, verdict: str) -> dict:
        label = ms[key].label if key in ms else key
        return {"row": name, "key": key, "command": label, "unit": "s", "stats": s,
                "rss_mb": peak(key), "target": target, "ok": ok, "verdict": verdict}

    for key, name, target, base in ROWS:
        s = secs(key)
        if key == "d":
            rate = D_COMMITS / s[0] if s else None
            rows.append(row(key, name, target, s, rate is not None and rate >= TARGETS["d"],
                            f"{rate:.1f} commits/s" if rate else why(key)))
        elif base is None:
            rows.append(row(key, name, target, s, None, "baseline" if s else why(key)))
        else:
            b = secs(base)
            ratio = s[0] / b[0] if s and b else None
            other = base if base != "x1" else "(x1)"
            verdict = (f"{ratio:.2f}x {other}" if ratio is not None
                       else why(key) if not s else f"no baseline: {why(base)}")
            rows.append(row(key, name, target, s,
                            None if ratio is None else ratio <= TARGETS[key], verdict))
    peaks = {key: peak(key) for key in ANALYZER_ROWS if peak(key) is not None}
    top = max(peaks, key=lambda k: peaks[k]) if peaks else None
    rows.append({"row": "(e)", "key": "e", "command": "peak RSS of every row above",
                 "unit": "MB", "stats": None, "rss_mb": peaks[top] if top else None,
                 "target": f"<= {TARGETS['e']:g} MB on every row",
                 "ok": bool(top) and peaks[top] <= TARGETS["e"],  # type: ignore[index]
                 "verdict": (f"max {peaks[top]:.0f} MB, in ({top})" if top else "no data")})
    for key in ("checkpatch", "spatch"):
        s = secs(key)
        rows.append(row(key, key, f"baseline of {'(b)' if key == 'checkpatch' else '(a), (r)'}",
                        s, None, "baseline" if s else why(key)))
    return rows


def cells(r: dict) -> list[str]:
    s = r["stats"]
    nums = [f"{v:.3f} s" for v in s] if s else ["-", "-", "-"]
    rss = f"{r['rss_mb']:.0f} MB" if r["rss_mb"] is not None else "-"
    mark = "" if r["ok"] is None else (" ok" if r["ok"] else " MISSES")
    return [r["row"], r["command"], *nums, rss, r["target"], r["verdict"] + mark]


HEADER = ["row", "command", "median", "min", "max", "peak RSS", "target", "verdict"]


def text_table(rows: list[dict]) -> str:
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def setting(mach: dict[str, str], runs: int) -> str:
    return (f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), Python {mach['python']}, "
            f"{mach['date']}; {mach['install']}, from checkout {mach['checkout']}; "
            f"{mach['spatch']}, perl {mach['perl']}; load average {mach['loadavg']} at start, "
            f"{mach.get('loadavg_end', '?')} at end. Median, min and max of {runs} interleaved "
            f"rounds after one warm-up round; peak RSS (max over the rounds) by "
            f"{mach['peak_rss_by']}.")


def markdown(rows: list[dict], mach: dict[str, str], runs: int, notes: dict,
             places: dict[str, str]) -> str:
    """The README's Speed table: the setting, the table, where the inputs are
    (the placeholders of the commands) and the sanity checks."""
    out = [setting(mach, runs), "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        c = cells(r)
        c[1] = f"`{c[1]}`" if r["key"] != "e" else c[1]
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in c) + " |")
    out += ["", "Inputs: " + "; ".join(f"`{k}` {v}" for k, v in places.items()) + ".",
            "", "Sanity checks (untimed):", ""]
    out += [f"- {key}: {note}" for key, note in notes.items()]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="timed rounds (default 7, at least 7 "
                    "for the report)")
    ap.add_argument("--python", metavar="PATH", help="time the install of this Python (a "
                    "venv's bin/python with mmu-role-lint pip-installed, such as the one "
                    "--keep leaves) instead of installing into a new venv")
    ap.add_argument("--release-trees", nargs=2, metavar=("OLD", "NEW"), type=Path,
                    default=list(RELEASE_TREES), help="the trees of (r)'s release diff "
                    f"(default {RELEASE_TREES[0]} {RELEASE_TREES[1]}); (r) is skipped when "
                    "one is missing")
    ap.add_argument("--json", metavar="FILE", help="write the raw numbers there")
    ap.add_argument("--markdown", metavar="FILE", help="write the README's Speed table there")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (venv, "
                    "patches, trees, git repository) and print where it is")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.runs < 7:
        log(f"only {args.runs} runs: the issue asks for at least 7")
    if args.python and not Path(args.python).is_file():
        ap.error(f"--python {args.python}: no such file")
    for tool in ("perl", "spatch", "git"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed")

    kernels = import_kernels()
    cache = kernels.cache_dir()
    tree = kernels.kernel_tree(VERSION, cache)
    cp_tree = checkpatch_tree(kernels, cache)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX))
    mach = machine()
    wrapper, mach["peak_rss_by"] = rss_wrapper()
    try:
        python = Path(args.python).absolute() if args.python else install(work)
        # made here, or kept by an earlier run: <work>/venv/bin/python
        throwaway = not args.python or python.parents[2].name.startswith(WORK_PREFIX)
        py, mach["install"] = analyzer_command(python, throwaway)
        log(mach["install"])
        exe = "mmu-role-lint" if py[0].endswith("mmu-role-lint") else "python -m analyzer"
        patch_a, patch_b = build_patches(tree, work)
        cocci = work / "roles.cocci"
        cocci.write_text(SPATCH_LISTING)
        d_available = subprocess.run([*py, "git", "--help"], cwd=work, capture_output=True,
                                     check=False).returncode == 0
        repo, base, plan = (build_repo(tree, cp_tree, work) if d_available
                            else (None, "", []))
        old, new = args.release_trees
        release, release_note = release_diff(old, new, work)
        x8_tree, x8_note = replicate(tree, work)
        skipped: dict[str, str] = {}
        if not d_available:
            skipped["d"] = "`mmu-role-lint git` is not available"
        if release is None:
            skipped["r"] = f"no release trees ({release_note}); pass --release-trees OLD NEW"
        for key, why in skipped.items():
            log(f"({key}) skipped: {why}")
        spatch = ["spatch", "--very-quiet", "--sp-file", str(cocci), str(tree / MMU_C)]
        cold = {"MMU_ROLE_LINT_NO_CACHE": "1"}
        inputs: dict[str, list[str]] = {
            "a": ["check", str(patch_a), "--tree", str(tree)],
            "b": ["check", str(patch_b), "--tree", str(tree)],
        }
        if release is not None:
            inputs["r"] = ["check", str(release), "--tree", str(old)]
        if repo is not None:
            inputs["d"] = ["git", f"{base}..HEAD", "--tree", str(repo)]
        places = {"<6.12>": f"Debian's linux-source-6.12 KVM files ({tree.name})",
                  f"<6.12 x{COPIES}>": f"the same with mmu.c's functions {COPIES} times "
                  f"({x8_note})"}
        if release is not None:
            # the trees by their release, under <kernels> (--release-trees):
            # the README shows this line, no path of this machine in it
            places["release.diff"] = (f"`git diff --no-index -M` of {' and '.join(RELEASE_PATHS)}"
                                      f" between <kernels>/{old.name} and <kernels>/{new.name}"
                                      f" ({release_note})")
            places[f"<{old.name}>"] = f"<kernels>/{old.name}"
        ms: dict[str, Measure] = {}

        def add(key: str, label: str, argv: list[str], expect: tuple[int, ...],
                env: dict[str, str] | None = None) -> None:
            prefix = "".join(f"{k}={v} " for k, v in (env or {}).items())
            ms[key] = Measure(key, prefix + label, argv, expect, env or {})

        add("a", f"{exe} check a-role.patch --tree <6.12>", [*py, *inputs["a"]], (1,))
        add("a-first", f"{exe} check a-role.patch --tree <6.12>", [*py, *inputs["a"]], (1,),
            cold)
        add("b", f"{exe} check b-no-mmu.patch --tree <6.12>", [*py, *inputs["b"]], (0,))
        if "r" in inputs:
            add("r", f"{exe} check release.diff --tree <{old.name}>", [*py, *inputs["r"]],
                (0, 1))
        if "d" in inputs:
            add("d", f"{exe} git base..HEAD --tree <repo> ({D_COMMITS} commits)",
                [*py, *inputs["d"], "--format", "json", "-o", os.devnull], (1,))
        add("x1", f"{exe} scan -v --tree <6.12>", [*py, "scan", "-v", "--tree", str(tree)],
            (0, 1), cold)
        add("x8", f"{exe} scan -v --tree <6.12 x{COPIES}>",
            [*py, "scan", "-v", "--tree", str(x8_tree)], (0, 1), cold)
        add("checkpatch", "checkpatch.pl --no-tree -q b-no-mmu.patch",
            ["perl", str(cp_tree / "scripts/checkpatch.pl"), "--no-tree", "-q", str(patch_b)],
            (0,))
        add("spatch", "spatch --sp-file roles.cocci <6.12>/mmu.c", spatch, (0,))

        notes = sanity(py, inputs, work, spatch, plan)
        for key, note in notes.items():
            log(f"sanity {key}: {note}")

        log("warm-up round")
        for m in ms.values():
            measure(m, work, wrapper, record=False)
        notes["x8"] = replication_note(py, tree, work, ms["x1"], ms["x8"])
        log(f"sanity x8: {notes['x8']}")
        for n in range(1, args.runs + 1):
            log(f"round {n}/{args.runs}")
            for m in ms.values():
                measure(m, work, wrapper, record=True)
        mach["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

        rows = build_rows(ms, skipped)
        print(setting(mach, args.runs))
        for key, value in places.items():
            print(f"{key}: {value}")
        for key, note in notes.items():
            print(f"sanity {key}: {note}")
        print()
        print(text_table(rows))
        failed = [m.key for m in ms.values() if m.failed]
        missed = [r["row"] for r in rows if r["ok"] is False]
        print()
        print(f"targets missed: {', '.join(missed) or 'none'}"
              + (f"; FAILED: {', '.join(failed)}" if failed else "")
              + (f"; skipped: {', '.join(skipped)}" if skipped else ""))
        if args.markdown:
            Path(args.markdown).write_text(markdown(rows, mach, args.runs, notes, places))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "machine": mach, "runs": args.runs, "targets": TARGETS, "sanity": notes,
                "inputs": places, "skipped": skipped, "d_commits": D_COMMITS,
                "d_plan": [{"n": i, "kind": s.kind, "path": s.path, "subject": s.subject}
                           for i, s in enumerate(plan, 1)],
                "measurements": {k: {"command": m.argv, "env": m.env, "expect": m.expect,
                                     "failed": m.failed, "seconds": m.times,
                                     "max_rss_kb": m.rss_kb} for k, m in ms.items()},
                "rows": [{k: v for k, v in r.items() if k != "stats"}
                         | {"median_min_max": r["stats"]} for r in rows],
            }, indent=2) + "\n")
        return 1 if failed else 0
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
            if not args.python:
                log(f"time the same install again with --python {work / 'venv/bin/python'}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
