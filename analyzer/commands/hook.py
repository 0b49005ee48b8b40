"""``install-hook``: a git pre-commit (``git --staged``) or pre-push (``git``
over the pushed commits) hook, in the hooks directory git uses (so
``core.hooksPath`` is honoured).

Nothing that is there is lost. A hook that is not ours is never replaced
unless asked: ``--chain`` keeps it as ``HOOK.local`` and runs it first,
``--force`` keeps it as ``HOOK.bak``. Our hook carries a digest of itself
on its marker line, so a hook of ours that someone edited is told from one
as installed, and is replaced only with ``--force`` (keeping the edited
one). The new hook is written to a temporary file first; the hook that was
there is moved aside last, and moved back when the new one cannot be put
in its place.

The hooks run the tool only for a change that touches a KVM MMU file, so a
commit elsewhere passes even when the tool is gone or broken; for one that
does, they say why the tool could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

from analyzer.errors import UserError

# The marker line; sign() appends " sha256=DIGEST", the digest of the hook
# with the bare marker line. Hooks of version 1 carried no digest.
MARKER = "# mmu-role-lint-hook: 2"
OURS = b"# mmu-role-lint-hook:"  # the marker of any version
SIGNED = re.compile(rb"^" + re.escape(MARKER.encode()) + rb" sha256=([0-9a-f]{64})$", re.M)

# How each hook finds the tool (the Python that installed it, else PATH),
# and what it says when the check refused, could not run, or crashed.
COMMON = """\
tool_python=@PYTHON@
mmu_role_lint() {
	if [ -x "$tool_python" ] && "$tool_python" -c 'import analyzer' 2>/dev/null; then
		"$tool_python" -m analyzer "$@"
	elif command -v mmu-role-lint >/dev/null 2>&1; then
		mmu-role-lint "$@"
	else
		if [ -x "$tool_python" ]; then
			why="$tool_python, which installed this hook, cannot import mmu-role-lint"
		else
			why="$tool_python, which installed this hook, is gone"
		fi
		echo "mmu-role-lint: cannot run: $why, and there is no mmu-role-lint on PATH" >&2
		return 127
	fi
}
# why_refused STATUS FIX: what the check's exit status (and $out) mean.
why_refused() {
	case $1 in
	1)
		case $out in
		*"Traceback (most recent call last):"*) ;;
		*) echo "$2"; return ;;
		esac ;;
	2) echo "mmu-role-lint could not judge it (see above); fix that"; return ;;
	127) echo "it touches KVM MMU files and mmu-role-lint cannot run; install it and run mmu-role-lint install-hook again"; return ;;
	esac
	echo "mmu-role-lint crashed (exit status $1) on a change to KVM MMU files; reinstall it, or report the crash"
}
"""

PRE_COMMIT = """\
#!/bin/sh
# mmu-role-lint pre-commit hook: judges the KVM MMU role code staged for the
# next commit. Installed by `mmu-role-lint install-hook`; run that again to
# update it. Skip it once with `git commit --no-verify`.
@MARKER@
@CHAIN@
@COMMON@
# A commit that touches no KVM MMU file has nothing to judge.
if git diff --cached --quiet --no-renames -- @PATHSPECS@; then
	exit 0
fi
out=$(mmu_role_lint git --staged 2>&1 </dev/null)
status=$?
if [ "$status" -ne 0 ]; then
	printf '%s\\n' "$out" >&2
	echo "mmu-role-lint: commit refused: $(why_refused "$status" "fix the staged change"), or skip the check with git commit --no-verify" >&2
	exit "$status"
