"""Work done beside the analysis in a forked child (analyzer/beside.py):
the value is the one a single process computes, whatever the child does,
and the analysis finds the same with one process or two."""

from __future__ import annotations

import os
import time

import pytest
from helpers import FIXTURES

import analyzer.analysis as analysis_mod
from analyzer.analysis import analyze
from analyzer.beside import JOBS_ENV, Beside, can_fork, from_both_ends, jobs
from analyzer.checks import ROLE_INCOMPLETE
from analyzer.patch import apply_patch, read_patches
from analyzer.sources import patched_image, tree_image

forking = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


@pytest.fixture
def two_jobs(monkeypatch):
    monkeypatch.setenv(JOBS_ENV, "2")


@pytest.fixture
def one_job(monkeypatch):
    monkeypatch.setenv(JOBS_ENV, "1")


def test_jobs_reads_the_environment(monkeypatch):
    monkeypatch.setenv(JOBS_ENV, "1")
    assert jobs() == 1
    monkeypatch.setenv(JOBS_ENV, "3")
    assert jobs() == 3
    monkeypatch.setenv(JOBS_ENV, "many")  # not a number: the CPUs decide, at most 2
    assert 1 <= jobs() <= 2


@forking
def test_the_value_is_computed_in_the_child(two_jobs):
    parent = os.getpid()
    seen: list[int] = []

    def fn():
        seen.append(os.getpid())  # the child's list, a copy: the parent's stays empty
        return {"pid": os.getpid(), "squares": [i * i for i in range(1000)]}

    b = Beside(fn)
    got = b.result()
    assert b.forked and got["pid"] != parent and seen == []
    assert got["squares"] == [i * i for i in range(1000)]


@forking
def test_a_large_value_comes_back_whole(two_jobs):
    # more than a pipe holds: the child waits for the parent to read
    b = Beside(lambda: "x" * 5_000_000)
    assert b.result() == "x" * 5_000_000 and b.forked


@forking
def test_a_child_that_fails_costs_only_time(two_jobs):
    parent = os.getpid()

    def fn():
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return 42

    b = Beside(fn)
    assert b.result() == 42 and not b.forked


@forking
def test_a_value_that_cannot_be_pickled_is_computed_here(two_jobs):
    b = Beside(lambda: (lambda: 7))
    got = b.result()
    assert got() == 7 and not b.forked


def test_one_job_forks_nothing(one_job):
    parent = os.getpid()
    b = Beside(os.getpid)
    assert b.pid == 0 and b.result() == parent and not b.forked


def test_a_result_is_asked_once(one_job):
    b = Beside(lambda: 1)
    assert b.result() == 1
    with pytest.raises(RuntimeError):
        b.result()


@forking
def test_a_child_forks_none_and_the_parent_one_at_a_time(two_jobs):
    assert can_fork()
    b = Beside(can_fork)  # asked in the child
    assert not can_fork()  # here, while it runs
    assert b.result() is False and b.forked
    assert can_fork()  # answered: another may be forked


@forking
def test_both_ends_compute_every_item_once_in_order(two_jobs):
    parent = os.getpid()
    here: list[int] = []

    def square(i: int) -> tuple[int, bool]:
        time.sleep(0.005)  # long enough for the child to start
        if os.getpid() == parent:
            here.append(i)
        return i * i, os.getpid() == parent

    values, told = from_both_ends(40, square, tell=lambda done: sorted(done))
    assert [v for v, _ in values] == [i * i for i in range(40)]
    by_child = [i for i, (_, mine) in enumerate(values) if not mine]
    assert by_child and told == by_child  # the child took the last ones
    assert by_child == list(range(40 - len(by_child), 40))
    assert sorted(here) == [i for i in range(40) if i not in by_child]


@forking
def test_both_ends_give_the_child_its_own_function(two_jobs):
    def slow(where: str):
        return lambda i: (time.sleep(0.005), where, i)[1:]

    values, _ = from_both_ends(20, slow("here"), there=lambda: slow("there"))
    assert [i for _, i in values] == list(range(20))
    assert {w for w, _ in values} == {"here", "there"}


@forking
def test_what_a_dying_child_claimed_is_computed_here(two_jobs):
    parent = os.getpid()
    done: list[int] = []

    def dies(i: int) -> int:
        time.sleep(0.005)
        if os.getpid() != parent:
            done.append(i)
            if len(done) > 2:
                os._exit(3)
        return -i

    values, told = from_both_ends(30, dies)
    assert values == [-i for i in range(30)] and told is None


@forking
def test_an_error_here_stops_the_child(two_jobs, monkeypatch):
    """The parent leaving with an error leaves no child computing."""
    parent = os.getpid()
    pids: list[int] = []

    def item(i: int) -> int:
        time.sleep(0.01)
        if os.getpid() == parent and i == 2:
            raise ValueError("this commit cannot be judged")
        return i

    real_init = Beside.__init__

    def remember(self, fn):
        real_init(self, fn)
        pids.append(self.pid)

    monkeypatch.setattr(Beside, "__init__", remember)
    with pytest.raises(ValueError):
        from_both_ends(200, item)
    assert pids and pids[0]
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # reaped: no such child any more
    assert can_fork()


def test_both_ends_in_one_process(one_job):
    values, told = from_both_ends(5, lambda i: (i, os.getpid()))
    assert values == [(i, os.getpid()) for i in range(5)] and told is None


# ---- the analysis --------------------------------------------------------------

# fixture trees and a patch whose after-image has findings of every check
# that runs beside (role-incomplete) and of role-mismatch
AFTER = [("incomplete-legacy", "0002-read-unrecorded-cr0-bit.patch"),
         ("incomplete-modern", "0002-read-unrecorded-cr0-bit.patch"),
         ("incomplete-legacy", "0006-drop-efer-lma.patch"),
         ("legacy", None)]


