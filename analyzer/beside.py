"""Work done beside the analysis, in a forked child, while it goes on.

An analysis of a whole tree has parts that need none of each other's
results: the page flows need only the functions' names, not their facts;
role-incomplete interprets its sites from the facts and the parsed
sources, reading no value role-mismatch's resolution memoizes; files not
yet neutralized are neutralized one apart from the other; each site a
check looks at resolves alike whatever the resolver memoized before it
(every site of the 22 release trees and the fixtures gives the same
findings and dependencies from a fresh resolver: the memo changes how
fast, never what); a finished analysis can be written to the cache while
the next one runs; and in git mode each commit is judged alike from
whichever tree is analyzed next to it.

On a machine with a second CPU, ``Beside(fn)`` forks a child that
computes ``fn()`` and sends its value back pickled; ``result()`` waits for
it. ``from_both_ends`` computes a list from its first item on here and
from its last back in a child, each claiming an item in shared memory,
until they meet. A child shares the parent's memory as it was at the fork
(copy on write) and prints nothing (what it writes is a cache entry, when
asked, atomically); it forks no child of its own, and the parent forks one
at a time.

Whatever goes wrong in the child (an exception, a value that cannot be
pickled, a child killed) only costs time: what it did not answer for is
computed in the parent, so the answer is always the one a single process
gives. ``MMU_ROLE_LINT_JOBS=1`` keeps everything in one process; without
``os.fork`` (not Linux or a BSD) or with one CPU, nothing is forked.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

JOBS_ENV = "MMU_ROLE_LINT_JOBS"
_running = 0  # children forked and not yet answered; -1 in a child


def jobs() -> int:
    """Processes an analysis may use: ``$MMU_ROLE_LINT_JOBS`` (a positive
    number; anything else is ignored), else the CPUs this process may run
    on, at most 2 (one child at a time is all the analysis forks)."""
    raw = os.environ.get(JOBS_ENV, "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, 2)


class Beside(Generic[T]):
    """``fn()``, computed in a forked child from now on; ``result()`` is its
    value, computed here instead when there is no child or it failed."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.pid = 0
        self.fd = -1
        self.forked = False  # whether the value came from the child
        if not can_fork():
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, answer, and leave without cleanup
            global _running
            _running = -1
            os.close(read)
            status = 1
            try:
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                status = 0
            except BaseException:  # the parent computes it again
                pass
            finally:
                os._exit(status)
        os.close(write)
        self.pid, self.fd = pid, read
        _adjust(1)

    def cancel(self) -> None:
        """Stop the child, if one runs, and forget its answer (the parent
        is leaving with an error: the child's work would be for nothing)."""
        if self.pid:
            pid, self.pid = self.pid, 0
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(self.fd)
            _adjust(-1)
        self.fn = _asked

    def result(self) -> T:
        """The value; asked once (what ``fn`` holds is let go here)."""
        fn, self.fn = self.fn, _asked
        if self.pid:
            pid, self.pid = self.pid, 0
            with os.fdopen(self.fd, "rb") as got:
                data = got.read()
            _, status = os.waitpid(pid, 0)
            _adjust(-1)
            if status == 0 and data:
                try:
                    value = pickle.loads(data)
                except Exception:  # computed here instead
                    pass
                else:
                    self.forked = True
                    return value
        return fn()


def can_fork() -> bool:
    """Whether a child may be forked now: a second process is allowed
    (``jobs``), this is not a child, and no other child is running."""
    return _running == 0 and hasattr(os, "fork") and jobs() >= 2


def _adjust(by: int) -> None:
    global _running
    _running += by


def from_both_ends(n: int, here: Callable[[int], T],
                   there: Callable[[], Callable[[int], T]] | None = None,
                   tell: Callable[[list[int]], object] | None = None,
                   first: int = 0, done: Callable[[int], None] | None = None,
                   apart: bool = True) -> tuple[list[T], object]:
    """``[here(i) for i in range(n)]``, computed from 0 up here while a
    child computes from ``n - 1`` down, each claiming an item in memory
    both share before computing it, until they meet: however the costly
    items lie, both are busy to the end. The ``first`` items are computed
    before the child is forked (what they leave memoized, it inherits). In
    the child, ``there()`` makes the function it computes with (default
    ``here``), and ``tell(done)``, given the items it computed, says what
    else the parent should know (returned second; None when no child
    answered). An item both claimed at once is computed twice, alike; what
    the child did not answer for is computed here, in order. ``done(k)``
    is told here, after each item, how many both have claimed (a count
    for progress: claimed items are done, or being done). Without
    ``apart``, or where no child may be forked, all is computed here."""
    if not apart or n - first < 2 or not can_fork():
        out = []
        for i in range(n):
            out.append(here(i))
            if done is not None:
                done(i + 1)
        return out, None
    import mmap

    claimed = mmap.mmap(-1, n)  # shared with the child: 1 = taken
    mine: dict[int, T] = {}
    for i in range(first):
        claimed[i] = 1
        mine[i] = here(i)

    def back() -> tuple[dict[int, T], object]:
        fn = there() if there is not None else here
        got: dict[int, T] = {}
        for i in reversed(range(n)):
            if claimed[i]:
                break
            claimed[i] = 1
            got[i] = fn(i)
        return got, tell(list(got)) if tell is not None else None

    beside = Beside(back)
    try:
        for i in range(first, n):
            if claimed[i]:
                break
            claimed[i] = 1
            mine[i] = here(i)
            if done is not None:
                done(claimed[:].count(1))
    except BaseException:
        beside.cancel()  # a commit that cannot be judged: the range ends here
        raise
    got, told = beside.result()
    if not beside.forked:  # computed here after all: nothing was left to claim
        told = None
    return [mine[i] if i in mine else got[i] if i in got else here(i) for i in range(n)], told


def _asked() -> None:
    raise RuntimeError("Beside.result() asked twice")
