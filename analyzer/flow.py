"""The role-flow rule, written once: which graph nodes a value passes between.

Seven flows carry a role value (``Edge.flow``):

- value: the step that defines a field's value into the statement that uses
  it (a return, a call, a store, a compare, a phi);
- param: a function's parameter node into each use of the parameter;
- argument: a call into the callee's parameter node;
- return: a return statement into the function's return node;
- result: a function's return node into each call of the function;
- store: a store into its slot's node;
- load: a slot's node into each load of it.

``edges`` yields them for a whole image's facts, with the nodes the graph
shows, in the order ``graph.build`` draws them; resolution (``analyzer.resolve``)
extends a value's trail by the same edges as it follows the value back, so
a finding's trace is a path of the graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from analyzer.facts import CallSite, Facts, Store
from analyzer.nodes import node_of, param_node, ret_node, slot_node
from analyzer.terms import Ite, Ref, Scalar, Step, Value, step_of


class Edge(NamedTuple):
    src: tuple
    dst: tuple
    flow: str


class Node(NamedTuple):
    """A node the graph shows (an edge may come later, or none)."""

    key: tuple


def value(step: Step, consumer: Step) -> Edge:
    return Edge(node_of(step), node_of(consumer), "value")


def param(func: str, name: str, step: Step) -> Edge:
    return Edge(param_node(func, name), node_of(step), "param")


def argument(site: CallSite, callee: str, name: str) -> Edge:
    return Edge(node_of(site.step), param_node(callee, name), "argument")


def returned(func: str, step: Step) -> Edge:
    return Edge(node_of(step), ret_node(func), "return")


def result(site: CallSite) -> Edge:
    return Edge(ret_node(site.callee), node_of(site.step), "result")


def stored(store: Store) -> Edge:
    return Edge(node_of(store.step), slot_node(store.slot), "store")


def load(slot: str, step: Step) -> Edge:
    return Edge(slot_node(slot), node_of(step), "load")


def edges(facts: Facts) -> Iterator[Node | Edge]:
    """Every flow of the facts, each node before the first edge it is on
    (but a parameter only a scalar argument reads)."""
    steps: dict = {}  # the step nodes so far, in order

    def node(step: Step) -> Node:
        key = node_of(step)
        steps.setdefault(key, step)
        return Node(key)

    calls_to: dict[str, list] = {}
    for site in facts.calls:
        calls_to.setdefault(site.callee, []).append(site)
    for name, info in facts.functions.items():
        if info.returns_role:
            yield Node(ret_node(name))
            for _cond, v, st in info.returns:
                yield from _into(v, st, node)
                yield returned(name, st)
            for site in calls_to.get(name, []):
                yield node(site.step)
                yield result(site)
    for site in facts.calls:
        callee = facts.functions.get(site.callee)
        if callee is None:
            continue
        yield node(site.step)
        ckey = node_of(site.step)
        for p, arg in zip(callee.params, site.args, strict=False):
            yield Node(param_node(site.callee, p.name))
            yield argument(site, site.callee, p.name)
            if isinstance(arg, Value):
                yield from _into(arg, site.step, node)
                continue
            for st, term in _steps(arg):
                if node_of(st) != ckey:
                    yield node(st)
                    yield value(st, site.step)
                    if isinstance(term, Scalar):
                        yield param(term.func, term.name, st)
    for store in facts.stores:
        yield node(store.step)
        yield Node(slot_node(store.slot))
        yield stored(store)
        if store.value is not None:
            yield from _into(store.value, store.step, node)
    for cmp in facts.compares:
        yield from _into(cmp.left, cmp.step, node)
        yield from _into(cmp.right, cmp.step, node)
    for phi in facts.phis.values():
        for _cond, v in phi.alternatives:
            yield from _into(v, phi.step, node)
    # parameters feed the places that read them
    for st in list(steps.values()):
        if st.kind == "param":
            name = st.text.removeprefix("parameter ")
            yield Node(param_node(st.function, name))
            yield param(st.function, name, st)
    yield from _loads(facts, node)


def _into(v: Value, consumer: Step, node) -> Iterator[Node | Edge]:
    """The flows of a value's terms into the statement that uses it."""
    yield node(consumer)
    ckey = node_of(consumer)
    for term in v.fields.values():
        for st, t in _steps(term):
            yield node(st)
            if node_of(st) != ckey:
                yield value(st, consumer)
            if isinstance(t, Scalar):
                yield Node(param_node(t.func, t.name))
                yield param(t.func, t.name, st)


def _steps(term) -> list[tuple[Step, object]]:
    """The steps whose value a term carries (both branches of an undecided
    guard), with the term at each."""
    out: list = []
    stack = [term]
    while stack:
        t = stack.pop()
        if isinstance(t, Ite):
            stack.append(t.other)
            stack.append(t.then)
        elif step_of(t).line:
            out.append((step_of(t), t))
    return out


def _loads(facts: Facts, node) -> Iterator[Node | Edge]:
    """slot -> each load step reading it (loads are the steps of Ref terms)."""
    seen: set = set()

    def terms(v) -> list:
        return list(v.fields.values()) if isinstance(v, Value) else [v]

    roots: list = [v for info in facts.functions.values() for _c, v, _s in info.returns]
    roots += [a for site in facts.calls for a in site.args]
    roots += [s.value for s in facts.stores if s.value is not None]
    roots += [v for cmp in facts.compares for v in (cmp.left, cmp.right)]
    roots += [v for phi in facts.phis.values() for _c, v in phi.alternatives]
    for root in roots:
        stack = list(reversed(terms(root)))
        while stack:
            t = stack.pop()
            if isinstance(t, Ite):
                stack.append(t.other)
                stack.append(t.then)
            elif isinstance(t, Ref) and t.origin.kind == "load":
                st = step_of(t)
                if st.line and (t.origin.name, st) not in seen:
                    seen.add((t.origin.name, st))
                    yield Node(slot_node(t.origin.name))
                    yield node(st)
                    yield load(t.origin.name, st)
