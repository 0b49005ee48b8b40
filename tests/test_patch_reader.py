"""read_patches: every shape a patch arrives in gives the same records."""

from __future__ import annotations

import base64
import quopri
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from patchtools import GitRepo, damage_like_web_archive, fixture, require_seed, tree
from unidiff import PatchSet

from analyzer.errors import UserError
from analyzer.patch import Patch, PatchError, apply_patch, read_patches

SLOT = "lib/slot_cache.c"
STATS = "lib/slot_stats.c"
NOTES = "lib/notes.txt"
STATS_C = "#include <stdbool.h>\n\nunsigned long slot_lookups;\nint slot_debug = 1;\n"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """base -> fix slot_cache.c -> add slot_stats.c and touch notes.txt ->
    revert that: a three-patch series whose third patch undoes the second."""
    repo = GitRepo(tmp_path_factory.mktemp("reader") / "repo")
    repo.commit("base", {SLOT: fixture("slot_cache.c"), NOTES: "caf\u00e9 notes\nline two\n"})
    repo.commit(
        "lib/slot_cache: keep width for flat keys only\n\nFlat keys alone remember the width.\n\nSigned-off-by: Test Author <author@example.org>",
        {SLOT: fixture("slot_cache_fixed.c")},
    )
    repo.commit(
        "lib: count slot lookups",
        {STATS: STATS_C, NOTES: "caf\u00e9 notes\nline two\nline three\n"},
    )
    repo.git("revert", "--no-edit", "HEAD")
    return repo


def _only(data: bytes | str, **kwargs: str) -> Patch:
    patches = read_patches(data, **kwargs)
    assert len(patches) == 1
    return patches[0]


def _hunk_view(
    patch: Patch,
) -> list[tuple[str | None, str | None, list[tuple[int, int, int, int, list[tuple[str, str]]]]]]:
    return [
        (
            f.old_path,
            f.new_path,
            [(h.src_start, h.src_len, h.dst_start, h.dst_len, h.lines) for h in f.hunks],
        )
        for f in patch.files
    ]


def _unidiff_view(
    diff: str,
) -> list[tuple[str | None, str | None, list[tuple[int, int, int, int, list[tuple[str, str]]]]]]:
    """The same records as unidiff reads them, as an independent oracle."""

    def path(name: str, prefix: str) -> str | None:
        return None if name == "/dev/null" else name.removeprefix(prefix)

    return [
        (
            path(pf.source_file, "a/"),
            path(pf.target_file, "b/"),
            [
                (
                    h.source_start,
                    h.source_length,
                    h.target_start,
                    h.target_length,
                    [(line.line_type, line.value.rstrip("\n")) for line in h],
                )
                for h in pf
            ],
        )
        for pf in PatchSet(diff)
    ]


# --- the seed: a web-archive copy ------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Patch:
    seed = require_seed()
    return _only(seed.read_bytes(), source=seed.name)


def test_seed_is_one_patch_to_mmu_c_with_two_hunks_matching_their_headers(seed: Patch) -> None:
    assert seed.paths == ["arch/x86/kvm/mmu.c"]
    hunks = seed.files[0].hunks
    assert [h.header for h in hunks] == ["@@ -4791,7 +4791,6 @@", "@@ -4871,6 +4870,8 @@"]
    for h in hunks:
        assert sum(op != "+" for op, _ in h.lines) == h.src_len
        assert sum(op != "-" for op, _ in h.lines) == h.dst_len
    assert ["".join(op for op, _ in h.lines) for h in hunks] == ["   -   ", "   ++   "]


def test_seed_is_marked_damaged_and_keeps_its_subject(seed: Patch) -> None:
    assert seed.damaged
    assert all(h.damaged for h in seed.files[0].hunks)
    assert seed.subject == "x86/kvm/mmu: make mmu->prev_roots cache work for NPT case"
    assert seed.author == "Vitaly Kuznetsov"
    assert seed.message.startswith("I noticed that fast_cr3_switch()")
    assert seed.message.endswith("Signed-off-by: Vitaly Kuznetsov <vkuznets@xxxxxxxxxx>")


