"""Solving the page flow: the labels (containers, globals) that reach each
node, over the edges of every file, parameters linked to their callers'
arguments."""

from __future__ import annotations

from collections import defaultdict

from analyzer.containers.records import FileFlow


class PageFlow:
    """The solved flow of every file: labels reaching each node."""

    def __init__(self, flows: dict[str, FileFlow]) -> None:
        self.flows = flows
        succ: dict[tuple, set[tuple]] = defaultdict(set)
        pointers: dict[tuple[str, str], list[tuple]] = {}
        for flow in flows.values():
            for a, b in flow.edges:
                succ[a].add(b)
            for key, nodes in flow.pointers.items():
                pointers.setdefault(key, []).extend(nodes)
        self.pointers = pointers
        self.heads = _head_fields({h for flow in flows.values() for h in flow.heads}, succ)
        inserts = [i for flow in flows.values() for i in flow.inserts]
        for page, head in inserts:
            succ[head].add(page)  # the page is an element of what the head names
        # a list head stands for itself: what is read from it is an element
        # of that container, whatever was put into it
        labels = _propagate(succ, list(succ), heads=self.heads)
        self._labels = labels

    def labels(self, node: tuple) -> frozenset:
        own = {node} if node in self.heads else set()
        return frozenset(own | self._labels.get(node, set()))

    def of(self, func: str, via: str) -> frozenset:
        """Labels of the pointer a role load or store in ``func`` goes
        through (``sp`` in ``sp->role``): the containers it was read from,
        the allocations it was made by."""
        out: set = set()
        for node in self.pointers.get((func, via), []):
            out |= self.labels(node)
        return frozenset(out)


def _head_fields(nodes: set[tuple], succ: dict[tuple, set[tuple]]) -> set[tuple]:
    """The struct members that are list heads: those named as a head, and
    those a head variable or parameter was set from (``sp_list =
    &kvm->arch.mmu_page_hash[i]``, passed on as an argument)."""
    pred: dict[tuple, set[tuple]] = defaultdict(set)
    for a, bs in succ.items():
        for b in bs:
            pred[b].add(a)
    out = {n for n in nodes if n[0] == "field"}
    seen = set(nodes)
    stack = [n for n in nodes if n[0] == "var"]
    while stack:
        n = stack.pop()
        for m in pred.get(n, ()):
            if m in seen:
                continue
            seen.add(m)
            if m[0] == "field":
                out.add(m)
            elif m[0] == "var":
                stack.append(m)
    return out


def _propagate(succ: dict[tuple, set[tuple]], start: list, labels: dict | None = None,
               heads: set | frozenset = frozenset()) -> dict[tuple, set]:
    """Containers reaching each node (a list head is its own): a worklist
    over the graph, each node's set only growing."""
    labels = labels if labels is not None else defaultdict(set)
    for n in heads:
        labels[n].add(n)
    pending = list(start)
    while pending:
        n = pending.pop()
        got = labels.get(n)
        if not got:
            continue
        for m in succ.get(n, ()):
            if m in heads:
                continue
            before = len(labels[m])
            labels[m] |= got
            if len(labels[m]) != before:
                pending.append(m)
    return labels


def solve(flows: dict[str, FileFlow]) -> PageFlow:
    return _link_params({path: _merged(flow) for path, flow in flows.items()})


def _merged(flow: FileFlow) -> FileFlow:
    """A file's flow and its functions' as one, in the file's order."""
    out = FileFlow(list(flow.edges), list(flow.inserts), {k: list(v) for k, v in flow.pointers.items()},
                   dict(flow.params), set(flow.heads))
    for part in flow.functions.values():
        out.edges.extend(part.edges)
        out.inserts.extend(part.inserts)
        for key, nodes in part.pointers.items():
            out.pointers.setdefault(key, []).extend(nodes)
        out.params.update(part.params)
        out.heads |= part.heads
    return out


def _link_params(flows: dict[str, FileFlow]) -> PageFlow:
    """Turn ("param", callee, index) ends into the callee's parameter vars."""
    params: dict[str, list[str]] = {}
    for flow in flows.values():
        params.update(flow.params)
    for flow in flows.values():
        fixed = []
        for a, b in flow.edges:
            if b[0] == "param":
                names = params.get(b[1], [])
                if b[2] >= len(names) or not names[b[2]]:
                    continue
                b = ("var", b[1], names[b[2]])
            fixed.append((a, b))
        flow.edges = fixed
    return PageFlow(flows)
