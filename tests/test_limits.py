"""What one function or one line may cost (issue 11, D6 and memory).

Generated C, added to a copy of the legacy fixture tree: nesting, chains and
sizes past the limits leave that one function "not analyzed" (reported in
every format, and as a note of the patch that brings it), never a
traceback; the seed's cr4_pae mismatch elsewhere in the same file is still
found. Shapes just within the limits are analyzed in full, so the limits
are low enough for the recursion the analysis does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st
from patchtools import unified_diff

from analyzer.cli import main
from analyzer.cparse import MAX_NESTING_DEPTH, beyond_limits, functions, parse_c
from analyzer.neutralize import MAX_BODY_LENGTH, MAX_LINE_LENGTH, neutralize, oversized
from analyzer.resolve import MAX_RESOLVE_DEPTH
from analyzer.terms import (
    MAX_TERM_DEPTH,
    And,
    Const,
    Eq,
    Ite,
    Named,
    Not,
    Or,
    Truthy,
    Value,
    parts_of,
    value_depth,
)

MMU = "arch/x86/kvm/mmu.c"
ROLE = "union kvm_mmu_page_role"
HEAD = f"static {ROLE} deep_role(struct kvm_vcpu *vcpu, int x, {ROLE} other)\n{{\n"
START = f"\t{ROLE} role = vcpu->arch.mmu->mmu_role.base;\n\n"
TAIL = "\treturn role;\n}\n"
# compares what deep_role returns: resolution walks all of its values
USE = ("\nstatic bool deep_role_use(struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp)\n{\n"
       "\treturn sp->role.word == deep_role(vcpu, 3, sp->role).word;\n}\n")
SEED_FINDING = ("cr4_pae", "kvm_mmu_get_page")  # located at the override that causes it


def blocks(n: int) -> str:
    """n blocks, each inside the one before."""
    return HEAD + START + "\t" + "{" * n + " role.level = x; " + "}" * n + "\n" + TAIL


def else_ifs(n: int) -> str:
    """An if with n - 1 else-if branches."""
    branches = "".join(f"\telse if (x == {i})\n\t\trole.level = {i};\n" for i in range(1, n))
    return HEAD + START + "\tif (x == 0)\n\t\trole.level = 0;\n" + branches + TAIL


def and_chain(n: int) -> str:
    """An if whose condition is n terms joined by &&, one per line."""
    cond = " &&\n\t    ".join(f"x != {i}" for i in range(n))
    return HEAD + START + f"\tif ({cond})\n\t\trole.level = 1;\n" + TAIL


def sequential_ifs(n: int) -> str:
    """n ifs one after the other, each writing the same field: its value
    nests one conditional per if."""
    return HEAD + START + "".join(f"\tif (x == {i})\n\t\trole.level = {i};\n" for i in range(n)) + TAIL


def sequential_phis(n: int, terms: int = 1) -> str:
    """n ifs one after the other, each replacing the whole role: n phis,
    each an alternative of the next; each condition has ``terms`` terms
    more."""
    cond = " && x" * terms
    return HEAD + START + f"\tif (tdp_enabled{cond})\n\t\trole = other;\n" * n + TAIL


def long_line(n: int) -> str:
    """One statement on one line of about n characters."""
    terms = " + ".join(f"(x >> {i % 31})" for i in range(n // 11 + 1))
    return HEAD + START + f"\trole.level = {terms};\n" + TAIL


def long_body(n: int) -> str:
    """A body of about n characters in short lines."""
    line = "\trole.level = x;\n"
    return HEAD + START + line * (n // len(line) + 1) + TAIL


def call_chain(n: int) -> str:
    """deep_role calls chain_1, which calls chain_2, ..., chain_n: each
    returns what the next one does."""
    out = [f"static {ROLE} chain_{n}(struct kvm_vcpu *vcpu, int x, {ROLE} other)\n"
           f"{{\n{START}\trole.level = x;\n{TAIL}"]
    for k in range(n - 1, 0, -1):
        out.append(f"static {ROLE} chain_{k}(struct kvm_vcpu *vcpu, int x, {ROLE} other)\n"
                   f"{{\n\treturn chain_{k + 1}(vcpu, x, other);\n}}\n")
    out.append(HEAD + "\treturn chain_1(vcpu, x, other);\n}\n")
    return "\n".join(out)


def calls_through_phis(calls: int, phis: int) -> str:
    """deep_role calls hop_1, which calls hop_2, ..., hop_<calls>; each
    passes the result through ``phis`` ifs that may replace it."""
    ifs = "".join(f"\tif (tdp_enabled && x != {i})\n\t\trole = other;\n" for i in range(phis))
    names = ["deep_role", *(f"hop_{k}" for k in range(1, calls + 1))]
    out = []
    for name, callee in zip(names, [*names[1:], ""], strict=True):
        value = f"{callee}(vcpu, x, other)" if callee else "vcpu->arch.mmu->mmu_role.base"
        out.append(f"static {ROLE} {name}(struct kvm_vcpu *vcpu, int x, {ROLE} other)\n{{\n"
                   f"\t{ROLE} role = {value};\n\n{ifs}{TAIL}")
    return "\n".join(reversed(out))


def tree_with(tmp_path: Path, c_text: str) -> Path:
    """The legacy fixture tree with ``c_text`` and a user of deep_role at the
    end of mmu.c."""
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "legacy" / "tree", tree)
    mmu = tree / MMU
    mmu.write_text(mmu.read_text() + "\n" + c_text + USE)
    return tree


def scan_json(capsys, tree: Path) -> tuple[int, dict]:
    status = main(["scan", "--tree", str(tree), "--format", "json"])
    return status, json.loads(capsys.readouterr().out)


def found(data: dict) -> set[tuple[str, str]]:
    return {(f["field"], f["location"]["function"]) for f in data["findings"]}


def only_not_analyzed(data: dict, function: str = "deep_role") -> str:
    """The reason of the one function left out, which must be ``function``."""
    (item,) = data.get("not_analyzed", [])
    assert (item["file"], item["function"]) == (MMU, function)
    return item["reason"]


def largest(within) -> int:
    """The largest n for which ``within(n)`` holds (it holds for 1 and fails
    below 8 times the largest limit)."""
    lo, hi = 1, 8 * max(MAX_NESTING_DEPTH, MAX_TERM_DEPTH)
    assert within(lo) and not within(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if within(mid) else (lo, mid)
    return lo


def nests_within(c_text: str) -> bool:
    pf = parse_c(MMU, c_text)
    (fd,) = [f for f in functions(pf) if f.name == "deep_role"]
    return beyond_limits(pf, fd.node) is None


# ---- nesting: 500 blocks, 600 else-ifs, 2000 && terms (D6) ---------------

NESTED = {"blocks": (blocks, 500), "else-if": (else_ifs, 600), "and": (and_chain, 2000)}


@pytest.mark.parametrize("shape", NESTED)
def test_deep_nesting_leaves_the_function_out(capsys, tmp_path, shape):
    make, size = NESTED[shape]
    status, data = scan_json(capsys, tree_with(tmp_path, make(size)))
    assert f"nests more than {MAX_NESTING_DEPTH} levels" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


@pytest.mark.parametrize("shape", NESTED)
def test_nesting_within_the_limit_is_analyzed(capsys, tmp_path, shape):
    make, _ = NESTED[shape]
    n = largest(lambda n: nests_within(make(n)))
    status, data = scan_json(capsys, tree_with(tmp_path, make(n)))
    assert "not_analyzed" not in data
    assert SEED_FINDING in found(data) and status == 1


# ---- values: conditionals nested by a sequence of ifs; chains of phis ----

def test_values_nested_too_deep_leave_the_function_out(capsys, tmp_path):
    _status, data = scan_json(capsys, tree_with(tmp_path, sequential_ifs(10 * MAX_TERM_DEPTH)))
    assert f"terms deep, more than {MAX_TERM_DEPTH}" in only_not_analyzed(data)
    assert SEED_FINDING in found(data)


def test_values_nested_within_the_limit_are_analyzed(capsys, tmp_path):
    def analyzed(n: int) -> bool:
        _status, data = scan_json(capsys, tree_with(tmp_path / str(n), sequential_ifs(n)))
        return "not_analyzed" not in data

    assert largest(analyzed) >= MAX_TERM_DEPTH - 5


def test_a_chain_of_phis_is_resolved(capsys, tmp_path):
    """Each phi is an alternative of the next: walked once each, not once
    per path (6 phis used to take minutes, 20 would never end)."""
    status, data = scan_json(capsys, tree_with(tmp_path, sequential_phis(20)))
    assert "not_analyzed" not in data
    assert SEED_FINDING in found(data) and status == 1


def test_values_resolved_too_deep_leave_the_comparison_out(capsys, tmp_path):
    status, data = scan_json(capsys, tree_with(tmp_path, sequential_phis(500)))
    reason = only_not_analyzed(data, function="deep_role_use")
    assert f"resolved inside one another more than {MAX_RESOLVE_DEPTH} times" in reason
    assert SEED_FINDING in found(data) and status == 1


def test_the_limits_together_leave_room_on_the_stack(capsys, tmp_path):
    """Resolution at its limit, through conditions nested almost to theirs:
    the deepest recursion the limits allow."""
    c_text = sequential_phis(MAX_RESOLVE_DEPTH + 10, MAX_TERM_DEPTH - 15)
    status, data = scan_json(capsys, tree_with(tmp_path, c_text))
    assert "resolved inside one another" in only_not_analyzed(data, function="deep_role_use")
    assert SEED_FINDING in found(data) and status == 1


def test_values_resolved_through_too_many_functions_leave_the_comparison_out(capsys, tmp_path):
    """Each function is within the limits, but the comparison's values go
    through 12 of them, each with a chain of 15 phis."""
    status, data = scan_json(capsys, tree_with(tmp_path, calls_through_phis(12, 15)))
    reason = only_not_analyzed(data, function="deep_role_use")
    assert f"resolved inside one another more than {MAX_RESOLVE_DEPTH} times" in reason
    assert SEED_FINDING in found(data) and status == 1


def test_a_call_chain_a_thousand_deep_is_resolved(capsys, tmp_path):
    status, data = scan_json(capsys, tree_with(tmp_path, call_chain(1000)))
    assert "not_analyzed" not in data
    assert SEED_FINDING in found(data) and status == 1


def test_a_deep_role_constant_is_left_out(capsys, tmp_path):
    value = "tdp_enabled ? (\n" * 600 + "1" + " : 0)\n" * 600
    constant = f"static const {ROLE} deep_mask = {{\n\t.level = {value},\n}};\n"
    _status, data = scan_json(capsys, tree_with(tmp_path, constant + blocks(1)))
    reason = only_not_analyzed(data, function="")
    assert f"a declaration nested more than {MAX_NESTING_DEPTH} levels deep" in reason
    assert SEED_FINDING in found(data)


def test_a_loop_macro_too_deep_leaves_its_user_out(capsys, tmp_path):
    """The condition of a filtering loop macro is read where the loop is."""
    skip = "&&\\\n".join("_sp" for _ in range(1300))  # on one line when read
    macro = ("#define for_each_deep_sp(_kvm, _sp, _list)\t\\\n"
             "\thlist_for_each_entry(_sp, _list, hash_link)\t\\\n"
             f"\t\tif ({skip}) {{\t\\\n\t\t}} else\n\n")
    user = (HEAD + START + "\tstruct kvm_mmu_page *sp;\n\n"
            "\tfor_each_deep_sp(vcpu->kvm, sp, &vcpu->kvm->arch.mmu_page_hash[x]) {\n"
            "\t\tif (sp->role.word == role.word)\n\t\t\trole.level = x;\n\t}\n" + TAIL)
    status, data = scan_json(capsys, tree_with(tmp_path, macro + user))
    assert "loop macro for_each_deep_sp is too large" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


def test_a_deep_pointer_expression_leaves_the_function_out(capsys, tmp_path):
    """The page flow (analyzer.containers) walks pointer expressions too."""
    value = "(\n" * 1500 + "page_header(vcpu->arch.mmu->root_hpa)" + ")\n" * 1500
    c_text = (HEAD + START + f"\tstruct kvm_mmu_page *sp = {value};\n\n"
              "\tsp->role = role;\n" + TAIL)
    status, data = scan_json(capsys, tree_with(tmp_path, c_text))
    assert f"nests more than {MAX_NESTING_DEPTH} levels" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


def test_deep_loop_macro_arguments_leave_the_function_out(capsys, tmp_path):
    """A loop macro's arguments are blanked for the parse but read as text."""
    lists = "f(" * 1000 + "&vcpu->kvm->arch.mmu_page_hash[x]" + ")" * 1000
    c_text = (HEAD + START + "\tstruct kvm_mmu_page *sp;\n\n"
              f"\tfor_each_valid_sp(vcpu->kvm, sp, {lists}) {{\n"
              "\t\tif (sp->role.word == role.word)\n\t\t\trole.level = x;\n\t}\n" + TAIL)
    status, data = scan_json(capsys, tree_with(tmp_path, c_text))
    assert "the arguments of its loop macro on line" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


