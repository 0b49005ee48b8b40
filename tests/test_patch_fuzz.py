"""Property tests: whatever the input, the patch package fails only with
PatchError/UserError, and every patch it accepts renders back to a clean
diff that applies to the same result."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patchtools import damage_like_web_archive, tree, unified_diff

from analyzer.errors import UserError
from analyzer.patch import Patch, apply_patch, read_patches, render_patch

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Line text: code-ish characters plus the ones diff syntax cares about.
_CHARS = st.sampled_from([*'ab{}();= \t+-@\\*#/"é', "\x0c", "\u2028"])
_LINE = st.text(_CHARS, max_size=10)

# Lines that steer the reader into its less travelled paths.
_TOKENS = [
    "diff --git a/x b/x",
    "diff --git a/x b/y",
    '"diff --git "a/q x" b/q x',
    "--- a/x",
    "+++ b/x",
    "--- /dev/null",
    "+++ /dev/null",
    "--- x.orig\t2019-02-22 11:46:22",
    "@@ -1,2 +1,2 @@",
    "@@ -1 +1 @@ section",
    "@@ -2,0 +3,1 @@",
    "@@ -0,0 +1,2 @@",
    "@@ -999999999,1 +1,1 @@",
    " a",
    "-a",
    "+b",
    "+\tb",
    "- a",
    "+ }",
    "a",
    "b",
    "}",
    "",
    "\\ No newline at end of file",
    "-- ",
    "--",
    "---",
    "2.20.1",
    "GIT binary patch",
    "literal 4",
    "Binary files a/x and b/x differ",
    "new file mode 100644",
    "deleted file mode 100644",
    "rename from x",
    "rename to y",
    "copy from x",
    "copy to z",
    "similarity index 90%",
    "From 1234abcd Mon Sep 17 00:00:00 2001",
    "From: A <a@example.org>",
    "Subject: [PATCH v2 1/2] =?utf-8?q?x=C3=A9?=",
    "Subject: =?x-unknown?b?!!?=",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=x-nonesuch",
    "Content-Type: multipart/mixed; boundary=zz",
    "--zz",
    "Content-Transfer-Encoding: base64",
    "Content-Transfer-Encoding: quoted-printable",
    "ZGlmZiAtLWdpdCBhL3ggYi94Cg==",
    "=3D=20",
    "commit 0123456789abcdef0123456789abcdef01234567",
    "--- a/../up",
]
_TREE = {"x": "a\nb\nc\n", "y": "a\n}\n", "x.orig": "a\n", "q x": "a\n"}


def _file(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _diff(pre: list[str], post: list[str], context: int) -> str:
    return unified_diff("f.c", _file(pre), _file(post), context)


@st.composite
def _edited(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A pre-image and a post-image made from it by a few edits."""
    pre = draw(st.lists(_LINE, min_size=1, max_size=25))
    post = list(pre)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(post)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        if kind != "insert" and at < len(post):
            del post[at]
        if kind != "delete":
            post[at:at] = draw(st.lists(_LINE, min_size=1, max_size=3))
    return pre, post


def _mutate(text: str, rnd: random.Random) -> str:
    lines = text.split("\n")
    kind = rnd.choice(
        ["truncate", "shuffle", "duplicate", "drop", "insert", "damage", "crlf", "mail"]
    )
    if kind == "truncate":
        return text[: rnd.randrange(len(text) + 1)]
    if kind == "shuffle":
        rnd.shuffle(lines)
    elif kind == "duplicate":
        a = rnd.randrange(len(lines))
        b = rnd.randrange(a, len(lines)) + 1
        lines[b:b] = lines[a:b]
    elif kind == "drop":
        del lines[rnd.randrange(len(lines))]
    elif kind == "insert":
        lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(_TOKENS))
    elif kind == "damage":
        return damage_like_web_archive(text)
    elif kind == "crlf":
        return text.replace("\n", "\r\n")
    else:
        return (
            "From 0 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nSubject: [PATCH] m\n\n"
            + text
        )
    return "\n".join(lines)


def _read_or_none(data: bytes | str) -> list[Patch] | None:
    try:
        return read_patches(data, source="fuzz")
    except UserError:
        return None


def _check_accepted(patch: Patch, files: dict[str, str]) -> None:
    """If the patch applies, its rendering is a clean diff that applies to
    the same result."""
    try:
        applied = apply_patch(patch, tree(files))
    except UserError:
        return
    if all(f.binary for f in patch.files):
        return  # rendered alone it is binary-only input, which is refused
    again = read_patches(render_patch(applied.patch), source="rendered")
    assert len(again) == 1
    assert not again[0].damaged
    assert apply_patch(again[0], tree(files)).files == applied.files


@FUZZ
@given(_edited(), st.integers(0, 4))
def test_generated_diffs_apply_to_their_post_image(
    edit: tuple[list[str], list[str]], context: int
) -> None:
    pre, post = edit
    if pre == post:  # a bare file header: git apply finds no patch in it either
        assert _read_or_none(_diff(pre, post, context)) is None
        return
    [patch] = read_patches(_diff(pre, post, context))
    assert not patch.damaged
    assert apply_patch(patch, tree({"f.c": _file(pre)})).files == {"f.c": _file(post)}


@FUZZ
@given(_edited(), st.integers(0, 4), st.randoms(use_true_random=False), st.integers(1, 3))
def test_mutated_diffs_fail_cleanly_or_round_trip(
    edit: tuple[list[str], list[str]], context: int, rnd: random.Random, rounds: int
) -> None:
    pre, post = edit
    text = _diff(pre, post, context)
    for _ in range(rounds):
        text = _mutate(text, rnd)
    for patch in _read_or_none(text) or []:
        _check_accepted(patch, {"f.c": _file(pre)})


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(_TOKENS), _LINE), max_size=40), st.booleans())
def test_diff_shaped_noise_fails_cleanly_or_round_trips(lines: list[str], as_bytes: bool) -> None:
    text = "\n".join(lines)
    for patch in _read_or_none(text.encode() if as_bytes else text) or []:
        _check_accepted(patch, _TREE)


@FUZZ
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400)))
def test_random_input_fails_cleanly(data: bytes | str) -> None:
    for patch in _read_or_none(data) or []:
        _check_accepted(patch, _TREE)


@FUZZ
@given(_edited(), st.integers(1, 4), st.lists(_LINE, max_size=5))
def test_damaged_diffs_repair_or_fail_cleanly(
    edit: tuple[list[str], list[str]], context: int, top: list[str]
) -> None:
    """Web-archive damage on arbitrary content, applied at an offset: either
    a clean PatchError or a repair whose rendering applies exactly."""
    pre, post = edit
    for patch in _read_or_none(damage_like_web_archive(_diff(pre, post, context))) or []:
        _check_accepted(patch, {"f.c": _file(top + pre)})