def test_seed_hunks_hold_no_mail_text(seed: Patch) -> None:
    text = "\n".join(t for h in seed.files[0].hunks for _, t in h.lines)
    for leak in (
        "From:",
        "Signed-off-by",
        "RFC",
        "Alternatively",
        "insertions",
        "2.20.1",
        "mmu.c |",
    ):
        assert leak not in text
    assert seed.files[0].hunks[-1].lines[-1][1].endswith("&&")


# --- git's own shapes -----------------------------------------------------------


def test_format_patch_mail_gives_subject_author_message_and_hunks(repo: GitRepo) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", "HEAD~2")
    patch = _only(mail)
    assert patch.subject == "lib/slot_cache: keep width for flat keys only"
    assert patch.author == "Test Author <author@example.org>"
    assert (
        patch.message
        == "Flat keys alone remember the width.\n\nSigned-off-by: Test Author <author@example.org>"
    )
    assert not patch.damaged and not patch.notes
    assert _hunk_view(patch) == _unidiff_view(repo.git("diff", "HEAD~3", "HEAD~2"))
    assert [len(f.hunks) for f in patch.files] == [3]


def test_plain_git_diff_reads_like_unidiff_reads_it(repo: GitRepo) -> None:
    diff = repo.git("diff", "HEAD~3", "HEAD~1")
    patch = _only(diff)
    assert patch.subject == ""
    assert patch.paths == [NOTES, SLOT, STATS]
    assert patch.files[2].old_path is None
    assert _hunk_view(patch) == _unidiff_view(diff)


def test_git_show_output_takes_the_subject_from_the_commit(repo: GitRepo) -> None:
    patch = _only(repo.git("show", "HEAD~2"))
    assert patch.subject == "lib/slot_cache: keep width for flat keys only"
    assert patch.author == "Test Author <author@example.org>"
    assert patch.paths == [SLOT]


def test_traditional_diff_uses_one_name_and_strips_timestamps() -> None:
    text = (
        "--- lib/x.c.orig\t2019-02-22 11:46:22.000000000 +0000\n"
        "+++ lib/x.c\t2019-02-22 11:47:00.000000000 +0000\n"
        "@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
    )
    patch = _only(text)
    assert (patch.files[0].old_path, patch.files[0].new_path) == ("lib/x.c", "lib/x.c")
    assert apply_patch(patch, tree({"lib/x.c": "a\nb\n"})).files == {"lib/x.c": "a\nc\n"}


def test_quilt_style_prefixes_are_stripped() -> None:
    patch = _only("--- linux.orig/arch/x.c\n+++ linux/arch/x.c\n@@ -1 +1 @@\n-a\n+b\n")
    assert patch.paths == ["arch/x.c"]


# --- mbox series ----------------------------------------------------------------


def _apply_series(patches: list[Patch], repo: GitRepo, base: str) -> list[dict[str, str | None]]:
    """Apply each patch to the tree the previous ones left; return the tree
    after each."""
    files = {name: repo.show(base, name) for name in (SLOT, STATS, NOTES)}
    states = []
    for patch in patches:
        files.update(apply_patch(patch, tree({k: v for k, v in files.items() if v is not None})).files)
        states.append(dict(files))
    return states


def _git_states(repo: GitRepo, revs: list[str]) -> list[dict[str, str | None]]:
    return [{name: repo.show(rev, name) for name in (SLOT, STATS, NOTES)} for rev in revs]


def test_mbox_series_gives_one_patch_per_mail_in_order(repo: GitRepo) -> None:
    mbox = repo.git("format-patch", "--stdout", "-v2", "HEAD~3")
    patches = read_patches(mbox, source="series.mbox")
    assert [p.subject for p in patches] == [
        "lib/slot_cache: keep width for flat keys only",
        "lib: count slot lookups",
        'Revert "lib: count slot lookups"',
    ]
    assert [p.paths for p in patches] == [[SLOT], [NOTES, STATS], [NOTES, STATS]]
    assert [p.source for p in patches] == [f"series.mbox, mail {n}" for n in (1, 2, 3)]
    assert patches[1].files[1].old_path is None and patches[2].files[1].new_path is None
    assert _apply_series(patches, repo, "HEAD~3") == _git_states(repo, ["HEAD~2", "HEAD~1", "HEAD"])


