"""The check at each reuse exit: the parts of the first request after it
that vary between the callers and that its conditions do not compare."""

from __future__ import annotations

import re

from analyzer.checks.messages import MemberNotCompared, Message, RoleNotCompared, RolePartlyCompared
from analyzer.checks.role_unchecked_reuse.inputs import Inputs
from analyzer.checks.role_unchecked_reuse.keys import IDENT, Part, Requests, implied, member_of
from analyzer.facts import CallSite, Exit, Facts
from analyzer.findings import Finding, TraceStep
from analyzer.nodes import node_of
from analyzer.resolve import Resolver
from analyzer.terms import CompareCond, Eq, Opaque, OpaqueCond, Ref, Scalar, Step, Truthy, Value

# the slot a pointer names: *p, *(p), p[i] (not a product a*p)
_DEREF = re.compile(r"(?<![\w)\]])\*\(*([A-Za-z_]\w*)|\b([A-Za-z_]\w*)\[")


class _Reuse:
    """What the check knows of one analysis: its requests and keys, and
    what their parts depend on."""

    def __init__(self, facts: Facts, resolver: Resolver) -> None:
        self.facts = facts
        self.requests = Requests(facts, resolver)
        self.inputs = Inputs(facts, resolver)


def _state(facts: Facts, resolver: Resolver) -> _Reuse:
    got = resolver.__dict__.get("_unchecked_reuse")
    if got is None or got.facts is not facts:
        got = resolver.__dict__["_unchecked_reuse"] = _Reuse(facts, resolver)
    return got


def _texts(atom) -> list[str]:
    if isinstance(atom, OpaqueCond):
        return [atom.text]
    if isinstance(atom, Truthy) and isinstance(atom.term, Opaque):
        return [atom.term.text]
    return []


# ---- the check -----------------------------------------------------------------


def reuse_sites(facts: Facts) -> list[Exit]:
    """Exits of functions that return a call's result on another way."""
    by_func: dict[str, list[Exit]] = {}
    for e in facts.exits:
        by_func.setdefault(e.func, []).append(e)
    out = []
    for exits in by_func.values():
        if len(exits) > 1 and any(e.call >= 0 or IDENT.match(e.text) for e in exits):
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
    for site, key in st.requests.requests(e.func):
        if (e.call == site.id or st.requests.returns_result(e.func, site, e)
                or e.step.line >= site.step.line):
            continue
        if varying is None:
            varying = st.inputs.varying_params(e.func) - slots
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
    top = {f: st.inputs.lift(value.fields[f], part.func, part.chain) for f in fields}
    vary = [f for f in fields if f and st.inputs.inputs(value.fields[f], part.func, part.chain) & varying]
    if not vary:
        return None  # the key cannot differ from the page there
    covered: set[str] = set()
    compares: list[Step] = []
    for atom, positive in atoms:
        if not _holds_equal(atom, positive):
            continue
        if isinstance(atom, CompareCond):
            cmp = st.requests.compares.get(atom.site)
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
    found = {s for f in missing for s in st.inputs.def_steps(value.fields[f], part.func, part.chain)}
    # from the statements that write the fields to the calls that bring them up
    key_steps = list(dict.fromkeys(s for _d, s in sorted(
        found, key=lambda d: (-d[0], d[1].file, d[1].line, d[1].col))))
    return _finding(msg, "role", e, site, key_steps, compares)


def _member_finding(st: _Reuse, e: Exit, site: CallSite, member: str, part: Part, atoms,
                    varying: set[str]):
    if not st.inputs.inputs(part.obj, part.func, part.chain) & varying:
        return None
    top = st.inputs.lift(part.obj, part.func, part.chain)
    for atom, positive in atoms:
        if not _holds_equal(atom, positive) or not isinstance(atom, Eq):
            continue
        for a, b in ((atom.left, atom.right), (atom.right, atom.left)):
            m = member_of(a)
            if m is not None and m[1] == member and member_of(b) is None and (top is None or b == top):
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
