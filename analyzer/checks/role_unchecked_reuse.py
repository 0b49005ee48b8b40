"""role-unchecked-reuse: a page kept without comparing it with the key.

Documentation for users: rules/role-unchecked-reuse.md (shown by ``explain``).

A *request* is a call whose result a function returns, to a function that
gets or makes a page for a key: it returns a pointer through which it
compares a page's role with a role it was given or computed (a lookup), or
stores that role into the page (a make), and tests page members such as
``sp->gfn`` against its parameters; or it returns such a request's result.
The *key* of a request is what it hands on to those comparisons: its role
argument (or the role the callee computes from its arguments) and the
arguments tested against page members.

A *reuse exit* of a function is a ``return`` before a request of it, taken
when a test of the slot of a pointer parameter holds
(``is_shadow_present_pte(*sptep)``): an existing page is there, and the
function hands it back, or tells its caller to keep it (``ERR_PTR(-EEXIST)``),
instead of getting one for the key. Every part of the key that varies
between the function's callers must be compared on the way to that exit:

- role: the role fields that depend on what the callers pass (not on the
  slot alone, not constants, not state loaded from a page or the MMU) and
  that not every caller passes as the same constant; a role word comparison
  against the key (``->role.word == role.word``), a mask, or a comparison of
  one field covers what it compares;
- a member (``gfn``): an equality of the existing page's member with the
  key's argument.

A part that cannot differ (derived from the slot's parent alone, as the TDP
MMU's child roles are) needs no comparison. Nothing here depends on names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analyzer.checks import Check
from analyzer.checks.messages import MemberNotCompared, Message, RoleNotCompared, RolePartlyCompared
from analyzer.facts import CallSite, Exit, Facts, normalize_expr
from analyzer.findings import Finding, TraceStep
from analyzer.nodes import node_of
from analyzer.resolve import Resolver, store_via
from analyzer.terms import (
    And,
    CompareCond,
    Const,
    Eq,
    Ite,
    Named,
    Not,
    Opaque,
    OpaqueCond,
    Or,
    Ref,
    Scalar,
    Step,
    Truthy,
    Value,
)

_IDENT = re.compile(r"[A-Za-z_]\w*$")
# a name used as a value: not a member, not the pointer of a member access
# (``vcpu->arch.mmu`` reads state, not what the caller chose)
_VALUE_NAMES = re.compile(r"(?<!->)(?<![\w.])([A-Za-z_]\w*)(?!\w|->|\s*\()")
_MEMBER = re.compile(r"^(.+?)(?:->|\.)([A-Za-z_]\w*)$")
# the slot a pointer names: *p, *(p), p[i] (not a product a*p)
_DEREF = re.compile(r"(?<![\w)\]])\*\(*([A-Za-z_]\w*)|\b([A-Za-z_]\w*)\[")
_DEPTH = 24


@dataclass(frozen=True)
class Part:
    """One part of a key: a term (or a role value) of ``func``, whose
    parameters the call sites ``chain`` bind (``chain[-1]`` calls ``func``,
    ``chain[0]`` is in the function the key is seen from)."""

    obj: object
    func: str
    chain: tuple = ()

    def via(self, site: CallSite) -> Part:
        return Part(self.obj, self.func, (site, *self.chain))


@dataclass
class Key:
    role: Part | None = None
    members: dict[str, Part] = field(default_factory=dict)

    def via(self, site: CallSite) -> Key:
        return Key(self.role.via(site) if self.role is not None else None,
                   {m: p.via(site) for m, p in self.members.items()})


def implied(cond, positive: bool = True) -> list[tuple[object, bool]]:
    """The atoms a condition makes hold, each with its polarity."""
    if isinstance(cond, Not):
        return implied(cond.cond, not positive)
    if isinstance(cond, And | Or):
        if isinstance(cond, And) == positive:  # a conjunction: every part holds
            return [a for p in cond.parts for a in implied(p, positive)]
        if not cond.parts:
            return []
        common = implied(cond.parts[0], positive)  # a disjunction: what every part gives
        for p in cond.parts[1:]:
            got = implied(p, positive)
            common = [a for a in common if a in got]
        return common
    return [(cond, positive)]


def _texts(atom) -> list[str]:
    if isinstance(atom, OpaqueCond):
        return [atom.text]
    if isinstance(atom, Truthy) and isinstance(atom.term, Opaque):
        return [atom.term.text]
    return []


def _member(term) -> tuple[str, str] | None:
    """``(pointer, member)`` of an opaque ``p->member`` term."""
    if not isinstance(term, Opaque):
        return None
    m = _MEMBER.match(term.text)
    return (normalize_expr(m.group(1)), m.group(2)) if m else None


class _Reuse:
    """What the check knows of one analysis: indexes of its facts, and the
    keys of the functions it asked about."""

    def __init__(self, facts: Facts, resolver: Resolver) -> None:
        self.facts, self.resolver = facts, resolver
        self.exits: dict[str, list[Exit]] = {}
        for e in facts.exits:
            self.exits.setdefault(e.func, []).append(e)
        self.calls: dict[str, list[CallSite]] = {}
        for c in facts.calls:
            self.calls.setdefault(c.caller, []).append(c)
        self.compares = {c.id: c for c in facts.compares}
        self.keys: dict = {}
        # (function, local) -> callees whose result the local takes
        self.results: dict[tuple[str, str], set[str]] = {}
        pages = resolver.pages
        for flow in getattr(pages, "flows", {}).values():
            for a, b in flow.edges:
                if a[0] == "ret" and b[0] == "var":
                    self.results.setdefault((b[1], b[2]), set()).add(a[1])

    # ---- what functions return ---------------------------------------------

    def returned(self, func: str) -> set[str]:
        """The locals a function returns (``return sp;``)."""
        return {e.text for e in self.exits.get(func, []) if _IDENT.match(e.text)}

    def returns_result(self, func: str, site: CallSite, e: Exit) -> bool:
        if e.call == site.id:
            return True
        return _IDENT.match(e.text) is not None and site.callee in self.results.get((func, e.text), ())

    def requests(self, func: str) -> list[tuple[CallSite, Key]]:
        """The calls of ``func`` to a function with a key whose result
        ``func`` returns, with the key as ``func`` sees it."""
        self.resolver.note(("fn", func))
        out = []
        for site in self.calls.get(func, []):
            if not any(self.returns_result(func, site, e) for e in self.exits.get(func, [])):
                continue
            key = self.key(site.callee)
            if key is not None:
                out.append((site, key.via(site)))
        return out

    def key(self, func: str) -> Key | None:
        return self.resolver._memo(self.keys, func, None, lambda: self._key(func))

    def _key(self, func: str) -> Key | None:
        self.resolver.note(("fn", func))
        ptrs = self.returned(func)
        if func not in self.facts.functions:
            return None
        key = Key()
        for cmp in (c for c in self.facts.compares if c.func == func):
            for page, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
                if key.role is None and self.page_load(page, ptrs) and not self.page_load(other, ptrs):
                    key.role = Part(other, func)
        for st in self.facts.stores:
            if (key.role is None and st.func == func and st.value is not None and not st.path
                    and store_via(st) in ptrs):
                key.role = Part(st.value, func)
        conds = [c.cond for c in self.facts.compares if c.func == func]
        conds += [e.cond for e in self.exits.get(func, [])]
        for cond in conds:
            for atom, positive in implied(cond):
                if not positive or not isinstance(atom, Eq):
                    continue
                for a, b in ((atom.left, atom.right), (atom.right, atom.left)):
                    m = _member(a)
                    if m is not None and m[0] in ptrs and _member(b) is None:
                        key.members.setdefault(m[1], Part(b, func))
        for site in self.calls.get(func, []):
            if not any(self.returns_result(func, site, e) for e in self.exits.get(func, [])):
                continue
            inner = self.key(site.callee)
            if inner is None:
                continue
            inner = inner.via(site)
            if key.role is None:
                key.role = inner.role
            for m, p in inner.members.items():
                key.members.setdefault(m, p)
        return key if key.role is not None or key.members else None

    @staticmethod
    def page_load(value, ptrs: set[str]) -> bool:
        origins = value.origins() if isinstance(value, Value) else set()
        return bool(origins) and all(o.kind == "load" and o.via in ptrs for o in origins)

    # ---- binding parameters --------------------------------------------------

    def arg(self, func: str, name: str, site: CallSite):
        info = self.facts.functions.get(func)
        idx = info.param_index(name) if info is not None else None
        if idx is None or idx >= len(site.args):
            return None
        self.resolver.note(("fn", site.caller))
        return site.args[idx]

    def lift(self, obj, func: str, chain: tuple):
        """The term (or role value) of the top function that ``obj`` is a
        copy of, passed down as an argument; None when it is computed below."""
        while chain:
            site = chain[-1]
            if isinstance(obj, Scalar) and obj.func == func:
                obj = self.arg(func, obj.name, site)
            elif isinstance(obj, Ref) and obj.origin.kind == "param" and obj.origin.func == func:
                whole = self.arg(func, obj.origin.name, site)
                obj = whole.fields.get(obj.path) if isinstance(whole, Value) else None
            elif isinstance(obj, Value) and (p := _param_of(obj, func)) is not None:
                obj = self.arg(func, p, site)
            else:
                return None
            if obj is None:
                return None
            func, chain = site.caller, chain[:-1]
        return obj

    def inputs(self, t, func: str, chain: tuple, depth: int = 0) -> set[str]:
        """The parameters of the top function that a term depends on, through
        the arguments that bind ``func``'s parameters and the returns of the
        calls it reads; loads, constants and globals are not inputs."""
        if depth > _DEPTH or t is None:
            return set()
        d = depth + 1
        if isinstance(t, Value):
            return {p for term in t.fields.values() for p in self.inputs(term, func, chain, d)}
        if isinstance(t, Scalar):
            return self.param_inputs(t.name, "", func, chain, d)
        if isinstance(t, Ref):
            o = t.origin
            if o.kind == "param":
                return self.param_inputs(o.name, t.path, func, chain, d)
            if o.kind == "call":
                return self.call_inputs(o.site, t.path, chain, d)
            if o.kind == "phi":
                phi = self.facts.phis.get(o.site)
                out: set[str] = set()
                for cond, value in phi.alternatives if phi is not None else ():
                    out |= self.inputs(value.fields.get(t.path), func, chain, d)
                    out |= self.cond_inputs(cond, func, chain, d)
                return out
            return set()
        if isinstance(t, Ite):
            return (self.inputs(t.then, func, chain, d) | self.inputs(t.other, func, chain, d)
                    | self.cond_inputs(t.cond, func, chain, d))
        if isinstance(t, Opaque):
            return self.text_inputs(t.text, func, chain, d)
        return set()

    def cond_inputs(self, c, func: str, chain: tuple, depth: int) -> set[str]:
        if isinstance(c, Truthy):
            return self.inputs(c.term, func, chain, depth)
        if isinstance(c, Not):
            return self.cond_inputs(c.cond, func, chain, depth)
        if isinstance(c, And | Or):
            return {p for part in c.parts for p in self.cond_inputs(part, func, chain, depth)}
        if isinstance(c, Eq):
            return self.inputs(c.left, func, chain, depth) | self.inputs(c.right, func, chain, depth)
        if isinstance(c, OpaqueCond):
            return self.text_inputs(c.text, func, chain, depth)
        return set()

    def text_inputs(self, text: str, func: str, chain: tuple, depth: int) -> set[str]:
        info = self.facts.functions.get(func)
        names = {p.name for p in info.params} if info is not None else set()
        out: set[str] = set()
        for word in set(_VALUE_NAMES.findall(text)) & names:
            out |= self.param_inputs(word, "", func, chain, depth)
        return out

    def param_inputs(self, name: str, path: str, func: str, chain: tuple, depth: int) -> set[str]:
        if not chain:
            return {name}
        site = chain[-1]
        got = self.arg(func, name, site)
        if isinstance(got, Value):
            got = got.fields.get(path) if path else got
        return self.inputs(got, site.caller, chain[:-1], depth)

    def call_inputs(self, site_id: int, path: str, chain: tuple, depth: int) -> set[str]:
        site = self.resolver.sites.get(site_id)
        callee = self.facts.functions.get(site.callee) if site is not None else None
        if site is None or callee is None:
            return set()
        self.resolver.note(("fn", callee.name))
        out: set[str] = set()
        for cond, value, _st in callee.returns:
            inner = (*chain, site)
            out |= self.inputs(value.fields.get(path), callee.name, inner, depth)
            out |= self.cond_inputs(cond, callee.name, inner, depth)
        return out

    def def_steps(self, t, func: str, chain: tuple, depth: int = 0) -> list[tuple[int, Step]]:
        """Where a key term is computed: the statement that writes it and
        the calls it comes out of, each with how deep below the top it is."""
        if depth > _DEPTH or t is None:
            return []
        below = len(chain)
        if isinstance(t, Ref) and t.origin.kind == "call":
            site = self.resolver.sites.get(t.origin.site)
            callee = self.facts.functions.get(site.callee) if site is not None else None
            if site is None or callee is None:
                return []
            for _cond, value, _st in callee.returns:
                got = self.def_steps(value.fields.get(t.path), callee.name, (*chain, site), depth + 1)
                if got:
                    return [*got, (below, site.step)]
            return [(below, site.step)]
        if isinstance(t, Ref) and t.origin.kind == "param" and chain:
            whole = self.arg(func, t.origin.name, chain[-1])
            inner = whole.fields.get(t.path) if isinstance(whole, Value) else None
            return self.def_steps(inner, chain[-1].caller, chain[:-1], depth + 1)
        st = getattr(t, "step", None)
        return [(below, st)] if st is not None and st.line else []

    # ---- callers -------------------------------------------------------------

    def varying_params(self, func: str) -> set[str]:
        """Parameters of ``func`` whose argument is not the same constant at
        every call of it (every parameter, when the files never call it)."""
        self.resolver.note(("callers", func))
        info = self.facts.functions.get(func)
        if info is None:
            return set()
        sites = self.resolver.callers.get(func, [])
        out = set()
        for p in info.params:
            args = [s.args[p.index] if p.index < len(s.args) else None for s in sites]
            if not args or not all(isinstance(a, Const | Named) for a in args) or len(set(args)) > 1:
                out.add(p.name)
        return out


def _param_of(value: Value, func: str) -> str | None:
    """The parameter a role value is a plain copy of, if it is one."""
    names = set()
    for path, t in value.fields.items():
        if not (isinstance(t, Ref) and t.origin.kind == "param" and t.origin.func == func
                and t.path == path and not t.origin.sub):
            return None
        names.add(t.origin.name)
    return names.pop() if len(names) == 1 else None


def _state(facts: Facts, resolver: Resolver) -> _Reuse:
    got = resolver.__dict__.get("_unchecked_reuse")
    if got is None or got.facts is not facts:
        got = resolver.__dict__["_unchecked_reuse"] = _Reuse(facts, resolver)
    return got


# ---- the check -----------------------------------------------------------------


def reuse_sites(facts: Facts) -> list[Exit]:
    """Exits of functions that return a call's result on another way."""
    by_func: dict[str, list[Exit]] = {}
    for e in facts.exits:
        by_func.setdefault(e.func, []).append(e)
    out = []
    for exits in by_func.values():
        if len(exits) > 1 and any(e.call >= 0 or _IDENT.match(e.text) for e in exits):
            out.extend(exits)
    return out


