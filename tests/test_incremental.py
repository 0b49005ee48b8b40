"""The analysis after a patch reuses the facts of the files it did not touch:
it must give exactly what a full analysis gives."""

from __future__ import annotations

import pytest
from helpers import FIXTURES, edited, expectations
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.analysis import analyze
from analyzer.patch import apply_patch, read_patches
from analyzer.sources import patched_image, tree_image

PATCHES = sorted(p for p in FIXTURES.glob("*/patches/*.patch") if not expectations(p).get("base"))


def _post(patch):
    tree = patch.parent.parent / "tree"
    before_image = tree_image(tree)
    (p,) = read_patches(patch.read_bytes())
    changes = apply_patch(p, before_image.get).files
    return before_image, patched_image(before_image, changes, lambda path: None)


def _shape(analysis) -> list[dict]:
    return [f.as_dict() | {"graph_path": [tuple(n) for n in f.graph_path]} for f in analysis.findings]


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_incremental_equals_full(patch):
    before_image, after_image = _post(patch)
    before = analyze(before_image)
    incremental = analyze(after_image, base=before, base_image=before_image)
    full = analyze(after_image)
    assert _shape(incremental) == _shape(full)
    assert incremental.parse_errors == full.parse_errors
    # only the patched file was parsed again, unless a role constant, a
    # header or a context file (role-incomplete) changed, or a function was
    # added (callers may bind it)
    changed = [p for p in after_image.files if after_image.files[p] != before_image.files[p]]
    if ("mask" in patch.stem or after_image.headers != before_image.headers
            or after_image.context != before_image.context
            or set(full.facts.functions) != set(before.facts.functions)):
        assert len(incremental.parsed) > len(changed)
    else:
        assert incremental.parsed == changed


def test_without_the_cache_a_patched_file_is_neutralized_from_its_old_text(monkeypatch):
    import analyzer.analysis
    import analyzer.neutralize as neutralize

    monkeypatch.setattr(analyzer.analysis, "_NEUTRAL", {})  # nothing from the tests before

    patch = FIXTURES / "legacy" / "patches" / "0015-shadow-root-access-arg.patch"
    before_image, after_image = _post(patch)
    before = analyze(before_image)
    whole, edits = [], []
    full, edit = neutralize.neutralize, neutralize.neutralize_edit
    monkeypatch.setattr(neutralize, "neutralize", lambda text: whole.append(text) or full(text))
    monkeypatch.setattr(neutralize, "neutralize_edit",
                        lambda old, neutral, text: edits.append(text) or edit(old, neutral, text))
    after = analyze(after_image, base=before, base_image=before_image)
    changed = [p for p in after_image.files if after_image.files[p] != before_image.files[p]]
    assert changed and after.parsed
    # the edit neutralizes what it changed, never the whole file again
    assert edits == [after_image.files[p] for p in changed]
    assert not set(whole) & set(after_image.files.values())
    assert _shape(after) == _shape(analyze(after_image))


def test_signature_change_falls_back_to_a_full_analysis():
    tree = FIXTURES / "legacy" / "tree"
    before_image = tree_image(tree)
    path = "arch/x86/kvm/mmu.c"
    text = before_image.files[path]
    old = "static union kvm_mmu_page_role\nkvm_mmu_calc_root_page_role(struct kvm_vcpu *vcpu)"
    assert old in text
    after_image = patched_image(before_image, {path: text.replace(
        old, "static union kvm_mmu_page_role\nkvm_mmu_calc_root_page_role(struct kvm_vcpu *vcpu, int x)")},
        lambda p: None)
    before = analyze(before_image)
    again = analyze(after_image, base=before, base_image=before_image)
    assert len(again.parsed) == len(after_image.files) + len(after_image.headers)


