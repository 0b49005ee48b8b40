#!/usr/bin/env python3
"""Time ``mmu-role-lint fixes`` on a history of 200 role-touching commits.

    python bench/fixes.py [--commits N] [--at K] [--runs R] [--json FILE] [--keep]

The history is built from the legacy fixture (no kernel needed): the tree
with the seed fix applied, N commits that touch arch/x86/kvm/mmu.c (each
adds a comment, so every tree is new to the cache), one README commit after
every fourth, the producer change (the fixture's cr4_pae bug) as the K-th
of the N, and the fix on top. ``fixes HEAD`` must name the producer change.
Cold runs point MMU_ROLE_LINT_CACHE at a fresh empty directory, warm runs at
one that a previous run filled. Run by hand, never by the test suite;
standard library only. Targets (issue 15): under 30 s cold and 5 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEGACY = ROOT / "fixtures" / "legacy" / "tree"
FIX = ROOT / "fixtures" / "legacy" / "patches" / "0001-seed-fix.patch"
MMU_C = "arch/x86/kvm/mmu.c"
PRODUCER = "x86/kvm/mmu: set cr4_pae in the common role producer"
TARGETS = {"cold": 30.0, "warm": 5.0}
ENV = {"GIT_AUTHOR_NAME": "Bench Mark", "GIT_AUTHOR_EMAIL": "bench@example.org",
       "GIT_COMMITTER_NAME": "Bench Mark", "GIT_COMMITTER_EMAIL": "bench@example.org",
       "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(repo: Path, *args: str, data: bytes | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | ENV
    out = subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"git {' '.join(args)}: {out.stderr.decode().strip()}")
    return out.stdout.decode()


def build(repo: Path, commits: int, at: int) -> str:
    """The history; returns the producer change's commit id."""
    shutil.copytree(LEGACY, repo)
    (repo / "README").write_text("a kernel, in miniature\n")
    git(repo, "-c", "init.defaultBranch=main", "init", "-q")
    bad = (repo / MMU_C).read_text()  # the fixture has the bug
    git(repo, "apply", str(FIX))
    good = (repo / MMU_C).read_text()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial import")
    # the rest through one fast-import stream: 200 commits in a fraction of a second
    stream, notes, readme, t = [], "", "a kernel, in miniature\n", 1_700_000_000

    def commit(subject: str, path: str, text: str) -> None:
        nonlocal t
        t += 60
        data = text.encode()
        msg = subject.encode()
        stream.append(b"commit refs/heads/main\n")
        for who in (b"author", b"committer"):
            stream.append(who + b" Bench Mark <bench@example.org> %d +0000\n" % t)
        stream.append(b"data %d\n%s\n" % (len(msg), msg))
        stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    stream.append(b"reset refs/heads/main\nfrom refs/heads/main^0\n\n")
    for i in range(1, commits + 1):
        notes += f"/* bench note {i} */\n"
        if i == at:
            commit(PRODUCER, MMU_C, bad + notes)
        else:
            commit(f"x86/kvm/mmu: note {i}", MMU_C, (bad if i > at else good) + notes)
        if i % 4 == 0:
            readme += f"line {i}\n"
            commit(f"README: line {i}", "README", readme)
    commit("x86/kvm/mmu: compute cr4_pae only for the shadow MMU root role", MMU_C,
           good + notes)
    git(repo, "fast-import", "--quiet", data=b"".join(stream))
    git(repo, "reset", "-q", "--hard")
    return git(repo, "log", "--format=%H", f"--grep=^{PRODUCER}$", "HEAD").strip()


def run_fixes(repo: Path, cache: Path) -> tuple[float, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MMU_ROLE_LINT_NO_CACHE"}
    env["MMU_ROLE_LINT_CACHE"] = str(cache)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "analyzer", "fixes", "--tree", str(repo), "-v"],
                         capture_output=True, text=True, env=env, cwd=repo, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"fixes exited with {out.returncode}: {out.stderr.strip()}")
    return elapsed, out.stdout, out.stderr.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commits", type=int, default=200, help="role-touching commits (200)")
    ap.add_argument("--at", type=int, default=20,
                    help="which of them is the producer change, from the oldest (20)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each kind (5)")
    ap.add_argument("--json", metavar="FILE", help="write the times there")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmu-role-lint-fixes-bench-"))
    try:
        repo = work / "repo"
        start = time.perf_counter()
        producer = build(repo, args.commits, args.at)
        touching = len(git(repo, "rev-list", "HEAD", "--", MMU_C).split())
        print(f"history: {touching} commits touch {MMU_C} "
              f"({time.perf_counter() - start:.1f}s to build)", file=sys.stderr)
        want = f"Fixes: {producer[:12]} ("
        times: dict[str, list[float]] = {"cold": [], "warm": []}
        probes = ""
        for i in range(args.runs):
            cache = work / f"cache-{i}"
            for kind in ("cold", "warm"):
                elapsed, out, err = run_fixes(repo, cache)
                if not out.startswith(want):
                    raise SystemExit(f"fixes did not name the producer change {producer[:12]}:\n"
                                     f"{out}")
                times[kind].append(elapsed)
                probes = err
            shutil.rmtree(cache)
        print(f"last run: {probes}", file=sys.stderr)
        rows = {}
        for kind, values in times.items():
            med = statistics.median(values)
            rows[kind] = {"median": med, "min": min(values), "max": max(values),
                          "target": TARGETS[kind], "ok": med <= TARGETS[kind]}
            print(f"fixes {kind}: median {med:.2f} s (min {min(values):.2f}, max "
                  f"{max(values):.2f}; {len(values)} runs), target <= {TARGETS[kind]:.0f} s: "
                  f"{'ok' if med <= TARGETS[kind] else 'MISSED'}")
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"commits": args.commits, "touching": touching, "producer_at": args.at,
                 "times": times, "rows": rows, "cpus": os.cpu_count()}, indent=2) + "\n")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
