"""A role-mismatch finding: at its cause (or, for a note, at the compare
site), with both sides' traces, and the terms as its message shows them."""

from __future__ import annotations

from analyzer import states
from analyzer.checks.messages import Message, encode_misses
from analyzer.checks.role_mismatch.site import Site, leaf
from analyzer.facts import normalize_expr
from analyzer.findings import Finding, TraceStep
from analyzer.nodes import node_of, step_of_node
from analyzer.resolve import RTerm, trail_nodes
from analyzer.terms import Step


def finding(site: Site, path: str, msg: Message, pair: tuple[RTerm, RTerm],
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
    return Finding(msg.rule, msg.severity, leaf(path), str(msg), where.file, where.line, where.col,
                   where.function, trace, related, full_path, anchor=anchor, detail=encode_misses(msg))


def expr_atoms(*terms: RTerm) -> list[str]:
    return [states.canon(str(t.value))[0] for t in terms if t.kind == "opaque"]


def shown(t: RTerm) -> object:
    return t.value if t.kind == "const" else f"'{t.value}'"


def guard_text(guard: tuple) -> tuple:
    return tuple((g, v) for g, v in guard if v is not None)