def check_exit(e: Exit, facts: Facts, resolver: Resolver) -> list[Finding]:
    """The findings of one exit: each part of a key it keeps a page for
    without comparing it."""
    st = _state(facts, resolver)
    out: list[Finding] = []
    info = facts.functions.get(e.func)
    if info is None:
        return out
    atoms = implied(e.cond)
    params = {p.name for p in info.params}
    slots = set()
    for atom, positive in atoms:
        if positive:
            for text in _texts(atom):
                slots |= {a or b for a, b in _DEREF.findall(text)} & params
    if not slots:
        return out
    varying = None
    for site, key in st.requests(e.func):
        if e.call == site.id or st.returns_result(e.func, site, e) or e.step.line >= site.step.line:
            continue
        if varying is None:
            varying = st.varying_params(e.func) - slots
        if key.role is not None:
            found = _role_finding(st, e, site, key.role, atoms, varying)
            if found is not None:
                out.append(found)
        for member, part in key.members.items():
            found = _member_finding(st, e, site, member, part, atoms, varying)
            if found is not None:
                out.append(found)
        break  # the first request after the exit is what it stands for
    return out


def _holds_equal(atom, positive: bool) -> bool:
    if isinstance(atom, CompareCond):
        return atom.equal == positive
    return isinstance(atom, Eq) and positive


