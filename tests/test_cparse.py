"""cparse: functions, positions and error counts, on snippets written here;
and the quality bar on real kernels (marker real_kernel)."""

from pathlib import Path

import pytest
from helpers import edited
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.cparse import (
    captures,
    children_of_type,
    descendants_of_type,
    error_counts,
    functions,
    loop_macro_head,
    parse_c,
)

SNIPPET = """\
static union kvm_mmu_page_role
kvm_calc_role(struct kvm_vcpu *vcpu, const u64 *sptep, unsigned int level)
{
\tunion kvm_mmu_page_role role = {0};
\treturn role;
}

static struct kvm_mmu_page *kvm_mmu_get_page(struct kvm_vcpu *vcpu, gfn_t gfn)
{
\treturn NULL;
}

static int FNAME(fetch)(struct kvm_vcpu *vcpu, struct guest_walker *gw)
{
\treturn 0;
}

static __always_inline bool is_ready(void)
{
\treturn true;
}

int report(const char *fmt, int (*cb)(int), u64 masks[], ...)
{
\treturn 0;
}
"""


@pytest.fixture(scope="module")
def pf():
    return parse_c("snippet.c", SNIPPET)


def by_name(pf):
    return {f.name: f for f in functions(pf)}


def test_function_names_in_source_order(pf):
    names = [f.name for f in functions(pf)]
    assert names == ["kvm_calc_role", "kvm_mmu_get_page", "FNAME(fetch)", "is_ready", "report"]


def test_return_type_on_its_own_line(pf):
    f = by_name(pf)["kvm_calc_role"]
    assert f.return_type_text == "union kvm_mmu_page_role"
    assert (f.start_line, f.end_line) == (1, 6)
    assert f.params == [
        ("struct kvm_vcpu *", "vcpu"),
        ("const u64 *", "sptep"),
        ("unsigned int", "level"),
    ]
    assert f.node.type == "function_definition" and f.body.type == "compound_statement"


def test_pointer_return(pf):
    f = by_name(pf)["kvm_mmu_get_page"]
    assert f.return_type_text == "struct kvm_mmu_page *"
    assert f.params == [("struct kvm_vcpu *", "vcpu"), ("gfn_t", "gfn")]


def test_fname_function_keeps_its_written_name(pf):
    f = by_name(pf)["FNAME(fetch)"]
    assert f.return_type_text == "int"
    assert f.params == [("struct kvm_vcpu *", "vcpu"), ("struct guest_walker *", "gw")]


def test_void_params_and_attribute_macro(pf):
    f = by_name(pf)["is_ready"]
    assert f.params == []
    assert f.return_type_text == "bool"


def test_function_pointer_array_and_variadic_params(pf):
    f = by_name(pf)["report"]
    assert f.params == [
        ("const char *", "fmt"),
        ("int (*)(int)", "cb"),
        ("u64 []", "masks"),
        ("...", ""),
    ]


def test_positions_are_one_based_and_count_characters():
    src = 'int f(void)\n{\n\tchar *s = "é"; int x = 1;\n}\n'
    pf = parse_c("t.c", src)
    (decl,) = [d for d in descendants_of_type(pf.root, "declaration") if "x" in pf.text_of(d)]
    assert pf.text_of(decl) == "int x = 1;"
    assert pf.line_of(decl) == 3
    assert pf.col_of(decl) == src.splitlines()[2].index("int x") + 1
    assert decl.start_point.column + 1 > pf.col_of(decl)  # tree-sitter counts bytes


def test_text_of_reads_the_original_not_the_neutralized_text():
    src = "void f(struct kvm *kvm)\n{\n\tfor_each_sp(kvm, sp) {\n\t}\n}\n"
    pf = parse_c("t.c", src)
    (loop,) = descendants_of_type(pf.root, "while_statement")
    assert pf.text_of(loop).startswith("for_each_sp(kvm, sp) {")
    assert pf.source.decode() != src and len(pf.source) == len(src.encode())


