"""Path conditions and guards as formulas of guest state (``analyzer.states``).

A condition's terms are resolved as values are (``Terms``); what the
analysis cannot decide stays a formula of the expressions' atoms. A loop or
switch body may run or not: a condition resting on one is computed both
ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from analyzer import states
from analyzer.facts import Facts
from analyzer.resolve.configs import Ctx, RTerm
from analyzer.resolve.term import Terms
from analyzer.resolve.trails import trail_cat
from analyzer.terms import TRUE, And, Eq, Not, OpaqueCond, Or, Origin, Ref, Truthy

# loop and switch bodies: may run or not, on any path (no atom of state)
_ANY_CONDS = frozenset({"loop", "switch", ""})
# a comparison of role words as a condition (the "role unchanged" early
# returns): what it depends on is the configurations themselves
_ROLE_COMPARE = re.compile(r"(?:\.|->)(?:word|as_u64)\b")


class Conditions:
    """Conditions of a context as formulas, and what decided guards rest on."""

    def __init__(self, terms: Terms) -> None:
        self.terms = terms

    def path_cond(self, c, func: str, ctx: Ctx, env: Mapping) -> object:
        """The states where the path condition ``c`` can hold (a loop or
        switch body may run or not: either way)."""
        if c is TRUE:
            return True
        ft, ff = self.formulas(c, func, ctx, env)
        return states.disj((ft, ff))

    def cond(self, c, func: str, ctx: Ctx, env: Mapping):
        """True, False or None (cannot tell)."""
        ft, ff = self.formulas(c, func, ctx, env)
        if ft is True and ff is True:
            return True
        if ft is False and ff is False:
            return False
        return None

    def formulas(self, c, func: str, ctx: Ctx, env: Mapping) -> tuple:
        """The condition as formulas of guest state, if the loop and switch
        bodies it rests on run and if they do not."""
        hit = [False]
        ft = self._formula(c, func, ctx, env, True, hit)
        if not hit[0]:
            return ft, ft
        return ft, self._formula(c, func, ctx, env, False, [False])

    def _formula(self, c, func: str, ctx: Ctx, env: Mapping, loops: bool, hit: list):
        term = self.terms.term
        if isinstance(c, And):
            return states.conj(self._formula(p, func, ctx, env, loops, hit) for p in c.parts)
        if isinstance(c, Or):
            return states.disj(self._formula(p, func, ctx, env, loops, hit) for p in c.parts)
        if isinstance(c, Not):
            return states.neg(self._formula(c.cond, func, ctx, env, loops, hit))
        if isinstance(c, Truthy):
            return _truth(term(c.term, func, ctx, env), loops, hit)
        if isinstance(c, Eq):
            return _equal(term(c.left, func, ctx, env), term(c.right, func, ctx, env), loops, hit)
        if isinstance(c, OpaqueCond) and c.text not in _ANY_CONDS and not _ROLE_COMPARE.search(c.text):
            got = self.terms.value_of(c.text)
            return bool(got) if got is not None else states.truthy(c.text)
        hit[0] = True
        return loops

    def cond_trace(self, c, func: str, ctx: Ctx, env: Mapping) -> tuple:
        """Graph nodes carrying the values a decided guard rested on."""
        term = self.terms.term
        if isinstance(c, Truthy):
            return term(c.term, func, ctx, env).trace
        if isinstance(c, Not):
            return self.cond_trace(c.cond, func, ctx, env)
        if isinstance(c, And | Or):
            out: tuple = ()
            for p in c.parts:
                out = trail_cat(out, self.cond_trace(p, func, ctx, env))
            return out
        if isinstance(c, Eq):
            return trail_cat(term(c.left, func, ctx, env).trace, term(c.right, func, ctx, env).trace)
        return ()

    def guard_of(self, c, func: str, ctx: Ctx, env: Mapping) -> tuple:
        """Role fields a decided guard tested, with the values that held."""
        term = self.terms.term
        if isinstance(c, Truthy) and c.path:
            r = term(c.term, func, ctx, env)
            if r.kind == "const":
                return ((c.path, r.value),)
        if isinstance(c, Not) and isinstance(c.cond, Truthy) and c.cond.path:
            r = term(c.cond.term, func, ctx, env)
            if r.kind == "const":
                return ((c.cond.path, r.value),)
        if isinstance(c, And):
            out: tuple = ()
            for p in c.parts:
                out += self.guard_of(p, func, ctx, env)
            return out
        return ()


def _truth(r: RTerm, loops: bool, hit: list):
    if r.kind == "const":
        return bool(r.value)
    if r.kind in ("named", "opaque", "symbol"):
        return states.truthy(str(r.value))
    if r.kind == "ite":
        then_c, else_c, a, b = r.value
        return states.disj((states.conj((then_c, _truth(a, loops, hit))),
                            states.conj((else_c, _truth(b, loops, hit)))))
    hit[0] = True
    return loops


def _equal(a: RTerm, b: RTerm, loops: bool, hit: list):
    for x, y in ((a, b), (b, a)):
        if x.kind == "ite":
            then_c, else_c, t, e = x.value
            return states.disj((states.conj((then_c, _equal(t, y, loops, hit))),
                                states.conj((else_c, _equal(e, y, loops, hit)))))
    return equal_formula(a, b, lambda: _any(loops, hit))


def _any(loops: bool, hit: list) -> bool:
    hit[0] = True
    return loops


def equal_formula(a: RTerm, b: RTerm, undecided=lambda: None):
    """The states where two resolved scalar terms are equal: True, False, a
    formula, or ``undecided()`` (an unknown term)."""
    if a.kind == "unknown" or b.kind == "unknown":
        return undecided()
    if a.kind == "const" and b.kind == "const":
        return a.value == b.value
    if a.kind == "const" or b.kind == "const":
        c, x = (a, b) if a.kind == "const" else (b, a)
        return states.is_value(str(x.value), int(c.value))  # type: ignore[call-overload]
    got = states.same(str(a.value), str(b.value))
    if got is not None:
        return got
    x, y = sorted((str(a.value), str(b.value)))
    return states.is_value(f"({x})==({y})", 1)


def tested_fields(facts: Facts) -> dict[str, set[str]]:
    """slot -> the fields of it that the conditions of calls, stores and
    returns test (``if (vcpu->arch.mmu->root_role.direct)``). Made once
    for facts as long as they do not grow: an analysis after an edit asks
    it of its base's facts, which the analysis before it asked already."""
    size = (len(facts.calls), len(facts.stores), len(facts.functions))
    for was, was_size, result in _TESTED:
        if was is facts and was_size == size:
            return {slot: set(paths) for slot, paths in result.items()}
    got = _tested_fields(facts)
    _TESTED[:] = [(facts, size, got), *_TESTED[:1]]
    return {slot: set(paths) for slot, paths in got.items()}


