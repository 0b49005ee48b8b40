"""The Resolver: a value of a function into its configurations, through the
origins it reads. It holds the indexes of the facts and the parts that do
the work, each with its own memo: ``Deps`` (what a result read), ``Params``,
``Terms``, ``Conditions``, ``Chains``, ``Partials`` and ``Loads``."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from analyzer import states
from analyzer.facts import CallSite, Facts, Store
from analyzer.flow import argument, returned
from analyzer.nodes import node_of
from analyzer.record import field, record
from analyzer.resolve.chains import Chains
from analyzer.resolve.conditions import Conditions
from analyzer.resolve.configs import (
    BEYOND_LIMITS,
    DROPPED,
    MAX_ALTS,
    MAX_CHAIN,
    MAX_RESOLVE_DEPTH,
    NO_ENV,
    Concrete,
    Ctx,
    Env,
    dedupe,
    or_unknown,
    split,
)
from analyzer.resolve.deps import Deps
from analyzer.resolve.loads import Loads
from analyzer.resolve.params import Params
from analyzer.resolve.partials import Partials
from analyzer.resolve.term import Terms
from analyzer.resolve.trails import hop, trail, trail_last
from analyzer.terms import Origin, Ref, Value


def copy_node(value: Value, origins: list[Origin]):
    """The graph node where ``value`` copies its one origin whole (every
    field the origin's field of the same path, read at one step): None when
    that step has no node; False when ``value`` is not such a copy."""
    if len(origins) != 1 or not value.fields:
        return False
    origin = origins[0]
    step = None
    for p, t in value.fields.items():
        if type(t) is not Ref or t.origin != origin or t.path != p:
            return False
        if step is None:
            step = t.step
        elif t.step is not step:
            return False
    if not step.line:
        return None
    return step.__dict__.get("_node") or node_of(step)


@record
class Resolver:
    facts: Facts
    pages: object = None  # containers.PageFlow: which stores a load can meet
    constants: dict[str, int] = field(default_factory=dict)  # macro name -> value
    callers: dict[str, list[CallSite]] = field(default_factory=dict)
    stores: dict[str, list] = field(default_factory=dict)
    sites: dict[int, CallSite] = field(default_factory=dict)
    partials: dict[tuple[str, str], list[Store]] = field(default_factory=dict)  # (func, slot)
    _cache: dict = field(default_factory=dict)
    _deps: dict = field(default_factory=dict)  # resolve key -> what it read
    _keep: list = field(default_factory=list)
    _nesting: int = 0  # resolve() calls running, one inside the other

    def __post_init__(self) -> None:
        for site in self.facts.calls:
            self.callers.setdefault(site.callee, []).append(site)
            self.sites[site.id] = site
        for store in self.facts.stores:
            if store.value is not None:
                self.stores.setdefault(store.slot, []).append(store)
            elif store.part is not None:
                self.partials.setdefault((store.func, store.slot), []).append(store)
        self.tracker = Deps()
        self.params = Params(self.facts, self.sites, self.tracker)
        self.terms = Terms(self.facts, self.constants, self.tracker)
        self.conds = self.terms.conds = Conditions(self.terms)
        self.callchains = Chains(self.facts, self.callers, self.params, self.conds, self.tracker)
        self.partial_stores = Partials(self.stores, self.partials, self.pages, self.terms, self.tracker)
        self.loads = Loads(self.facts, self.stores, self.callers, self.pages, self.resolve,
                           (self.params, self.callchains, self.conds, self.partial_stores, self.tracker))

    def release(self) -> None:
        """Drop everything memoized, now. The parts refer back to the
        Resolver (Loads resolves through it, Terms and Conditions through
        each other, checks keep state on it), so what it memoized would
        otherwise wait for the cyclic collector, which a long ``git`` run
        calls rarely (``cli.GC_THRESHOLDS``): 2.5 MB a commit. The
        Resolver cannot be used after this."""
        self.terms.conds = None
        self.__dict__.clear()

    # ---- the questions checks ask, answered by the parts ----------------

    def note(self, *deps) -> None:
        self.tracker.note(*deps)

    def tracked(self, fn):
        """Run ``fn``; return its result and the facts it read."""
        return self.tracker.tracked(fn)

    def _memo(self, table: dict, key, guard, compute):
        return self.tracker.memo(table, key, guard, compute)

    def uses_params(self, value, func: str) -> bool:
        return self.params.uses(value, func)

    def chains(self, func: str) -> list[tuple]:
        return self.callchains.chains(func)

    def chain_cond(self, chain: tuple, func: str) -> object:
        return self.callchains.chain_cond(chain, func)

    def path_cond(self, c, func: str, ctx: Ctx, env: Mapping) -> object:
        return self.conds.path_cond(c, func, ctx, env)

    def page_slots(self) -> frozenset[str]:
        return self.loads.page_slots()

    # ---- values ----------------------------------------------------------

    def resolve(self, value: Value, func: str, ctx: Ctx) -> list[Concrete]:
        """The configurations of ``value``; their fields' traces go on with
        each one's ``tail`` (``configs.traced`` joins them)."""
        if ctx.sites:
            # only as many callers as the value's parameters reach can matter:
            # cut the rest so that equal questions share one answer
            need = self.params.depth(value, func, ctx.sites)
            if need < len(ctx.sites):
                ctx = Ctx(ctx.sites[:need], ctx.visiting)
        key = (id(value), func, ctx.key())
        note = self.tracker.note
        if key in self._cache:
            note(("fn", func), *self._deps.get(key, ()))
            return self._cache[key]
        if self._nesting >= MAX_RESOLVE_DEPTH:
            note(BEYOND_LIMITS)
            return [Concrete({})]
        self._cache[key] = []  # recursion guard
        self._nesting += 1
        try:
            out, deps = self.tracker.tracked(lambda: self._resolve(value, func, ctx))
        finally:
            self._nesting -= 1
        own = ("fn", func)
        self._deps[key] = deps if own in deps else self.tracker.frozen(deps | {own})
        note(("fn", func))
        self._cache[key] = out
        self._keep.append(value)  # ids stay valid while memoized
        return out

    def _resolve(self, value: Value, func: str, ctx: Ctx) -> list[Concrete]:
        origins = tuple(sorted(value.origins(), key=lambda o: (o.kind, o.name, o.site, o.sub)))
        per_origin = [self.resolve_origin(o, func, ctx) for o in origins]
        # a value that copies its one origin whole (``role = parent->role``)
        # shares the origin's fields, the copy added to the tail instead of
        # to every field's trace (where the tail is empty, each field's
        # trace ends where its own does: those are traced one by one)
        copy = copy_node(value, origins)
        paths = list(value.fields)
        out: list[Concrete] = []
        dropped = False
        term = self.terms.term
        for combo in itertools.product(*per_origin):
            if any(alt.dropped for alt in combo):
                dropped = True
                continue
            env = Env(origins, combo) if origins else NO_ENV
            producers: tuple = ()
            stores: tuple = ()
            for alt in combo:
                producers += alt.producers
                stores += alt.stores
            cond = combo[0].cond if len(combo) == 1 else states.conj(tuple(alt.cond for alt in combo))
            if cond is False:
                continue
            if copy is not False and combo[0].tail and list(combo[0].fields) == paths:
                alt = combo[0]
                tail = alt.tail if copy is None or trail_last(alt.tail) == copy else (alt.tail, copy)
                out.append(Concrete(alt.fields, producers, stores, env, tail, cond))
            else:
                fields = {p: term(t, func, ctx, env) for p, t in value.fields.items()}
                out.extend(Concrete(fs, producers, stores, env, cond=c) for fs, c in split(fields, cond))
            if len(out) >= MAX_ALTS:
                # more than can be followed: the rest may hold anything
                out.append(Concrete({}))
                break
        if not out and dropped:
            return [DROPPED]
        return dedupe(out)

    # ---- one handler per origin kind, found by name ------------------------

    def resolve_origin(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        handler = getattr(self, origin.kind.upper(), None)
        return handler(origin, func, ctx) if handler is not None else [Concrete({})]

    def PARAM(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        info = self.facts.functions.get(func)
        idx = info.param_index(origin.name) if info else None
        if not ctx.sites or idx is None or idx >= len(ctx.sites[0].args):
            return [Concrete({}, (), ())]  # unbound: terms become symbols
        site = ctx.sites[0]
        self.tracker.note(("fn", site.caller))
        arg = site.args[idx]
        if not isinstance(arg, Value):
            return [Concrete({})]
        out = []
        for c in self.resolve(arg, site.caller, ctx.parent()):
            if c.dropped:
                return [DROPPED]
            out.append(Concrete(c.fields, c.producers, c.stores,
                                tail=hop(argument(site, func, origin.name), base=c.tail), cond=c.cond))
        return out or [Concrete({})]

    def CALL(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        site = self.sites.get(origin.site)
        callee = self.facts.functions.get(origin.name)
        self.tracker.note(("fn", origin.name))
        if site is None or callee is None or len(ctx.sites) > 2 * MAX_CHAIN:
            return [Concrete({})]
        inner = ctx.push(site)
        out = []
        dropped = False
        for cond, v, rstep in callee.returns:
            when = self.conds.path_cond(cond, origin.name, inner, {})
            if when is False:
                continue
            for c in self.resolve(v, origin.name, inner):
                if c.dropped:
                    dropped = True
                    continue
                out.append(Concrete(c.fields, ((origin.name, rstep.line), *c.producers), c.stores,
                                    tail=hop(returned(origin.name, rstep), base=c.tail),
                                    cond=states.conj((c.cond, when))))
        return or_unknown(out, dropped)

    def LOAD(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        return self.loads.load(origin, func, ctx)

    def PHI(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        phi = self.facts.phis.get(origin.site)
        if phi is None:
            return [Concrete({})]
        out = []
        dropped = False
        for cond, v in phi.alternatives:
            when = self.conds.path_cond(cond, func, ctx, {})
            if when is False:
                continue
            for c in self.resolve(v, func, ctx):
                if c.dropped:
                    dropped = True
                    continue
                # the alternative's value flows into the phi
                out.append(Concrete(c.fields, c.producers, c.stores,
                                    tail=trail(node_of(phi.step), base=c.tail),
                                    cond=states.conj((c.cond, when))))
        return or_unknown(out, dropped)