def test_loop_macro_head_gives_the_macro_call_as_written():
    src = "void f(struct kvm *kvm)\n{\n\tfor_each_sp(kvm,\n\t\t    (sp)) {\n\t}\n\twhile (kvm) {\n\t}\n}\n"
    pf = parse_c("t.c", src)
    macro, plain = descendants_of_type(pf.root, "while_statement")
    assert loop_macro_head(pf, macro) == "for_each_sp(kvm,\n\t\t    (sp))"
    assert loop_macro_head(pf, plain) is None
    assert loop_macro_head(pf, pf.root) is None


def test_error_counts_per_function():
    src = "int good(void)\n{\n\treturn 0;\n}\n\nint bad(void)\n{\n\treturn 1 +;\n}\n"
    counts = error_counts(parse_c("t.c", src))
    assert counts["good"] == 0
    assert counts["bad"] >= 1
    assert counts[""] == 0


def test_error_counts_top_level():
    counts = error_counts(parse_c("t.c", "int x = ;\nint ok(void)\n{\n\treturn 0;\n}\n"))
    assert counts[""] >= 1 and counts["ok"] == 0


def test_raw_parse_skips_neutralization():
    src = "static __always_inline bool f(void)\n{\n\treturn true;\n}\n"
    assert parse_c("t.c", src, raw=True).root.has_error
    assert not parse_c("t.c", src).root.has_error


def test_node_helpers(pf):
    fn = by_name(pf)["kvm_calc_role"]
    assert [pf.text_of(n) for n in children_of_type(fn.node, "storage_class_specifier")] == [
        "static"
    ]
    found = captures("(return_statement (identifier) @value)", pf.root)
    assert [pf.text_of(n) for n in found["value"]] == ["role"]


# ------------------------------------------------------------ real kernels

MMU_FILES = [
    "arch/x86/kvm/mmu/mmu.c",
    "arch/x86/kvm/mmu/tdp_mmu.c",
    "arch/x86/kvm/mmu/paging_tmpl.h",
]
# Functions the analysis needs, which the raw grammar view breaks on.
MUST_PARSE = {
    "6.1": {"kvm_mmu_find_shadow_page", "kvm_tdp_mmu_get_vcpu_root_hpa"},
    "6.12": {"kvm_mmu_find_shadow_page", "kvm_tdp_mmu_alloc_root"},
}


def role_functions(tree: Path, rel: str, *, raw: bool) -> dict[str, int]:
    """Error counts of the functions whose body mentions a role."""
    pf = parse_c(rel, (tree / rel).read_text(encoding="utf-8"), raw=raw)
    counts = error_counts(pf)
    return {f.name: counts[f.name] for f in functions(pf) if "role" in pf.text_of(f.body)}


@pytest.fixture(params=["6.1", "6.12"])
def kernel(request):
    fixture = {"6.1": "linux_6_1", "6.12": "linux_6_12"}[request.param]
    return request.param, request.getfixturevalue(fixture)


@pytest.mark.real_kernel
def test_role_functions_parse_without_errors(kernel):
    version, tree = kernel
    seen: dict[str, int] = {}
    for rel in MMU_FILES:
        found = role_functions(tree, rel, raw=False)
        assert len(found) >= 3, f"{rel}: too few role functions found; did parsing break?"
        seen.update(found)
    assert MUST_PARSE[version] <= set(seen)
    assert {name: n for name, n in seen.items() if n} == {}


@pytest.mark.real_kernel
def test_raw_parse_breaks_role_functions(kernel):
    """Neutralization matters: without it, functions the analysis needs have
    ERROR nodes."""
    version, tree = kernel
    broken = set()
    for rel in MMU_FILES:
        broken |= {name for name, n in role_functions(tree, rel, raw=True).items() if n}
    assert broken & MUST_PARSE[version]


def test_a_fresh_parse_shares_the_tree_but_not_the_nodes_walks_made(pf):
    names = [fd.name for fd in functions(pf)]
    walked = pf.root.children  # py-tree-sitter keeps this list on the node
    again = pf.fresh()
    assert again.tree is pf.tree and again.text == pf.text and again.source == pf.source
    assert again.root.children is not walked
    assert [fd.name for fd in functions(again)] == names


