"""Where the MMU sources of a kernel tree are, and images of them.

An image is a mapping from tree-relative path to file text: the tree as it
is (the pre-image), or the tree with a patch applied in memory (the
post-image). Nothing here writes to the tree.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.encoding import decode
from analyzer.errors import UserError

MMU_DIR = "arch/x86/kvm/mmu"
LEGACY_MMU = "arch/x86/kvm/mmu.c"
TMPL = "paging_tmpl.h"
HEADER = "arch/x86/include/asm/kvm_host.h"


def find_tree(start: Path | None = None) -> Path:
    """The top of the current git work tree, else the current directory."""
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


@dataclass
class Image:
    """The analyzed files of one version of the tree."""

    files: dict[str, str] = field(default_factory=dict)  # sources, in order
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str) -> str | None:
        return self.files.get(path, self.headers.get(path))


def _candidates(tree: Path) -> list[str]:
    out = []
    mmu = tree / MMU_DIR
    if mmu.is_dir():
        out += [f"{MMU_DIR}/{p.name}" for p in sorted(mmu.iterdir()) if p.is_file()]
    for rel in (LEGACY_MMU, f"arch/x86/kvm/{TMPL}", HEADER, "arch/x86/kvm/mmu.h"):
        if (tree / rel).is_file():
            out.append(rel)
    return out


def read_bytes(path: Path, shown: str, wanted: str = "a file") -> bytes:
    """A file's bytes, or one line saying why they cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{shown}: is a directory; pass {wanted}") from None
    except OSError as err:
        raise UserError(f"{shown}: cannot read ({err.strerror})") from None


def read_text(path: Path, shown: str | None = None) -> str:
    shown = shown or str(path)
    return source_text(read_bytes(path, shown), shown)


def source_text(data: bytes, shown: str) -> str:
    """A source file's text, decoded one way wherever it comes from (a
    file, a git blob), so that a patch made from it applies to it."""
    if b"\0" in data[:8192]:
        raise UserError(f"{shown}: binary file, not C source")
    return decode(data)


def mmu_image(tree: Path) -> Image | None:
    """The MMU sources and headers of a kernel tree, read from disk; None
    when the tree has no MMU sources."""
    sources, headers = layout(_candidates(tree))
    if not sources:
        return None
    return Image({p: read_text(tree / p, p) for p in sources},
                 {p: read_text(tree / p, p) for p in headers})


def tree_image(tree: Path) -> Image:
    """The MMU sources and headers of a kernel tree, which must have some."""
    if not tree.is_dir():
        raise UserError(f"{tree}: not a directory; pass --tree with the top of a kernel tree")
    image = mmu_image(tree)
    if image is None:
        raise UserError(
            f"{tree}: no KVM MMU sources (looked for {MMU_DIR}/*.c and {LEGACY_MMU}); "
            "pass --tree with the top of a Linux kernel tree")
    return image


def files_image(files: list[str], tree: Path | None) -> Image:
    """Explicit files (scan FILE...), with the tree's headers when known."""
    image = Image()
    for f in files:
        path = Path(f)
        if tree is not None and not path.is_absolute() and not path.exists():
            path = tree / f
        image.files[f] = read_text(path, f)
    if tree is not None:
        _, headers = layout(_candidates(tree))
        image.headers = {p: read_text(tree / p, p) for p in headers}
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

    return Image({p: text_of(p) for p in sources}, {p: text_of(p) for p in headers})
