"""The official SARIF 2.1.0 JSON schema, to validate every SARIF log the tests
produce.

The schema ships in the npm package ``@microsoft/sarif-multitool-linux`` as
``package/sarif-2.1.0.json``. The first use runs ``npm pack`` in a temporary
folder under ``<cache>/sarif`` (cache: ``$MMU_ROLE_LINT_CACHE`` or
``~/.cache/mmu-role-lint``), keeps only the schema file there and removes the
tarball; later uses read the cached file. Nothing is written into the
repository. Without npm the tests that need the schema skip, unless CI=true:
then they fail, as they do when npm is there but fetching fails.

Use ``sarif_of(tmp_path, *argv)`` to run the command line with
``--format sarif`` and get the validated log, or the ``sarif_validator``
fixture (``sarif_validator = sarif_schema.sarif_validator`` in a test module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
from kernels import cache_dir, in_ci

from analyzer.cli import main

PACKAGE = "@microsoft/sarif-multitool-linux@5.7.0"  # holds package/sarif-2.1.0.json
MEMBER = "package/sarif-2.1.0.json"


class SchemaUnavailable(Exception):
    """npm is not installed, so the schema cannot be fetched."""


def schema_path(cache: Path | None = None) -> Path:
    """The cached schema file, fetched with ``npm pack`` on first use."""
    folder = (cache or cache_dir()) / "sarif"
    target = folder / "sarif-2.1.0.json"
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SchemaUnavailable(f"npm is not installed, so {PACKAGE} (which holds the SARIF "
                                f"2.1.0 schema) cannot be fetched; or put the schema at {target}")
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp, capture_output=True,
                              text=True, check=False, timeout=600)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {PACKAGE} failed ({done.returncode}): "
                               f"{done.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise RuntimeError(f"{tarballs[0].name} has no {MEMBER}")
            data = member.read()
        json.loads(data)  # a truncated download fails here, not in every test
        partial = Path(tmp) / "schema.json"
        partial.write_bytes(data)
        os.replace(partial, target)
    return target


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path().read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validator() -> jsonschema.protocols.Validator:
    """The schema's validator; skips the test when npm is absent outside CI."""
    try:
        return _validator()
    except SchemaUnavailable as err:
        if in_ci():
            pytest.fail(f"CI=true: {err}")
        pytest.skip(str(err))


@pytest.fixture(scope="session")
def sarif_validator() -> jsonschema.protocols.Validator:
    return validator()


def assert_valid(log: dict) -> None:
    errors = sorted(validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def sarif_of(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    """Run ``mmu-role-lint ARGV --format sarif``; (exit status, validated log)."""
    validator()  # skip before analyzing when the schema cannot be had
    out = tmp_path / "out.sarif"
    out.unlink(missing_ok=True)
    status = main([*argv, "--format", "sarif", "-o", str(out)])
    log = json.loads(out.read_text())
    assert_valid(log)
    return status, log
