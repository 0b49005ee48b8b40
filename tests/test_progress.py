"""The count of long work on stderr (analyzer/progress.py): only on a
terminal, only after a second, cleared at the end; git mode counts the
commits it judged, in one process or two."""

from __future__ import annotations

import io
import re

import pytest
from test_git import _long_range, git_env  # git_env: autouse, git as on a bare CI machine

import analyzer.gitmode.judge as judge
from analyzer import gitmode
from analyzer.progress import Progress

__all__ = ["git_env"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "delay"), [(io.StringIO, 0), (Terminal, 60)],
                         ids=["no terminal", "short work"])
def test_nothing_is_written_off_a_terminal_or_for_short_work(stream, delay):
    out = stream()
    p = Progress(10, "commits judged", out, delay=delay)
    p.update(3)
    p.close()
    assert out.getvalue() == ""


def test_a_terminal_gets_one_line_rewritten_then_cleared():
    out = Terminal()
    p = Progress(10, "commits judged", out, delay=0)
    p.update(3)
    p.update(4)
    assert out.getvalue() == "\rmmu-role-lint: 3/10 commits judged\rmmu-role-lint: 4/10 commits judged"
    p.close()
    assert out.getvalue().endswith("\r\033[K")


def test_a_closed_terminal_is_no_error():
    out = Terminal()
    p = Progress(10, "commits judged", out, delay=0)
    out.close()
    p.update(1)
    p.close()
    assert not p.on


def _counts(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"mmu-role-lint: (\d+)/\d+ commits judged", text)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_git_mode_counts_the_commits_it_judged(tmp_path, monkeypatch, jobs):
    repo = _long_range(tmp_path, monkeypatch)
    monkeypatch.setenv("MMU_ROLE_LINT_JOBS", jobs)
    monkeypatch.setattr(judge, "APART_MIN", 4)
    r = gitmode.open_repo(str(repo))
    commits = gitmode.list_commits(r, ["HEAD~7..HEAD"])
    out = Terminal()
    report = gitmode.judge_commits(r, commits, progress=Progress(len(commits), "commits judged",
                                                                  out, delay=0))
    counts = _counts(out.getvalue())
    assert counts == sorted(counts) and counts and max(counts) <= len(commits)
    if jobs == "1":
        assert counts == list(range(1, len(commits) + 1))
    assert out.getvalue().endswith("\r\033[K")
    assert len(report.patches) == len(commits)
