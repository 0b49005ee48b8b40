"""Property tests: whatever the input, the patch package fails only with
PatchError/UserError, and every patch it accepts renders back to a clean
diff that applies to the same result. Inputs include bytes that are not
UTF-8, in patches and in tree files: a diff of any bytes applies to the
tree it was made from, and the whole tool takes them."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import random
import tempfile
from pathlib import Path

from helpers import HEADER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from patchtools import damage_like_web_archive, tree, unified_diff

from analyzer.cli import main
from analyzer.encoding import decode, encode
from analyzer.errors import UserError
from analyzer.patch import Patch, apply_patch, read_patches, render_patch

MMU = "arch/x86/kvm/mmu.c"
KVM_HOST = "arch/x86/include/asm/kvm_host.h"

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
def _edited(draw: st.DrawFn, line: st.SearchStrategy = _LINE) -> tuple[list, list]:
    """A pre-image and a post-image made from it by a few edits, of lines
    drawn from ``line`` (text, or bytes in no particular encoding)."""
    pre = draw(st.lists(line, min_size=1, max_size=25))
    post = list(pre)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(post)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        if kind != "insert" and at < len(post):
            del post[at]
        if kind != "delete":
            post[at:at] = draw(st.lists(line, min_size=1, max_size=3))
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


# --- bytes that are not UTF-8 -----------------------------------------------------------

# Pieces of line bytes: code-ish ASCII, Latin-1 letters, bytes no UTF-8 text
# holds, a truncated and a whole UTF-8 sequence.
_BYTES = st.sampled_from(
    [b"a", b"{", b"}", b"(", b")", b";", b" ", b"\t", b"+", b"-", b"@", b"\\", b"*", b"/", b'"',
     b"\xe9", b"\xfc", b"\xff", b"\x80", b"\xc3", b"\xc3\xa9", b"\xed\xa0\x80"]
)
_BYTE_LINE = st.lists(_BYTES, max_size=8).map(b"".join)


def _edited_bytes() -> st.SearchStrategy:
    return _edited(_BYTE_LINE).filter(lambda edit: edit[0] != edit[1])


def _bytes_file(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _byte_diff(pre: list[bytes], post: list[bytes], context: int, mail: bool) -> bytes:
    """A diff made by difflib from the bytes, as git would send it: plain,
    or in a mail that says UTF-8 whatever the file holds (git format-patch)."""
    body = difflib.diff_bytes(difflib.unified_diff, [line + b"\n" for line in pre],
                              [line + b"\n" for line in post], b"a/f.c", b"b/f.c", n=context)
    diff = b"diff --git a/f.c b/f.c\n" + b"".join(body)
    if not mail:
        return diff
    return (b"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
            b"From: A <a@example.org>\nSubject: [PATCH] edit\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n"
            b"---\n" + diff + b"-- \n2.20.1\n")


@FUZZ
@given(_edited_bytes(), st.integers(0, 4), st.booleans())
def test_a_diff_of_any_bytes_applies_to_the_tree_it_was_made_from(
    edit: tuple[list[bytes], list[bytes]], context: int, mail: bool
) -> None:
    """The tree is decoded as the tree reader decodes it: the result is the
    post-image to the byte, and its rendering reads back the same."""
    pre, post = edit
    [patch] = read_patches(_byte_diff(pre, post, context, mail))
    applied = apply_patch(patch, tree({"f.c": decode(_bytes_file(pre))}))
    assert {p: encode(t) for p, t in applied.files.items() if t is not None} == {
        "f.c": _bytes_file(post)}
    [again] = read_patches(encode(render_patch(applied.patch)))
    assert apply_patch(again, tree({"f.c": decode(_bytes_file(pre))})).files == applied.files


@FUZZ
@given(_edited_bytes(), st.integers(0, 4), st.booleans(), st.randoms(use_true_random=False))
def test_mutated_byte_diffs_fail_cleanly_or_round_trip(
    edit: tuple[list[bytes], list[bytes]], context: int, mail: bool, rnd: random.Random
) -> None:
    pre, post = edit
    data = encode(_mutate(decode(_byte_diff(pre, post, context, mail)), rnd))
    for patch in _read_or_none(data) or []:
        _check_accepted(patch, {"f.c": decode(_bytes_file(pre))})


@FUZZ
@given(st.lists(st.one_of(st.sampled_from([t.encode() for t in _TOKENS]), _BYTE_LINE), max_size=40))
def test_diff_shaped_byte_noise_fails_cleanly_or_round_trips(lines: list[bytes]) -> None:
    tree_files = {name: decode(b"\xe9" + encode(text)) for name, text in _TREE.items()}
    for patch in _read_or_none(b"\n".join(lines)) or []:
        _check_accepted(patch, tree_files)


# The C around the generated lines: a role producer and a comparison, in
# the shape of the legacy tree (helpers.HEADER gives the types).
_C_PRE = [b"static union kvm_mmu_page_role f(int direct)", b"{",
          b"\tunion kvm_mmu_page_role role = {0};", b"\trole.direct = direct;",
          b"\treturn role;", b"}", b"", b"static int g(struct kvm_mmu_page *sp)", b"{",
          b"\treturn sp->role.word == f(1).word;", b"}"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_C_PRE)), _BYTE_LINE), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, len(_C_PRE)), _BYTE_LINE), min_size=1, max_size=3),
       st.integers(0, 3))
def test_check_takes_any_bytes_in_tree_and_patch_lines(
    into_tree: list[tuple[int, bytes]], into_patch: list[tuple[int, bytes]], context: int
) -> None:
    """Through the whole tool, cache on (its keys hash the text) and off:
    the tree and a patch git could have made from it, both with bytes in no
    encoding anywhere in the C, give a report (the patch applies) or one
    line and status 2, and a warm run answers like a cold one."""
    pre = list(_C_PRE)
    for at, line in sorted(into_tree, reverse=True):
        pre.insert(at, line)
    post = list(pre)
    for at, line in sorted(into_patch, reverse=True):
        post.insert(min(at, len(post)), line)
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp) / "tree"
        (top / MMU).parent.mkdir(parents=True)
        (top / MMU).write_bytes(_bytes_file(pre))
        (top / KVM_HOST).parent.mkdir(parents=True)
        (top / KVM_HOST).write_text(HEADER)
        patch = Path(tmp) / "p.diff"
        body = difflib.diff_bytes(difflib.unified_diff, [line + b"\n" for line in pre],
                                  [line + b"\n" for line in post], b"a/" + MMU.encode(),
                                  b"b/" + MMU.encode(), n=context)
        patch.write_bytes(f"diff --git a/{MMU} b/{MMU}\n".encode() + b"".join(body))
        runs = []
        for cache in ("off", "cold", "warm"):
            env = {"MMU_ROLE_LINT_NO_CACHE": "1"} if cache == "off" else {
                "MMU_ROLE_LINT_NO_CACHE": "", "MMU_ROLE_LINT_CACHE": str(Path(tmp) / "cache")}
            runs.append(_main(env, "check", str(patch), "--tree", str(top), "--format", "json"))
    status, out, err = runs[0]
    assert runs[1] == runs[2] == runs[0]
    assert status in (0, 1), err
    assert json.loads(out)["patches"][0]["status"] == "analyzed"


def _main(env: dict[str, str], *args: str) -> tuple[int, bytes, bytes]:
    """main() with its streams captured as bytes and ``env`` set."""
    out, err = io.BytesIO(), io.BytesIO()
    out_text, err_text = io.TextIOWrapper(out), io.TextIOWrapper(err)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
            status = main(list(args))
        out_text.flush()
        err_text.flush()
        return status, out.getvalue(), err.getvalue()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
