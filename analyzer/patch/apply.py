"""Apply patches in memory, and render them back as clean unified diffs.

Hunks are placed like GNU patch places them: at the line their header names
(shifted by the offset the previous hunk of the file needed), else at the
nearest exact match of their old lines at any offset, never overlapping the
previous hunk. Damaged hunks (see ``repair``) are placed ignoring whitespace
and rebuilt from the file. Line ends are kept per line, so CRLF files stay
CRLF; added lines take the file's usual line end.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analyzer.patch.model import FilePatch, Hunk, Patch, PatchError
from analyzer.patch.repair import loose_key, rebuild
from analyzer.record import record, replace

Reader = Callable[[str], str | None]
_NEEDS_QUOTES = re.compile(r'["\\\x00-\x1f\x7f]|^ | $')


@record
class _Placed:
    hunk: Hunk
    pos: int
    lines: list[tuple[str, str]]
    repaired: bool


@record(frozen=True)
class Applied:
    """What applying a patch did. ``files`` holds the new text of every
    non-binary file the patch touches, None for files it deletes or renames
    away. ``patch`` is the patch as it applied: for a damaged one, a copy
    whose hunks have the exact lines of this tree and the place they
    applied at (``render_patch`` prints it as a clean diff); unchanged
    records are shared with the patch read. ``repaired`` counts the hunks
    that were matched ignoring whitespace."""

    files: dict[str, str | None]
    patch: Patch
    repaired: int = 0

    @property
    def repair_reason(self) -> str:
        if not self.repaired:
            return ""
        return (f"context indentation lost (web archive copy); {self.repaired} "
                f"hunk{'s' if self.repaired != 1 else ''} matched ignoring whitespace")


ALREADY_APPLIED = ("the patch is already applied: every hunk's new side is in the tree ({files}); "
                   "to judge a commit of this tree, run mmu-role-lint git REV (git HEAD for "
                   "the last one; b4 prep --check: git --commit-of -)")


def apply_patch(patch: Patch, read: Reader) -> Applied:
    """Apply ``patch`` to the tree ``read`` gives (text, or None when a path
    does not exist). The patch itself is left as it was read. A patch that
    does not apply because the tree has it already says so (the checkpatch
    habit ``git format-patch -1 --stdout | mmu-role-lint check -`` in the
    checkout whose HEAD it is)."""
    try:
        return _apply(patch, read)
    except PatchError:
        if _already_applied(patch, read):
            files = ", ".join(dict.fromkeys(fp.path for fp in patch.files if not fp.binary))
            raise PatchError(ALREADY_APPLIED.format(files=files)) from None
        raise


def _already_applied(patch: Patch, read: Reader) -> bool:
    """Is every text file of the patch as the patch leaves it: created files
    there, deleted ones gone, and each hunk's new side (its context and
    added lines) in its file, in order?"""
    files = [fp for fp in patch.files if not fp.binary]
    for fp in files:
        text = read(fp.new_path) if fp.new_path is not None else None
        if fp.new_path is None:
            if fp.old_path is None or read(fp.old_path) is not None:
                return False
            continue
        if text is None or (fp.old_path not in (None, fp.new_path) and not fp.copied
                            and read(fp.old_path) is not None):
            return False
        texts, _ = _split(text)
        keys = [loose_key(t) for t in texts] if patch.damaged else texts
        low = 0
        for hunk in fp.hunks:
            new = [t for op, t in hunk.lines if op != "-"]
            if not new:
                continue
            pos = nearest(keys, [loose_key(t) for t in new] if patch.damaged else new,
                          hunk.dst_start - 1, low)
            if pos is None:
                return False
            low = pos + len(new)
    return bool(files)


def _apply(patch: Patch, read: Reader) -> Applied:
    results: dict[str, str | None] = {}
    files: list[FilePatch] = []
    repaired = 0
    for fp in patch.files:
        if fp.binary:
            files.append(fp)
            continue
        text, placed = _apply_file(fp, _pre_image(fp, read, results), patch.damaged)
        repaired += sum(p.repaired for p in placed)
        rewrite = patch.damaged or any(p.repaired for p in placed)
        files.append(replace(fp, hunks=_repaired_hunks(placed)) if rewrite else fp)
        _store(results, fp, text)
    rewritten = any(new is not old for new, old in zip(files, patch.files, strict=True))
    return Applied(results, replace(patch, files=files) if rewritten else patch, repaired)


def _pre_image(fp: FilePatch, read: Reader, results: dict[str, str | None]) -> str:
    """The text the file patch applies to. A path patched earlier in the same
    patch (a concatenated diff) continues from that result; rename and copy
    sources always come from the tree, as in git."""

    def current(path: str) -> str | None:
        return results[path] if path in results else read(path)

    if fp.old_path is None:
        if current(fp.path) is not None:
            raise PatchError(
                f"{fp.path}: the patch creates this file but it already exists; is the patch for this tree?"
            )
        return ""
    moved = fp.new_path not in (None, fp.old_path)
    text = read(fp.old_path) if moved else current(fp.old_path)
    if text is None and fp.hunks and all(h.src_start == 0 and h.src_len == 0 for h in fp.hunks):
        return ""  # `diff -N` names an absent file instead of /dev/null: a new file
    if text is None:
        raise PatchError(
            f"{fp.old_path}: the patch changes this file but it does not exist; is the patch for this tree?"
        )
    return text


def _store(results: dict[str, str | None], fp: FilePatch, text: str) -> None:
    if fp.new_path is None:
        results[fp.path] = None
        return
    if fp.old_path is not None and fp.old_path != fp.new_path and not fp.copied:
        results.setdefault(fp.old_path, None)  # a rename's source, unless rewritten
    results[fp.new_path] = text


def _apply_file(fp: FilePatch, pre: str, damaged: bool) -> tuple[str, list[_Placed]]:
    """New text of one file, and where (and how) each hunk was placed."""
    texts, eols = _split(pre)
    placed = _place_hunks(fp, texts, damaged)
    return _stitch(texts, eols, placed), placed


def _place_hunks(fp: FilePatch, texts: list[str], damaged: bool) -> list[_Placed]:
    placed: list[_Placed] = []
    loose: list[str] | None = None
    offset = low = 0
    for hunk in fp.hunks:
        old = [text for op, text in hunk.lines if op != "+"]
        base = hunk.src_start - 1 if old else hunk.src_start
        keys, wanted = texts, old
        pos = None if hunk.damaged else nearest(keys, wanted, base + offset, low)
        repaired = pos is None and (hunk.damaged or damaged)
        if repaired:
            loose = loose or [loose_key(t) for t in texts]
            keys, wanted = loose, [loose_key(t) for t in old]
            pos = nearest(keys, wanted, base + offset, low)
        if pos is None:
            raise _does_not_apply(fp, hunk, keys, wanted, base + offset)
        lines = rebuild(hunk, texts, pos) if repaired else hunk.lines
        placed.append(_Placed(hunk, pos, lines, repaired))
        offset, low = pos - base, pos + len(old)
    return placed


def nearest(keys: list[str], wanted: list[str], guess: int, low: int = 0) -> int | None:
    """Start of the occurrence of ``wanted`` in ``keys`` nearest to
    ``guess``, not before ``low``; None when there is none. On a tie the
    later one wins, as in GNU patch (it tries ``+offset`` before
    ``-offset``)."""
    high = len(keys) - len(wanted)
    if high < low:
        return None
    guess = min(max(guess, low), high)
    if not wanted:
        return guess
    best: int | None = None
    for p in range(low, high + 1):
        if best is not None and p - guess > abs(best - guess):
            break  # every later start is farther than the one found
        if keys[p] == wanted[0] and keys[p : p + len(wanted)] == wanted:
            best = p  # ascending, so never farther than the one before
    return best


def _does_not_apply(
    fp: FilePatch, hunk: Hunk, keys: list[str], old: list[str], guess: int
) -> PatchError:
    best, score = _best_partial(keys, old, guess)
    where = (
        f"nearest partial match at line {best + 1}"
        if score
        else "none of its old lines is in the file"
    )
    return PatchError(
        f"{fp.path}: hunk {hunk.header} does not apply ({where}); is the patch for this tree?"
    )


def _best_partial(keys: list[str], old: list[str], guess: int) -> tuple[int, int]:
    """The start where most old lines sit at their place, nearest ``guess``
    among equals, and how many lines match there."""
    best, best_score = 0, 0
    for p in range(len(keys)):
        score = sum(1 for k, line in enumerate(old[: len(keys) - p]) if keys[p + k] == line)
        if score > best_score or (
            score == best_score and score and abs(p - guess) < abs(best - guess)
        ):
            best, best_score = p, score
    return best, best_score


def _repaired_hunks(placed: list[_Placed]) -> list[Hunk]:
    """A damaged patch's hunks rewritten for this tree: repaired hunks get
    their exact lines, and every hunk the place it really applies (a moved
    header would shift where the next hunk is looked for), so
    ``render_patch`` prints a diff that applies exactly the same way."""
    out = []
    delta = 0
    for item in placed:
        n_old = sum(op != "+" for op, _ in item.lines)
        n_new = sum(op != "-" for op, _ in item.lines)
        out.append(replace(
            item.hunk, lines=item.lines, src_len=n_old, dst_len=n_new,
            src_start=item.pos + 1 if n_old else item.pos,
            dst_start=item.pos + delta + (1 if n_new else 0),
        ))
        delta += n_new - n_old
    return out


def _stitch(texts: list[str], eols: list[str], placed: list[_Placed]) -> str:
    eol = "\r\n" if eols.count("\r\n") > eols.count("\n") else "\n"
    out_t: list[str] = []
    out_e: list[str] = []
    cur = 0
    for item in placed:
        out_t += texts[cur : item.pos]
        out_e += eols[cur : item.pos]
        k = item.pos
        for op, text in item.lines:
            if op == "+":
                out_t.append(text)
                out_e.append(eol)
            else:
                if op == " ":
                    out_t.append(texts[k])
                    out_e.append(eols[k])
                k += 1
        cur = k
        if k == len(texts) and out_e and any(op != "-" for op, _ in item.lines):
            out_e[-1] = _last_eol(out_e[-1], item.hunk, eol)
    out_t += texts[cur:]
    out_e += eols[cur:]
    for k in range(len(out_e) - 1):
        if "\n" not in out_e[k]:
            out_e[k] = eol  # a line that is no longer last needs a line end
    return "".join(t + e for t, e in zip(out_t, out_e, strict=True))


def _last_eol(current: str, hunk: Hunk, eol: str) -> str:
    """The line end of a file's last line after a hunk that reaches the end
    of the file, from the hunk's no-newline markers."""
    if hunk.new_no_newline:
        return ""
    if hunk.old_no_newline and "\n" not in current:
        return eol
    return current


