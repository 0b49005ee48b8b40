"""The analysis cache: a warm run answers what a cold one does, broken
entries are ignored, nothing is written into the tree, and the neutralized
text of an edited file is rebuilt from the old one exactly. Whoever can
write the cache can plant entries: none of them runs code, changes a
verdict, hangs a run or gives a traceback."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT, unified_diff
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import cache, filereader, record, store
from analyzer.analysis import analyze
from analyzer.cli import main
from analyzer.neutralize import neutralize, neutralize_edit
from analyzer.sources import tree_image

LEGACY = FIXTURES / "legacy" / "tree"
MODERN = FIXTURES / "modern" / "tree"
MASK = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"
CR4_PAE = b"role.cr4_pae = 0;"  # the override behind the legacy tree's finding


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MMU_ROLE_LINT_NO_CACHE", raising=False)
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _run(capsys, *args):
    status = main([*args, "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def test_warm_run_answers_like_a_cold_one(cache_dir, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    cold = _run(capsys, "check", str(MASK), "--tree", str(tree))
    assert list((cache_dir / "analyses").rglob("*")), "the base tree's analysis was stored"
    warm = _run(capsys, "check", str(MASK), "--tree", str(tree))
    assert warm == cold and cold[0] == 1
    # nothing of the cache lands in the tree
    assert sorted(p.relative_to(tree) for p in tree.rglob("*")) == sorted(
        p.relative_to(LEGACY) for p in LEGACY.rglob("*"))


def test_an_analysis_read_back_is_left_out_of_the_collectors_scans(cache_dir, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    image = tree_image(tree)
    key = cache.image_key(image.files, image.headers, image.context)
    cache.store(key, analyze(image))
    gc.unfreeze()
    was = gc.isenabled()
    got = cache.load(key)
    assert got is not None and got.findings
    frozen = gc.get_freeze_count()
    assert frozen > 0 and gc.isenabled() == was
    # what it holds is among the frozen objects, not in a generation
    assert gc.is_tracked(got.facts) and not any(o is got.facts for o in gc.get_objects())


def test_an_edited_file_is_not_answered_from_the_cache(cache_dir, capsys, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    assert _run(capsys, "scan", "--tree", str(tree))[0] == 1
    mmu = tree / "arch/x86/kvm/mmu.c"
    mmu.write_text(mmu.read_text().replace("\tif (role.direct)\n\t\trole.cr4_pae = 0;\n", ""))
    status, data = _run(capsys, "scan", "--tree", str(tree))
    assert status == 0 and data["findings"] == []


def test_broken_entries_are_ignored(cache_dir, capsys):
    first = _run(capsys, "scan", "--tree", str(LEGACY))
    for entry in (cache_dir / "analyses").rglob("*"):
        if entry.is_file():
            entry.write_bytes(b"not a pickle")
    for entry in (cache_dir / "neutral").rglob("*"):
        if entry.is_file():
            entry.write_text("short")
    assert _run(capsys, "scan", "--tree", str(LEGACY)) == first


def test_no_cache_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMU_ROLE_LINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")
    _run(capsys, "scan", "--tree", str(LEGACY))
    assert not (tmp_path / "cache").exists()
    assert cache.cache_root() is None


def test_key_changes_with_any_file_and_with_the_program(monkeypatch):
    files = {"a.c": "int x;\n"}
    key = cache.image_key(files, {})
    assert cache.image_key({"a.c": "int y;\n"}, {}) != key
    assert cache.image_key(files, {"h.h": ""}) != key
    cache.code_digest.cache_clear()
    monkeypatch.setattr(cache, "FORMAT", cache.FORMAT + 1)
    try:
        assert cache.image_key(files, {}) != key
    finally:
        cache.code_digest.cache_clear()


def test_program_digest_follows_each_module_and_rule_file(tmp_path, monkeypatch):
    """An edit of a module or of a rule file, a new one, a module removed
    or another version changes the digest; the same files with the same
    times elsewhere keep it, and neither bytecode nor other files count."""
    def program(top: Path) -> tuple[Path, Path]:
        pkg, rules = top / "analyzer", top / "rules"
        (pkg / "sub").mkdir(parents=True)
        rules.mkdir()
        for path, text in (("analyzer/a.py", "A = 1\n"), ("analyzer/sub/b.py", "B = 2\n"),
                           ("rules/r.toml", "x = 1\n")):
            (top / path).write_text(text)
            os.utime(top / path, ns=(10**18, 10**18))
        return pkg, rules

    pkg, rules = program(tmp_path / "one")
    first = cache.program_digest(pkg, rules)
    assert cache.program_digest(*program(tmp_path / "two")) == first
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (pkg / "notes.txt").write_text("not code")
    assert cache.program_digest(pkg, rules) == first
    edits = [lambda: (pkg / "sub" / "b.py").write_text("B = 3\n"),
             lambda: os.utime(rules / "r.toml", ns=(10**18, 10**18 + 1)),
             lambda: (pkg / "sub" / "c.py").write_text(""),
             lambda: (rules / "s.toml").write_text(""),
             lambda: (pkg / "a.py").unlink()]
    monkeypatch.setattr(cache, "__version__", "0.0.0-other")
    assert cache.program_digest(pkg, rules) != first
    monkeypatch.undo()
    seen = {first}
    for edit in edits:
        edit()
        digest = cache.program_digest(pkg, rules)
        assert digest not in seen
        seen.add(digest)


@pytest.mark.parametrize("seed", range(3))
def test_neutralize_edit_equals_neutralizing_the_whole_file(seed):
    old = (LEGACY / "arch/x86/kvm/mmu.c").read_text()
    old_neutral = neutralize(old)
    lines = old.splitlines(keepends=True)
    rng = random.Random(seed)
    for _ in range(60):
        edited = list(lines)
        k = rng.randrange(len(edited))
        choice = rng.choice(["delete", "duplicate", "loop", "attribute", "brace"])
        if choice == "delete":
            del edited[k]
        elif choice == "duplicate":
            edited.insert(k, edited[k])
        elif choice == "loop":
            edited.insert(k, "\tfor_each_thing(a, b) {\n\t\tx();\n\t}\n")
        elif choice == "attribute":
            edited.insert(k, "static __always_inline int g(void) { return 1; }\n")
        else:
            edited.insert(k, "{\n")  # unbalanced: must fall back, still exact
        new = "".join(edited)
        assert neutralize_edit(old, old_neutral, new) == neutralize(new)


# ---- planted and broken entries ------------------------------------------

def _entries(cache_dir, kind: str) -> list:
    return sorted(p for p in (cache_dir / kind).rglob("*") if p.is_file())


def _analysis_entry(cache_dir):
    (entry,) = _entries(cache_dir, "analyses")
    return entry


def _plant(entry, edit) -> bytes:
    """An analysis entry as an attacker who knows the format would write it:
    the payload edited by ``edit(top)``, with a checksum that holds."""
    top = json.loads(entry.read_bytes().partition(b"\n")[2])
    edit(top)
    payload = json.dumps(top).encode()
    return cache._header(entry.name, "analyses", payload) + payload


def _set_findings(value):
    return lambda top: _set_analysis_field(top, "findings", value)


def _scan_cli(cache_dir, tree=LEGACY, timeout=None) -> tuple[int, dict]:
    """scan in a child process, so that a hang is a timeout, not a stuck suite."""
    env = {**os.environ, "MMU_ROLE_LINT_CACHE": str(cache_dir)}
    env.pop("MMU_ROLE_LINT_NO_CACHE", None)
    proc = subprocess.run([sys.executable, "-m", "analyzer", "scan", "--tree", str(tree),
                           "--format", "json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _fields_found(data: dict) -> list[str]:
    return [f["field"] for f in data["findings"]]


def test_a_planted_pickle_runs_nothing(cache_dir, capsys, tmp_path):
    marker = tmp_path / "marker"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    first = _run(capsys, "scan", "--tree", str(LEGACY))
    planted = pickle.dumps(Payload())
    entries = _entries(cache_dir, "analyses") + _entries(cache_dir, "neutral")
    for entry in entries:
        entry.write_bytes(planted)
    assert _run(capsys, "scan", "--tree", str(LEGACY)) == first
    assert not marker.exists(), "a cache entry ran code"
    assert first[0] == 1 and _fields_found(first[1]) == ["cr4_pae"]
    # and the entries were written again, as data
    assert all(not e.read_bytes().startswith(planted) for e in entries)


def test_a_corrupted_neutral_entry_does_not_change_the_verdict(cache_dir, capsys):
    """Same length, same lines, blanks over code: only the checksum tells."""
    assert _run(capsys, "scan", "--tree", str(LEGACY))[0] == 1
    shutil.rmtree(cache_dir / "analyses")  # the next run parses again, from the neutral texts
    corrupted = 0
    for entry in _entries(cache_dir, "neutral"):
        data = entry.read_bytes()
        if CR4_PAE in data:
            entry.write_bytes(data.replace(CR4_PAE, b" " * len(CR4_PAE)))
            corrupted += 1
    assert corrupted == 1
    for _ in range(2):  # the analysis made from it, then that analysis read back
        status, data = _run(capsys, "scan", "--tree", str(LEGACY))
        assert status == 1 and _fields_found(data) == ["cr4_pae"]


def test_a_neutral_entry_that_cannot_be_a_neutralization_is_a_miss(cache_dir, capsys):
    """A planted neutral text with a valid checksum but a changed character
    no rewrite writes (here 0 -> x) is not used."""
    assert _run(capsys, "scan", "--tree", str(LEGACY))[0] == 1
    shutil.rmtree(cache_dir / "analyses")
    mmu = (LEGACY / "arch/x86/kvm/mmu.c").read_text()
    key = cache.text_key(mmu)
    forged = neutralize(mmu).replace("role.cr4_pae = 0;", "role.cr4_pae = x;")
    cache.store_text(key, forged)
    assert cache._read(key, "neutral") == forged.encode()  # the entry itself is well formed
    status, data = _run(capsys, "scan", "--tree", str(LEGACY))
    assert status == 1 and _fields_found(data) == ["cr4_pae"]


def test_an_analysis_with_findings_null_is_a_miss(cache_dir, capsys):
    first = _run(capsys, "scan", "--tree", str(LEGACY))
    entry = _analysis_entry(cache_dir)
    entry.write_bytes(_plant(entry, _set_findings(None)))
    assert _run(capsys, "scan", "--tree", str(LEGACY)) == first
    assert store.decode(entry.read_bytes().partition(b"\n")[2]).findings  # written again


def test_a_fifo_entry_does_not_hang_the_run(cache_dir, capsys):
    first = _run(capsys, "scan", "--tree", str(LEGACY))
    entries = _entries(cache_dir, "analyses") + _entries(cache_dir, "neutral")
    shutil.rmtree(cache_dir / "analyses")
    for entry in entries:
        entry.unlink(missing_ok=True)
        entry.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(entry)
    assert _scan_cli(cache_dir, timeout=120) == first
    assert all(e.is_file() for e in entries)  # a regular entry took the FIFO's place


def test_a_symlinked_entry_is_not_followed(cache_dir, capsys, tmp_path):
    """A link to a well-formed entry that says "no findings" is not read."""
    first = _run(capsys, "scan", "--tree", str(LEGACY))
    entry = _analysis_entry(cache_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(_plant(entry, _set_findings([])))
    planted = elsewhere.read_bytes()
    entry.unlink()
    entry.symlink_to(elsewhere)
    assert _run(capsys, "scan", "--tree", str(LEGACY)) == first
    assert elsewhere.read_bytes() == planted  # what the link pointed to is left alone
    assert not entry.is_symlink()


def test_an_entry_under_another_key_is_a_miss(cache_dir, capsys):
    _run(capsys, "scan", "--tree", str(LEGACY))
    entry = _analysis_entry(cache_dir)
    assert cache.load(entry.name) is not None
    other = cache._path("0" * len(entry.name), "analyses")
    other.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(entry, other)
    assert cache.load(other.name) is None  # the header names the key it was written for


def test_an_entry_larger_than_the_cap_is_not_read(cache_dir, capsys, monkeypatch):
    _run(capsys, "scan", "--tree", str(LEGACY))
    entry = _analysis_entry(cache_dir)
    monkeypatch.setattr(filereader, "MAX_BYTES", entry.stat().st_size // 2)
    assert cache.load(entry.name) is None
    assert not entry.exists()  # a regular file of ours that is no entry is removed


# ---- the JSON format -------------------------------------------------------

def _set_analysis_field(top, name: str, value) -> None:
    """Give the analysis (the one object of the last group) another value
    of one field."""
    group = top[2][-1]
    assert top[1][group[0]][0] == "Analysis" and group[1] == 1
    group[2 + [f.name for f in record.fields(store.Analysis)].index(name)] = [value]


def _same(a, b, path="") -> None:
    """Deep equality that also compares steps (terms' equality ignores
    them) and types (a tuple is not a list)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if record.is_record(a):
        for f in record.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            _same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


