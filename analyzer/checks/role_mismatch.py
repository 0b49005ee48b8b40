"""role-mismatch: a role field differs between the two sides of a comparison.

Documentation for users: rules/role-mismatch.md (shown by ``explain``).

At each compare site both operands are resolved to the role values that can
reach them, under the same chain of callers when both read parameters.
Values that describe the same configuration are paired: the same first
producer that writes fields (``kvm_calc_tdp_mmu_root_page_role``...) and the
same return of it, and, when both went through a stored MMU-context role, the
same store of it (a role stored by the comparing function itself must have
been stored on the same way in). A pair is skipped when a field set from a
call-site argument (level, direct, access when passed to a page allocator)
holds different constants anywhere in the role, since those values describe
different pages, and when the condition the comparison is evaluated under
(``sp->role.direct || ...``, an enclosing if) is false for it. Then, per
compared field:

- two different constants: error (the comparison can never succeed);
- a constant forced by an override after a copy, or by a mask, on one side
  (under a guard, only when the guard's role fields hold the same constants
  on the other side) against a value computed from guest state on the other
  side: warning (the comparison fails whenever the computed value differs).
"""

from __future__ import annotations

from analyzer.checks import Check
from analyzer.checks.messages import (
    ForcedMisses,
    ForcedUnderUndecidedGuard,
    Message,
    NeverMatches,
    Undecided,
)
from analyzer.facts import Compare, Facts
from analyzer.findings import Finding, TraceStep
from analyzer.nodes import node_of, step_of_node
from analyzer.resolve import Concrete, Resolver, RTerm, _Ctx, trail_nodes
from analyzer.terms import Step, Value


def _side_name(value: Value) -> str:
    kinds = {o.kind for o in value.origins()}
    return "stored" if kinds == {"load"} else "lookup"


def _operand_sides(cmp: Compare) -> tuple[str, str]:
    a, b = _side_name(cmp.left), _side_name(cmp.right)
    if a == b:
        return ("left", "right")
    return (a, b)


def paired(a: Concrete, b: Concrete, facts: Facts) -> bool:
    if a.primary_producer(facts) != b.primary_producer(facts):
        return False
    sa, sb = a.context_store(), b.context_store()
    return sa is None or sb is None or sa == sb


def _same_context(c: Concrete, cmp: Compare, chain: tuple, facts: Facts) -> bool:
    """A role stored by the comparing function itself was stored on this same
    way in: comparing it with what another caller computes is a change of
    configuration, not a miss."""
    here = tuple(s.id for s in chain)
    for store_id, store_chain in c.stores:
        store = _store_by_id(facts, store_id)
        if store is not None and store.func == cmp.func and store_chain != here:
            return False
    return True


def _store_by_id(facts: Facts, store_id: int):
    for s in facts.stores:
        if s.id == store_id:
            return s
    return None


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _other_field(c: Concrete, leaf: str) -> RTerm | None:
    for path, t in c.fields.items():
        if path == leaf or path.endswith("." + leaf):
            return t
    return None


def _guard_holds(forced: RTerm, other: Concrete) -> bool:
    for leaf, value in forced.guard:
        t = _other_field(other, leaf)
        if t is None or not t.is_const() or t.value != value:
            return False
    return True


def _discriminated(a: Concrete, b: Concrete, paths) -> bool:
    for p in paths:
        x, y = a.fields.get(p), b.fields.get(p)
        if x is None or y is None:
            continue
        if x.is_const() and y.is_const() and x.value != y.value and (x.via_param or y.via_param):
            return True
    return False


# Two computed expressions, or a computed one against a value chosen by a
# guard the analysis cannot decide: equal or not, it cannot tell (a note).
_UNDECIDED_PAIRS = ({"opaque"}, {"opaque", "mixed"})


def judge(cmp: Compare, a: Concrete, b: Concrete, sides: tuple[str, str]) -> list[Finding]:
    paths = cmp.fields if cmp.fields is not None else list(cmp.left.fields)
    # every field tells pages apart, even one a mask leaves out of the comparison
    if _discriminated(a, b, list(cmp.left.fields)):
        return []
    out = []
    for p in paths:
        x, y = a.fields.get(p), b.fields.get(p)
        if x is None or y is None:
            continue
        if x.is_const() and y.is_const():
            if x.value != y.value:
                out.append(_finding(cmp, p, NeverMatches(_leaf(p), x.value, sides[0], y.value, sides[1]),
                                    (x, y), sides))
            continue
        decided = False
        for forced, other, fs, os_ in ((x, y, sides[0], sides[1]), (y, x, sides[1], sides[0])):
            other_c = b if forced is x else a
            if forced.is_const() and forced.forced and other.kind == "opaque":
                kind = ForcedMisses if _guard_holds(forced, other_c) else ForcedUnderUndecidedGuard
                msg = kind(_leaf(p), forced.value, fs, forced.guard, other.value, os_)
                out.append(_finding(cmp, p, msg, (x, y), sides))
                decided = True
                break
        if (not decided and {x.kind, y.kind} in _UNDECIDED_PAIRS
                and (x.kind, x.value) != (y.kind, y.value)):
            msg = Undecided(_leaf(p), x.describe(), sides[0], y.describe(), sides[1])
            out.append(_finding(cmp, p, msg, (x, y), sides))
    return out


def _finding(cmp: Compare, path: str, msg: Message, pair, sides) -> Finding:
    trace: list[TraceStep] = []
    related: list[Step] = []
    full_path: list[tuple] = []
    texts = (cmp.left_text, cmp.right_text)
    for term, side, text in zip(pair, sides, texts, strict=True):
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
                                   st.text if st.kind != "compare" else f"{side} side: {text}", side,
                                   st.col))
        seen = {(t.file, t.line, t.kind) for t in trace}
        for n in trail_nodes(term.guard_trace):
            st = step_of_node(n)
            if st is not None and st.kind in ("call", "def", "override") and (st.file, st.line, "guard") not in seen:
                seen.add((st.file, st.line, "guard"))
                trace.append(TraceStep(st.file, st.line, st.function, "guard",
                                       f"guard value from: {st.text}", side, st.col))
    return Finding(msg.rule, msg.severity, _leaf(path), str(msg), cmp.step.file, cmp.step.line, cmp.step.col,
                   cmp.func, trace, related, full_path)


def check_compare(cmp: Compare, facts: Facts, resolver: Resolver) -> list[Finding]:
    """The findings of one comparison site."""
    findings: list[Finding] = []
    sides = _operand_sides(cmp)
    joint = resolver.uses_params(cmp.left, cmp.func) or resolver.uses_params(cmp.right, cmp.func)
    chains = resolver.chains(cmp.func) if joint else [()]
    for chain in chains:
        ctx = _Ctx(chain)
        lefts = resolver.resolve(cmp.left, cmp.func, ctx)
        rights = resolver.resolve(cmp.right, cmp.func, ctx)
        lefts = [c for c in lefts if _same_context(c, cmp, chain, facts)]
        rights = [c for c in rights if _same_context(c, cmp, chain, facts)]
        for a in lefts:
            for b in rights:
                if not paired(a, b, facts):
                    continue
                # a comparison guarded by `sp->role.direct ||` never sees direct pages
                if resolver.cond(cmp.cond, cmp.func, ctx, {**a.env, **b.env}) is False:
                    continue
                findings.extend(judge(cmp, a, b, sides))
    return findings


def compare_sites(facts: Facts) -> list[Compare]:
    return facts.compares


CHECK = Check(sites=compare_sites, find=check_compare)
