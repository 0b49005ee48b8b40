"""The branch state of one function's execution, kept apart from the
executor as mypy's binder is: the values at the current program point, the
path condition that leads there, and a frame for each branch of an if, a
loop or a switch, entered as ``with binder.frame_context(cond) as frame``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from analyzer.cparse import Node
from analyzer.record import record
from analyzer.terms import TRUE, And, Ite, Not, Unknown, Value, step_of


class State:
    """Role locals, scalar locals and role-word locals at one program point."""

    def __init__(self) -> None:
        self.roles: dict[str, Value] = {}
        self.gens: dict[str, int] = {}  # changes when a role local is reassigned
        self.scalars: dict[str, object] = {}
        self.words: dict[str, Value] = {}

    def copy(self) -> State:
        s = State()
        s.roles = {k: v.copy() for k, v in self.roles.items()}
        s.gens = dict(self.gens)
        s.scalars = dict(self.scalars)
        s.words = {k: v.copy() for k, v in self.words.items()}
        return s


@record
class Frame:
    """One branch: the condition it runs under and, once left, the state it
    ended in and whether control can fall out of its end."""

    cond: object
    state: State | None = None
    terminated: bool = False


# (local name, branch condition, value on the branch, value otherwise, node)
# -> the value of the local after the join, a phi
PhiMaker = Callable[[str, object, Value, Value, Node], Value]


class Binder:
    """The state at the current point and the path condition to it.

    ``new_id`` numbers reassignments; ``phi`` makes the value of a role local
    that was reassigned differently on two branches."""

    def __init__(self, new_id: Callable[[], int], phi: PhiMaker) -> None:
        self.state = State()
        self.pathcond: list[object] = []
        self._new_id = new_id
        self._phi = phi

    def cond_now(self) -> object:
        if not self.pathcond:
            return TRUE
        if len(self.pathcond) == 1:
            return self.pathcond[0]
        return And(tuple(self.pathcond))

    @contextmanager
    def frame_context(self, cond: object, *, last: bool = False) -> Iterator[Frame]:
        """Run a branch taken when ``cond`` holds. Inside, statements update
        the state as usual; on leaving, the frame keeps the state the branch
        ended in and the state from before the branch is current again,
        unless this was the ``last`` branch of its statement (an else): then
        nothing needs the state before it, which is not copied."""
        frame = Frame(cond)
        before = None if last else self.state.copy()
        depth = len(self.pathcond)
        self.pathcond.append(cond)
        try:
            yield frame
        finally:
            # what the branch learnt (the conditions of its early exits)
            # holds only inside it
            del self.pathcond[depth:]
            frame.state = self.state
            if before is not None:
                self.state = before

    def join(self, then: Frame, other: Frame, node: Node) -> bool:
        """After an if: the state where its two branches meet. True when
        neither falls through. When only one does, the rest runs only on
        its way (its condition stays on the path)."""
        if then.terminated and other.terminated:
            self.state = other.state
            return True
        if then.terminated:
            self.state = other.state
            self.pathcond.append(Not(then.cond))
            return False
        if other.terminated:
            self.state = then.state
            self.pathcond.append(then.cond)
            return False
        self.state = self.merge(then.cond, then.state, other.state, node)
        return False

    def join_maybe(self, frame: Frame, node: Node) -> None:
        """After a body that may run or not (a loop, a switch)."""
        self.state = self.merge(frame.cond, frame.state, self.state, node)

    def merge(self, cond: object, a: State, b: State, node: Node) -> State:
        """``a`` where ``cond`` held, ``b`` where it did not."""
        out = b.copy()
        for name, va in a.roles.items():
            vb = b.roles.get(name)
            if vb is None:
                out.roles[name] = va
                out.gens[name] = a.gens.get(name, 0)
                continue
            if a.gens.get(name) != b.gens.get(name):
                out.roles[name] = self._phi(name, cond, va, vb, node)
                out.gens[name] = self._new_id()
                continue
            merged = {}
            for path, ta in va.fields.items():
                tb = vb.fields.get(path, ta)
                if ta == tb:
                    merged[path] = tb
                else:
                    merged[path] = Ite(cond, ta, tb, step_of(ta) if step_of(ta).line else step_of(tb))
            out.roles[name] = Value(va.type, merged, va.fresh and vb.fresh)
        for name, ta in a.scalars.items():
            tb = b.scalars.get(name)
            if tb is None or ta != tb:
                out.scalars[name] = Ite(cond, ta, tb if tb is not None else Unknown("branch"))
        for name, wa in a.words.items():
            if name not in b.words:
                out.words[name] = wa
        return out
