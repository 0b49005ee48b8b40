"""One term of a value resolved, in a context of call sites and an
environment of the origins' configurations: one small handler per term
type, found by the type's name (``REF``, ``CONST`` ...), as pyflakes finds
its node handlers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from analyzer import states
from analyzer.constants import evaluate
from analyzer.facts import Facts
from analyzer.flow import argument
from analyzer.nodes import node_of
from analyzer.resolve.configs import FORCING, Ctx, RTerm
from analyzer.resolve.deps import Deps
from analyzer.resolve.trails import one, trail_cat, trail_last
from analyzer.terms import And, Not, Or, Ref, Scalar, Truthy, Value, step_of

if TYPE_CHECKING:
    from analyzer.resolve.conditions import Conditions


class Terms:
    """Resolves terms: constants and macros to integers, parameters to the
    arguments of the call site that binds them, reads of an origin to its
    configuration's field, undecided guards to ``ite`` terms."""

    conds: Conditions  # set by the Resolver: guards are conditions

    def __init__(self, facts: Facts, constants: dict[str, int], deps: Deps) -> None:
        self.facts = facts
        self.constants = constants
        self.deps = deps
        self._values: dict[str, int | None] = {}
        self._handlers: dict[type, object] = {}
        self._edges: dict = {}  # (call site, callee, parameter) -> the argument's flow edge

    def value_of(self, text: str) -> int | None:
        """The integer a constant expression of the tree's macros is, if it is one."""
        memo = self._values
        if text not in memo:
            memo[text] = evaluate(text, self.constants)
        return memo[text]

    def term(self, t, func: str, ctx: Ctx, env: Mapping) -> RTerm:
        st = t.step if type(t) is Ref else step_of(t)
        here = (st.__dict__.get("_node") or node_of(st)) if st.line else None
        handler = self._handlers.get(type(t))
        if handler is None:
            # the class's function, not a bound method: one kept here would
            # tie the Terms to itself in a cycle
            handler = self._handlers[type(t)] = getattr(Terms, type(t).__name__.upper(), _unknown)
        return handler(self, t, st, func, ctx, env, here)  # type: ignore[operator]

    # ---- one handler per term type ------------------------------------------

    def REF(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        alt = env.get(t.origin)
        got = alt.fields.get(t.path) if alt is not None else None
        if got is None:
            return RTerm("symbol", f"{t.origin.name}.{t.path}", trace=one(here))
        trace = trail_cat(got[5], alt.tail)
        if here is not None and trail_last(trace) != here:
            trace = (trace, here)
        if trace is got[5]:
            return got
        return got.retraced(trace)

    def CONST(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        return RTerm("const", t.value, forced=st.kind in FORCING, trace=one(here))

    def NAMED(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        value = self.constants.get(t.name)
        if value is not None:
            return RTerm("const", value, forced=st.kind in FORCING, trace=one(here))
        return RTerm("named", t.name, forced=st.kind in FORCING, trace=one(here))

    def OPAQUE(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        if t.text.startswith("masked("):  # a mask the analysis could not read
            return RTerm("unknown", t.text, trace=one(here))
        value = self.value_of(t.text)
        if value is not None:  # ACC_WRITE_MASK|ACC_USER_MASK
            return RTerm("const", value, forced=st.kind in FORCING, trace=one(here))
        return RTerm("opaque", t.text, trace=one(here))

    def UNKNOWN(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        return RTerm("unknown", t.why, trace=one(here))

    def SCALAR(self, t: Scalar, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        info = self.facts.functions.get(t.func)
        idx = info.param_index(t.name) if info else None
        if t.func != func or not ctx.sites or idx is None or idx >= len(ctx.sites[0].args):
            # an unbound parameter: one value of state per function
            return RTerm("symbol", f"{t.func}:{t.name}", trace=one(here))
        site = ctx.sites[0]
        self.deps.note(("fn", site.caller))
        arg = site.args[idx]
        if isinstance(arg, Value):
            return RTerm("unknown", "role passed as scalar", trace=one(here))
        got = self.term(arg, site.caller, ctx.parent(), {})
        # the argument flows into the parameter, the parameter into its use here
        key = (site.id, func, t.name)
        edge = self._edges.get(key)
        if edge is None:
            edge = self._edges[key] = argument(site, func, t.name)
        got = got.extend(edge.src, edge.dst, here)
        # a call-site constant written over a copied role (``role.direct =
        # direct``) is forced there, as an override is
        forced = got.forced or (got.kind == "const" and t.step.kind in FORCING)
        return RTerm(got.kind, got.value, forced, got.guard, True, got.trace, got.guard_trace)

    def ITE(self, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
        conds = self.conds
        ft, ff = conds.formulas(t.cond, func, ctx, env)
        if ft is True and ff is True:
            got = self.term(t.then, func, ctx, env)
            return RTerm(got.kind, got.value, got.forced, got.guard + conds.guard_of(t.cond, func, ctx, env),
                         got.via_param, got.trace,
                         trail_cat(got.guard_trace, conds.cond_trace(t.cond, func, ctx, env)))
        if ft is False and ff is False:
            return self.term(t.other, func, ctx, env)
        a = self.term(t.then, func, ctx, env)
        b = self.term(t.other, func, ctx, env)
        if a.kind == b.kind and a.value == b.value:
            return a
        flag = _as_flag(ft, ff, a, b)
        if flag is not None:  # `x ? 1 : 0` is `!!x`
            # forced when a branch's constant is (an override under the
            # guard): the flag diverges there, and is traced from there
            src = b if b.forced and not a.forced else a
            return RTerm("opaque", flag, forced=a.forced or b.forced, trace=src.trace)
        if a.forced:  # the override's guard, undecided here
            a = RTerm(a.kind, a.value, a.forced, a.guard + _guard_fields(t.cond), a.via_param,
                      a.trace, a.guard_trace)
        return RTerm("ite", (states.disj((ft, ff)), states.disj((states.neg(ft), states.neg(ff))),
                             a, b), trace=a.trace)


def _unknown(_terms: Terms, t, st, func: str, ctx: Ctx, env: Mapping, here) -> RTerm:
    return RTerm("unknown", "?", trace=one(here))


def _as_flag(ft, ff, a: RTerm, b: RTerm) -> str | None:
    """The text of ``c ? 1 : 0`` (or ``c ? 0 : 1``) as a flag of the
    expression ``c``: ``!!c`` (``!c``), when ``c`` is one atom."""
    if ft != ff or a.kind != "const" or b.kind != "const" or {a.value, b.value} != {0, 1}:
        return None
    if isinstance(ft, tuple) and ft[0] == "not" and ft[1][0] == "eq" and ft[1][2] == 0:
        atom, truth = ft[1][1], True
    elif isinstance(ft, tuple) and ft[0] == "eq" and ft[2] == 0:
        atom, truth = ft[1], False
    else:
        return None
    return f"!!{atom}" if (a.value == 1) == truth else f"!{atom}"


def _guard_fields(c) -> tuple:
    """The role fields a guard tests, with no value (undecided)."""
    if isinstance(c, Truthy) and c.path:
        return ((c.path, None),)
    if isinstance(c, Not):
        return _guard_fields(c.cond)
    if isinstance(c, And | Or):
        out: tuple = ()
        for p in c.parts:
            out += _guard_fields(p)
        return out
    return ()
