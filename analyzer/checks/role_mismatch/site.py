"""The site a role-mismatch judgement looks at: the compare, its lookup and
stored sides, and the configurations seen on each over every chain of
callers."""

from __future__ import annotations

import re
from functools import lru_cache

from analyzer import states
from analyzer.checks.messages import Message
from analyzer.containers.text import call_key
from analyzer.facts import Compare
from analyzer.nodes import step_of_node
from analyzer.record import field, record
from analyzer.resolve import Concrete, Resolver, RTerm, traced, trail_nodes
from analyzer.resolve.partials import store_via
from analyzer.terms import Const, Ite, Step, Value

WILDCARDS = ("symbol", "unknown")


@record
class Side:
    """One operand: which role value, its name in messages, its text."""

    value: Value
    name: str
    text: str


@record
class Site:
    """A compare site being judged: the lookup and stored operands and the
    configurations seen on each side, over every chain of callers."""

    cmp: Compare
    lookup: Side
    stored: Side
    paths: list[str]
    page_slots: set[int] = field(default_factory=set)  # ids of the stores into the page slot read
    # a read of that slot's fields in an expression (``parent->role.level - 1``)
    page_read: re.Pattern | None = None
    leaves: set[str] = field(default_factory=set)  # the compared fields' names
    cond_reads: tuple | None = None  # the origins the compare's condition reads (None: no condition)
    meets: dict = field(default_factory=dict)  # those origins' configurations -> the condition
    own: tuple = ()  # "slot." prefixes of the MMU context slots the stored side reads
    cond_fields: frozenset = frozenset()  # fields of the stored side the compare's condition tests
    lookups: list[tuple[int, Concrete]] = field(default_factory=list)  # (chain index, config)
    stores: dict[int, list[Concrete]] = field(default_factory=dict)  # chain index -> configs
    _values: dict = field(default_factory=dict)
    distinct: dict = field(default_factory=dict)  # chain index -> kinds of stored configurations
    by_values: dict = field(default_factory=dict)  # chain index -> values -> those kinds
    meetable: dict = field(default_factory=dict)  # (chain index, child, parent) -> those kinds
    against: dict = field(default_factory=dict)  # (lookup values, stored, own page) -> differences
    value_ids: dict = field(default_factory=dict)  # a lookup's field values -> their number
    by_source: dict = field(default_factory=dict)  # chain index -> stores before -> page configs
    pointers: set = field(default_factory=set)  # page-flow nodes of the pointer the page is read through
    readable: dict = field(default_factory=dict)  # stores a configuration passed -> its page can be read
    alias: dict[int, int] = field(default_factory=dict)  # chain index -> the first with its stores

    def table_index(self, index: int) -> int:
        """The chain whose stored configurations (the same list) a chain's
        tables are built from."""
        return self.alias.get(index, index)

    def values(self, side: str, path: str) -> set:
        """The values (kind, value) of a field on one side, unknowns left out."""
        key = (side, path)
        got = self._values.get(key)
        if got is None:
            got = {ident(c.fields[path]) for c in self.configs(side)
                   if path in c.fields and c.fields[path].kind not in WILDCARDS}
            self._values[key] = got
        return got

    def configs(self, side: str) -> list[Concrete]:
        """Every configuration of one side ("lookup" or "stored")."""
        if side == "lookup":
            return [c for _ch, c in self.lookups]
        return [c for cs in self.stores.values() for c in cs]

    def support(self, side: str, path: str, term: RTerm) -> int:
        """How many configurations of ``side`` hold this value of the field,
        not counting those copied from a stored page (a child's role)."""
        n = 1 if side == "lookup" else 2
        configs = [c for c in self.configs(side) if not made_from_pages(self, c, n)]
        want = ident(term)
        return sum(1 for c in configs if path in c.fields and ident(c.fields[path]) == want)

    def share(self, side: str, path: str, term: RTerm) -> float:
        """The part of ``side``'s configurations whose value of the field is
        defined where ``term``'s is."""
        where = first_step(term)
        mine = [c for c in self.configs(side) if path in c.fields]
        if not mine or where is None:
            return 0.0
        return sum(1 for c in mine if first_step(traced(c, path)) == where) / len(mine)


