"""What a key's parts depend on: the parameters of the function the key
is seen from, bound through the call sites on the way down; where a part
is computed; which parameters the callers pass differently."""

from __future__ import annotations

import re

from analyzer.facts import CallSite, Facts
from analyzer.resolve import Resolver
from analyzer.terms import (
    And,
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

# a name used as a value: not a member, not the pointer of a member access
# (``vcpu->arch.mmu`` reads state, not what the caller chose)
_VALUE_NAMES = re.compile(r"(?<!->)(?<![\w.])([A-Za-z_]\w*)(?!\w|->|\s*\()")
_DEPTH = 24


class Inputs:
    def __init__(self, facts: Facts, resolver: Resolver) -> None:
        self.facts, self.resolver = facts, resolver

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