def test_one_line_mover_moves_facts_and_findings_and_refuses_edited_lines():
    from analyzer.findings import Finding, TraceStep
    from analyzer.incremental import LineMover, Unmoved, line_moves
    from analyzer.terms import Const, Step, Value

    moves = line_moves("a\nb\nc\n", "a\nadded\nb\nC\n")  # b moves down, c is edited
    assert moves == {1: 1, 2: 3}
    mover = LineMover({"f.c": moves})

    def at(line: int, file: str = "f.c") -> Step:
        return Step(file, line, 1, "fn", "def", "x")

    assert mover.step(at(2)).line == 3
    assert mover.step(at(2, "other.c")).line == 2  # only the files it was given
    value = mover.term(Value("r", {"level": Const(4, at(2))}))
    assert value.fields["level"].step.line == 3 and value.fields["level"] == Const(4)
    finding = Finding("role-mismatch", "error", "level", "m", "f.c", 2, 1, "fn",
                      [TraceStep("f.c", 1, "fn", "def", "x", "left")], [at(2)])
    moved = mover.finding(finding)
    assert (moved.line, moved.trace[0].line, moved.related[0].line) == (3, 1, 3)
    with pytest.raises(Unmoved):
        mover.step(at(3))  # its line was edited: what holds it is made again


def test_what_keeps_every_line_is_reused_as_it_is_and_what_moves_is_copied():
    from analyzer.facts import CallSite, Store
    from analyzer.incremental import LineMover
    from analyzer.terms import Const, Origin, Ref, Step, Truthy, Value

    mover = LineMover({"f.c": {1: 1, 2: 2, 5: 6}})  # a line added after line 2

    def at(line: int) -> Step:
        return Step("f.c", line, 1, "fn", "def", "x")

    kept = Value("r", {"level": Const(4, at(1)), "direct": Ref(Origin("param", "p"), "direct", at(2))})
    assert mover.term(kept) is kept  # nothing to move: no copy
    store = Store(1, "fn", "role", kept, "", at(2), cond=Truthy(Const(1, at(1))))
    assert mover.fact(store) is store
    call = CallSite(2, "fn", "g", [kept], at(1))
    assert mover.fact(call) is call
    # one step below the edit: that term and all that holds it are copies
    below = Value("r", {"level": Const(4, at(1)), "direct": Const(1, at(5))})
    moved = mover.fact(Store(3, "fn", "role", below, "", at(2)))
    assert moved.value is not below and moved.value.fields["direct"].step.line == 6
    assert moved.value.fields["level"] is below.fields["level"]
    assert below.fields["direct"].step.line == 5  # the base analysis is left as it was


def test_an_edit_that_moves_no_pointer_reruns_only_the_sites_that_read_it():
    # tdp_mmu_init_sp stores into sp->role; an edit of what it stores moves
    # no pointer and leaves the page flow as it was: a site is judged again
    # only when it read that function or the slot it stores, the others
    # keep their findings
    before_image = tree_image(FIXTURES / "modern" / "tree")
    path = "arch/x86/kvm/mmu/tdp_mmu.c"
    text = before_image.files[path]
    assert "\tsp->role = role;" in text
    after_image = patched_image(
        before_image, {path: text.replace("\tsp->role = role;", "\trole.ad_disabled = 0;\n\tsp->role = role;")},
        lambda p: None)
    before = analyze(before_image)
    again = analyze(after_image, base=before, base_image=before_image)
    read_it = {key for key, (_f, deps) in before.by_site.items()
               if deps & {("fn", "tdp_mmu_init_sp"), ("slot", "role")}}
    assert read_it and len(read_it) < len(before.by_site)
    assert again.reused == len(before.by_site) - len(read_it)
    assert _shape(again) == _shape(analyze(after_image))