def test_b4_style_mbox_separators_split_the_same_way(repo: GitRepo) -> None:
    mbox = repo.git("format-patch", "--stdout", "HEAD~3")
    b4 = re.sub(
        r"^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$",
        "From git@z Thu Jan  1 00:00:00 1970",
        mbox,
        flags=re.M,
    )
    assert b4 != mbox
    assert [_hunk_view(p) for p in read_patches(b4)] == [_hunk_view(p) for p in read_patches(mbox)]


def test_cover_letter_is_skipped_with_a_note(repo: GitRepo) -> None:
    mbox = repo.git("format-patch", "--stdout", "--cover-letter", "HEAD~3")
    patches = read_patches(mbox)
    assert len(patches) == 3
    assert patches[0].subject == "lib/slot_cache: keep width for flat keys only"
    assert patches[0].notes == ["skipped 1 mail(s) without a diff: *** SUBJECT HERE ***"]


def test_rfc2047_and_folded_subjects_are_decoded(repo: GitRepo) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", "HEAD~2")
    encoded = re.sub(
        r"^Subject: .*$",
        "Subject: [PATCH v2 3/7] =?UTF-8?q?lib/slot=5Fcache=3A_caf=C3=A9?=\n =?UTF-8?q?_keys?= and a\n\tfolded tail",
        mail,
        count=1,
        flags=re.M,
    )
    assert _only(encoded).subject == "lib/slot_cache: caf\u00e9 keys and a folded tail"


# --- paths: prefixes, reversal, renames, new, deleted, quoting ------------------


def test_reversed_diff_strips_prefixes_and_undoes_the_change(repo: GitRepo) -> None:
    patch = _only(repo.git("diff", "-R", "HEAD~3", "HEAD~1"))
    assert patch.paths == [NOTES, SLOT, STATS]
    assert patch.files[2].new_path is None  # the added file, reversed, is deleted
    after = {name: repo.show("HEAD~1", name) for name in (NOTES, SLOT, STATS)}
    result = apply_patch(patch, tree({k: v for k, v in after.items() if v is not None})).files
    assert result == {
        NOTES: repo.show("HEAD~3", NOTES),
        SLOT: repo.show("HEAD~3", SLOT),
        STATS: None,
    }


def test_rename_with_edit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"old/name.c": fixture("slot_cache.c")})
    (repo.path / "new").mkdir()
    repo.git("mv", "old/name.c", "new/name.c")
    repo.commit("move", {"new/name.c": fixture("slot_cache_fixed.c")})
    patch = _only(repo.git("format-patch", "-1", "-M", "--stdout"))
    [fp] = patch.files
    assert (fp.old_path, fp.new_path, fp.copied) == ("old/name.c", "new/name.c", False)
    assert len(fp.hunks) == 3
    result = apply_patch(patch, repo.reader("HEAD~1")).files
    assert result == {"old/name.c": None, "new/name.c": repo.show("HEAD", "new/name.c")}


def test_pure_rename_without_hunks(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"a b/x y.c": "int x;\n"})
    repo.git("mv", "a b/x y.c", "a b/z.c")
    repo.commit("move", {})
    patch = _only(repo.git("diff", "-M", "HEAD~1", "HEAD"))
    assert (patch.files[0].old_path, patch.files[0].new_path, patch.files[0].hunks) == (
        "a b/x y.c",
        "a b/z.c",
        [],
    )
    assert apply_patch(patch, repo.reader("HEAD~1")).files == {"a b/x y.c": None, "a b/z.c": "int x;\n"}


def test_new_and_deleted_files_use_none_for_the_missing_side(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"gone.c": "int gone;\n", "empty.c": ""})
    repo.commit("swap", {"gone.c": None, "empty.c": None, "born.c": "int born;\n", "blank.c": ""})
    patch = _only(repo.git("format-patch", "-1", "--no-renames", "--stdout"))
    paths = {f.path: (f.old_path, f.new_path, len(f.hunks)) for f in patch.files}
    assert paths == {
        "blank.c": (None, "blank.c", 0),
        "born.c": (None, "born.c", 1),
        "empty.c": ("empty.c", None, 0),
        "gone.c": ("gone.c", None, 1),
    }
    result = apply_patch(patch, repo.reader("HEAD~1")).files
    assert result == {"blank.c": "", "born.c": "int born;\n", "empty.c": None, "gone.c": None}


