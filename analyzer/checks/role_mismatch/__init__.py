"""role-mismatch: a lookup that does not find what is stored where it looks.

Documentation for users: rules/role-mismatch.md (shown by ``explain``).

At each compare site one operand is the lookup (a role computed or read from
the MMU context) and the other the stored role it is compared with (read
from a page, or from the MMU context when the lookup is computed); when both
are of one kind, the left one is the lookup. Both are resolved into
configurations (``analyzer.resolve``): field values and the condition, over
guest state, they hold under. The stored side is every store the load can
meet (``analyzer.containers``), whatever chain of callers made it.

For each lookup configuration, in each guest state it can hold in, look for
a stored configuration that exists in that state and equals it field by
field (a compare that masks fields compares only the others). The same
expression of guest state is the same value on both sides; an unknown value
(a role the analysis could not follow) equals anything. When none is equal,
the lookup misses in that state, on the fields that keep it from its nearest
partner (the existing stored configuration with the fewest such fields):

- in every state it holds in: an error (it never finds what that store
  writes); in some states only: a warning naming them;
- a field that tells configurations apart on purpose does not count: the
  lookup's value of it is one some store writes, and the partner's value one
  some lookup computes (direct, level, quadrant, is_mirror ... set
  differently on separate paths, both sides present), but for the page the
  lookup's own request makes from the role it looked up with (``partners``
  ``own_pages``): a field that page holds differently was changed between
  the lookup and the store, on one path;
- a constant forced under a guard (``if (role.direct) role.cr4_pae = 0;``)
  counts against a value computed from guest state only when the guard's
  fields hold the same constants on the other side; that, and two different
  expressions the analysis cannot compare, are notes
  (``role-mismatch-unknown``).

A finding is located where the value diverges: the definition of the field's
value on the side no configuration of the other side agrees with (the
override, the mask, the call-site argument, the partial store, the changed
producer). Its fingerprint is made of that line's text, not of a function
name or a line number, and findings with one cause are one finding, naming
every lookup that misses (``combine``).

At a compare that masks fields, the converse too (``unreached``): a kept
field that pages hold as a value of their request, while every lookup holds
a constant, finds those pages only by chance.

The parts: ``site`` (the compare site, its sides and what each holds),
``judge`` (each lookup configuration against the stored ones), ``explain``
(the states it misses in and the cause), ``finding`` (the finding at the
cause, with both traces) and ``combine`` (one finding per cause).
"""

from __future__ import annotations

import re

from analyzer.checks import Check
from analyzer.checks.role_mismatch.combine import combine
from analyzer.checks.role_mismatch.judge import judge
from analyzer.checks.role_mismatch.site import Site, cond_origins, leaf, orient, readable, score
from analyzer.checks.role_mismatch.unreached import unreached
from analyzer.facts import Compare, Facts
from analyzer.findings import Finding
from analyzer.resolve import STORE, Ctx, Resolver, tested_refs
from analyzer.terms import TRUE

__all__ = ["CHECK", "check_compare", "combine", "compare_sites"]


def check_compare(cmp: Compare, facts: Facts, resolver: Resolver) -> list[Finding]:
    """The findings of one comparison site."""
    lookup, stored = orient(cmp, resolver)
    paths = cmp.fields if cmp.fields is not None else list(cmp.left.fields)
    site = Site(cmp, lookup, stored, paths, leaves={leaf(p) for p in paths})
    if cmp.cond is not TRUE:
        site.cond_reads = tuple(sorted(cond_origins(cmp.cond),
                                       key=lambda o: (o.kind, o.name, o.func, o.site, o.sub, o.via)))
        mine = stored.value.origins()
        site.cond_fields = frozenset(o.path(path) for o, path in tested_refs(cmp.cond) if o in mine)
    site.own = tuple(sorted(f"{o.name}." for o in stored.value.origins() if o.kind == "load"))
    if score(stored.value, resolver) == 2:
        slots = {o.name for o in stored.value.origins()}
        site.page_slots = {s.id for s in facts.stores if s.slot in slots}
        names = "|".join(sorted(re.escape(n) for n in slots))
        site.page_read = re.compile(rf"(?:->|\.)\s*(?:{names})\s*\.\s*\w")
        loads = [o for o in stored.value.origins() if o.kind == "load"]
        # only where the page flow knows where the pointer's pages come from
        # (not a page passed through a function pointer, unknown as a whole)
        if resolver.pages is not None and all(resolver.pages.of(o.func, o.via) for o in loads):
            site.pointers = {n for o in loads for n in resolver.pages.pointers.get((o.func, o.via), ())}
    by_id = {s.id: s for s in facts.stores} if site.pointers else {}
    joint = resolver.uses_params(cmp.left, cmp.func) or resolver.uses_params(cmp.right, cmp.func)
    chains = resolver.chains(cmp.func) if joint else [()]
    wheres = {}
    # chains whose stored side resolves to one answer (it reads no parameter
    # their call sites bind) share it, and the tables judging builds from it
    shared: dict[int, int] = {}
    for i, chain in enumerate(chains):
        where = resolver.chain_cond(chain, cmp.func)
        if where is False:
            continue
        wheres[i] = where
        ctx = Ctx(chain)
        got = resolver.resolve(stored.value, cmp.func, ctx)
        first = shared.get(id(got))
        if first is None:  # what a chain's pages are judged by, once per answer
            shared[id(got)] = i
            site.stores[i] = [c for c in got if readable(site, c, by_id, resolver)]
        else:
            site.alias[i] = first
            site.stores[i] = site.stores[first]
        # a lookup made from a page's role (a child's) starts from the pages
        # this comparison meets, as the children it meets were made from theirs
        seen = frozenset(f"{STORE}{sid}" for c in site.stores[i] for sid, _ch in c.stores
                         if sid in site.page_slots)
        slots = {o.name for o in stored.value.origins()} if site.page_slots else set()
        lctx = Ctx(chain, frozenset(slots) | seen)
        site.lookups.extend((i, c) for c in resolver.resolve(lookup.value, cmp.func, lctx))
    out: list[Finding] = []
    done: set = set()
    found = [f for i, config in site.lookups
             for f in judge(site, chains[i], i, config, wheres[i], resolver)]
    for f in found + unreached(site, chains, resolver):
        key = (f.rule, f.field, f.fingerprint, f.message)
        if key not in done:
            done.add(key)
            out.append(f)
    return out


def compare_sites(facts: Facts) -> list[Compare]:
    return facts.compares


# resolution reads facts only: never a parsed file, a text or the state view
CHECK = Check(sites=compare_sites, find=check_compare, combine=combine, reads_code=False)
