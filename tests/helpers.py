"""One-line helpers for tests: analyze a C snippet, run a fixture patch."""

from __future__ import annotations

import difflib
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

from analyzer.analysis import Analysis, analyze
from analyzer.sources import Image

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# A role header of our own, in the 4.20-5.0 shape.
HEADER = """
typedef unsigned int u32;
typedef unsigned long long u64;
union kvm_mmu_page_role {
	u32 word;
	struct {
		unsigned level:4;
		unsigned cr4_pae:1;
		unsigned direct:1;
		unsigned access:3;
		unsigned nxe:1;
		unsigned smm:8;
	};
};
union kvm_mmu_extended_role {
	u32 word;
	struct {
		unsigned int valid:1;
		unsigned int cr4_smep:1;
	};
};
union kvm_mmu_role {
	u64 as_u64;
	struct {
		union kvm_mmu_page_role base;
		union kvm_mmu_extended_role ext;
	};
};
struct kvm_mmu_page { union kvm_mmu_page_role role; int gfn; };
struct kvm_mmu { union kvm_mmu_role mmu_role; };
"""


def analyze_c(source: str, header: str = HEADER) -> Analysis:
    image = Image({"arch/x86/kvm/mmu.c": source},
                  {"arch/x86/include/asm/kvm_host.h": header})
    return analyze(image)


def decided(findings):
    """The findings that count: not the notes of what could not be decided
    (role-mismatch-unknown, shown only with --unknown)."""
    return [f for f in findings if f.severity != "note"]


def findings_of(source: str, header: str = HEADER) -> list[str]:
    """``["role-mismatch:cr4_pae@cached_root_available", ...]``"""
    return sorted(f"{f.rule}:{f.field}@{f.function}" for f in decided(analyze_c(source, header).findings))


def assert_findings(source: str, *expected: str, header: str = HEADER) -> None:
    """Each expected item is ``rule:field`` or ``rule:field@function``; the
    findings must be exactly those."""
    got = findings_of(source, header)
    short = sorted(g.split("@")[0] for g in got)
    want_full = sorted(e for e in expected if "@" in e)
    assert all(w in got for w in want_full), (got, expected)
    assert short == sorted(e.split("@")[0] for e in expected), (got, expected)


TRAILER = re.compile(r"^Expect-([A-Za-z]+):\s*(.+?)\s*$", re.M)


def expectations(patch: Path) -> dict[str, list[str]]:
    """The ``Expect-*`` trailers of a fixture patch."""
    out: dict[str, list[str]] = {}
    for key, value in TRAILER.findall(patch.read_text()):
        if value != "none":
            out.setdefault(key.lower(), []).append(value)
        else:
            out.setdefault(key.lower(), [])
    return out


MARKER = re.compile(r"/\*\s*expect:\s*([\w:-]+)\s*\*/")


def markers(tree: Path) -> dict[str, set[tuple[str, int]]]:
    """``/* expect: KIND */`` markers: kind -> {(path, line)}; a marker alone
    on its line describes the next line."""
    out: dict[str, set[tuple[str, int]]] = {}
    for path in sorted(tree.rglob("*")):
        if path.suffix not in (".c", ".h"):
            continue
        rel = str(path.relative_to(tree))
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines, 1):
            for kind in MARKER.findall(line):
                alone = MARKER.sub("", line).strip() == ""
                out.setdefault(kind, set()).add((rel, i + 1 if alone else i))
    return out


def run_cli(*args: str, redirect: str = "", memory: int = 2 << 30) -> subprocess.CompletedProcess:
    """``python -m analyzer ARGS`` in a child process under sh, with
    ``redirect`` applied (``>&-`` closes its stdout), at most ``memory``
    bytes of address space (a runaway read fails instead of taking the
    machine) and a timeout (a hang fails instead of stopping the suite)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**os.environ, "MMU_ROLE_LINT_NO_CACHE": "1", "PYTHONPATH": str(ROOT)}
    script = f'exec "$0" -m analyzer "$@" {redirect}'
    return subprocess.run(["sh", "-c", script, sys.executable, *args], env=env, cwd=ROOT,
                          capture_output=True, timeout=300, check=False, preexec_fn=limit)


def unified_diff(path: str, before: str, after: str) -> str:
    """The git-style diff of one file (``a/PATH`` -> ``b/PATH``)."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"a/{path}", f"b/{path}"))


def edited(data, items: list, alphabet, least: int = 0, most: int = 4) -> list:
    """``items`` after ``least`` to ``most`` random deletions and insertions
    of ``alphabet`` drawn from a hypothesis ``data`` object."""
    from hypothesis import strategies as st

    out = list(items)
    for _ in range(data.draw(st.integers(least, most))):
        at = data.draw(st.integers(0, len(out)))
        if out and data.draw(st.booleans()):
            del out[min(at, len(out) - 1)]
        else:
            out.insert(at, data.draw(st.sampled_from(alphabet)))
    return out