def test_a_page_flow_an_edit_left_as_it_was_is_not_solved_again(monkeypatch):
    import analyzer.analysis

    before_image = tree_image(FIXTURES / "modern" / "tree")
    path = "arch/x86/kvm/mmu/tdp_mmu.c"
    text = before_image.files[path]
    moved = patched_image(before_image, {path: text.replace("sp->gfn = gfn;", "sp->gfn = gfn + 0;")},
                          lambda p: None)
    # a page put into no list any more: the flow changes
    assert "list_add(&root->link" in text or "list_add_rcu(&root->link" in text
    unlisted = patched_image(before_image, {path: text.replace("list_add", "list_foo")}, lambda p: None)
    solved = []
    solve = analyzer.analysis.solve
    monkeypatch.setattr(analyzer.analysis, "solve", lambda flows: solved.append(1) or solve(flows))
    monkeypatch.setattr(analyzer.analysis, "_SOLVED", [])
    before = analyze(before_image)
    assert len(solved) == 1
    again = analyze(moved, base=before, base_image=before_image)
    assert len(solved) == 1 and again.reused
    assert _shape(again) == _shape(analyze(moved))
    analyze(unlisted, base=before, base_image=before_image)
    assert len(solved) > 1


def test_a_change_of_a_context_file_judges_again_only_what_reads_it():
    # cpuid.c is read beside the sources for where vCPU state is written:
    # without the write of reserved_gpa_bits there, role-incomplete no
    # longer reports it; the sources are neither parsed nor judged again
    tree = FIXTURES / "incomplete-modern" / "tree"
    (p,) = read_patches((tree.parent / "patches" / "0001-drop-cpuid-invalidation.patch").read_bytes())
    image = tree_image(tree)
    before_image = patched_image(image, apply_patch(p, image.get).files, lambda path: None)
    cpuid = before_image.context["arch/x86/kvm/cpuid.c"]
    write = "\tvcpu->arch.reserved_gpa_bits = rsvd_bits(cpuid_maxphyaddr(vcpu), 63);\n"
    assert write in cpuid
    after_image = patched_image(before_image, {"arch/x86/kvm/cpuid.c": cpuid.replace(write, "")},
                                lambda path: None)
    before = analyze(before_image)
    again = analyze(after_image, base=before, base_image=before_image)
    full = analyze(after_image)
    assert "reserved_gpa_bits" in {f.field for f in before.findings}
    assert "reserved_gpa_bits" not in {f.field for f in full.findings}
    assert _shape(again) == _shape(full)
    assert again.parsed == []
    assert again.reused == sum(1 for key in before.by_site if key[0] != "role-incomplete")


def test_an_edit_of_comments_and_blanks_judges_nothing_again():
    # the facts of a function whose code is the same are its old ones on
    # moved lines: every site keeps its findings, moved
    before_image = tree_image(FIXTURES / "legacy" / "tree")
    path = "arch/x86/kvm/mmu.c"
    text = before_image.files[path]
    anchor = "\tif (role.direct)\n\t\trole.cr4_pae = 0;\n"
    assert anchor in text
    edited = text.replace(anchor, "\t/* PAE roots are\n\t * made direct */\n" + anchor, 1)
    after_image = patched_image(before_image, {path: edited}, lambda p: None)
    before = analyze(before_image)
    assert before.findings
    again = analyze(after_image, base=before, base_image=before_image)
    assert again.reused == len(before.by_site)
    assert _shape(again) == _shape(analyze(after_image))
    assert [f.line for f in again.findings] != [f.line for f in before.findings]


def test_a_comment_in_a_context_file_judges_nothing_again_and_moves_what_points_into_it():
    tree = FIXTURES / "incomplete-modern" / "tree"
    (p,) = read_patches((tree.parent / "patches" / "0001-drop-cpuid-invalidation.patch").read_bytes())
    image = tree_image(tree)
    before_image = patched_image(image, apply_patch(p, image.get).files, lambda path: None)
    path = "arch/x86/kvm/cpuid.c"
    after_image = patched_image(before_image, {path: "/* CPUID */\n" + before_image.context[path]},
                                lambda path: None)
    before = analyze(before_image)
    again = analyze(after_image, base=before, base_image=before_image)
    assert again.reused == len(before.by_site)
    assert _shape(again) == _shape(analyze(after_image))
    lines = [[t.line for t in f.trace if t.file == path] for f in before.findings]
    assert any(lines)
    assert [[t.line for t in f.trace if t.file == path] for f in again.findings] == [
        [n + 1 for n in ls] for ls in lines]


