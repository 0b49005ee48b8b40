"""The role-flow graph (networkx).

Nodes are the steps of role facts (field definitions, overrides, masks,
params, loads, calls, returns, stores, compares) plus one node per function
return (``("ret", f)``), per function parameter (``("param", f, p)``) and per
slot (``("slot", name)``). Edges follow values: a field definition flows into
the statement that uses its value (a return, a call argument, a store, a
compare); a return flows into the function's return node and from there into
every call of the function; a call argument flows into the callee's parameter
node and from there into the parameter's uses; a store flows into its slot
and the slot into every load of it. A finding's trace is a path here.
"""

from __future__ import annotations

import networkx as nx

from analyzer.facts import Facts
from analyzer.nodes import node_of, param_node, ret_node, slot_node
from analyzer.terms import Ite, Ref, Scalar, Step, Value, step_of

__all__ = ["build", "node_of", "param_node", "ret_node", "slot_node"]


def _add_step(g: nx.DiGraph, step: Step) -> tuple:
    key = node_of(step)
    if key not in g:
        g.add_node(key, step=step, kind=step.kind, label=f"{step.function}:{step.line} {step.text}")
    return key


def _term_steps(term, func: str, out: list) -> None:
    """Steps whose value a term carries, with parameters it reads."""
    st = step_of(term)
    if isinstance(term, Ite):
        _term_steps(term.then, func, out)
        _term_steps(term.other, func, out)
        return
    if st.line:
        out.append((st, term))


def _flow_into(g: nx.DiGraph, value: Value, func: str, consumer: Step) -> None:
    ckey = _add_step(g, consumer)
    found: list = []
    for term in value.fields.values():
        _term_steps(term, func, found)
    for st, term in found:
        key = _add_step(g, st)
        if key != ckey:
            g.add_edge(key, ckey, flow="value")
        if isinstance(term, Scalar):
            g.add_node(param_node(term.func, term.name), kind="param-node",
                       label=f"{term.func}({term.name})")
            g.add_edge(param_node(term.func, term.name), key, flow="param")


def build(facts: Facts) -> nx.DiGraph:
    g = nx.DiGraph()
    calls_to: dict[str, list] = {}
    for site in facts.calls:
        calls_to.setdefault(site.callee, []).append(site)
    for name, info in facts.functions.items():
        if info.returns_role:
            g.add_node(ret_node(name), kind="ret-node", label=f"return of {name}")
            for _cond, value, st in info.returns:
                _flow_into(g, value, name, st)
                g.add_edge(node_of(st), ret_node(name), flow="return")
            for site in calls_to.get(name, []):
                g.add_edge(ret_node(name), _add_step(g, site.step), flow="result")
    for site in facts.calls:
        callee = facts.functions.get(site.callee)
        if callee is None:
            continue
        ckey = _add_step(g, site.step)
        for param, arg in zip(callee.params, site.args, strict=False):
            pkey = param_node(site.callee, param.name)
            g.add_node(pkey, kind="param-node", label=f"{site.callee}({param.name})")
            g.add_edge(ckey, pkey, flow="argument")
            if isinstance(arg, Value):
                _flow_into(g, arg, site.caller, site.step)
            else:
                for st, term in _arg_steps(arg, site.caller):
                    if st.line and node_of(st) != ckey:
                        g.add_edge(_add_step(g, st), ckey, flow="value")
                        if isinstance(term, Scalar):
                            g.add_edge(param_node(term.func, term.name), node_of(st), flow="param")
    for store in facts.stores:
        skey = _add_step(g, store.step)
        g.add_node(slot_node(store.slot), kind="slot", label=f"slot {store.slot}")
        g.add_edge(skey, slot_node(store.slot), flow="store")
        if store.value is not None:
            _flow_into(g, store.value, store.func, store.step)
    for cmp in facts.compares:
        _flow_into(g, cmp.left, cmp.func, cmp.step)
        _flow_into(g, cmp.right, cmp.func, cmp.step)
    for phi in facts.phis.values():
        for _cond, value in phi.alternatives:
            _flow_into(g, value, phi.func, phi.step)
    # parameters and loads feed the places that read them
    for key, data in list(g.nodes(data=True)):
        st = data.get("step")
        if st is None:
            continue
        if st.kind == "param":
            name = st.text.removeprefix("parameter ")
            g.add_node(param_node(st.function, name), kind="param-node", label=f"{st.function}({name})")
            g.add_edge(param_node(st.function, name), key, flow="param")
    _link_loads(g, facts)
    # a parameter no role field reads (gfn, a cache, a list head) is not
    # role flow: leave it out of the picture
    g.remove_nodes_from([n for n in list(g) if n[0] == "param" and g.out_degree(n) == 0])
    return g


def _arg_steps(term, func: str) -> list:
    out: list = []
    _term_steps(term, func, out)
    return out


def _link_loads(g: nx.DiGraph, facts: Facts) -> None:
    """slot -> each load step reading it (loads are the steps of Ref terms)."""
    seen: set = set()

    def visit(value: Value) -> None:
        for term in value.fields.values():
            _visit_term(term)

    def _visit_term(term) -> None:
        if isinstance(term, Ite):
            _visit_term(term.then)
            _visit_term(term.other)
            return
        if isinstance(term, Ref) and term.origin.kind == "load":
            st = step_of(term)
            if st.line and (term.origin.name, st) not in seen:
                seen.add((term.origin.name, st))
                g.add_node(slot_node(term.origin.name), kind="slot", label=f"slot {term.origin.name}")
                g.add_edge(slot_node(term.origin.name), _add_step(g, st), flow="load")

    for info in facts.functions.values():
        for _c, v, _s in info.returns:
            visit(v)
    for site in facts.calls:
        for a in site.args:
            if isinstance(a, Value):
                visit(a)
            else:
                _visit_term(a)
    for store in facts.stores:
        if store.value is not None:
            visit(store.value)
    for cmp in facts.compares:
        visit(cmp.left)
        visit(cmp.right)
    for phi in facts.phis.values():
        for _c, v in phi.alternatives:
            visit(v)
