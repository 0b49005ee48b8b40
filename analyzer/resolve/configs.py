"""What resolution yields: resolved terms (``RTerm``), configurations
(``Concrete``) and the context of call sites that binds parameters
(``Ctx``), with the limits that keep resolution bounded."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import NamedTuple

from analyzer import states
from analyzer.facts import CallSite
from analyzer.record import field, record
from analyzer.resolve.trails import trail, trail_cat, trail_last

MAX_CHAIN = 6
MAX_CHAINS = 48
MAX_ALTS = 400
# Values resolved inside one another (through calls, parameters, loads and
# phis): each costs about ten Python frames. Past it a value is left
# unresolved, and what depends on that is marked with the dependency
# BEYOND_LIMITS (the comparison is then reported as not analyzed). Each
# function's own values are bounded (analyzer.terms); this bounds their
# chains across functions. KVM's need 10.
MAX_RESOLVE_DEPTH = 48
BEYOND_LIMITS = ("limits",)
MAX_SPLITS = 4  # undecided guards one value is split on (2**4 configurations)
REACH_DEPTH = 2  # callers whose conditions say where a function is reached
BASE = "base:"  # in Ctx.visiting: resolving the stores of a slot without recursion
STORE = "store:"  # in Ctx.visiting: the stores being resolved
# step kinds whose constant is forced on a copied role: an override, a mask,
# a partial store into a slot
FORCING = ("override", "mask", "store")

_tuple_new = tuple.__new__


class RTerm(NamedTuple):
    """A resolved field value.

    kind: const (value int), named (a macro name without a value), opaque
    (expression text: guest state), symbol (a load or parameter we could
    not follow: any value), unknown, ite (a guard we could not decide:
    value is (condition of then, condition of else, then, else), split into
    configurations by ``Resolver.resolve``). ``forced``: set by an override
    after a copy, a mask or a partial store. ``guard``: role fields (leaf,
    value) the override was conditional on. ``via_param``: taken from a
    call-site argument. ``trace``: a trail (see ``trail``) of graph nodes
    from the definition to the value's use; ``guard_trace``: where the
    values that decided the guard come from."""

    kind: str
    value: object
    forced: bool = False
    guard: tuple = ()
    via_param: bool = False
    trace: tuple = ()
    guard_trace: tuple = ()

    def is_const(self) -> bool:
        return self.kind == "const"

    def describe(self) -> str:
        if self.kind == "const":
            return str(self.value)
        if self.kind in ("named", "opaque"):
            return f"'{self.value}'"
        if self.kind == "symbol":
            return f"the stored '{self.value}'"
        return "unknown"

    def extend(self, *nodes) -> RTerm:
        t = self.trace
        for n in nodes:
            if n is not None:
                t = (t, n)
        # tuple.__new__ directly: NamedTuple._replace is the hot spot otherwise
        return _tuple_new(RTerm, (self[0], self[1], self[2], self[3], self[4], t, self[6]))

    def retraced(self, trace: tuple) -> RTerm:
        """The same value with another trace."""
        return _tuple_new(RTerm, (self[0], self[1], self[2], self[3], self[4], trace, self[6]))

    def last_node(self):
        return trail_last(self.trace)


# the environment of a configuration that has none: one dict, never written
# (a configuration's env is read, and a new one made to extend it: 40,000
# configurations of bench's x8 tree held an empty dict each)
NO_ENV: dict = {}


class Env(Mapping):
    """A configuration's environment: which alternative of each origin of
    its value it was made from. The origins are the value's, one tuple for
    every configuration of it, and the alternatives the combination that
    made it: no dict per configuration (106,000 of them, 12 MB, on bench's
    x8 tree), and no hashing of origins to find one (a value has one to
    three: a tuple finds one, the same object first)."""

    __slots__ = ("alts", "origins")

    def __init__(self, origins: tuple, alts: tuple) -> None:
        self.origins = origins
        self.alts = alts

    def get(self, key, default=None):
        origins = self.origins  # tuple's ``in`` and ``index`` try identity first, in C
        return self.alts[origins.index(key)] if key in origins else default

    def __getitem__(self, key):
        if key not in self.origins:
            raise KeyError(key)
        return self.alts[self.origins.index(key)]

    def __contains__(self, key) -> bool:
        return key in self.origins

    def __iter__(self) -> Iterator:
        return iter(self.origins)

    def __len__(self) -> int:
        return len(self.origins)


@record(slots=True)
class Concrete:
    """One configuration of a role value: its fields and the condition
    (``analyzer.states`` formula) under which it holds."""

    fields: dict[str, RTerm]
    producers: tuple = ()
    stores: tuple = ()  # (store id, chain of call-site ids) passed, innermost first
    # origin -> alternative; most configurations have none, and share NO_ENV
    env: Mapping = field(default=NO_ENV, compare=False, repr=False)
    # graph nodes every field's trace goes on with (a call, a store...): kept
    # once here instead of extending each field; ``term`` joins them
    tail: tuple = ()
    cond: object = True
    # no configuration: a role made from one of its own slot, left out of
    # the base of that slot (``Loads.base``)
    dropped: bool = False

    def with_cond(self, cond) -> Concrete:
        if cond is True:
            return self
        return Concrete(self.fields, self.producers, self.stores, self.env, self.tail,
                        states.conj((self.cond, cond)))


@record
class Ctx:
    """Call sites that bind the parameters: sites[0] called the current
    function, sites[1] called sites[0].caller, and so on."""

    sites: tuple = ()
    visiting: frozenset = frozenset()

    def push(self, site: CallSite) -> Ctx:
        return Ctx((site, *self.sites), self.visiting)

    def parent(self) -> Ctx:
        return Ctx(self.sites[1:], self.visiting)

    def key(self) -> tuple:
        return (tuple(s.id for s in self.sites), self.visiting)


DROPPED = Concrete({}, dropped=True)


def traced(c: Concrete, path: str) -> RTerm:
    """A field of ``c`` with its trace joined to the configuration's tail:
    from the field's definition to its use where ``c`` was resolved."""
    t = c.fields[path]
    return t.retraced(trail_cat(t.trace, c.tail)) if c.tail else t