@pytest.mark.parametrize("tree, incremental", [("modern", False), ("modern", True),
                                              ("incomplete-modern", False)],
                         ids=["full", "after-an-edit", "role-incomplete-interpreted"])
def test_what_an_analysis_parsed_is_freed_when_it_ends_without_the_cyclic_collector(
        monkeypatch, tree, incremental):
    # git mode analyzes commit after commit, and the collector of cycles
    # runs rarely (cli.GC_THRESHOLDS): a parsed file (its tree-sitter tree)
    # kept alive by a cycle of the executor, the interpreter or the
    # resolver with its parts stays in memory, 2.5 MB a commit
    import gc
    import weakref

    import analyzer.analysis

    before_image = tree_image(FIXTURES / tree / "tree")
    after_image = before_image
    if incremental:
        path = "arch/x86/kvm/mmu/tdp_mmu.c"
        text = before_image.files[path]
        after_image = patched_image(before_image, {path: text.replace("sp->gfn = gfn;", "sp->gfn = gfn + 0;")},
                                    lambda p: None)
    before = analyze(before_image)
    parsed = []

    def keeping(real):
        def parse(*args, **kwargs):
            pf = real(*args, **kwargs)
            parsed.append(weakref.ref(pf))
            return pf
        return parse

    # a file parsed whole, or an edited function parsed alone
    for name in ("_parse", "parse_lines"):
        monkeypatch.setattr(analyzer.analysis, name, keeping(getattr(analyzer.analysis, name)))
    gc.collect()
    gc.disable()
    try:
        after = (analyze(after_image, base=before, base_image=before_image) if incremental
                 else analyze(after_image))
        alive = [r().path for r in parsed if r() is not None]
    finally:
        gc.enable()
    assert parsed and after.by_site
    if tree == "incomplete-modern":
        assert any(key[0] == "role-incomplete" for key in after.by_site)
    assert alive == []


MMU_C = "arch/x86/kvm/mmu/mmu.c"
SWAPPED = ("\trole.smm = cpu_role.base.smm;\n\trole.guest_mode = cpu_role.base.guest_mode;\n",
           "\trole.guest_mode = cpu_role.base.guest_mode;\n\trole.smm = cpu_role.base.smm;\n")


@pytest.mark.parametrize("edit, alike", [
    (SWAPPED, True),  # two independent fields set in the other order
    (("\trole.cr0_wp = true;\n", "\trole.cr0_wp = 1;\n"), True),  # the same constant
    (("\trole.cr0_wp = true;\n", "\trole.cr0_wp = 0;\n"), False),  # another value
    (("\trole.cr0_wp = true;\n\trole.efer_nx = true;\n", "\trole.efer_nx = true;\n"), False),
])
def test_a_function_whose_facts_an_edit_left_alike_is_not_changed_for_role_mismatch(
        monkeypatch, edit, alike):
    import analyzer.incremental as incremental

    name = "kvm_calc_tdp_mmu_root_page_role"
    before_image = tree_image(FIXTURES / "modern" / "tree")
    text = before_image.files[MMU_C]
    assert edit[0] in text
    after_image = patched_image(before_image, {MMU_C: text.replace(*edit)}, lambda p: None)
    before = analyze(before_image)
    reused = []
    real = incremental.SiteReuse.findings_for

    def findings_for(self, key):
        got = real(self, key)
        if got is not None:
            reused.append(key)
        return got

    monkeypatch.setattr(incremental.SiteReuse, "findings_for", findings_for)
    after = analyze(after_image, base=before, base_image=before_image)
    assert _shape(after) == _shape(analyze(after_image))
    moves = {MMU_C: line_moves_of(before_image, after_image)}
    assert incremental.same_facts(before.facts, after.facts, {MMU_C}, moves) == ({name} if alike else set())
    # the sites that read the function: role-mismatch's keep their findings
    # when its facts are alike; what reads code (role-incomplete) is judged again
    reading = {key for key, (_f, deps) in before.by_site.items() if ("fn", name) in deps}
    mismatch = {key for key in reading if key[0] == "role-mismatch"}
    assert mismatch and reading - mismatch
    assert (mismatch & set(reused)) == (mismatch if alike else set())
    assert not (reading - mismatch) & set(reused)


