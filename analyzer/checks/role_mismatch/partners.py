"""Which stored configurations can be a lookup's partner, and where they
exist: each kind of stored configuration once, those holding the lookup's
own values found by hashing, so that judging a lookup does not cost more
the more stores write alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from analyzer import states
from analyzer.checks.role_mismatch.site import WILDCARDS, Site, ident, made_from_pages, parent_store
from analyzer.resolve import Concrete, Ctx, Resolver, RTerm, values_of

Entry = tuple[Concrete, bool, int | None]  # a configuration, made from a page?, by which store


def distinct_stores(site: Site, index: int) -> list[Entry]:
    """The stored configurations of a chain that a lookup can tell apart,
    first of each kind: configurations equal in every field, in where they
    exist, in what the compare's condition reads and in the pages they come
    from judge alike (they differ only in the way their values came)."""
    index = site.table_index(index)
    got = site.distinct.get(index)
    if got is None:
        got, keys = [], set()
        for c in site.stores.get(index, []):
            e = entry(site, c)
            env = c.env
            # fields come in the role type's leaf order (``values_of``)
            key = (where_exists(c.cond, site.own), e[1], e[2],
                   tuple(c.fields), values_of(c),
                   tuple((o in env, id(env.get(o))) for o in site.cond_reads or ()))
            if key not in keys:
                keys.add(key)
                got.append(e)
        site.distinct[index] = got
    return got


def meetable(site: Site, index: int, child: bool, parent: int | None) -> list[Entry]:
    """The distinct stored configurations of a chain that a lookup made
    from a stored page or not (``child``), from the page of store
    ``parent``, can meet at all (see ``exists_for``)."""
    key = (site.table_index(index), child, parent)
    got = site.meetable.get(key)
    if got is None:
        got = site.meetable[key] = [e for e in distinct_stores(site, index)
                                    if _may_meet(site, e[1], e[2], child, parent)]
    return got


def _may_meet(site: Site, made: bool, stored_parent: int | None, child: bool,
              parent: int | None) -> bool:
    if site.page_slots and "level" in site.leaves and made != child:
        return False  # a root lookup never meets a child page, nor a child lookup a root
    return not child or parent == stored_parent  # children of pages another store made are that store's


def same_values(site: Site, index: int, lookup: Concrete) -> list[Entry]:
    """The distinct stored configurations of a chain whose compared fields
    hold the lookup's own values."""
    index = site.table_index(index)
    table = site.by_values.get(index)
    if table is None:
        table = site.by_values[index] = {}
        for entry in distinct_stores(site, index):
            table.setdefault(_values_key(site, entry[0]), []).append(entry)
    return table.get(_values_key(site, lookup), [])


def _values_key(site: Site, c: Concrete) -> tuple:
    return tuple(None if t is None or t.kind in WILDCARDS else ident(t)
                 for t in map(c.fields.get, site.paths))


def own_pages(site: Site, index: int, chain: tuple, lookup: Concrete) -> list[Entry]:
    """The stored configurations made from the lookup's own value in the
    request that looked it up: its role (read from the same stores) stored
    into the compared page slot once more, by a store whose chain of callers
    meets the compare's. A field such a page holds differently was changed
    between the lookup and the store on one path (an override before the
    page is made), not set apart on purpose on separate paths."""
    index = site.table_index(index)
    table = site.by_source.get(index)
    if table is None:
        table = site.by_source[index] = {}
        for c in site.stores.get(index, []):
            if c.stores and c.stores[-1][0] in site.page_slots:
                table.setdefault(c.stores[:-1], []).append(c)
    ids = tuple(cs.id for cs in chain)
    return [entry(site, c) for c in table.get(lookup.stores, []) if _one_request(ids, c.stores[-1][1])]


def _one_request(ids: tuple, store_chain: tuple) -> bool:
    """Whether a compare reached by the call sites ``ids`` and a store
    reached by ``store_chain`` (innermost first) run in one request: from
    the first call site they share, outward, the chains agree as far as both
    go (a chain ends where no caller binds a parameter any more)."""
    if not ids or not store_chain:
        return not ids and not store_chain
    where = {c: j for j, c in enumerate(store_chain)}
    for i, c in enumerate(ids):
        j = where.get(c)
        if j is not None:
            a, b = ids[i:], store_chain[j:]
            n = min(len(a), len(b))
            return a[:n] == b[:n]
    return False


def compared(site: Site, lookup: Concrete, stored: Concrete) -> Iterator[tuple[str, RTerm, RTerm]]:
    """(path, lookup value, stored value) of the compared fields both sides know."""
    for p in site.paths:
        x, y = lookup.fields.get(p), stored.fields.get(p)
        if x is None or y is None or x.kind in WILDCARDS or y.kind in WILDCARDS:
            continue
        yield p, x, y


def entry(site: Site, c: Concrete) -> Entry:
    """A stored configuration with whether it was made from a stored page,
    and by which store."""
    return (c, made_from_pages(site, c, 2), parent_store(site, c))


def exists_for(site: Site, lookup: Concrete, stored: Concrete, made: bool,
               stored_parent: int | None, child: bool, parent: int | None, ctx: Ctx,
               resolver: Resolver):
    """Where a stored configuration exists and the compare meets it, for a
    lookup configuration (``child``, ``parent``: whether it was made from a
    stored page, and by which store); False when never."""
    if not _may_meet(site, made, stored_parent, child, parent):
        return False
    # a comparison guarded by `sp->role.direct ||` never meets direct pages
    reads = site.cond_reads
    if reads is None:
        meets = True
    else:
        env = {**lookup.env, **stored.env}
        key = tuple(id(env.get(o)) for o in reads)
        meets = site.meets.get(key)
        if meets is None:
            cmp = site.cmp
            meets = site.meets[key] = where_exists(resolver.path_cond(cmp.cond, cmp.func, ctx, env),
                                                   site.own)
    return states.conj((where_exists(stored.cond, site.own), meets))


@lru_cache(maxsize=1 << 16)
def where_exists(f, own: tuple = ()):
    """Where a configuration exists, as far as ``is_selector`` atoms say,
    but for the fields of ``own`` slots: the MMU context roles the
    comparison itself reads (which one it holds is what is compared)."""
    return states.relax(f, lambda a: is_selector(a) and not a.startswith(own))


@lru_cache(maxsize=1 << 12)
def made_where(f, own: tuple = ()):
    """Where a lookup configuration is made: its whole path condition, guest
    state included (one computed under ``!is_cr0_pg(regs)`` looks for pages
    only while paging is off), but for the fields of ``own`` slots."""
    return states.relax(f, lambda a: not a.startswith(own)) if own else f


@lru_cache(maxsize=1 << 12)
def is_selector(atom: str) -> bool:
    """An atom where a configuration exists is judged by: a flag of the host
    (``tdp_mmu_enabled``), a parameter (``mirror``), a field of the role the
    MMU context holds (``root_role.direct``). The guest's state
    (``is_long_mode(vcpu)``) tells the values of fields apart, not where
    pages are: a configuration made in one guest state is looked up in
    every other."""
    return bool(_SELECTOR.fullmatch(atom))



_SELECTOR = re.compile(r"[A-Za-z_]\w*(?::[A-Za-z_]\w*|(?:\.[A-Za-z_]\w*)+)?")
