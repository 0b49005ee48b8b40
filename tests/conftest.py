"""Shared pytest setup: markers, and fixtures imported from the modules that
define them."""

from kernels import kernel_tree_fixture, linux_6_1, linux_6_12

__all__ = ["kernel_tree_fixture", "linux_6_1", "linux_6_12"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "real_kernel: parses Debian's linux-source kernels (downloaded once, cached outside "
        "the repository; see tests/kernels.py)",
    )


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_analysis_cache(monkeypatch):
    """Tests analyze from scratch unless they ask for the cache
    (tests/test_cache.py points it at a temporary folder)."""
    monkeypatch.setenv("MMU_ROLE_LINT_NO_CACHE", "1")