fi
exit 0
"""

PRE_PUSH = """\
#!/bin/sh
# mmu-role-lint pre-push hook: judges each commit being pushed that no remote
# has yet. Installed by `mmu-role-lint install-hook --pre-push`; run that again
# to update it. Skip it once with `git push --no-verify`.
@MARKER@
input=$(cat)
@CHAIN@
@COMMON@
status=0
while read -r local_ref local_sha remote_ref remote_sha; do
	# A deletion (local sha all zeros) pushes no commit.
	case "$local_sha" in *[!0]*) ;; *) continue ;; esac
	case "$remote_sha" in
	*[!0]*)
		if git cat-file -e "$remote_sha^{commit}" 2>/dev/null; then
			set -- "$remote_sha..$local_sha"
		else
			set -- "$local_sha" --not --remotes
		fi ;;
	*)
		# A new branch: the commits no remote-tracking branch has.
		set -- "$local_sha" --not --remotes ;;
	esac
	# Commits that touch no KVM MMU file have nothing to judge.
	if touched=$(git rev-list -n 1 "$@" -- @PATHSPECS@ 2>/dev/null) && [ -z "$touched" ]; then
		continue
	fi
	out=$(mmu_role_lint git -- "$@" 2>&1 </dev/null)
	result=$?
	if [ "$result" -ne 0 ]; then
		status=$result
		printf '%s\\n' "$out" >&2
		echo "mmu-role-lint: push of $local_ref refused: $(why_refused "$result" "fix the commits"), or skip the check with git push --no-verify" >&2
	fi
done <<EOF
$input
EOF
exit "$status"
"""

CHAIN = {
    "pre-commit": 'if [ -x "$0.local" ]; then "$0.local" "$@" || exit $?; fi\n',
    "pre-push": ('if [ -x "$0.local" ]; then\n'
                 '\tif [ -n "$input" ]; then printf \'%s\\n\' "$input"; fi | "$0.local" "$@" || exit $?\n'
                 'fi\n'),
}

TEMPLATES = {"pre-commit": PRE_COMMIT, "pre-push": PRE_PUSH}

# What to tell someone whose own hook is in the way.
MANUAL = {
    "pre-commit": "add the line `mmu-role-lint git --staged || exit $?` to your hook",
    "pre-push": ("make your hook run `mmu-role-lint git REMOTE_SHA..LOCAL_SHA || exit $?` "
                 "for each line git gives it on standard input"),
}


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--pre-commit", action="store_true",
                    help="install the pre-commit hook: mmu-role-lint git --staged (the default)")
    sp.add_argument("--pre-push", action="store_true",
                    help="install the pre-push hook: mmu-role-lint git over the pushed commits")
    sp.add_argument("--chain", action="store_true",
                    help="keep an existing hook as HOOK.local and run it first")
    sp.add_argument("--force", action="store_true",
                    help="replace a hook that is not as install-hook left it (one you edited, "
                         "or another tool's), keeping it as HOOK.bak, which git does not run")
    sp.add_argument("--tree", metavar="DIR",
                    help="the repository (default: the one around the current directory)")


def script(kind: str, chained: bool, python: str | None = None) -> str:
    """The hook's text, with the bare marker line (see sign)."""
    from analyzer.gitmode import ROLE_PATHSPECS

    python = python or os.path.abspath(sys.executable)
    return (TEMPLATES[kind].replace("@MARKER@", MARKER)
            .replace("@CHAIN@\n", CHAIN[kind] if chained else "")
            .replace("@COMMON@\n", COMMON.replace("@PYTHON@", shlex.quote(python)))
            .replace("@PATHSPECS@", " ".join(shlex.quote(p) for p in ROLE_PATHSPECS)))


def sign(text: str) -> bytes:
    """The hook as written: its marker line carries the digest of the rest.
    (A path that is not UTF-8 goes back to its bytes.)"""
    data = text.encode("utf-8", "surrogateescape")
    bare = MARKER.encode() + b"\n"
    digest = hashlib.sha256(data).hexdigest().encode()
    return data.replace(bare, MARKER.encode() + b" sha256=" + digest + b"\n", 1)


def unedited(data: bytes) -> bool:
    """Is ``data`` a hook of ours exactly as install-hook wrote it?"""
    m = SIGNED.search(data)
    if m is None:
        return False
    bare = data[:m.start()] + MARKER.encode() + data[m.end():]
    return hashlib.sha256(bare).hexdigest().encode() == m.group(1)


def hooks_dir(tree: str | None) -> Path:
    from analyzer.gitmode import open_repo

    repo = open_repo(tree)
    out = os.fsdecode(repo.git("rev-parse", "--git-path", "hooks")).rstrip("\n")
    return repo.top / out  # an absolute ``out`` stays as it is


