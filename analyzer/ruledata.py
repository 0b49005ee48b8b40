"""Where the rules/ data lives: the rule documentation, role-type defaults
and kernel idioms. Installed, it is the ``analyzer.rules`` package data (see
pyproject.toml); in a source checkout, the top-level rules/ folder."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from analyzer.record import field, record


@lru_cache(maxsize=1)
def rules_dir() -> Path:
    try:
        import analyzer.rules as installed  # mapped from rules/ by pyproject.toml
    except ImportError:
        installed = None
    if installed is not None and installed.__file__:
        return Path(installed.__file__).resolve().parent
    return Path(__file__).resolve().parent.parent / "rules"


def rule_file(name: str) -> Path:
    return rules_dir() / name


@record
class RuleDoc:
    """A rule's page: front matter (id, name, short, severity...) and body."""

    meta: dict[str, str]
    body: str  # everything after the front matter, from the first section
    sections: dict[str, str] = field(default_factory=dict)  # "What it does" -> markdown

    @property
    def default_level(self) -> str:
        """The first word of ``severity:``: error or warning."""
        return self.meta.get("severity", "warning").split()[0]


def rule_doc(rule_id: str) -> RuleDoc:
    """``rules/<rule_id>.md``; the caller checks ``rule_id in RULE_IDS``."""
    text = rule_file(f"{rule_id}.md").read_text()
    _, front, body = text.split("---\n", 2)
    meta = dict(line.split(": ", 1) for line in front.splitlines() if ": " in line)
    body = body.strip("\n") + "\n"
    sections: dict[str, str] = {}
    title, fenced = None, False
    for line in body.splitlines(keepends=True):
        fenced ^= line.startswith("```")
        if line.startswith("## ") and not fenced:
            title = line[3:].strip()
            sections[title] = ""
        elif title is not None:
            sections[title] += line
    return RuleDoc(meta, body, {k: v.strip("\n") for k, v in sections.items()})