def line_moves_of(before_image, after_image):
    from analyzer.incremental import line_moves

    return line_moves(before_image.files[MMU_C], after_image.files[MMU_C])


def test_statements_swapped_move_no_pointer_when_they_record_the_same_edges():
    from analyzer.containers.records import FileFlow

    a, b = ("var", "f", "sp"), ("def", "f", "role", "sp->role#1")
    one = FileFlow(edges=[(a, b), (b, a)], functions={"f:1": FileFlow(edges=[(a, b), (b, a)])})
    swapped = FileFlow(edges=[(b, a), (a, b)], functions={"f:2": FileFlow(edges=[(b, a), (a, b)])})
    assert swapped.same_flow(one)
    other = FileFlow(edges=[(a, b)], functions={"f:2": FileFlow(edges=[(a, b)])})
    assert not other.same_flow(one)


def test_line_moves_keep_the_common_head_and_tail_and_match_the_middle():
    from analyzer.incremental import line_moves

    old = "".join(f"l{k}\n" for k in range(1, 2001))
    new = old.replace("l1000\n", "l1000\nadded\n").replace("l1500\n", "")
    moves = line_moves(old, new)
    assert moves[999] == 999 and moves[1000] == 1000 and moves[1001] == 1002
    assert 1500 not in moves and moves[1501] == 1501 and moves[2000] == 2000
    assert line_moves("a\nb\n", "a\nb\n") == {1: 1, 2: 2}
    assert line_moves("x\nx\nx\n", "x\nx\n") == {1: 1, 2: 2}


def test_the_macros_and_tested_fields_of_an_unchanged_image_are_made_once(monkeypatch):
    import analyzer.constants as constants
    from analyzer.resolve import conditions

    texts = ("#define ACC_EXEC_MASK 1\n#define ACC_ALL (ACC_EXEC_MASK | 6)\n",)
    first = constants.macro_values(texts)
    assert first == {"ACC_EXEC_MASK": 1, "ACC_ALL": 7}
    first["ACC_ALL"] = 0  # a caller's copy: the next caller gets the values
    assert constants.macro_values(list(texts)) == {"ACC_EXEC_MASK": 1, "ACC_ALL": 7}

    before = analyze(tree_image(FIXTURES / "modern" / "tree"))
    facts = before.facts
    made = []
    real = conditions._tested_fields
    monkeypatch.setattr(conditions, "_TESTED", [])
    monkeypatch.setattr(conditions, "_tested_fields", lambda f: made.append(f) or real(f))
    got = conditions.tested_fields(facts)
    got.clear()  # a caller's copy too
    assert conditions.tested_fields(facts) == real(facts) and made == [facts]
    facts.stores.append(facts.stores[0])  # facts that grew are read again
    conditions.tested_fields(facts)
    assert made == [facts, facts]


@pytest.mark.parametrize("tree", ["legacy", "modern", "incomplete-legacy", "incomplete-modern"])
def test_every_step_of_a_functions_facts_lies_in_its_definition(tree):
    # what lets an analysis after an edit take the facts of a function above
    # the edit's first moved line as they are, without walking them
    from analyzer.incremental import _items_by_func, _shape, _Unalike

    facts = analyze(tree_image(FIXTURES / tree / "tree")).facts
    items = _items_by_func(facts, {info.file for info in facts.functions.values()})
    checked = 0
    for name, info in facts.functions.items():
        try:
            _facts, steps = _shape(info, items.get(name, []))
        except _Unalike:
            continue
        checked += 1
        assert all(info.line <= line <= info.end_line for file, line, *_ in steps
                   if file == info.file and line), name
    assert checked > 10


