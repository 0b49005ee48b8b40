"""Requests and their keys: the calls whose result a function returns, to
a function that gets or makes a page for a key, and what that key is
(the role compared with or stored into the page, the members tested
against the function's parameters)."""

from __future__ import annotations

import re

from analyzer.facts import CallSite, Exit, Facts, normalize_expr
from analyzer.record import field, record
from analyzer.resolve import Resolver, store_via
from analyzer.terms import And, Eq, Not, Opaque, Or, Value

IDENT = re.compile(r"[A-Za-z_]\w*$")
_MEMBER = re.compile(r"^(.+?)(?:->|\.)([A-Za-z_]\w*)$")


@record(frozen=True)
class Part:
    """One part of a key: a term (or a role value) of ``func``, whose
    parameters the call sites ``chain`` bind (``chain[-1]`` calls ``func``,
    ``chain[0]`` is in the function the key is seen from)."""

    obj: object
    func: str
    chain: tuple = ()

    def via(self, site: CallSite) -> Part:
        return Part(self.obj, self.func, (site, *self.chain))


@record
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


def member_of(term) -> tuple[str, str] | None:
    """``(pointer, member)`` of an opaque ``p->member`` term."""
    if not isinstance(term, Opaque):
        return None
    m = _MEMBER.match(term.text)
    return (normalize_expr(m.group(1)), m.group(2)) if m else None


class Requests:
    """Indexes of one analysis's facts, and the keys of the functions the
    check asked about."""

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
                if a[0] == "ret" and b[0] in ("var", "def"):  # a local, or one definition of it
                    self.results.setdefault((b[1], b[2]), set()).add(a[1])

    # ---- what functions return ---------------------------------------------

    def returned(self, func: str) -> set[str]:
        """The locals a function returns (``return sp;``)."""
        return {e.text for e in self.exits.get(func, []) if IDENT.match(e.text)}

    def returns_result(self, func: str, site: CallSite, e: Exit) -> bool:
        if e.call == site.id:
            return True
        return IDENT.match(e.text) is not None and site.callee in self.results.get((func, e.text), ())

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
                    m = member_of(a)
                    if m is not None and m[0] in ptrs and member_of(b) is None:
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