@pytest.mark.parametrize("tree", [LEGACY, MODERN], ids=["legacy", "modern"])
def test_json_gives_back_the_analysis(tree):
    analysis = analyze(tree_image(tree))
    back = store.decode(store.encode(analysis))
    _same(analysis, back)
    assert back.model is back.facts.model  # shared objects stay shared


@functools.lru_cache(maxsize=1)
def _valid_bytes() -> bytes:
    return store.encode(analyze(tree_image(LEGACY)))


def _valid_payload() -> list:
    return json.loads(_valid_bytes())


def _count(top) -> int:
    """How many objects a payload holds."""
    return sum(group[1] for group in top[2])


def _swap_class(top, name, new):
    top[1] = [[new if n == name else n, f] for n, f in top[1]]


@pytest.mark.parametrize("damage", [
    lambda top: _swap_class(top, "Step", "Popen"),                    # a class not in the registry
    lambda top: _swap_class(top, "Step", "Analysis"),                 # a class of the wrong shape
    lambda top: top[1][0][1].append("extra"),                         # a field it does not have
    lambda top: top[2][0].append([]),                                 # a column too many
    lambda top: top[2][0][2].append(top[2][0][2][0]),                 # a value too many in one
    lambda top: top[2].append(top[2][0]),                             # the last object not the analysis
    lambda top: _set_analysis_field(top, "files", "arch/x86/kvm/mmu.c"),  # a str, not a list
    lambda top: _set_analysis_field(top, "findings", None),
    lambda top: _set_analysis_field(top, "facts", _count(top) + 5),   # a reference to nothing
    lambda top: _set_analysis_field(top, "facts", -1),                # ... or from the end
    lambda top: _set_analysis_field(top, "facts", _count(top) - 1),   # ... or to itself
    lambda top: _set_analysis_field(top, "facts", 0),                 # ... or to another record
    lambda top: _set_analysis_field(top, "facts", True),              # a bool is no reference
    lambda top: top.__setitem__(0, "something else"),
], ids=["unknown-class", "wrong-fields", "extra-field", "extra-column", "extra-value", "last-object",
        "wrong-type", "findings-null", "dangling", "negative", "self", "wrong-record", "bool",
        "magic"])
