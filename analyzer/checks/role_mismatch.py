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
  differently on separate paths, both sides present);
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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from analyzer import states
from analyzer.checks import Check
from analyzer.checks.messages import (
    SEVERITY_OF,
    ForcedUnderUndecidedGuard,
    Message,
    Misses,
    Undecided,
    decode_misses,
    encode_misses,
    misses_class,
)
from analyzer.facts import Compare, Facts, normalize_expr
from analyzer.findings import SEVERITY_RANK, Finding, TraceStep
from analyzer.nodes import node_of, step_of_node
from analyzer.resolve import STORE, Concrete, Ctx, Resolver, RTerm, tested_refs, trail_nodes
from analyzer.terms import TRUE, Const, Ite, Step, Value

WILDCARDS = ("symbol", "unknown")


@dataclass
class _Side:
    """One operand: which role value, its name in messages, its text."""

    value: Value
    name: str
    text: str


@dataclass
class _Site:
    """A compare site being judged: the lookup and stored operands and the
    configurations seen on each side, over every chain of callers."""

    cmp: Compare
    lookup: _Side
    stored: _Side
    paths: list[str]
    page_slots: set[int] = field(default_factory=set)  # ids of the stores into the page slot read
    # a read of that slot's fields in an expression (``parent->role.level - 1``)
    page_read: re.Pattern | None = None
    leaves: set[str] = field(default_factory=set)  # the compared fields' names
    cond_reads: tuple | None = None  # the origins the compare's condition reads (None: no condition)
    meets: dict = field(default_factory=dict)  # those origins' configurations -> the condition
    own: tuple = ()  # "slot." prefixes of the MMU context slots the stored side reads
    cond_fields: frozenset = frozenset()  # fields of the stored side the compare's condition tests
    lookups: list[tuple[int, Concrete]] = field(default_factory=list)  # (chain index, config)
    stores: dict[int, list[Concrete]] = field(default_factory=dict)  # chain index -> configs
    _values: dict = field(default_factory=dict)

    def values(self, side: str, path: str) -> set:
        """The values (kind, value) of a field on one side, unknowns left out."""
        key = (side, path)
        got = self._values.get(key)
        if got is None:
            configs = ([c for _ch, c in self.lookups] if side == "lookup"
                       else [c for cs in self.stores.values() for c in cs])
            got = {_ident(c.fields[path]) for c in configs
                   if path in c.fields and c.fields[path].kind not in WILDCARDS}
            self._values[key] = got
        return got

    def support(self, side: str, path: str, term: RTerm) -> int:
        """How many configurations of ``side`` hold this value of the field,
        not counting those copied from a stored page (a child's role)."""
        if side == "lookup":
            configs = [c for _ch, c in self.lookups if not _made_from_pages(self, c, 1)]
        else:
            configs = [c for cs in self.stores.values() for c in cs
                       if not _made_from_pages(self, c, 2)]
        ident = _ident(term)
        return sum(1 for c in configs if path in c.fields and _ident(c.fields[path]) == ident)

    def share(self, side: str, path: str, term: RTerm) -> float:
        """The part of ``side``'s configurations whose value of the field is
        defined where ``term``'s is."""
        configs = ([c for _ch, c in self.lookups] if side == "lookup"
                   else [c for cs in self.stores.values() for c in cs])
        where = _first_step(term)
        mine = [c for c in configs if path in c.fields]
        if not mine or where is None:
            return 0.0
        return sum(1 for c in mine if _first_step(c.fields[path]) == where) / len(mine)


def _ident(t: RTerm) -> tuple:
    if t.kind == "opaque":
        return ("opaque", states.canon(str(t.value))[0])
    return (t.kind, t.value)


def _score(value: Value, resolver: Resolver) -> int:
    """2: read from a page; 1: read from the MMU context; 0: computed."""
    origins = value.origins()
    if not origins or any(o.kind != "load" for o in origins):
        return 0
    if any(o.name in resolver.page_slots() for o in origins):
        return 2
    return 1


