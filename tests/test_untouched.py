"""``check`` answers input that touches no role file from its raw bytes
(analyzer/commands/untouched.py), without the patch reader: whenever it
answers, the reader must read the same patches, subjects and files and
leave no note; whenever it is unsure, it must say None."""

from __future__ import annotations

import base64
import quopri
import subprocess
import sys

import pytest
from helpers import FIXTURES
from patchtools import damage_like_web_archive

from analyzer.commands.untouched import untouched
from analyzer.patch import PatchError, read_patches

INPUTS = sorted([*FIXTURES.glob("*/patches/*.patch"), *FIXTURES.glob("*/series/*.mbox")])
MASK = FIXTURES / "legacy" / "patches" / "0009-mask-drops-nxe.patch"


def elsewhere(data: bytes) -> bytes:
    """The same patch moved off every role path."""
    for role, other in ((b"arch/x86/kvm/mmu", b"arch/x86/kvm/xmu"), (b"kvm_host.h", b"kvm_hist.h"),
                        (b"paging_tmpl.h", b"paging_tmpx.h")):
        data = data.replace(role, other)
    return data


def as_reader_reads(data: bytes) -> list[tuple[str, list[str]]] | None:
    """(subject, files) as the reader reads them, when it reads no note."""
    try:
        patches = read_patches(data)
    except PatchError:
        return None
    if any(p.notes or p.damaged for p in patches):
        return None
    return [(p.subject, p.paths) for p in patches]


def agrees(data: bytes) -> bool:
    """untouched answers only what the reader would answer too."""
    quick = untouched([data])
    return quick is None or quick == as_reader_reads(data)


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_role_patches_are_never_answered(path):
    assert untouched([path.read_bytes()]) is None


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_answers_agree_with_the_reader(path):
    data = elsewhere(path.read_bytes())
    assert agrees(data)
    assert agrees(data.replace(b"\n", b"\r\n"))
    diff = data[data.index(b"diff --git"):]
    assert agrees(diff)


def test_the_usual_shapes_are_answered():
    """A format-patch mail, its diff alone, and a series of both."""
    mail = elsewhere(MASK.read_bytes())
    diff = mail[mail.index(b"diff --git"):]
    assert untouched([mail]) == [("x86/kvm/mmu: stop keeping nxe in the cached context role",
                                  ["arch/x86/kvm/xmu.c"])]
    assert untouched([diff]) == [("", ["arch/x86/kvm/xmu.c"])]
    assert untouched([mail, diff, mail]) == untouched([mail]) + untouched([diff]) + untouched([mail])


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_a_cut_anywhere_is_not_answered_unless_the_reader_agrees(path):
    """Cut after every line: a patch cut short is the reader's to refuse."""
    data = elsewhere(path.read_bytes())
    lines = data.splitlines(keepends=True)
    for n in range(1, len(lines)):
        assert agrees(b"".join(lines[:n])), (path.name, n)


@pytest.mark.parametrize("shape", [
    "web-archive", "base64", "quoted-printable", "encoded-subject", "in-body-from", "rename",
    "binary", "cover-letter", "wrong-count", "text-before-mbox", "no-prefix",
])
def test_shapes_it_leaves_to_the_reader(shape):
    mail = elsewhere(MASK.read_bytes())
    head, body = mail.split(b"\n\n", 1)
    diff = mail[mail.index(b"diff --git"):]
    data = {
        "web-archive": damage_like_web_archive(mail.decode()).encode(),
        "base64": head + b"\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(body),
        "quoted-printable": head + b"\nContent-Transfer-Encoding: quoted-printable\n\n"
                            + quopri.encodestring(body),
        "encoded-subject": mail.replace(b"Subject: [PATCH]", b"Subject: =?utf-8?q?=5BPATCH=5D?="),
        "in-body-from": head + b"\n\nFrom: Someone Else <x@example.invalid>\n\n" + body,
        "rename": diff.replace(b"diff --git a/arch/x86/kvm/xmu.c b/arch/x86/kvm/xmu.c",
                               b"diff --git a/arch/x86/kvm/old.c b/arch/x86/kvm/xmu.c"),
        "binary": diff + b"diff --git a/logo.png b/logo.png\nBinary files a/logo.png and "
                         b"b/logo.png differ\n",
        "cover-letter": b"From 0 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/1] cover\n\nhi\n\n"
                        + mail,
        "wrong-count": diff.replace(b"@@ -", b"@@ -1,99 +1,99 @@ was: ", 1),
        "text-before-mbox": b"some words\n" + mail,
        "no-prefix": diff.replace(b"a/arch", b"arch").replace(b"b/arch", b"arch"),
    }[shape]
    assert untouched([data]) is None
    assert untouched([mail]) is not None  # the untouched form is answered


def test_check_answers_without_the_reader_or_the_tree(tmp_path):
    """Nor the email package, nor git (no tree is looked for), nor the
    finding machinery (terms)."""
    patch = tmp_path / "doc.patch"
    patch.write_bytes(elsewhere(MASK.read_bytes()))
    code = ("import sys; from analyzer.cli import main; status = main(['check', sys.argv[1]]); "
            "print(status, sorted(m for m in ('analyzer.patch.reader', 'email.message', "
            "'subprocess', 'analyzer.runner', 'analyzer.terms') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(patch)], capture_output=True,
                          text=True, check=True, cwd=tmp_path)
    assert done.stdout.splitlines() == [
        "patch 1/1: x86/kvm/mmu: stop keeping nxe in the cached context role "
        "[skipped: no role code touched]",
        "summary: 0 introduced, 0 fixed, 0 persisting",
        "total: 0 errors, 0 warnings",
        "0 []",
    ]


def test_a_role_diff_line_is_left_to_the_reader_before_anything_is_decoded(monkeypatch):
    """A patch that names a role path on a diff --git line goes to the reader
    from its raw bytes, however long it is (a release diff's megabytes are
    decoded and split once, by the reader, not twice); the same patch off
    the role paths is still answered, and 'kvm_host.h' in an #include of a
    hunk is not a role path."""
    import analyzer.encoding as encoding

    data = MASK.read_bytes()
    monkeypatch.setattr(encoding, "decode", lambda *_a, **_k: pytest.fail("decoded"))
    assert untouched([data]) is None
    monkeypatch.undo()
    off = elsewhere(data).replace(b"\n \t.cr0_wp = 1,\n", b"\n #include <linux/kvm_host.h>\n", 1)
    assert b"kvm_host.h" in off and untouched([off]) is not None
