"""Resolve role values across functions.

A value in a function is made of terms that may read the function's
parameters, the results of calls and loads of slots. Resolving it walks the
role-flow graph backwards: parameters to the arguments of each call site
(upward, choosing a chain of call sites), call results to the callee's
returns (downward, with the call site's arguments bound), loads to every store
of the slot. Each way through gives one ``Concrete`` value: a field map of
resolved terms, each with the graph path that carried it, plus the producers
and the context stores it came through (what the check pairs values by).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

from analyzer.facts import CallSite, Facts
from analyzer.nodes import node_of, param_node, ret_node, slot_node
from analyzer.terms import (
    And,
    Const,
    Eq,
    Ite,
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
MAX_ALTS = 96
# Values resolved inside one another (through calls, parameters, loads and
# phis): each costs about ten Python frames. Past it a value is left
# unresolved, and what depends on that is marked with the dependency
# BEYOND_LIMITS (the comparison is then reported as not analyzed). Each
# function's own values are bounded (analyzer.terms); this bounds their
# chains across functions. KVM's need 10.
MAX_RESOLVE_DEPTH = 48
BEYOND_LIMITS = ("limits",)


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

    kind: const (value int), named (macro name), opaque (expression text),
    symbol (a load or parameter we could not follow), unknown, mixed (a guard
    we could not decide). ``forced``: set by an override after a copy or by a
    mask. ``guard``: role fields (leaf, value) the override was conditional
    on. ``via_param``: taken from a call-site argument. ``trace``: a trail
    (see ``trail``) of graph nodes from the definition to the value's use;
    ``guard_trace``: where the values that decided the guard come from."""

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
        if self.kind == "mixed":
            return f"either {self.value}"
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
    fields: dict[str, RTerm]
    producers: tuple = ()
    stores: tuple = ()  # (store id, chain of call-site ids) passed, innermost first
    env: dict = field(default_factory=dict, compare=False, repr=False)  # origin -> alternative
    # graph nodes every field's trace goes on with (a call, a store...): kept
    # once here instead of extending each field; ``term`` joins them
    tail: tuple = ()

    def primary_producer(self, facts: Facts) -> tuple | None:
        """The first producer on the way that writes fields, with the return
        the value left it by (two returns of one producer are two
        configurations, e.g. paging on and off)."""
        got = self.__dict__.get("_primary", False)
        if got is not False:
            return got
        got = None
        for name, line in self.producers:
            info = facts.functions.get(name)
            if info is not None and info.defines_fields:
                got = (name, line)
                break
        self.__dict__["_primary"] = got  # asked for every pair: answer once
        return got

    def context_store(self):
        """The store closest to the producer (stores are listed innermost
        first): the MMU-context role both sides came through, if any."""
        return self.stores[0] if self.stores else None


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
    callers: dict[str, list[CallSite]] = field(default_factory=dict)
    stores: dict[str, list] = field(default_factory=dict)
    sites: dict[int, CallSite] = field(default_factory=dict)
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
        for combo in itertools.product(*per_origin):
            env = dict(zip(origins, combo, strict=True))
            fields = {p: self.term(t, func, ctx, env) for p, t in value.fields.items()}
            producers: tuple = ()
            stores: tuple = ()
            for alt in combo:
                producers += alt.producers
                stores += alt.stores
            out.append(Concrete(fields, producers, stores, env))
            if len(out) >= MAX_ALTS:
                break
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
            out.append(Concrete(c.fields, c.producers, c.stores,
                                tail=trail(node_of(site.step), param_node(func, origin.name),
                                           base=c.tail)))
        return out or [Concrete({})]

    def _call(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        site = self.sites.get(origin.site)
        callee = self.facts.functions.get(origin.name)
        self.note(("fn", origin.name))
        if site is None or callee is None or len(ctx.sites) > 2 * MAX_CHAIN:
            return [Concrete({})]
        inner = ctx.push(site)
        out = []
        for cond, value, rstep in callee.returns:
            if self.cond(cond, origin.name, inner, {}) is False:
                continue
            for c in self.resolve(value, origin.name, inner):
                out.append(Concrete(c.fields, ((origin.name, rstep.line), *c.producers), c.stores,
                                    tail=trail(node_of(rstep), ret_node(origin.name), base=c.tail)))
        return out or [Concrete({})]

    def _load(self, origin: Origin, func: str, ctx: _Ctx) -> list[Concrete]:
        self.note(("slot", origin.name))
        if origin.name in ctx.visiting:
            return [Concrete({})]
        visiting = ctx.visiting | {origin.name}
        out = []
        for store in self.stores_seen(origin):
            value = store.value
            chains = self.chains(store.func) if self.uses_params(value, store.func) else [()]
            for chain in chains:
                for c in self.resolve(value, store.func, _Ctx(chain, visiting)):
                    tag = (store.id, tuple(s.id for s in chain))
                    out.append(Concrete(c.fields, c.producers, (*c.stores, tag),
                                        tail=trail(node_of(store.step), slot_node(origin.name),
                                                   base=c.tail)))
        return _dedupe(out) or [Concrete({})]

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
        for cond, value in phi.alternatives:
            if self.cond(cond, func, ctx, {}) is False:
                continue
            for c in self.resolve(value, func, ctx):
                out.append(Concrete(c.fields, c.producers, c.stores,
                                    tail=trail(node_of(phi.step), base=c.tail)))
        return out or [Concrete({})]

    # ---- terms -----------------------------------------------------------

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
            return RTerm("const", t.value, forced=st.kind in ("override", "mask"), trace=_t(here))
        if isinstance(t, Named):
            return RTerm("named", t.name, forced=st.kind in ("override", "mask"), trace=_t(here))
        if isinstance(t, Opaque):
            return RTerm("opaque", t.text, trace=_t(here))
        if isinstance(t, Unknown):
            return RTerm("unknown", t.why, trace=_t(here))
        if isinstance(t, Scalar):
            return self._scalar(t, func, ctx, here)
        if isinstance(t, Ref):
            alt = env.get(t.origin)
            got = alt.fields.get(t.path) if alt is not None else None
            if got is None:
                return RTerm("symbol", f"{t.origin.name}.{t.path}", trace=_t(here))
            return got.extend(here) if here != got.last_node() else got
        if isinstance(t, Ite):
            decided = self.cond(t.cond, func, ctx, env)
            if decided is True:
                got = self.term(t.then, func, ctx, env)
                return RTerm(got.kind, got.value, got.forced, got.guard + self.guard_of(t.cond, func, ctx, env),
                             got.via_param, got.trace,
                             trail_cat(got.guard_trace, self.cond_trace(t.cond, func, ctx, env)))
            if decided is False:
                return self.term(t.other, func, ctx, env)
            a = self.term(t.then, func, ctx, env)
            b = self.term(t.other, func, ctx, env)
            if a.kind == b.kind and a.value == b.value:
                return a
            return RTerm("mixed", f"{a.describe()} or {b.describe()}", trace=a.trace)
        return RTerm("unknown", "?", trace=_t(here))

    def _scalar(self, t: Scalar, func: str, ctx: _Ctx, here) -> RTerm:
        info = self.facts.functions.get(t.func)
        idx = info.param_index(t.name) if info else None
        if t.func != func or not ctx.sites or idx is None or idx >= len(ctx.sites[0].args):
            return RTerm("symbol", t.name, trace=_t(here))
        site = ctx.sites[0]
        self.note(("fn", site.caller))
        arg = site.args[idx]
        if isinstance(arg, Value):
            return RTerm("unknown", "role passed as scalar", trace=_t(here))
        got = self.term(arg, site.caller, ctx.parent(), {})
        got = got.extend(node_of(site.step), param_node(func, t.name), here)
        return RTerm(got.kind, got.value, got.forced, got.guard, True, got.trace, got.guard_trace)

    def cond(self, c, func: str, ctx: _Ctx, env: dict):
        """True, False or None (cannot tell)."""
        if isinstance(c, And):
            vals = [self.cond(p, func, ctx, env) for p in c.parts]
            if any(v is False for v in vals):
                return False
            return True if all(v is True for v in vals) else None
        if isinstance(c, Or):
            vals = [self.cond(p, func, ctx, env) for p in c.parts]
            if any(v is True for v in vals):
                return True
            return False if all(v is False for v in vals) else None
        if isinstance(c, Not):
            v = self.cond(c.cond, func, ctx, env)
            return None if v is None else not v
        if isinstance(c, Truthy):
            r = self.term(c.term, func, ctx, env)
            return bool(r.value) if r.kind == "const" else None
        if isinstance(c, Eq):
            a = self.term(c.left, func, ctx, env)
            b = self.term(c.right, func, ctx, env)
            if a.kind == b.kind and a.kind in ("const", "named"):
                return a.value == b.value
            return None
        if isinstance(c, OpaqueCond):
            return None
        return None

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


def store_via(store) -> str:
    """The pointer a store writes through: ``sp`` in ``sp->role = role``."""
    from analyzer.facts import normalize_expr

    text = normalize_expr(store.step.text.split("=", 1)[0])
    cut = max(text.rfind("->" + store.slot), text.rfind("." + store.slot))
    return text[:cut] if cut > 0 else text


def _t(node) -> tuple:
    return trail(node)


def _dedupe(items: list[Concrete]) -> list[Concrete]:
    seen: set = set()
    out = []
    for c in items:
        # fields come in the role type's leaf order, so no sorting is needed;
        # t[:5] is (kind, value, forced, guard, via_param): the trace is not
        # part of what a value is
        key = (tuple(c.fields), tuple(t[:5] for t in c.fields.values()),
               c.producers[:1], c.stores[:1])
        if key in seen:
            continue
        seen.add(key)
        out.append(c)
    return out