def _orient(cmp: Compare, resolver: Resolver) -> tuple[_Side, _Side]:
    a, b = _score(cmp.left, resolver), _score(cmp.right, resolver)
    left = _Side(cmp.left, "left", cmp.left_text)
    right = _Side(cmp.right, "right", cmp.right_text)
    if a == b:
        return left, right
    lookup, stored = (right, left) if a > b else (left, right)
    return (_Side(lookup.value, "lookup", lookup.text), _Side(stored.value, "stored", stored.text))


@dataclass
class _Candidate:
    """A stored configuration against one lookup configuration."""

    config: Concrete
    exists: object  # formula: where it exists and the compare meets it
    diffs: dict[str, object]  # field -> formula of the states where they are equal
    undecided: list[tuple[str, Message | None]]  # fields it cannot judge, with the note


def check_compare(cmp: Compare, facts: Facts, resolver: Resolver) -> list[Finding]:
    """The findings of one comparison site."""
    lookup, stored = _orient(cmp, resolver)
    paths = cmp.fields if cmp.fields is not None else list(cmp.left.fields)
    site = _Site(cmp, lookup, stored, paths, leaves={_leaf(p) for p in paths})
    if cmp.cond is not TRUE:
        site.cond_reads = tuple(sorted(_cond_origins(cmp.cond),
                                       key=lambda o: (o.kind, o.name, o.func, o.site, o.sub, o.via)))
        mine = stored.value.origins()
        site.cond_fields = frozenset(o.path(path) for o, path in tested_refs(cmp.cond) if o in mine)
    site.own = tuple(sorted(f"{o.name}." for o in stored.value.origins() if o.kind == "load"))
    if _score(stored.value, resolver) == 2:
        slots = {o.name for o in stored.value.origins()}
        site.page_slots = {s.id for s in facts.stores if s.slot in slots}
        names = "|".join(sorted(re.escape(n) for n in slots))
        site.page_read = re.compile(rf"(?:->|\.)\s*(?:{names})\s*\.\s*\w")
    joint = resolver.uses_params(cmp.left, cmp.func) or resolver.uses_params(cmp.right, cmp.func)
    chains = resolver.chains(cmp.func) if joint else [()]
    wheres = {}
    for i, chain in enumerate(chains):
        where = resolver.chain_cond(chain, cmp.func)
        if where is False:
            continue
        wheres[i] = where
        ctx = Ctx(chain)
        site.stores[i] = resolver.resolve(stored.value, cmp.func, ctx)
        # a lookup made from a page's role (a child's) starts from the pages
        # this comparison meets, as the children it meets were made from theirs
        seen = frozenset(f"{STORE}{sid}" for c in site.stores[i] for sid, _ch in c.stores
                         if sid in site.page_slots)
        slots = {o.name for o in stored.value.origins()} if site.page_slots else set()
        lctx = Ctx(chain, frozenset(slots) | seen)
        site.lookups.extend((i, c) for c in resolver.resolve(lookup.value, cmp.func, lctx))
    out: list[Finding] = []
    seen: set = set()
    for i, config in site.lookups:
        for f in _judge(site, chains[i], i, config, wheres[i], resolver):
            key = (f.rule, f.field, f.fingerprint, f.message)
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _judge(site: _Site, chain: tuple, index: int, lookup: Concrete, where, resolver: Resolver
           ) -> list[Finding]:
    """What one lookup configuration finds."""
    cmp = site.cmp
    own = site.own
    lcond = _where(states.conj((lookup.cond, where)), own)
    if lcond is False:
        return []
    ctx = Ctx(chain)
    cands: list[_Candidate] = []
    seen: set = set()
    child = _made_from_pages(site, lookup, 1)
    reads = site.cond_reads
    for stored in site.stores.get(index, []):
        if site.page_slots and "level" in site.leaves \
                and _made_from_pages(site, stored, 2) != child:
            continue  # a root lookup never meets a child page, nor a child lookup a root
        if child and _parent_store(site, lookup) != _parent_store(site, stored):
            continue  # children of pages another store made are that store's pages
        # a comparison guarded by `sp->role.direct ||` never meets direct pages
        if reads is None:
            meets = True
        else:
            env = {**lookup.env, **stored.env}
            key = tuple(id(env.get(o)) for o in reads)
            meets = site.meets.get(key)
            if meets is None:
                meets = site.meets[key] = _where(resolver.path_cond(cmp.cond, cmp.func, ctx, env), own)
        exists = states.conj((_where(stored.cond, own), meets))
        if exists is False:
            continue
        diffs: dict[str, object] = {}
        undecided: list[tuple[str, Message | None]] = []
        for p in site.paths:
            x, y = lookup.fields.get(p), stored.fields.get(p)
            if x is None or y is None or x.kind in WILDCARDS or y.kind in WILDCARDS:
                continue
            eq = _field_equal(x, y)
            if eq is True:
                continue
            if eq is None:
                undecided.append((p, None))
                continue
            if eq is False and _on_purpose(site, p, x, y):
                break  # another configuration, told apart on purpose: not a partner
            note = _note_for(site, lookup, stored, p, x, y)
            if note is not None:
                undecided.append((p, note))  # equal as far as the analysis can judge
                continue
            diffs[p] = eq
        else:
            if exists is True and not diffs and not undecided:
                return []  # found in every state
            key = (exists, tuple(diffs.items()), tuple(undecided))
            if key not in seen:  # one of configurations alike is enough
                seen.add(key)
                cands.append(_Candidate(stored, exists, diffs, undecided))
    if not cands:
        return []
    if any(c.exists is True and not c.diffs for c in cands):
        return _undecided_notes(site, lookup, cands)
    found = _explain(site, lookup, lcond, cands)
    return found or []


