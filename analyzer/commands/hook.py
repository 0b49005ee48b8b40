"""``install-hook``: a git pre-commit (``git --staged``) or pre-push (``git``
over the pushed commits) hook, in the hooks directory git uses (so
``core.hooksPath`` is honoured). A hook that is not ours is never replaced:
``--chain`` keeps it as ``HOOK.local`` and runs it first."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from analyzer.errors import UserError

NAME = "install-hook"
HELP = "install a git hook that runs mmu-role-lint before each commit or push"

MARKER = "# mmu-role-lint-hook: 1"

# How each hook finds the tool: the Python that installed it, else PATH.
FIND_TOOL = """\
mmu_role_lint() {
	if [ -x @PYTHON@ ] && @PYTHON@ -c 'import analyzer' 2>/dev/null; then
		@PYTHON@ -m analyzer "$@"
	elif command -v mmu-role-lint >/dev/null 2>&1; then
		mmu-role-lint "$@"
	else
		echo "mmu-role-lint: not found (neither "@PYTHON@" nor mmu-role-lint on PATH);" \\
			"install it and run mmu-role-lint install-hook again, or skip the check with --no-verify" >&2
		return 2
	fi
}
"""

PRE_COMMIT = """\
#!/bin/sh
# mmu-role-lint pre-commit hook: judges the KVM MMU role code staged for the
# next commit. Installed by `mmu-role-lint install-hook`; run that again to
# update it. Skip it once with `git commit --no-verify`.
@MARKER@
@CHAIN@
@FIND_TOOL@
out=$(mmu_role_lint git --staged 2>&1 </dev/null)
status=$?
if [ "$status" -ne 0 ]; then
	printf '%s\\n' "$out" >&2
	echo "mmu-role-lint: commit refused; fix the staged change, or skip the check with git commit --no-verify" >&2
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
@FIND_TOOL@
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
	out=$(mmu_role_lint git -- "$@" 2>&1 </dev/null)
	result=$?
	if [ "$result" -ne 0 ]; then
		status=$result
		printf '%s\\n' "$out" >&2
		echo "mmu-role-lint: push of $local_ref refused; fix the commits, or skip the check with git push --no-verify" >&2
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
    sp.add_argument("--tree", metavar="DIR",
                    help="the repository (default: the one around the current directory)")


def script(kind: str, chained: bool, python: str | None = None) -> str:
    python = python or os.path.abspath(sys.executable)
    find = FIND_TOOL.replace("@PYTHON@", shlex.quote(python))
    return (TEMPLATES[kind].replace("@MARKER@", MARKER)
            .replace("@CHAIN@\n", CHAIN[kind] if chained else "")
            .replace("@FIND_TOOL@", find))


def hooks_dir(tree: str | None) -> Path:
    from analyzer.gitmode import open_repo

    repo = open_repo(tree)
    out = repo.git("rev-parse", "--git-path", "hooks").decode().strip()
    return repo.top / out  # an absolute ``out`` stays as it is


def install(hooks: Path, kind: str, chain: bool) -> str:
    """Install one hook; returns what was done, for the user."""
    path = hooks / kind
    local = hooks / f"{kind}.local"
    existing = None
    if path.is_file() or path.is_symlink():
        try:
            existing = path.read_text(errors="replace")
        except OSError as err:
            raise UserError(f"{path}: cannot read the existing hook ({err.strerror})") from None
    ours = existing is not None and MARKER in existing
    moved = False
    if existing is not None and not ours:
        if not chain:
            raise UserError(f"{path}: a {kind} hook that is not mmu-role-lint's is already "
                            f"there; rerun with --chain to keep it (as {kind}.local, run "
                            f"first), or {MANUAL[kind]}")
        if local.exists() or local.is_symlink():
            raise UserError(f"{local}: already exists, so {path} cannot be kept under that "
                            f"name; combine the two by hand, or {MANUAL[kind]}")
        path.rename(local)
        moved = True
    text = script(kind, chained=local.exists())
    if ours and existing == text:
        return f"{path}: already installed, unchanged"
    try:
        hooks.mkdir(parents=True, exist_ok=True)
        tmp = hooks / f".{kind}.mmu-role-lint.tmp"
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    except OSError as err:
        raise UserError(f"{path}: cannot write the hook ({err.strerror})") from None
    done = "updated" if ours else "installed"
    runs = "git --staged before each commit" if kind == "pre-commit" else \
        "git over the pushed commits before each push"
    msg = f"{path}: {done}; runs mmu-role-lint {runs}"
    if moved:
        msg += f"; your previous hook, now {local.name}, runs first"
    elif local.exists():
        msg += f"; {local.name} runs first"
    return msg


def run(args: argparse.Namespace) -> int:
    kinds = [k for k, wanted in (("pre-commit", args.pre_commit), ("pre-push", args.pre_push))
             if wanted] or ["pre-commit"]
    hooks = hooks_dir(args.tree)
    for kind in kinds:
        print(install(hooks, kind, args.chain))
    return 0
