"""A regular install (``pip install .``) ships every package of the source tree."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_directory_is_listed_in_pyproject():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    # packages mapped from another directory (analyzer.rules is rules/) are data
    listed = set(setup["packages"]) - set(setup.get("package-dir", {}))
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "analyzer").rglob("__init__.py")}
    assert found == listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}; remove: {sorted(listed - found)}"