def _cond_origins(c) -> set:
    """The origins a condition's terms read."""
    holder = Value("", {})
    out: set = set()
    holder.fields = {"c": Ite(c, Const(0), Const(0))}
    out |= holder.origins()
    return out


def _parent_store(site: _Site, c: Concrete) -> int | None:
    """The store that made the page a configuration's role was copied from."""
    return next((sid for sid, _chain in c.stores if sid in site.page_slots), None)


def _made_from_pages(site: _Site, c: Concrete, n: int) -> bool:
    """A configuration made from the role of a stored page (a child page's
    role, or the role a child is looked up with): it passed ``n`` stores
    into the compared page slot (a stored page itself passed one), one of
    them maybe a field of a page's role read into an expression (a call's
    argument ``parent->role.level - 1``)."""
    got = sum(1 for sid, _chain in c.stores if sid in site.page_slots)
    if got < n and site.page_read is not None and any(
            t.kind in ("opaque", "symbol") and site.page_read.search(str(t.value))
            for t in c.fields.values()):
        got += 1
    return got >= n


def _field_equal(x: RTerm, y: RTerm):
    """True, False, a formula of the states where they are equal, or None
    when it cannot be decided (two different expressions, an unknown macro)."""
    if x.kind == "const" and y.kind == "const":
        return x.value == y.value
    if x.kind == "named" or y.kind == "named":
        return True if (x.kind, x.value) == (y.kind, y.value) else None
    if x.kind == "const" or y.kind == "const":
        c, e = (x, y) if x.kind == "const" else (y, x)
        if not _is_state(states.canon(str(e.value))[0]):
            return True  # a value of one path (a local, a member): not judged
        return states.is_value(str(e.value), int(c.value))  # type: ignore[call-overload]
    return states.same(str(x.value), str(y.value))


def _on_purpose(site: _Site, path: str, x: RTerm, y: RTerm) -> bool:
    """A field that tells configurations apart: the lookup's value is one a
    store writes, and the stored value one a lookup computes."""
    return _ident(x) in site.values("stored", path) and _ident(y) in site.values("lookup", path)