def test_quoted_non_ascii_paths_are_unquoted(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"docs/na\u00efve notes.txt": "x\n"})
    repo.commit("edit", {"docs/na\u00efve notes.txt": "y\n"})
    diff = repo.git("diff", "HEAD~1", "HEAD")
    assert '"a/docs/na\\303\\257ve notes.txt"' in diff
    assert _only(diff).paths == ["docs/na\u00efve notes.txt"]


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "a/./b", "x//y"])
def test_paths_outside_the_tree_are_refused(name: str) -> None:
    with pytest.raises(PatchError, match="inside the tree"):
        read_patches(f"--- {name}\n+++ {name}\n@@ -1 +1 @@\n-a\n+b\n")


# --- binary diffs ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options", [[], ["--binary"]], ids=["binary-files-differ", "git-binary-patch"]
)
def test_binary_diffs_are_flagged_noted_and_do_not_swallow_the_next_file(
    tmp_path: Path, options: list[str]
) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"data.bin": b"\x00\x01\x02blob", "z.c": "int z;\n"})
    repo.commit("both", {"data.bin": b"\x00\x01\x03blob", "z.c": "int z = 1;\n"})
    diff = repo.git("diff", *options, "HEAD~1", "HEAD")
    assert ("GIT binary patch" in diff) == bool(options)
    patch = _only(diff)
    binary, text = patch.files
    assert (binary.path, binary.binary, binary.hunks) == ("data.bin", True, [])
    assert "binary diff of data.bin ignored" in patch.notes
    assert text.hunks[0].lines == [("-", "int z;"), ("+", "int z = 1;")]
    assert apply_patch(patch, repo.reader("HEAD~1")).files == {"z.c": "int z = 1;\n"}


def test_binary_only_input_is_an_error(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"data.bin": b"\x00\x01"})
    repo.commit("blob", {"data.bin": b"\x00\x02"})
    with pytest.raises(PatchError, match=r"only binary diffs \(data\.bin\)") as err:
        read_patches(repo.git("diff", "--binary", "HEAD~1", "HEAD"), source="blob.diff")
    assert "\n" not in str(err.value)


# --- transport damage: line ends, transfer encodings, signatures ----------------


def test_crlf_mail_reads_like_lf(repo: GitRepo) -> None:
    mbox = repo.git("format-patch", "--stdout", "HEAD~3")
    crlf = mbox.replace("\n", "\r\n").encode()
    assert read_patches(crlf) == read_patches(mbox)


def _reencode(mail: str, encoding: str, charset: str = "utf-8") -> bytes:
    """The same mail with its body in another transfer encoding/charset."""
    head, body = mail.split("\n\n", 1)
    raw = body.encode(charset)
    encoded = (
        quopri.encodestring(raw) if encoding == "quoted-printable" else base64.encodebytes(raw)
    )
    mime = f"MIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {encoding}\n"
    return (head + "\n" + mime + "\n").encode() + encoded


@pytest.mark.parametrize("rev", ["HEAD~2", "HEAD~1"])
@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
def test_transfer_encoded_bodies_read_like_plain_ones(
    repo: GitRepo, rev: str, encoding: str
) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", rev)
    charset = "iso-8859-1" if rev == "HEAD~1" else "utf-8"  # HEAD~1 has "caf\u00e9" context
    encoded = _reencode(mail, encoding, charset)
    if encoding == "base64":
        assert b"diff --git" not in encoded
    else:
        assert b"=3D" in encoded and (b"caf=E9" in encoded) == (charset == "iso-8859-1")
    assert _hunk_view(_only(encoded)) == _hunk_view(_only(mail))
    assert _only(encoded).subject == _only(mail).subject


def test_signature_after_the_last_hunk_is_not_read(repo: GitRepo) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", "HEAD~2")
    version = mail.rsplit("-- \n", 1)[1].strip()
    assert re.fullmatch(r"2\.\d+\.\d+", version)
    last = _only(mail).files[0].hunks[-1]
    assert version not in "".join(t for _, t in last.lines)
    assert last.lines[-1] == (" ", "}")


