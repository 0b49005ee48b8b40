"""The pre-commit framework's configuration in the README and examples/:
its rev is this version's tag, and `pre-commit autoupdate` resolves a
repository of this project as the README says (to the newest tag, else to
the newest commit)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_git import IDENTITY, git, git_env

from analyzer import __version__

__all__ = ["git_env"]  # the autouse fixture: git as on a bare CI machine

ROOT = Path(__file__).resolve().parent.parent
# the one installed beside this Python (the test extras), else on PATH
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit")
needs_pre_commit = pytest.mark.skipif(
    PRE_COMMIT is None and os.environ.get("CI") != "true",
    reason="pre-commit is not installed (pip install pre-commit); with CI=true this fails instead")


def readme_config() -> str:
    text = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"```yaml\n(repos:\n.*?)```", text, re.DOTALL)
    return block


def rev_of(config: str) -> str:
    (rev,) = re.findall(r"^\s+rev: (\S+)$", config, re.MULTILINE)
    return rev


def test_the_documented_rev_is_this_versions_tag():
    example = (ROOT / "examples" / "pre-commit-config.yaml").read_text()
    assert rev_of(readme_config()) == rev_of(example) == f"v{__version__}"
    assert "pre-commit autoupdate" in (ROOT / "README.md").read_text()


def _project_repo(where: Path, tag: str | None) -> Path:
    """A repository of this project's hook manifest, as a user clones it."""
    where.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", where)
    git(where, "-c", "init.defaultBranch=main", "init", "-q")
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "mmu-role-lint")
    if tag is not None:
        git(where, "tag", "-a", tag, "-m", f"mmu-role-lint {tag}")
    return where


@needs_pre_commit
@pytest.mark.parametrize("tagged", [True, False])
def test_autoupdate_pins_main_to_the_tag_or_the_commit(tmp_path, tagged):
    project = _project_repo(tmp_path / "mmu-role-lint", f"v{__version__}" if tagged else None)
    kernel = tmp_path / "linux"
    kernel.mkdir()
    git(kernel, "init", "-q")
    config = kernel / ".pre-commit-config.yaml"
    config.write_text(readme_config().replace("https://git.example.org/mmu-role-lint.git",
                                              str(project)).replace(f"v{__version__}", "main"))
    env = {**os.environ, **IDENTITY, "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    done = subprocess.run([PRE_COMMIT, "autoupdate"], cwd=kernel, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    want = f"v{__version__}" if tagged else git(project, "rev-parse", "HEAD").stdout.strip()
    assert rev_of(config.read_text()) == want
