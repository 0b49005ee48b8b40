#!/usr/bin/env python3
"""Run the labelled role-mismatch corpus on real kernel trees.

    python bench/corpus.py [--kernels DIR] [--case ID]... [--corpus FILE] [--json FILE]

Each case of ``corpus/role-mismatch.toml`` names the releases it applies to
(directories under ``--kernels``, default /work/kernels, each the top of a
tree holding at least ``arch/x86/kvm`` and ``kvm_host.h``), a file and text
edits. For every named release that is present, the edits are made in
memory, turned into a unified diff and checked with ``run_check`` against
the unedited tree, like ``mmu-role-lint check``. The role-mismatch fields
the patch introduces (notes left out) are judged against the case's label:
one line per case and release, then recall and precision (defined in
corpus/README.md). Nothing is written into the trees.

The test suite imports this file for the cases on Debian's 6.1 and 6.12
(tests/test_corpus.py); run by hand it needs the package installed.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import json
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "role-mismatch.toml"
KERNELS = Path("/work/kernels")
MAX_ANCHOR_LINES = 3
# A case names its files as in the layout of 5.5 and later or of 4.x-5.4;
# on a tree of the other layout the same file is found at its other path.
LAYOUT_TWINS = {
    "arch/x86/kvm/mmu.c": "arch/x86/kvm/mmu/mmu.c",
    "arch/x86/kvm/paging_tmpl.h": "arch/x86/kvm/mmu/paging_tmpl.h",
}
LAYOUT_TWINS.update({v: k for k, v in LAYOUT_TWINS.items()})
# The shapes issue 10 asks the corpus to cover, positives then clean edits.
POSITIVE_SHAPES = frozenset({
    "constant-one-side", "guarded-override", "partial-store", "helper-between",
    "producer-one-side", "mask", "masked-compare", "call-site-constant", "child-role",
    "base-store", "macro-constant", "new-field-one-path"})
CLEAN_SHAPES = frozenset({
    "clean-extract", "clean-inline", "clean-rename", "clean-swap", "clean-equivalent",
    "clean-new-field", "clean-discriminator"})


class CorpusError(Exception):
    """The corpus file is malformed, or a case does not fit a tree."""


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


@dataclass(frozen=True)
class Case:
    id: str
    shape: str
    releases: tuple[str, ...]  # release directory names or fnmatch patterns
    edits: tuple[Edit, ...]
    label: frozenset[str]
    function: str | None
    reason: str

    @property
    def positive(self) -> bool:
        return bool(self.label)

    def applies_to(self, release: str) -> bool:
        return any(fnmatch.fnmatchcase(release, p) for p in self.releases)


@dataclass
class Verdict:
    """How the reports of one case on one release compare with its label."""
    outcome: str  # ok, or miss / misplaced / false-positive joined by "+"; error
    reported: dict[str, set[str]] = field(default_factory=dict)  # field -> functions
    correct: set[str] = field(default_factory=set)  # reported and in the label, rightly placed
    misplaced: set[str] = field(default_factory=set)  # in the label, reported elsewhere only
    wrong: set[str] = field(default_factory=set)  # reported, not in the label
    missing: set[str] = field(default_factory=set)  # in the label, not reported at all
    detail: str = ""


def load_corpus(path: Path = CORPUS) -> list[Case]:
    """The cases of a corpus file, with release groups expanded."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise CorpusError(f"{path}: {err}") from err
    groups: dict[str, list[str]] = data.get("groups", {})
    cases: list[Case] = []
    seen: set[str] = set()
    for raw in data.get("case", []):
        cid = raw.get("id", "?")
        try:
            case = _case(raw, groups)
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(f"{path}: case {cid}: {err}") from err
        if case.id in seen:
            raise CorpusError(f"{path}: case {case.id} is defined twice")
        seen.add(case.id)
        cases.append(case)
    return cases