def _image(tree: str, patch: str | None):
    top = FIXTURES / tree / "tree"
    image = tree_image(top)
    if patch is None:
        return image
    (p,) = read_patches((FIXTURES / tree / "patches" / patch).read_bytes())
    applied = apply_patch(p, lambda path: (top / path).read_text() if (top / path).is_file()
                          else None)
    return patched_image(image, applied.files, lambda path: None)


def _seen(analysis) -> tuple:
    return ([(f.rule, f.key, f.function, f.line, f.message) for f in analysis.findings],
            {key: (sorted((f.key, f.line) for f in found), sorted(map(repr, deps)))
             for key, (found, deps) in analysis.by_site.items()},
            list(analysis.by_site))


@forking
@pytest.mark.parametrize(("tree", "patch"), AFTER)
def test_one_process_or_two_find_the_same(tree, patch, monkeypatch):
    image = _image(tree, patch)
    monkeypatch.setenv(JOBS_ENV, "1")
    one = analyze(image)
    monkeypatch.setenv(JOBS_ENV, "2")
    two = analyze(image)
    assert _seen(one) == _seen(two)
    assert one.findings
    assert one.page_flows == two.page_flows


@forking
def test_role_incomplete_sites_are_found_in_the_child(monkeypatch):
    """With two processes the parent never interprets a role-incomplete
    site, nor makes the page flows, and the analysis still has their
    findings; with one it does both."""
    calls: list[str] = []
    real_find, real_flows = analysis_mod._find, analysis_mod.file_flows

    def find(resolver, site, check, facts):
        calls.append(ROLE_INCOMPLETE if check.beside else "other")  # the child's is a copy
        return real_find(resolver, site, check, facts)

    def flows(*args, **kwargs):
        calls.append("flows")
        return real_flows(*args, **kwargs)

    monkeypatch.setattr(analysis_mod, "_find", find)
    monkeypatch.setattr(analysis_mod, "file_flows", flows)
    image = _image("incomplete-legacy", "0002-read-unrecorded-cr0-bit.patch")
    monkeypatch.setenv(JOBS_ENV, "2")
    two = analyze(image)
    in_parent = list(calls)
    calls.clear()
    monkeypatch.setenv(JOBS_ENV, "1")
    one = analyze(image)
    assert ROLE_INCOMPLETE in {f.rule for f in two.findings}
    assert _seen(one) == _seen(two)
    assert "other" in in_parent and ROLE_INCOMPLETE not in in_parent and "flows" not in in_parent
    assert ROLE_INCOMPLETE in calls and "flows" in calls


@forking
def test_a_tree_with_many_role_functions_splits_every_site(monkeypatch):
    """Past ``SPLIT_ROLE_FUNCTIONS`` functions in role flow, the sites after
    the first are resolved from both ends: some in the child, and the
    analysis is the one a single process makes."""
    calls: list[str] = []
    real_find = analysis_mod._find

    def find(resolver, site, check, facts):
        calls.append(site.func)  # the child's is a copy
        time.sleep(0.005)  # long enough for the child to start
        return real_find(resolver, site, check, facts)

    monkeypatch.setattr(analysis_mod, "_find", find)
    monkeypatch.setattr(analysis_mod, "SPLIT_ROLE_FUNCTIONS", 1)
    image = _image("incomplete-legacy", "0002-read-unrecorded-cr0-bit.patch")
    monkeypatch.setenv(JOBS_ENV, "1")
    one = analyze(image)
    alone = len(calls)
    calls.clear()
    monkeypatch.setenv(JOBS_ENV, "2")
    two = analyze(image)
    assert _seen(one) == _seen(two)
    assert ROLE_INCOMPLETE in {f.rule for f in two.findings}
    assert 1 <= len(calls) < alone


def _each_site_fresh(image) -> list:
    """The sites whose findings or dependencies differ when each is
    resolved with a resolver of its own, not the one every site shares."""
    seen: dict = {}
    real = analysis_mod._finish

    def finish(*args, **kwargs):
        res = real(*args, **kwargs)
        seen["res"], seen["flows"] = res, kwargs["pages"][0]
        seen["constants"] = kwargs.get("constants")
        return res

    mp = pytest.MonkeyPatch()
    mp.setattr(analysis_mod, "_finish", finish)
    mp.setenv(JOBS_ENV, "1")
    try:
        analyze(image)
    finally:
        mp.undo()
    res = seen["res"]
    differ = []
    # role-incomplete's sites read the facts' sources, released by then
    for key, site, check in analysis_mod.site_keys(res.facts):
        if key[0] == ROLE_INCOMPLETE:
            continue
        fresh = analysis_mod._resolver(res.facts, seen["flows"], seen["constants"])
        found, deps = analysis_mod._find(fresh, site, check, res.facts)
        fresh.release()
        was, was_deps = res.by_site[key]
        if found != was or deps != was_deps:
            differ.append(key)
    assert res.by_site
    return differ


@pytest.mark.parametrize("tree", ["legacy", "modern", "incomplete-legacy", "incomplete-modern"])
def test_a_site_resolves_alike_from_a_fresh_resolver_on_the_fixtures(tree):
    """What splitting the sites between two processes rests on: the
    resolver's memo changes how fast a site resolves, never what."""
    assert _each_site_fresh(tree_image(FIXTURES / tree / "tree")) == []


@pytest.mark.real_kernel
def test_a_site_resolves_alike_from_a_fresh_resolver_on_debian_6_12(linux_6_12):
    assert _each_site_fresh(tree_image(linux_6_12)) == []