def materialize(c: Concrete) -> Concrete:
    """``c`` with its tail joined to every field's trace."""
    if not c.tail:
        return c
    return Concrete({p: traced(c, p) for p in c.fields}, c.producers, c.stores, c.env, (), c.cond,
                    c.dropped)


def or_unknown(out: list[Concrete], dropped: bool) -> list[Concrete]:
    """The configurations found; when there are none, DROPPED if some were
    left out of a base, else one configuration of unknown values."""
    if out:
        return out
    return [DROPPED] if dropped else [Concrete({})]


def forced(t: RTerm, here) -> RTerm:
    """A term a partial store writes: forced, traced from the store."""
    trace = t.trace if trail_last(t.trace) == here else trail(here, base=t.trace)
    return RTerm(t.kind, t.value, True, t.guard, t.via_param, trace, t.guard_trace)


def split(fields: dict[str, RTerm], cond, depth: int = 0) -> list[tuple[dict, object]]:
    """One configuration per branch of the undecided guards in ``fields``;
    fields guarded alike take the same branch."""
    first = next((t for t in fields.values() if t.kind == "ite"), None)
    if first is None:
        return [(fields, cond)]
    if depth >= MAX_SPLITS:
        return [({p: (RTerm("unknown", "undecided", trace=t.trace) if t.kind == "ite" else t)
                  for p, t in fields.items()}, cond)]
    then_c, else_c = first.value[0], first.value[1]
    out = []
    for pick, when in ((2, then_c), (3, else_c)):
        c = states.conj((cond, when))
        if c is False:
            continue
        fs = {p: (t.value[pick] if t.kind == "ite" and t.value[0] == then_c and t.value[1] == else_c
                  else t) for p, t in fields.items()}
        out.extend(split(fs, c, depth + 1))
    return out


_VALUE = itemgetter(0, 1, 2, 3, 4)  # an RTerm's (kind, value, forced, guard, via_param)


def values_of(c: Concrete) -> tuple:
    """What a configuration's fields hold, not how the values came (their
    traces), in the role type's leaf order: a key for configurations alike."""
    return tuple(map(_VALUE, c.fields.values()))


def dedupe(items: list[Concrete], by_value: bool = False) -> list[Concrete]:
    """One configuration per value: those that differ only in the condition
    they hold under are one, holding under either. ``by_value``: those that
    differ only in the stores they passed too (roles of the MMU context:
    which store wrote a value the context holds tells nothing apart)."""
    at: dict = {}
    out: list[Concrete] = []
    for c in items:
        # fields come in the role type's leaf order, so no sorting is needed;
        # the trace is not part of what a value is
        key = (tuple(c.fields), values_of(c), c.dropped,
               () if by_value else tuple(sid for sid, _chain in c.stores))
        i = at.get(key)
        if i is None:
            at[key] = len(out)
            out.append(c)
        elif out[i].cond is not True:
            first = out[i]
            out[i] = Concrete(first.fields, first.producers, first.stores, first.env, first.tail,
                              states.disj((first.cond, c.cond)), first.dropped)
    return out
