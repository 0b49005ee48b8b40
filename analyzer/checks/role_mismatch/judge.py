"""What one lookup configuration finds: the stored configurations it can
meet, field by field, as formulas of the guest states where they are equal."""

from __future__ import annotations

import re
from functools import lru_cache

from analyzer import states
from analyzer.checks.messages import ForcedUnderUndecidedGuard, Message
from analyzer.checks.role_mismatch.explain import explain, undecided_notes
from analyzer.checks.role_mismatch.finding import guard_text
from analyzer.checks.role_mismatch.partners import (
    compared,
    exists_for,
    made_where,
    meetable,
    own_pages,
    same_values,
    where_exists,
)
from analyzer.checks.role_mismatch.site import (
    Candidate,
    Site,
    ident,
    leaf,
    made_from_pages,
    parent_store,
)
from analyzer.findings import Finding
from analyzer.resolve import Concrete, Ctx, Resolver, RTerm, values_of


def judge(site: Site, chain: tuple, index: int, lookup: Concrete, where, resolver: Resolver
          ) -> list[Finding]:
    """What one lookup configuration finds."""
    # where the lookup is made, guest states included: what explain judges
    # the fields in
    lcond = states.conj((where_exists(where, site.own), made_where(lookup.cond, site.own)))
    # as far as selectors say: what a partner must cover (where a
    # configuration exists is a formula of selectors only)
    lsel = where_exists(lcond, site.own)
    if lsel is False or lcond is False:
        return []
    ctx = Ctx(chain)
    child = made_from_pages(site, lookup, 1)
    parent = parent_store(site, lookup) if child else None
    # the common case, without a scan: a partner holding the lookup's own
    # values (found by hashing) that exists wherever the lookup is made
    for stored, made, stored_parent in same_values(site, index, lookup):
        if (covers(lsel, exists_for(site, lookup, stored, made, stored_parent, child, parent,
                                     ctx, resolver))
                and all(field_equal(x.kind, x.value, y.kind, y.value) is True
                        for _p, x, y in compared(site, lookup, stored))):
            return []
    cands: list[Candidate] = []
    seen: set = set()
    own = own_pages(site, index, chain, lookup)
    mine = {id(entry[0]) for entry in own}
    # the lookup's values, numbered: lookups holding the same share answers
    values = site.value_ids.setdefault(
        (tuple(lookup.fields), values_of(lookup)), len(site.value_ids))
    for stored, made, stored_parent in meetable(site, index, child, parent) + own:
        against = _against(site, lookup, values, stored, id(stored) in mine)
        if against is None:
            continue  # another configuration, told apart on purpose: not a partner
        exists = exists_for(site, lookup, stored, made, stored_parent, child, parent, ctx, resolver)
        if exists is False:
            continue
        diffs, undecided = against
        if not diffs and not undecided and covers(lsel, exists):
            return []  # found in every state the lookup is made in
        key = (exists, tuple(diffs.items()), tuple(undecided))
        if key not in seen:  # one of configurations alike is enough
            seen.add(key)
            cands.append(Candidate(stored, exists, dict(diffs), list(undecided)))
    if not cands:
        return []
    if any(c.exists is True and not c.diffs for c in cands):
        return undecided_notes(site, lookup, cands)
    found = explain(site, lookup, lcond, cands)
    return found or []


def _against(site: Site, lookup: Concrete, values: int, stored: Concrete, own_page: bool):
    """The compared fields where a lookup configuration (``values``: the
    number of its field values) differs from a stored one: (field -> formula of the states
    where they are equal, fields the analysis cannot judge with their
    note), or None when a field tells the two apart on purpose. Lookups
    holding the same values share the answer."""
    key = (values, id(stored), own_page)
    if key in site.against:
        return site.against[key]
    diffs: dict[str, object] = {}
    undecided: list[tuple[str, Message | None]] = []
    got: tuple | None = (diffs, undecided)
    for p, x, y in compared(site, lookup, stored):
        eq = field_equal(x.kind, x.value, y.kind, y.value)
        if eq is True:
            continue
        if eq is None:
            undecided.append((p, None))
            continue
        if eq is False and not own_page and on_purpose(site, p, x, y):
            got = None
            break
        note = note_for(site, lookup, stored, p, x, y)
        if note is not None:
            undecided.append((p, note))  # equal as far as the analysis can judge
            continue
        diffs[p] = eq
    site.against[key] = got
    return got