@lru_cache(maxsize=1 << 12)
def _is_state(atom: str) -> bool:
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
_SELECTOR = re.compile(r"[A-Za-z_]\w*(?::[A-Za-z_]\w*|(?:\.[A-Za-z_]\w*)+)?")


@lru_cache(maxsize=1 << 16)
def _where(f, own: tuple = ()):
    """Where a configuration exists, as far as ``_is_selector`` atoms say,
    but for the fields of ``own`` slots: the MMU context roles the
    comparison itself reads (which one it holds is what is compared)."""
    return states.relax(f, lambda a: _is_selector(a) and not a.startswith(own))


@lru_cache(maxsize=1 << 12)
def _is_selector(atom: str) -> bool:
    """An atom where a configuration exists is judged by: a flag of the host
    (``tdp_mmu_enabled``), a parameter (``mirror``), a field of the role the
    MMU context holds (``root_role.direct``). The guest's state
    (``is_long_mode(vcpu)``) tells the values of fields apart, not where
    pages are: a configuration made in one guest state is looked up in
    every other."""
    return bool(_SELECTOR.fullmatch(atom))


def _explain(site: _Site, lookup: Concrete, lcond, cands: list[_Candidate]
             ) -> list[Finding] | None:
    """The findings of a lookup configuration that misses in some states
    (or the notes of one found only where the analysis cannot judge a
    field): [] when there is nothing to say, None when the states cannot be
    enumerated."""
    field_atoms: dict[str, set] = {}
    for c in cands:
        for f in c.diffs.values():
            states.atoms(f, field_atoms)
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
    every = states.states(domains)
    if every is None:
        return None
    misses: list[dict] = []
    hits: list[dict] = []
    per_field: dict[str, tuple[_Candidate, list[dict]]] = {}
    unsure: _Candidate | None = None  # a partner found only where fields cannot be judged
    for st in every:
        if not states.holds(lcond, st):
            continue
        existing = [c for c in cands if states.holds(c.exists, st)]
        found = [c for c in existing if all(states.holds(f, st) for f in c.diffs.values())]
        if found:
            hits.append(st)
            if unsure is None and all(c.undecided for c in found):
                unsure = found[0]
            continue
        misses.append(st)
        if not existing:
            continue
        # the nearest: the fewest fields that differ in every state (a
        # constant), then in a call-site constant (a field that tells pages
        # apart), then in this state
        best = min(existing, key=lambda c: (
            sum(f is False for f in c.diffs.values()),
            sum(not states.holds(f, st) and c.config.fields[p].via_param for p, f in c.diffs.items()),
            sum(not states.holds(f, st) for f in c.diffs.values())))
        for p, f in best.diffs.items():
            # a field the comparison's own condition tests (`sp->role.direct
            # || ...`) is one it does not look for: not a miss of it
            if not states.holds(f, st) and p not in site.cond_fields:
                per_field.setdefault(p, (best, []))[1].append(st)
    if not misses or not per_field:
        return _notes(site, lookup, unsure) if unsure is not None else []
    out = []
    for p, (best, where) in per_field.items():
        out.extend(_part(site, lookup, best.config, p, where, hits,
                         len(where) == len(misses) and not hits))
    return out