def test_the_facts_of_a_function_above_an_edit_are_taken_as_they_are(monkeypatch):
    import analyzer.incremental as incremental

    before_image = tree_image(FIXTURES / "modern" / "tree")
    text = before_image.files[MMU_C]
    edit = ("\trole.cr0_wp = true;\n", "\trole.cr0_wp = true;\n\t/* one more line */\n")
    after_image = patched_image(before_image, {MMU_C: text.replace(*edit)}, lambda p: None)
    before = analyze(before_image)
    walked = []
    real = incremental._reuse_moved
    monkeypatch.setattr(incremental, "_reuse_moved",
                        lambda facts, was, items, mover: walked.append(was) or real(facts, was, items, mover))
    after = analyze(after_image, base=before, base_image=before_image)
    edited = text[:text.index(edit[0])].count("\n") + 1
    old_stores = {id(s) for s in before.facts.stores}
    above = [s for s in after.facts.stores if s.step.file == MMU_C and s.step.line < edited]
    below = [s for s in after.facts.stores if s.step.file == MMU_C and s.step.line > edited + 1]
    assert above and below
    assert all(id(s) in old_stores for s in above)  # the same objects
    assert not any(id(s) in old_stores for s in below)  # moved down a line: copies
    # only the functions below the edit were walked to move their steps
    assert walked and all(was.end_line >= edited for was in walked)
    assert {s.func for s in above}.isdisjoint(was.name for was in walked)
    assert _shape(after) == _shape(analyze(after_image))


def _moves_table(old: str, new: str) -> dict[int, int]:
    """``line_moves`` as a table of every kept line, as it was built before."""
    import difflib

    from analyzer.sequences import common_prefix

    a, b = old.splitlines(), new.splitlines()
    head = common_prefix(a, b)
    tail = common_prefix(a[:head - 1:-1] if head else a[::-1], b[:head - 1:-1] if head else b[::-1],
                         min(len(a), len(b)) - head)
    moves = {k: k for k in range(1, head + 1)}
    moves.update((k, k + len(b) - len(a)) for k in range(len(a) - tail + 1, len(a) + 1))
    matcher = difflib.SequenceMatcher(None, a[head:len(a) - tail], b[head:len(b) - tail],
                                      autojunk=False)
    for i, j, n in matcher.get_matching_blocks():
        moves.update((head + i + k + 1, head + j + k + 1) for k in range(n))
    return moves


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("abcx"), max_size=30), st.data())
def test_line_moves_are_the_table_of_every_kept_line(lines, data):
    """Head and tail by arithmetic, the middle matched: every line maps as
    in a table of every kept line, nothing else maps, and the first line
    the edit did not keep in place is the table's."""
    from analyzer.incremental import _first_moved, line_moves

    old = "".join(f"{x}\n" for x in lines)
    new = "".join(f"{x}\n" for x in edited(data, lines, "abcy"))
    table, moves = _moves_table(old, new), line_moves(old, new)
    assert dict(moves) == table and len(moves) == len(table)
    for k in range(-1, len(lines) + 3):
        assert moves.get(k) == table.get(k) and (k in moves) == (k in table)
    assert _first_moved(moves) == _first_moved(table)


