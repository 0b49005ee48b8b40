"""Resolve role values across functions into configurations.

A value in a function is made of terms that may read the function's
parameters, the results of calls and loads of slots. Resolving it walks the
role-flow graph backwards: parameters to the arguments of each call site
(upward, choosing a chain of call sites), call results to the callee's
returns (downward, with the call site's arguments bound), loads to the
stores of the slot that the load can meet (``containers``). Each way through
gives one ``Concrete`` value, a *configuration*: a field map of resolved
terms, each with the graph path that carried it, and the path condition it
holds under (``analyzer.states``): the guards the analysis cannot decide
(an ``Ite`` gives one configuration per branch), the conditions of the
returns, stores and call sites on the way, kept symbolic. Object-like
macros of the tree are integers (``constants``); a partial store
(``sp->role.x = v``, ``.base = r``, ``.word &= m``) after a whole one
changes the stored value.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from analyzer import states
from analyzer.constants import evaluate
from analyzer.facts import CallSite, Facts, Store
from analyzer.nodes import node_of, param_node, ret_node, slot_node
from analyzer.terms import (
    TRUE,
    And,
    Const,
    Eq,
    Ite,
    Mask,
    Named,
    Not,
    Opaque,
    OpaqueCond,
    Or,
    Origin,
    Ref,
    Scalar,
    Truthy,
    Unknown,
    Value,
    parts_of,
    step_of,
)

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
# loop and switch bodies: may run or not, on any path (no atom of state)
_ANY_CONDS = frozenset({"loop", "switch", ""})
_BASE = "base:"  # in _Ctx.visiting: resolving the stores of a slot without recursion
_STORE = "store:"  # in _Ctx.visiting: the stores being resolved
# a comparison of role words as a condition (the "role unchanged" early
# returns): what it depends on is the configurations themselves
_ROLE_COMPARE = re.compile(r"(?:\.|->)(?:word|as_u64)\b")


def trail(*nodes, base: tuple = ()) -> tuple:
    """Append graph nodes to a trail: a cons list ``(earlier, node)``, so
    extending a trace costs one small tuple, not a copy."""
    for n in nodes:
        if n is not None:
            base = (base, n)
    return base


def trail_cat(a: tuple, b: tuple) -> tuple:
    """``a`` then ``b``, in O(1): a trail is a rope of cons cells
    ``(earlier, node)`` and concatenations ``("cat", first, second)``."""
    if not b:
        return a
    if not a:
        return b
    return ("cat", a, b)


def trail_nodes(t: tuple) -> list:
    """The nodes of a trail, first to last."""
    out = []
    stack = [t]
    while stack:
        x = stack.pop()
        if not x:
            continue
        if len(x) == 3:
            stack.append(x[1])
            stack.append(x[2])
        else:
            out.append(x[1])
            stack.append(x[0])
    out.reverse()
    return out


def trail_last(t: tuple):
    while t and len(t) == 3:
        t = t[2]
    return t[1] if t else None


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

    def last_node(self):
        return trail_last(self.trace)


@dataclass
class Concrete:
    """One configuration of a role value: its fields and the condition
    (``analyzer.states`` formula) under which it holds."""

    fields: dict[str, RTerm]
    producers: tuple = ()
    stores: tuple = ()  # (store id, chain of call-site ids) passed, innermost first
    env: dict = field(default_factory=dict, compare=False, repr=False)  # origin -> alternative
    # graph nodes every field's trace goes on with (a call, a store...): kept
    # once here instead of extending each field; ``term`` joins them
    tail: tuple = ()
    cond: object = True
    # no configuration: a role made from one of its own slot, left out of
    # the base of that slot (``Resolver._base``)
    dropped: bool = False

    def with_cond(self, cond) -> Concrete:
        if cond is True:
            return self
        return Concrete(self.fields, self.producers, self.stores, self.env, self.tail,
                        states.conj((self.cond, cond)))


@dataclass
class _Ctx:
    """Call sites that bind the parameters: sites[0] called the current
    function, sites[1] called sites[0].caller, and so on."""

    sites: tuple = ()
    visiting: frozenset = frozenset()

    def push(self, site: CallSite) -> _Ctx:
        return _Ctx((site, *self.sites), self.visiting)

    def parent(self) -> _Ctx:
        return _Ctx(self.sites[1:], self.visiting)

    def key(self) -> tuple:
        return (tuple(s.id for s in self.sites), self.visiting)


@dataclass
class Resolver:
    facts: Facts
    pages: object = None  # containers.PageFlow: which stores a load can meet
    constants: dict[str, int] = field(default_factory=dict)  # macro name -> value
    callers: dict[str, list[CallSite]] = field(default_factory=dict)
    stores: dict[str, list] = field(default_factory=dict)
    sites: dict[int, CallSite] = field(default_factory=dict)
    partials: dict[tuple[str, str], list[Store]] = field(default_factory=dict)  # (func, slot)
    _reach: dict = field(default_factory=dict)
    _effective: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)
    _chains: dict = field(default_factory=dict)
    _fn_params: dict = field(default_factory=dict)
    _phi_memo: dict = field(default_factory=dict)
    _deps: dict = field(default_factory=dict)  # resolve key -> what it read
    _params_memo: dict = field(default_factory=dict)
    _keep: list = field(default_factory=list)
    _dep_stack: list = field(default_factory=list)
    _nesting: int = 0  # resolve() calls running, one inside the other

    # ---- what a result depends on ----------------------------------------
    # ("fn", f): the facts of function f; ("callers", f): the list of call
    # sites of f; ("slot", s): the list of stores into slot s. An analysis
    # after a patch reuses a comparison's findings when none of these changed.

    def note(self, *deps) -> None:
        if self._dep_stack:
            self._dep_stack[-1].update(deps)

    def tracked(self, fn):
        """Run ``fn``; return its result and the facts it read."""
        self._dep_stack.append(set())
        try:
            result = fn()
        finally:
            deps = self._dep_stack.pop()
        self.note(*deps)
        return result, frozenset(deps)

    def _memo(self, table: dict, key, guard, compute):
        """Memoize ``compute()`` with what it read; ``guard`` answers a
        recursive call while the first one is still running."""
        if key in table:
            value, deps = table[key]
            self.note(*deps)
            return value
        table[key] = (guard, frozenset())
        value, deps = self.tracked(compute)
        table[key] = (value, deps)
        return value

    def __post_init__(self) -> None:
        for site in self.facts.calls:
            self.callers.setdefault(site.callee, []).append(site)
            self.sites[site.id] = site
        for store in self.facts.stores:
            if store.value is not None:
                self.stores.setdefault(store.slot, []).append(store)
            elif store.part is not None:
                self.partials.setdefault((store.func, store.slot), []).append(store)

    # ---- call chains -----------------------------------------------------

    # ---- parameters a value depends on ----------------------------------
    # These follow calls into their callees as deep as the call graph goes,
    # so they run as generators from an explicit stack (``_drive``): a chain
    # of a thousand calls costs no Python recursion. A generator yields a
    # request ``(table, key, guard, make)`` for a value it needs, answered
    # as ``_memo(table, key, guard, make)`` would, with ``make()`` a
    # generator in turn.

    def _drive(self, gen):
        """Run ``gen`` and what it asks for; return its result."""
        stack: list = [(None, None, gen)]
        base = len(self._dep_stack)
        send = None
        try:
            while True:
                table, key, top = stack[-1]
                try:
                    req = top.send(send)
                except StopIteration as done:
                    stack.pop()
                    if table is None:
                        return done.value
                    deps = frozenset(self._dep_stack.pop())
                    table[key] = (done.value, deps)
                    self.note(*deps)
                    send = done.value
                    continue
                table, key, guard, make = req
                if key in table:
                    send, deps = table[key]
                    self.note(*deps)
                    continue
                table[key] = (guard, frozenset())
                self._dep_stack.append(set())
                stack.append((table, key, make()))
                send = None
        finally:
            del self._dep_stack[base:]

    @staticmethod
    def _ask(request):
        return (yield request)

    def uses_params(self, value, func: str) -> bool:
        return bool(self.params_of(value, func))

    def params_of(self, value, func: str) -> set[str]:
        """Parameters of ``func`` that a value (or scalar term) depends on,
        including through the calls and phis it reads."""
        key = (id(value), func)
        got = self._params_memo.get(key)
        if got is None:
            got = set()
            self._drive(self._walk(value, func, got))
            self._params_memo[key] = got
            self._keep.append(value)  # ids stay valid while memoized
        return got

    def fn_params_used(self, func: str) -> set[str]:
        """Parameters of ``func`` its returned roles depend on."""
        return self._drive(self._ask(self._returns_request(func)))

    def _returns_request(self, func: str) -> tuple:
        return (self._fn_params, ("returns", func), set(), lambda: self._returns_params(func))

    def _returns_params(self, func: str):
        self.note(("fn", func))
        info = self.facts.functions.get(func)
        out: set[str] = set()
        if info is not None:
            for cond, value, _st in info.returns:
                yield from self._walk((value, cond), func, out)
        return out

    def _phi_params(self, phi, func: str):
        out: set[str] = set()
        for cond, value in phi.alternatives:
            yield from self._walk((value, cond), func, out)
        return out

    def _walk(self, root, func: str, out: set):
        """Add to ``out`` the parameters of ``func`` that ``root`` (a value,
        term, condition, or a tuple of them) reads."""
        stack = [root]
        while stack:
            t = stack.pop()
            if isinstance(t, Scalar):
                if t.func == func:
                    out.add(t.name)
            elif isinstance(t, Ref):
                o = t.origin
                if o.func != func:
                    continue
                if o.kind == "param":
                    out.add(o.name)
                elif o.kind == "call":
                    site = self.sites.get(o.site)
                    callee = self.facts.functions.get(o.name)
                    if site is None or callee is None:
                        continue
                    used = yield self._returns_request(o.name)
                    stack.extend(reversed([arg for p, arg in zip(callee.params, site.args, strict=False)
                                           if p.name in used]))
                elif o.kind == "phi":
                    phi = self.facts.phis.get(o.site)
                    if phi is not None:
                        out |= yield (self._phi_memo, (phi.id, func), set(),
                                      lambda phi=phi: self._phi_params(phi, func))
            else:
                stack.extend(reversed(parts_of(t)))

    def chains(self, func: str, depth: int = MAX_CHAIN, seen: frozenset = frozenset()) -> list[tuple]:
        """Upward chains of call sites that bind ``func``'s parameters."""
        return self._memo(self._chains, (func, depth, seen), [()],
                          lambda: self._chains_of(func, depth, seen))

    def _chains_of(self, func: str, depth: int, seen: frozenset) -> list[tuple]:
        self.note(("callers", func), ("fn", func))
        out: list[tuple] = []
        sites = self.callers.get(func, [])
        if depth == 0 or not sites:
            out.append(())
        for site in sites:
            if site.caller in seen or site.caller == func:
                continue
            self.note(("fn", site.caller))
            callee = self.facts.functions.get(func)
            used = self.fn_params_used(func) | self._direct_params(func)
            needs = callee is not None and any(
                p.name in used and self.uses_params(a, site.caller)
                for p, a in zip(callee.params, site.args, strict=False))
            if needs:
                for rest in self.chains(site.caller, depth - 1, seen | {func}):
                    out.append((site, *rest))
                    if len(out) >= MAX_CHAINS:
                        break
            else:
                out.append((site,))
            if len(out) >= MAX_CHAINS:
                if () not in out:
                    out.append(())  # the callers left out: parameters unbound
                break
        if not out:
            out.append(())
        return out

    def _direct_params(self, func: str) -> set[str]:
        """Parameters a function's compares, stores and call arguments read."""
        return self._drive(self._ask(self._direct_request(func)))

    def _direct_request(self, func: str) -> tuple:
        return (self._fn_params, ("direct", func), set(), lambda: self._direct_reads(func))

    def _direct_reads(self, func: str):
        self.note(("fn", func))
        out: set[str] = set()
        for cmp in self.facts.compares:
            if cmp.func == func:
                yield from self._walk((cmp.left, cmp.right), func, out)
        for store in self.facts.stores:
            if store.func == func and store.value is not None:
                yield from self._walk(store.value, func, out)
        for site in self.facts.calls:
            if site.caller == func:
                callee = self.facts.functions.get(site.callee)
                if callee is None:
                    continue
                used = (yield self._returns_request(site.callee)) | (yield self._direct_request(site.callee))
                for p, a in zip(callee.params, site.args, strict=False):
                    if p.name in used:
                        yield from self._walk(a, func, out)
        return out

    # ---- values ----------------------------------------------------------

    def resolve(self, value: Value, func: str, ctx: _Ctx) -> list[Concrete]:
        if ctx.sites:
            # only as many callers as the value's parameters reach can matter:
            # cut the rest so that equal questions share one answer
            need = self._depth(value, func, ctx.sites)
            if need < len(ctx.sites):
                ctx = _Ctx(ctx.sites[:need], ctx.visiting)
        key = (id(value), func, ctx.key())
        if key in self._cache:
            self.note(("fn", func), *self._deps.get(key, ()))
            return self._cache[key]
        if self._nesting >= MAX_RESOLVE_DEPTH:
            self.note(BEYOND_LIMITS)
            return [Concrete({})]
        self._cache[key] = []  # recursion guard
        self._nesting += 1
        try:
            out, deps = self.tracked(lambda: self._resolve(value, func, ctx))
        finally:
            self._nesting -= 1
        self._deps[key] = deps | {("fn", func)}
        self.note(("fn", func))
        self._cache[key] = out
        self._keep.append(value)  # ids stay valid while memoized
        return out

    def _depth(self, value, func: str, sites: tuple) -> int:
        """How many of the call sites binding ``func``'s parameters a value
        depends on (0 when it reads no parameter)."""
        used = self.params_of(value, func)
        if not used or not sites:
            return 0
        info = self.facts.functions.get(func)
        site = sites[0]
        deeper = 0
        for p, arg in zip(info.params if info else [], site.args, strict=False):
            if p.name in used:
                deeper = max(deeper, self._depth(arg, site.caller, sites[1:]))
        return 1 + deeper

    def _resolve(self, value: Value, func: str, ctx: _Ctx) -> list[Concrete]:
        origins = sorted(value.origins(), key=lambda o: (o.kind, o.name, o.site, o.sub))
        per_origin = [self.resolve_origin(o, func, ctx) for o in origins]
        out: list[Concrete] = []
        dropped = False
        for combo in itertools.product(*per_origin):
            if any(alt.dropped for alt in combo):
                dropped = True
                continue
            env = dict(zip(origins, combo, strict=True))
            fields = {p: self.term(t, func, ctx, env) for p, t in value.fields.items()}
            producers: tuple = ()
            stores: tuple = ()
            for alt in combo:
                producers += alt.producers
                stores += alt.stores
            cond = states.conj(alt.cond for alt in combo)
            if cond is False:
                continue
            for fs, c in _split(fields, cond):
                out.append(Concrete(fs, producers, stores, env, cond=c))
            if len(out) >= MAX_ALTS:
                # more than can be followed: the rest may hold anything
                out.append(Concrete({}))
                break
        if not out and dropped:
            return [DROPPED]
        return _dedupe(out)

    def resolve_origin(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        if origin.kind == "param":
            return self._param(origin, func, ctx)
        if origin.kind == "call":
            return self._call(origin, func, ctx)
        if origin.kind == "load":
            return self._load(origin, func, ctx)
        if origin.kind == "phi":
            return self._phi(origin, func, ctx)
        return [Concrete({})]

    def _param(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        info = self.facts.functions.get(func)
        idx = info.param_index(origin.name) if info else None
        if not ctx.sites or idx is None or idx >= len(ctx.sites[0].args):
            return [Concrete({}, (), ())]  # unbound: terms become symbols
        site = ctx.sites[0]
        self.note(("fn", site.caller))
        arg = site.args[idx]
        if not isinstance(arg, Value):
            return [Concrete({})]
        out = []
        for c in self.resolve(arg, site.caller, ctx.parent()):
            if c.dropped:
                return [DROPPED]
            out.append(Concrete(c.fields, c.producers, c.stores,
                                tail=trail(node_of(site.step), param_node(func, origin.name),
                                           base=c.tail), cond=c.cond))
        return out or [Concrete({})]

    def _call(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        site = self.sites.get(origin.site)
        callee = self.facts.functions.get(origin.name)
        self.note(("fn", origin.name))
        if site is None or callee is None or len(ctx.sites) > 2 * MAX_CHAIN:
            return [Concrete({})]
        inner = ctx.push(site)
        out = []
        dropped = False
        for cond, value, rstep in callee.returns:
            when = self.path_cond(cond, origin.name, inner, {})
            if when is False:
                continue
            for c in self.resolve(value, origin.name, inner):
                if c.dropped:
                    dropped = True
                    continue
                out.append(Concrete(c.fields, ((origin.name, rstep.line), *c.producers), c.stores,
                                    tail=trail(node_of(rstep), ret_node(origin.name), base=c.tail),
                                    cond=states.conj((c.cond, when))))
        return _or_unknown(out, dropped)

    def _load(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        self.note(("slot", origin.name))
        if _BASE + origin.name in ctx.visiting:
            return [DROPPED]  # a role of this slot made from one of its own: not in the base
        if origin.name in ctx.visiting:
            # a role read back while resolving a store of its slot (a child
            # page's role from its parent's): the roles stored without that
            return self._base(origin, ctx.visiting)
        visiting = ctx.visiting | {origin.name}
        out = []
        for store in self.stores_seen(origin):
            out.extend(self.stored(store, visiting))
        kept = [c for c in out if not c.dropped]
        if origin.name not in self.page_slots():
            kept = [self._current(origin.name, c) for c in kept]
        return _or_unknown(_dedupe(kept), len(kept) < len(out))

    def _current(self, slot: str, c: Concrete) -> Concrete:
        """A role read from the MMU context is the one it holds now: the
        fields code tests elsewhere (``if (vcpu->arch.mmu->root_role.direct)``)
        have this configuration's values in the states it is read in."""
        lits = []
        for path in self.tested_fields().get(slot, ()):
            t = c.fields.get(path)
            if t is not None and t.kind == "const":
                lits.append(states.is_value(f"{slot}.{path}", int(t.value)))  # type: ignore[call-overload]
        return c.with_cond(states.conj(lits)) if lits else c

    def tested_fields(self) -> dict[str, set[str]]:
        got = self.__dict__.get("_tested")
        if got is None:
            got = self.__dict__["_tested"] = tested_fields(self.facts)
        return got

    def _base(self, origin: Origin, visiting: frozenset) -> list[Concrete]:
        """The configurations the stores a load meets write without reading
        a role of the slot again: what a role derived from a stored one
        (``role = parent_sp->role; role.level--;``) starts from."""
        seen = self.stores_seen(origin)
        # a parent page is one the same store made (a child of a TDP MMU
        # root is made from that root's role, a shadow page's from a shadow
        # page); a role made only from others' (the EPT role from the root
        # MMU's) starts from those
        own = [s for s in seen if f"{_STORE}{s.id}" in visiting]
        for stores in ((own, seen) if own else (seen,)):
            got = self._base_of(origin.name, stores, visiting)
            if not (len(got) == 1 and got[0].dropped):
                return got
        return got

    def _base_of(self, slot: str, stores: list[Store], visiting: frozenset) -> list[Concrete]:
        key = ("base", slot, tuple(s.id for s in stores), visiting)

        def compute() -> list[Concrete]:
            inner = visiting | {_BASE + slot}
            out = []
            for store in stores:
                out.extend(self.stored(store, inner))
            kept = [c for c in out if not c.dropped]
            return _or_unknown(_dedupe(kept), len(kept) < len(out))

        return self._memo(self._reach, key, [Concrete({})], compute)

    def stored(self, store: Store, visiting: frozenset = frozenset()) -> list[Concrete]:
        """The configurations a whole store writes, one chain of callers at a
        time: under the store's path condition and its callers' (``where``),
        with the partial stores that follow it applied."""
        value = store.value
        if value is None:
            return []
        if self.uses_params(value, store.func):
            chains = self.chains(store.func)
        elif any(self._caller_partials(store, site) for site in self.callers.get(store.func, [])):
            chains = [(site,) for site in self.callers[store.func]]
        else:
            chains = [()]
        out = []
        visiting = visiting | {f"{_STORE}{store.id}"}
        for chain in chains:
            ctx = _Ctx(chain, visiting)
            where = states.conj((self.path_cond(store.cond, store.func, ctx, {}),
                                 self.chain_cond(chain, store.func)))
            if where is False:
                continue
            later = self._own_partials(store)
            caller = self._caller_partials(store, chain[0]) if chain else []
            for c in self.resolve(value, store.func, ctx):
                if c.dropped:
                    out.append(c)
                    continue
                if later:
                    c = self._apply(c, later, store.func, ctx, c.env)
                if caller:
                    c = self._apply(c, caller, chain[0].caller, _Ctx(chain[1:], visiting), {})
                tag = (store.id, tuple(s.id for s in chain))
                out.append(Concrete(c.fields, c.producers, (*c.stores, tag),
                                    tail=trail(node_of(store.step), slot_node(store.slot),
                                               base=c.tail),
                                    cond=states.conj((c.cond, where))))
        return out

    def page_slots(self) -> frozenset[str]:
        """The slots whose stores put roles into pages: a store through a
        pointer the containers follow (``sp->role = role``, not the MMU
        context's ``root_role``)."""
        got = self.__dict__.get("_page_slots")
        if got is None:
            got = frozenset(s.slot for slot in self.stores.values() for s in slot
                            if self.pages is not None and self.pages.of(s.func, store_via(s)))
            self.__dict__["_page_slots"] = got
        return got

    def stores_seen(self, origin: Origin) -> list:
        """The stores of a load's slot whose pages can be in a container the
        load reads (every store where either side's containers are unknown)."""
        stores = self.stores.get(origin.name, [])
        if self.pages is None:
            return stores
        reads = self.pages.of(origin.func, origin.via)
        if not reads:
            return stores
        return [s for s in stores
                if not (fills := self.pages.of(s.func, store_via(s))) or fills & reads]

    def _phi(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        phi = self.facts.phis.get(origin.site)
        if phi is None:
            return [Concrete({})]
        out = []
        dropped = False
        for cond, value in phi.alternatives:
            when = self.path_cond(cond, func, ctx, {})
            if when is False:
                continue
            for c in self.resolve(value, func, ctx):
                if c.dropped:
                    dropped = True
                    continue
                out.append(Concrete(c.fields, c.producers, c.stores,
                                    tail=trail(node_of(phi.step), base=c.tail),
                                    cond=states.conj((c.cond, when))))
        return _or_unknown(out, dropped)

    # ---- partial stores ----------------------------------------------------

    def _own_partials(self, store: Store) -> list[Store]:
        """Partial stores through the same pointer after a whole store, in
        its function, before the next whole store there."""
        got = self._effective.get(store.id)
        if got is None:
            via = store_via(store)
            nexts = [s.step.line for s in self.stores.get(store.slot, [])
                     if s.func == store.func and s.step.line > store.step.line and store_via(s) == via]
            stop = min(nexts, default=1 << 30)
            got = [p for p in self.partials.get((store.func, store.slot), [])
                   if store.step.line < p.step.line < stop and store_via(p) == via]
            self._effective[store.id] = got
        return got

    def _caller_partials(self, store: Store, site: CallSite) -> list[Store]:
        """Partial stores in the caller after the call, through a pointer
        to the page the store wrote (the containers say they meet)."""
        key = (store.id, site.id)
        got = self._effective.get(key)
        if got is None:
            got = []
            if self.pages is not None:
                fills = self.pages.of(store.func, store_via(store))
                for p in self.partials.get((site.caller, store.slot), []):
                    if p.step.line > site.step.line and fills & self.pages.of(p.func, store_via(p)):
                        got.append(p)
            self._effective[key] = got
        return got

    def _apply(self, c: Concrete, partials: list[Store], func: str, ctx: _Ctx, env: dict) -> Concrete:
        """``c`` with the fields the partial stores write replaced."""
        self.note(("fn", func))
        fields = dict(c.fields)
        for p in partials:
            here = node_of(p.step)
            prefix = p.path.rsplit(".word", 1)[0] if p.path.endswith("word") else p.path
            prefix = "" if prefix == "word" else prefix
            under = [f for f in fields if not prefix or f == prefix or f.startswith(prefix + ".")]
            if isinstance(p.part, Value):
                for f in under:
                    rel = f[len(prefix) + 1:] if prefix else f
                    t = p.part.fields.get(rel)
                    if t is not None:
                        fields[f] = _forced(self.term(t, func, ctx, env), here)
            elif isinstance(p.part, Mask):  # ``.word &= m``
                mask, inverted = p.part.value, p.part.inverted
                for f in under:
                    rel = f[len(prefix) + 1:] if prefix else f
                    bit = mask.fields.get(rel) if mask is not None else None
                    if not isinstance(bit, Const):
                        fields[f] = RTerm("unknown", "masked", trace=_t(here))
                    elif bool(bit.value) == inverted:
                        fields[f] = RTerm("const", 0, forced=True, trace=_t(here))
            elif p.path in fields:
                fields[p.path] = _forced(self.term(p.part, func, ctx, env), here)
        return Concrete(fields, c.producers, c.stores, c.env, c.tail, c.cond)

    # ---- path conditions ---------------------------------------------------

    def chain_cond(self, chain: tuple, func: str) -> object:
        """Where a chain of call sites runs: the path condition of each call
        site in its caller, and where the chain's last caller is reached."""
        def compute():
            parts = []
            for i, site in enumerate(chain):
                self.note(("fn", site.caller))
                parts.append(self.path_cond(site.cond, site.caller, _Ctx(chain[i + 1:]), {}))
            parts.append(self.reach(chain[-1].caller if chain else func))
            return states.conj(parts)

        return self._memo(self._reach, ("chain", tuple(s.id for s in chain), func), True, compute)

    def reach(self, func: str, depth: int = REACH_DEPTH, seen: frozenset = frozenset()) -> object:
        """Where ``func`` is called: the disjunction of its call sites' path
        conditions, with where their callers are reached (``depth`` callers
        up; True beyond, or where a caller is reached unconditionally)."""
        def compute():
            self.note(("callers", func))
            sites = self.callers.get(func, [])
            if depth <= 0 or not sites:
                return True
            parts = []
            for site in sites:
                if site.caller == func or site.caller in seen:
                    return True
                self.note(("fn", site.caller))
                here = self.path_cond(site.cond, site.caller, _Ctx(), {})
                parts.append(states.conj((here, self.reach(site.caller, depth - 1, seen | {func}))))
                if parts[-1] is True:
                    return True
            return states.disj(parts)

        return self._memo(self._reach, ("reach", func, depth, seen), True, compute)

    def path_cond(self, c, func: str, ctx: _Ctx, env: dict) -> object:
        """The states where the path condition ``c`` can hold (a loop or
        switch body may run or not: either way)."""
        if c is TRUE:
            return True
        ft, ff = self.formulas(c, func, ctx, env)
        return states.disj((ft, ff))

    def cond(self, c, func: str, ctx: _Ctx, env: dict):
        """True, False or None (cannot tell)."""
        ft, ff = self.formulas(c, func, ctx, env)
        if ft is True and ff is True:
            return True
        if ft is False and ff is False:
            return False
        return None

    def formulas(self, c, func: str, ctx: _Ctx, env: dict) -> tuple:
        """The condition as formulas of guest state, if the loop and switch
        bodies it rests on run and if they do not."""
        hit = [False]
        ft = self._formula(c, func, ctx, env, True, hit)
        if not hit[0]:
            return ft, ft
        return ft, self._formula(c, func, ctx, env, False, [False])

    def _formula(self, c, func: str, ctx: _Ctx, env: dict, loops: bool, hit: list):
        if isinstance(c, And):
            return states.conj(self._formula(p, func, ctx, env, loops, hit) for p in c.parts)
        if isinstance(c, Or):
            return states.disj(self._formula(p, func, ctx, env, loops, hit) for p in c.parts)
        if isinstance(c, Not):
            return states.neg(self._formula(c.cond, func, ctx, env, loops, hit))
        if isinstance(c, Truthy):
            return self._truth(self.term(c.term, func, ctx, env), loops, hit)
        if isinstance(c, Eq):
            return self._equal(self.term(c.left, func, ctx, env), self.term(c.right, func, ctx, env),
                               loops, hit)
        if isinstance(c, OpaqueCond) and c.text not in _ANY_CONDS and not _ROLE_COMPARE.search(c.text):
            got = self.value_of(c.text)
            return bool(got) if got is not None else states.truthy(c.text)
        hit[0] = True
        return loops

    def _truth(self, r: RTerm, loops: bool, hit: list):
        if r.kind == "const":
            return bool(r.value)
        if r.kind in ("named", "opaque", "symbol"):
            return states.truthy(str(r.value))
        if r.kind == "ite":
            then_c, else_c, a, b = r.value
            return states.disj((states.conj((then_c, self._truth(a, loops, hit))),
                                states.conj((else_c, self._truth(b, loops, hit)))))
        hit[0] = True
        return loops

    def _equal(self, a: RTerm, b: RTerm, loops: bool, hit: list):
        for x, y in ((a, b), (b, a)):
            if x.kind == "ite":
                then_c, else_c, t, e = x.value
                return states.disj((states.conj((then_c, self._equal(t, y, loops, hit))),
                                    states.conj((else_c, self._equal(e, y, loops, hit)))))
        return equal_formula(a, b, lambda: _any(loops, hit))

    # ---- terms -----------------------------------------------------------

    def value_of(self, text: str) -> int | None:
        """The integer a constant expression of the tree's macros is, if it is one."""
        memo = self.__dict__.setdefault("_values", {})
        if text not in memo:
            memo[text] = evaluate(text, self.constants)
        return memo[text]

    def term(self, t, func: str, ctx: _Ctx, env: dict) -> RTerm:
        st = t.step if type(t) is Ref else step_of(t)
        here = (st.__dict__.get("_node") or node_of(st)) if st.line else None
        if type(t) is Ref:  # the common case first, extended inline
            alt = env.get(t.origin)
            got = alt.fields.get(t.path) if alt is not None else None
            if got is None:
                return RTerm("symbol", f"{t.origin.name}.{t.path}", trace=_t(here))
            trace = trail_cat(got[5], alt.tail)
            if here is not None and trail_last(trace) != here:
                trace = (trace, here)
            if trace is got[5]:
                return got
            return _tuple_new(RTerm, (got[0], got[1], got[2], got[3], got[4], trace, got[6]))
        if isinstance(t, Const):
            return RTerm("const", t.value, forced=st.kind in _FORCING, trace=_t(here))
        if isinstance(t, Named):
            value = self.constants.get(t.name)
            if value is not None:
                return RTerm("const", value, forced=st.kind in _FORCING, trace=_t(here))
            return RTerm("named", t.name, forced=st.kind in _FORCING, trace=_t(here))
        if isinstance(t, Opaque):
            if t.text.startswith("masked("):  # a mask the analysis could not read
                return RTerm("unknown", t.text, trace=_t(here))
            value = self.value_of(t.text)
            if value is not None:  # ACC_WRITE_MASK|ACC_USER_MASK
                return RTerm("const", value, forced=st.kind in _FORCING, trace=_t(here))
            return RTerm("opaque", t.text, trace=_t(here))
        if isinstance(t, Unknown):
            return RTerm("unknown", t.why, trace=_t(here))
        if isinstance(t, Scalar):
            return self._scalar(t, func, ctx, here)
        if isinstance(t, Ite):
            ft, ff = self.formulas(t.cond, func, ctx, env)
            if ft is True and ff is True:
                got = self.term(t.then, func, ctx, env)
                return RTerm(got.kind, got.value, got.forced, got.guard + self.guard_of(t.cond, func, ctx, env),
                             got.via_param, got.trace,
                             trail_cat(got.guard_trace, self.cond_trace(t.cond, func, ctx, env)))
            if ft is False and ff is False:
                return self.term(t.other, func, ctx, env)
            a = self.term(t.then, func, ctx, env)
            b = self.term(t.other, func, ctx, env)
            if a.kind == b.kind and a.value == b.value:
                return a
            flag = _as_flag(ft, ff, a, b)
            if flag is not None:  # `x ? 1 : 0` is `!!x`
                return RTerm("opaque", flag, trace=a.trace)
            if a.forced:  # the override's guard, undecided here
                a = RTerm(a.kind, a.value, a.forced, a.guard + _guard_fields(t.cond), a.via_param,
                          a.trace, a.guard_trace)
            return RTerm("ite", (states.disj((ft, ff)), states.disj((states.neg(ft), states.neg(ff))),
                                 a, b), trace=a.trace)
        return RTerm("unknown", "?", trace=_t(here))

    def _scalar(self, t: Scalar, func: str, ctx: _Ctx, here) -> RTerm:
        info = self.facts.functions.get(t.func)
        idx = info.param_index(t.name) if info else None
        if t.func != func or not ctx.sites or idx is None or idx >= len(ctx.sites[0].args):
            # an unbound parameter: one value of state per function
            return RTerm("symbol", f"{t.func}:{t.name}", trace=_t(here))
        site = ctx.sites[0]
        self.note(("fn", site.caller))
        arg = site.args[idx]
        if isinstance(arg, Value):
            return RTerm("unknown", "role passed as scalar", trace=_t(here))
        got = self.term(arg, site.caller, ctx.parent(), {})
        got = got.extend(node_of(site.step), param_node(func, t.name), here)
        # a call-site constant written over a copied role (``role.direct =
        # direct``) is forced there, as an override is
        forced = got.forced or (got.kind == "const" and t.step.kind in _FORCING)
        return RTerm(got.kind, got.value, forced, got.guard, True, got.trace, got.guard_trace)

    def cond_trace(self, c, func: str, ctx: _Ctx, env: dict) -> tuple:
        """Graph nodes carrying the values a decided guard rested on."""
        if isinstance(c, Truthy):
            return self.term(c.term, func, ctx, env).trace
        if isinstance(c, Not):
            return self.cond_trace(c.cond, func, ctx, env)
        if isinstance(c, And | Or):
            out: tuple = ()
            for p in c.parts:
                out = trail_cat(out, self.cond_trace(p, func, ctx, env))
            return out
        if isinstance(c, Eq):
            return trail_cat(self.term(c.left, func, ctx, env).trace,
                              self.term(c.right, func, ctx, env).trace)
        return ()

    def guard_of(self, c, func: str, ctx: _Ctx, env: dict) -> tuple:
        """Role fields a decided guard tested, with the values that held."""
        if isinstance(c, Truthy) and c.path:
            r = self.term(c.term, func, ctx, env)
            if r.kind == "const":
                return ((c.path, r.value),)
        if isinstance(c, Not) and isinstance(c.cond, Truthy) and c.cond.path:
            r = self.term(c.cond.term, func, ctx, env)
            if r.kind == "const":
                return ((c.cond.path, r.value),)
        if isinstance(c, And):
            out: tuple = ()
            for p in c.parts:
                out += self.guard_of(p, func, ctx, env)
            return out
        return ()


# step kinds whose constant is forced on a copied role: an override, a mask,
# a partial store into a slot
_FORCING = ("override", "mask", "store")


def equal_formula(a: RTerm, b: RTerm, undecided=lambda: None):
    """The states where two resolved scalar terms are equal: True, False, a
    formula, or ``undecided()`` (an unknown term)."""
    if a.kind == "unknown" or b.kind == "unknown":
        return undecided()
    if a.kind == "const" and b.kind == "const":
        return a.value == b.value
    if a.kind == "const" or b.kind == "const":
        c, x = (a, b) if a.kind == "const" else (b, a)
        return states.is_value(str(x.value), int(c.value))  # type: ignore[call-overload]
    got = states.same(str(a.value), str(b.value))
    if got is not None:
        return got
    x, y = sorted((str(a.value), str(b.value)))
    return states.is_value(f"({x})==({y})", 1)


def tested_fields(facts: Facts) -> dict[str, set[str]]:
    """slot -> the fields of it that the conditions of calls, stores and
    returns test (``if (vcpu->arch.mmu->root_role.direct)``)."""
    got: dict[str, set[str]] = {}
    conds = [c.cond for c in facts.calls] + [s.cond for s in facts.stores]
    conds += [c for info in facts.functions.values() for c, _v, _st in info.returns]
    for c in conds:
        for o, path in _tested_refs(c):
            got.setdefault(o.name, set()).add(path)
    return got


def _tested_refs(c) -> list[tuple[Origin, str]]:
    """(load origin, field path) of the slot fields a condition tests."""
    out: list[tuple[Origin, str]] = []
    stack = [c]
    while stack:
        x = stack.pop()
        if isinstance(x, Truthy):
            stack.append(x.term)
        elif isinstance(x, Not):
            stack.append(x.cond)
        elif isinstance(x, And | Or):
            stack.extend(x.parts)
        elif isinstance(x, Eq):
            stack.extend((x.left, x.right))
        elif isinstance(x, Ref) and x.origin.kind == "load":
            out.append((x.origin, x.path))
    return out


def _as_flag(ft, ff, a: RTerm, b: RTerm) -> str | None:
    """The text of ``c ? 1 : 0`` (or ``c ? 0 : 1``) as a flag of the
    expression ``c``: ``!!c`` (``!c``), when ``c`` is one atom."""
    if ft != ff or a.kind != "const" or b.kind != "const" or {a.value, b.value} != {0, 1}:
        return None
    if isinstance(ft, tuple) and ft[0] == "not" and ft[1][0] == "eq" and ft[1][2] == 0:
        atom, truth = ft[1][1], True
    elif isinstance(ft, tuple) and ft[0] == "eq" and ft[2] == 0:
        atom, truth = ft[1], False
    else:
        return None
    return f"!!{atom}" if (a.value == 1) == truth else f"!{atom}"


def _any(loops: bool, hit: list) -> bool:
    hit[0] = True
    return loops


def _guard_fields(c) -> tuple:
    """The role fields a guard tests, with no value (undecided)."""
    if isinstance(c, Truthy) and c.path:
        return ((c.path, None),)
    if isinstance(c, Not):
        return _guard_fields(c.cond)
    if isinstance(c, And | Or):
        out: tuple = ()
        for p in c.parts:
            out += _guard_fields(p)
        return out
    return ()


def _forced(t: RTerm, here) -> RTerm:
    """A term a partial store writes: forced, traced from the store."""
    trace = t.trace if trail_last(t.trace) == here else trail(here, base=t.trace)
    return RTerm(t.kind, t.value, True, t.guard, t.via_param, trace, t.guard_trace)


def _split(fields: dict[str, RTerm], cond, depth: int = 0) -> list[tuple[dict, object]]:
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
        out.extend(_split(fs, c, depth + 1))
    return out


DROPPED = Concrete({}, dropped=True)


def _or_unknown(out: list[Concrete], dropped: bool) -> list[Concrete]:
    """The configurations found; when there are none, DROPPED if some were
    left out of a base, else one configuration of unknown values."""
    if out:
        return out
    return [DROPPED] if dropped else [Concrete({})]


def store_via(store) -> str:
    """The pointer a store writes through: ``sp`` in ``sp->role = role``."""
    from analyzer.facts import normalize_expr

    text = normalize_expr(store.step.text.split("=", 1)[0])
    cut = max(text.rfind("->" + store.slot), text.rfind("." + store.slot))
    return text[:cut] if cut > 0 else text


def _t(node) -> tuple:
    return trail(node)


def _dedupe(items: list[Concrete]) -> list[Concrete]:
    """One configuration per value: those that differ only in the condition
    they hold under are one, holding under either."""
    at: dict = {}
    out: list[Concrete] = []
    for c in items:
        # fields come in the role type's leaf order, so no sorting is needed;
        # t[:5] is (kind, value, forced, guard, via_param): the trace is not
        # part of what a value is
        key = (tuple(c.fields), tuple(t[:5] for t in c.fields.values()), c.dropped,
               tuple(sid for sid, _chain in c.stores))
        i = at.get(key)
        if i is None:
            at[key] = len(out)
            out.append(c)
        elif out[i].cond is not True:
            first = out[i]
            out[i] = Concrete(first.fields, first.producers, first.stores, first.env, first.tail,
                              states.disj((first.cond, c.cond)), first.dropped)
    return out