@lru_cache(maxsize=1 << 14)
def covers(lcond, exists) -> bool:
    """Whether a stored configuration exists wherever the lookup is made."""
    return exists is not False and states.implies(lcond, exists)


@lru_cache(maxsize=1 << 14)
def field_equal(xkind: str, xvalue: object, ykind: str, yvalue: object):
    """Whether a field holding (``xkind``, ``xvalue``) on one side equals
    (``ykind``, ``yvalue``) on the other: True, False, a formula of the
    states where they are equal, or None when it cannot be decided (two
    different expressions, an unknown macro)."""
    if xkind == "const" and ykind == "const":
        return xvalue == yvalue
    if xkind == "named" or ykind == "named":
        return True if (xkind, xvalue) == (ykind, yvalue) else None
    if xkind == "const" or ykind == "const":
        c, e = (xvalue, yvalue) if xkind == "const" else (yvalue, xvalue)
        if not is_state(states.canon(str(e))[0]):
            return True  # a value of one path (a local, a member): not judged
        return states.is_value(str(e), int(c))  # type: ignore[call-overload]
    return states.same(str(xvalue), str(yvalue))


def on_purpose(site: Site, path: str, x: RTerm, y: RTerm) -> bool:
    """A field that tells configurations apart: the lookup's value is one a
    store writes, and the stored value one a lookup computes."""
    return ident(x) in site.values("stored", path) and ident(y) in site.values("lookup", path)


@lru_cache(maxsize=1 << 12)
def is_state(atom: str) -> bool:
    """An expression of guest or host state a field's value can be judged
    against a constant by: a flag (``tdp_mmu_enabled``), a parameter, a
    predicate of the vCPU (``is_long_mode(vcpu)``) and their combinations
    (``is_cr4_bit(regs,X86_CR4_SMAP)&&!is_cr0_wp(regs)``). Not a value of
    one path (``it.level-1``, ``gw->pt_access``): against those a field is
    not judged."""
    return bool(_STATE_ATOM.fullmatch(atom))


# predicates and flags, and what && || ! == != make of them: no member of a
# local (`it.level`, `gw->pt_access`), no arithmetic (`level - 1`)
_STATE_ATOM = re.compile(r"[\w\s!&|=(),:]+")


def note_for(site: Site, lookup: Concrete, stored: Concrete, path: str, x: RTerm, y: RTerm
             ) -> Message | None:
    """A difference the analysis cannot judge: a constant forced under a
    guard whose fields are not the same constants on the other side."""
    name = leaf(path)
    if x.is_const() and y.is_const():
        return None
    for forced, other, fs, os_, other_c in ((y, x, site.stored.name, site.lookup.name, lookup),
                                            (x, y, site.lookup.name, site.stored.name, stored)):
        if (forced.is_const() and other.kind == "opaque" and forced.forced and not forced.via_param
                and not _guard_holds(forced, other_c)):
            return ForcedUnderUndecidedGuard(name, forced.value, fs, guard_text(forced.guard),
                                             other.value, os_)
    return None


def _guard_holds(forced: RTerm, other: Concrete) -> bool:
    for name, value in forced.guard:
        if value is None:
            return False
        t = _other_field(other, name)
        if t is None or not t.is_const() or t.value != value:
            return False
    return True


def _other_field(c: Concrete, name: str) -> RTerm | None:
    for path, t in c.fields.items():
        if path == name or path.endswith("." + name):
            return t
    return None
