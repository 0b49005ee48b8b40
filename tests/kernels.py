"""Real Linux kernels for tests, cached outside the repository.

Debian's ``linux-source-<series>`` package (series ``6.1`` or ``6.12``) is
fetched with ``apt-get download`` and only the KVM files are kept:
``arch/x86/kvm/`` and ``arch/x86/include/asm/kvm_host.h``, under
``<cache>/kernels/<exact version>/`` (for example ``kernels/6.1.176-1``), so
several point releases live side by side and never mix. The cache is
``$MMU_ROLE_LINT_CACHE`` or ``~/.cache/mmu-role-lint``; .deb files already
under ``<cache>/debs`` (or the default cache's ``debs``) are reused.

Which point release: ``$MMU_ROLE_LINT_LINUX_6_1`` / ``$MMU_ROLE_LINT_LINUX_6_12``
pin one (``6.1.176-1``); otherwise the one apt serves (its candidate; the
lists are refreshed with ``apt-get update`` when apt does not know the
package or cannot download it); without apt, the newest one in the cache.
The version used is printed in the pytest header and summary. Nothing is
ever written into the repository.

Fixtures: ``kernel_tree`` (a function ``series -> Path``), ``linux_6_1`` and
``linux_6_12``. Without apt-get on the machine they skip; with CI=true any
failure to provide a tree fails the test instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

KVM_PATHS = ("arch/x86/kvm", "arch/x86/include/asm/kvm_host.h")
SERIES = ("6.1", "6.12")
_DEFAULT_CACHE = Path.home() / ".cache" / "mmu-role-lint"
_apt_updated = False
USED: dict[str, str] = {}  # series -> exact version a test used (for the summary)
NOTES: list[str] = []  # what the tests derived from the source of the release they had


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


def pin_variable(series: str) -> str:
    return "MMU_ROLE_LINT_LINUX_" + series.replace(".", "_")


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def _apt_update() -> None:
    global _apt_updated
    if not _apt_updated:
        _apt_updated = True
        _run(["apt-get", "update"])


def _candidate(package: str) -> str | None:
    """The version ``apt-get download PACKAGE`` would take, or None when apt
    does not know the package."""
    if shutil.which("apt-cache") is None:
        return None
    out = _run(["apt-cache", "policy", package]).stdout
    m = re.search(r"^\s*Candidate:\s*(\S+)", out, re.M)
    return m.group(1) if m and m.group(1) != "(none)" else None


def version_key(version: str) -> list[tuple[int, str]]:
    """Orders Debian versions of one series well enough (6.1.176-1 < 6.1.192-3)."""
    return [(int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-~+]", version)]


def _cached_debs(series: str, cache: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for debs in dict.fromkeys((cache / "debs", _DEFAULT_CACHE / "debs")):
        for deb in debs.glob(f"linux-source-{series}_*_all.deb"):
            found.setdefault(deb.name[len(f"linux-source-{series}_"):-len("_all.deb")], deb)
    return found


def _cached_trees(series: str, cache: Path) -> list[str]:
    top = cache / "kernels"
    pattern = re.compile(re.escape(series) + r"\.\d+-\S+$")
    return [p.name for p in top.glob(f"{series}.*")
            if pattern.match(p.name) and (p / "arch" / "x86" / "kvm").is_dir()]


def chosen_version(series: str, cache: Path | None = None) -> str:
    """The exact point release the tests use for ``series`` (see the module
    docstring); raises KernelUnavailable when there is none to be had."""
    cache = cache or cache_dir()
    pinned = os.environ.get(pin_variable(series), "").strip()
    if pinned:
        return pinned
    package = f"linux-source-{series}"
    if shutil.which("apt-get") is not None:
        version = _candidate(package)
        if version is None:
            _apt_update()
            version = _candidate(package)
        if version is not None:
            return version
    known = set(_cached_trees(series, cache)) | set(_cached_debs(series, cache))
    if known:
        return max(known, key=version_key)
    raise KernelUnavailable(
        f"apt does not serve {package} here and none is cached; put its .deb in "
        f"{cache / 'debs'}, or pin one with {pin_variable(series)}=VERSION"
    )


def kernel_tree(series: str, cache: Path | None = None) -> Path:
    """Top of a tree holding the KVM files of Debian's linux-source-<series>,
    at the point release ``chosen_version`` names, fetched and unpacked on
    first use into ``<cache>/kernels/<version>``."""
    cache = cache or cache_dir()
    version = chosen_version(series, cache)
    top = cache / "kernels" / version
    if not (top / "arch" / "x86" / "kvm").is_dir():
        unpack(series, deb_file(series, cache, version), top, KVM_PATHS)
    (top / ".version").write_text(f"linux-source-{series} {version}\n")
    USED[series] = version
    return top


def deb_file(series: str, cache: Path | None = None, version: str | None = None) -> Path:
    """The .deb of linux-source-<series> at ``version`` (default: the chosen
    one), from the cache or downloaded into ``<cache>/debs``."""
    cache = cache or cache_dir()
    version = version or chosen_version(series, cache)
    deb = _cached_debs(series, cache).get(version)
    return deb if deb is not None else _download_deb(series, version, cache / "debs")


def _download_deb(series: str, version: str, debs: Path) -> Path:
    package = f"linux-source-{series}"
    if shutil.which("apt-get") is None:
        raise KernelUnavailable(
            f"apt-get is not installed, so {package}={version} cannot be downloaded; "
            f"put its .deb in {debs} or set MMU_ROLE_LINT_CACHE"
        )
    debs.mkdir(parents=True, exist_ok=True)
    result = _run(["apt-get", "download", f"{package}={version}"], cwd=debs)
    if result.returncode != 0 and not _apt_updated:
        _apt_update()  # stale lists: the pool may have dropped that version
        result = _run(["apt-get", "download", f"{package}={version}"], cwd=debs)
    deb = _cached_debs(series, debs.parent).get(version)
    if result.returncode != 0 or deb is None:
        newer = _candidate(package)
        hint = (f"; apt now serves {newer}: run again (or pin it with "
                f"{pin_variable(series)}={newer})" if newer and newer != version else "")
        raise KernelFetchError(
            f"`apt-get download {package}={version}` failed in {debs}: "
            f"{result.stderr.strip()[-500:]}{hint}; check the apt sources and network"
        )
    return deb


def unpack(series: str, deb: Path, top: Path, paths: tuple[str, ...] | list[str]) -> None:
    """dpkg-deb | tar (inner tarball) | tar (only ``paths``) into a temp dir
    beside ``top``, then rename it into place. bench/run.py uses it too."""
    for tool in ("dpkg-deb", "tar", "xz"):
        if shutil.which(tool) is None:
            raise KernelUnavailable(f"{tool} is not installed; it is needed to unpack {deb}")
    top.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top.name}-", dir=top.parent))
    inner = f"./usr/src/linux-source-{series}.tar.xz"
    wanted = [f"linux-source-{series}/{p}" for p in paths]
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


def _provide(series: str, trees: dict[str, Path | Exception]) -> Path:
    """The tree, or skip (fail under CI) with the reason; outcomes are kept
    so a missing kernel is looked for once per session."""
    if series not in trees:
        try:
            trees[series] = kernel_tree(series)
        except (KernelUnavailable, KernelFetchError) as err:
            trees[series] = err
    found = trees[series]
    if isinstance(found, Path):
        return found
    if in_ci():
        pytest.fail(f"CI needs Debian's linux-source-{series}: {found}")
    pytest.skip(f"Debian's linux-source-{series} unavailable: {found}")


def header_line() -> str:
    """What the pytest header says about the kernels the tests will use."""
    parts = []
    for series in SERIES:
        try:
            version = chosen_version(series)
        except KernelUnavailable as err:
            parts.append(f"linux-source-{series} unavailable ({err})")
            continue
        cached = (cache_dir() / "kernels" / version / "arch" / "x86" / "kvm").is_dir()
        parts.append(f"linux-source-{series} {version}"
                     + ("" if cached else " (to download)"))
    return "real kernels: " + ", ".join(parts) + f"; cache {cache_dir()}"


@pytest.fixture(scope="session", name="kernel_tree")
def kernel_tree_fixture() -> Callable[[str], Path]:
    """``kernel_tree(series)`` -> Path of that kernel's tree top (cached)."""
    trees: dict[str, Path | Exception] = {}
    return lambda series: _provide(series, trees)


@pytest.fixture(scope="session")
def linux_6_1(kernel_tree: Callable[[str], Path]) -> Path:
    """Tree top of Debian's linux-source-6.1 (KVM files only)."""
    return kernel_tree("6.1")


@pytest.fixture(scope="session")
def linux_6_12(kernel_tree: Callable[[str], Path]) -> Path:
    """Tree top of Debian's linux-source-6.12 (KVM files only)."""
    return kernel_tree("6.12")
