"""Real Linux kernels for tests, cached outside the repository.

Debian's ``linux-source-<version>`` package is fetched with ``apt-get
download`` and only the KVM files are kept: ``arch/x86/kvm/`` and
``arch/x86/include/asm/kvm_host.h``, under ``<cache>/kernels/<version>/``.
The cache is ``$MMU_ROLE_LINT_CACHE`` or ``~/.cache/mmu-role-lint``; .deb
files already under ``<cache>/debs`` (or the default cache's ``debs``) are
reused. Nothing is ever written into the repository.

Fixtures: ``kernel_tree`` (a function ``version -> Path``), ``linux_6_1`` and
``linux_6_12``. Without apt-get on the machine they skip; with CI=true any
failure to provide a tree fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

KVM_PATHS = ("arch/x86/kvm", "arch/x86/include/asm/kvm_host.h")
_DEFAULT_CACHE = Path.home() / ".cache" / "mmu-role-lint"
_apt_updated = False


class KernelUnavailable(Exception):
    """The kernel tree cannot be provided on this machine (no apt-get)."""


class KernelFetchError(Exception):
    """Downloading or unpacking the kernel package failed."""


def cache_dir() -> Path:
    """``$MMU_ROLE_LINT_CACHE`` or ``~/.cache/mmu-role-lint``."""
    env = os.environ.get("MMU_ROLE_LINT_CACHE")
    return Path(env).expanduser() if env else _DEFAULT_CACHE


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def kernel_tree(version: str, cache: Path | None = None) -> Path:
    """Top of a tree holding the KVM files of Debian's linux-source-<version>,
    fetched and unpacked on first use."""
    cache = cache or cache_dir()
    top = cache / "kernels" / version
    if (top / "arch" / "x86" / "kvm").is_dir():
        return top
    deb = _find_deb(version, cache) or _download_deb(version, cache / "debs")
    _unpack(version, deb, top)
    return top


def _find_deb(version: str, cache: Path) -> Path | None:
    found: list[Path] = []
    for debs in dict.fromkeys((cache / "debs", _DEFAULT_CACHE / "debs")):
        found += debs.glob(f"linux-source-{version}_*.deb")
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def _download_deb(version: str, debs: Path) -> Path:
    global _apt_updated
    if shutil.which("apt-get") is None:
        raise KernelUnavailable(
            f"apt-get is not installed, so Debian's linux-source-{version} cannot be "
            f"downloaded; put its .deb in {debs} or set MMU_ROLE_LINT_CACHE"
        )
    debs.mkdir(parents=True, exist_ok=True)
    package = f"linux-source-{version}"
    result = _run(["apt-get", "download", package], cwd=debs)
    if result.returncode != 0 and not _apt_updated:
        _apt_updated = True
        _run(["apt-get", "update"])
        result = _run(["apt-get", "download", package], cwd=debs)
    deb = _find_deb(version, debs.parent)
    if result.returncode != 0 or deb is None:
        raise KernelFetchError(
            f"`apt-get download {package}` failed in {debs}: {result.stderr.strip()[-500:]}; "
            "check the apt sources and network"
        )
    return deb


def _unpack(version: str, deb: Path, top: Path) -> None:
    unpack(version, deb, top, KVM_PATHS)


def unpack(version: str, deb: Path, top: Path, paths: tuple[str, ...] | list[str]) -> None:
    """dpkg-deb | tar (inner tarball) | tar (only ``paths``) into a temp dir
    beside ``top``, then rename it into place. bench/run.py uses it too."""
    for tool in ("dpkg-deb", "tar", "xz"):
        if shutil.which(tool) is None:
            raise KernelUnavailable(f"{tool} is not installed; it is needed to unpack {deb}")
    top.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=top.parent))
    inner = f"./usr/src/linux-source-{version}.tar.xz"
    wanted = [f"linux-source-{version}/{p}" for p in paths]
    try:
        with (
            subprocess.Popen(
                ["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE
            ) as deb_tar,
            subprocess.Popen(
                ["tar", "-xOf", "-", inner], stdin=deb_tar.stdout, stdout=subprocess.PIPE
            ) as src_tar,
        ):
            assert deb_tar.stdout is not None and src_tar.stdout is not None
            deb_tar.stdout.close()  # src_tar owns the pipe now
            files = _run_stdin(
                ["tar", "-xJf", "-", "-C", str(tmp), "--strip-components=1", *wanted],
                src_tar.stdout,
            )
        codes = (deb_tar.returncode, src_tar.returncode, files.returncode)
        if any(codes) or not all((tmp / p).exists() for p in paths):
            raise KernelFetchError(
                f"unpacking {deb} failed (exit codes {codes}): {files.stderr.strip()[-500:]}; "
                "delete the .deb if it is truncated and run again"
            )
        try:
            tmp.rename(top)
        except OSError:
            if not all((top / p).exists() for p in paths):
                raise  # not a concurrent run that won the race
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _run_stdin(cmd: list[str], stdin: IO[bytes]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, check=False)


def _provide(version: str, trees: dict[str, Path | Exception]) -> Path:
    """The tree, or skip (fail under CI) with the reason; outcomes are kept
    so a missing kernel is looked for once per session."""
    if version not in trees:
        try:
            trees[version] = kernel_tree(version)
        except (KernelUnavailable, KernelFetchError) as err:
            trees[version] = err
    found = trees[version]
    if isinstance(found, Path):
        return found
    if in_ci():
        pytest.fail(f"CI needs Debian's linux-source-{version}: {found}")
    pytest.skip(f"Debian's linux-source-{version} unavailable: {found}")


@pytest.fixture(scope="session", name="kernel_tree")
def kernel_tree_fixture() -> Callable[[str], Path]:
    """``kernel_tree(version)`` -> Path of that kernel's tree top (cached)."""
    trees: dict[str, Path | Exception] = {}
    return lambda version: _provide(version, trees)


@pytest.fixture(scope="session")
def linux_6_1(kernel_tree: Callable[[str], Path]) -> Path:
    """Tree top of Debian's linux-source-6.1 (KVM files only)."""
    return kernel_tree("6.1")


@pytest.fixture(scope="session")
def linux_6_12(kernel_tree: Callable[[str], Path]) -> Path:
    """Tree top of Debian's linux-source-6.12 (KVM files only)."""
    return kernel_tree("6.12")
