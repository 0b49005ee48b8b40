"""The labelled corpus (corpus/role-mismatch.toml) on Debian's 6.1 and 6.12.

The cases that name a Debian 6.1 or 6.12 release run here on the trees of
tests/kernels.py; the other releases are fetched by hand and run with
``python bench/corpus.py`` (see corpus/README.md). A case the current
analysis gets wrong is an expected failure with the reason, strict: when the
role-mismatch model of issue 10 gets it right, the test fails until its mark
is removed from XFAIL."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kernels import version_key

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("corpus_runner", ROOT / "bench" / "corpus.py")
assert _spec is not None and _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = corpus  # dataclasses look their module up by name
_spec.loader.exec_module(corpus)

CASES = corpus.load_corpus()
SERIES = ("6.1", "6.12")

# case (or (series, case) where the two differ) -> why the analysis gets it
# wrong. The cases issue 10's model gets right are no longer here.
XFAIL: dict[str | tuple[str, str], str] = {
    "l6-ept-cpu-role-base-store": ".base store leaving the ext kept from before stale not followed",
    "l6-cpu-role-by-members-valid-cleared": "root_mmu's and guest_mmu's cpu_role are one slot:"
                                            " kvm_init_shadow_ept_mmu's store (ext.valid 1)"
                                            " is a partner",
    ("6.1", "l6-root-direct-smm"): "the TDP MMU roots seem to exist in every state: their"
                                   " selector is a predicate of the VM (is_tdp_mmu_enabled(kvm))",
    ("6.1", "l61-new-field-tdp-root-list-only"): "the TDP MMU roots seem to exist in every state:"
                                                 " their selector is a predicate of the VM",
}


# (series, case) -> (why the analysis gets it wrong on the point releases
# before VERSION, VERSION): from VERSION on it gets it right. Checked both
# ways, on whichever point release apt serves.
WRONG_BEFORE: dict[tuple[str, str], tuple[str, str]] = {
    ("6.1", "l6-child-role-guest-mode"): (
        "the child role's guest_mode reaches no judged compare in 6.1.170 and 6.1.176",
        "6.1.187"),
    ("6.1", "l6-child-sp-smm-after-compare"): (
        "the child role forced after the child-slot compare reaches no judged compare before"
        " 6.1.187",
        "6.1.187"),
}


def _debian_cases() -> list:
    params = []
    for series in SERIES:
        for case in CASES:
            if not case.applies_to(f"debian-{series}.0"):
                continue
            reason = XFAIL.get((series, case.id), XFAIL.get(case.id))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(series, case, id=f"{series}-{case.id}", marks=marks))
    return params


@pytest.fixture(scope="module")
def analysis_cache(tmp_path_factory) -> Path:
    """A cache of this module's own, so the unedited trees are analyzed once."""
    return tmp_path_factory.mktemp("analyses")


@pytest.mark.real_kernel
@pytest.mark.parametrize(("series", "case"), _debian_cases())
def test_case_on_debian(series: str, case, kernel_tree: Callable[[str], Path],
                        analysis_cache: Path, monkeypatch):
    tree = kernel_tree(series)  # found before the cache moves: it lives in the same place
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(analysis_cache))
    monkeypatch.delenv("MMU_ROLE_LINT_NO_CACHE")
    verdict = corpus.run_case(case, tree)
    wrong = WRONG_BEFORE.get((series, case.id))
    if wrong is not None and version_key(tree.name) < version_key(wrong[1]):
        assert verdict.outcome != "ok", (
            f"{case.id} is right on {tree.name} now: move WRONG_BEFORE's version down")
        return
    assert verdict.outcome == "ok", (
        f"{verdict.outcome}: reported {verdict.reported}, expected {sorted(case.label)}"
        f" at {case.function}; {verdict.detail}")


@pytest.mark.real_kernel
@pytest.mark.parametrize("series", SERIES)
def test_labels_name_fields_the_edited_tree_declares(series: str,
                                                     kernel_tree: Callable[[str], Path]):
    """A label is a field of the role unions as the edit leaves kvm_host.h."""
    tree = kernel_tree(series)
    host = "arch/x86/include/asm/kvm_host.h"
    for case in CASES:
        if not case.applies_to(f"debian-{series}.0"):
            continue
        files = corpus.mutated_files(case, tree)
        text = files[host][1] if host in files else (tree / host).read_text()
        for name in case.label:
            assert re.search(rf"\bunsigned(?: int)? {name}:\d", text), (case.id, name)


