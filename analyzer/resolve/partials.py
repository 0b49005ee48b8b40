"""Partial stores (``sp->role.x = v``, ``.base = r``, ``.word &= m``): which
follow a whole store, and what they change in the role it stored."""

from __future__ import annotations

from collections.abc import Mapping

from analyzer.facts import CallSite, Store
from analyzer.facts.syntax import store_pointer
from analyzer.nodes import node_of
from analyzer.resolve.configs import Concrete, Ctx, RTerm, forced
from analyzer.resolve.deps import Deps
from analyzer.resolve.term import Terms
from analyzer.resolve.trails import one
from analyzer.terms import Const, Mask, Value


def store_via(store) -> str:
    """The pointer a store writes through: ``sp`` in ``sp->role = role``."""
    return store_pointer(store.step.text, store.slot)


class Partials:
    """The partial stores that change what a whole store wrote: after it in
    its function, and in its callers after the call."""

    def __init__(self, stores: dict[str, list], partials: dict[tuple[str, str], list[Store]],
                 pages, terms: Terms, deps: Deps) -> None:
        self.stores = stores  # slot -> whole stores
        self.partials = partials  # (func, slot) -> partial stores
        self.pages = pages
        self.terms = terms
        self.deps = deps
        self._effective: dict = {}

    def own(self, store: Store) -> list[Store]:
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

    def in_caller(self, store: Store, site: CallSite) -> list[Store]:
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

    def apply(self, c: Concrete, partials: list[Store], func: str, ctx: Ctx, env: Mapping) -> Concrete:
        """``c`` with the fields the partial stores write replaced."""
        self.deps.note(("fn", func))
        term = self.terms.term
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
                        fields[f] = forced(term(t, func, ctx, env), here)
            elif isinstance(p.part, Mask):  # ``.word &= m``
                mask, inverted = p.part.value, p.part.inverted
                for f in under:
                    rel = f[len(prefix) + 1:] if prefix else f
                    bit = mask.fields.get(rel) if mask is not None else None
                    if not isinstance(bit, Const):
                        fields[f] = RTerm("unknown", "masked", trace=one(here))
                    elif bool(bit.value) == inverted:
                        fields[f] = RTerm("const", 0, forced=True, trace=one(here))
            elif p.path in fields:
                fields[p.path] = forced(term(p.part, func, ctx, env), here)
        return Concrete(fields, c.producers, c.stores, c.env, c.tail, c.cond)