def _part(site: _Site, lookup: Concrete, stored: Concrete, path: str, where: list[dict],
          hits: list[dict], never: bool) -> list[Finding]:
    """The finding for one field that keeps a lookup from its partner."""
    x, y = lookup.fields[path], stored.fields[path]
    leaf = _leaf(path)
    # which side diverges: the one that forces the value after a copy (an
    # override, a mask, a partial store), else the value fewer
    # configurations of the other side share
    if y.forced != x.forced:
        stored_cause = y.forced
    elif y.forced:
        # both forced: the override that more of its side passes through
        stored_cause = site.share("stored", path, y) >= site.share("lookup", path, x)
    else:
        sup_y = site.support("lookup", path, y)
        sup_x = site.support("stored", path, x)
        if sup_y != sup_x:
            stored_cause = sup_y < sup_x
        elif y.via_param != x.via_param:
            stored_cause = y.via_param
        else:
            stored_cause = True
    cause_term, other_term = (y, x) if stored_cause else (x, y)
    cause_side, other_side = ((site.stored.name, site.lookup.name) if stored_cause
                              else (site.lookup.name, site.stored.name))
    cause = _first_step(cause_term)
    if cause is None:
        return []

    text = None if never else states.describe(where, hits, _expr_atoms(x, y))
    misses = ((site.cmp.func, text),)
    store_fns = tuple(sorted({s.function for s in _steps(y) if s.kind == "store"}))
    msg = misses_class(never)(leaf, _shown(cause_term), cause_side, cause_term.forced,
                              _guard_text(cause_term.guard), _shown(other_term), other_side,
                              misses, store_fns)
    return [_finding(site, path, msg, (x, y), cause=(cause, stored_cause))]


def _note_for(site: _Site, lookup: Concrete, stored: Concrete, path: str, x: RTerm, y: RTerm
              ) -> Message | None:
    """A difference the analysis cannot judge: a constant forced under a
    guard whose fields are not the same constants on the other side."""
    leaf = _leaf(path)
    if x.is_const() and y.is_const():
        return None
    for forced, other, fs, os_, other_c in ((y, x, site.stored.name, site.lookup.name, lookup),
                                            (x, y, site.lookup.name, site.stored.name, stored)):
        if (forced.is_const() and other.kind == "opaque" and forced.forced and not forced.via_param
                and not _guard_holds(forced, other_c)):
            return ForcedUnderUndecidedGuard(leaf, forced.value, fs, _guard_text(forced.guard),
                                             other.value, os_)
    return None


def _guard_holds(forced: RTerm, other: Concrete) -> bool:
    for leaf, value in forced.guard:
        if value is None:
            return False
        t = _other_field(other, leaf)
        if t is None or not t.is_const() or t.value != value:
            return False
    return True


def _other_field(c: Concrete, leaf: str) -> RTerm | None:
    for path, t in c.fields.items():
        if path == leaf or path.endswith("." + leaf):
            return t
    return None


def _guard_text(guard: tuple) -> tuple:
    return tuple((g, v) for g, v in guard if v is not None)


def _undecided_notes(site: _Site, lookup: Concrete, cands: list[_Candidate]) -> list[Finding]:
    """A lookup found only if two expressions the analysis cannot compare
    are equal: one note per such field of its nearest partner."""
    exact = [c for c in cands if not c.diffs]
    if not exact or any(not c.undecided for c in exact):
        return []
    return _notes(site, lookup, min(exact, key=lambda c: len(c.undecided)))


def _notes(site: _Site, lookup: Concrete, best: _Candidate) -> list[Finding]:
    out = []
    for p, note in best.undecided:
        x, y = lookup.fields[p], best.config.fields[p]
        msg = note or Undecided(_leaf(p), x.describe(), site.lookup.name, y.describe(),
                                site.stored.name)
        out.append(_finding(site, p, msg, (x, y), cause=None))
    return out


def _expr_atoms(*terms: RTerm) -> list[str]:
    return [states.canon(str(t.value))[0] for t in terms if t.kind == "opaque"]


def _shown(t: RTerm) -> object:
    return t.value if t.kind == "const" else f"'{t.value}'"


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _steps(t: RTerm) -> list[Step]:
    return [st for n in trail_nodes(t.trace) if (st := step_of_node(n)) is not None]


def _first_step(t: RTerm) -> Step | None:
    got = _steps(t)
    return got[0] if got else None


