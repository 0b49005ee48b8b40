"""Work done beside the analysis, in a forked child, while it goes on.

An analysis of a whole tree has parts that need none of each other's
results: role-incomplete interprets its sites from the facts and the
parsed sources, while the page flows and role-mismatch's resolution run;
files not yet neutralized are neutralized one apart from the other. On a
machine with a second CPU, ``Beside(fn)`` forks a child that computes
``fn()`` and sends its value back pickled; ``result()`` waits for it. The
child shares the parent's memory as it was at the fork (copy on write) and
writes nothing but its answer: no cache, no output.

Whatever goes wrong in the child (an exception, a value that cannot be
pickled, a child killed) only costs time: ``result()`` then computes
``fn()`` in the parent, so the answer is always the one a single process
gives. ``MMU_ROLE_LINT_JOBS=1`` keeps everything in one process; without
``os.fork`` (not Linux or a BSD) or with one CPU, nothing is forked.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

JOBS_ENV = "MMU_ROLE_LINT_JOBS"


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
        if jobs() < 2 or not hasattr(os, "fork"):
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, answer, and leave without cleanup
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

    def result(self) -> T:
        """The value; asked once (what ``fn`` holds is let go here)."""
        fn, self.fn = self.fn, _asked
        if self.pid:
            pid, self.pid = self.pid, 0
            with os.fdopen(self.fd, "rb") as got:
                data = got.read()
            _, status = os.waitpid(pid, 0)
            if status == 0 and data:
                try:
                    value = pickle.loads(data)
                except Exception:  # computed here instead
                    pass
                else:
                    self.forked = True
                    return value
        return fn()


def _asked() -> None:
    raise RuntimeError("Beside.result() asked twice")