def _case(raw: dict, groups: dict[str, list[str]]) -> Case:
    releases: list[str] = []
    for name in raw["releases"]:
        releases += groups.get(name, [name])
    default_file = raw.get("file")
    edits = tuple(Edit(e.get("file", default_file), e["old"], e["new"]) for e in raw["edit"])
    for e in edits:
        if not e.file:
            raise ValueError("an edit has no file")
        if not e.old or len(e.old.rstrip("\n").split("\n")) > MAX_ANCHOR_LINES:
            raise ValueError(f"anchor must be 1-{MAX_ANCHOR_LINES} lines: {e.old!r}")
    shape = raw["shape"]
    label = frozenset(raw["label"])
    if shape not in POSITIVE_SHAPES | CLEAN_SHAPES:
        raise ValueError(f"unknown shape {shape!r}")
    if (shape in CLEAN_SHAPES) == bool(label):
        raise ValueError(f"shape {shape!r} does not fit label {sorted(label)}")
    if not raw["reason"].strip():
        raise ValueError("empty reason")
    return Case(raw["id"], shape, tuple(releases), edits, label, raw.get("function"),
                raw["reason"].strip())


def mutated_files(case: Case, tree: Path) -> dict[str, tuple[str, str]]:
    """path -> (text before, text after) once the case's edits are made in
    order; each anchor must occur exactly once where it is applied (in the
    text as the edits before it left it)."""
    out: dict[str, tuple[str, str]] = {}
    for e in case.edits:
        path = e.file if (tree / e.file).is_file() else LAYOUT_TWINS.get(e.file, e.file)
        if path not in out:
            if not (tree / path).is_file():
                raise CorpusError(f"{case.id}: {e.file} is not in {tree}")
            text = (tree / path).read_text(errors="surrogateescape")
            out[path] = (text, text)
        before, now = out[path]
        n = now.count(e.old)
        if n != 1:
            raise CorpusError(f"{case.id}: anchor found {n} times in {tree.name}/{path}: "
                              f"{e.old!r}")
        out[path] = (before, now.replace(e.old, e.new))
    return out


def case_diff(case: Case, tree: Path) -> str:
    """The case as a unified diff against ``tree`` (git's a/ b/ prefixes)."""
    return "".join(
        "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                     after.splitlines(keepends=True),
                                     fromfile=f"a/{path}", tofile=f"b/{path}"))
        for path, (before, after) in mutated_files(case, tree).items())


def reported_fields(case: Case, tree: Path) -> dict[str, set[str]]:
    """field -> functions of the role-mismatch findings (not notes) that the
    case introduces on ``tree``."""
    from analyzer.patch import read_patches
    from analyzer.runner import run_check
    from analyzer.sources import tree_image

    patches = read_patches(f"Subject: [PATCH] corpus: {case.id}\n\n---\n{case_diff(case, tree)}")
    (res,) = run_check(patches, tree, tree_image(tree)).patches
    if res.status != "analyzed":
        raise CorpusError(f"{case.id}: patch {res.status} on {tree.name}: {res.reason}")
    out: dict[str, set[str]] = {}
    for f in res.delta.introduced:
        if f.severity != "note" and f.rule == "role-mismatch":
            out.setdefault(f.field, set()).add(f.function)
    return out


def judge(case: Case, reported: dict[str, set[str]]) -> Verdict:
    """Compare reported fields (and functions, when the case names one) with
    the label. A field is rightly reported when it is in the label and, if
    the case names a primary function, some finding on it is located there."""
    v = Verdict("ok", reported=reported)
    for name, funcs in reported.items():
        if name not in case.label:
            v.wrong.add(name)
        elif case.function is None or case.function in funcs:
            v.correct.add(name)
        else:
            v.misplaced.add(name)
    v.missing = set(case.label) - set(reported)
    kinds = [k for k, s in (("miss", v.missing), ("misplaced", v.misplaced),
                            ("false-positive", v.wrong)) if s]
    v.outcome = "+".join(kinds) or "ok"
    return v


