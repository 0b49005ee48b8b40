"""apply_patch / render_patch: placement like GNU patch, repair of
web-archive damage, errors that say where a hunk was looked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from patchtools import GitRepo, damage_like_web_archive, fixture, tree, unified_diff

from analyzer.patch import FilePatch, Patch, PatchError, apply_patch, read_patches, render_patch

PATH = "lib/slot_cache.c"
PRE = fixture("slot_cache.c")
POST = fixture("slot_cache_fixed.c")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    repo = GitRepo(tmp_path_factory.mktemp("apply") / "repo")
    repo.commit("base", {PATH: PRE})
    repo.commit("lib/slot_cache: keep width for flat keys only", {PATH: POST})
    return repo


@pytest.fixture(scope="module")
def mail(repo: GitRepo) -> str:
    return repo.git("format-patch", "-1", "--stdout")


def _one(text: str) -> Patch:
    [patch] = read_patches(text)
    return patch


def _git_apply(tmp_path: Path, files: dict[str, str], diff: str) -> dict[str, str | None]:
    """What git itself makes of ``diff`` on ``files``."""
    repo = GitRepo(tmp_path / "git-apply")
    for name, text in files.items():
        repo.write(name, text)
    (tmp_path / "rendered.diff").write_text(diff)
    repo.git("apply", str(tmp_path / "rendered.diff"))
    return {
        name: (repo.path / name).read_text() if (repo.path / name).exists() else None
        for name in files
    }


# --- placement ------------------------------------------------------------------


def test_clean_patch_applies_at_its_header_lines(mail: str) -> None:
    patch = _one(mail)
    applied = apply_patch(patch, tree({PATH: PRE}))
    assert applied.files == {PATH: POST}
    assert (applied.repaired, applied.repair_reason) == (0, "") and applied.patch is patch


@pytest.mark.parametrize(
    ("top", "dropped"), [("/* filler */\n" * 40, 0), ("", 4)], ids=["40-lines-down", "4-lines-up"]
)
def test_hunks_are_found_at_any_offset(mail: str, top: str, dropped: int) -> None:
    def shifted(text: str) -> str:
        return top + text.split("\n", dropped)[dropped]

    assert apply_patch(_one(mail), tree({PATH: shifted(PRE)})).files == {PATH: shifted(POST)}


def test_the_match_nearest_to_the_header_wins() -> None:
    block = ["a", "b", "c"]
    pre = "\n".join(["x"] * 2 + block + ["y"] * 15 + block + ["z"] * 2) + "\n"
    near_second = "--- a/f\n+++ b/f\n@@ -19,3 +19,3 @@\n a\n-b\n+B\n c\n"
    near_first = near_second.replace("@@ -19,3 +19,3 @@", "@@ -6,3 +6,3 @@")
    second = apply_patch(_one(near_second), tree({"f": pre})).files["f"]
    first = apply_patch(_one(near_first), tree({"f": pre})).files["f"]
    assert second is not None and first is not None
    assert second.split("\n").index("B") == 21
    assert first.split("\n").index("B") == 3
    halfway = near_second.replace("@@ -19,3 +19,3 @@", "@@ -12,3 +12,3 @@")  # 9 lines from both
    tie = apply_patch(_one(halfway), tree({"f": pre})).files["f"]
    assert tie is not None and tie.split("\n").index("B") == 21  # the later one, as GNU patch


def test_hunks_out_of_order_are_refused_rather_than_overlapped() -> None:
    """Like GNU patch, a hunk is looked for only after the previous one."""
    text = "--- a/f\n+++ b/f\n@@ -3,2 +3,2 @@\n a\n-b\n+B\n@@ -1,2 +1,2 @@\n a\n-b\n+C\n"
    with pytest.raises(
        PatchError,
        match=r"^f: hunk @@ -1,2 \+1,2 @@ does not apply \(nearest partial match at line 1\)",
    ):
        apply_patch(_one(text), tree({"f": "a\nb\na\nb\n"}))
    in_order = "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+C\n@@ -3,2 +3,2 @@\n a\n-b\n+B\n"
    assert apply_patch(_one(in_order), tree({"f": "a\nb\na\nb\n"})).files == {"f": "a\nC\na\nB\n"}


def test_a_file_patched_twice_in_one_diff_continues_from_the_first_result() -> None:
    text = unified_diff("f", "a\nb\n", "a\nc\n") + unified_diff("f", "a\nc\n", "a\nc\nd\n")
    assert apply_patch(_one(text), tree({"f": "a\nb\n"})).files == {"f": "a\nc\nd\n"}


def test_crlf_files_keep_their_line_ends(mail: str) -> None:
    crlf = PRE.replace("\n", "\r\n")
    assert apply_patch(_one(mail), tree({PATH: crlf})).files == {PATH: POST.replace("\n", "\r\n")}


# --- errors ---------------------------------------------------------------------


def test_a_hunk_that_does_not_apply_names_file_header_and_nearest_line(mail: str) -> None:
    drifted = PRE.replace("\tkey.wide = wide;\n", "\tkey.wide = !!wide;\n")
    with pytest.raises(PatchError) as err:
        apply_patch(_one(mail), tree({PATH: drifted}))
    assert str(err.value) == (
        "lib/slot_cache.c: hunk @@ -27,7 +27,6 @@ does not apply "
        "(nearest partial match at line 27); is the patch for this tree?"
    )


def test_a_hunk_with_none_of_its_lines_in_the_file_says_so() -> None:
    with pytest.raises(
        PatchError,
        match=r"^f: hunk @@ -1,2 \+1,2 @@ does not apply \(none of its old lines is in the file\)",
    ):
        apply_patch(_one("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"), tree({"f": "x\ny\n"}))


def test_changing_a_missing_file_or_creating_an_existing_one_is_refused(mail: str) -> None:
    with pytest.raises(
        PatchError, match=r"^lib/slot_cache\.c: the patch changes this file but it does not exist"
    ):
        apply_patch(_one(mail), tree({}))
    creation = unified_diff("new.c", "", "int x;\n").replace("--- a/new.c", "--- /dev/null")
    assert apply_patch(_one(creation), tree({})).files == {"new.c": "int x;\n"}
    with pytest.raises(
        PatchError, match=r"^new\.c: the patch creates this file but it already exists"
    ):
        apply_patch(_one(creation), tree({"new.c": "int y;\n"}))


def test_binary_files_are_left_out_of_the_result() -> None:
    patch = Patch("blob", files=[FilePatch("data.bin", "data.bin", binary=True)])
    assert apply_patch(patch, tree({"data.bin": "?"})).files == {}


# --- web-archive damage ---------------------------------------------------------


def test_damaged_copy_applies_exactly_like_the_clean_patch(mail: str) -> None:
    damaged = damage_like_web_archive(mail)
    assert "\n+ if (wide) {\n" in damaged and "\nkey.flat = 1;\n" in damaged
    patch = _one(damaged)
    assert patch.damaged
    applied = apply_patch(patch, tree({PATH: PRE}))
    assert applied.files == apply_patch(_one(mail), tree({PATH: PRE})).files == {PATH: POST}
    assert applied.repaired == 3
    assert (
        applied.repair_reason
        == "context indentation lost (web archive copy); 3 hunks matched ignoring whitespace"
    )


def test_repair_leaves_the_patch_as_read_and_shares_what_it_did_not_change(mail: str) -> None:
    """apply_patch returns the repaired copy instead of rewriting the input."""
    text = damage_like_web_archive(mail)
    patch = _one(text)
    applied = apply_patch(patch, tree({PATH: PRE}))
    assert patch == _one(text), "the patch read is not touched"
    assert applied.patch is not patch and applied.patch.subject == patch.subject
    def lines(p: Patch) -> list[list[tuple[str, str]]]:
        return [h.lines for h in p.files[0].hunks]

    assert lines(applied.patch) != lines(patch)
    assert lines(applied.patch) == lines(_one(mail))


def test_repaired_patch_renders_as_the_clean_diff_and_git_accepts_it(
    mail: str, tmp_path: Path
) -> None:
    patch = _one(damage_like_web_archive(mail))
    rendered = render_patch(apply_patch(patch, tree({PATH: PRE})).patch)
    assert rendered == render_patch(_one(mail))
    assert _git_apply(tmp_path, {PATH: PRE}, rendered) == {PATH: POST}


def test_damaged_copy_is_repaired_at_an_offset(mail: str) -> None:
    top = "/* moved */\n\n" * 7
    applied = apply_patch(_one(damage_like_web_archive(mail)), tree({PATH: top + PRE}))
    assert applied.files == {PATH: top + POST}
    assert [h.src_start for h in applied.patch.files[0].hunks] == [41, 50, 71]


def test_damaged_copy_that_matches_nowhere_is_an_error(mail: str) -> None:
    other = PRE.replace("memset(&key, 0, sizeof(key));", "key = (struct slot_key){ 0 };")
    with pytest.raises(
        PatchError,
        match=r"hunk @@ -27,7 \+27,6 @@ does not apply \(nearest partial match at line 27\)",
    ):
        apply_patch(_one(damage_like_web_archive(mail)), tree({PATH: other}))


REINDENT_CASES = {
    "else-branch": (
        "int f(int a)\n{\n\tif (a) {\n\t\tg();\n\t}\n\treturn 0;\n}\n",
        "int f(int a)\n{\n\tif (a) {\n\t\tg();\n\t} else {\n\t\th();\n\t}\n\treturn 0;\n}\n",
    ),
    "before-closing-brace": (
        "int f(void)\n{\n\tg();\n}\n\nint k;\n",
        "int f(void)\n{\n\tg();\n\tif (x)\n\t\th();\n}\n\nint k;\n",
    ),
    "end-of-file": (
        "int f(void)\n{\n\treturn 0;\n}\n",
        "int f(void)\n{\n\treturn 0;\n}\n\nint g(void)\n{\n\tif (a) {\n\t\tb();\n\t}\n\tif (c)\n\t\treturn 2;\n\treturn 1;\n}\n",
    ),
    "replace-brace-less-body": (
        "void f(void)\n{\n\tif (x)\n\t\tfoo();\n\treturn;\n}\n",
        "void f(void)\n{\n\tif (x)\n\t\tbar();\n\telse\n\t\tbaz();\n\treturn;\n}\n",
    ),
    "replace-into-a-block": (
        "void f(void)\n{\n\tfoo();\n}\n",
        "void f(void)\n{\n\tif (x) {\n\t\tfoo();\n\t\tbar();\n\t} else\n\t\tbaz();\n}\n",
    ),
    "replace-before-a-label": (
        "int f(void)\n{\n\tfoo();\nout:\n\treturn 0;\n}\n",
        "int f(void)\n{\n\tbar();\nout:\n\treturn 0;\n}\n",
    ),
    "comment-and-preprocessor": (
        "void f(void)\n{\n\tg();\n\th();\n}\n",
        "void f(void)\n{\n\tg();\n\t/*\n\t * Why h() follows.\n\t */\n#ifdef X\n\th();\n#endif\n}\n",
    ),
}


@pytest.mark.parametrize(("pre", "post"), REINDENT_CASES.values(), ids=REINDENT_CASES.keys())
def test_added_lines_are_reindented_from_their_neighbours(pre: str, post: str) -> None:
    patch = _one(damage_like_web_archive(unified_diff("f.c", pre, post, context=1)))
    assert patch.damaged
    assert apply_patch(patch, tree({"f.c": pre})).files == {"f.c": post}


# --- rendering ------------------------------------------------------------------


def test_render_of_a_git_series_round_trips_and_git_accepts_it(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"a.c": PRE, "gone.c": "int g;\n", "odd name.c": "int o;"})
    (repo.path / "moved").mkdir()
    repo.git("mv", "a.c", "moved/a.c")
    repo.commit(
        "mix",
        {"moved/a.c": POST, "gone.c": None, "odd name.c": "int o;\nint p;\n", "new.c": "int n;\n"},
    )
    [patch] = read_patches(repo.git("format-patch", "-1", "-M", "--stdout"))
    before = {name: repo.show("HEAD~1", name) for name in ("a.c", "gone.c", "odd name.c")}
    result = apply_patch(patch, tree({k: v for k, v in before.items() if v is not None})).files
    after = {name: repo.show("HEAD", name) for name in result}
    assert result == after
    rendered = render_patch(patch)
    assert (
        apply_patch(_one(rendered), tree({k: v for k, v in before.items() if v is not None})).files
        == after
    )
    git_result = _git_apply(tmp_path, {k: v for k, v in before.items() if v is not None}, rendered)
    assert git_result == {k: after[k] for k in git_result}


def test_render_marks_missing_final_newlines() -> None:
    patch = _one("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n")
    assert render_patch(patch) == (
        "diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+b\n"
    )
    assert apply_patch(patch, tree({"f": "a"})).files == {"f": "b\n"}


def test_diff_N_new_file_named_by_its_path_is_created() -> None:
    """`diff -ruN` names an absent file instead of /dev/null; a hunk from
    line 0 creates it, as GNU patch does."""
    text = ("diff -ruN a/new.h b/new.h\n--- a/new.h\t1970-01-01 00:00:00.000000000 +0000\n"
            "+++ b/new.h\t2024-01-01 00:00:00.000000000 +0000\n@@ -0,0 +1,2 @@\n+int a;\n+int b;\n")
    assert apply_patch(_one(text), tree({})).files == {"new.h": "int a;\nint b;\n"}
    # but a hunk from a real line still needs the file
    with pytest.raises(PatchError, match="does not exist"):
        apply_patch(_one(text.replace("@@ -0,0 +1,2 @@", "@@ -1,0 +1,2 @@")), tree({}))


def test_a_patch_the_tree_already_has_says_so(mail):
    """Every hunk's new side is in the file: the commit is there already
    (format-patch -1 of HEAD, checked against HEAD)."""
    with pytest.raises(PatchError, match="already applied") as err:
        apply_patch(_one(mail), tree({PATH: POST}))
    assert PATH in str(err.value) and "mmu-role-lint git" in str(err.value)


def test_half_applied_is_not_already_applied(mail):
    """One hunk there, another not: the patch does not apply, and that is
    all that can be said."""
    patch = _one(mail)
    assert len(patch.files[0].hunks) >= 2
    half = apply_patch(Patch("first hunk", [FilePatch(PATH, PATH, patch.files[0].hunks[:1])]),
                       tree({PATH: PRE})).files[PATH]
    with pytest.raises(PatchError, match="does not apply") as err:
        apply_patch(patch, tree({PATH: half}))
    assert "already applied" not in str(err.value)