def test_an_edit_of_code_alone_reads_no_macro_or_page_context_again(monkeypatch):
    """After an edit that leaves every object-like macro and what the page
    context reads of the file alike, the macros' values and the page
    context are the base analysis's, not made again; an edit of a macro
    makes them again (and the analysis falls back), and both give what a
    full analysis gives."""
    import analyzer.analysis as analysis_mod

    tree = FIXTURES / "modern" / "tree"
    before_image = tree_image(tree)
    before = analyze(before_image)
    path = "arch/x86/kvm/mmu/mmu.c"
    text = before_image.files[path]
    made: list[str] = []
    real_constants, real_context = analysis_mod._constants, analysis_mod._page_context
    monkeypatch.setattr(analysis_mod, "_constants",
                        lambda image: made.append("constants") or real_constants(image))
    monkeypatch.setattr(analysis_mod, "_page_context",
                        lambda *a: made.append("context") or real_context(*a))
    code = patched_image(before_image, {path: text.replace("\trole.level = level;\n",
                                                           "\trole.level = level;\n\t/* a note */\n", 1)},
                         lambda p: None)
    macro = patched_image(before_image, {path: text.replace("#define is_cr0_wp(regs)",
                                                            "#define PT64_LEVELS 4\n#define is_cr0_wp(regs)", 1)},
                          lambda p: None)
    after = analyze(code, base=before, base_image=before_image)
    assert made == [] and after.parsed == [path]
    assert _shape(after) == _shape(analyze(code))
    again = analyze(macro, base=before, base_image=before_image)
    assert "constants" in made
    assert _shape(again) == _shape(analyze(macro))


def test_what_the_page_context_and_macros_read_of_a_text():
    from analyzer.constants import defines_alike
    from analyzer.containers import context_alike

    text = ("#define LEVELS 4\n#define F(x) (x)\nstruct kvm_mmu_page *sp;\n"
            "void f(void) { sp->role = r; list_add(&sp->link, &head); }\n")
    slots = {"role"}
    code = text.replace("void f(void) {", "void f(void) { g();")
    assert defines_alike(text, code) and context_alike(text, code, slots)
    assert not defines_alike(text, text.replace("LEVELS 4", "LEVELS 5"))
    assert defines_alike(text, text.replace("F(x) (x)", "F(x) (x + 1)"))  # function-like: not a value
    assert not context_alike(text, text.replace("F(x) (x)", "F(x) (x + 1)"), slots)
    assert not context_alike(text, text.replace("list_add(&sp->link", "list_add(&root->link"), slots)
    assert not context_alike(text, text.replace("sp->role = r;", ""), slots)


# edits inside one function: (file, anchor, replacement); those whose anchor
# a point release lacks are left out there
INSIDE = [
    (MMU_C, "\trole.quadrant = quadrant;\n",
     "\trole.quadrant = quadrant;\n\tif (role.direct)\n\t\trole.guest_mode = 0;\n"),
    (MMU_C, "\trole.quadrant = quadrant;\n", "\trole.quadrant = quadrant; /* a comment */\n"),
    (MMU_C, "\trole.level--;\n", "\trole.level -= 1;\n\trole.level = role.level;\n"),
    (MMU_C, "\trole.cr0_wp = true;\n", "\trole.cr0_wp = 0;\n"),
    ("arch/x86/kvm/mmu/tdp_mmu.c", "\tsp->gfn = gfn;\n", "\tsp->gfn = gfn + 0;\n"),
]


