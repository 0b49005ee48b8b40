"""A lookup configuration that misses: in which guest states, on which
fields of its nearest partner, and which side diverges (the cause)."""

from __future__ import annotations

from analyzer import states
from analyzer.checks.messages import Undecided, misses_class
from analyzer.checks.role_mismatch.finding import expr_atoms, finding, guard_text, shown
from analyzer.checks.role_mismatch.partners import is_selector
from analyzer.checks.role_mismatch.site import Candidate, Site, first_step, leaf, steps
from analyzer.findings import Finding
from analyzer.resolve import Concrete, traced


def explain(site: Site, lookup: Concrete, lcond, cands: list[Candidate]) -> list[Finding] | None:
    """The findings of a lookup configuration that misses in some states
    (or the notes of one found only where the analysis cannot judge a
    field): [] when there is nothing to say, None when the states cannot be
    enumerated."""
    field_atoms: dict[str, set] = {}
    for c in cands:
        for f in c.diffs.values():
            states.atoms(f, field_atoms)
    # of the guest state the lookup is made in, what a field's equality
    # depends on: the rest is made free (it would only multiply the states)
    lcond = states.relax(lcond, lambda a: a in field_atoms or is_selector(a))
    # an atom only one stored configuration depends on says nothing about
    # the others: where that one exists is judged without it
    uses: dict[str, int] = {}
    for c in cands:
        for a in states.atoms(c.exists):
            uses[a] = uses.get(a, 0) + 1
    shared = set(field_atoms) | set(states.atoms(lcond)) | {a for a, n in uses.items() if n > 1}
    for c in cands:
        c.exists = states.relax(c.exists, shared.__contains__)
    domains: dict[str, set] = dict(field_atoms)
    states.atoms(lcond, domains)
    for c in cands:
        states.atoms(c.exists, domains)
    every = states.states_where(lcond, domains)
    if every is None:
        return _field_by_field(site, lookup, lcond, cands)
    misses: list[dict] = []
    hits: list[dict] = []
    per_field: dict[str, tuple[Candidate, list[dict]]] = {}
    unsure: Candidate | None = None  # a partner found only where fields cannot be judged
    test = states.test_of
    exists = [(c, test(c.exists)) for c in cands]
    diffs = {id(c): [(p, test(f)) for p, f in c.diffs.items()] for c in cands}
    for st in every:
        existing = [c for c, there in exists if there(st)]
        # the configurations found in this state: each of its fields equal
        # (most states find one, and stop at the first field that differs)
        found = [c for c in existing if all(equal(st) for _p, equal in diffs[id(c)])]
        if found:
            hits.append(st)
            if unsure is None and all(c.undecided for c in found):
                unsure = found[0]
            continue
        misses.append(st)
        if not existing:
            continue
        # per existing configuration, the fields that differ in this state
        failing = {id(c): [p for p, equal in diffs[id(c)] if not equal(st)] for c in existing}
        # the nearest: not one the state tells apart (see _told_apart);
        # then, of the fields that do not differ from every one of them
        # (those miss whatever the partner), the fewest that differ in
        # every state (a constant), then in a call-site constant (a field
        # that tells pages apart), then in this state
        everywhere = set.intersection(*(set(failing[id(c)]) for c in existing))
        selected = [c for c in existing if not _told_apart(site, c, failing, existing)]
        best = min(selected or existing, key=lambda c: (
            sum(f is False for p, f in c.diffs.items() if p not in everywhere),
            sum(c.config.fields[p].via_param for p in failing[id(c)] if p not in everywhere),
            len(failing[id(c)])))
        for p in failing[id(best)]:
            # a field the comparison's own condition tests (`sp->role.direct
            # || ...`) is one it does not look for: not a miss of it
            if p not in site.cond_fields:
                per_field.setdefault(p, (best, []))[1].append(st)
    if not misses or not per_field:
        return _notes(site, lookup, unsure) if unsure is not None else []
    out = []
    for p, (best, where) in per_field.items():
        out.extend(_part(site, lookup, best.config, p, where, hits,
                         len(where) == len(misses) and not hits))
    return out


def _field_by_field(site: Site, lookup: Concrete, lcond, cands: list[Candidate]
                    ) -> list[Finding] | None:
    """Where the states of every atom together are too many to enumerate:
    each field that differs against every stored configuration, on its own,
    over its own atoms and those of where the lookup is made. A state
    misses on the field when every configuration differs there, wherever it
    exists (a configuration that might exist counts as one that does): what
    it finds is a miss of that field whatever the others hold. Judged so
    are only the fields a lookup computes as a flag of guest state
    (``is_smm(vcpu)``) against a constant every stored configuration has
    forced (an override, a mask, a partial store): a lookup is made in
    every state of its flags, while a lookup that holds a constant, or a
    value of many (a level), is made where the other fields, and states the
    analysis does not see, say; a constant a store holds from its
    definition is a value of one path. None when no field can be
    judged so."""
    common = set.intersection(*(set(c.diffs) for c in cands)) - site.cond_fields
    out: list[Finding] = []
    judged = False
    for p in sorted(common):
        if lookup.fields[p].kind == "const" or not all(c.config.fields[p].kind == "const"
                                                       and c.config.fields[p].forced for c in cands):
            continue
        domains: dict[str, set] = {}
        for c in cands:
            states.atoms(c.diffs[p], domains)
        if any(not values <= {0, 1} for values in domains.values()):
            continue  # not a flag
        states.atoms(lcond, domains)
        every = states.states_where(lcond, domains)
        if every is None:
            continue
        judged = True
        equal = [states.test_of(c.diffs[p]) for c in cands]
        misses = [st for st in every if not any(t(st) for t in equal)]
        if not misses:
            continue
        hits = [st for st in every if any(t(st) for t in equal)]
        best = min(cands, key=lambda c: (sum(f is False for f in c.diffs.values()),
                                          c.config.fields[p].via_param, len(c.diffs)))
        out.extend(_part(site, lookup, best.config, p, misses, hits, not hits))
    return out if judged else None