def test_a_definitions_digest_is_made_once_per_text(monkeypatch):
    # git mode declares the same definitions in every commit: the digest of
    # a text seen before is not computed again, and equals the first; what
    # is kept is a digest of each text, not the text
    import importlib

    fns = importlib.import_module("analyzer.cparse.functions")
    text = "int f(int a)\n{\n\treturn a; /* one */\n}\n"
    first = parse_c("a.c", text)
    again = parse_c("b.c", "\n\n" + text.replace("one", "two"))
    (fa,), (fb,) = functions(first), functions(again)
    monkeypatch.setattr(fns, "_DIGESTS", {})
    made: list[bytes] = []
    real = fns.code_of
    monkeypatch.setattr(fns, "code_of", lambda data: made.append(data) or real(data))
    da = fns.code_digest(first, fa)
    assert fns.code_digest(first, fa) == da and len(made) == 1
    assert all(type(k) is bytes and len(k) == 16 for k in fns._DIGESTS)
    # another comment: another text, the same code
    assert fns.code_digest(again, fb) == da and len(made) == 2


@pytest.mark.parametrize("a, b, same", [
    # comments and blanks, in any mix and number, are one blank
    (b"a = b; /* x */\n\n\tc = d;", b"a = b; c = d;", True),
    (b"a/* x *//* y */b", b"a b", True),
    (b"a // x\n  // y\n b", b"a b", True),
    (b"  a", b"a", False),  # a leading blank is a blank
    (b"ab", b"a b", False),  # a blank between tokens is code
    # literals are kept as they are, blanks and comment markers in them too
    (b'p("a  b");', b'p("a b");', False),
    (b'p("/* x */");', b'p("");', False),
    (b"c = '\\'';  d", b"c = '\\''; d", True),
    # an unterminated comment or literal is code
    (b"a /* open", b"a /* shut", False),
    (b'a "open\n  b', b'a "open\n b', True),
])
def test_a_definitions_code_is_its_text_with_comments_and_blanks_folded(a, b, same):
    from analyzer.cparse import code_of

    assert (code_of(a) == code_of(b)) is same


def test_a_context_file_is_read_by_layout_once_per_text():
    # git mode reads x86.c in every commit's analysis: one text, one reading
    from analyzer import kvmtext

    text = "static int f(struct kvm_vcpu *vcpu)\n{\n\treturn vcpu->arch.efer;\n}\n"
    first = kvmtext.text_file("x86.c", text, ("mmu_role",))
    assert kvmtext.text_file("x86.c", "" + text, ("mmu_role",)) is first
    assert kvmtext.text_file("x86.c", text + "\n", ("mmu_role",)) is not first
    (fn,) = kvmtext.functions("x86.c", text, ("mmu_role",))
    assert fn.name == "f" and fn.reads == {"efer"}


def _layout_spans(clean: str) -> list[tuple[str, int, int, int]]:
    """The spans kvmtext finds, read line by line as the layout rule says:
    a "{" line, the head above it up to a blank line or one ending in ";",
    "}" or "{" or starting "#", and the first "}" line after it unless a
    line starting with "{" comes first."""
    import re

    lines, spans, i = clean.split("\n"), [], 0
    while i < len(lines):
        if lines[i].rstrip() != "{":
            i += 1
            continue
        start = i
        while start > 0:
            prev = lines[start - 1].rstrip()
            if not prev.strip() or prev.endswith((";", "}", "{")) or prev.lstrip().startswith("#"):
                break
            start -= 1
        end = i + 1
        while end < len(lines) and lines[end].rstrip() != "}" and not lines[end].startswith("{"):
            end += 1
        head = "\n".join(lines[start:i])
        m = re.search(r"\b([A-Za-z_]\w*)\s*\(", head)
        if m is None or end >= len(lines) or lines[end].rstrip() != "}":
            i += 1
            continue
        spans.append((m.group(1), start + 1 + head.count("\n", 0, m.start()), i, end))
        i = end + 1
    return spans


