"""Where the MMU sources of a kernel tree are, and images of them.

An image is a mapping from tree-relative path to file text: the tree as it
is (the pre-image), or the tree with a patch applied in memory (the
post-image). Nothing here writes to the tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from analyzer.encoding import decode
from analyzer.errors import UserError
from analyzer.filereader import kind_of, read_bytes, symlink_in, tree_file
from analyzer.record import field, record

MMU_DIR = "arch/x86/kvm/mmu"
LEGACY_MMU = "arch/x86/kvm/mmu.c"
TMPL = "paging_tmpl.h"
HEADER = "arch/x86/include/asm/kvm_host.h"
# Other KVM files, read when present as context for role-incomplete: the
# accessors of vCPU state (headers) and where that state is written (.c).
# Never required, never analyzed for role flow.
CONTEXT = ("arch/x86/kvm/x86.h", "arch/x86/kvm/kvm_cache_regs.h", "arch/x86/kvm/cpuid.h",
           "arch/x86/kvm/cpuid.c", "arch/x86/kvm/x86.c")


def find_tree(start: Path | None = None) -> Path:
    """The top of the current git work tree, else the current directory."""
    import subprocess  # only where no --tree is given: not on every run

    start = start or Path.cwd()
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start,
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return start
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else start


def layout(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """(analyzed sources, model headers) among the tree's paths.

    5.5 and later: every arch/x86/kvm/mmu/*.c plus mmu/paging_tmpl.h; before:
    arch/x86/kvm/mmu.c plus paging_tmpl.h. Headers: kvm_host.h and the MMU's
    own headers (mmu_internal.h holds struct kvm_mmu_page from 5.5 on)."""
    paths = set(paths)
    modern = sorted(p for p in paths if p.startswith(MMU_DIR + "/") and p.endswith(".c")
                    and "/" not in p[len(MMU_DIR) + 1:])
    if modern:
        sources = modern + [p for p in (f"{MMU_DIR}/{TMPL}",) if p in paths]
        headers = sorted(p for p in paths if p.startswith(MMU_DIR + "/") and p.endswith(".h")
                         and not p.endswith(TMPL))
    elif LEGACY_MMU in paths:
        sources = [LEGACY_MMU] + [p for p in (f"arch/x86/kvm/{TMPL}",) if p in paths]
        headers = []
    else:
        return [], []
    headers = [p for p in (HEADER, "arch/x86/kvm/mmu.h") if p in paths] + headers
    return sources, headers


def is_role_path(path: str) -> bool:
    """Could a change to this file change role flow?"""
    return (path.startswith(MMU_DIR + "/") or path in (LEGACY_MMU, HEADER, "arch/x86/kvm/mmu.h",
                                                       f"arch/x86/kvm/{TMPL}"))


@record
class Image:
    """The analyzed files of one version of the tree."""

    files: dict[str, str] = field(default_factory=dict)  # sources, in order
    headers: dict[str, str] = field(default_factory=dict)
    # Files of the tree left out (symlinks, not regular files), one line each.
    notes: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)  # CONTEXT files the tree has

    def get(self, path: str) -> str | None:
        return self.files.get(path, self.headers.get(path, self.context.get(path)))


_FIXED = (LEGACY_MMU, f"arch/x86/kvm/{TMPL}", HEADER, "arch/x86/kvm/mmu.h")


def context_paths(paths: Iterable[str]) -> list[str]:
    """The CONTEXT files among the tree's paths, when it has MMU sources."""
    paths = set(paths)
    return [p for p in CONTEXT if p in paths] if layout(paths)[0] else []


def image_paths(paths: Iterable[str]) -> list[str]:
    """Every path of the image the tree's paths make, in layout order:
    sources, headers, context."""
    paths = set(paths)
    sources, headers = layout(paths)
    return sources + headers + context_paths(paths)


def split_image(texts: dict[str, str]) -> Image:
    """An image of the texts of ``image_paths``."""
    sources, headers = layout(texts)
    return Image({p: texts[p] for p in sources}, {p: texts[p] for p in headers},
                 context={p: texts[p] for p in context_paths(texts)})


def _context(tree: Path) -> dict[str, str]:
    """The CONTEXT files of a tree (regular files, not through a symlink)."""
    out = {}
    for p in CONTEXT:
        text = read_tree_file(tree, p)
        if text is not None:
            out[p] = text
    return out


def _candidates(tree: Path) -> tuple[list[str], list[str]]:
    """The tree's files that may be MMU sources or headers, and one note per
    thing skipped: a symbolic link on the way (never followed), or a file
    that is not a regular one."""
    out: list[str] = []
    notes: dict[str, str] = {}

    def consider(rel: str) -> None:
        link = symlink_in(tree, rel)
        if link is not None:
            notes[link] = (f"{link}: skipped: a symbolic link (to {os.readlink(tree / link)}); "
                           "mmu-role-lint reads no tree file through a symlink")
        elif (tree / rel).is_file():
            out.append(rel)
        elif os.path.lexists(tree / rel):
            notes[rel] = f"{rel}: skipped: {kind_of(os.lstat(tree / rel).st_mode)}, not a regular file"

    if symlink_in(tree, MMU_DIR) is not None:
        consider(MMU_DIR)
    elif (tree / MMU_DIR).is_dir():
        for entry in sorted(os.listdir(tree / MMU_DIR)):
            if entry.endswith((".c", ".h")):
                consider(f"{MMU_DIR}/{entry}")
    for rel in _FIXED:
        consider(rel)
    return out, list(notes.values())


def read_text(path: Path, shown: str | None = None, *, follow: bool = True) -> str:
    """A file named by the user (``follow``), or a tree file (no symlink)."""
    shown = shown or str(path)
    return source_text(read_bytes(path, shown, follow=follow), shown)


def source_text(data: bytes, shown: str) -> str:
    """A source file's text, decoded one way wherever it comes from (a
    file, a git blob), so that a patch made from it applies to it."""
    if b"\0" in data[:8192]:
        raise UserError(f"{shown}: binary file, not C source")
    return decode(data)


def read_tree_file(tree: Path, rel: str) -> str | None:
    """A file of the tree, None when it is not there or only through a
    symlink (see ``analyzer.filereader``)."""
    data = tree_file(tree, rel)
    return None if data is None else source_text(data, rel)


def mmu_image(tree: Path) -> Image:
    """The MMU sources and headers of a kernel tree, read from disk; no
    ``files`` when the tree has no MMU sources. Files reached through a
    symbolic link are skipped, each with a note."""
    candidates, notes = _candidates(tree)
    sources, headers = layout(candidates)
    if not sources:
        return Image(notes=notes)

    def read(p: str) -> str:
        return read_text(tree / p, p, follow=False)

    return Image({p: read(p) for p in sources}, {p: read(p) for p in headers}, notes,
                 _context(tree))


def no_sources(tree: Path, image: Image) -> str:
    """What to say of a tree without MMU sources (and what was skipped)."""
    skipped = "".join(f"; {note}" for note in image.notes)
    return f"{tree}: no KVM MMU sources (looked for {MMU_DIR}/*.c and {LEGACY_MMU}){skipped}"


def tree_image(tree: Path) -> Image:
    """The MMU sources and headers of a kernel tree, which must have some."""
    if not tree.is_dir():
        raise UserError(f"{tree}: not a directory; pass --tree with the top of a kernel tree")
    image = mmu_image(tree)
    if not image.files:
        raise UserError(f"{no_sources(tree, image)}; pass --tree with the top of a Linux kernel tree")
    return image


def files_image(files: list[str], tree: Path | None) -> Image:
    """Explicit files (scan FILE...), with the tree's headers when known.
    A file named on the command line is read even through a symlink: the
    user chose it."""
    image = Image()
    for f in files:
        path = Path(f)
        if tree is not None and not path.is_absolute() and not path.exists():
            path = tree / f
        image.files[f] = read_text(path, f)
    if tree is not None:
        candidates, image.notes = _candidates(tree)
        _, headers = layout(candidates)
        image.headers = {p: read_text(tree / p, p, follow=False) for p in headers}
        image.context = _context(tree)
    return image


def patched_image(base: Image, changes: dict[str, str | None],
                  read_other: Callable[[str], str | None]) -> Image:
    """The image after a patch: changed files replaced, new MMU files added,
    deleted ones dropped."""
    paths = set(base.files) | set(base.headers)
    for p, text in changes.items():
        if text is None:
            paths.discard(p)
        else:
            paths.add(p)
    sources, headers = layout(paths)

    def text_of(p: str) -> str:
        if p in changes and changes[p] is not None:
            return changes[p]  # type: ignore[return-value]
        got = base.get(p)
        if got is None:
            got = read_other(p)
        return got or ""

    context = {p: t for p, t in base.context.items() if p not in changes} if sources else {}
    context.update((p, t) for p, t in changes.items() if p in CONTEXT and t is not None and sources)
    return Image({p: text_of(p) for p in sources}, {p: text_of(p) for p in headers},
                 context={p: context[p] for p in CONTEXT if p in context})