def _there(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _backup(path: Path) -> Path:
    """The first free name of HOOK.bak, HOOK.bak.1, ..."""
    n = 0
    while _there(candidate := path.with_name(f"{path.name}.bak" + (f".{n}" if n else ""))):
        n += 1
    return candidate


def _read(path: Path) -> bytes | None:
    """The hook that is there, or None; never read from a device or FIFO."""
    if not _there(path):
        return None
    if not path.is_file():
        raise UserError(f"{path}: is there but not a regular file (a directory, a device, a "
                        "FIFO or a dangling link); move it away, then run install-hook again")
    try:
        return path.read_bytes()
    except OSError as err:
        raise UserError(f"{path}: cannot read the existing hook ({err.strerror})") from None


def _put(path: Path, data: bytes, aside: Path | None) -> None:
    """Write the hook at ``path``; the file there first goes to ``aside``.
    The new hook is complete on disk before anything is moved, and on any
    failure what was there is back in place and no temporary file is left."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise UserError(f"{path}: cannot write the hook ({err.strerror}); nothing was "
                        "changed") from None
    tmp, moved = Path(name), False
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, 0o755)
            os.fsync(fd)
        finally:
            os.close(fd)
        if aside is not None:
            os.rename(path, aside)
            moved = True
        os.replace(tmp, path)
    except OSError as err:
        said = f"{path}: cannot write the hook ({err.strerror})"
        if moved:
            try:
                os.rename(aside, path)
            except OSError:
                raise UserError(f"{said}; the hook that was there is now {aside}: move it "
                                "back") from None
        raise UserError(f"{said}; nothing was changed") from None
    finally:
        with contextlib.suppress(OSError):  # already gone, or in place as the hook
            tmp.unlink(missing_ok=True)


def install(hooks: Path, kind: str, chain: bool, force: bool = False) -> str:
    """Install one hook; returns what was done, for the user."""
    path = hooks / kind
    local = hooks / f"{kind}.local"
    existing = _read(path)
    aside = None  # where the hook that is there goes
    if existing is not None and OURS not in existing:
        if chain:
            if _there(local):
                raise UserError(f"{local}: already exists, so {path} cannot be kept under "
                                f"that name; combine the two by hand, or {MANUAL[kind]}")
            aside = local
        elif force:
            aside = _backup(path)
        else:
            raise UserError(f"{path}: a {kind} hook that is not mmu-role-lint's is already "
                            f"there; rerun with --chain to keep it (as {kind}.local, run "
                            f"first) or --force to replace it (keeping it as "
                            f"{_backup(path).name}), or {MANUAL[kind]}")
    elif existing is not None and not unedited(existing):
        backup = _backup(path)
        if not force:
            raise UserError(f"{path}: the mmu-role-lint hook there is not as install-hook "
                            "wrote it (edited since, or installed by an older version, "
                            "which kept no digest); keep it as it is, or rerun with --force "
                            f"to replace it (yours is kept as {backup.name})")
        aside = backup
    data = sign(script(kind, chained=aside == local or _there(local)))
    if existing == data:
        return f"{path}: already installed, unchanged"
    _put(path, data, aside)
    done = "installed" if existing is None or aside == local else \
        "updated" if aside is None else "replaced"
    runs = "git --staged before each commit" if kind == "pre-commit" else \
        "git over the pushed commits before each push"
    msg = f"{path}: {done}; runs mmu-role-lint {runs}"
    if aside == local:
        msg += f"; your previous hook, now {local.name}, runs first"
    elif aside is not None:
        msg += f"; the hook that was there is kept as {aside.name} (git does not run it)"
    elif _there(local):
        msg += f"; {local.name} runs first"
    return msg


def _say(line: str) -> None:
    """A line on standard output; a path that is not UTF-8 goes out as its
    bytes, as ls writes it, where the stream cannot encode it."""
    try:
        sys.stdout.write(line + "\n")
    except UnicodeEncodeError:
        sys.stdout.flush()
        sys.stdout.buffer.write(os.fsencode(line) + b"\n")
        sys.stdout.buffer.flush()


def run(args: argparse.Namespace) -> int:
    kinds = [k for k, wanted in (("pre-commit", args.pre_commit), ("pre-push", args.pre_push))
             if wanted] or ["pre-commit"]
    hooks = hooks_dir(args.tree)
    for kind in kinds:
        _say(install(hooks, kind, args.chain, args.force))
    return 0