def test_no_newline_at_end_of_file_matches_git(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("base", {"a.c": "int a;\nint b;", "b.c": "int c;\n"})
    repo.commit("edit", {"a.c": "int a;\nint b;\n", "b.c": "int c;\nint d;"})
    patch = _only(repo.git("diff", "HEAD~1", "HEAD"))
    a, b = (f.hunks[0] for f in patch.files)
    assert (a.old_no_newline, a.new_no_newline, b.old_no_newline, b.new_no_newline) == (
        True,
        False,
        False,
        True,
    )
    assert apply_patch(patch, repo.reader("HEAD~1")).files == {
        "a.c": "int a;\nint b;\n",
        "b.c": "int c;\nint d;",
    }


# --- nothing to read ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "hello\n", "Subject: [PATCH] x\n\njust words\n---\n 0 files changed\n"]
)
def test_input_without_a_diff_is_a_one_line_user_error(text: str) -> None:
    with pytest.raises(PatchError) as err:
        read_patches(text, source="notes.txt")
    assert str(err.value) == (
        "cannot read patches: no diff found in notes.txt; pass a unified diff, a git format-patch mail or an mbox"
    )
    assert isinstance(err.value, UserError) and err.value.exit_status == 2


# --- corrupt input: cut short, wrong counts, broken headers --------------------------


def _refused(data: bytes | str, **kwargs: str) -> str:
    with pytest.raises(PatchError) as err:
        read_patches(data, **kwargs)
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)
    return str(err.value)


def test_a_hunk_cut_short_says_so_with_line_and_counts() -> None:
    text = "--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n"
    assert _refused(text) == (
        "<input>: the patch is cut short at line 6: x.c: hunk @@ -1,3 +1,3 @@ claims 3 old "
        "and 3 new lines, 2 and 2 present; fetch the whole patch again"
    )


def test_a_truncated_diff_git_line_is_cut_short_not_a_rename() -> None:
    """D4: "b/ar" is what is left of "b/arch/x86/kvm/mmu.c"; git apply: "lacks
    filename information"."""
    assert _refused("diff --git a/arch/x86/kvm/mmu.c b/ar\n", source="<stdin>") == (
        "<stdin>: the patch is cut short at line 1: the file header "
        "'diff --git a/arch/x86/kvm/mmu.c b/ar' ends before its changes; fetch the whole patch again"
    )


def test_two_names_without_rename_lines_are_a_corrupt_header() -> None:
    text = "diff --git a/x.c b/y.c\nold mode 100644\nnew mode 100755\ndiff --git a/z b/z\nnew file mode 100644\n"
    assert _refused(text) == (
        "<input>: the file header 'diff --git a/x.c b/y.c' (line 1) names two different files "
        "but says neither rename nor copy; is the patch corrupt?"
    )


@pytest.mark.parametrize("text", [
    "diff --git a/x.c b/x.c\n",
    "diff --git a/x.c b/x.c\nindex 1234567..89abcde 100644\n",
    "diff --git a/x.c b/x.c\nindex 1234567..89abcde 100644\n--- a/x.c\n",
    "diff --git a/x.c b/x.c\nindex 1234567..89abcde 100644\n--- a/x.c\n+++ b/x.c\n",
    "--- a/x.c\n+++ b/x.c\n",
    "diff --git a/x.c b/x.c\nsimilarity index 100%\ncopy from x.c\n",  # found by hypothesis
])
def test_a_file_header_without_changes_at_the_end_is_cut_short(text: str) -> None:
    last = text.count("\n")
    assert _refused(text) == (
        f"<input>: the patch is cut short at line {last}: the file header of x.c ends before "
        "any change; fetch the whole patch again"
    )


@pytest.mark.parametrize("text", [
    "diff --git a/x.c b/x.c\nold mode 100644\nnew mode 100755\n",
    "diff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\nrename to y.c\n",
    "diff --git a/x.c b/x.c\nnew file mode 100644\nindex 0000000..e69de29\n",
])
def test_changes_made_by_the_header_alone_are_not_cut_short(text: str) -> None:
    assert len(_only(text).files) == 1


