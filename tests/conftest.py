"""Shared pytest setup: markers, the kernels used (header and summary), and
fixtures imported from the modules that define them."""

import gc

import kernels
import pytest
from kernels import kernel_tree_fixture, linux_6_1, linux_6_12

__all__ = ["kernel_tree_fixture", "linux_6_1", "linux_6_12"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "real_kernel: parses Debian's linux-source kernels (downloaded once, cached outside "
        "the repository; see tests/kernels.py)",
    )


def pytest_report_header(config):
    return kernels.header_line()


def pytest_terminal_summary(terminalreporter):
    if kernels.USED:
        used = ", ".join(f"linux-source-{s} {v}" for s, v in sorted(kernels.USED.items()))
        terminalreporter.write_line(f"real kernels used: {used}")
    for note in kernels.NOTES:
        terminalreporter.write_line(f"real kernels: {note}")


@pytest.fixture(autouse=True)
def _no_analysis_cache(monkeypatch):
    """Tests analyze from scratch unless they ask for the cache
    (tests/test_cache.py points it at a temporary folder)."""
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")


@pytest.fixture(autouse=True)
def _unfrozen():
    """An analysis read back from the cache is frozen for the rest of the
    run (analyzer.cache); in the one process the tests share, it is let go
    again after each test."""
    yield
    gc.unfreeze()
