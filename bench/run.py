#!/usr/bin/env python3
"""Benchmark mmu-role-lint on Debian's linux-source-6.12, side by side with
checkpatch.pl and spatch, interleaved round by round.

    python bench/run.py [--runs N] [--json FILE] [--markdown FILE] [--keep]

Run by hand, never by the test suite. Standard library only, plus the test
helper ``tests/kernels.py`` (which imports pytest) for the kernel sources.
Kernel files are extracted under the cache ($MMU_ROLE_LINT_CACHE or
~/.cache/mmu-role-lint), patches and the git repository of (d) are built in
a temporary directory: nothing is written into this repository unless
--json/--markdown name a file in it. See bench/README.md.
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
TARGETS = {"a": 0.6, "b": 1.0, "c": 0.5, "d": 10.0, "e": 120.0}

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
# measuring


@dataclass
class Measure:
    key: str
    label: str  # shortened command for the tables
    argv: list[str]
    expect: int
    env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    failed: str = ""


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
    # An installed package has its bytecode compiled at install time; this
    # sandbox sets PYTHONDONTWRITEBYTECODE, which would make every run of a
    # source checkout compile the analyzer again. Let the warm-up round write
    # the bytecode, as an install would have.
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
    elapsed, rss, status, stderr = run_once(m, work, wrapper)
    if status != m.expect:
        m.failed = f"exit status {status}, expected {m.expect}"
        print(f"\n!!! bench: {m.key} ({m.label}): UNEXPECTED {m.failed}; not timed from now on"
              f"\n!!! command: {' '.join(m.argv)}\n!!! stderr:\n{stderr.rstrip()}\n",
              file=sys.stderr, flush=True)
        return
    if record:
        m.times.append(elapsed)
        m.rss_kb.append(rss)


# --------------------------------------------------------------------------
# sanity checks (untimed): the patches and commits do what they claim


def analyzer_json(argv: list[str], work: Path) -> tuple[int, dict | None, str]:
    out = work / "sanity.json"
    result = subprocess.run([*argv, "--format", "json", "-o", str(out)], cwd=work,
                            capture_output=True, text=True, check=False)
    data = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    out.unlink(missing_ok=True)
    return result.returncode, data, result.stderr


def sanity(py: list[str], tree: Path, patch_a: Path, patch_b: Path, repo: Path | None,
           base: str, plan: list[Step], work: Path, spatch: list[str]) -> dict:
    notes: dict[str, object] = {}
    status, data, err = analyzer_json([*py, "check", str(patch_a), "--tree", str(tree)], work)
    fields = sorted({f["field"] for p in (data or {}).get("patches", [])
                     for f in p.get("introduced", [])})
    notes["a"] = f"exit {status}, introduced fields {fields or 'none'}"
    status, data, err = analyzer_json([*py, "check", str(patch_b), "--tree", str(tree)], work)
    st = [p.get("status") for p in (data or {}).get("patches", [])]
    notes["b"] = f"exit {status}, patch status {st}" + (f"; {err.strip()}" if status > 1 else "")
    spatch_out = subprocess.run(spatch, cwd=work, capture_output=True, text=True, check=False)
    notes["spatch"] = (f"exit {spatch_out.returncode}, "
                       f"{len(spatch_out.stdout.splitlines())} role field assignments listed")
    if repo is not None:
        status, data, err = analyzer_json(
            [*py, "git", f"{base}..HEAD", "--tree", str(repo)], work)
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
        "analyzer": f"{head}{' + uncommitted changes in analyzer/' if dirty not in ('', '?') else ''}",
        "spatch": out(["spatch", "--version"]),
        "perl": out(["perl", "-e", "print $^V"]),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def stats(values: list[float]) -> tuple[float, float, float] | None:
    return (statistics.median(values), min(values), max(values)) if values else None


def build_rows(ms: dict[str, Measure], d_available: bool) -> list[dict]:
    rows: list[dict] = []

    def secs(key: str) -> tuple[float, float, float] | None:
        return stats(ms[key].times) if key in ms and not ms[key].failed else None

    def why(key: str) -> str:
        if key not in ms:
            return "not available"
        return f"FAILED: {ms[key].failed}" if ms[key].failed else "no data"

    spatch, checkpatch = secs("spatch"), secs("checkpatch")
    for row, base, limit in (("a", spatch, "a"), ("b", checkpatch, "b")):
        for cache in ("warm", "cold"):
            key = f"{row}-{cache}"
            s = secs(key)
            ratio = s[0] / base[0] if s and base else None
            other = "spatch" if row == "a" else "checkpatch"
            rows.append({
                "row": f"({row}) {cache}", "key": key, "command": ms[key].label, "unit": "s",
                "stats": s, "target": f"<= {TARGETS[limit]}x {other}",
                "value": ratio, "ok": ratio is not None and ratio <= TARGETS[limit],
                "verdict": (f"{ratio:.2f}x {other}" if ratio is not None else why(key)),
            })
    for cache in ("warm", "cold"):
        key = f"c-{cache}"
        s = secs(key)
        rows.append({
            "row": f"(c) {cache}", "key": key, "command": ms[key].label, "unit": "s",
            "stats": s, "target": f"<= {TARGETS['c']} s", "value": s[0] if s else None,
            "ok": bool(s and s[0] <= TARGETS["c"]),
            "verdict": f"{s[0] / TARGETS['c']:.2f}x target" if s else why(key),
        })
    s = secs("d") if d_available else None
    rate = D_COMMITS / s[0] if s else None
    rows.append({
        "row": "(d)", "key": "d", "command": ms["d"].label if "d" in ms else "mmu-role-lint git",
        "unit": "s", "stats": s, "target": f">= {TARGETS['d']:g} commits/s", "value": rate,
        "ok": bool(rate and rate >= TARGETS["d"]),
        "verdict": f"{rate:.1f} commits/s" if rate else (
            why("d") if d_available else "not available (no `git` command)"),
    })
    for key in ("a-warm", "a-cold", "c-warm", "c-cold"):
        m = ms[key]
        mb = stats([kb / 1024 for kb in m.rss_kb]) if not m.failed else None
        rows.append({
            "row": f"(e) {key.replace('-', ' ')}", "key": f"e-{key}", "command": "peak RSS",
            "unit": "MB", "stats": mb, "target": f"<= {TARGETS['e']:g} MB",
            "value": mb[2] if mb else None, "ok": bool(mb and mb[2] <= TARGETS["e"]),
            "verdict": f"max {mb[2]:.0f} MB" if mb else why(key),
        })
    for key in ("checkpatch", "spatch"):
        s = secs(key)
        rows.append({"row": key, "key": key, "command": ms[key].label, "unit": "s",
                     "stats": s, "target": "baseline", "value": None, "ok": None,
                     "verdict": "baseline" if s else why(key)})
    return rows


def fmt(value: float, unit: str) -> str:
    return f"{value:.1f} MB" if unit == "MB" else f"{value:.3f} s"


def cells(r: dict) -> list[str]:
    s = r["stats"]
    nums = [fmt(v, r["unit"]) for v in s] if s else ["-", "-", "-"]
    mark = "" if r["ok"] is None or not s else (" ok" if r["ok"] else " MISSES")
    return [r["row"], r["command"], *nums, r["target"], r["verdict"] + mark]


HEADER = ["row", "command", "median", "min", "max", "target", "ratio / verdict"]


def text_table(rows: list[dict]) -> str:
    table = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[dict], mach: dict[str, str], runs: int, notes: dict) -> str:
    out = [f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), Python {mach['python']}, "
           f"{mach['date']}; analyzer {mach['analyzer']}; {mach['spatch'].split(' compiled')[0]}, "
           f"perl {mach['perl']}; load average {mach['loadavg']} at start, "
           f"{mach.get('loadavg_end', '?')} at end. Median, min and max of {runs} interleaved "
           f"runs after one warm-up round; cold = `MMU_ROLE_LINT_NO_CACHE=1`; peak RSS by "
           f"{mach['peak_rss_by']}.", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        c = cells(r)
        c[1] = f"`{c[1]}`"
        out.append("| " + " | ".join(x.replace("|", "\\|") for x in c) + " |")
    out += ["", "Sanity checks (untimed):", ""]
    out += [f"- {key}: {note}" for key, note in notes.items()]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="timed rounds (default 7, at least 7 "
                    "for the report)")
    ap.add_argument("--json", metavar="FILE", help="write the raw numbers there")
    ap.add_argument("--markdown", metavar="FILE", help="write a Markdown table there")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (patches, "
                    "git repository) and print where it is")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.runs < 7:
        log(f"only {args.runs} runs: the issue asks for at least 7")
    for tool in ("perl", "spatch", "git"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is not installed")

    kernels = import_kernels()
    cache = kernels.cache_dir()
    tree = kernels.kernel_tree(VERSION, cache)
    cp_tree = checkpatch_tree(kernels, cache)
    work = Path(tempfile.mkdtemp(prefix="mmu-role-lint-bench-"))
    mach = machine()
    wrapper, mach["peak_rss_by"] = rss_wrapper()
    try:
        patch_a, patch_b = build_patches(tree, work)
        cocci = work / "roles.cocci"
        cocci.write_text(SPATCH_LISTING)
        py = [sys.executable, "-m", "analyzer"]
        d_available = subprocess.run([*py, "git", "--help"], cwd=work, capture_output=True,
                                     check=False).returncode == 0
        repo, base, plan = (build_repo(tree, cp_tree, work) if d_available
                            else (None, "", []))
        if not d_available:
            log("`mmu-role-lint git` is not available: (d) is reported as not available")
        spatch = ["spatch", "--very-quiet", "--sp-file", str(cocci), str(tree / MMU_C)]
        cold = {"MMU_ROLE_LINT_NO_CACHE": "1"}
        ms: dict[str, Measure] = {}

        def add(key: str, label: str, argv: list[str], expect: int,
                env: dict[str, str] | None = None) -> None:
            ms[key] = Measure(key, label, argv, expect, env or {})

        for cache_kind, env in (("warm", {}), ("cold", cold)):
            add(f"a-{cache_kind}", "check a-role.patch", [*py, "check", str(patch_a), "--tree",
                str(tree)], 1, env)
            add(f"b-{cache_kind}", "check b-no-mmu.patch", [*py, "check", str(patch_b),
                "--tree", str(tree)], 0, env)
            add(f"c-{cache_kind}", "scan", [*py, "scan", "--tree", str(tree)], 0, env)
        if repo is not None:
            add("d", f"git base..HEAD ({D_COMMITS} commits)",
                [*py, "git", f"{base}..HEAD", "--tree", str(repo), "--format", "json",
                 "-o", os.devnull], 1)
        add("checkpatch", "checkpatch.pl --no-tree -q b-no-mmu.patch",
            ["perl", str(cp_tree / "scripts/checkpatch.pl"), "--no-tree", "-q", str(patch_b)], 0)
        add("spatch", "spatch --sp-file roles.cocci mmu.c", spatch, 0)

        notes = sanity(py, tree, patch_a, patch_b, repo, base, plan, work, spatch)
        for key, note in notes.items():
            log(f"sanity {key}: {note}")

        log("warm-up round")
        for m in ms.values():
            measure(m, work, wrapper, record=False)
        for n in range(1, args.runs + 1):
            log(f"round {n}/{args.runs}")
            for m in ms.values():
                measure(m, work, wrapper, record=True)
        mach["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

        rows = build_rows(ms, d_available)
        print(f"machine: {mach['nproc']} CPUs, {mach['cpu']}, Python {mach['python']}, "
              f"{mach['date']}")
        print(f"analyzer {mach['analyzer']}; {mach['spatch'].split(' compiled')[0]}; "
              f"perl {mach['perl']}; load average {mach['loadavg']} at start, "
              f"{mach['loadavg_end']} at end")
        print(f"peak RSS by {mach['peak_rss_by']}, every run; every command timed through it")
        print(f"{args.runs} interleaved rounds after one warm-up; cold = "
              f"MMU_ROLE_LINT_NO_CACHE=1; kernel tree {tree}")
        for key, note in notes.items():
            print(f"sanity {key}: {note}")
        print()
        print(text_table(rows))
        failed = [m.key for m in ms.values() if m.failed]
        missed = [r["row"] for r in rows if r["ok"] is False and r["stats"]]
        print()
        print(f"targets missed: {', '.join(missed) or 'none'}"
              + (f"; FAILED: {', '.join(failed)}" if failed else ""))
        if args.markdown:
            Path(args.markdown).write_text(markdown(rows, mach, args.runs, notes))
        if args.json:
            Path(args.json).write_text(json.dumps({
                "machine": mach, "runs": args.runs, "targets": TARGETS, "sanity": notes,
                "peak_rss_by": mach["peak_rss_by"], "d_available": d_available, "d_commits": D_COMMITS,
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
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