def test_a_malformed_payload_is_refused(damage):
    top = _valid_payload()
    damage(top)
    with pytest.raises(store.Malformed):
        store.decode(json.dumps(top))


@pytest.mark.parametrize("data", [b"", b"\x80\x04K\x01.", b"[" * 100000, b"null",
                                  b'["mmu-role-lint analysis", [], []]'])
def test_what_is_not_an_analysis_is_refused(data):
    with pytest.raises(store.Malformed):
        store.decode(data)


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 10**6) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.sampled_from(["o", "k", "l", "f", "s", "x"]), inner, max_size=2),
                     max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_one_changed_value_gives_an_analysis_or_a_miss(data):
    """Change one value anywhere in a valid payload (an object's number, a
    field's value, a count, a whole column): decode builds an analysis or
    says Malformed, nothing else."""
    top = _valid_payload()
    groups = top[2]
    group = groups[data.draw(st.integers(0, len(groups) - 1), label="group")]
    at = data.draw(st.integers(0, len(group) - 1), label="position")
    if at >= 2 and group[at] and data.draw(st.booleans(), label="one value"):
        group, at = group[at], data.draw(st.integers(0, len(group[at]) - 1), label="index")
    group[at] = data.draw(_JSON, label="value")
    with contextlib.suppress(store.Malformed):
        assert type(store.decode(json.dumps(top))) is store.Analysis


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.binary(min_size=1, max_size=4))
def test_any_few_bytes_changed_give_an_analysis_or_a_miss(at, garbage):
    data = _valid_bytes()
    at %= len(data)
    with contextlib.suppress(store.Malformed):
        assert type(store.decode(data[:at] + garbage + data[at + len(garbage):])) is store.Analysis