def test_a_header_claiming_more_lines_than_the_hunk_has_is_refused() -> None:
    text = ("--- a/x.c\n+++ b/x.c\n@@ -1,5 +1,5 @@\n a\n-b\n+c\n d\n"
            "@@ -10,2 +10,2 @@\n-e\n+f\n g\n")
    assert _refused(text) == (
        "<input>: x.c: hunk @@ -1,5 +1,5 @@ claims 5 old and 5 new lines (line 3), but 3 and 3 "
        "come before the next header: its line counts are wrong (was the patch edited by hand?)"
    )


def test_a_header_claiming_fewer_lines_than_the_hunk_has_is_refused() -> None:
    """The removed line after the counts would be dropped, and with it the
    change (git apply drops it silently)."""
    text = "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n-d\n"
    assert _refused(text) == (
        "<input>: x.c: hunk @@ -1,2 +1,2 @@ claims 2 old and 2 new lines (line 3), but the change "
        "line after them (line 7) belongs to it too: its line counts are wrong (was the patch "
        "edited by hand?)"
    )


def test_a_signature_after_a_complete_hunk_is_no_extra_change_line(repo: GitRepo) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", "HEAD~2")
    assert mail.rstrip().splitlines()[-2] == "-- "
    assert _only(mail).files[0].hunks


def test_impossible_line_numbers_are_refused() -> None:
    text = "--- a/x.c\n+++ b/x.c\n@@ -1,9999999999 +1,2 @@\n a\n-b\n+c\n"
    assert _refused(text) == (
        "<input>: x.c: the hunk header '@@ -1,9999999999 +1,2 @@' (line 3) has impossible line "
        "numbers; is the patch corrupt?"
    )


def test_a_mail_cut_short_in_a_series_names_the_mail_and_the_input_line(repo: GitRepo) -> None:
    mbox = repo.git("format-patch", "--stdout", "HEAD~3")
    lines = mbox.split("\n")
    starts = [k for k, line in enumerate(lines) if re.match(r"From [0-9a-f]{40} ", line)]
    second = lines[starts[1] : starts[2]]
    last_hunk = max(k for k, line in enumerate(second) if line.startswith("@@"))
    kept = lines[: starts[1] + last_hunk + 2]  # the second mail stops after one line of its last hunk
    message = _refused("\n".join(kept) + "\n", source="series.mbox")
    assert message.startswith(f"series.mbox, mail 2: the patch is cut short at line {len(kept)}: ")


def test_a_damaged_copy_cut_short_is_cut_short_not_web_archive_damage(repo: GitRepo) -> None:
    """Issue 12: a truncated patch was diagnosed as web-archive damage."""
    damaged = damage_like_web_archive(repo.git("diff", "HEAD~3", "HEAD~2"))
    cut = damaged[: damaged.rindex("\n", 0, len(damaged) - 1) + 1]  # its last line lost
    assert "cut short" in _refused(cut)
    assert _only(damaged).damaged  # the whole copy is still repaired


def test_a_mail_in_base64_is_cut_short_at_its_end(repo: GitRepo) -> None:
    mail = repo.git("format-patch", "-1", "--stdout", "HEAD~2")
    head, body = mail.split("\n\n", 1)
    body = body[: body.rindex("\n@@")] + "\n" + body[body.rindex("\n@@") + 1 :].split("\n")[0] + "\n a\n"
    mime = "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n"
    encoded = (head + "\n" + mime + "\n").encode() + base64.encodebytes(body.encode())
    assert "the patch is cut short at its end: " in _refused(encoded)


def test_damaged_hunk_stops_where_its_counts_are_met() -> None:
    """A web copy without a signature: the prose after the diff is not read
    as context lines."""
    text = "Title\n\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\na();\n- b();\n+ c();\nd();\n\nThanks,\nA. Reviewer\n"
    patch = _only(text)
    assert patch.damaged and patch.subject == "Title"
    assert patch.files[0].hunks[0].lines == [
        (" ", "a();"),
        ("-", " b();"),
        ("+", " c();"),
        (" ", "d();"),
    ]
    assert not any("header says" in note for note in patch.notes)