# ---- size: one long line, one long body (memory) --------------------------

def test_a_line_over_the_length_limit_leaves_its_function_out(capsys, tmp_path):
    c_text = long_line(MAX_LINE_LENGTH + 100)
    status, data = scan_json(capsys, tree_with(tmp_path, c_text))
    assert f"characters, more than {MAX_LINE_LENGTH:,}" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


def test_a_body_over_the_size_limit_leaves_its_function_out(capsys, tmp_path):
    status, data = scan_json(capsys, tree_with(tmp_path, long_body(MAX_BODY_LENGTH + 100)))
    assert "its body has" in only_not_analyzed(data)
    assert SEED_FINDING in found(data) and status == 1


def test_a_long_line_outside_functions_is_reported(capsys, tmp_path):
    table = "static const int deep_table[] = { " + "1, " * (MAX_LINE_LENGTH // 3) + "1 };\n"
    _status, data = scan_json(capsys, tree_with(tmp_path, table + long_line(100)))
    assert "characters, more than" in only_not_analyzed(data, function="")
    assert SEED_FINDING in found(data)


def test_left_out_text_keeps_the_rest_of_the_file():
    """Blanking a long line keeps its length and newlines, the braces that
    do not pair within it, and a comment that goes on after it: the
    functions after it parse as before."""
    pad = "x + " * (MAX_LINE_LENGTH // 4)
    text = ("int f(int x)\n{\n\tif (x) { x = " + pad + "1;\n\t\tx++;\n\t}\n\treturn x;\n}\n"
            "/* " + "c" * MAX_LINE_LENGTH + "\n { not code */\n"
            "int g(void)\n{\n\treturn 1;\n}\n")
    (first, second) = oversized(text)
    assert (first.first_line, second.first_line) == (3, 8)
    out = neutralize(text)
    assert len(out) == len(text) and [i for i, c in enumerate(out) if c == "\n"] == [
        i for i, c in enumerate(text) if c == "\n"]
    assert out.splitlines()[2].split() == ["{"]
    assert out.splitlines()[7] == text.splitlines()[7]  # the comment stays
    pf = parse_c(MMU, text)
    assert [f.name for f in functions(pf)] == ["f", "g"]
    assert [beyond_limits(pf, f.node) is None for f in functions(pf)] == [False, True]


# ---- every output, and check ----------------------------------------------

def test_text_sarif_and_github_say_what_was_left_out(capsys, tmp_path):
    tree = tree_with(tmp_path, blocks(500))
    main(["scan", "--tree", str(tree)])
    text = capsys.readouterr().out
    assert f"note: {MMU}:" in text and "deep_role() not analyzed: its syntax nests" in text
    main(["scan", "--tree", str(tree), "--format", "sarif"])
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and "deep_role() not analyzed" in note["message"]["text"]
    main(["scan", "--tree", str(tree), "--format", "github"])
    (warning,) = [line for line in capsys.readouterr().out.splitlines() if "not analyzed" in line]
    assert warning.startswith("::warning file=arch/x86/kvm/mmu.c,line=")
    assert "deep_role() not analyzed: its syntax nests" in warning


def test_check_notes_the_function_a_patch_leaves_out(capsys, tmp_path):
    tree = tree_with(tmp_path, "")
    old = (tree / MMU).read_text()
    patch = tmp_path / "deep.patch"
    patch.write_text("Subject: [PATCH] add a deep function\n\n---\n"
                     + unified_diff(MMU, old, old + "\n" + else_ifs(600)))
    main(["check", str(patch), "--tree", str(tree), "--format", "json"])
    (p,) = json.loads(capsys.readouterr().out)["patches"]
    (note,) = p["notes"]
    assert "deep_role() not analyzed: its syntax nests" in note
    assert p["status"] == "analyzed" and p["introduced"] == []


def test_a_function_left_out_stays_out_when_a_patch_moves_it(capsys, tmp_path):
    """The analysis after a patch reuses the facts of functions it only
    moved: one left out must stay left out (and noted)."""
    tree = tree_with(tmp_path, else_ifs(600))
    seed_fix = FIXTURES / "legacy" / "patches" / "0001-seed-fix.patch"
    main(["check", str(seed_fix), "--tree", str(tree), "--format", "json"])
    (p,) = json.loads(capsys.readouterr().out)["patches"]
    assert [f["field"] for f in p["fixed"]] == ["cr4_pae"]
    (note,) = p["notes"]
    assert "deep_role() not analyzed" in note


# ---- how deep a function's values nest -------------------------------------------


def _depth(t) -> int:
    """``value_depth``'s definition, recursively: a term or condition adds a
    level over the deepest of its parts, a Value, tuple or list none."""
    from analyzer.terms import And, Eq, Ite, Not, Or, Truthy, Value

    if isinstance(t, Ite):
        parts = (t.then, t.other, t.cond)
    elif isinstance(t, Truthy):
        parts = (t.term,)
    elif isinstance(t, Not):
        parts = (t.cond,)
    elif isinstance(t, And | Or):
        parts = t.parts
    elif isinstance(t, Eq):
        parts = (t.left, t.right)
    elif isinstance(t, Value):
        return max(map(_depth, t.fields.values()), default=0)
    elif isinstance(t, tuple | list):
        return max(map(_depth, t), default=0)
    else:
        return 1
    return 1 + max(map(_depth, parts), default=0)


def _terms():
    leaves = st.one_of(st.integers(0, 3).map(Const), st.sampled_from("ab").map(Named))
    return st.recursive(leaves, lambda kids: st.one_of(
        st.tuples(kids, kids, kids).map(lambda p: Ite(*p)),
        kids.map(Truthy), kids.map(Not),
        st.lists(kids, max_size=3).map(lambda p: And(tuple(p))),
        st.lists(kids, max_size=3).map(lambda p: Or(tuple(p))),
        st.tuples(kids, kids).map(lambda p: Eq(*p)),
        st.dictionaries(st.sampled_from("xyz"), kids, max_size=3).map(lambda f: Value("r", f)),
        st.lists(kids, max_size=3),
    ), max_leaves=30)


def test_value_depth_is_the_deepest_nesting():
    """Measured without recursion, each shared subterm once, by the kind
    of each term: what the recursive definition gives, shared or not."""
    @settings(max_examples=300, deadline=None)
    @given(_terms(), st.integers(1, 3))
    def check(term, shares):
        assert value_depth(term) == _depth(term)
        shared = [term] * shares  # one subterm under many parents
        assert value_depth(Ite(shared, term, shared)) == 1 + _depth(term)
        assert parts_of(Ite(term, shared, term)) == (shared, term, term)

    check()


def test_deep_loop_heads_by_definition_are_the_files(monkeypatch):
    """Deep loop heads found once per definition's text, and taken from
    the definitions already seen when a file is parsed again after an edit
    (lines added above, a definition edited, one added), are the file's,
    where a query of the whole file finds them."""
    import analyzer.cparse.limits as limits
    from analyzer.cparse import parse_c

    monkeypatch.setattr(limits, "_HEADS", limits.OrderedDict())
    deep = "f(" * 120 + "&head" + ")" * 120

    def user(name: str, lists: str) -> str:
        return (f"static void {name}(struct kvm *kvm)\n{{\n\tstruct kvm_mmu_page *sp;\n\n"
                f"\tfor_each_valid_sp(kvm, sp, {lists}) {{\n\t\tg(sp);\n\t}}\n}}\n\n")

    text = "".join(user(f"fn{k}", deep if k % 3 == 0 else "&head") for k in range(12))
    edits = [text,
             "/* two lines\n   above */\n" + text,
             text.replace("static void fn4(", "static void fn4_renamed("),
             text.replace(user("fn5", "&head"), user("fn5", deep)),
             text + user("late", deep)]
    seen = 0
    for edited in edits:
        pf = parse_c("arch/x86/kvm/mmu/mmu.c", edited)
        whole = limits._heads_in(pf, pf.root)
        assert limits._deep_loop_heads(pf) == whole
        assert len(whole) == edited.count(deep)
        seen = len(limits._HEADS)
    assert seen == 12 + 1 + 3  # each definition once, the comment above, and the three edited or added


def test_deep_loop_heads_query_only_definitions_with_enough_parentheses(monkeypatch):
    """A definition opening no more parentheses than MAX_NESTING_DEPTH
    cannot hold a deep loop head: it is not queried, and what is found is
    what a query of the whole file finds."""
    import analyzer.cparse.limits as limits
    from analyzer.cparse import parse_c

    monkeypatch.setattr(limits, "_HEADS", limits.OrderedDict())
    deep = "f(" * 120 + "&head" + ")" * 120
    text = "".join(f"static void fn{k}(struct kvm *kvm)\n{{\n\tstruct kvm_mmu_page *sp;\n\n"
                   f"\tfor_each_valid_sp(kvm, sp, {deep if k == 3 else '&head'}) {{\n\t\tg(sp);\n\t}}\n}}\n\n"
                   for k in range(12))
    pf = parse_c("arch/x86/kvm/mmu/mmu.c", text)
    whole = limits._heads_in(pf, pf.root)
    queried: list = []
    real = limits._heads_in
    monkeypatch.setattr(limits, "_heads_in", lambda pf, node: queried.append(node) or real(pf, node))
    assert limits._deep_loop_heads(pf) == whole and len(whole) == 1
    assert [n.start_point.row for n in queried] == [text[:text.index("static void fn3(")].count("\n")]
