"""The README's Layout names every module and data file of the package, and
every path it names exists: a reader finds the room for a change from it."""

from __future__ import annotations

from helpers import ROOT

DESCRIPTION_COLUMN = 28  # where the descriptions of the Layout start


def layout_paths() -> list[str]:
    """The paths of the Layout section's tree, folders ending in '/'."""
    text = (ROOT / "README.md").read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    paths: list[str] = []
    stack: list[str] = []
    for line in text.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent >= DESCRIPTION_COLUMN:
            continue  # a description's second line
        depth = (indent - 4) // 2
        name = line.split()[0]
        del stack[depth:]
        paths.append("".join(stack) + name)
        if name.endswith("/"):
            stack.append(name)
    return paths


def test_every_path_in_the_layout_exists():
    missing = [p for p in layout_paths() if not (ROOT / p).exists()]
    assert not missing, f"README Layout names paths that do not exist: {missing}"


def test_the_layout_names_every_module_and_rule_file():
    named = set(layout_paths())
    files = [p for p in (ROOT / "analyzer").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [p for p in (ROOT / "rules").iterdir() if p.is_file()]
    files += [p for p in (ROOT / "tests").glob("*.py") if not p.name.startswith("test_")]
    unnamed = sorted(str(p.relative_to(ROOT)) for p in files
                     if str(p.relative_to(ROOT)) not in named and p.suffix != ".pyc")
    assert not unnamed, f"add these to the README's Layout, one line each: {unnamed}"