@pytest.mark.parametrize("text, names", [
    ("int f(void)\n{\n\treturn 0;\n}\n", ["f"]),
    ("int f(void)\n{ \t\n}\t\nint g(int a,\n      int b)\n{\n}\n", ["f", "g"]),
    # a "{" line before any close: f is not read, g is
    ("int f(void)\n{\n\tx;\n{\n}\n", []),
    ("int f(void)\n{\n\tx;\nint g(void)\n{\n}\n", ["g"]),
    # "} else {" and "};" close nothing; the last line may be the close
    ("int f(void)\n{\n} else {\n};\n}", ["f"]),
    ("{\n}\n", []),  # no name above the brace
    ("int f(void)\n{", []),
])
def test_a_files_functions_are_found_by_their_braces_at_column_0(text, names):
    from analyzer import kvmtext

    tf = kvmtext.TextFile("x.c", text)
    assert [span[0] for span in tf.spans] == names
    assert tf.spans == _layout_spans(kvmtext.strip_comments(text))


_LAYOUT_LINES = ["{", "}", "", "{ ", "}\t", "{x", "}x", "int f(void)", "static void g(int a,",
                 "\tint b)", "\tx = 1;", "#define A", "\x0c", "} else {", " {", ";"]


@given(st.lists(st.sampled_from(_LAYOUT_LINES), max_size=40))
@settings(max_examples=300, deadline=None)
def test_the_spans_are_the_layout_read_line_by_line(lines):
    from analyzer import kvmtext

    text = "\n".join(lines)
    assert kvmtext.TextFile("x.c", text).spans == _layout_spans(kvmtext.strip_comments(text))


def _shape(tree) -> list[tuple]:
    out, stack = [], [tree.root_node]
    while stack:
        n = stack.pop()
        out.append((n.type, n.start_byte, n.end_byte, n.is_missing))
        stack.extend(n.children)
    return out


@pytest.mark.parametrize("edit", [
    ("\treturn a;", "\tint b = a * 2;\n\treturn b;"),  # lines added in a body
    ("int g(void)\n{\n\treturn 1;\n}\n", ""),  # a definition removed
    ("f(int a)", "f(int a, int c)"),  # a declarator widened
    ("/* one */", "/* one, now longer */"),  # only a comment
])
def test_an_edited_file_parsed_from_its_old_tree_is_the_tree_of_a_fresh_parse(edit):
    from analyzer.cparse.parser import reparse
    from analyzer.encoding import encode

    old = "int f(int a)\n{\n\treturn a; /* one */\n}\n\nint g(void)\n{\n\treturn 1;\n}\n"
    new = old.replace(*edit)
    assert new != old
    before = parse_c("f.c", old)
    tree = reparse(before, encode(new))
    assert tree is not None and _shape(tree) == _shape(parse_c("f.c", new, raw=True).tree)
    assert str(tree.root_node) == str(parse_c("f.c", new, raw=True).root)
    assert _shape(before.tree) == _shape(parse_c("f.c", old).tree)  # the old tree is left as it was


def test_a_tree_with_an_error_on_either_side_is_parsed_afresh():
    from analyzer.cparse.parser import reparse
    from analyzer.encoding import encode

    good, bad = "int f(void)\n{\n\treturn 0;\n}\n", "int f(void)\n{\n\treturn 0 +;\n}\n"
    assert reparse(parse_c("f.c", good), encode(bad)) is None
    assert reparse(parse_c("f.c", bad), encode(good)) is None


def test_a_file_edited_again_is_parsed_from_the_tree_of_its_last_edit(monkeypatch):
    # git mode: commit after commit edits mmu.c, each from the text before it
    import analyzer.analysis as analysis
    import analyzer.cparse.parser as parser

    monkeypatch.setattr(analysis, "_EDITED", {})
    used = []
    real = parser.reparse
    monkeypatch.setattr(parser, "reparse", lambda before, source: used.append(before.text) or real(before, source))
    one = "int f(int a)\n{\n\treturn a;\n}\n"
    two, three = one.replace("a;", "a + 1;"), one.replace("a;", "a + 2;")
    analysis._parse("mmu.c", one)
    analysis._parse("mmu.c", two, one)  # the first edit: no tree of one kept
    assert used == []
    got = analysis._parse("mmu.c", three, two)
    assert used == [two]
    assert _shape(got.tree) == _shape(parse_c("mmu.c", three).tree)
    analysis._parse("mmu.c", one, "int h;\n")  # not the text edited last: parsed afresh
    assert used == [two]