def test_patch_sent_as_a_mime_attachment(repo: GitRepo) -> None:
    msg = EmailMessage()
    msg["From"] = "Test Author <author@example.org>"
    msg["Subject"] = "[PATCH] lib: attached fix"
    msg.set_content("The fix is attached.\n")
    diff = repo.git("diff", "HEAD~3", "HEAD~2")
    msg.add_attachment(diff.encode(), maintype="text", subtype="x-patch", filename="fix.patch")
    html = f"<pre>{diff}</pre>".encode()  # read as well, it would double the files
    msg.add_attachment(html, maintype="text", subtype="html")
    patch = _only(msg.as_bytes())
    assert patch.subject == "lib: attached fix"
    assert _hunk_view(patch) == _hunk_view(_only(diff))


def test_in_body_from_names_the_author(repo: GitRepo) -> None:
    mail = repo.git(
        "format-patch", "-1", "--stdout", "--from=Sender <sender@example.org>", "HEAD~2"
    )
    assert mail.split("\n\n", 1)[1].startswith("From: Test Author <author@example.org>\n")
    patch = _only(mail)
    assert patch.author == "Test Author <author@example.org>"
    assert patch.message.startswith("Flat keys alone remember the width.")


def test_damaged_context_line_starting_with_plus_plus_is_context() -> None:
    """In a web copy the marker is followed by a space; "++sp->count;" is a
    context line whose indentation was lost, as the header counts confirm."""
    text = ("Title\n\n--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n"
            "a();\n- b();\n+ c();\n++sp->count;\n")
    patch = _only(text)
    assert patch.damaged
    assert patch.files[0].hunks[0].lines == [
        (" ", "a();"), ("-", " b();"), ("+", " c();"), (" ", "++sp->count;")]


def test_diff_command_line_is_not_a_subject() -> None:
    text = "diff -ruN a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert _only(text).subject == ""


def test_every_cut_of_a_series_is_refused_or_reads_a_prefix_of_it(repo: GitRepo) -> None:
    """Cut after any line, a series either reads as the same hunks up to a
    hunk or file boundary, or is refused as cut short: never as other
    changes (a rename, a shorter hunk, web-archive damage)."""
    mbox = repo.git("format-patch", "--stdout", "HEAD~3")
    full = [h for p in read_patches(mbox) for f in p.files for h in [(f.path, None), *[
        (f.path, (h.src_start, h.src_len, h.lines)) for h in f.hunks]]]
    lines = mbox.split("\n")
    for n in range(1, len(lines)):
        text = "\n".join(lines[:n]) + "\n"
        try:
            patches = read_patches(text)
        except PatchError as err:
            assert "cut short" in str(err) or "no diff found" in str(err), (n, str(err))
            continue
        got = [h for p in patches for f in p.files for h in [(f.path, None), *[
            (f.path, (h.src_start, h.src_len, h.lines)) for h in f.hunks]]]
        assert got == full[: len(got)], n
        assert not any(p.damaged for p in patches), n


def test_a_plain_diff_is_read_without_the_email_package() -> None:
    # decoding mails is the email package's work; a plain diff needs none
    # of it (10 ms of every check of one), nor a mail git format-patch
    # writes (ASCII headers, no transfer encoding); a mail to decode does
    import subprocess
    import sys

    diff = b"--- a/arch/x86/kvm/mmu/mmu.c\n+++ b/arch/x86/kvm/mmu/mmu.c\n@@ -1,1 +1,2 @@\n x\n+y\n"
    mail = b"From: A <a@example.org>\nSubject: [PATCH] y\n\n" + diff
    encoded = b"From: A <a@example.org>\nSubject: =?UTF-8?q?[PATCH]_J=C3=B6rg?=\n\n" + diff
    code = ("import sys; from analyzer.patch import read_patches; "
            "(p,) = read_patches(sys.stdin.buffer.read()); print(p.subject, 'email' in sys.modules)")
    for data, subject, seen in ((diff, "", "False"), (mail, "y", "False"),
                                (encoded, "J\u00f6rg", "True")):
        done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                              check=True)
        assert done.stdout.decode().split()[-1] == seen
        assert done.stdout.decode().startswith(subject)


@pytest.mark.parametrize("text, starts", [
    ("From a Mon x\nbody\nFrom b Tue y\n", [0, 18]),
    ("body\nFrom a Sun \n", [5]),
    ("xFrom a Mon \n From a Mon \nFrom a Mox \nFrom a  Wed \n", [38]),  # only at a line start
    ("From a Mon", []),  # no blank after the day
    ("", []),
])
def test_mails_start_at_from_lines(text, starts):
    from analyzer.mbox import mail_starts

    assert mail_starts(text) == starts