def _split(text: str) -> tuple[list[str], list[str]]:
    """Lines without their ends (CRs before an LF count as line end, like
    the reader strips them) and the ends themselves."""
    if not text:
        return [], []
    if "\r" not in text:  # the common case, without a loop over the lines
        texts = text.split("\n")
        eols = ["\n"] * len(texts)
        if texts[-1]:
            eols[-1] = ""  # no line end after the last line
        else:
            del texts[-1], eols[-1]
        return texts, eols
    texts, eols = [], []
    parts = text.split("\n")
    for k, part in enumerate(parts):
        if k == len(parts) - 1 and not part:
            break
        body = part.rstrip("\r")
        texts.append(body)
        eols.append(part[len(body) :] + ("\n" if k < len(parts) - 1 else ""))
    return texts, eols


def render_patch(patch: Patch) -> str:
    """A clean unified diff of ``patch`` with ``diff --git`` headers, which
    ``git apply`` and ``read_patches`` accept; for the patch of an
    ``Applied``, the diff as it applied (a repaired one's exact text)."""
    out: list[str] = []
    for fp in patch.files:
        out += _render_file(fp)
    return "".join(line + "\n" for line in out)


def _render_file(fp: FilePatch) -> list[str]:
    old, new = fp.old_path, fp.new_path
    a, b = old or new or "", new or old or ""
    out = [f"diff --git {_quote('a/' + a)} {_quote('b/' + b)}"]
    if old is None:
        out.append("new file mode 100644")
    elif new is None:
        out.append("deleted file mode 100644")
    elif old != new:
        kind = "copy" if fp.copied else "rename"
        out += [f"{kind} from {_quote(old)}", f"{kind} to {_quote(new)}"]
    if fp.binary:
        return [*out, f"Binary files {_side('a/', old)} and {_side('b/', new)} differ"]
    if fp.hunks:
        out += [f"--- {_side('a/', old)}", f"+++ {_side('b/', new)}"]
    for hunk in fp.hunks:
        out += _render_hunk(hunk)
    return out


def _render_hunk(hunk: Hunk) -> list[str]:
    """Counts come from the lines, so a hunk read leniently renders
    consistent."""
    olds = [k for k, (op, _) in enumerate(hunk.lines) if op != "+"]
    news = [k for k, (op, _) in enumerate(hunk.lines) if op != "-"]
    header = f"@@ -{hunk.src_start},{len(olds)} +{hunk.dst_start},{len(news)} @@"
    out = [f"{header} {hunk.section}" if hunk.section else header]
    for k, (op, text) in enumerate(hunk.lines):
        out.append(op + text)
        if (hunk.old_no_newline and olds and k == olds[-1]) or (
            hunk.new_no_newline and news and k == news[-1]
        ):
            out.append("\\ No newline at end of file")
    return out


def _side(prefix: str, path: str | None) -> str:
    return "/dev/null" if path is None else _quote(prefix + path)


def _quote(name: str) -> str:
    """git's C-style quoting, for names the reader could not take back
    otherwise (quotes, backslashes, control characters, edge spaces)."""
    if not _NEEDS_QUOTES.search(name):
        return name
    out = []
    for ch in name:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