def run_case(case: Case, tree: Path) -> Verdict:
    try:
        return judge(case, reported_fields(case, tree))
    except CorpusError as err:
        return Verdict("error", detail=str(err))


@dataclass
class Score:
    positives: int = 0
    found: int = 0  # positives whose label was fully and rightly reported
    found_fields: int = 0  # positives whose label fields were all reported, anywhere
    reports: int = 0  # reported fields, over all cases and releases
    correct: int = 0  # of them, in the label and rightly placed
    in_label: int = 0  # of them, in the label, wherever placed
    errors: int = 0

    def add(self, case: Case, v: Verdict) -> None:
        if v.outcome == "error":
            self.errors += 1
            return
        if case.positive:
            self.positives += 1
            self.found += not (v.missing or v.misplaced)
            self.found_fields += not v.missing
        self.reports += len(v.reported)
        self.correct += len(v.correct)
        self.in_label += len(v.correct | v.misplaced)

    @property
    def recall(self) -> float | None:
        return _share(self.found, self.positives)

    @property
    def precision(self) -> float | None:
        return _share(self.correct, self.reports)

    @property
    def field_recall(self) -> float | None:
        return _share(self.found_fields, self.positives)

    @property
    def field_precision(self) -> float | None:
        return _share(self.in_label, self.reports)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _fmt(fields: dict[str, set[str]] | frozenset[str], function: str | None = None) -> str:
    if isinstance(fields, dict):
        items = [f"{k}@{'/'.join(sorted(v))}" for k, v in sorted(fields.items())]
    else:
        items = [f"{k}@{function}" if function else k for k in sorted(fields)]
    return "{" + ", ".join(items) + "}"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", type=Path, default=KERNELS,
                    help=f"directory of release trees (default {KERNELS})")
    ap.add_argument("--case", action="append", default=[], metavar="ID",
                    help="run only this case (repeatable)")
    ap.add_argument("--corpus", type=Path, default=CORPUS, help="corpus file")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every verdict there")
    args = ap.parse_args(argv)
    try:
        cases = load_corpus(args.corpus)
    except CorpusError as err:
        print(f"corpus: {err}", file=sys.stderr)
        return 2
    unknown = set(args.case) - {c.id for c in cases}
    if unknown:
        print(f"corpus: no such case: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not args.kernels.is_dir():
        print(f"corpus: {args.kernels} is not a directory; pass --kernels", file=sys.stderr)
        return 2
    releases = sorted(p.name for p in args.kernels.iterdir()
                      if (p / "arch" / "x86" / "kvm").is_dir())
    score, rows, start = Score(), [], time.monotonic()
    for case in cases:
        if args.case and case.id not in args.case:
            continue
        for rel in (r for r in releases if case.applies_to(r)):
            v = run_case(case, args.kernels / rel)
            score.add(case, v)
            what = v.detail or f"reported {_fmt(v.reported)} expected {_fmt(case.label, case.function)}"
            print(f"{case.id:44} {rel:16} {v.outcome:20} {what}", flush=True)
            rows.append({"case": case.id, "release": rel, "outcome": v.outcome,
                         "reported": {k: sorted(s) for k, s in v.reported.items()},
                         "label": sorted(case.label), "function": case.function,
                         "detail": v.detail})
    print(f"positives {score.positives}, fully reported {score.found} "
          f"(fields, wherever placed: {score.found_fields}); reported fields {score.reports}, "
          f"correct {score.correct} (in the label: {score.in_label}); errors {score.errors}")
    print(f"recall {_ratio(score.recall)}  precision {_ratio(score.precision)}  "
          f"(fields wherever placed: recall {_ratio(score.field_recall)}  "
          f"precision {_ratio(score.field_precision)})  {time.monotonic() - start:.0f}s")
    if args.json:
        summary = {k: getattr(score, k) for k in
                   ("recall", "precision", "field_recall", "field_precision")}
        args.json.write_text(json.dumps({"rows": rows, **summary}, indent=1) + "\n")
    return 1 if score.errors else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