@pytest.mark.parametrize("data, is_encoded", [
    (b"Subject: x\nContent-Transfer-Encoding: base64\n\nAAAA\n", True),
    (b"content-transfer-encoding:Quoted-Printable\n", True),
    (b"CONTENT-TRANSFER-ENCODING: 8bit\n", False),
    (b" Content-Transfer-Encoding: base64\n", False),  # not a header line
    (b"+Content-Transfer-Encoding: base64\n", False),
])
def test_an_encoded_body_is_declared_at_a_line_start(data, is_encoded):
    from analyzer.mbox import encoded

    assert encoded(data) is is_encoded


# ---- mails read without the email package ------------------------------------------

_NAMES = ["From", "Subject", "Date", "To", "Cc", "Message-Id", "Content-Type",
          "Content-Transfer-Encoding", "MIME-Version", "X-Mailer", "subject", "FROM"]
_VALUES = ["Ann Author <ann@example.org>", "[PATCH v2 1/3] KVM: x86/mmu: Fix the role", "",
           "Mon, 6 Jan 2025 12:00:00 +0000", "text/plain; charset=UTF-8", "text/plain",
           'text/plain; charset="us-ascii"', "text/plain; charset=ISO-8859-1",
           "text/plain; charset=UTF-8; format=flowed", "multipart/mixed; boundary=x",
           "8bit", "7bit", "quoted-printable", "base64", "1.0", "=?UTF-8?q?J=C3=B6rg?= <j@x>",
           "J\u00f6rg <j@x>", "  two  spaces ", "tab\tinside", "colon: inside"]


def _mail(headers, folds, unix_from, body) -> str:
    lines = ["From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001"] if unix_from else []
    for (name, value), fold in zip(headers, folds, strict=True):
        lines.append(f"{name}: {value}")
        lines += [f"{' ' if k % 2 else chr(9)}folded part {k}" for k in range(fold)]
    return "\n".join(lines) + "\n\n" + body


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES)), min_size=1, max_size=7),
       st.lists(st.integers(0, 2), min_size=7, max_size=7), st.booleans(),
       st.sampled_from(["", "diff --git a/x b/x\n", "body line\r\n\n-- \n2.39.5\n", "caf\u00e9\n\nmore\n"]))
def test_a_plain_mail_reads_as_the_email_package_reads_it(headers, folds, unix_from, body):
    """The mails read without the email package (ASCII headers, one text
    part, no transfer encoding) give the subject, author, date, body and
    first body line the email package gives; any other is left to it."""
    from analyzer.patch import reader

    chunk = _mail(headers, folds[:len(headers)], unix_from, body)
    plain = reader._read_plain(chunk, 3)
    if plain is not None:
        mime = reader._read_mime(chunk, 3)
        assert (plain.subject, plain.author, plain.date, plain.body, plain.first_line) == \
               (mime.subject, mime.author, mime.date, mime.body, mime.first_line)
    values = " ".join(v for _, v in headers)
    if "=?" in values or not values.isascii():
        assert plain is None


def test_what_git_format_patch_writes_is_read_without_the_email_package():
    from analyzer.patch import reader

    chunk = _mail([("From", "Ann Author <ann@example.org>"), ("Date", "Mon, 6 Jan 2025"),
                   ("Subject", "[PATCH] KVM: x86/mmu: a long subject that git folds"),
                   ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=UTF-8"),
                   ("Content-Transfer-Encoding", "8bit")], [0, 0, 1, 0, 0, 0], True,
                  "Body.\n\ndiff --git a/x b/x\n")
    got = reader._read_plain(chunk, 1)
    assert got is not None and got.subject.endswith("git folds folded part 0")
    assert got.first_line == 10 and got.body[0] == "Body."  # after 8 header lines and a blank
    for ctype, cte in (("text/plain; charset=UTF-8", "quoted-printable"),
                       ("multipart/mixed; boundary=x", "7bit"), ("text/html", "7bit")):
        other = chunk.replace("text/plain; charset=UTF-8", ctype).replace("8bit", cte)
        assert reader._read_plain(other, 1) is None
