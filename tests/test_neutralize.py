"""neutralize: same-size rewrites of kernel idioms, on snippets written here."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.cparse import parse_c
from analyzer.neutralize import load_attribute_macros, neutralize


def has_errors(src: str, *, raw: bool) -> bool:
    return parse_c("t.c", src, raw=raw).root.has_error


def assert_fixed(src: str, attribute_macros: tuple[str, ...] | None = None) -> str:
    """The raw parse of ``src`` has errors; the parse of its neutralized text
    has none. Returns the neutralized text."""
    assert has_errors(src, raw=True), "snippet should not parse as plain C"
    out = neutralize(src, attribute_macros)
    assert not has_errors(out, raw=True), out
    return out


def body(*lines: str) -> str:
    """A function wrapping the given (tab-indented) lines."""
    return "static void f(struct kvm *kvm)\n{\n" + "".join(f"\t{ln}\n" for ln in lines) + "}\n"


# ------------------------------------------------------------ size invariants

C_PIECES = st.sampled_from(
    [
        "for_each_sp(a, b)",
        "list_for_each_entry(x, y, z)",
        " {",
        "}",
        "{",
        "(",
        ")",
        ";",
        ",",
        "\n",
        "\t",
        " ",
        "\\\n",
        "#define ",
        "#ifdef X\n",
        "#else\n",
        "#endif\n",
        "/*",
        "*/",
        "//",
        '"',
        "'",
        "static ",
        "int ",
        "__init ",
        "__must_hold(&l) ",
        "__hot ",
        "__helper(",
        "struct page",
        "if (x)",
        "é",
        "x = 1;",
        "f(a);",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(C_PIECES, st.text(max_size=5)), max_size=40).map("".join))
def test_length_and_newline_offsets_are_kept(text):
    out = neutralize(text)
    assert len(out) == len(text)
    assert len(out.encode()) == len(text.encode())
    assert [m.start() for m in re.finditer("\n", out)] == [
        m.start() for m in re.finditer("\n", text)
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(C_PIECES, max_size=40).map("".join))
def test_only_spaces_loop_heads_and_joined_types_are_written(text):
    out = neutralize(text)
    for a, b in zip(text, out, strict=True):
        assert a == b or b in " _" or b in "while (1)for(;;)"


# ------------------------------------------------------------- loop macros


def test_loop_macro_with_brace_becomes_while():
    src = body("for_each_valid_sp(kvm, sp, sp_list) {", "\tif (sp)", "\t\tbreak;", "}")
    out = assert_fixed(src)
    line = out.splitlines()[2]
    assert line == "\twhile (1)" + " " * (len("for_each_valid_sp(kvm, sp, sp_list)") - 9) + " {"


def test_loop_macro_with_statement_on_next_line():
    src = body("for_each_rmap_spte(rmap_head, &iter, sptep)", "\tflush |= age(sptep);")
    out = assert_fixed(src)
    assert "while (1)" in out and "flush |= age(sptep);" in out


def test_loop_macro_with_multiline_arguments_keeps_newlines():
    src = body(
        "list_for_each_entry_safe_reverse(sp, tmp, &kvm->arch.pages,",
        "\t\t\t\t link) {",
        "\tzap(sp);",
        "}",
    )
    out = assert_fixed(src)
    assert out.count("\n") == src.count("\n")
    assert out.splitlines()[3].strip() == "{"


def test_loop_macro_not_named_for_each():
    src = body("tdp_root_pte_walk(iter, root, start, end) {", "\tcount++;", "}")
    assert "while (1)" in assert_fixed(src)


def test_nested_loop_macros_and_control_positions():
    src = body(
        "if (kvm)",
        "\twalk_pages(kvm, sp)",
        "\t\twalk_children(sp, child) {",
        "\t\t\tuse(child);",
        "\t\t}",
        "else",
        "\twalk_pages(kvm, sp)",
        "\t\tuse(sp);",
        "out:",
        "walk_pages(kvm, sp) {",
        "}",
    )
    out = assert_fixed(src)
    assert out.count("while (1)") == 4


def test_calls_and_keywords_are_untouched():
    src = body(
        "foo(kvm, 1);",
        "if (bar(kvm)) {",
        "\twhile (baz(kvm))",
        "\t\tkvm++;",
        "}",
        "switch (sizeof(kvm)) {",
        "default:",
        "\tbreak;",
        "}",
        "return;",
    )
    assert not has_errors(src, raw=True)
    assert neutralize(src) == src


def test_function_definitions_and_macro_definitions_are_untouched():
    src = (
        "#define for_each_x(x, n) \\\n"
        "\tfor ((x) = 0; (x) < (n); (x)++) \\\n"
        "\t\tif (skip(x)) {} else\n"
        "#define walk(a) for_each_x(a, 4) {\n"
        "static int __helper(int a)\n"
        "{\n"
        "\treturn a;\n"
        "}\n"
    )
    assert neutralize(src) == src


# -------------------------------------------------------- attribute macros

DEFAULT_ATTRIBUTES = {
    "__always_inline",
    "__init",
    "__exit",
    "__read_mostly",
    "__ro_after_init",
    "__must_check",
    "__maybe_unused",
    "__weak",
    "noinline",
    "__cold",
    "__aligned",
    "__printf",
    "__section",
    "__acquires",
    "__releases",
    "__must_hold",
    "__rcu",
    "__percpu",
}


def test_idioms_toml_lists_the_kernel_attribute_macros():
    assert not DEFAULT_ATTRIBUTES - load_attribute_macros()


@pytest.mark.parametrize(
    "src",
    [
        "static __always_inline bool f(void)\n{\n\treturn true;\n}\n",
        "static bool __read_mostly enabled = true;\n",
        "static struct kmem_cache *cache __ro_after_init;\n",
        "int __init setup(void)\n{\n\treturn 0;\n}\n",
        "void lock(struct kvm *kvm) __must_hold(&kvm->lock)\n{\n}\n",
        "static __printf(2, 3) void report(int lvl, const char *fmt, ...);\n",
        "struct s {\n\tu64 w __aligned(8);\n};\n",
        "void f(void *p)\n{\n\tu64 *q = (u64 __rcu *)p;\n}\n",
    ],
)
def test_listed_attribute_macros_are_blanked(src):
    out = assert_fixed(src)
    assert not re.search(r"\b(__\w+|noinline)\b", out)


def test_attribute_list_is_used_as_given():
    src = "static fast_attr(3) int f(void)\n{\n\treturn 0;\n}\n"
    assert_fixed(src, attribute_macros=("fast_attr",))
    assert neutralize(src, attribute_macros=()) == src


@pytest.mark.parametrize(
    "src",
    [
        "static __hot_path int f(void)\n{\n\treturn 0;\n}\n",
        "int g(struct kvm *kvm) __locks_held(kvm);\n",
        "static u64 *cache __cachedmem;\n",
        "u64 __fastdata mask;\n",
        "static __fmt_check(1, 2) void h(const char *f, ...);\n",
    ],
)
def test_unknown_attribute_macros_are_found_structurally(src):
    out = assert_fixed(src, attribute_macros=())
    assert "__" not in out


@pytest.mark.parametrize(
    "src",
    [
        "static void __helper(int x)\n{\n}\n",
        "static struct page *__alloc_page(int x);\n",
        "int __count;\n",
        "static int x = __pa(y) + 1;\n",
        "EXPORT_SYMBOL_GPL(__helper);\n",
        body('pr_err("%s: %s\\n", __func__, __FILE__);', "u64 a = __pa(p) + __LINE__;"),
    ],
)
def test_declarators_and_expressions_are_not_blanked(src):
    out = neutralize(src, attribute_macros=())
    assert out == src
    assert neutralize(src) == src


def test_function_named_like_an_attribute_keeps_its_name():
    src = "static struct page *__alloc_page(int x) __locks(x);\n"
    out = neutralize(src, attribute_macros=())
    assert out == src.replace("__locks(x)", " " * len("__locks(x)"))


def test_blanked_names_stay_readable_from_the_original_text():
    src = "static __always_inline bool f(void)\n{\n\treturn true;\n}\n"
    pf = parse_c("t.c", src)
    fn = pf.root.children[0]
    assert fn.type == "function_definition"
    assert pf.text_of(fn).startswith("static __always_inline bool f(void)")


# ---------------------------------------------------------- type arguments


@pytest.mark.parametrize("macro", ["list_first_entry", "container_of"])
def test_type_names_passed_to_macros(macro):
    src = body(f"struct page *sp = {macro}(head, struct page, link);")
    out = assert_fixed(src)
    assert "struct_page," in out


def test_preprocessor_branches_do_not_unbalance_braces():
    src = (
        "void g(int x)\n{\n#ifdef A\n\tif (x) {\n#else\n\tif (!x) {\n#endif\n"
        "\t\tx++;\n\t}\n}\n\nstatic __hot_path int h(void)\n{\n\treturn 0;\n}\n"
    )
    # (tree-sitter itself cannot parse g: its #if branches split a brace)
    assert "__hot_path" not in neutralize(src, attribute_macros=())


def test_spans_with_non_ascii_text_are_left_alone():
    """Rewriting them would change the UTF-8 length and shift byte offsets."""
    src = body("for_each_sp(kvm /* é */, sp) {", "}")
    assert neutralize(src) == src


def test_text_outside_code_is_untouched():
    src = body(
        '/* for_each_x(a) { __init */ puts("for_each_x(a) { __init");',
        "// for_each_x(a) {",
        "x = 'a';",
    )
    assert neutralize(src) == src


# ------------------------------------------------- declaration macros in bodies


def test_a_static_declaration_macro_in_a_body_parses_as_a_call():
    src = body("static DEFINE_RATELIMIT_STATE(ratelimit_state, 5 * HZ, 10);",
               "struct kvm_mmu_page *sp = sptep_to_sp(sptep);",
               "if (sp->role.level) return;")
    out = assert_fixed(src)
    assert "       DEFINE_RATELIMIT_STATE(ratelimit_state, 5 * HZ, 10);" in out


@pytest.mark.parametrize("line", ["static int count(void);", "static u64 *p;",
                                  "static const struct x y = { 0 };", "x = y; static_branch(z);"])
def test_real_static_declarations_are_left_alone(line):
    src = body(line)
    assert neutralize(src) == src
