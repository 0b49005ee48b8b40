"""Symbolic values of role fields.

A role value is a complete map from each leaf field path (``level``,
``base.cr4_pae``) to a term. Terms are small immutable records; each carries
the step that defined it (where, and what kind of definition), which becomes a
node of the role-flow graph and a line of a finding's trace. Steps never take
part in equality: two terms are the same when they say the same thing.
"""

from __future__ import annotations

from analyzer.record import field, record


@record(frozen=True)
class Step:
    """One place in the source where a role value is defined or flows."""

    file: str
    line: int
    col: int
    function: str
    kind: str  # def, override, mask, guard, copy, param, return, call, store, load, compare
    text: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "function": self.function,
                "kind": self.kind, "text": self.text}

    def __getstate__(self) -> dict:
        # the graph node made for this step (nodes.node_of) points back to
        # it: leave it out of a pickle, it is made again on use
        state = dict(self.__dict__)
        state.pop("_node", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def at(self, line: int) -> Step:
        """The same step on another line (``replace`` is the hot spot of
        moving an analysis's facts otherwise). The graph node made for this
        step stays with it."""
        moved = _new_object(Step)
        state = moved.__dict__
        state.update(self.__dict__)
        state.pop("_node", None)
        state["line"] = line
        return moved


_new_object = object.__new__

NO_STEP = Step("", 0, 0, "", "none", "")


# ---- scalar terms -------------------------------------------------------

@record(frozen=True)
class Const:
    value: int
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Named:
    """A macro constant such as ACC_ALL: constant, value unknown."""

    name: str
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Opaque:
    """An expression computed from state we do not model (guest registers...)."""

    text: str
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Unknown:
    """No value: an uninitialized local, a loop-carried change, a symbol."""

    why: str = "unknown"
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Scalar:
    """A scalar parameter of the function being analyzed, bound at call sites."""

    func: str
    name: str
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Origin:
    """Where a role value comes from before any field write.

    kind: param (name=param name), load (name=slot), call (name=callee,
    site=call site id), global (name=variable), zero, unknown."""

    kind: str
    name: str = ""
    func: str = ""
    site: int = -1
    sub: str = ""  # sub-role prefix, e.g. "base" for mmu_role.base
    via: str = ""  # for loads: the pointer read through (``sp`` in ``sp->role``)

    def path(self, leaf: str) -> str:
        return f"{self.sub}.{leaf}" if self.sub else leaf


@record(frozen=True)
class Ref:
    """The value of ``path`` in an origin (a parameter, a load, a call result)."""

    origin: Origin
    path: str
    step: Step = field(default=NO_STEP, compare=False)


# ---- conditions ---------------------------------------------------------

@record(frozen=True)
class Truthy:
    """``if (x)``; ``path`` names the role field tested, when it is one."""

    term: object
    path: str = field(default="", compare=False)


@record(frozen=True)
class Not:
    cond: object


@record(frozen=True)
class And:
    parts: tuple


@record(frozen=True)
class Or:
    parts: tuple


@record(frozen=True)
class Eq:
    left: object
    right: object


@record(frozen=True)
class OpaqueCond:
    text: str


@record(frozen=True)
class CompareCond(OpaqueCond):
    """A comparison of role words used as a condition: as opaque as any
    other to the values it decides, but naming its compare site, and
    ``equal``: whether the condition holds when the words are equal (``==``)
    or when they differ (``!=``, a masked xor)."""

    site: int = -1
    equal: bool = True


TRUE = And(())


@record(frozen=True)
class Ite:
    """``cond ? then : other``: a field written under a guard."""

    cond: object
    then: object
    other: object
    step: Step = field(default=NO_STEP, compare=False)


@record(frozen=True)
class Mask:
    """What ``x->role.word &= m.word`` writes: the mask's role value (None
    when it cannot be read) and whether it is inverted (``~m.word``)."""

    value: object
    inverted: bool = False


def step_of(term) -> Step:
    return getattr(term, "step", NO_STEP)


@record
class Value:
    """A role value: the role type and one term per leaf field path."""

    type: str
    fields: dict[str, object]
    fresh: bool = False  # built from nothing ({0}), so writes are definitions

    def copy(self) -> Value:
        return Value(self.type, dict(self.fields), self.fresh)

    def sub(self, prefix: str, sub_type: str, leaves: list[str]) -> Value:
        return Value(sub_type, {leaf: self.fields[f"{prefix}.{leaf}"] for leaf in leaves}, self.fresh)

    def origins(self) -> set[Origin]:
        out: set[Origin] = set()
        for term in self.fields.values():
            _collect_origins(term, out)
        return out


def parts_of(t) -> tuple:
    """What a term, condition, Value, or tuple or list of them is made of,
    in order (an Ite: then, other, cond); () for a leaf. Walks of terms use
    it with a stack of their own, never recursion."""
    got = _PARTS.get(type(t))
    if got is None:
        got = _PARTS[type(t)] = _parts_for(type(t))
    return got(t)


def _parts_for(kind: type):
    """How ``parts_of`` takes apart a value of ``kind`` (looked up once per
    type: the walks of terms visit many more terms than there are types)."""
    if issubclass(kind, Ite):
        return lambda t: (t.then, t.other, t.cond)
    if issubclass(kind, Truthy):
        return lambda t: (t.term,)
    if issubclass(kind, Not):
        return lambda t: (t.cond,)
    if issubclass(kind, And | Or):
        return lambda t: t.parts
    if issubclass(kind, Eq):
        return lambda t: (t.left, t.right)
    if issubclass(kind, Value):
        return lambda t: tuple(t.fields.values())
    if issubclass(kind, tuple | list):
        return tuple
    return _leaf


def _leaf(_t) -> tuple:
    return ()


_PARTS: dict[type, object] = {}


def _collect_origins(term, out: set) -> None:
    stack = [term]
    while stack:
        t = stack.pop()
        if isinstance(t, Ref):
            out.add(t.origin)
        else:
            stack.extend(parts_of(t))


# ---- what one function's values may cost ---------------------------------

# Resolution, the graph, equality and pickling walk terms recursively, one or
# two Python frames per level (chains of phis and calls are bounded where
# they are followed, in analyzer.resolve). KVM's values nest 7 levels.
MAX_TERM_DEPTH = 100  # terms and conditions nested in one another


def value_depth(roots) -> int:
    """How many terms and conditions nest in one another, at most, under
    ``roots`` (Values, terms, conditions, and tuples or lists of them).
    Shared subterms are measured once; no recursion."""
    memo: dict[int, int] = {}
    alive: list = []  # what memo's ids name stays alive until the end
    stack: list = [(roots, None)]
    while stack:
        obj, kids = stack.pop()
        if kids is None:
            if id(obj) in memo:
                continue
            memo[id(obj)] = 0
            alive.append(obj)
            kids = parts_of(obj)
            if not kids:  # a leaf: a level of its own, or none for an empty container
                memo[id(obj)] = _level(obj)
                continue
            stack.append((obj, kids))
            stack.extend((p, None) for p in kids if id(p) not in memo)
            continue
        memo[id(obj)] = _level(obj) + max(memo.get(id(k), 0) for k in kids)
    return memo[id(roots)]


def _level(obj) -> int:
    """The level a term or condition adds; none for a container."""
    got = _LEVELS.get(type(obj))
    if got is None:
        got = _LEVELS[type(obj)] = 0 if isinstance(obj, Value | tuple | list) else 1
    return got


_LEVELS: dict[type, int] = {}


def beyond_value_limits(roots) -> str | None:
    """Why the values a function made (``roots``) cost more than one
    function's may, else None."""
    depth = value_depth(roots)
    if depth > MAX_TERM_DEPTH:
        return f"its role values nest {depth} terms deep, more than {MAX_TERM_DEPTH}"
    return None