def _role_finding(st: _Reuse, e: Exit, site: CallSite, part: Part, atoms, varying: set[str]):
    value = part.obj
    if not isinstance(value, Value):
        return None
    fields = list(value.fields)
    top = {f: st.lift(value.fields[f], part.func, part.chain) for f in fields}
    vary = [f for f in fields if f and st.inputs(value.fields[f], part.func, part.chain) & varying]
    if not vary:
        return None  # the key cannot differ from the page there
    covered: set[str] = set()
    compares: list[Step] = []
    for atom, positive in atoms:
        if not _holds_equal(atom, positive):
            continue
        if isinstance(atom, CompareCond):
            cmp = st.compares.get(atom.site)
            if cmp is None:
                continue
            for page, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
                if not _loaded(page) or _loaded(other):
                    continue
                same = [f for f in fields if top[f] is not None and f in other.fields]
                if same and all(other.fields[f] == top[f] for f in same):
                    covered |= set(cmp.fields if cmp.fields is not None else fields)
                    compares.append(cmp.step)
                    break
        elif isinstance(atom, Eq):
            for a, b in ((atom.left, atom.right), (atom.right, atom.left)):
                if isinstance(a, Ref) and a.origin.kind == "load" and a.path in top and top[a.path] == b:
                    covered.add(a.path)
                    if a.step.line:
                        compares.append(a.step)  # the page's field, read to compare it
    missing = [f for f in vary if f not in covered]
    if not missing:
        return None
    leaves = [f.rsplit(".", 1)[-1] for f in missing]
    partly = [f.rsplit(".", 1)[-1] for f in fields if f in covered and f]
    msg: Message = (RolePartlyCompared(tuple(leaves), e.func, tuple(partly)) if partly
                    else RoleNotCompared(tuple(leaves), e.func))
    found = {s for f in missing for s in st.def_steps(value.fields[f], part.func, part.chain)}
    # from the statements that write the fields to the calls that bring them up
    key_steps = list(dict.fromkeys(s for _d, s in sorted(
        found, key=lambda d: (-d[0], d[1].file, d[1].line, d[1].col))))
    return _finding(msg, "role", e, site, key_steps, compares)


