"""The role-flow graph (networkx), drawn from the one flow rule (``analyzer.flow``).

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
from analyzer.flow import Edge, edges
from analyzer.nodes import node_of, param_node, ret_node, slot_node

__all__ = ["build", "node_of", "param_node", "ret_node", "slot_node"]


def build(facts: Facts) -> nx.DiGraph:
    g = nx.DiGraph()
    for item in edges(facts):
        if isinstance(item, Edge):
            g.add_edge(item.src, item.dst, flow=item.flow)
            continue
        key = item.key
        if key[0] == "step":
            if key not in g:
                st = key.step
                g.add_node(key, step=st, kind=st.kind, label=f"{st.function}:{st.line} {st.text}")
        elif key[0] == "ret":
            g.add_node(key, kind="ret-node", label=f"return of {key[1]}")
        elif key[0] == "param":
            g.add_node(key, kind="param-node", label=f"{key[1]}({key[2]})")
        else:
            g.add_node(key, kind="slot", label=f"slot {key[1]}")
    # a parameter no role field reads (gfn, a cache, a list head) is not
    # role flow: leave it out of the picture
    g.remove_nodes_from([n for n in list(g) if n[0] == "param" and g.out_degree(n) == 0])
    return g