def test_corpus_covers_the_shapes_and_layouts_of_issue_10():
    assert len(CASES) >= 40
    assert {c.shape for c in CASES} == corpus.POSITIVE_SHAPES | corpus.CLEAN_SHAPES
    for layout in ("v4.20", "v5.0.1", "v5.4.59", "v5.10.89", "v5.15.135",
                   "debian-6.1.0", "debian-6.12.0"):
        assert any(c.applies_to(layout) and c.positive for c in CASES), layout
        assert any(c.applies_to(layout) and not c.positive for c in CASES), layout
    assert all(c.reason and c.releases and c.edits for c in CASES)


def _case(label: tuple[str, ...], function: str | None = None):
    return corpus.Case("t", "mask" if label else "clean-swap", ("x",),
                       (corpus.Edit("f", "a", "b"),), frozenset(label), function, "why")


@pytest.mark.parametrize(("label", "function", "reported", "outcome"), [
    (("smm",), None, {"smm": {"is_root_usable"}}, "ok"),
    (("smm",), "mmu_alloc_root", {"smm": {"is_root_usable", "mmu_alloc_root"}}, "ok"),
    (("smm",), "mmu_alloc_root", {"smm": {"is_root_usable"}}, "misplaced"),
    (("smm", "level"), None, {"smm": {"f"}}, "miss"),
    (("smm",), None, {"smm": {"f"}, "level": {"f"}}, "false-positive"),
    (("smm",), "g", {"smm": {"f"}, "level": {"g"}}, "misplaced+false-positive"),
    ((), None, {}, "ok"),
    ((), None, {"is_mirror": {"f"}}, "false-positive"),
])
def test_judge(label, function, reported, outcome):
    assert corpus.judge(_case(label, function), reported).outcome == outcome


def test_score_counts_positives_and_reported_fields():
    score = corpus.Score()
    pos, clean = _case(("smm", "level"), "g"), _case(())
    score.add(pos, corpus.judge(pos, {"smm": {"g"}, "level": {"h"}}))  # level misplaced
    score.add(pos, corpus.judge(pos, {"smm": {"g"}, "level": {"g"}}))  # found
    score.add(clean, corpus.judge(clean, {"direct": {"f"}}))  # a false positive
    score.add(clean, corpus.Verdict("error", detail="anchor"))
    assert (score.positives, score.found, score.found_fields) == (2, 1, 2)
    assert (score.reports, score.correct, score.in_label, score.errors) == (5, 3, 4, 1)
    assert score.recall == 0.5 and score.precision == 0.6 and score.field_precision == 0.8


def test_an_anchor_must_occur_once(tmp_path: Path):
    (tmp_path / "f.c").write_text("x = 1;\nx = 1;\ny = 2;\n")
    twice = corpus.Case("t", "clean-swap", ("x",), (corpus.Edit("f.c", "x = 1;\n", "z;\n"),),
                        frozenset(), None, "why")
    with pytest.raises(corpus.CorpusError, match="found 2 times"):
        corpus.mutated_files(twice, tmp_path)
    # edits apply in order: the second anchor is looked for in the edited text
    seq = corpus.Case("t", "clean-swap", ("x",), (corpus.Edit("f.c", "y = 2;\n", "x = 1;\n"),
                                                   corpus.Edit("f.c", "x = 1;\nx = 1;\nx", "w")),
                      frozenset(), None, "why")
    assert corpus.mutated_files(seq, tmp_path)["f.c"][1] == "w = 1;\n"


def test_a_malformed_case_is_refused(tmp_path: Path):
    bad = tmp_path / "c.toml"
    bad.write_text('[[case]]\nid = "a"\nshape = "mask"\nreleases = ["x"]\nfile = "f"\n'
                   'label = []\nreason = "r"\n[[case.edit]]\nold = "a"\nnew = "b"\n')
    with pytest.raises(corpus.CorpusError, match="does not fit label"):
        corpus.load_corpus(bad)
