"""Stored pages a masked compare meets but finds only by chance: a field
the mask keeps that the page holds as a value of one request (a call-site
argument that is no guest state: the guest PTE's access bits passed down)
and that no lookup computes, against a constant on the lookup side. The lookup finds such a page only
while that value happens to equal its constant: pages stored with any
other are never found again there (issue 10: a stored configuration no
lookup reaches, in some states). A compare of whole words is left alone: it
is the cache's key, and its lookups compute what the pages hold, or meet
other pages (roots) that the analysis cannot always tell apart. The finding
is at the compare, whose mask is what lets the field in."""

from __future__ import annotations

from analyzer import states
from analyzer.checks.messages import MissesWhen
from analyzer.checks.role_mismatch.finding import finding, guard_text
from analyzer.checks.role_mismatch.judge import field_equal, is_state
from analyzer.checks.role_mismatch.partners import compared, distinct_stores, exists_for
from analyzer.checks.role_mismatch.site import (
    WILDCARDS,
    Site,
    leaf,
    made_from_pages,
    parent_store,
    steps,
)
from analyzer.findings import Finding
from analyzer.resolve import Ctx, Resolver, RTerm, traced


def unreached(site: Site, chains: list[tuple], resolver: Resolver) -> list[Finding]:
    """One finding per compared field that stored pages hold per path while
    every lookup that meets them holds a constant."""
    if site.cmp.fields is None or not site.page_slots:
        return []  # only a compare that masks fields, against stored pages

    def per_path(t: RTerm | None) -> bool:
        return t is not None and t.kind == "opaque" and not is_state(states.canon(str(t.value))[0])

    def per_request(t: RTerm | None) -> bool:
        return per_path(t) and t.via_param  # type: ignore[union-attr]

    lookups = site.configs("lookup")
    fields = [p for p in site.paths if not any(per_path(c.fields.get(p)) or
                                               (p in c.fields and c.fields[p].kind in WILDCARDS)
                                               for c in lookups)]
    out: list[Finding] = []
    for p in fields:
        found = _first_met(site, chains, resolver, p, per_request)
        if found is None:
            continue
        x, y = found
        misses = ((site.cmp.func, f"{y.value} != {x.value}"),)
        store_fns = tuple(sorted({s.function for s in steps(y) if s.kind == "store"}))
        msg = MissesWhen(leaf(p), f"'{y.value}'", site.stored.name, y.forced, guard_text(y.guard),
                         x.value, site.lookup.name, misses, store_fns)
        out.append(finding(site, p, msg, (x, y), cause=(site.cmp.step, True)))
    return out


def _first_met(site: Site, chains: list[tuple], resolver: Resolver, path: str, per_request) -> tuple[RTerm, RTerm] | None:
    """The first (lookup, stored) values of ``path`` where a stored page
    holding a value of one request (a call-site argument) meets a lookup holding a constant that is
    otherwise its partner (no other compared field differs)."""
    for i in site.stores:
        ctx = Ctx(chains[i])
        lookups = []
        for j, c in site.lookups:
            x = c.fields.get(path)
            if j == i and x is not None and x.is_const():
                child = made_from_pages(site, c, 1)
                lookups.append((c, child, parent_store(site, c) if child else None))
        for stored, made, stored_parent in distinct_stores(site, i):
            y = stored.fields.get(path)
            if not per_request(y):
                continue
            for lookup, child, parent in lookups:
                if any(q != path and field_equal(a.kind, a.value, b.kind, b.value) is False
                       for q, a, b in compared(site, lookup, stored)):
                    continue
                if exists_for(site, lookup, stored, made, stored_parent, child, parent,
                              ctx, resolver) is False:
                    continue
                return traced(lookup, path), traced(stored, path)
    return None