@pytest.mark.real_kernel
@pytest.mark.parametrize("version", ["6.1", "6.12"])
def test_json_gives_back_a_real_kernels_analysis(version, kernel_tree):
    """Every value a whole MMU's analysis holds has a place in the format
    (else the cache would silently stop storing it)."""
    analysis = analyze(tree_image(kernel_tree(version)))
    _same(analysis, store.decode(store.encode(analysis)))


def test_a_neutralization_is_plausible_and_edits_of_it_are_not():
    text = (LEGACY / "arch/x86/kvm/mmu.c").read_text()
    neutral = neutralize(text)
    assert neutral != text and cache.plausible_neutral(text, neutral)
    i = neutral.index("role.cr4_pae = 0;")
    j = neutral.index("\n", i)
    for forged in (neutral[:i] + "x" + neutral[i + 1:],           # a letter no rewrite writes
                   neutral[:j] + " " + neutral[j + 1:j + 2] + "\n" + neutral[j + 2:],  # a moved newline
                   neutral[:-1]):                                # shorter
        assert not cache.plausible_neutral(text, forged)
    # a rewrite never spans a non-ASCII character (UTF-8 offsets would move)
    assert not cache.plausible_neutral("\u00e9" + text[1:], " " + neutral[1:])
    assert cache.plausible_neutral("\u00e9" + text[1:], "\u00e9" + neutral[1:])