_C_BITS = ["x", "y", " ", "\t", "\n", "/*", "*/", "//", '"', "'", "\\", ";", "{", "}"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_C_BITS), max_size=40), st.data())
def test_same_code_is_code_of_equality(bits, data):
    """Folding only the window two texts differ in says what folding both
    whole says, whatever comments, literals and blanks the edit opens,
    closes or moves."""
    from analyzer.cparse import code_of, same_code

    a, b = "".join(bits).encode(), "".join(edited(data, bits, _C_BITS, least=1)).encode()
    assert same_code(a, b) == (code_of(a) == code_of(b))
    assert same_code(b, a) == same_code(a, b)


@pytest.mark.parametrize(("old", "new"), [
    ('"/*a*/"', '"/*b*/"'),  # in a literal, what looks like a comment is code
    ("'/*' a '*/'", "'/*' b '*/'"),
    ("x /* a */ y", "x /* b */ y"),  # a comment: alike
    ("x // a\ny", "x // b\ny"),
    ("x /* a */ y", "x /* a  y"),  # a comment left open is code
    ("x \"a\" y", "x \"a y"),
    ("x  y", "x\n\ty"),  # blanks fold alike
    ("x y", "xy"),
    ("x;\n\nint y;", "x;\n\n/* y */\nint y;"),  # a comment line added folds into the blanks
    ("x; // a  \nint y;", "x; // a  \n/* b */int y;"),
    ("x;/* a */\n\ny", "x;/* a */\n\n// b\ny"),
])
def test_same_code_where_comments_and_literals_meet(old, new):
    from analyzer.cparse import code_of, same_code

    a, b = old.encode(), new.encode()
    assert same_code(a, b) == (code_of(a) == code_of(b)) == same_code(b, a)


def test_same_code_settles_a_comment_edit_from_its_window():
    """A comment edited in a long file is alike without folding the file;
    a code edit is not."""
    import sys

    fns = sys.modules["analyzer.cparse.functions"]  # the package's ``functions`` is a function
    body = "".join(f"int f{k}(void) {{ return {k}; }} /* note {k} */\n" for k in range(3000))
    old = ("/* head */\n" + body + "/*\n * a comment\n */\nint last;\n").encode()
    new = old.replace(b" * a comment\n", b" * a comment, edited\n * over two lines\n")
    added = old.replace(b"\nint f7(void)", b"\n/* f7: documented */\nint f7(void)")
    fns._whole_code.cache_clear()
    assert fns.same_code(old, new) and fns.same_code(old, added)
    assert fns._whole_code.cache_info().misses == 0  # settled by the window
    assert not fns.same_code(old, new.replace(b"int last;", b"int last2;"))


@pytest.mark.parametrize("series", ["6.1", "6.12"])
def test_a_function_parsed_alone_is_the_node_of_the_whole_files_tree(request, series):
    """``parse_lines`` of a function's lines gives the node the whole file's
    parse gives, with its type, children, byte span, row and column: what
    an edit inside one function re-parses is what a whole parse would."""
    from analyzer.cparse import functions, parse_lines
    from analyzer.neutralize import neutralize

    tree = request.getfixturevalue("linux_6_1" if series == "6.1" else "linux_6_12")
    checked = 0
    for path in ("arch/x86/kvm/mmu/mmu.c", "arch/x86/kvm/mmu/tdp_mmu.c"):
        text = (tree / path).read_text()
        neutral = neutralize(text)
        whole = parse_c(path, text, neutral=neutral)
        for fd in functions(whole):
            alone = parse_lines(path, text, neutral, fd.start_line, fd.end_line)
            (got,) = functions(alone)
            assert not alone.root.has_error and alone.lines == (fd.start_line, fd.end_line)
            assert (got.name, str(got.node), got.node.start_byte, got.node.end_byte,
                    got.node.start_point) == (fd.name, str(fd.node), fd.node.start_byte,
                                              fd.node.end_byte, fd.node.start_point), fd.name
            checked += 1
    assert checked > 300