@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_an_edit_inside_one_function_parsed_alone_analyzes_as_the_whole_file(
        monkeypatch, request, series):
    """The analysis after an edit inside one function, with that function
    parsed alone (``parse_lines``), is the one with the whole file parsed:
    the same JSON the cache would store, facts, lines, flows and findings,
    byte for byte; and the function was parsed alone."""
    import analyzer.analysis
    from analyzer.store import encode

    tree = request.getfixturevalue("linux_6_1" if series == "6.1" else "linux_6_12")
    before_image = tree_image(tree)
    before = analyze(before_image)
    alone = []
    real = analyzer.analysis.parse_lines

    def parse_lines(*args, **kwargs):
        pf = real(*args, **kwargs)
        alone.append(pf.lines)
        return pf

    monkeypatch.setattr(analyzer.analysis, "parse_lines", parse_lines)
    tried = 0
    for path, anchor, new in INSIDE:
        text = before_image.files[path]
        if anchor not in text:
            continue
        tried += 1
        after_image = patched_image(before_image, {path: text.replace(anchor, new, 1)}, lambda p: None)
        alone.clear()
        monkeypatch.setattr(analyzer.analysis, "PARSE_EDITED_ALONE", True)
        part = analyze(after_image, base=before, base_image=before_image)
        assert len(alone) == 1, (path, anchor)
        monkeypatch.setattr(analyzer.analysis, "PARSE_EDITED_ALONE", False)
        whole = analyze(after_image, base=before, base_image=before_image)
        assert _shape(part) == _shape(whole), (path, anchor)
        assert part.by_site == whole.by_site, (path, anchor)
        assert list(part.facts.functions) == list(whole.facts.functions)
        assert part.facts == whole.facts and part.page_flows == whole.page_flows
        assert part.parse_errors == whole.parse_errors and part.left_out == whole.left_out
        # what the cache would store: alike but for the order sets list in
        assert len(encode(part)) == len(encode(whole))
    assert tried >= 3


def test_an_edit_outside_a_function_parses_the_whole_file(monkeypatch):
    """A declaration, a macro, or lines of two functions: the whole file."""
    import analyzer.analysis

    before_image = tree_image(FIXTURES / "modern" / "tree")
    before = analyze(before_image)
    alone = []
    real = analyzer.analysis.parse_lines
    monkeypatch.setattr(analyzer.analysis, "parse_lines",
                        lambda *a, **k: alone.append(1) or real(*a, **k))
    text = before_image.files[MMU_C]
    edits = {
        "inside": text.replace("\trole.cr0_wp = true;\n", "\trole.cr0_wp = 0;\n", 1),
        "a macro": "#define ACC_NEW 1\n" + text,
        "at the end": text + "\nstatic int added_at_the_end;\n",
    }
    assert edits["inside"] != text
    used = {}
    for name, new in edits.items():
        alone.clear()
        after_image = patched_image(before_image, {MMU_C: new}, lambda p: None)
        part = analyze(after_image, base=before, base_image=before_image)
        used[name] = bool(alone)
        assert _shape(part) == _shape(analyze(after_image))
    assert used == {"inside": True, "a macro": False, "at the end": False}


def test_role_incomplete_parses_a_file_parsed_in_part_whole_as_an_edited_file():
    """A file of which the edit's function was parsed alone is parsed whole
    when role-incomplete reads it, from its old text as ``_parse`` parses an
    edited file: the tree kept for git mode's next commit (``_EDITED``,
    a few files), not one more entry of the per-text parse cache."""
    import analyzer.analysis as A
    from analyzer.cparse import parse_lines
    from analyzer.neutralize import neutralize

    image = tree_image(FIXTURES / "modern" / "tree")
    before = analyze(image)
    old = image.files[MMU_C]
    new = old.replace("\trole.cr0_wp = true;\n", "\trole.cr0_wp = 0;\n", 1)
    assert new != old
    after = patched_image(image, {MMU_C: new}, lambda p: None)
    info = next(i for i in before.facts.functions.values()
                if i.file == MMU_C and i.line <= old[:old.index("role.cr0_wp = true")].count("\n") + 1
                <= i.end_line)
    part = parse_lines(MMU_C, new, neutralize(new), info.line, info.end_line)
    A._EDITED.clear()
    A._parsed_once.cache_clear()
    view = A._state_view(after, [part], before.model, {MMU_C: old})
    assert MMU_C not in view.sources.parsed and view.sources.defines(info.name)
    whole = view.sources.file(MMU_C)
    assert whole.lines is None and whole.text == new
    assert A._EDITED[MMU_C].text == new and A._parsed_once.cache_info().currsize == 0