def _finding(site: _Site, path: str, msg: Message, pair: tuple[RTerm, RTerm],
             cause: tuple[Step, bool] | None) -> Finding:
    """A finding at the cause (or, for a note, at the compare site), with
    the stored side's and the lookup side's traces."""
    cmp = site.cmp
    x, y = pair
    sides = [(y, site.stored), (x, site.lookup)]
    if cause is not None and not cause[1]:
        sides.reverse()
    trace: list[TraceStep] = []
    related: list[Step] = []
    full_path: list[tuple] = []
    for term, side in sides:
        nodes = [*trail_nodes(term.trace), node_of(cmp.step)]
        full_path.extend(nodes)
        first = True
        for n in nodes:
            st = step_of_node(n)
            if st is None:
                continue
            if first:
                related.append(st)
                first = False
            trace.append(TraceStep(st.file, st.line, st.function, st.kind,
                                   st.text if st.kind != "compare" else f"{side.name} side: {side.text}",
                                   side.name, st.col))
        seen = {(t.file, t.line, t.kind) for t in trace}
        for n in trail_nodes(term.guard_trace):
            st = step_of_node(n)
            if st is not None and st.kind in ("call", "def", "override") and (st.file, st.line, "guard") not in seen:
                seen.add((st.file, st.line, "guard"))
                trace.append(TraceStep(st.file, st.line, st.function, "guard",
                                       f"guard value from: {st.text}", side.name, st.col))
    related.append(cmp.step)
    if cause is None:
        where, anchor = cmp.step, ""
    else:
        where = cause[0]
        anchor = f"{where.kind}:{normalize_expr(where.text)}"
    return Finding(msg.rule, msg.severity, _leaf(path), str(msg), where.file, where.line, where.col,
                   where.function, trace, related, full_path, anchor=anchor, detail=encode_misses(msg))


def combine(findings: list[Finding]) -> list[Finding]:
    """One finding per cause: the findings of every compare site with one
    fingerprint become one, naming every lookup that misses, as severe as
    the most severe of them, with all their traces."""
    groups: dict[str, list[Finding]] = {}
    order: list[str] = []
    for f in findings:
        key = f.fingerprint if f.detail else f"\0{id(f)}"
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(f)
    out = []
    for key in order:
        group = groups[key]
        if len(group) == 1:
            out.append(group[0])
            continue
        out.append(_merge(group))
    return out


def _merge(group: list[Finding]) -> Finding:
    group = sorted(group, key=lambda f: -SEVERITY_RANK[f.severity])
    first = group[0]
    msgs = [m for f in group if (m := decode_misses(f.detail)) is not None]
    misses: list = []
    for m in msgs:
        for item in m.misses:
            if item not in misses:
                misses.append(item)
    # per lookup: never, or the states its configurations miss in
    by_fn: dict[str, list] = {}
    for fn, text in misses:
        by_fn.setdefault(fn, [])
        if text not in by_fn[fn]:
            by_fn[fn].append(text)
    misses = [(fn, None if None in texts else " or ".join(sorted(t for t in texts if t)[:2]))
              for fn, texts in by_fn.items()]
    stores = tuple(sorted({s for m in msgs for s in m.stores}))
    severity = max((SEVERITY_OF[type(m)] for m in msgs), key=lambda s: SEVERITY_RANK[s])
    msg = replace(misses_class(severity == "error")(*_args(msgs[0])),
                  misses=tuple(sorted(misses, key=lambda m: (m[1] is not None, m))), stores=stores)
    trace: list[TraceStep] = []
    keys: set = set()
    for f in group:
        for t in f.trace:
            k = (t.file, t.line, t.kind, t.side, t.text)
            if k not in keys:
                keys.add(k)
                trace.append(t)
    related = list(dict.fromkeys((*first.related, *(s for f in group[1:] for s in f.related))))
    graph = [n for f in group for n in f.graph_path]
    return replace(first, severity=msg.severity, message=str(msg), trace=trace, related=related,
                   graph_path=graph, detail=encode_misses(msg))


def _args(m: Misses) -> tuple:
    return (m.field, m.value, m.side, m.forced, m.guard, m.other, m.other_side, m.misses, m.stores)


def compare_sites(facts: Facts) -> list[Compare]:
    return facts.compares


CHECK = Check(sites=compare_sites, find=check_compare, combine=combine)
