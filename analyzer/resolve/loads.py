"""Loads of a slot: the stores they can meet (``containers``) and the
configurations those write, one chain of callers at a time, with the partial
stores that follow applied."""

from __future__ import annotations

from collections.abc import Callable

from analyzer import states
from analyzer.facts import CallSite, Facts, Store
from analyzer.flow import stored
from analyzer.resolve.chains import Chains
from analyzer.resolve.conditions import Conditions, tested_fields
from analyzer.resolve.configs import (
    BASE,
    DROPPED,
    STORE,
    Concrete,
    Ctx,
    dedupe,
    materialize,
    or_unknown,
)
from analyzer.resolve.deps import Deps
from analyzer.resolve.params import Params
from analyzer.resolve.partials import Partials, store_via
from analyzer.resolve.trails import hop
from analyzer.terms import Origin


class Loads:
    """What a load reads: the configurations of the stores it meets."""

    def __init__(self, facts: Facts, stores: dict[str, list], callers: dict[str, list[CallSite]],
                 pages, resolve: Callable, parts: tuple[Params, Chains, Conditions, Partials, Deps]
                 ) -> None:
        self.facts = facts
        self.stores = stores  # slot -> whole stores
        self.callers = callers
        self.pages = pages
        self.resolve = resolve  # Resolver.resolve: a stored value is resolved as any other
        self.params, self.chains, self.conds, self.partials, self.deps = parts
        self._base: dict = {}
        self._loads: dict = {}
        self._stored: dict = {}
        self._tested: dict[str, set[str]] | None = None
        self._page_slots: frozenset[str] | None = None

    def load(self, origin: Origin, func: str, ctx: Ctx) -> list[Concrete]:
        self.deps.note(("slot", origin.name))
        if BASE + origin.name in ctx.visiting:
            return [DROPPED]  # a role of this slot made from one of its own: not in the base
        if origin.name in ctx.visiting:
            # a role read back while resolving a store of its slot (a child
            # page's role from its parent's): the roles stored without that
            return self.base(origin, ctx.visiting)
        visiting = ctx.visiting | {origin.name}
        seen = self.stores_seen(origin)
        slot = origin.name

        def compute() -> list[Concrete]:
            out = []
            for store in seen:
                out.extend(self.stored(store, visiting))
            kept = [c for c in out if not c.dropped]
            context = slot not in self.page_slots()
            if context:
                kept = [self._current(slot, c) for c in kept]
            return or_unknown(dedupe(kept, by_value=context), len(kept) < len(out))

        # every load of a slot that meets the same stores reads the same
        return self.deps.memo(self._loads, (slot, tuple(s.id for s in seen), visiting),
                              [Concrete({})], compute)

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
        if self._tested is None:
            self._tested = tested_fields(self.facts)
        return self._tested

    def base(self, origin: Origin, visiting: frozenset) -> list[Concrete]:
        """The configurations the stores a load meets write without reading
        a role of the slot again: what a role derived from a stored one
        (``role = parent_sp->role; role.level--;``) starts from."""
        seen = self.stores_seen(origin)
        # a parent page is one the same store made (a child of a TDP MMU
        # root is made from that root's role, a shadow page's from a shadow
        # page); a role made only from others' (the EPT role from the root
        # MMU's) starts from those
        own = [s for s in seen if f"{STORE}{s.id}" in visiting]
        for stores in ((own, seen) if own else (seen,)):
            got = self._base_of(origin.name, stores, visiting)
            if not (len(got) == 1 and got[0].dropped):
                return got
        return got

    def _base_of(self, slot: str, stores: list[Store], visiting: frozenset) -> list[Concrete]:
        key = ("base", slot, tuple(s.id for s in stores), visiting)

        def compute() -> list[Concrete]:
            inner = visiting | {BASE + slot}
            out = []
            for store in stores:
                out.extend(self.stored(store, inner))
            kept = [c for c in out if not c.dropped]
            return or_unknown(dedupe(kept), len(kept) < len(out))

        return self.deps.memo(self._base, key, [Concrete({})], compute)

    def stored(self, store: Store, visiting: frozenset = frozenset()) -> list[Concrete]:
        """The configurations a whole store writes, one chain of callers at a
        time: under the store's path condition and its callers' (``where``),
        with the partial stores that follow it applied."""
        if store.value is None:
            return []
        return self.deps.memo(self._stored, (store.id, visiting), [],
                              lambda: self._stored_now(store, visiting))

    def _stored_now(self, store: Store, visiting: frozenset) -> list[Concrete]:
        value = store.value
        partials = self.partials
        if self.params.uses(value, store.func):
            chains = self.chains.chains(store.func)
        elif any(partials.in_caller(store, site) for site in self.callers.get(store.func, [])):
            chains = [(site,) for site in self.callers[store.func]]
        else:
            chains = [()]
        out = []
        visiting = visiting | {f"{STORE}{store.id}"}
        for chain in chains:
            ctx = Ctx(chain, visiting)
            where = states.conj((self.conds.path_cond(store.cond, store.func, ctx, {}),
                                 self.chains.chain_cond(chain, store.func)))
            if where is False:
                continue
            later = partials.own(store)
            caller = partials.in_caller(store, chain[0]) if chain else []
            for c in self.resolve(value, store.func, ctx):
                if c.dropped:
                    out.append(c)
                    continue
                if (later or caller) and c.tail:
                    c = materialize(c)  # the partial stores come after every field's trace
                if later:
                    c = partials.apply(c, later, store.func, ctx, c.env)
                if caller:
                    c = partials.apply(c, caller, chain[0].caller, Ctx(chain[1:], visiting), {})
                tag = (store.id, tuple(s.id for s in chain))
                out.append(Concrete(c.fields, c.producers, (*c.stores, tag),
                                    tail=hop(stored(store), base=c.tail),
                                    cond=states.conj((c.cond, where))))
        return out

    def page_slots(self) -> frozenset[str]:
        """The slots whose stores put roles into pages: a store through a
        pointer the containers follow (``sp->role = role``, not the MMU
        context's ``root_role``)."""
        if self._page_slots is None:
            self._page_slots = frozenset(
                s.slot for slot in self.stores.values() for s in slot
                if self.pages is not None and self.pages.of(s.func, store_via(s)))
        return self._page_slots

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