def test_the_base_of_a_check_is_written_by_a_child_while_the_patch_is_analyzed(
        cache_dir, monkeypatch):
    """With two processes the analysis of the tree is written to the cache
    by a child (analyzer.analysis.analyze_cached, storing), and it is
    there when run_check returns: the next check reads it back."""
    from analyzer import cache as cache_mod
    from analyzer.patch import read_patches
    from analyzer.runner import run_check

    if not hasattr(os, "fork"):
        pytest.skip("no os.fork here")
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", "2")
    tree = FIXTURES / "legacy" / "tree"
    patch = read_patches((FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch").read_bytes())
    in_parent: list[str] = []
    real_store = cache_mod.store
    monkeypatch.setattr(cache_mod, "store", lambda key, value, *kind: (in_parent.append(key),
                                                                       real_store(key, value, *kind))[1])
    first = run_check(patch, tree)
    assert in_parent == []  # the child wrote it
    entries = list((cache_dir / "analyses").rglob("*")) if (cache_dir / "analyses").exists() else []
    assert any(p.is_file() for p in entries)
    loads: list = []
    real_load = cache_mod.load
    monkeypatch.setattr(cache_mod, "load",
                        lambda key, *kind: (loads.append(r := real_load(key, *kind)), r)[1])
    second = run_check(patch, tree)
    assert loads and loads[0] is not None  # read back
    assert [f.fingerprint for f in second.patches[0].delta.introduced] == \
        [f.fingerprint for f in first.patches[0].delta.introduced]


def _header_and_mask_patch(tree: Path) -> Path:
    """The mask patch, and a comment added to kvm_host.h: an edit whose
    analysis after is made from nothing (a header changed)."""
    header = "arch/x86/include/asm/kvm_host.h"
    text = (tree / header).read_text()
    edited = text.replace("struct kvm_mmu_page {", "/* pages */\nstruct kvm_mmu_page {", 1)
    assert edited != text
    patch = tree.parent / "header-and-mask.patch"
    patch.write_text(MASK.read_text().split("\n-- \n")[0].rstrip("\n") + "\n"
                     + f"diff --git a/{header} b/{header}\n" + unified_diff(header, text, edited))
    return patch


def test_the_base_of_an_edit_made_from_nothing_is_read_as_its_findings_only(
        cache_dir, capsys, tmp_path, monkeypatch):
    """A patch that edits a header is analyzed after it from nothing: of
    the tree before it, the check reads only the findings' entry (a few kB,
    not the whole analysis), and says what a check without the cache says.
    When that entry is missing, the whole analysis is read and the entry
    written again."""
    tree = tmp_path / "tree"
    shutil.copytree(LEGACY, tree)
    patch = _header_and_mask_patch(tree)
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")
    uncached = _run(capsys, "check", str(patch), "--tree", str(tree))
    monkeypatch.delenv("MMU_ROLE_LINT_NO_CACHE")
    assert uncached[0] == 1 and [f["field"] for f in uncached[1]["patches"][0]["introduced"]] == ["nxe"]
    assert _run(capsys, "check", str(patch), "--tree", str(tree)) == uncached  # both entries written
    image = tree_image(tree)
    key = cache.image_key(image.files, image.headers, image.context)
    whole, findings = cache.load(key), cache.load(key, "findings")
    assert findings is not None and not findings.facts.functions and whole.facts.functions
    assert [f.fingerprint for f in findings.findings] == [f.fingerprint for f in whole.findings]
    kinds: list[tuple[str, str]] = []
    real_load = cache.load
    monkeypatch.setattr(cache, "load", lambda k, kind="analyses": (kinds.append((k, kind)),
                                                                    real_load(k, kind))[1])
    assert _run(capsys, "check", str(patch), "--tree", str(tree)) == uncached
    assert [kind for k, kind in kinds if k == key] == ["findings"]
    # without the findings' entry: the whole analysis, and the entry again
    for entry in (cache_dir / "findings").rglob("*"):
        if entry.is_file():
            entry.unlink()
    kinds.clear()
    assert _run(capsys, "check", str(patch), "--tree", str(tree)) == uncached
    assert [kind for k, kind in kinds if k == key] == ["findings", "analyses"]
    assert real_load(key, "findings") is not None
    # an edit of the .c files only is made from the whole analysis before it
    kinds.clear()
    assert _run(capsys, "check", str(MASK), "--tree", str(tree))[0] == 1
    assert [kind for k, kind in kinds if k == key] == ["analyses"]