def _member_finding(st: _Reuse, e: Exit, site: CallSite, member: str, part: Part, atoms,
                    varying: set[str]):
    if not st.inputs(part.obj, part.func, part.chain) & varying:
        return None
    top = st.lift(part.obj, part.func, part.chain)
    for atom, positive in atoms:
        if not _holds_equal(atom, positive) or not isinstance(atom, Eq):
            continue
        for a, b in ((atom.left, atom.right), (atom.right, atom.left)):
            m = _member(a)
            if m is not None and m[1] == member and _member(b) is None and (top is None or b == top):
                return None
    key_steps = _scalar_steps(st, e.func, top) if top is not None else []
    return _finding(MemberNotCompared(member, e.func), member, e, site, key_steps, [])


def _scalar_steps(st: _Reuse, func: str, term) -> list[Step]:
    info = st.facts.functions[func]
    if isinstance(term, Scalar) and term.func == func:
        return [Step(info.file, info.line, 1, func, "param", f"parameter {term.name}")]
    s = getattr(term, "step", None)
    return [s] if s is not None and s.line else []


def _loaded(value) -> bool:
    origins = value.origins() if isinstance(value, Value) else set()
    return bool(origins) and all(o.kind == "load" for o in origins)


def _finding(msg: Message, part: str, e: Exit, site: CallSite, key_steps: list[Step],
             compares: list[Step]) -> Finding:
    steps = [(s, "key") for s in (*key_steps, site.step)]
    steps += [(s, "reuse") for s in (*compares, e.step)]
    trace = [TraceStep(s.file, s.line, s.function, s.kind, s.text, side, s.col) for s, side in steps]
    related = [steps[0][0], e.step]
    return Finding(msg.rule, msg.severity, part, str(msg), e.step.file, e.step.line, e.step.col,
                   e.func, trace, related, [node_of(s) for s, _side in steps])


CHECK = Check(sites=reuse_sites, find=check_exit)