def _told_apart(site: Site, cand: Candidate, failing: dict[int, list[str]],
                existing: list[Candidate]) -> bool:
    """Whether the state tells a stored configuration apart from the
    lookup: a field that differs from it in this state only (``direct =
    !is_paging(vcpu)`` against a direct root, with paging on) is equal here
    to the constant another existing configuration holds (a shadow root's
    direct 0), and that one differs in this state only in fields where every
    lookup holds one constant (``_one_constant``): that one is the partner
    the state selects. ``failing``: per configuration,
    the fields that differ in this state."""
    for p in failing[id(cand)]:
        if cand.diffs[p] is False:
            continue
        for other in existing:
            t = other.config.fields.get(p)
            if (other is not cand and t is not None and t.kind == "const"
                    and p not in failing[id(other)]
                    and all(_one_constant(site, q) for q in failing[id(other)])):
                return True
    return False


def _one_constant(site: Site, path: str) -> bool:
    """Whether every lookup holds one and the same constant in a field: one
    that no lookup sets apart itself, by holding several values of it (as
    level) or a value of guest state (as ``!is_paging(vcpu)``)."""
    values = site.values("lookup", path)
    return len(values) <= 1 and all(kind == "const" for kind, _value in values)


def _part(site: Site, lookup: Concrete, stored: Concrete, path: str, where: list[dict],
          hits: list[dict], never: bool) -> list[Finding]:
    """The finding for one field that keeps a lookup from its partner."""
    x, y = traced(lookup, path), traced(stored, path)
    # which side diverges: of two constants, one from a call-site argument
    # (or neither forced), the one whose value no configuration of the
    # other side holds while the other's some configuration of its side
    # holds (a lookup's changed constant against the call sites' constant
    # that other lookups compute too); else the one that forces the value
    # after a copy (an override, a mask, a partial store); else the value
    # fewer configurations of the other side share
    sup_y = site.support("lookup", path, y)
    sup_x = site.support("stored", path, x)
    if ((sup_x == 0) != (sup_y == 0) and x.kind == y.kind == "const"
            and (x.via_param or y.via_param or not (x.forced or y.forced))):
        stored_cause = sup_y == 0
    elif y.forced != x.forced:
        stored_cause = y.forced
    elif y.forced:
        # both forced: the override that more of its side passes through
        stored_cause = site.share("stored", path, y) >= site.share("lookup", path, x)
    elif sup_y != sup_x:
        stored_cause = sup_y < sup_x
    elif y.via_param != x.via_param:
        stored_cause = y.via_param
    else:
        stored_cause = True
    cause_term, other_term = (y, x) if stored_cause else (x, y)
    cause_side, other_side = ((site.stored.name, site.lookup.name) if stored_cause
                              else (site.lookup.name, site.stored.name))
    cause = first_step(cause_term)
    if cause is None:
        return []

    text = None if never else states.describe(where, hits, expr_atoms(x, y))
    misses = ((site.cmp.func, text),)
    store_fns = tuple(sorted({s.function for s in steps(y) if s.kind == "store"}))
    msg = misses_class(never)(leaf(path), shown(cause_term), cause_side, cause_term.forced,
                              guard_text(cause_term.guard), shown(other_term), other_side,
                              misses, store_fns)
    return [finding(site, path, msg, (x, y), cause=(cause, stored_cause))]


def undecided_notes(site: Site, lookup: Concrete, cands: list[Candidate]) -> list[Finding]:
    """A lookup found only if two expressions the analysis cannot compare
    are equal: one note per such field of its nearest partner."""
    exact = [c for c in cands if not c.diffs]
    if not exact or any(not c.undecided for c in exact):
        return []
    return _notes(site, lookup, min(exact, key=lambda c: len(c.undecided)))


def _notes(site: Site, lookup: Concrete, best: Candidate) -> list[Finding]:
    out = []
    for p, note in best.undecided:
        x, y = traced(lookup, p), traced(best.config, p)
        msg = note or Undecided(leaf(p), x.describe(), site.lookup.name, y.describe(),
                                site.stored.name)
        out.append(finding(site, p, msg, (x, y), cause=None))
    return out