@record
class Candidate:
    """A stored configuration against one lookup configuration."""

    config: Concrete
    exists: object  # formula: where it exists and the compare meets it
    diffs: dict[str, object]  # field -> formula of the states where they are equal
    undecided: list[tuple[str, Message | None]]  # fields it cannot judge, with the note


def readable(site: Site, c: Concrete, stores: dict, resolver: Resolver) -> bool:
    """Whether the page a stored configuration was written into can be the
    one the compare reads: False only when the page flow says the page,
    made in the request of the configuration's chain of callers, never
    reaches the pointer the compare reads it through (a child page made by
    the same store as the roots, for a lookup of roots)."""
    pages = resolver.pages
    if pages is None or not site.pointers:
        return True
    if c.stores not in site.readable:
        site.readable[c.stores] = _readable(site, c, stores, resolver)
    return site.readable[c.stores]


def _readable(site: Site, c: Concrete, stores: dict, resolver: Resolver) -> bool:
    tag = next((t for t in reversed(c.stores) if t[0] in site.page_slots), None)
    if tag is None or tag[0] not in stores:
        return True
    sites = [resolver.sites.get(sid) for sid in tag[1]]
    if None in sites:
        return True
    store = stores[tag[0]]
    chain = tuple((cs.caller, cs.callee, call_key(cs.step.text)) for cs in sites)
    return resolver.pages.made_reaches(store.func, store_via(store), chain, site.pointers) is not False


def ident(t: RTerm) -> tuple:
    if t.kind == "opaque":
        return ("opaque", _atom(str(t.value)))
    return (t.kind, t.value)


@lru_cache(maxsize=1 << 14)
def _atom(text: str) -> str:
    return states.canon(text)[0]


def score(value: Value, resolver: Resolver) -> int:
    """2: read from a page; 1: read from the MMU context; 0: computed."""
    origins = value.origins()
    if not origins or any(o.kind != "load" for o in origins):
        return 0
    if any(o.name in resolver.page_slots() for o in origins):
        return 2
    return 1


def orient(cmp: Compare, resolver: Resolver) -> tuple[Side, Side]:
    a, b = score(cmp.left, resolver), score(cmp.right, resolver)
    left = Side(cmp.left, "left", cmp.left_text)
    right = Side(cmp.right, "right", cmp.right_text)
    if a == b:
        return left, right
    lookup, stored = (right, left) if a > b else (left, right)
    return (Side(lookup.value, "lookup", lookup.text), Side(stored.value, "stored", stored.text))


def cond_origins(c) -> set:
    """The origins a condition's terms read."""
    holder = Value("", {})
    out: set = set()
    holder.fields = {"c": Ite(c, Const(0), Const(0))}
    out |= holder.origins()
    return out


def parent_store(site: Site, c: Concrete) -> int | None:
    """The store that made the page a configuration's role was copied from."""
    return next((sid for sid, _chain in c.stores if sid in site.page_slots), None)


def made_from_pages(site: Site, c: Concrete, n: int) -> bool:
    """A configuration made from the role of a stored page (a child page's
    role, or the role a child is looked up with): it passed ``n`` stores
    into the compared page slot (a stored page itself passed one), one of
    them maybe a field of a page's role read into an expression (a call's
    argument ``parent->role.level - 1``)."""
    got = sum(1 for sid, _chain in c.stores if sid in site.page_slots)
    if got < n and site.page_read is not None and any(
            t.kind in ("opaque", "symbol") and site.page_read.search(str(t.value))
            for t in c.fields.values()):
        got += 1
    return got >= n


def leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def steps(t: RTerm) -> list[Step]:
    return [st for n in trail_nodes(t.trace) if (st := step_of_node(n)) is not None]


def first_step(t: RTerm) -> Step | None:
    got = steps(t)
    return got[0] if got else None