# the facts asked last (two: an analysis's and its base's), with their
# sizes then and what they test
_TESTED: list[tuple[Facts, tuple[int, int, int], dict[str, set[str]]]] = []


def _tested_fields(facts: Facts) -> dict[str, set[str]]:
    got: dict[str, set[str]] = {}
    conds = [c.cond for c in facts.calls] + [s.cond for s in facts.stores]
    conds += [c for info in facts.functions.values() for c, _v, _st in info.returns]
    refs = _REFS
    for c in conds:
        known = refs.get(id(c))
        if known is None or known[0] is not c:
            if len(refs) >= _REFS_KEPT:
                refs.clear()
            known = refs[id(c)] = (c, tested_refs(c))
        for o, path in known[1]:
            got.setdefault(o.name, set()).add(path)
    return got


# condition (by identity, kept alive with it) -> its ``tested_refs``: the
# facts an edit did not change keep their condition objects (git mode asks
# each commit's facts, nearly all of them the commit before's)
_REFS: dict[int, tuple[object, list]] = {}
_REFS_KEPT = 50_000


def tested_refs(c) -> list[tuple[Origin, str]]:
    """(load origin, field path) of the slot fields a condition tests."""
    out: list[tuple[Origin, str]] = []
    stack = [c]
    while stack:
        x = stack.pop()
        if isinstance(x, Truthy):
            stack.append(x.term)
        elif isinstance(x, Not):
            stack.append(x.cond)
        elif isinstance(x, And | Or):
            stack.extend(x.parts)
        elif isinstance(x, Eq):
            stack.extend((x.left, x.right))
        elif isinstance(x, Ref) and x.origin.kind == "load":
            out.append((x.origin, x.path))
    return out
